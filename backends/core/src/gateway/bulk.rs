//! Bulk crm_update (`ids` + one `data`) and crm_delete (`ids`): previewed and confirmed as one.
//!
//! Without a token: every record is read (one request per `max_get_ids`), and the answer is
//! the per-record diff (or the records a delete would remove) with one confirm token bound to
//! every record's version, the ids and the patch. With it: the records are read again (the
//! token must still match), then written in groups of [`BULK_CONCURRENCY`] — each group's
//! journal entries appended (one batch id) before it is sent —, progress reported after each
//! group, and a cancellation seen before the next group stops there and says what was done.

use super::journaled::{WriteRecord, fields_value};
use super::outcome::{Check, explain};
use super::*;
use crate::backend::BULK_CONCURRENCY;
use crate::confirm::{Intent, TOKEN_LIFETIME};
use crate::journal::{Change, EntityRef, new_batch_id};
use crate::model::{DeleteKind, FieldSelection, Fields, Record};
use crate::validate::{WriteKind, ids_as_text, validate_write};
use futures::StreamExt;
use serde_json::{Value, json};

/// What a bulk change reports to the caller's host, and hears back.
pub trait BulkWatch: Send + Sync {
    /// `done` of `total` records have an outcome.
    fn progress(&self, done: usize, total: usize);
    /// The caller cancelled: stop before the next group.
    fn cancelled(&self) -> bool;
}

/// A host that neither shows progress nor cancels.
pub struct Unwatched;

impl BulkWatch for Unwatched {
    fn progress(&self, _done: usize, _total: usize) {}
    fn cancelled(&self) -> bool {
        false
    }
}

impl Gateway {
    /// Bulk crm_update: `data` on every record of `ids`.
    pub async fn update_many(
        &self,
        cx: &CallContext,
        args: BulkArgs,
        watch: &dyn BulkWatch,
    ) -> Result<BulkOutput> {
        self.within_deadline(self.bulk_now(cx, args, false, watch))
            .await
    }

    /// Bulk crm_delete of every record of `ids`.
    pub async fn delete_many(
        &self,
        cx: &CallContext,
        args: BulkArgs,
        watch: &dyn BulkWatch,
    ) -> Result<BulkOutput> {
        self.within_deadline(self.bulk_now(cx, args, true, watch))
            .await
    }

    async fn bulk_now(
        &self,
        cx: &CallContext,
        args: BulkArgs,
        delete: bool,
        watch: &dyn BulkWatch,
    ) -> Result<BulkOutput> {
        let (tool, op, tier) = if delete {
            ("crm_delete", Operation::Delete, Tier::Destructive)
        } else {
            ("crm_update", Operation::Update, Tier::Write)
        };
        self.require_tier(tier, tool)?;
        let (entity, schema) = self.resolve_with_schema(cx, &args.entity, op).await?;
        let mut data = args.data;
        if !delete {
            let known = knows_all(&schema, data.keys().map(String::as_str));
            let schema = self.schema_knowing(cx, &entity, schema, known).await?;
            ids_as_text(&schema, &mut data);
            validate_write(&schema, &data, WriteKind::Update)?;
        }
        let ids = self.bulk_ids(args.ids)?;
        let current = self.current_many(cx, &entity, &ids).await?;
        let versions: Vec<String> = current
            .iter()
            .map(|r| format!("{}={}", r.id, record_version(r)))
            .collect();
        let version = crate::raw::digest(&versions.join("\n"));
        let key = crate::raw::digest(&format!(
            "{}\n{}",
            ids.join("\n"),
            crate::raw::canonical_json(&Value::Object(data.clone()))
        ));
        let intent = Intent {
            operation: if delete { "delete_many" } else { "update_many" },
            entity: &entity.native,
            id: &key,
            version: &version,
            caller: cx.scope(),
        };
        let token = given(&args.confirm_token);
        let Some(token) = token else {
            let records = current
                .iter()
                .map(|r| BulkRecord {
                    id: r.id.clone(),
                    title: r.title.clone(),
                    diff: (!delete).then(|| diff(r, &data)),
                    done: None,
                    error: None,
                })
                .collect();
            return Ok(BulkOutput {
                applied: false,
                records,
                confirm_token: Some(self.signer.issue(intent)),
                expires_in_s: Some(TOKEN_LIFETIME.as_secs()),
                batch_id: None,
                not_done: Vec::new(),
            });
        };
        self.signer.verify(token, intent)?;
        let batch = new_batch_id();
        let total = current.len();
        let mut records: Vec<BulkRecord> = Vec::with_capacity(total);
        let mut not_done = Vec::new();
        for (n, group) in current.chunks(BULK_CONCURRENCY).enumerate() {
            let start = n * BULK_CONCURRENCY;
            if watch.cancelled() {
                not_done.extend(current[start..].iter().map(|r| r.id.clone()));
                break;
            }
            let writes = group
                .iter()
                .map(|r| WriteRecord {
                    tool,
                    arguments: if delete {
                        json!({"entity": entity.name, "id": r.id})
                    } else {
                        json!({"entity": entity.name, "id": r.id, "data": data})
                    },
                    entity: EntityRef::from(&*entity),
                    id: Some(&r.id),
                    change: if delete {
                        Change::Delete {
                            soft: entity.delete == DeleteKind::Soft,
                        }
                    } else {
                        Change::Update {
                            fields: data.keys().cloned().collect(),
                        }
                    },
                    before: Some(fields_value(&r.fields)),
                })
                .collect();
            let pending = match self.journal_begin(cx, writes, Some(&batch)).await {
                Ok(pending) => pending,
                Err(e) if records.is_empty() => return Err(e),
                Err(_) => {
                    not_done.extend(current[start..].iter().map(|r| r.id.clone()));
                    break;
                }
            };
            let results = self.send_group(cx, &entity, group, &data, delete).await;
            for ((pending, record), result) in pending.into_iter().zip(group).zip(results) {
                pending
                    .finish(&result, |after| {
                        (None, after.as_ref().map(fields_value), None)
                    })
                    .await;
                records.push(BulkRecord {
                    id: record.id.clone(),
                    title: record.title.clone(),
                    diff: None,
                    done: Some(result.is_ok()),
                    error: result.err(),
                });
            }
            watch.progress(records.len(), total);
        }
        Ok(BulkOutput {
            applied: records.iter().any(|r| r.done == Some(true)),
            records,
            confirm_token: None,
            expires_in_s: None,
            batch_id: self.journaling().then_some(batch),
            not_done,
        })
    }

    /// Send one group: updates through [`crate::Backend::update_many`], deletes one by one
    /// (concurrently). Each result is the record after (`None` for a delete).
    async fn send_group(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        group: &[Record],
        data: &Fields,
        delete: bool,
    ) -> Vec<Result<Option<Fields>>> {
        let ids: Vec<String> = group.iter().map(|r| r.id.clone()).collect();
        let explain_for =
            |id: &str, e: Error, what: &str| explain(e, Check::Record { entity, id, what });
        if delete {
            // futures are lazy: only BULK_CONCURRENCY of them run at a time
            let calls: Vec<_> = ids
                .iter()
                .map(|id| self.backend.delete(cx, entity, id))
                .collect();
            let results: Vec<Result<()>> = futures::stream::iter(calls)
                .buffered(BULK_CONCURRENCY)
                .collect()
                .await;
            results
                .into_iter()
                .zip(&ids)
                .map(|(r, id)| r.map(|()| None).map_err(|e| explain_for(id, e, "delete")))
                .collect()
        } else {
            self.backend
                .update_many(cx, entity, &ids, data)
                .await
                .into_iter()
                .zip(&ids)
                .map(|(r, id)| {
                    r.map(|r| Some(r.fields))
                        .map_err(|e| explain_for(id, e, "update"))
                })
                .collect()
        }
    }

    /// The ids of a bulk change: trimmed, none empty, no repeats, at most `limit_cap`.
    fn bulk_ids(&self, ids: Vec<String>) -> Result<Vec<String>> {
        let mut out: Vec<String> = Vec::with_capacity(ids.len());
        for id in ids {
            let id = require_id(&id, "ids item")?;
            if !out.contains(&id) {
                out.push(id);
            }
        }
        let cap = self.settings.limit_cap;
        if out.is_empty() || out.len() > cap {
            return Err(Error::validation(
                format!(
                    "ids has {} records; a bulk change takes 1 to {cap}",
                    out.len()
                ),
                format!("split it into groups of at most {cap} ids"),
            ));
        }
        Ok(out)
    }

    /// Every record of `ids`, in that order, all fields; `NOT_FOUND` naming the missing ones
    /// (then nothing is changed).
    async fn current_many(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        ids: &[String],
    ) -> Result<Vec<Record>> {
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(self.settings.max_get_ids.max(1)) {
            found.extend(
                self.backend
                    .get(cx, entity, chunk, &FieldSelection::All)
                    .await?,
            );
        }
        let mut ordered = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match found.iter().position(|r| &r.id == id) {
                Some(i) => ordered.push(found.swap_remove(i)),
                None => missing.push(id.clone()),
            }
        }
        if !missing.is_empty() {
            return Err(Error::new(
                crate::ErrorCode::NotFound,
                format!(
                    "{} has no records {}; nothing was changed",
                    entity.name,
                    missing.join(", ")
                ),
                "leave those ids out (crm_get tells which exist) and call again",
            )
            .with_details(json!({"missing": missing})));
        }
        Ok(ordered)
    }
}

/// The update preview of one record.
fn diff(record: &Record, data: &Fields) -> Vec<FieldChange> {
    data.iter()
        .map(|(field, after)| {
            let before = record.fields.get(field).cloned().unwrap_or(Value::Null);
            FieldChange {
                field: field.clone(),
                changes: &before != after,
                before,
                after: after.clone(),
            }
        })
        .collect()
}
