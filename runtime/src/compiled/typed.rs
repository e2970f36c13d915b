//! Typed code: expressions whose static type is a plain scalar (Integer, Decimal or Money,
//! Date, Month, Quarter, an enum) compiled into closures that return the scalar itself instead
//! of a [`Value`].
//!
//! Rationale: arithmetic, comparisons, sums and counts make up most of a policy, and in the
//! untyped code every node between two of them builds a `Value`, returns it through memory,
//! matches its tag again and drops it. Here a sum of money over a list adds `Decimal`s, a
//! comparison of an age with a parameter compares two `i64`s, and an enum test compares two
//! variant indices.
//!
//! Types come from the IR: the declared types of items, parameters, function parameters and
//! case record fields, and the result types of operators. The compiler here only keeps track of
//! which local slot holds what ([`Compiler::scope`]). A type that cannot be told statically, or
//! an optional one, keeps the untyped code. The typed code gives up ([`Bail`]) on a value of
//! another kind than its type promises, so an IR that lies about a type is still decided by the
//! interpreter: typed code can give up where the untyped one would not, never answer
//! differently.

use std::cmp::Ordering;

use rust_decimal::Decimal;

use crate::exact::Number;

use super::{step, Bail, Code, Compiler, Condition, Machine, Place, PlaceStart, Run, Typed};
use crate::dates;
use crate::ir::{AggregateKind, BinaryOp, Builtin, Expr, Type, UnaryOp};
use crate::value::{Date, Month, Quarter, Value};

/// The kind of value an expression always gives when it gives one: a scalar that is never
/// absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scalar {
    Bool,
    Integer,
    /// Decimal or Money: both are a [`Decimal`] at run time.
    Decimal,
    Date,
    Month,
    Quarter,
    Enum,
}

fn scalar_of(ty: &Type) -> Option<Scalar> {
    Some(match ty {
        Type::Bool => Scalar::Bool,
        Type::Integer => Scalar::Integer,
        Type::Decimal | Type::Money => Scalar::Decimal,
        Type::Date => Scalar::Date,
        Type::Month => Scalar::Month,
        Type::Quarter => Scalar::Quarter,
        Type::Enum(_) => Scalar::Enum,
        _ => return None,
    })
}

/// The element type of a list type, optional or not.
pub(super) fn element_of(ty: Option<Type>) -> Option<Type> {
    match ty? {
        Type::List(element) => Some(*element),
        Type::Optional(inner) => match *inner {
            Type::List(element) => Some(*element),
            _ => None,
        },
        _ => None,
    }
}

fn non_optional(ty: Option<Type>) -> Option<Type> {
    match ty? {
        Type::Optional(_) => None,
        ty => Some(ty),
    }
}

fn as_date(value: &Value) -> Option<Date> {
    match value {
        Value::Date(value) => Some(*value),
        _ => None,
    }
}

fn as_month(value: &Value) -> Option<Month> {
    match value {
        Value::Month(value) => Some(*value),
        _ => None,
    }
}

fn as_quarter(value: &Value) -> Option<Quarter> {
    match value {
        Value::Quarter(value) => Some(*value),
        _ => None,
    }
}

fn as_variant(value: &Value) -> Option<u32> {
    match value {
        Value::Enum(value) => Some(*value),
        _ => None,
    }
}

/// `if condition then then else otherwise` over typed branches.
pub(super) fn choice<T: 'static>(
    condition: Condition,
    then: Typed<T>,
    otherwise: Typed<T>,
) -> Typed<T> {
    Box::new(move |machine| {
        if condition(machine)? {
            then(machine)
        } else {
            otherwise(machine)
        }
    })
}

/// `apply` on two typed operands, left first; an overflow (`None`) gives up, as the
/// interpreter's arithmetic fails on it.
fn checked<T: 'static>(left: Typed<T>, right: Typed<T>, apply: fn(T, T) -> Option<T>) -> Typed<T> {
    Box::new(move |machine| {
        let left = left(machine)?;
        apply(left, right(machine)?).ok_or(Bail)
    })
}

impl Machine<'_> {
    /// The value a place holds, borrowed (from the case or from a local slot).
    pub(super) fn place_ref(&self, place: &Place) -> Run<&Value> {
        let mut value: &Value = match place.start {
            PlaceStart::Root => self.root,
            PlaceStart::Local(slot) => self.local(slot)?.get(),
        };
        for index in &place.fields {
            value = match step(value, *index)? {
                Some(next) => next,
                None => return Ok(&super::ABSENT),
            };
        }
        Ok(value)
    }
}

impl Compiler<'_> {
    /// Records the type of a local slot for the expressions compiled after it (the slot's
    /// binder is compiled before its scope, and nested scopes use other slots).
    pub(super) fn bind_slot(&self, slot: u32, ty: Option<Type>) {
        let mut scope = self.scope.borrow_mut();
        let slot = slot as usize;
        if scope.len() <= slot {
            scope.resize(slot + 1, None);
        }
        if let Some(place) = scope.get_mut(slot) {
            *place = ty;
        }
    }

    /// Forgets every slot's type and gives the parameters of the item compiled next theirs.
    pub(super) fn enter_item(&self, params: &[(String, Type)]) {
        let mut scope = self.scope.borrow_mut();
        scope.clear();
        scope.extend(params.iter().map(|(_, ty)| Some(ty.clone())));
    }

    /// The static type of an expression, when it can be told; `None` when not. Aggregates and
    /// `match` arms record their variables' types on the way, as compiling them does.
    pub(super) fn ty(&self, expr: &Expr) -> Option<Type> {
        let policy = self.policy;
        match expr {
            Expr::Const(value) => value.scalar_type(),
            Expr::Input => Some(Type::Record(policy.input.record)),
            Expr::AsOf => Some(Type::Date),
            Expr::Local(slot) => self.scope.borrow().get(*slot as usize).cloned().flatten(),
            Expr::Item(id) | Expr::Call(id, _) => {
                policy.items.get(*id as usize).map(|item| item.ty.clone())
            }
            Expr::Param { param, .. } => policy.params.get(*param as usize).map(|p| p.ty.clone()),
            Expr::Field(inner, index) => policy.field_type(&self.ty(inner)?, *index),
            // An absent operand gives an absent result: only a present operand's type is known.
            Expr::Unary(op, operand) => {
                non_optional(self.ty(operand))?;
                Some(match op {
                    UnaryOp::Not => Type::Bool,
                    UnaryOp::NegInteger => Type::Integer,
                    UnaryOp::NegDecimal | UnaryOp::IntegerToDecimal | UnaryOp::Retype => {
                        Type::Decimal
                    }
                })
            }
            Expr::Binary(op, _, _) => Some(match op {
                BinaryOp::AddInteger | BinaryOp::SubInteger | BinaryOp::MulInteger => Type::Integer,
                BinaryOp::DivInteger
                | BinaryOp::AddDecimal
                | BinaryOp::SubDecimal
                | BinaryOp::MulDecimal
                | BinaryOp::DivDecimal => Type::Decimal,
                _ => Type::Bool,
            }),
            Expr::And(..) | Expr::Or(..) | Expr::IsPresent(_) => Some(Type::Bool),
            Expr::If {
                then, otherwise, ..
            } => {
                let then = self.ty(then)?;
                (self.ty(otherwise)? == then).then_some(then)
            }
            Expr::Aggregate {
                kind,
                var,
                list,
                body,
                ..
            } => match kind {
                AggregateKind::Count | AggregateKind::SumInteger => Some(Type::Integer),
                AggregateKind::SumDecimal => Some(Type::Decimal),
                AggregateKind::Any | AggregateKind::All => Some(Type::Bool),
                AggregateKind::FlatMap => {
                    self.bind_slot(*var, element_of(self.ty(list)));
                    let inner = element_of(self.ty(body.as_deref()?))?;
                    Some(Type::List(Box::new(inner)))
                }
                _ => None,
            },
            Expr::Round { value, .. } => {
                non_optional(self.ty(value))?;
                Some(Type::Decimal)
            }
            Expr::Band(band, value) => {
                non_optional(self.ty(value))?;
                policy
                    .bands
                    .get(*band as usize)
                    .map(|band| band.result.clone())
            }
            Expr::Coalesce(_, fallback) => self.ty(fallback),
            Expr::Builtin(builtin, args) => {
                let present = args.iter().all(|arg| non_optional(self.ty(arg)).is_some());
                match builtin {
                    Builtin::Age if present => Some(Type::Integer),
                    Builtin::MonthOf if present => Some(Type::Month),
                    Builtin::AddMonths | Builtin::AddDays | Builtin::AddYears if present => {
                        Some(Type::Date)
                    }
                    Builtin::QuarterContainsMonth if present => Some(Type::Bool),
                    Builtin::Length => Some(Type::Integer),
                    Builtin::IsEmpty => Some(Type::Bool),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The scalar an expression always gives, if its type says so.
    pub(super) fn scalar(&self, expr: &Expr) -> Option<Scalar> {
        scalar_of(&self.ty(expr)?)
    }

    /// Code that reads a scalar where it lies (a constant, an item's memo, a place of the case
    /// or of a local, a parameter) or else from the untyped code, and gives up on another
    /// kind of value.
    fn read<T: Copy + Send + Sync + 'static>(
        &self,
        expr: &Expr,
        extract: fn(&Value) -> Option<T>,
    ) -> Typed<T> {
        match expr {
            Expr::Const(value) => match extract(value) {
                Some(value) => Box::new(move |_| Ok(value)),
                None => Box::new(|_| Err(Bail)),
            },
            Expr::Item(id) => {
                let id = *id as usize;
                Box::new(move |machine| extract(machine.item_ref(id)?).ok_or(Bail))
            }
            Expr::Param { param, at: None } => {
                let Some(param) = self.policy.params.get(*param as usize) else {
                    return Box::new(|_| Err(Bail));
                };
                let param = param.clone();
                Box::new(move |machine| {
                    extract(super::param_at(&param, machine.as_of)?).ok_or(Bail)
                })
            }
            _ => match super::place_of(expr) {
                Some(place) => {
                    Box::new(move |machine| extract(machine.place_ref(&place)?).ok_or(Bail))
                }
                None => {
                    let code = self.untyped_value(expr);
                    Box::new(move |machine| extract(&code(machine)?).ok_or(Bail))
                }
            },
        }
    }

    /// An operand that must be an integer (of an integer operator): typed when its type is
    /// known, else read from the untyped code (an absent operand gives up, as the
    /// interpreter's arithmetic fails on it).
    pub(super) fn integer(&self, expr: &Expr) -> Typed<i64> {
        if self.scalar(expr) == Some(Scalar::Integer) {
            if let Some(code) = self.integer_node(expr) {
                return code;
            }
        }
        self.read(expr, Value::as_integer)
    }

    /// An operand that must be a number, as a decimal (of a decimal operator): an integer is
    /// converted as the interpreter converts it.
    pub(super) fn decimal(&self, expr: &Expr) -> Typed<Number> {
        match self.scalar(expr) {
            Some(Scalar::Integer) => {
                if let Some(code) = self.integer_node(expr) {
                    return Box::new(move |machine| {
                        Ok(Number::Decimal(Decimal::from(code(machine)?)))
                    });
                }
            }
            Some(Scalar::Decimal) => {
                if let Some(code) = self.decimal_node(expr) {
                    return code;
                }
            }
            _ => {}
        }
        self.read(expr, Value::as_number)
    }

    pub(super) fn date(&self, expr: &Expr) -> Typed<Date> {
        if let Expr::Builtin(
            builtin @ (Builtin::AddMonths | Builtin::AddDays | Builtin::AddYears),
            args,
        ) = expr
        {
            if let ([date, amount], Some(Scalar::Date)) = (args.as_slice(), self.scalar(expr)) {
                let date = self.date(date);
                let amount = self.integer(amount);
                let shift: fn(Date, i64) -> Option<Date> = match builtin {
                    Builtin::AddMonths => dates::add_months,
                    Builtin::AddYears => dates::add_years,
                    _ => dates::add_days,
                };
                return Box::new(move |machine| {
                    let date = date(machine)?;
                    shift(date, amount(machine)?).ok_or(Bail)
                });
            }
        }
        if let Expr::AsOf = expr {
            return Box::new(|machine| Ok(machine.as_of));
        }
        self.read(expr, as_date)
    }

    /// The integer nodes computed here rather than read: arithmetic, counts and sums, ages,
    /// lengths, conditionals, `??` and integer bands. `None` for the others, which are read.
    fn integer_node(&self, expr: &Expr) -> Option<Typed<i64>> {
        Some(match expr {
            Expr::Binary(
                op @ (BinaryOp::AddInteger | BinaryOp::SubInteger | BinaryOp::MulInteger),
                left,
                right,
            ) => {
                let apply: fn(i64, i64) -> Option<i64> = match op {
                    BinaryOp::AddInteger => i64::checked_add,
                    BinaryOp::SubInteger => i64::checked_sub,
                    _ => i64::checked_mul,
                };
                checked(self.integer(left), self.integer(right), apply)
            }
            Expr::Unary(UnaryOp::NegInteger, operand) => {
                let operand = self.integer(operand);
                Box::new(move |machine| operand(machine)?.checked_neg().ok_or(Bail))
            }
            Expr::If {
                condition,
                then,
                otherwise,
            } => choice(
                self.condition(condition),
                self.integer(then),
                self.integer(otherwise),
            ),
            Expr::Coalesce(value, fallback) => {
                let place = super::place_of(value)?;
                let fallback = self.integer(fallback);
                Box::new(move |machine| match machine.place_ref(&place)? {
                    Value::Integer(value) => Ok(*value),
                    Value::Absent => fallback(machine),
                    _ => Err(Bail),
                })
            }
            Expr::Builtin(Builtin::Age, args) => {
                let [birth, on] = args.as_slice() else {
                    return None;
                };
                let birth = self.date(birth);
                let on = self.date(on);
                Box::new(move |machine| {
                    let birth = birth(machine)?;
                    dates::age(birth, on(machine)?).ok_or(Bail)
                })
            }
            Expr::Builtin(Builtin::Length, args) => {
                let [list] = args.as_slice() else {
                    return None;
                };
                let place = super::place_of(list)?;
                Box::new(move |machine| match machine.place_ref(&place)? {
                    Value::List(items) => i64::try_from(items.len()).map_err(|_| Bail),
                    Value::Absent => Ok(0),
                    _ => Err(Bail),
                })
            }
            Expr::Aggregate {
                kind: kind @ (AggregateKind::Count | AggregateKind::SumInteger),
                var,
                list,
                filter,
                body,
            } => {
                let source = self.loop_over(list, *var);
                let filter = self.optional_condition(filter.as_deref());
                let body = match (kind, body) {
                    (AggregateKind::Count, _) => None,
                    (_, Some(body)) if self.scalar(body) == Some(Scalar::Integer) => {
                        Some(self.integer(body))
                    }
                    // A sum of the elements themselves, or of an optional body: untyped.
                    _ => return None,
                };
                let var = *var;
                Box::new(move |machine| {
                    let mut total: i64 = 0;
                    machine.for_each_selected(&source, var, filter.as_ref(), |machine| {
                        let add = match &body {
                            Some(body) => body(machine)?,
                            None => 1,
                        };
                        total = total.checked_add(add).ok_or(Bail)?;
                        Ok(true)
                    })?;
                    Ok(total)
                })
            }
            _ => return None,
        })
    }

    /// The decimal nodes computed here rather than read: arithmetic, sums, rounding,
    /// conditionals and `??`.
    fn decimal_node(&self, expr: &Expr) -> Option<Typed<Number>> {
        Some(match expr {
            Expr::Binary(op @ (BinaryOp::DivInteger | BinaryOp::DivDecimal), left, right) => {
                let (left, right) = if *op == BinaryOp::DivInteger {
                    let left = self.integer(left);
                    let right = self.integer(right);
                    let left: Typed<Number> =
                        Box::new(move |machine| Ok(Number::Decimal(Decimal::from(left(machine)?))));
                    let right: Typed<Number> = Box::new(move |machine| {
                        Ok(Number::Decimal(Decimal::from(right(machine)?)))
                    });
                    (left, right)
                } else {
                    (self.decimal(left), self.decimal(right))
                };
                Box::new(move |machine| {
                    let left = left(machine)?;
                    // The exact quotient, as in the interpreter; a zero divisor gives up.
                    left.checked_div(right(machine)?).ok().flatten().ok_or(Bail)
                })
            }
            Expr::Binary(
                op @ (BinaryOp::AddDecimal | BinaryOp::SubDecimal | BinaryOp::MulDecimal),
                left,
                right,
            ) => {
                let apply: fn(Number, Number) -> Option<Number> = match op {
                    BinaryOp::AddDecimal => |left, right| left.checked_add(right).ok(),
                    BinaryOp::SubDecimal => |left, right| left.checked_sub(right).ok(),
                    _ => |left, right| left.checked_mul(right).ok(),
                };
                checked(self.decimal(left), self.decimal(right), apply)
            }
            Expr::Unary(UnaryOp::NegDecimal, operand) => {
                let operand = self.decimal(operand);
                Box::new(move |machine| Ok(operand(machine)?.negated()))
            }
            Expr::Unary(UnaryOp::IntegerToDecimal | UnaryOp::Retype, operand) => {
                self.decimal(operand)
            }
            Expr::Round {
                value,
                places,
                mode,
            } => {
                let value = self.decimal(value);
                let (places, mode) = (*places, *mode);
                Box::new(move |machine| {
                    value(machine)?
                        .round(places, mode)
                        .map(Number::Decimal)
                        .map_err(|_| Bail)
                })
            }
            Expr::If {
                condition,
                then,
                otherwise,
            } => choice(
                self.condition(condition),
                self.decimal(then),
                self.decimal(otherwise),
            ),
            Expr::Aggregate {
                kind: AggregateKind::SumDecimal,
                var,
                list,
                filter,
                body: Some(body),
            } => {
                let source = self.loop_over(list, *var);
                let filter = self.optional_condition(filter.as_deref());
                if !matches!(self.scalar(body), Some(Scalar::Decimal | Scalar::Integer)) {
                    return None;
                }
                let body = self.decimal(body);
                let var = *var;
                Box::new(move |machine| {
                    let mut total = Number::Decimal(Decimal::ZERO);
                    machine.for_each_selected(&source, var, filter.as_ref(), |machine| {
                        total = total.checked_add(body(machine)?).map_err(|_| Bail)?;
                        Ok(true)
                    })?;
                    Ok(total)
                })
            }
            _ => return None,
        })
    }

    /// Typed code for an expression whose result is built here rather than read: `None` for
    /// expressions the untyped code compiles as well (reads, calls, constants).
    pub(super) fn typed_value(&self, expr: &Expr) -> Option<Code> {
        let computed = matches!(
            expr,
            Expr::Binary(..)
                | Expr::Unary(
                    UnaryOp::NegInteger
                        | UnaryOp::NegDecimal
                        | UnaryOp::IntegerToDecimal
                        | UnaryOp::Retype,
                    _
                )
                | Expr::Round { .. }
                | Expr::Aggregate {
                    kind: AggregateKind::Count
                        | AggregateKind::SumInteger
                        | AggregateKind::SumDecimal,
                    ..
                }
                | Expr::Builtin(Builtin::Age | Builtin::Length, _)
                | Expr::Coalesce(..)
        );
        if !computed {
            return None;
        }
        match self.scalar(expr)? {
            Scalar::Integer => {
                let code = self.integer_node(expr)?;
                Some(Box::new(move |machine| Ok(Value::Integer(code(machine)?))))
            }
            Scalar::Decimal => {
                let code = self.decimal_node(expr)?;
                Some(Box::new(move |machine| Ok(Value::number(code(machine)?))))
            }
            _ => None,
        }
    }

    /// A comparison of two scalars of known types, compared as scalars: `None` when the
    /// operands' types do not allow it (the untyped comparison then decides).
    pub(super) fn typed_comparison(
        &self,
        op: BinaryOp,
        left: &Expr,
        right: &Expr,
    ) -> Option<Condition> {
        let holds: fn(Ordering) -> bool = match op {
            BinaryOp::Eq => Ordering::is_eq,
            BinaryOp::Ne => Ordering::is_ne,
            BinaryOp::Lt => Ordering::is_lt,
            BinaryOp::Le => Ordering::is_le,
            BinaryOp::Gt => Ordering::is_gt,
            BinaryOp::Ge => Ordering::is_ge,
            BinaryOp::In | BinaryOp::NotIn => return self.typed_membership(op, left, right),
            _ => return None,
        };
        // An enum against a variant written in the policy: variant indices.
        if let (Expr::Const(Value::Enum(variant)), Some(Scalar::Enum), true) = (
            right,
            self.scalar(left),
            matches!(op, BinaryOp::Eq | BinaryOp::Ne),
        ) {
            let variant = *variant;
            let left = self.read(left, as_variant);
            return Some(Box::new(move |machine| {
                Ok(holds(left(machine)?.cmp(&variant)))
            }));
        }
        Some(match (self.scalar(left)?, self.scalar(right)?) {
            (Scalar::Integer, Scalar::Integer) => {
                let left = self.integer(left);
                let right = self.integer(right);
                Box::new(move |machine| {
                    let left = left(machine)?;
                    Ok(holds(left.cmp(&right(machine)?)))
                })
            }
            // Integer and decimal are compared as decimals, as `Value::compare` does.
            (Scalar::Integer | Scalar::Decimal, Scalar::Integer | Scalar::Decimal) => {
                let left = self.decimal(left);
                let right = self.decimal(right);
                Box::new(move |machine| {
                    let left = left(machine)?;
                    Ok(holds(left.order(right(machine)?)))
                })
            }
            (Scalar::Date, Scalar::Date) => {
                let left = self.date(left);
                let right = self.date(right);
                Box::new(move |machine| {
                    let left = left(machine)?;
                    Ok(holds(left.cmp(&right(machine)?)))
                })
            }
            (Scalar::Enum, Scalar::Enum) if matches!(op, BinaryOp::Eq | BinaryOp::Ne) => {
                let left = self.read(left, as_variant);
                let right = self.read(right, as_variant);
                Box::new(move |machine| {
                    let left = left(machine)?;
                    Ok(holds(left.cmp(&right(machine)?)))
                })
            }
            _ => return None,
        })
    }

    /// `x in [a, b]` and `x not in [a, b]` with a list of enum variants written in the policy
    /// and `x` an enum, optional or not, that lies in the case or a local (an absent `x` is in
    /// no list).
    fn typed_membership(&self, op: BinaryOp, left: &Expr, right: &Expr) -> Option<Condition> {
        let Expr::List(items) = right else {
            return None;
        };
        let variants: Vec<u32> = items
            .iter()
            .map(|item| match item {
                Expr::Const(Value::Enum(variant)) => Some(*variant),
                _ => None,
            })
            .collect::<Option<_>>()?;
        match self.ty(left)? {
            Type::Enum(_) => {}
            Type::Optional(inner) if matches!(*inner, Type::Enum(_)) => {}
            _ => return None,
        }
        let place = super::place_of(left)?;
        let wanted = op == BinaryOp::In;
        Some(Box::new(move |machine| {
            match machine.place_ref(&place)? {
                Value::Enum(variant) => Ok(variants.contains(variant) == wanted),
                Value::Absent => Ok(!wanted),
                _ => Err(Bail),
            }
        }))
    }

    /// `contains(quarter, month)` on a quarter and a month that are never absent.
    pub(super) fn typed_quarter_contains(&self, args: &[Expr]) -> Option<Condition> {
        let [quarter, month] = args else {
            return None;
        };
        if self.scalar(quarter) != Some(Scalar::Quarter) {
            return None;
        }
        let month: Typed<Month> = match month {
            Expr::Builtin(Builtin::MonthOf, args) => match args.as_slice() {
                [date] if self.scalar(date) == Some(Scalar::Date) => {
                    let date = self.date(date);
                    Box::new(move |machine| Ok(dates::month_of(date(machine)?)))
                }
                _ => return None,
            },
            month if self.scalar(month) == Some(Scalar::Month) => self.read(month, as_month),
            _ => return None,
        };
        let quarter = self.read(quarter, as_quarter);
        Some(Box::new(move |machine| {
            let quarter = quarter(machine)?;
            Ok(dates::quarter_contains(quarter, month(machine)?))
        }))
    }
}
