//! Native code: a policy compiled to Rust ahead of time (by a build script of the crate that
//! holds it, or `ereje compile --emit rust`), linked into the program that embeds the runtime,
//! and given to an engine with [`crate::Engine::with_native_code`], which uses it when its
//! policy has the same *shape*.
//!
//! Rationale: the closure evaluator (`compiled.rs`) and the interpreter (`eval.rs`) decide any
//! policy the moment it is loaded, but every node of an expression costs them an indirect call,
//! a `Value` built and matched again, and a memo slot of a general kind. A policy written out as
//! Rust and compiled by rustc pays for none of it: items are typed fields of a struct, sums are
//! loops over the case's records, comparisons compare `i64`s and `Decimal`s, and rustc inlines
//! what is small. Catala compiles its programs to target languages for the same reason.
//!
//! Generated code reads from the policy only what the policy's *shape* leaves out: parameter
//! values, table rows, band bounds, calendars, names, messages and sources. The shape
//! ([`shape_digest`]) is the digest of the IR with that data removed, so a what-if
//! (`--set PARAM=VALUE`), a new year's parameters or a corrected table row keep the native
//! code; an edited rule changes the shape, and the engine then uses the closure evaluator (a
//! crate whose build script writes the code from the policy files has it current again at its
//! next build).
//!
//! Generated code never reports an error: on anything unusual (an evaluation error, a failed
//! case check, a value of a kind its type does not promise) it gives up with [`Bail`], and the
//! engine evaluates the case again with the interpreter, which reports what happened. A traced
//! evaluation follows the interpreter's order of evaluation exactly and records its trace
//! through [`Tracer`], whose every method is the one the interpreter uses, so that both give
//! the same trace node for node (`tests/tests/native.rs` compares them byte for byte).
//!
//! Everything public here besides [`NativePolicy`] and [`shape_digest`] exists
//! for generated code: it is not a stable interface for hand-written programs.

pub use std::cmp::Ordering;
use std::sync::Arc;

use sha2::{Digest, Sha256};

pub use crate::ir::{BinaryOp, Builtin, Policy, RoundingMode, UnaryOp};
pub use crate::value::{Date, Key, Month, Quarter, Value};
pub use rust_decimal::Decimal;

pub use crate::exact::Number;

use crate::decimal::POWERS_OF_TEN;
use crate::ir::{Body, Param};
use crate::operations::{self, Prepared};
use crate::trace::{Trace, TraceBuilder, TraceScratch};

/// How deeply item evaluations and function calls may nest: native code is generated only for
/// policies that cannot nest deeper (a deeper one always gives up, and the interpreter reports
/// the error).
pub const MAX_DEPTH: u32 = crate::operations::MAX_DEPTH;

/// Generated code gave up on a case; the interpreter evaluates it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bail;

/// The result of generated code.
pub type Run<T> = Result<T, Bail>;

/// A policy compiled to Rust: what `ereje compile --emit rust` writes, one per policy version.
///
/// Given to [`crate::Engine::with_native_code`], it evaluates for an engine of a policy of the
/// same shape, and for one of a policy that declares only some of its outputs (an embedder
/// that needs the `asp` decision alone).
#[derive(Debug)]
pub struct NativePolicy {
    /// The policy's name, for messages.
    pub name: &'static str,
    /// The policy version the code was generated from, for messages (the code serves every
    /// version of the same shape).
    pub version: &'static str,
    /// [`shape_digest`] of the policy the code was generated from.
    pub shape: &'static str,
    /// [`output_digest`] of each of its outputs, in order.
    pub outputs: &'static [&'static str],
    /// The expression constants the code refers to by index, as a JSON array of values.
    pub constants: &'static str,
    /// The keys of the objects the code builds, by index.
    pub keys: &'static [&'static str],
    /// Runs the case checks, then the outputs of the given indices, in that order.
    pub evaluate: fn(&Context<'_>, &[usize]) -> Run<Vec<Value>>,
    /// The same with a trace: the checks without one, then the outputs recorded by `tracer`.
    pub evaluate_traced: fn(&Context<'_>, &mut Tracer<'_>, &[usize]) -> Run<Vec<Value>>,
}

/// What generated code evaluates a case with.
pub struct Context<'c> {
    pub policy: &'c Policy,
    /// The case root record.
    pub root: &'c Value,
    pub as_of: Date,
    /// [`NativePolicy::constants`], read once per engine.
    pub constants: &'c [Value],
    /// [`NativePolicy::keys`] as keys, made once per engine.
    pub keys: &'c [Key],
    /// Every item's name as shared text (`holding` lists them).
    pub names: &'c [Arc<str>],
    /// Every item's name as a key (group values use them).
    pub name_keys: &'c [Key],
    /// What the policy's band and keyed tables let lookups skip, worked out once per engine.
    pub indexes: &'c Indexes,
}

/// What band and keyed tables let a lookup skip, worked out once per engine from the policy.
///
/// Rationale: a band lookup compares the value with both bounds of each band in turn, and a
/// table lookup compares the key with every row's. Bands checked by the compiler follow one
/// another, each starting where the one before ends, so once a value is past a band's upper
/// bound it is above the next band's lower bound, and that comparison is skipped. A table of
/// regions by quarter has a row for each pair; its rows are found by the text of the first key
/// column first. Both find what the interpreter's linear search finds, the first band or row
/// that matches.
#[derive(Debug, Default)]
pub struct Indexes {
    /// For each band table, for each band: whether its lower bound is the previous band's upper
    /// bound with the other inclusiveness (so that a value past that one is above this one).
    follows: Vec<Vec<bool>>,
    /// For each keyed table whose first key column holds texts: its rows by that text, in
    /// order.
    rows: Vec<Option<crate::trace::WordMap<Box<str>, Vec<u32>>>>,
}

impl Indexes {
    fn of(policy: &Policy) -> Indexes {
        let follows = policy.bands.iter().map(Indexes::follows).collect();
        let rows = policy
            .tables
            .iter()
            .map(|table| {
                if table.key_types.first() != Some(&crate::ir::Type::Text) {
                    return None;
                }
                let mut rows: crate::trace::WordMap<Box<str>, Vec<u32>> = Default::default();
                for (position, row) in table.rows.iter().enumerate() {
                    let (Some(Value::Text(text)), Ok(position)) =
                        (row.key.first(), u32::try_from(position))
                    else {
                        // A row whose first key is no text (or a table of four billion rows)
                        // is searched as the interpreter searches.
                        return None;
                    };
                    rows.entry(Box::from(&**text)).or_default().push(position);
                }
                Some(rows)
            })
            .collect();
        Indexes { follows, rows }
    }

    /// For each band of `table`: whether its lower bound is the previous band's upper bound
    /// with the other inclusiveness.
    fn follows(table: &crate::ir::BandTable) -> Vec<bool> {
        let mut follows = vec![false; table.bands.len()];
        for (position, pair) in table.bands.windows(2).enumerate() {
            if let ([before, after], Some(flag)) = (pair, follows.get_mut(position + 1)) {
                *flag = match (&before.upper, &after.lower) {
                    (Some(upper), Some(lower)) => {
                        upper.value == lower.value && upper.inclusive != lower.inclusive
                    }
                    _ => false,
                };
            }
        }
        follows
    }
}

/// The first of `candidates` of `policy`'s shape whose outputs include the policy's, with the
/// index of each of the policy's outputs among the code's.
fn matching(
    policy: &Policy,
    candidates: &[&'static NativePolicy],
) -> Option<(&'static NativePolicy, Vec<usize>)> {
    if candidates.is_empty() {
        return None;
    }
    let shape = shape_digest(policy);
    let outputs: Vec<String> = policy.outputs.iter().map(output_digest).collect();
    candidates.iter().copied().find_map(|known| {
        if known.shape != shape {
            return None;
        }
        let indices = outputs
            .iter()
            .map(|wanted| known.outputs.iter().position(|output| output == wanted))
            .collect::<Option<Vec<usize>>>()?;
        Some((known, indices))
    })
}

fn digest_of(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut digest = String::with_capacity(7 + 64);
    digest.push_str("sha256:");
    for byte in hash {
        digest.push_str(&format!("{byte:02x}"));
    }
    digest
}

/// `sha256:<hex>` of one output's name, type and expression: an engine whose outputs are some
/// of the code's uses the code for them.
pub fn output_digest(output: &crate::ir::Output) -> String {
    digest_of(&serde_json::to_vec(&(&output.name, &output.ty, &output.expr)).unwrap_or_default())
}

/// `sha256:<hex>` of the policy's IR without its outputs (see [`output_digest`]) and without
/// the data that native code reads at run time: parameter values and their dates, table rows,
/// band bounds, values and labels, calendars, messages, sources, documentation, module
/// descriptions, the publisher and the version.
pub fn shape_digest(policy: &Policy) -> String {
    let mut shape = policy.clone();
    shape.outputs.clear();
    shape.version.clear();
    shape.publisher.clear();
    shape.modules.clear();
    shape.in_force_from = Date::MIN;
    shape.labels.clear();
    for param in &mut shape.params {
        param.values.clear();
        param.valid_until = None;
        param.source = None;
        param.note = None;
    }
    for table in &mut shape.tables {
        table.rows.clear();
        table.source = None;
    }
    for calendar in &mut shape.calendars {
        calendar.years.clear();
        calendar.source = None;
    }
    for band in &mut shape.bands {
        band.bands.clear();
        band.source = None;
    }
    for item in &mut shape.items {
        item.source = None;
        item.messages = Default::default();
        item.doc = None;
        item.messages_not = Default::default();
        item.note = None;
        item.module = 0;
        if let Body::Exceptions { exceptions, .. } = &mut item.body {
            for exception in exceptions {
                exception.source = None;
            }
        }
    }
    for check in &mut shape.checks {
        check.messages = Default::default();
        check.code.clear();
        check.field = None;
    }
    digest_of(&serde_json::to_vec(&shape).unwrap_or_default())
}

/// Native code bound to one engine: the code and the tables it reads, made once.
#[derive(Debug)]
pub(crate) struct Binding {
    pub(crate) code: &'static NativePolicy,
    /// The index among the code's outputs of each of the engine's outputs.
    outputs: Vec<usize>,
    constants: Vec<Value>,
    keys: Vec<Key>,
    indexes: Indexes,
}

impl Binding {
    /// The first of `candidates` for `policy`, with its tables; `None` when no code has its
    /// shape (or the code's constants cannot be read, which only a damaged file could cause).
    pub(crate) fn find(policy: &Policy, candidates: &[&'static NativePolicy]) -> Option<Binding> {
        let (code, outputs) = matching(policy, candidates)?;
        Binding::of(code, outputs, policy)
    }

    /// The same code bound again for `policy`, the same IR as this binding's (see
    /// `Engine::replica`): its own constants, keys and tables, without matching the shape again.
    pub(crate) fn replica(&self, policy: &Policy) -> Option<Binding> {
        Binding::of(self.code, self.outputs.clone(), policy)
    }

    fn of(code: &'static NativePolicy, outputs: Vec<usize>, policy: &Policy) -> Option<Binding> {
        let constants: Vec<Value> = serde_json::from_str(code.constants).ok()?;
        let keys = code.keys.iter().map(|key| Key::name(key)).collect();
        Some(Binding {
            code,
            outputs,
            constants,
            keys,
            indexes: Indexes::of(policy),
        })
    }

    fn context<'c>(
        &'c self,
        policy: &'c Policy,
        prepared: &'c Prepared,
        root: &'c Value,
        as_of: Date,
    ) -> Context<'c> {
        Context {
            policy,
            root,
            as_of,
            constants: &self.constants,
            keys: &self.keys,
            names: &prepared.item_names,
            name_keys: &prepared.item_keys,
            indexes: &self.indexes,
        }
    }

    /// Evaluates a case without a trace.
    pub(crate) fn evaluate(
        &self,
        policy: &Policy,
        prepared: &Prepared,
        root: &Value,
        as_of: Date,
    ) -> Run<Vec<Value>> {
        (self.code.evaluate)(&self.context(policy, prepared, root, as_of), &self.outputs)
    }

    /// Evaluates a case with its trace, working in `scratch`'s buffers.
    pub(crate) fn evaluate_traced(
        &self,
        policy: &Policy,
        prepared: &Prepared,
        root: &Value,
        as_of: Date,
        scratch: &mut TraceScratch,
    ) -> Run<(Vec<Value>, Trace)> {
        let context = self.context(policy, prepared, root, as_of);
        let mut tracer = Tracer {
            policy,
            prepared,
            indexes: &self.indexes,
            as_of,
            builder: TraceBuilder::new(
                policy.items.len(),
                policy.params.len(),
                std::mem::take(scratch),
            ),
        };
        let outcome = (self.code.evaluate_traced)(&context, &mut tracer, &self.outputs);
        let (trace, buffers) = tracer.builder.finish();
        *scratch = buffers;
        outcome.map(|values| (values, trace))
    }
}

// ---------------------------------------------------------------------------------------------
// Reading values.

static ABSENT: Value = Value::Absent;

/// An absent value to borrow.
pub fn absent() -> &'static Value {
    &ABSENT
}

/// Field `index` of a record or object; absent of an absent value, as in the interpreter.
#[inline]
pub fn field(value: &Value, index: u32) -> Run<&Value> {
    match value {
        Value::Record(record) => record.fields.get(index as usize).ok_or(Bail),
        Value::Map(entries) => entries
            .get(index as usize)
            .map(|(_, value)| value)
            .ok_or(Bail),
        Value::Absent => Ok(&ABSENT),
        _ => Err(Bail),
    }
}

/// Field `index` of a record, recorded as an input of the trace when `T` and a tracer is
/// given: the read of every field expression.
#[inline(always)]
pub fn read<'v, const T: bool>(
    tracer: &mut Option<&mut Tracer<'_>>,
    record: &'v Value,
    index: u32,
) -> Run<&'v Value> {
    if T {
        if let Some(tracer) = tracer {
            return tracer.field(record, index);
        }
    }
    field(record, index)
}

/// The elements of a list; none of an absent value.
#[inline]
pub fn elements(value: &Value) -> Run<&[Value]> {
    match value {
        Value::List(items) => Ok(items),
        Value::Absent => Ok(&[]),
        _ => Err(Bail),
    }
}

/// The number of elements of a list or map, or characters of a text, as `length` counts them.
#[inline]
pub fn length(value: &Value) -> Run<i64> {
    let count = match value {
        Value::List(items) => items.len(),
        Value::Map(entries) => entries.len(),
        Value::Text(text) => text.chars().count(),
        Value::Absent => 0,
        _ => return Err(Bail),
    };
    i64::try_from(count).map_err(|_| Bail)
}

/// `is_empty` as the interpreter decides it.
#[inline]
pub fn is_empty(value: &Value) -> Run<bool> {
    match value {
        Value::List(items) => Ok(items.is_empty()),
        Value::Map(entries) => Ok(entries.is_empty()),
        Value::Text(text) => Ok(text.is_empty()),
        Value::Absent => Ok(true),
        _ => Err(Bail),
    }
}

macro_rules! exact {
    ($(#[$doc:meta])* $exact:ident, $optional:ident, $variant:ident, $ty:ty) => {
        $(#[$doc])*
        #[inline]
        pub fn $exact(value: &Value) -> Run<$ty> {
            match value {
                Value::$variant(value) => Ok(value.clone()),
                _ => Err(Bail),
            }
        }

        /// The same for an optional value: `None` when it is absent.
        #[inline]
        pub fn $optional(value: &Value) -> Run<Option<$ty>> {
            match value {
                Value::$variant(value) => Ok(Some(value.clone())),
                Value::Absent => Ok(None),
                _ => Err(Bail),
            }
        }
    };
}

exact!(
    /// A value that must be a boolean (of exactly that kind, so that the typed value stands for
    /// the interpreter's value).
    bool_of, opt_bool_of, Bool, bool
);
exact!(
    /// A value that must be an integer.
    int_of, opt_int_of, Integer, i64
);
/// A value that must be a Decimal or Money number: a decimal or a ratio; an integer gives up,
/// so that a typed number always stands for the interpreter's value (`Value::number` gives it
/// back).
#[inline]
pub fn dec_of(value: &Value) -> Run<Number> {
    match value {
        Value::Decimal(value) => Ok(Number::Decimal(*value)),
        Value::Ratio(ratio) => Ok(Number::Ratio(**ratio)),
        _ => Err(Bail),
    }
}

/// The same for an optional value: `None` when it is absent.
#[inline]
pub fn opt_dec_of(value: &Value) -> Run<Option<Number>> {
    match value {
        Value::Absent => Ok(None),
        value => dec_of(value).map(Some),
    }
}
exact!(
    /// A value that must be a date.
    date_of, opt_date_of, Date, Date
);
exact!(
    /// A value that must be a month.
    month_of, opt_month_of, Month, Month
);
exact!(
    /// A value that must be a quarter.
    quarter_of, opt_quarter_of, Quarter, Quarter
);
exact!(
    /// A value that must be an enum variant (its index).
    enum_of, opt_enum_of, Enum, u32
);

/// A number as the interpreter's arithmetic reads it: a decimal, or an integer made one.
#[inline]
pub fn number_of(value: &Value) -> Run<Number> {
    value.as_number().ok_or(Bail)
}

/// A condition's value: a boolean, nothing else (an absent one gives up, as in the
/// interpreter).
#[inline]
pub fn condition(value: &Value) -> Run<bool> {
    match value {
        Value::Bool(value) => Ok(*value),
        _ => Err(Bail),
    }
}

// ---------------------------------------------------------------------------------------------
// Arithmetic and comparisons: the interpreter's, on typed operands.

#[inline]
pub fn add_int(left: i64, right: i64) -> Run<i64> {
    left.checked_add(right).ok_or(Bail)
}

#[inline]
pub fn sub_int(left: i64, right: i64) -> Run<i64> {
    left.checked_sub(right).ok_or(Bail)
}

#[inline]
pub fn mul_int(left: i64, right: i64) -> Run<i64> {
    left.checked_mul(right).ok_or(Bail)
}

#[inline]
pub fn neg_int(value: i64) -> Run<i64> {
    value.checked_neg().ok_or(Bail)
}

/// An exact sum, as the interpreter adds; an overflow gives up (the interpreter reports it).
#[inline]
pub fn add_dec(left: Number, right: Number) -> Run<Number> {
    left.checked_add(right).map_err(|_| Bail)
}

/// An exact difference, as [`add_dec`].
#[inline]
pub fn sub_dec(left: Number, right: Number) -> Run<Number> {
    left.checked_sub(right).map_err(|_| Bail)
}

/// An exact product, as [`add_dec`].
#[inline]
pub fn mul_dec(left: Number, right: Number) -> Run<Number> {
    left.checked_mul(right).map_err(|_| Bail)
}

/// The exact quotient, as the interpreter divides: a terminating one in its shortest decimal
/// form, any other a ratio; zero and an overflow give up.
#[inline]
pub fn div_dec(left: Number, right: Number) -> Run<Number> {
    left.checked_div(right).ok().flatten().ok_or(Bail)
}

/// The exact order of two numbers.
#[inline]
pub fn cmp_dec(left: Number, right: Number) -> Ordering {
    left.order(right)
}

/// A rounding a policy names, as the interpreter rounds: decided by the exact value; an
/// overflow gives up.
#[inline]
pub fn round(value: Number, places: u32, mode: RoundingMode) -> Run<Number> {
    value
        .round(places, mode)
        .map(Number::Decimal)
        .map_err(|_| Bail)
}

/// The exact order of the quotient `numerator / divisors[0] / divisors[1] / …` and `other`.
///
/// Rationale: a scorecard criterion compares an income per month and per member (a sum divided
/// by 3, then by the family's size) with a multiple of the subsistence minimum; each division
/// costs `rust_decimal` about 190 instructions, and the comparison alone needs none of them.
/// When every divisor is a whole number (scale 0, not zero, at most 10^9) and the magnitudes are
/// small, the order is decided exactly in `i128`: with `S` the larger scale, `A` and `B` the
/// mantissas of `numerator` and `other` at scale `S`, and `P` the product of the divisors,
/// the exact quotient compares with `other` as `A` with `B × P` (reversed when `P < 0`).
///
/// That is the exact order, as the exact quotient (`exact.rs`) gives it; the bounds
/// (`|A| × |P| < 10^23`, `10^S × |P| < 10^25`, operands within 63 bits) only keep the products
/// within `i128` without a check. Anything else, a ratio among the operands included, divides
/// exactly (`native::tests` compares the two ways on values near and at equality).
#[inline]
pub fn cmp_quotient<const N: usize>(
    numerator: Number,
    divisors: [Number; N],
    other: Number,
) -> Run<Ordering> {
    if let (Number::Decimal(numerator), Number::Decimal(other)) = (numerator, other) {
        let decimals = divisors.map(Number::as_decimal);
        if decimals.iter().all(Option::is_some) {
            let decimals = decimals.map(Option::unwrap_or_default);
            if let Some(ordering) = quotient_order(numerator, &decimals, other) {
                return Ok(ordering);
            }
        }
    }
    exact_quotient_order(numerator, &divisors, other)
}

/// The order of [`cmp_quotient`], from the exact quotient (a ratio when it does not
/// terminate); a zero divisor or an overflow gives up.
fn exact_quotient_order(numerator: Number, divisors: &[Number], other: Number) -> Run<Ordering> {
    let mut quotient = numerator;
    for divisor in divisors {
        quotient = div_dec(quotient, *divisor)?;
    }
    Ok(quotient.order(other))
}

/// The most divisions [`cmp_quotient`] orders without dividing (the bound of its proof).
pub const QUOTIENT_DIVISORS: usize = 4;

/// The exact order of [`cmp_quotient`], when its bounds hold.
///
/// Every product here is of two numbers below 2^63 into 128 bits (one multiplication, no
/// overflow check): checked `i128` products cost a library call each. Numbers that do not fit
/// (mantissas of 2^63 or more, scales past 18) are left to the divisions.
#[inline]
fn quotient_order(numerator: Decimal, divisors: &[Decimal], other: Decimal) -> Option<Ordering> {
    const LARGEST_DIVISOR: i64 = 1_000_000_000;
    if divisors.len() > QUOTIENT_DIVISORS {
        return None;
    }
    let mut product: i64 = 1;
    for divisor in divisors {
        let whole = i64::try_from(divisor.mantissa()).ok()?;
        if divisor.scale() != 0 || whole == 0 || whole.abs() > LARGEST_DIVISOR {
            return None;
        }
        product = product.checked_mul(whole)?;
    }
    let scale = numerator.scale().max(other.scale());
    let at_scale = |of: Decimal| -> Option<i128> {
        let mantissa = i64::try_from(of.mantissa()).ok()?;
        let power = i64::try_from(*POWERS_OF_TEN.get((scale - of.scale()) as usize)?).ok()?;
        Some(i128::from(mantissa) * i128::from(power))
    };
    let numerator_at_scale = i64::try_from(at_scale(numerator)?).ok()?;
    let other_at_scale = i64::try_from(at_scale(other)?).ok()?;
    let magnitude = u128::from(product.unsigned_abs());
    let scale_power = u128::from(
        i64::try_from(*POWERS_OF_TEN.get(scale as usize)?)
            .ok()?
            .unsigned_abs(),
    );
    if u128::from(numerator_at_scale.unsigned_abs()) * magnitude >= 10u128.pow(23)
        || scale_power * magnitude >= 10u128.pow(25)
    {
        return None;
    }
    let ordering =
        i128::from(numerator_at_scale).cmp(&(i128::from(other_at_scale) * i128::from(product)));
    Some(if product < 0 {
        ordering.reverse()
    } else {
        ordering
    })
}

/// Integer ÷ integer, as an exact number.
#[inline]
pub fn div_int(left: i64, right: i64) -> Run<Number> {
    div_dec(Number::from(left), Number::from(right))
}

/// A unary operator on any value, as the interpreter applies it.
pub fn unary(op: UnaryOp, value: Value) -> Run<Value> {
    operations::unary(op, value).map_err(|_| Bail)
}

/// A binary operator on any values, as the interpreter applies it.
pub fn binary(op: BinaryOp, left: &Value, right: &Value) -> Run<Value> {
    operations::binary(op, left, right).map_err(|_| Bail)
}

/// Equality as the interpreter decides it (an integer equals the decimal of the same number).
#[inline]
pub fn equal(left: &Value, right: &Value) -> bool {
    operations::values_equal(left, right)
}

/// The ordering of two values of one ordered type; values without one give up.
#[inline]
pub fn order(left: &Value, right: &Value) -> Run<Ordering> {
    left.compare(right).ok_or(Bail)
}

/// Whether a list (or an absent value) holds `value`, as `in` decides.
pub fn contains(list: &Value, value: &Value) -> Run<bool> {
    match list {
        Value::List(items) => Ok(items.iter().any(|item| equal(value, item))),
        Value::Absent => Ok(false),
        _ => Err(Bail),
    }
}

/// Whether a list of enum variants (or an absent value) holds `variant`.
#[inline]
pub fn contains_variant(list: &Value, variant: u32) -> Run<bool> {
    match list {
        Value::List(items) => Ok(items
            .iter()
            .any(|item| matches!(item, Value::Enum(found) if *found == variant))),
        Value::Absent => Ok(false),
        _ => Err(Bail),
    }
}

/// A builtin on any values: `argument(i)` gives argument `i`, asked for when the builtin needs
/// it, in the interpreter's order.
pub fn builtin(
    policy: &Policy,
    builtin: Builtin,
    mut argument: impl FnMut(usize) -> Run<Value>,
) -> Run<Value> {
    operations::apply_builtin(policy, builtin, |index| {
        argument(index).map_err(|Bail| operations::type_error("native code gave up"))
    })
    .map_err(|_| Bail)
}

/// `text(x)`.
pub fn to_text(value: &Value) -> Run<Arc<str>> {
    match value {
        Value::Text(text) => Ok(Arc::clone(text)),
        other => operations::to_text(other)
            .map(|text| Arc::from(text.as_str()))
            .map_err(|_| Bail),
    }
}

/// The age in full years, as the interpreter counts it.
#[inline]
pub fn age(birth: Date, on: Date) -> Run<i64> {
    crate::dates::age(birth, on).ok_or(Bail)
}

/// `add_months`, `add_years` and `add_days` on a present date.
#[inline]
pub fn add_months(date: Date, months: i64) -> Run<Date> {
    crate::dates::add_months(date, months).ok_or(Bail)
}

#[inline]
pub fn add_years(date: Date, years: i64) -> Run<Date> {
    crate::dates::add_years(date, years).ok_or(Bail)
}

#[inline]
pub fn add_days(date: Date, days: i64) -> Run<Date> {
    crate::dates::add_days(date, days).ok_or(Bail)
}

#[inline]
pub fn month_of_date(date: Date) -> Month {
    crate::dates::month_of(date)
}

#[inline]
pub fn quarter_of_date(date: Date) -> Quarter {
    crate::dates::quarter_of(date)
}

#[inline]
pub fn previous_quarter(quarter: Quarter) -> Run<Quarter> {
    crate::dates::previous_quarter(quarter).ok_or(Bail)
}

#[inline]
pub fn next_quarter(quarter: Quarter) -> Run<Quarter> {
    crate::dates::next_quarter(quarter).ok_or(Bail)
}

#[inline]
pub fn quarter_contains(quarter: Quarter, month: Month) -> bool {
    crate::dates::quarter_contains(quarter, month)
}

/// The number of days of a date since the common era, for comparisons with dates the code
/// holds as numbers (group members' start dates).
#[inline]
pub fn day_number(date: Date) -> i32 {
    chrono::Datelike::num_days_from_ce(&date)
}

/// `add_working_days(calendar, date, days)` on a present date.
pub fn add_working_days(policy: &Policy, calendar: u32, date: Date, days: i64) -> Run<Date> {
    let calendar = policy.calendars.get(calendar as usize).ok_or(Bail)?;
    match crate::dates::add_working_days(calendar, date, days) {
        Ok(Some(date)) => Ok(date),
        _ => Err(Bail),
    }
}

// ---------------------------------------------------------------------------------------------
// The policy's data.

/// The value of parameter `id` on `date`.
#[inline]
pub fn param(policy: &Policy, id: u32, date: Date) -> Run<&Value> {
    param_on(policy.params.get(id as usize).ok_or(Bail)?, date)
}

fn param_on(param: &Param, date: Date) -> Run<&Value> {
    param
        .value_on(date)
        .map(|(_, found)| &found.value)
        .map_err(|_| Bail)
}

/// The band of band table `id` that holds `value`: its position and its value. No band gives
/// up.
#[inline]
pub fn band<'c>(cx: &Context<'c>, id: u32, value: &Value) -> Run<(usize, &'c Value)> {
    band_in(cx.policy, cx.indexes, id, value)
}

fn band_in<'c>(
    policy: &'c Policy,
    indexes: &Indexes,
    id: u32,
    value: &Value,
) -> Run<(usize, &'c Value)> {
    let table = policy.bands.get(id as usize).ok_or(Bail)?;
    let follows = indexes
        .follows
        .get(id as usize)
        .map_or(&[][..], Vec::as_slice);
    let position = table
        .band_of_skipping(value, follows)
        .map_err(|_| Bail)?
        .ok_or(Bail)?;
    let band = table.bands.get(position).ok_or(Bail)?;
    Ok((position, &band.value))
}

/// The label of the band of table `id` that holds `value`, as a text value.
pub fn band_label(cx: &Context<'_>, id: u32, value: &Value) -> Run<Value> {
    let (position, _) = band(cx, id, value)?;
    let band = cx
        .policy
        .bands
        .get(id as usize)
        .and_then(|table| table.bands.get(position))
        .ok_or(Bail)?;
    Ok(Value::text(&band.label))
}

/// The row of table `id` for `key` (absent when a key is absent or no row has it).
pub fn lookup<'c>(cx: &Context<'c>, id: u32, key: &[Value]) -> Run<&'c Value> {
    lookup_in(cx.policy, cx.indexes, id, key)
}

fn lookup_in<'c>(policy: &'c Policy, indexes: &Indexes, id: u32, key: &[Value]) -> Run<&'c Value> {
    let table = policy.tables.get(id as usize).ok_or(Bail)?;
    if key.iter().any(Value::is_absent) {
        return Ok(&ABSENT);
    }
    let matches = |row: &&crate::ir::TableRow| {
        row.key.len() == key.len()
            && row
                .key
                .iter()
                .zip(key)
                .all(|(left, right)| equal(left, right))
    };
    let indexed = indexes.rows.get(id as usize).and_then(Option::as_ref);
    let row = match (indexed, key.first()) {
        // The rows whose first key is the same text, in order; no other row can match.
        (Some(rows), Some(Value::Text(text))) => rows.get(&**text).and_then(|positions| {
            positions
                .iter()
                .filter_map(|position| table.rows.get(*position as usize))
                .find(matches)
        }),
        _ => table.rows.iter().find(matches),
    };
    Ok(row.map_or(&ABSENT, |row| &row.value))
}

/// The label of exception `position` of item `item`, as `exception_applied` gives it.
pub fn exception_label(policy: &Policy, item: u32, position: Option<u32>) -> Value {
    let Some(position) = position else {
        return Value::Absent;
    };
    match policy.items.get(item as usize).map(|item| &item.body) {
        Some(Body::Exceptions { exceptions, .. }) => exceptions
            .get(position as usize)
            .map_or(Value::Absent, |exception| Value::text(&exception.label)),
        _ => Value::Absent,
    }
}

/// A list value of `items`: an empty list without an allocation of its own.
#[inline]
pub fn list_of(items: Vec<Value>) -> Value {
    if items.is_empty() {
        Value::List(Arc::default())
    } else {
        Value::List(Arc::from(items))
    }
}

/// A map value of `entries`: an empty map without an allocation of its own.
#[inline]
pub fn map_of(entries: Vec<(Key, Value)>) -> Value {
    if entries.is_empty() {
        Value::Map(Arc::default())
    } else {
        Value::Map(Arc::from(entries))
    }
}

/// The names of the items `ids[k]` for which `holds[k]`, as a list of texts (`holding`), made
/// in one allocation.
pub fn names_holding(names: &[Arc<str>], ids: &[u32], holds: &[bool]) -> Value {
    let count = holds.iter().filter(|holds| **holds).count();
    if count == 0 {
        return Value::List(Arc::default());
    }
    let mut next = 0;
    // An iterator of known length fills the list's one allocation in place.
    let items: Arc<[Value]> = (0..count)
        .map(|_| {
            while holds.get(next) == Some(&false) {
                next += 1;
            }
            let name = ids
                .get(next)
                .and_then(|id| names.get(*id as usize))
                .map_or_else(|| Arc::from(""), Arc::clone);
            next += 1;
            Value::Text(name)
        })
        .collect();
    Value::List(items)
}

/// A map value from its entries, a later entry with the key of an earlier one replacing its
/// value, as `{ for … }` builds one.
pub fn map_entry(entries: &mut Vec<(Key, Value)>, key: Key, value: Value) {
    match entries.iter_mut().find(|(existing, _)| *existing == key) {
        Some(entry) => entry.1 = value,
        None => entries.push((key, value)),
    }
}

/// The key of a map entry: a text, or any value as text.
pub fn map_key(value: Value) -> Run<Key> {
    match value {
        Value::Text(text) => Ok(Key::from(text)),
        other => to_text(&other).map(Key::from),
    }
}

// ---------------------------------------------------------------------------------------------
// Traces.

/// Records the trace of a native evaluation, node for node as the interpreter records it: the
/// interpreter calls the same [`TraceBuilder`] methods.
pub struct Tracer<'c> {
    policy: &'c Policy,
    prepared: &'c Prepared,
    indexes: &'c Indexes,
    as_of: Date,
    builder: TraceBuilder,
}

/// Where a call's arguments were kept, for the call's node.
#[derive(Debug, Clone, Copy)]
pub struct CallArgs(crate::trace::Span);

/// The node of a call, to record the same call again ([`Tracer::repeat_call`]); `u32::MAX`
/// for none (four bytes, so that remembered calls stay small).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallNode(u32);

impl Default for CallNode {
    fn default() -> CallNode {
        CallNode(u32::MAX)
    }
}

impl Tracer<'_> {
    /// Opens the frame of an item or output about to be evaluated.
    #[inline]
    pub fn open(&mut self) {
        self.builder.open();
    }

    /// Records a memoized item used again.
    #[inline]
    pub fn reuse_item(&mut self, id: u32) {
        self.builder.reuse_item(id);
    }

    /// Closes the frame of item `id` into its node, with the exception that gave its value.
    pub fn close_item(&mut self, id: u32, value: Value, exception: Option<u32>) {
        self.builder.close_item(
            self.policy,
            &self.prepared.trace_names,
            id,
            value,
            exception,
        );
    }

    /// Opens the frame of a call of function `id` with its arguments.
    pub fn open_call<const N: usize>(&mut self, id: u32, args: [Value; N]) -> CallArgs {
        CallArgs(self.builder.open_call(
            self.policy,
            &self.prepared.trace_names,
            id,
            args.into_iter(),
        ))
    }

    /// Closes the frame of a call into its node, and returns the node (for
    /// [`Tracer::repeat_call`]).
    pub fn close_call(&mut self, id: u32, value: Value, args: CallArgs) -> CallNode {
        let node =
            self.builder
                .close_call(self.policy, &self.prepared.trace_names, id, value, args.0);
        CallNode(
            node.and_then(|node| u32::try_from(node).ok())
                .unwrap_or(u32::MAX),
        )
    }

    /// Records a call made again with the same arguments as the call of node `call`, without
    /// evaluating it again: the nodes are those an evaluation would make (see
    /// `TraceBuilder::repeat_call`).
    pub fn repeat_call(&mut self, call: CallNode) {
        if call.0 != u32::MAX {
            self.builder.repeat_call(call.0 as usize);
        }
    }

    /// Closes the frame of output `index` into its node, a root of the trace.
    pub fn close_output(&mut self, index: usize, value: Value) {
        self.builder
            .close_output(self.policy, &self.prepared.trace_names, index, value);
    }

    /// The value of parameter `id` on `at` (the as-of date when `None`), recorded.
    pub fn param(&mut self, id: u32, at: Option<Date>) -> Run<&Value> {
        let policy = self.policy;
        let param = policy.params.get(id as usize).ok_or(Bail)?;
        let date = at.unwrap_or(self.as_of);
        let (index, found) = param.value_on(date).map_err(|_| Bail)?;
        self.builder.param_node(
            policy,
            &self.prepared.trace_names,
            id,
            at.is_none(),
            index,
            found,
        );
        Ok(&found.value)
    }

    /// Field `index` of a record, recorded as an input when it is a scalar of the case.
    pub fn field<'v>(&mut self, record: &'v Value, index: u32) -> Run<&'v Value> {
        match record {
            Value::Record(shared) => {
                let value = shared.fields.get(index as usize).ok_or(Bail)?;
                if !matches!(value, Value::List(_) | Value::Record(_) | Value::Map(_)) {
                    self.builder.input(
                        self.policy,
                        &self.prepared.trace_names,
                        shared,
                        index,
                        value,
                    );
                }
                Ok(value)
            }
            other => field(other, index),
        }
    }

    /// The band of table `id` holding `value`, recorded: its value, or its label.
    pub fn band(&mut self, id: u32, value: Value, label_only: bool) -> Run<Value> {
        let policy = self.policy;
        let (position, _) = band_in(policy, self.indexes, id, &value)?;
        let band = policy
            .bands
            .get(id as usize)
            .and_then(|table| table.bands.get(position))
            .ok_or(Bail)?;
        self.builder
            .band_node(policy, &self.prepared.trace_names, id, value, position);
        Ok(if label_only {
            Value::text(&band.label)
        } else {
            band.value.clone()
        })
    }

    /// The row of table `id` for `key`, recorded.
    pub fn lookup(&mut self, id: u32, key: Vec<Value>) -> Run<Value> {
        let policy = self.policy;
        let result = lookup_in(policy, self.indexes, id, &key)?.clone();
        let found = !result.is_absent();
        self.builder.table_node(
            policy,
            &self.prepared.trace_names,
            id,
            key,
            result.clone(),
            found,
        );
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cmp_quotient` as the exact quotient decides: on quotients near and at the values they
    /// are compared with, where a rounding error would show, and on values outside its bounds.
    #[test]
    fn quotients_compare_as_their_exact_quotients_do() {
        let number = Number::Decimal;
        let divided = |numerator: Decimal, divisors: &[Decimal], other: Decimal| {
            let divisors: Vec<Number> = divisors.iter().copied().map(number).collect();
            exact_quotient_order(number(numerator), &divisors, number(other))
        };
        let compared = |numerator: Decimal, divisors: &[Decimal], other: Decimal| {
            let (numerator, other) = (number(numerator), number(other));
            match divisors {
                [a] => cmp_quotient(numerator, [number(*a)], other),
                [a, b] => cmp_quotient(numerator, [number(*a), number(*b)], other),
                [a, b, c] => cmp_quotient(numerator, [number(*a), number(*b), number(*c)], other),
                _ => Err(Bail),
            }
        };
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |below: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % below
        };
        let mut decided_exactly = 0;
        let mut cases = 0;
        for _ in 0..200_000 {
            let scale = next(5) as u32;
            let sign = if next(8) == 0 { -1 } else { 1 };
            let numerator = Decimal::new(sign * next(1_000_000_000_000) as i64, scale);
            let count = 1 + next(3) as usize;
            let divisors: Vec<Decimal> = (0..count)
                .map(|_| {
                    let whole = 1 + next(24) as i64;
                    Decimal::from(if next(10) == 0 { -whole } else { whole })
                })
                .collect();
            // The quotient divided by `rust_decimal`, rounded where it does not terminate.
            let quotient = divisors.iter().try_fold(numerator, |value, divisor| {
                value
                    .checked_div(*divisor)
                    .map(|quotient| quotient.normalize())
            });
            let Some(quotient) = quotient else { continue };
            // The quotient rounded at a few places, a step either side, and the exact products.
            let places = next(5) as u32;
            let step = Decimal::new(1, places);
            let near = crate::decimal::round(quotient, places, RoundingMode::HalfUp);
            let product: Decimal = divisors.iter().product();
            let exact_numerator = near * product;
            let tries = [
                (numerator, near),
                (numerator, near + step),
                (numerator, near - step),
                (numerator, quotient),
                (exact_numerator, near),
                (exact_numerator, near + Decimal::new(1, 28)),
                (exact_numerator, near - Decimal::new(1, 12)),
            ];
            for (numerator, other) in tries {
                cases += 1;
                if quotient_order(numerator, &divisors, other).is_some() {
                    decided_exactly += 1;
                }
                assert_eq!(
                    compared(numerator, &divisors, other),
                    divided(numerator, &divisors, other),
                    "{numerator} / {divisors:?} against {other}"
                );
            }
        }
        // Most of them are decided without dividing (not those compared with the quotient of
        // 20 places or more, nor with a step at the 28th place), so the test covers that path.
        assert!(
            decided_exactly * 10 > cases * 6,
            "{decided_exactly} of {cases}"
        );
        // Outside the bounds: a fraction, a zero, a large divisor, huge magnitudes.
        let big = Decimal::from_i128_with_scale(7_922_816_251_426_433_759_354_395_033, 0);
        let tries = [
            (Decimal::from(10), [Decimal::new(5, 1)], Decimal::from(20)),
            (Decimal::from(10), [Decimal::ZERO], Decimal::from(20)),
            (
                Decimal::from(10),
                [Decimal::new(30, 1)],
                Decimal::new(3333, 3),
            ),
            (
                Decimal::from(10),
                [Decimal::from(3_000_000_000_i64)],
                Decimal::ZERO,
            ),
            (big, [Decimal::from(3)], big / Decimal::from(3)),
            (Decimal::new(1, 28), [Decimal::from(3)], Decimal::ZERO),
        ];
        for (numerator, divisors, other) in tries {
            assert_eq!(
                compared(numerator, &divisors, other),
                divided(numerator, &divisors, other),
                "{numerator} / {divisors:?} against {other}"
            );
        }
        assert!(compared(Decimal::ONE, &[Decimal::ZERO], Decimal::ONE).is_err());
    }

    #[test]
    fn bands_are_found_as_band_of_finds_them_skipping_or_not() {
        use crate::ir::{Band, BandTable, Bound, Type};
        let bound = |value: Value, inclusive| Some(Bound { value, inclusive });
        let number = |text: &str| Value::Decimal(text.parse().unwrap_or_default());
        let table = BandTable {
            name: "points".into(),
            source: None,
            domain: Type::Decimal,
            result: Type::Integer,
            bands: vec![
                Band {
                    lower: None,
                    upper: bound(number("0.55"), false),
                    value: Value::Integer(0),
                    label: String::new(),
                },
                Band {
                    lower: bound(number("0.55"), true),
                    upper: bound(Value::Integer(1), false),
                    value: Value::Integer(1),
                    label: String::new(),
                },
                Band {
                    lower: bound(Value::Integer(1), true),
                    upper: bound(number("4.000"), true),
                    value: Value::Integer(2),
                    label: String::new(),
                },
                Band {
                    lower: bound(number("4"), false),
                    upper: None,
                    value: Value::Integer(3),
                    label: String::new(),
                },
            ],
        };
        // Bands that do not follow one another (a gap, an overlap, bounds of one
        // inclusiveness), where every lower bound must be compared.
        let mut gaps = table.clone();
        gaps.bands[1].lower = bound(number("0.60"), true);
        gaps.bands[2].lower = bound(number("0.9"), false);
        gaps.bands[3].lower = bound(number("4"), true);
        assert_eq!(Indexes::follows(&table), vec![false, true, true, true]);
        assert_eq!(Indexes::follows(&gaps), vec![false, false, false, false]);
        for value in crate::decimal::tests::decimals()
            .into_iter()
            .map(Value::Decimal)
            .chain([Value::Integer(1), Value::Integer(4), Value::Absent])
        {
            for table in [&table, &gaps] {
                let follows = Indexes::follows(table);
                assert_eq!(
                    table.band_of_skipping(&value, &follows).ok(),
                    table.band_of(&value).ok(),
                    "{value:?}"
                );
            }
        }
    }
}
