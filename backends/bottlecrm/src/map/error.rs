//! A failed BottleCRM answer → a crmgate [`Error`].
//!
//! BottleCRM answers errors in at least five bodies — DRF's `{"detail"}`, the hand-built
//! `{"error": true, "errors": {field: [..]} | "text"}`, the invoice views'
//! `{"error": true, "message"}`, bare DRF field errors `{"field": [..]}` (solutions, malformed
//! list filters), `{"error": "text"}` (solution publish) — plus Django's HTML 404 and 500
//! pages. Auth failures are 403, not 401: a bad, revoked or expired token gets
//! `403 {"detail": "Organization context is required. Please login again."}`. The status alone
//! does not tell auth from permission, so the body decides. The upstream JSON is kept as JSON
//! in `details.upstream` (HTML pages are never echoed).

use crate::entities::Entity;
use crmgate_core::{Error, ErrorCode};
use serde_json::{Value, json};

/// What failed, for the message.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The entity the request was about, if any.
    pub entity: Option<Entity>,
    /// The record id, if the request named one.
    pub id: Option<&'a str>,
    /// HTTP method, for 405s.
    pub method: &'a str,
}

/// The body, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// Parsed JSON.
    Json(Value),
    /// An HTML page (Django's 404 / 500).
    Html,
    /// Nothing.
    Empty,
    /// Something else (not echoed).
    Other,
}

impl Body {
    /// Classify raw bytes.
    pub fn parse(bytes: &[u8]) -> Body {
        let trimmed = bytes.trim_ascii();
        if trimmed.is_empty() {
            return Body::Empty;
        }
        if let Ok(v) = serde_json::from_slice::<Value>(trimmed) {
            return Body::Json(v);
        }
        let head = String::from_utf8_lossy(&trimmed[..trimmed.len().min(200)]).to_ascii_lowercase();
        if head.contains("<!doctype html") || head.contains("<html") {
            Body::Html
        } else {
            Body::Other
        }
    }
}

/// The human text of an error body: `detail`, `message`, `errors` as text, or `error` as text.
fn headline(v: &Value) -> Option<String> {
    ["detail", "message", "errors", "error"]
        .iter()
        .find_map(|k| v.get(k).and_then(Value::as_str))
        .map(str::to_owned)
}

/// Field → messages, from `{"errors": {..}}` or a bare DRF error object.
pub fn field_errors(v: &Value) -> Vec<(String, Vec<String>)> {
    let map = match v.get("errors") {
        Some(Value::Object(m)) => m,
        Some(_) => return Vec::new(),
        None => match v.as_object() {
            Some(m)
                if !m.contains_key("detail")
                    && !m.contains_key("error")
                    && !m.contains_key("message") =>
            {
                m
            }
            _ => return Vec::new(),
        },
    };
    map.iter()
        .map(|(field, msgs)| {
            let msgs = match msgs {
                Value::Array(items) => items.iter().map(message_text).collect(),
                other => vec![message_text(other)],
            };
            (field.clone(), msgs)
        })
        .collect()
}

fn message_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn is_duplicate(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    m.contains("already exists") || m.contains("already uses")
}

/// The `(resource, action)` a scope refusal names: "This token is not scoped for write access
/// to leads." → `("leads", "write")`.
pub fn missing_scope(detail: &str) -> Option<(String, String)> {
    let rest = detail.split("not scoped for ").nth(1)?;
    let (action, rest) = rest.split_once(" access to ")?;
    let resource = rest.trim().trim_end_matches('.').to_owned();
    Some((resource, action.trim().to_owned()))
}

const TOKEN_HINT: &str = "BottleCRM answers an unknown, revoked or expired token alike; mint a new \
     personal access token (bcrm_pat_…) in BottleCRM (profile settings → API tokens) and put it in the \
     environment variable named by token_env (in hosted mode, send it as Authorization: Bearer)";

/// Map one failed answer. `status` is the HTTP status, `bytes` the body.
pub fn from_status(cx: Context<'_>, status: u16, bytes: &[u8]) -> Error {
    let body = Body::parse(bytes);
    let json = match &body {
        Body::Json(v) => Some(v),
        _ => None,
    };
    let text = json.and_then(headline);
    let name = cx.entity.map(|e| e.spec().name).unwrap_or("record");
    let error = match status {
        401 => Error::new(
            ErrorCode::AuthFailed,
            format!(
                "BottleCRM refused the credentials (HTTP 401{})",
                text.as_deref()
                    .map(|t| format!(": {t}"))
                    .unwrap_or_default()
            ),
            TOKEN_HINT,
        ),
        403 => forbidden(cx, text.as_deref()),
        404 => match (json, cx.id) {
            (Some(_), Some(id)) => {
                let mut e = Error::not_found(name, id);
                if let Some(t) = &text {
                    e.message = format!("{} (BottleCRM: {t})", e.message);
                }
                e
            }
            (Some(_), None) => Error::new(
                ErrorCode::NotFound,
                format!(
                    "BottleCRM found nothing: {}",
                    text.as_deref().unwrap_or("404")
                ),
                format!("check the id, or find the record with crm_search on {name}"),
            ),
            (_, None) => Error::config(
                "the configured url answers with a page that is not BottleCRM's API (HTTP 404 \
                 without a JSON body)",
            )
            .with_suggestion(
                "check url in the crmgate config: it is the address of BottleCRM's API (the \
                 one that serves /api/leads/), e.g. https://api.bottlecrm.io",
            ),
            _ => Error::new(
                ErrorCode::NotFound,
                "BottleCRM has no such page (an HTML 404: the id or route does not exist)",
                format!(
                    "check the id (BottleCRM ids are UUIDs), or find the record with crm_search on {name}"
                ),
            ),
        },
        405 => Error::not_allowed(
            format!(
                "BottleCRM does not allow {} on this {name} route (HTTP 405{})",
                cx.method,
                text.as_deref()
                    .map(|t| format!(": {t}"))
                    .unwrap_or_default()
            ),
            "crm_entities lists what each entity supports (invoices, for one, cannot be patched \
             or deleted: update them with crm_update, void them with the cancel action)",
        ),
        400 | 422 => invalid(name, json, text.as_deref()),
        409 => Error::new(
            ErrorCode::Conflict,
            format!(
                "BottleCRM reports a conflict{}",
                text.as_deref()
                    .map(|t| format!(": {t}"))
                    .unwrap_or_default()
            ),
            "read the record again with crm_get and retry with its current state",
        ),
        500..=599 => Error::new(
            ErrorCode::UpstreamUnavailable,
            format!(
                "BottleCRM failed handling the request (HTTP {status}{})",
                if body == Body::Html {
                    ", an HTML error page"
                } else {
                    ""
                }
            ),
            "try again later; if it persists for one record, the record may not exist or may \
             belong to another organisation (BottleCRM answers some of those with a 500)",
        ),
        _ => Error::new(
            ErrorCode::UpstreamProtocol,
            format!("BottleCRM answered with an unexpected status (HTTP {status})"),
            "retrying will not help — report it with the BottleCRM version",
        ),
    };
    let mut error = error;
    let mut details = match error.details.take() {
        Some(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    details.insert("status".into(), json!(status));
    details.insert("upstream".into(), json.cloned().unwrap_or(Value::Null));
    details.insert("html".into(), json!(body == Body::Html));
    error.with_details(Value::Object(details))
}

fn forbidden(cx: Context<'_>, text: Option<&str>) -> Error {
    let t = text.unwrap_or("");
    if t.contains("Organization context is required")
        || t.contains("Invalid token")
        || t.contains("revoked or expired")
    {
        return Error::new(
            ErrorCode::AuthFailed,
            "BottleCRM did not accept the token: it is unknown, revoked or expired (BottleCRM \
             answers 403 \"Organization context is required\")",
            TOKEN_HINT,
        );
    }
    if let Some((resource, action)) = missing_scope(t) {
        let suggestion = if resource == "this endpoint" {
            "scoped tokens cannot read this endpoint at all; use a token with empty scopes \
             (unrestricted) for it"
                .to_owned()
        } else {
            format!(
                "mint a personal access token whose scopes include \"{resource}:{action}\" (write \
                 does not imply read), or one with empty scopes (unrestricted)"
            )
        };
        return Error::new(
            ErrorCode::PermissionDenied,
            format!("the token is not scoped for {action} access to {resource}"),
            suggestion,
        )
        .with_details(json!({"missing_scope": format!("{resource}:{action}")}));
    }
    if t.contains("cannot read or manage other credentials") {
        return Error::new(
            ErrorCode::PermissionDenied,
            "tokens cannot read or manage credentials in BottleCRM",
            "sign in to the BottleCRM web app to manage tokens",
        );
    }
    let name = cx.entity.map(|e| e.spec().name).unwrap_or("records");
    Error::new(
        ErrorCode::PermissionDenied,
        format!(
            "BottleCRM refused: {}",
            if t.is_empty() { "permission denied" } else { t }
        ),
        format!(
            "a USER-role token may only open and change {name} it created or is assigned to, and \
             only an admin or the creator may delete; ask a BottleCRM admin, or work on your own \
             records"
        ),
    )
}

fn invalid(name: &str, json: Option<&Value>, text: Option<&str>) -> Error {
    let fields = json.map(field_errors).unwrap_or_default();
    if fields.is_empty() {
        return Error::validation(
            format!(
                "BottleCRM rejected the request: {}",
                text.unwrap_or("invalid input (HTTP 400)")
            ),
            format!("check the values against crm_describe {name}"),
        );
    }
    let list: Vec<String> = fields
        .iter()
        .map(|(f, msgs)| format!("{f}: {}", msgs.join(" ")))
        .collect();
    let names: Vec<&str> = fields.iter().map(|(f, _)| f.as_str()).collect();
    if let Some((field, msgs)) = fields
        .iter()
        .find(|(_, m)| m.iter().any(|m| is_duplicate(m)))
    {
        return Error::new(
            ErrorCode::Duplicate,
            format!(
                "BottleCRM already has a {name} record with this {field}: {}",
                msgs.join(" ")
            ),
            format!(
                "use the existing record (details.matches lists it when found), or change {field}"
            ),
        );
    }
    Error::validation(
        format!("BottleCRM rejected {}", list.join("; ")),
        format!(
            "fix {} (crm_describe {name} lists types and allowed values)",
            names.join(", ")
        ),
    )
}

/// Attach the records a DUPLICATE error is about.
pub fn with_matches(mut error: Error, matches: Vec<Value>) -> Error {
    if let Some(Value::Object(d)) = error.details.as_mut() {
        d.insert("matches".into(), Value::Array(matches));
    }
    error
}

/// The field a DUPLICATE error names, if any.
pub fn duplicate_field(error: &Error) -> Option<String> {
    if error.code != ErrorCode::Duplicate {
        return None;
    }
    let upstream = error.details.as_ref()?.get("upstream")?;
    field_errors(upstream)
        .into_iter()
        .find(|(_, m)| m.iter().any(|m| is_duplicate(m)))
        .map(|(f, _)| f)
}
