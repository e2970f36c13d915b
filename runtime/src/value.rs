//! Runtime values. Money and Decimal are both exact [`Decimal`]s: the unit is a static type, not
//! a tag carried at run time. An optional value that is present is the value itself; an absent
//! one is [`Value::Absent`].

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::decimal::cmp_dec;
use crate::exact::{Number, Ratio};

/// A calendar date (proleptic Gregorian).
pub type Date = chrono::NaiveDate;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Value {
    /// An optional value that is not there.
    Absent,
    Bool(bool),
    Integer(i64),
    /// A Decimal or Money value.
    Decimal(Decimal),
    /// A Decimal or Money value that is not a decimal: the exact quotient of a division that
    /// does not terminate (see `exact.rs`). Behind a pointer, so that a value stays 24 bytes.
    Ratio(Arc<Ratio>),
    Date(Date),
    Month(Month),
    Quarter(Quarter),
    Text(Arc<str>),
    /// An enum variant by index; the enum type is known statically.
    Enum(u32),
    List(Arc<[Value]>),
    Record(Arc<Record>),
    /// An ordered map or fixed-key object.
    Map(Arc<[(Key, Value)]>),
}

/// The key of a map or object value.
///
/// A key that a policy declares (the field of an output object, a rule id of a scorecard) is
/// kept for the rest of the process ([`Key::name`]), so that copying it costs nothing; a key
/// that comes from a case (a member id in a map built with `{ for … }`) is shared text. Keys
/// compare, hash, order and print as their text, whichever they are.
///
/// Both forms are a single pointer, so that a key is 16 bytes and a map entry (a key and a
/// value) 40. Rationale: the scorecard's `criteria` object has 23 entries; at 48 bytes an
/// entry, it took more than the 1024 bytes that the C allocator serves from its per-thread
/// cache, and each decision paid several hundred instructions to allocate it (see
/// `BENCHMARKS.md`). The price is one more indirection when a key's text is read, and one
/// more allocation when a key is made from a case's text, which is rare.
#[derive(Clone)]
pub struct Key(KeyText);

#[derive(Clone)]
enum KeyText {
    Name(&'static &'static str),
    Shared(Arc<Box<str>>),
}

impl Key {
    /// A key a policy declares, kept for the rest of the process (see `intern.rs`): for names,
    /// never for texts that come from cases.
    pub fn name(name: &str) -> Key {
        Key(KeyText::Name(crate::intern::name(name)))
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            KeyText::Name(name) => name,
            KeyText::Shared(text) => text,
        }
    }
}

impl From<Arc<str>> for Key {
    fn from(text: Arc<str>) -> Key {
        Key::from(&*text)
    }
}

impl From<&Arc<str>> for Key {
    fn from(text: &Arc<str>) -> Key {
        Key::from(&**text)
    }
}

impl From<&str> for Key {
    fn from(text: &str) -> Key {
        Key(KeyText::Shared(Arc::new(Box::from(text))))
    }
}

impl From<String> for Key {
    fn from(text: String) -> Key {
        Key(KeyText::Shared(Arc::new(text.into_boxed_str())))
    }
}

impl std::ops::Deref for Key {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Key {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for Key {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        match (&self.0, &other.0) {
            // Kept names are kept once each: the same text is the same reference.
            (KeyText::Name(left), KeyText::Name(right)) => std::ptr::eq(*left, *right),
            _ => self.as_str() == other.as_str(),
        }
    }
}

impl Eq for Key {}

impl PartialEq<str> for Key {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Key {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Display for Key {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), formatter)
    }
}

impl Serialize for Key {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        String::deserialize(deserializer).map(Key::from)
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Absent, Value::Absent) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Integer(a), Value::Integer(b)) => a == b,
            (Value::Decimal(a), Value::Decimal(b)) => a == b,
            (Value::Ratio(a), Value::Ratio(b)) => a == b,
            (Value::Date(a), Value::Date(b)) => a == b,
            (Value::Month(a), Value::Month(b)) => a == b,
            (Value::Quarter(a), Value::Quarter(b)) => a == b,
            (Value::Text(a), Value::Text(b)) => a == b,
            (Value::Enum(a), Value::Enum(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Record(a), Value::Record(b)) => a.fields == b.fields,
            (Value::Map(a), Value::Map(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    /// The ordering of two values of one ordered type; `None` for values that have no order
    /// between them (different types, records, lists).
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            (Value::Integer(a), Value::Integer(b)) => Some(a.cmp(b)),
            // Decimals by `cmp_dec`: the order `Decimal::cmp` gives, without its rescaling.
            (Value::Decimal(a), Value::Decimal(b)) => Some(cmp_dec(*a, *b)),
            (Value::Integer(a), Value::Decimal(b)) => Some(cmp_dec(Decimal::from(*a), *b)),
            (Value::Decimal(a), Value::Integer(b)) => Some(cmp_dec(*a, Decimal::from(*b))),
            (Value::Ratio(_), _) | (_, Value::Ratio(_)) => {
                Some(self.as_number()?.order(other.as_number()?))
            }
            (Value::Date(a), Value::Date(b)) => Some(a.cmp(b)),
            (Value::Month(a), Value::Month(b)) => Some(a.cmp(b)),
            (Value::Quarter(a), Value::Quarter(b)) => Some(a.cmp(b)),
            (Value::Text(a), Value::Text(b)) => Some(a.cmp(b)),
            (Value::Enum(a), Value::Enum(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    pub fn text(s: &str) -> Value {
        Value::Text(Arc::from(s))
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_decimal(&self) -> Option<Decimal> {
        match self {
            Value::Decimal(d) => Some(*d),
            Value::Integer(i) => Some(Decimal::from(*i)),
            _ => None,
        }
    }

    /// The exact number of an Integer, Decimal or Money value.
    #[inline]
    pub fn as_number(&self) -> Option<Number> {
        match self {
            Value::Decimal(d) => Some(Number::Decimal(*d)),
            Value::Integer(i) => Some(Number::Decimal(Decimal::from(*i))),
            Value::Ratio(ratio) => Some(Number::Ratio(**ratio)),
            _ => None,
        }
    }

    /// The value of an exact number: a decimal, or a ratio when it is not one.
    #[inline]
    pub fn number(number: Number) -> Value {
        match number {
            Number::Decimal(d) => Value::Decimal(d),
            Number::Ratio(ratio) => Value::Ratio(Arc::new(ratio)),
        }
    }

    pub fn is_absent(&self) -> bool {
        matches!(self, Value::Absent)
    }
}

/// A record value: fields in declaration order. A record read from a case remembers its JSON
/// pointer (e.g. `/members/2`) so that explanations can cite the facts they used; the path takes
/// no part in equality.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    #[serde(skip)]
    pub path: Option<Arc<str>>,
    pub fields: Box<[Value]>,
}

/// A calendar month, `2025-03`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

/// Whether two short texts are equal, compared a word at a time without a call to `memcmp`.
///
/// Rationale: the case reader matches every key of a case against the record's field names,
/// and the decision writer every key of an output against its type's; the names are short, and
/// the library call was a few per cent of a batch's time.
#[inline]
pub(crate) fn same_text(left: &str, right: &str) -> bool {
    let (left, right) = (left.as_bytes(), right.as_bytes());
    let length = left.len();
    if length != right.len() {
        return false;
    }
    let word = |bytes: &[u8], at: usize| {
        bytes
            .get(at..at + 8)
            .and_then(|chunk| chunk.try_into().ok())
            .map(u64::from_le_bytes)
    };
    let half = |bytes: &[u8], at: usize| {
        bytes
            .get(at..at + 4)
            .and_then(|chunk| chunk.try_into().ok())
            .map(u32::from_le_bytes)
    };
    match length {
        // The first and the last word (or half word), which overlap in the middle: every byte
        // is compared at least once.
        8..=16 => {
            word(left, 0) == word(right, 0) && word(left, length - 8) == word(right, length - 8)
        }
        4..=7 => {
            half(left, 0) == half(right, 0) && half(left, length - 4) == half(right, length - 4)
        }
        0..=3 => left.iter().zip(right).all(|(a, b)| a == b),
        _ => left == right,
    }
}

/// The number written by `digits`, which must all be ASCII digits (at most nine of them).
pub(crate) fn digits_value(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    let mut value = 0u32;
    for &digit in digits {
        if !digit.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u32::from(digit - b'0');
    }
    Some(value)
}

/// A calendar quarter, `2025-Q1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    pub year: i32,
    /// 1 to 4.
    pub quarter: u32,
}

impl Month {
    pub fn new(year: i32, month: u32) -> Option<Month> {
        (1..=12).contains(&month).then_some(Month { year, month })
    }

    /// Parses `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Month> {
        // Four digits, `-`, two digits; the numbers are taken from the digits directly (cases
        // hold many months, and `str::parse` was most of the cost of reading one).
        let bytes = text.as_bytes();
        if bytes.len() != 7 || bytes[4] != b'-' {
            return None;
        }
        let year = digits_value(&bytes[0..4])?;
        let month = digits_value(&bytes[5..7])?;
        Month::new(i32::try_from(year).ok()?, month)
    }

    pub fn quarter(self) -> Quarter {
        Quarter {
            year: self.year,
            quarter: (self.month - 1) / 3 + 1,
        }
    }

    pub fn previous(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }
}

impl Quarter {
    pub fn new(year: i32, quarter: u32) -> Option<Quarter> {
        (1..=4)
            .contains(&quarter)
            .then_some(Quarter { year, quarter })
    }

    /// Parses `YYYY-Qn`.
    pub fn parse(text: &str) -> Option<Quarter> {
        let (year, quarter) = text.split_once("-Q")?;
        if year.len() != 4 || quarter.len() != 1 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Quarter::new(year.parse().ok()?, quarter.parse().ok()?)
    }

    pub fn first_month(self) -> Month {
        Month {
            year: self.year,
            month: (self.quarter - 1) * 3 + 1,
        }
    }

    pub fn last_month(self) -> Month {
        Month {
            year: self.year,
            month: self.quarter * 3,
        }
    }

    pub fn contains(self, month: Month) -> bool {
        month.quarter() == self
    }

    pub fn previous(self) -> Quarter {
        if self.quarter == 1 {
            Quarter {
                year: self.year - 1,
                quarter: 4,
            }
        } else {
            Quarter {
                year: self.year,
                quarter: self.quarter - 1,
            }
        }
    }

    pub fn next(self) -> Quarter {
        if self.quarter == 4 {
            Quarter {
                year: self.year + 1,
                quarter: 1,
            }
        } else {
            Quarter {
                year: self.year,
                quarter: self.quarter + 1,
            }
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-Q{}", self.year, self.quarter)
    }
}

impl Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Month::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a month (YYYY-MM)")))
    }
}

impl Serialize for Quarter {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Quarter {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Quarter::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not a quarter (YYYY-Qn)")))
    }
}

#[cfg(test)]
mod tests {
    use super::{same_text, Key, Value};

    /// A map entry stays at 40 bytes: the scorecard's 23-entry `criteria` object then stays
    /// under the 1024 bytes the C allocator serves from its per-thread cache (see `Key`).
    #[test]
    fn a_map_entry_is_forty_bytes() {
        assert_eq!(std::mem::size_of::<Key>(), 16);
        assert_eq!(std::mem::size_of::<Value>(), 24);
        assert_eq!(std::mem::size_of::<(Key, Value)>(), 40);
    }

    #[test]
    fn keys_compare_as_their_texts_whichever_their_form() {
        let kept = Key::name("SC-01");
        let shared = Key::from("SC-01");
        let other_kept = Key::name("SC-02");
        let other_shared = Key::from("SC-02");
        assert_eq!(kept, shared);
        assert_eq!(shared, kept);
        assert_eq!(kept, Key::name("SC-01"));
        assert_ne!(kept, other_kept);
        assert_ne!(shared, other_shared);
        assert!(kept < other_shared && other_kept > shared);
        assert_eq!(kept.as_str(), "SC-01");
        assert_eq!(&*Key::from(String::from("жж")), "жж");
    }

    #[test]
    fn same_text_agrees_with_equality() {
        let texts = [
            "",
            "a",
            "ab",
            "abc",
            "abcd",
            "abce",
            "abcde",
            "abcdefg",
            "abcdefgh",
            "abcdefgi",
            "bbcdefgh",
            "abcdefghijklmnop",
            "abcdefghijklmnoq",
            "abcdefghXjklmnop",
            "abcdefghijklmnopq",
            "abcdefghijklmnopr",
            "жж",
            "жз",
            "birth_date",
            "birth_datf",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
        ];
        for left in texts {
            for right in texts {
                assert_eq!(same_text(left, right), left == right, "{left} {right}");
            }
        }
    }
}
