//! Detail reads, and the lookups every record route shares: a record of another organisation
//! answers exactly like a missing one (each entity with its own 404 body), a record the caller
//! may not see answers 403.

use super::auth::Principal;
use super::catalog;
use super::render;
use super::router::Reply;
use super::state::Store;
use crate::entities::Entity;
use serde_json::{Map, Value, json};

/// The entity's own 404 answer.
pub fn not_found(entity: Entity) -> Reply {
    match entity {
        Entity::Leads => Reply::detail(404, "No Lead matches the given query."),
        Entity::Contacts => Reply::detail(404, "No Contact matches the given query."),
        Entity::Accounts => Reply::detail(404, "No Account matches the given query."),
        Entity::Tasks => Reply::detail(404, "No such task."),
        Entity::Cases => Reply::detail(404, "No such case."),
        Entity::Solutions => Reply::detail(404, "No such solution."),
        Entity::Opportunities => Reply::json(
            404,
            json!({"error": true, "errors": "Opportunity not found."}),
        ),
        Entity::Invoices => {
            Reply::json(404, json!({"error": true, "message": "Invoice not found"}))
        }
    }
}

/// The entity's own 403 answer to a record the caller may not open.
pub fn forbidden(entity: Entity) -> Reply {
    match entity {
        Entity::Invoices => {
            Reply::json(403, json!({"error": true, "message": "Permission denied"}))
        }
        _ => Reply::detail(403, "You do not have Permission to perform this action"),
    }
}

/// The index of a record the caller may open, or the answer refusing it.
pub fn locate(store: &Store, who: &Principal, entity: Entity, id: &str) -> Result<usize, Reply> {
    let Some(i) = store
        .rows(entity)
        .iter()
        .position(|r| r.id == id && r.org == who.org)
    else {
        return Err(not_found(entity));
    };
    let row = &store.rows(entity)[i];
    if entity != Entity::Solutions && !who.sees(store, row.created_by, &row.ids("assigned_to")) {
        return Err(forbidden(entity));
    }
    Ok(i)
}

/// The detail answer of a record (`{"lead_obj": …, "comments": […], …}`).
pub fn envelope(store: &Store, entity: Entity, i: usize) -> Value {
    let row = &store.rows(entity)[i];
    let object = render::object(store, entity, row);
    let comments = render::comments(store, entity, row, false);
    let users = Value::Array(
        (0..store.profiles.len())
            .filter(|p| store.profiles[*p].org == row.org)
            .map(|p| render::profile(store, p))
            .collect(),
    );
    let mention = Value::Array(
        store
            .profiles
            .iter()
            .filter(|p| p.org == row.org)
            .map(|p| json!({"user__email": p.email}))
            .collect(),
    );
    let assigned_data = Value::Array(
        row.ids("assigned_to")
            .iter()
            .filter_map(|id| store.profile_by_id(row.org, id))
            .map(|p| json!({"id": store.profiles[p].id, "name": store.profiles[p].email}))
            .collect(),
    );
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_owned(), v);
    };
    match entity {
        Entity::Solutions => {
            let mut o = object.as_object().cloned().unwrap_or_default();
            o.insert("linked_cases".into(), json!([]));
            return Value::Object(o);
        }
        Entity::Invoices => {
            put("invoice", object);
            put("attachments", json!([]));
            put("comments", comments);
            put("history", json!([]));
            put("custom_field_definitions", json!([]));
        }
        Entity::Leads => {
            put("lead_obj", object);
            put("attachments", json!([]));
            put("comments", comments);
            put("users_mention", mention);
            put("assigned_data", assigned_data);
            put("users", users.clone());
            put("users_excluding_team", users);
            put("source", catalog::pairs("SourceEnum", 50));
            put("status", catalog::pairs("LeadStatusEnum", 50));
            put("teams", json!([]));
            put("countries", catalog::pairs("ClientCountryEnum", 5));
            put("custom_field_definitions", json!([]));
        }
        Entity::Contacts => {
            put("contact_obj", object);
            put(
                "address_obj",
                json!({
                    "address_line": row.f.get("address_line"), "city": row.f.get("city"),
                    "state": row.f.get("state"), "postcode": row.f.get("postcode"), "country": row.f.get("country")
                }),
            );
            put("countries", catalog::pairs("ClientCountryEnum", 5));
            put("comments", comments);
            put("attachments", json!([]));
            put("assigned_data", assigned_data);
            for k in [
                "tasks",
                "opportunities",
                "cases",
                "colleagues",
                "custom_field_definitions",
            ] {
                put(k, json!([]));
            }
            put("users_mention", mention);
        }
        Entity::Accounts => {
            put("account_obj", object);
            put("attachments", json!([]));
            put("comments", comments);
            put("users", users);
            put("stages", catalog::pairs("StageEnum", 50));
            put("comment_permission", json!(true));
            put("users_mention", mention);
            put("status", json!(["active", "inactive"]));
            put("custom_field_definitions", json!([]));
        }
        Entity::Opportunities => {
            put("opportunity_obj", object);
            put("comments", comments);
            put("attachments", json!([]));
            put("users", users);
            put("stage", catalog::pairs("StageEnum", 50));
            put("lead_source", catalog::pairs("LeadSourceEnum", 50));
            put("currency", catalog::pairs("CurrencyEnum", 5));
            put("comment_permission", json!(true));
            put("users_mention", mention);
            put("custom_field_definitions", json!([]));
        }
        Entity::Tasks => {
            put("task_obj", object);
            put("attachments", json!([]));
            put("comments", comments);
            put("users_mention", mention);
            put("assigned_data", assigned_data);
            put("custom_field_definitions", json!([]));
            put("users", users.clone());
            put("users_excluding_team", users);
            put("teams", json!([]));
        }
        Entity::Cases => {
            put("cases_obj", object);
            put("attachments", json!([]));
            put("comments", comments);
            put("internal_notes", render::comments(store, entity, row, true));
            for k in [
                "contacts",
                "solutions",
                "activities",
                "email_messages",
                "merged_from_cases",
                "custom_field_definitions",
            ] {
                put(k, json!([]));
            }
            put("status", catalog::pairs("CaseStatusEnum", 50));
            put("priority", catalog::pairs("CasePriorityEnum", 50));
            put("type_of_case", catalog::pairs("CaseTypeEnum", 50));
            put("comment_permission", json!(true));
            put("users_mention", mention);
        }
    }
    Value::Object(m)
}

/// `GET {path}{id}/`.
pub fn get(store: &Store, who: &Principal, entity: Entity, id: &str) -> Reply {
    match locate(store, who, entity, id) {
        Ok(i) => Reply::json(200, envelope(store, entity, i)),
        Err(reply) => reply,
    }
}
