//! Where names are declared and used, for editors: go to definition, find references, rename.
//!
//! [`item_names`] lists the names an item declares and uses, with item-relative spans, from the
//! item's syntax alone: an edit elsewhere leaves it equal and salsa reuses it. [`file_names`]
//! places them in their file and resolves each against the symbol table, the way the checker
//! does: a local (a function parameter, an aggregate's or a comprehension's variable, a `some x`
//! binding, a check's element) hides a global name of the same spelling.

use crate::ast::{self, ExprKind, Item, PatternDecl, Span, TypeRef};
use crate::db::{Db, ItemKey, PolicySet, SourceFile};
use crate::symbols::{symbols, ItemRef};
use crate::syntax::{item_ast, parse_file};

/// What a name in the text stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameRole {
    /// The name an item declares (`parameter MRP`, `rule ASP-INCOME-TEST`, `record Member`).
    Declaration,
    /// A value used in an expression or listed by a group, an extension or an exception target.
    Value,
    /// A type written in a declaration (`: Money`, `List<Member>`).
    Type,
    /// A module named by a header (`module kz.asp`, `import kz.parameters`, `amends …`).
    Module,
}

/// A name as written in one item, with an item-relative span.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NameUse {
    pub text: String,
    pub span: Span,
    pub role: NameRole,
}

/// What a name resolves to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A value of the policy set (parameter, rule, definition, function, table, …).
    Value(ItemRef),
    /// A record, an enum or a table's row type.
    Type(ItemRef),
    /// A module, by its file index in the manifest.
    Module(u32),
}

/// A name placed in its file: absolute byte span, and what it resolves to (`None` for an
/// unknown name, which the checker reports).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Occurrence {
    pub text: String,
    pub span: Span,
    pub role: NameRole,
    pub target: Option<Target>,
}

/// The names an item declares and uses, in text order, with item-relative spans.
#[salsa::tracked(returns(ref))]
pub fn item_names<'db>(db: &'db dyn Db, key: ItemKey<'db>) -> Vec<NameUse> {
    let mut walker = Walker::default();
    if let Some(item) = item_ast(db, key) {
        walker.item(item);
    }
    walker
        .names
        .sort_by_key(|name| (name.span.start, name.span.end));
    walker.names
}

/// Every name of a file, placed (absolute spans) and resolved, in text order. The header's module
/// names come first.
#[salsa::tracked(returns(ref))]
pub fn file_names(db: &dyn Db, set: PolicySet, file: SourceFile) -> Vec<Occurrence> {
    let symbols = symbols(db, set);
    let parsed = parse_file(db, file);
    let module_index = |name: &str| {
        symbols
            .modules
            .iter()
            .position(|module| module.as_ref().is_some_and(|m| m.name == name))
            .map(|index| Target::Module(index as u32))
    };
    let mut occurrences = Vec::new();
    if let Some(header) = &parsed.header {
        let mut modules = vec![&header.name];
        modules.extend(header.imports.iter());
        if let Some((amended, _)) = &header.amends {
            modules.push(amended);
        }
        for name in modules {
            occurrences.push(Occurrence {
                text: name.text.clone(),
                span: name.span,
                role: NameRole::Module,
                target: module_index(&name.text),
            });
        }
    }
    let mut ranks: std::collections::BTreeMap<&str, u32> = std::collections::BTreeMap::new();
    for parsed_item in &parsed.items {
        let name = parsed_item.item.name().text.as_str();
        let rank = ranks.entry(name).or_insert(0);
        let key = ItemKey::new(db, file, name.to_string(), *rank);
        *rank += 1;
        for used in item_names(db, key) {
            let value = symbols.values.get(&used.text).map(|s| &s.item);
            let ty = symbols.types.get(&used.text).map(|s| &s.item);
            let target = match used.role {
                NameRole::Type => ty.cloned().map(Target::Type),
                // A value, or an enum named for its variant (`Role.parent`).
                NameRole::Value => match (value, ty) {
                    (Some(value), _) => Some(Target::Value(value.clone())),
                    (None, ty) => ty.cloned().map(Target::Type),
                },
                NameRole::Module => module_index(&used.text),
                NameRole::Declaration => match (value, ty) {
                    (Some(value), _) => Some(Target::Value(value.clone())),
                    (None, ty) => ty.cloned().map(Target::Type),
                },
            };
            occurrences.push(Occurrence {
                text: used.text.clone(),
                span: used.span.shifted(parsed_item.start),
                role: used.role,
                target,
            });
        }
    }
    occurrences
}

/// Where an item is declared: its file index and the absolute span of its name.
pub fn declaration_span(db: &dyn Db, set: PolicySet, item: &ItemRef) -> Option<(u32, Span)> {
    let file = *set.files(db).get(item.file as usize)?;
    let parsed = parse_file(db, file);
    let found = parsed
        .items
        .iter()
        .filter(|parsed_item| parsed_item.item.name().text == item.name)
        .nth(item.rank as usize)?;
    Some((item.file, found.item.name().span.shifted(found.start)))
}

/// Where a target is declared: its file index and the absolute span of its name (for a module,
/// the name in its header).
pub fn target_declaration(db: &dyn Db, set: PolicySet, target: &Target) -> Option<(u32, Span)> {
    match target {
        Target::Value(item) | Target::Type(item) => declaration_span(db, set, item),
        Target::Module(file) => {
            let module = symbols(db, set).module_of(*file)?;
            Some((*file, module.name_span))
        }
    }
}

/// The occurrence of a name at a byte offset of a file (its span holds the offset, or ends at it).
pub fn occurrence_at(
    db: &dyn Db,
    set: PolicySet,
    file: SourceFile,
    offset: u32,
) -> Option<&Occurrence> {
    file_names(db, set, file)
        .iter()
        .find(|occurrence| occurrence.span.start <= offset && offset <= occurrence.span.end)
}

/// Every occurrence of a target in the policy set, declaration included, by file index.
pub fn references(db: &dyn Db, set: PolicySet, target: &Target) -> Vec<(u32, Span)> {
    let mut found = Vec::new();
    for (index, file) in set.files(db).iter().enumerate() {
        for occurrence in file_names(db, set, *file) {
            if occurrence.target.as_ref() == Some(target) {
                found.push((index as u32, occurrence.span));
            }
        }
    }
    found
}

/// Collects names from an item's syntax, keeping the locals in scope.
#[derive(Default)]
struct Walker {
    names: Vec<NameUse>,
    locals: Vec<String>,
}

impl Walker {
    fn push(&mut self, name: &ast::Name, role: NameRole) {
        self.push_text(&name.text, name.span, role);
    }

    fn push_text(&mut self, text: &str, span: Span, role: NameRole) {
        self.names.push(NameUse {
            text: text.to_string(),
            span,
            role,
        });
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Record(record) => {
                self.push(&record.name, NameRole::Declaration);
                for field in &record.fields {
                    self.ty(&field.ty);
                }
            }
            Item::Enum(enumeration) => self.push(&enumeration.name, NameRole::Declaration),
            Item::Input(input) => {
                self.push(&input.name, NameRole::Declaration);
                self.push(&input.record, NameRole::Type);
            }
            Item::Parameter(parameter) => {
                self.push(&parameter.name, NameRole::Declaration);
                self.ty(&parameter.ty);
                if let ast::ParameterBody::Derived(expr) = &parameter.body {
                    self.expr(expr);
                }
            }
            Item::Calendar(calendar) => self.push(&calendar.name, NameRole::Declaration),
            Item::Table(table) => {
                self.push(&table.name, NameRole::Declaration);
                for (_, written) in table.keys.iter().chain(&table.columns) {
                    self.ty(written);
                }
            }
            Item::Bands(bands) => {
                self.push(&bands.name, NameRole::Declaration);
                self.ty(&bands.domain);
                self.ty(&bands.result);
            }
            Item::Def(def) => {
                self.push(&def.name, NameRole::Declaration);
                let parameters = def.params.iter().flatten();
                for (_, written) in parameters.clone() {
                    self.ty(written);
                }
                self.ty(&def.ty);
                let scope = self.locals.len();
                self.locals
                    .extend(parameters.map(|(name, _)| name.text.clone()));
                self.expr(&def.body);
                for exception in &def.exceptions {
                    self.exception(exception);
                }
                self.locals.truncate(scope);
            }
            Item::Group(group) => {
                self.push(&group.name, NameRole::Declaration);
                self.ty(&group.element);
                for member in &group.members {
                    self.push(member, NameRole::Value);
                }
            }
            Item::Extend(extend) => {
                self.push(&extend.group, NameRole::Value);
                for member in &extend.members {
                    self.push(member, NameRole::Value);
                }
            }
            Item::Output(output) => {
                self.push(&output.name, NameRole::Declaration);
                self.expr(&output.expr);
            }
            Item::Exception(targeted) => {
                self.push(&targeted.target, NameRole::Value);
                self.exception(&targeted.exception);
            }
            // A label of a bare name (`label MRP`) refers to that value, so that renaming the
            // value renames its label; a dotted target (`Member.birth_date`, an output field) or a
            // source is resolved by `labels.rs` against the IR and adds no name to navigate.
            Item::Label(label) => {
                let bare = !label.target.text.contains(['.', ' ', '"']);
                if bare {
                    self.push(&label.target, NameRole::Value);
                }
            }
            Item::Check(check) => {
                let scope = self.locals.len();
                if let Some(list) = &check.list {
                    self.expr(list);
                }
                if let Some(variable) = &check.variable {
                    self.locals.push(variable.text.clone());
                }
                self.expr(&check.condition);
                self.locals.truncate(scope);
            }
        }
    }

    fn exception(&mut self, exception: &ast::ExceptionDecl) {
        self.expr(&exception.condition);
        self.expr(&exception.value);
    }

    fn ty(&mut self, written: &TypeRef) {
        match written {
            TypeRef::Named(name) => self.push(name, NameRole::Type),
            TypeRef::List(inner, _) | TypeRef::Map(inner, _) | TypeRef::Optional(inner, _) => {
                self.ty(inner)
            }
            TypeRef::Object(fields, _) => {
                for (_, field) in fields {
                    self.ty(field);
                }
            }
        }
    }

    fn bound<'a>(&mut self, variable: &ast::Name, scoped: impl IntoIterator<Item = &'a ast::Expr>) {
        self.locals.push(variable.text.clone());
        for expr in scoped {
            self.expr(expr);
        }
        self.locals.pop();
    }

    fn expr(&mut self, expr: &ast::Expr) {
        match &expr.kind {
            ExprKind::Literal(_) => {}
            ExprKind::Name(name) | ExprKind::RuleRef(name) => {
                if !self.locals.contains(name) {
                    self.push_text(name, expr.span, NameRole::Value);
                }
            }
            ExprKind::Field(base, _) => {
                self.expr(base);
            }
            ExprKind::Negate(inner) | ExprKind::Not(inner) => self.expr(inner),
            ExprKind::Binary(_, left, right)
            | ExprKind::And(left, right)
            | ExprKind::Or(left, right)
            | ExprKind::Coalesce(left, right) => {
                self.expr(left);
                self.expr(right);
            }
            ExprKind::If(condition, then, otherwise) => {
                self.expr(condition);
                self.expr(then);
                self.expr(otherwise);
            }
            ExprKind::Match(scrutinee, arms) => {
                self.expr(scrutinee);
                for arm in arms {
                    match &arm.pattern {
                        PatternDecl::Some(variable, _) => {
                            self.bound(variable, [&arm.body]);
                            continue;
                        }
                        PatternDecl::Variant(Some(enumeration), _) => {
                            self.push(enumeration, NameRole::Type)
                        }
                        _ => {}
                    }
                    self.expr(&arm.body);
                }
            }
            ExprKind::List(elements) => {
                for element in elements {
                    self.expr(element);
                }
            }
            ExprKind::Object(fields) => {
                for (_, value) in fields {
                    self.expr(value);
                }
            }
            ExprKind::MapComprehension {
                var,
                list,
                filter,
                key,
                value,
            } => {
                self.expr(list);
                let scoped = filter.iter().map(|f| &**f).chain([&**key, &**value]);
                self.bound(var, scoped);
            }
            ExprKind::Aggregate {
                var,
                list,
                filter,
                body,
                ..
            } => {
                self.expr(list);
                let scoped = filter.iter().chain(body.iter()).map(|e| &**e);
                self.bound(var, scoped);
            }
            ExprKind::Call(function, arguments) => {
                self.push(function, NameRole::Value);
                for argument in arguments {
                    self.expr(argument);
                }
            }
        }
    }
}
