//! Read checks: names, schemas, every claimed and unclaimed operator, pagination, limit caps,
//! bad inputs.

use super::*;
use crate::filter::{Condition, FilterOp};
use crate::model::{Operation, TotalKind};
use crate::schema::FieldType;
use serde_json::{Value, json};
use std::collections::HashSet;

pub(super) async fn entities_and_names(gateway: &Gateway, cx: &CallContext) -> Check {
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

pub(super) async fn describe_every_entity(gateway: &Gateway, cx: &CallContext) -> Check {
    for e in ok("crm_entities", gateway.entities(cx).await)?.entities {
        let schema = ok(
            &format!("describe {}", e.name),
            gateway.describe(cx, &e.name).await,
        )?;
        ensure!(!schema.fields.is_empty(), "{} has no fields", e.name);
        for f in &schema.fields {
            if f.field_type == FieldType::Enum {
                ensure!(
                    !f.options.is_empty() || !f.is_read_only(),
                    "{}.{} is an enum without options",
                    e.name,
                    f.name
                );
            }
        }
    }
    Ok(())
}

/// Conditions using `op` on fields of the schema that claim it (at most `max`, of the types the
/// in-memory evaluation compares reliably), with values taken from `sample`.
pub(super) fn conditions_for(
    op: FilterOp,
    schema: &EntitySchema,
    sample: &Fields,
    max: usize,
) -> Vec<Condition> {
    let text = [FieldType::Text, FieldType::Email, FieldType::Enum];
    let ordered = [
        FieldType::Integer,
        FieldType::Number,
        FieldType::Money,
        FieldType::Date,
        FieldType::DateTime,
    ];
    let types: &[FieldType] = match op {
        FilterOp::Eq
        | FilterOp::Ne
        | FilterOp::In
        | FilterOp::NotIn
        | FilterOp::IsNull
        | FilterOp::IsNotNull => &text,
        FilterOp::Gt | FilterOp::Gte | FilterOp::Lt | FilterOp::Lte | FilterOp::Between => &ordered,
        FilterOp::Contains | FilterOp::StartsWith => &[FieldType::Text],
    };
    schema
        .fields
        .iter()
        .filter(|f| {
            f.filters_with(op)
                && types.contains(&f.field_type)
                && sample.get(&f.name).is_some_and(|v| !v.is_null() && v != "")
        })
        .filter_map(|f| {
            let v = sample[&f.name].clone();
            let value = match op {
                FilterOp::In | FilterOp::NotIn => json!([v]),
                FilterOp::Between => json!([v, v]),
                FilterOp::IsNull | FilterOp::IsNotNull => Value::Null,
                FilterOp::Contains | FilterOp::StartsWith => {
                    let s = v.as_str()?;
                    let part: String = if op == FilterOp::Contains {
                        s.chars().skip(1).take(3).collect()
                    } else {
                        s.chars().take(3).collect()
                    };
                    if part.trim().is_empty() {
                        return None;
                    }
                    json!(part)
                }
                _ => v,
            };
            Some(Condition {
                field: f.name.clone(),
                op,
                value,
            })
        })
        .take(max)
        .collect()
}

pub(super) async fn claimed_operators_work(
    gateway: &Gateway,
    cx: &CallContext,
    fixture: &Fixture,
) -> Check {
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
        // up to three fields per operator; one for order and ranges, whose operands (dates,
        // date-times) each CRM takes in its own shape
        let ordered = matches!(
            op,
            FilterOp::Gt | FilterOp::Gte | FilterOp::Lt | FilterOp::Lte | FilterOp::Between
        );
        let max = if ordered { 1 } else { 3 };
        for condition in conditions_for(*op, &schema, &sample, max) {
            check_condition(gateway, cx, &entity, &condition).await?;
        }
    }
    Ok(())
}

/// Search with one condition: every record returned matches it, and the records a sample
/// matches are found.
async fn check_condition(
    gateway: &Gateway,
    cx: &CallContext,
    entity: &EntityInfo,
    condition: &Condition,
) -> Check {
    let op = condition.op;
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
    Ok(())
}

/// Per field: the entity's operators are the union of its fields' operators; every operator a
/// field does not claim, and every sort on a field that does not sort, is refused by the
/// gateway with `UNSUPPORTED_FILTER` before any request leaves; sortable fields sort.
pub(super) async fn per_field_capabilities(
    gateway: &Gateway,
    cx: &CallContext,
    fixture: &Fixture,
) -> Check {
    for e in ok("crm_entities", gateway.entities(cx).await)?.entities {
        let schema = ok("describe", gateway.describe(cx, &e.name).await)?;
        let union = schema.filter_ops_union();
        let mut claimed = e.filter_ops.clone();
        claimed.sort();
        let mut union_sorted = union.clone();
        union_sorted.sort();
        ensure!(
            claimed == union_sorted,
            "{}: entity filter_ops {:?} are not the union of its fields' operators {:?}",
            e.name,
            e.filter_ops,
            union
        );
    }
    let (entity, schema) = entity_and_schema(gateway, cx, &fixture.paging_entity).await?;
    for field in &schema.fields {
        for op in FilterOp::ALL
            .into_iter()
            .filter(|op| !field.filters_with(*op))
        {
            let args = SearchArgs {
                entity: entity.name.clone(),
                conditions: vec![ConditionArg {
                    field: field.name.clone(),
                    op: op.as_str().into(),
                    value: json!("x"),
                }],
                ..Default::default()
            };
            let what = format!("{}.{} {}", entity.name, field.name, op.as_str());
            refused_before_sending(gateway.search(cx, args), &what).await?;
        }
        let sort = SearchArgs {
            entity: entity.name.clone(),
            sort: Some(SortArg::One(format!("-{}", field.name))),
            limit: Some(2),
            ..Default::default()
        };
        if !field.sortable {
            let what = format!("sort by {}.{}", entity.name, field.name);
            refused_before_sending(gateway.search(cx, sort), &what).await?;
        }
    }
    for field in schema.fields.iter().filter(|f| f.sortable).take(3) {
        let sort = SearchArgs {
            entity: entity.name.clone(),
            sort: Some(SortArg::One(format!("-{}", field.name))),
            limit: Some(2),
            ..Default::default()
        };
        ok(
            &format!("sort by sortable {}", field.name),
            gateway.search(cx, sort).await,
        )?;
    }
    Ok(())
}

/// The call fails with `UNSUPPORTED_FILTER` (with a suggestion) and sends nothing upstream.
pub(super) async fn refused_before_sending<T>(
    call: impl Future<Output = crate::Result<T>>,
    what: &str,
) -> Check {
    let (outcome, meta) = crate::meta::measure(call).await;
    match outcome {
        Ok(_) => Err(format!("{what}: expected UNSUPPORTED_FILTER, got success")),
        Err(e) if e.code == ErrorCode::UnsupportedFilter => {
            ensure!(!e.suggestion.is_empty(), "{what}: no suggestion");
            ensure!(
                meta.upstream_calls == 0,
                "{what}: refused, but only after {} upstream request(s)",
                meta.upstream_calls
            );
            Ok(())
        }
        Err(e) => Err(format!("{what}: expected UNSUPPORTED_FILTER, got {e}")),
    }
}

pub(super) async fn unclaimed_operators_refused(
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

pub(super) async fn pagination_to_the_end(
    gateway: &Gateway,
    cx: &CallContext,
    fixture: &Fixture,
) -> Check {
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

pub(super) async fn limit_cap_reported(
    gateway: &Gateway,
    cx: &CallContext,
    fixture: &Fixture,
) -> Check {
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

pub(super) async fn bad_inputs_refused(
    gateway: &Gateway,
    cx: &CallContext,
    fixture: &Fixture,
) -> Check {
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
