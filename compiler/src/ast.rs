//! The syntax tree of one policy file.
//!
//! Spans inside an item are relative to the item's first byte, so that an item whose text did not
//! change compares equal after an edit elsewhere in its file: salsa then reuses everything
//! computed from it. The item's absolute position is kept beside it, in [`crate::db::ParsedFile`].

use ereje_runtime::value::{Date, Month, Quarter};
use rust_decimal::Decimal;

/// A byte range, relative to the start of the item that contains it (or absolute, for header
/// and whole-file diagnostics, as the context says).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn shifted(self, by: u32) -> Span {
        Span {
            start: self.start + by,
            end: self.end + by,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: Name,
    pub version: Option<String>,
    pub in_force_from: Option<Date>,
    pub amends: Option<(Name, Date)>,
    pub imports: Vec<Name>,
    /// `languages ru kk en`: the languages explanations are given in.
    pub languages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Record(RecordItem),
    Enum(EnumItem),
    Input(InputItem),
    Parameter(ParameterItem),
    Calendar(CalendarItem),
    Table(TableItem),
    Bands(BandsItem),
    /// `def` and `rule` items: both are named computations.
    Def(DefItem),
    Group(GroupItem),
    Extend(ExtendItem),
    Output(OutputItem),
    /// `exception LABEL to name …`: an exception added to a definition from outside it (an
    /// amendment's way to change a baseline value from its date).
    Exception(TargetedException),
    /// `check ID for x in list at x.field = condition`: a check on cases beyond their types.
    Check(CheckItem),
    /// `label Target ru "…" kk "…" en "…"`: the words an explanation shows for a name.
    Label(LabelItem),
}

/// `label Target ru "…" kk "…" en "…"`.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelItem {
    /// The item's own key, `label Target`, so that labels of different targets are different
    /// items.
    pub key: Name,
    /// The labelled name as written (`Member.birth_date`), with its span.
    pub target: Name,
    /// The label in each language, with the clause's span.
    pub texts: Vec<(String, String, Span)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckItem {
    pub id: Name,
    pub variable: Option<Name>,
    pub list: Option<Expr>,
    /// `at x.field` (two names) or `at field` (one name).
    pub at: Vec<Name>,
    pub code: Option<String>,
    pub messages: Vec<(String, String, Span)>,
    pub condition: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TargetedException {
    pub target: Name,
    pub exception: ExceptionDecl,
}

impl Item {
    /// The name the item declares (for `extend`, the group it extends).
    pub fn name(&self) -> &Name {
        match self {
            Item::Record(item) => &item.name,
            Item::Enum(item) => &item.name,
            Item::Input(item) => &item.name,
            Item::Parameter(item) => &item.name,
            Item::Calendar(item) => &item.name,
            Item::Table(item) => &item.name,
            Item::Bands(item) => &item.name,
            Item::Def(item) => &item.name,
            Item::Group(item) => &item.name,
            Item::Extend(item) => &item.group,
            Item::Output(item) => &item.name,
            Item::Exception(item) => &item.exception.label,
            Item::Check(item) => &item.id,
            Item::Label(item) => &item.key,
        }
    }

    /// A word for the kind of item, for messages ("parameter `MRP` is never used").
    pub fn kind_word(&self) -> &'static str {
        match self {
            Item::Record(_) => "record",
            Item::Enum(_) => "enum",
            Item::Input(_) => "input",
            Item::Parameter(_) => "parameter",
            Item::Calendar(_) => "calendar",
            Item::Table(_) => "table",
            Item::Bands(_) => "band table",
            Item::Def(def) if def.is_rule => "rule",
            Item::Def(def) if def.params.is_some() => "function",
            Item::Def(_) => "definition",
            Item::Group(_) => "group",
            Item::Extend(_) => "extension",
            Item::Output(_) => "output",
            Item::Exception(_) => "exception",
            Item::Check(_) => "check",
            Item::Label(_) => "label",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TypeRef {
    Named(Name),
    List(Box<TypeRef>, Span),
    Map(Box<TypeRef>, Span),
    Optional(Box<TypeRef>, Span),
    Object(Vec<(Name, TypeRef)>, Span),
}

impl TypeRef {
    pub fn span(&self) -> Span {
        match self {
            TypeRef::Named(name) => name.span,
            TypeRef::List(_, span)
            | TypeRef::Map(_, span)
            | TypeRef::Optional(_, span)
            | TypeRef::Object(_, span) => *span,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecordItem {
    pub name: Name,
    pub fields: Vec<FieldDecl>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldDecl {
    pub name: Name,
    pub ty: TypeRef,
    pub default: Option<Literal>,
    pub checks: Vec<FieldCheck>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FieldCheck {
    Min(Decimal, Span),
    Max(Decimal, Span),
    Length(u32, u32, Span),
    Items(u32, u32, Span),
    Unique(Name),
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnumItem {
    pub name: Name,
    pub variants: Vec<VariantDecl>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VariantDecl {
    pub name: Name,
    pub json: Option<VariantJson>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VariantJson {
    Text(String),
    Integer(i64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct InputItem {
    pub name: Name,
    pub record: Name,
    pub id_field: Option<Name>,
    pub as_of_field: Option<Name>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParameterItem {
    pub name: Name,
    pub ty: TypeRef,
    pub source: Option<String>,
    /// An analyst's reading of the source (`note "…"`), never shown to families.
    pub note: Option<String>,
    /// `each year`: a value must start every year from the first to the last.
    pub each_year: Option<Span>,
    pub body: ParameterBody,
    /// `until DATE`: the last day the values apply; later dates have no value.
    pub until: Option<(Date, Span)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ParameterBody {
    Values(Vec<ParameterValue>),
    Derived(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ParameterValue {
    pub from: Date,
    pub value: Literal,
    pub source: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CalendarItem {
    pub name: Name,
    pub source: Option<String>,
    pub years: Vec<CalendarYearDecl>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CalendarYearDecl {
    pub year: i32,
    pub span: Span,
    pub non_working: Vec<(Date, Span)>,
    pub working: Vec<(Date, Span)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableItem {
    pub name: Name,
    pub keys: Vec<(Name, TypeRef)>,
    pub columns: Vec<(Name, TypeRef)>,
    pub source: Option<String>,
    pub rows: Vec<TableRowDecl>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TableRowDecl {
    pub key: Vec<Literal>,
    /// `None` for a blank cell (`_`).
    pub cells: Vec<Option<Literal>>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BandsItem {
    pub name: Name,
    pub domain: TypeRef,
    pub result: TypeRef,
    pub source: Option<String>,
    pub rows: Vec<BandDecl>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BandDecl {
    pub lower: Option<(Decimal, bool)>,
    pub upper: Option<(Decimal, bool)>,
    pub interval_span: Span,
    pub value: Literal,
    pub label: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DefItem {
    pub name: Name,
    pub is_rule: bool,
    /// `Some` for functions (`def f(x: T): U`), even with no parameters.
    pub params: Option<Vec<(Name, TypeRef)>>,
    pub ty: TypeRef,
    pub source: Option<String>,
    pub messages: Vec<(String, String, Span)>,
    /// `message not LANG "…"`: what an explanation says when the rule does not hold.
    pub messages_not: Vec<(String, String, Span)>,
    /// An analyst's reading of the source (`note "…"`), never shown to families.
    pub note: Option<String>,
    pub body: Expr,
    pub exceptions: Vec<ExceptionDecl>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionDecl {
    pub label: Name,
    pub over: Vec<Name>,
    pub source: Option<String>,
    pub condition: Expr,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupItem {
    pub name: Name,
    pub element: TypeRef,
    pub members: Vec<Name>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExtendItem {
    pub group: Name,
    pub members: Vec<Name>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutputItem {
    pub name: Name,
    /// `payments [field, …]`: the fields that are payments, which a batch totals.
    pub payments: Vec<Name>,
    pub expr: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Literal {
    pub kind: LiteralKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LiteralKind {
    Integer(i64),
    Decimal(Decimal),
    Money(Decimal),
    Date(Date),
    Month(Month),
    Quarter(Quarter),
    Text(String),
    Bool(bool),
    None,
    List(Vec<Literal>),
    /// A bare name in a constant: an enum variant, resolved against the expected type.
    Name(String),
    /// A literal that did not parse (already reported): checks stay silent about it.
    Invalid,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOperator {
    Add,
    Sub,
    Mul,
    Div,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
}

impl BinaryOperator {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOperator::Add => "+",
            BinaryOperator::Sub => "-",
            BinaryOperator::Mul => "*",
            BinaryOperator::Div => "/",
            BinaryOperator::Eq => "==",
            BinaryOperator::Ne => "!=",
            BinaryOperator::Lt => "<",
            BinaryOperator::Le => "<=",
            BinaryOperator::Gt => ">",
            BinaryOperator::Ge => ">=",
            BinaryOperator::In => "in",
            BinaryOperator::NotIn => "not in",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Literal(LiteralKind),
    Name(String),
    RuleRef(String),
    Field(Box<Expr>, Name),
    Negate(Box<Expr>),
    Not(Box<Expr>),
    Binary(BinaryOperator, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Coalesce(Box<Expr>, Box<Expr>),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    Match(Box<Expr>, Vec<MatchArmDecl>),
    List(Vec<Expr>),
    Object(Vec<(Name, Expr)>),
    MapComprehension {
        var: Name,
        list: Box<Expr>,
        filter: Option<Box<Expr>>,
        key: Box<Expr>,
        value: Box<Expr>,
    },
    Aggregate {
        function: Name,
        var: Name,
        list: Box<Expr>,
        filter: Option<Box<Expr>>,
        body: Option<Box<Expr>>,
    },
    Call(Name, Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct MatchArmDecl {
    pub pattern: PatternDecl,
    pub body: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PatternDecl {
    /// `some x`: the bound name, and the whole pattern's span.
    Some(Name, Span),
    None(Span),
    Wildcard(Span),
    Literal(Literal),
    /// A variant name, optionally qualified by its enum (`Role.parent`).
    Variant(Option<Name>, Name),
}
