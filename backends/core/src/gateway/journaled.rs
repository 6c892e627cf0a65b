//! Journaling a write through the gateway (the flow of [`crate::journal`]): a `pending` entry
//! appended before the write is sent, completed with the CRM's answer after.

use super::Gateway;
use crate::backend::CallContext;
use crate::journal::{Change, EntityRef, JournalEntry, JournalStore, OnFailure, Owner};
use crate::{Error, ErrorCode, Result};
use serde_json::Value;
use std::sync::Arc;

/// Where a gateway journals its writes: the store (opened on first use by the store itself),
/// the CRM's config name (part of every entry's owner) and what a write does when its entry
/// cannot be stored.
#[derive(Clone)]
pub struct Journal {
    /// The store.
    pub store: Arc<dyn JournalStore>,
    /// The config section's name of the CRM.
    pub crm: String,
    /// `[journal] on_failure`.
    pub on_failure: OnFailure,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("store", &self.store.location())
            .field("crm", &self.crm)
            .field("on_failure", &self.on_failure)
            .finish()
    }
}

/// What one write is about, for its entry.
pub(super) struct WriteRecord<'a> {
    /// The tool (`crm_update`).
    pub tool: &'a str,
    /// Its arguments as JSON (a confirm token is removed before storing).
    pub arguments: Value,
    /// The record's entity.
    pub entity: EntityRef,
    /// The record (absent for a create).
    pub id: Option<&'a str>,
    /// The kind of change.
    pub change: Change,
    /// The record's fields before, as already read for the write.
    pub before: Option<Value>,
}

/// A write's entry, appended and waiting for the CRM's answer. `None` inside: not journaled
/// (no journal, or on_failure = allow let the write go ahead unjournaled).
pub(super) struct Pending {
    entry: Option<(Arc<dyn JournalStore>, JournalEntry)>,
}

impl Pending {
    /// Complete the entry from the write's result: `applied` with what `after` says (new id,
    /// the record's fields after, and optionally the change learned from the answer),
    /// `outcome_unknown` for `OUTCOME_UNKNOWN`, `failed` for any other error. A store failure
    /// here is logged: the CRM already answered, the result stands.
    pub async fn finish<T>(
        self,
        result: &Result<T>,
        after: impl FnOnce(&T) -> (Option<String>, Option<Value>, Option<Change>),
    ) {
        let Some((store, entry)) = self.entry else {
            return;
        };
        let done = match result {
            Ok(value) => {
                let (id, fields, change) = after(value);
                let entry = entry.applied(id, fields);
                match change {
                    Some(change) => entry.with_change(change),
                    None => entry,
                }
            }
            Err(e) if e.code == ErrorCode::OutcomeUnknown => entry.unknown(e),
            Err(e) => entry.failed(e),
        };
        if let Err(e) = store.complete(std::slice::from_ref(&done)).await {
            tracing::warn!(
                entry = %done.entry_id,
                "journal: the write went through but its entry could not be completed ({}); it reads as outcome unknown",
                e.message
            );
        }
    }
}

impl Gateway {
    /// The journal, when this gateway keeps one.
    pub fn journal(&self) -> Option<&Journal> {
        self.journal.as_deref()
    }

    /// Journal this gateway's writes in `journal`.
    pub fn with_journal(mut self, journal: Journal) -> Self {
        self.journal = Some(Arc::new(journal));
        self
    }

    /// The owner of `cx`'s entries, or `NOT_ALLOWED` when there is no journal.
    pub(super) fn owner(&self, cx: &CallContext) -> Result<(&Journal, Owner)> {
        let Some(journal) = self.journal() else {
            return Err(Error::not_allowed(
                "the change journal is off on this server, so there is no history to show or undo",
                "ask the operator to enable [journal] (docs/journal.md)",
            ));
        };
        Ok((journal, Owner::new(&journal.crm, cx)))
    }

    /// Whether writes are journaled (then an update reads the record first for `before`).
    pub(super) fn journaling(&self) -> bool {
        self.journal.is_some()
    }

    /// Append the `pending` entries of a write (or of every record of a bulk write, under one
    /// batch id) before anything is sent. A journal that cannot be written refuses the write
    /// (or, with on_failure = allow, lets it go unjournaled with a warning).
    pub(super) async fn journal_begin(
        &self,
        cx: &CallContext,
        writes: Vec<WriteRecord<'_>>,
        batch_id: Option<&str>,
    ) -> Result<Vec<Pending>> {
        let Some(journal) = self.journal.clone() else {
            return Ok(writes.iter().map(|_| Pending { entry: None }).collect());
        };
        let owner = Owner::new(&journal.crm, cx);
        let entries: Vec<JournalEntry> = writes
            .into_iter()
            .map(|w| {
                let mut entry = JournalEntry::pending(
                    &owner,
                    w.tool,
                    &w.arguments,
                    w.entity,
                    w.id,
                    w.change,
                    w.before,
                );
                if let Some(batch) = batch_id {
                    entry = entry.in_batch(batch);
                }
                entry
            })
            .collect();
        match journal.store.append(&entries).await {
            Ok(()) => Ok(entries
                .into_iter()
                .map(|e| Pending {
                    entry: Some((journal.store.clone(), e)),
                })
                .collect()),
            Err(e) => {
                journal.on_failure.handle(e)?;
                Ok(entries.iter().map(|_| Pending { entry: None }).collect())
            }
        }
    }

    /// [`Gateway::journal_begin`] for one write.
    pub(super) async fn journal_one(
        &self,
        cx: &CallContext,
        write: WriteRecord<'_>,
    ) -> Result<Pending> {
        let mut pending = self.journal_begin(cx, vec![write], None).await?;
        Ok(pending.pop().unwrap_or(Pending { entry: None }))
    }
}

/// A record's fields as a JSON object, for `before` / `after`.
pub(super) fn fields_value(fields: &crate::model::Fields) -> Value {
    Value::Object(fields.clone())
}
