//! Dictionaries (`crm.status.list`, `crm.category.list`, `crm.currency.list`, `user.get`,
//! `user.current`, `crm.type.list`), timeline comments and `crm.duplicate.findbycomm`.

use super::filter;
use super::items::page;
use super::spec;
use super::state::{Data, iso, unix_now};
use super::{Answer, ApiError, Reply};
use crate::wire;
use serde_json::{Map, Value, json};

fn rows(values: Vec<Value>) -> Vec<Map<String, Value>> {
    values
        .into_iter()
        .filter_map(|v| v.as_object().cloned())
        .collect()
}

fn plain_filter(params: &Value, key: &str) -> Result<filter::Node, ApiError> {
    let f = params
        .get(key)
        .or_else(|| params.get(key.to_ascii_uppercase()))
        .or_else(|| params.get(key.to_ascii_lowercase()))
        .unwrap_or(&Value::Null);
    filter::compile(f, &|name| Some(name.to_owned()), false).map_err(|e| ApiError::new(400, "", &e))
}

fn keep(node: &filter::Node, list: Vec<Map<String, Value>>) -> Vec<Map<String, Value>> {
    let btype = |f: &str| {
        if f == "ID" || f == "SORT" {
            "integer"
        } else {
            "string"
        }
    };
    list.into_iter()
        .filter(|r| filter::eval(node, r, &btype))
        .collect()
}

/// crm.status.list: every dictionary (filter on `ENTITY_ID` etc.), one list with `total`.
pub fn statuses(params: &Value) -> Answer {
    let node = plain_filter(params, "filter")?;
    let list = keep(&node, rows(spec::status_rows()));
    let total = list.len() as i64;
    Ok(Reply {
        result: Value::Array(list.into_iter().map(Value::Object).collect()),
        next: None,
        total: Some(total),
    })
}

/// crm.category.list
pub fn categories(params: &Value) -> Answer {
    let etid = params.get("entityTypeId").and_then(wire::int).unwrap_or(0);
    if !matches!(etid, 1..=4 | spec::SPA) {
        return Err(ApiError::new(400, "NOT_FOUND", "SPA not found"));
    }
    let list = spec::categories(etid);
    let total = list.len() as i64;
    Ok(Reply {
        result: json!({"categories": list}),
        next: None,
        total: Some(total),
    })
}

/// crm.currency.list
pub fn currencies() -> Answer {
    Ok(Reply::of(Value::Array(spec::currencies())))
}

/// user.get: `FILTER` (or `filter`), 50 per page, `total`/`next`.
pub fn users(params: &Value) -> Answer {
    let node = plain_filter(params, "FILTER")?;
    let list = keep(&node, rows(spec::users()));
    let start = params.get("start").and_then(wire::int).unwrap_or(0);
    page(list, start, |r| Value::Object(r.clone()), Value::Array)
}

/// user.current
pub fn current_user(user: i64) -> Answer {
    let me = spec::users()
        .into_iter()
        .find(|u| u["ID"] == json!(user.to_string()));
    Ok(Reply::of(me.unwrap_or(Value::Null)))
}

/// profile: the current user's basics, needing no scope.
pub fn profile(user: i64) -> Answer {
    let me = spec::users()
        .into_iter()
        .find(|u| u["ID"] == json!(user.to_string()))
        .unwrap_or(Value::Null);
    Ok(Reply::of(json!({
        "ID": user.to_string(),
        "ADMIN": user == 1,
        "NAME": me.get("NAME").cloned().unwrap_or(json!("")),
        "LAST_NAME": me.get("LAST_NAME").cloned().unwrap_or(json!("")),
        "PERSONAL_GENDER": "",
        "TIME_ZONE": "",
    })))
}

/// crm.type.list
pub fn types() -> Answer {
    let list = spec::types();
    let total = list.len() as i64;
    Ok(Reply {
        result: json!({"types": list}),
        next: None,
        total: Some(total),
    })
}

fn owner_exists(data: &Data, entity_type: &str, id: i64) -> bool {
    let etid = match entity_type.to_ascii_lowercase().as_str() {
        "lead" => 1,
        "deal" => 2,
        "contact" => 3,
        "company" => 4,
        other => other
            .strip_prefix("dynamic_")
            .and_then(|e| e.parse().ok())
            .unwrap_or(0),
    };
    data.items.get(&etid).is_some_and(|m| m.contains_key(&id))
}

/// crm.timeline.comment.add: lowercase `fields` only.
pub fn comment_add(data: &mut Data, params: &Value, user: i64) -> Answer {
    let fields = params
        .get("fields")
        .ok_or_else(|| ApiError::new(400, "100", "Required fields: fields"))?;
    let owner = fields.get("ENTITY_ID").and_then(wire::int).unwrap_or(0);
    let owner_type = fields
        .get("ENTITY_TYPE")
        .and_then(wire::text)
        .unwrap_or_default();
    let text = fields
        .get("COMMENT")
        .and_then(wire::text)
        .unwrap_or_default();
    if text.trim().is_empty() {
        return Err(ApiError::new(400, "INVALID_ARG_VALUE", "Empty comment"));
    }
    if !owner_exists(data, &owner_type, owner) {
        return Err(ApiError::new(400, "OWNER_NOT_FOUND", "Owner not found"));
    }
    let id = data.next_comment;
    data.next_comment += 1;
    let row = json!({"ID": id, "CREATED": iso(unix_now()), "ENTITY_ID": owner,
                     "ENTITY_TYPE": owner_type.to_ascii_lowercase(), "AUTHOR_ID": user,
                     "COMMENT": text, "FILES": []});
    data.comments
        .push(row.as_object().cloned().unwrap_or_default());
    Ok(Reply::of(json!(id)))
}

/// crm.timeline.comment.list: filter on ENTITY_ID / ENTITY_TYPE, order, 50 per page.
pub fn comment_list(data: &Data, params: &Value) -> Answer {
    let node = plain_filter(params, "filter")?;
    let btype = |f: &str| {
        if matches!(f, "ID" | "ENTITY_ID" | "AUTHOR_ID") {
            "integer"
        } else {
            "string"
        }
    };
    let mut list: Vec<Map<String, Value>> = data
        .comments
        .iter()
        .filter(|c| filter::eval(&node, c, &btype))
        .cloned()
        .collect();
    let order = filter::order_pairs(params.get("order"));
    list.sort_by(|a, b| {
        for (f, desc) in &order {
            let ord = filter::compare(
                a.get(f).unwrap_or(&Value::Null),
                b.get(f).unwrap_or(&Value::Null),
                btype(f),
            )
            .unwrap_or(std::cmp::Ordering::Equal);
            let ord = if *desc { ord.reverse() } else { ord };
            if ord.is_ne() {
                return ord;
            }
        }
        std::cmp::Ordering::Equal
    });
    let start = params.get("start").and_then(wire::int).unwrap_or(0);
    page(list, start, |r| Value::Object(r.clone()), Value::Array)
}

/// crm.duplicate.findbycomm: ids per entity type whose phones / e-mails match.
pub fn find_by_comm(data: &Data, params: &Value) -> Answer {
    let kind = params
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_uppercase();
    if kind != "EMAIL" && kind != "PHONE" {
        return Err(ApiError::new(400, "", "Communication type is not defined"));
    }
    let values: Vec<String> = wire::list(params.get("values"))
        .iter()
        .filter_map(wire::text)
        .map(|v| v.to_lowercase())
        .collect();
    let mut out = Map::new();
    for (etid, name) in [(1, "LEAD"), (3, "CONTACT"), (4, "COMPANY")] {
        let ids: Vec<i64> = data
            .items
            .get(&etid)
            .map(|items| {
                items
                    .iter()
                    .filter(|(_, item)| {
                        wire::list(item.get("fm")).iter().any(|m| {
                            m.get("typeId").and_then(Value::as_str) == Some(kind.as_str())
                                && m.get("value")
                                    .and_then(wire::text)
                                    .is_some_and(|v| values.contains(&v.to_lowercase()))
                        })
                    })
                    .map(|(id, _)| *id)
                    .collect()
            })
            .unwrap_or_default();
        if !ids.is_empty() {
            out.insert(name.into(), json!(ids));
        }
    }
    Ok(Reply::of(if out.is_empty() {
        json!([])
    } else {
        Value::Object(out)
    }))
}
