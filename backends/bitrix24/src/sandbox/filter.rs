//! List filters as the portal runs them (the core's `CSQLWhere`, which the ORM uses for array
//! filters): prefix operators (`=`, `!=`/`!`, `>`, `>=`, `<`, `<=`, `@`, `!@`, `%`,
//! `=%`/`%=`, `!%`, `!=%`/`!%=`), nested sub-filters with `logic: OR|AND`, values given as
//! strings or numbers, compared by the field's type. Also `order`.
//!
//! What the core does and this reproduces:
//! - number columns: `=` with a value whose `intval` is 0 (`0`, `null`, `""`) is
//!   `IS NULL OR = 0`; `!=` / `!` with it is `IS NOT NULL AND <> 0`; `@[…, 0]` also takes NULL.
//! - `%` / `!%`: the value is escaped for LIKE (`ForLIKE`: `%`, `_`, `!` are literal) and
//!   matched as a substring, case-insensitively.
//! - `=%` / `%=` / `!=%` / `!%=`: the value is the LIKE pattern itself — `%` and `_` are
//!   wildcards, and (MySQL's default escape) a backslash makes the next character literal.
//! - other columns: an empty value (`null`, `""`) under `=` / `!=` tests for emptiness.

use super::spec;
use crate::wire;
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// A compiled filter.
#[derive(Debug, Clone)]
pub enum Node {
    /// All must hold.
    And(Vec<Node>),
    /// One must hold.
    Or(Vec<Node>),
    /// One condition.
    Cond {
        /// Operator prefix.
        op: &'static str,
        /// Field name.
        field: String,
        /// Operand.
        value: Value,
    },
}

const OPS: [&str; 15] = [
    "!=%", "!%=", ">=", "<=", "!@", "=%", "%=", "!=", "!%", ">", "<", "@", "%", "!", "=",
];

/// Compile a filter. `resolve` maps a field name to the stored one (`None`: unknown field;
/// `strict` lists refuse it, legacy lists ignore it).
pub fn compile(
    filter: &Value,
    resolve: &dyn Fn(&str) -> Option<String>,
    strict: bool,
) -> Result<Node, String> {
    let mut nodes = Vec::new();
    let mut or = false;
    let entries: Vec<(String, Value)> = match filter {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v.clone()))
            .collect(),
        Value::Null => Vec::new(),
        _ => return Err("filter must be an object".into()),
    };
    for (key, value) in entries {
        if key.eq_ignore_ascii_case("logic") {
            or = value.as_str().is_some_and(|l| l.eq_ignore_ascii_case("or"));
            continue;
        }
        if key.chars().all(|c| c.is_ascii_digit()) && (value.is_object() || value.is_array()) {
            nodes.push(compile(&value, resolve, strict)?);
            continue;
        }
        let op = OPS
            .iter()
            .find(|op| key.starts_with(**op))
            .copied()
            .unwrap_or("");
        let name = &key[op.len()..];
        match resolve(name) {
            Some(field) => nodes.push(Node::Cond {
                op: if op.is_empty() { "=" } else { op },
                field,
                value,
            }),
            None if strict => {
                return Err(format!(
                    "Invalid filter: field '{name}' is not allowed in filter"
                ));
            }
            None => {}
        }
    }
    Ok(if or {
        Node::Or(nodes)
    } else {
        Node::And(nodes)
    })
}

/// Whether `item` passes. `btype` gives a field's Bitrix type.
pub fn eval(node: &Node, item: &Map<String, Value>, btype: &dyn Fn(&str) -> &'static str) -> bool {
    match node {
        Node::And(nodes) => nodes.iter().all(|n| eval(n, item, btype)),
        Node::Or(nodes) => nodes.is_empty() || nodes.iter().any(|n| eval(n, item, btype)),
        Node::Cond { op, field, value } => {
            let actual = item.get(field).unwrap_or(&Value::Null);
            cond(op, actual, value, btype(field))
        }
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// PHP's `intval` of a filter operand.
fn intval(v: &Value) -> i64 {
    wire::int(v)
        .or_else(|| wire::float(v).map(|f| f as i64))
        .unwrap_or(0)
}

/// `NULL` or `0` in a number column.
fn null_or_zero(actual: &Value) -> bool {
    actual.is_null() || wire::float(actual) == Some(0.0)
}

fn cond(op: &str, actual: &Value, operand: &Value, btype: &str) -> bool {
    let operands: Vec<&Value> = match operand {
        Value::Array(items) => items.iter().collect(),
        Value::Object(map) => map.values().collect(),
        v => vec![v],
    };
    let empty_operand = operands.is_empty() || operands.iter().all(|v| is_empty(v));
    let scalar = !matches!(operand, Value::Array(_) | Value::Object(_));
    if let Value::Array(items) = actual
        && numeric(btype)
    {
        // a multiple number field: one of its values
        return match op {
            "=" | "@" => items.iter().any(|a| cond("=", a, operand, btype)),
            "!=" | "!" | "!@" => !items.iter().any(|a| cond("=", a, operand, btype)),
            _ => items.iter().any(|a| cond(op, a, operand, btype)),
        };
    }
    match op {
        "=" if numeric(btype) && scalar && intval(operand) == 0 => null_or_zero(actual),
        "!=" | "!" if numeric(btype) && scalar && intval(operand) == 0 => !null_or_zero(actual),
        "@" if numeric(btype) && operands.iter().any(|o| intval(o) == 0) => {
            null_or_zero(actual) || operands.iter().any(|o| equal(actual, o, btype))
        }
        "!@" if numeric(btype) && operands.iter().any(|o| intval(o) == 0) => {
            !null_or_zero(actual) && !operands.iter().any(|o| equal(actual, o, btype))
        }
        "=" if empty_operand => is_empty(actual),
        "!=" | "!" if empty_operand => !is_empty(actual),
        "=" | "@" => operands.iter().any(|o| equal(actual, o, btype)),
        "!=" | "!" | "!@" => !operands.iter().any(|o| equal(actual, o, btype)),
        ">" | ">=" | "<" | "<=" => {
            let Some(o) = operands.first() else {
                return false;
            };
            match compare(actual, o, btype) {
                Some(ord) => match op {
                    ">" => ord == Ordering::Greater,
                    ">=" => ord != Ordering::Less,
                    "<" => ord == Ordering::Less,
                    _ => ord != Ordering::Greater,
                },
                None => false,
            }
        }
        "%" | "!%" if empty_operand => (op == "%") == actual.is_null(),
        "%" => operands.iter().any(|o| contains(actual, &text(o))),
        "=%" | "%=" => operands.iter().any(|o| like(actual, &text(o))),
        "!%" => !operands.iter().any(|o| contains(actual, &text(o))),
        "!=%" | "!%=" => !operands.iter().any(|o| like(actual, &text(o))),
        _ => false,
    }
}

fn text(v: &Value) -> String {
    wire::text(v).unwrap_or_default()
}

fn numeric(btype: &str) -> bool {
    matches!(
        btype,
        "integer"
            | "double"
            | "user"
            | "crm_contact"
            | "crm_company"
            | "crm_lead"
            | "crm_deal"
            | "crm_category"
            | "enumeration"
    )
}

fn equal(actual: &Value, operand: &Value, btype: &str) -> bool {
    if let Value::Array(items) = actual {
        return items.iter().any(|a| equal(a, operand, btype));
    }
    if actual.is_null() {
        return false;
    }
    compare(actual, operand, btype) == Some(Ordering::Equal)
}

/// Compare a stored value with an operand by the field's type.
pub fn compare(actual: &Value, operand: &Value, btype: &str) -> Option<Ordering> {
    if actual.is_null() || operand.is_null() {
        return None;
    }
    if numeric(btype) {
        return wire::float(actual)?.partial_cmp(&wire::float(operand)?);
    }
    match btype {
        "char" | "boolean" => Some(wire::flag(actual)?.cmp(&wire::flag(operand)?)),
        "date" => {
            let a: String = text(actual).chars().take(10).collect();
            let b: String = text(operand).chars().take(10).collect();
            Some(a.cmp(&b))
        }
        "datetime" => Some(text(actual).cmp(&text(operand))),
        _ => Some(
            text(actual)
                .to_lowercase()
                .cmp(&text(operand).to_lowercase()),
        ),
    }
}

/// `%`: the operand escaped for LIKE (`ForLIKE`), i.e. a literal substring, case-insensitive.
fn contains(actual: &Value, needle: &str) -> bool {
    wire::text(actual).is_some_and(|s| s.to_lowercase().contains(&needle.to_lowercase()))
}

/// One token of a LIKE pattern.
#[derive(Clone, Copy, PartialEq)]
enum Token {
    Any,
    One,
    Char(char),
}

/// SQL LIKE as MySQL runs it without an `ESCAPE` clause: `%` any run, `_` one character, a
/// backslash makes the next character literal; case-insensitive (the default collation).
fn like(actual: &Value, pattern: &str) -> bool {
    let Some(s) = wire::text(actual) else {
        return false;
    };
    let s: Vec<char> = s.to_lowercase().chars().collect();
    let mut p: Vec<Token> = Vec::new();
    let mut chars = pattern
        .to_lowercase()
        .chars()
        .collect::<Vec<_>>()
        .into_iter();
    while let Some(c) = chars.next() {
        p.push(match c {
            '\\' => Token::Char(chars.next().unwrap_or('\\')),
            '%' => Token::Any,
            '_' => Token::One,
            c => Token::Char(c),
        });
    }
    let (mut si, mut pi) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while si < s.len() {
        if pi < p.len() && (p[pi] == Token::One || p[pi] == Token::Char(s[si])) {
            si += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == Token::Any {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == Token::Any {
        pi += 1;
    }
    pi == p.len()
}

/// `order` as (field, descending) pairs; from pairs, or an object.
pub fn order_pairs(order: Option<&Value>) -> Vec<(String, bool)> {
    let desc = |v: &Value| v.as_str().is_some_and(|d| d.eq_ignore_ascii_case("desc"));
    match order {
        Some(v) => match wire::order_pairs(v) {
            Some(pairs) => pairs
                .into_iter()
                .map(|(k, d)| (k.to_owned(), desc(d)))
                .collect(),
            None => wire::map(Some(v))
                .iter()
                .map(|(k, d)| (k.clone(), desc(d)))
                .collect(),
        },
        None => Vec::new(),
    }
}

/// Sort items by (field, descending) pairs; nulls first ascending, as MySQL does.
pub fn sort(items: &mut [Map<String, Value>], order: &[(String, bool)], etid: i64) {
    items.sort_by(|a, b| {
        for (field, desc) in order {
            let btype = spec::field(etid, field).map_or("string", |f| f.btype);
            let (x, y) = (
                a.get(field).unwrap_or(&Value::Null),
                b.get(field).unwrap_or(&Value::Null),
            );
            let ord = match (x.is_null(), y.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                _ => compare(x, y, btype).unwrap_or(Ordering::Equal),
            };
            let ord = if *desc { ord.reverse() } else { ord };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn passes(filter: Value, it: &Map<String, Value>) -> bool {
        let node = compile(&filter, &|f| Some(f.to_owned()), true).unwrap();
        eval(&node, it, &|f| match f {
            "id" | "opportunity" => "integer",
            "birthdate" => "date",
            "opened" => "char",
            _ => "string",
        })
    }

    #[test]
    fn prefix_operators_and_logic() {
        let it = item(
            json!({"id": 7, "title": "Acme Website", "opportunity": 500, "birthdate": "1990-05-04T00:00:00+03:00", "opened": "Y", "note": null}),
        );
        assert!(passes(json!({">id": "6", "<=id": 7}), &it));
        assert!(!passes(json!({">id": 7}), &it));
        assert!(passes(json!({"@id": ["1", "7"]}), &it));
        assert!(passes(json!({"!@id": [1, 2]}), &it));
        assert!(passes(json!({"%title": "WEB"}), &it));
        assert!(passes(json!({"=%title": "acme%"}), &it));
        assert!(!passes(json!({"=%title": "web%"}), &it));
        // `%` escapes its value; `=%` is the pattern itself, `\` escaping
        assert!(!passes(json!({"%title": "a%e"}), &it), "literal %");
        assert!(!passes(json!({"%title": "acme_"}), &it), "literal _");
        assert!(passes(json!({"=%title": "acm_ w%"}), &it), "wildcard _");
        assert!(!passes(json!({"=%title": "acm\\_ w%"}), &it), "escaped _");
        let odd = item(json!({"id": 8, "title": "50% off_now", "opportunity": 0}));
        assert!(passes(json!({"%title": "50% off_"}), &odd));
        assert!(passes(json!({"=%title": "50\\% off\\_%"}), &odd));
        assert!(!passes(json!({"=%title": "50\\% off\\_x%"}), &odd));
        // number columns: 0 and null are one value
        assert!(passes(json!({"=opportunity": 0}), &odd));
        assert!(passes(json!({"=opportunity": null}), &odd));
        assert!(passes(json!({"!=opportunity": 0}), &it));
        assert!(!passes(json!({"!=opportunity": null}), &odd));
        assert!(passes(json!({"@opportunity": [0, 3]}), &odd));
        assert!(passes(json!({"=note": null}), &it));
        assert!(passes(json!({"!=title": ""}), &it));
        assert!(passes(
            json!({"=birthdate": "1990-05-04", ">=birthdate": "1990-05-04"}),
            &it
        ));
        assert!(passes(json!({"opened": "1"}), &it));
        assert!(passes(
            json!({"0": {"logic": "OR", "0": {"=id": 1}, "1": {"%title": "acme"}}}),
            &it
        ));
        assert!(!passes(
            json!({"0": {"logic": "OR", "0": {"=id": 1}, "1": {"%title": "zz"}}}),
            &it
        ));
        assert!(compile(&json!({"%nope": 1}), &|_| None, true).is_err());
        assert!(compile(&json!({"%nope": 1}), &|_| None, false).is_ok());
    }
}
