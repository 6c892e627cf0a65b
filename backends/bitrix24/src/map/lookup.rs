//! What an entity type's records are checked and labelled against, computed once when its
//! metadata loads (and cached with it), never per row or per call:
//!
//! - [`Labels`]: value → human name per field (stages of every pipeline, `crm.status`
//!   dictionaries, pipelines, currencies, enumeration items); users come from the shared
//!   dictionary.
//! - [`Pipeline`]s: each `categoryId` with its stages, so that a deal's (or smart process
//!   item's) stage is checked against its pipeline before anything is sent — Bitrix24 itself
//!   would refuse it (`CRM_FIELD_ERROR_VALUE_NOT_VALID`) or move the record.
//!
//! Pure functions, no I/O.

use super::dicts::Dictionaries;
use super::fields::FieldMeta;
use crate::wire;
use crmgate_core::model::Fields;
use crmgate_core::{Error, Result};
use serde_json::{Value, json};
use std::collections::HashMap;

/// Value → name, per field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Labels {
    by_field: HashMap<String, HashMap<String, String>>,
}

impl Labels {
    /// The tables for the fields of one entity type.
    pub fn build(entity_type_id: i64, metas: &[FieldMeta], dicts: &Dictionaries) -> Labels {
        let mut by_field = HashMap::new();
        for m in metas {
            let table: HashMap<String, String> = match m.btype.as_str() {
                "crm_status" if m.name == "stageId" => dicts
                    .stages(entity_type_id)
                    .into_iter()
                    .map(|s| (s.status_id.clone(), s.name.clone()))
                    .collect(),
                "crm_status" => m
                    .status_type
                    .as_deref()
                    .map(|t| dicts.dictionary(t))
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| (s.status_id.clone(), s.name.clone()))
                    .collect(),
                "crm_category" => dicts
                    .categories
                    .get(&entity_type_id)
                    .into_iter()
                    .flatten()
                    .map(|c| (c.id.to_string(), c.name.clone()))
                    .collect(),
                "crm_currency" => dicts
                    .currencies
                    .iter()
                    .map(|c| (c.code.clone(), c.name.clone()))
                    .collect(),
                "enumeration" => m.items.iter().cloned().collect(),
                _ => continue,
            };
            by_field.insert(m.name.clone(), table);
        }
        Labels { by_field }
    }

    /// The name of `key` in field `field`'s table.
    pub fn get(&self, field: &str, key: &str) -> Option<&str> {
        self.by_field.get(field)?.get(key).map(String::as_str)
    }
}

/// A pipeline (`categoryId`) and its stages, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// Its `categoryId` (`0` is the default deal pipeline).
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Whether a record created without `categoryId` lands in it.
    pub default: bool,
    /// (stage id, stage name).
    pub stages: Vec<(String, String)>,
}

impl Pipeline {
    fn has(&self, stage: &str) -> bool {
        self.stages.iter().any(|(id, _)| id == stage)
    }

    fn listing(&self) -> String {
        self.stages
            .iter()
            .map(|(id, name)| format!("{id} ({name})"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn title(&self) -> String {
        format!("{:?} (categoryId {})", self.name, self.id)
    }
}

/// The pipelines of an entity type with both `stageId` and `categoryId`: the categories the
/// portal listed, or — when it listed none — those its stages name.
pub fn pipelines(entity_type_id: i64, metas: &[FieldMeta], dicts: &Dictionaries) -> Vec<Pipeline> {
    let has = |n: &str| metas.iter().any(|m| m.name == n);
    if !has("stageId") || !has("categoryId") {
        return Vec::new();
    }
    let stages = dicts.stages(entity_type_id);
    let mut out: Vec<Pipeline> = match dicts.categories.get(&entity_type_id) {
        Some(categories) if !categories.is_empty() => categories
            .iter()
            .map(|c| Pipeline {
                id: c.id,
                name: c.name.clone(),
                default: c.is_default,
                stages: Vec::new(),
            })
            .collect(),
        _ => {
            let mut ids: Vec<i64> = stages.iter().filter_map(|s| s.category_id).collect();
            ids.sort_unstable();
            ids.dedup();
            ids.into_iter()
                .map(|id| Pipeline {
                    id,
                    name: format!("pipeline {id}"),
                    default: id == 0,
                    stages: Vec::new(),
                })
                .collect()
        }
    };
    for s in stages {
        if let Some(p) = out.iter_mut().find(|p| Some(p.id) == s.category_id) {
            p.stages.push((s.status_id.clone(), s.name.clone()));
        }
    }
    if !out.iter().any(|p| p.default)
        && let Some(p) = out.iter_mut().find(|p| p.id == 0)
    {
        p.default = true;
    }
    out
}

/// What checking a write's stage needs from the record as it is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageNeed {
    /// Nothing: the write says enough (or touches neither stage nor pipeline).
    Nothing,
    /// The record's current `categoryId`.
    CurrentCategory,
}

/// The stage rules of an entity type's writes.
#[derive(Debug, Clone, Copy)]
pub struct StageRules<'a> {
    /// The entity's canonical name (for messages).
    pub entity: &'a str,
    /// Its pipelines (empty: no pipeline rule).
    pub pipelines: &'a [Pipeline],
}

impl StageRules<'_> {
    /// Check the stage of a record being created: it must belong to the pipeline given in
    /// `categoryId`, or to the default pipeline.
    pub fn check_create(&self, data: &Fields) -> Result<()> {
        let Some(stage) = stage_of(data) else {
            return Ok(());
        };
        if self.pipelines.is_empty() {
            return Ok(());
        }
        let pipeline = match category_of(data) {
            Some(id) => self.pipeline(id)?,
            None => self.default_pipeline()?,
        };
        self.stage_in(stage, pipeline)
    }

    /// What [`StageRules::check_update`] needs to know first.
    pub fn update_needs(&self, data: &Fields) -> StageNeed {
        let (stage, category) = (stage_of(data), category_of(data));
        let touches = stage.is_some() || category.is_some();
        if self.pipelines.len() < 2 || !touches || (stage.is_some() && category.is_some()) {
            StageNeed::Nothing
        } else {
            StageNeed::CurrentCategory
        }
    }

    /// Check an update: a new stage must belong to the pipeline the record will be in (the
    /// one given, or its current one); a move to another pipeline must bring a stage of it.
    pub fn check_update(&self, data: &Fields, current: Option<i64>) -> Result<()> {
        if self.pipelines.is_empty() {
            return Ok(());
        }
        let current = current.or(match self.pipelines {
            [only] => Some(only.id),
            _ => None,
        });
        let target = match (category_of(data), current) {
            (Some(id), _) => self.pipeline(id)?,
            (None, Some(id)) => self.pipeline(id)?,
            (None, None) => return Ok(()),
        };
        match stage_of(data) {
            Some(stage) => self.stage_in(stage, target),
            None if category_of(data).is_some() && current != Some(target.id) => {
                Err(Error::validation(
                    format!(
                        "moving this {} record to pipeline {} needs a stage of that pipeline",
                        self.entity,
                        target.title()
                    ),
                    format!("pass stageId with categoryId, one of: {}", target.listing()),
                )
                .with_details(json!({
                    "field": "stageId",
                    "categoryId": target.id,
                    "allowed": target.stages.iter().map(|(id, _)| id).collect::<Vec<_>>(),
                })))
            }
            None => Ok(()),
        }
    }

    fn pipeline(&self, id: i64) -> Result<&Pipeline> {
        self.pipelines.iter().find(|p| p.id == id).ok_or_else(|| {
            let known: Vec<String> = self.pipelines.iter().map(Pipeline::title).collect();
            Error::validation(
                format!("categoryId {id} is not a pipeline of {}", self.entity),
                format!("use one of: {}", known.join(", ")),
            )
            .with_details(json!({"field": "categoryId"}))
        })
    }

    fn default_pipeline(&self) -> Result<&Pipeline> {
        self.pipelines
            .iter()
            .find(|p| p.default)
            .or_else(|| self.pipelines.first())
            .ok_or_else(|| Error::validation("no pipeline", "pass categoryId"))
    }

    fn stage_in(&self, stage: &str, pipeline: &Pipeline) -> Result<()> {
        if pipeline.has(stage) {
            return Ok(());
        }
        let home = self.pipelines.iter().find(|p| p.has(stage));
        let hint = match home {
            Some(p) => format!(
                "; {stage} belongs to pipeline {} — set categoryId {} to move the record there",
                p.title(),
                p.id
            ),
            None => String::new(),
        };
        Err(Error::validation(
            format!(
                "stageId {stage:?} is not a stage of the {} pipeline {}",
                self.entity,
                pipeline.title()
            ),
            format!("pick one of its stages: {}{hint}", pipeline.listing()),
        )
        .with_details(json!({
            "field": "stageId",
            "categoryId": pipeline.id,
            "allowed": pipeline.stages.iter().map(|(id, _)| id).collect::<Vec<_>>(),
        })))
    }
}

fn stage_of(data: &Fields) -> Option<&str> {
    data.get("stageId").and_then(Value::as_str)
}

fn category_of(data: &Fields) -> Option<i64> {
    data.get("categoryId").and_then(wire::int)
}
