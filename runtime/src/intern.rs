//! Names and types from policies, kept for the rest of the process so that a value or trace
//! node can hold one by a plain reference.
//!
//! Rationale: a decision holds dozens of keys (`outcome`, `reasons`, the rule ids of a
//! scorecard) and a trace hundreds of names, sources and types, all of them the policy's. Held
//! as `Arc`s, each copy and each drop is an atomic operation, and on the machines of
//! `BENCHMARKS.md` a pair costs about 10 ns, more than the arithmetic of a whole rule. Held as
//! `&'static` references, a copy costs nothing.
//!
//! What is kept is bounded by what policies declare: each distinct text or type is kept once,
//! however many engines are built from the same policy (replicas, what-ifs, versions), so a
//! process that reloads a policy keeps only the texts that changed. Texts that come from cases
//! are never kept here: they stay shared (`Arc`).

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock, PoisonError};

use crate::ir::Type;

static TEXTS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
static NAMES: OnceLock<Mutex<HashMap<&'static str, &'static &'static str>>> = OnceLock::new();
static TYPES: OnceLock<Mutex<HashSet<&'static Type>>> = OnceLock::new();

/// `text`, kept for the rest of the process.
pub(crate) fn text(text: &str) -> &'static str {
    let mut texts = TEXTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(kept) = texts.get(text) {
        return kept;
    }
    let kept: &'static str = Box::leak(Box::from(text));
    texts.insert(kept);
    kept
}

/// `text`, kept for the rest of the process behind a thin reference (one pointer wide), for
/// [`crate::value::Key`].
pub(crate) fn name(text: &str) -> &'static &'static str {
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(kept) = names.get(text) {
        return kept;
    }
    let kept: &'static &'static str = Box::leak(Box::new(self::text(text)));
    names.insert(kept, kept);
    kept
}

/// `ty`, kept for the rest of the process.
pub(crate) fn ty(ty: &Type) -> &'static Type {
    let mut types = TYPES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(kept) = types.get(ty) {
        return kept;
    }
    let kept: &'static Type = Box::leak(Box::new(ty.clone()));
    types.insert(kept);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_or_type_is_kept_once() {
        let first = text("ASP-INCOME-TEST");
        let second = text(&String::from("ASP-INCOME-TEST"));
        assert!(std::ptr::eq(first, second));
        assert_eq!(first, "ASP-INCOME-TEST");
        let list = Type::List(Box::new(Type::Money));
        assert!(std::ptr::eq(ty(&list), ty(&list.clone())));
        assert!(!std::ptr::eq(ty(&list), ty(&Type::Money)));
        assert!(std::ptr::eq(name("SC-01"), name(&String::from("SC-01"))));
        assert_eq!(*name("SC-01"), "SC-01");
    }
}
