//! The fast case reader: JSON text straight into typed [`Value`]s, driven by the policy's
//! record types through a serde [`DeserializeSeed`], with no intermediate `serde_json::Value`.
//!
//! It only ever succeeds on a case that the checked reader of `case.rs` also accepts, giving the
//! same values. On the first problem of any kind (bad syntax, a wrong type, a missing or unknown
//! or repeated key, a broken constraint or limit) it gives up with [`GiveUp`], and the caller
//! runs the checked reader, which finds the problem again and reports it with its code, JSON
//! pointer and message. Errors are rare in a batch, so reading them twice costs nothing, and
//! the error texts have one source only.

use std::sync::Arc;

use rust_decimal::Decimal;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{is_plain_decimal, parse_date, parse_month, push_key, NUMBER_TOKEN};
use crate::ir::{FieldDef, JsonLiteral, Policy, Type, TypeDef};
use crate::limits::Limits;
use crate::value::{Date, Quarter, Record, Value};

/// The fast reader could not read the case; the checked reader says why.
pub(crate) struct GiveUp;

/// What the fast reader gives: the case root, the case id and the as-of date.
pub(crate) struct FastCase {
    pub root: Value,
    pub case_id: Option<String>,
    pub as_of: Option<Date>,
}

pub(crate) fn read(policy: &Policy, limits: &Limits, text: &str) -> Result<FastCase, GiveUp> {
    let mut context = Context {
        policy,
        limits,
        path: String::new(),
        depth: 0,
        case_id: None,
        capture_id: false,
        constraint_path: String::new(),
    };
    let root_type = Type::Record(policy.input.record);
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let root = TypedSeed {
        context: &mut context,
        ty: &root_type,
        field: None,
        root: true,
    }
    .deserialize(&mut deserializer)
    .map_err(|_| GiveUp)?;
    deserializer.end().map_err(|_| GiveUp)?;
    let as_of = match (&root, policy.input.as_of_field) {
        (Value::Record(record), Some(index)) => match record.fields.get(index as usize) {
            Some(Value::Date(date)) => Some(*date),
            _ => None,
        },
        _ => None,
    };
    Ok(FastCase {
        root,
        case_id: context.case_id,
        as_of,
    })
}

struct Context<'p> {
    policy: &'p Policy,
    limits: &'p Limits,
    /// The JSON pointer of the value being read, kept for the records' paths.
    path: String,
    /// How many objects and arrays enclose the value being read.
    depth: u32,
    case_id: Option<String>,
    /// The next string or number read is the case id.
    capture_id: bool,
    /// A buffer for `check_constraints`, whose path is used only in errors.
    constraint_path: String,
}

impl Context<'_> {
    fn enter<E: de::Error>(&mut self) -> Result<(), E> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(give_up());
        }
        Ok(())
    }
}

fn give_up<E: de::Error>() -> E {
    E::custom("the fast reader gives up")
}

/// A key of a JSON object, borrowed from the text when it has no escapes.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(text) => text,
            Key::Owned(text) => text,
        }
    }
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key<'de>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key<'de>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a key")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Key<'de>, E> {
        Ok(Key::Borrowed(text))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Key<'de>, E> {
        Ok(Key::Owned(text.to_string()))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Key<'de>, E> {
        Ok(Key::Owned(text))
    }
}

/// Reads one value of type `ty`; for a record field, `field` is its definition.
struct TypedSeed<'c, 'p> {
    context: &'c mut Context<'p>,
    ty: &'p Type,
    field: Option<&'p FieldDef>,
    root: bool,
}

impl<'de> DeserializeSeed<'de> for TypedSeed<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// The type under any `Optional`s.
fn base_type(mut ty: &Type) -> &Type {
    while let Type::Optional(inner) = ty {
        ty = inner;
    }
    ty
}

impl<'p> TypedSeed<'_, 'p> {
    /// Checks a field's constraints on a value just read.
    fn finish<E: de::Error>(self, value: Value) -> Result<Value, E> {
        if let Some(field) = self.field {
            if !field.constraints.is_empty() {
                let path = &mut self.context.constraint_path;
                path.clear();
                if super::check_constraints(&value, &field.constraints, path).is_err() {
                    return Err(give_up());
                }
            }
        }
        Ok(value)
    }

    fn number<E: de::Error>(self, text: &str) -> Result<Value, E> {
        if std::mem::take(&mut self.context.capture_id) {
            self.context.case_id = Some(text.to_string());
        }
        let value = match base_type(self.ty) {
            Type::Integer => Value::Integer(text.parse::<i64>().map_err(|_| give_up())?),
            Type::Decimal => Value::Decimal(number_decimal(text, None)?),
            Type::Money => Value::Decimal(number_decimal(text, Some(2))?),
            Type::Enum(id) => {
                let number = text.parse::<i64>().ok();
                let index = self.enum_variant(*id, |literal| match literal {
                    JsonLiteral::Integer(expected) => number == Some(*expected),
                    JsonLiteral::Text(_) => false,
                })?;
                Value::Enum(index)
            }
            _ => return Err(give_up()),
        };
        self.finish(value)
    }

    fn enum_variant<E: de::Error>(
        &self,
        id: u32,
        matches: impl Fn(&JsonLiteral) -> bool,
    ) -> Result<u32, E> {
        let Some(TypeDef::Enum(definition)) = self.context.policy.types.get(id as usize) else {
            return Err(give_up());
        };
        definition
            .variants
            .iter()
            .position(|variant| matches(&variant.json))
            .and_then(|index| u32::try_from(index).ok())
            .ok_or_else(give_up)
    }

    fn record<'de, A: MapAccess<'de>>(
        &mut self,
        id: u32,
        first: Key<'de>,
        mut entries: A,
    ) -> Result<Value, A::Error> {
        let policy = self.context.policy;
        let Some(TypeDef::Record(definition)) = policy.types.get(id as usize) else {
            return Err(give_up());
        };
        let count = definition.fields.len();
        let mut fields: Vec<Value> = vec![Value::Absent; count];
        let mut seen = Seen::new(count);
        // Cases usually give the fields in declaration order: the field after the last one
        // read is tried first.
        let mut expected = 0usize;
        let id_field = if self.root {
            policy.input.id_field.map(|index| index as usize)
        } else {
            None
        };
        let record_path: Arc<str> = Arc::from(self.context.path.as_str());
        let mut key = Some(first);
        while let Some(name) = key {
            let name = name.as_str();
            let index = match definition.fields.get(expected) {
                Some(field) if field.name == name => expected,
                _ => match definition
                    .fields
                    .iter()
                    .position(|field| field.name == name)
                {
                    Some(index) => index,
                    None => return Err(give_up()),
                },
            };
            expected = index + 1;
            if seen.insert(index) {
                return Err(give_up());
            }
            let Some(field) = definition.fields.get(index) else {
                return Err(give_up());
            };
            let length = self.context.path.len();
            push_key(&mut self.context.path, name);
            self.context.capture_id = id_field == Some(index);
            fields[index] = entries.next_value_seed(TypedSeed {
                context: &mut *self.context,
                ty: &field.ty,
                field: Some(field),
                root: false,
            })?;
            self.context.capture_id = false;
            self.context.path.truncate(length);
            key = entries.next_key_seed(KeySeed)?;
        }
        for (index, field) in definition.fields.iter().enumerate() {
            if !seen.contains(index) {
                if field.required {
                    return Err(give_up());
                }
                if let Some(default) = &field.default {
                    fields[index] = default.clone();
                }
            }
        }
        Ok(Value::Record(Arc::new(Record {
            path: Some(record_path),
            fields: fields.into_boxed_slice(),
        })))
    }

    fn map<'de, A: MapAccess<'de>>(
        &mut self,
        element: &'p Type,
        first: Key<'de>,
        mut entries: A,
    ) -> Result<Value, A::Error> {
        let mut values: Vec<(Arc<str>, Value)> = Vec::new();
        let mut key = Some(first);
        while let Some(name) = key {
            let name = name.as_str();
            let length = self.context.path.len();
            push_key(&mut self.context.path, name);
            let value = entries.next_value_seed(TypedSeed {
                context: &mut *self.context,
                ty: element,
                field: None,
                root: false,
            })?;
            self.context.path.truncate(length);
            values.push((Arc::from(name), value));
            key = entries.next_key_seed(KeySeed)?;
        }
        // A JSON object's keys in the order the checked reader gives them (sorted), each once.
        values.sort_by(|left, right| left.0.cmp(&right.0));
        if values.windows(2).any(|pair| pair[0].0 == pair[1].0) {
            return Err(give_up());
        }
        Ok(Value::Map(Arc::from(values)))
    }

    fn object<'de, A: MapAccess<'de>>(
        &mut self,
        declared: &'p [(String, Type)],
        first: Key<'de>,
        mut entries: A,
    ) -> Result<Value, A::Error> {
        let mut values: Vec<Option<Value>> = vec![None; declared.len()];
        let mut key = Some(first);
        while let Some(name) = key {
            let name = name.as_str();
            let Some(index) = declared.iter().position(|(declared, _)| declared == name) else {
                return Err(give_up());
            };
            if values[index].is_some() {
                return Err(give_up());
            }
            let length = self.context.path.len();
            push_key(&mut self.context.path, name);
            values[index] = Some(entries.next_value_seed(TypedSeed {
                context: &mut *self.context,
                ty: &declared[index].1,
                field: None,
                root: false,
            })?);
            self.context.path.truncate(length);
            key = entries.next_key_seed(KeySeed)?;
        }
        let mut result = Vec::with_capacity(declared.len());
        for ((name, ty), value) in declared.iter().zip(values) {
            let value = match value {
                Some(value) => value,
                None if matches!(ty, Type::Optional(_)) => Value::Absent,
                None => return Err(give_up()),
            };
            result.push((Arc::from(name.as_str()), value));
        }
        Ok(Value::Map(Arc::from(result)))
    }
}

/// Which fields of a record were read: a bit set in one word for records of up to 64 fields.
enum Seen {
    Word(u64),
    Many(Vec<bool>),
}

impl Seen {
    fn new(count: usize) -> Seen {
        if count <= 64 {
            Seen::Word(0)
        } else {
            Seen::Many(vec![false; count])
        }
    }

    /// Marks field `index` as read, and tells whether it had been read already.
    fn insert(&mut self, index: usize) -> bool {
        match self {
            Seen::Word(bits) => {
                let bit = 1u64 << index;
                let before = *bits & bit != 0;
                *bits |= bit;
                before
            }
            Seen::Many(flags) => match flags.get_mut(index) {
                Some(flag) => std::mem::replace(flag, true),
                None => true,
            },
        }
    }

    fn contains(&self, index: usize) -> bool {
        match self {
            Seen::Word(bits) => index < 64 && *bits & (1u64 << index) != 0,
            Seen::Many(flags) => flags.get(index).copied().unwrap_or(false),
        }
    }
}

/// A JSON number as an exact decimal, as the checked reader reads it.
fn number_decimal<E: de::Error>(text: &str, max_places: Option<u32>) -> Result<Decimal, E> {
    let parsed = if text.contains(['e', 'E']) {
        Decimal::from_scientific(text)
    } else {
        Decimal::from_str_exact(text)
    };
    let value = parsed.map_err(|_| give_up())?;
    if max_places.is_some_and(|places| value.scale() > places) {
        return Err(give_up());
    }
    Ok(value)
}

impl<'de> Visitor<'de> for TypedSeed<'_, '_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a value of the case")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.context.capture_id = false;
        match self.field {
            // A null field: an error when required, else the default.
            Some(field) if field.required => Err(give_up()),
            Some(field) => Ok(field.default.clone().unwrap_or(Value::Absent)),
            None if matches!(self.ty, Type::Optional(_)) => Ok(Value::Absent),
            None => Err(give_up()),
        }
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Value, E> {
        self.context.capture_id = false;
        match base_type(self.ty) {
            Type::Bool => self.finish(Value::Bool(value)),
            _ => Err(give_up()),
        }
    }

    // Integers that fit 64 bits come as such; `serde_json::Number` keeps them as their decimal
    // digits, which the checked reader reads, so the same digits are read here.
    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Value, E> {
        self.number(integer_text(false, value).as_str())
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Value, E> {
        self.number(integer_text(value < 0, value.unsigned_abs()).as_str())
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Value, E> {
        if std::mem::take(&mut self.context.capture_id) {
            self.context.case_id = Some(text.to_string());
        }
        if self.context.limits.text_too_long(text) {
            return Err(give_up());
        }
        let value = match base_type(self.ty) {
            Type::Text | Type::RuleId => Value::text(text),
            Type::Date => Value::Date(parse_date(text).map_err(|_| give_up())?),
            Type::Month => Value::Month(parse_month(text).map_err(|_| give_up())?),
            Type::Quarter => Value::Quarter(Quarter::parse(text).ok_or_else(give_up)?),
            Type::Decimal | Type::Money => {
                if !is_plain_decimal(text) {
                    return Err(give_up());
                }
                let value = Decimal::from_str_exact(text).map_err(|_| give_up())?;
                if matches!(base_type(self.ty), Type::Money) && value.scale() > 2 {
                    return Err(give_up());
                }
                Value::Decimal(value)
            }
            Type::Enum(id) => Value::Enum(self.enum_variant(*id, |literal| match literal {
                JsonLiteral::Text(expected) => expected == text,
                JsonLiteral::Integer(_) => false,
            })?),
            _ => return Err(give_up()),
        };
        self.finish(value)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        self.context.capture_id = false;
        let Type::List(element) = base_type(self.ty) else {
            return Err(give_up());
        };
        self.context.enter()?;
        let mut values = Vec::new();
        loop {
            let length = self.context.path.len();
            self.context.path.push('/');
            self.context
                .path
                .push_str(integer_text(false, values.len() as u64).as_str());
            let item = items.next_element_seed(TypedSeed {
                context: &mut *self.context,
                ty: element,
                field: None,
                root: false,
            })?;
            self.context.path.truncate(length);
            match item {
                Some(value) => {
                    if values.len() == self.context.limits.max_list_items {
                        return Err(give_up());
                    }
                    values.push(value);
                }
                None => break,
            }
        }
        self.context.depth -= 1;
        self.finish(Value::List(Arc::from(values)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        let Some(first) = entries.next_key_seed(KeySeed)? else {
            self.context.capture_id = false;
            self.context.enter()?;
            self.context.depth -= 1;
            let value = match base_type(self.ty) {
                Type::Map(_) => Value::Map(Arc::from(Vec::new())),
                // An empty object: every field is missing.
                Type::Record(id) => self.empty_record(*id)?,
                Type::Object(declared) => {
                    if declared
                        .iter()
                        .any(|(_, ty)| !matches!(ty, Type::Optional(_)))
                    {
                        return Err(give_up());
                    }
                    let entries: Vec<(Arc<str>, Value)> = declared
                        .iter()
                        .map(|(name, _)| (Arc::from(name.as_str()), Value::Absent))
                        .collect();
                    Value::Map(Arc::from(entries))
                }
                _ => return Err(give_up()),
            };
            return self.finish(value);
        };
        if first.as_str() == NUMBER_TOKEN {
            let number: String = entries.next_value()?;
            return self.number(&number);
        }
        self.context.capture_id = false;
        self.context.enter()?;
        let ty = self.ty;
        let mut seed = self;
        let value = match base_type(ty) {
            Type::Record(id) => seed.record(*id, first, entries)?,
            Type::Map(element) => seed.map(element, first, entries)?,
            Type::Object(declared) => seed.object(declared, first, entries)?,
            _ => return Err(give_up()),
        };
        seed.context.depth -= 1;
        seed.finish(value)
    }
}

impl TypedSeed<'_, '_> {
    fn empty_record<E: de::Error>(&self, id: u32) -> Result<Value, E> {
        let Some(TypeDef::Record(definition)) = self.context.policy.types.get(id as usize) else {
            return Err(give_up());
        };
        let mut fields = Vec::with_capacity(definition.fields.len());
        for field in &definition.fields {
            if field.required {
                return Err(give_up());
            }
            fields.push(field.default.clone().unwrap_or(Value::Absent));
        }
        Ok(Value::Record(Arc::new(Record {
            path: Some(Arc::from(self.context.path.as_str())),
            fields: fields.into_boxed_slice(),
        })))
    }
}

/// The decimal digits of an integer, with a minus sign when `negative`, without allocating.
fn integer_text(negative: bool, magnitude: u64) -> IntegerText {
    let mut buffer = [0u8; 21];
    let mut position = buffer.len();
    let mut rest = magnitude;
    loop {
        position -= 1;
        buffer[position] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if negative {
        position -= 1;
        buffer[position] = b'-';
    }
    IntegerText { buffer, position }
}

struct IntegerText {
    buffer: [u8; 21],
    position: usize,
}

impl IntegerText {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buffer[self.position..]).unwrap_or("0")
    }
}
