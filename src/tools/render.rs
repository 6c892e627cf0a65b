//! Short text renderings of results, for clients that show text (or pass only text to the
//! model). One line per record with its id and projected fields; the full result is in
//! structuredContent, so nothing here is serialized twice in full.

use crmgate_core::Error;
use crmgate_core::gateway::*;
use crmgate_core::model::Record;
use crmgate_core::schema::{EntitySchema, FieldAccess};
use serde_json::Value;
use std::fmt::Write;

const MAX_LINES: usize = 50;

/// An error: code, message, what to do.
pub fn error(e: &Error) -> String {
    let mut s = format!(
        "Error {}: {}\nWhat to do: {}",
        e.code, e.message, e.suggestion
    );
    if let Some(after) = e.retry_after_s {
        let _ = write!(s, "\nRetry after {after} s.");
    }
    if let Some(problems) = e
        .details
        .as_ref()
        .and_then(|d| d.get("problems"))
        .and_then(Value::as_array)
    {
        for p in problems.iter().skip(1) {
            let _ = write!(s, "\nAlso: {}", p["problem"].as_str().unwrap_or_default());
        }
    }
    s
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.replace('\n', " "),
        other => other.to_string(),
    }
}

/// `Title [id] field=value, …`
pub fn record_line(r: &Record) -> String {
    let mut line = format!("{} [{}]", r.title, r.id);
    let mut first = true;
    for (k, v) in &r.fields {
        if v.is_null() || v == "" {
            continue;
        }
        line.push_str(if first { " — " } else { "; " });
        first = false;
        let _ = write!(line, "{k}: {}", value_text(v));
    }
    if !r.truncated.is_empty() {
        let _ = write!(line, " (cut: {})", r.truncated.join(", "));
    }
    line
}

/// A list of records.
pub fn records(noun: &str, records: &[Record], has_more: bool) -> String {
    let mut s = format!(
        "{} {noun}{}",
        records.len(),
        if records.len() == 1 { "" } else { "s" }
    );
    if has_more {
        s.push_str(" (more: pass next_cursor)");
    }
    for r in records.iter().take(MAX_LINES) {
        let _ = write!(s, "\n- {}", record_line(r));
    }
    s
}

/// crm_entities
pub fn entities(out: &EntitiesOutput) -> String {
    let mut s = format!("{} entity types", out.entities.len());
    for e in &out.entities {
        let _ = write!(s, "\n- {} (native {})", e.name, e.native);
        if !e.actions.is_empty() {
            let names: Vec<&str> = e.actions.iter().map(|a| a.name.as_str()).collect();
            let _ = write!(s, "; actions: {}", names.join(", "));
        }
    }
    s
}

/// crm_create: the record, or where to find one created under an unreported id.
pub fn create(out: &CreateOutput) -> String {
    match out {
        CreateOutput::Created { record } => format!("Created {}", record_line(record)),
        CreateOutput::IdUnknown { id_unknown, .. } => {
            let find: Vec<String> = id_unknown
                .find
                .conditions
                .iter()
                .map(|c| format!("{} {} {}", c.field, c.op.as_str(), c.value))
                .collect();
            format!(
                "Created in {}, but the CRM did not say under which id ({}). Do not create it \
                 again; find it with crm_search {} where {}.",
                id_unknown.find.entity,
                id_unknown.reason,
                id_unknown.find.entity,
                if find.is_empty() {
                    "(newest first)".to_owned()
                } else {
                    find.join(" and ")
                }
            )
        }
    }
}

/// crm_describe
pub fn describe(schema: &EntitySchema) -> String {
    let mut s = format!(
        "{} (native {}): {} fields",
        schema.entity,
        schema.native,
        schema.fields.len()
    );
    for f in &schema.fields {
        let ty = serde_json::to_value(f.field_type)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = write!(s, "\n- {} {ty}", f.name);
        if f.required {
            s.push_str(" required");
        }
        match f.access {
            FieldAccess::ReadWrite => {}
            FieldAccess::ReadOnly => s.push_str(" read-only"),
            FieldAccess::CreateOnly => s.push_str(" create-only"),
        }
        if !f.options.is_empty() {
            let values: Vec<&str> = f.options.iter().map(|o| o.value.as_str()).collect();
            let _ = write!(s, " [{}]", values.join("|"));
        }
    }
    if !schema.links.is_empty() {
        let links: Vec<String> = schema
            .links
            .iter()
            .map(|l| format!("{}→{}", l.name, l.target))
            .collect();
        let _ = write!(s, "\nlinks: {}", links.join(", "));
    }
    s
}

/// crm_search
pub fn search(out: &SearchOutput) -> String {
    let mut s = records("record", &out.records, out.has_more);
    if let Some(total) = out.total {
        let _ = write!(s, "\n{total} match in all.");
    }
    if out.applied.limit.capped {
        let _ = write!(
            s,
            "\nLimit {} capped to {}.",
            out.applied.limit.requested, out.applied.limit.applied
        );
    }
    s
}

/// crm_get
pub fn get(out: &GetOutput) -> String {
    match out {
        GetOutput::One { record } => record_line(record),
        GetOutput::Many {
            records: found,
            missing,
        } => {
            let mut s = records("record", found, false);
            if !missing.is_empty() {
                let _ = write!(s, "\nNot found: {}", missing.join(", "));
            }
            s
        }
    }
}

/// crm_timeline
pub fn timeline(out: &TimelineOutput) -> String {
    let mut s = format!(
        "{} entries{}",
        out.items.len(),
        if out.has_more {
            " (more: pass next_cursor)"
        } else {
            ""
        }
    );
    for i in out.items.iter().take(MAX_LINES) {
        let author = i.author.as_deref().unwrap_or("?");
        let _ = write!(
            s,
            "\n- {} {} by {}: {}",
            i.at,
            i.kind,
            author,
            i.text.replace('\n', " ")
        );
    }
    s
}

/// crm_update
pub fn update(out: &UpdateOutput) -> String {
    match out {
        UpdateOutput::Updated { record } => format!("Updated {}", record_line(record)),
        UpdateOutput::Preview { diff, .. } => {
            let mut s = "Preview only, nothing written:".to_owned();
            for c in diff {
                let mark = if c.changes { "" } else { " (unchanged)" };
                let _ = write!(
                    s,
                    "\n- {}: {} → {}{mark}",
                    c.field,
                    value_text(&c.before),
                    value_text(&c.after)
                );
            }
            s
        }
    }
}

/// crm_delete
pub fn delete(out: &DeleteOutput) -> String {
    match out {
        DeleteOutput::Preview {
            preview,
            expires_in_s,
            ..
        } => format!(
            "Nothing deleted yet. Would delete: {}\nShow this to the user; to delete, call crm_delete again with confirm_token (valid {} min).",
            record_line(preview),
            expires_in_s / 60
        ),
        DeleteOutput::Deleted { entity, id, .. } => format!("Deleted {entity} {id}."),
    }
}

/// crm_action
pub fn action(out: &ActionOutput) -> String {
    match out {
        ActionOutput::Done { action, result } => format!("{action} done: {}", value_text(result)),
        ActionOutput::Preview {
            action,
            description,
            preview,
            ..
        } => format!(
            "Nothing done yet. {action} would: {description}\nOn: {}\nConfirm with the user, then call crm_action again with confirm_token.",
            record_line(preview)
        ),
    }
}
