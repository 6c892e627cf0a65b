//! The filter language: `where` (AND), `any` (OR of ANDs), `query` (free text) and `sort`.
//!
//! [`Filter::check`] validates a filter against an entity's schema and the operators the backend
//! claims, before anything reaches the backend. [`Condition::matches`] evaluates a condition on
//! a record's fields in memory; the demo backend uses it, and so can a vendor backend that must
//! finish a filter on its own side (saying so in `applied`).

use crate::model::Fields;
use crate::schema::{EntitySchema, FieldSchema, FieldType};
use crate::{Error, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::cmp::Ordering;

/// A filter operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    /// equal
    Eq,
    /// not equal
    Ne,
    /// greater than
    Gt,
    /// greater than or equal
    Gte,
    /// less than
    Lt,
    /// less than or equal
    Lte,
    /// one of an array
    In,
    /// none of an array
    NotIn,
    /// text contains (case-insensitive)
    Contains,
    /// text starts with (case-insensitive)
    StartsWith,
    /// empty / null
    IsNull,
    /// not empty / null
    IsNotNull,
    /// within `[low, high]`, inclusive
    Between,
}

impl FilterOp {
    /// Every operator, in documentation order.
    pub const ALL: [FilterOp; 13] = [
        FilterOp::Eq,
        FilterOp::Ne,
        FilterOp::Gt,
        FilterOp::Gte,
        FilterOp::Lt,
        FilterOp::Lte,
        FilterOp::In,
        FilterOp::NotIn,
        FilterOp::Contains,
        FilterOp::StartsWith,
        FilterOp::IsNull,
        FilterOp::IsNotNull,
        FilterOp::Between,
    ];

    /// The operators that make sense on a field of this type: equality and sets on anything
    /// scalar, order and ranges on numbers and dates, text matching on text, emptiness on all
    /// but ids. A backend narrows this to what its CRM runs (see `FieldSchema::filter_ops`).
    pub fn for_type(field_type: FieldType) -> &'static [FilterOp] {
        use FilterOp::*;
        match field_type {
            FieldType::Id => &[Eq, Ne, In, NotIn],
            FieldType::Text
            | FieldType::LongText
            | FieldType::Email
            | FieldType::Phone
            | FieldType::Url => &[Eq, Ne, In, NotIn, Contains, StartsWith, IsNull, IsNotNull],
            FieldType::Integer
            | FieldType::Number
            | FieldType::Money
            | FieldType::Date
            | FieldType::DateTime => &[
                Eq, Ne, Gt, Gte, Lt, Lte, In, NotIn, IsNull, IsNotNull, Between,
            ],
            FieldType::Boolean => &[Eq, Ne, IsNull, IsNotNull],
            FieldType::Enum
            | FieldType::MultiEnum
            | FieldType::Reference
            | FieldType::References => &[Eq, Ne, In, NotIn, IsNull, IsNotNull],
            FieldType::Json => &[IsNull, IsNotNull],
        }
    }

    /// The wire name (`starts_with`).
    pub fn as_str(self) -> &'static str {
        match self {
            FilterOp::Eq => "eq",
            FilterOp::Ne => "ne",
            FilterOp::Gt => "gt",
            FilterOp::Gte => "gte",
            FilterOp::Lt => "lt",
            FilterOp::Lte => "lte",
            FilterOp::In => "in",
            FilterOp::NotIn => "not_in",
            FilterOp::Contains => "contains",
            FilterOp::StartsWith => "starts_with",
            FilterOp::IsNull => "is_null",
            FilterOp::IsNotNull => "is_not_null",
            FilterOp::Between => "between",
        }
    }

    /// Parse a wire name, or `UNSUPPORTED_FILTER` listing the operators.
    pub fn parse(name: &str) -> Result<FilterOp> {
        FilterOp::ALL
            .into_iter()
            .find(|op| op.as_str() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = FilterOp::ALL.iter().map(|o| o.as_str()).collect();
                let hint = crate::text::did_you_mean(name, names.iter().copied())
                    .map(|b| format!("did you mean {b:?}? "))
                    .unwrap_or_default();
                Error::new(
                    ErrorCode::UnsupportedFilter,
                    format!("unknown filter operator {name:?}"),
                    format!("{hint}operators: {}", names.join(" ")),
                )
            })
    }
}

/// One condition: `{field, op, value}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    /// Native field name.
    pub field: String,
    /// Operator.
    pub op: FilterOp,
    /// Operand (array for in/not_in/between, absent for is_null/is_not_null).
    pub value: Value,
}

/// A sort key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SortKey {
    /// Native field name.
    pub field: String,
    /// Descending order.
    pub descending: bool,
}

/// A whole filter: `where` AND (`any[0]` OR `any[1]` OR …), plus free text.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Filter {
    /// Conditions that must all hold.
    #[serde(rename = "where")]
    pub all: Vec<Condition>,
    /// Groups of which at least one must hold entirely.
    pub any: Vec<Vec<Condition>>,
    /// Free-text query, matched as the backend's own search does.
    pub query: Option<String>,
}

impl Filter {
    /// Every condition, from `where` and every `any` group.
    pub fn conditions(&self) -> impl Iterator<Item = &Condition> {
        self.all.iter().chain(self.any.iter().flatten())
    }

    /// Validate fields, operators and operand shapes against the schema: each operator must be
    /// one the field runs natively (`FieldSchema::filter_ops`) and one the entity claims
    /// (`native_ops`). Refuses clearly what cannot run, naming what can.
    pub fn check(&self, schema: &EntitySchema, native_ops: &[FilterOp]) -> Result<()> {
        for condition in self.conditions() {
            condition.check(schema, native_ops)?;
        }
        Ok(())
    }

    /// Whether the fields satisfy the structured part (`where` and `any`; not `query`).
    pub fn matches(&self, fields: &Fields) -> bool {
        self.all.iter().all(|c| c.matches(fields))
            && (self.any.is_empty()
                || self
                    .any
                    .iter()
                    .any(|group| group.iter().all(|c| c.matches(fields))))
    }
}

impl Condition {
    /// Validate this condition (see [`Filter::check`]).
    pub fn check(&self, schema: &EntitySchema, native_ops: &[FilterOp]) -> Result<()> {
        let field = schema.require_field(&self.field)?;
        if !field.filters_with(self.op) || !native_ops.contains(&self.op) {
            return Err(unsupported_on_field(schema, field, self.op, native_ops));
        }
        let bad = |what: &str| {
            Err(Error::validation(
                format!(
                    "filter on {:?} with {:?}: {what}",
                    self.field,
                    self.op.as_str()
                ),
                "fix the value of this where item",
            ))
        };
        match self.op {
            FilterOp::IsNull | FilterOp::IsNotNull => Ok(()),
            FilterOp::In | FilterOp::NotIn => match &self.value {
                Value::Array(items) if !items.is_empty() => Ok(()),
                _ => bad("value must be a non-empty array"),
            },
            FilterOp::Between => match &self.value {
                Value::Array(items) if items.len() == 2 => Ok(()),
                _ => bad("value must be an array of two bounds [low, high]"),
            },
            FilterOp::Contains | FilterOp::StartsWith => match &self.value {
                Value::String(s) if !s.is_empty() => Ok(()),
                _ => bad("value must be a non-empty string"),
            },
            FilterOp::Gt | FilterOp::Gte | FilterOp::Lt | FilterOp::Lte => match &self.value {
                Value::Number(_) | Value::String(_) => Ok(()),
                _ => bad("value must be a number or a string"),
            },
            FilterOp::Eq | FilterOp::Ne => match &self.value {
                Value::Array(_) | Value::Object(_) => {
                    bad("value must be a single value (use in for several)")
                }
                Value::Null => bad("value is missing (use is_null to find empty fields)"),
                _ => Ok(()),
            },
        }
    }

    /// Evaluate on a record's fields. Text comparisons for `contains` / `starts_with` ignore
    /// case; `eq` on text ignores case too, as CRMs' SQL collations do.
    pub fn matches(&self, fields: &Fields) -> bool {
        let actual = fields.get(&self.field).unwrap_or(&Value::Null);
        match self.op {
            FilterOp::IsNull => is_empty(actual),
            FilterOp::IsNotNull => !is_empty(actual),
            FilterOp::Eq => value_eq(actual, &self.value),
            FilterOp::Ne => !value_eq(actual, &self.value),
            FilterOp::Gt => compare(actual, &self.value) == Some(Ordering::Greater),
            FilterOp::Gte => matches!(
                compare(actual, &self.value),
                Some(Ordering::Greater | Ordering::Equal)
            ),
            FilterOp::Lt => compare(actual, &self.value) == Some(Ordering::Less),
            FilterOp::Lte => matches!(
                compare(actual, &self.value),
                Some(Ordering::Less | Ordering::Equal)
            ),
            FilterOp::In => as_array(&self.value).iter().any(|v| value_eq(actual, v)),
            FilterOp::NotIn => !as_array(&self.value).iter().any(|v| value_eq(actual, v)),
            FilterOp::Contains => text_of(actual)
                .zip(self.value.as_str())
                .is_some_and(|(a, b)| a.to_lowercase().contains(&b.to_lowercase())),
            FilterOp::StartsWith => text_of(actual)
                .zip(self.value.as_str())
                .is_some_and(|(a, b)| a.to_lowercase().starts_with(&b.to_lowercase())),
            FilterOp::Between => {
                let bounds = as_array(&self.value);
                bounds.len() == 2
                    && matches!(
                        compare(actual, &bounds[0]),
                        Some(Ordering::Greater | Ordering::Equal)
                    )
                    && matches!(
                        compare(actual, &bounds[1]),
                        Some(Ordering::Less | Ordering::Equal)
                    )
            }
        }
    }
}

/// `UNSUPPORTED_FILTER` for `op` on `field`, naming what the field runs and, when it runs
/// nothing, which fields do run the operator.
fn unsupported_on_field(
    schema: &EntitySchema,
    field: &FieldSchema,
    op: FilterOp,
    native_ops: &[FilterOp],
) -> Error {
    let runs: Vec<&str> = field
        .filter_ops
        .iter()
        .filter(|o| native_ops.contains(o))
        .map(|o| o.as_str())
        .collect();
    let message = format!(
        "{}.{} cannot be filtered with {:?}",
        schema.entity,
        field.name,
        op.as_str()
    );
    let others: Vec<&str> = schema
        .fields
        .iter()
        .filter(|f| f.filters_with(op) && native_ops.contains(&op))
        .map(|f| f.name.as_str())
        .take(12)
        .collect();
    let elsewhere = if others.is_empty() {
        format!("no field of {} runs {:?}", schema.entity, op.as_str())
    } else {
        format!("{:?} runs on: {}", op.as_str(), others.join(", "))
    };
    let suggestion = if runs.is_empty() {
        format!(
            "{} cannot be filtered at all; {elsewhere}; or use query for free text",
            field.name
        )
    } else {
        format!("{} supports: {}; {elsewhere}", field.name, runs.join(" "))
    };
    Error::new(ErrorCode::UnsupportedFilter, message, suggestion).with_details(
        serde_json::json!({"field": field.name, "op": op.as_str(), "supported": runs}),
    )
}

fn as_array(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn value_eq(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::String(a), Value::String(b)) => {
            a.eq_ignore_ascii_case(b) || a.to_lowercase() == b.to_lowercase()
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        // a multi-value field equals a value when it holds it
        (Value::Array(items), single) if !single.is_array() => {
            items.iter().any(|i| value_eq(i, single))
        }
        (a, b) => a == b,
    }
}

/// Order two values: numbers numerically, strings lexically (ISO dates order correctly),
/// booleans false < true. Mixed or null values do not compare.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{EntitySchema, FieldSchema};
    use serde_json::json;

    fn fields(v: Value) -> Fields {
        v.as_object().unwrap().clone()
    }

    fn cond(field: &str, op: FilterOp, value: Value) -> Condition {
        Condition {
            field: field.into(),
            op,
            value,
        }
    }

    #[test]
    fn every_operator_evaluates() {
        let r = fields(
            json!({"name": "Acme Corp", "amount": 500, "tags": ["vip"], "closed": null, "date": "2026-03-01"}),
        );
        let cases = [
            (cond("name", FilterOp::Eq, json!("acme corp")), true),
            (cond("name", FilterOp::Ne, json!("Other")), true),
            (cond("amount", FilterOp::Gt, json!(499)), true),
            (cond("amount", FilterOp::Gte, json!(500)), true),
            (cond("amount", FilterOp::Lt, json!(500)), false),
            (cond("amount", FilterOp::Lte, json!(500)), true),
            (cond("amount", FilterOp::In, json!([1, 500])), true),
            (cond("amount", FilterOp::NotIn, json!([1, 500])), false),
            (cond("name", FilterOp::Contains, json!("CORP")), true),
            (cond("name", FilterOp::StartsWith, json!("acme")), true),
            (cond("name", FilterOp::StartsWith, json!("corp")), false),
            (cond("closed", FilterOp::IsNull, Value::Null), true),
            (cond("missing", FilterOp::IsNull, Value::Null), true),
            (cond("name", FilterOp::IsNotNull, Value::Null), true),
            (
                cond(
                    "date",
                    FilterOp::Between,
                    json!(["2026-01-01", "2026-12-31"]),
                ),
                true,
            ),
            (cond("amount", FilterOp::Between, json!([501, 900])), false),
            (cond("tags", FilterOp::Eq, json!("vip")), true),
        ];
        for (c, expected) in cases {
            assert_eq!(c.matches(&r), expected, "{c:?}");
        }
    }

    #[test]
    fn any_groups_are_or_of_and() {
        let r = fields(json!({"a": 1, "b": 2}));
        let f = Filter {
            all: vec![cond("a", FilterOp::Eq, json!(1))],
            any: vec![
                vec![cond("b", FilterOp::Eq, json!(3))],
                vec![cond("b", FilterOp::Gt, json!(1))],
            ],
            query: None,
        };
        assert!(f.matches(&r));
        let g = Filter {
            any: vec![vec![cond("b", FilterOp::Eq, json!(3))]],
            ..f
        };
        assert!(!g.matches(&r));
    }

    #[test]
    fn check_refuses_unknown_fields_unclaimed_ops_and_bad_operands() {
        let schema = EntitySchema {
            entity: "deals".into(),
            native: "Deal".into(),
            fields: vec![
                FieldSchema::new("amount", FieldType::Money),
                FieldSchema::new("won", FieldType::Boolean),
                FieldSchema::new("city", FieldType::Text).filter_ops(&[FilterOp::Contains]),
                FieldSchema::new("website", FieldType::Url).filter_ops(&[]),
            ],
            links: vec![],
        };
        let ops = [FilterOp::Eq, FilterOp::In, FilterOp::Gt, FilterOp::Contains];
        let check = |c: Condition| {
            Filter {
                all: vec![c],
                ..Default::default()
            }
            .check(&schema, &ops)
        };
        assert_eq!(
            check(cond("amout", FilterOp::Eq, json!(1)))
                .unwrap_err()
                .code,
            ErrorCode::UnknownField
        );
        assert_eq!(
            check(cond("amount", FilterOp::Lt, json!(1)))
                .unwrap_err()
                .code,
            ErrorCode::UnsupportedFilter
        );
        assert_eq!(
            check(cond("amount", FilterOp::In, json!(5)))
                .unwrap_err()
                .code,
            ErrorCode::Validation
        );
        // booleans do not order: the field does not run gt, whatever the entity claims
        let e = check(cond("won", FilterOp::Gt, json!(1))).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedFilter);
        assert!(e.message.contains("deals.won"), "{}", e.message);
        assert!(
            e.suggestion.contains("won supports: eq"),
            "{}",
            e.suggestion
        );
        assert!(
            e.suggestion.contains("\"gt\" runs on: amount"),
            "{}",
            e.suggestion
        );
        assert!(check(cond("amount", FilterOp::Gt, json!(1))).is_ok());
        // per field: the entity runs eq, this field only contains
        let e = check(cond("city", FilterOp::Eq, json!("Oslo"))).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedFilter);
        assert!(
            e.suggestion.starts_with("city supports: contains"),
            "{}",
            e.suggestion
        );
        assert_eq!(e.details.unwrap()["supported"], json!(["contains"]));
        assert!(check(cond("city", FilterOp::Contains, json!("Os"))).is_ok());
        let e = check(cond("website", FilterOp::Contains, json!("x"))).unwrap_err();
        assert!(
            e.suggestion.contains("cannot be filtered at all"),
            "{}",
            e.suggestion
        );
        assert!(e.suggestion.contains("runs on: city"), "{}", e.suggestion);
        assert_eq!(
            FilterOp::parse("startswith").unwrap_err().code,
            ErrorCode::UnsupportedFilter
        );
        assert!(
            FilterOp::parse("startswith")
                .unwrap_err()
                .suggestion
                .contains("starts_with")
        );
    }
}
