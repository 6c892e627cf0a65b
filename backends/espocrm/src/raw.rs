//! crm_call for EspoCRM: the grammar of a raw API call, its class, the record it acts on, and
//! the call.
//!
//! **Grammar.** `METHOD:/Path/segments`: METHOD is GET, POST, PUT, PATCH or DELETE (any case,
//! normalised to upper case); the path is one to ten segments under `/api/v1`, each 1–100
//! characters from `A–Z a–z 0–9 _ -`. So there is no dot-segment, no empty segment, no query,
//! fragment, percent-escape, whitespace or non-ASCII character in the name, and the path is sent
//! exactly as written (it is also what an HMAC signature covers). Parameters go in `params`: the
//! query string for GET (objects and arrays as JSON, e.g. `searchParams`), the JSON body
//! otherwise.
//!
//! **Class** (deny by default). Destructive: every DELETE; any segment containing `delete`,
//! `remove`, `merge`, `unlink`, `clear`, `purge`, `erase`, `destroy`, `truncate`, `revert` or
//! `trash` (`Import/{id}/revert`, `App/destroyAuthToken`, `Email/inbox/inTrash`); and, for other
//! methods than GET, the mass-action and action frameworks (`/MassAction`, `/Action`, any
//! `mass…` segment such as `Lead/action/massUpdate`). Read: GET, except under `/Admin` (older
//! versions rebuild and clear caches on GET), which is a write. Everything else is a write.
//! Segment matching ignores case (PHP resolves action names case-insensitively).

use crate::backend::EspoBackend;
use crate::client::Call;
use crate::errors::{Ctx, Op};
use crmgate_core::raw::{RawClass, RawMethod, RawTarget, shown};
use crmgate_core::{CallContext, Error, ErrorCode, Result};
use reqwest::Method;
use serde_json::Value;

/// Most path segments.
pub const MAX_SEGMENTS: usize = 10;
/// Longest path segment.
pub const MAX_SEGMENT: usize = 100;

/// Segment fragments that make a call destructive, whatever its HTTP method.
const DESTRUCTIVE: [&str; 11] = [
    "delete", "remove", "merge", "unlink", "clear", "purge", "erase", "destroy", "truncate",
    "revert", "trash",
];

const SUGGESTION: &str = "write the call as \"METHOD:/Path\" — METHOD one of GET, POST, PUT, \
    PATCH, DELETE; path segments of letters, digits, _ and -, e.g. \"GET:/Account\" or \
    \"POST:/Lead/action/convert\" — and put every parameter in params (query for GET, JSON body \
    otherwise), never in the name";

/// A call accepted by the grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parsed {
    verb: Method,
    segments: Vec<String>,
}

impl Parsed {
    fn path(&self) -> String {
        format!("/{}", self.segments.join("/"))
    }

    fn name(&self) -> String {
        format!("{}:{}", self.verb, self.path())
    }
}

/// Parse `text` with the EspoCRM grammar into the normalised call and its class.
pub fn parse(text: &str) -> Result<RawMethod> {
    let parsed = split(text).map_err(|why| {
        Error::validation(
            format!("{} is not an EspoCRM call: {why}", shown(text)),
            SUGGESTION,
        )
    })?;
    let class = classify(&parsed);
    Ok(RawMethod::new(parsed.name(), class))
}

/// Why a segment character is refused.
fn bad_char(c: char) -> &'static str {
    match c {
        '.' => "a path segment contains a dot (no dot-segments, no file suffixes)",
        '?' | '#' | '&' | '=' | ';' => "the path carries a query, fragment or parameter",
        '%' => "the path contains a percent-escape",
        '\\' => "the path contains a backslash",
        c if c.is_whitespace() || c.is_control() => {
            "the path contains whitespace or a control character"
        }
        c if !c.is_ascii() => "the path contains a non-ASCII character",
        _ => "a path segment contains a character other than letters, digits, _ and -",
    }
}

fn is_segment_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn split(text: &str) -> std::result::Result<Parsed, &'static str> {
    if text.chars().count() > 2 + 6 + MAX_SEGMENTS * (MAX_SEGMENT + 1) {
        return Err("it is too long");
    }
    let Some((verb, path)) = text.split_once(':') else {
        return Err("it has no \"METHOD:\" before the path");
    };
    if !verb.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err("the HTTP method is not one of GET, POST, PUT, PATCH, DELETE");
    }
    let verb = match verb.to_ascii_uppercase().as_str() {
        "GET" => Method::GET,
        "POST" => Method::POST,
        "PUT" => Method::PUT,
        "PATCH" => Method::PATCH,
        "DELETE" => Method::DELETE,
        _ => return Err("the HTTP method is not one of GET, POST, PUT, PATCH, DELETE"),
    };
    let Some(path) = path.strip_prefix('/') else {
        return Err("the path does not start with /");
    };
    if let Some(c) = path.chars().find(|c| *c != '/' && !is_segment_char(*c)) {
        return Err(bad_char(c));
    }
    let segments: Vec<String> = path.split('/').map(str::to_owned).collect();
    if segments.iter().any(String::is_empty) {
        return Err("the path has an empty segment (a doubled or trailing /, or no path)");
    }
    if segments.len() > MAX_SEGMENTS {
        return Err("the path has more than 10 segments");
    }
    if segments.iter().any(|s| s.len() > MAX_SEGMENT) {
        return Err("a path segment is longer than 100 characters");
    }
    Ok(Parsed { verb, segments })
}

fn classify(call: &Parsed) -> RawClass {
    let lower: Vec<String> = call
        .segments
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .collect();
    if call.verb == Method::DELETE
        || lower
            .iter()
            .any(|s| DESTRUCTIVE.iter().any(|root| s.contains(root)))
    {
        return RawClass::Destructive;
    }
    if call.verb == Method::GET {
        return if lower[0] == "admin" {
            RawClass::Write
        } else {
            RawClass::Read
        };
    }
    if lower[0] == "action" || lower.iter().any(|s| s.starts_with("mass")) {
        return RawClass::Destructive;
    }
    RawClass::Write
}

/// Normalise a `raw_call_allow` entry: an exact call (parsed like one) or a prefix ending in `*`
/// that starts with `METHOD:` (the rest from the path alphabet). An entry that could match no
/// call is an error naming why.
pub fn allow_pattern(pattern: &str) -> std::result::Result<String, String> {
    let p = pattern.trim();
    let Some(prefix) = p.strip_suffix('*') else {
        return match parse(p) {
            Ok(method) => Ok(method.name().to_owned()),
            Err(e) => Err(e.message),
        };
    };
    let refuse = |why: &str| {
        Err(format!(
            "{} cannot match an EspoCRM call: {why}; write e.g. \"GET:*\" or \
             \"POST:/Lead/action/*\"",
            shown(p)
        ))
    };
    let Some((verb, path)) = prefix.split_once(':') else {
        return refuse("it must start with the HTTP method and a colon");
    };
    let verb = verb.to_ascii_uppercase();
    if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&verb.as_str()) {
        return refuse("the HTTP method is not one of GET, POST, PUT, PATCH, DELETE");
    }
    if !path.is_empty() {
        let Some(rest) = path.strip_prefix('/') else {
            return refuse("the path does not start with /");
        };
        if rest.chars().any(|c| c != '/' && !is_segment_char(c)) || rest.contains("//") {
            return refuse("the path holds a character or empty segment no call can have");
        }
    }
    Ok(format!("{verb}:{path}*"))
}

/// Re-parse a method (the request is built only from the grammar's own output).
fn reparse(method: &RawMethod) -> Result<Parsed> {
    let parsed = split(method.name()).map_err(|why| {
        Error::validation(
            format!("{} is not an EspoCRM call: {why}", shown(method.name())),
            SUGGESTION,
        )
    })?;
    if parsed.name() != method.name() || classify(&parsed) != method.class() {
        return Err(Error::validation(
            format!(
                "{} was not parsed by the EspoCRM grammar",
                shown(method.name())
            ),
            "pass the call to crm_call as text",
        ));
    }
    Ok(parsed)
}

/// The request for a parsed call with its parameters (checked: GET takes an object of query
/// parameters).
fn request(call: &Parsed, params: &Value) -> Result<Call> {
    let mut request = Call::new(call.verb.clone(), call.path());
    match (call.verb == Method::GET, params) {
        (_, Value::Null) => {}
        (true, Value::Object(map)) => {
            for (key, value) in map {
                let value = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                request = request.query(key, value);
            }
        }
        (true, _) => {
            return Err(Error::validation(
                "params of a GET must be an object of query parameters",
                "pass e.g. {\"maxSize\": 10, \"searchParams\": {…}}",
            ));
        }
        (false, body) => request = request.json(body.clone()),
    }
    Ok(request)
}

/// The record a destructive call acts on: `/{Entity}/{id}` of a DELETE on a record route, or
/// the `entityType` + `id` (for `/Action`) or `id` (for `/{Entity}/action/…`) in the body.
fn target_of(call: &Parsed, params: &Value) -> Option<(String, String)> {
    let body_text = |key: &str| params.get(key).and_then(Value::as_str).map(str::to_owned);
    let (entity, id) = match (call.verb == Method::DELETE, call.segments.as_slice()) {
        (true, [entity, id, ..]) if !id.eq_ignore_ascii_case("action") => {
            (entity.clone(), id.clone())
        }
        (false, [action]) if action.eq_ignore_ascii_case("action") => {
            (body_text("entityType")?, body_text("id")?)
        }
        (false, [entity, action, _]) if action.eq_ignore_ascii_case("action") => {
            (entity.clone(), body_text("id")?)
        }
        _ => return None,
    };
    let safe = |s: &str| !s.is_empty() && s.len() <= MAX_SEGMENT && s.chars().all(is_segment_char);
    (safe(&entity) && safe(&id)).then_some((entity, id))
}

fn ctx<'a>(backend: &'a EspoBackend, cx: &CallContext, op: Op, path: &'a str) -> Ctx<'a> {
    Ctx {
        op,
        entity: path,
        native: path.trim_start_matches('/').split('/').next().unwrap_or(""),
        id: None,
        link: None,
        auth: backend.client.auth_kind(cx),
        site: backend.client.site(),
        schema: None,
        version: None,
    }
}

/// Read the record a destructive call acts on (`None` when it names none, or when a route
/// other than `/{Entity}/{id}` answers 404 for it).
pub async fn target(
    backend: &EspoBackend,
    cx: &CallContext,
    method: &RawMethod,
    params: &Value,
) -> Result<Option<RawTarget>> {
    let call = reparse(method)?;
    request(&call, params)?;
    let Some((entity, id)) = target_of(&call, params) else {
        return Ok(None);
    };
    let read = Parsed {
        verb: Method::GET,
        segments: vec![entity, id.clone()],
    };
    let path = read.path();
    let response = backend.client.send(cx, Call::get(path.clone())).await?;
    if response.status.as_u16() == 404 {
        let record_route = call.verb == Method::DELETE && call.segments.len() == 2;
        return if record_route {
            Err(Error::new(
                ErrorCode::NotFound,
                format!("{path} does not exist (EspoCRM answered 404): nothing to delete"),
                "check the entity type and the id (crm_search finds records)",
            ))
        } else {
            Ok(None)
        };
    }
    if !response.is_success() {
        return Err(crate::errors::map_error(
            &response,
            &ctx(backend, cx, Op::Read, &path),
        ));
    }
    Ok(Some(RawTarget {
        read: read.name(),
        record: crate::map::parse_json(&response.body)?,
    }))
}

/// Run the call; the answer's JSON (or `null` for an empty body).
pub async fn call(
    backend: &EspoBackend,
    cx: &CallContext,
    method: &RawMethod,
    params: &Value,
) -> Result<Value> {
    let call = reparse(method)?;
    let request = request(&call, params)?;
    let path = call.path();
    let op = match call.verb {
        Method::GET => Op::Read,
        Method::DELETE => Op::Delete,
        _ => Op::Update,
    };
    let response = backend
        .client
        .expect(cx, request, ctx(backend, cx, op, &path))
        .await?;
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    crate::map::parse_json(&response.body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn class(text: &str) -> RawClass {
        parse(text).unwrap().class()
    }

    #[test]
    fn calls_are_normalised() {
        assert_eq!(parse("GET:/Lead").unwrap().name(), "GET:/Lead");
        assert_eq!(parse("get:/Lead/abc").unwrap().name(), "GET:/Lead/abc");
        assert_eq!(
            parse("Post:/Lead/action/convert").unwrap().name(),
            "POST:/Lead/action/convert"
        );
        let once = parse("delete:/Account/6b012d4a37024e63b").unwrap();
        assert_eq!(parse(once.name()).unwrap(), once);
    }

    #[test]
    fn everything_outside_the_grammar_is_validation() {
        let long = format!("GET:/{}", "a".repeat(MAX_SEGMENT + 1));
        let deep = format!("GET{}", "/a".repeat(MAX_SEGMENTS + 1)).replacen("GET", "GET:", 1);
        for bad in [
            "",
            "GET",
            "GET /Lead",
            "GET:Lead",
            "GET:/",
            "GET://Lead",
            "GET:/Lead/",
            "GET:/Lead//x",
            "GET:/../x",
            "GET:/Lead/..",
            "GET:/Lead/./x",
            "GET:/./Lead",
            "GET:/Lead/%2e%2e/x",
            "GET:/Lead%2F..%2Fx",
            "GET:/Lead/%252e%252e",
            "GET:/Lead?select=x",
            "GET:/Lead#x",
            "GET:/Lead;x",
            "GET:/Lead&x=1",
            "GET:/Lead x",
            "GET:/Lead\n",
            "GET:/Lead\t",
            "GET:/Lead\u{0}",
            " GET:/Lead",
            "GET: /Lead",
            "GET:/Lead\\..\\x",
            "GET:/Leаd",  // Cyrillic а
            "GEТ:/Lead",  // Cyrillic Т
            "GET:/Ｌead", // full-width L
            "GET:/Lead\u{200b}",
            "GET:/Lead.json",
            "TRACE:/Lead",
            "OPTIONS:/Lead",
            "HEAD:/Lead",
            "GET:/Lead:x",
            "DELETE:/Account/abc/",
            long.as_str(),
            deep.as_str(),
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::Validation, "{bad:?}");
            assert!(e.suggestion.contains("params"), "{bad:?}");
        }
    }

    #[test]
    fn classes_by_method_and_documented_destructive_endpoints() {
        for m in [
            "GET:/Account",
            "GET:/Lead/abc/opportunities",
            "GET:/Metadata",
            "GET:/MassAction/x/status",
        ] {
            assert_eq!(class(m), RawClass::Read, "{m}");
        }
        for m in [
            "POST:/Lead",
            "PUT:/Lead/abc",
            "PATCH:/Lead/abc",
            "POST:/Lead/action/convert",
            "POST:/Account/abc/contacts",
            "PUT:/Lead/abc/subscription",
            "GET:/Admin/rebuild",
            "get:/admin/jobs",
        ] {
            assert_eq!(class(m), RawClass::Write, "{m}");
        }
        for m in [
            "DELETE:/Account/abc",
            "delete:/Account/abc/contacts",
            "DELETE:/Lead/abc/subscription",
            "POST:/MassAction",
            "post:/massaction",
            "POST:/Action",
            "POST:/Lead/action/massUpdate",
            "POST:/Lead/action/MASSDELETE",
            "POST:/Lead/action/merge",
            "POST:/Import/abc/revert",
            "POST:/Import/abc/removeDuplicates",
            "POST:/App/destroyAuthToken",
            "POST:/Email/inbox/inTrash",
            "GET:/Admin/clearCache",
            "POST:/Admin/clearCache",
        ] {
            assert_eq!(class(m), RawClass::Destructive, "{m}");
        }
    }

    #[test]
    fn allow_list_entries_are_normalised_or_refused() {
        assert_eq!(allow_pattern("get:*").unwrap(), "GET:*");
        assert_eq!(
            allow_pattern("POST:/Lead/action/*").unwrap(),
            "POST:/Lead/action/*"
        );
        assert_eq!(allow_pattern("get:/Account").unwrap(), "GET:/Account");
        for bad in [
            "G*",
            "*",
            "GET*",
            "FETCH:*",
            "GET:Lead*",
            "GET:/../*",
            "GET:/a//*",
            "GET:/Lead?x",
            "GET /Lead",
        ] {
            assert!(allow_pattern(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn targets_come_only_from_safe_segments() {
        let p = |text: &str| split(text).unwrap();
        assert_eq!(
            target_of(&p("DELETE:/Account/abc"), &Value::Null),
            Some(("Account".into(), "abc".into()))
        );
        assert_eq!(
            target_of(
                &p("POST:/Action"),
                &json!({"entityType": "Lead", "id": "x1"})
            ),
            Some(("Lead".into(), "x1".into()))
        );
        assert_eq!(
            target_of(&p("POST:/Lead/action/merge"), &json!({"id": "../Admin"})),
            None
        );
        assert_eq!(
            target_of(&p("POST:/MassAction"), &json!({"params": {"ids": ["a"]}})),
            None
        );
        assert_eq!(target_of(&p("DELETE:/Lead/action/x"), &Value::Null), None);
    }

    #[test]
    fn get_params_must_be_an_object() {
        let get = split("GET:/Account").unwrap();
        assert!(request(&get, &json!({"maxSize": 1})).is_ok());
        assert!(request(&get, &json!([1])).is_err());
        let post = split("POST:/Account").unwrap();
        assert!(request(&post, &json!({"name": "x"})).is_ok());
    }

    #[test]
    fn a_hand_made_method_outside_the_grammar_is_refused() {
        let forged = RawMethod::new("GET:/Lead/../Admin", RawClass::Read);
        assert_eq!(reparse(&forged).unwrap_err().code, ErrorCode::Validation);
        let misclassed = RawMethod::new("DELETE:/Lead/abc", RawClass::Read);
        assert_eq!(
            reparse(&misclassed).unwrap_err().code,
            ErrorCode::Validation
        );
    }
}
