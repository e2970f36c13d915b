//! Type checking and lowering of expressions, in one pass.
//!
//! The checker resolves names, infers and checks types, and produces IR expressions with
//! operators specialised for their operand types. A type of `None` means "already reported":
//! it silences errors that would only repeat the first one.

use crate::codes::Code;
use std::collections::BTreeSet;
use std::sync::Arc;

use ereje_runtime::ir::{
    AggregateKind, BinaryOp, Expr, MatchArm, Pattern, RoundingMode, Type, UnaryOp,
};
use ereje_runtime::value::Value;

use crate::ast::{self, BinaryOperator, ExprKind, LiteralKind, Name, PatternDecl, Span};
use crate::db::{Db, PolicySet};
use crate::diagnostic::{closest_name, Diagnostic};
use crate::symbols::{Symbols, ValueKind};
use crate::types::{signature, TypeTable};

/// The checking of calls of built-in functions (`count`, `sum`, `round`, …), a part of the
/// checker kept in a file of its own.
mod builtins;

/// More operands than this in one expression are refused: the checker recurses on the tree.
const MAX_EXPRESSION_SIZE: usize = 4000;

pub type Typed = (Expr, Option<Type>);

struct Local {
    name: String,
    ty: Type,
    slot: u32,
}

pub struct Checker<'a> {
    pub db: &'a dyn Db,
    pub set: PolicySet,
    pub symbols: &'a Symbols,
    pub types: &'a TypeTable,
    /// The file index of the module being checked.
    pub module: u32,
    locals: Vec<Local>,
    pub next_slot: u32,
    pub diagnostics: Vec<Diagnostic>,
    /// Names of the values (items, parameters, tables, …) the checked code refers to.
    pub uses: BTreeSet<String>,
    size: usize,
}

fn error_value() -> Expr {
    Expr::Const(Value::Absent)
}

fn strip_optional(ty: &Type) -> &Type {
    match ty {
        Type::Optional(inner) => inner,
        other => other,
    }
}

fn optional_of(ty: Type) -> Type {
    match ty {
        Type::Optional(_) => ty,
        other => Type::Optional(Box::new(other)),
    }
}

/// The type two branches (or a value and its expected type) share, if any.
pub fn unify(a: &Type, b: &Type) -> Option<Type> {
    if a == b {
        return Some(a.clone());
    }
    match (a, b) {
        (Type::Never, other) | (other, Type::Never) => Some(other.clone()),
        (Type::Optional(x), Type::Optional(y)) => unify(x, y).map(optional_of),
        (Type::Optional(x), other) | (other, Type::Optional(x)) => unify(x, other).map(optional_of),
        (Type::List(x), Type::List(y)) => unify(x, y).map(|t| Type::List(Box::new(t))),
        (Type::Map(x), Type::Map(y)) => unify(x, y).map(|t| Type::Map(Box::new(t))),
        (Type::Text, Type::RuleId) | (Type::RuleId, Type::Text) => Some(Type::Text),
        (Type::Object(x), Type::Object(y)) if x.len() == y.len() => {
            let mut fields = Vec::with_capacity(x.len());
            for ((name_x, type_x), (name_y, type_y)) in x.iter().zip(y) {
                if name_x != name_y {
                    return None;
                }
                fields.push((name_x.clone(), unify(type_x, type_y)?));
            }
            Some(Type::Object(fields))
        }
        _ => None,
    }
}

/// Whether a value of type `actual` may stand where `expected` is declared.
pub fn assignable(actual: &Type, expected: &Type) -> bool {
    unify(actual, expected).as_ref() == Some(expected)
}

impl<'a> Checker<'a> {
    pub fn new(
        db: &'a dyn Db,
        set: PolicySet,
        symbols: &'a Symbols,
        types: &'a TypeTable,
        module: u32,
    ) -> Self {
        Checker {
            db,
            set,
            symbols,
            types,
            module,
            locals: Vec::new(),
            next_slot: 0,
            diagnostics: Vec::new(),
            uses: BTreeSet::new(),
            size: 0,
        }
    }

    pub fn show(&self, ty: &Type) -> String {
        self.types.display(ty)
    }

    fn fail(&mut self, diagnostic: Diagnostic) -> Typed {
        self.diagnostics.push(diagnostic);
        (error_value(), None)
    }

    fn error(&mut self, code: Code, message: String, span: Span, label: &str) -> Typed {
        self.fail(Diagnostic::error(code, message, span, label))
    }

    /// Declares a local (a function parameter, an aggregate's variable, a match binding).
    pub fn push_local(&mut self, name: &str, ty: Type) -> u32 {
        let slot = self.next_slot;
        self.next_slot += 1;
        self.locals.push(Local {
            name: name.to_string(),
            ty,
            slot,
        });
        slot
    }

    pub fn pop_local(&mut self) {
        self.locals.pop();
    }

    /// Checks an expression where a value of `expected` type is wanted; reports a mismatch.
    pub fn check_against(&mut self, expr: &ast::Expr, expected: &Type, what: &str) -> Expr {
        let (lowered, ty) = self.expr(expr, Some(expected));
        if let Some(ty) = ty {
            if !assignable(&ty, expected) {
                let mut diagnostic = Diagnostic::error(
                    Code::TypeMismatch,
                    format!(
                        "{what} must be {}, but this is {}",
                        self.show(expected),
                        self.show(&ty)
                    ),
                    expr.span,
                    format!("this is {}", self.show(&ty)),
                );
                if let Some(help) = conversion_help(&ty, expected) {
                    diagnostic = diagnostic.with_help(help);
                }
                self.diagnostics.push(diagnostic);
            }
        }
        lowered
    }

    fn check_bool(&mut self, expr: &ast::Expr, what: &str) -> Expr {
        self.check_against(expr, &Type::Bool, what)
    }

    pub fn expr(&mut self, expr: &ast::Expr, expected: Option<&Type>) -> Typed {
        self.size += 1;
        if self.size > MAX_EXPRESSION_SIZE {
            if self.size == MAX_EXPRESSION_SIZE + 1 {
                return self.error(
                    Code::SyntaxTooLarge,
                    format!("this item has more than {MAX_EXPRESSION_SIZE} operations"),
                    expr.span,
                    "too large",
                );
            }
            return (error_value(), None);
        }
        let span = expr.span;
        match &expr.kind {
            ExprKind::Literal(literal) => self.literal(literal, span, expected),
            ExprKind::Name(name) => self.name(name, span, expected),
            ExprKind::RuleRef(id) => self.rule_ref(id, span),
            ExprKind::Field(base, field) => self.field(base, field, span),
            ExprKind::Negate(inner) => {
                let (lowered, ty) = self.expr(inner, expected);
                match ty {
                    None => (lowered, None),
                    Some(Type::Integer) => (
                        Expr::Unary(UnaryOp::NegInteger, Box::new(lowered)),
                        Some(Type::Integer),
                    ),
                    Some(ty @ (Type::Decimal | Type::Money)) => (
                        Expr::Unary(UnaryOp::NegDecimal, Box::new(lowered)),
                        Some(ty),
                    ),
                    Some(other) => {
                        let shown = self.show(&other);
                        self.error(
                            Code::TypeMismatch,
                            format!("cannot negate a value of type {shown}"),
                            span,
                            "not a number",
                        )
                    }
                }
            }
            ExprKind::Not(inner) => {
                let lowered = self.check_bool(inner, "the operand of `not`");
                (
                    Expr::Unary(UnaryOp::Not, Box::new(lowered)),
                    Some(Type::Bool),
                )
            }
            ExprKind::And(left, right) | ExprKind::Or(left, right) => {
                let word = if matches!(expr.kind, ExprKind::And(..)) {
                    "and"
                } else {
                    "or"
                };
                let left = self.check_bool(left, &format!("each operand of `{word}`"));
                let right = self.check_bool(right, &format!("each operand of `{word}`"));
                let lowered = if word == "and" {
                    Expr::And(Box::new(left), Box::new(right))
                } else {
                    Expr::Or(Box::new(left), Box::new(right))
                };
                (lowered, Some(Type::Bool))
            }
            ExprKind::Binary(operator, left, right) => self.binary(*operator, left, right, span),
            ExprKind::Coalesce(left, right) => {
                let (left_lowered, left_ty) =
                    self.expr(left, expected.map(|t| optional_of(t.clone())).as_ref());
                let Some(left_ty) = left_ty else {
                    return (left_lowered, None);
                };
                let Type::Optional(inner) = &left_ty else {
                    let shown = self.show(&left_ty);
                    return self.fail(
                        Diagnostic::error(
                            Code::TypeNotOptional,
                            format!("the left side of `??` is {shown}, which is never absent"),
                            left.span,
                            "always present",
                        )
                        .with_help("`a ?? b` gives `b` when `a` is absent; here it cannot be"),
                    );
                };
                let inner = (**inner).clone();
                let (right_lowered, right_ty) = self.expr(right, Some(&inner));
                let Some(right_ty) = right_ty else {
                    return (right_lowered, None);
                };
                match unify(&inner, &right_ty) {
                    Some(result) => {
                        let result = if matches!(right_ty, Type::Optional(_)) {
                            optional_of(result)
                        } else {
                            strip_optional(&result).clone()
                        };
                        (
                            Expr::Coalesce(Box::new(left_lowered), Box::new(right_lowered)),
                            Some(result),
                        )
                    }
                    None => {
                        let (a, b) = (self.show(&inner), self.show(&right_ty));
                        self.error(
                            Code::TypeMismatch,
                            format!("both sides of `??` must have one type: {a} and {b}"),
                            right.span,
                            "this differs",
                        )
                    }
                }
            }
            ExprKind::If(condition, then, otherwise) => {
                let condition = self.check_bool(condition, "the condition of `if`");
                let (then_lowered, then_ty) = self.expr(then, expected);
                let (else_lowered, else_ty) = self.expr(otherwise, expected.or(then_ty.as_ref()));
                let ty = match (then_ty, else_ty) {
                    (Some(a), Some(b)) => match unify(&a, &b) {
                        Some(ty) => Some(ty),
                        None => {
                            let (a, b) = (self.show(&a), self.show(&b));
                            let mut diagnostic = Diagnostic::error(
                                Code::TypeMismatch,
                                format!("the branches of `if` have different types: {a} and {b}"),
                                otherwise.span,
                                format!("this is {b}"),
                            )
                            .with_label(then.span, format!("this is {a}"));
                            if let Some(help) = conversion_help_names(&a, &b) {
                                diagnostic = diagnostic.with_help(help);
                            }
                            self.diagnostics.push(diagnostic);
                            None
                        }
                    },
                    _ => None,
                };
                (
                    Expr::If {
                        condition: Box::new(condition),
                        then: Box::new(then_lowered),
                        otherwise: Box::new(else_lowered),
                    },
                    ty,
                )
            }
            ExprKind::Match(scrutinee, arms) => self.match_expr(scrutinee, arms, span, expected),
            ExprKind::List(items) => {
                let element_expected = match expected {
                    Some(Type::List(element)) => Some((**element).clone()),
                    _ => None,
                };
                let mut lowered = Vec::with_capacity(items.len());
                let mut element: Option<Type> = Some(Type::Never);
                for item in items {
                    let hint = element_expected
                        .clone()
                        .or_else(|| element.clone().filter(|t| *t != Type::Never));
                    let (item_lowered, item_ty) = self.expr(item, hint.as_ref());
                    lowered.push(item_lowered);
                    element = match (element, item_ty) {
                        (Some(a), Some(b)) => match unify(&a, &b) {
                            Some(t) => Some(t),
                            None => {
                                let (a, b) = (self.show(&a), self.show(&b));
                                self.diagnostics.push(Diagnostic::error(
                                    Code::TypeMismatch,
                                    format!("a list's items must have one type: {a} and {b}"),
                                    item.span,
                                    format!("this is {b}"),
                                ));
                                None
                            }
                        },
                        _ => None,
                    };
                }
                (
                    Expr::List(lowered),
                    element.map(|t| Type::List(Box::new(t))),
                )
            }
            ExprKind::Object(entries) => {
                let mut lowered = Vec::with_capacity(entries.len());
                let mut fields = Vec::with_capacity(entries.len());
                let mut failed = false;
                let expected_fields = match expected {
                    Some(Type::Object(fields)) => Some(fields.clone()),
                    _ => None,
                };
                for (key, value) in entries {
                    if fields
                        .iter()
                        .any(|(name, _): &(String, Type)| name == &key.text)
                    {
                        self.diagnostics.push(Diagnostic::error(
                            Code::NameDuplicate,
                            format!("key `{}` appears twice", key.text),
                            key.span,
                            "again here",
                        ));
                        failed = true;
                        continue;
                    }
                    let hint = expected_fields.as_ref().and_then(|fields| {
                        fields
                            .iter()
                            .find(|(name, _)| name == &key.text)
                            .map(|(_, t)| t.clone())
                    });
                    let (value_lowered, value_ty) = self.expr(value, hint.as_ref());
                    lowered.push((key.text.clone(), value_lowered));
                    match value_ty {
                        Some(ty) => fields.push((key.text.clone(), ty)),
                        None => failed = true,
                    }
                }
                (
                    Expr::Object(lowered),
                    (!failed).then_some(Type::Object(fields)),
                )
            }
            ExprKind::MapComprehension {
                var,
                list,
                filter,
                key,
                value,
            } => {
                let Some((list_lowered, element)) = self.list_operand(list) else {
                    return (error_value(), None);
                };
                let slot = self.push_local(&var.text, element);
                let filter = filter
                    .as_ref()
                    .map(|f| Box::new(self.check_bool(f, "a `where` condition")));
                let key_lowered = self.check_against(key, &Type::Text, "a map's key");
                let value_expected = match expected {
                    Some(Type::Map(element)) => Some((**element).clone()),
                    _ => None,
                };
                let (value_lowered, value_ty) = self.expr(value, value_expected.as_ref());
                self.pop_local();
                (
                    Expr::MapOf {
                        var: slot,
                        list: Box::new(list_lowered),
                        filter,
                        key: Box::new(key_lowered),
                        value: Box::new(value_lowered),
                    },
                    value_ty.map(|t| Type::Map(Box::new(t))),
                )
            }
            ExprKind::Aggregate {
                function,
                var,
                list,
                filter,
                body,
            } => self.aggregate(
                function,
                var,
                list,
                filter.as_deref(),
                body.as_deref(),
                span,
            ),
            ExprKind::Call(name, arguments) => self.call(name, arguments, span, expected),
        }
    }

    fn literal(&mut self, literal: &LiteralKind, span: Span, expected: Option<&Type>) -> Typed {
        match literal {
            LiteralKind::Integer(value) => {
                (Expr::Const(Value::Integer(*value)), Some(Type::Integer))
            }
            LiteralKind::Decimal(value) => {
                (Expr::Const(Value::Decimal(*value)), Some(Type::Decimal))
            }
            LiteralKind::Money(value) => (Expr::Const(Value::Decimal(*value)), Some(Type::Money)),
            LiteralKind::Date(value) => (Expr::Const(Value::Date(*value)), Some(Type::Date)),
            LiteralKind::Month(value) => (Expr::Const(Value::Month(*value)), Some(Type::Month)),
            LiteralKind::Quarter(value) => {
                (Expr::Const(Value::Quarter(*value)), Some(Type::Quarter))
            }
            LiteralKind::Text(value) => (
                Expr::Const(Value::Text(Arc::from(value.as_str()))),
                Some(Type::Text),
            ),
            LiteralKind::Bool(value) => (Expr::Const(Value::Bool(*value)), Some(Type::Bool)),
            LiteralKind::None => {
                let ty = match expected {
                    Some(Type::Optional(inner)) => Type::Optional(inner.clone()),
                    _ => Type::Optional(Box::new(Type::Never)),
                };
                (Expr::Const(Value::Absent), Some(ty))
            }
            LiteralKind::Invalid => (error_value(), None),
            LiteralKind::List(_) | LiteralKind::Name(_) => self.error(
                Code::SyntaxError,
                "a constant list or name is not an expression here".into(),
                span,
                "here",
            ),
        }
    }

    fn visible_or_report(&mut self, name: &str, declared_in: u32, span: Span) {
        if !self.symbols.visible(self.module, declared_in) {
            let declared = self
                .symbols
                .module_of(declared_in)
                .map(|m| m.name.clone())
                .unwrap_or_default();
            let here = self
                .symbols
                .module_of(self.module)
                .map(|m| m.name.clone())
                .unwrap_or_default();
            self.diagnostics.push(
                Diagnostic::error(
                    Code::NameNotImported,
                    format!("`{name}` is declared in module `{declared}`, which `{here}` does not import"),
                    span,
                    "not visible here",
                )
                .with_help(format!("add `import {declared}` to the header of `{here}`")),
            );
        }
    }

    /// The declared type of a value symbol (parameters, definitions, rules).
    fn value_type(&mut self, name: &str) -> Option<(Type, Vec<Type>)> {
        let symbol = self.symbols.values.get(name)?;
        let key = symbol.item.key(self.db, self.set)?;
        signature(self.db, self.set, key)
            .as_ref()
            .map(|s| (s.ty.clone(), s.params.clone()))
    }

    fn input_type(&self) -> Option<Type> {
        let input = self.symbols.inputs.first()?;
        let key = input.key(self.db, self.set)?;
        signature(self.db, self.set, key)
            .as_ref()
            .map(|s| s.ty.clone())
    }

    fn name(&mut self, name: &str, span: Span, expected: Option<&Type>) -> Typed {
        if let Some(local) = self.locals.iter().rev().find(|l| l.name == name) {
            return (Expr::Local(local.slot), Some(local.ty.clone()));
        }
        if let Some(symbol) = self.symbols.values.get(name).cloned() {
            self.visible_or_report(name, symbol.module, span);
            self.uses.insert(name.to_string());
            return match symbol.kind {
                ValueKind::Param(id) => {
                    let ty = self.value_type(name).map(|(ty, _)| ty);
                    (
                        Expr::Param {
                            param: id,
                            at: None,
                        },
                        ty,
                    )
                }
                ValueKind::DerivedParam(id) | ValueKind::Definition(id) | ValueKind::Rule(id) => {
                    let ty = self.value_type(name).map(|(ty, _)| ty);
                    (Expr::Item(id), ty)
                }
                ValueKind::Input => (Expr::Input, self.input_type()),
                ValueKind::Function(_) => self.fail(
                    Diagnostic::error(
                        Code::TypeFunctionValue,
                        format!("`{name}` is a function: call it with its arguments"),
                        span,
                        "a function",
                    )
                    .with_help(format!("write `{name}(…)`")),
                ),
                other => {
                    let word = other.word();
                    let help = match other {
                        ValueKind::Table(_) => format!("look a row up with `lookup({name}, …)`"),
                        ValueKind::Bands(_) => format!("find a band with `band({name}, value)`"),
                        ValueKind::Group(_) => {
                            format!("use `holding({name})`, `total({name})` or `values({name})`")
                        }
                        ValueKind::Calendar(_) => {
                            format!("use `add_working_days({name}, date, n)`")
                        }
                        _ => "outputs make up the decision and cannot be used in expressions"
                            .to_string(),
                    };
                    self.fail(
                        Diagnostic::error(
                            Code::TypeNotAValue,
                            format!("`{name}` is a {word}, not a value"),
                            span,
                            format!("a {word}"),
                        )
                        .with_help(help),
                    )
                }
            };
        }
        if name == "as_of" {
            return (Expr::AsOf, Some(Type::Date));
        }
        if let Some(Type::Enum(id)) = expected.map(strip_optional) {
            if let Some(enumeration) = self.types.enumeration(*id) {
                if let Some(index) = enumeration.variants.iter().position(|v| v.name == name) {
                    return (
                        Expr::Const(Value::Enum(index as u32)),
                        Some(Type::Enum(*id)),
                    );
                }
            }
        }
        let mut candidates: Vec<String> = self.locals.iter().map(|l| l.name.clone()).collect();
        candidates.extend(self.symbols.values.keys().cloned());
        if let Some(Type::Enum(id)) = expected.map(strip_optional) {
            if let Some(enumeration) = self.types.enumeration(*id) {
                candidates.extend(enumeration.variants.iter().map(|v| v.name.clone()));
            }
        }
        let mut diagnostic = Diagnostic::error(
            Code::NameUnknown,
            format!("unknown name `{name}`"),
            span,
            "not declared anywhere",
        );
        if let Some(suggestion) = closest_name(name, candidates.iter().map(String::as_str)) {
            diagnostic = diagnostic.with_help(format!("did you mean `{suggestion}`?"));
        } else if let Some((enum_name, _)) = self.variant_anywhere(name) {
            diagnostic = diagnostic.with_help(format!(
                "`{name}` is a variant of {enum_name}: write `{enum_name}.{name}`, or compare it with a value of that type"
            ));
        }
        self.fail(diagnostic)
    }

    fn variant_anywhere(&self, name: &str) -> Option<(String, u32)> {
        for def in &self.types.defs {
            if let ereje_runtime::ir::TypeDef::Enum(enumeration) = def {
                if let Some(index) = enumeration.variants.iter().position(|v| v.name == name) {
                    return Some((enumeration.name.clone(), index as u32));
                }
            }
        }
        None
    }

    fn rule_ref(&mut self, id: &str, span: Span) -> Typed {
        if self.symbols.values.contains_key(id) {
            return self.name(id, span, None);
        }
        let rules = self
            .symbols
            .values
            .iter()
            .filter(|(_, symbol)| matches!(symbol.kind, ValueKind::Rule(_)))
            .map(|(name, _)| name.as_str());
        let mut diagnostic = Diagnostic::error(
            Code::NameUnknownRule,
            format!("unknown rule `{id}`"),
            span,
            "no rule with this id",
        );
        if let Some(suggestion) = closest_name(id, rules) {
            diagnostic = diagnostic.with_help(format!("did you mean `{suggestion}`?"));
        } else if id.contains('-') {
            diagnostic = diagnostic.with_help("for subtraction, put spaces around `-`");
        }
        self.fail(diagnostic)
    }

    fn field(&mut self, base: &ast::Expr, field: &Name, span: Span) -> Typed {
        // `Role.parent`: a variant named through its enum.
        if let ExprKind::Name(type_name) = &base.kind {
            let shadowed = self.locals.iter().any(|l| &l.name == type_name)
                || self.symbols.values.contains_key(type_name);
            if !shadowed {
                if let Some(symbol) = self.symbols.types.get(type_name) {
                    if let Some(enumeration) = self.types.enumeration(symbol.id) {
                        return match enumeration
                            .variants
                            .iter()
                            .position(|v| v.name == field.text)
                        {
                            Some(index) => (
                                Expr::Const(Value::Enum(index as u32)),
                                Some(Type::Enum(symbol.id)),
                            ),
                            None => {
                                let names: Vec<&str> = enumeration
                                    .variants
                                    .iter()
                                    .map(|v| v.name.as_str())
                                    .collect();
                                let mut diagnostic = Diagnostic::error(
                                    Code::NameUnknownVariant,
                                    format!("`{}` is not a variant of {type_name}", field.text),
                                    field.span,
                                    "no such variant",
                                );
                                diagnostic = match closest_name(&field.text, names.iter().copied())
                                {
                                    Some(suggestion) => diagnostic
                                        .with_help(format!("did you mean `{suggestion}`?")),
                                    None => diagnostic.with_help(format!(
                                        "the variants are {}",
                                        names.join(", ")
                                    )),
                                };
                                self.fail(diagnostic)
                            }
                        };
                    }
                }
            }
        }
        let (base_lowered, base_ty) = self.expr(base, None);
        let Some(base_ty) = base_ty else {
            return (base_lowered, None);
        };
        let (record_id, optional) = match &base_ty {
            Type::Record(id) => (*id, false),
            Type::Optional(inner) => match inner.as_ref() {
                Type::Record(id) => (*id, true),
                _ => return self.no_fields(&base_ty, field, span),
            },
            _ => return self.no_fields(&base_ty, field, span),
        };
        let Some(record) = self.types.record(record_id) else {
            return (error_value(), None);
        };
        match record.fields.iter().position(|f| f.name == field.text) {
            Some(index) => {
                let field_ty = record.fields[index].ty.clone();
                let ty = if optional {
                    optional_of(field_ty)
                } else {
                    field_ty
                };
                (Expr::Field(Box::new(base_lowered), index as u32), Some(ty))
            }
            None => {
                let record_name = record.name.clone();
                let names: Vec<String> = record.fields.iter().map(|f| f.name.clone()).collect();
                let mut diagnostic = Diagnostic::error(
                    Code::NameUnknownField,
                    format!("record `{record_name}` has no field `{}`", field.text),
                    field.span,
                    "no such field",
                );
                diagnostic = match closest_name(&field.text, names.iter().map(String::as_str)) {
                    Some(suggestion) => {
                        diagnostic.with_help(format!("did you mean `{suggestion}`?"))
                    }
                    None => diagnostic.with_help(format!(
                        "the fields of `{record_name}` are {}",
                        names.join(", ")
                    )),
                };
                self.fail(diagnostic)
            }
        }
    }

    fn no_fields(&mut self, ty: &Type, field: &Name, _span: Span) -> Typed {
        let shown = self.show(ty);
        let mut diagnostic = Diagnostic::error(
            Code::TypeNoFields,
            format!("a value of type {shown} has no field `{}`", field.text),
            field.span,
            "no such field",
        );
        if matches!(ty, Type::List(_)) {
            diagnostic = diagnostic.with_help(format!(
                "a list has no fields; use an aggregate such as `map(x in list => x.{})`",
                field.text
            ));
        }
        self.fail(diagnostic)
    }

    fn binary(
        &mut self,
        operator: BinaryOperator,
        left: &ast::Expr,
        right: &ast::Expr,
        span: Span,
    ) -> Typed {
        // A bare enum variant on the left takes its type from the right.
        let left_is_bare_name = matches!(&left.kind, ExprKind::Name(n) if self.is_unbound(n));
        let (left_lowered, left_ty, right_lowered, right_ty) = if left_is_bare_name {
            let (right_lowered, right_ty) = self.expr(right, None);
            let hint = right_ty.clone().map(|t| match (operator, t) {
                (BinaryOperator::In | BinaryOperator::NotIn, Type::List(element)) => *element,
                (_, other) => other,
            });
            let (left_lowered, left_ty) = self.expr(left, hint.as_ref());
            (left_lowered, left_ty, right_lowered, right_ty)
        } else {
            let (left_lowered, left_ty) = self.expr(left, None);
            let hint = left_ty.clone().map(|t| match operator {
                BinaryOperator::In | BinaryOperator::NotIn => {
                    Type::List(Box::new(strip_optional(&t).clone()))
                }
                _ => strip_optional(&t).clone(),
            });
            let (right_lowered, right_ty) = self.expr(right, hint.as_ref());
            (left_lowered, left_ty, right_lowered, right_ty)
        };
        let (Some(left_ty), Some(right_ty)) = (left_ty, right_ty) else {
            return (error_value(), None);
        };
        let symbol = operator.symbol();
        match operator {
            BinaryOperator::Add
            | BinaryOperator::Sub
            | BinaryOperator::Mul
            | BinaryOperator::Div => self.arithmetic(
                operator,
                left_lowered,
                &left_ty,
                right_lowered,
                &right_ty,
                span,
                left.span,
                right.span,
            ),
            BinaryOperator::In | BinaryOperator::NotIn => {
                let op = if operator == BinaryOperator::In {
                    BinaryOp::In
                } else {
                    BinaryOp::NotIn
                };
                let Type::List(element) = &right_ty else {
                    let shown = self.show(&right_ty);
                    return self.error(
                        Code::TypeMismatch,
                        format!("the right side of `{symbol}` must be a list, but this is {shown}"),
                        right.span,
                        "not a list",
                    );
                };
                if unify(strip_optional(&left_ty), element).is_none() {
                    let (a, b) = (self.show(&left_ty), self.show(element));
                    return self.error(
                        Code::TypeMismatch,
                        format!("cannot look for a value of type {a} in a list of {b}"),
                        span,
                        "types differ",
                    );
                }
                (
                    Expr::Binary(op, Box::new(left_lowered), Box::new(right_lowered)),
                    Some(Type::Bool),
                )
            }
            _ => {
                let equality = matches!(operator, BinaryOperator::Eq | BinaryOperator::Ne);
                let op = match operator {
                    BinaryOperator::Eq => BinaryOp::Eq,
                    BinaryOperator::Ne => BinaryOp::Ne,
                    BinaryOperator::Lt => BinaryOp::Lt,
                    BinaryOperator::Le => BinaryOp::Le,
                    BinaryOperator::Gt => BinaryOp::Gt,
                    _ => BinaryOp::Ge,
                };
                let (left_base, right_base) = (strip_optional(&left_ty), strip_optional(&right_ty));
                let either_optional =
                    matches!(left_ty, Type::Optional(_)) || matches!(right_ty, Type::Optional(_));
                if either_optional && !equality {
                    let shown = self.show(if matches!(left_ty, Type::Optional(_)) {
                        &left_ty
                    } else {
                        &right_ty
                    });
                    return self.fail(
                        Diagnostic::error(
                            Code::TypeOptionalCompare,
                            format!("cannot order a value of type {shown}: it may be absent"),
                            span,
                            "may be absent",
                        )
                        .with_help("give a default with `??`, or `match` on `some x` / `none`"),
                    );
                }
                let (left_lowered, right_lowered) = match (left_base, right_base) {
                    (Type::Integer, Type::Decimal) => (to_decimal(left_lowered), right_lowered),
                    (Type::Decimal, Type::Integer) => (left_lowered, to_decimal(right_lowered)),
                    (a, b) if unify(a, b).is_some() => (left_lowered, right_lowered),
                    (a, b) => {
                        let (shown_a, shown_b) = (self.show(a), self.show(b));
                        let mut diagnostic = Diagnostic::error(
                            Code::TypeMismatch,
                            format!("cannot compare {shown_a} with {shown_b}"),
                            span,
                            format!("{shown_a} {symbol} {shown_b}"),
                        );
                        if let Some(help) = conversion_help(b, a).or_else(|| conversion_help(a, b))
                        {
                            diagnostic = diagnostic.with_help(help);
                        }
                        return self.fail(diagnostic);
                    }
                };
                let ordered = matches!(
                    left_base,
                    Type::Integer
                        | Type::Decimal
                        | Type::Money
                        | Type::Date
                        | Type::Month
                        | Type::Quarter
                        | Type::Text
                        | Type::Enum(_)
                );
                if !equality && !ordered {
                    let shown = self.show(left_base);
                    return self.error(
                        Code::TypeNotOrdered,
                        format!("values of type {shown} have no order for `{symbol}`"),
                        span,
                        "no order",
                    );
                }
                (
                    Expr::Binary(op, Box::new(left_lowered), Box::new(right_lowered)),
                    Some(Type::Bool),
                )
            }
        }
    }

    fn is_unbound(&self, name: &str) -> bool {
        !self.locals.iter().any(|l| l.name == name)
            && !self.symbols.values.contains_key(name)
            && name != "as_of"
    }

    #[allow(clippy::too_many_arguments)]
    fn arithmetic(
        &mut self,
        operator: BinaryOperator,
        left: Expr,
        left_ty: &Type,
        right: Expr,
        right_ty: &Type,
        span: Span,
        left_span: Span,
        right_span: Span,
    ) -> Typed {
        use BinaryOperator::*;
        use Type::*;
        let symbol = operator.symbol();
        let decimal_op = match operator {
            Add => BinaryOp::AddDecimal,
            Sub => BinaryOp::SubDecimal,
            Mul => BinaryOp::MulDecimal,
            _ => BinaryOp::DivDecimal,
        };
        let build = |op: BinaryOp, a: Expr, b: Expr| Expr::Binary(op, Box::new(a), Box::new(b));
        let result = match (left_ty, right_ty) {
            (Integer, Integer) => {
                let op = match operator {
                    Add => BinaryOp::AddInteger,
                    Sub => BinaryOp::SubInteger,
                    Mul => BinaryOp::MulInteger,
                    _ => BinaryOp::DivInteger,
                };
                let ty = if operator == Div { Decimal } else { Integer };
                Some((build(op, left, right), ty))
            }
            (Decimal, Decimal) => Some((build(decimal_op, left, right), Decimal)),
            (Integer, Decimal) => Some((build(decimal_op, to_decimal(left), right), Decimal)),
            (Decimal, Integer) => Some((build(decimal_op, left, to_decimal(right)), Decimal)),
            (Money, Money) => match operator {
                Add | Sub => Some((build(decimal_op, left, right), Money)),
                Div => Some((build(decimal_op, left, right), Decimal)),
                _ => None,
            },
            (Money, Decimal) if matches!(operator, Mul | Div) => {
                Some((build(decimal_op, left, right), Money))
            }
            (Money, Integer) if matches!(operator, Mul | Div) => {
                Some((build(decimal_op, left, to_decimal(right)), Money))
            }
            (Decimal, Money) if operator == Mul => Some((build(decimal_op, left, right), Money)),
            (Integer, Money) if operator == Mul => {
                Some((build(decimal_op, to_decimal(left), right), Money))
            }
            _ => None,
        };
        match result {
            Some((lowered, ty)) => (lowered, Some(ty)),
            None => {
                let (a, b) = (self.show(left_ty), self.show(right_ty));
                let mut diagnostic = Diagnostic::error(
                    Code::TypeArithmetic,
                    format!("cannot compute {a} {symbol} {b}"),
                    span,
                    format!("{a} {symbol} {b}"),
                )
                .with_label(left_span, a.clone())
                .with_label(right_span, b.clone());
                let help = match (left_ty, right_ty) {
                    (Date, _) | (_, Date) => Some("dates are moved with `add_days`, `add_months` or `add_years`".to_string()),
                    (Money, Integer | Decimal) | (Integer | Decimal, Money) if matches!(operator, Add | Sub) => Some(
                        "Money is added to Money: write the number as Money (`100 ₸`, or `money(x)`)".to_string(),
                    ),
                    (Money, Money) if operator == Mul => Some("multiply Money by a number, not by Money".to_string()),
                    _ => None,
                };
                if let Some(help) = help {
                    diagnostic = diagnostic.with_help(help);
                }
                self.fail(diagnostic)
            }
        }
    }

    fn list_operand(&mut self, list: &ast::Expr) -> Option<(Expr, Type)> {
        let (lowered, ty) = self.expr(list, None);
        match ty {
            Some(Type::List(element)) => Some((lowered, *element)),
            Some(other) => {
                let shown = self.show(&other);
                self.diagnostics.push(Diagnostic::error(
                    Code::TypeMismatch,
                    format!("expected a list to go over, but this is {shown}"),
                    list.span,
                    "not a list",
                ));
                None
            }
            None => None,
        }
    }

    fn aggregate(
        &mut self,
        function: &Name,
        var: &Name,
        list: &ast::Expr,
        filter: Option<&ast::Expr>,
        body: Option<&ast::Expr>,
        span: Span,
    ) -> Typed {
        let Some((list_lowered, element)) = self.list_operand(list) else {
            return (error_value(), None);
        };
        let slot = self.push_local(&var.text, element.clone());
        let filter_lowered = filter.map(|f| Box::new(self.check_bool(f, "a `where` condition")));
        let body_typed = body.map(|b| (self.expr(b, None), b.span));
        self.pop_local();
        let body_ty = match &body_typed {
            Some(((_, ty), _)) => ty.clone(),
            None => Some(element.clone()),
        };
        let Some(body_ty) = body_ty else {
            return (error_value(), None);
        };
        let body_span = body_typed.as_ref().map(|(_, s)| *s).unwrap_or(span);
        let body_lowered = body_typed.map(|((lowered, _), _)| Box::new(lowered));
        let name = function.text.as_str();
        let (kind, ty) = match name {
            "sum" => match &body_ty {
                Type::Integer => (AggregateKind::SumInteger, Type::Integer),
                Type::Decimal | Type::Money => (AggregateKind::SumDecimal, body_ty.clone()),
                other => {
                    let shown = self.show(other);
                    return self.error(
                        Code::TypeMismatch,
                        format!("`sum` adds numbers, but the values are {shown}"),
                        body_span,
                        "not a number",
                    );
                }
            },
            "count" => {
                if body_lowered.is_some() {
                    return self.error(
                        Code::SyntaxError,
                        "`count` takes a condition with `where`, not a value with `=>`".into(),
                        body_span,
                        "write `where …`",
                    );
                }
                (AggregateKind::Count, Type::Integer)
            }
            "any" | "all" => {
                if body_lowered.is_some() && body_ty != Type::Bool {
                    let shown = self.show(&body_ty);
                    return self.error(
                        Code::TypeMismatch,
                        format!("`{name}` needs a condition (Bool), but this is {shown}"),
                        body_span,
                        "not a Bool",
                    );
                }
                if body_lowered.is_none() && filter_lowered.is_none() {
                    return self.error(
                        Code::SyntaxError,
                        format!("`{name}` needs a condition: `{name}(x in list where …)`"),
                        span,
                        "no condition",
                    );
                }
                let kind = if name == "any" {
                    AggregateKind::Any
                } else {
                    AggregateKind::All
                };
                (kind, Type::Bool)
            }
            "filter" => (AggregateKind::Filter, Type::List(Box::new(element.clone()))),
            "map" => (AggregateKind::Map, Type::List(Box::new(body_ty.clone()))),
            "flat_map" => match &body_ty {
                Type::List(inner) => (AggregateKind::FlatMap, Type::List(inner.clone())),
                other => {
                    let shown = self.show(other);
                    return self.error(
                        Code::TypeMismatch,
                        format!("`flat_map` joins lists, but the values are {shown}"),
                        body_span,
                        "not a list",
                    );
                }
            },
            "min" | "max" => {
                let ordered = matches!(
                    body_ty,
                    Type::Integer
                        | Type::Decimal
                        | Type::Money
                        | Type::Date
                        | Type::Month
                        | Type::Quarter
                        | Type::Text
                );
                if !ordered {
                    let shown = self.show(&body_ty);
                    return self.error(
                        Code::TypeNotOrdered,
                        format!("`{name}` needs ordered values, but these are {shown}"),
                        body_span,
                        "no order",
                    );
                }
                let kind = if name == "min" {
                    AggregateKind::Min
                } else {
                    AggregateKind::Max
                };
                (kind, optional_of(body_ty.clone()))
            }
            _ => {
                return self.error(
                    Code::NameUnknown,
                    format!("unknown aggregate `{name}`"),
                    function.span,
                    "unknown",
                )
            }
        };
        (
            Expr::Aggregate {
                kind,
                var: slot,
                list: Box::new(list_lowered),
                filter: filter_lowered,
                body: body_lowered,
            },
            Some(ty),
        )
    }

    fn match_expr(
        &mut self,
        scrutinee: &ast::Expr,
        arms: &[ast::MatchArmDecl],
        span: Span,
        expected: Option<&Type>,
    ) -> Typed {
        let (scrutinee_lowered, scrutinee_ty) = self.expr(scrutinee, None);
        let Some(scrutinee_ty) = scrutinee_ty else {
            return (error_value(), None);
        };
        let mut lowered_arms = Vec::with_capacity(arms.len());
        let mut result: Option<Type> = Some(Type::Never);
        let mut covered_variants: BTreeSet<u32> = BTreeSet::new();
        let (mut has_some, mut has_none, mut has_wildcard) = (false, false, false);
        // A pattern already reported as wrong must not also make the match "not exhaustive".
        let mut pattern_failed = false;
        for arm in arms {
            if has_wildcard {
                self.diagnostics.push(Diagnostic::warning(
                    Code::MatchUnreachable,
                    "this arm can never be reached: an earlier `_` takes every value".to_string(),
                    pattern_span(&arm.pattern),
                    "unreachable",
                ));
            }
            let mut bind = None;
            let pattern = match (&arm.pattern, &scrutinee_ty) {
                (PatternDecl::Wildcard(_), _) => {
                    has_wildcard = true;
                    Pattern::Wildcard
                }
                (PatternDecl::Some(name, _), Type::Optional(inner)) => {
                    has_some = true;
                    bind = Some(self.push_local(&name.text, (**inner).clone()));
                    Pattern::Some
                }
                (PatternDecl::None(_), Type::Optional(_)) => {
                    has_none = true;
                    Pattern::None
                }
                (PatternDecl::Variant(qualifier, variant), Type::Enum(id)) => {
                    let Some(enumeration) = self.types.enumeration(*id) else {
                        return (error_value(), None);
                    };
                    if let Some(qualifier) = qualifier {
                        if qualifier.text != enumeration.name {
                            let name = enumeration.name.clone();
                            self.diagnostics.push(Diagnostic::error(
                                Code::TypeMismatch,
                                format!("the value matched is {name}, not {}", qualifier.text),
                                qualifier.span,
                                "another enum",
                            ));
                        }
                    }
                    match enumeration
                        .variants
                        .iter()
                        .position(|v| v.name == variant.text)
                    {
                        Some(index) => {
                            covered_variants.insert(index as u32);
                            Pattern::Variant(index as u32)
                        }
                        None => {
                            let names: Vec<&str> = enumeration
                                .variants
                                .iter()
                                .map(|v| v.name.as_str())
                                .collect();
                            let name = enumeration.name.clone();
                            let mut diagnostic = Diagnostic::error(
                                Code::NameUnknownVariant,
                                format!("`{}` is not a variant of {name}", variant.text),
                                variant.span,
                                "no such variant",
                            );
                            diagnostic = match closest_name(&variant.text, names.iter().copied()) {
                                Some(s) => diagnostic.with_help(format!("did you mean `{s}`?")),
                                None => diagnostic
                                    .with_help(format!("the variants are {}", names.join(", "))),
                            };
                            self.diagnostics.push(diagnostic);
                            pattern_failed = true;
                            Pattern::Wildcard
                        }
                    }
                }
                (PatternDecl::Literal(literal), ty) => {
                    match crate::types::literal_value(self.types, literal, ty) {
                        Ok(value) => Pattern::Literal(value),
                        Err(diagnostic) => {
                            self.diagnostics.push(diagnostic);
                            pattern_failed = true;
                            Pattern::Wildcard
                        }
                    }
                }
                (pattern, ty) => {
                    let shown = self.show(ty);
                    let help = match ty {
                        Type::Optional(_) => "match an optional value with `some x` and `none`",
                        Type::Enum(_) => "match an enum value with its variants' names",
                        _ => "match this value with literal patterns and `_`",
                    };
                    self.diagnostics.push(
                        Diagnostic::error(
                            Code::TypeBadPattern,
                            format!("this pattern cannot match a value of type {shown}"),
                            pattern_span(pattern),
                            "wrong kind of pattern",
                        )
                        .with_help(help),
                    );
                    pattern_failed = true;
                    // `some x` on a value that is never absent still binds `x`, so that the
                    // arm's body does not report `x` as unknown.
                    if let PatternDecl::Some(name, _) = pattern {
                        bind = Some(self.push_local(&name.text, ty.clone()));
                    }
                    Pattern::Wildcard
                }
            };
            let (body_lowered, body_ty) = self.expr(
                &arm.body,
                expected.or(result.as_ref().filter(|t| **t != Type::Never)),
            );
            if bind.is_some() {
                self.pop_local();
            }
            result = match (result, body_ty) {
                (Some(a), Some(b)) => match unify(&a, &b) {
                    Some(t) => Some(t),
                    None => {
                        let (a, b) = (self.show(&a), self.show(&b));
                        self.diagnostics.push(Diagnostic::error(
                            Code::TypeMismatch,
                            format!("the arms of `match` have different types: {a} and {b}"),
                            arm.body.span,
                            format!("this is {b}"),
                        ));
                        None
                    }
                },
                _ => None,
            };
            lowered_arms.push(MatchArm {
                pattern,
                bind,
                body: body_lowered,
            });
        }
        if !has_wildcard && !pattern_failed {
            let missing: Vec<String> = match &scrutinee_ty {
                Type::Optional(_) => {
                    let mut missing = Vec::new();
                    if !has_some {
                        missing.push("some _".to_string());
                    }
                    if !has_none {
                        missing.push("none".to_string());
                    }
                    missing
                }
                Type::Enum(id) => self
                    .types
                    .enumeration(*id)
                    .map(|e| {
                        e.variants
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| !covered_variants.contains(&(*i as u32)))
                            .map(|(_, v)| v.name.clone())
                            .collect()
                    })
                    .unwrap_or_default(),
                _ => vec!["_".to_string()],
            };
            if !missing.is_empty() {
                let listed: Vec<String> = missing.iter().map(|m| format!("`{m}`")).collect();
                self.diagnostics.push(
                    Diagnostic::error(
                        Code::MatchNotExhaustive,
                        format!(
                            "this `match` does not cover every value: {} missing",
                            listed.join(", ")
                        ),
                        span,
                        "not exhaustive",
                    )
                    .with_help("add an arm for each missing case, or `_ => …`"),
                );
            }
        }
        (
            Expr::Match {
                scrutinee: Box::new(scrutinee_lowered),
                arms: lowered_arms,
            },
            result,
        )
    }

    /// A name that must denote a declared thing of one kind (a table, a band table, …).
    fn named_thing(
        &mut self,
        argument: Option<&ast::Expr>,
        want: &str,
        matches_kind: fn(ValueKind) -> Option<u32>,
    ) -> Option<(u32, String)> {
        let argument = argument?;
        let ExprKind::Name(name) = &argument.kind else {
            self.diagnostics.push(Diagnostic::error(
                Code::TypeMismatch,
                format!("expected the name of a {want} here"),
                argument.span,
                format!("not a {want}"),
            ));
            return None;
        };
        match self.symbols.values.get(name).cloned() {
            Some(symbol) => match matches_kind(symbol.kind) {
                Some(id) => {
                    self.visible_or_report(name, symbol.module, argument.span);
                    self.uses.insert(name.clone());
                    Some((id, name.clone()))
                }
                None => {
                    let word = symbol.kind.word();
                    self.diagnostics.push(Diagnostic::error(
                        Code::TypeMismatch,
                        format!("`{name}` is a {word}, not a {want}"),
                        argument.span,
                        format!("a {word}"),
                    ));
                    None
                }
            },
            None => {
                let candidates: Vec<&str> = self
                    .symbols
                    .values
                    .iter()
                    .filter(|(_, s)| matches_kind(s.kind).is_some())
                    .map(|(n, _)| n.as_str())
                    .collect();
                let mut diagnostic = Diagnostic::error(
                    Code::NameUnknown,
                    format!("unknown {want} `{name}`"),
                    argument.span,
                    "not declared anywhere",
                );
                if let Some(suggestion) = closest_name(name, candidates) {
                    diagnostic = diagnostic.with_help(format!("did you mean `{suggestion}`?"));
                }
                self.diagnostics.push(diagnostic);
                None
            }
        }
    }

    fn call(
        &mut self,
        name: &Name,
        arguments: &[ast::Expr],
        span: Span,
        expected: Option<&Type>,
    ) -> Typed {
        let _ = expected;
        if let Some(symbol) = self.symbols.values.get(&name.text).cloned() {
            if let ValueKind::Function(id) = symbol.kind {
                self.visible_or_report(&name.text, symbol.module, name.span);
                self.uses.insert(name.text.clone());
                let Some((ty, params)) = self.value_type(&name.text) else {
                    for argument in arguments {
                        self.expr(argument, None);
                    }
                    return (error_value(), None);
                };
                if params.len() != arguments.len() {
                    return self.error(
                        Code::TypeArity,
                        format!(
                            "`{}` takes {}, but {}",
                            name.text,
                            count_of(params.len(), "argument"),
                            given(arguments.len())
                        ),
                        span,
                        "wrong number of arguments",
                    );
                }
                let mut lowered = Vec::with_capacity(arguments.len());
                for (index, (argument, param)) in arguments.iter().zip(&params).enumerate() {
                    lowered.push(self.check_against(
                        argument,
                        param,
                        &format!("argument {} of `{}`", index + 1, name.text),
                    ));
                }
                return (Expr::Call(id, lowered), Some(ty));
            }
        }
        builtins::call_builtin(self, name, arguments, span)
    }

    // Small helpers used by the built-in functions.

    pub fn arg(&mut self, arguments: &[ast::Expr], index: usize, expected: Option<&Type>) -> Typed {
        match arguments.get(index) {
            Some(argument) => self.expr(argument, expected),
            None => (error_value(), None),
        }
    }

    pub fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// An argument that must name a declared thing of one kind (`lookup(TABLE, …)`).
    pub fn named_arg(
        &mut self,
        argument: Option<&ast::Expr>,
        kind: NamedKind,
    ) -> Option<(u32, String)> {
        let (word, matches): (&str, fn(ValueKind) -> Option<u32>) = match kind {
            NamedKind::Table => ("table", |k| match k {
                ValueKind::Table(id) => Some(id),
                _ => None,
            }),
            NamedKind::Bands => ("band table", |k| match k {
                ValueKind::Bands(id) => Some(id),
                _ => None,
            }),
            NamedKind::Group => ("group", |k| match k {
                ValueKind::Group(id) => Some(id),
                _ => None,
            }),
            NamedKind::Calendar => ("calendar", |k| match k {
                ValueKind::Calendar(id) => Some(id),
                _ => None,
            }),
            NamedKind::Param => ("parameter", |k| match k {
                ValueKind::Param(id) => Some(id),
                _ => None,
            }),
        };
        self.named_thing(argument, word, matches)
    }

    pub fn item_arg(&mut self, argument: Option<&ast::Expr>) -> Option<(u32, String)> {
        let argument = argument?;
        if let ExprKind::RuleRef(id) = &argument.kind {
            let renamed = ast::Expr {
                kind: ExprKind::Name(id.clone()),
                span: argument.span,
            };
            return self.named_thing(Some(&renamed), "definition or rule", |k| match k {
                ValueKind::Definition(id) | ValueKind::Rule(id) => Some(id),
                _ => None,
            });
        }
        self.named_thing(Some(argument), "definition or rule", |k| match k {
            ValueKind::Definition(id) | ValueKind::Rule(id) => Some(id),
            _ => None,
        })
    }

    /// The signature type of a named value (the group's element type, the bands' result type).
    pub fn signature_of(&mut self, name: &str) -> Option<(Type, Vec<Type>)> {
        self.value_type(name)
    }

    pub fn rounding_mode(
        &mut self,
        argument: Option<&ast::Expr>,
        span: Span,
    ) -> Option<RoundingMode> {
        let Some(argument) = argument else {
            self.report(
                Diagnostic::error(
                    Code::RoundingUnnamed,
                    "`round` needs a rounding strategy",
                    span,
                    "no strategy",
                )
                .with_help("write `round(x, places, half_up)` (or `half_even`, `down`, `up`)"),
            );
            return None;
        };
        let mode = match &argument.kind {
            ExprKind::Name(name) => match name.as_str() {
                "half_up" => Some(RoundingMode::HalfUp),
                "half_even" => Some(RoundingMode::HalfEven),
                "down" => Some(RoundingMode::Down),
                "up" => Some(RoundingMode::Up),
                _ => None,
            },
            _ => None,
        };
        if mode.is_none() {
            self.report(
                Diagnostic::error(
                    Code::RoundingUnknown,
                    "unknown rounding strategy",
                    argument.span,
                    "not a strategy",
                )
                .with_help("the strategies are `half_up`, `half_even`, `down` and `up`"),
            );
        }
        mode
    }
}

fn pattern_span(pattern: &PatternDecl) -> Span {
    match pattern {
        PatternDecl::Some(_, span) => *span,
        PatternDecl::None(span) | PatternDecl::Wildcard(span) => *span,
        PatternDecl::Literal(literal) => literal.span,
        PatternDecl::Variant(_, name) => name.span,
    }
}

/// The kinds of declared things a built-in function takes by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedKind {
    Table,
    Bands,
    Group,
    Calendar,
    Param,
}

pub fn to_decimal(expr: Expr) -> Expr {
    match expr {
        Expr::Const(Value::Integer(value)) => Expr::Const(Value::Decimal(value.into())),
        other => Expr::Unary(UnaryOp::IntegerToDecimal, Box::new(other)),
    }
}

fn conversion_help(actual: &Type, expected: &Type) -> Option<String> {
    match (actual, expected) {
        (Type::Integer | Type::Decimal, Type::Money) => {
            Some("a number is not Money: write `100 ₸`, or convert with `money(x)`".to_string())
        }
        (Type::Money, Type::Integer | Type::Decimal) => {
            Some("Money is not a plain number: convert with `decimal(x)`, or compare with Money (`100 ₸`)".to_string())
        }
        (Type::Optional(inner), other) if inner.as_ref() == other => {
            Some("the value may be absent: give a default with `??` or `match` on `some x` / `none`".to_string())
        }
        (Type::Decimal, Type::Integer) => Some("round it to an Integer is not automatic; compare as Decimal".to_string()),
        _ => None,
    }
}

fn conversion_help_names(a: &str, b: &str) -> Option<String> {
    if (a == "Money" && (b == "Integer" || b == "Decimal"))
        || (b == "Money" && (a == "Integer" || a == "Decimal"))
    {
        Some("write Money constants with `₸` (`0 ₸`), or convert with `money(x)`".to_string())
    } else {
        None
    }
}

/// "1 argument", "3 arguments".
pub fn count_of(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// "1 is given", "3 are given".
pub fn given(count: usize) -> String {
    if count == 1 {
        "1 is given".to_string()
    } else {
        format!("{count} are given")
    }
}
