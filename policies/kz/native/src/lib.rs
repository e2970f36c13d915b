//! The bundled kz policy set (`policies/kz`) compiled to Rust: native code for
//! `ereje_runtime::native`, one module per version of the manifest.
//!
//! `generated.rs` is written by the compiler, never by hand:
//!
//! ```sh
//! cargo run --release -p ereje-cli -- compile policies/kz --emit rust -o policies/kz/native/src/generated.rs
//! ```
//!
//! `tests/tests/native.rs` fails when it differs from what the compiler writes for the policy
//! files as they are, so an edited policy cannot ship with stale code. An engine uses this code
//! only for a policy of exactly its shape (`ereje_runtime::native::shape_digest`), whatever the
//! parameter values: any other policy is evaluated by the closure evaluator.

#[rustfmt::skip]
mod generated;

pub use generated::POLICIES;

/// Registers every version of the kz policy set with the runtime (see
/// `ereje_runtime::native::register`).
pub fn register() {
    for policy in POLICIES {
        ereje_runtime::native::register(policy);
    }
}
