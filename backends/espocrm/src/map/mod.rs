//! Pure mappings between EspoCRM JSON and the common model: records and their deep links,
//! `{total, list}` pages, duplicate lists, stream notes (in [`stream`]), and write payloads.
//! No I/O; every function is tested on recorded EspoCRM 9.1.7 responses.

pub mod stream;

use crate::names;
use crate::time::to_espo_datetime;
use crmgate_core::model::{Fields, Record};
use crmgate_core::schema::{EntitySchema, FieldType};
use crmgate_core::{Error, Result};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};

/// Characters left alone in a path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encode one path segment (an id, entity type or link name).
pub fn segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// `{site}/#{Entity}/view/{id}`: the record in EspoCRM's own UI.
pub fn deep_link(site: &str, native: &str, id: &str) -> String {
    format!("{site}/#{native}/view/{}", segment(id))
}

/// A one-line title: `name`, else `subject`, else first + last name, else `userName`, else id.
pub fn title_of(fields: &Map<String, Value>) -> String {
    let text = |k: &str| {
        fields
            .get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    if let Some(t) = text("name").or_else(|| text("subject")) {
        return t.to_owned();
    }
    let person: Vec<&str> = ["firstName", "lastName"]
        .iter()
        .filter_map(|k| text(k))
        .collect();
    if !person.is_empty() {
        return person.join(" ");
    }
    text("userName")
        .or_else(|| text("post"))
        .map(|t| t.chars().take(80).collect())
        .or_else(|| text("id").map(str::to_owned))
        .unwrap_or_default()
}

/// One EspoCRM record (an attribute map) as a [`Record`]. `deleted` is dropped; `versionNumber`
/// becomes the version a confirm token binds to (when absent the gateway hashes the fields).
pub fn record(site: &str, native: &str, mut attributes: Map<String, Value>) -> Result<Record> {
    let id = match attributes.get("id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => {
            return Err(Error::upstream_protocol(format!(
                "EspoCRM returned a {native} record without an id"
            )));
        }
    };
    attributes.remove("deleted");
    let version = attributes.get("versionNumber").and_then(|v| match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    });
    let title = title_of(&attributes);
    let mut record = Record::new(id.clone(), title, attributes);
    record.url = Some(deep_link(site, native, &id));
    record.version = version;
    Ok(record)
}

/// A record from a JSON body (`GET {Entity}/{id}`, `POST {Entity}`, …).
pub fn record_from_body(site: &str, native: &str, body: &[u8]) -> Result<Record> {
    record_from_value(site, native, parse_json(body)?)
}

/// A record from a parsed JSON body.
pub fn record_from_value(site: &str, native: &str, body: Value) -> Result<Record> {
    match body {
        Value::Object(map) => record(site, native, map),
        _ => Err(shape(native, "a record object")),
    }
}

/// One page of a list: EspoCRM's `{total, list}`. `total` is -1 ("more follow") or -2 ("no
/// more") when counting was switched off.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    /// The count, or -1 / -2.
    pub total: i64,
    /// The attribute maps.
    pub list: Vec<Map<String, Value>>,
}

impl ListPage {
    /// Whether records follow this page, which started at `offset`.
    pub fn has_more(&self, offset: usize) -> bool {
        match self.total {
            -1 => true,
            t if t < 0 => false,
            t => ((offset + self.list.len()) as i64) < t,
        }
    }

    /// The exact total, when counted.
    pub fn exact_total(&self) -> Option<u64> {
        u64::try_from(self.total).ok()
    }
}

/// Parse a `{total, list}` body.
pub fn list_page(what: &str, body: &[u8]) -> Result<ListPage> {
    let Value::Object(mut map) = parse_json(body)? else {
        return Err(shape(what, "an object with total and list"));
    };
    let total = match map.get("total") {
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| shape(what, "an integer total"))?,
        None | Some(Value::Null) => -2,
        Some(_) => return Err(shape(what, "an integer total")),
    };
    let list = match map.remove("list") {
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(m) => Ok(m),
                _ => Err(shape(what, "a list of records")),
            })
            .collect::<Result<Vec<_>>>()?,
        _ => return Err(shape(what, "a list array")),
    };
    Ok(ListPage { total, list })
}

/// The records of a 409 `duplicate` answer (a JSON array of attribute maps).
pub fn duplicates(site: &str, native: &str, body: &[u8]) -> Vec<Record> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .filter_map(|item| match item {
                Value::Object(map) => record(site, native, map).ok(),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The JSON `true` / `false` that delete, link and unlink answer.
pub fn boolean(what: &str, body: &[u8]) -> Result<bool> {
    match parse_json(body)? {
        Value::Bool(b) => Ok(b),
        _ => Err(shape(what, "true or false")),
    }
}

/// The payload of a create or update: the validated data, with datetimes turned into EspoCRM's
/// UTC `YYYY-MM-DD HH:mm:ss` (agents send ISO 8601).
pub fn write_payload(schema: &EntitySchema, data: &Fields) -> Result<Fields> {
    data.iter()
        .map(|(name, value)| {
            let is_datetime = schema
                .field(name)
                .is_some_and(|f| f.field_type == FieldType::DateTime);
            match value {
                Value::String(s) if is_datetime => match to_espo_datetime(s) {
                    Some(v) => Ok((name.clone(), Value::String(v))),
                    None => Err(bad_datetime(&schema.entity, name, s)),
                },
                other => Ok((name.clone(), other.clone())),
            }
        })
        .collect()
}

/// `VALIDATION` for a datetime EspoCRM would not understand.
pub fn bad_datetime(entity: &str, field: &str, value: &str) -> Error {
    Error::validation(
        format!("{entity}.{field}: {value:?} is not a date and time"),
        "send UTC as \"YYYY-MM-DD HH:mm:ss\", or ISO 8601 such as \"2026-12-01T17:00:00Z\"",
    )
}

/// Parse a JSON body; malformed JSON is `UPSTREAM_PROTOCOL` (never echoing the body).
pub fn parse_json(body: &[u8]) -> Result<Value> {
    serde_json::from_slice(body).map_err(|e| {
        Error::upstream_protocol(format!(
            "EspoCRM answered with malformed JSON ({} at line {} column {})",
            match e.classify() {
                serde_json::error::Category::Eof => "truncated",
                serde_json::error::Category::Syntax => "syntax error",
                _ => "unexpected value",
            },
            e.line(),
            e.column()
        ))
    })
}

fn shape(what: &str, expected: &str) -> Error {
    Error::upstream_protocol(format!("EspoCRM's answer for {what} is not {expected}"))
}

/// The canonical entity of a native type (re-exported for the mappers' callers).
pub fn canonical(native: &str) -> String {
    names::canonical(native)
}
