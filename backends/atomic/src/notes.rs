//! Notes: a contact's or deal's timeline (its notes, newest first, with their authors), and
//! adding a note (`contact_notes` / `deal_notes`; on contacts a trigger bumps `last_seen`).

use crate::backend::AtomicBackend;
use crate::map::{self, parse_id};
use crate::model::Kind;
use crate::records::{self, offset_of};
use crate::store::{Cond, Order, Row, Select};
use crmgate_core::backend::unsupported;
use crmgate_core::model::{EntityInfo, PageRequest, Record, TimelinePage};
use crmgate_core::{CallContext, Result};
use serde_json::{Value, json};
use std::collections::HashMap;

/// crm_timeline.
pub(crate) async fn timeline(
    b: &AtomicBackend,
    cx: &CallContext,
    entity: &EntityInfo,
    id: &str,
    page: &PageRequest,
) -> Result<TimelinePage> {
    let kind = AtomicBackend::kind(entity)?;
    let (note_kind, column) = kind
        .notes()
        .ok_or_else(|| unsupported(entity, "timelines"))?;
    let caller = b.caller(cx).await?;
    records::require(b, &caller, kind, id).await?;
    let number = parse_id(id).unwrap_or_default();
    let offset = offset_of(page.cursor.as_deref())?;
    let limit = page.limit.max(1);
    let filter = [Cond::id_eq(column, number)];
    let order = [
        Order {
            column: "date".into(),
            desc: true,
        },
        Order {
            column: "id".into(),
            desc: true,
        },
    ];
    let rows = b
        .store
        .select(
            &caller,
            &Select {
                relation: note_kind.table(),
                filter: &filter,
                order: &order,
                limit,
                offset,
                count: true,
            },
        )
        .await?;
    let authors = authors(b, &caller, &rows.rows).await?;
    let next = offset + rows.rows.len();
    let more = rows.total.is_some_and(|t| (next as u64) < t) && !rows.rows.is_empty();
    Ok(TimelinePage {
        items: rows
            .rows
            .iter()
            .filter_map(|r| map::timeline_item(note_kind, r, &authors))
            .collect(),
        next_cursor: more.then(|| next.to_string()),
    })
}

/// Names of the salespeople who wrote these notes.
async fn authors(
    b: &AtomicBackend,
    caller: &crate::store::Caller,
    rows: &[Row],
) -> Result<HashMap<i64, String>> {
    let mut ids: Vec<i64> = rows
        .iter()
        .filter_map(|r| r.get("sales_id").and_then(Value::as_i64))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let filter = [Cond::id_in("id", &ids)];
    let sales = b
        .store
        .select(
            caller,
            &Select {
                relation: Kind::Users.table(),
                filter: &filter,
                order: &[],
                limit: ids.len(),
                offset: 0,
                count: false,
            },
        )
        .await?;
    Ok(sales.rows.iter().filter_map(map::person_name).collect())
}

/// crm_note: a note on a contact or a deal.
pub(crate) async fn note(
    b: &AtomicBackend,
    cx: &CallContext,
    entity: &EntityInfo,
    id: &str,
    text: &str,
) -> Result<Record> {
    let kind = AtomicBackend::kind(entity)?;
    let (note_kind, column) = kind.notes().ok_or_else(|| unsupported(entity, "notes"))?;
    let caller = b.caller(cx).await?;
    records::require(b, &caller, kind, id).await?;
    let number = parse_id(id).unwrap_or_default();
    let mut row = Row::new();
    row.insert(column.into(), json!(number));
    row.insert("text".into(), json!(text));
    let stored = b.store.insert(&caller, note_kind.table(), &row).await?;
    let model = b.model(&caller).await?;
    map::record(
        note_kind,
        &model.get(note_kind).schema,
        stored,
        b.app_url.as_deref(),
    )
}
