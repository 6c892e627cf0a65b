//! The list filters of each view, as BottleCRM's views apply them: contains, exact, choice
//! lists that drop unknown values, id and id-list parameters (a malformed id is a bare 400),
//! dates (a malformed date too), number ranges, booleans.

use super::router::{Query, Reply, bad_param};
use super::state::Row;
use crate::entities::Entity;
use crate::ids;
use serde_json::Value;

/// A field's value, including the row's own id and creation time.
pub fn value<'a>(row: &'a Row, field: &str) -> Option<&'a str> {
    match field {
        "id" => Some(row.id.as_str()),
        "created_at" => Some(row.created_at.as_str()),
        _ => row.s(field),
    }
}

fn icontains(row: &Row, fields: &[&str], needle: &str) -> bool {
    let needle = needle.to_lowercase();
    fields
        .iter()
        .any(|f| value(row, f).is_some_and(|v| v.to_lowercase().contains(&needle)))
}

pub fn number(row: &Row, field: &str) -> Option<f64> {
    match row.f.get(field)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// One list filter of a view.
enum Filter {
    Contains(&'static [&'static str]),
    Exact(&'static str),
    Choice(&'static str, &'static [&'static str]),
    Ids(&'static str),
    Id(&'static str),
    DateGte(&'static str),
    DateLte(&'static str),
    DateEq(&'static str),
    NumGte(&'static str),
    NumLte(&'static str),
    Bool(&'static str),
    OpenOpportunities,
}

const LEAD_STATUS: &[&str] = &["assigned", "in process", "converted", "recycled", "closed"];
const TASK_STATUS: &[&str] = &["New", "In Progress", "Completed"];
const CASE_STATUS: &[&str] = &[
    "New",
    "Assigned",
    "Pending",
    "Closed",
    "Rejected",
    "Duplicate",
];

fn filters(entity: Entity) -> &'static [(&'static str, Filter)] {
    use Filter::*;
    match entity {
        Entity::Leads => &[
            ("name", Contains(&["first_name", "last_name"])),
            ("source", Exact("source")),
            ("status", Choice("status", LEAD_STATUS)),
            ("assigned_to", Ids("assigned_to")),
            ("tags", Ids("tags")),
            ("city", Contains(&["city"])),
            ("email", Contains(&["email"])),
            ("rating", Exact("rating")),
            (
                "search",
                Contains(&["first_name", "last_name", "company_name", "email"]),
            ),
            ("created_at__gte", DateGte("created_at")),
            ("created_at__lte", DateLte("created_at")),
            ("close_date__gte", DateGte("close_date")),
            ("close_date__lte", DateLte("close_date")),
            ("next_follow_up", DateEq("next_follow_up")),
        ],
        Entity::Contacts => &[
            ("name", Contains(&["first_name", "last_name"])),
            ("city", Contains(&["city"])),
            ("phone", Contains(&["phone"])),
            ("email", Contains(&["email"])),
            ("assigned_to", Ids("assigned_to")),
            ("tags", Ids("tags")),
            (
                "search",
                Contains(&["first_name", "last_name", "email", "phone"]),
            ),
            ("created_at__gte", DateGte("created_at")),
            ("created_at__lte", DateLte("created_at")),
            ("is_active", Bool("is_active")),
        ],
        Entity::Accounts => &[
            ("name", Contains(&["name"])),
            ("city", Contains(&["city"])),
            ("industry", Contains(&["industry"])),
            ("tags", Ids("tags")),
            ("assigned_to", Ids("assigned_to")),
            ("search", Contains(&["name"])),
            ("created_at__gte", DateGte("created_at")),
            ("created_at__lte", DateLte("created_at")),
        ],
        Entity::Opportunities => &[
            ("name", Contains(&["name"])),
            ("account", Id("account")),
            ("stage", Exact("stage")),
            ("lead_source", Contains(&["lead_source"])),
            ("tags", Ids("tags")),
            ("assigned_to", Ids("assigned_to")),
            ("search", Contains(&["name"])),
            ("created_at__gte", DateGte("created_at")),
            ("created_at__lte", DateLte("created_at")),
            ("closed_on__gte", DateGte("closed_on")),
            ("closed_on__lte", DateLte("closed_on")),
            ("amount__gte", NumGte("amount")),
            ("amount__lte", NumLte("amount")),
            ("open", OpenOpportunities),
        ],
        Entity::Tasks => &[
            ("title", Contains(&["title"])),
            ("status", Choice("status", TASK_STATUS)),
            ("priority", Exact("priority")),
            ("assigned_to", Ids("assigned_to")),
            ("tags", Ids("tags")),
            ("search", Contains(&["title"])),
            ("due_date__gte", DateGte("due_date")),
            ("due_date__lte", DateLte("due_date")),
            ("created_at__gte", DateGte("created_at")),
            ("created_at__lte", DateLte("created_at")),
            ("account", Id("account")),
            ("opportunity", Id("opportunity")),
            ("case", Id("case")),
            ("lead", Id("lead")),
        ],
        Entity::Cases => &[
            ("name", Contains(&["name"])),
            ("status", Choice("status", CASE_STATUS)),
            ("priority", Exact("priority")),
            ("account", Id("account")),
            ("case_type", Exact("case_type")),
            ("assigned_to", Ids("assigned_to")),
            ("tags", Ids("tags")),
            ("search", Contains(&["name", "description"])),
            ("created_at__gte", DateGte("created_at")),
            ("created_at__lte", DateLte("created_at")),
        ],
        Entity::Solutions => &[
            ("status", Exact("status")),
            ("is_published", Bool("is_published")),
            ("search", Contains(&["title", "description"])),
        ],
        Entity::Invoices => &[
            (
                "search",
                Contains(&[
                    "invoice_title",
                    "invoice_number",
                    "client_name",
                    "client_email",
                ]),
            ),
            ("status", Exact("status")),
            ("account", Id("account")),
            ("contact", Id("contact")),
            ("opportunity", Id("opportunity")),
            ("assigned_to", Ids("assigned_to")),
            ("issue_date_gte", DateGte("issue_date")),
            ("issue_date_lte", DateLte("issue_date")),
            ("due_date_gte", DateGte("due_date")),
            ("due_date_lte", DateLte("due_date")),
        ],
    }
}

/// Django's `DateField`: a real `YYYY-MM-DD`.
fn is_date(s: &str) -> bool {
    crmgate_core::time::is_date(s)
}

/// Apply the view's filters; a malformed id or date is the bare 400 BottleCRM answers.
pub fn apply<'a>(entity: Entity, q: &Query, mut rows: Vec<&'a Row>) -> Result<Vec<&'a Row>, Reply> {
    for (param, filter) in filters(entity) {
        let all = q.all(param);
        let Some(last) = q.get(param) else {
            continue;
        };
        rows = match filter {
            Filter::Contains(fields) => rows
                .into_iter()
                .filter(|r| icontains(r, fields, last))
                .collect(),
            Filter::Exact(field) => rows
                .into_iter()
                .filter(|r| value(r, field) == Some(last))
                .collect(),
            Filter::Choice(field, valid) => {
                let chosen: Vec<&str> = all.iter().copied().filter(|v| valid.contains(v)).collect();
                if chosen.is_empty() {
                    rows
                } else {
                    rows.into_iter()
                        .filter(|r| value(r, field).is_some_and(|v| chosen.contains(&v)))
                        .collect()
                }
            }
            Filter::Ids(field) => {
                let mut wanted = Vec::new();
                for raw in &all {
                    wanted.push(
                        ids::canonical(raw).ok_or_else(|| {
                            bad_param(param, &format!("'{raw}' is not a valid id."))
                        })?,
                    );
                }
                rows.into_iter()
                    .filter(|r| r.ids(field).iter().any(|id| wanted.iter().any(|w| w == id)))
                    .collect()
            }
            Filter::Id(field) => {
                let id = ids::canonical(last)
                    .ok_or_else(|| bad_param(param, &format!("'{last}' is not a valid id.")))?;
                rows.into_iter()
                    .filter(|r| value(r, field) == Some(id.as_str()))
                    .collect()
            }
            Filter::DateGte(field) | Filter::DateLte(field) | Filter::DateEq(field) => {
                if !is_date(last) {
                    return Err(bad_param(
                        param,
                        &format!("'{last}' is not a valid date. Use YYYY-MM-DD."),
                    ));
                }
                let bound = if *field == "created_at" {
                    format!("{last}T00:00:00.000000Z")
                } else {
                    last.to_owned()
                };
                rows.into_iter()
                    .filter(|r| {
                        value(r, field).is_some_and(|v| match filter {
                            Filter::DateGte(_) => v >= bound.as_str(),
                            Filter::DateLte(_) => v <= bound.as_str(),
                            _ => v == bound,
                        })
                    })
                    .collect()
            }
            Filter::NumGte(field) | Filter::NumLte(field) => {
                let Ok(bound) = last.parse::<f64>() else {
                    return Err(bad_param(param, "A valid number is required."));
                };
                rows.into_iter()
                    .filter(|r| {
                        number(r, field).is_some_and(|n| {
                            if matches!(filter, Filter::NumGte(_)) {
                                n >= bound
                            } else {
                                n <= bound
                            }
                        })
                    })
                    .collect()
            }
            Filter::Bool(field) => match last {
                "true" | "false" => {
                    let want = last == "true";
                    rows.into_iter()
                        .filter(|r| r.f.get(*field).and_then(Value::as_bool) == Some(want))
                        .collect()
                }
                _ => rows,
            },
            Filter::OpenOpportunities if last == "true" => rows
                .into_iter()
                .filter(|r| !matches!(r.s("stage"), Some("CLOSED_WON" | "CLOSED_LOST")))
                .collect(),
            Filter::OpenOpportunities => rows,
        };
    }
    Ok(rows)
}
