//! Evaluating PostgREST filters over JSON rows with SQL's three-valued logic (a comparison
//! with NULL is neither true nor false, and neither is its negation), typed comparisons per
//! column, LIKE patterns, and sorting with PostgreSQL's NULL placement.

use super::db::{PgError, Row};
use super::query::{Filter, Op};
use super::schema::{Col, SqlType};
use crate::timefmt::{normalize_date, parse_timestamp};
use serde_json::Value;
use std::cmp::Ordering;

fn bad(message: impl Into<String>) -> PgError {
    PgError::new(400, "PGRST100", message)
}

/// Whether a row passes every filter (SQL: only when all are true, not NULL).
pub fn matches(
    filters: &[Filter],
    row: &Row,
    cols: &[Col],
    relation: &str,
) -> Result<bool, PgError> {
    for f in filters {
        if eval(f, row, cols, relation)? != Some(true) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn column<'a>(cols: &'a [Col], relation: &str, name: &str) -> Result<&'a Col, PgError> {
    cols.iter().find(|c| c.name == name).ok_or_else(|| {
        PgError::new(
            400,
            "42703",
            format!("column {relation}.{name} does not exist"),
        )
    })
}

fn eval(f: &Filter, row: &Row, cols: &[Col], relation: &str) -> Result<Option<bool>, PgError> {
    Ok(match f {
        Filter::Not(inner) => eval(inner, row, cols, relation)?.map(|b| !b),
        Filter::Or(items) => {
            let mut result = Some(false);
            for i in items {
                match eval(i, row, cols, relation)? {
                    Some(true) => return Ok(Some(true)),
                    None => result = None,
                    Some(false) => {}
                }
            }
            result
        }
        Filter::And(items) => {
            let mut result = Some(true);
            for i in items {
                match eval(i, row, cols, relation)? {
                    Some(false) => return Ok(Some(false)),
                    None => result = None,
                    Some(true) => {}
                }
            }
            result
        }
        Filter::Leaf {
            column: name,
            negated,
            op,
            values,
        } => {
            let col = column(cols, relation, name)?;
            let cell = row.get(name.as_str()).unwrap_or(&Value::Null);
            let result = leaf_value(*op, values, cell, col)?;
            if *negated { result.map(|b| !b) } else { result }
        }
    })
}

fn leaf_value(op: Op, values: &[String], cell: &Value, col: &Col) -> Result<Option<bool>, PgError> {
    let first = values.first().map(String::as_str).unwrap_or("");
    if op == Op::Is {
        return Ok(Some(match first {
            "null" => cell.is_null(),
            "not_null" => !cell.is_null(),
            "true" => cell == &Value::Bool(true),
            "false" => cell == &Value::Bool(false),
            "unknown" => cell.is_null(),
            other => return Err(bad(format!("is takes null, true or false, not {other}"))),
        }));
    }
    if op == Op::IsDistinct {
        if cell.is_null() {
            return Ok(Some(true));
        }
        return Ok(Some(compare(cell, first, col)? != Ordering::Equal));
    }
    if cell.is_null() {
        return Ok(None);
    }
    Ok(Some(match op {
        Op::Eq if col.ty == SqlType::IntArray => ids(cell) == array_literal(first)?,
        Op::Eq => compare(cell, first, col)? == Ordering::Equal,
        Op::Neq => compare(cell, first, col)? != Ordering::Equal,
        Op::Gt => compare(cell, first, col)? == Ordering::Greater,
        Op::Gte => compare(cell, first, col)? != Ordering::Less,
        Op::Lt => compare(cell, first, col)? == Ordering::Less,
        Op::Lte => compare(cell, first, col)? != Ordering::Greater,
        Op::In => {
            let mut any = false;
            for v in values {
                any |= compare(cell, v, col)? == Ordering::Equal;
            }
            any
        }
        Op::Like | Op::ILike => {
            let Value::String(text) = cell else {
                return Err(PgError::new(
                    404,
                    "42883",
                    format!("operator does not exist: {} ~~* unknown", col.ty.pg_name()),
                ));
            };
            // PostgREST turns `*` into `%`
            let pattern = first.replace('*', "%");
            if op == Op::ILike {
                like(&text.to_lowercase(), &pattern.to_lowercase())
            } else {
                like(text, &pattern)
            }
        }
        Op::Cs => {
            let have = ids(cell);
            array_literal(first)?.iter().all(|i| have.contains(i))
        }
        Op::Cd => {
            let allowed = array_literal(first)?;
            ids(cell).iter().all(|i| allowed.contains(i))
        }
        Op::Ov => {
            let have = ids(cell);
            array_literal(first)?.iter().any(|i| have.contains(i))
        }
        Op::Is | Op::IsDistinct => unreachable!("handled above"),
    }))
}

fn ids(cell: &Value) -> Vec<i64> {
    cell.as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

fn array_literal(s: &str) -> Result<Vec<i64>, PgError> {
    let inner = s
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .ok_or_else(|| PgError::new(400, "22P02", format!("malformed array literal: \"{s}\"")))?;
    if inner.trim().is_empty() {
        return Ok(Vec::new());
    }
    inner
        .split(',')
        .map(|i| {
            i.trim().trim_matches('"').parse().map_err(|_| {
                PgError::new(
                    400,
                    "22P02",
                    format!("invalid input syntax for type bigint: \"{i}\""),
                )
            })
        })
        .collect()
}

/// Compare a stored value with a filter operand of the column's type.
pub fn compare(cell: &Value, operand: &str, col: &Col) -> Result<Ordering, PgError> {
    let invalid = |code: &str| {
        PgError::new(
            400,
            code,
            format!(
                "invalid input syntax for type {}: \"{operand}\"",
                col.ty.pg_name()
            ),
        )
    };
    Ok(match col.ty {
        SqlType::Int => {
            let v: i64 = operand.trim().parse().map_err(|_| invalid("22P02"))?;
            cell.as_i64().unwrap_or(0).cmp(&v)
        }
        SqlType::Bool => {
            let v = match operand {
                "true" => true,
                "false" => false,
                _ => return Err(invalid("22P02")),
            };
            cell.as_bool().unwrap_or(false).cmp(&v)
        }
        SqlType::Timestamp => {
            let v = timestamp_key(operand).ok_or_else(|| invalid("22007"))?;
            let c = timestamp_key(cell.as_str().unwrap_or("")).unwrap_or((0, 0.0));
            c.partial_cmp(&v).unwrap_or(Ordering::Equal)
        }
        SqlType::Date => {
            let v = normalize_date(operand)
                .or_else(|| {
                    crate::timefmt::normalize_timestamp(operand).map(|t| t[..10].to_owned())
                })
                .ok_or_else(|| invalid("22007"))?;
            cell.as_str().unwrap_or("").cmp(v.as_str())
        }
        SqlType::Text => cell.as_str().unwrap_or("").cmp(operand),
        SqlType::Json | SqlType::IntArray => cell.to_string().as_str().cmp(operand),
    })
}

fn timestamp_key(s: &str) -> Option<(i64, f64)> {
    let (secs, fraction) = parse_timestamp(s)?;
    Some((secs, format!("0.{fraction}0").parse().unwrap_or(0.0)))
}

/// SQL LIKE: `%` any run, `_` one character, `\` escapes.
pub fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    fn go(t: &[char], p: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('%') => (0..=t.len()).any(|i| go(&t[i..], &p[1..])),
            Some('_') => !t.is_empty() && go(&t[1..], &p[1..]),
            Some('\\') if p.len() > 1 => t.first() == Some(&p[1]) && go(&t[1..], &p[2..]),
            Some(c) => t.first() == Some(c) && go(&t[1..], &p[1..]),
        }
    }
    go(&t, &p)
}

/// Sort rows by the order keys, then by id.
pub fn sort(
    rows: &mut [Row],
    order: &[(String, bool, bool)],
    cols: &[Col],
    relation: &str,
) -> Result<(), PgError> {
    for (name, _, _) in order {
        column(cols, relation, name)?;
    }
    let key_cmp = |a: &Row, b: &Row| {
        for (name, desc, nulls_first) in order {
            let (x, y) = (
                a.get(name).unwrap_or(&Value::Null),
                b.get(name).unwrap_or(&Value::Null),
            );
            let ord = match (x.is_null(), y.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) => {
                    if *nulls_first {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }
                }
                (false, true) => {
                    if *nulls_first {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
                (false, false) => {
                    let o = value_cmp(x, y);
                    if *desc { o.reverse() } else { o }
                }
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        value_cmp(
            a.get("id").unwrap_or(&Value::Null),
            b.get("id").unwrap_or(&Value::Null),
        )
    };
    rows.sort_by(key_cmp);
    Ok(())
}

fn value_cmp(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => match (timestamp_key(x), timestamp_key(y)) {
            (Some(p), Some(q)) if x.len() > 10 || y.len() > 10 => {
                p.partial_cmp(&q).unwrap_or(Ordering::Equal)
            }
            _ => x.cmp(y),
        },
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert!(like("acme corp", "%corp"));
        assert!(like("a_b", "a\\_b"));
        assert!(!like("axb", "a\\_b"));
        assert!(like("50%", "50\\%"));
        assert!(!like("abc", "ab"));
    }
}
