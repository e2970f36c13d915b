//! The syntax queries: a file's parse and one item's syntax tree. Every other query starts
//! from these; they depend on the parser and the database alone.

use crate::ast::Item;
use crate::db::{Db, ItemKey, SourceFile};
use crate::parser::{self, ParseOutput};

/// A file parsed (tracked per file: re-run only when the file's text changes).
#[salsa::tracked(returns(ref))]
pub fn parse_file(db: &dyn Db, file: SourceFile) -> ParseOutput {
    db.record_execution(format!("parse_file({})", file.path(db)));
    parser::parse_file(file.text(db))
}

/// The syntax of one item, with item-relative spans: equal after an edit elsewhere.
#[salsa::tracked(returns(ref))]
pub fn item_ast<'db>(db: &'db dyn Db, key: ItemKey<'db>) -> Option<Item> {
    let parsed = parse_file(db, key.file(db));
    let name = key.name(db);
    parsed
        .items
        .iter()
        .filter(|item| item.item.name().text == *name)
        .nth(key.rank(db) as usize)
        .map(|item| item.item.clone())
}
