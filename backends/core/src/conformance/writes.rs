//! Write checks: validation before any write, the create → update → link → note → delete
//! lifecycle with the confirm-token flow, and not-found paths.

use super::*;
use crate::model::Operation;
use crate::schema::FieldType;
use serde_json::json;

pub(super) async fn validation_before_write(
    gateway: &Gateway,
    cx: &CallContext,
    fixture: &Fixture,
) -> Check {
    let (entity, schema) = entity_and_schema(gateway, cx, &fixture.write_entity).await?;
    let before = count(gateway, cx, &entity.name).await?;
    let mut data = fixture.create.clone();
    data.insert("no_such_field_xyz".into(), json!("x"));
    expect_code(
        gateway.create(
            cx,
            CreateArgs {
                entity: entity.name.clone(),
                data,
                skip_duplicate_check: false,
            },
        ),
        ErrorCode::UnknownField,
        "unknown field",
    )
    .await?;
    if let Some(required) = schema
        .fields
        .iter()
        .find(|f| f.required && !f.is_read_only())
    {
        let mut data = fixture.create.clone();
        data.remove(&required.name);
        expect_code(
            gateway.create(
                cx,
                CreateArgs {
                    entity: entity.name.clone(),
                    data,
                    skip_duplicate_check: false,
                },
            ),
            ErrorCode::Validation,
            "missing required",
        )
        .await?;
    }
    if let Some(read_only) = schema.fields.iter().find(|f| f.is_read_only()) {
        let mut data = fixture.create.clone();
        data.insert(read_only.name.clone(), json!("x"));
        expect_code(
            gateway.create(
                cx,
                CreateArgs {
                    entity: entity.name.clone(),
                    data,
                    skip_duplicate_check: false,
                },
            ),
            ErrorCode::Validation,
            "read-only field",
        )
        .await?;
    }
    if let Some(enum_field) = schema
        .fields
        .iter()
        .find(|f| f.field_type == FieldType::Enum && !f.is_read_only() && !f.options.is_empty())
    {
        let mut data = fixture.create.clone();
        data.insert(enum_field.name.clone(), json!("no_such_value_xyz"));
        let e = gateway
            .create(
                cx,
                CreateArgs {
                    entity: entity.name.clone(),
                    data,
                    skip_duplicate_check: false,
                },
            )
            .await;
        let e = e.err().ok_or("bad enum value accepted")?;
        ensure!(
            e.code == ErrorCode::Validation && e.suggestion.contains(&enum_field.options[0].value),
            "bad enum: {e} / {}",
            e.suggestion
        );
    }
    if let Some(number) = schema.fields.iter().find(|f| {
        matches!(
            f.field_type,
            FieldType::Integer | FieldType::Number | FieldType::Money
        ) && !f.is_read_only()
    }) {
        let mut data = fixture.create.clone();
        data.insert(number.name.clone(), json!("twelve"));
        expect_code(
            gateway.create(
                cx,
                CreateArgs {
                    entity: entity.name.clone(),
                    data,
                    skip_duplicate_check: false,
                },
            ),
            ErrorCode::Validation,
            "wrong type",
        )
        .await?;
    }
    let after = count(gateway, cx, &entity.name).await?;
    ensure!(
        before == after,
        "a refused create changed the record count ({before:?} -> {after:?})"
    );
    Ok(())
}

/// On every entity that can be updated: read-only and create-only fields are refused in an
/// update by the gateway, before any request (so even for a record that does not exist).
pub(super) async fn field_access_enforced(
    gateway: &Gateway,
    cx: &CallContext,
    fixture: &Fixture,
) -> Check {
    let entities = ok("crm_entities", gateway.entities(cx).await)?.entities;
    for entity in entities.iter().filter(|e| e.supports(Operation::Update)) {
        let schema = ok("describe", gateway.describe(cx, &entity.name).await)?;
        let guarded = schema
            .fields
            .iter()
            .filter(|f| f.access != crate::schema::FieldAccess::ReadWrite);
        for field in guarded {
            let mut data = Fields::new();
            data.insert(field.name.clone(), json!("x"));
            let args = UpdateArgs {
                entity: entity.name.clone(),
                id: fixture.missing_id.clone(),
                data,
                preview: false,
            };
            let (outcome, meta) = crate::meta::measure(gateway.update(cx, args)).await;
            let what = format!(
                "update of {} {}.{}",
                field.access.as_str(),
                entity.name,
                field.name
            );
            match outcome {
                Err(e) if e.code == ErrorCode::Validation => {
                    ensure!(
                        e.message.contains(&field.name),
                        "{what}: the refusal does not name the field ({e})"
                    );
                    ensure!(
                        meta.upstream_calls == 0,
                        "{what}: refused only after {} upstream request(s)",
                        meta.upstream_calls
                    );
                }
                Err(e) => return Err(format!("{what}: expected VALIDATION, got {e}")),
                Ok(_) => return Err(format!("{what}: accepted")),
            }
        }
    }
    Ok(())
}

pub(super) async fn count(
    gateway: &Gateway,
    cx: &CallContext,
    entity: &str,
) -> std::result::Result<Option<u64>, String> {
    Ok(ok(
        "count",
        gateway
            .search(
                cx,
                SearchArgs {
                    entity: entity.into(),
                    limit: Some(1),
                    ..Default::default()
                },
            )
            .await,
    )?
    .total)
}

pub(super) async fn write_lifecycle(
    gateway: &Gateway,
    cx: &CallContext,
    fixture: &Fixture,
) -> Check {
    let entity = ok("resolve", gateway.resolve(cx, &fixture.write_entity).await)?;
    let created = ok(
        "create",
        gateway
            .create(
                cx,
                CreateArgs {
                    entity: entity.native.clone(),
                    data: fixture.create.clone(),
                    skip_duplicate_check: true,
                },
            )
            .await,
    )?;
    let created = match created {
        CreateOutput::Created { record } => record,
        CreateOutput::IdUnknown { id_unknown, .. } => {
            return Err(format!(
                "the fixture's write entity must report created ids: {}",
                id_unknown.reason
            ));
        }
    };
    let id = created.id.clone();
    ensure!(!id.is_empty(), "created record has no id");
    for (k, v) in &fixture.create {
        ensure!(
            created.fields.get(k) == Some(v),
            "created {k} = {:?}, sent {v}",
            created.fields.get(k)
        );
    }
    let fetched = ok(
        "get",
        gateway
            .get(
                cx,
                GetArgs {
                    entity: entity.name.clone(),
                    id: Some(id.clone()),
                    fields: Some(vec!["*".into()]),
                    ..Default::default()
                },
            )
            .await,
    )?;
    let GetOutput::One { record } = fetched else {
        return Err("get by id did not return one record".into());
    };
    ensure!(record.id == id, "get returned {}", record.id);
    let many = ok(
        "get many",
        gateway
            .get(
                cx,
                GetArgs {
                    entity: entity.name.clone(),
                    ids: Some(vec![id.clone(), fixture.missing_id.clone()]),
                    ..Default::default()
                },
            )
            .await,
    )?;
    let GetOutput::Many {
        records, missing, ..
    } = many
    else {
        return Err("get by ids did not return records".into());
    };
    ensure!(
        records.len() == 1 && missing == vec![fixture.missing_id.clone()],
        "get many: {} found, missing {missing:?}",
        records.len()
    );

    let preview = ok(
        "update preview",
        gateway
            .update(
                cx,
                UpdateArgs {
                    entity: entity.name.clone(),
                    id: id.clone(),
                    data: fixture.update.clone(),
                    preview: true,
                },
            )
            .await,
    )?;
    ensure!(
        matches!(preview, UpdateOutput::Preview { ref diff, .. } if diff.len() == fixture.update.len()),
        "update preview gave no diff"
    );
    let token = delete_preview_token(gateway, cx, &entity.name, &id).await?;
    let updated = ok(
        "update",
        gateway
            .update(
                cx,
                UpdateArgs {
                    entity: entity.name.clone(),
                    id: id.clone(),
                    data: fixture.update.clone(),
                    preview: false,
                },
            )
            .await,
    )?;
    let UpdateOutput::Updated { record } = updated else {
        return Err("update returned a preview".into());
    };
    for (k, v) in &fixture.update {
        ensure!(
            record.fields.get(k) == Some(v),
            "updated {k} = {:?}, sent {v}",
            record.fields.get(k)
        );
    }
    expect_code(
        gateway.delete(
            cx,
            DeleteArgs {
                entity: entity.name.clone(),
                id: id.clone(),
                confirm_token: Some(token),
            },
        ),
        ErrorCode::StaleConfirmation,
        "token after update",
    )
    .await?;
    expect_code(
        gateway.delete(
            cx,
            DeleteArgs {
                entity: entity.name.clone(),
                id: id.clone(),
                confirm_token: Some("v1.9999999999.forged".into()),
            },
        ),
        ErrorCode::StaleConfirmation,
        "forged token",
    )
    .await?;
    // a token is bound to the caller it was issued to
    let token = delete_preview_token(gateway, cx, &entity.name, &id).await?;
    let stranger = CallContext::configured_for(&secrecy::SecretString::from(
        "conformance: another caller".to_owned(),
    ));
    expect_code(
        gateway.delete(
            &stranger,
            DeleteArgs {
                entity: entity.name.clone(),
                id: id.clone(),
                confirm_token: Some(token),
            },
        ),
        ErrorCode::StaleConfirmation,
        "token used by another caller",
    )
    .await?;
    ok(
        "still there",
        gateway
            .get(
                cx,
                GetArgs {
                    entity: entity.name.clone(),
                    id: Some(id.clone()),
                    ..Default::default()
                },
            )
            .await,
    )?;

    if let Some((link, target)) = &fixture.link {
        let args = LinkArgs {
            entity: entity.name.clone(),
            id: id.clone(),
            link: link.clone(),
            target_id: target.clone(),
        };
        ok("link", gateway.link(cx, args.clone()).await)?;
        let related = related_ids(gateway, cx, &entity.name, &id, link).await?;
        ensure!(related.contains(target), "linked {target} not in related");
        ok("unlink", gateway.unlink(cx, args).await)?;
        let related = related_ids(gateway, cx, &entity.name, &id, link).await?;
        ensure!(
            !related.contains(target),
            "unlinked {target} still in related"
        );
    }
    if entity.supports(Operation::Note) {
        let note = ok(
            "note",
            gateway
                .note(
                    cx,
                    NoteArgs {
                        entity: entity.name.clone(),
                        id: id.clone(),
                        text: "conformance note".into(),
                    },
                )
                .await,
        )?;
        ensure!(!note.note.id.is_empty(), "note has no id");
        if entity.supports(Operation::Timeline) {
            let timeline = ok(
                "timeline",
                gateway
                    .timeline(
                        cx,
                        TimelineArgs {
                            entity: entity.name.clone(),
                            id: id.clone(),
                            ..Default::default()
                        },
                    )
                    .await,
            )?;
            ensure!(
                timeline
                    .items
                    .iter()
                    .any(|i| i.text.contains("conformance note")),
                "note not on the timeline"
            );
        }
    }
    let token = delete_preview_token(gateway, cx, &entity.name, &id).await?;
    let done = ok(
        "delete",
        gateway
            .delete(
                cx,
                DeleteArgs {
                    entity: entity.name.clone(),
                    id: id.clone(),
                    confirm_token: Some(token),
                },
            )
            .await,
    )?;
    ensure!(
        matches!(done, DeleteOutput::Deleted { deleted: true, .. }),
        "delete with token did not delete"
    );
    expect_code(
        gateway.get(
            cx,
            GetArgs {
                entity: entity.name.clone(),
                id: Some(id),
                ..Default::default()
            },
        ),
        ErrorCode::NotFound,
        "get after delete",
    )
    .await
}

pub(super) async fn not_found(gateway: &Gateway, cx: &CallContext, fixture: &Fixture) -> Check {
    let entity = ok("resolve", gateway.resolve(cx, &fixture.write_entity).await)?;
    let missing = fixture.missing_id.clone();
    expect_code(
        gateway.get(
            cx,
            GetArgs {
                entity: entity.name.clone(),
                id: Some(missing.clone()),
                ..Default::default()
            },
        ),
        ErrorCode::NotFound,
        "get",
    )
    .await?;
    expect_code(
        gateway.update(
            cx,
            UpdateArgs {
                entity: entity.name.clone(),
                id: missing.clone(),
                data: fixture.update.clone(),
                preview: false,
            },
        ),
        ErrorCode::NotFound,
        "update",
    )
    .await?;
    expect_code(
        gateway.delete(
            cx,
            DeleteArgs {
                entity: entity.name.clone(),
                id: missing.clone(),
                confirm_token: None,
            },
        ),
        ErrorCode::NotFound,
        "delete",
    )
    .await?;
    if entity.supports(Operation::Timeline) {
        expect_code(
            gateway.timeline(
                cx,
                TimelineArgs {
                    entity: entity.name.clone(),
                    id: missing.clone(),
                    ..Default::default()
                },
            ),
            ErrorCode::NotFound,
            "timeline",
        )
        .await?;
    }
    if entity.supports(Operation::Note) {
        expect_code(
            gateway.note(
                cx,
                NoteArgs {
                    entity: entity.name.clone(),
                    id: missing,
                    text: "x".into(),
                },
            ),
            ErrorCode::NotFound,
            "note",
        )
        .await?;
    }
    Ok(())
}

/// Ask for a delete without a token: it must preview (and delete nothing); the token.
async fn delete_preview_token(
    gateway: &Gateway,
    cx: &CallContext,
    entity: &str,
    id: &str,
) -> std::result::Result<String, String> {
    let args = DeleteArgs {
        entity: entity.to_owned(),
        id: id.to_owned(),
        confirm_token: None,
    };
    match ok("delete preview", gateway.delete(cx, args).await)? {
        DeleteOutput::Preview { confirm_token, .. } => Ok(confirm_token),
        DeleteOutput::Deleted { .. } => Err("delete without token deleted".into()),
    }
}

/// Ids of the records linked to `entity` `id` through `link` (first page).
async fn related_ids(
    gateway: &Gateway,
    cx: &CallContext,
    entity: &str,
    id: &str,
    link: &str,
) -> std::result::Result<Vec<String>, String> {
    let args = RelatedArgs {
        entity: entity.to_owned(),
        id: id.to_owned(),
        link: link.to_owned(),
        ..Default::default()
    };
    let page = ok("related", gateway.related(cx, args).await)?;
    Ok(page.records.into_iter().map(|r| r.id).collect())
}
