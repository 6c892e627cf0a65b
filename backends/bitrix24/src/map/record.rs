//! `crm.item` items ⇄ records. Reading normalises what Bitrix sends loosely (numbers as
//! strings, `Y`/`N` flags, `0` for "no company", dates as midnight date-times) by each field's
//! Bitrix type, and adds `labels`: human names for the ids, from the cached dictionaries.
//! Writing turns the agent's values back into what `crm.item.add/update` expect.

use super::dicts::Dictionaries;
use super::fields::{EntityMeta, FieldMeta, LABELS};
use super::kind;
use crate::wire;
use crmgate_core::model::{Fields, Record};
use serde_json::{Map, Value};

/// One item → a record of the entity.
pub fn to_record(item: &Value, meta: &EntityMeta, dicts: &Dictionaries, portal: &str) -> Record {
    let mut fields = Fields::new();
    let mut labels = Map::new();
    if let Some(map) = item.as_object() {
        for (name, raw) in map {
            let value = match meta.field(name) {
                Some(m) => read_value(m, raw),
                None => raw.clone(),
            };
            if let Some(m) = meta.field(name)
                && let Some(label) = label_of(meta.entity_type_id, m, &value, dicts)
            {
                labels.insert(name.clone(), label);
            }
            fields.insert(name.clone(), value);
        }
    }
    let id = item.get("id").and_then(wire::text).unwrap_or_default();
    let title = title_of(&fields, &id);
    fields.insert(LABELS.into(), Value::Object(labels));
    let mut record = Record::new(id.clone(), title, fields);
    record.url = Some(kind::url(portal, meta.entity_type_id, &id));
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

/// A wire value → the value an agent sees, by Bitrix type.
pub fn read_value(m: &FieldMeta, raw: &Value) -> Value {
    if m.multiple {
        return match raw {
            Value::Array(items) => Value::Array(
                items
                    .iter()
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

fn read_one(m: &FieldMeta, raw: &Value) -> Value {
    if raw.is_null() {
        return Value::Null;
    }
    match m.btype.as_str() {
        _ if m.name == "id" => wire::int(raw).map(Value::from).unwrap_or(raw.clone()),
        "integer" => wire::int(raw).map(Value::from).unwrap_or(Value::Null),
        "double" | "money" => wire::float(raw).map(wire::number).unwrap_or(Value::Null),
        "char" | "boolean" => wire::flag(raw).map(Value::Bool).unwrap_or(Value::Null),
        "user" | "crm_contact" | "crm_company" | "crm_lead" | "crm_deal" => match wire::int(raw) {
            Some(0) => Value::Null,
            Some(n) => Value::String(n.to_string()),
            None => Value::Null,
        },
        "crm_category" | "enumeration" | "crm_status" | "crm_currency" => {
            wire::text(raw).map(Value::String).unwrap_or(Value::Null)
        }
        "date" => match raw.as_str() {
            Some("") => Value::Null,
            Some(s) => Value::String(s.chars().take(10).collect()),
            None => raw.clone(),
        },
        "datetime" => match raw.as_str() {
            Some("") => Value::Null,
            _ => raw.clone(),
        },
        _ => raw.clone(),
    }
}

/// The human name of a value, when a dictionary knows it.
fn label_of(
    entity_type_id: i64,
    m: &FieldMeta,
    value: &Value,
    dicts: &Dictionaries,
) -> Option<Value> {
    let one = |v: &Value| -> Option<String> {
        let key = v.as_str()?;
        match m.btype.as_str() {
            "user" => dicts.users.get(key).cloned(),
            "crm_status" if m.name == "stageId" => dicts
                .stages(entity_type_id)
                .into_iter()
                .find(|s| s.status_id == key)
                .map(|s| s.name.clone()),
            "crm_status" => dicts
                .dictionary(m.status_type.as_deref()?)
                .into_iter()
                .find(|s| s.status_id == key)
                .map(|s| s.name.clone()),
            "crm_category" => dicts
                .category_name(entity_type_id, key.parse().ok()?)
                .map(str::to_owned),
            "crm_currency" => dicts
                .currencies
                .iter()
                .find(|c| c.code == key)
                .map(|c| c.name.clone()),
            "enumeration" => m
                .items
                .iter()
                .find(|(id, _)| id == key)
                .map(|(_, v)| v.clone()),
            _ => None,
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
