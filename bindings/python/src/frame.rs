//! Frames: a frame's cells in, the outputs flattened to columns out.
//!
//! The output columns are `case_id`, `as_of`, then every leaf of the declared outputs, named
//! by its path (`asp.outcome`, `asp.pilot.applied`, `welfare.category`), then `error`,
//! `error.path` and `error.message` (filled only for a row that could not be decided, whose
//! output cells are empty). A leaf that is a list or a map (`asp.reasons`,
//! `welfare.points`) is one cell holding its JSON text, as the decision JSON writes it with
//! the keys of maps sorted.

use ereje_runtime::ir::{Policy, Type};
use ereje_runtime::value::Value;
use ereje_runtime::{CaseError, CaseFailure, CaseOutcome, Decision};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PyString};

use crate::convert::Converter;

/// One output column: the output it comes from and the path of fields inside it.
struct Leaf {
    name: String,
    output: String,
    path: Vec<String>,
    ty: Type,
    /// A list or a map, written as JSON text.
    as_json: bool,
}

/// The output columns of a policy.
pub struct Layout {
    leaves: Vec<Leaf>,
}

/// The columns before and after the outputs' leaves.
const LEADING: [&str; 2] = ["case_id", "as_of"];
const TRAILING: [&str; 3] = ["error", "error.path", "error.message"];

fn collect(leaves: &mut Vec<Leaf>, output: &str, path: &mut Vec<String>, ty: &Type) {
    let inner = match ty {
        Type::Optional(inner) => inner.as_ref(),
        other => other,
    };
    if let Type::Object(fields) = inner {
        for (name, field_type) in fields {
            path.push(name.clone());
            collect(leaves, output, path, field_type);
            path.pop();
        }
        return;
    }
    let mut name = output.to_string();
    for field in path.iter() {
        name.push('.');
        name.push_str(field);
    }
    leaves.push(Leaf {
        name,
        output: output.to_string(),
        path: path.clone(),
        ty: ty.clone(),
        as_json: matches!(inner, Type::List(_) | Type::Map(_) | Type::Record(_)),
    });
}

impl Layout {
    /// The leaves of `policy`'s declared outputs.
    pub fn of(policy: &Policy) -> Layout {
        let mut leaves = Vec::new();
        for output in &policy.outputs {
            collect(&mut leaves, &output.name, &mut Vec::new(), &output.ty);
        }
        Layout { leaves }
    }

    /// Every column's name, in order.
    pub fn names(&self) -> Vec<String> {
        LEADING
            .iter()
            .map(|name| name.to_string())
            .chain(self.leaves.iter().map(|leaf| leaf.name.clone()))
            .chain(TRAILING.iter().map(|name| name.to_string()))
            .collect()
    }

    /// The columns of `outcomes` (one list per column, in the order of [`Layout::names`]).
    pub fn columns<'py>(
        &self,
        py: Python<'py>,
        outcomes: &[CaseOutcome],
    ) -> PyResult<Bound<'py, PyList>> {
        let converter = Converter::new(py)?;
        let width = LEADING.len() + self.leaves.len() + TRAILING.len();
        let columns: Vec<Bound<'py, PyList>> = (0..width).map(|_| PyList::empty(py)).collect();
        let none = converter.none();
        for outcome in outcomes {
            match outcome {
                CaseOutcome::Decision(decision) => {
                    let mut cells = Vec::with_capacity(width);
                    cells.push(match &decision.case_id {
                        Some(id) => converter.text(id),
                        None => none.clone(),
                    });
                    cells.push(converter.date(decision.as_of)?);
                    self.decision_cells(&converter, decision, &mut cells)?;
                    cells.extend(TRAILING.iter().map(|_| none.clone()));
                    for (column, cell) in columns.iter().zip(cells) {
                        column.append(cell)?;
                    }
                }
                CaseOutcome::Error(failure) => {
                    let case_id = match &failure.case_id {
                        Some(id) => converter.text(id),
                        None => none.clone(),
                    };
                    let error = &failure.error;
                    let cells = std::iter::once(case_id)
                        .chain((1..LEADING.len() + self.leaves.len()).map(|_| none.clone()))
                        .chain([
                            converter.text(&error.code),
                            converter.text(&error.path),
                            converter.text(&error.message),
                        ]);
                    for (column, cell) in columns.iter().zip(cells) {
                        column.append(cell)?;
                    }
                }
            }
        }
        PyList::new(py, columns)
    }

    /// The leaves' cells of one decision.
    fn decision_cells<'py>(
        &self,
        converter: &Converter<'py>,
        decision: &Decision,
        cells: &mut Vec<Bound<'py, PyAny>>,
    ) -> PyResult<()> {
        // The JSON of an output with list or map leaves, read once per output.
        let mut json: Option<(&str, Option<serde_json::Value>)> = None;
        for leaf in &self.leaves {
            let value = decision
                .output(&leaf.output)
                .and_then(|value| field(value, &leaf.path));
            let cell = match value {
                None | Some(Value::Absent) => converter.none(),
                Some(_) if leaf.as_json => {
                    if json.as_ref().is_none_or(|(name, _)| *name != leaf.output) {
                        json = Some((leaf.output.as_str(), decision.output_json(&leaf.output)));
                    }
                    let text = json
                        .as_ref()
                        .and_then(|(_, whole)| whole.as_ref())
                        .and_then(|whole| json_field(whole, &leaf.path))
                        .map(|value| value.to_string());
                    match text {
                        Some(text) => converter.text(&text),
                        None => converter.none(),
                    }
                }
                Some(value) => converter.value(decision.policy_ir(), value, Some(&leaf.ty))?,
            };
            cells.push(cell);
        }
        Ok(())
    }
}

/// The field at `path` inside an output's value (objects are maps of their fields).
fn field<'v>(value: &'v Value, path: &[String]) -> Option<&'v Value> {
    let mut current = value;
    for name in path {
        match current {
            Value::Map(entries) => {
                current = entries
                    .iter()
                    .find(|(key, _)| key.as_str() == name)
                    .map(|(_, value)| value)?;
            }
            _ => return None,
        }
    }
    Some(current)
}

fn json_field<'v>(value: &'v serde_json::Value, path: &[String]) -> Option<&'v serde_json::Value> {
    path.iter()
        .try_fold(value, |current, name| current.get(name))
}

/// The error line of a case no version of the policy is in force for (as `ereje batch`).
pub fn not_in_force() -> CaseOutcome {
    CaseOutcome::Error(CaseFailure {
        case_id: None,
        error: CaseError::new(
            ereje_runtime::error::codes::NOT_IN_FORCE,
            "",
            "no version of the policy is in force for this case",
        ),
    })
}

/// The text of one cell as a CSV file holds it; `None` for an empty cell (None, NaN, NaT).
fn cell_text(cell: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    if cell.is_none() {
        return Ok(None);
    }
    if let Ok(text) = cell.cast::<PyString>() {
        return Ok(Some(text.to_str()?.to_string()));
    }
    if let Ok(flag) = cell.cast::<PyBool>() {
        return Ok(Some(flag.is_true().to_string()));
    }
    if cell.cast::<PyInt>().is_ok() {
        return Ok(Some(cell.str()?.to_str()?.to_string()));
    }
    if let Ok(number) = cell.cast::<PyFloat>() {
        let number = number.value();
        if number.is_nan() {
            return Ok(None);
        }
        // A whole number in a float column (pandas makes counts floats when a cell is empty).
        if number.fract() == 0.0 && number.abs() < 1e15 {
            return Ok(Some(format!("{number:.0}")));
        }
        return Ok(Some(number.to_string()));
    }
    if cell.hasattr("isoformat")? {
        let text: String = cell.call_method0("isoformat")?.extract()?;
        if text == "NaT" {
            return Ok(None);
        }
        // A datetime (a pandas Timestamp) stands for its day.
        return Ok(Some(text.chars().take(10).collect()));
    }
    let text = cell.str()?.to_str()?.to_string();
    Ok((text != "nan" && text != "<NA>").then_some(text))
}

/// A frame's row: the cells that are not empty, as (column number, text) in column order.
pub type SparseRow = Vec<(usize, String)>;

/// Rows of cells from a frame's columns (one Python list each). A column's `positions`, when
/// given, are the row numbers its cells belong to (every other row's cell is empty); without
/// them the column holds a cell for every one of the `height` rows.
pub fn rows_of(
    columns: &[Bound<'_, PyList>],
    positions: &[Option<Vec<usize>>],
    height: Option<usize>,
) -> PyResult<Vec<SparseRow>> {
    use pyo3::exceptions::PyValueError;
    let height = match height {
        Some(height) => height,
        None => columns.first().map_or(0, |column| column.len()),
    };
    let mut rows: Vec<SparseRow> = (0..height).map(|_| Vec::new()).collect();
    for (number, column) in columns.iter().enumerate() {
        match positions.get(number).and_then(Option::as_ref) {
            None => {
                if column.len() != height {
                    return Err(PyValueError::new_err(
                        "the frame's columns differ in length",
                    ));
                }
                for (row, cell) in rows.iter_mut().zip(column.iter()) {
                    if let Some(text) = cell_text(&cell)? {
                        row.push((number, text));
                    }
                }
            }
            Some(positions) => {
                if positions.len() != column.len() {
                    return Err(PyValueError::new_err(
                        "a column's row numbers and cells differ in length",
                    ));
                }
                for (position, cell) in positions.iter().zip(column.iter()) {
                    let row = rows.get_mut(*position).ok_or_else(|| {
                        PyValueError::new_err(format!(
                            "row {position} is beyond the frame's {height} rows"
                        ))
                    })?;
                    // Row numbers out of order would put a row's cells out of column order.
                    if row.last().is_some_and(|(last, _)| *last >= number) {
                        return Err(PyValueError::new_err("a column's row numbers repeat"));
                    }
                    if let Some(text) = cell_text(&cell)? {
                        row.push((number, text));
                    }
                }
            }
        }
    }
    Ok(rows)
}
