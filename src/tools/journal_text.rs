//! The text of crm_history and crm_undo results (see [`super::render`] for the rules: CRM
//! values only inside the `<crm-data>` block, every id and token the agent needs outside it).

use super::render::{block, clean, minutes, more, value_text};
use crmgate_core::gateway::{BulkOutput, HistoryEntry, HistoryOutput, UndoOutput, UndoStep};
use serde_json::Value;
use std::fmt::Write;

/// `field: before → after; …` of an entry's changed fields.
fn changes(entry: &HistoryEntry) -> String {
    match (&entry.before, &entry.after) {
        (Value::Object(before), Value::Object(after)) => before
            .iter()
            .map(|(field, was)| {
                let is = after.get(field).unwrap_or(&Value::Null);
                format!("{}: {} → {}", clean(field), value_text(was), value_text(is))
            })
            .collect::<Vec<_>>()
            .join("; "),
        (before, after) => format!("{} → {}", value_text(before), value_text(after)),
    }
}

/// crm_history
pub fn history(out: &HistoryOutput) -> String {
    if out.entries.is_empty() {
        return "No changes of yours in the journal match.".into();
    }
    let mut s = format!(
        "{} change(s), newest first (entry_id, then when, tool, record, outcome; undoable or why not):",
        out.entries.len()
    );
    for e in &out.entries {
        let batch = e
            .batch_id
            .as_deref()
            .map(|b| format!(" batch {b}"))
            .unwrap_or_default();
        let undo = match (&e.why_not, e.undoable) {
            (_, true) => "undoable".to_owned(),
            (Some(why), false) => format!("not undoable: {why}"),
            (None, false) => "not undoable".to_owned(),
        };
        let _ = write!(
            s,
            "\n- {}{batch} {} {} {} [{}] {}; {undo}",
            e.entry_id,
            e.at,
            e.tool,
            clean(&e.entity),
            clean(e.id.as_deref().unwrap_or("-")),
            e.outcome
        );
    }
    s.push_str("\nChanged fields (entry_id: field: before → after):");
    block(
        &mut s,
        out.entries
            .iter()
            .map(|e| format!("- {}: {}", e.entry_id, changes(e))),
    );
    more(
        &mut s,
        out.next_cursor.is_some(),
        out.next_cursor.as_deref(),
    );
    s
}

fn step_line(step: &UndoStep) -> String {
    let mut line = format!(
        "- {} → {} {} [{}]",
        step.entry_id,
        step.inverse,
        clean(&step.entity),
        clean(step.id.as_deref().unwrap_or("-"))
    );
    if let Some(data) = step.data.as_ref().and_then(Value::as_object) {
        let fields: Vec<String> = data
            .iter()
            .map(|(k, v)| format!("{}: {}", clean(k), value_text(v)))
            .collect();
        let _ = write!(line, " {}", fields.join("; "));
    }
    if let Some(caveat) = &step.caveat {
        let _ = write!(line, " (note: {caveat})");
    }
    match (step.done, &step.error) {
        (Some(true), _) => line.push_str(" — done"),
        (Some(false), Some(e)) => {
            let _ = write!(line, " — failed: {} {}", e.code, clean(&e.message));
        }
        _ => {}
    }
    line
}

/// crm_undo
pub fn undo(out: &UndoOutput) -> String {
    if let Some(token) = &out.confirm_token {
        let mut s =
            "Nothing undone yet. The undo would run (entry → inverse record data):".to_owned();
        block(&mut s, out.steps.iter().map(step_line));
        let _ = write!(
            s,
            "\nShow this to the user. Only if they agree, call crm_undo again with confirm_token \"{token}\" (valid {} min).",
            minutes(out.expires_in_s.unwrap_or(60))
        );
        return s;
    }
    let done = out.steps.iter().filter(|s| s.done == Some(true)).count();
    let mut s = format!(
        "Undone: {done} of {} step(s); the undo is journaled as {}.",
        out.steps.len(),
        out.undo_id.as_deref().unwrap_or("-")
    );
    block(&mut s, out.steps.iter().map(step_line));
    s
}

/// A bulk crm_update / crm_delete.
pub fn bulk(out: &BulkOutput, tool: &str) -> String {
    let n = out.records.len();
    if let Some(token) = &out.confirm_token {
        let mut s = if tool == "crm_delete" {
            format!("Nothing deleted yet. Would delete these {n} records:")
        } else {
            format!("Preview, nothing written yet. {n} records (field: before → after):")
        };
        block(
            &mut s,
            out.records.iter().map(|r| {
                let mut line = format!("- {} [{}]", clean(&r.title), clean(&r.id));
                for c in r.diff.iter().flatten() {
                    let mark = if c.changes { "" } else { " (unchanged)" };
                    let _ = write!(
                        line,
                        "; {}: {} → {}{mark}",
                        clean(&c.field),
                        value_text(&c.before),
                        value_text(&c.after)
                    );
                }
                line
            }),
        );
        let _ = write!(
            s,
            "\nShow this to the user. Only if they agree, call {tool} again with the same ids and confirm_token \"{token}\" (valid {} min).",
            minutes(out.expires_in_s.unwrap_or(60))
        );
        return s;
    }
    let done = out.records.iter().filter(|r| r.done == Some(true)).count();
    let mut s = format!("Done for {done} of {n} records.");
    if let Some(batch) = &out.batch_id {
        let _ = write!(s, " batch_id {batch}: crm_undo takes the whole batch back.");
    }
    if !out.not_done.is_empty() {
        let _ = write!(
            s,
            " Cancelled: nothing was sent for {} records: {}.",
            out.not_done.len(),
            out.not_done
                .iter()
                .map(|i| clean(i))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let failed: Vec<String> = out
        .records
        .iter()
        .filter_map(|r| {
            r.error.as_ref().map(|e| {
                format!(
                    "- {} [{}] {}: {}",
                    clean(&r.title),
                    clean(&r.id),
                    e.code,
                    clean(&e.message)
                )
            })
        })
        .collect();
    if !failed.is_empty() {
        s.push_str(" Failed:");
        block(&mut s, failed);
    }
    s
}
