//! Search parameters as EspoCRM reads them: `searchParams` JSON (typed; a string `maxSize` is
//! `400 maxSize must be integer.`), or plain parameters with PHP bracket syntax for `where`
//! (`maxSize` intval'd), the legacy `sortBy`/`asc`, `attributeSelect`, `q` (counting off);
//! `maxSize` over 200 is `403 Max size should not exceed 200. Use offset and limit.`

use super::respond::Answer;
use serde_json::{Map, Value};

/// EspoCRM's default and largest page.
pub const MAX_SIZE: i64 = 200;

/// Parsed search parameters.
#[derive(Debug, Clone, Default)]
pub struct Params {
    /// `where` items.
    pub where_items: Vec<Value>,
    /// `select`.
    pub select: Option<Vec<String>>,
    /// `orderBy`.
    pub order_by: Option<String>,
    /// Descending.
    pub desc: Option<bool>,
    /// `offset`.
    pub offset: usize,
    /// `maxSize`.
    pub max_size: usize,
    /// `textFilter` / `q`.
    pub text: Option<String>,
    /// `q` was used (counting off).
    pub quick: bool,
    /// `primaryFilter`.
    pub primary: Option<String>,
    /// `boolFilterList`.
    pub bool_filters: Vec<String>,
}

/// PHP's `intval` of a query value.
fn intval(s: &str) -> i64 {
    let s = s.trim();
    let (sign, digits) = match s.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, s.strip_prefix('+').unwrap_or(s)),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse::<i64>().map(|n| sign * n).unwrap_or(0)
}

/// Build a JSON tree from PHP bracket keys (`where[0][value][]=a`).
pub fn brackets(pairs: &[(String, String)]) -> Map<String, Value> {
    let mut root = Value::Object(Map::new());
    for (key, value) in pairs {
        let mut segments: Vec<String> = Vec::new();
        let (head, mut rest) = match key.find('[') {
            Some(i) => (&key[..i], &key[i..]),
            None => (key.as_str(), ""),
        };
        segments.push(head.to_owned());
        while let Some(stripped) = rest.strip_prefix('[') {
            let Some(end) = stripped.find(']') else { break };
            segments.push(stripped[..end].to_owned());
            rest = &stripped[end + 1..];
        }
        let mut node = &mut root;
        for (i, seg) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            let seg = if seg.is_empty() {
                // `[]` appends: use the next free index
                let n = node.as_object().map_or(0, Map::len);
                n.to_string()
            } else {
                seg.clone()
            };
            if !node.is_object() {
                *node = Value::Object(Map::new());
            }
            let map = node.as_object_mut().unwrap_or_else(|| unreachable!());
            node = if last {
                map.insert(seg.clone(), Value::String(value.clone()));
                map.get_mut(&seg).unwrap_or_else(|| unreachable!())
            } else {
                map.entry(seg).or_insert_with(|| Value::Object(Map::new()))
            };
        }
    }
    match arrays(root) {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Objects whose keys are all indexes become arrays.
fn arrays(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let numeric = !m.is_empty() && m.keys().all(|k| k.parse::<usize>().is_ok());
            if numeric {
                let mut items: Vec<(usize, Value)> = m
                    .into_iter()
                    .map(|(k, v)| (k.parse().unwrap_or(0), arrays(v)))
                    .collect();
                items.sort_by_key(|(k, _)| *k);
                Value::Array(items.into_iter().map(|(_, v)| v).collect())
            } else {
                Value::Object(m.into_iter().map(|(k, v)| (k, arrays(v))).collect())
            }
        }
        other => other,
    }
}

pub(crate) fn bad(reason: &str) -> Answer {
    Answer::error(400, reason)
}

/// Read the search parameters of a list request.
pub fn parse(pairs: &[(String, String)]) -> Result<Params, Answer> {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let mut p = Params::default();
    let max: i64;
    if let Some(raw) = get("searchParams") {
        let Ok(Value::Object(sp)) = serde_json::from_str::<Value>(raw) else {
            return Err(bad("Invalid search params JSON."));
        };
        p.where_items = sp
            .get("where")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        p.select = match sp.get("select") {
            Some(Value::Array(a)) => Some(
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect(),
            ),
            Some(Value::String(s)) => Some(s.split(',').map(str::to_owned).collect()),
            _ => None,
        };
        p.order_by = sp.get("orderBy").and_then(Value::as_str).map(str::to_owned);
        if let Some(order) = sp.get("order") {
            p.desc = Some(order_desc(order.as_str().unwrap_or_default())?);
        }
        p.offset = match sp.get("offset") {
            None | Some(Value::Null) => 0,
            Some(Value::Number(n)) => n.as_u64().unwrap_or(0) as usize,
            Some(Value::String(s)) if s.parse::<usize>().is_ok() => s.parse().unwrap_or(0),
            Some(_) => return Err(bad("offset must be integer.")),
        };
        max = match sp.get("maxSize") {
            None | Some(Value::Null) => MAX_SIZE,
            Some(Value::Number(n)) => n.as_i64().ok_or_else(|| bad("maxSize must be integer."))?,
            Some(_) => return Err(bad("maxSize must be integer.")),
        };
        p.text = sp
            .get("textFilter")
            .and_then(Value::as_str)
            .map(str::to_owned);
        p.primary = sp
            .get("primaryFilter")
            .and_then(Value::as_str)
            .map(str::to_owned);
        p.bool_filters = sp
            .get("boolFilterList")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
    } else {
        let tree = brackets(pairs);
        p.where_items = match tree.get("where").or_else(|| tree.get("whereGroup")) {
            Some(Value::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        p.select = get("attributeSelect").or_else(|| get("select")).map(|s| {
            s.split(',')
                .map(|x| x.trim().to_owned())
                .filter(|x| !x.is_empty())
                .collect()
        });
        p.order_by = get("orderBy").or_else(|| get("sortBy")).map(str::to_owned);
        if let Some(order) = get("order") {
            p.desc = Some(order_desc(order)?);
        } else if let Some(asc) = get("asc") {
            p.desc = Some(asc != "true");
        }
        p.offset = intval(get("offset").unwrap_or("0")).max(0) as usize;
        max = get("maxSize").map(intval).unwrap_or(MAX_SIZE);
        p.text = get("textFilter").map(str::to_owned);
        if let Some(q) = get("q") {
            p.text = Some(q.to_owned());
            p.quick = true;
        }
        p.primary = get("primaryFilter").map(str::to_owned);
        p.bool_filters = match tree.get("boolFilterList") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
    }
    if max > MAX_SIZE {
        return Err(Answer::error(
            403,
            "Max size should not exceed 200. Use offset and limit.",
        ));
    }
    p.max_size = max.max(0) as usize;
    Ok(p)
}

fn order_desc(order: &str) -> Result<bool, Answer> {
    match order.to_ascii_lowercase().as_str() {
        "asc" => Ok(false),
        "desc" => Ok(true),
        _ => Err(bad("order value is bad.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brackets_build_nested_where() {
        let pairs: Vec<(String, String)> = [
            ("where[0][type]", "or"),
            ("where[0][value][0][type]", "equals"),
            ("where[0][value][0][attribute]", "stage"),
            ("where[0][value][0][value]", "Closed Won"),
            ("where[1][type]", "in"),
            ("where[1][attribute]", "status"),
            ("where[1][value][]", "New"),
            ("where[1][value][]", "Assigned"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let tree = brackets(&pairs);
        let w = tree["where"].as_array().unwrap();
        assert_eq!(w[0]["value"][0]["attribute"], "stage");
        assert_eq!(w[1]["value"], serde_json::json!(["New", "Assigned"]));
    }

    #[test]
    fn intval_follows_php() {
        assert_eq!(intval("abc"), 0);
        assert_eq!(intval("12abc"), 12);
        assert_eq!(intval("201"), 201);
    }
}
