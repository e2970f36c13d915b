//! What the site has a page for, and which page uses which: the references of every rule,
//! definition, output, group and check, read from the IR, and their inverse.

use std::collections::{BTreeMap, BTreeSet};

use ereje_runtime::ir::{Body, Builtin, Expr, ItemKind, Policy, Type, TypeDef};
use ereje_runtime::value::Value;

/// A documented thing of the policy: an index into one of the IR's lists. The order (kind,
/// then declaration order) is the order of every list of links on the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Item(usize),
    Param(usize),
    Table(usize),
    Bands(usize),
    Calendar(usize),
    Group(usize),
    Output(usize),
    Check(usize),
    /// A record or an enumeration of the policy's types.
    Type(usize),
}

impl Target {
    /// Every target of the policy, in order.
    pub fn all(policy: &Policy) -> Vec<Target> {
        let mut all = Vec::new();
        all.extend((0..policy.items.len()).map(Target::Item));
        all.extend((0..policy.params.len()).map(Target::Param));
        all.extend((0..policy.tables.len()).map(Target::Table));
        all.extend((0..policy.bands.len()).map(Target::Bands));
        all.extend((0..policy.calendars.len()).map(Target::Calendar));
        all.extend((0..policy.groups.len()).map(Target::Group));
        all.extend((0..policy.outputs.len()).map(Target::Output));
        all.extend((0..policy.checks.len()).map(Target::Check));
        all.extend((0..policy.types.len()).map(Target::Type));
        all
    }

    /// The kind key of the target's page (`rule`, `parameter`, …), which names its labels and
    /// starts its file name.
    pub fn kind(self, policy: &Policy) -> &'static str {
        match self {
            Target::Item(index) => match policy.items.get(index).map(|item| item.kind) {
                Some(ItemKind::Rule) => "rule",
                Some(ItemKind::Function) => "function",
                Some(ItemKind::DerivedParam) => "derived",
                _ => "definition",
            },
            Target::Param(_) => "parameter",
            Target::Table(_) => "table",
            Target::Bands(_) => "bands",
            Target::Calendar(_) => "calendar",
            Target::Group(_) => "group",
            Target::Output(_) => "output",
            Target::Check(_) => "check",
            Target::Type(index) => match policy.types.get(index) {
                Some(TypeDef::Enum(_)) => "enum",
                _ => "record",
            },
        }
    }

    /// The name the policy gives the target (a rule's id, a parameter's name, …).
    pub fn name(self, policy: &Policy) -> &str {
        let name = match self {
            Target::Item(index) => policy.items.get(index).map(|item| item.name.as_str()),
            Target::Param(index) => policy.params.get(index).map(|param| param.name.as_str()),
            Target::Table(index) => policy.tables.get(index).map(|table| table.name.as_str()),
            Target::Bands(index) => policy.bands.get(index).map(|bands| bands.name.as_str()),
            Target::Calendar(index) => policy.calendars.get(index).map(|c| c.name.as_str()),
            Target::Group(index) => policy.groups.get(index).map(|group| group.name.as_str()),
            Target::Output(index) => policy.outputs.get(index).map(|output| output.name.as_str()),
            Target::Check(index) => policy.checks.get(index).map(|check| check.id.as_str()),
            Target::Type(index) => policy.types.get(index).map(|ty| match ty {
                TypeDef::Record(record) => record.name.as_str(),
                TypeDef::Enum(enumeration) => enumeration.name.as_str(),
            }),
        };
        name.unwrap_or("?")
    }

    /// The kind the static difference (`ereje_report::diff::Change::kind`) gives the target.
    pub fn diff_kind(self, policy: &Policy) -> &'static str {
        match self.kind(policy) {
            "derived" => "derived parameter",
            other => other,
        }
    }

    /// The file name of the target's page ([`page_file`]).
    pub fn file_name(self, policy: &Policy) -> String {
        page_file(self.kind(policy), self.name(policy))
    }
}

/// The file name of the page of the thing of kind `kind` (a kind key) named `name`: the kind,
/// then the name with every character that is not an ASCII letter, digit, `-` or `_` written
/// as `~` and its hexadecimal code point, so that any name gives a portable file name and a
/// plain link.
pub fn page_file(kind: &str, name: &str) -> String {
    let mut file = format!("{kind}-");
    for character in name.chars() {
        if character.is_ascii_alphanumeric() || character == '-' || character == '_' {
            file.push(character);
        } else {
            file.push_str(&format!("~{:x}", u32::from(character)));
        }
    }
    file.push_str(".html");
    file
}

/// The targets an expression refers to.
fn references(expr: &Expr, found: &mut BTreeSet<Target>) {
    expr.visit(&mut |node| match node {
        Expr::Item(item) | Expr::Call(item, _) | Expr::ExceptionApplied(item) => {
            found.insert(Target::Item(*item as usize));
        }
        Expr::Param { param, .. } => {
            found.insert(Target::Param(*param as usize));
        }
        Expr::Lookup(table, _) => {
            found.insert(Target::Table(*table as usize));
        }
        Expr::Band(bands, _) | Expr::BandLabel(bands, _) => {
            found.insert(Target::Bands(*bands as usize));
        }
        Expr::Holding(group) | Expr::GroupSum(group) | Expr::GroupValues(group) => {
            found.insert(Target::Group(*group as usize));
        }
        // The compiler passes a calendar to these builtins as its index, a constant first
        // argument.
        Expr::Builtin(Builtin::AddWorkingDays | Builtin::IsWorkingDay, arguments) => {
            if let Some(Expr::Const(Value::Integer(calendar))) = arguments.first() {
                if let Ok(calendar) = usize::try_from(*calendar) {
                    found.insert(Target::Calendar(calendar));
                }
            }
        }
        _ => {}
    });
}

/// The record or enumeration a type is made of (through lists, maps and optionals).
pub fn named_type(ty: &Type) -> Option<Target> {
    match ty {
        Type::Record(id) | Type::Enum(id) => Some(Target::Type(*id as usize)),
        Type::List(inner) | Type::Optional(inner) | Type::Map(inner) => named_type(inner),
        _ => None,
    }
}

/// The type of an expression, as far as the records and enumerations it reads need: the case,
/// a local bound by an aggregate, an item, a parameter, a field, the first of a list.
fn type_of(policy: &Policy, expr: &Expr, locals: &BTreeMap<u32, Type>) -> Option<Type> {
    match expr {
        Expr::Input => Some(Type::Record(policy.input.record)),
        Expr::Local(slot) => locals.get(slot).cloned(),
        Expr::Item(item) | Expr::Call(item, _) => {
            policy.items.get(*item as usize).map(|item| item.ty.clone())
        }
        Expr::Param { param, .. } => policy.params.get(*param as usize).map(|p| p.ty.clone()),
        Expr::Field(record, index) => policy.field_type(&type_of(policy, record, locals)?, *index),
        Expr::First(list) => match type_of(policy, list, locals)? {
            Type::List(inner) => Some(*inner),
            _ => None,
        },
        _ => None,
    }
}

/// The records and enumerations an expression reads (the case's, its fields', its locals').
fn types_read(policy: &Policy, expr: &Expr, found: &mut BTreeSet<Target>) {
    let mut locals: BTreeMap<u32, Type> = BTreeMap::new();
    // The visit is in pre-order: an aggregate binds its local before its body is visited.
    expr.visit(&mut |node| {
        if let Expr::Aggregate { var, list, .. } | Expr::MapOf { var, list, .. } = node {
            if let Some(Type::List(element)) = type_of(policy, list, &locals) {
                locals.insert(*var, *element);
            }
        }
        if let Some(target) = type_of(policy, node, &locals).as_ref().and_then(named_type) {
            found.insert(target);
        }
    });
}

/// What each target uses and what uses it.
pub struct Graph {
    pub uses: BTreeMap<Target, BTreeSet<Target>>,
    pub used_by: BTreeMap<Target, BTreeSet<Target>>,
}

impl Graph {
    pub fn of(policy: &Policy) -> Graph {
        let mut uses: BTreeMap<Target, BTreeSet<Target>> = BTreeMap::new();
        for (index, item) in policy.items.iter().enumerate() {
            let found = uses.entry(Target::Item(index)).or_default();
            let mut note = |expr: &Expr| {
                references(expr, found);
                types_read(policy, expr, found);
            };
            match &item.body {
                Body::Expr(body) => note(body),
                Body::Exceptions { base, exceptions } => {
                    note(base);
                    for exception in exceptions {
                        note(&exception.condition);
                        note(&exception.value);
                    }
                }
            }
            found.extend(named_type(&item.ty));
            found.extend(item.params.iter().filter_map(|(_, ty)| named_type(ty)));
        }
        for (index, group) in policy.groups.iter().enumerate() {
            let found = uses.entry(Target::Group(index)).or_default();
            found.extend(
                group
                    .members
                    .iter()
                    .map(|member| Target::Item(member.item as usize)),
            );
        }
        for (index, output) in policy.outputs.iter().enumerate() {
            references(&output.expr, uses.entry(Target::Output(index)).or_default());
        }
        for (index, check) in policy.checks.iter().enumerate() {
            let found = uses.entry(Target::Check(index)).or_default();
            if let Some(list) = &check.list {
                references(list, found);
            }
            references(&check.condition, found);
            types_read(policy, &check.condition, found);
        }
        // A record uses the records and enumerations of its fields.
        for (index, definition) in policy.types.iter().enumerate() {
            if let TypeDef::Record(record) = definition {
                let found = uses.entry(Target::Type(index)).or_default();
                found.extend(
                    record
                        .fields
                        .iter()
                        .filter_map(|field| named_type(&field.ty)),
                );
            }
        }
        // A target does not list itself (a recursive function would).
        for (target, found) in &mut uses {
            found.remove(target);
        }
        let mut used_by: BTreeMap<Target, BTreeSet<Target>> = BTreeMap::new();
        for (user, found) in &uses {
            for used in found {
                used_by.entry(*used).or_default().insert(*user);
            }
        }
        Graph { uses, used_by }
    }
}
