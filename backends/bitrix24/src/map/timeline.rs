//! Timeline comments (`crm.timeline.comment.list` rows) → timeline items and note records.

use super::dicts::Dictionaries;
use crate::wire;
use crmgate_core::model::{Fields, Record, TimelineItem};
use serde_json::{Value, json};

/// One comment row → a timeline item (author named from the users dictionary).
pub fn comment_item(row: &Value, dicts: &Dictionaries) -> Option<TimelineItem> {
    let id = row.get("ID").and_then(wire::text)?;
    let author = row
        .get("AUTHOR_ID")
        .and_then(wire::text)
        .map(|a| dicts.users.get(&a).cloned().unwrap_or(format!("user {a}")));
    Some(TimelineItem {
        id,
        kind: "comment".into(),
        at: row.get("CREATED").and_then(wire::text).unwrap_or_default(),
        author,
        text: row.get("COMMENT").and_then(wire::text).unwrap_or_default(),
        truncated: false,
        source: None,
    })
}

/// The record crm_note returns for a comment just added.
pub fn note_record(comment_id: &str, owner_type: &str, owner_id: &str, text: &str) -> Record {
    let title: String = text.lines().next().unwrap_or("").chars().take(80).collect();
    let fields: Fields = json!({
        "ID": comment_id,
        "ENTITY_TYPE": owner_type,
        "ENTITY_ID": owner_id,
        "COMMENT": text,
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    Record::new(comment_id, title, fields)
}
