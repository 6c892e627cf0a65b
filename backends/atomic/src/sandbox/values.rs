//! Values as PostgreSQL stores them: coercion of JSON input to a column's type (with
//! PostgreSQL's error for bad input), the summary views' text columns, and the lower-casing
//! trigger on contact emails.

use super::db::{PgError, Row};
use super::schema::{Col, SqlType};
use crate::timefmt::{normalize_date, normalize_timestamp};
use serde_json::{Value, json};

/// `jsonb_path_query_array(col, '$[*].key')::text`.
pub(super) fn fts(points: Option<&Value>, key: &str) -> Value {
    match points {
        Some(Value::Array(items)) => {
            let parts: Vec<String> = items
                .iter()
                .filter_map(|i| i.get(key))
                .map(Value::to_string)
                .collect();
            json!(format!("[{}]", parts.join(", ")))
        }
        Some(Value::Object(_)) => json!("[]"),
        _ => Value::Null,
    }
}

pub(super) fn lowercase_emails(row: &mut Row) {
    if let Some(Value::Array(items)) = row.get_mut("email_jsonb") {
        for item in items {
            if let Some(Value::String(email)) = item.get_mut("email") {
                *email = email.to_lowercase();
            }
        }
    }
}

fn invalid(ty: SqlType, value: &Value) -> PgError {
    let shown = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let code = match ty {
        SqlType::Timestamp | SqlType::Date => "22007",
        _ => "22P02",
    };
    let message = match ty {
        SqlType::IntArray => format!("malformed array literal: \"{shown}\""),
        _ => format!(
            "invalid input syntax for type {}: \"{shown}\"",
            ty.pg_name()
        ),
    };
    PgError::new(400, code, message)
}

/// A JSON value as the column stores it, or PostgreSQL's error.
pub fn coerce(col: &Col, value: &Value) -> Result<Value, PgError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let bad = || invalid(col.ty, value);
    Ok(match col.ty {
        SqlType::Int => match value {
            Value::Number(n) if n.is_i64() => value.clone(),
            Value::String(s) => json!(s.trim().parse::<i64>().map_err(|_| bad())?),
            _ => return Err(bad()),
        },
        SqlType::Text => match value {
            Value::String(_) => value.clone(),
            Value::Number(n) => json!(n.to_string()),
            Value::Bool(b) => json!(b.to_string()),
            _ => return Err(bad()),
        },
        SqlType::Bool => match value {
            Value::Bool(_) => value.clone(),
            Value::String(s) if s == "true" || s == "false" => json!(s == "true"),
            _ => return Err(bad()),
        },
        SqlType::Timestamp => json!(
            value
                .as_str()
                .and_then(normalize_timestamp)
                .ok_or_else(bad)?
        ),
        SqlType::Date => {
            let s = value.as_str().ok_or_else(bad)?;
            let date =
                normalize_date(s).or_else(|| normalize_timestamp(s).map(|t| t[..10].to_owned()));
            json!(date.ok_or_else(bad)?)
        }
        SqlType::Json => value.clone(),
        SqlType::IntArray => match value {
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| match i {
                        Value::Number(n) if n.is_i64() => Ok(i.clone()),
                        Value::String(s) => {
                            s.trim().parse::<i64>().map(|n| json!(n)).map_err(|_| bad())
                        }
                        _ => Err(bad()),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            _ => return Err(bad()),
        },
    })
}
