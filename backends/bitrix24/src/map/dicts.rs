//! Dictionaries: `crm.status.list` (stages with semantics, sources, types, honorifics, …),
//! `crm.category.list` (pipelines), `crm.currency.list`, `user.get` and `crm.type.list`
//! (smart processes) → typed lookups. They label records and fill enum options.

use crate::wire;
use serde_json::Value;
use std::collections::HashMap;

/// Where a stage sits in its pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Semantics {
    /// In progress ("open").
    Process,
    /// The pipeline's success stage ("won", "converted").
    Success,
    /// A failure stage ("lost", "junk").
    Failure,
}

impl Semantics {
    /// From `EXTRA.SEMANTICS` (`process`/`success`/`failure`) or `SEMANTICS` (null/`S`/`F`)
    /// or an item's `stageSemanticId` (`P`/`S`/`F`); also accepts agent words.
    pub fn parse(text: &str) -> Option<Semantics> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "p" | "process" | "open" | "in_progress" => Some(Semantics::Process),
            "s" | "success" | "won" | "converted" => Some(Semantics::Success),
            "f" | "failure" | "lost" | "failed" | "junk" => Some(Semantics::Failure),
            _ => None,
        }
    }

    /// The item-side code: `P`, `S`, `F`.
    pub fn code(self) -> &'static str {
        match self {
            Semantics::Process => "P",
            Semantics::Success => "S",
            Semantics::Failure => "F",
        }
    }

    /// The word Bitrix uses in `EXTRA.SEMANTICS`.
    pub fn word(self) -> &'static str {
        match self {
            Semantics::Process => "process",
            Semantics::Success => "success",
            Semantics::Failure => "failure",
        }
    }
}

/// One `crm.status.list` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// The dictionary (`STATUS`, `SOURCE`, `DEAL_STAGE`, `DEAL_STAGE_1`, `DYNAMIC_128_STAGE_3`…).
    pub entity_id: String,
    /// The stored value (`NEW`, `C1:WON`, …).
    pub status_id: String,
    /// Display name.
    pub name: String,
    /// Order within the dictionary.
    pub sort: i64,
    /// Pipeline, for stage dictionaries.
    pub category_id: Option<i64>,
    /// Semantics, for stage dictionaries.
    pub semantics: Option<Semantics>,
}

/// A pipeline (`crm.category.list`).
#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    /// Its id (`0` for the default deal pipeline).
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Whether it is the default one.
    pub is_default: bool,
}

/// A currency (`crm.currency.list`).
#[derive(Debug, Clone, PartialEq)]
pub struct Currency {
    /// ISO code.
    pub code: String,
    /// Full name.
    pub name: String,
    /// Whether it is the portal's base currency.
    pub base: bool,
}

/// A smart process type (`crm.type.list`).
#[derive(Debug, Clone, PartialEq)]
pub struct SmartType {
    /// Its `entityTypeId` (≥ 128; not its `id`).
    pub entity_type_id: i64,
    /// Its title.
    pub title: String,
    /// Whether it has pipelines.
    pub categories: bool,
}

/// Every dictionary of a portal, as one caller may see it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dictionaries {
    /// All `crm.status.list` entries.
    pub statuses: Vec<Status>,
    /// Pipelines per entityTypeId.
    pub categories: HashMap<i64, Vec<Category>>,
    /// Currencies.
    pub currencies: Vec<Currency>,
    /// User id → full name.
    pub users: HashMap<String, String>,
    /// Smart process types.
    pub types: Vec<SmartType>,
}

impl Dictionaries {
    /// The stage entries of an entity type (every pipeline).
    pub fn stages(&self, entity_type_id: i64) -> Vec<&Status> {
        let dynamic = format!("DYNAMIC_{entity_type_id}_STAGE_");
        let mut out: Vec<&Status> = self
            .statuses
            .iter()
            .filter(|s| match entity_type_id {
                1 => s.entity_id == "STATUS",
                2 => s.entity_id == "DEAL_STAGE" || s.entity_id.starts_with("DEAL_STAGE_"),
                7 => s.entity_id == "QUOTE_STATUS",
                31 => s.entity_id.starts_with("SMART_INVOICE_STAGE_"),
                _ => s.entity_id.starts_with(&dynamic),
            })
            .collect();
        out.sort_by_key(|s| (s.category_id.unwrap_or(0), s.sort));
        out
    }

    /// The entries of one dictionary (`SOURCE`, `DEAL_TYPE`, …).
    pub fn dictionary(&self, entity_id: &str) -> Vec<&Status> {
        let mut out: Vec<&Status> = self
            .statuses
            .iter()
            .filter(|s| s.entity_id == entity_id)
            .collect();
        out.sort_by_key(|s| s.sort);
        out
    }

    /// The stage ids of an entity type with the given semantics.
    pub fn stage_ids(&self, entity_type_id: i64, semantics: Semantics) -> Vec<String> {
        self.stages(entity_type_id)
            .into_iter()
            .filter(|s| s.semantics.unwrap_or(Semantics::Process) == semantics)
            .map(|s| s.status_id.clone())
            .collect()
    }

    /// A pipeline's name.
    pub fn category_name(&self, entity_type_id: i64, id: i64) -> Option<&str> {
        self.categories
            .get(&entity_type_id)?
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.name.as_str())
    }
}

/// `crm.status.list` → entries. Semantics from `EXTRA.SEMANTICS`, else `SEMANTICS`, for stage
/// dictionaries only.
pub fn parse_statuses(result: &Value) -> Vec<Status> {
    wire::list(Some(result))
        .iter()
        .filter_map(|row| {
            let entity_id = row.get("ENTITY_ID").and_then(wire::text)?;
            let status_id = row.get("STATUS_ID").and_then(wire::text)?;
            let is_stage =
                entity_id == "STATUS" || entity_id.contains("STAGE") || entity_id == "QUOTE_STATUS";
            let semantics = is_stage.then(|| {
                row.get("EXTRA")
                    .and_then(|e| e.get("SEMANTICS"))
                    .and_then(Value::as_str)
                    .and_then(Semantics::parse)
                    .or_else(|| {
                        Semantics::parse(row.get("SEMANTICS").and_then(Value::as_str).unwrap_or(""))
                    })
                    .unwrap_or(Semantics::Process)
            });
            Some(Status {
                name: row
                    .get("NAME")
                    .and_then(wire::text)
                    .unwrap_or_else(|| status_id.clone()),
                sort: row.get("SORT").and_then(wire::int).unwrap_or(0),
                category_id: row.get("CATEGORY_ID").and_then(wire::int),
                entity_id,
                status_id,
                semantics,
            })
        })
        .collect()
}

/// `crm.category.list` → pipelines.
pub fn parse_categories(result: &Value) -> Vec<Category> {
    wire::list(result.get("categories"))
        .iter()
        .filter_map(|row| {
            Some(Category {
                id: row.get("id").and_then(wire::int)?,
                name: row.get("name").and_then(wire::text).unwrap_or_default(),
                is_default: row.get("isDefault").and_then(wire::flag).unwrap_or(false),
            })
        })
        .collect()
}

/// `crm.currency.list` → currencies.
pub fn parse_currencies(result: &Value) -> Vec<Currency> {
    wire::list(Some(result))
        .iter()
        .filter_map(|row| {
            let code = row.get("CURRENCY").and_then(wire::text)?;
            Some(Currency {
                name: row
                    .get("FULL_NAME")
                    .and_then(wire::text)
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| code.clone()),
                base: row.get("BASE").and_then(wire::flag).unwrap_or(false),
                code,
            })
        })
        .collect()
}

/// `user.get` → id → "First Last" (login or e-mail when the name is empty).
pub fn parse_users(result: &Value) -> Vec<(String, String)> {
    wire::list(Some(result))
        .iter()
        .filter_map(|row| {
            let id = row.get("ID").and_then(wire::text)?;
            let part = |k: &str| row.get(k).and_then(wire::text).unwrap_or_default();
            let full = [part("NAME"), part("LAST_NAME")]
                .into_iter()
                .filter(|p| !p.trim().is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            let name = if full.is_empty() {
                Some(part("EMAIL"))
                    .filter(|e| !e.is_empty())
                    .unwrap_or_else(|| format!("user {id}"))
            } else {
                full
            };
            Some((id, name))
        })
        .collect()
}

/// `crm.type.list` → smart process types.
pub fn parse_types(result: &Value) -> Vec<SmartType> {
    wire::list(result.get("types"))
        .iter()
        .filter_map(|row| {
            Some(SmartType {
                entity_type_id: row.get("entityTypeId").and_then(wire::int)?,
                title: row.get("title").and_then(wire::text).unwrap_or_default(),
                categories: row
                    .get("isCategoriesEnabled")
                    .and_then(wire::flag)
                    .unwrap_or(false),
            })
        })
        .collect()
}
