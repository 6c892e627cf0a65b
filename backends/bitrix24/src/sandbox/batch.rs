//! `batch`: up to 50 commands in one request, run in the order given; `$result[…]`
//! references see earlier results; errors are collected per command (`halt=1` stops at the
//! first); empty maps come back as PHP's `[]`.

use super::ApiError;
use super::router::{Credential, Outcome, execute, time};
use super::state::{State, unix_f64};
use crate::{php, wire};
use serde_json::{Map, Value, json};

/// `batch`: commands run in order; `$result[…]` references see earlier results; errors are
/// collected per command (`halt=1` stops at the first); empty maps are `[]`.
pub(super) async fn batch(
    state: &State,
    credential: &Credential,
    params: &Value,
) -> Result<(Value, usize), ApiError> {
    let commands: Vec<(String, String)> = match params.get("cmd") {
        Some(Value::Object(map)) => map
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect(),
        Some(v @ Value::Array(items)) => match wire::order_pairs(v) {
            Some(pairs) => pairs
                .into_iter()
                .filter_map(|(k, v)| Some((k.to_owned(), v.as_str()?.to_owned())))
                .collect(),
            None => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| Some((i.to_string(), v.as_str()?.to_owned())))
                .collect(),
        },
        _ => Vec::new(),
    };
    if commands.len() > 50 {
        return Err(ApiError::new(
            400,
            "ERROR_BATCH_LENGTH_EXCEEDED",
            "Max batch length exceeded",
        ));
    }
    let halt = params.get("halt").and_then(wire::flag).unwrap_or(false);
    let (mut results, mut errors, mut totals, mut nexts, mut times) =
        (Map::new(), Map::new(), Map::new(), Map::new(), Map::new());
    for (name, line) in &commands {
        let (method, query) = line.split_once('?').unwrap_or((line.as_str(), ""));
        let mut inner = php::parse_query(query);
        let pairs = php::ordered_keys(query, "order");
        if !pairs.is_empty() {
            inner["order"] = Value::Array(pairs.into_iter().map(|(k, v)| json!([k, v])).collect());
        }
        substitute(&mut inner, &results);
        let started = unix_f64();
        let outcome = if method.eq_ignore_ascii_case("batch") {
            Outcome::Failed(ApiError::new(
                405,
                "ERROR_BATCH_METHOD_NOT_ALLOWED",
                "Batch call is not allowed inside batch",
            ))
        } else {
            execute(state, credential, method, &inner).await
        };
        match outcome {
            Outcome::Done(r, _) => {
                results.insert(name.clone(), r.result);
                if let Some(t) = r.total {
                    totals.insert(name.clone(), json!(t));
                }
                if let Some(n) = r.next {
                    nexts.insert(name.clone(), json!(n));
                }
                times.insert(name.clone(), time(started, None));
            }
            Outcome::Failed(e) => {
                errors.insert(
                    name.clone(),
                    json!({"error": e.code, "error_description": e.description}),
                );
                if halt {
                    break;
                }
            }
            Outcome::Malformed | Outcome::Dropped => {
                return Err(ApiError::new(
                    500,
                    "INTERNAL_SERVER_ERROR",
                    "Internal error",
                ));
            }
        }
    }
    let php = |m: Map<String, Value>| {
        if m.is_empty() {
            json!([])
        } else {
            Value::Object(m)
        }
    };
    let n = commands.len();
    Ok((
        json!({"result": php(results), "result_error": php(errors), "result_total": php(totals),
               "result_next": php(nexts), "result_time": php(times)}),
        n,
    ))
}

/// Replace `$result[name][key]…` in string values by the earlier result's value.
fn substitute(value: &mut Value, results: &Map<String, Value>) {
    match value {
        Value::String(s) if s.contains("$result[") => *s = expand(s, results),
        Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, results)),
        Value::Object(map) => map.values_mut().for_each(|v| substitute(v, results)),
        _ => {}
    }
}

fn expand(s: &str, results: &Map<String, Value>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find("$result[") {
        out.push_str(&rest[..at]);
        let mut tail = &rest[at + "$result".len()..];
        let mut path = Vec::new();
        while let Some(stripped) = tail.strip_prefix('[') {
            let Some(end) = stripped.find(']') else { break };
            path.push(&stripped[..end]);
            tail = &stripped[end + 1..];
        }
        let mut current = path.first().and_then(|name| results.get(*name));
        for key in path.iter().skip(1) {
            current = current.and_then(|v| match v {
                Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
                Value::Object(map) => map.get(*key),
                _ => None,
            });
        }
        out.push_str(&current.and_then(wire::text).unwrap_or_default());
        rest = tail;
    }
    out.push_str(rest);
    out
}
