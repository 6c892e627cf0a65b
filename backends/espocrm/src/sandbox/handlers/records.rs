//! `GET {Entity}` and `GET {Entity}/{id}` (an administrator also reads deleted records, as 9.x
//! does), and the list machinery related lists share.

use super::super::Shared;
use super::super::defs::defs;
use super::super::params::{self, Params};
use super::super::query::{self, Subject};
use super::super::render::render;
use super::super::respond::Answer;
use super::super::state::{Rec, Store, User};
use super::Req;
use serde_json::{Value, json};

/// Lock the store.
pub fn store(shared: &Shared) -> std::sync::MutexGuard<'_, Store> {
    shared
        .store
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Filter, sort and page rendered records; the `{total, list}` answer. `count` false gives
/// -1 / -2 instead of the total.
pub fn run_list(
    store: &Store,
    user: &User,
    entity: &str,
    candidates: Vec<Rec>,
    p: &Params,
    count: bool,
) -> Result<Value, Answer> {
    let d = defs();
    let attrs = d.attributes(entity);
    query::check(&p.where_items, entity, &attrs)?;
    if let Some(name) = &p.primary
        && query::primary(entity, name, &Rec::new()).is_none()
    {
        return Err(Answer::error(
            400,
            format!("No primary filter '{name}' for '{entity}'."),
        ));
    }
    let collection = d.collection(entity);
    let order_by = p
        .order_by
        .clone()
        .or_else(|| collection["orderBy"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "createdAt".into());
    // an explicit orderBy without order sorts ascending (recorded); the collection's default
    // order applies only to its default field
    let desc = p
        .desc
        .unwrap_or_else(|| p.order_by.is_none() && collection["order"].as_str() == Some("desc"));
    let order_attr = query::order_attribute(entity, &order_by, &attrs)?;
    let mut matched: Vec<Rec> = candidates
        .into_iter()
        .filter(|rec| {
            let subject = Subject { store, entity, rec };
            p.where_items.iter().all(|i| query::matches(i, &subject))
                && p.text
                    .as_deref()
                    .is_none_or(|t| query::text_matches(entity, rec, t))
                && query::passes_filters(p, entity, rec, user, store)
        })
        .collect();
    query::sort(&mut matched, &order_attr, desc);
    let total = matched.len();
    let detail_only = d.detail_only(entity);
    let list: Vec<Value> = matched
        .into_iter()
        .skip(p.offset)
        .take(p.max_size)
        .map(|mut rec| {
            match &p.select {
                Some(select) => rec = query::project(&rec, select),
                None => rec.retain(|k, _| !detail_only.contains(k)),
            }
            Value::Object(rec)
        })
        .collect();
    let shown = p.offset + list.len();
    let total = if count {
        json!(total)
    } else if shown < total {
        json!(-1)
    } else {
        json!(-2)
    };
    Ok(json!({"total": total, "list": list}))
}

/// `GET {Entity}`.
pub fn list(shared: &Shared, req: &Req<'_>, entity: &str) -> Result<Answer, Answer> {
    let user = req.user;
    if !user.can(entity, "read") {
        return Err(Answer::error(403, "No read access."));
    }
    let p = params::parse(&req.query)?;
    let store = store(shared);
    let candidates: Vec<Rec> = store
        .live(entity)
        .filter(|r| user.can_record(entity, "read", r))
        .map(|r| render(&store, entity, r, true, user))
        .collect();
    let no_total = req.header("x-no-total") == Some("true") || p.quick;
    run_list(&store, user, entity, candidates, &p, !no_total).map(Answer::ok)
}

/// `GET {Entity}/{id}`.
pub fn read(shared: &Shared, req: &Req<'_>, entity: &str, id: &str) -> Result<Answer, Answer> {
    let user = req.user;
    if !user.can(entity, "read") {
        return Err(Answer::error(403, "No read access."));
    }
    let store = store(shared);
    // 9.x shows an administrator a deleted record too, flagged `deleted: true`
    let rec = store
        .find(entity, id)
        .or_else(|| {
            user.admin
                .then(|| store.records.get(entity))
                .flatten()
                .and_then(|list| {
                    list.iter()
                        .find(|r| r.get("id").and_then(Value::as_str) == Some(id))
                })
        })
        .ok_or_else(|| Answer::error(404, format!("Record {id} does not exist.")))?;
    if !user.can_record(entity, "read", rec) {
        return Err(Answer::error(403, "No read access."));
    }
    Ok(Answer::ok(Value::Object(render(
        &store, entity, rec, true, user,
    ))))
}
