//! The canonical filter → EspoCRM `where` items, all run natively by EspoCRM.
//!
//! | canonical | EspoCRM where type |
//! |---|---|
//! | eq / ne | `equals` / `notEquals` (ne also keeps empty values: `or[notEquals, isNull]`); booleans `isTrue`/`isFalse`; multi-enums `arrayAnyOf`/`arrayNoneOf`; link-multiples `linkedWith`/`notLinkedWith` |
//! | gt gte lt lte | `greaterThan` `greaterThanOrEquals` `lessThan` `lessThanOrEquals` |
//! | in / not_in | `in` / `notIn` (or the array and link forms above) |
//! | contains / starts_with | `contains` / `startsWith` (SQL LIKE, case-insensitive) |
//! | is_null / is_not_null | `isNull` / `isNotNull`, with `""` counted as empty on text; `arrayIsEmpty`, `isNotLinked`, … |
//! | between | `between` `[low, high]`, inclusive |
//!
//! `where` items are ANDed; each `any` group becomes an `and` inside one `or`. Datetimes are
//! turned into EspoCRM's UTC form. Sorting is by one field only, as EspoCRM sorts.

use crate::map::bad_datetime;
use crate::time::to_espo_datetime;
use crmgate_core::filter::{Condition, Filter, FilterOp, SortKey};
use crmgate_core::schema::{EntitySchema, FieldSchema, FieldType};
use crmgate_core::{Error, Result};
use serde_json::{Value, json};

/// Every canonical operator: EspoCRM runs them all natively.
pub const NATIVE_OPS: [FilterOp; 13] = FilterOp::ALL;

/// The `where` array for a filter (structured part; the free-text query goes to
/// `textFilter`).
pub fn where_items(filter: &Filter, schema: &EntitySchema) -> Result<Vec<Value>> {
    let mut items = filter
        .all
        .iter()
        .map(|c| item(c, schema))
        .collect::<Result<Vec<_>>>()?;
    if !filter.any.is_empty() {
        let groups = filter
            .any
            .iter()
            .map(|group| {
                let inner = group
                    .iter()
                    .map(|c| item(c, schema))
                    .collect::<Result<Vec<_>>>()?;
                Ok(json!({"type": "and", "value": inner}))
            })
            .collect::<Result<Vec<_>>>()?;
        items.push(json!({"type": "or", "value": groups}));
    }
    Ok(items)
}

/// `orderBy` and `order` for the sort keys (EspoCRM sorts by one field).
pub fn order(sort: &[SortKey]) -> Result<Option<(String, &'static str)>> {
    match sort {
        [] => Ok(None),
        [key] => Ok(Some((
            key.field.clone(),
            if key.descending { "desc" } else { "asc" },
        ))),
        _ => Err(Error::validation(
            format!("EspoCRM sorts by one field; {} were given", sort.len()),
            "pass a single sort key, e.g. \"-createdAt\"",
        )),
    }
}

fn convert(schema: &EntitySchema, field: &FieldSchema, value: &Value) -> Result<Value> {
    if field.field_type != FieldType::DateTime {
        return Ok(value.clone());
    }
    match value {
        Value::String(s) => to_espo_datetime(s)
            .map(Value::String)
            .ok_or_else(|| bad_datetime(&schema.entity, &field.name, s)),
        Value::Array(items) => items
            .iter()
            .map(|v| convert(schema, field, v))
            .collect::<Result<Vec<_>>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

fn leaf(kind: &str, attribute: &str, value: Option<Value>) -> Value {
    match value {
        Some(v) => json!({"type": kind, "attribute": attribute, "value": v}),
        None => json!({"type": kind, "attribute": attribute}),
    }
}

fn as_list(value: Value) -> Value {
    match value {
        Value::Array(_) => value,
        single => Value::Array(vec![single]),
    }
}

/// One condition as a where item.
fn item(c: &Condition, schema: &EntitySchema) -> Result<Value> {
    let field = schema.require_field(&c.field)?;
    let attr = field.name.as_str();
    let value = convert(schema, field, &c.value)?;
    let ft = field.field_type;
    // a link-multiple's where attribute is the link (`teamsIds` → `teams`)
    let link = attr.strip_suffix("Ids").unwrap_or(attr);
    let textual = matches!(
        ft,
        FieldType::Text | FieldType::LongText | FieldType::Enum | FieldType::Url
    );
    Ok(match (c.op, ft) {
        (FilterOp::Eq, FieldType::Boolean) if value.is_boolean() => leaf(
            if value == Value::Bool(true) {
                "isTrue"
            } else {
                "isFalse"
            },
            attr,
            None,
        ),
        (FilterOp::Ne, FieldType::Boolean) if value.is_boolean() => leaf(
            if value == Value::Bool(true) {
                "isFalse"
            } else {
                "isTrue"
            },
            attr,
            None,
        ),
        (FilterOp::Eq | FilterOp::In, FieldType::MultiEnum) => {
            leaf("arrayAnyOf", attr, Some(as_list(value)))
        }
        (FilterOp::Ne | FilterOp::NotIn, FieldType::MultiEnum) => {
            leaf("arrayNoneOf", attr, Some(as_list(value)))
        }
        (FilterOp::Eq | FilterOp::In, FieldType::References) => {
            leaf("linkedWith", link, Some(as_list(value)))
        }
        (FilterOp::Ne | FilterOp::NotIn, FieldType::References) => {
            leaf("notLinkedWith", link, Some(as_list(value)))
        }
        (FilterOp::IsNull, FieldType::MultiEnum) => leaf("arrayIsEmpty", attr, None),
        (FilterOp::IsNotNull, FieldType::MultiEnum) => leaf("arrayIsNotEmpty", attr, None),
        (FilterOp::IsNull, FieldType::References) => leaf("isNotLinked", link, None),
        (FilterOp::IsNotNull, FieldType::References) => leaf("isLinked", link, None),
        (FilterOp::Eq, _) => leaf("equals", attr, Some(value)),
        (FilterOp::Ne, _) => json!({"type": "or", "value": [
            leaf("notEquals", attr, Some(value)),
            leaf("isNull", attr, None),
        ]}),
        (FilterOp::In, _) => leaf("in", attr, Some(as_list(value))),
        (FilterOp::NotIn, _) => json!({"type": "or", "value": [
            leaf("notIn", attr, Some(as_list(value))),
            leaf("isNull", attr, None),
        ]}),
        (FilterOp::Gt, _) => leaf("greaterThan", attr, Some(value)),
        (FilterOp::Gte, _) => leaf("greaterThanOrEquals", attr, Some(value)),
        (FilterOp::Lt, _) => leaf("lessThan", attr, Some(value)),
        (FilterOp::Lte, _) => leaf("lessThanOrEquals", attr, Some(value)),
        (FilterOp::Between, _) => leaf("between", attr, Some(value)),
        (FilterOp::Contains, _) => leaf("contains", attr, Some(value)),
        (FilterOp::StartsWith, _) => leaf("startsWith", attr, Some(value)),
        (FilterOp::IsNull, _) if textual => json!({"type": "or", "value": [
            leaf("isNull", attr, None),
            leaf("equals", attr, Some(json!(""))),
        ]}),
        (FilterOp::IsNotNull, _) if textual => json!({"type": "and", "value": [
            leaf("isNotNull", attr, None),
            leaf("notEquals", attr, Some(json!(""))),
        ]}),
        (FilterOp::IsNull, _) => leaf("isNull", attr, None),
        (FilterOp::IsNotNull, _) => leaf("isNotNull", attr, None),
    })
}
