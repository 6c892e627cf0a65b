//! Comments → timeline entries and note records.
//!
//! A detail answer carries the record's `comments` (cases also `internal_notes`), ordered by
//! `-id` — a random UUID — so they are sorted here by `commented_on`, newest first. Posting a
//! comment answers the whole comment list again (invoices: just the new comment), so the new
//! one is found by its text, newest first.

use crate::entities::Entity;
use crmgate_core::model::{Fields, Record, TimelineItem};
use crmgate_core::{Error, Result};
use serde_json::{Value, json};

fn author(c: &Value) -> Option<String> {
    let by = c.get("commented_by")?;
    by.pointer("/user_details/email")
        .or_else(|| by.get("email"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn at(c: &Value) -> &str {
    c.get("commented_on").and_then(Value::as_str).unwrap_or("")
}

/// The comments of a detail answer (and a case's internal notes), newest first.
pub fn timeline(detail: &Value) -> Vec<TimelineItem> {
    let mut items: Vec<TimelineItem> =
        [("comments", "comment"), ("internal_notes", "internal_note")]
            .iter()
            .flat_map(|(key, kind)| {
                detail
                    .get(key)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(move |c| {
                        Some(TimelineItem {
                            id: crate::ids::tidy(c.get("id")?.as_str()?),
                            kind: (*kind).to_owned(),
                            at: at(c).to_owned(),
                            author: author(c),
                            text: c
                                .get("comment")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_owned(),
                            truncated: false,
                            source: None,
                        })
                    })
            })
            .collect();
    items.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.id.cmp(&b.id)));
    items
}

/// The comment just posted with `text`: from an invoice's `{"comment": {...}}`, or the newest
/// comment with that text in a detail-shaped answer.
pub fn posted<'a>(answer: &'a Value, text: &str) -> Option<&'a Value> {
    if let Some(c) = answer.get("comment").filter(|c| c.is_object()) {
        return Some(c);
    }
    ["comments", "internal_notes"]
        .iter()
        .filter_map(|k| answer.get(k).and_then(Value::as_array))
        .flatten()
        .filter(|c| c.get("comment").and_then(Value::as_str).map(str::trim) == Some(text.trim()))
        .max_by(|a, b| at(a).cmp(at(b)))
}

/// A comment as the record crm_note returns.
pub fn note_record(entity: Entity, parent_id: &str, comment: &Value) -> Result<Record> {
    let id = comment
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::upstream_protocol("BottleCRM answered the comment without an id"))?;
    let text = comment.get("comment").and_then(Value::as_str).unwrap_or("");
    let mut fields = Fields::new();
    fields.insert("comment".into(), json!(text));
    fields.insert(
        "commented_on".into(),
        comment.get("commented_on").cloned().unwrap_or(Value::Null),
    );
    fields.insert(
        "commented_by".into(),
        author(comment).map(Value::from).unwrap_or(Value::Null),
    );
    fields.insert("entity".into(), json!(entity.spec().name));
    fields.insert("record_id".into(), json!(crate::ids::tidy(parent_id)));
    if let Some(internal) = comment.get("is_internal") {
        fields.insert("is_internal".into(), internal.clone());
    }
    let title: String = text.lines().next().unwrap_or("").chars().take(80).collect();
    Ok(Record::new(crate::ids::tidy(id), title, fields))
}
