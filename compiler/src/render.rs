//! Diagnostics for people (miette, with source excerpts) and for programs (JSON).
//!
//! Spans are byte offsets over the whole file, which is what miette's `SourceSpan` holds, so a
//! label lands on the right characters after Cyrillic text.

use std::fmt;
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};

use crate::diagnostic::{Diagnostic, Severity};

/// A diagnostic with the file it belongs to.
#[derive(Debug, Clone)]
pub struct Report {
    pub path: String,
    pub source: Arc<String>,
    pub diagnostic: Diagnostic,
    named: NamedSource<Arc<String>>,
}

impl Report {
    pub fn new(path: String, source: Arc<String>, diagnostic: Diagnostic) -> Report {
        let named = NamedSource::new(path.clone(), source.clone());
        Report {
            path,
            source,
            diagnostic,
            named,
        }
    }

    /// The 1-based line and column (in characters) of the primary span.
    pub fn line_column(&self) -> (usize, usize) {
        let offset = (self.diagnostic.primary_span().start as usize).min(self.source.len());
        let before = self.source.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let column = before
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        (line, column)
    }

    fn clamp(&self, start: u32, end: u32) -> SourceSpan {
        let length = self.source.len();
        let start = (start as usize).min(length);
        let end = (end as usize).clamp(start, length);
        SourceSpan::new(start.into(), end - start)
    }

    pub fn to_json(&self) -> serde_json::Value {
        let (line, column) = self.line_column();
        let labels: Vec<serde_json::Value> = self
            .diagnostic
            .labels
            .iter()
            .map(|label| {
                serde_json::json!({
                    "start": label.span.start,
                    "end": label.span.end,
                    "message": label.message,
                })
            })
            .collect();
        serde_json::json!({
            "severity": self.diagnostic.severity,
            "code": self.diagnostic.code,
            "message": self.diagnostic.message,
            "file": self.path,
            "line": line,
            "column": column,
            "labels": labels,
            "help": self.diagnostic.help,
        })
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.diagnostic.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diagnostic.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.named)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.diagnostic.labels.iter().enumerate().map(
            |(index, label)| {
                let span = self.clamp(label.span.start, label.span.end);
                if index == 0 {
                    LabeledSpan::new_primary_with_span(Some(label.message.clone()), span)
                } else {
                    LabeledSpan::new_with_span(Some(label.message.clone()), span)
                }
            },
        )))
    }
}

/// Renders diagnostics as text with source excerpts, without colour (stable for snapshots).
pub fn render_human(reports: &[Report]) -> String {
    let handler =
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
    let mut out = String::new();
    for report in reports {
        let _ = handler.render_report(&mut out, report);
        out.push('\n');
    }
    out
}

/// Renders diagnostics as a JSON array, one object per diagnostic.
pub fn render_json(reports: &[Report]) -> String {
    let values: Vec<serde_json::Value> = reports.iter().map(Report::to_json).collect();
    serde_json::to_string_pretty(&values).unwrap_or_else(|_| "[]".to_string())
}
