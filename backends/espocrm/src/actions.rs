//! The operations with more than one step: timelines from the stream, link / unlink, notes
//! (with the missing-parent check EspoCRM's 403 hides), and the stage move (a status update,
//! plus the per-user kanban order when a position is asked for).

use crate::backend::EspoBackend;
use crate::client::Call;
use crate::errors::Op;
use crate::list;
use crate::map::{self, segment, stream};
use crmgate_core::model::{
    DeleteKind, EntityInfo, Fields, PageRequest, Record, TimelinePage, TotalKind,
};
use crmgate_core::schema::LinkSchema;
use crmgate_core::{CallContext, Error, ErrorCode, Result};
use reqwest::Method;
use serde_json::{Value, json};

/// A stand-in for the Email entity, for error wording.
pub(crate) fn emails_entity() -> EntityInfo {
    EntityInfo {
        name: "emails".into(),
        native: "Email".into(),
        label: "Email".into(),
        operations: Default::default(),
        filter_ops: Vec::new(),
        total: TotalKind::Exact,
        delete: DeleteKind::Soft,
        actions: Vec::new(),
        notes: Vec::new(),
        denied: Vec::new(),
        key: u64::MAX,
    }
}

/// `GET {Entity}/{id}/stream`, newest first, offset-paged in requests of at most 200.
pub(crate) async fn timeline(
    backend: &EspoBackend,
    cx: &CallContext,
    entity: &EntityInfo,
    id: &str,
    page: &PageRequest,
) -> Result<TimelinePage> {
    let path = format!("/{}/{}/stream", segment(&entity.native), segment(id));
    let mut at = list::offset_of(page.cursor.as_deref())?;
    let limit = page.limit.max(1);
    let mut items = Vec::new();
    let more = loop {
        let want = (limit - items.len()).min(list::MAX_SIZE);
        let call = Call::get(path.clone())
            .query("offset", at.to_string())
            .query("maxSize", want.to_string());
        let response = backend
            .client
            .expect(cx, call, backend.ctx(cx, Op::Stream, entity, Some(id)))
            .await?;
        let notes = map::list_page("the stream", &response.body)?;
        let more = notes.has_more(at);
        let got = notes.list.len().min(want);
        at += got;
        items.extend(
            notes
                .list
                .iter()
                .take(want)
                .filter_map(|n| stream::timeline_item((&entity.native, id), n)),
        );
        if !more || got == 0 || items.len() >= limit {
            break more && got > 0;
        }
    };
    Ok(TimelinePage {
        items,
        next_cursor: more.then(|| at.to_string()),
    })
}

/// `POST` / `DELETE {Entity}/{id}/{link}` with `{"id": target}`. Relating twice or unrelating
/// an absent pair changes nothing, so both are safe to retry.
pub(crate) async fn change_link(
    backend: &EspoBackend,
    cx: &CallContext,
    entity: &EntityInfo,
    id: &str,
    link: &LinkSchema,
    target: &str,
    add: bool,
) -> Result<()> {
    let path = format!(
        "/{}/{}/{}",
        segment(&entity.native),
        segment(id),
        segment(&link.name)
    );
    let method = if add { Method::POST } else { Method::DELETE };
    let call = Call::new(method, path)
        .json(json!({ "id": target }))
        .idempotent(true);
    let mut what = backend.ctx(
        cx,
        if add { Op::Link } else { Op::Unlink },
        entity,
        Some(id),
    );
    what.link = Some(&link.name);
    let response = backend.client.expect(cx, call, what).await?;
    if map::boolean("link", &response.body)? {
        Ok(())
    } else {
        Err(Error::upstream_protocol(format!(
            "EspoCRM answered false: nothing was {}",
            if add { "linked" } else { "unlinked" }
        )))
    }
}

/// `POST Note` of type Post on the record. EspoCRM answers a missing parent with 403
/// `No create access.`, so on a 403 the record is read to tell "not found" from "not allowed".
pub(crate) async fn note(
    backend: &EspoBackend,
    cx: &CallContext,
    entity: &EntityInfo,
    id: &str,
    text: &str,
) -> Result<Record> {
    let call = Call::new(Method::POST, "/Note").json(json!({
        "type": "Post",
        "parentType": entity.native,
        "parentId": id,
        "post": text,
    }));
    let response = backend.client.send(cx, call).await?;
    if !response.is_success() {
        let error =
            crate::errors::map_error(&response, &backend.ctx(cx, Op::Note, entity, Some(id)));
        if response.status.as_u16() == 403 && error.code == ErrorCode::PermissionDenied {
            // not found, not readable, or really no Note create access
            return Err(match backend.read(cx, entity, id).await {
                Ok(None) => Error::not_found(&entity.name, id),
                Ok(Some(_)) => Error::new(
                    ErrorCode::PermissionDenied,
                    format!(
                        "the EspoCRM user may not post to the stream of {} {id:?}",
                        entity.name
                    ),
                    format!(
                        "ask an EspoCRM administrator to give the API user's role stream access to {} (Administration → Roles)",
                        entity.native
                    ),
                ),
                Err(e) => e,
            });
        }
        return Err(error);
    }
    let mut note = map::record_from_body(backend.client.site(), "Note", &response.body)?;
    // a note has no page of its own in EspoCRM's UI: link to the record it is on
    note.url = Some(map::deep_link(backend.client.site(), &entity.native, id));
    Ok(note)
}

/// Move a record to another stage / status, and optionally to the top or bottom of that
/// kanban column (`PUT Kanban/order`, stored per user).
pub(crate) async fn move_stage(
    backend: &EspoBackend,
    cx: &CallContext,
    entity: &EntityInfo,
    id: &str,
    params: &Fields,
) -> Result<Value> {
    let access = backend.meta.access(cx).await?;
    let field = access.status_fields.get(&entity.native).ok_or_else(|| {
        Error::not_allowed(
            format!("{} has no status field to move", entity.name),
            "crm_entities lists the actions of each entity",
        )
    })?;
    let stage = params
        .get("stage")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            Error::validation(
                "move_stage needs stage, a string",
                format!(
                    "pass params: {{\"stage\": …}}, one of the options of {field} in crm_describe"
                ),
            )
        })?;
    let schema = backend.meta.schema(cx, &entity.native).await?;
    if let Some(f) = schema.field(field)
        && !f.options.is_empty()
        && !f.options.iter().any(|o| o.value == stage)
    {
        let allowed: Vec<String> = f
            .options
            .iter()
            .map(|o| format!("{} ({})", o.value, o.label))
            .collect();
        return Err(Error::validation(
            format!("{stage:?} is not a {field} of {}", entity.name),
            format!("allowed: {}", allowed.join(", ")),
        )
        .with_details(json!({"field": field})));
    }
    let position = match params.get("position") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p == "top" || p == "bottom" => Some(p.as_str()),
        Some(_) => {
            return Err(Error::validation(
                "position must be \"top\" or \"bottom\"",
                "leave position out to keep the column order as it is",
            ));
        }
    };
    let mut payload = serde_json::Map::new();
    payload.insert(field.clone(), json!(stage));
    let record = backend
        .patch(cx, entity, id, payload, Some(&schema))
        .await?;
    let mut result = json!({
        "record": {"id": record.id, "title": record.title, "url": record.url, field.as_str(): record.fields.get(field.as_str()).cloned().unwrap_or(Value::Null)},
    });
    if let Some(position) = position {
        result["kanban"] = order_in_column(backend, cx, entity, id, stage, position).await?;
    }
    Ok(result)
}

async fn order_in_column(
    backend: &EspoBackend,
    cx: &CallContext,
    entity: &EntityInfo,
    id: &str,
    stage: &str,
    position: &str,
) -> Result<Value> {
    let call = Call::get(format!("/Kanban/{}", segment(&entity.native)))
        .query("select", "id")
        .query("maxSize", list::MAX_SIZE.to_string());
    let response = backend
        .client
        .expect(cx, call, backend.ctx(cx, Op::Kanban, entity, Some(id)))
        .await?;
    let board = map::parse_json(&response.body)?;
    let group = board
        .get("groups")
        .and_then(Value::as_array)
        .and_then(|groups| {
            groups
                .iter()
                .find(|g| g.get("name").and_then(Value::as_str) == Some(stage))
        });
    let Some(group) = group else {
        // stages on the kanban ignore list (e.g. Closed Lost) have no column
        return Ok(
            json!({"group": stage, "ordered": false, "reason": "this stage has no kanban column"}),
        );
    };
    let mut ids: Vec<String> = group
        .get("list")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|r| r.get("id").and_then(Value::as_str))
                .filter(|rid| *rid != id)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if position == "top" {
        ids.insert(0, id.to_owned());
    } else {
        ids.push(id.to_owned());
    }
    let call = Call::new(Method::PUT, "/Kanban/order")
        .json(json!({"entityType": entity.native, "group": stage, "ids": ids}))
        .idempotent(true);
    backend
        .client
        .expect(cx, call, backend.ctx(cx, Op::Kanban, entity, Some(id)))
        .await?;
    Ok(json!({"group": stage, "ordered": true, "position": position}))
}
