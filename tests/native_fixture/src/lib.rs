//! Native code of the fixture policy (`tests/native_fixture/policy`), written into `OUT_DIR` by
//! the build script (`build.rs`) from the policy files.
//!
//! The fixture uses what the bundled kz policies do not, so that `tests/tests/native.rs`
//! compiles and checks the emitter's code for every construct.

include!(concat!(env!("OUT_DIR"), "/native.rs"));

/// Every version of the fixture policy compiled to Rust.
pub use generated::POLICIES;
