//! Stored records → BottleCRM's answer shapes, as recorded: full user profiles in
//! `assigned_to`, tag objects on leads / opportunities / tasks but bare tag ids on contacts, a
//! whole account inside an opportunity or case, `{id, name}` parents on task rows, the invoice
//! list summary versus the full invoice, and so on.

use super::state::{CommentRow, Row, Store};
use crate::entities::Entity;
use serde_json::{Map, Value, json};

/// A full user profile, as `assigned_to` lists them.
pub fn profile(store: &Store, idx: usize) -> Value {
    let p = &store.profiles[idx];
    json!({
        "id": p.id,
        "user_details": {
            "email": p.email, "id": p.user_id, "name": p.name,
            "is_active": true, "profile_pic": null, "last_login": null
        },
        "role": if p.role == super::state::Role::Admin { "ADMIN" } else { "USER" },
        "address": null, "has_marketing_access": true, "has_sales_access": true,
        "phone": null, "date_of_joining": null, "is_active": true,
        "created_at": "2026-11-21T05:34:50.935499Z"
    })
}

/// The creator, as most serializers show it.
pub fn user_brief(store: &Store, idx: usize) -> Value {
    let p = &store.profiles[idx];
    json!({"id": p.user_id, "email": p.email, "name": p.name, "profile_pic": null})
}

/// `{"id", "name"}` of an organisation.
pub fn org(store: &Store, org: usize) -> Value {
    json!({"id": store.orgs[org].id, "name": store.orgs[org].name})
}

/// Catalogue of the organisation's users: `[{"id", "user__email"}]`.
pub fn users_catalogue(store: &Store, org: usize) -> Value {
    Value::Array(
        store
            .profiles
            .iter()
            .filter(|p| p.org == org)
            .map(|p| json!({"id": p.id, "user__email": p.email}))
            .collect(),
    )
}

fn tag(store: &Store, idx: usize) -> Value {
    let t = &store.tags[idx];
    json!({
        "id": t.id, "name": t.name, "slug": t.name.to_lowercase().replace(' ', "-"),
        "color": t.color, "description": "", "is_active": true, "created_at": t.created_at
    })
}

/// The organisation's tags, as catalogues list them.
pub fn tags_catalogue(store: &Store, org: usize) -> Value {
    Value::Array(
        (0..store.tags.len())
            .filter(|i| store.tags[*i].org == org)
            .map(|i| tag(store, i))
            .collect(),
    )
}

fn tag_objects(store: &Store, row: &Row) -> Value {
    Value::Array(
        row.ids("tags")
            .iter()
            .filter_map(|id| store.tag_by_id(row.org, id))
            .map(|i| tag(store, i))
            .collect(),
    )
}

fn assigned(store: &Store, row: &Row) -> Value {
    Value::Array(
        row.ids("assigned_to")
            .iter()
            .filter_map(|id| store.profile_by_id(row.org, id))
            .map(|i| profile(store, i))
            .collect(),
    )
}

fn base(row: &Row) -> Map<String, Value> {
    let mut m = row.f.clone();
    m.insert("id".into(), json!(row.id));
    m.insert("created_at".into(), json!(row.created_at));
    m
}

fn name_of(store: &Store, entity: Entity, org: usize, id: Option<&str>) -> Value {
    let Some(row) = id.and_then(|id| store.find(entity, org, id)) else {
        return Value::Null;
    };
    let name = row.s("name").or_else(|| row.s("title")).unwrap_or("");
    json!({"id": row.id, "name": name})
}

/// A contact object.
pub fn contact(store: &Store, row: &Row) -> Value {
    let mut m = base(row);
    m.insert("assigned_to".into(), assigned(store, row));
    m.insert(
        "created_by".into(),
        json!(store.profiles[row.created_by].user_id),
    );
    m.insert("org".into(), org(store, row.org));
    let account = name_of(store, Entity::Accounts, row.org, row.s("account"));
    m.insert(
        "linked_accounts".into(),
        if account.is_null() {
            json!([])
        } else {
            json!([account])
        },
    );
    m.insert("account_detail".into(), account);
    Value::Object(m)
}

/// An account object, with its contacts and the briefs of its deals, cases and tasks.
pub fn account(store: &Store, row: &Row) -> Value {
    let mut m = base(row);
    m.insert("assigned_to".into(), assigned(store, row));
    m.insert("tags".into(), tag_objects(store, row));
    m.insert("created_by".into(), user_brief(store, row.created_by));
    m.insert("org".into(), org(store, row.org));
    let country = row.s("country").unwrap_or("");
    m.insert(
        "country_display".into(),
        json!(super::records::country_name(country)),
    );
    let linked = |entity: Entity, key: &str| -> Vec<&Row> {
        store
            .rows(entity)
            .iter()
            .filter(|r| r.org == row.org && r.s(key) == Some(row.id.as_str()))
            .collect()
    };
    m.insert(
        "contacts".into(),
        Value::Array(
            linked(Entity::Contacts, "account")
                .into_iter()
                .map(|c| contact(store, c))
                .collect(),
        ),
    );
    m.insert(
        "opportunities".into(),
        Value::Array(
            linked(Entity::Opportunities, "account")
                .into_iter()
                .map(|o| json!({"id": o.id, "name": o.f["name"], "stage": o.f["stage"], "amount": o.f["amount"]}))
                .collect(),
        ),
    );
    m.insert(
        "cases".into(),
        Value::Array(
            linked(Entity::Cases, "account")
                .into_iter()
                .map(|c| json!({"id": c.id, "name": c.f["name"]}))
                .collect(),
        ),
    );
    m.insert(
        "tasks".into(),
        Value::Array(
            linked(Entity::Tasks, "account")
                .into_iter()
                .map(|t| json!({"id": t.id, "title": t.f["title"]}))
                .collect(),
        ),
    );
    m.insert("rollups".into(), Value::Null);
    Value::Object(m)
}

fn account_object(store: &Store, org: usize, id: Option<&str>) -> Value {
    id.and_then(|id| store.find(Entity::Accounts, org, id))
        .map(|a| account(store, a))
        .unwrap_or(Value::Null)
}

fn contact_objects(store: &Store, row: &Row) -> Value {
    Value::Array(
        row.ids("contacts")
            .iter()
            .filter_map(|id| store.find(Entity::Contacts, row.org, id))
            .map(|c| contact(store, c))
            .collect(),
    )
}

/// A lead object.
pub fn lead(store: &Store, row: &Row) -> Value {
    let mut m = base(row);
    m.insert("assigned_to".into(), assigned(store, row));
    m.insert("tags".into(), tag_objects(store, row));
    m.insert("contacts".into(), contact_objects(store, row));
    m.insert("created_by".into(), user_brief(store, row.created_by));
    for (k, v) in [
        ("is_sample", json!(false)),
        ("stage", Value::Null),
        ("kanban_order", json!("0.000000")),
    ] {
        m.insert(k.into(), v);
    }
    Value::Object(m)
}

/// An opportunity object.
pub fn opportunity(store: &Store, row: &Row) -> Value {
    let mut m = base(row);
    m.insert(
        "account".into(),
        account_object(store, row.org, row.s("account")),
    );
    m.insert("assigned_to".into(), assigned(store, row));
    m.insert("tags".into(), tag_objects(store, row));
    m.insert("contacts".into(), contact_objects(store, row));
    m.insert("created_by".into(), user_brief(store, row.created_by));
    m.insert("org".into(), org(store, row.org));
    for (k, v) in [
        ("amount_source", json!("MANUAL")),
        ("line_items", json!([])),
        ("line_items_total", json!(0)),
        ("closed_by", Value::Null),
        ("created_on_arrow", json!("0 minutes ago")),
        ("days_in_stage", json!(0)),
        ("aging_status", json!("green")),
        ("is_active", json!(true)),
    ] {
        m.insert(k.into(), v);
    }
    Value::Object(m)
}

/// A task: the slim list row, or the full detail object.
pub fn task(store: &Store, row: &Row, detail: bool) -> Value {
    let mut m = if detail {
        base(row)
    } else {
        slim(row, &["title", "status", "priority", "due_date"])
    };
    for (key, entity) in [
        ("account", Entity::Accounts),
        ("opportunity", Entity::Opportunities),
        ("case", Entity::Cases),
        ("lead", Entity::Leads),
    ] {
        m.insert(key.into(), name_of(store, entity, row.org, row.s(key)));
    }
    m.insert("assigned_to".into(), assigned(store, row));
    m.insert("tags".into(), tag_objects(store, row));
    if detail {
        m.insert("contacts".into(), contact_objects(store, row));
        m.insert("created_by".into(), user_brief(store, row.created_by));
    } else {
        m.insert("created_at".into(), json!(row.created_at));
    }
    Value::Object(m)
}

fn slim(row: &Row, keys: &[&str]) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(row.id));
    for k in keys {
        m.insert((*k).into(), row.f.get(*k).cloned().unwrap_or(Value::Null));
    }
    m
}

/// A case object.
pub fn case(store: &Store, row: &Row) -> Value {
    let mut m = base(row);
    m.insert(
        "account".into(),
        account_object(store, row.org, row.s("account")),
    );
    m.insert("assigned_to".into(), assigned(store, row));
    m.insert("tags".into(), tag_objects(store, row));
    m.insert("contacts".into(), contact_objects(store, row));
    m.insert("created_by".into(), user_brief(store, row.created_by));
    m.insert("org".into(), org(store, row.org));
    for (k, v) in [
        ("escalation_count", json!(0)),
        ("sla_first_response_hours", json!(1)),
        ("sla_resolution_hours", json!(4)),
        ("first_response_at", Value::Null),
        ("resolved_at", Value::Null),
        ("parent", Value::Null),
        ("is_problem", json!(false)),
        ("child_count", json!(0)),
        (
            "time_summary",
            json!({"total_minutes": 0, "billable_minutes": 0, "last_entry_at": null, "by_profile": []}),
        ),
    ] {
        m.insert(k.into(), v);
    }
    Value::Object(m)
}

/// A knowledge base article.
pub fn solution(store: &Store, row: &Row) -> Value {
    let mut m = base(row);
    m.insert("org".into(), org(store, row.org));
    m.insert(
        "created_by".into(),
        json!(store.profiles[row.created_by].user_id),
    );
    m.insert("author".into(), json!(store.profiles[row.created_by].name));
    m.insert("case_count".into(), json!(0));
    Value::Object(m)
}

/// A full invoice (detail, create and update answers).
pub fn invoice(store: &Store, row: &Row) -> Value {
    let mut m = base(row);
    m.insert(
        "account".into(),
        account_object(store, row.org, row.s("account")),
    );
    m.insert(
        "contact".into(),
        row.s("contact")
            .and_then(|id| store.find(Entity::Contacts, row.org, id))
            .map(|c| contact(store, c))
            .unwrap_or(Value::Null),
    );
    m.insert(
        "opportunity".into(),
        name_of(store, Entity::Opportunities, row.org, row.s("opportunity")),
    );
    m.insert("assigned_to".into(), assigned(store, row));
    m.insert("created_by".into(), user_brief(store, row.created_by));
    m.insert("org".into(), org(store, row.org));
    Value::Object(m)
}

/// An invoice as the list summarises it.
pub fn invoice_row(store: &Store, row: &Row) -> Value {
    let mut m = slim(
        row,
        &[
            "invoice_number",
            "invoice_title",
            "status",
            "account",
            "contact",
            "client_name",
            "client_email",
            "issue_date",
            "due_date",
            "total_amount",
            "amount_due",
            "amount_paid",
            "currency",
            "is_overdue",
        ],
    );
    let name = |e: Entity, key: &str| {
        name_of(store, e, row.org, row.s(key))
            .get("name")
            .cloned()
            .unwrap_or(Value::Null)
    };
    m.insert("account_name".into(), name(Entity::Accounts, "account"));
    let contact_name = row
        .s("contact")
        .and_then(|id| store.find(Entity::Contacts, row.org, id))
        .map(|c| {
            format!(
                "{} {}",
                c.s("first_name").unwrap_or(""),
                c.s("last_name").unwrap_or("")
            )
            .trim()
            .to_owned()
        });
    m.insert("contact_name".into(), json!(contact_name));
    m.insert(
        "line_items_count".into(),
        json!(
            row.f
                .get("line_items")
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
        ),
    );
    m.insert("created_at".into(), json!(row.created_at));
    Value::Object(m)
}

/// The detail object of any entity.
pub fn object(store: &Store, entity: Entity, row: &Row) -> Value {
    match entity {
        Entity::Leads => lead(store, row),
        Entity::Contacts => contact(store, row),
        Entity::Accounts => account(store, row),
        Entity::Opportunities => opportunity(store, row),
        Entity::Tasks => task(store, row, true),
        Entity::Cases => case(store, row),
        Entity::Invoices => invoice(store, row),
        Entity::Solutions => solution(store, row),
    }
}

/// A row as the entity's list shows it.
pub fn list_row(store: &Store, entity: Entity, row: &Row) -> Value {
    match entity {
        Entity::Tasks => task(store, row, false),
        Entity::Invoices => invoice_row(store, row),
        other => object(store, other, row),
    }
}

/// A comment.
pub fn comment(store: &Store, c: &CommentRow) -> Value {
    let by = &store.profiles[c.by];
    let mut v = json!({
        "id": c.id, "comment": c.text, "commented_on": c.at,
        "commented_by": {"id": by.id, "user_details": {"email": by.email, "profile_pic": null}}
    });
    if c.entity != Entity::Leads {
        v["content_type"] = json!(match c.entity {
            Entity::Accounts => "account",
            Entity::Opportunities => "opportunity",
            Entity::Invoices => "invoice",
            Entity::Tasks => "task",
            Entity::Cases => "case",
            _ => "contact",
        });
        v["object_id"] = json!(c.object_id);
        v["org"] = json!(store.orgs[c.org].id);
        v["is_internal"] = json!(c.internal);
    }
    v
}

/// The comments of a record, `internal` ones or the others, ordered by `-id` as BottleCRM does.
pub fn comments(store: &Store, entity: Entity, row: &Row, internal: bool) -> Value {
    let mut list: Vec<&CommentRow> = store
        .comments
        .iter()
        .filter(|c| {
            c.entity == entity
                && c.object_id == row.id
                && c.org == row.org
                && c.internal == internal
        })
        .collect();
    list.sort_by(|a, b| b.id.cmp(&a.id));
    Value::Array(list.into_iter().map(|c| comment(store, c)).collect())
}
