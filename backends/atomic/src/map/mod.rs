//! Pure mapping between Atomic CRM rows (PostgreSQL's JSON rendering, identical through either
//! transport) and crmgate's model: records (ids and references as strings, a title, a deep
//! link), timeline entries, and validated data → rows for writes. No I/O.

use crate::model::Kind;
use crate::model::options::{COMPANY_SIZES, CONTACT_POINT_TYPES};
use crate::store::Row;
use crmgate_core::model::{Fields, Record, RecordRef, TimelineItem};
use crmgate_core::schema::{EntitySchema, FieldType};
use crmgate_core::{Error, Result};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// A record id as the database's bigint, or `None` when it cannot be one.
pub fn parse_id(id: &str) -> Option<i64> {
    id.trim().parse::<i64>().ok().filter(|n| *n > 0)
}

/// A row as a record: ids and references become strings (as writes take them), the title
/// and deep link are derived.
pub fn record(
    kind: Kind,
    schema: &EntitySchema,
    row: Row,
    app_url: Option<&str>,
) -> Result<Record> {
    let id = match row.get("id") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            return Err(Error::upstream_protocol(format!(
                "a {} row came back without an id",
                kind.table()
            )));
        }
    };
    let title = title(kind, &id, &row);
    let url =
        app_url.map(|base| format!("{}/{}", base.trim_end_matches('/'), kind.ui_path(&id, &row)));
    let mut fields = Map::with_capacity(row.len());
    for (name, value) in row {
        let ty = schema.field(&name).map(|f| f.field_type);
        let value = match ty {
            Some(FieldType::Id | FieldType::Reference) => id_to_string(value),
            Some(FieldType::References) => match value {
                Value::Array(items) => Value::Array(items.into_iter().map(id_to_string).collect()),
                other => other,
            },
            _ => value,
        };
        fields.insert(name, value);
    }
    let mut record = Record::new(id, title, fields);
    record.url = url;
    Ok(record)
}

fn id_to_string(value: Value) -> Value {
    match value {
        Value::Number(n) => Value::String(n.to_string()),
        other => other,
    }
}

/// A one-line title.
pub fn title(kind: Kind, id: &str, row: &Row) -> String {
    let text = |k: &str| {
        row.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or("")
    };
    let fallback = || format!("{} #{id}", kind.name());
    let name = match kind {
        Kind::Companies | Kind::Deals | Kind::Tags => text("name").to_owned(),
        Kind::Contacts | Kind::Users => {
            let full = format!("{} {}", text("first_name"), text("last_name"));
            let full = full.trim();
            if full.is_empty() {
                first_email(row).unwrap_or_default()
            } else {
                full.to_owned()
            }
        }
        Kind::Tasks | Kind::Notes | Kind::DealNotes => {
            let line = text("text").lines().next().unwrap_or("").trim();
            if line.chars().count() > 80 {
                format!("{}…", line.chars().take(79).collect::<String>())
            } else {
                line.to_owned()
            }
        }
    };
    if name.is_empty() { fallback() } else { name }
}

fn first_email(row: &Row) -> Option<String> {
    if let Some(email) = row.get("email").and_then(Value::as_str) {
        return Some(email.to_owned());
    }
    row.get("email_jsonb")?
        .as_array()?
        .iter()
        .find_map(|e| e.get("email")?.as_str().map(str::to_owned))
}

/// Validated crmgate data → the row to write: references as numbers, and the checks the
/// database does not make (company size bands, the shape of emails and phones).
pub fn row_for_write(kind: Kind, schema: &EntitySchema, data: &Fields) -> Result<Row> {
    let mut row = Map::with_capacity(data.len());
    for (name, value) in data {
        let ty = schema.field(name).map(|f| f.field_type);
        let value = match (ty, value) {
            (_, Value::Null) => Value::Null,
            (Some(FieldType::Reference), v) => json!(id_value(name, v)?),
            (Some(FieldType::References), Value::Array(items)) => Value::Array(
                items
                    .iter()
                    .map(|v| id_value(name, v).map(|n| json!(n)))
                    .collect::<Result<_>>()?,
            ),
            _ => value.clone(),
        };
        check_value(kind, name, &value)?;
        row.insert(name.clone(), value);
    }
    Ok(row)
}

fn id_value(field: &str, value: &Value) -> Result<i64> {
    let parsed = match value {
        Value::String(s) => parse_id(s),
        Value::Number(n) => n.as_i64().filter(|n| *n > 0),
        _ => None,
    };
    parsed.ok_or_else(|| {
        Error::validation(
            format!("{field}: {value} is not a record id"),
            "pass the id as crm_search or crm_get returned it (e.g. \"12\")",
        )
    })
}

fn check_value(kind: Kind, field: &str, value: &Value) -> Result<()> {
    if value.is_null() {
        return Ok(());
    }
    match (kind, field) {
        (Kind::Companies, "size") => {
            if value.as_i64().is_some_and(|n| COMPANY_SIZES.contains(&n)) {
                Ok(())
            } else {
                Err(Error::validation(
                    format!("companies.size: {value} is not an allowed size"),
                    "allowed: 1, 10, 50, 250, 500 (employee bands: 1, 2-9, 10-49, 50-249, 250 and more)",
                )
                .with_details(json!({"field": "size", "allowed": COMPANY_SIZES})))
            }
        }
        (Kind::Contacts, "email_jsonb") => contact_points(field, value, "email"),
        (Kind::Contacts, "phone_jsonb") => contact_points(field, value, "number"),
        _ => Ok(()),
    }
}

fn contact_points(field: &str, value: &Value, key: &str) -> Result<()> {
    let example = format!("[{{\"{key}\": \"…\", \"type\": \"Work\"}}]");
    let bad = |why: String| {
        Error::validation(
            format!("contacts.{field}: {why}"),
            format!(
                "send an array like {example}; type is one of {}",
                CONTACT_POINT_TYPES.join(", ")
            ),
        )
    };
    let items = value
        .as_array()
        .ok_or_else(|| bad("must be an array".into()))?;
    for item in items {
        let entry = item
            .as_object()
            .ok_or_else(|| bad("every item must be an object".into()))?;
        match entry.get(key).and_then(Value::as_str) {
            Some(s) if !s.trim().is_empty() => {
                if key == "email" && (!s.contains('@') || s.contains(char::is_whitespace)) {
                    return Err(bad(format!("{s:?} is not an email address")));
                }
            }
            _ => return Err(bad(format!("every item needs a \"{key}\""))),
        }
        if let Some(ty) = entry.get("type")
            && !ty
                .as_str()
                .is_some_and(|t| CONTACT_POINT_TYPES.contains(&t))
        {
            return Err(bad(format!("type {ty} is not allowed")));
        }
        if let Some(extra) = entry.keys().find(|k| *k != key && *k != "type") {
            return Err(bad(format!("unexpected key {extra:?}")));
        }
    }
    Ok(())
}

/// A note row as a timeline entry; `authors` maps sales ids to names.
pub fn timeline_item(
    note_kind: Kind,
    row: &Row,
    authors: &HashMap<i64, String>,
) -> Option<TimelineItem> {
    let id = row.get("id")?.as_i64()?.to_string();
    let author = row
        .get("sales_id")
        .and_then(Value::as_i64)
        .and_then(|s| authors.get(&s).cloned());
    let mut text = row
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if let Some(status) = row.get("status").and_then(Value::as_str) {
        text = format!("[{status}] {text}");
    }
    Some(TimelineItem {
        source: Some(RecordRef {
            entity: note_kind.name().into(),
            id: id.clone(),
        }),
        id,
        kind: "note".into(),
        at: row
            .get("date")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        author,
        text,
        truncated: false,
    })
}

/// A salesperson's display name.
pub fn person_name(row: &Row) -> Option<(i64, String)> {
    let id = row.get("id")?.as_i64()?;
    let name = title(Kind::Users, &id.to_string(), row);
    Some((id, name))
}

#[cfg(test)]
mod tests;
