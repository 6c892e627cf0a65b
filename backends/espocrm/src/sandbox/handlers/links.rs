//! `GET|POST|DELETE {Entity}/{id}/{link}`: related lists (with relationship columns exposed as
//! attributes, and `X-No-Total` ignored as EspoCRM does), link and unlink with `id` / `ids`.

use super::super::Shared;
use super::super::defs::{LinkKind, defs};
use super::super::params;
use super::super::render::render;
use super::super::respond::Answer;
use super::Req;
use super::records::{run_list, store};
use serde_json::{Map, Value, json};

/// `GET {Entity}/{id}/{link}`.
pub fn related(
    shared: &Shared,
    req: &Req<'_>,
    entity: &str,
    id: &str,
    link: &str,
) -> Result<Answer, Answer> {
    let user = req.user;
    if !user.can(entity, "read") {
        return Err(Answer::error(403, "No read access."));
    }
    let store = store(shared);
    let parent = store
        .find(entity, id)
        .ok_or_else(|| Answer::error(404, ""))?;
    if !user.can_record(entity, "read", parent) {
        return Err(Answer::error(403, "No read access."));
    }
    let d = defs();
    let Some(kind) = d.link_kind(entity, link) else {
        return Err(Answer::error(404, "Link does not exist."));
    };
    let target = match &kind {
        LinkKind::BelongsTo { target, .. }
        | LinkKind::OneToMany { target, .. }
        | LinkKind::Children { target }
        | LinkKind::ManyToMany { target, .. } => target.clone(),
    };
    if !user.can(&target, "read") {
        return Err(Answer::error(403, ""));
    }
    let p = params::parse(&req.query)?;
    // a relationship column shows on the related record under the attribute its foreign link
    // maps it to (Opportunity.contacts role → Contact.opportunityRole)
    let column_map: Map<String, Value> = d.links(entity)[link]
        .get("foreign")
        .and_then(Value::as_str)
        .and_then(|f| d.links(&target).get(f))
        .and_then(|l| l.get("columnAttributeMap"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let candidates = store
        .related(entity, id, link)
        .into_iter()
        .filter_map(|(fid, columns)| {
            let rec = store.find(&target, &fid)?;
            if !user.can_record(&target, "read", rec) {
                return None;
            }
            let mut out = render(&store, &target, rec, true, user);
            for (column, attribute) in &column_map {
                if let Some(attribute) = attribute.as_str() {
                    out.insert(
                        attribute.to_owned(),
                        columns.get(column).cloned().unwrap_or(Value::Null),
                    );
                }
            }
            Some(out)
        })
        .collect();
    run_list(&store, user, &target, candidates, &p, true).map(Answer::ok)
}

/// `POST` (link) / `DELETE` (unlink) `{Entity}/{id}/{link}` with `{"id": …}` and/or
/// `{"ids": […]}`; `false` when no id was given.
pub fn change(
    shared: &Shared,
    req: &Req<'_>,
    entity: &str,
    id: &str,
    link: &str,
    add: bool,
) -> Result<Answer, Answer> {
    let user = req.user;
    if !user.can(entity, "edit") {
        return Err(Answer::error(403, "No edit access."));
    }
    let body = req.object()?;
    let mut store = store(shared);
    if store.find(entity, id).is_none() {
        return Err(Answer::error(404, format!("Record {id} not found.")));
    }
    let d = defs();
    let Some(kind) = d.link_kind(entity, link) else {
        return Err(Answer::error(
            404,
            format!("Entity {entity} does not have link {link}."),
        ));
    };
    let mut ids: Vec<String> = body
        .get("ids")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if let Some(one) = body.get("id").and_then(Value::as_str) {
        ids.push(one.to_owned());
    }
    if ids.is_empty() {
        return Ok(Answer::ok(json!(false)));
    }
    let target = match &kind {
        LinkKind::BelongsTo { target, .. }
        | LinkKind::OneToMany { target, .. }
        | LinkKind::Children { target }
        | LinkKind::ManyToMany { target, .. } => target.clone(),
    };
    if ids.iter().any(|fid| store.find(&target, fid).is_none()) {
        return Err(Answer::error(404, ""));
    }
    if !user.can(&target, "read") {
        return Err(Answer::error(403, ""));
    }
    for fid in &ids {
        match &kind {
            LinkKind::ManyToMany { .. } => {
                if add {
                    store.add_edge(entity, id, link, fid, Map::new());
                } else {
                    store.remove_edge(entity, id, link, fid);
                }
                // a contact's primary account follows its account links
                let (contact, account) = match (entity, target.as_str()) {
                    ("Account", "Contact") => (fid.as_str(), id),
                    ("Contact", "Account") => (id, fid.as_str()),
                    _ => continue,
                };
                let remaining: Vec<String> = store
                    .related("Contact", contact, "accounts")
                    .into_iter()
                    .map(|(a, _)| a)
                    .collect();
                if let Some(c) = store.find_mut("Contact", contact) {
                    let primary = c
                        .get("accountId")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    if add && primary.is_none() {
                        c.insert("accountId".into(), json!(account));
                    } else if !add && primary.as_deref() == Some(account) {
                        c.insert("accountId".into(), json!(remaining.first()));
                    }
                }
            }
            LinkKind::OneToMany { foreign_attr, .. } => {
                if let Some(r) = store.find_mut(&target, fid) {
                    let holds = r.get(foreign_attr).and_then(Value::as_str) == Some(id);
                    if add {
                        r.insert(foreign_attr.clone(), json!(id));
                    } else if holds {
                        r.insert(foreign_attr.clone(), Value::Null);
                    }
                }
            }
            LinkKind::Children { .. } => {
                if let Some(r) = store.find_mut(&target, fid) {
                    let holds = r.get("parentId").and_then(Value::as_str) == Some(id);
                    if add {
                        r.insert("parentType".into(), json!(entity));
                        r.insert("parentId".into(), json!(id));
                    } else if holds {
                        r.insert("parentType".into(), Value::Null);
                        r.insert("parentId".into(), Value::Null);
                    }
                }
            }
            LinkKind::BelongsTo { attr, .. } => {
                if let Some(r) = store.find_mut(entity, id) {
                    let holds = r.get(attr).and_then(Value::as_str) == Some(fid.as_str());
                    if add {
                        r.insert(attr.clone(), json!(fid));
                    } else if holds {
                        r.insert(attr.clone(), Value::Null);
                    }
                }
            }
        }
    }
    Ok(Answer::ok(json!(true)))
}
