//! The non-record routes: `App/user`, `Metadata` (cut to what the user may see), `I18n`,
//! `Settings`, the stream and posts, follows, notes, email drafts, template filling and kanban.

use super::super::Shared;
use super::super::defs::defs;
use super::super::params;
use super::super::query;
use super::super::render::render;
use super::super::respond::Answer;
use super::super::state::{Rec, User};
use super::Req;
use super::records::store;
use crate::time;
use serde_json::{Map, Value, json};

/// `GET App/user`.
pub fn app_user(shared: &Shared, req: &Req<'_>) -> Answer {
    let store = store(shared);
    let user = req.user;
    let mut rec = store.find("User", &user.id).cloned().unwrap_or_default();
    rec.insert("emailAddress".into(), json!(user.email));
    let rendered = render(&store, "User", &rec, true, user);
    Answer::ok(json!({
        "user": rendered,
        "acl": user.acl_json(),
        "preferences": {"id": user.id},
        "token": null,
        "settings": settings(),
    }))
}

/// `GET Settings` (a few keys).
pub fn settings() -> Value {
    json!({"version": "9.1.7", "timeZone": "UTC", "dateFormat": "YYYY-MM-DD", "timeFormat": "HH:mm",
           "defaultCurrency": "USD", "currencyList": ["USD"], "recordsPerPage": 20, "applicationName": "EspoCRM"})
}

/// `GET I18n`: everything with credentials, a handful of scopes without.
pub fn i18n(authenticated: bool) -> Value {
    let mut all = defs().i18n().as_object().cloned().unwrap_or_default();
    let public: Vec<String> = all
        .remove("_public")
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    if !authenticated {
        all.retain(|k, _| public.contains(k));
    }
    Value::Object(all)
}

/// The metadata as `user` sees it: scopes and definitions of forbidden entities removed (a
/// forbidden entity keeps the fields visible through foreign fields), links to them dropped.
fn visible_metadata(user: &User) -> Value {
    let d = defs();
    let mut meta = d.metadata().clone();
    if user.admin {
        return meta;
    }
    let forbidden: Vec<String> = d
        .scopes()
        .iter()
        .filter(|(name, scope)| scope["acl"] == json!(true) && !user.can(name, "read"))
        .map(|(name, _)| name.clone())
        .collect();
    if let Some(scopes) = meta["scopes"].as_object_mut() {
        scopes.retain(|k, _| !forbidden.contains(k));
    }
    let mut reachable: Map<String, Value> = Map::new();
    if let Some(defs_map) = meta["entityDefs"].as_object_mut() {
        for (entity, def) in defs_map.iter_mut() {
            if forbidden.contains(entity) {
                continue;
            }
            let all_links = def["links"].clone();
            if let Some(fields) = def["fields"].as_object() {
                for f in fields.values() {
                    if f["type"] == json!("foreign")
                        && let Some(target) = f["link"]
                            .as_str()
                            .and_then(|l| all_links[l]["entity"].as_str())
                        && let Some(field) = f["field"].as_str()
                    {
                        reachable.insert(format!("{target}.{field}"), json!(true));
                    }
                }
            }
            let mut dropped = Vec::new();
            if let Some(links) = def["links"].as_object_mut() {
                links.retain(|name, l| {
                    let keep = l["entity"]
                        .as_str()
                        .is_none_or(|t| !forbidden.contains(&t.to_owned()));
                    if !keep {
                        dropped.push(name.clone());
                    }
                    keep
                });
            }
            if let Some(fields) = def["fields"].as_object_mut() {
                fields.retain(|name, _| !dropped.contains(name));
            }
        }
        for entity in &forbidden {
            let Some(def) = defs_map.get_mut(entity) else {
                continue;
            };
            let keep: Map<String, Value> = def["fields"]
                .as_object()
                .map(|f| {
                    f.iter()
                        .filter(|(name, _)| reachable.contains_key(&format!("{entity}.{name}")))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            if keep.is_empty() {
                defs_map.remove(entity);
            } else {
                *def = json!({"fields": keep});
            }
        }
    }
    meta
}

/// `GET Metadata?key=a.b.c`: the sub-tree, or 200 with an empty body when it does not exist.
pub fn metadata(req: &Req<'_>) -> Answer {
    let meta = visible_metadata(req.user);
    let key = req
        .query
        .iter()
        .find(|(k, _)| k == "key")
        .map(|(_, v)| v.as_str());
    let mut node = &meta;
    for part in key.into_iter().flat_map(|k| k.split('.')) {
        match node.get(part) {
            Some(next) => node = next,
            None => return Answer::bare(200),
        }
    }
    Answer::ok(node.clone())
}

/// `GET {Entity}/{id}/stream` (or `/posts`): notes on the record and the ones reaching it
/// through its account, newest first.
pub fn stream(
    shared: &Shared,
    req: &Req<'_>,
    entity: &str,
    id: &str,
    posts_only: bool,
) -> Result<Answer, Answer> {
    let user = req.user;
    if !user.can(entity, "read") {
        return Err(Answer::error(403, "No read access."));
    }
    let p = params::parse(&req.query)?;
    let store = store(shared);
    let rec = store
        .find(entity, id)
        .ok_or_else(|| Answer::error(404, "Record not found."))?;
    if !user.can_record(entity, "read", rec) {
        return Err(Answer::error(403, "No read access."));
    }
    let is = |n: &Rec, t: &str, i: &str| {
        n.get(t).and_then(Value::as_str) == Some(entity)
            && n.get(i).and_then(Value::as_str) == Some(id)
    };
    let mut notes: Vec<Rec> = store
        .live("Note")
        .filter(|n| is(n, "parentType", "parentId") || is(n, "superParentType", "superParentId"))
        .filter(|n| !posts_only || n.get("type") == Some(&json!("Post")))
        .map(|n| {
            let mut out = render(&store, "Note", n, false, user);
            out.insert(
                "createdByName".into(),
                json!(
                    store.name_of(
                        "User",
                        n.get("createdById")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                    )
                ),
            );
            out
        })
        .collect();
    notes.sort_by_key(|n| std::cmp::Reverse(n.get("number").and_then(Value::as_i64).unwrap_or(0)));
    let total = notes.len();
    let list: Vec<Value> = notes
        .into_iter()
        .skip(p.offset)
        .take(p.max_size)
        .map(Value::Object)
        .collect();
    Ok(Answer::ok(json!({"total": total, "list": list})))
}

/// `PUT|DELETE {Entity}/{id}/subscription`.
pub fn follow(shared: &Shared, req: &Req<'_>, entity: &str, id: &str) -> Result<Answer, Answer> {
    let mut store = store(shared);
    if store.find(entity, id).is_none() {
        return Err(Answer::error(404, format!("Record {id} not found.")));
    }
    let key = (req.user.id.clone(), entity.to_owned(), id.to_owned());
    if req.method == "PUT" {
        store.follows.insert(key);
    } else {
        store.follows.remove(&key);
    }
    Ok(Answer::ok(json!(true)))
}

/// `POST Note`: a non-admin always gets a Post (`type` is read-only); the parent must exist and
/// its stream be open to the user, else `No create access.`
pub fn post_note(shared: &Shared, req: &Req<'_>) -> Result<Answer, Answer> {
    let user = req.user;
    if !user.can("Note", "create") {
        return Err(Answer::error(403, "No create access."));
    }
    let body = req.object()?;
    let pt = body
        .get("parentType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let pid = body
        .get("parentId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut store = store(shared);
    let allowed = store
        .find(&pt, &pid)
        .is_some_and(|p| user.can_record(&pt, "read", p) && user.can(&pt, "stream"));
    if !allowed {
        return Err(Answer::error(403, "No create access."));
    }
    let kind = match body.get("type").and_then(Value::as_str) {
        Some(t) if user.admin => t.to_owned(),
        _ => "Post".into(),
    };
    let note = json!({
        "type": kind, "parentType": pt, "parentId": pid,
        "post": body.get("post").cloned().unwrap_or(Value::Null),
        "isInternal": body.get("isInternal").cloned().unwrap_or(json!(false)),
        "data": {},
    });
    let id = store.add_note(
        note.as_object().cloned().unwrap_or_default(),
        &user.id,
        None,
    );
    let rec = store.find("Note", &id).cloned().unwrap_or_default();
    Ok(Answer::ok(Value::Object(render(
        &store, "Note", &rec, true, user,
    ))))
}

/// `POST Email`. The default status is Archived; `Sending` sends at once (the sandbox marks it
/// Sent) — which is why crmgate always sends `status: "Draft"`. `from` is required even for
/// drafts and must be the user's own address (admins excepted); `to` is not required for drafts.
pub fn create_email(shared: &Shared, req: &Req<'_>) -> Result<Answer, Answer> {
    let user = req.user;
    if !user.can("Email", "create") {
        return Err(Answer::error(403, "No create access."));
    }
    let body = req.object()?;
    let text = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let status = text("status").unwrap_or("Archived").to_owned();
    // recorded order: the subject (stored as `name`) is checked before `from`
    let Some(subject) = text("subject").or_else(|| text("name")) else {
        return Err(Answer::validation("Email", "name", "required"));
    };
    let Some(from) = text("from") else {
        return Err(Answer::validation("Email", "from", "required"));
    };
    if status != "Draft" && text("to").is_none() {
        return Err(Answer::validation("Email", "to", "required"));
    }
    if !user.admin
        && user
            .email
            .as_deref()
            .is_none_or(|e| !e.eq_ignore_ascii_case(from))
    {
        return Err(Answer::error(403, "Not allowed 'from' address."));
    }
    let mut store = store(shared);
    let id = store.new_id();
    let now = time::now();
    let sent = status == "Sending";
    let mut rec = Rec::new();
    for k in ["to", "cc", "bcc"] {
        rec.insert(k.into(), json!(text(k).unwrap_or_default()));
    }
    let (pt, pid) = (
        text("parentType").map(str::to_owned),
        text("parentId").map(str::to_owned),
    );
    let account = match (pt.as_deref(), pid.as_deref()) {
        (Some("Account"), Some(p)) => Some(p.to_owned()),
        (Some(t), Some(p)) => store.find(t, p).and_then(|r| {
            r.get("accountId")
                .and_then(Value::as_str)
                .map(str::to_owned)
        }),
        _ => None,
    };
    for (k, v) in [
        ("id", json!(id)),
        ("deleted", json!(false)),
        ("name", json!(subject)),
        ("subject", json!(subject)),
        ("from", json!(from)),
        ("body", body.get("body").cloned().unwrap_or(Value::Null)),
        ("isHtml", body.get("isHtml").cloned().unwrap_or(json!(true))),
        ("status", json!(if sent { "Sent" } else { status.as_str() })),
        ("dateSent", if sent { json!(now) } else { Value::Null }),
        ("parentType", json!(pt)),
        ("parentId", json!(pid)),
        ("accountId", json!(account)),
        (
            "attachmentsIds",
            body.get("attachmentsIds").cloned().unwrap_or(json!([])),
        ),
        ("createdAt", json!(now)),
        ("modifiedAt", json!(now)),
        ("createdById", json!(user.id)),
    ] {
        rec.insert(k.into(), v);
    }
    store
        .records
        .entry("Email".into())
        .or_default()
        .push(rec.clone());
    Ok(Answer::ok(Value::Object(render(
        &store, "Email", &rec, true, user,
    ))))
}

/// `POST EmailTemplate/{id}/prepare`: the template filled for a parent record. Placeholders
/// `{Person.x}` (the parent when it is a person) and `{Entity.x}` (the parent of that type) are
/// replaced; others stay as they are.
pub fn prepare(shared: &Shared, req: &Req<'_>, id: &str) -> Result<Answer, Answer> {
    let user = req.user;
    let store = store(shared);
    let Some(template) = store
        .find("EmailTemplate", id)
        .filter(|_| user.can("EmailTemplate", "read"))
    else {
        return Err(Answer::html(404, Some("")));
    };
    let body = req.object()?;
    let parent = body
        .get("parentType")
        .and_then(Value::as_str)
        .zip(body.get("parentId").and_then(Value::as_str))
        .and_then(|(t, i)| {
            store
                .find(t, i)
                .map(|r| (t.to_owned(), render(&store, t, r, true, user)))
        });
    let fill = |text: &str| -> String {
        let mut out = text.to_owned();
        if let Some((kind, rec)) = &parent {
            let person = matches!(kind.as_str(), "Contact" | "Lead" | "User");
            for (attr, value) in rec {
                let shown = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => continue,
                };
                out = out.replace(&format!("{{{kind}.{attr}}}"), &shown);
                if person {
                    out = out.replace(&format!("{{Person.{attr}}}"), &shown);
                }
            }
        }
        out
    };
    Ok(Answer::ok(json!({
        "subject": fill(template.get("subject").and_then(Value::as_str).unwrap_or_default()),
        "body": fill(template.get("body").and_then(Value::as_str).unwrap_or_default()),
        "isHtml": template.get("isHtml").cloned().unwrap_or(json!(true)),
        "attachmentsIds": [],
        "attachmentsNames": {},
    })))
}

/// `GET Kanban/{Entity}`: one group per status option (minus `kanbanStatusIgnoreList`), each
/// in the user's kanban order; the top-level total counts every record.
pub fn kanban(shared: &Shared, req: &Req<'_>, entity: &str) -> Result<Answer, Answer> {
    let user = req.user;
    let d = defs();
    let Some(field) = d.status_field(entity) else {
        return Err(Answer::error(403, ""));
    };
    if !user.can(entity, "read") {
        return Err(Answer::error(403, "No read access."));
    }
    let p = params::parse(&req.query)?;
    let store = store(shared);
    let ignored: Vec<String> = d
        .scope(entity)
        .and_then(|s| s["kanbanStatusIgnoreList"].as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut all: Vec<Rec> = store
        .live(entity)
        .filter(|r| user.can_record(entity, "read", r))
        .map(|r| render(&store, entity, r, false, user))
        .collect();
    query::sort(&mut all, "createdAt", true);
    let total = all.len();
    let mut groups = Vec::new();
    let mut listed = Vec::new();
    for option in d.options(entity, field).unwrap_or_default() {
        if ignored.contains(&option) {
            continue;
        }
        let order = store
            .kanban
            .get(&(user.id.clone(), entity.to_owned(), option.clone()))
            .cloned()
            .unwrap_or_default();
        let mut members: Vec<&Rec> = all
            .iter()
            .filter(|r| r.get(field).and_then(Value::as_str) == Some(option.as_str()))
            .collect();
        members.sort_by_key(|r| {
            let id = r.get("id").and_then(Value::as_str).unwrap_or_default();
            order.iter().position(|o| o == id).unwrap_or(usize::MAX)
        });
        let count = members.len();
        let list: Vec<Value> = members
            .into_iter()
            .take(p.max_size)
            .map(|r| {
                Value::Object(match &p.select {
                    Some(s) => query::project(r, s),
                    None => r.clone(),
                })
            })
            .collect();
        listed.extend(list.iter().cloned());
        groups.push(
            json!({"name": option, "total": count, "list": list, "label": null, "style": null}),
        );
    }
    Ok(Answer::ok(
        json!({"total": total, "list": listed, "groups": groups}),
    ))
}

/// `PUT Kanban/order`: `{entityType, group, ids}`, stored per user; `true`. Missing parts are an
/// empty `text/html` 400.
pub fn kanban_order(shared: &Shared, req: &Req<'_>) -> Result<Answer, Answer> {
    let body = req.object()?;
    let text = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let (Some(entity), Some(group), Some(Value::Array(ids))) =
        (text("entityType"), text("group"), body.get("ids"))
    else {
        return Err(Answer::html(400, Some("")));
    };
    let ids: Vec<String> = ids
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    store(shared).kanban.insert(
        (req.user.id.clone(), entity.to_owned(), group.to_owned()),
        ids,
    );
    Ok(Answer::ok(json!(true)))
}
