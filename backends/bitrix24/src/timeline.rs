//! Notes and the timeline: a note is a timeline comment (`crm.timeline.comment.add`, lowercase
//! `fields`); the timeline reads comments newest first, in one `batch` with a `crm.item.get`
//! of the owner so that a missing record is `NOT_FOUND` rather than an empty list.

use crate::client::{Access, Client, Command};
use crate::links::parse_id;
use crate::map::dicts::Dictionaries;
use crate::map::kind;
use crate::map::timeline::{comment_item, note_record};
use crate::paging::PAGE;
use crate::wire;
use crmgate_core::model::{PageRequest, Record, TimelinePage};
use crmgate_core::{CallContext, Error, Result};
use serde_json::json;

/// Comments of one record, newest first; the cursor is a row offset.
pub async fn read(
    client: &Client,
    cx: &CallContext,
    etid: i64,
    id: &str,
    dicts: &Dictionaries,
    page: &PageRequest,
) -> Result<TimelinePage> {
    let owner = parse_id(id)?;
    let offset: u64 = match &page.cursor {
        Some(c) => c.parse().map_err(|_| {
            Error::validation(
                "cursor refused: it is not a timeline cursor",
                "pass next_cursor exactly as the previous result gave it",
            )
        })?,
        None => 0,
    };
    let start = offset / PAGE as u64 * PAGE as u64;
    let skip = (offset - start) as usize;
    let commands = [
        Command::new(
            "owner",
            "crm.item.get",
            json!({"entityTypeId": etid, "id": owner}),
        ),
        Command::new(
            "comments",
            "crm.timeline.comment.list",
            json!({
                "filter": {"ENTITY_ID": owner, "ENTITY_TYPE": kind::timeline_type(etid)},
                "order": [["CREATED", "DESC"], ["ID", "DESC"]],
                "start": start,
            }),
        ),
    ];
    let mut out = client.batch(cx, &commands, Access::Read).await?;
    out.take("owner", "crm.item.get")?;
    let more_pages = out.nexts.contains_key("comments");
    let rows = wire::into_list(out.take("comments", "crm.timeline.comment.list")?);
    let available = rows.len().saturating_sub(skip);
    let take = page.limit.min(available);
    let items = rows
        .iter()
        .skip(skip)
        .take(take)
        .filter_map(|row| comment_item(row, dicts))
        .collect();
    let more = take < available || more_pages;
    Ok(TimelinePage {
        items,
        next_cursor: more.then(|| (offset + take as u64).to_string()),
    })
}

/// Add a timeline comment to a record.
pub async fn note(
    client: &Client,
    cx: &CallContext,
    etid: i64,
    id: &str,
    text: &str,
) -> Result<Record> {
    let owner = parse_id(id)?;
    let owner_type = kind::timeline_type(etid);
    let env = client
        .call(
            cx,
            "crm.timeline.comment.add",
            json!({"fields": {"ENTITY_ID": owner, "ENTITY_TYPE": owner_type, "COMMENT": text}}),
            Access::Write,
        )
        .await?;
    let comment_id = wire::text(&env.result)
        .or_else(|| env.result.get("id").and_then(wire::text))
        .ok_or_else(|| Error::upstream_protocol("crm.timeline.comment.add returned no id"))?;
    Ok(note_record(
        &comment_id,
        &owner_type,
        &owner.to_string(),
        text,
    ))
}
