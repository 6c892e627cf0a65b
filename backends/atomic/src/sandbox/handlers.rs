//! The sandbox's endpoints: the Data API (`/rest/v1/{relation}`: GET, POST, PATCH, DELETE with
//! PostgREST's headers and answers), Supabase Auth's token endpoint (password and refresh
//! grants), the JWKS, and the OpenAPI root that user keys may no longer read.

use super::Shared;
use super::db::{PgError, Row};
use super::eval;
use super::query::{self, Query};
use super::state::Role;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

/// The most rows one read returns (Atomic CRM's `max_rows`).
const MAX_ROWS: usize = 1000;

fn json_response(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

fn error(e: PgError) -> Response {
    json_response(e.status, e.body())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `Prefer` tokens, from every `Prefer` header.
fn prefer(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_owned())
        .collect()
}

/// The API key and the bearer token, as the API gateway and PostgREST check them.
fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<Role, (u16, Value)> {
    let Some(apikey) = header(headers, "apikey") else {
        return Err((
            401,
            json!({"message": "No API key found in request", "hint": "No `apikey` request header or url param was found."}),
        ));
    };
    if apikey != shared.anon_key {
        return Err((
            401,
            json!({"message": "Invalid API key", "hint": "Double check your Supabase `anon` or `service_role` API key."}),
        ));
    }
    let Some(auth) = header(headers, "authorization") else {
        return Ok(Role::Anon);
    };
    let token = auth.strip_prefix("Bearer ").unwrap_or(auth);
    let claims = shared
        .lock()
        .verify(token, &shared.secret)
        .map_err(|e| (e.status, e.body()))?;
    match claims.get("role").and_then(Value::as_str) {
        Some("authenticated") => Ok(Role::User(
            claims
                .get("sub")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        )),
        Some("anon") => Ok(Role::Anon),
        Some("service_role") => Ok(Role::Service),
        other => {
            let e = PgError::new(
                401,
                "22023",
                format!("role \"{}\" does not exist", other.unwrap_or("")),
            );
            Err((e.status, e.body()))
        }
    }
}

fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    match raw {
        Some(q) if !q.is_empty() => reqwest::Url::parse(&format!("http://sandbox/?{q}"))
            .map(|u| {
                u.query_pairs()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn project(
    rows: Vec<Row>,
    select: &Option<Vec<String>>,
    relation: &str,
) -> Result<Vec<Value>, PgError> {
    let cols = super::db::Db::relation_columns(relation)?;
    if let Some(list) = select
        && let Some(bad) = list
            .iter()
            .find(|c| !cols.iter().any(|col| col.name == c.as_str()))
    {
        return Err(PgError::new(
            400,
            "42703",
            format!("column {relation}.{bad} does not exist"),
        ));
    }
    Ok(rows
        .into_iter()
        .map(|row| match select {
            None => Value::Object(row),
            Some(list) => Value::Object(
                list.iter()
                    .map(|c| (c.clone(), row.get(c).cloned().unwrap_or(Value::Null)))
                    .collect(),
            ),
        })
        .collect())
}

/// The rows of `relation` matching the query's filters, sorted.
fn matching(shared: &Shared, relation: &str, q: &Query) -> Result<Vec<Row>, PgError> {
    let cols = super::db::Db::relation_columns(relation)?;
    let state = shared.lock();
    let mut rows = Vec::new();
    for row in state.db.rows(relation)? {
        if eval::matches(&q.filters, &row, &cols, relation)? {
            rows.push(row);
        }
    }
    eval::sort(&mut rows, &q.order, &cols, relation)?;
    Ok(rows)
}

/// `/rest/v1/{relation}`.
pub async fn rest(
    State(shared): State<Arc<Shared>>,
    method: Method,
    Path(relation): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let role = match authenticate(&shared, &headers) {
        Ok(role) => role,
        Err((status, body)) => return json_response(status, body),
    };
    match serve(
        &shared,
        &method,
        &relation,
        raw.as_deref(),
        &headers,
        &body,
        &role,
    ) {
        Ok(response) => response,
        Err(e) => error(e),
    }
}

fn serve(
    shared: &Shared,
    method: &Method,
    relation: &str,
    raw: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    role: &Role,
) -> Result<Response, PgError> {
    super::db::Db::relation_columns(relation)?;
    if *role == Role::Anon {
        return Err(PgError::new(
            401,
            "42501",
            format!("permission denied for table {relation}"),
        ));
    }
    let q = query::parse(&pairs(raw))?;
    let prefs = prefer(headers);
    let representation = prefs.iter().any(|p| p == "return=representation");
    let actor = shared.lock().actor(role);
    match *method {
        Method::GET | Method::HEAD => read(shared, relation, &q, headers, &prefs),
        Method::POST => {
            let value: Value = serde_json::from_slice(body)
                .map_err(|_| PgError::new(400, "PGRST102", "Empty or invalid json"))?;
            let items = match value {
                Value::Array(items) => items,
                other => vec![other],
            };
            let mut state = shared.lock();
            let snapshot = state.db.clone();
            let mut inserted = Vec::with_capacity(items.len());
            for item in &items {
                let Value::Object(obj) = item else {
                    state.db = snapshot;
                    return Err(PgError::new(400, "PGRST102", "All object keys must match"));
                };
                match state.db.insert(actor, relation, obj) {
                    Ok(row) => inserted.push(row),
                    Err(e) => {
                        state.db = snapshot;
                        return Err(e);
                    }
                }
            }
            drop(state);
            written(201, representation, project(inserted, &q.select, relation)?)
        }
        Method::PATCH | Method::DELETE => {
            if q.filters.is_empty() {
                let verb = if *method == Method::PATCH {
                    "UPDATE"
                } else {
                    "DELETE"
                };
                return Err(PgError::new(
                    400,
                    "21000",
                    format!("{verb} requires a WHERE clause"),
                ));
            }
            let ids: Vec<i64> = matching(shared, relation, &q)?
                .iter()
                .filter_map(|r| r.get("id").and_then(Value::as_i64))
                .collect();
            let mut state = shared.lock();
            let snapshot = state.db.clone();
            let result = if *method == Method::PATCH {
                let patch: Value = serde_json::from_slice(body)
                    .map_err(|_| PgError::new(400, "PGRST102", "Empty or invalid json"))?;
                let Value::Object(patch) = patch else {
                    return Err(PgError::new(400, "PGRST102", "Empty or invalid json"));
                };
                state.db.update(actor, relation, &ids, &patch)
            } else {
                state.db.delete(actor, relation, &ids)
            };
            let rows = match result {
                Ok(rows) => rows,
                Err(e) => {
                    state.db = snapshot;
                    return Err(e);
                }
            };
            drop(state);
            written(200, representation, project(rows, &q.select, relation)?)
        }
        _ => Err(PgError::new(
            405,
            "PGRST117",
            format!("Unsupported HTTP method: {method}"),
        )),
    }
}

fn written(status: u16, representation: bool, rows: Vec<Value>) -> Result<Response, PgError> {
    if representation {
        Ok(json_response(status, Value::Array(rows)))
    } else {
        Ok((
            StatusCode::from_u16(if status == 201 { 201 } else { 204 }).unwrap_or(StatusCode::OK),
            Body::empty(),
        )
            .into_response())
    }
}

fn read(
    shared: &Shared,
    relation: &str,
    q: &Query,
    headers: &HeaderMap,
    prefs: &[String],
) -> Result<Response, PgError> {
    let rows = matching(shared, relation, q)?;
    let total = rows.len();
    let (mut offset, mut limit) = (q.offset, q.limit.unwrap_or(MAX_ROWS));
    if let Some(range) = header(headers, "range") {
        let (from, to) = range
            .split_once('-')
            .ok_or_else(|| PgError::new(416, "PGRST103", "Requested range not satisfiable"))?;
        offset = from
            .trim()
            .parse()
            .map_err(|_| PgError::new(416, "PGRST103", "Requested range not satisfiable"))?;
        if let Ok(to) = to.trim().parse::<usize>() {
            if to < offset {
                return Err(PgError::new(
                    416,
                    "PGRST103",
                    "Requested range not satisfiable",
                ));
            }
            limit = limit.min(to - offset + 1);
        }
    }
    let limit = limit.min(MAX_ROWS);
    let page: Vec<Row> = rows.into_iter().skip(offset).take(limit).collect();
    let count = prefs
        .iter()
        .any(|p| p == "count=exact" || p == "count=planned" || p == "count=estimated");
    let total_text = if count { total.to_string() } else { "*".into() };
    let content_range = if page.is_empty() {
        format!("*/{total_text}")
    } else {
        format!("{offset}-{}/{total_text}", offset + page.len() - 1)
    };
    let partial = count && total > 0 && (offset > 0 || offset + page.len() < total);
    let len = page.len();
    let values = project(page, &q.select, relation)?;
    if header(headers, "accept").is_some_and(|a| a.contains("vnd.pgrst.object")) {
        if len != 1 {
            return Err(PgError::new(
                406,
                "PGRST116",
                "JSON object requested, multiple (or no) rows returned",
            )
            .details(format!("The result contains {len} rows")));
        }
        return Ok(json_response(
            200,
            values.into_iter().next().unwrap_or(Value::Null),
        ));
    }
    let mut response = json_response(if partial { 206 } else { 200 }, Value::Array(values));
    if let Ok(v) = content_range.parse() {
        response.headers_mut().insert("content-range", v);
    }
    Ok(response)
}

/// `/rest/v1/`: the OpenAPI document, refused to user keys since 2026.
pub async fn openapi() -> Response {
    json_response(
        401,
        json!({"message": "Access to schema is forbidden", "hint": "Accessing the schema via the Data API is only allowed using a secret API key."}),
    )
}

/// `POST /auth/v1/token?grant_type=password|refresh_token`.
pub async fn token(
    State(shared): State<Arc<Shared>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if header(&headers, "apikey") != Some(shared.anon_key.as_str()) {
        return json_response(
            401,
            json!({"message": "Invalid API key", "hint": "Double check your Supabase `anon` or `service_role` API key."}),
        );
    }
    let grant = pairs(raw.as_deref())
        .into_iter()
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v)
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    let issuer = shared.issuer();
    let mut state = shared.lock();
    let user = match grant.as_str() {
        "password" => {
            let email = body["email"].as_str().unwrap_or("").to_lowercase();
            let password = body["password"].as_str().unwrap_or("");
            match state
                .users
                .iter()
                .find(|u| u.email == email && u.password == password)
            {
                Some(u) => u.clone(),
                None => {
                    return json_response(
                        400,
                        json!({"code": 400, "error_code": "invalid_credentials", "msg": "Invalid login credentials"}),
                    );
                }
            }
        }
        "refresh_token" => {
            let refresh = body["refresh_token"].as_str().unwrap_or("");
            let found = state
                .refresh_tokens
                .remove(refresh)
                .and_then(|id| state.users.iter().find(|u| u.id == id).cloned());
            match found {
                Some(u) => u,
                None => {
                    return json_response(
                        400,
                        json!({"code": 400, "error_code": "refresh_token_not_found", "msg": "Invalid Refresh Token: Refresh Token Not Found"}),
                    );
                }
            }
        }
        _ => {
            return json_response(
                400,
                json!({"code": 400, "error_code": "validation_failed", "msg": "unsupported_grant_type"}),
            );
        }
    };
    let session = state.session(&user, &shared.secret, &issuer);
    json_response(200, session)
}

/// `GET /auth/v1/.well-known/jwks.json`.
pub async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    let keys = shared.lock().jwks.clone();
    json_response(200, json!({"keys": keys}))
}
