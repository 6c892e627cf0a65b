//! Storing a record the way BottleCRM fills it: the fields it defaults, `updated_at` where the
//! model has one, the id and creation time.

use super::catalog;
use super::state::{Row, Store};
use crate::entities::Entity;
use serde_json::{Map, Value, json};

/// A country's name from the recorded country enum.
pub fn country_name(code: &str) -> Value {
    catalog::choices("ClientCountryEnum")
        .iter()
        .find(|(v, _)| v == code)
        .map_or(Value::Null, |(_, l)| Value::String(l.clone()))
}

/// Store a record, filling the fields BottleCRM fills itself.
pub fn insert(store: &mut Store, entity: Entity, org: usize, by: usize, fields: Value) -> String {
    let id = store.new_id();
    let created_at = store.now();
    let mut f: Map<String, Value> = fields.as_object().cloned().unwrap_or_default();
    defaults(entity, &mut f);
    if matches!(
        entity,
        Entity::Leads | Entity::Contacts | Entity::Solutions | Entity::Invoices
    ) {
        f.insert("updated_at".into(), json!(created_at));
    }
    if entity == Entity::Solutions {
        f.insert("updated_by".into(), json!(store.profiles[by].user_id));
    }
    store.rows_mut(entity).push(Row {
        id: id.clone(),
        org,
        created_by: by,
        created_at,
        f,
    });
    id
}

/// The fields every new record of `entity` has, unless given.
pub fn defaults(entity: Entity, f: &mut Map<String, Value>) {
    let mut set = |k: &str, v: Value| {
        f.entry(k.to_owned()).or_insert(v);
    };
    let lists: &[&str] = match entity {
        Entity::Leads => &["assigned_to", "teams", "contacts", "tags"],
        Entity::Contacts | Entity::Accounts => &["assigned_to", "teams", "tags"],
        Entity::Opportunities | Entity::Tasks | Entity::Cases => {
            &["assigned_to", "teams", "tags", "contacts"]
        }
        Entity::Invoices => &["assigned_to", "teams", "line_items", "payments"],
        Entity::Solutions => &[],
    };
    for k in lists {
        set(k, json!([]));
    }
    let nulls: &[&str] = match entity {
        Entity::Leads => &[
            "title",
            "salutation",
            "first_name",
            "last_name",
            "email",
            "phone",
            "job_title",
            "website",
            "linkedin_url",
            "status",
            "source",
            "industry",
            "rating",
            "opportunity_amount",
            "currency",
            "close_date",
            "address_line",
            "city",
            "state",
            "postcode",
            "country",
            "last_contacted",
            "next_follow_up",
            "description",
            "company_name",
        ],
        Entity::Contacts => &[
            "email",
            "phone",
            "organization",
            "title",
            "department",
            "linkedin_url",
            "address_line",
            "city",
            "state",
            "postcode",
            "country",
            "description",
            "account",
        ],
        Entity::Accounts => &[
            "email",
            "phone",
            "website",
            "industry",
            "number_of_employees",
            "annual_revenue",
            "currency",
            "address_line",
            "city",
            "state",
            "postcode",
            "country",
            "description",
        ],
        Entity::Opportunities => &[
            "account",
            "opportunity_type",
            "currency",
            "amount",
            "closed_on",
            "lead_source",
            "description",
        ],
        Entity::Tasks => &[
            "due_date",
            "description",
            "account",
            "opportunity",
            "case",
            "lead",
        ],
        Entity::Cases => &["case_type", "closed_on", "account", "description"],
        Entity::Invoices => &[
            "opportunity",
            "template",
            "details",
            "billing_period",
            "po_number",
            "sent_at",
            "viewed_at",
            "paid_at",
        ],
        Entity::Solutions => &[],
    };
    for k in nulls {
        set(k, Value::Null);
    }
    match entity {
        Entity::Leads => {
            set("probability", json!(0));
            set("is_active", json!(true));
        }
        Entity::Contacts => {
            set("do_not_call", json!(false));
            set("is_active", json!(true));
        }
        Entity::Accounts => set("is_active", json!(true)),
        Entity::Opportunities => {
            set("stage", json!("PROSPECTING"));
            set("probability", json!(0));
        }
        Entity::Cases => set("is_active", json!(true)),
        Entity::Solutions => {
            set("status", json!("draft"));
            set("is_published", json!(false));
        }
        _ => {}
    }
    for k in ["custom_fields"] {
        if entity != Entity::Solutions {
            set(k, json!({}));
        }
    }
}
