//! Canonical filters → `crm.item.list` filters, all native: Bitrix's prefix operators
//! (`=`, `!=`, `>`, `>=`, `<`, `<=`, `@`, `!@`, `%`, `=%`), `logic: OR` sub-filters for `any`
//! and free text, and stage semantics (`stageSemanticId` P/S/F, "open deals") resolved to the
//! stage ids of every pipeline from the cached dictionaries. Sort → `order`, kept in order.
//!
//! How the portal reads them (the core's `CSQLWhere`, which runs array filters):
//! - `contains` → `%field`: the portal escapes the value for LIKE (`ForLIKE`), so `%`, `_`
//!   and `!` in it are literal — sent as typed.
//! - `starts_with` → `=%field: "value%"`: here the value *is* the LIKE pattern, unescaped
//!   (no `ESCAPE` clause; the docs offer no escape), so a value holding `%`, `_` or `\` cannot
//!   be matched literally and is refused (`UNSUPPORTED_FILTER`, suggesting `contains`).
//! - `is_null` / `is_not_null` on a reference (company, contact, lead, deal, user) →
//!   `=field: 0` / `!=field: 0`: a record without a company stores `0`, and on number columns
//!   the portal reads `= 0` as `IS NULL OR = 0` and `!= 0` as `IS NOT NULL AND <> 0`.
//!
//! Pure functions, no I/O.

use crate::map::dicts::{Dictionaries, Semantics};
use crate::map::fields::{EntityMeta, LABELS, is_reference};
use crate::map::record::write_value;
use crmgate_core::filter::{Condition, Filter, FilterOp, SortKey};
use crmgate_core::{Error, ErrorCode, Result};
use serde_json::{Map, Value, json};

/// Every operator runs natively on `crm.item.list`.
pub const NATIVE_OPS: [FilterOp; 13] = FilterOp::ALL;

/// Fields searched by free text (`query`), when the entity has them.
const TEXT_FIELDS: [&str; 5] = ["title", "name", "lastName", "secondName", "companyTitle"];

/// The `filter` of `crm.item.list` for a canonical filter.
pub fn translate(
    filter: &Filter,
    meta: &EntityMeta,
    dicts: &Dictionaries,
) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for condition in &filter.all {
        for (key, value) in condition_pairs(condition, meta, dicts)? {
            push(&mut out, key, value);
        }
    }
    if !filter.any.is_empty() {
        let mut or = Map::new();
        or.insert("logic".into(), json!("OR"));
        for (i, group) in filter.any.iter().enumerate() {
            let mut and = Map::new();
            for condition in group {
                for (key, value) in condition_pairs(condition, meta, dicts)? {
                    push(&mut and, key, value);
                }
            }
            or.insert(i.to_string(), Value::Object(and));
        }
        push_group(&mut out, or);
    }
    if let Some(query) = &filter.query {
        let fields: Vec<&str> = TEXT_FIELDS
            .iter()
            .copied()
            .filter(|f| meta.field(f).is_some())
            .collect();
        if fields.is_empty() {
            return Err(Error::new(
                ErrorCode::UnsupportedFilter,
                format!("{} has no text field to search", meta.schema.entity),
                "use where with a field of crm_describe instead of query",
            ));
        }
        let mut or = Map::new();
        or.insert("logic".into(), json!("OR"));
        for (i, f) in fields.iter().enumerate() {
            or.insert(i.to_string(), json!({ format!("%{f}"): query }));
        }
        push_group(&mut out, or);
    }
    Ok(out)
}

/// Insert `key`, or nest it in a numbered AND sub-filter when the key is already taken (two
/// conditions with the same operator on the same field).
pub fn push(out: &mut Map<String, Value>, key: String, value: Value) {
    if out.contains_key(&key) {
        let mut single = Map::new();
        single.insert(key, value);
        push_group(out, single);
    } else {
        out.insert(key, value);
    }
}

fn push_group(out: &mut Map<String, Value>, group: Map<String, Value>) {
    let n = (0..)
        .find(|i: &usize| !out.contains_key(&i.to_string()))
        .unwrap_or(0);
    out.insert(n.to_string(), Value::Object(group));
}

fn condition_pairs(
    c: &Condition,
    meta: &EntityMeta,
    dicts: &Dictionaries,
) -> Result<Vec<(String, Value)>> {
    let entity = &meta.schema.entity;
    if c.field == LABELS {
        return Err(Error::new(
            ErrorCode::UnsupportedFilter,
            format!("{entity}.labels is computed by crmgate and cannot be filtered"),
            "filter on the id field the label names (e.g. assignedById, stageId)",
        ));
    }
    let Some(m) = meta.field(&c.field) else {
        return Err(Error::unknown_field(
            entity,
            &c.field,
            meta.schema.field_names(),
        ));
    };
    if c.field == "stageSemanticId" {
        return semantic_pairs(c, meta.entity_type_id, dicts);
    }
    let textual = matches!(m.btype.as_str(), "string" | "text" | "url") && !m.multiple;
    if matches!(c.op, FilterOp::Contains | FilterOp::StartsWith) && !textual {
        return Err(Error::new(
            ErrorCode::UnsupportedFilter,
            format!(
                "{} on {entity}.{} is not supported: Bitrix24 runs text matching only on text fields",
                c.op.as_str(),
                c.field
            ),
            "use eq or in with the field's values (crm_describe lists them)",
        ));
    }
    if m.btype == "crm_multifield" {
        return Err(Error::new(
            ErrorCode::UnsupportedFilter,
            format!(
                "{entity}.{} (phones, e-mails) cannot be filtered in crm.item.list",
                c.field
            ),
            "search by name or title with query, or use crm_call crm.duplicate.findbycomm to find records by phone or e-mail",
        ));
    }
    if c.op == FilterOp::StartsWith
        && let Some(text) = c.value.as_str()
        && text.contains(['%', '_', '\\'])
    {
        return Err(Error::new(
            ErrorCode::UnsupportedFilter,
            format!(
                "starts_with {text:?} on {entity}.{}: Bitrix24 reads %, _ and \\ in a starts_with \
                 value as wildcards, and offers no escape for them",
                c.field
            ),
            "use contains (Bitrix24 matches its value literally, % and _ included), or eq for \
             the whole value",
        ));
    }
    let f = &c.field;
    let v = |value: &Value| write_value(m, value);
    let none = is_reference(&m.btype) && !m.multiple;
    Ok(match c.op {
        FilterOp::Eq => vec![(format!("={f}"), v(&c.value))],
        FilterOp::Ne => vec![(format!("!={f}"), v(&c.value))],
        FilterOp::Gt => vec![(format!(">{f}"), v(&c.value))],
        FilterOp::Gte => vec![(format!(">={f}"), v(&c.value))],
        FilterOp::Lt => vec![(format!("<{f}"), v(&c.value))],
        FilterOp::Lte => vec![(format!("<={f}"), v(&c.value))],
        FilterOp::In => vec![(format!("@{f}"), v(&c.value))],
        FilterOp::NotIn => vec![(format!("!@{f}"), v(&c.value))],
        FilterOp::Contains => vec![(format!("%{f}"), c.value.clone())],
        FilterOp::StartsWith => vec![(
            format!("=%{f}"),
            Value::String(format!("{}%", c.value.as_str().unwrap_or_default())),
        )],
        // no company / contact / responsible is stored as 0
        FilterOp::IsNull if none => vec![(format!("={f}"), json!(0))],
        FilterOp::IsNotNull if none => vec![(format!("!={f}"), json!(0))],
        FilterOp::IsNull => vec![(format!("={f}"), Value::Null)],
        FilterOp::IsNotNull => vec![(format!("!={f}"), Value::Null)],
        FilterOp::Between => {
            let bounds = c.value.as_array().cloned().unwrap_or_default();
            let (low, high) = match bounds.as_slice() {
                [low, high] => (low, high),
                _ => {
                    return Err(Error::validation(
                        format!("between on {f} needs [low, high]"),
                        "pass value: [low, high]",
                    ));
                }
            };
            vec![(format!(">={f}"), v(low)), (format!("<={f}"), v(high))]
        }
    })
}

/// `stageSemanticId` conditions → `@stageId` / `!@stageId` over every pipeline's stages.
fn semantic_pairs(
    c: &Condition,
    entity_type_id: i64,
    dicts: &Dictionaries,
) -> Result<Vec<(String, Value)>> {
    let bad = || {
        Error::validation(
            format!(
                "stageSemanticId {} {}: not a stage semantics",
                c.op.as_str(),
                c.value
            ),
            "use P (in progress / open), S (success / won) or F (failure / lost), with eq, ne, in or not_in",
        )
    };
    let wanted: Vec<Semantics> = match &c.value {
        Value::String(s) => vec![Semantics::parse(s).ok_or_else(bad)?],
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().and_then(Semantics::parse).ok_or_else(bad))
            .collect::<Result<_>>()?,
        _ => return Err(bad()),
    };
    let ids: Vec<Value> = wanted
        .iter()
        .flat_map(|s| dicts.stage_ids(entity_type_id, *s))
        .map(Value::String)
        .collect();
    let positive = match c.op {
        FilterOp::Eq | FilterOp::In => true,
        FilterOp::Ne | FilterOp::NotIn => false,
        _ => return Err(bad()),
    };
    Ok(match (positive, ids.is_empty()) {
        // no stage has that semantics: nothing matches / everything matches
        (true, true) => vec![("=id".into(), json!(0))],
        (false, true) => vec![(">id".into(), json!(0))],
        (true, false) => vec![("@stageId".into(), Value::Array(ids))],
        (false, false) => vec![("!@stageId".into(), Value::Array(ids))],
    })
}

/// `order` as `[[field, "ASC"|"DESC"], …]` (serialised as an object in this order), with `id`
/// added as the last key so that offsets are stable.
pub fn order(sort: &[SortKey], meta: &EntityMeta) -> Result<Vec<(String, &'static str)>> {
    let mut out = Vec::new();
    for key in sort {
        if key.field == LABELS || meta.field(&key.field).is_none() {
            return Err(Error::new(
                ErrorCode::UnsupportedFilter,
                format!("{}.{} cannot be sorted on", meta.schema.entity, key.field),
                "sort on a field crm_describe lists (labels is computed by crmgate)",
            ));
        }
        out.push((
            key.field.clone(),
            if key.descending { "DESC" } else { "ASC" },
        ));
    }
    if !out.iter().any(|(f, _)| f == "id") {
        out.push(("id".into(), "ASC"));
    }
    Ok(out)
}

/// `order` pairs as the JSON the client serialises in order.
pub fn order_value(order: &[(String, &'static str)]) -> Value {
    Value::Array(order.iter().map(|(f, d)| json!([f, d])).collect())
}
