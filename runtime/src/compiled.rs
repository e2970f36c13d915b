//! The compiled evaluator: the policy's expressions turned into closures once, when an
//! [`crate::Engine`] is built, and run for every case that asks for no trace.
//!
//! Rationale: the interpreter of `eval.rs` walks the IR tree for every case, and its one large
//! `match` pays for all of its variants at every node (a big stack frame, a long prologue, a
//! `Value` built and matched again between every two nodes). Here each node is decided once:
//! a field read of the case becomes a walk down fixed indices that borrows the records, a
//! condition becomes a closure that returns a `bool`, an aggregate over a list of the case binds
//! each element by reference instead of cloning it, and names written into results are shared
//! text prepared in advance.
//!
//! The compiled evaluator never reports an error itself. On anything unusual (an evaluation
//! error, a failed case check, a cycle, a value of an unexpected shape) it gives up with
//! [`Bail`], and the engine evaluates the case again with the interpreter, which reports what
//! happened with its code, path, rule and message. Every error therefore has one source, and the
//! compiled evaluator only has to agree with the interpreter on the values of the cases it
//! finishes. `runtime/tests/expressions.rs` (every row, both ways), `tests/tests/differential.rs`
//! (random and broken kz cases, byte for byte), the `read_case` fuzz target and `ereje bench`
//! check that it does. Because giving up
//! is always safe, the compiled code may evaluate an argument the interpreter would have skipped:
//! evaluation has no side effects besides memoisation.
//!
//! The interpreter stays the evaluator of traced runs, which record every node.

mod inline;
mod typed;

use std::cell::RefCell;
use std::cmp::Ordering;
use std::sync::Arc;

use rust_decimal::Decimal;

use crate::exact::Number;

use crate::dates;
use crate::error::CaseError;
use crate::ir::{
    AggregateKind, BandTable, BinaryOp, Body, Builtin, CaseCheck, Expr, GroupMember, ItemKind,
    MatchArm, Param, Pattern, Policy, RoundingMode, TableRow, Type, UnaryOp,
};
use crate::operations::{self, Prepared, MAX_DEPTH};
use crate::value::{Date, Key, Value};

/// The compiled evaluator gave up; the interpreter evaluates the case again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bail;

type Run<T> = Result<T, Bail>;

/// Compiled code that gives a `T`: a [`Value`], a condition's `bool`, or a plain scalar of
/// typed code (`typed.rs`).
type Typed<T> = Box<dyn for<'c> Fn(&mut Machine<'c>) -> Run<T> + Send + Sync>;

/// A compiled expression that gives a value.
type Code = Typed<Value>;

/// What an iteration over a list source calls with each element (bound as a local); it returns
/// whether to go on.
type Visitor<'v, 'c> = dyn FnMut(&mut Machine<'c>, Local<'c>) -> Run<bool> + 'v;

/// A compiled condition: an expression of type Bool, without a `Value` around the answer.
type Condition = Typed<bool>;

/// A local slot's content: a value the frame owns, or a value of the case borrowed for the whole
/// evaluation (the element of an aggregate over a list of the case, a member passed to a
/// function), which costs no reference count.
#[derive(Debug, Clone)]
enum Local<'c> {
    Owned(Value),
    Borrowed(&'c Value),
}

impl<'c> Local<'c> {
    fn get(&self) -> &Value {
        match self {
            Local::Owned(value) => value,
            Local::Borrowed(value) => value,
        }
    }
}

/// The per-case state of a memoised item.
#[derive(Debug, Clone, Default)]
pub(crate) enum MemoSlot {
    #[default]
    Empty,
    InProgress,
    Done(Value),
}

/// The buffers of the compiled evaluator that outlive a case (see [`crate::Scratch`]).
#[derive(Debug, Default)]
pub(crate) struct CompiledScratch {
    memo: Vec<MemoSlot>,
    exception: Vec<Option<u32>>,
    calls: CallMemo,
    /// The local slots' buffer, kept between cases (see [`recycle`]).
    locals: Vec<Local<'static>>,
}

/// An emptied buffer of local slots, with its allocation, for another evaluation's lifetime.
/// Collecting an emptied `Vec` into a `Vec` of a type of the same layout reuses its allocation
/// (the standard library collects in place), so no slot buffer is allocated per case.
fn recycle<'from, 'to>(mut locals: Vec<Local<'from>>) -> Vec<Local<'to>> {
    locals.clear();
    locals
        .into_iter()
        .map(|_| Local::Owned(Value::Absent))
        .collect()
}

/// The results of one-argument function calls on records of the case, for one case.
///
/// Rationale: policies ask the same question of each family member again and again (`age_of(m)`
/// behind `is_adult`, `is_minor`, `is_able_bodied`, …, in rule after rule). A function's result
/// depends only on its arguments, the case and the as-of date, so within one case a call on the
/// same record gives the same value. A record borrowed from the case has a fixed address for the
/// whole evaluation, which makes (function, address) an exact key; records the evaluation builds
/// are never keys, since their addresses can be reused. The table is open-addressed with a
/// generation number, so forgetting the previous case costs nothing; when it is full, calls are
/// simply not remembered.
#[derive(Debug)]
struct CallMemo {
    generation: u32,
    entries: Vec<CallEntry>,
    used: usize,
}

#[derive(Debug, Clone)]
struct CallEntry {
    generation: u32,
    function: usize,
    record: usize,
    value: Value,
}

/// Slots of the call table: a power of two, more than twice the calls of a large family (a
/// dozen functions on nine members), and small enough (12 KB) to stay in the first-level cache.
const CALL_MEMO_SLOTS: usize = 256;

impl Default for CallMemo {
    fn default() -> CallMemo {
        CallMemo {
            generation: 1,
            entries: Vec::new(),
            used: 0,
        }
    }
}

impl CallMemo {
    fn start_case(&mut self) {
        if self.entries.is_empty() {
            self.entries = vec![
                CallEntry {
                    generation: 0,
                    function: 0,
                    record: 0,
                    value: Value::Absent,
                };
                CALL_MEMO_SLOTS
            ];
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // After four billion cases the generations start again: forget every entry.
            for entry in &mut self.entries {
                entry.generation = 0;
            }
            self.generation = 1;
        }
        self.used = 0;
    }

    fn slot(function: usize, record: usize) -> usize {
        // Records are at least 8-byte aligned; mix the address with the function id.
        let mixed = (record >> 3).wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize) ^ function;
        (mixed ^ (mixed >> 29)) & (CALL_MEMO_SLOTS - 1)
    }

    fn get(&self, function: usize, record: usize) -> Option<&Value> {
        let mut slot = CallMemo::slot(function, record);
        for _ in 0..CALL_MEMO_SLOTS {
            let entry = self.entries.get(slot)?;
            if entry.generation != self.generation {
                return None;
            }
            if entry.function == function && entry.record == record {
                return Some(&entry.value);
            }
            slot = (slot + 1) & (CALL_MEMO_SLOTS - 1);
        }
        None
    }

    fn insert(&mut self, function: usize, record: usize, value: &Value) {
        // Keep the table at most half full so that probes stay short.
        if self.used >= CALL_MEMO_SLOTS / 2 {
            return;
        }
        let generation = self.generation;
        let mut slot = CallMemo::slot(function, record);
        for _ in 0..CALL_MEMO_SLOTS {
            let Some(entry) = self.entries.get_mut(slot) else {
                return;
            };
            if entry.generation != generation {
                *entry = CallEntry {
                    generation,
                    function,
                    record,
                    value: value.clone(),
                };
                self.used += 1;
                return;
            }
            slot = (slot + 1) & (CALL_MEMO_SLOTS - 1);
        }
    }
}

/// A place in the case: the case root or a local slot, then record fields (or object entries)
/// by index. Reading a place borrows every record on the way and clones only what it returns.
#[derive(Debug, Clone)]
struct Place {
    start: PlaceStart,
    fields: Vec<u32>,
}

#[derive(Debug, Clone, Copy)]
enum PlaceStart {
    Root,
    Local(u32),
}

/// Where an aggregate's elements come from.
enum ListSource {
    /// A list of the case, or of a local that may borrow one.
    Place(Place),
    /// `place ?? fallback`, as in `case.bank.loans ?? []`.
    PlaceOr(Place, Code),
    /// `flat_map(var in outer where filter => place)`: the elements of the inner lists, one
    /// after the other, without building the flattened list.
    FlatMap {
        var: u32,
        outer: Box<ListSource>,
        filter: Option<Condition>,
        inner: Place,
    },
    /// Any other expression: the list is computed and its elements are cloned into the slot.
    Computed(Code),
}

/// How a function argument or a `match` binding is filled.
enum Binding {
    /// Another local: copied, so a borrowed value stays borrowed.
    Local(u32),
    /// A place: borrowed when it lies in the case.
    Place(Place),
    Computed(Code),
}

struct CompiledItem {
    kind: ItemKind,
    /// The frame's size: the item's locals and every slot its body uses.
    frame: usize,
    /// The function's parameter count (0 for other items).
    params: usize,
    body: CompiledBody,
}

enum CompiledBody {
    Expr(Code),
    Exceptions {
        base: Code,
        /// Condition and value of each exception, highest priority first.
        exceptions: Vec<(Condition, Code)>,
    },
}

struct CompiledCheck {
    list: Option<ListSource>,
    /// Fails the check when it gives `false` (and only then, as in the interpreter).
    condition: Code,
    frame: usize,
}

/// A policy compiled for evaluation without a trace.
pub(crate) struct Program {
    items: Vec<CompiledItem>,
    checks: Vec<CompiledCheck>,
    outputs: Vec<(Code, usize)>,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Program")
            .field("items", &self.items.len())
            .field("outputs", &self.outputs.len())
            .finish()
    }
}

/// The state of one evaluation.
pub(crate) struct Machine<'c> {
    policy: &'c Policy,
    program: &'c Program,
    root: &'c Value,
    as_of: Date,
    memo: &'c mut Vec<MemoSlot>,
    exception: &'c mut Vec<Option<u32>>,
    calls: &'c mut CallMemo,
    locals: Vec<Local<'c>>,
    /// Where the current frame starts in `locals`.
    frame: usize,
    depth: u32,
}

/// Runs the checks, then every output, of a compiled policy for one case; `Err(Bail)` when the
/// interpreter must evaluate the case instead.
pub(crate) fn evaluate(
    policy: &Policy,
    program: &Program,
    root: &Value,
    as_of: Date,
    scratch: &mut CompiledScratch,
) -> Run<Vec<Value>> {
    let CompiledScratch {
        memo,
        exception,
        calls,
        locals: spare_locals,
    } = scratch;
    calls.start_case();
    // One pass that empties the entries of the last case (and drops their values), then the
    // size this program needs (a scratch may move between engines).
    for slot in memo.iter_mut() {
        *slot = MemoSlot::Empty;
    }
    memo.resize(program.items.len(), MemoSlot::Empty);
    // An exception's index is written whenever its item is computed, and read only after
    // that (`exception_applied` computes the item first): entries of an earlier case are
    // never read, and need no reset.
    if exception.len() < program.items.len() {
        exception.resize(program.items.len(), None);
    }
    let mut machine = Machine {
        policy,
        program,
        root,
        as_of,
        memo,
        exception,
        calls,
        locals: recycle(std::mem::take(spare_locals)),
        frame: 0,
        depth: 0,
    };
    let values = machine.run();
    *spare_locals = recycle(machine.locals);
    values
}

impl<'c> Machine<'c> {
    fn run(&mut self) -> Run<Vec<Value>> {
        self.run_checks()?;
        let program = self.program;
        let mut values = Vec::with_capacity(program.outputs.len());
        for (code, frame) in &program.outputs {
            self.reset_frame(*frame);
            values.push(code(self)?);
        }
        Ok(values)
    }

    fn reset_frame(&mut self, size: usize) {
        self.locals.clear();
        self.locals
            .resize_with(size, || Local::Owned(Value::Absent));
        self.frame = 0;
    }

    fn run_checks(&mut self) -> Run<()> {
        let program = self.program;
        for check in &program.checks {
            self.reset_frame(check.frame);
            match &check.list {
                None => {
                    if (check.condition)(self)? == Value::Bool(false) {
                        return Err(Bail);
                    }
                }
                Some(list) => self.for_each(list, &mut |machine, element| {
                    machine.set_local(0, element)?;
                    if (check.condition)(machine)? == Value::Bool(false) {
                        Err(Bail)
                    } else {
                        Ok(true)
                    }
                })?,
            }
        }
        Ok(())
    }

    fn local(&self, slot: u32) -> Run<&Local<'c>> {
        self.locals.get(self.frame + slot as usize).ok_or(Bail)
    }

    fn set_local(&mut self, slot: u32, value: Local<'c>) -> Run<()> {
        let place = self
            .locals
            .get_mut(self.frame + slot as usize)
            .ok_or(Bail)?;
        *place = value;
        Ok(())
    }

    fn enter(&mut self) -> Run<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Bail);
        }
        Ok(())
    }

    /// The value of a definition, rule or derived parameter, computed once per case.
    fn item(&mut self, id: usize) -> Run<Value> {
        self.item_ref(id).cloned()
    }

    /// The value of an item, borrowed from the memo (computed first if need be): conditions and
    /// comparisons read it there instead of cloning it.
    #[inline]
    fn item_ref(&mut self, id: usize) -> Run<&Value> {
        if !matches!(self.memo.get(id), Some(MemoSlot::Done(_))) {
            self.compute(id)?;
        }
        match self.memo.get(id) {
            Some(MemoSlot::Done(value)) => Ok(value),
            _ => Err(Bail),
        }
    }

    /// Computes an item that is not in the memo yet, and stores its value there.
    fn compute(&mut self, id: usize) -> Run<()> {
        match self.memo.get(id) {
            Some(MemoSlot::Empty) => {}
            Some(MemoSlot::Done(_)) => return Ok(()),
            Some(MemoSlot::InProgress) | None => return Err(Bail),
        }
        let program = self.program;
        let item = program.items.get(id).ok_or(Bail)?;
        if item.kind == ItemKind::Function {
            return Err(Bail);
        }
        self.memo[id] = MemoSlot::InProgress;
        self.enter()?;
        let saved_frame = self.frame;
        let base = self.locals.len();
        if item.frame > 0 {
            self.locals
                .resize_with(base + item.frame, || Local::Owned(Value::Absent));
        }
        self.frame = base;
        let value = self.body(id, &item.body)?;
        self.frame = saved_frame;
        if item.frame > 0 {
            self.locals.truncate(base);
        }
        self.depth -= 1;
        self.memo[id] = MemoSlot::Done(value);
        Ok(())
    }

    fn call(&mut self, id: usize, args: &[Binding]) -> Run<Value> {
        let program = self.program;
        let item = program.items.get(id).ok_or(Bail)?;
        if item.kind != ItemKind::Function {
            return self.item(id);
        }
        if args.len() != item.params {
            return Err(Bail);
        }
        let base = self.locals.len();
        for arg in args {
            let value = self.bind(arg)?;
            self.locals.push(value);
        }
        // A one-argument call on a record of the case: remembered for the rest of the case.
        let record = match self.locals.get(base..) {
            Some([Local::Borrowed(record @ Value::Record(_))]) => {
                Some(std::ptr::from_ref::<Value>(record) as usize)
            }
            _ => None,
        };
        if let Some(record) = record {
            if let Some(value) = self.calls.get(id, record) {
                let value = value.clone();
                self.locals.truncate(base);
                return Ok(value);
            }
        }
        self.enter()?;
        let frame_end = base + item.frame.max(args.len());
        if self.locals.len() < frame_end {
            self.locals
                .resize_with(frame_end, || Local::Owned(Value::Absent));
        }
        let saved_frame = self.frame;
        self.frame = base;
        let value = self.body(id, &item.body)?;
        self.frame = saved_frame;
        self.locals.truncate(base);
        self.depth -= 1;
        if let Some(record) = record {
            self.calls.insert(id, record, &value);
        }
        Ok(value)
    }

    fn body(&mut self, id: usize, body: &CompiledBody) -> Run<Value> {
        match body {
            CompiledBody::Expr(code) => code(self),
            CompiledBody::Exceptions { base, exceptions } => {
                for (position, (condition, value)) in exceptions.iter().enumerate() {
                    if condition(self)? {
                        if let Some(place) = self.exception.get_mut(id) {
                            *place = u32::try_from(position).ok();
                        }
                        return value(self);
                    }
                }
                if let Some(place) = self.exception.get_mut(id) {
                    *place = None;
                }
                base(self)
            }
        }
    }

    /// The value a place holds in the case, borrowed for the whole evaluation; `None` when the
    /// place starts at a local that owns its value.
    fn place_in_case(&self, place: &Place) -> Run<Option<&'c Value>> {
        let mut value: &'c Value = match place.start {
            PlaceStart::Root => self.root,
            PlaceStart::Local(slot) => match self.local(slot)? {
                Local::Borrowed(value) => value,
                Local::Owned(_) => return Ok(None),
            },
        };
        for index in &place.fields {
            value = match step(value, *index)? {
                Some(next) => next,
                None => return Ok(Some(&ABSENT)),
            };
        }
        Ok(Some(value))
    }

    /// The value a place holds, cloned.
    fn place_value(&self, place: &Place) -> Run<Value> {
        self.place_ref(place).cloned()
    }

    fn bind(&mut self, binding: &Binding) -> Run<Local<'c>> {
        match binding {
            Binding::Local(slot) => Ok(self.local(*slot)?.clone()),
            Binding::Place(place) => match self.place_in_case(place)? {
                Some(value) => Ok(Local::Borrowed(value)),
                None => Ok(Local::Owned(self.place_value(place)?)),
            },
            Binding::Computed(code) => Ok(Local::Owned(code(self)?)),
        }
    }

    /// [`Machine::for_each`] for a visitor known at compile time: the elements of a list of the
    /// case are visited in a loop the visitor is inlined into (the other sources go through
    /// `for_each`).
    #[inline]
    fn for_each_inline<F>(&mut self, source: &ListSource, mut visit: F) -> Run<()>
    where
        F: FnMut(&mut Machine<'c>, Local<'c>) -> Run<bool>,
    {
        if let ListSource::Place(place) = source {
            if let Some(Value::List(items)) = self.place_in_case(place)? {
                for item in items.iter() {
                    if !visit(self, Local::Borrowed(item))? {
                        break;
                    }
                }
                return Ok(());
            }
        }
        self.for_each(source, &mut visit)
    }

    /// Binds each element of `source` that passes `filter` to slot `var` and calls `visit`
    /// (with the element in its slot) until it returns `false`: the loop of aggregates and maps.
    #[inline]
    fn for_each_selected<F>(
        &mut self,
        source: &ListSource,
        var: u32,
        filter: Option<&Condition>,
        mut visit: F,
    ) -> Run<()>
    where
        F: FnMut(&mut Machine<'c>) -> Run<bool>,
    {
        self.for_each_inline(source, |machine, element| {
            machine.set_local(var, element)?;
            if let Some(filter) = filter {
                if !filter(machine)? {
                    return Ok(true);
                }
            }
            visit(machine)
        })
    }

    /// Calls `visit` with each element of a list source until it returns `false`.
    fn for_each(&mut self, source: &ListSource, visit: &mut Visitor<'_, 'c>) -> Run<()> {
        match source {
            ListSource::Place(place) => self.for_each_in_place(place, None, visit),
            ListSource::PlaceOr(place, fallback) => {
                self.for_each_in_place(place, Some(fallback), visit)
            }
            ListSource::FlatMap {
                var,
                outer,
                filter,
                inner,
            } => self.for_each(outer, &mut |machine, element| {
                machine.set_local(*var, element)?;
                if let Some(filter) = filter {
                    if !filter(machine)? {
                        return Ok(true);
                    }
                }
                let mut going = true;
                machine.for_each_in_place(inner, None, &mut |machine, element| {
                    going = visit(machine, element)?;
                    Ok(going)
                })?;
                Ok(going)
            }),
            ListSource::Computed(code) => {
                let list = code(self)?;
                self.for_each_owned(&list, visit)
            }
        }
    }

    fn for_each_in_place(
        &mut self,
        place: &Place,
        fallback: Option<&Code>,
        visit: &mut Visitor<'_, 'c>,
    ) -> Run<()> {
        match self.place_in_case(place)? {
            Some(Value::List(items)) => {
                for item in items.iter() {
                    if !visit(self, Local::Borrowed(item))? {
                        break;
                    }
                }
                Ok(())
            }
            Some(Value::Absent) => match fallback {
                Some(fallback) => {
                    let list = fallback(self)?;
                    self.for_each_owned(&list, visit)
                }
                None => Ok(()),
            },
            Some(_) => Err(Bail),
            None => {
                let list = self.place_value(place)?;
                match (&list, fallback) {
                    (Value::Absent, Some(fallback)) => {
                        let list = fallback(self)?;
                        self.for_each_owned(&list, visit)
                    }
                    _ => self.for_each_owned(&list, visit),
                }
            }
        }
    }

    fn for_each_owned(&mut self, list: &Value, visit: &mut Visitor<'_, 'c>) -> Run<()> {
        match list {
            Value::List(items) => {
                for item in items.iter() {
                    if !visit(self, Local::Owned(item.clone()))? {
                        break;
                    }
                }
                Ok(())
            }
            Value::Absent => Ok(()),
            _ => Err(Bail),
        }
    }

    fn active(&self, member: &GroupMember) -> bool {
        member.active_from.is_none_or(|from| from <= self.as_of)
    }
}

/// An absent value to borrow for the whole evaluation.
static ABSENT: Value = Value::Absent;

/// Field `index` of a record or object; `None` when the value is absent.
fn step(value: &Value, index: u32) -> Run<Option<&Value>> {
    match value {
        Value::Record(record) => record.fields.get(index as usize).map(Some).ok_or(Bail),
        Value::Map(entries) => entries
            .get(index as usize)
            .map(|(_, value)| Some(value))
            .ok_or(Bail),
        Value::Absent => Ok(None),
        _ => Err(Bail),
    }
}

fn bail(_: Box<CaseError>) -> Bail {
    Bail
}

/// Any error of the compiled code, as the interpreter's error type, for [`operations::apply_builtin`];
/// it is turned back into [`Bail`] at once and never shown.
fn bail_error() -> Box<CaseError> {
    operations::type_error("the compiled evaluator gave up")
}

/// The ordering of two values, quick for the common integer and decimal pairs.
#[inline]
fn order(left: &Value, right: &Value) -> Run<Ordering> {
    match (left, right) {
        (Value::Integer(left), Value::Integer(right)) => Ok(left.cmp(right)),
        (Value::Decimal(left), Value::Decimal(right)) => Ok(left.cmp(right)),
        _ => left.compare(right).ok_or(Bail),
    }
}

/// Equality as the interpreter decides it, quick for the common scalar pairs.
#[inline]
fn equal(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Enum(left), Value::Enum(right)) => left == right,
        (Value::Integer(left), Value::Integer(right)) => left == right,
        (Value::Bool(left), Value::Bool(right)) => left == right,
        _ => operations::values_equal(left, right),
    }
}

/// Whether `list` (a list, or absent) contains `value`.
fn contains(list: &Value, value: &Value) -> Run<bool> {
    match list {
        Value::List(items) => Ok(items.iter().any(|item| equal(value, item))),
        Value::Absent => Ok(false),
        _ => Err(Bail),
    }
}

fn compare(op: BinaryOp, left: &Value, right: &Value) -> Run<bool> {
    Ok(match op {
        BinaryOp::Eq => equal(left, right),
        BinaryOp::Ne => !equal(left, right),
        BinaryOp::Lt => order(left, right)? == Ordering::Less,
        BinaryOp::Le => order(left, right)? != Ordering::Greater,
        BinaryOp::Gt => order(left, right)? == Ordering::Greater,
        BinaryOp::Ge => order(left, right)? != Ordering::Less,
        BinaryOp::In => contains(right, left)?,
        BinaryOp::NotIn => !contains(right, left)?,
        _ => return Err(Bail),
    })
}

fn is_comparison(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge
            | BinaryOp::In
            | BinaryOp::NotIn
    )
}

/// The place an expression names, if it is a chain of field reads from the case or a local.
fn place_of(expr: &Expr) -> Option<Place> {
    match expr {
        Expr::Input => Some(Place {
            start: PlaceStart::Root,
            fields: Vec::new(),
        }),
        Expr::Local(slot) => Some(Place {
            start: PlaceStart::Local(*slot),
            fields: Vec::new(),
        }),
        Expr::Field(inner, index) => {
            let mut place = place_of(inner)?;
            place.fields.push(*index);
            Some(place)
        }
        _ => None,
    }
}

/// Compiles a policy for evaluation without a trace. Compilation cannot fail: the IR has been
/// checked by `load::prepare`, and anything that would not evaluate compiles to code that gives
/// up.
pub(crate) fn compile(policy: &Policy, prepared: &Prepared) -> Program {
    let compiler = Compiler {
        policy,
        scope: RefCell::new(Vec::new()),
    };
    let frames: Vec<u32> = policy
        .items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            prepared
                .item_frames
                .get(index)
                .copied()
                .unwrap_or(item.locals)
                .max(item.params.len() as u32)
        })
        .collect();
    let inliner = inline::Inliner::new(policy, frames.clone());
    // An expression with its small calls inlined, the frame grown by the slots they need.
    let inlined = |expr: &Expr, frame: &mut u32| -> Expr {
        match &inliner {
            Some(inliner) => inliner.inline(expr, frame),
            None => expr.clone(),
        }
    };
    let items = policy
        .items
        .iter()
        .zip(&frames)
        .map(|(item, frame)| {
            let mut frame = *frame;
            compiler.enter_item(&item.params);
            let body = match &item.body {
                Body::Expr(expr) => CompiledBody::Expr(compiler.value(&inlined(expr, &mut frame))),
                Body::Exceptions { base, exceptions } => CompiledBody::Exceptions {
                    base: compiler.value(&inlined(base, &mut frame)),
                    exceptions: exceptions
                        .iter()
                        .map(|exception| {
                            (
                                compiler.condition(&inlined(&exception.condition, &mut frame)),
                                compiler.value(&inlined(&exception.value, &mut frame)),
                            )
                        })
                        .collect(),
                },
            };
            CompiledItem {
                kind: item.kind,
                frame: frame as usize,
                params: item.params.len(),
                body,
            }
        })
        .collect();
    let checks = policy
        .checks
        .iter()
        .map(|check: &CaseCheck| {
            let mut frame = check.locals.max(1);
            compiler.enter_item(&[]);
            let list = check.list.as_ref().map(|list| {
                let list = inlined(list, &mut frame);
                compiler.loop_over(&list, 0)
            });
            let condition = compiler.value(&inlined(&check.condition, &mut frame));
            CompiledCheck {
                list,
                condition,
                frame: frame as usize,
            }
        })
        .collect();
    let outputs = policy
        .outputs
        .iter()
        .enumerate()
        .map(|(index, output)| {
            let mut frame = prepared.output_frames.get(index).copied().unwrap_or(0);
            compiler.enter_item(&[]);
            let code = compiler.value(&inlined(&output.expr, &mut frame));
            (code, frame as usize)
        })
        .collect();
    Program {
        items,
        checks,
        outputs,
    }
}

struct Compiler<'p> {
    policy: &'p Policy,
    /// The static type of each local slot of the item being compiled, where known (see
    /// `typed.rs`).
    scope: RefCell<Vec<Option<Type>>>,
}

/// Code that always gives up (an IR index out of range, which `load::prepare` rules out).
fn give_up() -> Code {
    Box::new(|_| Err(Bail))
}

impl Compiler<'_> {
    fn values(&self, exprs: &[Expr]) -> Vec<Code> {
        exprs.iter().map(|expr| self.value(expr)).collect()
    }

    fn optional_condition(&self, expr: Option<&Expr>) -> Option<Condition> {
        expr.map(|expr| self.condition(expr))
    }

    fn binding(&self, expr: &Expr) -> Binding {
        match expr {
            Expr::Local(slot) => Binding::Local(*slot),
            _ => match place_of(expr) {
                Some(place) => Binding::Place(place),
                None => Binding::Computed(self.value(expr)),
            },
        }
    }

    /// The source of a loop whose variable is slot `var`, the variable's type recorded for the
    /// code compiled after it (see `typed.rs`).
    fn loop_over(&self, list: &Expr, var: u32) -> ListSource {
        let source = self.list_source(list);
        self.bind_slot(var, typed::element_of(self.ty(list)));
        source
    }

    fn list_source(&self, expr: &Expr) -> ListSource {
        if let Some(place) = place_of(expr) {
            return ListSource::Place(place);
        }
        match expr {
            Expr::Coalesce(value, fallback) => match place_of(value) {
                Some(place) => ListSource::PlaceOr(place, self.value(fallback)),
                None => ListSource::Computed(self.value(expr)),
            },
            Expr::Aggregate {
                kind: AggregateKind::FlatMap,
                var,
                list,
                filter,
                body: Some(body),
            } => match place_of(body) {
                Some(inner) => {
                    let outer = Box::new(self.loop_over(list, *var));
                    ListSource::FlatMap {
                        var: *var,
                        outer,
                        filter: self.optional_condition(filter.as_deref()),
                        inner,
                    }
                }
                None => ListSource::Computed(self.value(expr)),
            },
            _ => ListSource::Computed(self.value(expr)),
        }
    }

    /// Compiles an expression of type Bool into a condition.
    fn condition(&self, expr: &Expr) -> Condition {
        let typed = match expr {
            Expr::Binary(op, left, right) if is_comparison(*op) => {
                self.typed_comparison(*op, left, right)
            }
            Expr::Builtin(Builtin::QuarterContainsMonth, args) => self.typed_quarter_contains(args),
            Expr::Builtin(Builtin::IsEmpty, args) => self.emptiness_in_place(args),
            Expr::Field(..) | Expr::Local(_) => self.flag_in_place(expr),
            Expr::Coalesce(value, fallback) => self.flag_or(value, fallback),
            _ => None,
        };
        if let Some(condition) = typed {
            return condition;
        }
        match expr {
            Expr::Item(id) => {
                let id = *id as usize;
                Box::new(move |machine| match machine.item_ref(id)? {
                    Value::Bool(value) => Ok(*value),
                    _ => Err(Bail),
                })
            }
            Expr::Const(Value::Bool(value)) => {
                let value = *value;
                Box::new(move |_| Ok(value))
            }
            Expr::And(left, right) => {
                let left = self.condition(left);
                let right = self.condition(right);
                Box::new(move |machine| Ok(left(machine)? && right(machine)?))
            }
            Expr::Or(left, right) => {
                let left = self.condition(left);
                let right = self.condition(right);
                Box::new(move |machine| Ok(left(machine)? || right(machine)?))
            }
            // `not` of an absent value is absent, which no condition accepts: the operand's
            // condition gives up on it as well.
            Expr::Unary(UnaryOp::Not, operand) => {
                let operand = self.condition(operand);
                Box::new(move |machine| Ok(!operand(machine)?))
            }
            // Membership in a list parameter (`i.kind not in EXCLUDED_INCOME_KINDS`): the
            // parameter's list is read where it lies, not cloned.
            Expr::Binary(op @ (BinaryOp::In | BinaryOp::NotIn), left, right)
                if matches!(&**right, Expr::Param { at: None, .. }) =>
            {
                let Expr::Param { param, .. } = &**right else {
                    return Box::new(|_| Err(Bail));
                };
                let Some(param) = self.policy.params.get(*param as usize) else {
                    return Box::new(|_| Err(Bail));
                };
                let param = param.clone();
                let left = self.value(left);
                let wanted = *op == BinaryOp::In;
                Box::new(move |machine| {
                    let left = left(machine)?;
                    Ok(contains(param_at(&param, machine.as_of)?, &left)? == wanted)
                })
            }
            Expr::Binary(op, left_expr, right) if is_comparison(*op) => {
                let left = self.value(left_expr);
                // An ordering operator is decided now: the closure holds which orderings make
                // the condition true.
                let wanted: Option<[bool; 3]> = match op {
                    BinaryOp::Lt => Some([true, false, false]),
                    BinaryOp::Le => Some([true, true, false]),
                    BinaryOp::Gt => Some([false, false, true]),
                    BinaryOp::Ge => Some([false, true, true]),
                    _ => None,
                };
                let holds = move |ordering: Ordering| match (wanted, ordering) {
                    (Some([less, _, _]), Ordering::Less) => less,
                    (Some([_, equal, _]), Ordering::Equal) => equal,
                    (Some([_, _, greater]), Ordering::Greater) => greater,
                    (None, _) => false,
                };
                let op = *op;
                match (&**right, wanted.is_some()) {
                    (Expr::Const(constant), true) if matches!(&**left_expr, Expr::Item(_)) => {
                        let constant = constant.clone();
                        let id = match &**left_expr {
                            Expr::Item(id) => *id as usize,
                            _ => usize::MAX,
                        };
                        Box::new(move |machine| Ok(holds(order(machine.item_ref(id)?, &constant)?)))
                    }
                    (Expr::Const(constant), true) => {
                        let constant = constant.clone();
                        Box::new(move |machine| Ok(holds(order(&left(machine)?, &constant)?)))
                    }
                    (_, true) => {
                        let right = self.value(right);
                        Box::new(move |machine| {
                            let left = left(machine)?;
                            Ok(holds(order(&left, &right(machine)?)?))
                        })
                    }
                    (Expr::Const(constant), false) => {
                        let constant = constant.clone();
                        Box::new(move |machine| compare(op, &left(machine)?, &constant))
                    }
                    (_, false) => {
                        let right = self.value(right);
                        Box::new(move |machine| {
                            let left = left(machine)?;
                            compare(op, &left, &right(machine)?)
                        })
                    }
                }
            }
            Expr::IsPresent(value) => {
                match self.borrowed_test(value, |value| Ok(!value.is_absent())) {
                    Some(test) => test,
                    None => {
                        let value = self.value(value);
                        Box::new(move |machine| Ok(!value(machine)?.is_absent()))
                    }
                }
            }
            Expr::Match { scrutinee, arms } => {
                self.match_arms(scrutinee, arms, |compiler, body| compiler.condition(body))
            }
            Expr::Aggregate {
                kind: kind @ (AggregateKind::Any | AggregateKind::All),
                var,
                list,
                filter,
                body,
            } => self.any_or_all(*kind, *var, list, filter.as_deref(), body.as_deref()),
            _ => {
                let value = self.value(expr);
                Box::new(move |machine| match value(machine)? {
                    Value::Bool(value) => Ok(value),
                    _ => Err(Bail),
                })
            }
        }
    }

    fn any_or_all(
        &self,
        kind: AggregateKind,
        var: u32,
        list: &Expr,
        filter: Option<&Expr>,
        body: Option<&Expr>,
    ) -> Condition {
        let source = self.loop_over(list, var);
        let filter = self.optional_condition(filter);
        let body = self.optional_condition(body);
        let any = kind == AggregateKind::Any;
        Box::new(move |machine| {
            let mut answer = !any;
            machine.for_each_inline(&source, |machine, element| {
                machine.set_local(var, element)?;
                let selected = match &filter {
                    Some(filter) => filter(machine)?,
                    None => true,
                };
                if any {
                    if selected && body.as_ref().map_or(Ok(true), |body| body(machine))? {
                        answer = true;
                        return Ok(false);
                    }
                } else {
                    // Without a body, the filter is the predicate every element must satisfy.
                    let holds = match &body {
                        Some(body) => !selected || body(machine)?,
                        None => selected,
                    };
                    if !holds {
                        answer = false;
                        return Ok(false);
                    }
                }
                Ok(true)
            })?;
            Ok(answer)
        })
    }

    /// Compiles an expression into code that gives its value: typed code inside when the
    /// expression computes a scalar (see `typed.rs`).
    fn value(&self, expr: &Expr) -> Code {
        match self.typed_value(expr) {
            Some(code) => code,
            None => self.untyped_value(expr),
        }
    }

    /// Compiles an expression into code that passes `Value`s between its nodes.
    fn untyped_value(&self, expr: &Expr) -> Code {
        match expr {
            Expr::Const(value) => {
                let value = value.clone();
                Box::new(move |_| Ok(value.clone()))
            }
            Expr::Input => Box::new(|machine| Ok(machine.root.clone())),
            Expr::AsOf => Box::new(|machine| Ok(Value::Date(machine.as_of))),
            Expr::Local(slot) => {
                let slot = *slot;
                Box::new(move |machine| Ok(machine.local(slot)?.get().clone()))
            }
            Expr::Item(id) => {
                let id = *id as usize;
                Box::new(move |machine| machine.item(id))
            }
            Expr::Call(id, args) => {
                let id = *id as usize;
                let args: Vec<Binding> = args.iter().map(|arg| self.binding(arg)).collect();
                Box::new(move |machine| machine.call(id, &args))
            }
            Expr::Param { param, at } => self.param(*param, at.as_deref()),
            Expr::Field(record, index) => match place_of(expr) {
                Some(place) => Box::new(move |machine| machine.place_value(&place)),
                None => {
                    let record = self.value(record);
                    let index = *index;
                    Box::new(move |machine| {
                        let record = record(machine)?;
                        Ok(step(&record, index)?.cloned().unwrap_or(Value::Absent))
                    })
                }
            },
            Expr::Unary(op, operand) => {
                let op = *op;
                let operand = self.value(operand);
                Box::new(move |machine| operations::unary(op, operand(machine)?).map_err(bail))
            }
            Expr::Binary(op, _, _) if is_comparison(*op) => self.condition_value(expr),
            Expr::Binary(op, left, right) => {
                let op = *op;
                let left = self.value(left);
                let right = self.value(right);
                Box::new(move |machine| {
                    let left = left(machine)?;
                    operations::binary(op, &left, &right(machine)?).map_err(bail)
                })
            }
            Expr::And(..) | Expr::Or(..) => self.condition_value(expr),
            Expr::If {
                condition,
                then,
                otherwise,
            } => typed::choice(
                self.condition(condition),
                self.value(then),
                self.value(otherwise),
            ),
            Expr::Match { scrutinee, arms } => {
                self.match_arms(scrutinee, arms, |compiler, body| compiler.value(body))
            }
            Expr::Aggregate {
                kind,
                var,
                list,
                filter,
                body,
            } => self.aggregate(*kind, *var, list, filter.as_deref(), body.as_deref(), expr),
            Expr::MapOf {
                var,
                list,
                filter,
                key,
                value,
            } => {
                let var = *var;
                let source = self.loop_over(list, var);
                let filter = self.optional_condition(filter.as_deref());
                let key = self.value(key);
                let value = self.value(value);
                Box::new(move |machine| {
                    let mut entries: Vec<(Key, Value)> = Vec::new();
                    machine.for_each_selected(&source, var, filter.as_ref(), |machine| {
                        let key = match key(machine)? {
                            Value::Text(text) => Key::from(text),
                            other => Key::from(operations::to_text(&other).map_err(bail)?),
                        };
                        let value = value(machine)?;
                        match entries.iter_mut().find(|(existing, _)| *existing == key) {
                            Some(entry) => entry.1 = value,
                            None => entries.push((key, value)),
                        }
                        Ok(true)
                    })?;
                    Ok(Value::Map(Arc::from(entries)))
                })
            }
            Expr::List(items) => {
                // A list of constants (`[group_1, group_2]`) is built once, not per evaluation.
                if let Some(list) = Expr::constant_list(items) {
                    return Box::new(move |_| Ok(list.clone()));
                }
                let items = self.values(items);
                Box::new(move |machine| {
                    let mut values = Vec::with_capacity(items.len());
                    for item in &items {
                        values.push(item(machine)?);
                    }
                    Ok(Value::List(Arc::from(values)))
                })
            }
            Expr::Object(fields) => {
                let names: Vec<Key> = fields.iter().map(|(name, _)| Key::name(name)).collect();
                let codes: Vec<Code> = fields.iter().map(|(_, expr)| self.value(expr)).collect();
                Box::new(move |machine| {
                    let mut entries = Vec::with_capacity(codes.len());
                    for (name, code) in names.iter().zip(&codes) {
                        entries.push((name.clone(), code(machine)?));
                    }
                    Ok(Value::Map(Arc::from(entries)))
                })
            }
            // Tests that conditions read where their values lie (each arm makes sure that the
            // condition does not come back here for the same expression).
            Expr::Builtin(builtin @ (Builtin::IsEmpty | Builtin::QuarterContainsMonth), args) => {
                let test = match builtin {
                    Builtin::IsEmpty => self.emptiness_in_place(args),
                    _ => self.typed_quarter_contains(args),
                };
                match test {
                    Some(condition) => {
                        Box::new(move |machine| Ok(Value::Bool(condition(machine)?)))
                    }
                    None => self.builtin(*builtin, args),
                }
            }
            Expr::Builtin(builtin, args) => self.builtin(*builtin, args),
            Expr::Round {
                value,
                places,
                mode,
            } => {
                let value = self.value(value);
                let places = *places;
                let mode: RoundingMode = *mode;
                Box::new(move |machine| {
                    operations::round(&value(machine)?, places, mode).map_err(bail)
                })
            }
            Expr::Band(band, value) => self.band(*band, value, false),
            Expr::BandLabel(band, value) => self.band(*band, value, true),
            Expr::Lookup(table, keys) => {
                let Some(table) = self.policy.tables.get(*table as usize) else {
                    return give_up();
                };
                let rows: Vec<TableRow> = table.rows.clone();
                let keys = self.values(keys);
                Box::new(move |machine| {
                    let mut key = Vec::with_capacity(keys.len());
                    for code in &keys {
                        key.push(code(machine)?);
                    }
                    if key.iter().any(Value::is_absent) {
                        return Ok(Value::Absent);
                    }
                    let row = rows.iter().find(|row| {
                        row.key.len() == key.len()
                            && row
                                .key
                                .iter()
                                .zip(&key)
                                .all(|(left, right)| operations::values_equal(left, right))
                    });
                    Ok(row.map_or(Value::Absent, |row| row.value.clone()))
                })
            }
            Expr::Holding(group) => {
                let Some(group) = self.policy.groups.get(*group as usize) else {
                    return give_up();
                };
                let members = self.members(&group.members);
                Box::new(move |machine| {
                    let mut holding = Vec::new();
                    for (member, id, name, _) in &members {
                        if machine.active(member)
                            && matches!(machine.item_ref(*id)?, Value::Bool(true))
                        {
                            holding.push(Value::Text(Arc::clone(name)));
                        }
                    }
                    Ok(Value::List(Arc::from(holding)))
                })
            }
            Expr::GroupSum(group) => {
                let Some(group) = self.policy.groups.get(*group as usize) else {
                    return give_up();
                };
                let members = self.members(&group.members);
                let integers = group.element == Type::Integer;
                Box::new(move |machine| {
                    let mut integer_total: i64 = 0;
                    let mut decimal_total = Number::Decimal(Decimal::ZERO);
                    for (member, id, _, _) in &members {
                        if !machine.active(member) {
                            continue;
                        }
                        match machine.item_ref(*id)? {
                            Value::Absent => {}
                            Value::Integer(value) if integers => {
                                integer_total = integer_total.checked_add(*value).ok_or(Bail)?;
                            }
                            value if !integers => {
                                let value = operations::number(value).map_err(bail)?;
                                decimal_total =
                                    decimal_total.checked_add(value).map_err(|_| Bail)?;
                            }
                            _ => return Err(Bail),
                        }
                    }
                    Ok(if integers {
                        Value::Integer(integer_total)
                    } else {
                        Value::number(decimal_total)
                    })
                })
            }
            Expr::GroupValues(group) => {
                let Some(group) = self.policy.groups.get(*group as usize) else {
                    return give_up();
                };
                let members = self.members(&group.members);
                Box::new(move |machine| {
                    let mut entries = Vec::with_capacity(members.len());
                    for (member, id, _, key) in &members {
                        if machine.active(member) {
                            entries.push((key.clone(), machine.item(*id)?));
                        }
                    }
                    Ok(Value::Map(Arc::from(entries)))
                })
            }
            Expr::ExceptionApplied(item) => {
                let id = *item as usize;
                let labels: Vec<Value> = match self.policy.items.get(id).map(|item| &item.body) {
                    Some(Body::Exceptions { exceptions, .. }) => exceptions
                        .iter()
                        .map(|exception| Value::text(&exception.label))
                        .collect(),
                    _ => Vec::new(),
                };
                Box::new(move |machine| {
                    machine.item(id)?;
                    let won = machine.exception.get(id).copied().flatten();
                    Ok(won
                        .and_then(|index| labels.get(index as usize))
                        .cloned()
                        .unwrap_or(Value::Absent))
                })
            }
            Expr::Coalesce(value, fallback) => {
                let value = self.value(value);
                let fallback = self.value(fallback);
                Box::new(move |machine| {
                    let value = value(machine)?;
                    if value.is_absent() {
                        fallback(machine)
                    } else {
                        Ok(value)
                    }
                })
            }
            Expr::IsPresent(_) => self.condition_value(expr),
            Expr::First(list) => {
                let list = self.value(list);
                Box::new(move |machine| match list(machine)? {
                    Value::List(items) => Ok(items.first().cloned().unwrap_or(Value::Absent)),
                    Value::Absent => Ok(Value::Absent),
                    _ => Err(Bail),
                })
            }
        }
    }

    /// A `match`: the scrutinee is bound once (borrowed where it lies in the case), and the
    /// first arm whose pattern matches gives the result, compiled by `compile_body` (as a value,
    /// or as a condition).
    fn match_arms<T: 'static>(
        &self,
        scrutinee: &Expr,
        arms: &[MatchArm],
        compile_body: impl Fn(&Self, &Expr) -> Typed<T>,
    ) -> Typed<T> {
        let scrutinee_type = self.ty(scrutinee);
        let scrutinee = self.binding(scrutinee);
        let arms: Vec<(Pattern, Option<u32>, Typed<T>)> = arms
            .iter()
            .map(|arm| {
                if let Some(slot) = arm.bind {
                    let ty = match (&arm.pattern, scrutinee_type.clone()) {
                        (Pattern::Some, Some(Type::Optional(inner))) => Some(*inner),
                        (Pattern::Some, _) => None,
                        (_, ty) => ty,
                    };
                    self.bind_slot(slot, ty);
                }
                (arm.pattern.clone(), arm.bind, compile_body(self, &arm.body))
            })
            .collect();
        Box::new(move |machine| {
            let value = machine.bind(&scrutinee)?;
            for (pattern, bind, body) in &arms {
                let matched = match pattern {
                    Pattern::Variant(index) => {
                        matches!(value.get(), Value::Enum(variant) if variant == index)
                    }
                    Pattern::Literal(literal) => equal(value.get(), literal),
                    Pattern::Some => !value.get().is_absent(),
                    Pattern::None => value.get().is_absent(),
                    Pattern::Wildcard => true,
                };
                if matched {
                    if let Some(slot) = bind {
                        machine.set_local(*slot, value)?;
                    }
                    return body(machine);
                }
            }
            Err(Bail)
        })
    }

    /// Code that borrows a value where it lies (an item's memo, a place), for tests of
    /// presence and emptiness; `None` for other expressions.
    fn borrowed_test(&self, expr: &Expr, test: fn(&Value) -> Run<bool>) -> Option<Condition> {
        match expr {
            Expr::Item(id) => {
                let id = *id as usize;
                Some(Box::new(move |machine| test(machine.item_ref(id)?)))
            }
            _ => {
                let place = place_of(expr)?;
                Some(Box::new(move |machine| test(machine.place_ref(&place)?)))
            }
        }
    }

    /// `is_empty(x)` as the interpreter's builtin decides it, with `x` read where it lies;
    /// `None` when `x` is not an item or a place.
    fn emptiness_in_place(&self, args: &[Expr]) -> Option<Condition> {
        let [list] = args else {
            return None;
        };
        self.borrowed_test(list, |value| match value {
            Value::List(items) => Ok(items.is_empty()),
            Value::Map(entries) => Ok(entries.is_empty()),
            Value::Text(text) => Ok(text.is_empty()),
            Value::Absent => Ok(true),
            _ => Err(Bail),
        })
    }

    /// A flag of the case or of a local (`m.carer`), read where it lies.
    fn flag_in_place(&self, expr: &Expr) -> Option<Condition> {
        let place = place_of(expr)?;
        Some(Box::new(move |machine| {
            match machine.place_ref(&place)? {
                Value::Bool(value) => Ok(*value),
                _ => Err(Bail),
            }
        }))
    }

    /// `flag ?? fallback` on a field: the flag is read where it lies.
    fn flag_or(&self, value: &Expr, fallback: &Expr) -> Option<Condition> {
        let place = place_of(value)?;
        let fallback = self.condition(fallback);
        Some(Box::new(move |machine| {
            match machine.place_ref(&place)? {
                Value::Bool(value) => Ok(*value),
                Value::Absent => fallback(machine),
                _ => Err(Bail),
            }
        }))
    }

    /// A condition as code that gives a `Value::Bool`.
    fn condition_value(&self, expr: &Expr) -> Code {
        let condition = self.condition(expr);
        Box::new(move |machine| Ok(Value::Bool(condition(machine)?)))
    }

    /// The members of a group with their item ids and names, as shared text and as keys.
    fn members(&self, members: &[GroupMember]) -> Vec<(GroupMember, usize, Arc<str>, Key)> {
        members
            .iter()
            .map(|member| {
                let name = self
                    .policy
                    .items
                    .get(member.item as usize)
                    .map_or("", |item| item.name.as_str());
                (
                    member.clone(),
                    member.item as usize,
                    Arc::from(name),
                    Key::name(name),
                )
            })
            .collect()
    }

    fn param(&self, id: u32, at: Option<&Expr>) -> Code {
        let Some(param) = self.policy.params.get(id as usize) else {
            return give_up();
        };
        let param: Param = param.clone();
        match at {
            None => Box::new(move |machine| param_value(&param, machine.as_of)),
            Some(at) => {
                let at = self.value(at);
                Box::new(move |machine| match at(machine)? {
                    Value::Date(date) => param_value(&param, date),
                    _ => Err(Bail),
                })
            }
        }
    }

    fn builtin(&self, builtin: Builtin, args: &[Expr]) -> Code {
        // The builtins every case asks for many times are called directly; the others go
        // through the interpreter's implementation.
        match (builtin, args) {
            (Builtin::Age, [birth, on]) => {
                let birth = self.value(birth);
                let on = self.value(on);
                return Box::new(move |machine| match (birth(machine)?, on(machine)?) {
                    (Value::Date(birth), Value::Date(on)) => {
                        dates::age(birth, on).map(Value::Integer).ok_or(Bail)
                    }
                    (Value::Date(_) | Value::Absent, Value::Absent)
                    | (Value::Absent, Value::Date(_)) => Ok(Value::Absent),
                    _ => Err(Bail),
                });
            }
            (Builtin::QuarterContainsMonth, [quarter, month]) => {
                let quarter = self.value(quarter);
                let month = self.value(month);
                return Box::new(move |machine| match (quarter(machine)?, month(machine)?) {
                    (Value::Quarter(quarter), Value::Month(month)) => {
                        Ok(Value::Bool(dates::quarter_contains(quarter, month)))
                    }
                    (Value::Absent, _) | (_, Value::Absent) => Ok(Value::Absent),
                    _ => Err(Bail),
                });
            }
            (Builtin::MonthOf, [date]) => {
                let date = self.value(date);
                return Box::new(move |machine| match date(machine)? {
                    Value::Date(date) => Ok(Value::Month(dates::month_of(date))),
                    Value::Absent => Ok(Value::Absent),
                    _ => Err(Bail),
                });
            }
            _ => {}
        }
        let args = self.values(args);
        Box::new(move |machine| {
            let policy = machine.policy;
            operations::apply_builtin(policy, builtin, |index| match args.get(index) {
                Some(arg) => arg(machine).map_err(|Bail| bail_error()),
                None => Err(bail_error()),
            })
            .map_err(bail)
        })
    }

    fn band(&self, id: u32, value: &Expr, label_only: bool) -> Code {
        let Some(table) = self.policy.bands.get(id as usize) else {
            return give_up();
        };
        let table: BandTable = table.clone();
        let results: Vec<Value> = table
            .bands
            .iter()
            .map(|band| {
                if label_only {
                    Value::text(&band.label)
                } else {
                    band.value.clone()
                }
            })
            .collect();
        let value = self.value(value);
        Box::new(move |machine| {
            let position = table.band_of(&value(machine)?).map_err(|_| Bail)?;
            position
                .and_then(|position| results.get(position))
                .cloned()
                .ok_or(Bail)
        })
    }

    fn aggregate(
        &self,
        kind: AggregateKind,
        var: u32,
        list: &Expr,
        filter: Option<&Expr>,
        body: Option<&Expr>,
        whole: &Expr,
    ) -> Code {
        if matches!(kind, AggregateKind::Any | AggregateKind::All) {
            return self.condition_value(whole);
        }
        let source = self.loop_over(list, var);
        let filter = self.optional_condition(filter);
        let body = body.map(|body| self.value(body));
        Box::new(move |machine| {
            // The element a body-less aggregate contributes, or the body's value.
            fn contribution<'c>(
                machine: &mut Machine<'c>,
                body: &Option<Code>,
                var: u32,
            ) -> Run<Value> {
                match body {
                    Some(body) => body(machine),
                    None => Ok(machine.local(var)?.get().clone()),
                }
            }
            let mut integer_total: i64 = 0;
            let mut decimal_total = Number::Decimal(Decimal::ZERO);
            let mut collected: Vec<Value> = Vec::new();
            let mut best = Value::Absent;
            machine.for_each_selected(&source, var, filter.as_ref(), |machine| {
                match kind {
                    AggregateKind::Count => {
                        integer_total = integer_total.checked_add(1).ok_or(Bail)?;
                    }
                    AggregateKind::SumInteger => match contribution(machine, &body, var)? {
                        Value::Absent => {}
                        Value::Integer(value) => {
                            integer_total = integer_total.checked_add(value).ok_or(Bail)?;
                        }
                        _ => return Err(Bail),
                    },
                    AggregateKind::SumDecimal => match contribution(machine, &body, var)? {
                        Value::Absent => {}
                        value => {
                            let value = operations::number(&value).map_err(bail)?;
                            decimal_total = decimal_total.checked_add(value).map_err(|_| Bail)?;
                        }
                    },
                    AggregateKind::Filter => {
                        collected.push(machine.local(var)?.get().clone());
                    }
                    AggregateKind::Map => collected.push(contribution(machine, &body, var)?),
                    AggregateKind::FlatMap => match contribution(machine, &body, var)? {
                        Value::List(inner) => collected.extend(inner.iter().cloned()),
                        Value::Absent => {}
                        _ => return Err(Bail),
                    },
                    AggregateKind::Min | AggregateKind::Max => {
                        let value = contribution(machine, &body, var)?;
                        if value.is_absent() {
                            return Ok(true);
                        }
                        if best.is_absent() {
                            best = value;
                        } else {
                            let wanted = if kind == AggregateKind::Min {
                                Ordering::Less
                            } else {
                                Ordering::Greater
                            };
                            if value.compare(&best).ok_or(Bail)? == wanted {
                                best = value;
                            }
                        }
                    }
                    AggregateKind::Any | AggregateKind::All => return Err(Bail),
                }
                Ok(true)
            })?;
            Ok(match kind {
                AggregateKind::Count | AggregateKind::SumInteger => Value::Integer(integer_total),
                AggregateKind::SumDecimal => Value::number(decimal_total),
                AggregateKind::Filter | AggregateKind::Map | AggregateKind::FlatMap => {
                    Value::List(Arc::from(collected))
                }
                AggregateKind::Min | AggregateKind::Max => best,
                AggregateKind::Any | AggregateKind::All => return Err(Bail),
            })
        })
    }
}

/// A parameter's value on a date, as the interpreter finds it; no value gives up.
fn param_value(param: &Param, date: Date) -> Run<Value> {
    param_at(param, date).cloned()
}

fn param_at(param: &Param, date: Date) -> Run<&Value> {
    param
        .value_on(date)
        .map(|(_, found)| &found.value)
        .map_err(|_| Bail)
}
