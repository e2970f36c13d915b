//! The OpenAPI 3.1 document of the API (`GET /v1/openapi.json`), built from the routes' own
//! description here, next to [`crate::routes::router`]; a test checks that every route of the
//! router is in the document and that the document's routes answer.

use serde_json::{json, Value};

/// The routes the document describes, as (method, path); the router has the same.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1/health"),
    ("get", "/v1/openapi.json"),
    ("get", "/v1/policies"),
    ("get", "/v1/parameters"),
    ("post", "/v1/evaluate"),
    ("post", "/v1/decisions"),
    ("get", "/v1/decisions"),
    ("get", "/v1/decisions/{id}"),
    ("get", "/v1/decisions/{id}/explanation"),
    ("post", "/v1/admin/reload"),
];

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
    })
}

fn json_body(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

fn query(name: &str, description: &str, schema: Value, required: bool) -> Value {
    json!({ "name": name, "in": "query", "required": required, "description": description, "schema": schema })
}

fn id_parameter() -> Value {
    json!({ "name": "id", "in": "path", "required": true, "description": "The record's id.",
            "schema": { "type": "string" } })
}

/// The errors every route can answer.
fn common_errors() -> Vec<(&'static str, Value)> {
    vec![
        ("400", problem("A query parameter or header is wrong.")),
        (
            "401",
            problem("A bearer token is needed, or the one sent is not known."),
        ),
        (
            "403",
            problem("The token does not have the role this route needs."),
        ),
        (
            "503",
            problem("The request took longer than the service's time limit."),
        ),
    ]
}

fn operation(summary: &str, parameters: Vec<Value>, mut responses: Vec<(&str, Value)>) -> Value {
    responses.extend(common_errors());
    let responses: serde_json::Map<String, Value> = responses
        .into_iter()
        .map(|(code, value)| (code.to_string(), value))
        .collect();
    json!({ "summary": summary, "parameters": parameters, "responses": responses })
}

fn with_body(mut operation: Value, body: Value) -> Value {
    if let Some(object) = operation.as_object_mut() {
        object.insert("requestBody".to_string(), body);
    }
    operation
}

/// The document.
pub fn document() -> Value {
    let object = json!({ "type": "object" });
    let case_body = json!({
        "required": true,
        "content": {
            "application/json": { "schema": { "$ref": "#/components/schemas/Case" } },
            "application/x-ndjson": { "schema": { "type": "string" } }
        }
    });
    let record_body = json!({
        "required": true,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Case" } } }
    });
    let as_of = query(
        "as_of",
        "Decide as of this date instead of the case's own.",
        json!({ "type": "string", "format": "date" }),
        false,
    );
    let version = query(
        "version",
        "Decide with this version instead of the one in force.",
        json!({ "type": "string" }),
        false,
    );
    let paths = json!({
        "/v1/health": { "get": operation("Liveness and the digests served.", vec![],
            vec![("200", json_body("The service is up.", object.clone()))]) },
        "/v1/openapi.json": { "get": operation("This document.", vec![],
            vec![("200", json_body("The OpenAPI document.", object.clone()))]) },
        "/v1/policies": { "get": operation("Every version with its status, dates, source and digest.", vec![],
            vec![("200", json_body("The versions.", object.clone()))]) },
        "/v1/parameters": { "get": operation("Every parameter's value in force on a date, the date it took effect and its legal source.",
            vec![query("date", "The date.", json!({ "type": "string", "format": "date" }), true), version.clone()],
            vec![("200", json_body("The parameters.", object.clone())), ("404", problem("No such version."))]) },
        "/v1/evaluate": { "post": with_body(operation(
            "Decide a case (or an NDJSON stream of cases, one answer line per line); nothing is kept.",
            vec![as_of.clone(), version.clone(), query("trace", "Add the trace.", json!({ "type": "boolean" }), false)],
            vec![
                ("200", json!({ "description": "The decision, byte for byte what `ereje eval` prints; for NDJSON one line per input line.",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Decision" } },
                                 "application/x-ndjson": { "schema": { "type": "string" } } } })),
                ("404", problem("No such version.")),
                ("413", problem("The body is over the size limit.")),
                ("415", problem("The body's media type is not accepted.")),
                ("422", json_body("The case cannot be decided.", json!({ "$ref": "#/components/schemas/CaseError" }))),
            ]), case_body) },
        "/v1/decisions": {
            "post": with_body(operation("Decide a case and keep the decision record; 201 once it is durable.",
                vec![as_of, version, json!({ "name": "Idempotency-Key", "in": "header", "required": false,
                    "description": "A retry with the same key returns the first record.", "schema": { "type": "string", "minLength": 1, "maxLength": 255 } })],
                vec![
                    ("201", json_body("The record, kept.", json!({ "$ref": "#/components/schemas/Record" }))),
                    ("200", json_body("The record an earlier request with the same Idempotency-Key kept.", json!({ "$ref": "#/components/schemas/Record" }))),
                    ("404", problem("No such version.")),
                    ("409", problem("The Idempotency-Key was used for another case.")),
                    ("413", problem("The body is over the size limit.")),
                    ("415", problem("The body's media type is not accepted.")),
                    ("422", json_body("The case cannot be decided.", json!({ "$ref": "#/components/schemas/CaseError" }))),
                ]), record_body),
            "get": operation("The records of a case, newest first, paged.",
                vec![query("case_id", "The case's id.", json!({ "type": "string" }), true),
                     query("limit", "At most this many records (1 to 500).", json!({ "type": "integer", "minimum": 0, "maximum": 4294967295u64 }), false),
                     query("before", "Only records older than this id (the last page's next_before).", json!({ "type": "integer" }), false)],
                vec![("200", json_body("A page of records.", object.clone()))])
        },
        "/v1/decisions/{id}": { "get": operation("A decision record.", vec![id_parameter()],
            vec![("200", json_body("The record.", json!({ "$ref": "#/components/schemas/Record" }))), ("404", problem("No such record."))]) },
        "/v1/decisions/{id}/explanation": { "get": operation(
            "The explanation of a record, made with the policy whose digest it holds.",
            vec![id_parameter(),
                 query("lang", "The language.", json!({ "type": "string", "enum": ["ru", "kk", "en"] }), false),
                 query("format", "The format.", json!({ "type": "string", "enum": ["text", "json", "html"] }), false),
                 query("full", "Add the whole computation tree.", json!({ "type": "boolean" }), false)],
            vec![("200", json!({ "description": "The explanation.", "content": {
                    "text/plain": { "schema": { "type": "string" } },
                    "application/json": { "schema": object.clone() },
                    "text/html": { "schema": { "type": "string" } } } })),
                 ("404", problem("No such record."))]) },
        "/v1/admin/reload": { "post": operation("Compile the policy directory again and serve it if it has no errors.", vec![],
            vec![("200", json_body("The new digests.", object.clone())),
                 ("422", problem("The policy has errors; the one before is still served."))]) },
    });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Ereje",
            "version": "1",
            "description": "The Ereje rules engine as a service: decisions by the policy in force, kept as records with their exact policy."
        },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Case": { "type": "object", "description": "A case of shared/contract/case.schema.json." },
                "Decision": { "type": "object", "required": ["as_of", "policy", "outputs"],
                    "properties": { "case_id": { "type": ["string", "null"] }, "as_of": { "type": "string" },
                        "policy": { "type": "object" }, "outputs": { "type": "object" }, "trace": { "type": "object" } } },
                "CaseError": { "type": "object", "required": ["error"],
                    "properties": { "case_id": { "type": ["string", "null"] },
                        "error": { "type": "object", "required": ["code", "path", "message"],
                            "properties": { "code": { "type": "string" }, "path": { "type": "string" }, "message": { "type": "string" } } } } },
                "Record": { "type": "object", "required": ["id", "created_at", "policy", "case", "decision"],
                    "properties": { "id": { "type": "string" }, "created_at": { "type": "string" },
                        "case_id": { "type": ["string", "null"] }, "as_of": { "type": "string" },
                        "policy": { "type": "object" }, "requested_by": { "type": "string" },
                        "case": { "type": "object" }, "decision": { "$ref": "#/components/schemas/Decision" } } },
                "Problem": { "type": "object", "required": ["type", "title", "status", "detail"],
                    "properties": { "type": { "type": "string" }, "title": { "type": "string" },
                        "status": { "type": "integer" }, "detail": { "type": "string" } } }
            }
        },
        "security": [ { "bearer": [] }, {} ]
    })
}
