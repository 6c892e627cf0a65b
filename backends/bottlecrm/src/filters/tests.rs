//! Unit tests of the filter translation.

use super::*;
use serde_json::json;

fn schema(entity: Entity) -> std::sync::Arc<EntitySchema> {
    crate::describe::build(None).get(entity)
}

fn cond(field: &str, op: FilterOp, value: Value) -> Condition {
    Condition {
        field: field.into(),
        op,
        value,
    }
}

fn run(entity: Entity, conditions: Vec<Condition>) -> Result<Plan> {
    let filter = Filter {
        all: conditions,
        ..Default::default()
    };
    plan(entity, &schema(entity), &filter, &[])
}

#[test]
fn pushes_down_what_bottlecrm_runs() {
    let p = run(
        Entity::Tasks,
        vec![
            cond("status", FilterOp::In, json!(["New", "In Progress"])),
            cond("title", FilterOp::Contains, json!("call")),
            cond(
                "due_date",
                FilterOp::Between,
                json!(["2026-01-01", "2026-12-31"]),
            ),
        ],
    )
    .unwrap();
    let pairs: Vec<(&str, &str)> = p
        .params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("status", "New"),
            ("status", "In Progress"),
            ("title", "call"),
            ("due_date__gte", "2026-01-01"),
            ("due_date__lte", "2026-12-31"),
            ("slim", "true"),
        ]
    );
}

#[test]
fn refuses_per_field_naming_what_works() {
    let e = run(Entity::Tasks, vec![cond("title", FilterOp::Eq, json!("x"))]).unwrap_err();
    assert_eq!(e.code, ErrorCode::UnsupportedFilter);
    assert!(
        e.suggestion.contains("title (contains)"),
        "{}",
        e.suggestion
    );
    assert!(e.suggestion.contains("status (eq/in)"), "{}", e.suggestion);
}

#[test]
fn unknown_enum_values_are_refused_not_sent() {
    let e = run(
        Entity::Tasks,
        vec![cond("status", FilterOp::Eq, json!("new"))],
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(
        e.suggestion.contains("send the value \"New\""),
        "{}",
        e.suggestion
    );
}

#[test]
fn datetime_filters_take_a_date() {
    let e = run(
        Entity::Tasks,
        vec![cond(
            "created_at",
            FilterOp::Gte,
            json!("2026-11-21T05:00:00Z"),
        )],
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(e.suggestion.contains("by day"));
}

#[test]
fn lead_status_picks_sections_and_refuses_converted() {
    let p = run(
        Entity::Leads,
        vec![cond("status", FilterOp::Eq, json!("closed"))],
    )
    .unwrap();
    assert_eq!(p.sections, [1]);
    let p = run(Entity::Leads, vec![]).unwrap();
    assert_eq!(p.sections, [0, 1]);
    let e = run(
        Entity::Leads,
        vec![cond("status", FilterOp::Eq, json!("converted"))],
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::UnsupportedFilter);
}

#[test]
fn or_groups_and_double_conditions_are_refused() {
    let filter = Filter {
        any: vec![
            vec![cond("title", FilterOp::Contains, json!("a"))],
            vec![cond("title", FilterOp::Contains, json!("b"))],
        ],
        ..Default::default()
    };
    let e = plan(Entity::Tasks, &schema(Entity::Tasks), &filter, &[]).unwrap_err();
    assert_eq!(e.code, ErrorCode::UnsupportedFilter);
    let e = run(
        Entity::Tasks,
        vec![
            cond("status", FilterOp::Eq, json!("New")),
            cond("status", FilterOp::In, json!(["New"])),
        ],
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(
        run(
            Entity::Tasks,
            vec![
                cond("due_date", FilterOp::Gte, json!("2026-01-01")),
                cond("due_date", FilterOp::Lte, json!("2026-02-01")),
            ],
        )
        .is_ok()
    );
}

#[test]
fn only_invoices_sort() {
    let key = |f: &str| SortKey {
        field: f.into(),
        descending: true,
    };
    let p = plan(
        Entity::Invoices,
        &schema(Entity::Invoices),
        &Filter::default(),
        &[key("total_amount")],
    )
    .unwrap();
    assert!(p.params.contains(&("sort".into(), "-total_amount".into())));
    let e = plan(
        Entity::Tasks,
        &schema(Entity::Tasks),
        &Filter::default(),
        &[key("title")],
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::UnsupportedFilter);
}

#[test]
fn ids_are_checked_and_canonicalised() {
    let p = run(
        Entity::Tasks,
        vec![cond(
            "account",
            FilterOp::Eq,
            json!("3A11CDD114EE48CC8E051DAE2F07519A"),
        )],
    )
    .unwrap();
    assert!(p.params.contains(&(
        "account".into(),
        "3a11cdd1-14ee-48cc-8e05-1dae2f07519a".into()
    )));
    let e = run(
        Entity::Tasks,
        vec![cond("account", FilterOp::Eq, json!("nope"))],
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
}
