//! The commission app's pages under `/app`: sign-in with a session cookie (HttpOnly,
//! SameSite=Strict; a signed-in session kept in the database by the SHA-256 of its token, an
//! anonymous cookie before sign-in that no table holds, see [`super::sessions`]) and a limit on failed attempts, a CSRF token in every form, a
//! Content-Security-Policy that lets only the response's own nonce'd style and script run.
//!
//! Every page and action of a survey or conclusion checks that it belongs to the signed-in
//! member's commission (`403` otherwise), in the same transaction that reads or writes it.

// The early answers of a request (a redirect to the sign-in page, a refusal) are whole responses,
// made at most once per request: boxing them would buy nothing.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::sessions::{self, AnonymousCookie, StoredSession};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use ereje_runtime::{CaseOutcome, EvalOptions};
use subtle::ConstantTimeEq;

use super::pages::{escape, page, Header, Lang};
use super::{form, AppError, Conclusion, Location, NewRevision, User};
use crate::storage::{in_transaction, NewRecord, StoreError};
use crate::App;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "ereje_session";
/// Failed sign-ins of one login before it is locked for [`LOCK_TIME`].
pub const MAX_FAILED_SIGN_INS: u32 = 5;
/// How long a login stays locked after too many failed attempts.
pub const LOCK_TIME: Duration = Duration::from_secs(15 * 60);

/// One browser's session: its CSRF token, language and, once signed in, its user.
#[derive(Debug, Clone)]
struct Session {
    user_id: Option<i64>,
    csrf: String,
    lang: Lang,
}

impl Session {
    fn of_stored(stored: &StoredSession) -> Session {
        Session {
            user_id: stored.user_id,
            csrf: stored.csrf.clone(),
            lang: Lang::parse(&stored.lang).unwrap_or_default(),
        }
    }

    fn stored(&self, now: i64) -> StoredSession {
        StoredSession {
            user_id: self.user_id,
            csrf: self.csrf.clone(),
            lang: self.lang.code().to_string(),
            used_at: now,
        }
    }
}

/// The failed sign-ins by login, for the limit on attempts. They are kept in memory, not in the
/// database with the sessions: a restart forgets them, which gives a guesser five more tries only
/// if they can restart the server, and a failed attempt writes nothing to the database (a flood
/// of wrong passwords cannot fill it or slow the writer).
#[derive(Debug, Default)]
pub struct SignInAttempts {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

/// Every route of the app.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/app", get(home))
        .route("/app/sign-in", get(sign_in_page).post(sign_in))
        .route("/app/sign-out", post(sign_out))
        .route("/app/surveys/new", get(new_survey_page))
        .route("/app/surveys", post(save_new_survey))
        .route("/app/surveys/{id}", get(survey_page).post(save_revision))
        .route("/app/surveys/{id}/revise", get(revise_page))
        .route("/app/conclusions/{id}", get(conclusion_page))
        .route("/app/conclusions/{id}/send", post(send))
        .route("/app/conclusions/{id}/sign", post(sign))
        .route("/app/conclusions/{id}/print", get(print_page))
}

/// What a request knows of its browser: its session (signed in, or anonymous and made if there
/// was none) and its user.
struct Visit {
    session_id: String,
    new_cookie: bool,
    session: Session,
    user: Option<User>,
    nonce: String,
}

impl Visit {
    fn lang(&self) -> Lang {
        self.session.lang
    }

    fn header(&self) -> Option<Header<'_>> {
        self.user.as_ref().map(|user| Header {
            name: &user.full_name,
            csrf: &self.session.csrf,
            surveys: user.role.signs(),
        })
    }

    /// The response with the page's security headers and, for a new session, its cookie.
    fn respond(&self, status: StatusCode, html: String) -> Response {
        let mut response = (status, html).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        let policy = format!(
            "default-src 'none'; style-src 'nonce-{0}'; script-src 'nonce-{0}'; img-src 'self'; \
             form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            self.nonce
        );
        if let Ok(value) = HeaderValue::from_str(&policy) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.new_cookie {
            // An anonymous cookie lasts only as long as the server accepts it.
            let max_age = if AnonymousCookie::is_anonymous(&self.session_id) {
                format!("; Max-Age={}", sessions::ANONYMOUS_SECONDS)
            } else {
                String::new()
            };
            if let Ok(value) = HeaderValue::from_str(&format!(
                "{SESSION_COOKIE}={}; Path=/app; HttpOnly; SameSite=Strict{max_age}",
                self.session_id
            )) {
                headers.insert(header::SET_COOKIE, value);
            }
        }
        response
    }

    fn page(&self, status: StatusCode, title: &str, path: &str, body: &str) -> Response {
        let html = page(
            self.lang(),
            title,
            path,
            self.header().as_ref(),
            &self.nonce,
            body,
        );
        self.respond(status, html)
    }

    fn redirect(&self, to: &str) -> Response {
        let mut response = self.respond(StatusCode::SEE_OTHER, String::new());
        if let Ok(location) = HeaderValue::from_str(to) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        response
    }

    /// The page of a refused action or a failure.
    fn refusal(&self, error: &AppError) -> Response {
        let words = self.lang().words();
        let (status, text) = match error {
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, words.forbidden.to_string()),
            AppError::ReadOnly(_) => (StatusCode::FORBIDDEN, words.read_only.to_string()),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, words.not_found.to_string()),
            AppError::Invalid(message) => (StatusCode::CONFLICT, message.clone()),
            AppError::Store(error) => {
                tracing::error!(%error, "the commission app's database failed");
                (StatusCode::INTERNAL_SERVER_ERROR, error.to_string())
            }
        };
        self.page(
            status,
            words.refused,
            "/app",
            &format!(
                "<h1>{}</h1><p class=\"error\">{}</p><p><a href=\"/app\">{}</a></p>",
                escape(words.refused),
                escape(&text),
                escape(words.home)
            ),
        )
    }

    /// The signed-in user, or the refusal to answer without one.
    fn user(&self) -> Result<&User, Response> {
        self.user
            .as_ref()
            .ok_or_else(|| self.redirect("/app/sign-in"))
    }

    /// The refusal (`403`, read only) of an action that changes something, for a user who does
    /// not survey or sign: an analyst or an admin.
    fn require_signer(&self, user: &User) -> Result<(), Response> {
        if user.role.signs() {
            Ok(())
        } else {
            Err(self.refusal(&AppError::ReadOnly(format!(
                "a {} changes nothing",
                user.role.name()
            ))))
        }
    }

    /// Checks a posted form's CSRF token against the session's (`403` when missing or wrong).
    fn check_csrf(&self, fields: &[(String, String)]) -> Result<(), Response> {
        let sent = fields
            .iter()
            .find(|(name, _)| name == "csrf")
            .map(|(_, value)| value.as_str())
            .unwrap_or_default();
        if !sent.is_empty() && bool::from(sent.as_bytes().ct_eq(self.session.csrf.as_bytes())) {
            Ok(())
        } else {
            Err(self.refusal(&AppError::Forbidden(
                "the form's CSRF token is missing or wrong".to_string(),
            )))
        }
    }

    fn csrf_field(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            escape(&self.session.csrf)
        )
    }
}

fn random(count: usize) -> String {
    crate::auth::random_hex(count).unwrap_or_default()
}

/// A new secret (a session token or a CSRF token) of 32 random bytes; the system's random source
/// failing is a `500`, never an empty or guessable secret.
fn new_secret() -> Result<String, Response> {
    crate::auth::random_hex(32).map_err(|error| {
        tracing::error!(%error, "no random bytes for a session");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    })
}

/// Finds the request's session and its user; `?lang=` sets the session's language. A signed-in
/// session is read from the database (one transaction); any other request gets an anonymous
/// cookie that no table holds (see [`sessions::AnonymousCookie`]), so it writes nothing.
async fn visit(app: &App, headers: &HeaderMap, lang: Option<&str>) -> Result<Visit, Response> {
    let presented = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string());
    let asked_lang = lang.and_then(Lang::parse);
    let now = sessions::now_seconds();
    let stored_token = presented
        .clone()
        .filter(|token| !AnonymousCookie::is_anonymous(token));
    if let Some(token) = stored_token {
        let found = app
            .store
            .side(move |database| {
                in_transaction(database, |sql| {
                    let asked = asked_lang.map(Lang::code);
                    let Some(stored) = sessions::find(sql, &token, asked, now)? else {
                        return Ok(None);
                    };
                    let session = Session::of_stored(&stored);
                    let user = match session.user_id {
                        Some(user_id) => super::user_by_id(sql, user_id)?,
                        None => None,
                    };
                    Ok(user.map(|user| (token, session, user)))
                })
            })
            .await
            .map_err(|error| {
                tracing::error!(%error, "the commission app's sessions failed");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            })?;
        if let Some((session_id, session, user)) = found {
            return Ok(Visit {
                session_id,
                new_cookie: false,
                session,
                user: Some(user),
                nonce: random(16),
            });
        }
    }
    // Not signed in: the anonymous cookie presented, or a new one.
    let Some(key) = app.anonymous_key.bytes() else {
        tracing::error!("no random bytes for the anonymous cookies' key");
        return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
    };
    let presented_anonymous = presented
        .as_deref()
        .and_then(|value| AnonymousCookie::parse(value, now));
    let (cookie, new_cookie) = match presented_anonymous {
        Some(mut cookie) => {
            let changed = asked_lang.filter(|asked| asked.code() != cookie.lang);
            if let Some(asked) = changed {
                cookie.lang = asked.code().to_string();
            }
            (cookie, changed.is_some())
        }
        None => (
            AnonymousCookie {
                lang: asked_lang.unwrap_or_default().code().to_string(),
                made_at: now,
                random: new_secret()?,
            },
            true,
        ),
    };
    let session = Session {
        user_id: None,
        csrf: cookie.csrf(key),
        lang: Lang::parse(&cookie.lang).unwrap_or_default(),
    };
    Ok(Visit {
        session_id: cookie.value(),
        new_cookie,
        session,
        user: None,
        nonce: random(16),
    })
}

#[derive(Debug, serde::Deserialize, Default)]
struct LangQuery {
    lang: Option<String>,
}

/// The session's visit and its signed-in user, or the response that ends the request.
async fn signed_in(
    app: &App,
    headers: &HeaderMap,
    lang: Option<&str>,
) -> Result<(Visit, User), Response> {
    let visit = visit(app, headers, lang).await?;
    let user = visit.user()?.clone();
    Ok((visit, user))
}

/// Runs a read or write of the app on the database connection.
async fn with_database<T: Send + 'static>(
    app: &App,
    work: impl FnOnce(&mut dyn crate::storage::Database) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    app.store
        .side(move |database| Ok(work(database)))
        .await
        .map_err(AppError::Store)?
}

// ---------------------------------------------------------------------------------------------
// Signing in and out.

async fn sign_in_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(asked): Query<LangQuery>,
) -> Response {
    let visit = match visit(&app, &headers, asked.lang.as_deref()).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    sign_in_form(&visit, StatusCode::OK, None)
}

fn sign_in_form(visit: &Visit, status: StatusCode, error: Option<&str>) -> Response {
    let words = visit.lang().words();
    let error = error.map_or_else(String::new, |error| {
        format!("<p class=\"error\" role=\"alert\">{}</p>", escape(error))
    });
    let body = format!(
        "<h1>{}</h1>{error}<form method=\"post\" action=\"/app/sign-in\">{}\
         <div class=\"field\"><label for=\"login\">{}</label>\
         <input id=\"login\" name=\"login\" autocomplete=\"username\" required></div>\
         <div class=\"field\"><label for=\"password\">{}</label>\
         <input id=\"password\" name=\"password\" type=\"password\" \
         autocomplete=\"current-password\" required></div>\
         <button class=\"primary\" type=\"submit\">{}</button></form>",
        escape(words.sign_in),
        visit.csrf_field(),
        escape(words.login),
        escape(words.password),
        escape(words.sign_in),
    );
    visit.page(status, words.sign_in, "/app/sign-in", &body)
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(field, _)| field == name)
        .map_or("", |(_, value)| value.as_str())
}

async fn sign_in(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let visit = match visit(&app, &headers, None).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    if let Err(response) = visit.check_csrf(&fields) {
        return response;
    }
    let words = visit.lang().words();
    let login = field(&fields, "login").trim().to_string();
    let password = field(&fields, "password").to_string();
    let locked = app.sign_in_attempts.failures.lock().is_ok_and(|failures| {
        failures.get(&login).is_some_and(|(count, since)| {
            *count >= MAX_FAILED_SIGN_INS && since.elapsed() < LOCK_TIME
        })
    });
    if locked {
        return sign_in_form(&visit, StatusCode::TOO_MANY_REQUESTS, Some(words.too_many));
    }
    let looked_up = login.clone();
    let found = with_database(&app, move |database| {
        Ok(in_transaction(database, |sql| {
            super::user_by_login(sql, &looked_up)
        })?)
    })
    .await;
    let user = match found {
        Ok(user) => user,
        Err(error) => return visit.refusal(&error),
    };
    let checked = user.clone();
    let matches = tokio::task::spawn_blocking(move || match checked {
        Some(user) => crate::auth::secret_matches(&password, &user.password_hash),
        // The same work for an unknown login, so the time taken does not tell logins apart.
        None => {
            crate::auth::secret_matches(&password, dummy_hash());
            false
        }
    })
    .await
    .unwrap_or(false);
    let Some(user) = user.filter(|_| matches) else {
        if let Ok(mut failures) = app.sign_in_attempts.failures.lock() {
            let entry = failures.entry(login).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= LOCK_TIME {
                *entry = (0, Instant::now());
            }
            entry.0 += 1;
        }
        return sign_in_form(&visit, StatusCode::UNAUTHORIZED, Some(words.bad_sign_in));
    };
    if let Ok(mut failures) = app.sign_in_attempts.failures.lock() {
        failures.remove(&login);
    }
    let audited = user.clone();
    if let Err(error) = with_database(&app, move |database| {
        Ok(super::record_sign_in(database, &audited)?)
    })
    .await
    {
        return visit.refusal(&error);
    }
    // A new session token (and CSRF token) at sign-in, so a cookie planted before it is worth
    // nothing: the first row of the session is made now. A signed-in session before it (a second
    // sign-in in the same browser) is deleted.
    let (session_id, csrf) = match (new_secret(), new_secret()) {
        (Ok(token), Ok(csrf)) => (token, csrf),
        (Err(response), _) | (_, Err(response)) => return response,
    };
    let session = Session {
        user_id: Some(user.id),
        csrf,
        lang: visit.lang(),
    };
    let (old_token, new_token, stored) = (
        visit.session_id.clone(),
        session_id.clone(),
        session.stored(sessions::now_seconds()),
    );
    if let Err(error) = with_database(&app, move |database| {
        Ok(in_transaction(database, |sql| {
            if !AnonymousCookie::is_anonymous(&old_token) {
                sessions::delete(sql, &old_token)?;
            }
            sessions::create(sql, &new_token, &stored, stored.used_at)
        })?)
    })
    .await
    {
        return visit.refusal(&error);
    }
    let signed = Visit {
        session_id,
        new_cookie: true,
        session,
        user: Some(user),
        nonce: visit.nonce,
    };
    signed.redirect("/app")
}

/// An argon2 hash of a random secret, checked against for an unknown login.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| crate::auth::hash_secret(&random(16)).unwrap_or_default())
}

async fn sign_out(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let visit = match visit(&app, &headers, None).await {
        Ok(visit) => visit,
        Err(response) => return response,
    };
    if let Err(response) = visit.check_csrf(&fields) {
        return response;
    }
    let token = visit.session_id.clone();
    // An anonymous cookie has no row to delete.
    if visit.user.is_some() {
        if let Err(error) = with_database(&app, move |database| {
            Ok(in_transaction(database, |sql| {
                sessions::delete(sql, &token)
            })?)
        })
        .await
        {
            return visit.refusal(&error);
        }
    }
    let mut response = visit.redirect("/app/sign-in");
    // The browser forgets the cookie too; the row is gone, so the token opens nothing anyway.
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; Path=/app; Max-Age=0; HttpOnly; SameSite=Strict"
    )) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

// ---------------------------------------------------------------------------------------------
// Home.

async fn home(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(asked): Query<LangQuery>,
) -> Response {
    let (visit, user) = match signed_in(&app, &headers, asked.lang.as_deref()).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let listed = user.clone();
    let current = match with_database(&app, move |database| {
        Ok(in_transaction(database, |sql| {
            super::current_conclusions(sql, &listed)
        })?)
    })
    .await
    {
        Ok(current) => current,
        Err(error) => return visit.refusal(&error),
    };
    let words = visit.lang().words();
    let mut waiting = String::new();
    let mut all = String::new();
    for (summary, survey_id, waits) in &current {
        let row = format!(
            "<tr><td data-label=\"{}\"><a href=\"/app/conclusions/{}\">{}</a></td><td>{} {}</td>\
             <td><span class=\"status status-{}\">{}</span></td><td data-label=\"{}\">{}</td>\
             <td><a href=\"/app/surveys/{survey_id}\">{}</a></td></tr>",
            escape(words.case),
            summary.conclusion_id,
            escape(summary.case_id.as_deref().unwrap_or("—")),
            escape(words.revision),
            summary.number,
            escape(&summary.status),
            escape(&words.status(&summary.status)),
            escape(words.author),
            escape(&summary.author_name),
            escape(words.revisions),
        );
        if *waits {
            waiting.push_str(&row);
        }
        all.push_str(&row);
    }
    let table = |rows: &str, empty: &str| {
        if rows.is_empty() {
            format!("<p>{}</p>", escape(empty))
        } else {
            format!(
                "<div class=\"scroll\"><table class=\"list\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>{rows}</table></div>",
                escape(words.case),
                escape(words.revision),
                escape(words.status),
                escape(words.author)
            )
        }
    };
    // Who only reads (an analyst) gets neither the new survey nor what waits for a signature.
    let signer_part = if user.role.signs() {
        format!(
            "<p><a class=\"button primary\" href=\"/app/surveys/new\">{}</a></p>\
             <h2 id=\"waiting\">{}</h2>{}",
            escape(words.new_survey),
            escape(words.waiting),
            table(&waiting, words.nothing_waits),
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1>{}</h1>{signer_part}<h2>{}</h2>{}",
        escape(words.app),
        escape(words.conclusions),
        table(&all, "—"),
    );
    visit.page(StatusCode::OK, words.home, "/app", &body)
}

// ---------------------------------------------------------------------------------------------
// The survey form.

/// The policy whose input record the form shows: the newest version in force.
fn form_policy(app: &App) -> Option<Arc<ereje_runtime::ir::Policy>> {
    let set = app.policies();
    set.versions
        .iter()
        .rev()
        .find(|served| served.spec.in_force_from().is_some())
        .or(set.versions.last())
        .map(|served| Arc::new(served.engine.policy().clone()))
}

/// The survey form page: `action` posts it; `value` fills it; `errors` by JSON pointer.
fn survey_form(
    app: &App,
    visit: &Visit,
    path: &str,
    action: &str,
    value: Option<&serde_json::Value>,
    errors: &BTreeMap<String, String>,
    status: StatusCode,
) -> Response {
    let words = visit.lang().words();
    let Some(policy) = form_policy(app) else {
        return visit.refusal(&AppError::NotFound("no policy is served".to_string()));
    };
    let (fields, unplaced) = form::render(&policy, visit.lang(), value, errors);
    let mut summary = String::new();
    if !errors.is_empty() {
        summary.push_str(&format!(
            "<div class=\"error\" role=\"alert\"><p>{}</p>",
            escape(words.errors)
        ));
        for (path, message) in &unplaced {
            summary.push_str(&format!(
                "<p><code>{}</code> {}</p>",
                escape(path),
                escape(message)
            ));
        }
        summary.push_str("</div>");
    }
    let body = format!(
        "<h1>{}</h1>{summary}<form method=\"post\" action=\"{}\" id=\"survey\">{}{fields}\
         <fieldset><legend>{}</legend><p id=\"geo\" data-locating=\"{}\" data-located=\"{}\" \
         data-none=\"{}\"><span id=\"geo-state\">{}</span></p>\
         <input type=\"hidden\" name=\"latitude\" id=\"latitude\">\
         <input type=\"hidden\" name=\"longitude\" id=\"longitude\">\
         <input type=\"hidden\" name=\"accuracy\" id=\"accuracy\">\
         <input type=\"hidden\" name=\"located_at\" id=\"located_at\"></fieldset>\
         <p><button class=\"primary\" type=\"submit\" id=\"save\">{}</button></p></form>",
        escape(words.survey),
        escape(action),
        visit.csrf_field(),
        escape(words.location),
        escape(words.locating),
        escape(words.located),
        escape(words.no_location),
        escape(words.no_location),
        escape(words.save),
    );
    visit.page(status, words.survey, path, &body)
}

async fn new_survey_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(asked): Query<LangQuery>,
) -> Response {
    let (visit, user) = match signed_in(&app, &headers, asked.lang.as_deref()).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if let Err(response) = visit.require_signer(&user) {
        return response;
    }
    if user.commission_id.is_none() {
        return visit.refusal(&AppError::Forbidden(
            "only a commission's member surveys".to_string(),
        ));
    }
    survey_form(
        &app,
        &visit,
        "/app/surveys/new",
        "/app/surveys",
        None,
        &BTreeMap::new(),
        StatusCode::OK,
    )
}

async fn revise_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(survey_id): Path<i64>,
    Query(asked): Query<LangQuery>,
) -> Response {
    let (visit, user) = match signed_in(&app, &headers, asked.lang.as_deref()).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if let Err(response) = visit.require_signer(&user) {
        return response;
    }
    let latest = with_database(&app, move |database| {
        in_transaction(database, |sql| -> Result<Conclusion, AppError> {
            let revisions = super::survey_revisions(sql, &user, survey_id)?;
            let newest = revisions
                .first()
                .ok_or_else(|| AppError::NotFound(format!("the survey {survey_id} is empty")))?;
            super::visible_conclusion(sql, &user, newest.conclusion_id)
        })
    })
    .await;
    match latest {
        Ok(latest) => {
            let value = serde_json::from_str::<serde_json::Value>(&latest.case_json).ok();
            survey_form(
                &app,
                &visit,
                &format!("/app/surveys/{survey_id}/revise"),
                &format!("/app/surveys/{survey_id}"),
                value.as_ref(),
                &BTreeMap::new(),
                StatusCode::OK,
            )
        }
        Err(error) => visit.refusal(&error),
    }
}

async fn save_new_survey(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    save(app, headers, None, fields).await
}

async fn save_revision(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(survey_id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    save(app, headers, Some(survey_id), fields).await
}

/// Decides the posted survey, keeps its decision record, and keeps it as a revision with its
/// draft conclusion; a case the engine refuses is shown again with its errors at their fields.
async fn save(
    app: Arc<App>,
    headers: HeaderMap,
    survey_id: Option<i64>,
    fields: Vec<(String, String)>,
) -> Response {
    let (visit, user) = match signed_in(&app, &headers, None).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if let Err(response) = visit.check_csrf(&fields) {
        return response;
    }
    if let Err(response) = visit.require_signer(&user) {
        return response;
    }
    if user.commission_id.is_none() {
        return visit.refusal(&AppError::Forbidden(
            "only a commission's member surveys".to_string(),
        ));
    }
    if let Some(survey_id) = survey_id {
        // A correction of another commission's survey is refused before anything is decided.
        let asker = user.clone();
        if let Err(error) = with_database(&app, move |database| {
            in_transaction(database, |sql| {
                super::survey_revisions(sql, &asker, survey_id).map(|_| ())
            })
        })
        .await
        {
            return visit.refusal(&error);
        }
    }
    let Some(policy) = form_policy(&app) else {
        return visit.refusal(&AppError::NotFound("no policy is served".to_string()));
    };
    let case = form::case_of_form(&policy, &fields);
    let case_json = case.to_string();
    let set = app.policies();
    let outcome = super::super::routes::decide(
        &set.in_force,
        &case_json,
        &EvalOptions {
            as_of: None,
            trace: false,
        },
    );
    let (path, action) = match survey_id {
        Some(id) => (
            format!("/app/surveys/{id}/revise"),
            format!("/app/surveys/{id}"),
        ),
        None => ("/app/surveys/new".to_string(), "/app/surveys".to_string()),
    };
    let decision = match &outcome {
        CaseOutcome::Decision(decision) => decision,
        CaseOutcome::Error(failure) => {
            let mut errors = BTreeMap::new();
            errors.insert(
                failure.error.path.clone(),
                localized_error(&policy, visit.lang(), &failure.error),
            );
            return survey_form(
                &app,
                &visit,
                &path,
                &action,
                Some(&case),
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let record = NewRecord {
        case_id: decision.case_id.clone(),
        case_json: case_json.clone(),
        as_of: decision.as_of.to_string(),
        policy_name: decision.policy.name.to_string(),
        policy_version: decision.policy.version.to_string(),
        policy_digest: decision.policy.digest.to_string(),
        decision_json: outcome.to_json_line(),
        requested_by: user.login.clone(),
        idempotency_key: None,
    };
    let kept = match app.store.keep(record).await {
        Ok(kept) => kept,
        Err(error) => return visit.refusal(&AppError::Store(error)),
    };
    let located = |name: &str| {
        Some(field(&fields, name).trim().to_string()).filter(|value| !value.is_empty())
    };
    let revision = NewRevision {
        survey_id,
        case_id: decision.case_id.clone(),
        case_json,
        location: Location {
            latitude: located("latitude"),
            longitude: located("longitude"),
            accuracy: located("accuracy"),
            time: located("located_at"),
        },
        decision_id: kept.record.id.parse().unwrap_or(0),
        policy_version: kept.record.fields.policy_version.clone(),
        policy_digest: kept.record.fields.policy_digest.clone(),
    };
    match with_database(&app, move |database| {
        super::save_revision(database, &user, revision)
    })
    .await
    {
        Ok((_, conclusion_id)) => visit.redirect(&format!("/app/conclusions/{conclusion_id}")),
        Err(error) => visit.refusal(&error),
    }
}

/// An engine error in the page's language, the field named by its label (a failed check's own
/// message from the policy), as `ereje explain --lang` writes it: the one place the app turns a
/// case error into words.
fn localized_error(
    policy: &ereje_runtime::ir::Policy,
    lang: Lang,
    error: &ereje_runtime::CaseError,
) -> String {
    ereje_report::case_error_text(error, policy, lang.report())
}

// ---------------------------------------------------------------------------------------------
// Surveys and conclusions.

async fn survey_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(survey_id): Path<i64>,
    Query(asked): Query<LangQuery>,
) -> Response {
    let (visit, user) = match signed_in(&app, &headers, asked.lang.as_deref()).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let signs = user.role.signs();
    let revisions = match with_database(&app, move |database| {
        in_transaction(database, |sql| {
            super::survey_revisions(sql, &user, survey_id)
        })
    })
    .await
    {
        Ok(revisions) => revisions,
        Err(error) => return visit.refusal(&error),
    };
    let words = visit.lang().words();
    let mut rows = String::new();
    for revision in &revisions {
        rows.push_str(&format!(
            "<tr><td><a href=\"/app/conclusions/{}\">{} {}</a></td><td data-label=\"{}\">{}</td>\
             <td data-label=\"{}\">{}</td><td data-label=\"{}\">{}</td>\
             <td><span class=\"status status-{}\">{}</span></td>\
             <td data-label=\"{}\"><code title=\"{}\">{}</code></td></tr>",
            revision.conclusion_id,
            escape(words.revision),
            revision.number,
            escape(words.case),
            escape(revision.case_id.as_deref().unwrap_or("—")),
            escape(words.author),
            escape(&revision.author_name),
            escape(words.saved),
            escape(&shown_time(&revision.saved_at)),
            escape(&revision.status),
            escape(&words.status(&revision.status)),
            escape(words.policy),
            escape(&revision.policy_digest),
            escape(&short_digest(&revision.policy_digest)),
        ));
    }
    let correct = if signs {
        format!(
            "<p><a class=\"button\" href=\"/app/surveys/{survey_id}/revise\">{}</a></p>",
            escape(words.correct)
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1>{} {survey_id}</h1>{correct}\
         <h2>{}</h2><div class=\"scroll\"><table class=\"list\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{rows}</table></div>",
        escape(words.survey),
        escape(words.revisions),
        escape(words.revision),
        escape(words.case),
        escape(words.author),
        escape(words.saved),
        escape(words.status),
        escape(words.policy),
    );
    visit.page(
        StatusCode::OK,
        words.survey,
        &format!("/app/surveys/{survey_id}"),
        &body,
    )
}

/// The conclusion the user may see, with the explanation of its decision record in the page's
/// language (text, from `ereje-report`, with the engine of the record's own policy digest).
async fn conclusion_and_explanation(
    app: &App,
    user: &User,
    id: i64,
    lang: Lang,
    compact: bool,
) -> Result<(Conclusion, String), AppError> {
    let asker = user.clone();
    let found = with_database(app, move |database| {
        in_transaction(database, |sql| super::visible_conclusion(sql, &asker, id))
    })
    .await?;
    let record = super::super::routes::find_record(app, found.decision_id.to_string())
        .await
        .map_err(|problem| AppError::Store(StoreError::Task(problem.to_json())))?;
    let engine = super::super::routes::engine_of_digest(app, &record.fields.policy_digest)
        .await
        .map_err(|problem| AppError::Store(StoreError::Task(problem.to_json())))?;
    let as_of = ereje_runtime::value::Date::parse_from_str(&record.fields.as_of, "%Y-%m-%d").ok();
    let options = ereje_runtime::ExplainOptions {
        as_of,
        full_trace: false,
    };
    let text = match ereje_runtime::explain_case(&engine, &record.fields.case_json, &options) {
        Ok(explanation) => {
            let text = ereje_report::explanation::render(
                &explanation,
                ereje_report::explanation::Format::Text,
                lang.report(),
                false,
            );
            if compact {
                let sections =
                    ereje_report::explanation::reading::reading(&explanation, lang.report())
                        .sections
                        .len();
                up_to_the_reasons(&text, sections)
            } else {
                text
            }
        }
        Err(failure) => localized_error(engine.policy(), lang, &failure.error),
    };
    Ok((found, text))
}

/// The explanation for the printed page: its header, its reading sections and its reasons (with
/// rule ids and sources), without the rules behind the outputs, the categories, the facts by JSON
/// path and the decisive branch, which the screen keeps. The text puts a blank line before each
/// of these blocks: the header is the first, the `sections` reading sections follow, then the
/// reasons.
fn up_to_the_reasons(text: &str, sections: usize) -> String {
    let blocks: Vec<&str> = text.split("\n\n").take(sections + 2).collect();
    let mut compact = blocks.join("\n\n");
    compact.push('\n');
    compact
}

/// A time the app keeps (RFC 3339) as the pages show it: to the second, in UTC
/// (`2026-12-06 01:56:18 UTC`); a text that is not such a time is shown as it is.
fn shown_time(time: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(time) {
        Ok(parsed) => parsed
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        Err(_) => time.to_string(),
    }
}

/// A policy digest cut for a list (`sha256:` and 12 hex digits); the full one is its title and
/// on the conclusion's page.
fn short_digest(digest: &str) -> String {
    match digest.char_indices().nth(19) {
        Some((cut, _)) => format!("{}…", &digest[..cut]),
        None => digest.to_string(),
    }
}

fn location_text(location: &Location) -> String {
    match (&location.latitude, &location.longitude) {
        (Some(latitude), Some(longitude)) => format!(
            "{latitude}, {longitude} (± {} m, {})",
            location.accuracy.as_deref().unwrap_or("?"),
            location.time.as_deref().map_or("?".to_string(), shown_time)
        ),
        _ => "—".to_string(),
    }
}

/// The head of a conclusion: case, commission, status, policy, location.
fn conclusion_head(found: &Conclusion, lang: Lang) -> String {
    let words = lang.words();
    format!(
        "<table class=\"head\"><tr><th>{}</th><td id=\"case-id\">{}</td></tr>\
         <tr><th>{}</th><td>{} ({})</td></tr>\
         <tr><th>{}</th><td>{} {} · {} · {}</td></tr>\
         <tr><th>{}</th><td><span class=\"status status-{}\" id=\"status\">{}</span></td></tr>\
         <tr><th>{}</th><td>{}<br><code class=\"digest\" id=\"digest\">{}</code></td></tr>\
         <tr><th>{}</th><td id=\"location\">{}</td></tr></table>",
        escape(words.case),
        escape(found.case_id.as_deref().unwrap_or("—")),
        escape(words.commission),
        escape(&found.commission_name),
        escape(&found.district),
        escape(words.survey),
        escape(words.revision),
        found.revision_number,
        escape(&found.author_name),
        escape(&shown_time(&found.saved_at)),
        escape(words.status),
        escape(&found.status),
        escape(&words.status(&found.status)),
        escape(words.policy),
        escape(&found.policy_version),
        escape(&found.policy_digest),
        escape(words.location),
        escape(&location_text(&found.location)),
    )
}

/// The signatures table: every signer, with their answer and time or "awaited".
fn signatures_table(found: &Conclusion, lang: Lang) -> String {
    let words = lang.words();
    let mut rows = String::new();
    for signer in &found.signers {
        let answer = found
            .signatures
            .iter()
            .find(|signature| signature.member_id == signer.id);
        let (verdict, reason, time) = match answer {
            Some(signature) => (
                words.verdict(&signature.verdict),
                signature.reason.clone(),
                shown_time(&signature.time),
            ),
            None => (words.awaiting.to_string(), String::new(), String::new()),
        };
        // The time follows the verdict in its cell (never broken inside), so that the table has
        // three columns; on a phone the rows stack (`table.list`), the reason labelled.
        let reason_label = if reason.is_empty() {
            String::new()
        } else {
            format!(" data-label=\"{}\"", escape(words.reason))
        };
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{} <span class=\"time\">{}</span></td><td{reason_label}>{}</td></tr>",
            escape(&signer.full_name),
            escape(&verdict),
            escape(&time),
            escape(&reason),
        ));
    }
    format!(
        "<table id=\"signatures\" class=\"list\"><tr><th>{}</th><th>{}</th><th>{}</th></tr>{rows}</table>",
        escape(words.member),
        escape(words.status),
        escape(words.reason),
    )
}

async fn conclusion_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(asked): Query<LangQuery>,
) -> Response {
    let (visit, user) = match signed_in(&app, &headers, asked.lang.as_deref()).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (found, explanation) =
        match conclusion_and_explanation(&app, &user, id, visit.lang(), false).await {
            Ok(found) => found,
            Err(error) => return visit.refusal(&error),
        };
    let words = visit.lang().words();
    let answered = found
        .signatures
        .iter()
        .any(|signature| signature.member_id == user.id);
    let mut actions = String::new();
    if user.role.signs() && found.status == "draft" {
        actions.push_str(&format!(
            "<form method=\"post\" action=\"/app/conclusions/{id}/send\">{}\
             <button class=\"primary\" type=\"submit\" id=\"send\">{}</button></form>",
            visit.csrf_field(),
            escape(words.send)
        ));
    }
    if user.role.signs() && found.status == "sent" && !answered {
        actions.push_str(&format!(
            "<form method=\"post\" action=\"/app/conclusions/{id}/sign\">{}\
             <div class=\"field\"><label for=\"reason\">{}</label>\
             <textarea id=\"reason\" name=\"reason\"></textarea></div>\
             <button class=\"primary\" type=\"submit\" name=\"verdict\" value=\"signed\" id=\"sign\">{}</button> \
             <button type=\"submit\" name=\"verdict\" value=\"declined\" id=\"decline\">{}</button></form>",
            visit.csrf_field(),
            escape(words.reason),
            escape(words.sign),
            escape(words.decline)
        ));
    }
    if user.role.signs() && found.status != "voided" {
        actions.push_str(&format!(
            "<p><a class=\"button\" href=\"/app/surveys/{}/revise\">{}</a></p>",
            found.survey_id,
            escape(words.correct)
        ));
    }
    let body = format!(
        "<h1>{}</h1>{}<h2>{}</h2><pre id=\"explanation\">{}</pre><h2>{}</h2>{}\
         <div class=\"noprint\">{actions}<p><a class=\"button\" href=\"/app/conclusions/{id}/print\" id=\"print-link\">{}</a> \
         <a href=\"/app/surveys/{}\">{}</a></p></div>",
        escape(words.conclusion),
        conclusion_head(&found, visit.lang()),
        escape(words.explanation),
        escape(&explanation),
        escape(words.signatures),
        signatures_table(&found, visit.lang()),
        escape(words.print),
        found.survey_id,
        escape(words.revisions),
    );
    visit.page(
        StatusCode::OK,
        words.conclusion,
        &format!("/app/conclusions/{id}"),
        &body,
    )
}

async fn print_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(asked): Query<LangQuery>,
) -> Response {
    let (visit, user) = match signed_in(&app, &headers, asked.lang.as_deref()).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (found, explanation) =
        match conclusion_and_explanation(&app, &user, id, visit.lang(), true).await {
            Ok(found) => found,
            Err(error) => return visit.refusal(&error),
        };
    let words = visit.lang().words();
    let body = format!(
        "<div class=\"print\"><h1>{} — {}</h1>{}<pre id=\"explanation\">{}</pre><h2>{}</h2>{}</div>\
         <p class=\"noprint\"><button type=\"button\" id=\"print\">{}</button></p>",
        escape(words.conclusion),
        escape(&words.status(&found.status)),
        conclusion_head(&found, visit.lang()),
        escape(&explanation),
        escape(words.signatures),
        signatures_table(&found, visit.lang()),
        escape(words.print),
    );
    visit.page(
        StatusCode::OK,
        words.conclusion,
        &format!("/app/conclusions/{id}/print"),
        &body,
    )
}

async fn send(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let (visit, user) = match signed_in(&app, &headers, None).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if let Err(response) = visit.check_csrf(&fields) {
        return response;
    }
    match with_database(&app, move |database| super::send(database, &user, id)).await {
        Ok(()) => visit.redirect(&format!("/app/conclusions/{id}")),
        Err(error) => visit.refusal(&error),
    }
}

async fn sign(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let (visit, user) = match signed_in(&app, &headers, None).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    if let Err(response) = visit.check_csrf(&fields) {
        return response;
    }
    // The role is checked again inside the transaction that signs (`super::sign`).
    if let Err(response) = visit.require_signer(&user) {
        return response;
    }
    let verdict = field(&fields, "verdict").to_string();
    let reason = field(&fields, "reason").to_string();
    match with_database(&app, move |database| {
        super::sign(database, &user, id, &verdict, &reason)
    })
    .await
    {
        Ok(()) => visit.redirect(&format!("/app/conclusions/{id}")),
        Err(error) => visit.refusal(&error),
    }
}

#[cfg(test)]
mod tests {
    use super::{short_digest, shown_time};

    #[test]
    fn times_are_shown_to_the_second_in_utc() {
        assert_eq!(
            shown_time("2026-12-06T01:56:18.592084Z"),
            "2026-12-06 01:56:18 UTC"
        );
        assert_eq!(
            shown_time("2026-12-06T06:56:18+05:00"),
            "2026-12-06 01:56:18 UTC"
        );
        assert_eq!(shown_time("yesterday"), "yesterday");
    }

    #[test]
    fn a_listed_digest_keeps_its_prefix_and_twelve_digits() {
        let digest = format!("sha256:{}", "d064514a2129".repeat(6));
        assert_eq!(short_digest(&digest), "sha256:d064514a2129…");
        assert_eq!(short_digest("sha256:ab"), "sha256:ab");
    }
}
