//! The legacy `crm.lead|deal|contact|company.*` methods, as documented: UPPER_CASE names,
//! numbers as strings, multifields (`PHONE`, `EMAIL`, …) as lists of `{ID, VALUE_TYPE, VALUE,
//! TYPE_ID}`, `""` + "Not found" for a missing record.
//!
//! - `.list` honours `select`: `*` is every standard field except custom and multiple ones,
//!   `UF_*` every custom field except multiple ones, multifields only when named; without
//!   `select`, `*` + `UF_*`. Unknown filter fields are ignored; there is no `logic: OR`.
//! - `.add {fields}` answers the new id (`{"result": 3465}`), `.update {id, fields}` and
//!   `.delete {id}` answer `true`.

use super::filter;
use super::items::{change, create, matching, page, param};
use super::spec;
use super::state::Data;
use super::{Answer, ApiError, Reply};
use crate::wire;
use serde_json::{Map, Value, json};

/// Multifield types the legacy API lists under their own names.
const MULTIFIELDS: [&str; 5] = ["PHONE", "EMAIL", "WEB", "IM", "LINK"];

/// The entity type of `crm.lead.*` etc.
pub fn legacy_type(method: &str) -> Option<i64> {
    let entity = method.strip_prefix("crm.")?.split('.').next()?;
    match entity {
        "lead" => Some(1),
        "deal" => Some(2),
        "contact" => Some(3),
        "company" => Some(4),
        _ => None,
    }
}

/// What a legacy `select` asks for.
struct Selection {
    standard: bool,
    custom: bool,
    named: Vec<String>,
}

impl Selection {
    fn of(params: &Value) -> Selection {
        let named: Vec<String> = wire::list(param(params, "select"))
            .iter()
            .filter_map(wire::text)
            .map(|n| n.to_ascii_uppercase())
            .collect();
        if named.is_empty() {
            return Selection {
                standard: true,
                custom: true,
                named,
            };
        }
        Selection {
            standard: named.iter().any(|n| n == "*"),
            custom: named.iter().any(|n| n == "UF_*"),
            named,
        }
    }

    fn wants(&self, field: &spec::Field) -> bool {
        let named = self.named.iter().any(|n| n == field.upper);
        if field.upper == "ID" || named {
            return true;
        }
        if field.multiple {
            return false;
        }
        if field.upper.starts_with("UF_") {
            self.custom
        } else {
            self.standard
        }
    }

    fn wants_multifield(&self, kind: &str) -> bool {
        self.named.iter().any(|n| n == kind)
    }
}

/// An item as the legacy API writes it: numbers as strings, `Y`/`N`, UPPER names.
fn row(etid: i64, item: &Map<String, Value>, selection: &Selection) -> Value {
    let mut out = Map::new();
    for f in spec::fields(etid).unwrap_or_default() {
        if f.btype == "crm_multifield" {
            for kind in MULTIFIELDS {
                if !selection.wants_multifield(kind) {
                    continue;
                }
                let values: Vec<Value> = wire::list(item.get(f.name))
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| i.get("typeId").and_then(Value::as_str) == Some(kind))
                    .map(|(n, i)| {
                        json!({"ID": (n + 1).to_string(), "VALUE_TYPE": i.get("valueType"),
                               "VALUE": i.get("value"), "TYPE_ID": kind})
                    })
                    .collect();
                if !values.is_empty() {
                    out.insert(kind.into(), Value::Array(values));
                }
            }
            continue;
        }
        if !selection.wants(f) {
            continue;
        }
        let v = item.get(f.name).cloned().unwrap_or(Value::Null);
        let v = match v {
            Value::Number(n) => json!(n.to_string()),
            Value::Array(items) => {
                Value::Array(items.iter().map(|i| json!(wire::text(i))).collect())
            }
            v => v,
        };
        out.insert(f.upper.to_owned(), v);
    }
    Value::Object(out)
}

/// `fields` of a legacy write → crm.item names (multifield lists into `fm`); unknown names
/// are ignored, as the portal does.
fn item_fields(etid: i64, fields: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    let mut fm = Vec::new();
    for (upper, value) in fields {
        let upper = upper.to_ascii_uppercase();
        if MULTIFIELDS.contains(&upper.as_str()) {
            for entry in wire::list(Some(value)) {
                fm.push(json!({
                    "typeId": upper,
                    "valueType": entry.get("VALUE_TYPE").cloned().unwrap_or(json!("WORK")),
                    "value": entry.get("VALUE").cloned().unwrap_or(Value::Null),
                }));
            }
            continue;
        }
        if let Some(f) = spec::fields(etid)
            .unwrap_or_default()
            .iter()
            .find(|f| f.upper == upper)
        {
            out.insert(f.name.to_owned(), value.clone());
        }
    }
    if !fm.is_empty() {
        out.insert("fm".into(), Value::Array(fm));
    }
    out
}

fn not_found() -> ApiError {
    ApiError::new(400, "", "Not found")
}

/// A crm.item refusal in the legacy shape (empty code, the description kept).
fn legacy_error(e: ApiError) -> ApiError {
    ApiError::new(e.status, "", &e.description)
}

/// crm.lead.list etc.
pub fn legacy_list(data: &Data, etid: i64, params: &Value) -> Answer {
    let resolve = |upper: &str| {
        spec::fields(etid)?
            .iter()
            .find(|f| f.upper == upper)
            .map(|f| f.name.to_owned())
    };
    let node = filter::compile(
        param(params, "filter").unwrap_or(&Value::Null),
        &resolve,
        false,
    )
    .map_err(|e| ApiError::new(400, "", &e))?;
    let order: Vec<(String, bool)> = filter::order_pairs(param(params, "order"))
        .into_iter()
        .filter_map(|(f, d)| resolve(&f).map(|n| (n, d)))
        .collect();
    let rows = matching(data, etid, &node, &order);
    let start = param(params, "start").and_then(wire::int).unwrap_or(0);
    let selection = Selection::of(params);
    page(rows, start, |r| row(etid, r, &selection), Value::Array)
}

/// crm.lead.get etc.: every field, multifields included.
pub fn legacy_get(data: &Data, etid: i64, params: &Value) -> Answer {
    let id = param(params, "id").and_then(wire::int);
    let item = id
        .and_then(|id| data.items.get(&etid)?.get(&id))
        .ok_or_else(not_found)?;
    let all = Selection {
        standard: true,
        custom: true,
        named: MULTIFIELDS.iter().map(|k| (*k).to_owned()).collect(),
    };
    Ok(Reply::of(row(etid, item, &all)))
}

/// crm.lead.fields etc.
pub fn legacy_fields(etid: i64) -> Answer {
    let mut out = Map::new();
    for f in spec::fields(etid).unwrap_or_default() {
        out.insert(f.upper.to_owned(), spec::descriptor(f));
    }
    Ok(Reply::of(Value::Object(out)))
}

/// crm.lead.add etc.: the new id.
pub fn legacy_add(data: &mut Data, etid: i64, params: &Value, user: i64) -> Answer {
    let fields = wire::map(param(params, "fields"));
    let id = create(data, etid, &item_fields(etid, &fields), user).map_err(legacy_error)?;
    Ok(Reply::of(json!(id)))
}

/// crm.lead.update etc.: `true`.
pub fn legacy_update(data: &mut Data, etid: i64, params: &Value, user: i64) -> Answer {
    let id = param(params, "id")
        .and_then(wire::int)
        .ok_or_else(|| ApiError::new(400, "", "ID is not defined or invalid."))?;
    let fields = wire::map(param(params, "fields"));
    change(data, etid, id, &item_fields(etid, &fields), user)
        .map_err(legacy_error)?
        .ok_or_else(not_found)?;
    Ok(Reply::of(json!(true)))
}

/// crm.lead.delete etc.: `true`.
pub fn legacy_delete(data: &mut Data, etid: i64, params: &Value) -> Answer {
    let id = param(params, "id")
        .and_then(wire::int)
        .ok_or_else(|| ApiError::new(400, "", "ID is not defined or invalid."))?;
    data.items
        .get_mut(&etid)
        .and_then(|m| m.remove(&id))
        .ok_or_else(not_found)?;
    Ok(Reply::of(json!(true)))
}
