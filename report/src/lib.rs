//! Reports for people, from the runtime's data: explanations of a decision (text, JSON, one
//! printable HTML page) in Russian, Kazakh or English, and the difference between two policies
//! (static, and its impact over a population). The `ereje` command, the service and the Python
//! package all print these, so that an embedder shows what `ereje explain` and `ereje diff` show.

pub mod case_error;
pub mod diff;
pub mod explanation;
pub mod html;
pub mod impact_html;

pub use case_error::case_error_text;
