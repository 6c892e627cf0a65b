//! `POST MassAction` (EspoCRM's mass-action framework, `Core/MassAction/Api/PostProcess`):
//! `{entityType, action, params: {ids} | {where} | {searchParams}, data}` → `{count, ids}`.
//! The sandbox runs `delete` on `ids` (soft, with the caller's delete access per record; records
//! it may not delete are skipped, as EspoCRM does); other actions and search-based selections
//! are answered 400 so a test notices it reached something the sandbox does not reproduce.

use super::super::Shared;
use super::super::respond::Answer;
use super::Req;
use super::records::store;
use serde_json::{Value, json};

/// `POST MassAction`.
pub fn process(shared: &Shared, req: &Req<'_>) -> Result<Answer, Answer> {
    let body = req.object()?;
    let text = |key: &str| body.get(key).and_then(Value::as_str).unwrap_or("");
    let (entity, action) = (text("entityType"), text("action"));
    let Some(params) = body.get("params").filter(|p| p.is_object()) else {
        return Err(Answer::bare(400));
    };
    if entity.is_empty() || action.is_empty() {
        return Err(Answer::bare(400));
    }
    if action != "delete" {
        return Err(Answer::error(
            400,
            format!("sandbox: mass action '{action}' is not reproduced"),
        ));
    }
    let Some(ids) = params.get("ids").and_then(Value::as_array) else {
        return Err(Answer::error(400, "Bad search params for mass action."));
    };
    let user = req.user;
    if !user.can(entity, "delete") {
        return Err(Answer::error(403, "No delete access."));
    }
    let mut store = store(shared);
    let mut done = Vec::new();
    for id in ids.iter().filter_map(Value::as_str) {
        let allowed = store
            .find(entity, id)
            .is_some_and(|rec| user.can_record(entity, "delete", rec));
        if let (true, Some(rec)) = (allowed, store.find_mut(entity, id)) {
            rec.insert("deleted".into(), json!(true));
            done.push(id.to_owned());
        }
    }
    Ok(Answer::ok(json!({"count": done.len(), "ids": done})))
}
