//! Inlining of small functions, done on the IR before it is compiled into closures.
//!
//! Rationale: policies ask small questions of each family member through functions
//! (`is_adult(m)`, `is_minor(m)`, `has_education(m, [higher])`), in rule after rule. A call
//! binds its arguments into a new frame, looks the call up in the per-case memo, and passes
//! its result back as a `Value`; the question itself (an age compared with 18) costs a small
//! fraction of that. Inlined, the function's body is compiled where it is called, with each
//! parameter replaced by its argument, and the typed code of `typed.rs` sees through it.
//!
//! Only calls whose arguments are cheap and cannot fail are inlined (locals, fields of the case
//! or of a local, constants, lists of constants): an argument that is used twice is read twice,
//! and one that is not used is not read, with no difference in the result. The callee's own
//! local slots (aggregate variables, `match` bindings) move to fresh slots of the caller's
//! frame.
//!
//! Items whose body only reads the case (`def vehicles: Integer = case.assets.vehicles ?? 0`)
//! are inlined the same way where they are referenced.
//!
//! Nesting depth: both evaluators count nested item computations and calls and stop past
//! [`MAX_DEPTH`]; an inlined call is not counted. Inlining is therefore done only when the
//! policy's static nesting bound is within the limit, where neither evaluator can reach it.

use crate::ir::{Body, Expr, ItemKind, MatchArm, Pattern, Policy};
use crate::operations::MAX_DEPTH;

/// A function body larger than this many IR nodes is called, not inlined.
const MAX_INLINED_NODES: usize = 48;

/// Inlined calls nest at most this deep (a function inlined into an inlined function, …).
const MAX_INLINE_NESTING: u32 = 4;

/// What the IR being rewritten calls its local slots.
struct Renaming<'a> {
    /// The callee's parameters: slot `i` is replaced by `args[i]`.
    args: &'a [Expr],
    /// The callee's other slots move to `base + (slot - args.len())`.
    base: u32,
}

pub(super) struct Inliner<'p> {
    policy: &'p Policy,
    /// The frame size each item needs (parameters included).
    frames: Vec<u32>,
    /// Whether each item is a function small enough to inline.
    inlinable: Vec<bool>,
    /// The body of each definition or rule that is a mere read (see [`is_read`]): a reference
    /// to it reads in place instead of going through the per-case memo.
    reads: Vec<Option<Expr>>,
    /// Whether each item is referenced exactly once in the whole policy, where that reference
    /// is evaluated at most once per case (not in a list's loop, a function or a check), and
    /// by no group or `exception_applied`: its body can be computed there without the memo.
    used_once: Vec<bool>,
}

impl<'p> Inliner<'p> {
    /// An inliner for `policy`, or `None` when the policy's nesting is not statically bounded
    /// within the evaluators' limit (then nothing is inlined).
    pub(super) fn new(policy: &'p Policy, frames: Vec<u32>) -> Option<Inliner<'p>> {
        if policy.nesting_bound()? > MAX_DEPTH {
            return None;
        }
        let inlinable = policy
            .items
            .iter()
            .map(|item| {
                item.kind == ItemKind::Function
                    && matches!(&item.body, Body::Expr(body) if node_count(body) <= MAX_INLINED_NODES)
            })
            .collect();
        let reads = policy
            .items
            .iter()
            .map(|item| match &item.body {
                Body::Expr(body) if item.kind != ItemKind::Function && is_read(body) => {
                    Some(body.clone())
                }
                _ => None,
            })
            .collect();
        let used_once = used_once(policy);
        Some(Inliner {
            policy,
            frames,
            inlinable,
            reads,
            used_once,
        })
    }

    /// `expr` with the calls it makes to small functions inlined; `frame` is the frame size
    /// of the code it belongs to, grown by the slots the inlined bodies need.
    pub(super) fn inline(&self, expr: &Expr, frame: &mut u32) -> Expr {
        self.rewrite(expr, None, frame, 0)
    }

    fn rewrite(
        &self,
        expr: &Expr,
        renaming: Option<&Renaming<'_>>,
        frame: &mut u32,
        nesting: u32,
    ) -> Expr {
        let slot = |slot: u32| -> u32 {
            match renaming {
                Some(renaming) => renaming.base + slot.saturating_sub(renaming.args.len() as u32),
                None => slot,
            }
        };
        let mut go = |expr: &Expr| self.rewrite(expr, renaming, frame, nesting);
        match expr {
            Expr::Local(local) => match renaming {
                Some(renaming) if (*local as usize) < renaming.args.len() => renaming
                    .args
                    .get(*local as usize)
                    .cloned()
                    .unwrap_or(Expr::Local(*local)),
                _ => Expr::Local(slot(*local)),
            },
            Expr::Call(id, args) => {
                let args: Vec<Expr> = args.iter().map(&mut go).collect();
                let index = *id as usize;
                let callee = self.policy.items.get(index);
                match (callee, self.inlinable.get(index)) {
                    (Some(callee), Some(true))
                        if nesting < MAX_INLINE_NESTING && args.len() == callee.params.len() =>
                    {
                        let Body::Expr(body) = &callee.body else {
                            return Expr::Call(*id, args);
                        };
                        // An argument that is not cheap is evaluated once, before the body (as
                        // a call evaluates it), into a fresh slot that the body reads.
                        let mut bound: Vec<(u32, Expr)> = Vec::new();
                        let args: Vec<Expr> = args
                            .into_iter()
                            .map(|arg| {
                                if is_cheap(&arg) {
                                    arg
                                } else {
                                    let fresh = *frame;
                                    *frame += 1;
                                    bound.push((fresh, arg));
                                    Expr::Local(fresh)
                                }
                            })
                            .collect();
                        let callee_frame = self
                            .frames
                            .get(index)
                            .copied()
                            .unwrap_or(callee.locals)
                            .max(args.len() as u32);
                        let base = *frame;
                        *frame += callee_frame - args.len() as u32;
                        let renaming = Renaming { args: &args, base };
                        let inlined = self.rewrite(body, Some(&renaming), frame, nesting + 1);
                        bound
                            .into_iter()
                            .rev()
                            .fold(inlined, |body, (slot, arg)| bind_once(slot, arg, body))
                    }
                    _ => Expr::Call(*id, args),
                }
            }
            Expr::Item(id) => {
                let index = *id as usize;
                if let Some(Some(body)) = self.reads.get(index) {
                    return body.clone();
                }
                match (self.policy.items.get(index), self.used_once.get(index)) {
                    // The only reference to an item, where it is evaluated once: the body is
                    // computed here, its slots moved into this frame.
                    (Some(item), Some(true)) => {
                        let Body::Expr(body) = &item.body else {
                            return expr.clone();
                        };
                        let item_frame = self.frames.get(index).copied().unwrap_or(item.locals);
                        let base = *frame;
                        *frame += item_frame;
                        let renaming = Renaming { args: &[], base };
                        self.rewrite(body, Some(&renaming), frame, nesting)
                    }
                    _ => expr.clone(),
                }
            }
            Expr::Const(_)
            | Expr::Input
            | Expr::AsOf
            | Expr::Holding(_)
            | Expr::GroupSum(_)
            | Expr::GroupValues(_)
            | Expr::ExceptionApplied(_) => expr.clone(),
            Expr::Param { param, at } => Expr::Param {
                param: *param,
                at: at.as_deref().map(|at| Box::new(go(at))),
            },
            Expr::Field(record, index) => Expr::Field(Box::new(go(record)), *index),
            Expr::Unary(op, operand) => Expr::Unary(*op, Box::new(go(operand))),
            Expr::Binary(op, left, right) => {
                let left = go(left);
                Expr::Binary(*op, Box::new(left), Box::new(go(right)))
            }
            Expr::And(left, right) => {
                let left = go(left);
                Expr::And(Box::new(left), Box::new(go(right)))
            }
            Expr::Or(left, right) => {
                let left = go(left);
                Expr::Or(Box::new(left), Box::new(go(right)))
            }
            Expr::If {
                condition,
                then,
                otherwise,
            } => {
                let condition = go(condition);
                let then = go(then);
                Expr::If {
                    condition: Box::new(condition),
                    then: Box::new(then),
                    otherwise: Box::new(go(otherwise)),
                }
            }
            Expr::Match { scrutinee, arms } => {
                let scrutinee = go(scrutinee);
                let arms = arms
                    .iter()
                    .map(|arm| MatchArm {
                        pattern: arm.pattern.clone(),
                        bind: arm.bind.map(slot),
                        body: go(&arm.body),
                    })
                    .collect();
                Expr::Match {
                    scrutinee: Box::new(scrutinee),
                    arms,
                }
            }
            Expr::Aggregate {
                kind,
                var,
                list,
                filter,
                body,
            } => {
                let list = go(list);
                let filter = filter.as_deref().map(|filter| Box::new(go(filter)));
                Expr::Aggregate {
                    kind: *kind,
                    var: slot(*var),
                    list: Box::new(list),
                    filter,
                    body: body.as_deref().map(|body| Box::new(go(body))),
                }
            }
            Expr::MapOf {
                var,
                list,
                filter,
                key,
                value,
            } => {
                let list = go(list);
                let filter = filter.as_deref().map(|filter| Box::new(go(filter)));
                let key = go(key);
                Expr::MapOf {
                    var: slot(*var),
                    list: Box::new(list),
                    filter,
                    key: Box::new(key),
                    value: Box::new(go(value)),
                }
            }
            Expr::List(items) => Expr::List(items.iter().map(&mut go).collect()),
            Expr::Object(fields) => Expr::Object(
                fields
                    .iter()
                    .map(|(name, value)| (name.clone(), go(value)))
                    .collect(),
            ),
            Expr::Builtin(builtin, args) => Expr::Builtin(*builtin, args.iter().map(go).collect()),
            Expr::Round {
                value,
                places,
                mode,
            } => Expr::Round {
                value: Box::new(go(value)),
                places: *places,
                mode: *mode,
            },
            Expr::Band(band, value) => Expr::Band(*band, Box::new(go(value))),
            Expr::BandLabel(band, value) => Expr::BandLabel(*band, Box::new(go(value))),
            Expr::Lookup(table, keys) => Expr::Lookup(*table, keys.iter().map(go).collect()),
            Expr::Coalesce(value, fallback) => {
                let value = go(value);
                Expr::Coalesce(Box::new(value), Box::new(go(fallback)))
            }
            Expr::IsPresent(value) => Expr::IsPresent(Box::new(go(value))),
            Expr::First(list) => Expr::First(Box::new(go(list))),
        }
    }
}

/// `body` with `slot` holding the value of `value`, computed once before it: a `match` with one
/// arm that takes anything (the compiled evaluator binds the scrutinee to the arm's slot). The
/// interpreter never sees it: inlined IR is compiled into closures only.
fn bind_once(slot: u32, value: Expr, body: Expr) -> Expr {
    Expr::Match {
        scrutinee: Box::new(value),
        arms: vec![MatchArm {
            pattern: Pattern::Wildcard,
            bind: Some(slot),
            body,
        }],
    }
}

/// Which items [`Inliner::used_once`] describes.
fn used_once(policy: &Policy) -> Vec<bool> {
    let count = policy.items.len();
    let mut references = vec![0u32; count];
    let mut in_loop = vec![false; count];
    let mut excluded = vec![false; count];
    for group in &policy.groups {
        for member in &group.members {
            if let Some(flag) = excluded.get_mut(member.item as usize) {
                *flag = true;
            }
        }
    }
    let mut note = |expr: &Expr, looped: bool| match expr {
        Expr::Item(id) => {
            if let Some(count) = references.get_mut(*id as usize) {
                *count += 1;
            }
            if let Some(flag) = in_loop.get_mut(*id as usize) {
                *flag |= looped;
            }
        }
        Expr::ExceptionApplied(id) => {
            if let Some(flag) = excluded.get_mut(*id as usize) {
                *flag = true;
            }
        }
        _ => {}
    };
    for item in &policy.items {
        let looped = item.kind == ItemKind::Function;
        match &item.body {
            Body::Expr(body) => visit_looped(body, looped, &mut note),
            Body::Exceptions { base, exceptions } => {
                visit_looped(base, looped, &mut note);
                for exception in exceptions {
                    visit_looped(&exception.condition, looped, &mut note);
                    visit_looped(&exception.value, looped, &mut note);
                }
            }
        }
    }
    for output in &policy.outputs {
        visit_looped(&output.expr, false, &mut note);
    }
    for check in &policy.checks {
        if let Some(list) = &check.list {
            visit_looped(list, false, &mut note);
        }
        visit_looped(&check.condition, true, &mut note);
    }
    policy
        .items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            item.kind != ItemKind::Function
                && matches!(item.body, Body::Expr(_))
                && references.get(index) == Some(&1)
                && in_loop.get(index) == Some(&false)
                && excluded.get(index) == Some(&false)
        })
        .collect()
}

/// Calls `each` on every node of `expr` with whether it may be evaluated more than once per
/// evaluation of `expr`'s root: inside a list's loop (an aggregate's filter or body, a map's
/// filter, key or value), or anywhere when `looped` already holds.
fn visit_looped(expr: &Expr, looped: bool, each: &mut dyn FnMut(&Expr, bool)) {
    each(expr, looped);
    // An aggregate's or a map's list is evaluated once; its other children once per element.
    let list = match expr {
        Expr::Aggregate { list, .. } | Expr::MapOf { list, .. } => Some(&**list),
        _ => None,
    };
    expr.for_each_child(&mut |child| {
        let in_loop = list.is_some_and(|list| !std::ptr::eq(list, child));
        visit_looped(child, looped || in_loop, each);
    });
}

/// An argument that is cheap to evaluate where each use of the parameter is, and cannot fail.
fn is_cheap(expr: &Expr) -> bool {
    match expr {
        Expr::Local(_) | Expr::Input | Expr::AsOf | Expr::Const(_) => true,
        Expr::Field(record, _) => is_cheap(record),
        Expr::List(items) => items.iter().all(|item| matches!(item, Expr::Const(_))),
        _ => false,
    }
}

/// A body that only reads: a field of the case, a constant, a field with a constant fallback
/// (`case.assets.vehicles ?? 0`), the length of a list of the case, a parameter on the as-of
/// date. It uses no local slots and calls nothing, and reading it where it is used costs less
/// than the memo.
fn is_read(expr: &Expr) -> bool {
    fn place(expr: &Expr) -> bool {
        match expr {
            Expr::Input => true,
            Expr::Field(record, _) => place(record),
            _ => false,
        }
    }
    match expr {
        Expr::Const(_) | Expr::Param { at: None, .. } => true,
        Expr::Field(..) => place(expr),
        Expr::Coalesce(value, fallback) => place(value) && matches!(**fallback, Expr::Const(_)),
        Expr::Builtin(crate::ir::Builtin::Length, args) => {
            matches!(args.as_slice(), [list] if place(list))
        }
        _ => false,
    }
}

/// The IR nodes of an expression.
fn node_count(expr: &Expr) -> usize {
    let mut count = 0;
    expr.visit(&mut |_| count += 1);
    count
}
