//! `crm.item.*` (typed values, `{"items": …}` / `{"item": …}`; `0` for no company or
//! contact) and `crm.deal.contact.*`. The legacy methods are in `legacy`.

use super::filter::{self, Node};
use super::seed::{complete, is_stage_dict};
use super::spec::{self, SPA};
use super::state::{Data, iso, unix_now};
use super::{Answer, ApiError, Reply};
use crate::wire;
use serde_json::{Map, Value, json};

pub(super) fn param<'a>(params: &'a Value, key: &str) -> Option<&'a Value> {
    params
        .get(key)
        .or_else(|| params.get(key.to_ascii_uppercase()))
}

/// `entityTypeId`, checked.
fn entity_type(params: &Value) -> Result<i64, ApiError> {
    let etid = param(params, "entityTypeId")
        .and_then(wire::int)
        .ok_or_else(|| {
            ApiError::new(400, "ENTITY_TYPE_NOT_SUPPORTED", "entityTypeId is required")
        })?;
    match etid {
        5 => Err(ApiError::new(
            400,
            "ENTITY_TYPE_NOT_SUPPORTED",
            "Entity type 5 is not supported, use 31",
        )),
        1..=4 | SPA => Ok(etid),
        _ => Err(ApiError::new(400, "NOT_FOUND", "SPA not found")),
    }
}

fn original_uf(params: &Value) -> bool {
    param(params, "useOriginalUfNames")
        .and_then(wire::flag)
        .unwrap_or(false)
}

/// A `UF_CRM_…` name as crm.item shows it without `useOriginalUfNames=Y` (simplified rule).
fn camel_uf(name: &str) -> String {
    match name.strip_prefix("UF_CRM_") {
        Some(rest) => format!("ufCrm_{rest}"),
        None => name.to_owned(),
    }
}

fn present(item: &Map<String, Value>, select: Option<&Value>, original: bool) -> Value {
    let names: Vec<String> = wire::list(select).iter().filter_map(wire::text).collect();
    let all = names.is_empty() || names.iter().any(|n| n == "*");
    let mut out = Map::new();
    for (k, v) in item {
        if k == "fm" && !names.iter().any(|n| n == "*") {
            continue;
        }
        if !all && k != "id" && !names.iter().any(|n| n == k) {
            continue;
        }
        let key = if original { k.clone() } else { camel_uf(k) };
        out.insert(key, v.clone());
    }
    Value::Object(out)
}

fn not_found() -> ApiError {
    ApiError::new(400, "NOT_FOUND", "Item not found")
}

/// crm.item.list
pub fn list(data: &Data, params: &Value) -> Answer {
    let etid = entity_type(params)?;
    let resolve = |name: &str| spec::field(etid, name).map(|f| f.name.to_owned());
    let node = filter::compile(
        param(params, "filter").unwrap_or(&Value::Null),
        &resolve,
        true,
    )
    .map_err(|e| ApiError::new(400, "INVALID_ARG_VALUE", &e))?;
    let order = filter::order_pairs(param(params, "order"));
    if let Some((bad, _)) = order.iter().find(|(f, _)| spec::field(etid, f).is_none()) {
        return Err(ApiError::new(
            400,
            "INVALID_ARG_VALUE",
            &format!("Invalid order: field '{bad}' is not allowed"),
        ));
    }
    let rows = matching(data, etid, &node, &order);
    let start = param(params, "start").and_then(wire::int).unwrap_or(0);
    let original = original_uf(params);
    let select = param(params, "select");
    page(
        rows,
        start,
        |r| present(r, select, original),
        |items| json!({"items": items}),
    )
}

pub(super) fn matching(
    data: &Data,
    etid: i64,
    node: &Node,
    order: &[(String, bool)],
) -> Vec<Map<String, Value>> {
    let btype = |f: &str| spec::field(etid, f).map_or("string", |f| f.btype);
    let mut rows: Vec<Map<String, Value>> = data
        .items
        .get(&etid)
        .map(|items| {
            items
                .values()
                .filter(|i| filter::eval(node, i, &btype))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    filter::sort(&mut rows, order, etid);
    rows
}

/// One fixed page of 50: `start=-1` skips the count (`total: 0`, no `next`).
pub fn page(
    rows: Vec<Map<String, Value>>,
    start: i64,
    show: impl Fn(&Map<String, Value>) -> Value,
    wrap: impl Fn(Vec<Value>) -> Value,
) -> Answer {
    let (offset, counted) = if start < 0 {
        (0, false)
    } else {
        ((start / 50 * 50) as usize, true)
    };
    let total = rows.len();
    let items: Vec<Value> = rows.iter().skip(offset).take(50).map(show).collect();
    let next = (counted && offset + 50 < total).then_some((offset + 50) as i64);
    Ok(Reply {
        result: wrap(items),
        next,
        total: Some(if counted { total as i64 } else { 0 }),
    })
}

/// crm.item.get
pub fn get(data: &Data, params: &Value) -> Answer {
    let etid = entity_type(params)?;
    let id = param(params, "id")
        .and_then(wire::int)
        .ok_or_else(not_found)?;
    let item = data
        .items
        .get(&etid)
        .and_then(|m| m.get(&id))
        .ok_or_else(not_found)?;
    Ok(Reply::of(
        json!({"item": present(item, Some(&json!(["*"])), original_uf(params))}),
    ))
}

/// crm.item.fields
pub fn fields(params: &Value) -> Answer {
    let etid = entity_type(params)?;
    let original = original_uf(params);
    let mut out = Map::new();
    for f in spec::fields(etid).unwrap_or_default() {
        let name = if original {
            f.name.to_owned()
        } else {
            camel_uf(f.name)
        };
        out.insert(name, spec::descriptor(f));
    }
    Ok(Reply::of(json!({"fields": out})))
}

/// crm.item.add
pub fn add(data: &mut Data, params: &Value, user: i64) -> Answer {
    let etid = entity_type(params)?;
    let given = wire::map(param(params, "fields"));
    let id = create(data, etid, &given, user)?;
    let item = &data.items[&etid][&id];
    Ok(Reply::of(
        json!({"item": present(item, Some(&json!(["*"])), original_uf(params))}),
    ))
}

/// Create an item from crm.item field names; its id.
pub(super) fn create(
    data: &mut Data,
    etid: i64,
    given: &Map<String, Value>,
    user: i64,
) -> Result<i64, ApiError> {
    let mut item = Map::new();
    apply(etid, &mut item, given)?;
    let id = {
        let next = data.next_id.entry(etid).or_insert(1);
        let id = *next;
        *next += 1;
        id
    };
    let now = iso(unix_now());
    item.insert("id".into(), json!(id));
    for (k, v) in [
        ("createdTime", json!(now)),
        ("updatedTime", json!(now)),
        ("createdBy", json!(user)),
        ("updatedBy", json!(user)),
    ] {
        item.insert(k.into(), v);
    }
    item.entry("assignedById").or_insert(json!(user));
    item.entry("opened").or_insert(json!("Y"));
    if etid != 3 {
        item.entry("title").or_insert(json!(format!("#{id}")));
        if item.get("title").is_some_and(Value::is_null) {
            item.insert("title".into(), json!(format!("#{id}")));
        }
    }
    if spec::field(etid, "currencyId").is_some() {
        item.entry("currencyId").or_insert(json!("USD"));
        item.entry("opportunity").or_insert(json!(0));
    }
    if spec::field(etid, "stageId").is_some() && item.get("stageId").is_none_or(Value::is_null) {
        let category = item
            .get("categoryId")
            .and_then(wire::int)
            .unwrap_or(default_category(etid));
        item.insert("categoryId".into(), json!(category));
        let dict = spec::stage_dictionary(etid, category);
        let first = spec::STATUSES
            .iter()
            .find(|(e, ..)| *e == dict)
            .map(|(_, s, ..)| *s);
        item.insert("stageId".into(), json!(first));
    }
    if etid == 2
        && item
            .get("contactIds")
            .is_none_or(|v| wire::list(Some(v)).is_empty())
        && let Some(c) = item.get("contactId").filter(|v| !v.is_null()).cloned()
    {
        item.insert("contactIds".into(), json!([c]));
    }
    complete(etid, &mut item);
    data.items.entry(etid).or_default().insert(id, item);
    Ok(id)
}

fn default_category(etid: i64) -> i64 {
    if etid == SPA { 3 } else { 0 }
}

/// crm.item.update
pub fn update(data: &mut Data, params: &Value, user: i64) -> Answer {
    let etid = entity_type(params)?;
    let id = param(params, "id")
        .and_then(wire::int)
        .ok_or_else(not_found)?;
    let given = wire::map(param(params, "fields"));
    change(data, etid, id, &given, user)?.ok_or_else(not_found)?;
    let item = &data.items[&etid][&id];
    Ok(Reply::of(
        json!({"item": present(item, Some(&json!(["*"])), original_uf(params))}),
    ))
}

/// Change an item (crm.item field names); `None` when it does not exist. Nothing changes
/// (not even `updatedTime`) when the values are the same.
pub(super) fn change(
    data: &mut Data,
    etid: i64,
    id: i64,
    given: &Map<String, Value>,
    user: i64,
) -> Result<Option<()>, ApiError> {
    let Some(item) = data.items.get_mut(&etid).and_then(|m| m.get_mut(&id)) else {
        return Ok(None);
    };
    let mut changed = item.clone();
    apply(etid, &mut changed, given)?;
    if changed != *item {
        changed.insert("updatedTime".into(), json!(iso(unix_now())));
        changed.insert("updatedBy".into(), json!(user));
        complete(etid, &mut changed);
        *item = changed;
    }
    Ok(Some(()))
}

/// crm.item.delete
pub fn delete(data: &mut Data, params: &Value) -> Answer {
    let etid = entity_type(params)?;
    let id = param(params, "id")
        .and_then(wire::int)
        .ok_or_else(not_found)?;
    data.items
        .get_mut(&etid)
        .and_then(|m| m.remove(&id))
        .ok_or_else(not_found)?;
    Ok(Reply::of(json!([])))
}

/// Apply given fields: unknown and read-only ones are ignored (as Bitrix does); values are
/// checked by type; a stage must belong to the item's pipeline.
fn apply(
    etid: i64,
    item: &mut Map<String, Value>,
    given: &Map<String, Value>,
) -> Result<(), ApiError> {
    for (name, value) in given {
        let Some(f) = spec::field(etid, name) else {
            continue;
        };
        if f.read_only {
            continue;
        }
        let invalid = || {
            ApiError::new(
                400,
                "CRM_FIELD_ERROR_VALUE_NOT_VALID",
                &format!("Field '{name}' has an invalid value"),
            )
        };
        let stored = match (f.btype, value) {
            // the portal's "no company / contact": 0
            (b, Value::Null) if spec::is_reference(b) && !f.multiple => json!(0),
            (_, Value::Null) => Value::Null,
            (
                "integer" | "user" | "crm_contact" | "crm_company" | "crm_lead" | "crm_deal"
                | "crm_category" | "enumeration",
                v,
            ) if !f.multiple => {
                json!(wire::int(v).ok_or_else(invalid)?)
            }
            ("crm_contact", v) => Value::Array(
                wire::list(Some(v))
                    .iter()
                    .map(|i| wire::int(i).map(Value::from).ok_or_else(invalid))
                    .collect::<Result<_, _>>()?,
            ),
            ("double", v) => wire::float(v).map(wire::number).ok_or_else(invalid)?,
            ("char", v) => json!(if wire::flag(v).ok_or_else(invalid)? {
                "Y"
            } else {
                "N"
            }),
            ("crm_status", v) => {
                let s = wire::text(v).ok_or_else(invalid)?;
                let ok = spec::STATUSES.iter().any(|(e, id, ..)| {
                    *id == s
                        && if name == "stageId" {
                            is_stage_dict(etid, e)
                        } else {
                            Some(*e) == f.status_type
                        }
                });
                if !ok {
                    return Err(ApiError::new(
                        400,
                        "CRM_FIELD_ERROR_VALUE_NOT_VALID",
                        &format!("Field '{name}': unknown value"),
                    ));
                }
                json!(s)
            }
            ("date", v) => {
                let s = wire::text(v).ok_or_else(invalid)?;
                if s.len() == 10 {
                    json!(format!("{s}T00:00:00+03:00"))
                } else {
                    json!(s)
                }
            }
            (_, v) => v.clone(),
        };
        item.insert(name.clone(), stored);
    }
    if let Some(stage) = item
        .get("stageId")
        .and_then(Value::as_str)
        .map(str::to_owned)
    {
        let category = spec::STATUSES
            .iter()
            .find(|(e, id, ..)| *id == stage && is_stage_dict(etid, e))
            .and_then(|(.., c)| *c);
        if let (Some(c), true) = (category, spec::field(etid, "categoryId").is_some()) {
            let current = item.get("categoryId").and_then(wire::int);
            if given.contains_key("categoryId") && current != Some(c) {
                return Err(ApiError::new(
                    400,
                    "CRM_FIELD_ERROR_VALUE_NOT_VALID",
                    "Field 'stageId': the stage belongs to another pipeline",
                ));
            }
            item.insert("categoryId".into(), json!(c));
        }
    }
    Ok(())
}

fn deal_mut<'a>(
    data: &'a mut Data,
    params: &Value,
) -> Result<&'a mut Map<String, Value>, ApiError> {
    let id = param(params, "id").and_then(wire::int);
    id.and_then(|id| data.items.get_mut(&2)?.get_mut(&id))
        .ok_or_else(|| ApiError::new(400, "", "Not found"))
}

/// crm.deal.contact.items.get
pub fn deal_contacts(data: &mut Data, params: &Value) -> Answer {
    let deal = deal_mut(data, params)?;
    let ids = wire::list(deal.get("contactIds"));
    let primary = deal.get("contactId").and_then(wire::int);
    Ok(Reply::of(Value::Array(
        ids.iter()
            .enumerate()
            .map(|(i, c)| {
                let c = wire::int(c).unwrap_or(0);
                json!({"CONTACT_ID": c, "SORT": (i + 1) * 10, "ROLE_ID": 0,
                       "IS_PRIMARY": if Some(c) == primary { "Y" } else { "N" }})
            })
            .collect(),
    )))
}

/// crm.deal.contact.add / crm.deal.contact.delete: one link; the others stay.
pub fn deal_contact_change(data: &mut Data, params: &Value, add: bool) -> Answer {
    let contact = param(params, "fields")
        .and_then(|f| f.get("CONTACT_ID"))
        .and_then(wire::int)
        .ok_or_else(|| ApiError::new(400, "", "CONTACT_ID is not defined or invalid."))?;
    if add && !data.items.get(&3).is_some_and(|c| c.contains_key(&contact)) {
        return Err(ApiError::new(400, "", "Contact not found"));
    }
    let deal = deal_mut(data, params)?;
    let mut ids: Vec<i64> = wire::list(deal.get("contactIds"))
        .iter()
        .filter_map(wire::int)
        .collect();
    if add && !ids.contains(&contact) {
        ids.push(contact);
    }
    if !add {
        ids.retain(|c| *c != contact);
    }
    let primary = ids.first().copied();
    deal.insert("contactIds".into(), json!(ids));
    deal.insert("contactId".into(), json!(primary));
    deal.insert("updatedTime".into(), json!(iso(unix_now())));
    Ok(Reply::of(json!(true)))
}
