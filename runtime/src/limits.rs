//! Limits on the size and shape of a case, checked while it is read.
//!
//! | limit | default | error |
//! |---|---|---|
//! | [`Limits::max_case_bytes`] | 1 MiB (1 048 576 bytes) | `case.too_large`, path `""`, the size and the limit |
//! | [`Limits::max_depth`] | 32 levels of objects and arrays | `case.too_deep`, the path of the object or array past the limit |
//! | [`Limits::max_text_chars`] | 4096 characters in any string value | `case.invalid_field`, the path of the string |
//! | [`Limits::max_list_items`] | 10 000 items in any array | `case.invalid_field`, the path of the array |
//!
//! The depth, text and list limits are checked in the order of the case's text, together with
//! its JSON syntax and repeated keys (a key given twice in one object is `case.duplicate_key`,
//! with the path of the second one): the first problem in the text is the one reported. The JSON parser itself
//! refuses nesting deeper than 127 levels (`case.invalid_json`, "recursion limit exceeded"),
//! whatever `max_depth` says.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::{codes, CaseError};

/// Limits on the cases an [`crate::Engine`] reads. Set them with [`crate::Engine::with_limits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest case, in bytes of JSON text (default 1 MiB).
    pub max_case_bytes: usize,
    /// The deepest nesting of JSON objects and arrays; the case object itself is level 1
    /// (default 32).
    pub max_depth: u32,
    /// The longest string value, in characters (default 4096).
    pub max_text_chars: usize,
    /// The most items in one JSON array (default 10 000).
    pub max_list_items: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_case_bytes: 1024 * 1024,
            max_depth: 32,
            max_text_chars: 4096,
            max_list_items: 10_000,
        }
    }
}

impl Limits {
    /// Whether `text` is longer than the text limit, counting characters only when its byte
    /// length says it might be.
    pub(crate) fn text_too_long(&self, text: &str) -> bool {
        text.len() > self.max_text_chars && text.chars().count() > self.max_text_chars
    }
}

/// The error for a case larger than the limit, or `None`.
pub(crate) fn check_size(text: &str, limits: &Limits) -> Option<CaseError> {
    (text.len() > limits.max_case_bytes).then(|| {
        CaseError::new(
            codes::TOO_LARGE,
            "",
            format!(
                "the case is {} bytes, more than the limit of {} bytes",
                text.len(),
                limits.max_case_bytes
            ),
        )
    })
}

/// One step of a JSON pointer, kept while scanning so that the path is built only for an error.
enum Segment {
    Key(String),
    Index(usize),
}

/// What a limit scan found.
pub(crate) struct LimitScan {
    /// The first limit exceeded, in text order.
    pub violation: Option<CaseError>,
    /// The case id, when the scan passed it before stopping (a string or the text of a number
    /// under the id field of the case object).
    pub case_id: Option<String>,
}

/// Walks the JSON text without building anything, and reports the first limit it exceeds or
/// the first key repeated in an object. A syntax error ends the scan without a violation: the
/// caller's full parse reports it.
pub(crate) fn scan(text: &str, limits: &Limits, id_field: Option<&str>) -> LimitScan {
    let mut state = ScanState {
        limits,
        id_field,
        segments: Vec::new(),
        depth: 0,
        violation: None,
        case_id: None,
        capture_id: false,
    };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let _ = ScanSeed { state: &mut state }.deserialize(&mut deserializer);
    LimitScan {
        violation: state.violation,
        case_id: state.case_id,
    }
}

struct ScanState<'a> {
    limits: &'a Limits,
    id_field: Option<&'a str>,
    segments: Vec<Segment>,
    depth: u32,
    violation: Option<CaseError>,
    case_id: Option<String>,
    capture_id: bool,
}

impl ScanState<'_> {
    fn path(&self) -> String {
        let mut path = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Key(key) => crate::json_text::push_key(&mut path, key),
                Segment::Index(index) => {
                    path.push('/');
                    path.push_str(&index.to_string());
                }
            }
        }
        path
    }

    fn fail<E: de::Error>(&mut self, code: &'static str, message: String) -> E {
        self.violation = Some(CaseError::new(code, self.path(), message));
        E::custom("a limit was exceeded")
    }

    fn enter<E: de::Error>(&mut self) -> Result<(), E> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            let message = format!(
                "the case nests objects and arrays more than {} levels deep",
                self.limits.max_depth
            );
            return Err(self.fail(codes::TOO_DEEP, message));
        }
        Ok(())
    }
}

struct ScanSeed<'s, 'a> {
    state: &'s mut ScanState<'a>,
}

impl<'de> DeserializeSeed<'de> for ScanSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScanSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("any json value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.state.capture_id = false;
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<(), E> {
        if std::mem::take(&mut self.state.capture_id) {
            self.state.case_id = Some(value.to_string());
        }
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<(), E> {
        if std::mem::take(&mut self.state.capture_id) {
            self.state.case_id = Some(value.to_string());
        }
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.state.capture_id = false;
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.state.capture_id = false;
        Ok(())
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        if std::mem::take(&mut self.state.capture_id) {
            self.state.case_id = Some(text.to_string());
        }
        if self.state.limits.text_too_long(text) {
            let message = format!(
                "the text is {} characters long, more than the limit of {} characters",
                text.chars().count(),
                self.state.limits.max_text_chars
            );
            return Err(self.state.fail(codes::INVALID_FIELD, message));
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        self.state.capture_id = false;
        self.state.enter()?;
        let mut index = 0usize;
        loop {
            if index == self.state.limits.max_list_items {
                // One more item would pass the limit.
                self.state.segments.push(Segment::Index(index));
                let more = items.next_element_seed(ScanSeed { state: self.state });
                self.state.segments.pop();
                if more?.is_some() {
                    let message = format!(
                        "the list has more than {} items (the limit)",
                        self.state.limits.max_list_items
                    );
                    return Err(self.state.fail(codes::INVALID_FIELD, message));
                }
                break;
            }
            self.state.segments.push(Segment::Index(index));
            let item = items.next_element_seed(ScanSeed { state: self.state });
            self.state.segments.pop();
            if item?.is_none() {
                break;
            }
            index += 1;
        }
        self.state.depth -= 1;
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<(), A::Error> {
        let capture = std::mem::take(&mut self.state.capture_id);
        let Some(first) = entries.next_key::<String>()? else {
            self.state.enter()?;
            self.state.depth -= 1;
            return Ok(());
        };
        if first == crate::json_text::NUMBER_TOKEN {
            let number: String = entries.next_value()?;
            if capture {
                self.state.case_id = Some(number);
            }
            return Ok(());
        }
        self.state.enter()?;
        // The keys of this object so far: a few, so a list is quicker than a set.
        let mut keys: Vec<String> = Vec::new();
        let mut key = Some(first);
        while let Some(name) = key {
            self.state.capture_id = self.state.depth == 1 && self.state.id_field == Some(&name);
            if keys.contains(&name) {
                let message = format!(
                    "the key `{}` appears twice in this object, so which value is meant cannot be told",
                    crate::json_text::show(&serde_json::Value::String(name.clone()))
                );
                self.state.segments.push(Segment::Key(name));
                return Err(self.state.fail(codes::DUPLICATE_KEY, message));
            }
            keys.push(name.clone());
            self.state.segments.push(Segment::Key(name));
            let value = entries.next_value_seed(ScanSeed { state: self.state });
            self.state.segments.pop();
            value?;
            self.state.capture_id = false;
            key = entries.next_key::<String>()?;
        }
        self.state.depth -= 1;
        Ok(())
    }
}
