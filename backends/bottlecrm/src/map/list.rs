//! The list envelopes. BottleCRM has no common list shape: leads and accounts come in two
//! separately paged sections, contacts carry the same rows twice under two names, solutions and
//! invoices use DRF's `count`/`results`, the rest a `<entity>_count` next to the rows. Most also
//! bundle lookup catalogues (every user, every country, sometimes every account and contact of
//! the organisation); those are dropped here. The `offset` BottleCRM returns is ignored: for
//! contacts and cases it is computed over random UUIDs and is wrong, so the caller computes the
//! next offset from the rows it got.

use super::read::{self, Envelope, Layout, Row};
use crate::entities::Entity;
use crmgate_core::model::{FieldSelection, Record};
use crmgate_core::{Error, Result};
use serde::de::DeserializeSeed;
use serde_json::Value;

/// One section of a list answer: the records of this page and the section's total.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// The records on this page.
    pub rows: Vec<Record>,
    /// Rows in the whole section (all pages).
    pub count: u64,
}

const fn top(rows: &'static str, count: &'static str) -> Layout {
    Layout {
        container: "",
        rows,
        count,
        alias: None,
    }
}

fn layouts(entity: Entity) -> &'static [Layout] {
    const LEADS: [Layout; 2] = [
        Layout {
            container: "open_leads",
            rows: "open_leads",
            count: "leads_count",
            alias: None,
        },
        Layout {
            container: "close_leads",
            rows: "close_leads",
            count: "leads_count",
            alias: None,
        },
    ];
    const ACCOUNTS: [Layout; 2] = [
        Layout {
            container: "active_accounts",
            rows: "open_accounts",
            count: "open_accounts_count",
            alias: None,
        },
        Layout {
            container: "closed_accounts",
            rows: "close_accounts",
            count: "close_accounts_count",
            alias: None,
        },
    ];
    // contacts: the legacy names carry the same rows when the DRF-style ones are absent
    const CONTACTS: [Layout; 1] = [Layout {
        container: "",
        rows: "results",
        count: "count",
        alias: Some(("contact_obj_list", "contacts_count")),
    }];
    const OPPORTUNITIES: [Layout; 1] = [top("opportunities", "opportunities_count")];
    const TASKS: [Layout; 1] = [top("tasks", "tasks_count")];
    const CASES: [Layout; 1] = [top("cases", "cases_count")];
    const DRF: [Layout; 1] = [top("results", "count")];
    match entity {
        Entity::Leads => &LEADS,
        Entity::Accounts => &ACCOUNTS,
        Entity::Contacts => &CONTACTS,
        Entity::Opportunities => &OPPORTUNITIES,
        Entity::Tasks => &TASKS,
        Entity::Cases => &CASES,
        Entity::Invoices | Entity::Solutions => &DRF,
    }
}

fn collect<'de, D>(entity: Entity, row: Row<'_>, d: D) -> Result<Vec<Section>>
where
    D: serde::Deserializer<'de, Error = serde_json::Error>,
{
    let name = entity.spec().name;
    let layouts = layouts(entity);
    let found = Envelope { layouts, row }
        .deserialize(d)
        .map_err(|e| read::protocol(&format!("{name} list answer"), e))?;
    let bad = |what: &str| {
        Error::upstream_protocol(format!(
            "BottleCRM's {name} list answer has no {what}; the API may have changed"
        ))
    };
    layouts
        .iter()
        .zip(found)
        .map(|(layout, found)| {
            Ok(Section {
                rows: found.rows.ok_or_else(|| bad(layout.rows))?,
                count: found.count.ok_or_else(|| bad(layout.count))?,
            })
        })
        .collect()
}

/// The sections of a list answer's body, in BottleCRM's order (leads: open, closed; accounts:
/// active, closed; others: one), each row read straight into a record; catalogues skipped
/// unread. A missing or mistyped key is `UPSTREAM_PROTOCOL`. `app_url` is for deep links;
/// of the fields, only those `fields` selects are read (plus the id and what the title and
/// version need).
pub fn sections(
    entity: Entity,
    body: &[u8],
    app_url: Option<&str>,
    fields: &FieldSelection,
) -> Result<Vec<Section>> {
    let keep = match fields {
        FieldSelection::All => None,
        FieldSelection::Only(list) => Some(list.as_slice()),
    };
    let row = Row {
        entity,
        app_url,
        keep,
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let out = collect(entity, row, &mut de)?;
    de.end()
        .map_err(|e| read::protocol(&format!("{} list answer", entity.spec().name), e))?;
    Ok(out)
}

/// [`sections`] of an answer already parsed, every field read.
pub fn sections_of(entity: Entity, body: &Value, app_url: Option<&str>) -> Result<Vec<Section>> {
    collect(entity, Row::all(entity, app_url), body)
}
