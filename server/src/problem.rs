//! Errors as HTTP answers: `application/problem+json` (RFC 9457) for everything that is not a
//! case error, and the decision contract's error line (`422`) for a case that cannot be decided.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ereje_runtime::CaseOutcome;
use serde_json::json;

/// The media type of a problem document.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem document: what went wrong with a request, for people and programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable, short name of the kind of problem (`body-too-large`); the document's `type`
    /// is `urn:ereje:problem:<kind>`.
    pub kind: &'static str,
    /// What went wrong with this request, in a sentence.
    pub detail: String,
}

impl Problem {
    /// A problem of `kind` with `status` and a sentence that says what went wrong.
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            kind,
            detail: detail.into(),
        }
    }

    /// `404`: nothing is at this path or id.
    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    /// `400`: a query parameter or header is wrong.
    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    /// `500`: the database or another part of the service failed (never a bad request).
    pub fn internal(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail)
    }

    /// The document's JSON text.
    pub fn to_json(&self) -> String {
        json!({
            "type": format!("urn:ereje:problem:{}", self.kind),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        })
        .to_string()
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.to_json()).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

/// A JSON body with its status: a decision line (`200`/`201`) or a case's error line (`422`).
pub fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The answer to one evaluated case: the decision line exactly as `ereje eval` prints it (with
/// its newline), or the error line with `422`.
pub fn outcome_response(outcome: &CaseOutcome) -> Response {
    let mut line = outcome.to_json_line();
    line.push('\n');
    let status = match outcome {
        CaseOutcome::Decision(_) => StatusCode::OK,
        CaseOutcome::Error(_) => StatusCode::UNPROCESSABLE_ENTITY,
    };
    json_response(status, line)
}
