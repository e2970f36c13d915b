//! A frame's row → the case JSON, in the CSV column layout of `ereje batch` (the README's table,
//! `cli/src/csv_input.rs`).
//!
//! This module is the only place the package meets the CSV layout: [`RowReader::new`] reads
//! the column names and [`RowReader::case_json`] turns one row's cells into the case JSON, so
//! that a change of the layout's code (columns derived from the policy's input record types)
//! is re-pointed here alone. Today a row is written as one CSV line and read by the CLI's own
//! [`CsvLayout`], so a frame and a CSV file of the same rows give the same cases, errors
//! included.

use ereje_cli::csv_input::CsvLayout;
use ereje_runtime::CaseError;

/// The columns of a frame, read once for all its rows.
pub struct RowReader {
    layout: CsvLayout,
}

impl RowReader {
    /// Reads the column names; fails on an unknown or repeated column (with the CLI's message).
    pub fn new(columns: &[String]) -> Result<RowReader, String> {
        let header = columns
            .iter()
            .map(|name| quoted(name))
            .collect::<Vec<_>>()
            .join(",");
        CsvLayout::from_header(&header).map(|layout| RowReader { layout })
    }

    /// The case JSON of one row (`None`: an empty cell, "not given"), or the row's error with
    /// its case id when the row names one.
    pub fn case_json(
        &self,
        cells: &[Option<String>],
        line: &mut String,
        json: &mut String,
    ) -> Result<(), (Option<String>, CaseError)> {
        line.clear();
        for (position, cell) in cells.iter().enumerate() {
            if position > 0 {
                line.push(',');
            }
            if let Some(cell) = cell {
                line.push_str(&quoted(cell));
            }
        }
        json.clear();
        self.layout.row_to_json(line, json)
    }
}

/// A cell as CSV writes it: quoted (quotes doubled) when it holds a separator or a quote.
fn quoted(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.contains([',', ';', '"']) {
        std::borrow::Cow::Owned(format!("\"{}\"", cell.replace('"', "\"\"")))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}
