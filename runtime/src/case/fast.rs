//! The fast case reader: JSON text straight into typed [`Value`]s, driven by the policy's
//! record types, with no intermediate `serde_json::Value` and no serde machinery.
//!
//! It is a small recursive-descent parser over the bytes of the text that reads only what the
//! input record's types expect, and it is at least as strict as `serde_json` (the parser of the
//! checked reader): the JSON grammar of RFC 8259, the same whitespace, no control characters in
//! strings, no lone surrogates, no leading zeros, and nesting shallower than `serde_json`'s own
//! limit. Whatever it is not sure of, it refuses.
//!
//! It only ever succeeds on a case that the checked reader of `case.rs` also accepts, giving the
//! same values. On the first problem of any kind (bad syntax, a wrong type, a missing or unknown
//! or repeated key, a broken constraint or limit) it gives up with [`GiveUp`], and the caller
//! runs the checked reader, which finds the problem again and reports it with its code, JSON
//! pointer and message. Errors are rare in a batch, so reading them twice costs nothing, and
//! the error texts have one source only.
//!
//! Why not serde: a `DeserializeSeed` over `serde_json` was the previous fast reader, and about
//! half of its time went to the visitor calls and to the `String` that `serde_json` (with
//! `arbitrary_precision`) allocates for every number. Here numbers, keys and strings without
//! escapes are borrowed from the text, and a record's JSON pointer is built only for fields
//! that can hold records.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use rust_decimal::Decimal;

use super::{is_plain_decimal, parse_date};
use crate::ir::{Constraint, FieldDef, JsonLiteral, Policy, Type, TypeDef};
use crate::json_text::escape_marks;
use crate::json_text::push_key;
use crate::limits::Limits;
use crate::value::{same_text, Date, Key, Month, Quarter, Record, Value};

/// The fast reader could not read the case; the checked reader says why.
pub(crate) struct GiveUp;

/// What the fast reader gives: the case root, the case id and the as-of date.
pub(crate) struct FastCase {
    pub root: Value,
    pub case_id: Option<String>,
    pub as_of: Option<Date>,
}

/// The deepest nesting `serde_json` accepts (it refuses the 128th level): the checked reader
/// reports deeper cases as invalid JSON whatever the limits say, so this reader refuses them.
const PARSER_DEPTH_LIMIT: u32 = 127;

/// The texts that recur from case to case (record paths such as `/members/0`, the keys of
/// objects and maps), shared between cases: a case then takes a reference to the text instead
/// of allocating it, and freeing the case gives the reference back instead of freeing it. Record
/// paths alone were a quarter of the allocations of a case. The values are the same texts, so
/// nothing that reads them can tell.
///
/// The set is the thread's own (each worker of a batch has one) and stays small: texts longer
/// than [`LONGEST_SHARED_TEXT`] are not shared, and the set is emptied when it holds
/// [`MOST_SHARED_TEXTS`], so its memory is bounded however many cases a thread reads.
#[derive(Default)]
struct SharedTexts {
    texts: HashSet<Arc<str>, BuildHasherDefault<WordHasher>>,
    /// The keys of objects and maps, kept the same way (a key is not an `Arc<str>`: see
    /// [`Key`]).
    keys: HashSet<Key, BuildHasherDefault<WordHasher>>,
}

/// Texts longer than this (in bytes) are not shared: recurring paths and keys are short.
const LONGEST_SHARED_TEXT: usize = 64;

/// The most texts a thread keeps shared (a few hundred kilobytes at most).
const MOST_SHARED_TEXTS: usize = 4096;

impl SharedTexts {
    /// The shared text equal to `text`, made and kept when it is new.
    fn get(&mut self, text: &str) -> Arc<str> {
        if text.len() > LONGEST_SHARED_TEXT {
            return Arc::from(text);
        }
        if let Some(shared) = self.texts.get(text) {
            return Arc::clone(shared);
        }
        if self.texts.len() >= MOST_SHARED_TEXTS {
            self.texts.clear();
        }
        let shared: Arc<str> = Arc::from(text);
        self.texts.insert(Arc::clone(&shared));
        shared
    }

    /// The shared key equal to `text`, made and kept when it is new.
    fn key(&mut self, text: &str) -> Key {
        if text.len() > LONGEST_SHARED_TEXT {
            return Key::from(text);
        }
        if let Some(shared) = self.keys.get(text) {
            return shared.clone();
        }
        if self.keys.len() >= MOST_SHARED_TEXTS {
            self.keys.clear();
        }
        let shared = Key::from(text);
        self.keys.insert(shared.clone());
        shared
    }
}

/// A hasher for short texts: a multiply-rotate step per eight bytes. The default hasher
/// (SipHash) resists chosen collisions, which a set of paths and keys bounded in size and
/// emptied when full does not need, and costs several times more.
#[derive(Default)]
struct WordHasher {
    hash: u64,
}

impl WordHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
        }
        let mut last = [0u8; 8];
        let remainder = chunks.remainder();
        if let Some(start) = last.get_mut(..remainder.len()) {
            start.copy_from_slice(remainder);
        }
        self.add(u64::from_le_bytes(last) ^ ((remainder.len() as u64) << 59));
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

/// What a thread keeps from one case to the next: the shared texts, and the reader's path and
/// item buffers, so that a case allocates neither.
#[derive(Default)]
struct ThreadBuffers {
    texts: SharedTexts,
    path: String,
    items: Vec<Value>,
}

/// Path and item buffers that grew past this (for an unusual case) are not kept.
const LARGEST_KEPT_BUFFER: usize = 4096;

thread_local! {
    /// The thread's buffers, taken out by [`read`] for the length of one case.
    static THREAD_BUFFERS: Cell<Option<Box<ThreadBuffers>>> = const { Cell::new(None) };
}

pub(crate) fn read(policy: &Policy, limits: &Limits, text: &str) -> Result<FastCase, GiveUp> {
    // One access to the thread-local a case: the buffers are moved into the reader and back.
    let mut buffers = THREAD_BUFFERS.with(Cell::take).unwrap_or_default();
    let root_type = Type::Record(policy.input.record);
    let mut path = std::mem::take(&mut buffers.path);
    path.clear();
    let mut items = std::mem::take(&mut buffers.items);
    items.clear();
    let mut reader = Reader {
        shared: &mut buffers.texts,
        text,
        bytes: text.as_bytes(),
        position: 0,
        policy,
        limits,
        path,
        depth: 0,
        case_id: None,
        constraint_path: String::new(),
        items,
    };
    let result = read_root(&mut reader, policy, &root_type);
    let (path, mut items) = (reader.path, reader.items);
    // Items left by a case given up on are let go now, not with the next case.
    items.clear();
    if path.capacity() <= LARGEST_KEPT_BUFFER {
        buffers.path = path;
    }
    if items.capacity() <= LARGEST_KEPT_BUFFER {
        buffers.items = items;
    }
    THREAD_BUFFERS.with(|slot| slot.set(Some(buffers)));
    result
}

/// Reads the whole text as the input record, with `reader` at its start.
fn read_root<'p>(
    reader: &mut Reader<'_, 'p, '_>,
    policy: &Policy,
    root_type: &'p Type,
) -> Result<FastCase, GiveUp> {
    reader.skip_whitespace();
    if reader.peek() != Some(b'{') {
        return Err(GiveUp);
    }
    let root = reader.object_value(root_type, true)?;
    reader.skip_whitespace();
    if reader.position != reader.bytes.len() {
        return Err(GiveUp);
    }
    let as_of = match (&root, policy.input.as_of_field) {
        (Value::Record(record), Some(index)) => match record.fields.get(index as usize) {
            Some(Value::Date(date)) => Some(*date),
            _ => None,
        },
        _ => None,
    };
    Ok(FastCase {
        root,
        case_id: reader.case_id.take(),
        as_of,
    })
}

struct Reader<'t, 'p, 's> {
    /// The thread's shared texts, for record paths and object and map keys.
    shared: &'s mut SharedTexts,
    text: &'t str,
    bytes: &'t [u8],
    /// The byte offset of the next byte to read.
    position: usize,
    policy: &'p Policy,
    limits: &'p Limits,
    /// The JSON pointer of the value being read, kept for the records' paths: it holds the
    /// steps down to the innermost value that can hold records, not to every scalar.
    path: String,
    /// How many objects and arrays enclose the value being read.
    depth: u32,
    case_id: Option<String>,
    /// A buffer for `check_constraints`, whose path is used only in errors.
    constraint_path: String,
    /// The items of the arrays being read, innermost last: one buffer for the whole case, so
    /// that a list is allocated once, at its final size.
    items: Vec<Value>,
}

/// The type under any `Optional`s.
fn base_type(mut ty: &Type) -> &Type {
    while let Type::Optional(inner) = ty {
        ty = inner;
    }
    ty
}

/// Whether a value of type `ty` can hold a record, whose path must then be known.
fn holds_records(ty: &Type) -> bool {
    matches!(
        base_type(ty),
        Type::Record(_) | Type::List(_) | Type::Map(_) | Type::Object(_)
    )
}

impl<'t, 'p> Reader<'t, 'p, '_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.position).copied()
    }

    /// Skips JSON whitespace: space, tab, line feed and carriage return, as `serde_json` does.
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.position += 1;
        }
    }

    /// Consumes `byte` after any whitespace, or gives up.
    fn expect(&mut self, byte: u8) -> Result<(), GiveUp> {
        self.skip_whitespace();
        if self.peek() == Some(byte) {
            self.position += 1;
            Ok(())
        } else {
            Err(GiveUp)
        }
    }

    /// Consumes the literal `word` (`true`, `false`, `null`), or gives up.
    fn literal(&mut self, word: &[u8]) -> Result<(), GiveUp> {
        let end = self.position + word.len();
        if self.bytes.get(self.position..end) == Some(word) {
            self.position = end;
            Ok(())
        } else {
            Err(GiveUp)
        }
    }

    /// After a member of an object or an item of an array: whether another one follows (a
    /// comma), or the object or array ends (`close`).
    fn another(&mut self, close: u8) -> Result<bool, GiveUp> {
        self.skip_whitespace();
        match self.peek() {
            Some(b',') => {
                self.position += 1;
                Ok(true)
            }
            Some(byte) if byte == close => {
                self.position += 1;
                Ok(false)
            }
            _ => Err(GiveUp),
        }
    }

    fn enter(&mut self) -> Result<(), GiveUp> {
        self.depth += 1;
        if self.depth > self.limits.max_depth || self.depth > PARSER_DEPTH_LIMIT {
            return Err(GiveUp);
        }
        Ok(())
    }

    /// Reads a string whose opening quote is the next byte: borrowed from the text when it has
    /// no escapes.
    fn string(&mut self) -> Result<Cow<'t, str>, GiveUp> {
        self.position += 1;
        let start = self.position;
        self.position = start + plain_length(self.bytes.get(start..).ok_or(GiveUp)?);
        match self.peek() {
            Some(b'"') => {
                let text = self.text.get(start..self.position).ok_or(GiveUp)?;
                self.position += 1;
                Ok(Cow::Borrowed(text))
            }
            Some(b'\\') => self.escaped_string(start).map(Cow::Owned),
            _ => Err(GiveUp),
        }
    }

    /// The rest of a string that has escapes, from its start: `self.position` is at the first
    /// backslash. Lone surrogates (which `serde_json` refuses) and unknown escapes give up.
    fn escaped_string(&mut self, start: usize) -> Result<String, GiveUp> {
        let mut text = String::from(self.text.get(start..self.position).ok_or(GiveUp)?);
        loop {
            let run_start = self.position;
            while let Some(byte) = self.peek() {
                if byte == b'"' || byte == b'\\' || byte < 0x20 {
                    break;
                }
                self.position += 1;
            }
            // The run ends before an ASCII byte, so it ends on a character boundary.
            text.push_str(self.text.get(run_start..self.position).ok_or(GiveUp)?);
            match self.peek() {
                Some(b'"') => {
                    self.position += 1;
                    return Ok(text);
                }
                Some(b'\\') => {
                    let escape = self.bytes.get(self.position + 1).copied().ok_or(GiveUp)?;
                    self.position += 2;
                    let character = match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hex = self
                                .text
                                .get(self.position..self.position + 4)
                                .ok_or(GiveUp)?;
                            if !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
                                return Err(GiveUp);
                            }
                            let code = u32::from_str_radix(hex, 16).map_err(|_| GiveUp)?;
                            self.position += 4;
                            // Surrogate pairs are rare enough to leave to the checked reader.
                            char::from_u32(code).ok_or(GiveUp)?
                        }
                        _ => return Err(GiveUp),
                    };
                    text.push(character);
                }
                _ => return Err(GiveUp),
            }
        }
    }

    /// Reads a number's text, which must follow the JSON grammar:
    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Result<&'t str, GiveUp> {
        let start = self.position;
        if self.peek() == Some(b'-') {
            self.position += 1;
        }
        match self.peek() {
            Some(b'0') => self.position += 1,
            Some(b'1'..=b'9') => self.digits()?,
            _ => return Err(GiveUp),
        }
        if self.peek() == Some(b'.') {
            self.position += 1;
            self.digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.position += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.position += 1;
            }
            self.digits()?;
        }
        self.text.get(start..self.position).ok_or(GiveUp)
    }

    /// Consumes one digit or more.
    fn digits(&mut self) -> Result<(), GiveUp> {
        let start = self.position;
        while let Some(b'0'..=b'9') = self.peek() {
            self.position += 1;
        }
        if self.position == start {
            return Err(GiveUp);
        }
        Ok(())
    }

    /// Reads an object's key and the colon after it.
    fn key(&mut self) -> Result<Cow<'t, str>, GiveUp> {
        self.skip_whitespace();
        if self.peek() != Some(b'"') {
            return Err(GiveUp);
        }
        let key = self.string()?;
        self.expect(b':')?;
        Ok(key)
    }

    /// Reads one value of type `ty`; for a record field, `field` is its definition, and
    /// `capture_id` says that the field is the case id.
    fn value(
        &mut self,
        ty: &'p Type,
        field: Option<&'p FieldDef>,
        capture_id: bool,
    ) -> Result<Value, GiveUp> {
        self.skip_whitespace();
        let value = match self.peek().ok_or(GiveUp)? {
            b'"' => {
                let text = self.string()?;
                if capture_id {
                    self.case_id = Some(text.to_string());
                }
                self.text_value(ty, &text)?
            }
            b'-' | b'0'..=b'9' => {
                let number = self.number()?;
                if capture_id {
                    self.case_id = Some(number.to_string());
                }
                self.number_value(ty, number)?
            }
            b'{' => self.object_value(ty, false)?,
            b'[' => self.list_value(ty)?,
            b't' | b'f' => {
                let value = self.peek() == Some(b't');
                self.literal(if value { b"true" } else { b"false" })?;
                match base_type(ty) {
                    Type::Bool => Value::Bool(value),
                    _ => return Err(GiveUp),
                }
            }
            b'n' => {
                self.literal(b"null")?;
                // A null field: an error when required, else the default; constraints do not
                // apply to it.
                return match field {
                    Some(field) if field.required => Err(GiveUp),
                    Some(field) => Ok(field.default.clone().unwrap_or(Value::Absent)),
                    None if matches!(ty, Type::Optional(_)) => Ok(Value::Absent),
                    None => Err(GiveUp),
                };
            }
            _ => return Err(GiveUp),
        };
        if let Some(field) = field {
            if !field.constraints.is_empty() && !plainly_within(&value, &field.constraints) {
                let path = &mut self.constraint_path;
                path.clear();
                if super::check_constraints(&value, &field.constraints, path).is_err() {
                    return Err(GiveUp);
                }
            }
        }
        Ok(value)
    }

    fn text_value(&self, ty: &Type, text: &str) -> Result<Value, GiveUp> {
        if self.limits.text_too_long(text) {
            return Err(GiveUp);
        }
        Ok(match base_type(ty) {
            Type::Text | Type::RuleId => Value::text(text),
            Type::Date => Value::Date(parse_date(text).map_err(|_| GiveUp)?),
            Type::Month => Value::Month(Month::parse(text).ok_or(GiveUp)?),
            Type::Quarter => Value::Quarter(Quarter::parse(text).ok_or(GiveUp)?),
            Type::Decimal | Type::Money => {
                if !is_plain_decimal(text) {
                    return Err(GiveUp);
                }
                let value = Decimal::from_str_exact(text).map_err(|_| GiveUp)?;
                if matches!(base_type(ty), Type::Money) && value.scale() > 2 {
                    return Err(GiveUp);
                }
                Value::Decimal(value)
            }
            Type::Enum(id) => Value::Enum(self.enum_variant(*id, |literal| match literal {
                JsonLiteral::Text(expected) => expected == text,
                JsonLiteral::Integer(_) => false,
            })?),
            _ => return Err(GiveUp),
        })
    }

    /// A number of type `ty` from its JSON text, read exactly as the checked reader reads it.
    fn number_value(&self, ty: &Type, text: &str) -> Result<Value, GiveUp> {
        if let Some(whole) = plain_whole_number(text) {
            match base_type(ty) {
                Type::Integer => return Ok(Value::Integer(whole)),
                Type::Decimal | Type::Money => return Ok(Value::Decimal(Decimal::from(whole))),
                _ => {}
            }
        }
        Ok(match base_type(ty) {
            Type::Integer => Value::Integer(text.parse::<i64>().map_err(|_| GiveUp)?),
            Type::Decimal => Value::Decimal(number_decimal(text, None)?),
            Type::Money => Value::Decimal(number_decimal(text, Some(2))?),
            Type::Enum(id) => {
                let number = text.parse::<i64>().ok();
                Value::Enum(self.enum_variant(*id, |literal| match literal {
                    JsonLiteral::Integer(expected) => number == Some(*expected),
                    JsonLiteral::Text(_) => false,
                })?)
            }
            _ => return Err(GiveUp),
        })
    }

    fn enum_variant(&self, id: u32, matches: impl Fn(&JsonLiteral) -> bool) -> Result<u32, GiveUp> {
        let Some(TypeDef::Enum(definition)) = self.policy.types.get(id as usize) else {
            return Err(GiveUp);
        };
        definition
            .variants
            .iter()
            .position(|variant| matches(&variant.json))
            .and_then(|index| u32::try_from(index).ok())
            .ok_or(GiveUp)
    }

    /// Reads an array (its `[` is the next byte) as a list of type `ty`.
    fn list_value(&mut self, ty: &'p Type) -> Result<Value, GiveUp> {
        let Type::List(element) = base_type(ty) else {
            return Err(GiveUp);
        };
        self.position += 1;
        self.enter()?;
        let element_holds_records = holds_records(element);
        let start = self.items.len();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.position += 1;
        } else {
            loop {
                let index = self.items.len() - start;
                if index == self.limits.max_list_items {
                    return Err(GiveUp);
                }
                let length = self.path.len();
                if element_holds_records {
                    self.path.push('/');
                    self.path.push_str(integer_text(index as u64).as_str());
                }
                let item = self.value(element, None, false)?;
                self.path.truncate(length);
                self.items.push(item);
                if !self.another(b']')? {
                    break;
                }
            }
        }
        self.depth -= 1;
        let items: Arc<[Value]> = self.items.drain(start..).collect();
        Ok(Value::List(items))
    }

    /// Reads an object (its `{` is the next byte) as a value of type `ty`: a record, a map or
    /// an object with declared keys. `root` says it is the case object.
    fn object_value(&mut self, ty: &'p Type, root: bool) -> Result<Value, GiveUp> {
        self.position += 1;
        self.enter()?;
        self.skip_whitespace();
        let value = if self.peek() == Some(b'}') {
            self.position += 1;
            match base_type(ty) {
                Type::Map(_) => Value::Map(Arc::from(Vec::new())),
                // An empty object: every field is missing.
                Type::Record(id) => self.empty_record(*id)?,
                Type::Object(declared) => {
                    if declared
                        .iter()
                        .any(|(_, ty)| !matches!(ty, Type::Optional(_)))
                    {
                        return Err(GiveUp);
                    }
                    let entries: Vec<(Key, Value)> = declared
                        .iter()
                        .map(|(name, _)| (self.shared.key(name), Value::Absent))
                        .collect();
                    Value::Map(Arc::from(entries))
                }
                _ => return Err(GiveUp),
            }
        } else {
            match base_type(ty) {
                Type::Record(id) => self.record(*id, root)?,
                Type::Map(element) => self.map(element)?,
                Type::Object(declared) => self.object(declared)?,
                _ => return Err(GiveUp),
            }
        };
        self.depth -= 1;
        Ok(value)
    }

    /// The members of a non-empty object read as a record of type `id`.
    fn record(&mut self, id: u32, root: bool) -> Result<Value, GiveUp> {
        let policy = self.policy;
        let Some(TypeDef::Record(definition)) = policy.types.get(id as usize) else {
            return Err(GiveUp);
        };
        let count = definition.fields.len();
        // Filled with `Absent` by writing tags only (`vec![Value::Absent; count]` clones).
        let mut fields: Vec<Value> = Vec::with_capacity(count);
        fields.resize_with(count, || Value::Absent);
        let mut seen = Seen::new(count);
        // Cases usually give the fields in declaration order: the field after the last one
        // read is tried first.
        let mut expected = 0usize;
        let id_field = if root {
            policy.input.id_field.map(|index| index as usize)
        } else {
            None
        };
        let record_path: Arc<str> = self.shared.get(&self.path);
        loop {
            let name = self.key()?;
            let name = name.as_ref();
            // Optional fields are often left out: the search goes on forward from there, and
            // only then from the start.
            let index = definition
                .fields
                .get(expected..)
                .and_then(|rest| rest.iter().position(|field| same_text(&field.name, name)))
                .map(|offset| expected + offset)
                .or_else(|| {
                    definition
                        .fields
                        .iter()
                        .position(|field| same_text(&field.name, name))
                })
                .ok_or(GiveUp)?;
            expected = index + 1;
            if seen.insert(index) {
                return Err(GiveUp);
            }
            let field = definition.fields.get(index).ok_or(GiveUp)?;
            let length = self.path.len();
            if holds_records(&field.ty) {
                push_key(&mut self.path, name);
            }
            let value = self.value(&field.ty, Some(field), id_field == Some(index))?;
            self.path.truncate(length);
            if let Some(slot) = fields.get_mut(index) {
                *slot = value;
            }
            if !self.another(b'}')? {
                break;
            }
        }
        // The fields not read: an error when required, else their default.
        let mut missing = seen.missing(count);
        while let Some(index) = missing.next(&seen, count) {
            let field = definition.fields.get(index).ok_or(GiveUp)?;
            if field.required {
                return Err(GiveUp);
            }
            if let (Some(default), Some(slot)) = (&field.default, fields.get_mut(index)) {
                *slot = default.clone();
            }
        }
        Ok(Value::Record(Arc::new(Record {
            path: Some(record_path),
            fields: fields.into_boxed_slice(),
        })))
    }

    /// The members of a non-empty object read as a map with values of type `element`.
    fn map(&mut self, element: &'p Type) -> Result<Value, GiveUp> {
        let element_holds_records = holds_records(element);
        let mut values: Vec<(Key, Value)> = Vec::new();
        loop {
            let name = self.key()?;
            let length = self.path.len();
            if element_holds_records {
                push_key(&mut self.path, &name);
            }
            let value = self.value(element, None, false)?;
            self.path.truncate(length);
            values.push((self.shared.key(&name), value));
            if !self.another(b'}')? {
                break;
            }
        }
        // A JSON object's keys in the order the checked reader gives them (sorted), each once.
        values.sort_by(|left, right| left.0.cmp(&right.0));
        if values.windows(2).any(|pair| pair[0].0 == pair[1].0) {
            return Err(GiveUp);
        }
        Ok(Value::Map(Arc::from(values)))
    }

    /// The members of a non-empty object read as an object with the `declared` keys.
    fn object(&mut self, declared: &'p [(String, Type)]) -> Result<Value, GiveUp> {
        let mut values: Vec<Option<Value>> = vec![None; declared.len()];
        loop {
            let name = self.key()?;
            let index = declared
                .iter()
                .position(|(declared, _)| *declared == *name)
                .ok_or(GiveUp)?;
            let (_, ty) = declared.get(index).ok_or(GiveUp)?;
            if values.get(index).is_some_and(Option::is_some) {
                return Err(GiveUp);
            }
            let length = self.path.len();
            if holds_records(ty) {
                push_key(&mut self.path, &name);
            }
            let value = self.value(ty, None, false)?;
            self.path.truncate(length);
            if let Some(slot) = values.get_mut(index) {
                *slot = Some(value);
            }
            if !self.another(b'}')? {
                break;
            }
        }
        let mut result = Vec::with_capacity(declared.len());
        for ((name, ty), value) in declared.iter().zip(values) {
            let value = match value {
                Some(value) => value,
                None if matches!(ty, Type::Optional(_)) => Value::Absent,
                None => return Err(GiveUp),
            };
            result.push((self.shared.key(name), value));
        }
        Ok(Value::Map(Arc::from(result)))
    }

    fn empty_record(&mut self, id: u32) -> Result<Value, GiveUp> {
        let Some(TypeDef::Record(definition)) = self.policy.types.get(id as usize) else {
            return Err(GiveUp);
        };
        let mut fields = Vec::with_capacity(definition.fields.len());
        for field in &definition.fields {
            if field.required {
                return Err(GiveUp);
            }
            fields.push(field.default.clone().unwrap_or(Value::Absent));
        }
        Ok(Value::Record(Arc::new(Record {
            path: Some(self.shared.get(&self.path)),
            fields: fields.into_boxed_slice(),
        })))
    }
}

/// Whether `value` plainly satisfies every constraint, decided without the general check: a
/// number at or above a minimum of zero, a text whose byte length alone shows it within its
/// length bounds. `false` means "not plainly": `check_constraints` then decides.
///
/// Rationale: `check min 0` on amounts and `check length 1..32` on ids are most of the checks of
/// a case, and the general check converts every number to a decimal and counts every
/// character.
fn plainly_within(value: &Value, constraints: &[Constraint]) -> bool {
    constraints
        .iter()
        .all(|constraint| match (constraint, value) {
            (Constraint::Min(minimum), Value::Integer(number)) if minimum.is_zero() => *number >= 0,
            (Constraint::Min(minimum), Value::Decimal(number)) if minimum.is_zero() => {
                !number.is_sign_negative() || number.is_zero()
            }
            // A text has at least a quarter as many characters as bytes, and at most as many.
            (Constraint::MinLength(minimum), Value::Text(text)) => {
                text.len() >= 4 * *minimum as usize
                    || (*minimum <= 1 && (*minimum == 0 || !text.is_empty()))
            }
            (Constraint::MaxLength(maximum), Value::Text(text)) => text.len() <= *maximum as usize,
            _ => false,
        })
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

    /// The fields of a record of `count` fields that were not read, in order.
    fn missing(&self, count: usize) -> Missing {
        match self {
            Seen::Word(bits) => {
                let all = if count >= 64 {
                    u64::MAX
                } else {
                    (1u64 << count) - 1
                };
                Missing::Word(all & !bits)
            }
            Seen::Many(_) => Missing::Scan(0),
        }
    }
}

/// An iteration over the fields not read: over the clear bits of the word alone, or a scan.
enum Missing {
    Word(u64),
    Scan(usize),
}

impl Missing {
    fn next(&mut self, seen: &Seen, count: usize) -> Option<usize> {
        match self {
            Missing::Word(bits) => {
                if *bits == 0 {
                    return None;
                }
                let index = bits.trailing_zeros() as usize;
                *bits &= *bits - 1;
                Some(index)
            }
            Missing::Scan(next) => {
                while *next < count {
                    let index = *next;
                    *next += 1;
                    if !seen.contains(index) {
                        return Some(index);
                    }
                }
                None
            }
        }
    }
}

/// How many bytes at the start of `bytes` can be copied into a string as they are: the offset
/// of the first quote, backslash or control character (or the length, when there is none).
///
/// Eight bytes are tested at a time as one word, since strings and keys are most of a case's
/// text. The words may run past the end of the string into the text after it: the lowest
/// marked byte of a word is exactly the first special one (a borrow of the word arithmetic
/// only ever marks bytes above a special byte), so what lies beyond does not matter.
fn plain_length(bytes: &[u8]) -> usize {
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let mut offset = 0;
    while let Some(chunk) = bytes.get(offset..offset + 8) {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let marks = escape_marks(word) & HIGH_BITS;
        if marks != 0 {
            return offset + (marks.trailing_zeros() / 8) as usize;
        }
        offset += 8;
    }
    let rest = bytes.get(offset..).unwrap_or_default();
    offset
        + rest
            .iter()
            .position(|&byte| byte == b'"' || byte == b'\\' || byte < 0x20)
            .unwrap_or(rest.len())
}

/// The value of a number written with digits only (no sign, point or exponent) when it has at
/// most 18 of them, so that it fits an `i64`: most amounts and counts of a case, read without
/// the general parsers. Its `Decimal` is the one `Decimal::from_str_exact` gives (scale 0).
fn plain_whole_number(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 18 {
        return None;
    }
    let mut value = 0i64;
    for byte in text.bytes() {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(byte - b'0');
    }
    Some(value)
}

/// A JSON number as an exact decimal, as the checked reader reads it.
fn number_decimal(text: &str, max_places: Option<u32>) -> Result<Decimal, GiveUp> {
    let parsed = if text.contains(['e', 'E']) {
        Decimal::from_scientific(text)
    } else {
        Decimal::from_str_exact(text)
    };
    let value = parsed.map_err(|_| GiveUp)?;
    if max_places.is_some_and(|places| value.scale() > places) {
        return Err(GiveUp);
    }
    Ok(value)
}

/// The decimal digits of an integer, without allocating.
fn integer_text(magnitude: u64) -> IntegerText {
    let mut buffer = [0u8; 20];
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
    IntegerText { buffer, position }
}

struct IntegerText {
    buffer: [u8; 20],
    position: usize,
}

impl IntegerText {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buffer[self.position..]).unwrap_or("0")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// Whole numbers read by digits give the very decimals (bit for bit) and integers that the
    /// general parsers give.
    #[test]
    fn plain_whole_numbers_read_as_the_general_parsers_read_them() {
        let mut texts: Vec<String> = ["0", "7", "10", "68934", "100000", "999999999999999999"]
            .iter()
            .map(|text| text.to_string())
            .collect();
        for digits in 1..=18 {
            texts.push("9".repeat(digits));
            texts.push(format!("1{}", "0".repeat(digits - 1)));
        }
        for text in &texts {
            let whole = plain_whole_number(text).unwrap();
            assert_eq!(Ok(whole), text.parse::<i64>());
            let exact = Decimal::from_str_exact(text).unwrap();
            assert_eq!(
                Decimal::from(whole).serialize(),
                exact.serialize(),
                "{text}"
            );
            assert_eq!(Decimal::from(whole).to_string(), exact.to_string());
        }
        for text in ["", "-1", "1.0", "1e2", "1000000000000000000", "12a"] {
            assert_eq!(plain_whole_number(text), None, "{text}");
        }
    }

    #[test]
    fn what_is_plainly_within_its_constraints_passes_the_general_check() {
        let numbers = ["0", "0.00", "-0", "-0.01", "1", "-1", "12.5", "-12.5"];
        let texts = ["", "a", "ab", "абв", "日本語", "😀", "abcdefghij", "ж😀ж😀"];
        let mut values: Vec<Value> = Vec::new();
        for number in numbers {
            values.push(Value::Decimal(number.parse().unwrap()));
        }
        values.extend([-1i64, 0, 1, 7].map(Value::Integer));
        values.extend(texts.map(Value::text));
        let bounds = [0u32, 1, 2, 3, 4, 8, 12];
        let mut constraint_sets: Vec<Vec<Constraint>> = vec![
            vec![Constraint::Min(Decimal::ZERO)],
            vec![Constraint::Min(Decimal::ONE)],
            vec![Constraint::Max(Decimal::ZERO)],
        ];
        for minimum in bounds {
            for maximum in bounds {
                constraint_sets.push(vec![
                    Constraint::MinLength(minimum),
                    Constraint::MaxLength(maximum),
                ]);
            }
        }
        let mut plain = 0;
        for value in &values {
            for constraints in &constraint_sets {
                if plainly_within(value, constraints) {
                    plain += 1;
                    let mut path = String::new();
                    assert!(
                        crate::case::check_constraints(value, constraints, &mut path).is_ok(),
                        "{value:?} {constraints:?}"
                    );
                }
            }
        }
        // The quick test decides most of them (the rest go to the general check).
        assert!(plain > 40, "{plain}");
    }

    #[test]
    fn plain_length_stops_at_the_first_special_byte() {
        for length in 0..40usize {
            for special in [b'"', b'\\', 0x01, 0x1f] {
                for position in 0..=length {
                    let mut bytes = vec![b'a'; length];
                    bytes.insert(position, special);
                    bytes.extend_from_slice(b"\"tail");
                    assert_eq!(plain_length(&bytes), position);
                }
            }
            let plain = vec![0xd0u8; length];
            assert_eq!(plain_length(&plain), length);
            // Every byte value as a neighbour before the special byte, and special bytes after.
            for filler in 0x20..=0xffu8 {
                if filler == b'"' || filler == b'\\' {
                    continue;
                }
                for position in 0..=length.min(17) {
                    let mut bytes = vec![filler; length];
                    bytes.insert(position, b'"');
                    bytes.extend_from_slice(&[0x00, b'\\', 0x1f, b'"']);
                    assert_eq!(plain_length(&bytes), position, "{bytes:?}");
                }
            }
        }
    }
}
