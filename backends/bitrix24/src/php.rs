//! PHP-style parameter encoding, as Bitrix24 reads it: `http_build_query` bracket notation
//! (`filter[>id]=5&select[0]=*`) for `batch` command strings, and its inverse (`parse_str`) for
//! the sandbox, which must accept form bodies, query strings and batch commands like the real
//! portal.
//!
//! Also the portal's own reading of batch back-references ([`reference_at`]): inside `batch`,
//! every parameter value (after `parse_str`) is scanned with
//! `/\$(result|next|total|time|error)([^\s]*)/i`, and a match holding a `[key]` group is replaced
//! by the value at that path of the earlier results (`CRestUtil::processBatchElement` in the
//! core's `rest` module). There is no escape: a literal value that matches is substituted.
//!
//! Pure functions, no I/O.

use serde_json::{Map, Value};

/// Encode a JSON object as a PHP query string. Nested objects and arrays use brackets; `true`
/// and `false` become `1` and `0`; `null` becomes an empty value (PHP would drop it, but an
/// empty value is what a filter on "empty" needs); empty arrays and objects are dropped.
pub fn build_query(params: &Value) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    if let Value::Object(map) = params {
        for (key, value) in map {
            match crate::wire::order_pairs(value).filter(|_| key == "order") {
                Some(pairs) => {
                    for (field, dir) in pairs {
                        push(&mut out, format!("order[{field}]"), dir);
                    }
                }
                None => push(&mut out, key.clone(), value),
            }
        }
    }
    out.finish()
}

fn push(out: &mut form_urlencoded::Serializer<'_, String>, key: String, value: &Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                push(out, format!("{key}[{k}]"), v);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                push(out, format!("{key}[{i}]"), v);
            }
        }
        Value::String(s) => {
            out.append_pair(&key, s);
        }
        Value::Number(n) => {
            out.append_pair(&key, &n.to_string());
        }
        Value::Bool(b) => {
            out.append_pair(&key, if *b { "1" } else { "0" });
        }
        Value::Null => {
            out.append_pair(&key, "");
        }
    }
}

/// Decode a PHP query string into nested JSON, as `parse_str` does: every value is a string;
/// `a[b][c]=v` nests; `a[]=v` appends; an object whose keys are exactly `0..n` becomes an array.
pub fn parse_query(query: &str) -> Value {
    let mut root = Map::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        insert(&mut root, &key, Value::String(value.into_owned()));
    }
    listify(Value::Object(root))
}

/// The keys of `name[KEY]=…` pairs in the order they appear (PHP arrays keep insertion order;
/// for `order` that order is the sort's priority).
pub fn ordered_keys(query: &str, name: &str) -> Vec<(String, String)> {
    let prefix = format!("{name}[");
    form_urlencoded::parse(query.as_bytes())
        .filter_map(|(k, v)| {
            let rest = k.strip_prefix(&prefix)?;
            let key = rest.strip_suffix(']')?;
            (!key.contains('[')).then(|| (key.to_owned(), v.into_owned()))
        })
        .collect()
}

/// Merge decoded pairs into `root` (used for form bodies on top of the query string).
pub fn merge(root: &mut Map<String, Value>, extra: Value) {
    if let Value::Object(map) = extra {
        for (k, v) in map {
            root.insert(k, v);
        }
    }
}

/// The names the portal resolves after `$` inside batch commands (the keys of its running
/// result: `$result[…]`, `$next[…]`, `$total[…]`, `$time[…]`, `$error[…]`, any case).
pub const REFERENCE_ROOTS: [&str; 5] = ["result", "next", "total", "time", "error"];

/// A back-reference the portal would find in `text`: the byte range of the match
/// (`$` + root + the run of non-whitespace after it), the root (lower case) and its
/// `[key]` path. Only matches with at least one `[key]` are references; the first one found
/// from `from` on is returned.
pub fn reference_at(
    text: &str,
    from: usize,
) -> Option<(std::ops::Range<usize>, &'static str, Vec<&str>)> {
    let bytes = text.as_bytes();
    let mut at = from;
    while let Some(offset) = text.get(at..)?.find('$') {
        let start = at + offset;
        let after = start + 1;
        let root = REFERENCE_ROOTS.iter().copied().find(|r| {
            bytes
                .get(after..after + r.len())
                .is_some_and(|b| b.eq_ignore_ascii_case(r.as_bytes()))
        });
        let Some(root) = root else {
            at = after;
            continue;
        };
        let run_start = after + root.len();
        let run_end = text[run_start..]
            .find(is_php_space)
            .map_or(text.len(), |i| run_start + i);
        let path = bracket_groups(&text[run_start..run_end]);
        if !path.is_empty() {
            return Some((start..run_end, root, path));
        }
        at = run_end.max(after);
    }
    None
}

/// Whether the portal would read `text` as holding a batch back-reference.
pub fn looks_like_reference(text: &str) -> bool {
    reference_at(text, 0).is_some()
}

/// Whether any string (or object key) in `value` would be read as a back-reference inside a
/// batch command — such a value cannot be sent in `batch` unchanged. Keys are checked more
/// broadly (any `$` followed by a `[key]` group), as the portal scans them with an empty root.
pub fn has_reference(value: &Value) -> bool {
    match value {
        Value::String(s) => looks_like_reference(s),
        Value::Array(items) => items.iter().any(has_reference),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| key_is_scanned(k) || has_reference(v)),
        _ => false,
    }
}

fn key_is_scanned(key: &str) -> bool {
    key.match_indices('$').any(|(i, _)| {
        let run = &key[i + 1..];
        let end = run.find(is_php_space).unwrap_or(run.len());
        !bracket_groups(&run[..end]).is_empty()
    })
}

/// PCRE's `\s` without the `u` flag: ASCII space, tab, line feed, vertical tab, form feed,
/// carriage return.
fn is_php_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{0b}' | '\u{0c}' | '\r')
}

/// Every `[key]` group (`/\[([^\]]+)\]/`, non-empty keys) in `run`.
fn bracket_groups(run: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = run;
    while let Some(open) = rest.find('[') {
        let inner = &rest[open + 1..];
        match inner.find(']') {
            Some(0) => rest = &inner[1..],
            Some(close) => {
                out.push(&inner[..close]);
                rest = &inner[close + 1..];
            }
            None => break,
        }
    }
    out
}

fn insert(root: &mut Map<String, Value>, key: &str, value: Value) {
    let (head, rest) = match key.find('[') {
        Some(i) if i > 0 => (&key[..i], &key[i..]),
        _ => (key, ""),
    };
    let mut path: Vec<String> = Vec::new();
    let mut tail = rest;
    while let Some(stripped) = tail.strip_prefix('[') {
        let Some(end) = stripped.find(']') else { break };
        path.push(stripped[..end].to_owned());
        tail = &stripped[end + 1..];
    }
    let mut slot = root
        .entry(head.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    for segment in path {
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let Value::Object(map) = slot else {
            unreachable!()
        };
        let segment = if segment.is_empty() {
            map.len().to_string()
        } else {
            segment
        };
        slot = map
            .entry(segment)
            .or_insert_with(|| Value::Object(Map::new()));
    }
    *slot = value;
}

fn listify(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let sequential =
                !map.is_empty() && (0..map.len()).all(|i| map.contains_key(&i.to_string()));
            if sequential {
                let mut items: Vec<(usize, Value)> = map
                    .into_iter()
                    .map(|(k, v)| (k.parse().unwrap_or(0), listify(v)))
                    .collect();
                items.sort_by_key(|(i, _)| *i);
                Value::Array(items.into_iter().map(|(_, v)| v).collect())
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, listify(v))).collect())
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_nested_filters() {
        let params = json!({
            "entityTypeId": 2,
            "filter": {">id": 100, "@stageId": ["NEW", "C1:NEW"], "%title": "a b&c", "=companyId": null},
            "select": ["*"],
            "start": -1,
            "useOriginalUfNames": "Y"
        });
        let query = build_query(&params);
        assert!(query.contains("filter%5B%3Eid%5D=100"), "{query}");
        let back = parse_query(&query);
        assert_eq!(back["entityTypeId"], "2");
        assert_eq!(back["filter"][">id"], "100");
        assert_eq!(back["filter"]["@stageId"], json!(["NEW", "C1:NEW"]));
        assert_eq!(back["filter"]["%title"], "a b&c");
        assert_eq!(back["filter"]["=companyId"], "");
        assert_eq!(back["select"], json!(["*"]));
        assert_eq!(back["start"], "-1");
    }

    #[test]
    fn order_keeps_its_sequence() {
        let q = build_query(&json!({"order": [["title", "DESC"], ["id", "ASC"]]}));
        assert_eq!(
            ordered_keys(&q, "order"),
            vec![
                ("title".to_owned(), "DESC".to_owned()),
                ("id".to_owned(), "ASC".to_owned())
            ]
        );
    }

    #[test]
    fn parses_php_forms_and_references() {
        let v = parse_query(
            "select[]=ID&select[]=TITLE&FILTER[ACTIVE]=true&id=$result[a][items][49][id]",
        );
        assert_eq!(v["select"], json!(["ID", "TITLE"]));
        assert_eq!(v["FILTER"]["ACTIVE"], "true");
        assert_eq!(v["id"], "$result[a][items][49][id]");
        let groups =
            parse_query("filter[0][logic]=OR&filter[0][0][%25title]=x&filter[0][1][%25name]=x");
        assert_eq!(groups["filter"][0]["logic"], "OR");
        assert_eq!(groups["filter"][0]["0"]["%title"], "x");
    }
}
