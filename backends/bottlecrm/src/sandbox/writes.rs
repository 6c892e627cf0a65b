//! Create, update and delete, with BottleCRM's validation and answers: the wrapped
//! `{"error": true, "errors": {…}}` for most entities and the bare DRF object for solutions;
//! no id in the lead and task create answers; PUT that validates required fields and clears
//! absent many-to-many lists (except on leads, where PUT behaves like PATCH); invoices updated
//! by PUT only; lead conversion through `status: converted`.

use super::actions;
use super::auth::Principal;
use super::details::{forbidden, locate};
use super::records;
use super::render;
use super::router::Reply;
use super::state::Store;
use super::validation::{Errors, LISTS, decimal, rules, validate};
use crate::entities::Entity;
use crate::ids;
use serde_json::{Map, Value, json};

/// The id lists in `data`, resolved within the organisation; a malformed id is the bare 400.
fn id_lists(
    store: &Store,
    org: usize,
    entity: Entity,
    data: &Value,
) -> Result<Map<String, Value>, Reply> {
    let mut out = Map::new();
    for key in LISTS {
        let Some(v) = data.get(*key) else { continue };
        let items: Vec<Value> = match v {
            Value::Array(items) => items.clone(),
            Value::Null => Vec::new(),
            other => vec![other.clone()],
        };
        if entity == Entity::Accounts && *key == "tags" {
            out.insert("tags".into(), Value::Array(items));
            continue;
        }
        let mut ids_out = Vec::new();
        for item in items {
            let raw = item
                .get("id")
                .unwrap_or(&item)
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| item.to_string());
            let Some(id) = ids::canonical(&raw) else {
                return Err(Reply::json(
                    400,
                    json!({ *key: [format!("'{raw}' is not a valid id.")] }),
                ));
            };
            let known = match *key {
                "assigned_to" => store.profile_by_id(org, &id).is_some(),
                "tags" => store.tag_by_id(org, &id).is_some(),
                "contacts" => store.find(Entity::Contacts, org, &id).is_some(),
                _ => false,
            };
            if known {
                ids_out.push(json!(id));
            }
        }
        out.insert((*key).into(), Value::Array(ids_out));
    }
    Ok(out)
}

/// Account tags are names: get or create each tag by name.
fn account_tags(store: &mut Store, org: usize, names: &Value) -> Value {
    let mut ids_out = Vec::new();
    for name in names
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let idx = match store
            .tags
            .iter()
            .position(|t| t.org == org && t.name.eq_ignore_ascii_case(name))
        {
            Some(i) => i,
            None => {
                let (id, created_at) = (store.new_id(), store.now());
                store.tags.push(super::state::Tag {
                    id,
                    name: name.to_owned(),
                    color: "blue".into(),
                    org,
                    created_at,
                });
                store.tags.len() - 1
            }
        };
        ids_out.push(json!(store.tags[idx].id));
    }
    Value::Array(ids_out)
}

/// The fields of a new invoice with computed totals (also used by the seed).
pub fn invoice_fields(
    store: &mut Store,
    title: &str,
    account: &str,
    contact: &str,
    currency: &str,
    items: &[(&str, &str, &str)],
) -> Value {
    let lines: Vec<Value> = items
        .iter()
        .map(|(name, qty, price)| json!({"name": name, "description": "", "quantity": qty, "unit_price": price}))
        .collect();
    let mut f = Map::new();
    f.insert("invoice_title".into(), json!(title));
    f.insert("account".into(), json!(account));
    f.insert("contact".into(), json!(contact));
    f.insert("currency".into(), json!(currency));
    f.insert("line_items".into(), Value::Array(lines));
    fill_invoice(store, &mut f, true);
    Value::Object(f)
}

/// Number, status, dates and totals of an invoice.
fn fill_invoice(store: &mut Store, f: &mut Map<String, Value>, new: bool) {
    if new {
        f.insert("invoice_number".into(), json!(store.invoice_number()));
        f.insert("status".into(), json!("Draft"));
        f.entry("issue_date").or_insert(json!(store.today()));
        f.entry("payment_terms").or_insert(json!("NET_30"));
        for k in [
            "client_name",
            "client_phone",
            "notes",
            "terms",
            "discount_type",
        ] {
            f.entry(k).or_insert(json!(""));
        }
        f.entry("due_date").or_insert(Value::Null);
        f.entry("public_link_enabled").or_insert(json!(true));
        f.entry("reminder_enabled").or_insert(json!(true));
        f.entry("amount_paid").or_insert(json!("0.00"));
        f.entry("is_overdue").or_insert(json!(false));
    }
    let mut lines = f
        .get("line_items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut subtotal = 0.0;
    for (i, line) in lines.iter_mut().enumerate() {
        let q = line.get("quantity").and_then(decimal).unwrap_or(1.0);
        let p = line.get("unit_price").and_then(decimal).unwrap_or(0.0);
        subtotal += q * p;
        if let Value::Object(m) = line {
            m.entry("id").or_insert(json!(store.new_id()));
            m.insert("quantity".into(), json!(format!("{q:.2}")));
            m.insert("unit_price".into(), json!(format!("{p:.2}")));
            m.insert("total".into(), json!(format!("{:.2}", q * p)));
            m.insert("order".into(), json!(i));
        }
    }
    f.insert("line_items".into(), Value::Array(lines));
    let num = |k: &str| f.get(k).and_then(decimal).unwrap_or(0.0);
    let tax = subtotal * num("tax_rate") / 100.0;
    let total = subtotal + tax + num("shipping_amount") - num("discount_value");
    let paid = num("amount_paid");
    for (k, v) in [
        ("subtotal", subtotal),
        ("tax_amount", tax),
        ("total_amount", total),
        ("amount_due", total - paid),
    ] {
        f.insert(k.into(), json!(format!("{v:.2}")));
    }
}

fn invoice_links(
    store: &Store,
    org: usize,
    data: &Value,
    errors: &mut Errors,
) -> Map<String, Value> {
    let mut out = Map::new();
    let id_of = |key: &str, errors: &mut Errors| -> Option<String> {
        let raw = data.get(key)?.as_str().unwrap_or_default();
        let id = ids::canonical(raw);
        if id.is_none() {
            errors.add(key, "Must be a valid UUID.");
        }
        id
    };
    let account = id_of("account_id", errors);
    let contact = id_of("contact_id", errors);
    let opportunity = id_of("opportunity_id", errors);
    if let Some(a) = &account {
        if store.find(Entity::Accounts, org, a).is_none() {
            errors.add(
                "account_id",
                "Account not found or does not belong to your organization",
            );
        } else {
            out.insert("account".into(), json!(a));
        }
    }
    if let Some(c) = &contact {
        match store.find(Entity::Contacts, org, c) {
            None => errors.add(
                "contact_id",
                "Contact not found or does not belong to your organization",
            ),
            Some(row) if account.is_some() && row.s("account") != account.as_deref() => {
                errors.add(
                    "contact_id",
                    "Contact does not belong to the selected account",
                );
            }
            Some(row) => {
                out.insert("contact".into(), json!(c));
                if data.get("client_email").is_none() {
                    out.insert(
                        "client_email".into(),
                        row.f.get("email").cloned().unwrap_or(Value::Null),
                    );
                }
            }
        }
    }
    if let Some(o) = &opportunity {
        if store.find(Entity::Opportunities, org, o).is_none() {
            errors.add(
                "opportunity_id",
                "Opportunity not found or does not belong to your organization",
            );
        } else {
            out.insert("opportunity".into(), json!(o));
        }
    }
    out
}

fn notify_assignees(store: &mut Store, entity: Entity, assigned: Option<&Value>) {
    let emails: Vec<String> = assigned
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|id| {
            store
                .profiles
                .iter()
                .find(|p| p.id == id)
                .map(|p| p.email.clone())
        })
        .collect();
    for e in emails {
        store
            .emails
            .push(format!("assignment of a {} to {e}", entity.spec().name));
    }
}

/// `POST` on a list path.
pub fn create(store: &mut Store, who: &Principal, entity: Entity, data: &Value) -> Reply {
    let org = who.org;
    if entity == Entity::Solutions
        && !who.admin
        && (data.get("status").and_then(Value::as_str) == Some("approved")
            || data.get("is_published") == Some(&json!(true)))
    {
        return forbidden(entity);
    }
    let lists = match (entity, id_lists(store, org, entity, data)) {
        (Entity::Leads, Err(bare)) => {
            // BottleCRM saves the lead before it fails on the bad id
            let mut errors = Errors::default();
            let fields = validate(store, org, entity, data, true, &mut errors);
            if errors.0.is_empty() {
                records::insert(store, entity, org, who.profile, Value::Object(fields));
            }
            return bare;
        }
        (_, Err(bare)) => return bare,
        (_, Ok(lists)) => lists,
    };
    let mut errors = Errors::default();
    let mut fields = validate(store, org, entity, data, true, &mut errors);
    if entity == Entity::Invoices {
        fields.extend(invoice_links(store, org, data, &mut errors));
    }
    rules(store, org, entity, &fields, None, &mut errors);
    if !errors.0.is_empty() {
        return errors.reply(entity);
    }
    let assigned = lists.get("assigned_to").cloned();
    for (k, v) in lists {
        let v = if entity == Entity::Accounts && k == "tags" {
            account_tags(store, org, &v)
        } else {
            v
        };
        fields.insert(k, v);
    }
    let converting = entity == Entity::Leads
        && fields.get("status").and_then(Value::as_str) == Some("converted");
    if converting {
        fields.insert("status".into(), json!("assigned"));
    }
    if entity == Entity::Invoices {
        fill_invoice(store, &mut fields, true);
    }
    let id = records::insert(store, entity, org, who.profile, Value::Object(fields));
    notify_assignees(store, entity, assigned.as_ref());
    let row = || store.find(entity, org, &id).cloned();
    let message = |m: &str| json!({"error": false, "message": m});
    match entity {
        Entity::Leads if converting => {
            let i = store
                .rows(entity)
                .iter()
                .position(|r| r.id == id)
                .unwrap_or(0);
            actions::convert(store, entity, i)
        }
        Entity::Leads => Reply::json(200, message("Lead Created Successfully")),
        Entity::Tasks => Reply::json(200, message("Task Created Successfully")),
        Entity::Contacts => Reply::json(
            200,
            json!({"error": false, "message": "Contact created Successfuly", "id": id}),
        ),
        Entity::Accounts => Reply::json(
            200,
            json!({"error": false, "message": "Account Created Successfully", "id": id}),
        ),
        Entity::Opportunities => Reply::json(
            200,
            json!({"error": false, "message": "Opportunity Created Successfully", "id": id}),
        ),
        Entity::Cases => {
            let obj = row()
                .map(|r| render::case(store, &r))
                .unwrap_or(Value::Null);
            Reply::json(
                200,
                json!({"error": false, "message": "Case Created Successfully", "id": id, "cases_obj": obj}),
            )
        }
        Entity::Solutions => Reply::json(
            201,
            row()
                .map(|r| render::solution(store, &r))
                .unwrap_or(Value::Null),
        ),
        Entity::Invoices => {
            let obj = row()
                .map(|r| render::invoice(store, &r))
                .unwrap_or(Value::Null);
            Reply::json(
                201,
                json!({"error": false, "message": "Invoice created successfully", "invoice": obj}),
            )
        }
    }
}

/// `PATCH` (or `PUT`, `full`) on a detail path.
pub fn update(
    store: &mut Store,
    who: &Principal,
    entity: Entity,
    id: &str,
    data: &Value,
    full: bool,
) -> Reply {
    let i = match locate(store, who, entity, id) {
        Ok(i) => i,
        Err(reply) if entity == Entity::Leads && reply.status == 403 => {
            return Reply::json(
                403,
                json!({"error": true, "errors": "You do not have Permission to perform this action"}),
            );
        }
        Err(reply) => return reply,
    };
    let org = who.org;
    if entity == Entity::Solutions
        && !who.admin
        && (data.get("status").and_then(Value::as_str) == Some("approved")
            || data.get("is_published") == Some(&json!(true)))
    {
        return forbidden(entity);
    }
    if entity == Entity::Leads
        && (data.get("status").and_then(Value::as_str) == Some("converted")
            || data.get("is_converted") == Some(&json!(true)))
    {
        return actions::convert(store, entity, i);
    }
    let lists = match id_lists(store, org, entity, data) {
        Ok(lists) => lists,
        Err(bare) => return bare,
    };
    // PUT validates required fields, except on leads and invoices (both partial)
    let required = full && !matches!(entity, Entity::Leads | Entity::Invoices);
    let mut errors = Errors::default();
    let mut fields = validate(store, org, entity, data, required, &mut errors);
    if entity == Entity::Invoices {
        fields.extend(invoice_links(store, org, data, &mut errors));
    }
    let mut merged = store.rows(entity)[i].f.clone();
    merged.extend(fields.clone());
    rules(store, org, entity, &merged, Some(id), &mut errors);
    if !errors.0.is_empty() {
        return errors.reply(entity);
    }
    let assigned = lists.get("assigned_to").cloned();
    let mut lists = lists;
    if required {
        for key in LISTS {
            lists.entry(key.to_string()).or_insert(json!([]));
        }
    }
    let mut resolved = Map::new();
    for (k, v) in lists {
        let v = if entity == Entity::Accounts && k == "tags" {
            account_tags(store, org, &v)
        } else {
            v
        };
        resolved.insert(k, v);
    }
    let now = store.now();
    let stage_changed = fields
        .get("stage")
        .is_some_and(|s| Some(s) != store.rows(entity)[i].f.get("stage"));
    {
        let row = &mut store.rows_mut(entity)[i];
        row.f.extend(fields);
        row.f.extend(resolved);
        if row.f.contains_key("updated_at") {
            row.f.insert("updated_at".into(), json!(now));
        }
        if stage_changed {
            row.f.insert("stage_changed_at".into(), json!(now));
        }
    }
    if entity == Entity::Invoices {
        let mut f = store.rows(entity)[i].f.clone();
        fill_invoice(store, &mut f, false);
        store.rows_mut(entity)[i].f = f;
    }
    notify_assignees(store, entity, assigned.as_ref());
    let row = store.rows(entity)[i].clone();
    let message = |m: &str| Reply::json(200, json!({"error": false, "message": m}));
    match entity {
        Entity::Leads => message("Lead updated Successfully"),
        Entity::Contacts => message("Contact Updated Successfully"),
        Entity::Accounts => message("Account Updated Successfully"),
        Entity::Opportunities => message("Opportunity Updated Successfully"),
        Entity::Tasks => message("Task updated Successfully"),
        Entity::Cases => message("Case Updated Successfully"),
        Entity::Solutions => Reply::json(200, render::solution(store, &row)),
        Entity::Invoices => Reply::json(
            200,
            json!({"error": false, "message": "Invoice updated successfully", "invoice": render::invoice(store, &row)}),
        ),
    }
}

/// `DELETE` on a detail path (only admins and creators; hard).
pub fn delete(store: &mut Store, who: &Principal, entity: Entity, id: &str) -> Reply {
    let i = match locate(store, who, entity, id) {
        Ok(i) => i,
        Err(reply) => return reply,
    };
    let creator = store.rows(entity)[i].created_by == who.profile;
    if !who.admin && !creator {
        return if entity == Entity::Leads {
            Reply::json(
                403,
                json!({"error": true, "errors": "you don't have permission to delete this lead"}),
            )
        } else {
            forbidden(entity)
        };
    }
    store.rows_mut(entity).remove(i);
    store
        .comments
        .retain(|c| !(c.entity == entity && c.object_id == id));
    let message = |m: &str| Reply::json(200, json!({"error": false, "message": m}));
    match entity {
        Entity::Leads => message("Lead deleted Successfully"),
        Entity::Contacts => message("Contact Deleted Successfully."),
        Entity::Accounts => message("Account Deleted Successfully."),
        Entity::Opportunities => message("Opportunity Deleted Successfully."),
        Entity::Tasks => message("Task deleted Successfully"),
        Entity::Cases => message("Case Deleted Successfully."),
        Entity::Solutions => Reply::empty(),
        Entity::Invoices => Reply::detail(405, "Method \"DELETE\" not allowed."),
    }
}
