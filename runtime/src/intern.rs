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

use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::{Mutex, OnceLock, PoisonError};

static TEXTS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
static NAMES: OnceLock<Mutex<HashMap<&'static str, &'static &'static str>>> = OnceLock::new();
/// Kept values of other kinds (the policies' types), a set of each kind by its `TypeId`: the
/// module stays below the IR it serves, and knows none of its types.
static VALUES: OnceLock<Mutex<HashMap<TypeId, Box<dyn Any + Send>>>> = OnceLock::new();

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

/// `ty` (a policy's type, or any value of a kind kept this way), kept for the rest of the
/// process.
pub(crate) fn ty<T>(ty: &T) -> &'static T
where
    T: Hash + Eq + Clone + Send + Sync + 'static,
{
    let mut kinds = VALUES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let kind = kinds
        .entry(TypeId::of::<T>())
        .or_insert_with(|| Box::new(HashSet::<&'static T>::new()));
    let Some(kept_of_kind) = kind.downcast_mut::<HashSet<&'static T>>() else {
        // The set of `T` is keyed by `T`'s own id, so it is always one of `T`: a value kept
        // twice here would only cost memory.
        return Box::leak(Box::new(ty.clone()));
    };
    if let Some(kept) = kept_of_kind.get(ty) {
        return kept;
    }
    let kept: &'static T = Box::leak(Box::new(ty.clone()));
    kept_of_kind.insert(kept);
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
        let list = vec![String::from("Money")];
        assert!(std::ptr::eq(ty(&list), ty(&list.clone())));
        assert!(!std::ptr::eq(ty(&list), ty(&vec![String::from("Date")])));
        assert!(std::ptr::eq(ty(&7_u32), ty(&7_u32)));
        assert!(std::ptr::eq(name("SC-01"), name(&String::from("SC-01"))));
        assert_eq!(*name("SC-01"), "SC-01");
    }
}
