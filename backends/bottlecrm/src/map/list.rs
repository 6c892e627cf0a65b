//! The list envelopes. BottleCRM has no common list shape: leads and accounts come in two
//! separately paged sections, contacts carry the same rows twice under two names, solutions and
//! invoices use DRF's `count`/`results`, the rest a `<entity>_count` next to the rows. Most also
//! bundle lookup catalogues (every user, every country, sometimes every account and contact of
//! the organisation); those are dropped here. The `offset` BottleCRM returns is ignored: for
//! contacts and cases it is computed over random UUIDs and is wrong, so the caller computes the
//! next offset from the rows it got.

use crate::entities::Entity;
use crmgate_core::{Error, Result};
use serde_json::Value;

/// One section of a list answer: the rows of this page and the section's total.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// The rows on this page.
    pub rows: Vec<Value>,
    /// Rows in the whole section (all pages).
    pub count: u64,
}

/// Where one section lives in an envelope: `(container, rows key, count key)`; an empty
/// container means the top level.
type Layout = (&'static str, &'static str, &'static str);

fn layouts(entity: Entity) -> &'static [Layout] {
    match entity {
        Entity::Leads => &[
            ("open_leads", "open_leads", "leads_count"),
            ("close_leads", "close_leads", "leads_count"),
        ],
        Entity::Accounts => &[
            ("active_accounts", "open_accounts", "open_accounts_count"),
            ("closed_accounts", "close_accounts", "close_accounts_count"),
        ],
        Entity::Contacts => &[("", "results", "count")],
        Entity::Opportunities => &[("", "opportunities", "opportunities_count")],
        Entity::Tasks => &[("", "tasks", "tasks_count")],
        Entity::Cases => &[("", "cases", "cases_count")],
        Entity::Invoices | Entity::Solutions => &[("", "results", "count")],
    }
}

/// The sections of a list answer, in BottleCRM's order (leads: open, closed; accounts: active,
/// closed; others: one). A missing or mistyped key is `UPSTREAM_PROTOCOL`.
pub fn sections(entity: Entity, body: &Value) -> Result<Vec<Section>> {
    let name = entity.spec().name;
    let bad = |what: &str| {
        Error::upstream_protocol(format!(
            "BottleCRM's {name} list answer has no {what}; the API may have changed"
        ))
    };
    layouts(entity)
        .iter()
        .map(|(container, rows_key, count_key)| {
            let holder = if container.is_empty() {
                body
            } else {
                body.get(container).ok_or_else(|| bad(container))?
            };
            // contacts: the legacy names carry the same rows when the DRF-style ones are absent
            let rows = holder
                .get(rows_key)
                .or_else(|| {
                    (entity == Entity::Contacts)
                        .then(|| holder.get("contact_obj_list"))
                        .flatten()
                })
                .and_then(Value::as_array)
                .ok_or_else(|| bad(rows_key))?;
            let count = holder
                .get(count_key)
                .or_else(|| {
                    (entity == Entity::Contacts)
                        .then(|| holder.get("contacts_count"))
                        .flatten()
                })
                .and_then(Value::as_u64)
                .ok_or_else(|| bad(count_key))?;
            Ok(Section {
                rows: rows.clone(),
                count,
            })
        })
        .collect()
}
