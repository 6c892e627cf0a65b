//! Canonical filters → BottleCRM list query parameters.
//!
//! BottleCRM filters a handful of fields per entity, each in one way only (`city` contains,
//! `source` exact, `status` repeatable, dates by `__gte`/`__lte`), and ignores or mangles what
//! it does not know: an unknown enum value silently matches nothing (lead `source=campaign`) or
//! is dropped so that *everything* matches (task `status=new`). So every condition is checked
//! here against a per-field table and its value against the field's enum before anything is
//! sent; what BottleCRM cannot run is refused with `UNSUPPORTED_FILTER` naming what it can.
//! Nothing is ever filtered on the gateway side.

use crate::entities::Entity;

mod table;
use crate::ids;
use crmgate_core::filter::{Condition, Filter, FilterOp, SortKey};
use crmgate_core::schema::{EntitySchema, FieldType};
use crmgate_core::{Error, ErrorCode, Result};
use serde_json::Value;
pub use table::*;

/// A search translated for BottleCRM.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Query parameters (filters, `search`, `sort`, `slim`), without `limit`/`offset`.
    pub params: Vec<(String, String)>,
    /// Which sections of a two-section list to read, in order (`[0]` for one-section lists).
    pub sections: Vec<usize>,
}

fn unsupported(entity: Entity, message: String) -> Error {
    Error::new(
        ErrorCode::UnsupportedFilter,
        message,
        format!(
            "BottleCRM filters {} by: {}; or use query to search {}",
            entity.spec().name,
            supported_list(entity),
            query_fields(entity)
        ),
    )
}

/// The number of sections an entity's list has.
pub fn section_count(entity: Entity) -> usize {
    match entity {
        Entity::Leads | Entity::Accounts => 2,
        _ => 1,
    }
}

/// Translate a checked filter and sort for `entity`. Refuses, naming what works, anything
/// BottleCRM cannot run exactly.
pub fn plan(
    entity: Entity,
    schema: &EntitySchema,
    filter: &Filter,
    sort: &[SortKey],
) -> Result<Plan> {
    let mut conditions: Vec<&Condition> = filter.all.iter().collect();
    match filter.any.len() {
        0 => {}
        1 => conditions.extend(filter.any[0].iter()),
        _ => {
            return Err(unsupported(
                entity,
                "BottleCRM cannot combine conditions with OR (any has several groups)".into(),
            ));
        }
    }
    let mut plan = Plan {
        params: Vec::new(),
        sections: (0..section_count(entity)).collect(),
    };
    let mut used: Vec<(&str, &'static str)> = Vec::new();
    for c in conditions {
        let spec = fields(entity).iter().find(|f| f.field == c.field);
        let Some(spec) = spec.filter(|s| s.kind.ops().contains(&c.op)) else {
            return Err(unsupported(
                entity,
                format!(
                    "BottleCRM cannot filter {} by {} {}",
                    entity.spec().name,
                    c.field,
                    c.op.as_str()
                ),
            ));
        };
        let slot = match (spec.kind, c.op) {
            (Kind::Dates { .. } | Kind::Numbers { .. }, FilterOp::Gte) => "gte",
            (Kind::Dates { .. } | Kind::Numbers { .. }, FilterOp::Lte) => "lte",
            _ => "all",
        };
        let clashes = used
            .iter()
            .any(|(field, s)| *field == c.field && (*s == slot || *s == "all" || slot == "all"));
        if clashes {
            return Err(Error::validation(
                format!("{} is filtered twice", c.field),
                "give each field one condition (use in for several values, between for a range)",
            ));
        }
        used.push((spec.field, slot));
        translate(entity, schema, spec, c, &mut plan)?;
    }
    if let Some(q) = filter
        .query
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
    {
        plan.params.push(("search".into(), q.to_owned()));
    }
    match sort {
        [] => {}
        [key] if entity == Entity::Invoices && INVOICE_SORT.contains(&key.field.as_str()) => {
            let dir = if key.descending { "-" } else { "" };
            plan.params
                .push(("sort".into(), format!("{dir}{}", key.field)));
        }
        _ => {
            let how = if entity == Entity::Invoices {
                format!("sort invoices by one field of: {}", INVOICE_SORT.join(", "))
            } else {
                format!(
                    "BottleCRM lists {} in its own fixed order; leave sort out",
                    entity.spec().name
                )
            };
            return Err(Error::new(
                ErrorCode::UnsupportedFilter,
                format!("BottleCRM cannot sort {} this way", entity.spec().name),
                how,
            ));
        }
    }
    if entity.spec().slim {
        plan.params.push(("slim".into(), "true".into()));
    }
    Ok(plan)
}

fn translate(
    entity: Entity,
    schema: &EntitySchema,
    spec: &FilterField,
    c: &Condition,
    plan: &mut Plan,
) -> Result<()> {
    let values: Vec<&Value> = match (&c.value, c.op) {
        (Value::Array(items), FilterOp::In | FilterOp::Between) => items.iter().collect(),
        (v, _) => vec![v],
    };
    match spec.kind {
        Kind::Exact | Kind::Choice => {
            let texts = values
                .iter()
                .map(|v| text(c, v))
                .collect::<Result<Vec<_>>>()?;
            for t in &texts {
                check_option(schema, c, t)?;
            }
            if entity == Entity::Leads && spec.field == "status" {
                plan.sections = lead_sections(&texts)?;
            }
            for t in texts {
                plan.params.push((spec.param.into(), t));
            }
        }
        Kind::Ids | Kind::Id => {
            for v in values {
                let t = text(c, v)?;
                let id = ids::canonical(&t).ok_or_else(|| {
                    Error::validation(
                        format!("filter on {}: {t:?} is not a BottleCRM id", c.field),
                        "BottleCRM ids are UUIDs like 5f0c2a8e-8a3d-4e0b-9d7e-1b2c3d4e5f60",
                    )
                })?;
                plan.params.push((spec.param.into(), id));
            }
        }
        Kind::Contains => plan.params.push((spec.param.into(), text(c, values[0])?)),
        Kind::Bool => plan
            .params
            .push((spec.param.into(), boolean(c, values[0])?.to_string())),
        Kind::Section => {
            let active = boolean(c, values[0])?;
            plan.sections = vec![if active { 0 } else { 1 }];
        }
        Kind::Dates { gte, lte } | Kind::Numbers { gte, lte } => {
            let is_date = matches!(spec.kind, Kind::Dates { .. });
            let bound = |v: &Value| {
                if is_date {
                    date(schema, c, v)
                } else {
                    number(c, v)
                }
            };
            match c.op {
                FilterOp::Gte => plan.params.push((gte.into(), bound(values[0])?)),
                FilterOp::Lte => plan.params.push((lte.into(), bound(values[0])?)),
                _ => {
                    plan.params.push((gte.into(), bound(values[0])?));
                    plan.params.push((lte.into(), bound(values[1])?));
                }
            }
        }
    }
    Ok(())
}

/// Leads: which sections a status filter reads; `converted` is refused (never listed).
fn lead_sections(statuses: &[String]) -> Result<Vec<usize>> {
    if statuses.iter().any(|s| s == "converted") {
        return Err(Error::new(
            ErrorCode::UnsupportedFilter,
            "BottleCRM never lists converted leads (status converted matches nothing)",
            "read a converted lead by id with crm_get, or search its account, contact or \
             opportunity instead",
        ));
    }
    let mut sections = Vec::new();
    if statuses.iter().any(|s| s != "closed") {
        sections.push(0);
    }
    if statuses.iter().any(|s| s == "closed") {
        sections.push(1);
    }
    Ok(sections)
}

fn text(c: &Condition, v: &Value) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(Error::validation(
            format!("filter on {}: the value must be text", c.field),
            "pass a string value",
        )),
    }
}

fn boolean(c: &Condition, v: &Value) -> Result<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
        _ => Err(Error::validation(
            format!("filter on {}: the value must be true or false", c.field),
            "pass true or false",
        )),
    }
}

fn number(c: &Condition, v: &Value) -> Result<String> {
    match v {
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) if s.trim().parse::<f64>().is_ok() => Ok(s.trim().to_owned()),
        _ => Err(Error::validation(
            format!("filter on {}: the bound must be a number", c.field),
            "pass a number such as 20000",
        )),
    }
}

fn date(schema: &EntitySchema, c: &Condition, v: &Value) -> Result<String> {
    let s = v.as_str().unwrap_or_default();
    let is_date = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if is_date {
        return Ok(s.to_owned());
    }
    let datetime = schema
        .field(&c.field)
        .is_some_and(|f| f.field_type == FieldType::DateTime);
    Err(Error::validation(
        format!("filter on {}: {v} is not a date", c.field),
        if datetime {
            "BottleCRM filters this date-time by day: pass a date as YYYY-MM-DD (it compares \
             from the start of that day)"
        } else {
            "pass a date as YYYY-MM-DD"
        },
    ))
}

fn check_option(schema: &EntitySchema, c: &Condition, value: &str) -> Result<()> {
    let Some(field) = schema.field(&c.field) else {
        return Ok(());
    };
    if field.options.is_empty() || field.options.iter().any(|o| o.value == value) {
        return Ok(());
    }
    let allowed: Vec<String> = field
        .options
        .iter()
        .map(|o| format!("{} ({})", o.value, o.label))
        .collect();
    let by_label = field
        .options
        .iter()
        .find(|o| o.label.eq_ignore_ascii_case(value) || o.value.eq_ignore_ascii_case(value));
    let hint = by_label
        .map(|o| format!("send the value {:?}; ", o.value))
        .unwrap_or_default();
    Err(Error::validation(
        format!(
            "filter on {}: {value:?} is not one of its values (BottleCRM would silently match \
             nothing or everything)",
            c.field
        ),
        format!("{hint}allowed: {}", allowed.join(", ")),
    ))
}

#[cfg(test)]
mod tests;
