//! One BottleCRM object → a [`Record`].
//!
//! BottleCRM nests whole objects where it means a reference: a lead's `assigned_to` is a list
//! of full user profiles, an opportunity's `account` the whole account with its contacts, a
//! lead's `tags` full tag objects while a contact's are bare ids. Records carry references the
//! way writes take them — ids (account tags: names, as account writes take names) — so what
//! crm_get shows can be sent back unchanged. Decimals arrive as strings (`"5000.00"`) and
//! become numbers for money fields. Invoices read `account`/`contact`/`opportunity` but write
//! `account_id`/`contact_id`/`opportunity_id`; records use the write names.

use crate::entities::Entity;
use crmgate_core::model::{Fields, Record};
use crmgate_core::{Error, Result};
use serde_json::{Map, Number, Value};
use sha2::{Digest, Sha256};

/// Fields that hold references (objects or lists of objects with an `id`).
const REFERENCES: &[&str] = &[
    "account",
    "contact",
    "opportunity",
    "case",
    "lead",
    "parent",
    "assigned_to",
    "teams",
    "tags",
    "contacts",
    "created_by",
    "updated_by",
    "closed_by",
    "org",
    "linked_accounts",
    "opportunities",
    "cases",
    "tasks",
    "invoices",
    "leads",
    "template",
];

/// Fields whose decimal strings become numbers.
pub fn money_fields(entity: Entity) -> &'static [&'static str] {
    match entity {
        Entity::Leads => &["opportunity_amount"],
        Entity::Accounts => &["annual_revenue"],
        Entity::Opportunities => &["amount"],
        Entity::Invoices => &[
            "subtotal",
            "discount_value",
            "discount_amount",
            "tax_rate",
            "tax_amount",
            "shipping_amount",
            "total_amount",
            "amount_paid",
            "amount_due",
        ],
        _ => &[],
    }
}

/// Fields that change by themselves (clocks, ages, roll-ups): left out of the version hash so
/// a confirm token does not go stale while nobody touches the record.
const VOLATILE: &[&str] = &[
    "created_on_arrow",
    "days_in_stage",
    "aging_status",
    "rollups",
    "time_summary",
    "is_overdue",
    "first_response_sla_deadline",
    "resolution_sla_deadline",
    "is_sla_first_response_breached",
    "is_sla_resolution_breached",
    "sla_paused_at",
    "last_used_at",
];

/// Invoices: read name → the name writes use.
const INVOICE_RENAMES: [(&str, &str); 3] = [
    ("account", "account_id"),
    ("contact", "contact_id"),
    ("opportunity", "opportunity_id"),
];

/// The id a reference value points to, canonical.
fn reference_id(value: &Value) -> Value {
    match value {
        Value::Object(map) => map.get("id").map(reference_id).unwrap_or(Value::Null),
        Value::String(s) => Value::String(crate::ids::tidy(s)),
        other => other.clone(),
    }
}

fn normalise(entity: Entity, key: &str, value: Value) -> Value {
    if entity == Entity::Accounts && key == "tags" {
        // account tags are written as names: show names
        return match value {
            Value::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|t| match t {
                        Value::Object(m) => m.get("name").cloned().unwrap_or(Value::Null),
                        other => other,
                    })
                    .collect(),
            ),
            other => other,
        };
    }
    if REFERENCES.contains(&key) {
        return match value {
            Value::Array(items) => Value::Array(items.iter().map(reference_id).collect()),
            other => reference_id(&other),
        };
    }
    if money_fields(entity).contains(&key)
        && let Value::String(s) = &value
        && let Some(n) = s.trim().parse::<f64>().ok().and_then(Number::from_f64)
    {
        return Value::Number(n);
    }
    value
}

/// The fields of one BottleCRM object, normalised (references as ids, money as numbers).
pub fn fields(entity: Entity, object: &Map<String, Value>) -> Fields {
    let mut out = Map::new();
    for (key, value) in object {
        let value = normalise(entity, key, value.clone());
        let name = match INVOICE_RENAMES
            .iter()
            .find(|(from, _)| entity == Entity::Invoices && from == key)
        {
            Some((_, to)) => *to,
            None => key.as_str(),
        };
        out.insert(name.to_owned(), value);
    }
    out
}

/// A one-line title from the entity's title fields.
pub fn title(entity: Entity, fields: &Fields) -> String {
    let text = |k: &str| {
        fields
            .get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    match entity {
        Entity::Leads | Entity::Contacts => {
            let name: Vec<&str> = ["first_name", "last_name"]
                .iter()
                .filter_map(|k| text(k))
                .collect();
            if !name.is_empty() {
                let name = name.join(" ");
                return match text("company_name").or_else(|| text("organization")) {
                    Some(company) => format!("{name} ({company})"),
                    None => name,
                };
            }
            ["title", "email", "company_name"]
                .iter()
                .find_map(|k| text(k))
                .unwrap_or("(no name)")
                .to_owned()
        }
        Entity::Invoices => {
            let parts: Vec<&str> = ["invoice_number", "invoice_title"]
                .iter()
                .filter_map(|k| text(k))
                .collect();
            if parts.is_empty() {
                "(untitled invoice)".into()
            } else {
                parts.join(" — ")
            }
        }
        _ => entity
            .spec()
            .title_fields
            .iter()
            .find_map(|k| text(k))
            .unwrap_or("(untitled)")
            .to_owned(),
    }
}

/// The version a confirm token binds to: `updated_at` where BottleCRM keeps one, else a hash of
/// the fields that do not change by themselves.
pub fn version(fields: &Fields) -> String {
    if let Some(updated) = fields.get("updated_at").and_then(Value::as_str) {
        return format!("u:{updated}");
    }
    let stable: Map<String, Value> = fields
        .iter()
        .filter(|(k, _)| !VOLATILE.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let bytes = serde_json::to_vec(&stable).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("h:{hex}")
}

/// One object (list row, detail object, write answer) of `entity` → a record. `app_url` is the
/// BottleCRM web app, for deep links.
pub fn to_record(entity: Entity, object: &Value, app_url: Option<&str>) -> Result<Record> {
    let map = object.as_object().ok_or_else(|| {
        Error::upstream_protocol(format!(
            "BottleCRM answered a {} record that is not an object",
            entity.spec().name
        ))
    })?;
    // ids go back out in the canonical form (lower-case, hyphenated), whatever was answered
    let id = map
        .get("id")
        .and_then(Value::as_str)
        .and_then(crate::ids::canonical)
        .ok_or_else(|| {
            Error::upstream_protocol(format!(
                "BottleCRM answered a {} record without a valid id",
                entity.spec().name
            ))
        })?;
    let id = id.as_str();
    let mut fields = fields(entity, map);
    fields.insert("id".into(), Value::String(id.to_owned()));
    let mut record = Record::new(id, title(entity, &fields), Fields::new());
    record.version = Some(version(&fields));
    record.url = app_url.map(|base| {
        format!(
            "{}/{}/{id}",
            base.trim_end_matches('/'),
            entity.spec().native
        )
    });
    record.fields = fields;
    Ok(record)
}

/// The record inside a detail answer (`{"lead_obj": {...}, "comments": [...], …}`), or the
/// answer itself for entities answered bare (solutions).
pub fn detail_object(entity: Entity, body: &Value) -> Result<&Value> {
    match entity.spec().detail_key {
        None => Ok(body),
        Some(key) => body.get(key).filter(|v| v.is_object()).ok_or_else(|| {
            Error::upstream_protocol(format!(
                "BottleCRM's {} detail answer has no {key}; the API may have changed",
                entity.spec().name
            ))
        }),
    }
}
