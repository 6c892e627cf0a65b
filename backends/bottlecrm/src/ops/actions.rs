//! Comments, timelines and record actions.
//!
//! - A comment is `POST {id}/ {"comment"}` on the detail URL (invoices: `POST {id}/comments/`).
//!   On a lead that does not exist (or is another organisation's) BottleCRM answers an HTML
//!   500, so leads are read first and a missing one is `NOT_FOUND` before anything is written.
//! - The timeline is the comments of the detail answer, newest first, paged here.
//! - convert = `PATCH {id}/ {"status": "converted"}`; send / cancel / publish / unpublish are
//!   `POST {id}/<action>/`.

use super::{Api, about, detail_path, record_id, records};
use crate::client::Call;
use crate::entities::{Comments, Entity, action};
use crate::map::{answer, comment, record};
use crmgate_core::model::{PageRequest, Record, TimelinePage};
use crmgate_core::{Error, Result};
use reqwest::Method;
use serde_json::{Value, json};

/// Add a comment to a record.
pub async fn note(api: Api<'_>, entity: Entity, id: &str, text: &str) -> Result<Record> {
    let canonical = record_id(entity, id)?;
    let path = match entity.spec().comments {
        Comments::None => {
            return Err(Error::not_allowed(
                format!("{} have no comments in BottleCRM", entity.spec().name),
                "crm_entities lists the operations each entity supports",
            ));
        }
        Comments::DetailUrl => detail_path(entity, &canonical),
        Comments::CommentsUrl => format!("{}comments/", detail_path(entity, &canonical)),
    };
    if entity == Entity::Leads {
        // BottleCRM answers a comment on a missing or foreign lead with an HTML 500
        records::detail(api, entity, &canonical).await?;
    }
    let mut body = json!({"comment": text});
    if matches!(entity, Entity::Contacts | Entity::Cases) {
        body["is_internal"] = json!(false);
    }
    let call = Call::new(Method::POST, path, about(entity, Some(id))).json(body);
    let answer = api.client.send(api.cx, call).await?;
    let posted = comment::posted(&answer, text).ok_or_else(|| {
        Error::upstream_protocol(format!(
            "BottleCRM accepted the comment on {} {id} but its answer does not show it",
            entity.spec().name
        ))
    })?;
    comment::note_record(entity, &canonical, posted)
}

/// Comments of a record, newest first; the cursor is the offset of the next entry.
pub async fn timeline(
    api: Api<'_>,
    entity: Entity,
    id: &str,
    page: &PageRequest,
) -> Result<TimelinePage> {
    let canonical = record_id(entity, id)?;
    let detail = records::detail(api, entity, &canonical).await?;
    let items = comment::timeline(&detail);
    let start = match &page.cursor {
        None => 0,
        Some(c) => c.parse::<usize>().map_err(|_| {
            Error::validation(
                "the cursor is not one this timeline produced",
                "start again without a cursor",
            )
        })?,
    };
    let end = (start + page.limit.max(1)).min(items.len());
    let next_cursor = (end < items.len()).then(|| end.to_string());
    Ok(TimelinePage {
        items: items
            .into_iter()
            .skip(start)
            .take(end.saturating_sub(start))
            .collect(),
        next_cursor,
    })
}

/// Run a named action on a record.
pub async fn run(api: Api<'_>, entity: Entity, id: &str, name: &str) -> Result<Value> {
    let canonical = record_id(entity, id)?;
    let detail = detail_path(entity, &canonical);
    match (entity, name) {
        (Entity::Leads, action::CONVERT) => {
            let call = Call::new(Method::PATCH, detail, about(entity, Some(id)))
                .json(json!({"status": "converted"}));
            let body = api.client.send(api.cx, call).await?;
            if !answer::is_conversion(&body) {
                return Err(Error::upstream_protocol(
                    "BottleCRM answered the conversion without the ids of what it created",
                ));
            }
            Ok(answer::conversion(&canonical, &body))
        }
        (Entity::Invoices, action::SEND | action::CANCEL)
        | (Entity::Solutions, action::PUBLISH | action::UNPUBLISH) => {
            let call = Call::new(
                Method::POST,
                format!("{detail}{name}/"),
                about(entity, Some(id)),
            );
            let body = api.client.send(api.cx, call).await?;
            let object = body
                .get("invoice")
                .filter(|v| v.is_object())
                .or_else(|| body.get("id").map(|_| &body));
            let mut result = json!({
                "action": name,
                "id": canonical,
                "message": answer::message(&body),
            });
            if name == action::SEND {
                result["emailed"] = json!("BottleCRM queued the invoice email to the client");
            }
            if let Some(object) = object {
                let rec = record::to_record(entity, object, api.app_url)?;
                result["record"] =
                    json!({"id": rec.id, "title": rec.title, "status": rec.fields.get("status")});
            }
            Ok(result)
        }
        _ => Err(Error::new(
            crmgate_core::ErrorCode::NotFound,
            format!("{} has no action {name:?}", entity.spec().name),
            "crm_entities lists the actions of each entity",
        )),
    }
}
