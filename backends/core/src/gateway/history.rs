//! crm_history: the caller's own journal entries, newest first, each with its diff and whether
//! crm_undo can take it back. Reads only the journal (no CRM request beyond resolving an
//! `entity` filter in the catalogue).

use super::*;
use crate::journal::{
    Change, HistoryQuery, JournalEntry, Outcome, Timestamp, check_batch_id, diff,
};
use serde_json::{Map, Value};

/// Entities of entries that are not a catalogue entity: a raw call, a draft on no record.
const PSEUDO_ENTITIES: &[&str] = &["crm_call", "email"];

impl Gateway {
    /// crm_history
    pub async fn history(&self, cx: &CallContext, args: HistoryArgs) -> Result<HistoryOutput> {
        self.within_deadline(self.history_now(cx, args)).await
    }

    async fn history_now(&self, cx: &CallContext, args: HistoryArgs) -> Result<HistoryOutput> {
        let (journal, owner) = self.owner(cx)?;
        let entity = match args.entity.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) if PSEUDO_ENTITIES.contains(&name) => Some(name.to_owned()),
            Some(name) => Some(self.resolve(cx, name).await?.name.clone()),
        };
        let batch_id = match args.batch_id.as_deref() {
            Some(b) if !b.trim().is_empty() => Some(check_batch_id(b)?.to_owned()),
            _ => None,
        };
        let since = match args.since.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => Some(Timestamp::parse_since(s, Timestamp::now())?),
            _ => None,
        };
        let query = HistoryQuery {
            entity,
            id: args
                .id
                .map(|i| i.trim().to_owned())
                .filter(|i| !i.is_empty()),
            batch_id,
            since,
            limit: args.limit.map(|l| l.clamp(0, i64::from(u32::MAX)) as usize),
            cursor: args.cursor.filter(|c| !c.trim().is_empty()),
        };
        let page = journal.store.list(&owner, &query).await?;
        Ok(HistoryOutput {
            entries: page.entries.iter().map(|e| self.history_entry(e)).collect(),
            next_cursor: page.next_cursor,
        })
    }

    /// An entry as crm_history shows it: only the fields that changed.
    fn history_entry(&self, entry: &JournalEntry) -> HistoryEntry {
        let mut before = Map::new();
        let mut after = Map::new();
        let mut whole = None;
        for change in entry.diff() {
            if change.field.is_empty() {
                whole = Some((change.before, change.after));
            } else {
                before.insert(change.field.clone(), change.before);
                after.insert(change.field, change.after);
            }
        }
        let (before, after) = whole.unwrap_or((Value::Object(before), Value::Object(after)));
        let why_not = self.why_not(entry);
        HistoryEntry {
            entry_id: entry.entry_id.clone(),
            batch_id: entry.batch_id.clone(),
            at: entry.at.to_string(),
            tool: entry.tool.clone(),
            entity: entry.entity.name.clone(),
            id: entry.id.clone(),
            before,
            after,
            outcome: entry.outcome.as_str().to_owned(),
            undoable: why_not.is_none(),
            why_not,
            undoes: entry.undoes.clone(),
        }
    }

    /// Why crm_undo cannot take `entry` back, as far as the journal and the backend's
    /// declared abilities say (`None`: it can, unless the record changed since).
    pub(super) fn why_not(&self, entry: &JournalEntry) -> Option<String> {
        if let Some(blocker) = entry.journal_blocker() {
            return Some(blocker);
        }
        match &entry.change {
            Change::Create if entry.id.is_none() => Some(
                "the CRM did not report the new record's id; find it with crm_search and delete it with crm_delete"
                    .into(),
            ),
            Change::Create
            | Change::Update { .. }
            | Change::Link { .. }
            | Change::Unlink { .. }
            | Change::Delete { .. } => None,
            Change::Note { note_id: Some(_) } if self.backend.deletes_notes() => None,
            Change::Note { .. } => Some(
                "crmgate cannot delete notes in this CRM; remove it in the CRM if needed".into(),
            ),
            Change::DraftEmail { .. } => Some(
                "crmgate cannot delete email drafts; remove it in the CRM if needed".into(),
            ),
            Change::Action { action, .. } => Some(format!(
                "the {action} action has no inverse crmgate can run; undo it in the CRM"
            )),
            Change::RawCall { method, .. } => Some(format!(
                "a raw {method} call has no inverse crmgate knows"
            )),
        }
    }
}

/// Whether the entry changed nothing in the CRM (a failed write in a batch): an undo of its
/// batch skips it.
pub(super) fn changed_nothing(entry: &JournalEntry) -> bool {
    entry.outcome == Outcome::Failed
}

/// The journal's `diff` for `before` / `after` restricted to `fields`.
pub(super) fn values_of(state: Option<&Value>, fields: &[String]) -> Map<String, Value> {
    let empty = Map::new();
    let map = state.and_then(Value::as_object).unwrap_or(&empty);
    fields
        .iter()
        .map(|f| (f.clone(), map.get(f).cloned().unwrap_or(Value::Null)))
        .collect()
}

/// The fields whose value in `now` differs from `then` (absent and null alike), for CONFLICT.
pub(super) fn changed_since(
    then: Option<&Value>,
    now: &crate::model::Fields,
    fields: &[String],
) -> Vec<String> {
    let now = Value::Object(now.clone());
    let then_values = Value::Object(values_of(then, fields));
    let now_values = Value::Object(values_of(Some(&now), fields));
    diff(Some(&then_values), Some(&now_values))
        .into_iter()
        .map(|d| d.field)
        .collect()
}
