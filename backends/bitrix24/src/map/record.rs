//! `crm.item` items ⇄ records. Reading takes the parsed item apart (its values move into the
//! record, nothing is copied) and normalises what Bitrix sends loosely (numbers as strings,
//! `Y`/`N` flags, `0` for "no company", dates as midnight date-times) by each field's Bitrix
//! type, and adds `labels`: human names for the ids, from tables built once per entity type.
//! Writing turns the agent's values back into what `crm.item.add/update` expect (`null` on a
//! reference becomes the portal's `0`).

use super::dicts::Dictionaries;
use super::fields::{EntityMeta, FieldMeta, LABELS, is_reference};
use super::kind;
use crate::wire;
use crmgate_core::model::{Fields, Record};
use serde_json::{Map, Value};

/// One item → a record of the entity. The item is taken apart, not copied: its values move
/// into the record.
pub fn to_record(item: Value, meta: &EntityMeta, dicts: &Dictionaries, portal: &str) -> Record {
    let map = match item {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let mut fields = Fields::new();
    let mut labels = Map::new();
    for (name, raw) in map {
        let value = match meta.field(&name) {
            Some(m) => {
                let value = read_value(m, raw);
                if let Some(label) = label_of(meta, m, &value, dicts) {
                    labels.insert(name.clone(), label);
                }
                value
            }
            None => raw,
        };
        fields.insert(name, value);
    }
    let id = fields.get("id").and_then(wire::text).unwrap_or_default();
    let title = title_of(&fields, &id);
    fields.insert(LABELS.into(), Value::Object(labels));
    let url = kind::url(portal, meta.entity_type_id, &id);
    let mut record = Record::new(id, title, fields);
    record.url = Some(url);
    // no version stamp: `updatedTime` has one-second resolution, so two writes within a
    // second would look unchanged; the gateway hashes the fields instead
    record
}

fn title_of(fields: &Fields, id: &str) -> String {
    let part = |k: &str| {
        fields
            .get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    if let Some(t) = part("title") {
        return t.to_owned();
    }
    let name: Vec<&str> = ["name", "lastName"]
        .iter()
        .filter_map(|k| part(k))
        .collect();
    if name.is_empty() {
        format!("#{id}")
    } else {
        name.join(" ")
    }
}

/// A wire value → the value an agent sees, by Bitrix type (moved, converted only where the
/// wire form differs).
pub fn read_value(m: &FieldMeta, raw: Value) -> Value {
    if m.multiple {
        return match raw {
            Value::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|v| read_one(m, v))
                    .filter(|v| !v.is_null())
                    .collect(),
            ),
            Value::Null => Value::Array(Vec::new()),
            Value::Object(map) if map.is_empty() => Value::Array(Vec::new()),
            single => Value::Array(vec![read_one(m, single)]),
        };
    }
    read_one(m, raw)
}

fn read_one(m: &FieldMeta, raw: Value) -> Value {
    if raw.is_null() {
        return Value::Null;
    }
    match m.btype.as_str() {
        _ if m.name == "id" => match wire::int(&raw) {
            Some(n) => Value::from(n),
            None => raw,
        },
        "integer" => wire::int(&raw).map(Value::from).unwrap_or(Value::Null),
        "double" | "money" => wire::float(&raw).map(wire::number).unwrap_or(Value::Null),
        "char" | "boolean" => wire::flag(&raw).map(Value::Bool).unwrap_or(Value::Null),
        // `0` is how the portal says "none"
        b if is_reference(b) => match wire::int(&raw) {
            Some(n) if n > 0 => Value::String(n.to_string()),
            _ => Value::Null,
        },
        "crm_category" | "enumeration" | "crm_status" | "crm_currency" => match raw {
            Value::String(_) => raw,
            other => wire::text(&other).map(Value::String).unwrap_or(Value::Null),
        },
        "date" => match raw {
            Value::String(s) if s.is_empty() => Value::Null,
            Value::String(s) if s.len() > 10 => Value::String(s.chars().take(10).collect()),
            other => other,
        },
        "datetime" => match raw {
            Value::String(s) if s.is_empty() => Value::Null,
            other => other,
        },
        _ => raw,
    }
}

/// The human name of a value, from the entity's label tables (users: the shared dictionary).
fn label_of(
    meta: &EntityMeta,
    m: &FieldMeta,
    value: &Value,
    dicts: &Dictionaries,
) -> Option<Value> {
    let one = |v: &Value| -> Option<String> {
        let key = v.as_str()?;
        match m.btype.as_str() {
            "user" => dicts.users.get(key).cloned(),
            _ => meta.labels.get(&m.name, key).map(str::to_owned),
        }
    };
    match value {
        Value::Array(items) => {
            let names: Vec<Value> = items.iter().filter_map(one).map(Value::String).collect();
            (!names.is_empty()).then_some(Value::Array(names))
        }
        v => one(v).map(Value::String),
    }
}

/// Validated data → the `fields` of `crm.item.add` / `crm.item.update`.
pub fn to_wire(data: &Fields, meta: &EntityMeta) -> Value {
    let mut out = Map::new();
    for (name, value) in data {
        let wire_value = match meta.field(name) {
            Some(m) => write_value(m, value),
            None => value.clone(),
        };
        out.insert(name.clone(), wire_value);
    }
    Value::Object(out)
}

/// An agent's value → the wire value, by Bitrix type (also used for filter operands).
pub fn write_value(m: &FieldMeta, value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| write_one(m, v)).collect()),
        v => write_one(m, v),
    }
}

fn write_one(m: &FieldMeta, value: &Value) -> Value {
    match (m.btype.as_str(), value) {
        // clearing a company, contact, lead or deal: the portal's "none" is 0
        ("crm_contact" | "crm_company" | "crm_lead" | "crm_deal", Value::Null) if !m.multiple => {
            Value::from(0)
        }
        ("char", v) => match wire::flag(v) {
            Some(b) => Value::String(if b { "Y" } else { "N" }.into()),
            None => v.clone(),
        },
        ("boolean", v) => match wire::flag(v) {
            Some(b) => Value::from(i64::from(b)),
            None => v.clone(),
        },
        (
            "user" | "crm_contact" | "crm_company" | "crm_lead" | "crm_deal" | "crm_category"
            | "enumeration" | "integer",
            Value::String(s),
        ) => s
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| value.clone()),
        _ if m.name == "id" => wire::int(value).map(Value::from).unwrap_or(value.clone()),
        _ => value.clone(),
    }
}
