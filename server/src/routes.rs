//! The API, version 1: every route, its handler and the layers every request goes through
//! (request log, time limit, bearer token).
//!
//! [`router`] is the one place routes are added: a later feature nests its own `Router` under
//! `/v1/...` there, with the role its routes need, and shares [`App`] and [`Problem`].

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use ereje_report::explanation as explain;
use ereje_runtime::value::Date;
use ereje_runtime::versions::VersionSet;
use ereje_runtime::{CaseOutcome, Engine, EvalOptions, Scratch};
use serde::Deserialize;

use crate::auth::{Caller, Role};
use crate::problem::{json_response, outcome_response, Problem};
use crate::storage::NewRecord;
use crate::App;

/// The longest `Idempotency-Key` accepted.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The most records one page of `GET /v1/decisions` holds.
const MAX_PAGE: u32 = 500;

/// Every route of the service.
pub fn router(app: Arc<App>) -> Router {
    let stream_limit = app.limits.max_stream_bytes;
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/policies", get(policies))
        .route("/v1/parameters", get(parameters))
        .route("/v1/evaluate", post(evaluate))
        .route("/v1/decisions", post(keep_decision).get(decisions_of_case))
        .route("/v1/decisions/{id}", get(decision))
        .route("/v1/decisions/{id}/explanation", get(explanation))
        .route("/v1/admin/reload", post(admin_reload))
        .merge(crate::commission::web::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(stream_limit))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&app),
            authenticate,
        ))
        .layer(middleware::from_fn_with_state(Arc::clone(&app), time_limit))
        .layer(middleware::from_fn(log_request))
        .with_state(app)
}

// ---------------------------------------------------------------------------------------------
// Layers.

/// One structured log line per request: method, path, status, time taken.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    tracing::info!(
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}

/// Answers `503` when a request takes longer than the limit.
async fn time_limit(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let limit = app.limits.request_time;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!(
                "the request took longer than the limit of {} ms",
                limit.as_millis()
            ),
        )
        .into_response(),
    }
}

/// Finds the caller: the token's, or `anonymous` with every role without a token file. The
/// health check and the OpenAPI document need no token.
async fn authenticate(State(app): State<Arc<App>>, mut request: Request, next: Next) -> Response {
    let caller = match &app.tokens {
        None => Caller::anonymous(),
        Some(_) => {
            let path = request.uri().path();
            // The commission's pages sign people in with passwords and session cookies.
            if path == "/v1/health" || path == "/v1/openapi.json" || path.starts_with("/app") {
                Caller {
                    name: "anonymous".to_string(),
                    roles: Vec::new(),
                }
            } else {
                let presented = request
                    .headers()
                    .get(header::AUTHORIZATION)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.strip_prefix("Bearer "))
                    .map(str::trim)
                    .map(str::to_string);
                let Some(secret) = presented else {
                    return unauthorized(
                        "this service needs a bearer token: send `Authorization: Bearer <token>`",
                    );
                };
                let tokens_app = Arc::clone(&app);
                let found = tokio::task::spawn_blocking(move || {
                    tokens_app
                        .tokens
                        .as_ref()
                        .and_then(|tokens| tokens.caller(&secret))
                })
                .await
                .ok()
                .flatten();
                match found {
                    Some(caller) => caller,
                    None => return unauthorized("the bearer token is not one this service knows"),
                }
            }
        }
    };
    request.extensions_mut().insert(caller);
    next.run(request).await
}

fn unauthorized(detail: &str) -> Response {
    let mut response =
        Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", detail).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"ereje\""),
    );
    response
}

/// `403` unless the caller holds `role`.
fn require(caller: &Caller, role: Role) -> Result<(), Problem> {
    if caller.may(role) {
        Ok(())
    } else {
        Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "the token `{}` does not have the role `{}` this request needs",
                caller.name,
                role.name()
            ),
        ))
    }
}

async fn not_found(request: Request) -> Problem {
    Problem::not_found(format!(
        "there is no route `{} {}`; the API is described at /v1/openapi.json",
        request.method(),
        request.uri().path()
    ))
}

async fn method_not_allowed(request: Request) -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        format!(
            "`{}` does not answer the method {}",
            request.uri().path(),
            request.method()
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// Reading requests.

fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, Problem> {
    query
        .map(|Query(query)| query)
        .map_err(|rejection| Problem::bad_request(rejection.body_text()))
}

fn body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, Problem> {
    body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            rejection.body_text(),
        ),
        status => Problem::new(status, "bad-body", rejection.body_text()),
    })
}

fn parse_date(name: &str, text: &str) -> Result<Date, Problem> {
    Date::parse_from_str(text, "%Y-%m-%d").map_err(|error| {
        Problem::bad_request(format!(
            "`{name}={text}` is not a date in the form YYYY-MM-DD: {error}"
        ))
    })
}

/// The media type of the body, without parameters, in lower case.
fn media_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
}

fn unsupported_media(found: Option<&str>, accepted: &str) -> Problem {
    Problem::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
        match found {
            Some(found) => {
                format!("the body's Content-Type `{found}` is not accepted here: send {accepted}")
            }
            None => format!("the request has no Content-Type: send {accepted}"),
        },
    )
}

/// The engines a request is decided with: the version it names, else the in-force ones.
fn engines<'a>(
    set: &'a crate::policies::PolicySet,
    version: Option<&str>,
) -> Result<&'a VersionSet, Problem> {
    set.engines_for(version).ok_or_else(|| {
        Problem::not_found(format!(
            "the policy has no version `{}`; it has {}",
            version.unwrap_or_default(),
            set.version_names().join(", ")
        ))
    })
}

thread_local! {
    /// The evaluation scratch space of each worker thread.
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Decides one case's JSON text as `ereje eval` does.
pub(crate) fn decide(engines: &VersionSet, json: &str, options: &EvalOptions) -> CaseOutcome {
    SCRATCH.with(|scratch| engines.decide_json(json, options, &mut scratch.borrow_mut()))
}

/// Decides one NDJSON line as `ereje batch` does (see [`VersionSet::decide_line`]).
fn decide_line(engines: &VersionSet, raw: &[u8], options: &EvalOptions) -> CaseOutcome {
    SCRATCH.with(|scratch| engines.decide_line(raw, options, &mut scratch.borrow_mut()))
}

// ---------------------------------------------------------------------------------------------
// Handlers.

async fn health(State(app): State<Arc<App>>) -> Response {
    let set = app.policies();
    let body = serde_json::json!({
        "status": "ok",
        "policy": set.name,
        "digests": set.digests(),
    });
    json_response(StatusCode::OK, format!("{body}\n"))
}

async fn openapi() -> Response {
    json_response(StatusCode::OK, crate::openapi::document().to_string())
}

async fn policies(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, Problem> {
    require(&caller, Role::Evaluate)?;
    Ok(json_response(
        StatusCode::OK,
        format!("{}\n", app.policies().listing()),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParametersQuery {
    date: String,
    version: Option<String>,
}

async fn parameters(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    asked: Result<Query<ParametersQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    require(&caller, Role::Evaluate)?;
    let asked = query(asked)?;
    let date = parse_date("date", &asked.date)?;
    let set = app.policies();
    let engine = engines(&set, asked.version.as_deref())?
        .pick(Some(date))
        .ok_or_else(|| Problem::not_found("no version of the policy is in force"))?;
    let body = crate::policies::parameters_on(engine.policy(), date);
    Ok(json_response(StatusCode::OK, format!("{body}\n")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EvaluateQuery {
    as_of: Option<String>,
    version: Option<String>,
    #[serde(default)]
    trace: bool,
}

/// The evaluation options of a request's `?as_of=` (a bad date is a problem) and trace.
fn eval_options(as_of: Option<&str>, trace: bool) -> Result<EvalOptions, Problem> {
    Ok(EvalOptions {
        as_of: as_of.map(|text| parse_date("as_of", text)).transpose()?,
        trace,
    })
}

async fn evaluate(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    asked: Result<Query<EvaluateQuery>, QueryRejection>,
    request: Request,
) -> Result<Response, Problem> {
    require(&caller, Role::Evaluate)?;
    let asked = query(asked)?;
    let options = eval_options(asked.as_of.as_deref(), asked.trace)?;
    let media = media_type(&headers);
    let set = app.policies();
    engines(&set, asked.version.as_deref())?;
    match media.as_deref() {
        Some("application/json") => {
            let received = body(Bytes::from_request(request, &()).await)?;
            let case = single_case(&app, &received)?;
            let engines = engines(&set, asked.version.as_deref())?;
            Ok(outcome_response(&decide(engines, case, &options)))
        }
        Some("application/x-ndjson") => {
            refuse_declared_length_over(&headers, app.limits.max_stream_bytes)?;
            let body = request.into_body();
            Ok(crate::ndjson::answer(
                set,
                asked.version,
                options,
                body,
                app.limits,
                decide_line,
            ))
        }
        other => Err(unsupported_media(
            other,
            "application/json (one case) or application/x-ndjson (one case per line)",
        )),
    }
}

/// Refuses a body whose `content-length` is over `limit` before a byte of it is read.
fn refuse_declared_length_over(headers: &HeaderMap, limit: usize) -> Result<(), Problem> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            format!("the body is {length} bytes, over the limit of {limit} bytes for a stream"),
        )),
        _ => Ok(()),
    }
}

/// The body of a one-case request as text, within the case-size limit.
fn single_case<'a>(app: &App, received: &'a Bytes) -> Result<&'a str, Problem> {
    if received.len() > app.limits.max_case_bytes {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            format!(
                "the case is {} bytes, over the limit of {} bytes for one case",
                received.len(),
                app.limits.max_case_bytes
            ),
        ));
    }
    std::str::from_utf8(received).map_err(|error| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-body",
            format!("the body is not valid UTF-8 (byte {})", error.valid_up_to()),
        )
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordQuery {
    as_of: Option<String>,
    version: Option<String>,
}

async fn keep_decision(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    asked: Result<Query<RecordQuery>, QueryRejection>,
    received: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    require(&caller, Role::Record)?;
    let asked = query(asked)?;
    let options = eval_options(asked.as_of.as_deref(), false)?;
    let idempotency_key = headers
        .get("idempotency-key")
        .map(|value| {
            value
                .to_str()
                .ok()
                .filter(|key| !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY)
                .map(str::to_string)
                .ok_or_else(|| {
                    Problem::bad_request(format!(
                        "the Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"
                    ))
                })
        })
        .transpose()?;
    let media = media_type(&headers);
    if media.as_deref() != Some("application/json") {
        return Err(unsupported_media(
            media.as_deref(),
            "application/json (one case)",
        ));
    }
    let received = body(received)?;
    let case = single_case(&app, &received)?;
    let set = app.policies();
    let outcome = decide(engines(&set, asked.version.as_deref())?, case, &options);
    let CaseOutcome::Decision(decision) = &outcome else {
        return Ok(outcome_response(&outcome));
    };
    let record = NewRecord {
        case_id: decision.case_id.clone(),
        case_json: case.to_string(),
        as_of: decision.as_of.to_string(),
        policy_name: decision.policy.name.to_string(),
        policy_version: decision.policy.version.to_string(),
        policy_digest: decision.policy.digest.to_string(),
        decision_json: outcome.to_json_line(),
        requested_by: caller.name.clone(),
        idempotency_key,
    };
    let kept = app
        .store
        .keep(record.clone())
        .await
        .map_err(|error| Problem::internal(format!("the record was not kept: {error}")))?;
    if !kept.created && kept.record.fields.case_json != record.case_json {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "idempotency-key-reused",
            format!(
                "the Idempotency-Key was first used for another case (record {}); use a new key for a new case",
                kept.record.id
            ),
        ));
    }
    let status = if kept.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = json_response(status, format!("{}\n", kept.record.to_json()));
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/decisions/{}", kept.record.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

async fn decision(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    require(&caller, Role::Read)?;
    let record = find_record(&app, id).await?;
    Ok(json_response(
        StatusCode::OK,
        format!("{}\n", record.to_json()),
    ))
}

pub(crate) async fn find_record(app: &App, id: String) -> Result<crate::storage::Record, Problem> {
    app.store
        .record(id.clone())
        .await
        .map_err(|error| Problem::internal(format!("the record cannot be read: {error}")))?
        .ok_or_else(|| Problem::not_found(format!("there is no decision record `{id}`")))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseRecordsQuery {
    case_id: String,
    limit: Option<u32>,
    before: Option<i64>,
}

async fn decisions_of_case(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    asked: Result<Query<CaseRecordsQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    require(&caller, Role::Read)?;
    let asked = query(asked)?;
    let limit = asked.limit.unwrap_or(50).clamp(1, MAX_PAGE);
    let page = app
        .store
        .records_of_case(asked.case_id, limit, asked.before)
        .await
        .map_err(|error| Problem::internal(format!("the records cannot be read: {error}")))?;
    let mut body = String::from("{\"records\":[");
    for (position, record) in page.records.iter().enumerate() {
        if position > 0 {
            body.push(',');
        }
        body.push_str(&record.to_json());
    }
    body.push_str("],\"next_before\":");
    body.push_str(&serde_json::json!(page.next_before).to_string());
    body.push_str("}\n");
    Ok(json_response(StatusCode::OK, body))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ExplanationQuery {
    lang: Option<String>,
    format: Option<String>,
    #[serde(default)]
    full: bool,
}

async fn explanation(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    asked: Result<Query<ExplanationQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    require(&caller, Role::Read)?;
    let asked = query(asked)?;
    let lang = match asked.lang.as_deref().unwrap_or("ru") {
        "ru" => explain::Lang::Ru,
        "kk" => explain::Lang::Kk,
        "en" => explain::Lang::En,
        other => {
            return Err(Problem::bad_request(format!(
                "`lang={other}` is not a language of the explanations: ru, kk or en"
            )))
        }
    };
    let (format, media) = match asked.format.as_deref().unwrap_or("text") {
        "text" => (explain::Format::Text, "text/plain; charset=utf-8"),
        "json" => (explain::Format::Json, "application/json"),
        "html" => (explain::Format::Html, "text/html; charset=utf-8"),
        other => {
            return Err(Problem::bad_request(format!(
                "`format={other}` is not a format of the explanations: text, json or html"
            )))
        }
    };
    let record = find_record(&app, id).await?;
    let engine = engine_of_digest(&app, &record.fields.policy_digest).await?;
    let as_of = parse_date("as_of", &record.fields.as_of)?;
    let options = ereje_runtime::ExplainOptions {
        as_of: Some(as_of),
        full_trace: asked.full,
    };
    let text = match ereje_runtime::explain_case(&engine, &record.fields.case_json, &options) {
        Ok(explanation) => explain::render(&explanation, format, lang, asked.full),
        Err(failure) => {
            return Err(Problem::internal(format!(
                "the record's case cannot be decided again with its policy: {}",
                failure.error.message
            )))
        }
    };
    let mut response = (StatusCode::OK, text).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    Ok(response)
}

/// The engine of a policy by its digest: a served version's, else the registry's (loaded once).
pub(crate) async fn engine_of_digest(app: &App, digest: &str) -> Result<Engine, Problem> {
    let set = app.policies();
    if let Some(served) = set
        .versions
        .iter()
        .find(|served| served.engine.digest() == digest)
    {
        return Ok(served.engine.clone());
    }
    if let Some(engine) = app
        .registry_engines
        .lock()
        .ok()
        .and_then(|engines| engines.get(digest).cloned())
    {
        return Ok(engine);
    }
    let ir = app
        .store
        .policy_ir(digest.to_string())
        .await
        .map_err(|error| Problem::internal(format!("the policy registry cannot be read: {error}")))?
        .ok_or_else(|| {
            Problem::internal(format!(
                "the policy `{digest}` is not in the policy registry"
            ))
        })?;
    let engine = Engine::from_json(&ir)
        .map_err(|error| {
            Problem::internal(format!(
                "the registry's policy `{digest}` cannot be loaded: {error}"
            ))
        })?
        .with_native_code(app.native_code);
    if let Ok(mut engines) = app.registry_engines.lock() {
        engines.insert(digest.to_string(), engine.clone());
    }
    Ok(engine)
}

async fn admin_reload(
    State(app): State<Arc<App>>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, Problem> {
    require(&caller, Role::Admin)?;
    match crate::reload(&app).await {
        Ok(digests) => {
            tracing::info!(?digests, "reloaded the policy");
            let body = serde_json::json!({ "reloaded": true, "digests": digests });
            Ok(json_response(StatusCode::OK, format!("{body}\n")))
        }
        Err(error) => Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "policy-not-reloaded",
            format!("the policy was not reloaded and the one before is still served: {error}"),
        )),
    }
}
