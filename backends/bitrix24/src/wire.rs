//! Bitrix24's wire quirks, tolerated in one place: numbers as strings (`"ID":"5"`,
//! `"OPPORTUNITY":"15000.00"`), flags as `"Y"`/`"N"`, and PHP's `[]` where an empty map is meant
//! (`"result_error": []`). Also the success envelope `{result, next, total, time}`.
//!
//! Pure functions, no I/O.

use serde_json::{Map, Value};

/// An integer from a number or a numeric string.
pub fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse::<i64>().ok().or_else(|| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.fract() == 0.0)
                .map(|f| f as i64)
        }),
        _ => None,
    }
}

/// A float from a number or a numeric string.
pub fn float(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

/// A number as JSON: whole numbers as integers, others as floats.
pub fn number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Value::from(f as i64)
    } else {
        serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// A flag from `"Y"`/`"N"`, `"1"`/`"0"`, `true`/`false` or `1`/`0`.
pub fn flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        Value::String(s) => match s.trim() {
            "Y" | "y" | "1" | "true" => Some(true),
            "N" | "n" | "0" | "false" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Text of a scalar: strings as they are, numbers printed; `None` for null and containers.
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A map, accepting PHP's `[]` (and `null`) for an empty one.
pub fn map(value: Option<&Value>) -> Map<String, Value> {
    match value {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    }
}

/// A list, accepting an object keyed `"0"`, `"1"`, … (PHP arrays that lost their order).
pub fn list(value: Option<&Value>) -> Vec<Value> {
    match value {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::Object(m)) => m.values().cloned().collect(),
        _ => Vec::new(),
    }
}

/// `order` given as `[[field, dir], …]`: the pairs, in order.
pub fn order_pairs(value: &Value) -> Option<Vec<(&str, &Value)>> {
    value
        .as_array()?
        .iter()
        .map(|pair| match pair.as_array().map(Vec::as_slice) {
            Some([Value::String(k), v]) => Some((k.as_str(), v)),
            _ => None,
        })
        .collect()
}

/// JSON text of a request body, writing an `order` given as pairs (see [`order_pairs`]) as an
/// object whose keys keep that order (serde_json's maps would sort them, and the first key is
/// the primary sort).
pub fn body_json(value: &Value) -> String {
    let mut out = String::new();
    write_json(&mut out, value);
    out
}

fn write_json(out: &mut String, value: &Value) {
    match value {
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                match order_pairs(v).filter(|_| k == "order") {
                    Some(pairs) => {
                        out.push('{');
                        for (j, (field, dir)) in pairs.iter().enumerate() {
                            if j > 0 {
                                out.push(',');
                            }
                            out.push_str(&Value::String((*field).to_owned()).to_string());
                            out.push(':');
                            write_json(out, dir);
                        }
                        out.push('}');
                    }
                    None => write_json(out, v),
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, v);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// A decoded success envelope.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Envelope {
    /// `result`.
    pub result: Value,
    /// `next`: the `start` of the next page, when more rows exist.
    pub next: Option<i64>,
    /// `total`: the full count (0 when the call used `start=-1`).
    pub total: Option<i64>,
    /// `time.operating_reset_at`, when the portal reports it.
    pub operating_reset_at: Option<i64>,
}

impl Envelope {
    /// Take `{result, next?, total?, time?}` apart without copying `result`; the body back
    /// when it has no `result`.
    pub fn from_body(body: Value) -> Result<Envelope, Value> {
        let Value::Object(mut map) = body else {
            return Err(body);
        };
        let Some(result) = map.remove("result") else {
            return Err(Value::Object(map));
        };
        Ok(Envelope {
            result,
            next: map.get("next").and_then(int),
            total: map.get("total").and_then(int),
            operating_reset_at: map
                .get("time")
                .and_then(|t| t.get("operating_reset_at"))
                .and_then(int),
        })
    }
}

/// A list taken out of `value` without copying: an array, or an object keyed `"0"`, `"1"`, …
/// (PHP arrays that lost their order); anything else is empty.
pub fn into_list(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        Value::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
        _ => Vec::new(),
    }
}

/// The rows of a `{"items": [...]}` result, moved out.
pub fn items(result: Value) -> Vec<Value> {
    match result {
        Value::Object(mut map) => into_list(map.remove("items").unwrap_or(Value::Null)),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tolerates_strings_flags_and_empty_arrays() {
        assert_eq!(int(&json!("5")), Some(5));
        assert_eq!(int(&json!("15000.00")), Some(15000));
        assert_eq!(int(&json!(7)), Some(7));
        assert_eq!(int(&json!("x")), None);
        assert_eq!(float(&json!("15000.50")), Some(15000.5));
        assert_eq!(number(2000.0), json!(2000));
        assert_eq!(number(12.5), json!(12.5));
        assert_eq!(flag(&json!("Y")), Some(true));
        assert_eq!(flag(&json!("N")), Some(false));
        assert_eq!(flag(&json!(1)), Some(true));
        assert_eq!(flag(&json!("maybe")), None);
        assert!(map(Some(&json!([]))).is_empty());
        assert_eq!(map(Some(&json!({"a": 1}))).len(), 1);
        assert_eq!(list(Some(&json!({"0": "a", "1": "b"}))).len(), 2);
    }

    #[test]
    fn order_pairs_keep_their_order() {
        let body = json!({"entityTypeId": 1, "order": [["title", "DESC"], ["id", "ASC"]]});
        assert_eq!(
            body_json(&body),
            r#"{"entityTypeId":1,"order":{"title":"DESC","id":"ASC"}}"#
        );
        let plain = json!({"order": {"b": "ASC", "a": "DESC"}});
        assert_eq!(body_json(&plain), r#"{"order":{"a":"DESC","b":"ASC"}}"#);
    }

    #[test]
    fn envelope_reads_paging_and_operating_time() {
        let body = json!({"result": {"items": []}, "next": 50, "total": "654",
            "time": {"start": 1.0, "operating_reset_at": 1718292834, "operating": 0}});
        let e = Envelope::from_body(body).unwrap();
        assert_eq!((e.next, e.total), (Some(50), Some(654)));
        assert_eq!(e.operating_reset_at, Some(1718292834));
        assert_eq!(e.result, json!({"items": []}));
        assert!(Envelope::from_body(json!({"error": "x"})).is_err());
        assert!(Envelope::from_body(json!([1])).is_err());
        assert_eq!(
            items(json!({"items": {"0": 1, "1": 2}})),
            vec![json!(1), json!(2)]
        );
        assert!(items(json!([])).is_empty());
    }
}
