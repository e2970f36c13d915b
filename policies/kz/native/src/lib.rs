//! The bundled kz policy set (`policies/kz`) compiled to Rust: native code for
//! `ereje_runtime::native`, one module per version of the manifest.
//!
//! The build script (`build.rs`) writes the code from the policy files at every build in which
//! they changed, so it is always the policy's as it is; nothing generated is checked in. An
//! engine uses it only when given it and only for a policy of exactly its shape
//! (`ereje_runtime::native::shape_digest`), whatever the parameter values:
//!
//! ```no_run
//! # fn engine(policy: ereje_runtime::ir::Policy) -> Result<ereje_runtime::Engine, ereje_runtime::LoadError> {
//! let engine = ereje_runtime::Engine::new(policy)?.with_native_code(ereje_kz_native::POLICIES);
//! # Ok(engine)
//! # }
//! ```
//!
//! Any other policy (an edited rule that failed to compile, another policy set) is evaluated by
//! the closure evaluator.

include!(concat!(env!("OUT_DIR"), "/native.rs"));

/// Every version of the kz policy set compiled to Rust (none when the policy does not compile).
pub use generated::POLICIES;
