//! Types: resolving written types, the record and enum definitions of a policy set, and turning
//! written constants into values of a known type.

use crate::codes::Code;
use std::sync::Arc;

use ereje_runtime::ir::{
    Constraint, EnumDef, FieldDef, JsonLiteral, RecordDef, Type, TypeDef, VariantDef,
};
use ereje_runtime::value::{Record, Value};
use rust_decimal::Decimal;

use crate::ast::{self, FieldCheck, Item, Literal, LiteralKind, Span, TypeRef, VariantJson};
use crate::db::{Db, ItemKey, PolicySet};
use crate::diagnostic::{closest_name, Diagnostic};
use crate::symbols::{builtin_type, symbols, ItemRef, Symbols, TypeKind};
use crate::syntax::item_ast;

const BUILTIN_TYPE_NAMES: &[&str] = &[
    "Bool", "Integer", "Decimal", "Money", "Date", "Month", "Quarter", "Text", "List", "Map",
];

pub fn resolve_type(symbols: &Symbols, written: &TypeRef) -> Result<Type, Diagnostic> {
    match written {
        TypeRef::Named(name) => {
            if let Some(ty) = builtin_type(&name.text) {
                return Ok(ty);
            }
            if let Some(symbol) = symbols.types.get(&name.text) {
                return Ok(match symbol.kind {
                    TypeKind::Enum => Type::Enum(symbol.id),
                    TypeKind::Record | TypeKind::TableRow => Type::Record(symbol.id),
                });
            }
            let candidates = BUILTIN_TYPE_NAMES
                .iter()
                .copied()
                .chain(symbols.types.keys().map(String::as_str));
            let mut diagnostic = Diagnostic::error(
                Code::NameUnknownType,
                format!("unknown type `{}`", name.text),
                name.span,
                "no type of this name",
            );
            if let Some(suggestion) = closest_name(&name.text, candidates) {
                diagnostic = diagnostic.with_help(format!("did you mean `{suggestion}`?"));
            }
            Err(diagnostic)
        }
        TypeRef::List(element, _) => Ok(Type::List(Box::new(resolve_type(symbols, element)?))),
        TypeRef::Map(element, _) => Ok(Type::Map(Box::new(resolve_type(symbols, element)?))),
        TypeRef::Object(fields, _) => {
            let mut resolved: Vec<(String, Type)> = Vec::with_capacity(fields.len());
            for (name, written) in fields {
                if resolved.iter().any(|(existing, _)| existing == &name.text) {
                    return Err(Diagnostic::error(
                        Code::NameDuplicate,
                        format!("key `{}` appears twice", name.text),
                        name.span,
                        "again here",
                    ));
                }
                resolved.push((name.text.clone(), resolve_type(symbols, written)?));
            }
            Ok(Type::Object(resolved))
        }
        TypeRef::Optional(inner, span) => {
            let inner = resolve_type(symbols, inner)?;
            if matches!(inner, Type::Optional(_)) {
                return Err(Diagnostic::error(
                    Code::TypeNestedOptional,
                    "a type cannot be optional twice",
                    *span,
                    "`??`",
                ));
            }
            Ok(Type::Optional(Box::new(inner)))
        }
    }
}

/// The record and enum definitions of a policy set, indexed by `TypeId`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TypeTable {
    pub defs: Vec<TypeDef>,
    pub diagnostics: Vec<(ItemRef, Diagnostic)>,
}

impl TypeTable {
    pub fn record(&self, id: u32) -> Option<&RecordDef> {
        match self.defs.get(id as usize) {
            Some(TypeDef::Record(record)) => Some(record),
            _ => None,
        }
    }

    pub fn enumeration(&self, id: u32) -> Option<&EnumDef> {
        match self.defs.get(id as usize) {
            Some(TypeDef::Enum(enumeration)) => Some(enumeration),
            _ => None,
        }
    }

    /// How a type is written in messages.
    pub fn display(&self, ty: &Type) -> String {
        match ty {
            Type::Bool => "Bool".into(),
            Type::Integer => "Integer".into(),
            Type::Decimal => "Decimal".into(),
            Type::Money => "Money".into(),
            Type::Date => "Date".into(),
            Type::Month => "Month".into(),
            Type::Quarter => "Quarter".into(),
            Type::Text => "Text".into(),
            Type::RuleId => "RuleId".into(),
            Type::Enum(id) => self
                .enumeration(*id)
                .map(|e| e.name.clone())
                .unwrap_or_else(|| "enum".into()),
            Type::Record(id) => self
                .record(*id)
                .map(|r| r.name.clone())
                .unwrap_or_else(|| "record".into()),
            Type::List(element) => format!("List<{}>", self.display(element)),
            Type::Optional(inner) => format!("{}?", self.display(inner)),
            Type::Map(element) => format!("Map<{}>", self.display(element)),
            Type::Object(fields) => {
                let names: Vec<String> = fields
                    .iter()
                    .map(|(name, ty)| format!("{name}: {}", self.display(ty)))
                    .collect();
                format!("{{ {} }}", names.join(", "))
            }
            Type::Never => "nothing".into(),
        }
    }
}

#[salsa::tracked(returns(ref))]
pub fn type_table(db: &dyn Db, set: PolicySet) -> TypeTable {
    db.record_execution("type_table".to_string());
    let symbols = symbols(db, set);
    let mut table = TypeTable::default();
    // First the shapes, so that constants can name enum variants of any type.
    for (item_ref, kind) in &symbols.type_items {
        let Some(item) = item_ref
            .key(db, set)
            .and_then(|key| item_ast(db, key).clone())
        else {
            table.defs.push(TypeDef::Record(RecordDef {
                name: item_ref.name.clone(),
                fields: Vec::new(),
            }));
            continue;
        };
        match (kind, &item) {
            (TypeKind::Enum, Item::Enum(enumeration)) => {
                let mut variants: Vec<VariantDef> = Vec::new();
                for variant in &enumeration.variants {
                    if variants.iter().any(|v| v.name == variant.name.text) {
                        table.diagnostics.push((
                            item_ref.clone(),
                            Diagnostic::error(
                                Code::NameDuplicate,
                                format!("variant `{}` is declared twice", variant.name.text),
                                variant.name.span,
                                "again here",
                            ),
                        ));
                        continue;
                    }
                    let json = match &variant.json {
                        Some(VariantJson::Text(text)) => JsonLiteral::Text(text.clone()),
                        Some(VariantJson::Integer(number)) => JsonLiteral::Integer(*number),
                        None => JsonLiteral::Text(variant.name.text.clone()),
                    };
                    variants.push(VariantDef {
                        name: variant.name.text.clone(),
                        json,
                    });
                }
                table.defs.push(TypeDef::Enum(EnumDef {
                    name: enumeration.name.text.clone(),
                    variants,
                }));
            }
            _ => table.defs.push(TypeDef::Record(RecordDef {
                name: item_ref.name.clone(),
                fields: Vec::new(),
            })),
        }
    }
    // Then the fields, whose types and defaults may name any type.
    let mut pending_unique = Vec::new();
    for (index, (item_ref, kind)) in symbols.type_items.iter().enumerate() {
        let Some(item) = item_ref
            .key(db, set)
            .and_then(|key| item_ast(db, key).clone())
        else {
            continue;
        };
        let fields = match (kind, &item) {
            (TypeKind::Record, Item::Record(record)) => {
                let mut fields: Vec<FieldDef> = Vec::new();
                for field in &record.fields {
                    if fields.iter().any(|f| f.name == field.name.text) {
                        table.diagnostics.push((
                            item_ref.clone(),
                            Diagnostic::error(
                                Code::NameDuplicate,
                                format!("field `{}` is declared twice", field.name.text),
                                field.name.span,
                                "again here",
                            ),
                        ));
                        continue;
                    }
                    let ty = match resolve_type(symbols, &field.ty) {
                        Ok(ty) => ty,
                        Err(diagnostic) => {
                            table.diagnostics.push((item_ref.clone(), diagnostic));
                            continue;
                        }
                    };
                    let optional = matches!(ty, Type::Optional(_));
                    let mut default = None;
                    let mut field_ty = ty.clone();
                    if let Some(literal) = &field.default {
                        let target = match &ty {
                            Type::Optional(inner) => (**inner).clone(),
                            other => other.clone(),
                        };
                        match literal_value(&table, literal, &target) {
                            Ok(value) => {
                                default = Some(value);
                                field_ty = target;
                            }
                            Err(diagnostic) => {
                                table.diagnostics.push((item_ref.clone(), diagnostic))
                            }
                        }
                    }
                    let (constraints, mut problems, unique) =
                        field_constraints(&table, field, &field_ty, item_ref);
                    table.diagnostics.append(&mut problems);
                    if let Some(unique) = unique {
                        pending_unique.push((index, fields.len(), unique, item_ref.clone()));
                    }
                    fields.push(FieldDef {
                        name: field.name.text.clone(),
                        required: !optional && default.is_none(),
                        ty: field_ty,
                        default,
                        constraints,
                    });
                }
                fields
            }
            (TypeKind::TableRow, Item::Table(table_item)) => {
                let mut fields = Vec::new();
                for (name, written) in &table_item.columns {
                    match resolve_type(symbols, written) {
                        Ok(ty) => fields.push(FieldDef {
                            name: name.text.clone(),
                            required: !matches!(ty, Type::Optional(_)),
                            ty,
                            default: None,
                            constraints: Vec::new(),
                        }),
                        Err(diagnostic) => table.diagnostics.push((item_ref.clone(), diagnostic)),
                    }
                }
                fields
            }
            _ => continue,
        };
        if let Some(TypeDef::Record(record)) = table.defs.get_mut(index) {
            record.fields = fields;
        }
    }
    // Last, `unique` checks, which name a field of another record.
    for (record_index, field_index, (element_id, name), item_ref) in pending_unique {
        let position = table
            .record(element_id)
            .and_then(|record| record.fields.iter().position(|f| f.name == name.text));
        match position {
            Some(position) => {
                if let Some(TypeDef::Record(record)) = table.defs.get_mut(record_index) {
                    if let Some(field) = record.fields.get_mut(field_index) {
                        field
                            .constraints
                            .push(Constraint::UniqueBy(position as u32));
                    }
                }
            }
            None => {
                let element_name = table
                    .record(element_id)
                    .map(|r| r.name.clone())
                    .unwrap_or_default();
                table.diagnostics.push((
                    item_ref,
                    Diagnostic::error(
                        Code::NameUnknownField,
                        format!("record `{element_name}` has no field `{}`", name.text),
                        name.span,
                        "no such field",
                    ),
                ));
            }
        }
    }
    table
}

type Problems = Vec<(ItemRef, Diagnostic)>;

/// The checks of a field. A `unique` check names a field of another record, which may not have
/// its fields yet: it is returned apart, as (element record, field name), and resolved last.
fn field_constraints(
    table: &TypeTable,
    field: &crate::ast::FieldDecl,
    ty: &Type,
    item: &ItemRef,
) -> (Vec<Constraint>, Problems, Option<(u32, crate::ast::Name)>) {
    let mut constraints = Vec::new();
    let mut problems = Vec::new();
    let mut unique = None;
    let base = match ty {
        Type::Optional(inner) => inner.as_ref(),
        other => other,
    };
    let numeric = matches!(base, Type::Integer | Type::Decimal | Type::Money);
    for check in &field.checks {
        let wrong = |what: &str, span: Span| {
            Diagnostic::error(
                Code::TypeBadCheck,
                format!(
                    "`{what}` does not apply to a field of type {}",
                    table.display(ty)
                ),
                span,
                "not for this type",
            )
        };
        match check {
            FieldCheck::Min(value, _) if numeric => constraints.push(Constraint::Min(*value)),
            FieldCheck::Max(value, _) if numeric => constraints.push(Constraint::Max(*value)),
            FieldCheck::Min(_, span) => problems.push((item.clone(), wrong("min", *span))),
            FieldCheck::Max(_, span) => problems.push((item.clone(), wrong("max", *span))),
            FieldCheck::Length(low, high, span) => {
                if matches!(base, Type::Text) {
                    constraints.push(Constraint::MinLength(*low));
                    constraints.push(Constraint::MaxLength(*high));
                } else {
                    problems.push((item.clone(), wrong("length", *span)));
                }
            }
            FieldCheck::Items(low, high, span) => {
                if matches!(base, Type::List(_)) {
                    constraints.push(Constraint::MinItems(*low));
                    constraints.push(Constraint::MaxItems(*high));
                } else {
                    problems.push((item.clone(), wrong("items", *span)));
                }
            }
            FieldCheck::Unique(name) => match base {
                Type::List(element) => match element.as_ref() {
                    Type::Record(id) => unique = Some((*id, name.clone())),
                    _ => problems.push((item.clone(), wrong("unique", name.span))),
                },
                _ => problems.push((item.clone(), wrong("unique", name.span))),
            },
        }
    }
    (constraints, problems, unique)
}

/// A written constant as a value of the expected type.
pub fn literal_value(
    table: &TypeTable,
    literal: &Literal,
    expected: &Type,
) -> Result<Value, Diagnostic> {
    let mismatch = |found: &str| {
        Diagnostic::error(
            Code::TypeMismatch,
            format!(
                "expected a value of type {}, found {found}",
                table.display(expected)
            ),
            literal.span,
            format!("this is {found}"),
        )
    };
    match (&literal.kind, expected) {
        (LiteralKind::None, Type::Optional(_)) | (LiteralKind::Invalid, _) => Ok(Value::Absent),
        (_, Type::Optional(inner)) => literal_value(table, literal, inner),
        (LiteralKind::Integer(value), Type::Integer) => Ok(Value::Integer(*value)),
        (LiteralKind::Integer(value), Type::Decimal | Type::Money) => {
            Ok(Value::Decimal(Decimal::from(*value)))
        }
        (LiteralKind::Decimal(value), Type::Decimal) => Ok(Value::Decimal(*value)),
        (LiteralKind::Decimal(value) | LiteralKind::Money(value), Type::Money) => {
            Ok(Value::Decimal(*value))
        }
        (LiteralKind::Date(value), Type::Date) => Ok(Value::Date(*value)),
        (LiteralKind::Month(value), Type::Month) => Ok(Value::Month(*value)),
        (LiteralKind::Quarter(value), Type::Quarter) => Ok(Value::Quarter(*value)),
        (LiteralKind::Text(value), Type::Text | Type::RuleId) => {
            Ok(Value::Text(Arc::from(value.as_str())))
        }
        (LiteralKind::Bool(value), Type::Bool) => Ok(Value::Bool(*value)),
        (LiteralKind::List(items), Type::List(element)) => {
            let mut values = Vec::with_capacity(items.len());
            for item in items {
                values.push(literal_value(table, item, element)?);
            }
            Ok(Value::List(Arc::from(values)))
        }
        (LiteralKind::Name(name), Type::Enum(id)) => {
            let enumeration = table
                .enumeration(*id)
                .ok_or_else(|| mismatch("an unknown enum"))?;
            match enumeration.variants.iter().position(|v| &v.name == name) {
                Some(index) => Ok(Value::Enum(index as u32)),
                None => {
                    let mut diagnostic = Diagnostic::error(
                        Code::NameUnknownVariant,
                        format!("`{name}` is not a variant of {}", enumeration.name),
                        literal.span,
                        "no such variant",
                    );
                    if let Some(suggestion) =
                        closest_name(name, enumeration.variants.iter().map(|v| v.name.as_str()))
                    {
                        diagnostic = diagnostic.with_help(format!("did you mean `{suggestion}`?"));
                    } else {
                        let names: Vec<&str> = enumeration
                            .variants
                            .iter()
                            .map(|v| v.name.as_str())
                            .collect();
                        diagnostic =
                            diagnostic.with_help(format!("the variants are {}", names.join(", ")));
                    }
                    Err(diagnostic)
                }
            }
        }
        (LiteralKind::Text(_), _) => Err(mismatch("Text")),
        (LiteralKind::Integer(_), _) => Err(mismatch("an Integer")),
        (LiteralKind::Decimal(_), _) => Err(mismatch("a Decimal")),
        (LiteralKind::Money(_), _) => Err(mismatch("Money")),
        (LiteralKind::Date(_), _) => Err(mismatch("a Date")),
        (LiteralKind::Month(_), _) => Err(mismatch("a Month")),
        (LiteralKind::Quarter(_), _) => Err(mismatch("a Quarter")),
        (LiteralKind::Bool(_), _) => Err(mismatch("a Bool")),
        (LiteralKind::None, _) => {
            Err(mismatch("`none`").with_help("only an optional type (`T?`) may be `none`"))
        }
        (LiteralKind::List(_), _) => Err(mismatch("a list")),
        (LiteralKind::Name(name), _) => Err(mismatch(&format!("the name `{name}`"))),
    }
}

/// A record value built from constants (table rows).
pub fn record_value(fields: Vec<Value>) -> Value {
    Value::Record(Arc::new(Record {
        path: None,
        fields: fields.into_boxed_slice(),
    }))
}

/// What other items need to know of an item: its type, and its parameters' types (functions),
/// key types (tables) or domain (band tables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub ty: Type,
    pub params: Vec<Type>,
}

#[salsa::tracked(returns(ref))]
pub fn signature<'db>(db: &'db dyn Db, set: PolicySet, key: ItemKey<'db>) -> Option<Signature> {
    let symbols = symbols(db, set);
    let item = item_ast(db, key).as_ref()?;
    let resolve = |written: &ast::TypeRef| resolve_type(symbols, written).ok();
    match item {
        Item::Parameter(parameter) => Some(Signature {
            ty: resolve(&parameter.ty)?,
            params: Vec::new(),
        }),
        Item::Def(def) => {
            let mut params = Vec::new();
            for (_, written) in def.params.iter().flatten() {
                params.push(resolve(written)?);
            }
            Some(Signature {
                ty: resolve(&def.ty)?,
                params,
            })
        }
        Item::Group(group) => Some(Signature {
            ty: resolve(&group.element)?,
            params: Vec::new(),
        }),
        Item::Bands(bands) => Some(Signature {
            ty: resolve(&bands.result)?,
            params: vec![resolve(&bands.domain)?],
        }),
        Item::Table(table) => {
            let row = symbols.types.get(&table.name.text)?.id;
            let mut params = Vec::new();
            for (_, written) in &table.keys {
                params.push(resolve(written)?);
            }
            Some(Signature {
                ty: Type::Record(row),
                params,
            })
        }
        Item::Input(input) => {
            let record = symbols.types.get(&input.record.text)?;
            Some(Signature {
                ty: Type::Record(record.id),
                params: Vec::new(),
            })
        }
        _ => None,
    }
}
