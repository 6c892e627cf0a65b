//! Comments and record actions: `POST {id}/` with a comment (a lead that is missing or another
//! organisation's answers an HTML 500, as BottleCRM's `Lead.objects.get` does), invoice send,
//! cancel and comments, solution publish / unpublish, and lead conversion.

use super::auth::Principal;
use super::details::{locate, not_found};
use super::records;
use super::render;
use super::router::{HTML_500, Reply};
use super::state::{CommentRow, Store};
use crate::entities::Entity;
use serde_json::{Value, json};

fn add_comment(
    store: &mut Store,
    who: &Principal,
    entity: Entity,
    id: &str,
    text: &str,
    internal: bool,
) -> CommentRow {
    let c = CommentRow {
        id: store.new_id(),
        entity,
        object_id: id.to_owned(),
        org: who.org,
        text: text.to_owned(),
        at: store.now(),
        by: who.profile,
        internal,
    };
    store.comments.push(c.clone());
    c
}

/// `POST {path}{id}/`: add a comment; answers the record with its comments.
pub fn comment(
    store: &mut Store,
    who: &Principal,
    entity: Entity,
    id: &str,
    data: &Value,
) -> Reply {
    let i = match locate(store, who, entity, id) {
        Ok(i) => i,
        Err(_) if entity == Entity::Leads => return Reply::html(500, HTML_500),
        Err(reply) => return reply,
    };
    let text = data.get("comment").and_then(Value::as_str).unwrap_or("");
    let internal = entity == Entity::Cases && data.get("is_internal") == Some(&json!(true));
    if !text.is_empty() {
        add_comment(store, who, entity, id, text, internal);
    }
    let row = store.rows(entity)[i].clone();
    let key = entity.spec().detail_key.unwrap_or("obj");
    let mut answer = json!({
        key: render::object(store, entity, &row),
        "attachments": [],
        "comments": render::comments(store, entity, &row, false),
    });
    if entity == Entity::Cases {
        answer["internal_notes"] = render::comments(store, entity, &row, true);
    }
    Reply::json(200, answer)
}

/// `POST {path}{id}/{sub}/` (invoices: send, cancel, comments; solutions: publish, unpublish).
pub fn sub(
    store: &mut Store,
    who: &Principal,
    entity: Entity,
    id: &str,
    sub: &str,
    data: &Value,
) -> Reply {
    let i = match locate(store, who, entity, id) {
        Ok(i) => i,
        Err(reply) => return reply,
    };
    let fail = |m: &str| Reply::json(400, json!({"error": true, "message": m}));
    match (entity, sub) {
        (Entity::Invoices, "comments") => {
            let text = data
                .get("comment")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim()
                .to_owned();
            if text.is_empty() {
                return fail("Comment text required");
            }
            let c = add_comment(store, who, entity, id, &text, false);
            Reply::json(
                201,
                json!({"error": false, "message": "Comment added", "comment": render::comment(store, &c)}),
            )
        }
        (Entity::Invoices, "send") => {
            let status = store.rows(entity)[i]
                .s("status")
                .unwrap_or("Draft")
                .to_owned();
            match status.as_str() {
                "Paid" => return fail("Cannot send a paid invoice"),
                "Cancelled" => return fail("Cannot send a cancelled invoice"),
                _ => {}
            }
            let now = store.now();
            let row = &mut store.rows_mut(entity)[i];
            if status == "Draft" {
                row.f.insert("status".into(), json!("Sent"));
            }
            row.f.insert("sent_at".into(), json!(now));
            row.f.insert("is_email_sent".into(), json!(true));
            row.f.insert("updated_at".into(), json!(now));
            let to = row.s("client_email").unwrap_or("").to_owned();
            store.emails.push(format!("invoice {id} to {to}"));
            Reply::json(
                200,
                json!({"error": false, "message": "Invoice sent successfully"}),
            )
        }
        (Entity::Invoices, "cancel") => {
            if store.rows(entity)[i].s("status") == Some("Paid") {
                return fail("Cannot cancel a paid invoice");
            }
            let now = store.now();
            let row = &mut store.rows_mut(entity)[i];
            row.f.insert("status".into(), json!("Cancelled"));
            row.f.insert("updated_at".into(), json!(now));
            let row = store.rows(entity)[i].clone();
            Reply::json(
                200,
                json!({"error": false, "message": "Invoice cancelled successfully", "invoice": render::invoice(store, &row)}),
            )
        }
        (Entity::Solutions, "publish" | "unpublish") => {
            if !who.admin {
                return super::details::forbidden(entity);
            }
            let publish = sub == "publish";
            if publish && store.rows(entity)[i].s("status") != Some("approved") {
                return Reply::json(
                    400,
                    json!({"error": "Only approved solutions can be published. Please approve it first."}),
                );
            }
            let now = store.now();
            let row = &mut store.rows_mut(entity)[i];
            row.f.insert("is_published".into(), json!(publish));
            row.f.insert("updated_at".into(), json!(now));
            let row = store.rows(entity)[i].clone();
            Reply::json(200, render::solution(store, &row))
        }
        _ => not_found(entity),
    }
}

/// Convert the lead at index `i`: create or reuse an account, create a contact and an
/// opportunity at QUALIFICATION, and mark the lead converted.
pub fn convert(store: &mut Store, entity: Entity, i: usize) -> Reply {
    let lead = store.rows(entity)[i].clone();
    let wrapped =
        |field: &str, m: &str| Reply::json(400, json!({"error": true, "errors": { field: [m] }}));
    if lead.s("status") == Some("converted") {
        return wrapped(
            "status",
            "This lead is already converted. Converting it again would create a second opportunity against the same account.",
        );
    }
    let Some(email) = lead.s("email").filter(|e| !e.is_empty()).map(str::to_owned) else {
        return wrapped(
            "email",
            "This lead needs an email address before it can be converted. The contact record is created from it.",
        );
    };
    let (org, by) = (lead.org, lead.created_by);
    let person = format!(
        "{} {}",
        lead.s("first_name").unwrap_or(""),
        lead.s("last_name").unwrap_or("")
    )
    .trim()
    .to_owned();
    let account_name = lead
        .s("company_name")
        .filter(|c| !c.is_empty())
        .map_or(person.clone(), str::to_owned);
    let account_id = match store.rows(Entity::Accounts).iter().find(|r| {
        r.org == org
            && r.s("name")
                .is_some_and(|n| n.eq_ignore_ascii_case(&account_name))
    }) {
        Some(a) => a.id.clone(),
        None => records::insert(
            store,
            Entity::Accounts,
            org,
            by,
            json!({"name": account_name, "email": email, "phone": lead.f.get("phone"), "industry": lead.f.get("industry"),
                   "city": lead.f.get("city"), "country": lead.f.get("country")}),
        ),
    };
    let contact_id = records::insert(
        store,
        Entity::Contacts,
        org,
        by,
        json!({"first_name": lead.f.get("first_name"), "last_name": lead.f.get("last_name"), "email": email,
               "phone": lead.f.get("phone"), "organization": lead.f.get("company_name"), "account": account_id,
               "city": lead.f.get("city"), "country": lead.f.get("country")}),
    );
    let mut name = format!("{account_name} - {person}");
    while store
        .rows(Entity::Opportunities)
        .iter()
        .any(|r| r.org == org && r.s("name") == Some(name.as_str()))
    {
        name.push_str(" (again)");
    }
    let opportunity_id = records::insert(
        store,
        Entity::Opportunities,
        org,
        by,
        json!({"name": name, "account": account_id, "stage": "QUALIFICATION", "amount": lead.f.get("opportunity_amount"),
               "currency": lead.f.get("currency"), "probability": 25, "lead_source": lead.f.get("source"),
               "contacts": [contact_id]}),
    );
    let now = store.now();
    let row = &mut store.rows_mut(entity)[i];
    row.f.insert("status".into(), json!("converted"));
    row.f.insert("updated_at".into(), json!(now));
    Reply::json(
        200,
        json!({"error": false, "message": "Lead Converted Successfully", "account_id": account_id,
               "contact_id": contact_id, "opportunity_id": opportunity_id}),
    )
}
