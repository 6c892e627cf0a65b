//! Create, update and delete.
//!
//! Checks BottleCRM would get wrong run first, before anything is sent: reference ids must be
//! UUIDs (a bad tag id on lead create is answered 400 *after* the lead was saved), a task takes
//! one parent, and `status: converted` on a lead is refused (it runs the irreversible
//! conversion; that is the convert action, behind a confirm token).
//!
//! Leads and tasks are created without BottleCRM answering the new id. The record is found
//! again: a lead by its email (unique per organisation), otherwise by listing the records that
//! look like it before and after the create and taking the one that appeared. When that is not
//! exactly one — or reading back fails after the create went through — the outcome is
//! [`model::Created::IdUnknown`] with the search that finds it, never a retryable error (a
//! retry would create the record twice).

use super::search;
use super::{Api, about, detail_path, record_id, records};
use crate::client::Call;
use crate::entities::{Created, Entity};
use crate::filters::{Plan, fields as filter_fields, section_count};
use crate::ids;
use crate::map::{answer, error, record};
use crmgate_core::filter::{Condition, FilterOp};
use crmgate_core::model::{self, FieldSelection, Fields, IdUnknown, PageRequest, Record};
use crmgate_core::schema::{EntitySchema, FieldType};
use crmgate_core::{Error, ErrorCode, Result};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashSet;

/// Most look-alike records listed to find a record created without an id.
const SNAPSHOT_CAP: usize = 100;

/// Check and canonicalise a payload before it is sent.
pub fn preflight(entity: Entity, schema: &EntitySchema, data: &Fields) -> Result<Fields> {
    let mut out = data.clone();
    for (name, value) in out.iter_mut() {
        let Some(field) = schema.field(name) else {
            continue;
        };
        let bad = |v: &str| {
            Error::validation(
                format!("{}.{name}: {v:?} is not a BottleCRM id", schema.entity),
                "BottleCRM ids are UUIDs like 5f0c2a8e-8a3d-4e0b-9d7e-1b2c3d4e5f60",
            )
        };
        match (field.field_type, value) {
            (FieldType::Reference, Value::String(s)) => {
                *s = ids::canonical(s).ok_or_else(|| bad(s))?
            }
            (FieldType::References, Value::Array(items)) => {
                for item in items {
                    if let Value::String(s) = item {
                        *s = ids::canonical(s).ok_or_else(|| bad(s))?;
                    }
                }
            }
            _ => {}
        }
    }
    if entity == Entity::Leads && out.get("status").and_then(Value::as_str) == Some("converted") {
        return Err(Error::validation(
            "leads.status converted runs BottleCRM's irreversible conversion",
            "write the lead without status converted, then use crm_action convert (it asks for \
             confirmation)",
        ));
    }
    if entity == Entity::Tasks {
        let parents: Vec<&str> = ["account", "opportunity", "case", "lead"]
            .into_iter()
            .filter(|p| out.get(*p).is_some_and(|v| !v.is_null()))
            .collect();
        if parents.len() > 1 {
            return Err(Error::validation(
                format!("a task takes one parent, got {}", parents.join(" and ")),
                "keep one of account, opportunity, case, lead",
            ));
        }
    }
    Ok(out)
}

/// How to find a record created without an id.
struct Finder {
    /// List parameters narrowing the candidates.
    params: Vec<(String, String)>,
    /// The sent scalar fields a candidate must show.
    expect: Vec<(String, Value)>,
    /// The matches are unique by themselves (lead email), so no before/after comparison.
    unique: bool,
}

impl Finder {
    fn new(entity: Entity, data: &Fields) -> Finder {
        let text = |k: &str| {
            data.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
        };
        let mut params = Vec::new();
        let mut unique = false;
        let keys: &[&str] = match entity {
            Entity::Leads => {
                if let Some(email) = text("email") {
                    params.push(("email".into(), email.to_owned()));
                    unique = true;
                } else if let Some(q) = text("first_name")
                    .or_else(|| text("last_name"))
                    .or_else(|| text("company_name"))
                {
                    params.push(("search".into(), q.to_owned()));
                }
                &[
                    "email",
                    "first_name",
                    "last_name",
                    "company_name",
                    "title",
                    "status",
                    "source",
                ]
            }
            _ => {
                if let Some(title) = text("title") {
                    params.push(("title".into(), title.to_owned()));
                }
                for k in ["priority"] {
                    if let Some(v) = text(k) {
                        params.push((k.into(), v.to_owned()));
                    }
                }
                if let Some(v) = text("status") {
                    params.push(("status".into(), v.to_owned()));
                }
                params.push(("slim".into(), "true".into()));
                &["title", "status", "priority", "due_date"]
            }
        };
        let expect = keys
            .iter()
            .filter_map(|k| {
                data.get(*k)
                    .filter(|v| v.is_string())
                    .map(|v| ((*k).to_owned(), v.clone()))
            })
            .collect();
        Finder {
            params,
            expect,
            unique,
        }
    }

    fn matches(&self, row: &Value) -> bool {
        self.expect.iter().all(|(k, v)| match (row.get(k), v) {
            (Some(Value::String(a)), Value::String(b)) => a.trim().eq_ignore_ascii_case(b.trim()),
            _ => false,
        })
    }

    /// Ids of matching rows, and whether the listing was complete.
    async fn candidates(&self, api: Api<'_>, entity: Entity) -> Result<(Vec<String>, bool)> {
        let plan = Plan {
            params: self.params.clone(),
            sections: (0..section_count(entity)).collect(),
        };
        let page = search::page(
            api,
            entity,
            &plan,
            &PageRequest {
                limit: SNAPSHOT_CAP,
                cursor: None,
            },
            &FieldSelection::All,
        )
        .await?;
        let complete = page.next_cursor.is_none();
        let ids = page
            .records
            .into_iter()
            .filter(|r| self.matches(&Value::Object(r.fields.clone())))
            .map(|r| r.id)
            .collect();
        Ok((ids, complete))
    }
}

/// A record created without a known id: why, and the `where` items of a crm_search that finds
/// it (equality or containment on the sent values of the fields BottleCRM filters).
fn id_unknown(entity: Entity, data: &Fields, why: String) -> model::Created {
    let find = filter_fields(entity)
        .iter()
        .filter_map(|f| {
            let value = data
                .get(f.field)
                .filter(|v| v.as_str().is_some_and(|s| !s.is_empty()))?;
            let op = [FilterOp::Eq, FilterOp::Contains]
                .into_iter()
                .find(|op| f.kind.ops().contains(op))?;
            Some(Condition {
                field: f.field.to_owned(),
                op,
                value: value.clone(),
            })
        })
        .collect();
    model::Created::IdUnknown(IdUnknown { reason: why, find })
}

/// A record BottleCRM created under `id` but that could not be read back: what was sent.
fn unread(entity: Entity, id: &str, data: &Fields) -> Record {
    let mut fields = data.clone();
    fields.insert("id".into(), json!(id));
    Record::new(id, record::title(entity, data), fields)
}

async fn post(api: Api<'_>, entity: Entity, payload: &Fields) -> Result<Value> {
    let call = Call::new(Method::POST, entity.spec().path, about(entity, None))
        .json(Value::Object(payload.clone()));
    api.client.send(api.cx, call).await
}

/// Create a record and return it as BottleCRM stored it. Once the create went through,
/// nothing fails retryably: a record that cannot be read back is returned as sent (with its
/// id), or as [`model::Created::IdUnknown`].
pub async fn create(
    api: Api<'_>,
    entity: Entity,
    schema: &EntitySchema,
    data: &Fields,
) -> Result<model::Created> {
    let payload = preflight(entity, schema, data)?;
    super::refs::check(api, entity, &payload).await?;
    let result = async {
        match entity.spec().created {
            Created::NoId => create_without_id(api, entity, &payload).await,
            Created::Id => {
                let body = post(api, entity, &payload).await?;
                let id = match answer::created_id(&body) {
                    Ok(id) => id,
                    Err(e) => {
                        return Ok(id_unknown(
                            entity,
                            &payload,
                            format!(
                                "BottleCRM created the record but its answer had no usable id ({})",
                                e.message
                            ),
                        ));
                    }
                };
                let record = match records::one(api, entity, &id).await {
                    Ok(Some(record)) => record,
                    _ => unread(entity, &id, &payload),
                };
                Ok(model::Created::Record(record))
            }
            Created::BareObject => {
                let body = post(api, entity, &payload).await?;
                Ok(match record::to_record(entity, &body, api.app_url) {
                    Ok(record) => model::Created::Record(record),
                    Err(e) => id_unknown(
                        entity,
                        &payload,
                        format!(
                            "BottleCRM created the record but its answer could not be read ({})",
                            e.message
                        ),
                    ),
                })
            }
            Created::Wrapped(key) => {
                let body = post(api, entity, &payload).await?;
                let read = body
                    .get(key)
                    .ok_or_else(|| {
                        Error::upstream_protocol(format!(
                            "BottleCRM answered the create without {key}"
                        ))
                    })
                    .and_then(|object| record::to_record(entity, object, api.app_url));
                Ok(match read {
                    Ok(record) => model::Created::Record(record),
                    Err(e) => id_unknown(
                        entity,
                        &payload,
                        format!(
                            "BottleCRM created the record but its answer could not be read ({})",
                            e.message
                        ),
                    ),
                })
            }
        }
    }
    .await;
    match result {
        Err(e) if e.code == ErrorCode::Duplicate => {
            Err(with_duplicates(api, entity, &payload, e).await)
        }
        other => other,
    }
}

async fn create_without_id(
    api: Api<'_>,
    entity: Entity,
    payload: &Fields,
) -> Result<model::Created> {
    let finder = Finder::new(entity, payload);
    let before: Option<HashSet<String>> = if finder.unique {
        Some(HashSet::new())
    } else {
        match finder.candidates(api, entity).await? {
            (ids, true) => Some(ids.into_iter().collect()),
            (_, false) => None,
        }
    };
    post(api, entity, payload).await?;
    let name = entity.spec().name;
    let Some(before) = before else {
        return Ok(id_unknown(
            entity,
            payload,
            format!(
                "BottleCRM created the record but does not answer the id of new {name}, and more \
                 than {SNAPSHOT_CAP} look-alike records exist, so crmgate cannot tell which is new"
            ),
        ));
    };
    // the create went through: from here on nothing may fail retryably
    let after = match finder.candidates(api, entity).await {
        Ok((after, _)) => after,
        Err(e) => {
            return Ok(id_unknown(
                entity,
                payload,
                format!(
                    "BottleCRM created the record but does not answer the id of new {name}, and \
                     listing the look-alikes afterwards failed ({})",
                    e.message
                ),
            ));
        }
    };
    let new: Vec<String> = after
        .into_iter()
        .filter(|id| !before.contains(id))
        .collect();
    match new.as_slice() {
        [id] => Ok(model::Created::Record(
            match records::one(api, entity, id).await {
                Ok(Some(record)) => record,
                _ => unread(entity, id, payload),
            },
        )),
        others => Ok(id_unknown(
            entity,
            payload,
            format!(
                "BottleCRM created the record but does not answer the id of new {name}; {} \
                 matching records appeared meanwhile, so crmgate cannot tell which is this one",
                others.len()
            ),
        )),
    }
}

/// Fill `details.matches` of a DUPLICATE with the existing records it is about.
async fn with_duplicates(api: Api<'_>, entity: Entity, payload: &Fields, e: Error) -> Error {
    let Some(field) = error::duplicate_field(&e) else {
        return e;
    };
    let Some(value) = payload
        .get(&field)
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return e;
    };
    let param = match (entity, field.as_str()) {
        (_, "email") | (_, "name") => field.clone(),
        _ => return e,
    };
    let plan = Plan {
        params: vec![(param, value.clone())],
        sections: (0..section_count(entity)).collect(),
    };
    let page = search::page(
        api,
        entity,
        &plan,
        &PageRequest {
            limit: 10,
            cursor: None,
        },
        &FieldSelection::All,
    )
    .await;
    let Ok(page) = page else {
        return e;
    };
    let matches: Vec<Value> = page
        .records
        .iter()
        .filter(|r| {
            r.fields
                .get(&field)
                .and_then(Value::as_str)
                .is_some_and(|v| v.eq_ignore_ascii_case(&value))
        })
        .map(|r| json!({"id": r.id, "title": r.title}))
        .collect();
    error::with_matches(e, matches)
}

/// Apply `data` to a record: PATCH (invoices: PUT, which BottleCRM applies partially).
pub async fn update(
    api: Api<'_>,
    entity: Entity,
    schema: &EntitySchema,
    id: &str,
    data: &Fields,
) -> Result<Record> {
    let canonical = record_id(entity, id)?;
    let payload = preflight(entity, schema, data)?;
    super::refs::check(api, entity, &payload).await?;
    let method = if entity.spec().update_by_put {
        Method::PUT
    } else {
        Method::PATCH
    };
    let call = Call::new(
        method,
        detail_path(entity, &canonical),
        about(entity, Some(id)),
    )
    .json(Value::Object(payload));
    let body = api.client.send(api.cx, call).await?;
    let rec = match entity {
        Entity::Solutions => record::to_record(entity, &body, api.app_url)?,
        Entity::Invoices if body.get("invoice").is_some() => {
            record::to_record(entity, &body["invoice"], api.app_url)?
        }
        _ => records::one(api, entity, &canonical)
            .await?
            .ok_or_else(|| Error::not_found(entity.spec().name, id))?,
    };
    Ok(rec)
}

/// Delete a record (hard, in BottleCRM).
pub async fn delete(api: Api<'_>, entity: Entity, id: &str) -> Result<()> {
    let canonical = record_id(entity, id)?;
    let call = Call::new(
        Method::DELETE,
        detail_path(entity, &canonical),
        about(entity, Some(id)),
    );
    api.client.send(api.cx, call).await.map(|_| ())
}
