//! `POST {Entity}`, `PUT|PATCH {Entity}/{id}` (both partial), `DELETE {Entity}/{id}` (soft),
//! `POST {Entity}/action/restoreDeleted` (administrators only):
//! ACL, field validation (first failure wins, as in EspoCRM), the duplicate check on create
//! (name or email; skipped with `X-Skip-Duplicate-Check: true` or `_skipDuplicateCheck`),
//! optimistic concurrency (`X-Version-Number`), link side effects and stream notes.

use super::super::Shared;
use super::super::defs::defs;
use super::super::render::render;
use super::super::respond::Answer;
use super::super::state::{Rec, Store, User, person_name};
use super::Req;
use super::records::store;
use super::validate::{check_assignment, sanitize, validate};
use crate::time;
use serde_json::{Map, Value, json};

/// Apply link attributes of a write: many-to-many ids and columns, the contact's account, the
/// account of an activity's parent.
fn link_side_effects(store: &mut Store, entity: &str, id: &str, changed: &Rec) {
    let d = defs();
    for (name, def) in d.fields(entity) {
        if def["type"].as_str() != Some("linkMultiple") {
            continue;
        }
        let Some(Value::Array(ids)) = changed.get(&format!("{name}Ids")) else {
            continue;
        };
        let columns = changed
            .get(&format!("{name}Columns"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let wanted: Vec<String> = ids
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        for (old, _) in store.related(entity, id, name) {
            if !wanted.contains(&old) {
                store.remove_edge(entity, id, name, &old);
            }
        }
        for fid in &wanted {
            let cols = columns
                .get(fid)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            store.add_edge(entity, id, name, fid, cols);
        }
    }
    if entity == "Contact"
        && let Some(account) = changed.get("accountId").and_then(Value::as_str)
    {
        store.add_edge(entity, id, "accounts", account, Map::new());
    }
    if let (Some(pt), Some(pid)) = (
        changed.get("parentType").and_then(Value::as_str),
        changed.get("parentId").and_then(Value::as_str),
    ) && d.attributes(entity).contains("accountId")
    {
        let account = if pt == "Account" {
            Some(pid.to_owned())
        } else {
            store.find(pt, pid).and_then(|r| {
                r.get("accountId")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
        };
        if let Some(rec) = store.find_mut(entity, id) {
            rec.insert("accountId".into(), json!(account));
        }
    }
}

/// `POST {Entity}`.
pub fn create(shared: &Shared, req: &Req<'_>, entity: &str) -> Result<Answer, Answer> {
    let user = req.user;
    if !user.can(entity, "create") {
        return Err(Answer::error(403, "No create access."));
    }
    let body = req.object()?;
    let skip = req
        .header("x-skip-duplicate-check")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || body.get("_skipDuplicateCheck") == Some(&json!(true));
    let mut rec = sanitize(entity, &body);
    let changed = rec.clone();
    for (name, def) in defs().fields(entity) {
        if let Some(default) = def.get("default") {
            rec.entry(name.clone()).or_insert_with(|| default.clone());
        }
    }
    validate(entity, &rec, &changed, true)?;
    check_assignment(user, entity, &changed)?;
    let mut store = store(shared);
    if !skip
        && let Some(fields) = defs()
            .scope(entity)
            .and_then(|s| s["duplicateCheckFieldList"].as_array())
    {
        let name = match defs().field_type(entity, "name") {
            Some("personName") => person_name(&rec),
            _ => rec
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        };
        let email = rec
            .get("emailAddress")
            .and_then(Value::as_str)
            .map(str::to_lowercase);
        let by_name = fields.iter().any(|f| f == "name");
        let by_email = fields.iter().any(|f| f == "emailAddress");
        let duplicates: Vec<Value> = store
            .live(entity)
            .filter(|r| {
                let their_name = match defs().field_type(entity, "name") {
                    Some("personName") => person_name(r),
                    _ => r
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                };
                (by_name && !name.is_empty() && their_name.eq_ignore_ascii_case(&name))
                    || (by_email
                        && email.is_some()
                        && r.get("emailAddress")
                            .and_then(Value::as_str)
                            .map(str::to_lowercase)
                            == email)
            })
            .map(|r| Value::Object(render(&store, entity, r, false, user)))
            .collect();
        if !duplicates.is_empty() {
            return Err(Answer::error(409, "duplicate").with_body(Value::Array(duplicates)));
        }
    }
    let id = store.new_id();
    let now = time::now();
    rec.insert("id".into(), json!(id));
    rec.insert("deleted".into(), json!(false));
    rec.insert("createdAt".into(), json!(now));
    rec.insert("modifiedAt".into(), json!(now));
    rec.insert("createdById".into(), json!(user.id));
    if defs().versioned(entity) {
        rec.insert("versionNumber".into(), json!(1));
    }
    rec.remove("_skipDuplicateCheck");
    store
        .records
        .entry(entity.to_owned())
        .or_default()
        .push(rec.clone());
    link_side_effects(&mut store, entity, &id, &changed);
    stream_create(&mut store, entity, &id, user);
    let rec = store.find(entity, &id).cloned().unwrap_or_default();
    Ok(Answer::ok(Value::Object(render(
        &store, entity, &rec, true, user,
    ))))
}

fn stream_create(store: &mut Store, entity: &str, id: &str, user: &User) {
    let d = defs();
    let Some(rec) = store.find(entity, id).cloned() else {
        return;
    };
    if d.scope(entity).is_some_and(|s| s["stream"] == json!(true)) {
        let mut data = Map::new();
        if let Some(field) = d.status_field(entity) {
            data.insert("statusField".into(), json!(field));
            data.insert(
                "statusValue".into(),
                rec.get(field).cloned().unwrap_or(Value::Null),
            );
        }
        if let Some(a) = rec.get("assignedUserId").filter(|v| !v.is_null()) {
            data.insert("assignedUserId".into(), a.clone());
        }
        let note = json!({"type": "Create", "parentType": entity, "parentId": id, "data": data});
        store.add_note(
            note.as_object().cloned().unwrap_or_default(),
            &user.id,
            None,
        );
    }
    if let (Some(pt), Some(pid)) = (
        rec.get("parentType").and_then(Value::as_str),
        rec.get("parentId").and_then(Value::as_str),
    ) {
        let note = json!({"type": "CreateRelated", "parentType": pt, "parentId": pid, "relatedType": entity, "relatedId": id, "data": {}});
        store.add_note(
            note.as_object().cloned().unwrap_or_default(),
            &user.id,
            None,
        );
    }
}

/// `PUT` / `PATCH {Entity}/{id}`.
pub fn update(shared: &Shared, req: &Req<'_>, entity: &str, id: &str) -> Result<Answer, Answer> {
    let user = req.user;
    if !user.can(entity, "edit") {
        return Err(Answer::error(403, "No edit access."));
    }
    let body = req.object()?;
    let mut store = store(shared);
    let current = store
        .find(entity, id)
        .cloned()
        .ok_or_else(|| Answer::error(404, format!("Record {id} not found.")))?;
    if !user.can_record(entity, "edit", &current) {
        return Err(Answer::error(403, "No edit access."));
    }
    let changed = sanitize(entity, &body);
    if let Some(expected) = req.header("x-version-number") {
        concurrency(&store, entity, &current, &changed, expected, user)?;
    }
    let mut merged = current.clone();
    merged.extend(changed.clone());
    validate(entity, &merged, &changed, false)?;
    check_assignment(user, entity, &changed)?;
    let status_field = defs().status_field(entity).map(str::to_owned);
    let became: Map<String, Value> = changed
        .iter()
        .filter(|(k, v)| current.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !became.is_empty() {
        merged.insert("modifiedAt".into(), json!(time::now()));
        merged.insert("modifiedById".into(), json!(user.id));
        if defs().versioned(entity) {
            let n = current
                .get("versionNumber")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            merged.insert("versionNumber".into(), json!(n + 1));
        }
    }
    if let Some(rec) = store.find_mut(entity, id) {
        *rec = merged;
    }
    link_side_effects(&mut store, entity, id, &changed);
    if defs()
        .scope(entity)
        .is_some_and(|s| s["stream"] == json!(true))
    {
        if let Some(field) = status_field.filter(|f| became.contains_key(f)) {
            let note = json!({"type": "Status", "parentType": entity, "parentId": id, "data": {"field": field, "value": became[&field], "style": "default"}});
            store.add_note(
                note.as_object().cloned().unwrap_or_default(),
                &user.id,
                None,
            );
        }
        let audited: Vec<&String> = became
            .keys()
            .filter(|k| {
                defs()
                    .field(entity, k)
                    .is_some_and(|f| f["audited"] == json!(true))
                    && Some(k.as_str()) != defs().status_field(entity)
            })
            .collect();
        if !audited.is_empty() {
            let was: Map<String, Value> = audited
                .iter()
                .map(|k| {
                    (
                        (*k).clone(),
                        current.get(*k).cloned().unwrap_or(Value::Null),
                    )
                })
                .collect();
            let now: Map<String, Value> = audited
                .iter()
                .map(|k| ((*k).clone(), became[*k].clone()))
                .collect();
            let note = json!({"type": "Update", "parentType": entity, "parentId": id, "data": {"fields": audited, "attributes": {"was": was, "became": now}}});
            store.add_note(
                note.as_object().cloned().unwrap_or_default(),
                &user.id,
                None,
            );
        }
    }
    let rec = store.find(entity, id).cloned().unwrap_or_default();
    Ok(Answer::ok(Value::Object(render(
        &store, entity, &rec, true, user,
    ))))
}

/// Optimistic concurrency as 9.1.7's `OptimisticProcessor` runs it: nothing to check when the
/// entity has no `versionNumber` or the client sent the current one (`intval` of the header);
/// otherwise the fields whose written attributes would change a stored value (read-only and
/// `optimisticConcurrencyControlIgnore` fields aside) are the conflict — 409 `modified` with
/// every attribute of those fields as stored, and the current version. No such field: the
/// write goes through.
fn concurrency(
    store: &Store,
    entity: &str,
    current: &Rec,
    changed: &Rec,
    expected: &str,
    user: &User,
) -> Result<(), Answer> {
    let d = defs();
    if !d.versioned(entity) {
        return Ok(());
    }
    // seeded records carry no stored number; they read as version 1
    let now = current
        .get("versionNumber")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let digits: String = expected
        .trim()
        .chars()
        .enumerate()
        .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && *c == '-'))
        .map(|(_, c)| c)
        .collect();
    if digits.parse::<i64>().unwrap_or(0) == now {
        return Ok(());
    }
    let stored = render(store, entity, current, true, user);
    let conflicting: Vec<&String> = d
        .fields(entity)
        .iter()
        .filter(|(_, def)| {
            def["readOnly"] != json!(true)
                && def["optimisticConcurrencyControlIgnore"] != json!(true)
        })
        .map(|(name, _)| name)
        .filter(|name| {
            d.field_attributes(entity, name).0.iter().any(|attr| {
                changed
                    .get(attr)
                    .is_some_and(|v| stored.get(attr).unwrap_or(&Value::Null) != v)
            })
        })
        .collect();
    if conflicting.is_empty() {
        return Ok(());
    }
    let mut values = Map::new();
    for field in conflicting {
        for attr in d.field_attributes(entity, field).1 {
            values.insert(
                attr.clone(),
                stored.get(&attr).cloned().unwrap_or(Value::Null),
            );
        }
    }
    Err(Answer::error(409, "modified").with_body(json!({"values": values, "versionNumber": now})))
}

/// `DELETE {Entity}/{id}`: soft delete.
pub fn delete(shared: &Shared, req: &Req<'_>, entity: &str, id: &str) -> Result<Answer, Answer> {
    let user = req.user;
    if !user.can(entity, "delete") {
        return Err(Answer::error(403, "No delete access."));
    }
    let mut store = store(shared);
    let current = store
        .find(entity, id)
        .cloned()
        .ok_or_else(|| Answer::error(404, format!("Record {id} not found.")))?;
    if !user.can_record(entity, "delete", &current) {
        return Err(Answer::error(403, "No delete access."));
    }
    if let Some(rec) = store.find_mut(entity, id) {
        rec.insert("deleted".into(), json!(true));
    }
    // links to a deleted record disappear from lists: reads skip deleted records
    Ok(Answer::ok(json!(true)))
}

/// `POST {Entity}/action/restoreDeleted {"id": …}` as 9.1.7's `RecordBase` and `Record\Service`
/// answer it: a non-admin gets an empty `Forbidden`, a missing id an empty `BadRequest`, an
/// unknown record an empty `NotFound`, a record that is not deleted 403 `No 'deleted'
/// attribute.`; otherwise the flag is cleared (links were never removed) and the answer is
/// `true`.
pub fn restore(shared: &Shared, req: &Req<'_>, entity: &str) -> Result<Answer, Answer> {
    if !req.user.admin {
        return Err(Answer::error(403, ""));
    }
    let body = req.object()?;
    let id = body
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| Answer::error(400, ""))?;
    let mut store = store(shared);
    let rec = store
        .find_even_deleted_mut(entity, id)
        .ok_or_else(|| Answer::error(404, ""))?;
    if rec.get("deleted") != Some(&json!(true)) {
        return Err(Answer::error(403, "No 'deleted' attribute."));
    }
    rec.insert("deleted".into(), json!(false));
    Ok(Answer::ok(json!(true)))
}
