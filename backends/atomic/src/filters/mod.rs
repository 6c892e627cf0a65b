//! The canonical filter → the store's condition tree ([`Cond`]), per field type, so that what
//! the database returns is exactly what the filter means in crmgate's model: text equality
//! ignores case (an escaped `ILIKE`), `ne` / `not_in` keep empty fields, a reference array
//! (`deals.contact_ids`, `contacts.tags`) "equals" an id when it contains it, and an empty
//! field is NULL or `''` (or `{}`). Operators a field type cannot take are refused here with
//! a clear error instead of a confusing database one. Pure; no I/O.

use crate::store::{Cast, CmpOp, Cond, Order};
use crate::timefmt::parse_timestamp;
use crmgate_core::filter::{Condition, Filter, FilterOp, SortKey};
use crmgate_core::schema::{EntitySchema, FieldSchema, FieldType};
use crmgate_core::{Error, ErrorCode, Result};
use serde_json::Value;

/// How a field filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Category {
    /// Case-insensitive text.
    Text,
    /// Ordered scalar with its database type.
    Scalar(Cast),
    /// Array of ids.
    Ids,
    /// JSON document: only emptiness.
    Json,
}

/// The operators a field of this type runs (what [`condition`] translates): text takes every
/// operator, ordered scalars all but text matching, id arrays membership and emptiness, JSON
/// emptiness only.
pub fn ops_for(ty: FieldType) -> &'static [FilterOp] {
    use FilterOp::*;
    match category(ty) {
        Category::Text => &FilterOp::ALL,
        Category::Scalar(_) => &[
            Eq, Ne, Gt, Gte, Lt, Lte, In, NotIn, IsNull, IsNotNull, Between,
        ],
        Category::Ids => &[Eq, Ne, In, NotIn, IsNull, IsNotNull],
        Category::Json => &[IsNull, IsNotNull],
    }
}

fn category(ty: FieldType) -> Category {
    match ty {
        FieldType::Id | FieldType::Reference | FieldType::Integer => Category::Scalar(Cast::BigInt),
        FieldType::Number | FieldType::Money => Category::Scalar(Cast::Numeric),
        FieldType::Boolean => Category::Scalar(Cast::Boolean),
        FieldType::Date => Category::Scalar(Cast::Date),
        FieldType::DateTime => Category::Scalar(Cast::Timestamptz),
        FieldType::References => Category::Ids,
        FieldType::Json => Category::Json,
        _ => Category::Text,
    }
}

/// The conditions of a search: `where` items, `any` groups and the free-text query over
/// `search_columns` (those the schema has).
pub fn conditions(
    filter: &Filter,
    schema: &EntitySchema,
    search_columns: &[&str],
) -> Result<Vec<Cond>> {
    let mut out = Vec::with_capacity(filter.all.len() + 2);
    for c in &filter.all {
        out.push(condition(c, schema)?);
    }
    if !filter.any.is_empty() {
        let mut groups = Vec::with_capacity(filter.any.len());
        for group in &filter.any {
            let conds = group
                .iter()
                .map(|c| condition(c, schema))
                .collect::<Result<Vec<_>>>()?;
            groups.push(and(conds));
        }
        out.push(or(groups));
    }
    if let Some(query) = filter
        .query
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
    {
        let pattern = format!("%{}%", escape_like(query));
        let columns: Vec<Cond> = search_columns
            .iter()
            .filter(|c| schema.field(c).is_some())
            .map(|c| Cond::ILike {
                column: (*c).to_owned(),
                pattern: pattern.clone(),
            })
            .collect();
        if !columns.is_empty() {
            out.push(or(columns));
        }
    }
    Ok(out)
}

/// One `where` item.
pub fn condition(c: &Condition, schema: &EntitySchema) -> Result<Cond> {
    let field = schema.require_field(&c.field)?;
    let column = field.name.clone();
    let cat = category(field.field_type);
    let op = c.op;
    match cat {
        Category::Text => text_condition(column, op, &c.value, field),
        Category::Scalar(cast) => scalar_condition(column, op, &c.value, field, cast),
        Category::Ids => ids_condition(column, op, &c.value, field),
        Category::Json => match op {
            FilterOp::IsNull => Ok(Cond::IsNull(column)),
            FilterOp::IsNotNull => Ok(Cond::IsNull(column).not()),
            _ => Err(unsupported(field, op, json_hint(&field.name))),
        },
    }
}

fn text_condition(
    column: String,
    op: FilterOp,
    value: &Value,
    field: &FieldSchema,
) -> Result<Cond> {
    let like = |v: &Value| -> Result<Cond> {
        Ok(Cond::ILike {
            column: column.clone(),
            pattern: escape_like(&text_value(v, field)?),
        })
    };
    let cmp = |op: CmpOp, v: &Value| -> Result<Cond> {
        Ok(Cond::Cmp {
            column: column.clone(),
            op,
            value: text_value(v, field)?,
            cast: Cast::Text,
        })
    };
    let empty = |op: CmpOp| Cond::Cmp {
        column: column.clone(),
        op,
        value: String::new(),
        cast: Cast::Text,
    };
    Ok(match op {
        FilterOp::Eq => like(value)?,
        FilterOp::Ne => or(vec![Cond::IsNull(column.clone()), like(value)?.not()]),
        FilterOp::In => or(items(value)?.iter().map(like).collect::<Result<_>>()?),
        FilterOp::NotIn => {
            let each = items(value)?
                .iter()
                .map(|v| like(v).map(Cond::not))
                .collect::<Result<_>>()?;
            or(vec![Cond::IsNull(column.clone()), and(each)])
        }
        FilterOp::Contains => Cond::ILike {
            column,
            pattern: format!("%{}%", escape_like(&text_value(value, field)?)),
        },
        FilterOp::StartsWith => Cond::ILike {
            column,
            pattern: format!("{}%", escape_like(&text_value(value, field)?)),
        },
        FilterOp::Gt => cmp(CmpOp::Gt, value)?,
        FilterOp::Gte => cmp(CmpOp::Gte, value)?,
        FilterOp::Lt => cmp(CmpOp::Lt, value)?,
        FilterOp::Lte => cmp(CmpOp::Lte, value)?,
        FilterOp::Between => {
            let (low, high) = bounds(value)?;
            and(vec![cmp(CmpOp::Gte, low)?, cmp(CmpOp::Lte, high)?])
        }
        FilterOp::IsNull => or(vec![Cond::IsNull(column.clone()), empty(CmpOp::Eq)]),
        FilterOp::IsNotNull => and(vec![Cond::IsNull(column.clone()).not(), empty(CmpOp::Neq)]),
    })
}

fn scalar_condition(
    column: String,
    op: FilterOp,
    value: &Value,
    field: &FieldSchema,
    cast: Cast,
) -> Result<Cond> {
    let cmp = |op: CmpOp, v: &Value| -> Result<Cond> {
        Ok(Cond::Cmp {
            column: column.clone(),
            op,
            value: scalar_value(v, field, cast)?,
            cast,
        })
    };
    let list = |v: &Value| -> Result<Cond> {
        Ok(Cond::In {
            column: column.clone(),
            values: items(v)?
                .iter()
                .map(|i| scalar_value(i, field, cast))
                .collect::<Result<_>>()?,
            cast,
        })
    };
    Ok(match op {
        FilterOp::Eq => cmp(CmpOp::Eq, value)?,
        FilterOp::Ne => Cond::Distinct {
            column,
            value: scalar_value(value, field, cast)?,
            cast,
        },
        FilterOp::In => list(value)?,
        FilterOp::NotIn => or(vec![Cond::IsNull(column.clone()), list(value)?.not()]),
        FilterOp::Gt => cmp(CmpOp::Gt, value)?,
        FilterOp::Gte => cmp(CmpOp::Gte, value)?,
        FilterOp::Lt => cmp(CmpOp::Lt, value)?,
        FilterOp::Lte => cmp(CmpOp::Lte, value)?,
        FilterOp::Between => {
            let (low, high) = bounds(value)?;
            and(vec![cmp(CmpOp::Gte, low)?, cmp(CmpOp::Lte, high)?])
        }
        FilterOp::IsNull => Cond::IsNull(column),
        FilterOp::IsNotNull => Cond::IsNull(column).not(),
        FilterOp::Contains | FilterOp::StartsWith => {
            return Err(unsupported(
                field,
                op,
                "contains and starts_with work on text fields; use eq, in, gt, lt or between"
                    .into(),
            ));
        }
    })
}

fn ids_condition(column: String, op: FilterOp, value: &Value, field: &FieldSchema) -> Result<Cond> {
    let id = |v: &Value| scalar_value(v, field, Cast::BigInt);
    let has = |v: &Value| -> Result<Cond> {
        Ok(Cond::ArrayHas {
            column: column.clone(),
            value: id(v)?,
        })
    };
    let overlaps = |v: &Value| -> Result<Cond> {
        Ok(Cond::ArrayOverlaps {
            column: column.clone(),
            values: items(v)?.iter().map(id).collect::<Result<_>>()?,
        })
    };
    Ok(match op {
        FilterOp::Eq => has(value)?,
        FilterOp::Ne => or(vec![Cond::IsNull(column.clone()), has(value)?.not()]),
        FilterOp::In => overlaps(value)?,
        FilterOp::NotIn => or(vec![Cond::IsNull(column.clone()), overlaps(value)?.not()]),
        FilterOp::IsNull => or(vec![Cond::IsNull(column.clone()), Cond::ArrayEmpty(column)]),
        FilterOp::IsNotNull => and(vec![
            Cond::IsNull(column.clone()).not(),
            Cond::ArrayEmpty(column).not(),
        ]),
        _ => {
            return Err(unsupported(
                field,
                op,
                "on a list of ids use eq (contains this id), ne, in (contains any), not_in, \
                 is_null or is_not_null"
                    .into(),
            ));
        }
    })
}

/// Sort keys → the store's order (the store appends `id`).
pub fn order(sort: &[SortKey]) -> Vec<Order> {
    sort.iter()
        .map(|k| Order {
            column: k.field.clone(),
            desc: k.descending,
        })
        .collect()
}

/// Escape `\`, `%` and `_` so a value matches itself in a LIKE pattern.
pub fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn or(mut conds: Vec<Cond>) -> Cond {
    if conds.len() == 1 {
        conds.remove(0)
    } else {
        Cond::Or(conds)
    }
}

fn and(mut conds: Vec<Cond>) -> Cond {
    if conds.len() == 1 {
        conds.remove(0)
    } else {
        Cond::And(conds)
    }
}

fn items(value: &Value) -> Result<&[Value]> {
    match value {
        Value::Array(items) if !items.is_empty() => Ok(items),
        _ => Err(Error::validation(
            "in / not_in need a non-empty array of values",
            "pass value: [\"a\", \"b\"]",
        )),
    }
}

fn bounds(value: &Value) -> Result<(&Value, &Value)> {
    match value {
        Value::Array(items) if items.len() == 2 => Ok((&items[0], &items[1])),
        _ => Err(Error::validation(
            "between needs [low, high]",
            "pass value: [low, high]",
        )),
    }
}

fn text_value(value: &Value, field: &FieldSchema) -> Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(Error::validation(
            format!("filter on {}: the value must be text", field.name),
            "pass a string",
        )),
    }
}

/// A scalar value as text the database casts, checked for its type first.
fn scalar_value(value: &Value, field: &FieldSchema, cast: Cast) -> Result<String> {
    let bad = |expected: &str| {
        Error::validation(
            format!("filter on {}: the value must be {expected}", field.name),
            format!("pass {expected}"),
        )
    };
    match cast {
        Cast::BigInt => match value {
            Value::Number(n) if n.is_i64() => Ok(n.to_string()),
            Value::String(s) if s.trim().parse::<i64>().is_ok() => Ok(s.trim().to_owned()),
            _ if field.field_type == FieldType::Integer => Err(bad("a whole number")),
            _ => Err(bad(
                "a record id (a whole number, as crm_search returned it)",
            )),
        },
        Cast::Numeric => match value {
            Value::Number(n) => Ok(n.to_string()),
            Value::String(s) if s.trim().parse::<f64>().is_ok_and(f64::is_finite) => {
                Ok(s.trim().to_owned())
            }
            _ => Err(bad("a number")),
        },
        Cast::Boolean => match value {
            Value::Bool(b) => Ok(b.to_string()),
            Value::String(s) if matches!(s.as_str(), "true" | "false") => Ok(s.clone()),
            _ => Err(bad("true or false")),
        },
        Cast::Date | Cast::Timestamptz => match value {
            Value::String(s) if parse_timestamp(s).is_some() => Ok(s.trim().to_owned()),
            _ if cast == Cast::Date => Err(bad("a date as \"YYYY-MM-DD\"")),
            _ => Err(bad("a date-time as \"YYYY-MM-DDTHH:MM:SSZ\" (or a date)")),
        },
        Cast::Text | Cast::BigIntArray => text_value(value, field),
    }
}

fn unsupported(field: &FieldSchema, op: FilterOp, hint: String) -> Error {
    Error::new(
        ErrorCode::UnsupportedFilter,
        format!(
            "operator {:?} does not apply to {} ({:?})",
            op.as_str(),
            field.name,
            field.field_type
        ),
        hint,
    )
}

fn json_hint(field: &str) -> String {
    match field {
        "email_jsonb" => "filter emails with email_fts (text), e.g. contains \"@acme.com\"".into(),
        "phone_jsonb" => "filter phones with phone_fts (text)".into(),
        _ => "JSON fields only take is_null / is_not_null".into(),
    }
}

#[cfg(test)]
mod tests;
