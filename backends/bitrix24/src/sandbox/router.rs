//! The HTTP face of the sandbox: `/rest/USER/CODE/METHOD` (webhook) and `/rest/METHOD`
//! (OAuth: `auth` / `access_token` parameter or a Bearer header), JSON / form / query
//! parameters, the leaky bucket, scopes, the operating-time budget, injected faults, `batch`
//! with `$result[…]` references, the `{result, next, total, time}` envelope and the error
//! envelope with its status; `/oauth/token/` renews tokens.

use super::state::{
    ACCESS_TOKEN, CLIENT_ID, CLIENT_SECRET, Fault, LIMITED_CODE, State, WEBHOOK_CODE, iso, unix_f64,
};
use super::{Answer, ApiError, Reply, items, legacy, misc};
use crate::php;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as Shared};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The sandbox's routes.
pub fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/rest/{*path}", any(rest))
        .route("/oauth/token/", get(token))
        .route("/oauth/token", get(token))
        .with_state(state)
}

/// Who is calling.
pub(super) struct Credential {
    id: String,
    user: i64,
    scopes: Option<&'static [&'static str]>,
}

pub(super) enum Outcome {
    Done(Reply, (f64, i64)),
    Failed(ApiError),
    Malformed,
    /// Close the connection without an answer.
    Dropped,
}

fn error_response(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        axum::Json(json!({"error": e.code, "error_description": e.description})),
    )
        .into_response()
}

pub(super) fn time(started: f64, operating: Option<(f64, i64)>) -> Value {
    let finish = unix_f64();
    let mut t = json!({
        "start": started, "finish": finish, "duration": finish - started,
        "processing": finish - started,
        "date_start": iso(started as i64), "date_finish": iso(finish as i64),
    });
    if let Some((spent, reset)) = operating {
        t["operating"] = json!(spent);
        t["operating_reset_at"] = json!(reset);
    }
    t
}

async fn rest(
    Shared(state): Shared<Arc<State>>,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = unix_f64();
    state.count_request();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (hook, method) = match segments.as_slice() {
        [user, code, method] => (Some((*user, *code)), *method),
        [method] => (None, *method),
        _ => (None, ""),
    };
    let method = method.trim_end_matches(".json").to_owned();
    let target = logged_target(&uri, hook.is_some());
    let reply = |state: &State, status: u16, commands: usize, params: &Value, response| {
        state.record_request(&method, commands, status, target.clone(), params.clone());
        response
    };
    if method.is_empty() {
        return reply(
            &state,
            404,
            0,
            &Value::Null,
            error_response(&method_not_found()),
        );
    }
    if !state.admit() {
        let e = ApiError::new(503, "QUERY_LIMIT_EXCEEDED", "Too many requests");
        return reply(&state, 503, 0, &Value::Null, error_response(&e));
    }
    let mut params = match parameters(query.as_deref(), &headers, &body) {
        Ok(p) => p,
        Err(e) => return reply(&state, e.status, 0, &Value::Null, error_response(&e)),
    };
    let credential = match authenticate(&state, hook, &mut params, &headers) {
        Ok(c) => c,
        Err(e) => return reply(&state, e.status, 0, &params, error_response(&e)),
    };
    if method == "batch" {
        if let Some(fault) = state.take_fault("batch") {
            match apply_fault(fault).await {
                Some(Outcome::Failed(e)) => {
                    return reply(&state, e.status, 0, &params, error_response(&e));
                }
                Some(Outcome::Dropped) => return reply(&state, 0, 0, &params, dropped()),
                Some(_) => return reply(&state, 200, 0, &params, malformed()),
                None => {}
            }
        }
        return match super::batch::batch(&state, &credential, &params).await {
            Ok((inner, n)) => reply(
                &state,
                200,
                n,
                &params,
                axum::Json(json!({"result": inner, "time": time(started, None)})).into_response(),
            ),
            Err(e) => reply(&state, e.status, 0, &params, error_response(&e)),
        };
    }
    match execute(&state, &credential, &method, &params).await {
        Outcome::Done(r, operating) => {
            let mut body = json!({"result": r.result});
            if let Some(next) = r.next {
                body["next"] = json!(next);
            }
            if let Some(total) = r.total {
                body["total"] = json!(total);
            }
            body["time"] = time(started, Some(operating));
            reply(&state, 200, 0, &params, axum::Json(body).into_response())
        }
        Outcome::Failed(e) => reply(&state, e.status, 0, &params, error_response(&e)),
        Outcome::Malformed => reply(&state, 200, 0, &params, malformed()),
        Outcome::Dropped => reply(&state, 0, 0, &params, dropped()),
    }
}

/// The URL after `/rest/` as it arrived (still percent-encoded), without a webhook's user id
/// and code, with `?query` when one came.
fn logged_target(uri: &Uri, webhook: bool) -> String {
    let rest = uri.path().strip_prefix("/rest/").unwrap_or(uri.path());
    let rest = if webhook {
        rest.splitn(3, '/').nth(2).unwrap_or("")
    } else {
        rest
    };
    match uri.query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_owned(),
    }
}

/// A response whose body fails mid-way: the client sees the connection break.
fn dropped() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other(
            "connection dropped by fault injection",
        ))
    });
    Response::new(axum::body::Body::from_stream(stream))
}

fn malformed() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        "{\"result\": [{\"id\": 1,",
    )
        .into_response()
}

/// `order` of a JSON body, in document order (serde_json maps would sort it).
#[derive(Deserialize)]
struct WithOrder {
    #[serde(default)]
    order: Option<Pairs>,
    #[serde(default)]
    cmd: Option<Pairs>,
}

struct Pairs(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Pairs;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Pairs, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// Query string, then the body (JSON or form), merged; `order` kept in its given order.
fn parameters(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Result<Value, ApiError> {
    let mut params = Map::new();
    let mut order: Vec<(String, Value)> = Vec::new();
    if let Some(q) = query {
        php::merge(&mut params, php::parse_query(q));
        order.extend(
            php::ordered_keys(q, "order")
                .into_iter()
                .map(|(k, v)| (k, json!(v))),
        );
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !body.is_empty() {
        if content_type.starts_with("application/json") || body.first() == Some(&b'{') {
            let value: Value = serde_json::from_slice(body)
                .map_err(|_| ApiError::new(400, "INVALID_REQUEST", "Invalid JSON body"))?;
            php::merge(&mut params, value);
            if let Ok(with) = serde_json::from_slice::<WithOrder>(body) {
                if let Some(Pairs(pairs)) = with.order {
                    order = pairs;
                }
                if let Some(Pairs(cmd)) = with.cmd {
                    params.insert("cmd".into(), pairs_value(cmd));
                }
            }
        } else {
            let text = String::from_utf8_lossy(body);
            php::merge(&mut params, php::parse_query(&text));
            let form_order = php::ordered_keys(&text, "order");
            if !form_order.is_empty() {
                order = form_order.into_iter().map(|(k, v)| (k, json!(v))).collect();
            }
            let cmd = php::ordered_keys(&text, "cmd");
            if !cmd.is_empty() {
                params.insert(
                    "cmd".into(),
                    pairs_value(cmd.into_iter().map(|(k, v)| (k, json!(v))).collect()),
                );
            }
        }
    }
    if !order.is_empty() {
        params.insert("order".into(), pairs_value(order));
    }
    Ok(Value::Object(params))
}

fn pairs_value(pairs: Vec<(String, Value)>) -> Value {
    Value::Array(pairs.into_iter().map(|(k, v)| json!([k, v])).collect())
}

fn authenticate(
    state: &State,
    hook: Option<(&str, &str)>,
    params: &mut Value,
    headers: &HeaderMap,
) -> Result<Credential, ApiError> {
    if let Some((user, code)) = hook {
        return match (user, code) {
            ("1", WEBHOOK_CODE) => Ok(Credential {
                id: "webhook:1".into(),
                user: 1,
                scopes: None,
            }),
            ("2", LIMITED_CODE) => Ok(Credential {
                id: "webhook:2".into(),
                user: 2,
                scopes: Some(&["crm"]),
            }),
            // the core's `APAuth\Auth::check`; the documented status is 403
            _ => Err(ApiError::new(
                403,
                "INVALID_CREDENTIALS",
                "Invalid request credentials",
            )),
        };
    }
    let map = params.as_object_mut();
    let from_params = map.and_then(|m| {
        let token = m.remove("auth").or_else(|| m.remove("access_token"));
        token.and_then(|t| t.as_str().map(str::to_owned))
    });
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let Some(token) = from_params.or(bearer) else {
        return Err(ApiError::new(
            401,
            "NO_AUTH_FOUND",
            "Wrong authorization data",
        ));
    };
    let data = state.data();
    if data.expired_tokens.contains(&token) {
        return Err(ApiError::new(
            401,
            "expired_token",
            "The access token provided has expired",
        ));
    }
    if data.access_tokens.contains(&token) {
        return Ok(Credential {
            id: format!("oauth:{}", token.len()),
            user: 1,
            scopes: None,
        });
    }
    Err(ApiError::new(
        401,
        "invalid_token",
        "The access token provided is invalid",
    ))
}

async fn apply_fault(fault: Fault) -> Option<Outcome> {
    match fault {
        Fault::Error {
            status,
            code,
            description,
        } => Some(Outcome::Failed(ApiError::new(status, &code, &description))),
        Fault::Malformed => Some(Outcome::Malformed),
        Fault::Drop => Some(Outcome::Dropped),
        Fault::Delay(d) => {
            tokio::time::sleep(d).await;
            None
        }
        // handled in `execute`, around the real call
        Fault::AfterApplying(_) => None,
    }
}

fn scope_of(method: &str) -> Option<&'static str> {
    let m = method.to_ascii_lowercase();
    if m.starts_with("crm.") {
        Some("crm")
    } else if m.starts_with("user.") {
        Some("user")
    } else {
        None
    }
}

/// One method call: faults, scope, operating budget, then the handler.
pub(super) async fn execute(
    state: &State,
    credential: &Credential,
    method: &str,
    params: &Value,
) -> Outcome {
    let mut after = None;
    match state.take_fault(method) {
        Some(Fault::AfterApplying(inner)) => after = Some(*inner),
        Some(fault) => {
            if let Some(outcome) = Box::pin(apply_fault(fault)).await {
                return outcome;
            }
        }
        None => {}
    }
    let outcome = run(state, credential, method, params);
    match after {
        None => outcome,
        Some(fault) => Box::pin(apply_fault(fault)).await.unwrap_or(outcome),
    }
}

/// The call itself: scope, operating budget, then the handler.
fn run(state: &State, credential: &Credential, method: &str, params: &Value) -> Outcome {
    if let (Some(scope), Some(allowed)) = (scope_of(method), credential.scopes)
        && !allowed.contains(&scope)
    {
        return Outcome::Failed(ApiError::new(
            403,
            "insufficient_scope",
            "The request requires higher privileges than provided by the webhook token",
        ));
    }
    let operating = match state.operating(&credential.id, method) {
        Ok(o) => o,
        Err(_) => {
            return Outcome::Failed(ApiError::new(
                429,
                "OPERATION_TIME_LIMIT",
                "Method is blocked due to operation time limit.",
            ));
        }
    };
    match dispatch(state, credential.user, method, params) {
        Ok(r) => Outcome::Done(r, operating),
        Err(e) => Outcome::Failed(e),
    }
}

fn dispatch(state: &State, user: i64, method: &str, params: &Value) -> Answer {
    let m = method.to_ascii_lowercase();
    let mut data = state.data();
    match m.as_str() {
        "crm.item.list" => items::list(&data, params),
        "crm.item.get" => items::get(&data, params),
        "crm.item.fields" => items::fields(params),
        "crm.item.add" => items::add(&mut data, params, user),
        "crm.item.update" => items::update(&mut data, params, user),
        "crm.item.delete" => items::delete(&mut data, params),
        "crm.deal.contact.items.get" => items::deal_contacts(&mut data, params),
        "crm.deal.contact.add" => items::deal_contact_change(&mut data, params, true),
        "crm.deal.contact.delete" => items::deal_contact_change(&mut data, params, false),
        "crm.status.list" => misc::statuses(params),
        "crm.category.list" => misc::categories(params),
        "crm.currency.list" => misc::currencies(),
        "crm.type.list" => misc::types(),
        "user.get" => misc::users(params),
        "user.current" => misc::current_user(user),
        "profile" => misc::profile(user),
        "crm.timeline.comment.add" => misc::comment_add(&mut data, params, user),
        "crm.timeline.comment.list" => misc::comment_list(&data, params),
        "crm.duplicate.findbycomm" => misc::find_by_comm(&data, params),
        _ => match (legacy::legacy_type(&m), m.rsplit('.').next()) {
            (Some(etid), Some(verb)) if m.matches('.').count() == 2 => match verb {
                "list" => legacy::legacy_list(&data, etid, params),
                "get" => legacy::legacy_get(&data, etid, params),
                "fields" => legacy::legacy_fields(etid),
                "add" => legacy::legacy_add(&mut data, etid, params, user),
                "update" => legacy::legacy_update(&mut data, etid, params, user),
                "delete" => legacy::legacy_delete(&mut data, etid, params),
                _ => Err(method_not_found()),
            },
            _ => Err(method_not_found()),
        },
    }
}

/// No module provides the method: 404, as the core's `CRestServer` answers.
fn method_not_found() -> ApiError {
    ApiError::new(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
}

/// `GET /oauth/token/?grant_type=refresh_token&client_id&client_secret&refresh_token`.
async fn token(Shared(state): Shared<Arc<State>>, RawQuery(query): RawQuery) -> Response {
    state.count_request();
    let q = php::parse_query(query.as_deref().unwrap_or(""));
    let text = |k: &str| q.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let fail = |state: &State, status: u16, code: &str| {
        state.record("oauth/token", 0, status);
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        (
            status,
            axum::Json(json!({"error": code, "error_description": code})),
        )
            .into_response()
    };
    if text("grant_type") != "refresh_token" {
        return fail(&state, 400, "invalid_request");
    }
    if text("client_id") != CLIENT_ID || text("client_secret") != CLIENT_SECRET {
        return fail(&state, 401, "invalid_client");
    }
    let refresh = text("refresh_token");
    let mut data = state.data();
    if !data.refresh_tokens.remove(&refresh) {
        drop(data);
        return fail(&state, 400, "invalid_grant");
    }
    data.issued += 1;
    let access = format!("{ACCESS_TOKEN}-renewed-{}", data.issued);
    let next_refresh = format!("sandbox-refresh-token-{}", data.issued);
    data.access_tokens.insert(access.clone());
    data.refresh_tokens.insert(next_refresh.clone());
    drop(data);
    state.record("oauth/token", 0, 200);
    axum::Json(json!({
        "access_token": access, "refresh_token": next_refresh,
        "expires": super::state::unix_now() + 3600, "expires_in": 3600,
        "client_endpoint": "/rest/", "member_id": "sandbox", "scope": "crm,user", "user_id": 1,
        "status": "L"
    }))
    .into_response()
}
