//! One handler for every request, in BottleCRM's order: the request is logged and may be
//! faulted; then the URL must resolve (else Django's HTML 404, even without a token), then the
//! token must give an organisation (else 403 "Organization context is required"), then its
//! scopes must cover the path, then the method must be allowed (405), then the view runs.

use super::auth::{self, NO_ORG};
use super::faults::FaultKind;
use super::state::Store;
use super::{Shared, actions, details, lists, writes};
use crate::entities::Entity;
use crate::ids;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

/// Django's production 404 page.
pub const HTML_404: &str = "\n<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n</body>\n</html>\n";
/// Django's production 500 page.
pub const HTML_500: &str = "\n<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Server Error (500)</title>\n</head>\n<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n";

/// What BottleCRM answers a token on a credential path.
const CREDENTIALS_REFUSED: &str = "API tokens and organization API keys cannot read or manage other credentials. Sign in to manage them.";

/// An answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
    /// Content type.
    pub content_type: &'static str,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, v: Value) -> Reply {
        Reply {
            status,
            body: v.to_string().into_bytes(),
            content_type: "application/json",
            headers: Vec::new(),
        }
    }

    /// An HTML page.
    pub fn html(status: u16, page: &str) -> Reply {
        Reply {
            status,
            body: page.as_bytes().to_vec(),
            content_type: "text/html; charset=utf-8",
            headers: Vec::new(),
        }
    }

    /// 204, no body.
    pub fn empty() -> Reply {
        Reply {
            status: 204,
            body: Vec::new(),
            content_type: "",
            headers: Vec::new(),
        }
    }

    /// `{"detail": text}` (DRF's shape).
    pub fn detail(status: u16, text: &str) -> Reply {
        Reply::json(status, json!({ "detail": text }))
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            self.body,
        )
            .into_response();
        let h = response.headers_mut();
        if !self.content_type.is_empty()
            && let Ok(v) = HeaderValue::from_str(self.content_type)
        {
            h.insert(header::CONTENT_TYPE, v);
        }
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert(name, v);
            }
        }
        response
    }
}

/// A bare DRF error on one query parameter: `{"param": ["message"]}`.
pub fn bad_param(param: &str, message: &str) -> Reply {
    Reply::json(400, json!({ param: [message] }))
}

/// Query pairs, in order, percent-decoded.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// The pairs.
    pub pairs: Vec<(String, String)>,
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Query {
    /// Parse a raw query string.
    pub fn parse(raw: Option<&str>) -> Query {
        let pairs = raw
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (decode(k), decode(v)),
                None => (decode(p), String::new()),
            })
            .collect();
        Query { pairs }
    }

    /// The last non-empty value of a parameter (Django's `QueryDict.get`).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a parameter.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// What a path resolves to.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// `/schema/`
    Schema,
    /// `/healthz/`
    Healthz,
    /// `/api/profile/tokens/…`, `/api/org/tokens/…`
    Credentials,
    /// `/api/<entity>/`
    List(Entity),
    /// `/api/<entity>/<id>/`
    Detail(Entity, String),
    /// `/api/<entity>/<id>/<action>/`
    Sub(Entity, String, &'static str),
    /// `/api/leads/kanban/`
    Kanban,
}

fn subs(entity: Entity) -> &'static [&'static str] {
    match entity {
        Entity::Invoices => &["send", "cancel", "comments"],
        Entity::Solutions => &["publish", "unpublish"],
        _ => &[],
    }
}

/// Resolve a path as Django's URLconf would; `None` is a 404.
pub fn resolve(path: &str) -> Option<Route> {
    let p = path.strip_prefix('/')?;
    match p {
        "schema/" => return Some(Route::Schema),
        "healthz/" => return Some(Route::Healthz),
        "api/leads/kanban/" => return Some(Route::Kanban),
        _ => {}
    }
    if p.starts_with("api/profile/tokens/") || p.starts_with("api/org/tokens/") {
        return Some(Route::Credentials);
    }
    let mut entities = Entity::ALL;
    // solutions live under cases/: try the longer path first
    entities.sort_by_key(|e| std::cmp::Reverse(e.spec().path.len()));
    for entity in entities {
        let Some(rest) = p.strip_prefix(entity.spec().path) else {
            continue;
        };
        if rest.is_empty() {
            return Some(Route::List(entity));
        }
        let segments: Vec<&str> = rest.strip_suffix('/')?.split('/').collect();
        let id = |raw: &str| {
            if entity == Entity::Invoices {
                ids::is_canonical(raw).then(|| raw.to_owned())
            } else {
                ids::canonical(raw)
            }
        };
        return match segments.as_slice() {
            [raw] => id(raw).map(|id| Route::Detail(entity, id)),
            [raw, sub] => {
                let sub = subs(entity).iter().find(|s| *s == sub)?;
                id(raw).map(|id| Route::Sub(entity, id, sub))
            }
            _ => None,
        };
    }
    None
}

fn allowed(route: &Route) -> &'static [&'static str] {
    match route {
        Route::Schema | Route::Healthz | Route::Credentials => &["GET"],
        Route::Kanban => &["GET"],
        Route::List(_) => &["GET", "POST"],
        Route::Detail(Entity::Invoices, _) => &["GET", "PUT"],
        Route::Detail(Entity::Solutions, _) => &["GET", "PUT", "PATCH", "DELETE"],
        Route::Detail(..) => &["GET", "POST", "PUT", "PATCH", "DELETE"],
        Route::Sub(..) => &["POST"],
    }
}

/// Everything after the fault check, with the store locked.
pub fn dispatch(
    store: &mut Store,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    base: &str,
) -> Reply {
    let path = uri.path();
    let Some(route) = resolve(path) else {
        return Reply::html(404, HTML_404);
    };
    let Some(who) = auth::authenticate(store, headers) else {
        return Reply::detail(403, NO_ORG);
    };
    if route == Route::Credentials {
        return Reply::detail(403, CREDENTIALS_REFUSED);
    }
    if let Some(refusal) = auth::scope_refusal(&who, method, path) {
        return Reply::detail(403, &refusal);
    }
    let methods = allowed(&route);
    if !methods.contains(&method) && method != "HEAD" && method != "OPTIONS" {
        let mut reply = Reply::detail(405, &format!("Method \"{method}\" not allowed."));
        reply.headers.push(("allow", methods.join(", ")));
        return reply;
    }
    let q = Query::parse(uri.query());
    let data = match body.trim_ascii() {
        [] => json!({}),
        bytes => match serde_json::from_slice::<Value>(bytes) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                return Reply::detail(
                    400,
                    "JSON parse error - Expecting value: line 1 column 1 (char 0)",
                );
            }
        },
    };
    match route {
        Route::Schema => {
            let accept = headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if q.get("format") == Some("json") || accept.contains("application/json") {
                Reply::json(200, super::catalog::doc().clone())
            } else {
                let mut r = Reply::html(200, "openapi: 3.0.3\ninfo:\n  title: BottleCRM API\n");
                r.content_type = "application/vnd.oai.openapi; charset=utf-8";
                r
            }
        }
        Route::Healthz => Reply::html(200, "<html><body>OK</body></html>"),
        Route::Credentials => Reply::detail(403, CREDENTIALS_REFUSED),
        Route::Kanban => Reply::json(200, json!({"stages": []})),
        Route::List(entity) => match method {
            "POST" => writes::create(store, &who, entity, &data),
            _ => lists::list(store, &who, entity, &q, base),
        },
        Route::Detail(entity, id) => match method {
            "POST" => actions::comment(store, &who, entity, &id, &data),
            "PATCH" => writes::update(store, &who, entity, &id, &data, false),
            "PUT" => writes::update(store, &who, entity, &id, &data, true),
            "DELETE" => writes::delete(store, &who, entity, &id),
            _ => details::get(store, &who, entity, &id),
        },
        Route::Sub(entity, id, sub) => actions::sub(store, &who, entity, &id, sub, &data),
    }
}

/// The axum handler behind every path.
pub async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let method = method.as_str().to_owned();
    let fault = {
        let mut store = shared.lock();
        store.log.push(format!("{method} {uri}"));
        let path = uri.path().to_owned();
        store
            .faults
            .iter_mut()
            .find(|f| f.matches(&method, &path))
            .map(|f| {
                f.times -= 1;
                f.kind.clone()
            })
    };
    let mut after = None;
    match fault {
        Some(FaultKind::AfterApplying(kind)) => after = Some(*kind),
        Some(kind) => {
            if let Some(response) = faulted(kind).await {
                return response;
            }
        }
        None => {}
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let base = format!("http://{host}");
    let response = {
        let mut store = shared.lock();
        dispatch(&mut store, &method, &uri, &headers, &body, &base).into_response()
    };
    match after {
        Some(kind) => Box::pin(faulted(kind)).await.unwrap_or(response),
        None => response,
    }
}

/// The answer of a fault; `None` means "answer normally" (after a delay).
async fn faulted(kind: FaultKind) -> Option<Response> {
    match kind {
        FaultKind::Delay(d) => {
            tokio::time::sleep(d).await;
            None
        }
        FaultKind::Status {
            status,
            body,
            content_type,
            retry_after,
        } => {
            let mut r = Reply::html(status, &body);
            r.content_type = content_type;
            if let Some(s) = retry_after {
                r.headers.push(("retry-after", s.to_string()));
            }
            Some(r.into_response())
        }
        FaultKind::Malformed => {
            let mut r = Reply::html(200, "{\"per_page\": 10, \"open_leads\": [");
            r.content_type = "application/json";
            Some(r.into_response())
        }
        FaultKind::Huge(n) => {
            Some(Reply::json(200, json!({"results": "x".repeat(n), "count": 1})).into_response())
        }
        FaultKind::Drop => {
            let stream = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other(
                    "connection dropped by fault injection",
                ))
            });
            Some(Response::new(axum::body::Body::from_stream(stream)))
        }
        FaultKind::AfterApplying(_) => None,
    }
}
