//! Stream notes (`GET {Entity}/{id}/stream`) as timeline items: posts, creations, status
//! changes, updates, links and emails, newest first as EspoCRM returns them.

use crate::names::canonical;
use crate::time::espo_to_iso;
use crmgate_core::model::{RecordRef, TimelineItem};
use serde_json::{Map, Value};

/// The timeline kind of a Note `type` (`Post` → `note`, `Status` → `status_change`, …).
pub fn kind(note_type: &str) -> String {
    match note_type {
        "Post" => "note".into(),
        "Create" => "created".into(),
        "CreateRelated" => "related_created".into(),
        "Update" => "updated".into(),
        "Status" => "status_change".into(),
        "Assign" => "assigned".into(),
        "Relate" => "linked".into(),
        "Unrelate" => "unlinked".into(),
        "EmailSent" => "email_sent".into(),
        "EmailReceived" => "email_received".into(),
        "MentionInPost" => "mention".into(),
        other => snake_case(other),
    }
}

fn snake_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn text<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "(empty)".into(),
        other => other.to_string(),
    }
}

/// A readable line for a note that is not a post.
fn describe(note_type: &str, note: &Map<String, Value>, data: &Map<String, Value>) -> String {
    let parent = || {
        let kind = text(note, "parentType").unwrap_or("record");
        match text(note, "parentName") {
            Some(name) => format!("{kind} {name}"),
            None => kind.to_owned(),
        }
    };
    let related = || {
        let kind = text(note, "relatedType").unwrap_or("record");
        match text(note, "relatedName") {
            Some(name) => format!("{kind} {name}"),
            None => kind.to_owned(),
        }
    };
    match note_type {
        "Create" => {
            let mut line = format!("created {}", parent());
            if let (Some(field), Some(value)) =
                (text(data, "statusField"), text(data, "statusValue"))
            {
                line.push_str(&format!(" ({field}: {value})"));
            }
            if let Some(user) = text(data, "assignedUserName") {
                line.push_str(&format!(", assigned to {user}"));
            }
            line
        }
        "CreateRelated" => format!("created {} for {}", related(), parent()),
        "Status" => match (text(data, "field"), data.get("value")) {
            (Some(field), Some(value)) => format!("{field} changed to {}", scalar(value)),
            _ => "status changed".into(),
        },
        "Update" => {
            let fields: Vec<String> = data
                .get("fields")
                .and_then(Value::as_array)
                .map(|f| {
                    f.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            let attrs = data.get("attributes").and_then(Value::as_object);
            let was = attrs.and_then(|a| a.get("was")).and_then(Value::as_object);
            let became = attrs
                .and_then(|a| a.get("became"))
                .and_then(Value::as_object);
            let changes: Vec<String> = match (was, became) {
                (Some(was), Some(became)) => became
                    .iter()
                    .map(|(k, after)| {
                        let before = was.get(k).map(scalar).unwrap_or_else(|| "(empty)".into());
                        format!("{k}: {before} → {}", scalar(after))
                    })
                    .collect(),
                _ => Vec::new(),
            };
            if !changes.is_empty() {
                format!("updated {}", changes.join("; "))
            } else if !fields.is_empty() {
                format!("updated {}", fields.join(", "))
            } else {
                "updated".into()
            }
        }
        "Assign" => match text(data, "assignedUserName") {
            Some(user) => format!("assigned to {user}"),
            None => "unassigned".into(),
        },
        "Relate" => format!("linked {}", related()),
        "Unrelate" => format!("unlinked {}", related()),
        "EmailSent" | "EmailReceived" => {
            let direction = if note_type == "EmailSent" {
                "sent"
            } else {
                "received"
            };
            match text(data, "emailName") {
                Some(subject) => format!("email {direction}: {subject}"),
                None => format!("email {direction}"),
            }
        }
        other => snake_case(other).replace('_', " "),
    }
}

/// One stream note as a timeline item. `owner` is the record whose stream it is (native type,
/// id): notes about other records that reach this stream (a contact created under an account)
/// point at that record as their `source`.
pub fn timeline_item(owner: (&str, &str), note: &Map<String, Value>) -> Option<TimelineItem> {
    let id = text(note, "id")?.to_owned();
    let note_type = text(note, "type").unwrap_or("Post");
    let empty = Map::new();
    let data = note
        .get("data")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let body = if note_type == "Post" {
        note.get("post")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    } else {
        describe(note_type, note, data)
    };
    let parent = (text(note, "parentType"), text(note, "parentId"));
    let related = (text(note, "relatedType"), text(note, "relatedId"));
    let source = match (note_type, related, parent) {
        ("Post", _, _) => Some(RecordRef {
            entity: "notes".into(),
            id: id.clone(),
        }),
        ("EmailSent" | "EmailReceived", _, _) if text(data, "emailId").is_some() => {
            Some(RecordRef {
                entity: canonical("Email"),
                id: text(data, "emailId").unwrap_or_default().to_owned(),
            })
        }
        (_, (Some(kind), Some(rid)), _) => Some(RecordRef {
            entity: canonical(kind),
            id: rid.to_owned(),
        }),
        (_, _, (Some(kind), Some(pid))) if (kind, pid) != owner => Some(RecordRef {
            entity: canonical(kind),
            id: pid.to_owned(),
        }),
        _ => None,
    };
    Some(TimelineItem {
        id,
        kind: kind(note_type),
        at: text(note, "createdAt").map(espo_to_iso).unwrap_or_default(),
        author: text(note, "createdByName").map(str::to_owned),
        text: body,
        truncated: false,
        source,
    })
}
