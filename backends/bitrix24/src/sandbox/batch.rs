//! `batch`: up to 50 commands in one request, run in the order given; references to earlier
//! results (`$result[…]`, `$next[…]`, `$total[…]`, `$time[…]`, `$error[…]`, any case) are
//! replaced in every parameter exactly as the core's `CRestUtil::ParseBatchQuery` does —
//! with no escape, so a literal value that looks like one is substituted too; errors are
//! collected per command (`halt=1` stops at the first); empty maps come back as PHP's `[]`.

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
        let earlier = Earlier {
            result: &results,
            next: &nexts,
            total: &totals,
            time: &times,
            error: &errors,
        };
        let inner = substitute(inner, &earlier);
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

/// What `$result[…]`, `$next[…]`, `$total[…]`, `$time[…]`, `$error[…]` name: the batch's
/// running maps (the core's `$arResult`).
struct Earlier<'a> {
    result: &'a Map<String, Value>,
    next: &'a Map<String, Value>,
    total: &'a Map<String, Value>,
    time: &'a Map<String, Value>,
    error: &'a Map<String, Value>,
}

impl Earlier<'_> {
    /// `$arResult[$root]`: PHP array keys are case-sensitive, although the pattern is not.
    fn root(&self, typed: &str) -> Option<&Map<String, Value>> {
        match typed {
            "result" => Some(self.result),
            "next" => Some(self.next),
            "total" => Some(self.total),
            "time" => Some(self.time),
            "error" => Some(self.error),
            _ => None,
        }
    }
}

/// `CRestUtil::processBatchStructure`: every key and value of the parsed command, after
/// `parse_str`, is scanned for references and replaced as the core does.
fn substitute(value: Value, earlier: &Earlier<'_>) -> Value {
    match value {
        Value::String(s) => element(s, earlier),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| substitute(v, earlier)).collect())
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (key(k), substitute(v, earlier)))
                .collect(),
        ),
        other => other,
    }
}

/// Keys are scanned with an empty root: `$` + a `[key]` run resolves to nothing, so a key
/// that is only that becomes `""` (PHP's `null` key).
fn key(k: String) -> String {
    let whole = k.strip_prefix('$').is_some_and(|rest| {
        !rest.contains(char::is_whitespace) && rest.contains('[') && rest.contains(']')
    });
    if whole { String::new() } else { k }
}

/// `CRestUtil::processBatchElement` on one value: each match of
/// `/\$(result|next|total|time|error)([^\s]*)/i` with a `[key]` path walks the earlier
/// results while the key exists; a match that is the whole value is replaced by whatever the
/// walk reached (any type), a match inside a longer value only by a string.
fn element(text: String, earlier: &Earlier<'_>) -> Value {
    let mut matches = Vec::new();
    let mut from = 0;
    while let Some((range, root, path)) = php::reference_at(&text, from) {
        let typed = &text[range.start + 1..range.start + 1 + root.len()];
        let path: Vec<String> = path.into_iter().map(str::to_owned).collect();
        matches.push((text[range.clone()].to_owned(), typed.to_owned(), path));
        from = range.end.max(range.start + 1);
    }
    let mut query = Value::String(text);
    for (matched, typed, path) in matches {
        let reached = walk(earlier.root(&typed), &path);
        match &query {
            Value::String(q) if *q == matched => query = reached,
            Value::String(q) => {
                if let Value::String(r) = &reached {
                    query = Value::String(q.replace(&matched, r));
                }
            }
            _ => {}
        }
    }
    query
}

/// PHP's `while (isset($r[$key])) $r = $r[$key];` from `$arResult[$root]`.
fn walk(root: Option<&Map<String, Value>>, path: &[String]) -> Value {
    let Some(root) = root else {
        return Value::Null;
    };
    let mut keys = path.iter();
    let Some(mut current) = keys
        .next()
        .and_then(|k| root.get(k))
        .filter(|v| !v.is_null())
    else {
        return Value::Object(root.clone());
    };
    for key in keys {
        let next = match current {
            Value::Object(map) => map.get(key),
            Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
            Value::String(s) => {
                // a string offset
                return match key.parse::<usize>().ok().and_then(|i| s.chars().nth(i)) {
                    Some(c) => Value::String(c.to_string()),
                    None => current.clone(),
                };
            }
            _ => None,
        };
        match next {
            Some(v) if !v.is_null() => current = v,
            _ => break,
        }
    }
    current.clone()
}
