//! Engine values to Python objects: money and decimals as `decimal.Decimal` (a quotient that
//! is no decimal, exact in the engine, as `fractions.Fraction`), dates as
//! `datetime.date`, enums as the text (or number) they have in decision JSON, objects, maps and
//! records as dicts in declaration order, lists as lists. A value reads exactly as the decision
//! JSON of `ereje eval` writes it, only typed.

use ereje_runtime::ir::{JsonLiteral, Policy, Type, TypeDef};
use ereje_runtime::value::Value;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDate, PyDict, PyList, PyString};
use pyo3::IntoPyObjectExt;

/// What every conversion needs: the policy (for enum and record names) and the classes it
/// builds values of, looked up once per call rather than once per value.
pub struct Converter<'py> {
    py: Python<'py>,
    decimal: Bound<'py, PyAny>,
    fraction: Bound<'py, PyAny>,
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
        })
    }

    /// A `decimal.Decimal` holding exactly `text`.
    pub fn decimal(&self, text: &str) -> PyResult<Bound<'py, PyAny>> {
        self.decimal.call1((text,))
    }

    /// A `datetime.date`.
    pub fn date(&self, date: chrono::NaiveDate) -> PyResult<Bound<'py, PyAny>> {
        use chrono::Datelike as _;
        // Month and day always fit a byte.
        let month = u8::try_from(date.month()).unwrap_or(1);
        let day = u8::try_from(date.day()).unwrap_or(1);
        Ok(PyDate::new(self.py, date.year(), month, day)?.into_any())
    }

    /// Text as a Python `str`.
    pub fn text(&self, text: &str) -> Bound<'py, PyAny> {
        PyString::new(self.py, text).into_any()
    }

    /// Python's `None`.
    pub fn none(&self) -> Bound<'py, PyAny> {
        self.py.None().into_bound(self.py)
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
                let literal = match policy.types.get(*id as usize) {
                    Some(TypeDef::Enum(definition)) => definition
                        .variants
                        .get(*index as usize)
                        .map(|variant| &variant.json),
                    _ => None,
                };
                match literal {
                    Some(JsonLiteral::Text(text)) => Ok(self.text(text)),
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
                    let name = definition.map_or_else(|| position.to_string(), |d| d.name.clone());
                    let field_type = definition.map(|definition| &definition.ty);
                    dict.set_item(name, self.value(policy, field, field_type)?)?;
                }
                Ok(dict.into_any())
            }
            (Some(Type::List(element)), Value::List(items)) => {
                let list = PyList::empty(py);
                for item in items.iter() {
                    list.append(self.value(policy, item, Some(element))?)?;
                }
                Ok(list.into_any())
            }
            (Some(Type::Map(element)), Value::Map(entries)) => {
                let dict = PyDict::new(py);
                for (key, item) in entries.iter() {
                    dict.set_item(key.as_str(), self.value(policy, item, Some(element))?)?;
                }
                Ok(dict.into_any())
            }
            (Some(Type::Object(fields)), Value::Map(entries)) => {
                let dict = PyDict::new(py);
                for (key, item) in entries.iter() {
                    let field_type = fields
                        .iter()
                        .find(|(name, _)| name == key.as_str())
                        .map(|(_, ty)| ty);
                    dict.set_item(key.as_str(), self.value(policy, item, field_type)?)?;
                }
                Ok(dict.into_any())
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
            Value::Decimal(number) => self.decimal(&number.to_string()),
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
            Value::List(items) => {
                let list = PyList::empty(py);
                for item in items.iter() {
                    list.append(self.untyped(item)?)?;
                }
                Ok(list.into_any())
            }
            Value::Map(entries) => {
                let dict = PyDict::new(py);
                for (key, item) in entries.iter() {
                    dict.set_item(key.as_str(), self.untyped(item)?)?;
                }
                Ok(dict.into_any())
            }
            Value::Record(record) => {
                let list = PyList::empty(py);
                for field in record.fields.iter() {
                    list.append(self.untyped(field)?)?;
                }
                Ok(list.into_any())
            }
        }
    }
}
