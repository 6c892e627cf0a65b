//! The conformance suite: the same behaviours checked against every backend and its sandbox.
//!
//! A backend's test builds a [`Gateway`] over it (at the destructive tier) and a [`Fixture`]
//! naming an entity it may write to, then calls [`run`]. Checks discover the rest from
//! `entities()` and `describe()`: every operator the backend claims must work and give only
//! matching records; every operator it does not claim must be refused with
//! `UNSUPPORTED_FILTER`; pagination must reach the end with no duplicates or gaps; writes must
//! be validated; deletes must go through the confirm-token flow; missing records must be
//! `NOT_FOUND`. Every failed check is reported, not just the first.

use crate::filter::{Condition, FilterOp};
use crate::gateway::*;
use crate::model::{EntityInfo, Fields, Operation, TotalKind};
use crate::schema::{EntitySchema, FieldType};
use crate::{CallContext, ErrorCode};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::future::Future;

/// What the suite needs to know about a backend's data.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// An entity the suite may create, update and delete records in.
    pub write_entity: String,
    /// Valid data for creating a record there.
    pub create: Fields,
    /// A valid patch for that record.
    pub update: Fields,
    /// An entity with enough records to page through (more than `page_size`).
    pub paging_entity: String,
    /// Page size for the paging check.
    pub page_size: i64,
    /// A link to exercise: on `write_entity`, the link name and an existing target id.
    pub link: Option<(String, String)>,
    /// An id that exists in no entity.
    pub missing_id: String,
}

/// Outcome of a run: the checks that passed.
#[derive(Debug, Default)]
pub struct Report {
    /// Names of passed checks.
    pub passed: Vec<String>,
}

type Check = std::result::Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// Run every check; panics with the list of failures if any failed.
pub async fn run(gateway: &Gateway, fixture: &Fixture) -> Report {
    let cx = CallContext::configured();
    let mut report = Report::default();
    let mut failures = Vec::new();
    let mut record = |name: &str, outcome: Check| match outcome {
        Ok(()) => report.passed.push(name.to_owned()),
        Err(message) => failures.push(format!("{name}: {message}")),
    };
    record("entities_and_names", entities_and_names(gateway, &cx).await);
    record(
        "describe_every_entity",
        describe_every_entity(gateway, &cx).await,
    );
    record(
        "claimed_operators_work",
        claimed_operators_work(gateway, &cx, fixture).await,
    );
    record(
        "unclaimed_operators_refused",
        unclaimed_operators_refused(gateway, &cx, fixture).await,
    );
    record(
        "pagination_to_the_end",
        pagination_to_the_end(gateway, &cx, fixture).await,
    );
    record(
        "limit_cap_reported",
        limit_cap_reported(gateway, &cx, fixture).await,
    );
    record(
        "bad_inputs_refused",
        bad_inputs_refused(gateway, &cx, fixture).await,
    );
    record(
        "validation_before_write",
        validation_before_write(gateway, &cx, fixture).await,
    );
    record(
        "write_lifecycle",
        write_lifecycle(gateway, &cx, fixture).await,
    );
    record("not_found", not_found(gateway, &cx, fixture).await);
    assert!(
        failures.is_empty(),
        "conformance failures:\n  {}",
        failures.join("\n  ")
    );
    report
}

async fn expect_code<T, F>(call: F, code: ErrorCode, what: &str) -> Check
where
    F: Future<Output = crate::Result<T>>,
{
    match call.await {
        Ok(_) => Err(format!("{what}: expected {code}, got success")),
        Err(e) if e.code == code => {
            ensure!(
                !e.suggestion.is_empty(),
                "{what}: {code} without a suggestion"
            );
            Ok(())
        }
        Err(e) => Err(format!("{what}: expected {code}, got {e}")),
    }
}

fn ok<T>(what: &str, result: crate::Result<T>) -> std::result::Result<T, String> {
    result.map_err(|e| format!("{what}: {e} ({})", e.suggestion))
}

async fn entity_and_schema(
    gateway: &Gateway,
    cx: &CallContext,
    name: &str,
) -> std::result::Result<(EntityInfo, std::sync::Arc<EntitySchema>), String> {
    let entity = ok("resolve", gateway.resolve(cx, name).await)?;
    let schema = ok("describe", gateway.describe(cx, name).await)?;
    Ok((entity, schema))
}

async fn entities_and_names(gateway: &Gateway, cx: &CallContext) -> Check {
    let entities = ok("crm_entities", gateway.entities(cx).await)?.entities;
    ensure!(!entities.is_empty(), "no entities");
    for e in &entities {
        ensure!(
            e.supports(Operation::Search) || e.supports(Operation::Get),
            "{} supports neither search nor get",
            e.name
        );
        let by_native = ok("resolve native", gateway.resolve(cx, &e.native).await)?;
        ensure!(
            by_native.name == e.name,
            "native name {} resolved to {}",
            e.native,
            by_native.name
        );
        ok("resolve canonical", gateway.resolve(cx, &e.name).await)?;
    }
    expect_code(
        gateway.resolve(cx, "no_such_entity_xyz"),
        ErrorCode::UnknownEntity,
        "unknown entity",
    )
    .await
}

async fn describe_every_entity(gateway: &Gateway, cx: &CallContext) -> Check {
    for e in ok("crm_entities", gateway.entities(cx).await)?.entities {
        let schema = ok(
            &format!("describe {}", e.name),
            gateway.describe(cx, &e.name).await,
        )?;
        ensure!(!schema.fields.is_empty(), "{} has no fields", e.name);
        for f in &schema.fields {
            if f.field_type == FieldType::Enum {
                ensure!(
                    !f.options.is_empty() || !f.read_only,
                    "{}.{} is an enum without options",
                    e.name,
                    f.name
                );
            }
        }
    }
    Ok(())
}

/// A condition using `op` on some field of the schema, with a value taken from `sample`.
fn condition_for(op: FilterOp, schema: &EntitySchema, sample: &Fields) -> Option<Condition> {
    let pick = |types: &[FieldType]| {
        schema.fields.iter().find(|f| {
            types.contains(&f.field_type)
                && sample.get(&f.name).is_some_and(|v| !v.is_null() && v != "")
        })
    };
    let text = [FieldType::Text, FieldType::Email, FieldType::Enum];
    let ordered = [
        FieldType::Integer,
        FieldType::Number,
        FieldType::Money,
        FieldType::Date,
        FieldType::DateTime,
    ];
    let make = |field: &str, value: Value| Condition {
        field: field.to_owned(),
        op,
        value,
    };
    match op {
        FilterOp::Eq | FilterOp::Ne | FilterOp::In | FilterOp::NotIn => {
            let f = pick(&text)?;
            let v = sample[&f.name].clone();
            Some(make(
                &f.name,
                if matches!(op, FilterOp::In | FilterOp::NotIn) {
                    json!([v])
                } else {
                    v
                },
            ))
        }
        FilterOp::Gt | FilterOp::Gte | FilterOp::Lt | FilterOp::Lte => {
            let f = pick(&ordered)?;
            Some(make(&f.name, sample[&f.name].clone()))
        }
        FilterOp::Between => {
            let f = pick(&ordered)?;
            let v = sample[&f.name].clone();
            Some(make(&f.name, json!([v, v])))
        }
        FilterOp::Contains | FilterOp::StartsWith => {
            let f = pick(&[FieldType::Text])?;
            let s = sample[&f.name].as_str()?;
            let part: String = if op == FilterOp::Contains {
                s.chars().skip(1).take(3).collect()
            } else {
                s.chars().take(3).collect()
            };
            (!part.trim().is_empty()).then(|| make(&f.name, json!(part)))
        }
        FilterOp::IsNull | FilterOp::IsNotNull => {
            let f = pick(&text)?;
            Some(make(&f.name, Value::Null))
        }
    }
}

async fn claimed_operators_work(gateway: &Gateway, cx: &CallContext, fixture: &Fixture) -> Check {
    let (entity, schema) = entity_and_schema(gateway, cx, &fixture.paging_entity).await?;
    let first = ok(
        "search",
        gateway
            .search(
                cx,
                SearchArgs {
                    entity: entity.name.clone(),
                    fields: Some(vec!["*".into()]),
                    limit: Some(1),
                    ..Default::default()
                },
            )
            .await,
    )?;
    let sample = first
        .records
        .first()
        .ok_or("paging entity is empty")?
        .fields
        .clone();
    for op in &entity.filter_ops {
        let Some(condition) = condition_for(*op, &schema, &sample) else {
            continue;
        };
        let args = SearchArgs {
            entity: entity.name.clone(),
            conditions: vec![ConditionArg {
                field: condition.field.clone(),
                op: op.as_str().into(),
                value: condition.value.clone(),
            }],
            fields: Some(vec!["*".into()]),
            limit: Some(gateway.settings().limit_cap as i64),
            ..Default::default()
        };
        let page = ok(
            &format!("search with {}", op.as_str()),
            gateway.search(cx, args).await,
        )?;
        for r in &page.records {
            ensure!(
                condition.matches(&r.fields),
                "{} {} {}: record {} does not match ({:?})",
                condition.field,
                op.as_str(),
                condition.value,
                r.id,
                r.fields.get(&condition.field)
            );
        }
        let must_find = matches!(
            op,
            FilterOp::Eq
                | FilterOp::In
                | FilterOp::Gte
                | FilterOp::Lte
                | FilterOp::Between
                | FilterOp::IsNotNull
                | FilterOp::StartsWith
                | FilterOp::Contains
        );
        ensure!(
            !must_find || !page.records.is_empty(),
            "{} {} {} found nothing, though the sample record matches",
            condition.field,
            op.as_str(),
            condition.value
        );
    }
    Ok(())
}

async fn unclaimed_operators_refused(
    gateway: &Gateway,
    cx: &CallContext,
    fixture: &Fixture,
) -> Check {
    let (entity, schema) = entity_and_schema(gateway, cx, &fixture.paging_entity).await?;
    let field = schema
        .fields
        .iter()
        .find(|f| f.field_type == FieldType::Text)
        .map(|f| f.name.clone())
        .ok_or("no text field")?;
    for op in FilterOp::ALL
        .into_iter()
        .filter(|op| !entity.filter_ops.contains(op))
    {
        let args = SearchArgs {
            entity: entity.name.clone(),
            conditions: vec![ConditionArg {
                field: field.clone(),
                op: op.as_str().into(),
                value: json!("x"),
            }],
            ..Default::default()
        };
        expect_code(
            gateway.search(cx, args),
            ErrorCode::UnsupportedFilter,
            &format!("unclaimed {}", op.as_str()),
        )
        .await?;
    }
    let args = SearchArgs {
        entity: entity.name.clone(),
        conditions: vec![ConditionArg {
            field,
            op: "like".into(),
            value: json!("x"),
        }],
        ..Default::default()
    };
    expect_code(
        gateway.search(cx, args),
        ErrorCode::UnsupportedFilter,
        "unknown operator",
    )
    .await
}

async fn pagination_to_the_end(gateway: &Gateway, cx: &CallContext, fixture: &Fixture) -> Check {
    let entity = ok("resolve", gateway.resolve(cx, &fixture.paging_entity).await)?;
    let mut seen = HashSet::new();
    let mut cursor = None;
    let mut pages = 0;
    let mut total = None;
    loop {
        let args = SearchArgs {
            entity: entity.name.clone(),
            limit: Some(fixture.page_size),
            cursor: cursor.clone(),
            ..Default::default()
        };
        let page = ok("page", gateway.search(cx, args).await)?;
        pages += 1;
        ensure!(pages < 10_000, "pagination does not end");
        ensure!(
            page.records.len() <= fixture.page_size as usize,
            "page of {} exceeds limit {}",
            page.records.len(),
            fixture.page_size
        );
        total = total.or(page.total);
        for r in &page.records {
            ensure!(
                seen.insert(r.id.clone()),
                "record {} returned twice (page {pages})",
                r.id
            );
        }
        ensure!(
            page.has_more == page.next_cursor.is_some(),
            "has_more disagrees with next_cursor"
        );
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    ensure!(
        pages > 1,
        "paging entity fits in one page of {}",
        fixture.page_size
    );
    if entity.total == TotalKind::Exact {
        let total = total.ok_or("exact totals claimed but no total given")?;
        ensure!(
            seen.len() as u64 == total,
            "saw {} records, total says {total}",
            seen.len()
        );
    }
    // a cursor belongs to its query
    let args = SearchArgs {
        entity: entity.name.clone(),
        limit: Some(fixture.page_size),
        ..Default::default()
    };
    let first = ok("first page", gateway.search(cx, args).await)?;
    let next = first.next_cursor.ok_or("no next_cursor on first page")?;
    let other = SearchArgs {
        entity: entity.name.clone(),
        query: Some("zz".into()),
        cursor: Some(next),
        ..Default::default()
    };
    expect_code(
        gateway.search(cx, other),
        ErrorCode::Validation,
        "cursor reused with another query",
    )
    .await?;
    let forged = SearchArgs {
        entity: entity.name.clone(),
        cursor: Some("not-a-cursor".into()),
        ..Default::default()
    };
    expect_code(
        gateway.search(cx, forged),
        ErrorCode::Validation,
        "forged cursor",
    )
    .await
}

async fn limit_cap_reported(gateway: &Gateway, cx: &CallContext, fixture: &Fixture) -> Check {
    let cap = gateway.settings().limit_cap;
    let args = SearchArgs {
        entity: fixture.paging_entity.clone(),
        limit: Some(cap as i64 + 1000),
        ..Default::default()
    };
    let page = ok("over-cap search", gateway.search(cx, args).await)?;
    ensure!(
        page.applied.limit.capped && page.applied.limit.applied == cap,
        "cap not reported: {:?}",
        page.applied.limit
    );
    ensure!(
        page.records.len() <= cap,
        "returned {} records over cap {cap}",
        page.records.len()
    );
    let zero = SearchArgs {
        entity: fixture.paging_entity.clone(),
        limit: Some(0),
        ..Default::default()
    };
    expect_code(gateway.search(cx, zero), ErrorCode::Validation, "limit 0").await
}

async fn bad_inputs_refused(gateway: &Gateway, cx: &CallContext, fixture: &Fixture) -> Check {
    let entity = fixture.paging_entity.clone();
    let unknown = SearchArgs {
        entity: entity.clone(),
        conditions: vec![ConditionArg {
            field: "no_such_field_xyz".into(),
            op: "eq".into(),
            value: json!(1),
        }],
        ..Default::default()
    };
    expect_code(
        gateway.search(cx, unknown),
        ErrorCode::UnknownField,
        "unknown filter field",
    )
    .await?;
    let bad_fields = SearchArgs {
        entity: entity.clone(),
        fields: Some(vec!["no_such_field_xyz".into()]),
        ..Default::default()
    };
    expect_code(
        gateway.search(cx, bad_fields),
        ErrorCode::UnknownField,
        "unknown projected field",
    )
    .await?;
    let bad_sort = SearchArgs {
        entity: entity.clone(),
        sort: Some(SortArg::One("-no_such_field_xyz".into())),
        ..Default::default()
    };
    expect_code(
        gateway.search(cx, bad_sort),
        ErrorCode::UnknownField,
        "unknown sort field",
    )
    .await?;
    expect_code(
        gateway.search(
            cx,
            SearchArgs {
                entity: "no_such_entity_xyz".into(),
                ..Default::default()
            },
        ),
        ErrorCode::UnknownEntity,
        "unknown entity",
    )
    .await?;
    let both = GetArgs {
        entity: entity.clone(),
        id: Some("a".into()),
        ids: Some(vec!["b".into()]),
        fields: None,
    };
    expect_code(gateway.get(cx, both), ErrorCode::Validation, "id and ids").await?;
    let too_many = GetArgs {
        entity,
        ids: Some((0..101).map(|i| i.to_string()).collect()),
        ..Default::default()
    };
    expect_code(gateway.get(cx, too_many), ErrorCode::Validation, "101 ids").await
}

async fn validation_before_write(gateway: &Gateway, cx: &CallContext, fixture: &Fixture) -> Check {
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
    if let Some(required) = schema.fields.iter().find(|f| f.required && !f.read_only) {
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
    if let Some(read_only) = schema.fields.iter().find(|f| f.read_only) {
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
        .find(|f| f.field_type == FieldType::Enum && !f.read_only && !f.options.is_empty())
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
        ) && !f.read_only
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

async fn count(
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

async fn write_lifecycle(gateway: &Gateway, cx: &CallContext, fixture: &Fixture) -> Check {
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
    )?
    .record;
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
    let GetOutput::Many { records, missing } = many else {
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
    let token = match ok(
        "delete preview",
        gateway
            .delete(
                cx,
                DeleteArgs {
                    entity: entity.name.clone(),
                    id: id.clone(),
                    confirm_token: None,
                },
            )
            .await,
    )? {
        DeleteOutput::Preview { confirm_token, .. } => confirm_token,
        DeleteOutput::Deleted { .. } => return Err("delete without token deleted".into()),
    };
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
        let related = ok(
            "related",
            gateway
                .related(
                    cx,
                    RelatedArgs {
                        entity: entity.name.clone(),
                        id: id.clone(),
                        link: link.clone(),
                        ..Default::default()
                    },
                )
                .await,
        )?;
        ensure!(
            related.records.iter().any(|r| &r.id == target),
            "linked {target} not in related"
        );
        ok("unlink", gateway.unlink(cx, args).await)?;
        let related = ok(
            "related",
            gateway
                .related(
                    cx,
                    RelatedArgs {
                        entity: entity.name.clone(),
                        id: id.clone(),
                        link: link.clone(),
                        ..Default::default()
                    },
                )
                .await,
        )?;
        ensure!(
            !related.records.iter().any(|r| &r.id == target),
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
    let token = match ok(
        "delete preview",
        gateway
            .delete(
                cx,
                DeleteArgs {
                    entity: entity.name.clone(),
                    id: id.clone(),
                    confirm_token: None,
                },
            )
            .await,
    )? {
        DeleteOutput::Preview { confirm_token, .. } => confirm_token,
        DeleteOutput::Deleted { .. } => return Err("delete without token deleted".into()),
    };
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

async fn not_found(gateway: &Gateway, cx: &CallContext, fixture: &Fixture) -> Check {
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
