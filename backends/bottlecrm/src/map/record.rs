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

/// Whether a field holds references (objects or lists of objects with an `id`).
pub(crate) fn is_reference(key: &str) -> bool {
    matches!(
        key,
        "account"
            | "contact"
            | "opportunity"
            | "case"
            | "lead"
            | "parent"
            | "assigned_to"
            | "teams"
            | "tags"
            | "contacts"
            | "created_by"
            | "updated_by"
            | "closed_by"
            | "org"
            | "linked_accounts"
            | "opportunities"
            | "cases"
            | "tasks"
            | "invoices"
            | "leads"
            | "template"
    )
}

/// The fields a record's title is made of.
pub(crate) fn title_fields(entity: Entity) -> &'static [&'static str] {
    match entity {
        Entity::Leads | Entity::Contacts => &[
            "first_name",
            "last_name",
            "company_name",
            "organization",
            "title",
            "email",
        ],
        Entity::Invoices => &["invoice_number", "invoice_title"],
        _ => entity.spec().title_fields,
    }
}

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

/// One field's value as records carry it (references as ids, account tags as names, money as
/// numbers).
pub(crate) fn normalise(entity: Entity, key: &str, value: Value) -> Value {
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
    if is_reference(key) {
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

/// The name records use for a field BottleCRM answers as `key` (invoices read `account` but
/// write `account_id`).
pub(crate) fn write_name(entity: Entity, key: &str) -> &str {
    if entity == Entity::Invoices
        && let Some((_, to)) = INVOICE_RENAMES.iter().find(|(from, _)| *from == key)
    {
        return to;
    }
    key
}

/// The fields of one BottleCRM object, normalised (references as ids, money as numbers).
pub fn fields(entity: Entity, object: &Map<String, Value>) -> Fields {
    object
        .iter()
        .map(|(key, value)| {
            (
                write_name(entity, key).to_owned(),
                normalise(entity, key, value.clone()),
            )
        })
        .collect()
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
    let bytes = serde_json::to_vec(&Stable(fields)).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    format!("h:{}", crmgate_core::hex(&digest[..12]))
}

/// The fields that do not change by themselves, serialised as a map without copying them.
struct Stable<'a>(&'a Fields);

impl serde::Serialize for Stable<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_map(
            self.0
                .iter()
                .filter(|(k, _)| !VOLATILE.contains(&k.as_str())),
        )
    }
}

/// A record from normalised `fields` (see [`fields`]): the id canonical, a title, the version,
/// the deep link. `app_url` is the BottleCRM web app. `complete` says the fields are all the
/// object had; of a projection only `updated_at` makes a version (a hash of some fields would
/// not be the record's).
pub fn from_fields(
    entity: Entity,
    mut fields: Fields,
    app_url: Option<&str>,
    complete: bool,
) -> Result<Record> {
    // ids go back out in the canonical form (lower-case, hyphenated), whatever was answered
    let id = fields
        .get("id")
        .and_then(Value::as_str)
        .and_then(crate::ids::canonical)
        .ok_or_else(|| {
            Error::upstream_protocol(format!(
                "BottleCRM answered a {} record without a valid id",
                entity.spec().name
            ))
        })?;
    if fields.get("id").and_then(Value::as_str) != Some(id.as_str()) {
        fields.insert("id".into(), Value::String(id.clone()));
    }
    let title = title(entity, &fields);
    let version = if complete || fields.contains_key("updated_at") {
        Some(version(&fields))
    } else {
        None
    };
    let url = app_url.map(|base| {
        format!(
            "{}/{}/{id}",
            base.trim_end_matches('/'),
            entity.spec().native
        )
    });
    let mut record = Record::new(id, title, fields);
    record.version = version;
    record.url = url;
    Ok(record)
}

/// One object (list row, detail object, write answer) of `entity` → a record. `app_url` is the
/// BottleCRM web app, for deep links. Answers read from bytes go through [`super::read`]
/// directly; this is the same reader over a parsed value.
pub fn to_record(entity: Entity, object: &Value, app_url: Option<&str>) -> Result<Record> {
    if !object.is_object() {
        return Err(Error::upstream_protocol(format!(
            "BottleCRM answered a {} record that is not an object",
            entity.spec().name
        )));
    }
    super::read::row(entity, app_url, object)
        .map_err(|e| super::read::protocol(&format!("{} record", entity.spec().name), e))
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

/// The record of a detail answer, read from its bytes (comments and catalogues skipped).
pub fn detail(entity: Entity, body: &[u8], app_url: Option<&str>) -> Result<Record> {
    let name = entity.spec().name;
    let row = super::read::Row::all(entity, app_url);
    let mut de = serde_json::Deserializer::from_slice(body);
    let found = match entity.spec().detail_key {
        None => Some(serde::de::DeserializeSeed::deserialize(row, &mut de)),
        Some(key) => {
            serde::de::DeserializeSeed::deserialize(super::read::Detail { key, row }, &mut de)
                .transpose()
        }
    };
    let record = found
        .ok_or_else(|| {
            Error::upstream_protocol(format!(
                "BottleCRM's {name} detail answer has no {}; the API may have changed",
                entity.spec().detail_key.unwrap_or("record")
            ))
        })?
        .and_then(|r| de.end().map(|()| r))
        .map_err(|e| super::read::protocol(&format!("{name} detail answer"), e))?;
    Ok(record)
}
