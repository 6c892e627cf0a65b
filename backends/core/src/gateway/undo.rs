//! crm_undo: take back one journal entry or a whole batch.
//!
//! 1. The entries are read for the caller's owner only (another caller's is `NOT_FOUND`).
//! 2. Each is planned: its inverse (update → the changed fields' before-values, create →
//!    delete, link ↔ unlink, delete → restore where the CRM can, else recreate), after
//!    reading the record now: a field the entry wrote that differs from the journal's `after`
//!    is `CONFLICT` naming it; a record deleted since is `NOT_FOUND`. Nothing is touched.
//! 3. Without a token: the preview and a token bound to every record's current version.
//! 4. With it: the entries are claimed (compare-and-set `mark_undone`) before anything is
//!    sent, the inverses are journaled (`undoes`), then sent; an inverse that failed with
//!    nothing changed releases its claim.

use super::history::{changed_nothing, changed_since, values_of};
use super::*;
use crate::ErrorCode;
use crate::confirm::{Intent, TOKEN_LIFETIME};
use crate::journal::{
    Change, EntityRef, HistoryQuery, JournalEntry, MAX_PAGE, Owner, already_undone, check_batch_id,
    check_entry_id, entry_not_found, new_batch_id,
};
use crate::model::{CreateOptions, Created, DeleteKind, Fields, Record};
use crate::validate::{WriteKind, validate_write};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

/// Records planned at once (each plan reads its record).
const PLAN_CONCURRENCY: usize = 4;

/// The inverse of one entry.
#[derive(Debug, Clone)]
enum Inverse {
    /// Write these (the before-values of the fields the update changed).
    Update(Fields),
    /// Delete the record a create made.
    Delete,
    /// Add the association back.
    Link { link: String, target: String },
    /// Remove the association added.
    Unlink { link: String, target: String },
    /// Bring the soft-deleted record back under its old id.
    Restore,
    /// Create a new record from the journaled state.
    Recreate(Fields),
    /// Remove the note a crm_note added.
    DeleteNote(String),
}

impl Inverse {
    fn name(&self) -> &'static str {
        match self {
            Inverse::Update(_) => "update",
            Inverse::Delete => "delete",
            Inverse::Link { .. } => "link",
            Inverse::Unlink { .. } => "unlink",
            Inverse::Restore => "restore",
            Inverse::Recreate(_) => "recreate",
            Inverse::DeleteNote(_) => "delete_note",
        }
    }
}

/// One planned inverse.
struct Step {
    entry: JournalEntry,
    entity: Arc<EntityInfo>,
    id: String,
    inverse: Inverse,
    caveat: Option<String>,
    /// The record now (absent for a deleted one).
    current: Option<Record>,
}

impl Step {
    fn version(&self) -> String {
        match &self.current {
            Some(record) => format!("{}={}", self.id, record_version(record)),
            None => format!("{}=absent", self.id),
        }
    }

    fn shown(&self, done: Option<std::result::Result<Option<String>, Error>>) -> UndoStep {
        let data = match &self.inverse {
            Inverse::Update(data) | Inverse::Recreate(data) => Some(Value::Object(data.clone())),
            _ => None,
        };
        let (id, done, error) = match done {
            None => (Some(self.id.clone()), None, None),
            Some(Ok(new_id)) => (new_id.or(Some(self.id.clone())), Some(true), None),
            Some(Err(e)) => (Some(self.id.clone()), Some(false), Some(e)),
        };
        UndoStep {
            entry_id: self.entry.entry_id.clone(),
            inverse: self.inverse.name().to_owned(),
            entity: self.entity.name.clone(),
            id,
            data,
            caveat: self.caveat.clone(),
            done,
            error,
        }
    }

    /// The inverse's own journal entry, appended before it is sent.
    fn entry(&self, owner: &Owner, batch: Option<&str>) -> JournalEntry {
        let before = self
            .current
            .as_ref()
            .map(|r| Value::Object(r.fields.clone()));
        let change = match &self.inverse {
            Inverse::Update(data) => Change::Update {
                fields: data.keys().cloned().collect(),
            },
            Inverse::Delete => Change::Delete {
                soft: self.entity.delete == DeleteKind::Soft,
            },
            Inverse::Link { link, target } => Change::Link {
                link: link.clone(),
                target_entity: link_target(&self.entry),
                target_id: target.clone(),
            },
            Inverse::Unlink { link, target } => Change::Unlink {
                link: link.clone(),
                target_entity: link_target(&self.entry),
                target_id: target.clone(),
            },
            Inverse::Restore | Inverse::Recreate(_) => Change::Create,
            Inverse::DeleteNote(note_id) => Change::Action {
                action: "delete_note".into(),
                destructive: true,
                result: Some(json!({"note_id": note_id})),
            },
        };
        let id = match self.inverse {
            Inverse::Recreate(_) => None,
            _ => Some(self.id.as_str()),
        };
        let entry = JournalEntry::pending(
            owner,
            "crm_undo",
            &json!({"entry_id": self.entry.entry_id}),
            EntityRef::from(&*self.entity),
            id,
            change,
            before,
        )
        .undoing(&self.entry.entry_id);
        match batch {
            Some(b) => entry.in_batch(b),
            None => entry,
        }
    }
}

fn link_target(entry: &JournalEntry) -> String {
    match &entry.change {
        Change::Link { target_entity, .. } | Change::Unlink { target_entity, .. } => {
            target_entity.clone()
        }
        _ => String::new(),
    }
}

impl Gateway {
    /// crm_undo: without a token, the preview of the inverse and a token; with it, the undo.
    pub async fn undo(&self, cx: &CallContext, args: UndoArgs) -> Result<UndoOutput> {
        self.within_deadline(self.undo_now(cx, args)).await
    }

    async fn undo_now(&self, cx: &CallContext, args: UndoArgs) -> Result<UndoOutput> {
        self.require_tier(Tier::Write, "crm_undo")?;
        let (journal, owner) = self.owner(cx)?;
        let some = |v: &Option<String>| given(v).map(str::to_owned);
        let (key, entries, batch) = match (some(&args.entry_id), some(&args.batch_id)) {
            (Some(entry_id), None) => {
                let entry_id = check_entry_id(&entry_id)?.to_owned();
                let entry = journal.store.get(&owner, &entry_id).await?;
                (entry_id, vec![entry], false)
            }
            (None, Some(batch_id)) => {
                let batch_id = check_batch_id(&batch_id)?.to_owned();
                let entries = self.batch_entries(&owner, &batch_id).await?;
                (batch_id, entries, true)
            }
            _ => {
                return Err(Error::validation(
                    "crm_undo takes entry_id or batch_id (one of them)",
                    "pass the entry_id or batch_id crm_history shows",
                ));
            }
        };
        if let Some(e) = entries.iter().find(|e| e.undone_by.is_some()) {
            return Err(already_undone(
                &e.entry_id,
                e.undone_by.as_deref().unwrap_or(""),
            ));
        }
        let steps: Vec<Step> = futures::stream::iter(entries)
            .map(|entry| Box::pin(self.plan(cx, entry)))
            .buffered(PLAN_CONCURRENCY)
            .try_collect()
            .await?;
        let versions: Vec<String> = steps.iter().map(Step::version).collect();
        let version = crate::raw::digest(&versions.join("\n"));
        let intent = Intent {
            operation: "undo",
            entity: "journal",
            id: &key,
            version: &version,
            caller: cx.scope(),
        };
        let Some(token) = some(&args.confirm_token) else {
            return Ok(UndoOutput {
                undone: false,
                steps: steps.iter().map(|s| s.shown(None)).collect(),
                confirm_token: Some(self.signer.issue(intent)),
                expires_in_s: Some(TOKEN_LIFETIME.as_secs()),
                undo_id: None,
            });
        };
        self.signer.verify(&token, intent)?;
        let undo_batch = batch.then(new_batch_id);
        let inverses: Vec<JournalEntry> = steps
            .iter()
            .map(|s| s.entry(&owner, undo_batch.as_deref()))
            .collect();
        let claim = match &undo_batch {
            Some(b) => b.clone(),
            None => inverses[0].entry_id.clone(),
        };
        let ids: Vec<String> = steps.iter().map(|s| s.entry.entry_id.clone()).collect();
        journal.store.mark_undone(&owner, &ids, &claim).await?;
        if let Err(e) = journal.store.append(&inverses).await {
            self.release(&owner, &ids, &claim).await;
            return Err(e);
        }
        let mut shown = Vec::with_capacity(steps.len());
        let mut release = Vec::new();
        let mut first_error = None;
        for (step, inverse) in steps.iter().zip(inverses) {
            let result = Box::pin(self.apply(cx, step)).await;
            let done = match &result {
                Ok((id, after)) => inverse.applied(id.clone(), after.clone()),
                Err(e) if e.code == ErrorCode::OutcomeUnknown => inverse.unknown(e),
                Err(e) => {
                    release.push(step.entry.entry_id.clone());
                    inverse.failed(e)
                }
            };
            if let Err(e) = journal.store.complete(std::slice::from_ref(&done)).await {
                tracing::warn!(entry = %done.entry_id, "journal: an undo's entry could not be completed: {}", e.message);
            }
            let result = result.map(|(id, _)| id);
            if let Err(e) = &result {
                first_error.get_or_insert_with(|| e.clone());
            }
            shown.push(step.shown(Some(result)));
        }
        if !release.is_empty() {
            self.release(&owner, &release, &claim).await;
        }
        if let (false, Some(e)) = (batch, first_error) {
            return Err(e);
        }
        Ok(UndoOutput {
            undone: shown.iter().any(|s| s.done == Some(true)),
            steps: shown,
            confirm_token: None,
            expires_in_s: None,
            undo_id: Some(claim),
        })
    }

    /// Every entry of `batch_id` that changed something, newest first.
    async fn batch_entries(&self, owner: &Owner, batch_id: &str) -> Result<Vec<JournalEntry>> {
        let Some(journal) = self.journal() else {
            return Ok(Vec::new());
        };
        let mut query = HistoryQuery {
            batch_id: Some(batch_id.to_owned()),
            limit: Some(MAX_PAGE),
            ..Default::default()
        };
        let mut entries = Vec::new();
        loop {
            let page = journal.store.list(owner, &query).await?;
            entries.extend(page.entries.into_iter().filter(|e| !changed_nothing(e)));
            match page.next_cursor {
                Some(cursor) => query.cursor = Some(cursor),
                None => break,
            }
        }
        if entries.is_empty() {
            return Err(entry_not_found(batch_id));
        }
        Ok(entries)
    }

    async fn release(&self, owner: &Owner, ids: &[String], claim: &str) {
        if let Some(journal) = self.journal()
            && let Err(e) = journal.store.clear_undone(owner, ids, claim).await
        {
            tracing::warn!(
                "journal: an undo's claim could not be released: {}",
                e.message
            );
        }
    }

    /// Plan the inverse of one entry against the record as it is now; refuse (nothing
    /// touched) when it cannot be undone or the record changed since.
    async fn plan(&self, cx: &CallContext, entry: JournalEntry) -> Result<Step> {
        if let Some(why) = self.why_not(&entry) {
            return Err(Error::not_allowed(
                format!("journal entry {:?} cannot be undone: {why}", entry.entry_id),
                "crm_history shows which entries can be undone",
            ));
        }
        let entity = self.resolve(cx, &entry.entity.name).await?;
        let id = entry.id.clone().unwrap_or_default();
        let mut step = Step {
            id: id.clone(),
            entity: entity.clone(),
            inverse: Inverse::Delete,
            caveat: None,
            current: None,
            entry,
        };
        match step.entry.change.clone() {
            Change::Update { fields } => {
                let current = self.still_there(cx, &step).await?;
                conflict(
                    &step,
                    changed_since(step.entry.after.as_ref(), &current.fields, &fields),
                )?;
                let data = values_of(step.entry.before.as_ref(), &fields);
                let schema = self.backend.describe(cx, &entity).await?;
                validate_write(&schema, &data, WriteKind::Update)?;
                step.inverse = Inverse::Update(data);
                step.current = Some(current);
            }
            Change::Create => {
                self.require_tier(
                    Tier::Destructive,
                    "undoing a create (it deletes the record)",
                )?;
                let current = self.still_there(cx, &step).await?;
                let fields: Vec<String> = match step.entry.arguments.get("data") {
                    Some(Value::Object(data)) => data.keys().cloned().collect(),
                    _ => Vec::new(),
                };
                conflict(
                    &step,
                    changed_since(step.entry.after.as_ref(), &current.fields, &fields),
                )?;
                if entity.delete == DeleteKind::Hard {
                    step.caveat = Some("the record is deleted for good".into());
                }
                step.current = Some(current);
            }
            Change::Link {
                link, target_id, ..
            }
            | Change::Unlink {
                link, target_id, ..
            } => {
                step.current = Some(self.still_there(cx, &step).await?);
                step.inverse = match step.entry.change {
                    Change::Link { .. } => Inverse::Unlink {
                        link,
                        target: target_id,
                    },
                    _ => Inverse::Link {
                        link,
                        target: target_id,
                    },
                };
            }
            Change::Delete { .. } => {
                match self.current(cx, &entity, &id).await {
                    Ok(_) => {
                        return Err(Error::new(
                            ErrorCode::Conflict,
                            format!(
                                "{} {id} exists again (restored since {}); nothing was undone",
                                entity.name, step.entry.entry_id
                            ),
                            "look at it with crm_get",
                        ));
                    }
                    Err(e) if e.code == ErrorCode::NotFound => {}
                    Err(e) => return Err(e),
                }
                if self.backend.restores(&entity) {
                    step.inverse = Inverse::Restore;
                    if entity.delete == DeleteKind::Hard {
                        step.caveat = Some(
                            "it comes back under its old id; what the delete changed around it (references from other records, notes deleted with it) stays as it is"
                                .into(),
                        );
                    }
                } else {
                    let (data, lost) = self
                        .recreatable(cx, &entity, step.entry.before.as_ref())
                        .await?;
                    let mut caveat = "a new record with a new id; the old id, its links, notes and history do not come back".to_owned();
                    if !lost.is_empty() {
                        caveat.push_str(&format!(
                            "; fields the CRM sets itself: {}",
                            lost.join(", ")
                        ));
                    }
                    step.inverse = Inverse::Recreate(data);
                    step.caveat = Some(caveat);
                }
            }
            Change::Note {
                note_id: Some(note_id),
            } => {
                self.require_tier(Tier::Destructive, "undoing a note (it deletes the note)")?;
                step.current = Some(self.still_there(cx, &step).await?);
                step.inverse = Inverse::DeleteNote(note_id);
            }
            _ => unreachable_kind()?,
        }
        Ok(step)
    }

    /// The record an entry wrote, as it is now; `NOT_FOUND` saying it was deleted since.
    async fn still_there(&self, cx: &CallContext, step: &Step) -> Result<Record> {
        self.current(cx, &step.entity, &step.id).await.map_err(|e| {
            if e.code != ErrorCode::NotFound {
                return e;
            }
            Error::new(
                ErrorCode::NotFound,
                format!(
                    "{} {} no longer exists (deleted since {}); nothing was undone",
                    step.entity.name, step.id, step.entry.entry_id
                ),
                "crm_history shows the delete if it went through crmgate: undo that first",
            )
        })
    }

    /// The fields of a deleted record a create can write again, and those it cannot.
    async fn recreatable(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        before: Option<&Value>,
    ) -> Result<(Fields, Vec<String>)> {
        let schema = self.backend.describe(cx, entity).await?;
        let mut data = Fields::new();
        let mut lost = Vec::new();
        for (name, value) in before.and_then(Value::as_object).into_iter().flatten() {
            if value.is_null() || name == "id" {
                continue;
            }
            match schema.field(name) {
                Some(field) if !field.is_read_only() => {
                    data.insert(name.clone(), value.clone());
                }
                _ => lost.push(name.clone()),
            }
        }
        lost.sort();
        validate_write(&schema, &data, WriteKind::Create)?;
        Ok((data, lost))
    }

    /// Send one inverse: the record's id (for a recreate, the new one) and its fields after.
    async fn apply(
        &self,
        cx: &CallContext,
        step: &Step,
    ) -> Result<(Option<String>, Option<Value>)> {
        let (entity, id) = (&step.entity, step.id.as_str());
        let fields = |r: &Record| Some(Value::Object(r.fields.clone()));
        match &step.inverse {
            Inverse::Update(data) => {
                let record = self.backend.update(cx, entity, id, data).await?;
                Ok((None, fields(&record)))
            }
            Inverse::Delete => {
                self.backend.delete(cx, entity, id).await?;
                Ok((None, None))
            }
            Inverse::Link { link, target } | Inverse::Unlink { link, target } => {
                let schema = self.backend.describe(cx, entity).await?;
                let link_schema = schema.require_link(link)?;
                if matches!(step.inverse, Inverse::Link { .. }) {
                    self.backend
                        .link(cx, entity, id, link_schema, target)
                        .await?;
                } else {
                    self.backend
                        .unlink(cx, entity, id, link_schema, target)
                        .await?;
                }
                Ok((None, None))
            }
            Inverse::DeleteNote(note_id) => {
                self.backend.delete_note(cx, entity, id, note_id).await?;
                Ok((None, None))
            }
            Inverse::Restore => {
                let record = self.backend.restore(cx, entity, id).await?;
                Ok((None, fields(&record)))
            }
            Inverse::Recreate(data) => {
                let options = CreateOptions {
                    skip_duplicate_check: true,
                };
                match self.backend.create(cx, entity, data, options).await? {
                    Created::Record(record) => Ok((Some(record.id.clone()), fields(&record))),
                    Created::IdUnknown(_) => Ok((None, Some(Value::Object(data.clone())))),
                }
            }
        }
    }
}

/// `CONFLICT` naming the fields changed since the entry, with their values now.
fn conflict(step: &Step, changed: Vec<String>) -> Result<()> {
    if changed.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        ErrorCode::Conflict,
        format!(
            "{} {} was changed since {} ({}); nothing was undone",
            step.entity.name,
            step.id,
            step.entry.entry_id,
            changed.join(", ")
        ),
        "look at the record with crm_get and change it with crm_update if still wanted",
    )
    .with_details(json!({"entry_id": step.entry.entry_id, "fields": changed})))
}

fn unreachable_kind() -> Result<()> {
    Err(Error::not_allowed(
        "this kind of change cannot be undone",
        "crm_history shows which entries can be undone",
    ))
}
