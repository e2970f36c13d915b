//! The intermediate representation: a compiled, checked policy set as plain data.
//!
//! The compiler produces a [`Policy`]; the runtime evaluates it. Everything here is resolved and
//! typed: names are indices, operators are specialised for their operand types, and every
//! exception chain is already in priority order. The IR carries no source positions, so two
//! compilations of the same policy meaning give byte-identical IR and the same digest.
//!
//! Rationale for indices over names: evaluation must not hash strings on its hot path, and a
//! serialized IR must be loadable by an embedder without the compiler.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::value::{Date, Value};

/// Bumped whenever the IR's shape or meaning changes; a runtime refuses other versions.
pub const IR_FORMAT_VERSION: u32 = 1;

pub type TypeId = u32;
pub type ItemId = u32;
pub type ParamId = u32;
pub type TableId = u32;
pub type CalendarId = u32;
pub type BandId = u32;
pub type GroupId = u32;
pub type LocalSlot = u32;

/// A compiled policy set: what one manifest (`ereje.toml`) names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub format_version: u32,
    /// The policy set's name from the manifest, e.g. `kz`.
    pub name: String,
    /// The policy set's version from the manifest, e.g. `2025.1`.
    pub version: String,
    /// Who publishes the policy set (the manifest's `publisher`).
    pub publisher: String,
    /// The earliest date on which the whole set is in force (the latest `in force from` of its
    /// base modules). Evaluating a case as of an earlier date is an error.
    pub in_force_from: Date,
    pub modules: Vec<ModuleInfo>,
    pub types: Vec<TypeDef>,
    pub input: InputDecl,
    pub params: Vec<Param>,
    pub tables: Vec<Table>,
    pub calendars: Vec<Calendar>,
    pub bands: Vec<BandTable>,
    pub items: Vec<Item>,
    pub groups: Vec<Group>,
    /// The declared outputs, in declaration order: together they make up a decision.
    pub outputs: Vec<Output>,
    /// Checks on a case beyond its types (`check` items), in declaration order: run after the
    /// case is read and before anything is evaluated; the first that fails makes the case an
    /// error line instead of a decision.
    #[serde(default)]
    pub checks: Vec<CaseCheck>,
    /// The words explanations show for names (`label` items), by target: a definition, rule,
    /// parameter, output or band table (`n`), a record field or enum value
    /// (`Member.birth_date`, `IncomeKind.asp`), an output's field (`asp.monthly_total`) or a band
    /// by its value (`WELL_CATEGORY_BANDS.3`); the words of a legal source by its text
    /// ([`source_label_key`]).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, Messages>,
}

impl Policy {
    /// The label of `target` in a language (`ru`, `kk` or `en`), if the policy gives one.
    pub fn label(&self, target: &str, lang: &str) -> Option<&str> {
        self.labels
            .get(target)
            .and_then(|messages| messages.get(lang))
    }

    /// The words of a legal source in a language (`label source "…" kk "…"`), if the policy
    /// gives them; the source's own text is its words otherwise.
    pub fn source_label(&self, source: &str, lang: &str) -> Option<&str> {
        self.label(&source_label_key(source), lang)
    }
}

/// The key of a legal source's words among [`Policy::labels`]: `source "TEXT"`, which no name
/// can be (names have no spaces or quotes). The source itself stays as the policy writes it in
/// the IR, the decisions and their traces; only explanations show its words in a language.
pub fn source_label_key(source: &str) -> String {
    format!("source \"{source}\"")
}

/// `check ID for x in LIST at x.FIELD = CONDITION`: every element of the list (or the case
/// itself, without `for`) must satisfy the condition. A failure is a case error with `code`, the
/// JSON path of the element's field (e.g. `/members/2/birth_date`) and the check's message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseCheck {
    /// The check's id, e.g. `CASE-BIRTH-DATE`.
    pub id: String,
    /// The error code of a failure, `case.invalid_field` unless the policy says otherwise.
    pub code: String,
    /// The message of a failure in each language; the error line uses English, else Russian,
    /// else Kazakh, else the id.
    pub messages: Messages,
    /// The list whose elements are checked, each in local slot 0; `None` checks the case once.
    pub list: Option<Expr>,
    /// Must be true for every element (Bool).
    pub condition: Expr,
    /// The field the error points at: a field of the element (or of the case root without `for`),
    /// by name, appended to the element's JSON path.
    pub field: Option<String>,
    /// Local slots the condition needs (slot 0 is the element).
    pub locals: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModuleInfo {
    pub name: String,
    pub version: String,
    pub in_force_from: Date,
    /// For an amendment module: the module it amends and the date its additions start to apply.
    pub amends: Option<Amendment>,
    /// The manifest-relative file the module came from, for explanations.
    pub file: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Amendment {
    pub module: String,
    pub from: Date,
}

/// The case root: which record type a case JSON is read against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputDecl {
    /// The name policies use for the case root (`case`).
    pub name: String,
    pub record: TypeId,
    /// The field holding the case id (copied to every decision and error line).
    pub id_field: Option<u32>,
    /// The field holding the date a case is evaluated as of, unless the caller overrides it.
    pub as_of_field: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Type {
    Bool,
    Integer,
    Decimal,
    Money,
    Date,
    Month,
    Quarter,
    Text,
    /// The id of a rule (`ASP-INCOME-TEST`); serialized as text.
    RuleId,
    Enum(TypeId),
    Record(TypeId),
    List(Box<Type>),
    /// A value that may be absent. Never nested: `Optional(Optional(_))` is not a type.
    Optional(Box<Type>),
    /// An ordered map from text keys to values (JSON object with dynamic keys).
    Map(Box<Type>),
    /// A JSON object with fixed keys, in declaration order (outputs).
    Object(Vec<(String, Type)>),
    /// The element type of `[]` and the inner type of `none` where nothing gives them another:
    /// no value has it (written as JSON null if ever asked to).
    Never,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TypeDef {
    Record(RecordDef),
    Enum(EnumDef),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordDef {
    pub name: String,
    pub fields: Vec<FieldDef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDef {
    pub name: String,
    /// The field's type as policies see it. A field declared `T?` without a default has type
    /// `Optional(T)`; a field with a default has its plain type.
    pub ty: Type,
    /// Whether a case must give the field. A required field never has a default.
    pub required: bool,
    /// The value used when the case omits the field (or gives `null`).
    pub default: Option<Value>,
    /// Checks on the value read from a case, e.g. `min 0`.
    pub constraints: Vec<Constraint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Constraint {
    /// Numbers: the value must be at least this.
    Min(Decimal),
    /// Numbers: the value must be at most this.
    Max(Decimal),
    /// Text: length in characters at least this.
    MinLength(u32),
    /// Text: length in characters at most this; lists: at most this many items.
    MaxLength(u32),
    /// Lists: at least this many items.
    MinItems(u32),
    /// Lists: at most this many items.
    MaxItems(u32),
    /// Lists of records: this field's values must be unique across the list.
    UniqueBy(u32),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnumDef {
    pub name: String,
    pub variants: Vec<VariantDef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantDef {
    pub name: String,
    /// How the variant is written in case JSON and in decisions.
    pub json: JsonLiteral,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JsonLiteral {
    Text(String),
    Integer(i64),
}

/// A parameter: values by effective date, each with its legal source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    pub name: String,
    pub ty: Type,
    pub source: Option<String>,
    /// Sorted by `from`, strictly increasing. A value applies from its date until the next one.
    pub values: Vec<ParamValue>,
    /// The last day the values apply (`until` in the policy): a later date has no value, which
    /// is an evaluation error naming the parameter, never a silent use of the last value.
    #[serde(default)]
    pub valid_until: Option<Date>,
    /// An analyst's reading of the source (`note`), never shown to families.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Why a parameter has no value on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoParamValue {
    /// The date is after the parameter's last day (`until`), given here.
    AfterUntil(Date),
    /// The date is before the parameter's first value.
    BeforeFirst,
}

impl Param {
    /// The value that applies on `date`, with its index in `values`: the last one from that
    /// date or earlier, unless the date is after the parameter's `until`. Both evaluators look
    /// parameters up here.
    pub fn value_on(&self, date: Date) -> Result<(usize, &ParamValue), NoParamValue> {
        if let Some(until) = self.valid_until.filter(|until| date > *until) {
            return Err(NoParamValue::AfterUntil(until));
        }
        let position = self.values.partition_point(|value| value.from <= date);
        let index = position.checked_sub(1).ok_or(NoParamValue::BeforeFirst)?;
        self.values
            .get(index)
            .map(|found| (index, found))
            .ok_or(NoParamValue::BeforeFirst)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamValue {
    pub from: Date,
    pub value: Value,
    /// A source for this value alone, when it differs from the parameter's.
    pub source: Option<String>,
}

/// A keyed table of rows (for instance region × quarter → regional figures).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    pub source: Option<String>,
    pub key_types: Vec<Type>,
    /// The record type of a row's value columns; a lookup yields `Optional(Record(row_type))`.
    pub row_type: TypeId,
    pub rows: Vec<TableRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableRow {
    pub key: Vec<Value>,
    /// A record value of the table's row type.
    pub value: Value,
}

/// A working-day calendar: per covered year, the weekdays that are not worked and the weekend
/// days that are. Asking about a date in a year the calendar does not cover is an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calendar {
    pub name: String,
    pub source: Option<String>,
    /// Sorted by year, no duplicates.
    pub years: Vec<CalendarYear>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarYear {
    pub year: i32,
    /// Monday-to-Friday dates that are not working days (holidays, moved days off), sorted.
    pub non_working: Vec<Date>,
    /// Saturday or Sunday dates that are working days (moved working days), sorted.
    pub working: Vec<Date>,
}

/// A banded table: the bands of its domain (checked at compile time to cover it exactly once,
/// sorted by lower bound) and the value each band gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BandTable {
    pub name: String,
    pub source: Option<String>,
    pub domain: Type,
    pub result: Type,
    pub bands: Vec<Band>,
}

/// A value that cannot be compared with a band table's bounds (absent, or of another type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incomparable;

impl BandTable {
    /// The position of the band that holds `value`, `None` when no band does. Every evaluator
    /// finds bands here.
    pub fn band_of(&self, value: &Value) -> Result<Option<usize>, Incomparable> {
        self.band_of_skipping(value, &[])
    }

    /// [`BandTable::band_of`], without comparing again the lower bound of a band that
    /// `follows` says starts where the band before ends (the other bound of the same value),
    /// once the value is known to be past that band. Native code works `follows` out once per
    /// engine; it finds the band `band_of` finds.
    pub fn band_of_skipping(
        &self,
        value: &Value,
        follows: &[bool],
    ) -> Result<Option<usize>, Incomparable> {
        use std::cmp::Ordering;
        // Whether the value was found at or past the previous band's upper bound.
        let mut past_previous = false;
        for (position, band) in self.bands.iter().enumerate() {
            let above_lower = match &band.lower {
                None => true,
                Some(_) if past_previous && follows.get(position) == Some(&true) => true,
                Some(bound) => {
                    let ordering = value.compare(&bound.value).ok_or(Incomparable)?;
                    ordering == Ordering::Greater
                        || (bound.inclusive && ordering == Ordering::Equal)
                }
            };
            if !above_lower {
                past_previous = false;
                continue;
            }
            let below_upper = match &band.upper {
                None => true,
                Some(bound) => {
                    let ordering = value.compare(&bound.value).ok_or(Incomparable)?;
                    ordering == Ordering::Less || (bound.inclusive && ordering == Ordering::Equal)
                }
            };
            if below_upper {
                return Ok(Some(position));
            }
            past_previous = true;
        }
        Ok(None)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// `None` is minus infinity.
    pub lower: Option<Bound>,
    /// `None` is plus infinity.
    pub upper: Option<Bound>,
    pub value: Value,
    /// The analyst's label for the band, for explanations and coverage (e.g. `category 3`).
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bound {
    /// An integer or decimal value (of the band table's domain).
    pub value: Value,
    pub inclusive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ItemKind {
    /// `def name: T = …`: a value computed once per case.
    Definition,
    /// `rule ID: T = …`: like a definition, with an id, a source and messages.
    Rule,
    /// `def name(x: T, …): U = …`: computed per call.
    Function,
    /// `parameter name: T = …`: a parameter derived from others, computed once per case.
    DerivedParam,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// For rules, the rule id (`ASP-INCOME-TEST`); otherwise the definition's name.
    pub name: String,
    pub kind: ItemKind,
    pub ty: Type,
    /// Function parameters occupy local slots `0..params.len()`.
    pub params: Vec<(String, Type)>,
    /// Local slots the body needs (parameters, aggregate variables, match bindings).
    pub locals: u32,
    pub body: Body,
    pub source: Option<String>,
    pub messages: Messages,
    /// The index into [`Policy::modules`] of the module that declares the item.
    pub module: u32,
    /// Documentation of the item for explanations; the compiler sets none yet (reserved so
    /// that adding it does not change the IR's shape).
    pub doc: Option<String>,
    /// For a Bool rule: what an explanation says when it does not hold (`message not`);
    /// `messages` then say that it holds.
    #[serde(default, skip_serializing_if = "Messages::is_empty")]
    pub messages_not: Messages,
    /// An analyst's reading of the source (`note`), never shown to families.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A rule's message in each language; `{name}` placeholders name definitions whose values an
/// explanation substitutes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Messages {
    pub ru: Option<String>,
    pub kk: Option<String>,
    pub en: Option<String>,
}

impl Messages {
    /// Whether no language has a message.
    pub fn is_empty(&self) -> bool {
        self.ru.is_none() && self.kk.is_none() && self.en.is_none()
    }

    /// The message in a language (`ru`, `kk` or `en`).
    pub fn get(&self, lang: &str) -> Option<&str> {
        match lang {
            "ru" => self.ru.as_deref(),
            "kk" => self.kk.as_deref(),
            "en" => self.en.as_deref(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Body {
    Expr(Expr),
    /// Default logic: the exceptions, highest priority first (the compiler has checked that
    /// their priorities form a chain). The first whose condition holds gives the value; when
    /// none holds, the base does.
    Exceptions {
        base: Expr,
        exceptions: Vec<Exception>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exception {
    /// The exception's label, usually a rule id (`WELL-HIGH`).
    pub label: String,
    pub condition: Expr,
    pub value: Expr,
    pub source: Option<String>,
}

/// A named, ordered group of rules, e.g. the refusal reasons of ASP. Amendments may extend a
/// group from a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    pub element: Type,
    pub members: Vec<GroupMember>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupMember {
    pub item: ItemId,
    /// Set for members added by an amendment: they count only as of this date.
    pub active_from: Option<Date>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Output {
    pub name: String,
    pub ty: Type,
    pub expr: Expr,
    pub module: u32,
    /// The fields of the output the policy marks as payments (`payments [...]`), which a batch
    /// totals (an output that is itself Money is always totalled).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payments: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Expr {
    /// A literal.
    Const(Value),
    /// The case root record.
    Input,
    /// The date the case is evaluated as of.
    AsOf,
    /// A local slot: a function parameter, an aggregate's variable or a match binding.
    Local(LocalSlot),
    /// A definition, rule or derived parameter: computed once per case.
    Item(ItemId),
    /// A function call.
    Call(ItemId, Vec<Expr>),
    /// A parameter's value on a date: the as-of date when `at` is `None`.
    Param {
        param: ParamId,
        at: Option<Box<Expr>>,
    },
    /// A record's field. On an absent optional record the result is absent.
    Field(Box<Expr>, u32),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// Short-circuit conjunction and disjunction.
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    If {
        condition: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    Match {
        scrutinee: Box<Expr>,
        arms: Vec<MatchArm>,
    },
    /// An aggregate over a list: `kind(var in list where filter => body)`.
    Aggregate {
        kind: AggregateKind,
        var: LocalSlot,
        list: Box<Expr>,
        filter: Option<Box<Expr>>,
        body: Option<Box<Expr>>,
    },
    /// A map built from a list: `{ for var in list where filter: key => value }`.
    MapOf {
        var: LocalSlot,
        list: Box<Expr>,
        filter: Option<Box<Expr>>,
        key: Box<Expr>,
        value: Box<Expr>,
    },
    List(Vec<Expr>),
    /// An object with fixed keys.
    Object(Vec<(String, Expr)>),
    Builtin(Builtin, Vec<Expr>),
    /// Rounding with a named strategy to a number of decimal places (the result has exactly
    /// that many decimal places).
    Round {
        value: Box<Expr>,
        places: u32,
        mode: RoundingMode,
    },
    /// The band a value falls in: the band's value.
    Band(BandId, Box<Expr>),
    /// The label of the band a value falls in.
    BandLabel(BandId, Box<Expr>),
    /// The row of a table for the given key, or absent.
    Lookup(TableId, Vec<Expr>),
    /// The ids of the group's Bool rules that hold, in group order.
    Holding(GroupId),
    /// The sum of the group's rule values (Integer, Decimal or Money).
    GroupSum(GroupId),
    /// A map from each group member's id to its value, in group order.
    GroupValues(GroupId),
    /// The label of the exception that gave an item its value, or absent when the base did.
    ExceptionApplied(ItemId),
    /// `a ?? b`: `a` unless it is absent, else `b`.
    Coalesce(Box<Expr>, Box<Expr>),
    /// Whether an optional value is present.
    IsPresent(Box<Expr>),
    /// The first element of a list, or absent.
    First(Box<Expr>),
}

impl Policy {
    /// The deepest nesting of item computations and calls any evaluation of the policy can reach,
    /// as the evaluators count it (one level per item computed and per call); `None` when items
    /// depend on each other in a cycle. Inlining and native code are used only where it is within
    /// the evaluators' depth limit, so that no depth error can tell them from the interpreter.
    pub fn nesting_bound(&self) -> Option<u32> {
        let policy = self;
        // The items each item's evaluation enters directly.
        let references: Vec<Vec<usize>> = policy
            .items
            .iter()
            .map(|item| {
                let mut entered = Vec::new();
                let mut note = |expr: &Expr| entered_items(policy, expr, &mut entered);
                match &item.body {
                    Body::Expr(body) => body.visit(&mut note),
                    Body::Exceptions { base, exceptions } => {
                        base.visit(&mut note);
                        for exception in exceptions {
                            exception.condition.visit(&mut note);
                            exception.value.visit(&mut note);
                        }
                    }
                }
                entered
            })
            .collect();
        // Depth-first, with the items on the current path marked, from every item.
        #[derive(Clone, Copy, PartialEq)]
        enum State {
            New,
            OnPath,
            Done(u32),
        }
        let mut states = vec![State::New; policy.items.len()];
        fn depth_of(item: usize, references: &[Vec<usize>], states: &mut [State]) -> Option<u32> {
            match states.get(item).copied()? {
                State::Done(depth) => return Some(depth),
                State::OnPath => return None,
                State::New => {}
            }
            *states.get_mut(item)? = State::OnPath;
            let mut deepest = 0;
            for &next in references.get(item)? {
                deepest = deepest.max(depth_of(next, references, states)?);
            }
            let depth = deepest.checked_add(1)?;
            *states.get_mut(item)? = State::Done(depth);
            Some(depth)
        }
        let mut bound = 0;
        for item in 0..policy.items.len() {
            bound = bound.max(depth_of(item, &references, &mut states)?);
        }
        Some(bound)
    }

    /// The type of field `index` of a value of type `record` (a record or an object type,
    /// optional or not): optional when the record is. `None` when `record` has no such field.
    /// The evaluators that compile typed code and the native emitter read types through it.
    pub fn field_type(&self, record: &Type, index: u32) -> Option<Type> {
        let (record, optional) = match record {
            Type::Optional(inner) => (&**inner, true),
            ty => (ty, false),
        };
        let field = match record {
            Type::Record(id) => match self.types.get(*id as usize)? {
                TypeDef::Record(definition) => definition.fields.get(index as usize)?.ty.clone(),
                TypeDef::Enum(_) => return None,
            },
            Type::Object(fields) => fields.get(index as usize)?.1.clone(),
            _ => return None,
        };
        Some(match field {
            Type::Optional(_) => field,
            field if optional => Type::Optional(Box::new(field)),
            field => field,
        })
    }
}

impl Value {
    /// The type of a constant of a scalar kind (a decimal constant is a Decimal; `None` for
    /// absent values, lists, records and maps).
    pub fn scalar_type(&self) -> Option<Type> {
        Some(match self {
            Value::Bool(_) => Type::Bool,
            Value::Integer(_) => Type::Integer,
            Value::Decimal(_) => Type::Decimal,
            Value::Date(_) => Type::Date,
            Value::Month(_) => Type::Month,
            Value::Quarter(_) => Type::Quarter,
            Value::Text(_) => Type::Text,
            _ => return None,
        })
    }
}

impl Expr {
    /// Calls `each` on every node of the expression, the expression first.
    pub fn visit(&self, each: &mut dyn FnMut(&Expr)) {
        each(self);
        self.for_each_child(&mut |child| child.visit(each));
    }

    /// The list an `[a, b, …]` of constants always gives, once built; `None` when an element
    /// is not a constant.
    pub fn constant_list(items: &[Expr]) -> Option<Value> {
        let values: Option<Vec<Value>> = items
            .iter()
            .map(|item| match item {
                Expr::Const(value) => Some(value.clone()),
                _ => None,
            })
            .collect();
        values.map(|values| Value::List(values.into()))
    }

    /// Calls `go` on each direct child of the expression, in the order an evaluation meets
    /// them: the one walk for passes that look at every node (inlining, the names a policy test
    /// covers).
    pub fn for_each_child<'e>(&'e self, mut go: &mut dyn FnMut(&'e Expr)) {
        match self {
            Expr::Const(_)
            | Expr::Input
            | Expr::AsOf
            | Expr::Local(_)
            | Expr::Item(_)
            | Expr::Holding(_)
            | Expr::GroupSum(_)
            | Expr::GroupValues(_)
            | Expr::ExceptionApplied(_) => {}
            Expr::Call(_, args)
            | Expr::List(args)
            | Expr::Builtin(_, args)
            | Expr::Lookup(_, args) => args.iter().for_each(&mut go),
            Expr::Param { at, .. } => at.as_deref().into_iter().for_each(&mut go),
            Expr::Field(inner, _)
            | Expr::Unary(_, inner)
            | Expr::Round { value: inner, .. }
            | Expr::Band(_, inner)
            | Expr::BandLabel(_, inner)
            | Expr::IsPresent(inner)
            | Expr::First(inner) => go(inner),
            Expr::Binary(_, left, right)
            | Expr::And(left, right)
            | Expr::Or(left, right)
            | Expr::Coalesce(left, right) => {
                go(left);
                go(right);
            }
            Expr::If {
                condition,
                then,
                otherwise,
            } => {
                go(condition);
                go(then);
                go(otherwise);
            }
            Expr::Match { scrutinee, arms } => {
                go(scrutinee);
                arms.iter().for_each(|arm| go(&arm.body));
            }
            Expr::Aggregate {
                list, filter, body, ..
            } => {
                go(list);
                filter.as_deref().into_iter().for_each(&mut go);
                body.as_deref().into_iter().for_each(&mut go);
            }
            Expr::MapOf {
                list,
                filter,
                key,
                value,
                ..
            } => {
                go(list);
                filter.as_deref().into_iter().for_each(&mut go);
                go(key);
                go(value);
            }
            Expr::Object(fields) => fields.iter().for_each(|(_, value)| go(value)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchArm {
    pub pattern: Pattern,
    /// For `some x`, the slot that receives the present value.
    pub bind: Option<LocalSlot>,
    pub body: Expr,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Pattern {
    /// An enum variant, by index.
    Variant(u32),
    /// A literal value (integers, text, booleans).
    Literal(Value),
    /// A present optional value.
    Some,
    /// An absent optional value.
    None,
    /// `_`: anything.
    Wildcard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UnaryOp {
    Not,
    NegInteger,
    NegDecimal,
    /// Integer to Decimal or Money (exact).
    IntegerToDecimal,
    /// Decimal to Money, or Money to Decimal: the same number, another unit (exact).
    Retype,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BinaryOp {
    AddInteger,
    SubInteger,
    MulInteger,
    /// Integer ÷ Integer is a Decimal.
    DivInteger,
    /// Addition of Decimals or of Money.
    AddDecimal,
    SubDecimal,
    MulDecimal,
    /// Division of Decimals or Money (Money ÷ Decimal is Money, Money ÷ Money is Decimal).
    DivDecimal,
    /// Equality on any two values of the same type.
    Eq,
    Ne,
    /// Ordering on two values of the same ordered type (numbers, dates, months, quarters, text).
    Lt,
    Le,
    Gt,
    Ge,
    /// Membership of the left value in the right list.
    In,
    NotIn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AggregateKind {
    /// Sum of Integers (an empty list gives 0).
    SumInteger,
    /// Sum of Decimals or Money (an empty list gives 0).
    SumDecimal,
    Count,
    Any,
    All,
    /// The elements for which the filter holds (a list).
    Filter,
    /// The body for each element that passes the filter (a list).
    Map,
    /// The concatenation of the body lists.
    FlatMap,
    /// The least body value, or absent on an empty list.
    Min,
    /// The greatest body value, or absent on an empty list.
    Max,
}

/// The rounding strategies a policy names (defined beside the decimal operations that apply
/// them).
pub use crate::decimal::RoundingMode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Builtin {
    /// `add_months(date, n)`: clipped to the month's last day (2024-08-31 + 6 = 2025-02-28).
    AddMonths,
    /// `add_days(date, n)`.
    AddDays,
    /// `add_years(date, n)`: clipped like `add_months`.
    AddYears,
    /// `age(birth_date, on)`: full years; a 29 February birthday falls on 28 February in common
    /// years.
    Age,
    /// `days_between(a, b)`: b − a in days.
    DaysBetween,
    /// `quarter(date)` or `quarter(month)`: the calendar quarter.
    QuarterOf,
    QuarterOfMonth,
    /// `month(date)`: the month of a date.
    MonthOf,
    /// `previous(quarter)`, `next(quarter)`.
    PreviousQuarter,
    NextQuarter,
    PreviousMonth,
    NextMonth,
    /// `first_day(quarter)` / `last_day(quarter)`.
    QuarterFirstDay,
    QuarterLastDay,
    MonthFirstDay,
    MonthLastDay,
    /// `contains(quarter, month)`.
    QuarterContainsMonth,
    /// `year(date)`.
    YearOf,
    /// `make_date(y, m, d)`: an error on an impossible date.
    MakeDate,
    /// `add_working_days(calendar, date, n)`: the first argument is `Const(Integer(calendar id))`.
    /// With n = 1 from a date D: the first working day after D.
    AddWorkingDays,
    /// `is_working_day(calendar, date)`.
    IsWorkingDay,
    /// `length(list)`.
    Length,
    /// `contains(list, value)`.
    ListContains,
    /// `abs(number)`.
    AbsInteger,
    AbsDecimal,
    /// `min(a, b)`, `max(a, b)` of two values of one ordered type.
    Min2,
    Max2,
    /// `money(x)`: an Integer or Decimal as Money.
    ToMoney,
    /// `decimal(x)`: an Integer or Money as Decimal.
    ToDecimal,
    /// `text(x)`: any value as text (enum names, dates in ISO form, numbers as written).
    ToText,
    /// `is_empty(list)`.
    IsEmpty,
}

/// Adds the items a node enters when it is evaluated (items, calls, group members).
fn entered_items(policy: &Policy, expr: &Expr, entered: &mut Vec<usize>) {
    match expr {
        Expr::Item(id) | Expr::Call(id, _) | Expr::ExceptionApplied(id) => {
            entered.push(*id as usize)
        }
        Expr::Holding(group) | Expr::GroupSum(group) | Expr::GroupValues(group) => {
            if let Some(group) = policy.groups.get(*group as usize) {
                entered.extend(group.members.iter().map(|member| member.item as usize));
            }
        }
        _ => {}
    }
}
