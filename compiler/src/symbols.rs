//! The names of a policy set: which item each name denotes, and the IR index it will get.
//!
//! Built from item names and kinds only (no bodies, no positions), so that an edit inside an item
//! leaves the symbol table equal and salsa reuses everything that depends on it.

use crate::codes::Code;
use std::collections::BTreeMap;

use ereje_runtime::ir::Type;
use ereje_runtime::value::Date;

use crate::ast::{Item, Span};
use crate::db::{Db, ItemKey, PolicySet};
use crate::diagnostic::Diagnostic;

/// An item named without salsa lifetimes: file index, name, rank among same-named items.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemRef {
    pub file: u32,
    pub name: String,
    pub rank: u32,
}

impl ItemRef {
    pub fn key<'db>(&self, db: &'db dyn Db, set: PolicySet) -> Option<ItemKey<'db>> {
        let file = *set.files(db).get(self.file as usize)?;
        Some(ItemKey::new(db, file, self.name.clone(), self.rank))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSymbol {
    pub name: String,
    pub version: String,
    pub in_force_from: Option<Date>,
    pub amends: Option<(String, Date)>,
    pub imports: Vec<String>,
    /// The languages the module's header declares (`languages ru kk en`).
    pub languages: Vec<String>,
    pub file: String,
    /// The module's name in its header (absolute: the header starts the file).
    pub name_span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// A parameter with values by date: `ParamId`.
    Param(u32),
    /// A derived parameter, definition, rule or function: `ItemId`.
    DerivedParam(u32),
    Definition(u32),
    Rule(u32),
    Function(u32),
    Table(u32),
    Calendar(u32),
    Bands(u32),
    Group(u32),
    Output(u32),
    Input,
}

impl ValueKind {
    pub fn item_id(self) -> Option<u32> {
        match self {
            ValueKind::DerivedParam(id)
            | ValueKind::Definition(id)
            | ValueKind::Rule(id)
            | ValueKind::Function(id) => Some(id),
            _ => None,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            ValueKind::Param(_) | ValueKind::DerivedParam(_) => "parameter",
            ValueKind::Definition(_) => "definition",
            ValueKind::Rule(_) => "rule",
            ValueKind::Function(_) => "function",
            ValueKind::Table(_) => "table",
            ValueKind::Calendar(_) => "calendar",
            ValueKind::Bands(_) => "band table",
            ValueKind::Group(_) => "group",
            ValueKind::Output(_) => "output",
            ValueKind::Input => "input",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueSymbol {
    pub kind: ValueKind,
    pub item: ItemRef,
    /// The module (file index) that declares it.
    pub module: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypeKind {
    Record,
    Enum,
    /// The row record of a table, named like the table.
    TableRow,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeSymbol {
    pub id: u32,
    pub kind: TypeKind,
    pub item: ItemRef,
    pub module: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Symbols {
    /// One per file, in manifest order; `None` where the header did not parse.
    pub modules: Vec<Option<ModuleSymbol>>,
    pub values: BTreeMap<String, ValueSymbol>,
    pub types: BTreeMap<String, TypeSymbol>,
    pub type_items: Vec<(ItemRef, TypeKind)>,
    pub items: Vec<ItemRef>,
    pub params: Vec<ItemRef>,
    pub tables: Vec<ItemRef>,
    pub calendars: Vec<ItemRef>,
    pub bands: Vec<ItemRef>,
    pub groups: Vec<ItemRef>,
    pub outputs: Vec<ItemRef>,
    pub extends: Vec<ItemRef>,
    /// `exception … to …` items.
    pub targeted_exceptions: Vec<ItemRef>,
    /// `check` items, in declaration order.
    pub checks: Vec<ItemRef>,
    /// `label` items, in declaration order.
    pub labels: Vec<ItemRef>,
    pub inputs: Vec<ItemRef>,
    /// Every item, for the checks that visit them all.
    pub all_items: Vec<ItemRef>,
    /// Duplicate names, each with the item it is in and an item-relative span.
    pub diagnostics: Vec<(ItemRef, Diagnostic)>,
}

impl Symbols {
    pub fn module_of(&self, file: u32) -> Option<&ModuleSymbol> {
        self.modules.get(file as usize).and_then(|m| m.as_ref())
    }

    /// Whether code in module `from` may use a name declared in module `to`.
    pub fn visible(&self, from: u32, to: u32) -> bool {
        if from == to {
            return true;
        }
        let (Some(from_module), Some(to_module)) = (self.module_of(from), self.module_of(to))
        else {
            return true;
        };
        if from_module
            .imports
            .iter()
            .any(|name| name == &to_module.name)
        {
            return true;
        }
        // An amendment sees everything its amended module sees, and the module itself.
        if let Some((amended, _)) = &from_module.amends {
            if amended == &to_module.name {
                return true;
            }
            if let Some(index) = self
                .modules
                .iter()
                .position(|m| m.as_ref().is_some_and(|m| &m.name == amended))
            {
                if index as u32 != from {
                    return self.visible(index as u32, to);
                }
            }
        }
        false
    }
}

#[salsa::tracked(returns(ref))]
pub fn symbols(db: &dyn Db, set: PolicySet) -> Symbols {
    db.record_execution("symbols".to_string());
    let mut symbols = Symbols::default();
    for (file_index, file) in set.files(db).iter().enumerate() {
        let file_index = file_index as u32;
        let parsed = crate::syntax::parse_file(db, *file);
        symbols.modules.push(parsed.header.as_ref().map(|header| {
            ModuleSymbol {
                name: header.name.text.clone(),
                version: header.version.clone().unwrap_or_default(),
                in_force_from: header.in_force_from,
                amends: header
                    .amends
                    .as_ref()
                    .map(|(name, date)| (name.text.clone(), *date)),
                imports: header
                    .imports
                    .iter()
                    .map(|name| name.text.clone())
                    .collect(),
                languages: header.languages.clone(),
                file: file.path(db).clone(),
                name_span: header.name.span,
            }
        }));
        let mut ranks: BTreeMap<&str, u32> = BTreeMap::new();
        for parsed_item in &parsed.items {
            let item = &parsed_item.item;
            let name = item.name();
            let rank = ranks.entry(name.text.as_str()).or_insert(0);
            let item_ref = ItemRef {
                file: file_index,
                name: name.text.clone(),
                rank: *rank,
            };
            *rank += 1;
            symbols.all_items.push(item_ref.clone());
            let name_span = Span {
                start: name.span.start,
                end: name.span.end,
            };
            let value_kind = match item {
                Item::Record(_) | Item::Enum(_) => {
                    let kind = if matches!(item, Item::Record(_)) {
                        TypeKind::Record
                    } else {
                        TypeKind::Enum
                    };
                    declare_type(&mut symbols, &item_ref, kind, file_index, name_span);
                    None
                }
                Item::Table(_) => {
                    declare_type(
                        &mut symbols,
                        &item_ref,
                        TypeKind::TableRow,
                        file_index,
                        name_span,
                    );
                    Some(push(&mut symbols.tables, &item_ref, ValueKind::Table))
                }
                Item::Input(_) => {
                    symbols.inputs.push(item_ref.clone());
                    Some(ValueKind::Input)
                }
                Item::Parameter(parameter) => Some(match parameter.body {
                    crate::ast::ParameterBody::Values(_) => {
                        push(&mut symbols.params, &item_ref, ValueKind::Param)
                    }
                    crate::ast::ParameterBody::Derived(_) => {
                        push(&mut symbols.items, &item_ref, ValueKind::DerivedParam)
                    }
                }),
                Item::Calendar(_) => {
                    Some(push(&mut symbols.calendars, &item_ref, ValueKind::Calendar))
                }
                Item::Bands(_) => Some(push(&mut symbols.bands, &item_ref, ValueKind::Bands)),
                Item::Def(def) => Some(if def.is_rule {
                    push(&mut symbols.items, &item_ref, ValueKind::Rule)
                } else if def.params.is_some() {
                    push(&mut symbols.items, &item_ref, ValueKind::Function)
                } else {
                    push(&mut symbols.items, &item_ref, ValueKind::Definition)
                }),
                Item::Group(_) => Some(push(&mut symbols.groups, &item_ref, ValueKind::Group)),
                Item::Extend(_) => {
                    symbols.extends.push(item_ref.clone());
                    None
                }
                Item::Output(_) => Some(push(&mut symbols.outputs, &item_ref, ValueKind::Output)),
                Item::Exception(_) => {
                    symbols.targeted_exceptions.push(item_ref.clone());
                    None
                }
                Item::Check(_) => {
                    symbols.checks.push(item_ref.clone());
                    None
                }
                Item::Label(_) => {
                    symbols.labels.push(item_ref.clone());
                    None
                }
            };
            if let Some(kind) = value_kind {
                if let Some(existing) = symbols.values.get(&name.text) {
                    let first = existing.clone();
                    let where_first = symbols
                        .module_of(first.item.file)
                        .map(|m| format!(" in module `{}`", m.name))
                        .unwrap_or_default();
                    symbols.diagnostics.push((
                        item_ref.clone(),
                        Diagnostic::error(
                            Code::NameDuplicate,
                            format!("`{}` is declared twice", name.text),
                            name_span,
                            "declared again here",
                        )
                        .with_help(format!(
                            "the first `{}` is a {}{}; names and rule ids must be unique across the policy set",
                            name.text,
                            first.kind.word(),
                            where_first
                        )),
                    ));
                } else {
                    symbols.values.insert(
                        name.text.clone(),
                        ValueSymbol {
                            kind,
                            item: item_ref.clone(),
                            module: file_index,
                        },
                    );
                }
            }
        }
    }
    symbols
}

fn push(list: &mut Vec<ItemRef>, item: &ItemRef, kind: fn(u32) -> ValueKind) -> ValueKind {
    list.push(item.clone());
    kind(list.len() as u32 - 1)
}

fn declare_type(symbols: &mut Symbols, item: &ItemRef, kind: TypeKind, module: u32, span: Span) {
    if symbols.types.contains_key(&item.name) || builtin_type(&item.name).is_some() {
        symbols.diagnostics.push((
            item.clone(),
            Diagnostic::error(Code::NameDuplicate, format!("type `{}` is declared twice", item.name), span, "declared again here")
                .with_help("type names must be unique across the policy set and differ from the built-in types"),
        ));
        return;
    }
    let id = symbols.type_items.len() as u32;
    symbols.type_items.push((item.clone(), kind));
    symbols.types.insert(
        item.name.clone(),
        TypeSymbol {
            id,
            kind,
            item: item.clone(),
            module,
        },
    );
}

/// The type a built-in type name stands for (`Money`, `Date`, …), `None` for another name.
pub fn builtin_type(name: &str) -> Option<Type> {
    Some(match name {
        "Bool" => Type::Bool,
        "Integer" => Type::Integer,
        "Decimal" => Type::Decimal,
        "Money" => Type::Money,
        "Date" => Type::Date,
        "Month" => Type::Month,
        "Quarter" => Type::Quarter,
        "Text" => Type::Text,
        "RuleId" => Type::RuleId,
        _ => return None,
    })
}
