//! The filter mapping per field type.

use super::*;
use crmgate_core::schema::FieldSchema;
use serde_json::json;

fn schema() -> EntitySchema {
    EntitySchema {
        entity: "deals".into(),
        native: "deals".into(),
        fields: vec![
            FieldSchema::new("id", FieldType::Id),
            FieldSchema::new("name", FieldType::Text),
            FieldSchema::new("amount", FieldType::Money),
            FieldSchema::new("company_id", FieldType::Reference),
            FieldSchema::new("contact_ids", FieldType::References),
            FieldSchema::new("created_at", FieldType::DateTime),
            FieldSchema::new("logo", FieldType::Json),
        ],
        links: vec![],
    }
}

fn one(field: &str, op: FilterOp, value: Value) -> Result<Cond> {
    condition(
        &Condition {
            field: field.into(),
            op,
            value,
        },
        &schema(),
    )
}

#[test]
fn text_equality_ignores_case_and_escapes_wildcards() {
    assert_eq!(
        one("name", FilterOp::Eq, json!("50%_off\\")).unwrap(),
        Cond::ILike {
            column: "name".into(),
            pattern: "50\\%\\_off\\\\".into()
        }
    );
    assert_eq!(
        one("name", FilterOp::StartsWith, json!("Ac")).unwrap(),
        Cond::ILike {
            column: "name".into(),
            pattern: "Ac%".into()
        }
    );
    // ne keeps empty fields
    let Cond::Or(parts) = one("name", FilterOp::Ne, json!("x")).unwrap() else {
        panic!()
    };
    assert_eq!(parts[0], Cond::IsNull("name".into()));
}

#[test]
fn scalars_are_checked_and_cast() {
    assert_eq!(
        one("company_id", FilterOp::Eq, json!("12")).unwrap(),
        Cond::id_eq("company_id", 12)
    );
    let e = one("company_id", FilterOp::Eq, json!("acme")).unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(matches!(
        one("amount", FilterOp::Ne, json!(5)).unwrap(),
        Cond::Distinct { .. }
    ));
    assert_eq!(
        one("amount", FilterOp::Contains, json!("5"))
            .unwrap_err()
            .code,
        ErrorCode::UnsupportedFilter
    );
    assert_eq!(
        one("created_at", FilterOp::Gt, json!("soon"))
            .unwrap_err()
            .code,
        ErrorCode::Validation
    );
    assert!(matches!(
        one("created_at", FilterOp::Between, json!(["2026-01-01", "2026-02-01"])).unwrap(),
        Cond::And(ref v) if v.len() == 2
    ));
}

#[test]
fn id_arrays_test_membership() {
    assert_eq!(
        one("contact_ids", FilterOp::Eq, json!("3")).unwrap(),
        Cond::ArrayHas {
            column: "contact_ids".into(),
            value: "3".into()
        }
    );
    assert!(matches!(
        one("contact_ids", FilterOp::In, json!(["1", 2])).unwrap(),
        Cond::ArrayOverlaps { ref values, .. } if values == &["1", "2"]
    ));
    assert_eq!(
        one("contact_ids", FilterOp::Gt, json!("1"))
            .unwrap_err()
            .code,
        ErrorCode::UnsupportedFilter
    );
    let e = one("logo", FilterOp::Eq, json!("x")).unwrap_err();
    assert_eq!(e.code, ErrorCode::UnsupportedFilter);
}

#[test]
fn query_searches_the_columns_the_schema_has() {
    let filter = Filter {
        query: Some("ac".into()),
        any: vec![vec![Condition {
            field: "amount".into(),
            op: FilterOp::Gt,
            value: json!(1),
        }]],
        ..Default::default()
    };
    let conds = conditions(&filter, &schema(), &["name", "missing"]).unwrap();
    assert_eq!(conds.len(), 2);
    assert_eq!(
        conds[1],
        Cond::ILike {
            column: "name".into(),
            pattern: "%ac%".into()
        }
    );
}
