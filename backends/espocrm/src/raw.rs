//! `crm_call` for EspoCRM: a raw API path, written `"GET:/Lead"` or
//! `"POST:/Lead/action/convert"` (a space works too, but allow-list patterns cannot hold one:
//! `raw_call_allow = ["GET:*"]` allows every read), when the operator allowed it. GET params
//! become query parameters (objects and arrays as JSON, e.g. `searchParams`); other methods send
//! them as the JSON body. Only GET counts as read-only.

use crate::backend::EspoBackend;
use crate::client::Call;
use crate::errors::{Ctx, Op};
use crmgate_core::{CallContext, Error, Result};
use reqwest::Method;
use serde_json::Value;

/// Split `"METHOD:/path"` (or `"METHOD /path"`), refusing anything but a plain API path.
pub fn parse(method: &str) -> Result<(Method, String)> {
    let bad = || {
        Error::validation(
            format!("{method:?} is not an EspoCRM call"),
            "write it as \"GET:/Lead\" or \"POST:/Lead/action/convert\" (a path under /api/v1, no query)",
        )
    };
    let (verb, path) = method.trim().split_once([':', ' ']).ok_or_else(bad)?;
    let verb = match verb.to_ascii_uppercase().as_str() {
        "GET" => Method::GET,
        "POST" => Method::POST,
        "PUT" => Method::PUT,
        "PATCH" => Method::PATCH,
        "DELETE" => Method::DELETE,
        _ => return Err(bad()),
    };
    let path = path.trim();
    let clean = path.starts_with('/')
        && !path.contains(['?', '#', '\\', ' '])
        && !path.split('/').any(|s| s == ".." || s == ".");
    if !clean {
        return Err(bad());
    }
    Ok((verb, path.to_owned()))
}

/// Whether the call only reads (GET).
pub fn is_read_only(method: &str) -> bool {
    parse(method).is_ok_and(|(m, _)| m == Method::GET)
}

/// Run the call; the answer's JSON (or `null` for an empty body).
pub async fn call(
    backend: &EspoBackend,
    cx: &CallContext,
    method: &str,
    params: &Value,
) -> Result<Value> {
    let (verb, path) = parse(method)?;
    let mut call = Call::new(verb.clone(), path.clone());
    match (verb == Method::GET, params) {
        (_, Value::Null) => {}
        (true, Value::Object(map)) => {
            for (k, v) in map {
                call = call.query(
                    k,
                    match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    },
                );
            }
        }
        (true, _) => {
            return Err(Error::validation(
                "params of a GET must be an object of query parameters",
                "pass e.g. {\"maxSize\": 10, \"searchParams\": {…}}",
            ));
        }
        (false, body) => call = call.json(body.clone()),
    }
    let what = Ctx {
        op: if verb == Method::GET {
            Op::Read
        } else {
            Op::Update
        },
        entity: &path,
        native: path.trim_start_matches('/').split('/').next().unwrap_or(""),
        id: None,
        link: None,
        auth: backend.client.auth_kind(cx),
        site: backend.client.site(),
    };
    let response = backend.client.expect(cx, call, what).await?;
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    crate::map::parse_json(&response.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_pass() {
        assert!(parse("GET /Lead").is_ok());
        assert!(parse("GET:/Lead").is_ok());
        assert!(parse("post /Lead/action/convert").is_ok());
        assert!(parse("GET Lead").is_err());
        assert!(parse("GET /Lead?x=1").is_err());
        assert!(parse("GET /../admin").is_err());
        assert!(parse("TRACE /Lead").is_err());
        assert!(is_read_only("GET /Account"));
        assert!(!is_read_only("DELETE /Account/1"));
    }
}
