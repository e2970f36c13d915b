//! A frame's row → the case JSON, in the CSV column layout of `ereje batch` (the README's table,
//! `cli/src/csv_input.rs`).
//!
//! This module is the only place the package meets the CSV layout: [`RowReader::new`] reads
//! the column names and [`RowReader::case_json`] turns one row's cells into the case JSON, so
//! that a change of the layout's code (columns derived from the policy's input record types)
//! is re-pointed here alone. Today a row's cells become one CSV record read by the CLI's own
//! [`CsvLayout`], so a frame and a CSV file of the same rows give the same cases, errors
//! included.

use ereje_cli::csv_input::{CsvLayout, CsvNames};
use ereje_runtime::ir::Policy;
use ereje_runtime::CaseError;

/// The columns of a frame, read once for all its rows.
pub struct RowReader {
    layout: CsvLayout,
}

impl RowReader {
    /// Reads the column names against the policy's input record and the directory's
    /// `csv.toml`; fails on an unknown or repeated column (with the CLI's message).
    pub fn new(policy: &Policy, names: &CsvNames, columns: &[String]) -> Result<RowReader, String> {
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        writer
            .write_record(columns)
            .map_err(|error| format!("the column names cannot be written as CSV: {error}"))?;
        let header = writer
            .into_inner()
            .map_err(|error| format!("the column names cannot be written as CSV: {error}"))?;
        CsvLayout::from_header(policy, names, &header).map(|layout| RowReader { layout })
    }

    /// The case JSON of one row, given as its cells that are not empty (column number and
    /// text, in column order; every other cell is empty, "not given"), or the row's error with
    /// its case id when the row names one. `record` is scratch space reused between rows.
    pub fn case_json(
        &self,
        width: usize,
        cells: &[(usize, String)],
        record: &mut csv::ByteRecord,
        json: &mut String,
    ) -> Result<(), (Option<String>, CaseError)> {
        record.clear();
        let mut given = cells.iter().peekable();
        for column in 0..width {
            match given.next_if(|(number, _)| *number == column) {
                Some((_, text)) => record.push_field(text.as_bytes()),
                None => record.push_field(b""),
            }
        }
        json.clear();
        self.layout.row_to_json(record, json)
    }
}
