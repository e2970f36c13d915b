//! Native code of the fixture policy (`tests/native_fixture/policy`), written by the compiler:
//!
//! ```sh
//! cargo run --release -p ereje-cli -- compile tests/native_fixture/policy --emit rust -o tests/native_fixture/src/generated.rs
//! ```
//!
//! The fixture uses what the bundled kz policies do not, so that `tests/tests/native.rs`
//! compiles and checks the emitter's code for every construct.

#[rustfmt::skip]
mod generated;

pub use generated::POLICIES;
