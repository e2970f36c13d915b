//! The evaluator: computes a policy's outputs for one case.
//!
//! Items without parameters are computed at most once per case (a memo indexed by item id);
//! functions get a fresh frame of local slots per call, on one shared stack. Nothing on the hot
//! path hashes strings; the scratch buffers can be reused from one case to the next. Tracing
//! costs a branch per node when it is off.

use std::sync::Arc;

use rust_decimal::Decimal;

use crate::error::{codes, CaseError};
use crate::exact::Number;
use crate::ir::{
    AggregateKind, Body, Builtin, Expr, Incomparable, Item, ItemId, ItemKind, MatchArm,
    NoParamValue, Pattern, Policy, Type,
};
use crate::operations::{
    apply_builtin, binary, describe, error, integer, number, overflow, round, to_text, type_error,
    unary, values_equal, EvalResult, Prepared, MAX_DEPTH,
};
use crate::trace::{TraceBuilder, TraceScratch};
use crate::value::{Date, Key, Value};

/// Names the innermost item in an error that does not name one yet.
fn attribute(mut failure: Box<CaseError>, name: &str) -> Box<CaseError> {
    if failure.rule.is_none() {
        failure.message = format!("in `{name}`: {}", failure.message);
        failure.rule = Some(name.to_string());
    }
    failure
}

/// Per-evaluation state of a memoized item.
#[derive(Debug, Clone, Default)]
enum Slot {
    #[default]
    Empty,
    InProgress,
    Done(Value),
}

/// Buffers an evaluation needs, reusable across cases to avoid allocating them again.
#[derive(Debug, Default)]
pub struct Scratch {
    memo: Vec<Slot>,
    /// For items with exceptions: the index of the exception that gave the value.
    exception: Vec<Option<u32>>,
    locals: Vec<Value>,
    /// The buffers of the compiled evaluator.
    pub(crate) compiled: crate::compiled::CompiledScratch,
    /// The trace builder's working buffers, between traced evaluations.
    trace: TraceScratch,
}

impl Scratch {
    /// The trace builder's buffers, for native code's traced evaluations.
    pub(crate) fn trace_buffers(&mut self) -> &mut TraceScratch {
        &mut self.trace
    }

    fn reset(&mut self, items: usize) {
        self.memo.clear();
        self.memo.resize(items, Slot::Empty);
        self.exception.clear();
        self.exception.resize(items, None);
        self.locals.clear();
    }
}

pub(crate) struct Evaluator<'a> {
    policy: &'a Policy,
    prepared: &'a Prepared,
    as_of: Date,
    root: &'a Value,
    scratch: &'a mut Scratch,
    /// Where the current frame starts in `scratch.locals`.
    frame: usize,
    depth: u32,
    trace: Option<Box<TraceBuilder>>,
}

impl<'a> Evaluator<'a> {
    pub(crate) fn new(
        policy: &'a Policy,
        prepared: &'a Prepared,
        as_of: Date,
        root: &'a Value,
        scratch: &'a mut Scratch,
        trace: bool,
    ) -> Evaluator<'a> {
        scratch.reset(policy.items.len());
        let trace = trace.then(|| {
            Box::new(TraceBuilder::new(
                policy.items.len(),
                policy.params.len(),
                std::mem::take(&mut scratch.trace),
            ))
        });
        Evaluator {
            policy,
            prepared,
            as_of,
            root,
            scratch,
            frame: 0,
            depth: 0,
            trace,
        }
    }

    /// Runs the policy's case checks (`check` items) in declaration order; the first element
    /// that fails its check makes the case an error naming the element's field by JSON path.
    /// Checks run before any output, and their evaluation leaves no trace.
    pub(crate) fn checks(&mut self) -> EvalResult<()> {
        let tracing = self.trace.take();
        let result = self.run_checks();
        // Without a trace, the values the checks computed are the outputs' values too (the
        // same case, the same date): they are kept. With one, the outputs compute them again
        // so that their nodes are recorded.
        if tracing.is_some() {
            self.scratch.reset(self.policy.items.len());
        }
        self.trace = tracing;
        result
    }

    fn run_checks(&mut self) -> EvalResult<()> {
        for check in &self.policy.checks {
            self.scratch.locals.clear();
            self.scratch
                .locals
                .resize((check.locals as usize).max(1), Value::Absent);
            self.frame = 0;
            let elements: Vec<Value> = match &check.list {
                Some(list) => match self
                    .eval(list)
                    .map_err(|failure| attribute(failure, &check.id))?
                {
                    Value::List(items) => items.iter().cloned().collect(),
                    Value::Absent => Vec::new(),
                    _ => return Err(type_error("a check goes over a list")),
                },
                None => vec![self.root.clone()],
            };
            for element in elements {
                if check.list.is_some() {
                    if let Some(slot) = self.scratch.locals.get_mut(0) {
                        *slot = element.clone();
                    }
                }
                let holds = self
                    .eval(&check.condition)
                    .map_err(|failure| attribute(failure, &check.id))?;
                if holds == Value::Bool(false) {
                    let base = match &element {
                        Value::Record(record) => record.path.as_deref().unwrap_or("").to_string(),
                        _ => String::new(),
                    };
                    let path = match &check.field {
                        Some(field) => format!("{base}/{field}"),
                        None => base,
                    };
                    let messages = &check.messages;
                    let message = messages
                        .en
                        .as_deref()
                        .or(messages.ru.as_deref())
                        .or(messages.kk.as_deref())
                        .unwrap_or(check.id.as_str());
                    return Err(Box::new(CaseError {
                        code: std::borrow::Cow::Owned(check.code.clone()),
                        path,
                        message: format!("{message} ({})", check.id),
                        rule: Some(check.id.clone()),
                    }));
                }
            }
        }
        Ok(())
    }

    /// Evaluates every output in declaration order.
    pub(crate) fn outputs(&mut self) -> EvalResult<Vec<Value>> {
        let mut values = Vec::with_capacity(self.policy.outputs.len());
        for (index, output) in self.policy.outputs.iter().enumerate() {
            let frame_size = self.prepared.output_frames.get(index).copied().unwrap_or(0);
            self.scratch.locals.clear();
            self.scratch
                .locals
                .resize(frame_size as usize, Value::Absent);
            self.frame = 0;
            if let Some(trace) = self.trace.as_deref_mut() {
                trace.open();
            }
            let value = self
                .eval(&output.expr)
                .map_err(|failure| attribute(failure, &output.name))?;
            if let Some(trace) = self.trace.as_deref_mut() {
                trace.close_output(
                    self.policy,
                    &self.prepared.trace_names,
                    index,
                    value.clone(),
                );
            }
            values.push(value);
        }
        Ok(values)
    }

    pub(crate) fn take_trace(&mut self) -> Option<crate::trace::Trace> {
        let (trace, buffers) = self.trace.take()?.finish();
        self.scratch.trace = buffers;
        Some(trace)
    }

    fn eval(&mut self, expr: &'a Expr) -> EvalResult<Value> {
        match expr {
            Expr::Const(value) => Ok(value.clone()),
            Expr::Input => Ok(self.root.clone()),
            Expr::AsOf => Ok(Value::Date(self.as_of)),
            Expr::Local(slot) => self.local(*slot),
            Expr::Item(id) => self.item_value(*id),
            Expr::Call(id, args) => self.call(*id, args),
            Expr::Param { param, at } => self.param(*param, at.as_deref()),
            Expr::Field(record, index) => {
                if let Some(place) = self.case_place(record) {
                    return self.field(place, *index);
                }
                if let Expr::Local(slot) = &**record {
                    return self.field_of_local(*slot, *index);
                }
                let record = self.eval(record)?;
                self.field(&record, *index)
            }
            Expr::Unary(op, operand) => {
                let operand = self.eval(operand)?;
                unary(*op, operand)
            }
            Expr::Binary(op, left, right) => {
                let left = self.eval(left)?;
                let right = self.eval(right)?;
                binary(*op, &left, &right)
            }
            Expr::And(left, right) => {
                Ok(Value::Bool(self.eval_bool(left)? && self.eval_bool(right)?))
            }
            Expr::Or(left, right) => {
                Ok(Value::Bool(self.eval_bool(left)? || self.eval_bool(right)?))
            }
            Expr::If {
                condition,
                then,
                otherwise,
            } => {
                if self.eval_bool(condition)? {
                    self.eval(then)
                } else {
                    self.eval(otherwise)
                }
            }
            Expr::Match { scrutinee, arms } => self.eval_match(scrutinee, arms),
            Expr::Aggregate {
                kind,
                var,
                list,
                filter,
                body,
            } => self.aggregate(*kind, *var, list, filter.as_deref(), body.as_deref()),
            Expr::MapOf {
                var,
                list,
                filter,
                key,
                value,
            } => self.map_of(*var, list, filter.as_deref(), key, value),
            Expr::List(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.eval(item)?);
                }
                Ok(Value::List(Arc::from(values)))
            }
            Expr::Object(fields) => {
                let mut entries = Vec::with_capacity(fields.len());
                for (name, field) in fields {
                    entries.push((Key::from(name.as_str()), self.eval(field)?));
                }
                Ok(Value::Map(Arc::from(entries)))
            }
            Expr::Builtin(builtin, args) => self.builtin(*builtin, args),
            Expr::Round {
                value,
                places,
                mode,
            } => {
                let value = self.eval(value)?;
                round(&value, *places, *mode)
            }
            Expr::Band(band, value) => self.band(*band, value, false),
            Expr::BandLabel(band, value) => self.band(*band, value, true),
            Expr::Lookup(table, keys) => self.lookup(*table, keys),
            Expr::Holding(group) => self.holding(*group),
            Expr::GroupSum(group) => self.group_sum(*group),
            Expr::GroupValues(group) => self.group_values(*group),
            Expr::ExceptionApplied(item) => {
                self.item_value(*item)?;
                let won = self
                    .scratch
                    .exception
                    .get(*item as usize)
                    .copied()
                    .flatten();
                let label =
                    won.and_then(|index| match &self.policy.items.get(*item as usize)?.body {
                        Body::Exceptions { exceptions, .. } => exceptions.get(index as usize),
                        Body::Expr(_) => None,
                    });
                Ok(label.map_or(Value::Absent, |exception| Value::text(&exception.label)))
            }
            Expr::Coalesce(value, fallback) => {
                let value = self.eval(value)?;
                if value.is_absent() {
                    self.eval(fallback)
                } else {
                    Ok(value)
                }
            }
            Expr::IsPresent(value) => Ok(Value::Bool(!self.eval(value)?.is_absent())),
            Expr::First(list) => match self.eval(list)? {
                Value::List(items) => Ok(items.first().cloned().unwrap_or(Value::Absent)),
                Value::Absent => Ok(Value::Absent),
                _ => Err(type_error("`first` expects a list")),
            },
        }
    }

    /// A record or object of the case that `expr` names without computing anything (the case
    /// itself, and records and objects in its fields), borrowed for the whole evaluation
    /// instead of cloned. Anything else is `None`, and evaluated as usual: a structural value
    /// is never a fact of the trace, so reading it this way leaves the trace unchanged.
    fn case_place(&self, expr: &Expr) -> Option<&'a Value> {
        let value = match expr {
            Expr::Input => self.root,
            Expr::Field(inner, index) => match self.case_place(inner)? {
                Value::Record(record) => record.fields.get(*index as usize)?,
                Value::Map(entries) => &entries.get(*index as usize)?.1,
                _ => return None,
            },
            _ => return None,
        };
        matches!(value, Value::Record(_) | Value::Map(_)).then_some(value)
    }

    /// Field `index` of the record in local `slot`, read without cloning the record: it is
    /// moved out of its slot for the read and put back.
    fn field_of_local(&mut self, slot: u32, index: u32) -> EvalResult<Value> {
        let position = self.frame + slot as usize;
        let record = match self.scratch.locals.get_mut(position) {
            Some(place) => std::mem::replace(place, Value::Absent),
            None => return Err(type_error("a local slot outside its frame")),
        };
        let result = self.field(&record, index);
        if let Some(place) = self.scratch.locals.get_mut(position) {
            *place = record;
        }
        result
    }

    fn eval_bool(&mut self, expr: &'a Expr) -> EvalResult<bool> {
        match self.eval(expr)? {
            Value::Bool(value) => Ok(value),
            _ => Err(type_error("expected a boolean")),
        }
    }

    fn local(&self, slot: u32) -> EvalResult<Value> {
        self.scratch
            .locals
            .get(self.frame + slot as usize)
            .cloned()
            .ok_or_else(|| type_error("a local slot outside its frame"))
    }

    fn set_local(&mut self, slot: u32, value: Value) -> EvalResult<()> {
        match self.scratch.locals.get_mut(self.frame + slot as usize) {
            Some(place) => {
                *place = value;
                Ok(())
            }
            None => Err(type_error("a local slot outside its frame")),
        }
    }

    fn enter(&mut self) -> EvalResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(error(
                codes::CYCLE,
                format!("evaluation nests more than {MAX_DEPTH} items deep"),
            ));
        }
        Ok(())
    }

    /// The value of a definition, rule or derived parameter, computed once per case.
    pub(crate) fn item_value(&mut self, id: ItemId) -> EvalResult<Value> {
        let index = id as usize;
        match self.scratch.memo.get(index) {
            Some(Slot::Done(value)) => {
                let value = value.clone();
                if let Some(trace) = self.trace.as_deref_mut() {
                    trace.reuse_item(id);
                }
                return Ok(value);
            }
            Some(Slot::InProgress) => {
                let name = self.prepared.item_names.get(index).map_or("?", |name| name);
                return Err(error(codes::CYCLE, format!("`{name}` depends on itself")));
            }
            Some(Slot::Empty) => {}
            None => return Err(type_error("a reference to an item that does not exist")),
        }
        let policy = self.policy;
        let Some(item) = policy.items.get(index) else {
            return Err(type_error("a reference to an item that does not exist"));
        };
        if item.kind == ItemKind::Function {
            return Err(attribute(
                type_error("a function used without arguments"),
                &item.name,
            ));
        }
        self.scratch.memo[index] = Slot::InProgress;
        self.enter()?;
        let saved_frame = self.frame;
        let base = self.scratch.locals.len();
        let frame_size = self
            .prepared
            .item_frames
            .get(index)
            .copied()
            .unwrap_or(item.locals);
        self.scratch
            .locals
            .resize(base + frame_size as usize, Value::Absent);
        self.frame = base;
        if let Some(trace) = self.trace.as_deref_mut() {
            trace.open();
        }
        let result = self.body(id, item);
        self.frame = saved_frame;
        self.scratch.locals.truncate(base);
        self.depth -= 1;
        let value = result.map_err(|failure| attribute(failure, &item.name))?;
        if let Some(trace) = self.trace.as_deref_mut() {
            let won = self.scratch.exception.get(index).copied().flatten();
            trace.close_item(policy, &self.prepared.trace_names, id, value.clone(), won);
        }
        self.scratch.memo[index] = Slot::Done(value.clone());
        Ok(value)
    }

    /// Evaluates an item's body in the current frame, recording which exception won.
    fn body(&mut self, id: ItemId, item: &'a Item) -> EvalResult<Value> {
        match &item.body {
            Body::Expr(expr) => self.eval(expr),
            Body::Exceptions { base, exceptions } => {
                for (position, exception) in exceptions.iter().enumerate() {
                    if self.eval_bool(&exception.condition)? {
                        if let Some(place) = self.scratch.exception.get_mut(id as usize) {
                            *place = u32::try_from(position).ok();
                        }
                        return self.eval(&exception.value);
                    }
                }
                if let Some(place) = self.scratch.exception.get_mut(id as usize) {
                    *place = None;
                }
                self.eval(base)
            }
        }
    }

    fn call(&mut self, id: ItemId, args: &'a [Expr]) -> EvalResult<Value> {
        let policy = self.policy;
        let Some(item) = policy.items.get(id as usize) else {
            return Err(type_error("a call to an item that does not exist"));
        };
        if item.kind != ItemKind::Function {
            return self.item_value(id);
        }
        if args.len() != item.params.len() {
            return Err(attribute(
                type_error("a call with the wrong number of arguments"),
                &item.name,
            ));
        }
        let base = self.scratch.locals.len();
        for arg in args {
            let value = self.eval(arg)?;
            self.scratch.locals.push(value);
        }
        self.enter()?;
        let frame_size = self
            .prepared
            .item_frames
            .get(id as usize)
            .copied()
            .unwrap_or(item.locals);
        let frame_size = (frame_size as usize).max(args.len());
        self.scratch.locals.resize(base + frame_size, Value::Absent);
        let saved_frame = self.frame;
        self.frame = base;
        let traced_args = match self.trace.as_deref_mut() {
            Some(trace) => {
                let values = self
                    .scratch
                    .locals
                    .get(base..base + args.len())
                    .unwrap_or(&[]);
                trace.open_call(
                    policy,
                    &self.prepared.trace_names,
                    id,
                    values.iter().cloned(),
                )
            }
            None => Default::default(),
        };
        let result = self.body(id, item);
        self.frame = saved_frame;
        self.scratch.locals.truncate(base);
        self.depth -= 1;
        let value = result.map_err(|failure| attribute(failure, &item.name))?;
        if let Some(trace) = self.trace.as_deref_mut() {
            trace.close_call(
                policy,
                &self.prepared.trace_names,
                id,
                value.clone(),
                traced_args,
            );
        }
        Ok(value)
    }

    fn param(&mut self, id: u32, at: Option<&'a Expr>) -> EvalResult<Value> {
        let date = match at {
            None => self.as_of,
            Some(expr) => match self.eval(expr)? {
                Value::Date(date) => date,
                _ => return Err(type_error("a parameter's date must be a date")),
            },
        };
        let policy = self.policy;
        let Some(param) = policy.params.get(id as usize) else {
            return Err(type_error("a reference to a parameter that does not exist"));
        };
        let (index, found) = match param.value_on(date) {
            Ok(found) => found,
            Err(NoParamValue::AfterUntil(until)) => {
                return Err(error(
                    codes::NO_PARAMETER_VALUE,
                    format!(
                        "parameter `{}` has no value on {date}: its values end on {until}",
                        param.name
                    ),
                ))
            }
            Err(NoParamValue::BeforeFirst) => {
                return Err(error(
                    codes::NO_PARAMETER_VALUE,
                    format!("parameter `{}` has no value on {date}", param.name),
                ))
            }
        };
        if let Some(trace) = self.trace.as_deref_mut() {
            trace.param_node(
                policy,
                &self.prepared.trace_names,
                id,
                at.is_none(),
                index,
                found,
            );
        }
        Ok(found.value.clone())
    }

    fn field(&mut self, record: &Value, index: u32) -> EvalResult<Value> {
        match record {
            Value::Absent => Ok(Value::Absent),
            Value::Record(record) => {
                let value = record
                    .fields
                    .get(index as usize)
                    .cloned()
                    .ok_or_else(|| type_error("a field that the record does not have"))?;
                // Structural reads (a list or record of the case) are not facts of their own:
                // the trace records the scalar fields read from them.
                if let Some(trace) = self.trace.as_deref_mut() {
                    if !matches!(value, Value::List(_) | Value::Record(_) | Value::Map(_)) {
                        let names = &self.prepared.trace_names;
                        trace.input(self.policy, names, record, index, &value);
                    }
                }
                Ok(value)
            }
            Value::Map(entries) => entries
                .get(index as usize)
                .map(|(_, value)| value.clone())
                .ok_or_else(|| type_error("a field that the object does not have")),
            _ => Err(type_error("a field of something that is not a record")),
        }
    }

    fn eval_match(&mut self, scrutinee: &'a Expr, arms: &'a [MatchArm]) -> EvalResult<Value> {
        let value = self.eval(scrutinee)?;
        for arm in arms {
            let matched = match &arm.pattern {
                Pattern::Variant(index) => {
                    matches!(value, Value::Enum(variant) if variant == *index)
                }
                Pattern::Literal(literal) => values_equal(&value, literal),
                Pattern::Some => !value.is_absent(),
                Pattern::None => value.is_absent(),
                Pattern::Wildcard => true,
            };
            if matched {
                if let Some(slot) = arm.bind {
                    self.set_local(slot, value.clone())?;
                }
                return self.eval(&arm.body);
            }
        }
        Err(error(
            codes::NO_MATCH,
            format!("no arm of a match covers the value `{}`", describe(&value)),
        ))
    }

    /// Binds `item` to the aggregate's variable and tells whether it passes the filter.
    fn select(&mut self, var: u32, item: &Value, filter: Option<&'a Expr>) -> EvalResult<bool> {
        self.set_local(var, item.clone())?;
        match filter {
            Some(filter) => self.eval_bool(filter),
            None => Ok(true),
        }
    }

    fn body_or_item(&mut self, body: Option<&'a Expr>, item: &Value) -> EvalResult<Value> {
        match body {
            Some(body) => self.eval(body),
            None => Ok(item.clone()),
        }
    }

    fn aggregate(
        &mut self,
        kind: AggregateKind,
        var: u32,
        list: &'a Expr,
        filter: Option<&'a Expr>,
        body: Option<&'a Expr>,
    ) -> EvalResult<Value> {
        let list = self.eval(list)?;
        let items: &[Value] = match &list {
            Value::List(items) => items,
            Value::Absent => &[],
            _ => return Err(type_error("an aggregate over something that is not a list")),
        };
        match kind {
            AggregateKind::SumInteger => {
                let mut total: i64 = 0;
                for item in items {
                    if self.select(var, item, filter)? {
                        match self.body_or_item(body, item)? {
                            Value::Absent => {}
                            value => {
                                total = total
                                    .checked_add(integer(&value)?)
                                    .ok_or_else(|| overflow("a sum"))?;
                            }
                        }
                    }
                }
                Ok(Value::Integer(total))
            }
            AggregateKind::SumDecimal => {
                let mut total = Number::Decimal(Decimal::ZERO);
                for item in items {
                    if self.select(var, item, filter)? {
                        match self.body_or_item(body, item)? {
                            Value::Absent => {}
                            value => {
                                total = total
                                    .checked_add(number(&value)?)
                                    .map_err(|_| overflow("a sum"))?;
                            }
                        }
                    }
                }
                Ok(Value::number(total))
            }
            AggregateKind::Count => {
                let mut count: i64 = 0;
                for item in items {
                    if self.select(var, item, filter)? {
                        count = count.checked_add(1).ok_or_else(|| overflow("a count"))?;
                    }
                }
                Ok(Value::Integer(count))
            }
            AggregateKind::Any => {
                for item in items {
                    let selected = self.select(var, item, filter)?;
                    if selected && self.predicate(body)? {
                        return Ok(Value::Bool(true));
                    }
                }
                Ok(Value::Bool(false))
            }
            AggregateKind::All => {
                for item in items {
                    let selected = self.select(var, item, filter)?;
                    // Without a body, the filter is the predicate every element must satisfy.
                    let holds = match body {
                        Some(_) => !selected || self.predicate(body)?,
                        None => selected,
                    };
                    if !holds {
                        return Ok(Value::Bool(false));
                    }
                }
                Ok(Value::Bool(true))
            }
            AggregateKind::Filter => {
                let mut kept = Vec::new();
                for item in items {
                    if self.select(var, item, filter)? {
                        kept.push(item.clone());
                    }
                }
                Ok(Value::List(Arc::from(kept)))
            }
            AggregateKind::Map => {
                let mut mapped = Vec::with_capacity(items.len());
                for item in items {
                    if self.select(var, item, filter)? {
                        mapped.push(self.body_or_item(body, item)?);
                    }
                }
                Ok(Value::List(Arc::from(mapped)))
            }
            AggregateKind::FlatMap => {
                let mut flat = Vec::new();
                for item in items {
                    if self.select(var, item, filter)? {
                        match self.body_or_item(body, item)? {
                            Value::List(inner) => flat.extend(inner.iter().cloned()),
                            Value::Absent => {}
                            _ => return Err(type_error("`flat_map` expects lists")),
                        }
                    }
                }
                Ok(Value::List(Arc::from(flat)))
            }
            AggregateKind::Min | AggregateKind::Max => {
                let wanted = if kind == AggregateKind::Min {
                    std::cmp::Ordering::Less
                } else {
                    std::cmp::Ordering::Greater
                };
                let mut best = Value::Absent;
                for item in items {
                    if self.select(var, item, filter)? {
                        let value = self.body_or_item(body, item)?;
                        if value.is_absent() {
                            continue;
                        }
                        if best.is_absent() {
                            best = value;
                        } else {
                            let ordering = value.compare(&best).ok_or_else(|| {
                                type_error("`min`/`max` of values that have no order")
                            })?;
                            if ordering == wanted {
                                best = value;
                            }
                        }
                    }
                }
                Ok(best)
            }
        }
    }

    /// The body of `any`/`all` as a condition; without a body, the element (already filtered)
    /// counts as satisfying it.
    fn predicate(&mut self, body: Option<&'a Expr>) -> EvalResult<bool> {
        match body {
            Some(body) => self.eval_bool(body),
            None => Ok(true),
        }
    }

    fn map_of(
        &mut self,
        var: u32,
        list: &'a Expr,
        filter: Option<&'a Expr>,
        key: &'a Expr,
        value: &'a Expr,
    ) -> EvalResult<Value> {
        let list = self.eval(list)?;
        let items: &[Value] = match &list {
            Value::List(items) => items,
            Value::Absent => &[],
            _ => return Err(type_error("a map built from something that is not a list")),
        };
        let mut entries: Vec<(Key, Value)> = Vec::with_capacity(items.len());
        for item in items {
            if !self.select(var, item, filter)? {
                continue;
            }
            let key = match self.eval(key)? {
                Value::Text(text) => Key::from(text),
                other => Key::from(to_text(&other)?),
            };
            let value = self.eval(value)?;
            match entries.iter_mut().find(|(existing, _)| *existing == key) {
                Some(entry) => entry.1 = value,
                None => entries.push((key, value)),
            }
        }
        Ok(Value::Map(Arc::from(entries)))
    }

    /// Evaluates a builtin, its arguments evaluated lazily by [`apply_builtin`].
    fn builtin(&mut self, builtin: Builtin, args: &'a [Expr]) -> EvalResult<Value> {
        let policy = self.policy;
        apply_builtin(policy, builtin, |index| match args.get(index) {
            Some(arg) => self.eval(arg),
            None => Err(type_error("a builtin called with too few arguments")),
        })
    }

    fn band(&mut self, id: u32, value: &'a Expr, label_only: bool) -> EvalResult<Value> {
        let value = self.eval(value)?;
        let policy = self.policy;
        let table = policy
            .bands
            .get(id as usize)
            .ok_or_else(|| type_error("a band table that does not exist"))?;
        let position = table
            .band_of(&value)
            .map_err(|Incomparable| type_error("a band bound of another type"))?;
        let found = position.and_then(|position| table.bands.get(position));
        let Some(band) = found else {
            return Err(error(
                codes::NO_MATCH,
                format!(
                    "no band of `{}` contains `{}`",
                    table.name,
                    describe(&value)
                ),
            ));
        };
        if let (Some(trace), Some(position)) = (self.trace.as_deref_mut(), position) {
            trace.band_node(policy, &self.prepared.trace_names, id, value, position);
        }
        Ok(if label_only {
            Value::text(&band.label)
        } else {
            band.value.clone()
        })
    }

    fn lookup(&mut self, id: u32, keys: &'a [Expr]) -> EvalResult<Value> {
        let policy = self.policy;
        let table = policy
            .tables
            .get(id as usize)
            .ok_or_else(|| type_error("a table that does not exist"))?;
        let mut key = Vec::with_capacity(keys.len());
        for expr in keys {
            key.push(self.eval(expr)?);
        }
        let row = if key.iter().any(Value::is_absent) {
            None
        } else {
            table.rows.iter().find(|row| {
                row.key.len() == key.len()
                    && row
                        .key
                        .iter()
                        .zip(&key)
                        .all(|(left, right)| values_equal(left, right))
            })
        };
        let result = row.map_or(Value::Absent, |row| row.value.clone());
        if let Some(trace) = self.trace.as_deref_mut() {
            trace.table_node(
                policy,
                &self.prepared.trace_names,
                id,
                key,
                result.clone(),
                row.is_some(),
            );
        }
        Ok(result)
    }

    /// Whether a group member counts on the as-of date.
    fn active_member(&self, active_from: Option<Date>) -> bool {
        active_from.is_none_or(|from| from <= self.as_of)
    }

    fn holding(&mut self, id: u32) -> EvalResult<Value> {
        let policy = self.policy;
        let group = policy
            .groups
            .get(id as usize)
            .ok_or_else(|| type_error("a group that does not exist"))?;
        let mut holding = Vec::new();
        for member in &group.members {
            if !self.active_member(member.active_from) {
                continue;
            }
            if self.item_value(member.item)? == Value::Bool(true) {
                holding.push(Value::Text(self.item_name(member.item)));
            }
        }
        Ok(Value::List(Arc::from(holding)))
    }

    fn group_sum(&mut self, id: u32) -> EvalResult<Value> {
        let policy = self.policy;
        let group = policy
            .groups
            .get(id as usize)
            .ok_or_else(|| type_error("a group that does not exist"))?;
        if group.element == Type::Integer {
            let mut total: i64 = 0;
            for member in &group.members {
                if self.active_member(member.active_from) {
                    match self.item_value(member.item)? {
                        Value::Absent => {}
                        value => {
                            total = total
                                .checked_add(integer(&value)?)
                                .ok_or_else(|| overflow("a group sum"))?
                        }
                    }
                }
            }
            Ok(Value::Integer(total))
        } else {
            let mut total = Number::Decimal(Decimal::ZERO);
            for member in &group.members {
                if self.active_member(member.active_from) {
                    match self.item_value(member.item)? {
                        Value::Absent => {}
                        value => {
                            total = total
                                .checked_add(number(&value)?)
                                .map_err(|_| overflow("a group sum"))?
                        }
                    }
                }
            }
            Ok(Value::number(total))
        }
    }

    fn group_values(&mut self, id: u32) -> EvalResult<Value> {
        let policy = self.policy;
        let group = policy
            .groups
            .get(id as usize)
            .ok_or_else(|| type_error("a group that does not exist"))?;
        let mut entries = Vec::with_capacity(group.members.len());
        for member in &group.members {
            if self.active_member(member.active_from) {
                let value = self.item_value(member.item)?;
                entries.push((self.item_key(member.item), value));
            }
        }
        Ok(Value::Map(Arc::from(entries)))
    }

    fn item_key(&self, id: ItemId) -> Key {
        self.prepared
            .item_keys
            .get(id as usize)
            .cloned()
            .unwrap_or_else(|| Key::from(""))
    }

    fn item_name(&self, id: ItemId) -> Arc<str> {
        self.prepared
            .item_names
            .get(id as usize)
            .cloned()
            .unwrap_or_else(|| Arc::from(""))
    }
}
