//! Write operations: create, update (with preview), delete (confirm-token flow), link, unlink,
//! note, draft email, and crm_query (actions live in `action.rs`, crm_call in `raw.rs`, bulk
//! changes in `bulk.rs`).
//!
//! Every write is validated before the backend sees it; a refused write sends nothing upstream.

use super::journaled::{WriteRecord, fields_value};
use super::outcome::{Check, explain, find_created};
use super::*;
use crate::confirm::{Intent, TOKEN_LIFETIME};
use crate::journal::{Change, EntityRef};
use crate::model::{
    CreateOptions, Created, EmailDraft, FieldSelection, Pending, Record, SqlResult,
};
use crate::schema::FieldType;
use crate::validate::{WriteKind, ids_as_text, validate_write};
use serde_json::Value;
use serde_json::json;

const MAX_NOTE_CHARS: usize = 100_000;

impl Gateway {
    /// crm_create
    pub async fn create(&self, cx: &CallContext, args: CreateArgs) -> Result<CreateOutput> {
        self.within_deadline(self.create_now(cx, args)).await
    }

    async fn create_now(&self, cx: &CallContext, mut args: CreateArgs) -> Result<CreateOutput> {
        self.require_tier(Tier::Write, "crm_create")?;
        let (entity, schema) = self
            .resolve_with_schema(cx, &args.entity, Operation::Create)
            .await?;
        let known = knows_all(&schema, args.data.keys().map(String::as_str));
        let schema = self.schema_knowing(cx, &entity, schema, known).await?;
        ids_as_text(&schema, &mut args.data);
        validate_write(&schema, &args.data, WriteKind::Create)?;
        let options = CreateOptions {
            skip_duplicate_check: args.skip_duplicate_check,
        };
        let pending = self
            .journal_one(
                cx,
                WriteRecord {
                    tool: "crm_create",
                    arguments: json!({"entity": args.entity, "data": args.data,
                        "skip_duplicate_check": args.skip_duplicate_check}),
                    entity: EntityRef::from(&*entity),
                    id: None,
                    change: Change::Create,
                    before: None,
                },
            )
            .await?;
        let created = self
            .backend
            .create(cx, &entity, &args.data, options)
            .await
            .map_err(|e| {
                explain(
                    e,
                    Check::Created {
                        entity: &entity,
                        schema: &schema,
                        data: &args.data,
                    },
                )
            });
        pending
            .finish(&created, |created| match created {
                Created::Record(r) => (Some(r.id.clone()), Some(fields_value(&r.fields)), None),
                Created::IdUnknown(_) => (None, Some(fields_value(&args.data)), None),
            })
            .await;
        Ok(match created? {
            Created::Record(record) => CreateOutput::Created {
                record: self.present(record, &FieldSelection::All),
            },
            Created::IdUnknown(unknown) => CreateOutput::IdUnknown {
                created: true,
                id_unknown: IdUnknownOutput {
                    reason: unknown.reason,
                    find: find_created(&entity, &schema, &args.data, &unknown.find),
                    data: args.data,
                },
            },
        })
    }

    /// crm_update; with `preview` only the diff, nothing written.
    pub async fn update(&self, cx: &CallContext, args: UpdateArgs) -> Result<UpdateOutput> {
        self.within_deadline(self.update_now(cx, args)).await
    }

    async fn update_now(&self, cx: &CallContext, mut args: UpdateArgs) -> Result<UpdateOutput> {
        self.require_tier(Tier::Write, "crm_update")?;
        let (entity, schema) = self
            .resolve_with_schema(cx, &args.entity, Operation::Update)
            .await?;
        let known = knows_all(&schema, args.data.keys().map(String::as_str));
        let schema = self.schema_knowing(cx, &entity, schema, known).await?;
        let id = self.record_id(&entity, &args.id, "id")?;
        ids_as_text(&schema, &mut args.data);
        validate_write(&schema, &args.data, WriteKind::Update)?;
        if args.preview {
            let current = self.current(cx, &entity, &id).await?;
            let diff = args
                .data
                .iter()
                .map(|(field, after)| {
                    let before = current.fields.get(field).cloned().unwrap_or(Value::Null);
                    FieldChange {
                        field: field.clone(),
                        changes: &before != after,
                        before,
                        after: after.clone(),
                    }
                })
                .collect();
            let notes =
                self.backend
                    .preview_notes(&entity, &current, Pending::Update(&args.data))?;
            return Ok(UpdateOutput::Preview {
                diff,
                applied: false,
                notes,
            });
        }
        // the journal's `before`: the one read an update adds (none when the journal is off);
        // a peek, so a CRM that checks versions still sees the one the caller last read
        let before = match self.journaling() {
            true => match self.backend.peek(cx, &entity, &id).await? {
                Some(record) => Some(fields_value(&record.fields)),
                None => return Err(Error::not_found(&entity.name, &id)),
            },
            false => None,
        };
        let pending = self
            .journal_one(
                cx,
                WriteRecord {
                    tool: "crm_update",
                    arguments: json!({"entity": args.entity, "id": id, "data": args.data}),
                    entity: EntityRef::from(&*entity),
                    id: Some(&id),
                    change: Change::Update {
                        fields: args.data.keys().cloned().collect(),
                    },
                    before,
                },
            )
            .await?;
        let record = self
            .backend
            .update(cx, &entity, &id, &args.data)
            .await
            .map_err(|e| {
                explain(
                    e,
                    Check::Record {
                        entity: &entity,
                        id: &id,
                        what: "update",
                    },
                )
            });
        pending
            .finish(&record, |r| (None, Some(fields_value(&r.fields)), None))
            .await;
        let record = record?;
        Ok(UpdateOutput::Updated {
            record: self.present(record, &FieldSelection::All),
        })
    }

    /// crm_delete: without a token, a preview and a token; with it, the delete.
    pub async fn delete(&self, cx: &CallContext, args: DeleteArgs) -> Result<DeleteOutput> {
        self.within_deadline(self.delete_now(cx, args)).await
    }

    async fn delete_now(&self, cx: &CallContext, args: DeleteArgs) -> Result<DeleteOutput> {
        self.require_tier(Tier::Destructive, "crm_delete")?;
        let entity = self
            .resolve_for(cx, &args.entity, Operation::Delete)
            .await?;
        let id = self.record_id(&entity, &args.id, "id")?;
        let current = self.current(cx, &entity, &id).await?;
        let version = record_version(&current);
        let intent = Intent {
            operation: "delete",
            entity: &entity.native,
            id: &id,
            version: &version,
            caller: cx.scope(),
        };
        match given(&args.confirm_token) {
            None => Ok(DeleteOutput::Preview {
                confirm_token: self.signer.issue(intent),
                preview: self.present(current, &FieldSelection::All),
                expires_in_s: TOKEN_LIFETIME.as_secs(),
                delete: entity.delete,
                deleted: false,
            }),
            Some(token) => {
                self.signer.verify(token, intent)?;
                let pending = self
                    .journal_one(
                        cx,
                        WriteRecord {
                            tool: "crm_delete",
                            arguments: json!({"entity": args.entity, "id": id}),
                            entity: EntityRef::from(&*entity),
                            id: Some(&id),
                            change: Change::Delete {
                                soft: entity.delete == crate::model::DeleteKind::Soft,
                            },
                            before: Some(fields_value(&current.fields)),
                        },
                    )
                    .await?;
                let done = self.backend.delete(cx, &entity, &id).await.map_err(|e| {
                    explain(
                        e,
                        Check::Record {
                            entity: &entity,
                            id: &id,
                            what: "delete",
                        },
                    )
                });
                pending.finish(&done, |_| (None, None, None)).await;
                done?;
                Ok(DeleteOutput::Deleted {
                    deleted: true,
                    delete: entity.delete,
                    entity: entity.name.clone(),
                    id,
                })
            }
        }
    }

    /// crm_link
    pub async fn link(&self, cx: &CallContext, args: LinkArgs) -> Result<OkOutput> {
        self.change_link(cx, args, true).await
    }

    /// crm_unlink
    pub async fn unlink(&self, cx: &CallContext, args: LinkArgs) -> Result<OkOutput> {
        self.change_link(cx, args, false).await
    }

    async fn change_link(&self, cx: &CallContext, args: LinkArgs, add: bool) -> Result<OkOutput> {
        self.within_deadline(self.change_link_now(cx, args, add))
            .await
    }

    async fn change_link_now(
        &self,
        cx: &CallContext,
        args: LinkArgs,
        add: bool,
    ) -> Result<OkOutput> {
        self.require_tier(Tier::Write, if add { "crm_link" } else { "crm_unlink" })?;
        let (entity, schema) = self
            .resolve_with_schema(cx, &args.entity, Operation::Link)
            .await?;
        let link = schema.require_link(&args.link)?;
        if !link.writable {
            return Err(link_not_writable(&schema, link, &args.target_id));
        }
        let id = self.record_id(&entity, &args.id, "id")?;
        let target = require_id(&args.target_id, "target_id")?;
        let change_link = (link.name.clone(), link.target.clone(), target.clone());
        let pending = self
            .journal_one(
                cx,
                WriteRecord {
                    tool: if add { "crm_link" } else { "crm_unlink" },
                    arguments: json!({"entity": args.entity, "id": id, "link": args.link,
                        "target_id": target}),
                    entity: EntityRef::from(&*entity),
                    id: Some(&id),
                    change: link_change(add, change_link),
                    before: None,
                },
            )
            .await?;
        let done = if add {
            self.backend.link(cx, &entity, &id, link, &target).await
        } else {
            self.backend.unlink(cx, &entity, &id, link, &target).await
        };
        let done = done.map_err(|e| {
            explain(
                e,
                Check::Link {
                    entity: &entity,
                    id: &id,
                    link: &link.name,
                },
            )
        });
        pending.finish(&done, |_| (None, None, None)).await;
        done?;
        Ok(OkOutput { ok: true })
    }

    /// crm_note
    pub async fn note(&self, cx: &CallContext, args: NoteArgs) -> Result<NoteOutput> {
        self.within_deadline(self.note_now(cx, args)).await
    }

    async fn note_now(&self, cx: &CallContext, args: NoteArgs) -> Result<NoteOutput> {
        self.require_tier(Tier::Write, "crm_note")?;
        let entity = self.resolve_for(cx, &args.entity, Operation::Note).await?;
        let id = self.record_id(&entity, &args.id, "id")?;
        let text = args.text.trim();
        if text.is_empty() {
            return Err(Error::validation(
                "the note text is empty",
                "pass the note as text",
            ));
        }
        if text.chars().count() > MAX_NOTE_CHARS {
            return Err(Error::validation(
                format!("the note is longer than {MAX_NOTE_CHARS} characters"),
                "summarise it, or split it into several notes",
            ));
        }
        let pending = self
            .journal_one(
                cx,
                WriteRecord {
                    tool: "crm_note",
                    arguments: json!({"entity": args.entity, "id": id, "text": text}),
                    entity: EntityRef::from(&*entity),
                    id: Some(&id),
                    change: Change::Note { note_id: None },
                    before: None,
                },
            )
            .await?;
        let note = self
            .backend
            .note(cx, &entity, &id, text)
            .await
            .map_err(|e| {
                explain(
                    e,
                    Check::Timeline {
                        entity: &entity,
                        id: &id,
                    },
                )
            });
        pending
            .finish(&note, |n| {
                let change = Change::Note {
                    note_id: Some(n.id.clone()),
                };
                (None, Some(fields_value(&n.fields)), Some(change))
            })
            .await;
        let note = note?;
        Ok(NoteOutput {
            note: self.present(note, &FieldSelection::All),
        })
    }

    /// crm_draft_email: files a draft; never sends.
    pub async fn draft_email(&self, cx: &CallContext, args: DraftEmailArgs) -> Result<DraftOutput> {
        self.within_deadline(self.draft_email_now(cx, args)).await
    }

    async fn draft_email_now(&self, cx: &CallContext, args: DraftEmailArgs) -> Result<DraftOutput> {
        self.require_tier(Tier::Write, "crm_draft_email")?;
        let to: Vec<String> = args
            .to
            .into_vec()
            .into_iter()
            .map(|s| s.trim().to_owned())
            .collect();
        if to.is_empty() {
            return Err(Error::validation(
                "to is empty",
                "pass at least one recipient address",
            ));
        }
        if let Some(bad) = to
            .iter()
            .find(|a| !a.contains('@') || a.contains(char::is_whitespace))
        {
            return Err(Error::validation(
                format!("{bad:?} is not an email address"),
                "give addresses like name@example.com",
            ));
        }
        if args.subject.trim().is_empty() && args.template.is_none() {
            return Err(Error::validation(
                "subject is empty",
                "give the draft a subject, or name a template",
            ));
        }
        let parent = match (args.entity, args.id) {
            (Some(entity), Some(id)) => {
                let entity = self.resolve_for(cx, &entity, Operation::DraftEmail).await?;
                let id = self.record_id(&entity, &id, "id")?;
                Some((entity, id))
            }
            (None, None) => None,
            _ => {
                return Err(Error::validation(
                    "entity and id go together",
                    "pass both entity and id to file the draft on a record, or neither",
                ));
            }
        };
        let draft = EmailDraft {
            to,
            subject: args.subject,
            body: args.body,
            parent,
            template: args.template.filter(|t| !t.trim().is_empty()),
        };
        let (entity_ref, parent_id) = match &draft.parent {
            Some((entity, id)) => (EntityRef::from(&**entity), Some(id.as_str())),
            None => (
                EntityRef {
                    name: "email".into(),
                    native: "email".into(),
                },
                None,
            ),
        };
        let pending = self
            .journal_one(
                cx,
                WriteRecord {
                    tool: "crm_draft_email",
                    arguments: json!({"to": draft.to, "subject": draft.subject,
                        "body": draft.body, "template": draft.template}),
                    entity: entity_ref,
                    id: parent_id,
                    change: Change::DraftEmail { draft_id: None },
                    before: None,
                },
            )
            .await?;
        let record = self.backend.draft_email(cx, &draft).await;
        pending
            .finish(&record, |d| {
                let change = Change::DraftEmail {
                    draft_id: Some(d.id.clone()),
                };
                (None, Some(fields_value(&d.fields)), Some(change))
            })
            .await;
        let record = record?;
        Ok(DraftOutput {
            draft: self.present(record, &FieldSelection::All),
        })
    }

    /// crm_query: one read-only SQL statement under the caller's row-level security.
    pub async fn sql(&self, cx: &CallContext, args: QueryArgs) -> Result<SqlResult> {
        self.within_deadline(self.sql_now(cx, args)).await
    }

    async fn sql_now(&self, cx: &CallContext, args: QueryArgs) -> Result<SqlResult> {
        if args.sql.trim().is_empty() {
            return Err(Error::validation(
                "sql is empty",
                "pass one SELECT statement",
            ));
        }
        let limit = self.limit(args.limit)?;
        self.backend.sql(cx, &args.sql, limit.applied).await
    }

    /// The record as it is now (all fields), or NOT_FOUND.
    pub(super) async fn current(
        &self,
        cx: &CallContext,
        entity: &crate::model::EntityInfo,
        id: &str,
    ) -> Result<Record> {
        self.backend
            .get(cx, entity, &[id.to_owned()], &FieldSelection::All)
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| Error::not_found(&entity.name, id))
    }
}

/// `NOT_ALLOWED` for crm_link / crm_unlink on a link they cannot change. A to-one link is held
/// by a reference field on the record (`accountId`, `company_id`): the refusal names it and
/// the crm_update that sets it.
fn link_not_writable(
    schema: &crate::schema::EntitySchema,
    link: &crate::schema::LinkSchema,
    target_id: &str,
) -> Error {
    let what = format!(
        "{}.{} cannot be changed with crm_link / crm_unlink",
        schema.entity, link.name
    );
    let candidates = [
        format!("{}Id", link.name),
        format!("{}_id", link.name),
        link.name.clone(),
    ];
    let field = candidates.iter().find_map(|name| {
        schema
            .field(name)
            .filter(|f| f.field_type == FieldType::Reference)
    });
    match field {
        Some(field) if !field.is_read_only() => {
            // the caller's id, repeated only when it is short and plain
            let target = target_id.trim();
            let plain = !target.is_empty()
                && target.len() <= 64
                && target
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
            let value = if plain { target } else { "…" };
            Error::not_allowed(
                format!(
                    "{what}: it is a to-one link, held by the field {} of the record",
                    field.name
                ),
                format!(
                    "set it with crm_update: data {{\"{}\": \"{value}\"}} (null to clear it)",
                    field.name
                ),
            )
            .with_details(serde_json::json!({"field": field.name}))
        }
        Some(field) => Error::not_allowed(
            format!(
                "{what}: it is held by {}, which the CRM sets itself (read-only)",
                field.name
            ),
            "it cannot be changed through crmgate",
        )
        .with_details(serde_json::json!({"field": field.name})),
        None => Error::not_allowed(
            what,
            "update the reference field with crm_update instead, if the CRM allows it",
        ),
    }
}

fn link_change(add: bool, (link, target_entity, target_id): (String, String, String)) -> Change {
    if add {
        Change::Link {
            link,
            target_entity,
            target_id,
        }
    } else {
        Change::Unlink {
            link,
            target_entity,
            target_id,
        }
    }
}
