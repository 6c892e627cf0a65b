//! List endpoints: each entity's filters, order, paging and envelope, as recorded.
//!
//! Filters follow the views: unknown `status` choices are dropped (tasks: so everything
//! matches), exact enum filters match nothing on a wrong value, malformed ids and dates are a
//! bare 400. `limit` falls back to 10 when absent or not positive, a negative offset is 0.
//! The `offset` answered is BottleCRM's: the count of rows whose id is ≥ the page's last id,
//! which is only a next offset for the lists ordered by `-id`.

use super::auth::Principal;
use super::catalog;
use super::list_filters::{apply, number, value};
use super::render;
use super::router::{Query, Reply};
use super::state::{Row, Store};
use crate::entities::Entity;
use serde_json::{Map, Value, json};

const PAGE_SIZE: usize = 10;

fn order(entity: Entity, rows: &mut [&Row], q: &Query) {
    match entity {
        Entity::Contacts | Entity::Cases | Entity::Solutions => {
            rows.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        }
        Entity::Invoices => {
            let sort = q.get("sort").unwrap_or("-created_at");
            let (desc, key) = match sort.strip_prefix('-') {
                Some(k) => (true, k),
                None => (false, sort),
            };
            let key = if [
                "created_at",
                "due_date",
                "issue_date",
                "total_amount",
                "status",
            ]
            .contains(&key)
            {
                key
            } else {
                "created_at"
            };
            rows.sort_by(|a, b| {
                let ord = if key == "total_amount" {
                    number(a, key)
                        .partial_cmp(&number(b, key))
                        .unwrap_or(std::cmp::Ordering::Equal)
                } else {
                    value(a, key).cmp(&value(b, key))
                };
                if desc { ord.reverse() } else { ord }
            });
        }
        _ => rows.sort_by(|a, b| b.id.cmp(&a.id)),
    }
}

/// `limit` and `offset` as DRF's LimitOffsetPagination reads them (no maximum).
fn paging(q: &Query) -> (usize, usize) {
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(PAGE_SIZE);
    let offset = q
        .get("offset")
        .and_then(|o| o.parse::<usize>().ok())
        .unwrap_or(0);
    (limit, offset)
}

/// One paged section: the page, its total, and BottleCRM's `offset` value.
struct Paged<'a> {
    page: Vec<&'a Row>,
    count: usize,
    offset: Value,
}

fn paginate<'a>(rows: &[&'a Row], limit: usize, offset: usize) -> Paged<'a> {
    let page: Vec<&Row> = rows.iter().skip(offset).take(limit).copied().collect();
    let count = rows.len();
    let offset = match page.last() {
        None => json!(0),
        Some(last) => {
            let n = rows.iter().filter(|r| r.id >= last.id).count();
            if n == count { Value::Null } else { json!(n) }
        }
    };
    Paged {
        page,
        count,
        offset,
    }
}

fn render_rows(store: &Store, entity: Entity, rows: &[&Row]) -> Value {
    Value::Array(
        rows.iter()
            .map(|r| render::list_row(store, entity, r))
            .collect(),
    )
}

fn drf_link(base: &str, path: &str, q: &Query, limit: usize, offset: Option<usize>) -> Value {
    let mut pairs: Vec<(String, String)> = q
        .pairs
        .iter()
        .filter(|(k, _)| k != "limit" && k != "offset")
        .cloned()
        .collect();
    pairs.push(("limit".into(), limit.to_string()));
    if let Some(o) = offset.filter(|o| *o > 0) {
        pairs.push(("offset".into(), o.to_string()));
    }
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace(' ', "+")))
        .collect();
    json!(format!("{base}{path}?{}", query.join("&")))
}

/// The catalogue of the organisation's contacts: `[{"id", "first_name"}]`.
fn contacts_catalogue(store: &Store, org: usize) -> Value {
    Value::Array(
        store
            .rows(Entity::Contacts)
            .iter()
            .filter(|r| r.org == org)
            .map(|r| json!({"id": r.id, "first_name": r.f["first_name"]}))
            .collect(),
    )
}

fn all_of(store: &Store, entity: Entity, org: usize) -> Value {
    Value::Array(
        store
            .rows(entity)
            .iter()
            .filter(|r| r.org == org)
            .map(|r| render::object(store, entity, r))
            .collect(),
    )
}

/// `GET` on a list path.
pub fn list(store: &Store, who: &Principal, entity: Entity, q: &Query, base: &str) -> Reply {
    let org = who.org;
    let include_deleted =
        entity == Entity::Cases && who.admin && q.get("include_deleted") == Some("true");
    let rows: Vec<&Row> = store
        .rows(entity)
        .iter()
        .filter(|r| {
            r.org == org
                && (entity == Entity::Solutions
                    || who.sees(store, r.created_by, &r.ids("assigned_to")))
        })
        .filter(|r| entity != Entity::Leads || r.s("status") != Some("converted"))
        .filter(|r| {
            entity != Entity::Cases
                || include_deleted
                || (r.f.get("is_active") != Some(&json!(false))
                    && r.s("status") != Some("Duplicate"))
        })
        .collect();
    let mut rows = match apply(entity, q, rows) {
        Ok(rows) => rows,
        Err(reply) => return reply,
    };
    order(entity, &mut rows, q);
    let (limit, offset) = paging(q);
    let page_number = offset / PAGE_SIZE + 1;
    let slim = q.get("slim") == Some("true");
    let mut body = Map::new();
    let mut put = |k: &str, v: Value| {
        body.insert(k.to_owned(), v);
    };
    match entity {
        Entity::Leads | Entity::Accounts => {
            let (open, closed): (Vec<&Row>, Vec<&Row>) = if entity == Entity::Leads {
                rows.iter().partition(|r| r.s("status") != Some("closed"))
            } else {
                rows.iter()
                    .partition(|r| r.f.get("is_active") != Some(&json!(false)))
            };
            let (o, c) = (
                paginate(&open, limit, offset),
                paginate(&closed, limit, offset),
            );
            put("per_page", json!(PAGE_SIZE));
            put("page_number", json!(page_number));
            if entity == Entity::Leads {
                put(
                    "open_leads",
                    json!({"leads_count": o.count, "open_leads": render_rows(store, entity, &o.page), "offset": o.offset}),
                );
                put(
                    "totals",
                    json!({"count": o.count, "unworked_over_a_week": 0}),
                );
                put(
                    "close_leads",
                    json!({"leads_count": c.count, "close_leads": render_rows(store, entity, &c.page), "offset": c.offset}),
                );
                put("contacts", contacts_catalogue(store, org));
                put("status", catalog::pairs("LeadStatusEnum", 50));
                put("source", catalog::pairs("SourceEnum", 50));
                put("tags", render::tags_catalogue(store, org));
                put("users", render::users_catalogue(store, org));
                put("countries", catalog::pairs("ClientCountryEnum", 5));
                put("industries", catalog::pairs("IndustryEnum", 5));
            } else {
                put(
                    "active_accounts",
                    json!({"offset": o.offset, "open_accounts": render_rows(store, entity, &o.page), "open_accounts_count": o.count}),
                );
                put("contacts", contacts_catalogue(store, org));
                put(
                    "closed_accounts",
                    json!({"offset": c.offset, "close_accounts": render_rows(store, entity, &c.page), "close_accounts_count": c.count}),
                );
                put("teams", json!([]));
                put("countries", catalog::pairs("ClientCountryEnum", 5));
                put("industries", catalog::pairs("IndustryEnum", 5));
                put("tags", render::tags_catalogue(store, org));
                put("users", render::users_catalogue(store, org));
                let leads: Vec<Value> = store
                    .rows(Entity::Leads)
                    .iter()
                    .filter(|r| {
                        r.org == org && !matches!(r.s("status"), Some("closed" | "converted"))
                    })
                    .map(|r| render::lead(store, r))
                    .collect();
                put("leads", Value::Array(leads));
                put("status", json!(["active", "inactive"]));
            }
        }
        Entity::Contacts => {
            let p = paginate(&rows, limit, offset);
            let all: Vec<&Row> = store.rows(entity).iter().filter(|r| r.org == org).collect();
            let active = all
                .iter()
                .filter(|r| r.f.get("is_active") != Some(&json!(false)))
                .count();
            put("active_count", json!(active));
            put("inactive_count", json!(all.len() - active));
            put("per_page", json!(PAGE_SIZE));
            put("page_number", json!(page_number));
            put("count", json!(p.count));
            put("results", render_rows(store, entity, &p.page));
            put("contacts_count", json!(p.count));
            put("offset", p.offset);
            put("contact_obj_list", render_rows(store, entity, &p.page));
            put("countries", catalog::pairs("ClientCountryEnum", 5));
            put("users", render::users_catalogue(store, org));
        }
        Entity::Opportunities => {
            let p = paginate(&rows, limit, offset);
            let sum: f64 = rows.iter().filter_map(|r| number(r, "amount")).sum();
            let weighted: f64 = rows
                .iter()
                .map(|r| {
                    number(r, "amount").unwrap_or(0.0) * number(r, "probability").unwrap_or(0.0)
                        / 100.0
                })
                .sum();
            put(
                "totals",
                json!({"count": p.count, "amount_sum": sum, "weighted_sum": weighted, "stalled_count": 0}),
            );
            put("per_page", json!(PAGE_SIZE));
            put("page_number", json!(page_number));
            put("opportunities_count", json!(p.count));
            put("offset", p.offset);
            put("opportunities", render_rows(store, entity, &p.page));
            put("accounts_list", all_of(store, Entity::Accounts, org));
            put("contacts_list", all_of(store, Entity::Contacts, org));
            put("tags", render::tags_catalogue(store, org));
            put("stage", catalog::pairs("StageEnum", 50));
            put("lead_source", catalog::pairs("LeadSourceEnum", 50));
            put("currency", catalog::pairs("CurrencyEnum", 5));
        }
        Entity::Tasks => {
            let p = paginate(&rows, limit, offset);
            let open = rows
                .iter()
                .filter(|r| r.s("status") != Some("Completed"))
                .count();
            put(
                "totals",
                json!({"count": p.count, "open": open, "overdue": 0, "due_today": 0, "due_this_week": 0, "no_due_date": 0, "unassigned": 0}),
            );
            put("tasks_count", json!(p.count));
            put("offset", p.offset);
            put("tasks", render_rows(store, entity, &p.page));
            put("status", catalog::pairs("TaskStatusEnum", 50));
            put("priority", catalog::pairs("TaskPriorityEnum", 50));
            put("users", render::users_catalogue(store, org));
            if !slim {
                put("accounts_list", all_of(store, Entity::Accounts, org));
                put("contacts_list", all_of(store, Entity::Contacts, org));
            }
        }
        Entity::Cases => {
            let p = paginate(&rows, limit, offset);
            let open = rows
                .iter()
                .filter(|r| r.s("status") != Some("Closed"))
                .count();
            let urgent = rows
                .iter()
                .filter(|r| r.s("priority") == Some("Urgent"))
                .count();
            put("open_count", json!(open));
            put("urgent_count", json!(urgent));
            put("awaiting_first_reply", json!(open));
            put("cases_count", json!(p.count));
            put("offset", p.offset);
            put("cases", render_rows(store, entity, &p.page));
            put("status", catalog::pairs("CaseStatusEnum", 50));
            put("priority", catalog::pairs("CasePriorityEnum", 50));
            put("type_of_case", catalog::pairs("CaseTypeEnum", 50));
            if !slim {
                put("accounts_list", all_of(store, Entity::Accounts, org));
                put("contacts_list", all_of(store, Entity::Contacts, org));
            }
            put("users", render::users_catalogue(store, org));
        }
        Entity::Solutions | Entity::Invoices => {
            let p = paginate(&rows, limit, offset);
            let path = format!("/{}", entity.spec().path);
            let next = (offset + limit < p.count)
                .then(|| drf_link(base, &path, q, limit, Some(offset + limit)));
            let previous =
                (offset > 0).then(|| drf_link(base, &path, q, limit, offset.checked_sub(limit)));
            put("count", json!(p.count));
            put("next", next.unwrap_or(Value::Null));
            put("previous", previous.unwrap_or(Value::Null));
            put("results", render_rows(store, entity, &p.page));
            if entity == Entity::Solutions {
                let all: Vec<&Row> = store.rows(entity).iter().filter(|r| r.org == org).collect();
                let n = |f: &dyn Fn(&&Row) -> bool| all.iter().filter(|r| f(r)).count();
                put(
                    "totals",
                    json!({
                        "count": all.len(),
                        "published": n(&|r| r.f.get("is_published") == Some(&json!(true))),
                        "draft": n(&|r| r.s("status") == Some("draft")),
                        "reviewed": n(&|r| r.s("status") == Some("reviewed")),
                        "approved_unpublished": n(&|r| r.s("status") == Some("approved") && r.f.get("is_published") != Some(&json!(true))),
                    }),
                );
            } else {
                let draft: f64 = rows
                    .iter()
                    .filter(|r| r.s("status") == Some("Draft"))
                    .filter_map(|r| number(r, "total_amount"))
                    .sum();
                put(
                    "totals",
                    json!({
                        "count": p.count, "outstanding": "0", "overdue": "0", "due_this_month": "0",
                        "paid_this_quarter": "0", "draft": format!("{draft:.2}"), "action_needed": p.count
                    }),
                );
            }
        }
    }
    Reply::json(200, Value::Object(body))
}
