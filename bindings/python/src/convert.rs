//! Engine values to Python objects: money and decimals as `decimal.Decimal` (a quotient that
//! is no decimal, exact in the engine, as `fractions.Fraction`), dates as
//! `datetime.date`, enums as the text (or number) they have in decision JSON, objects, maps and
//! records as dicts in declaration order, lists as lists. A value reads exactly as the decision
//! JSON of `ereje eval` writes it, only typed.

use std::cell::RefCell;
use std::rc::Rc;

use ereje_runtime::ir::{JsonLiteral, Policy, Type, TypeDef};
use ereje_runtime::native::Decimal;
use ereje_runtime::value::{Key, Value};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDate, PyDict, PyList, PyModule, PyString};
use pyo3::IntoPyObjectExt;
use rustc_hash::FxHashMap;

/// Texts longer than this are not kept for reuse: the texts worth keeping are keys, enum
/// literals and rule ids, which are short and repeat in every decision.
const CACHED_TEXT_BYTES: usize = 64;

/// While it lives, Python's cyclic garbage collector does not run (when it was on, it is turned
/// back on when the pause is dropped). Building a batch's dicts allocates tens of thousands of
/// containers, each of which counts towards the collector's next run, and every run walks the
/// dicts made so far, none of which can be part of a cycle: a tenth of the conversion's time
/// went there. Nothing but the conversion runs meanwhile (it holds the GIL and calls no Python
/// code that would release it, but for `Fraction`'s constructor, which at worst delays a
/// collection of another thread's garbage).
pub struct CollectorPause<'py> {
    gc: Option<Bound<'py, PyModule>>,
}

impl<'py> CollectorPause<'py> {
    pub fn new(py: Python<'py>) -> PyResult<CollectorPause<'py>> {
        let gc = py.import("gc")?;
        if gc.call_method0("isenabled")?.is_truthy()? {
            gc.call_method0("disable")?;
            return Ok(CollectorPause { gc: Some(gc) });
        }
        Ok(CollectorPause { gc: None })
    }
}

impl Drop for CollectorPause<'_> {
    fn drop(&mut self) {
        if let Some(gc) = &self.gc {
            // Turning the collector on cannot fail; were it to, Python would only collect less.
            let _ = gc.call_method0("enable");
        }
    }
}

/// Dicts with fewer entries than this are built afresh: a template pays off once a dict is
/// large enough for CPython to resize it while it is filled (beyond 5 entries).
const TEMPLATE_ENTRIES: usize = 6;

/// A dict of one object or map type as it was last built: its keys (text and Python string)
/// in order, and a copy of it. A dict of the same keys in the same order is made by copying the
/// template (one allocation at its final size, the keys' hashes already known) and setting the
/// values, instead of inserting the keys one by one into a dict that grows as it goes.
struct Template<'py> {
    keys: Vec<(Box<str>, Bound<'py, PyString>)>,
    dict: Bound<'py, PyDict>,
}

/// What every conversion needs: the policy (for enum and record names) and the classes it
/// builds values of, looked up once per call rather than once per value.
///
/// A converter lives for one call (a batch of decisions) and keeps the Python objects it made
/// for values that repeat across decisions: keys and short texts as `str`, decimals as
/// `Decimal`, dates as `date`. All three are immutable in Python, so handing out the same object
/// twice is the same to the user as two equal objects; the keys' `str` also carry their hash, so
/// a dict that takes them does not hash them again.
pub struct Converter<'py> {
    py: Python<'py>,
    decimal: Bound<'py, PyAny>,
    fraction: Bound<'py, PyAny>,
    texts: RefCell<FxHashMap<Box<str>, Bound<'py, PyString>>>,
    /// Keyed by `Decimal::serialize` (mantissa and scale): `1.0` and `1.00` are different keys,
    /// as they are different texts and different `Decimal`s.
    decimals: RefCell<FxHashMap<[u8; 16], Bound<'py, PyAny>>>,
    dates: RefCell<FxHashMap<chrono::NaiveDate, Bound<'py, PyAny>>>,
    /// Enum literals that are text, by enum type and variant.
    enums: RefCell<FxHashMap<(u32, u32), Bound<'py, PyAny>>>,
    /// Keyed by the address of the object or map type in the policy, which outlives the call.
    templates: RefCell<FxHashMap<usize, Rc<Template<'py>>>>,
}

impl<'py> Converter<'py> {
    /// Looks up `decimal.Decimal` and `fractions.Fraction`.
    pub fn new(py: Python<'py>) -> PyResult<Converter<'py>> {
        let decimal = py.import("decimal")?.getattr("Decimal")?;
        let fraction = py.import("fractions")?.getattr("Fraction")?;
        Ok(Converter {
            py,
            decimal,
            fraction,
            texts: RefCell::default(),
            decimals: RefCell::default(),
            dates: RefCell::default(),
            enums: RefCell::default(),
            templates: RefCell::default(),
        })
    }

    /// A `decimal.Decimal` holding exactly `text`.
    pub fn decimal(&self, text: &str) -> PyResult<Bound<'py, PyAny>> {
        self.decimal.call1((text,))
    }

    /// A `decimal.Decimal` of the same digits and scale as `number` (its text, as the decision
    /// JSON writes it).
    fn decimal_value(&self, number: &Decimal) -> PyResult<Bound<'py, PyAny>> {
        let key = number.serialize();
        if let Some(made) = self.decimals.borrow().get(&key) {
            return Ok(made.clone());
        }
        let made = self.decimal(&number.to_string())?;
        self.decimals.borrow_mut().insert(key, made.clone());
        Ok(made)
    }

    /// A `datetime.date`.
    pub fn date(&self, date: chrono::NaiveDate) -> PyResult<Bound<'py, PyAny>> {
        use chrono::Datelike as _;
        if let Some(made) = self.dates.borrow().get(&date) {
            return Ok(made.clone());
        }
        // Month and day always fit a byte.
        let month = u8::try_from(date.month()).unwrap_or(1);
        let day = u8::try_from(date.day()).unwrap_or(1);
        let made = PyDate::new(self.py, date.year(), month, day)?.into_any();
        self.dates.borrow_mut().insert(date, made.clone());
        Ok(made)
    }

    /// Text as a Python `str` (the same object for the same short text within a call).
    pub fn text(&self, text: &str) -> Bound<'py, PyAny> {
        self.string(text).into_any()
    }

    fn string(&self, text: &str) -> Bound<'py, PyString> {
        if text.len() > CACHED_TEXT_BYTES {
            return PyString::new(self.py, text);
        }
        if let Some(made) = self.texts.borrow().get(text) {
            return made.clone();
        }
        let made = PyString::new(self.py, text);
        self.texts
            .borrow_mut()
            .insert(Box::from(text), made.clone());
        made
    }

    /// Python's `None`.
    pub fn none(&self) -> Bound<'py, PyAny> {
        self.py.None().into_bound(self.py)
    }

    /// A dict of `entries` (a map's or an object's), its values converted by `convert`; `shape`
    /// is the type the entries are of, whose template (if any) is used when the keys match.
    fn dict<'v, F>(
        &self,
        shape: &Type,
        entries: &'v [(Key, Value)],
        convert: F,
    ) -> PyResult<Bound<'py, PyAny>>
    where
        F: Fn(usize, &'v Key, &'v Value) -> PyResult<Bound<'py, PyAny>>,
    {
        let address = std::ptr::from_ref(shape) as usize;
        if entries.len() < TEMPLATE_ENTRIES {
            let dict = PyDict::new(self.py);
            for (position, (key, item)) in entries.iter().enumerate() {
                dict.set_item(self.string(key.as_str()), convert(position, key, item)?)?;
            }
            return Ok(dict.into_any());
        }
        // The keys of the template, when they are the entries' keys in the same order.
        // (Cloned out of the map, which the values' own conversion may add to.)
        let template = self.templates.borrow().get(&address).cloned();
        let template = template.filter(|template| {
            template.keys.len() == entries.len()
                && template
                    .keys
                    .iter()
                    .zip(entries)
                    .all(|((text, _), (key, _))| &**text == key.as_str())
        });
        if let Some(template) = template {
            let dict = template.dict.copy()?;
            for (position, ((_, key), (entry_key, item))) in
                template.keys.iter().zip(entries).enumerate()
            {
                dict.set_item(key, convert(position, entry_key, item)?)?;
            }
            return Ok(dict.into_any());
        }
        let dict = PyDict::new(self.py);
        let mut keys = Vec::with_capacity(entries.len());
        for (position, (key, item)) in entries.iter().enumerate() {
            let string = self.string(key.as_str());
            dict.set_item(&string, convert(position, key, item)?)?;
            keys.push((Box::from(key.as_str()), string));
        }
        let template = Rc::new(Template {
            keys,
            dict: dict.copy()?,
        });
        self.templates.borrow_mut().insert(address, template);
        Ok(dict.into_any())
    }

    /// A list of `items` converted by `convert`, allocated at its length.
    fn list<'v, F>(&self, items: &'v [Value], convert: F) -> PyResult<Bound<'py, PyAny>>
    where
        F: Fn(&'v Value) -> PyResult<Bound<'py, PyAny>>,
    {
        let converted = items.iter().map(convert).collect::<PyResult<Vec<_>>>()?;
        Ok(PyList::new(self.py, converted)?.into_any())
    }

    /// A value of type `ty` (when known) of `policy`.
    pub fn value(
        &self,
        policy: &Policy,
        value: &Value,
        ty: Option<&Type>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        match (ty, value) {
            (_, Value::Absent) | (Some(Type::Never), _) => Ok(self.none()),
            (Some(Type::Optional(inner)), value) => self.value(policy, value, Some(inner)),
            (Some(Type::Enum(id)), Value::Enum(index)) => {
                if let Some(made) = self.enums.borrow().get(&(*id, *index)) {
                    return Ok(made.clone());
                }
                let literal = match policy.types.get(*id as usize) {
                    Some(TypeDef::Enum(definition)) => definition
                        .variants
                        .get(*index as usize)
                        .map(|variant| &variant.json),
                    _ => None,
                };
                match literal {
                    Some(JsonLiteral::Text(text)) => {
                        let made = self.text(text);
                        self.enums.borrow_mut().insert((*id, *index), made.clone());
                        Ok(made)
                    }
                    Some(JsonLiteral::Integer(number)) => number.into_bound_py_any(py),
                    None => index.into_bound_py_any(py),
                }
            }
            (Some(Type::Record(id)), Value::Record(record)) => {
                let fields = match policy.types.get(*id as usize) {
                    Some(TypeDef::Record(definition)) => Some(&definition.fields),
                    _ => None,
                };
                let dict = PyDict::new(py);
                for (position, field) in record.fields.iter().enumerate() {
                    let definition = fields.and_then(|fields| fields.get(position));
                    let name = match definition {
                        Some(definition) => self.string(&definition.name),
                        None => self.string(&position.to_string()),
                    };
                    let field_type = definition.map(|definition| &definition.ty);
                    dict.set_item(name, self.value(policy, field, field_type)?)?;
                }
                Ok(dict.into_any())
            }
            (Some(Type::List(element)), Value::List(items)) => {
                self.list(items, |item| self.value(policy, item, Some(element)))
            }
            (Some(shape @ Type::Map(element)), Value::Map(entries)) => {
                self.dict(shape, entries, |_, _, item| {
                    self.value(policy, item, Some(element))
                })
            }
            (Some(shape @ Type::Object(fields)), Value::Map(entries)) => {
                self.dict(shape, entries, |position, key, item| {
                    // The entries are the fields in declaration order; a search when not.
                    let field_type = match fields.get(position) {
                        Some((name, ty)) if name == key.as_str() => Some(ty),
                        _ => fields
                            .iter()
                            .find(|(name, _)| name == key.as_str())
                            .map(|(_, ty)| ty),
                    };
                    self.value(policy, item, field_type)
                })
            }
            (_, value) => self.untyped(value),
        }
    }

    /// A value whose type says nothing more than the value itself.
    fn untyped(&self, value: &Value) -> PyResult<Bound<'py, PyAny>> {
        let py = self.py;
        match value {
            Value::Absent => Ok(self.none()),
            Value::Bool(flag) => Ok(PyBool::new(py, *flag).to_owned().into_any()),
            Value::Integer(number) => number.into_bound_py_any(py),
            Value::Decimal(number) => self.decimal_value(number),
            // An exact quotient that no decimal holds: a `Fraction` of the same numerator and
            // denominator, so that nothing is rounded on the way to Python either.
            Value::Ratio(ratio) => self
                .fraction
                .call1((ratio.numerator(), ratio.denominator())),
            Value::Date(date) => self.date(*date),
            Value::Month(month) => Ok(self.text(&month.to_string())),
            Value::Quarter(quarter) => Ok(self.text(&quarter.to_string())),
            Value::Text(text) => Ok(self.text(text)),
            Value::Enum(index) => index.into_bound_py_any(py),
            Value::List(items) => self.list(items, |item| self.untyped(item)),
            Value::Map(entries) => {
                let dict = PyDict::new(py);
                for (key, item) in entries.iter() {
                    dict.set_item(self.string(key.as_str()), self.untyped(item)?)?;
                }
                Ok(dict.into_any())
            }
            Value::Record(record) => self.list(&record.fields, |field| self.untyped(field)),
        }
    }
}
