//! Shaping results for the agent: projection, text truncation, limit caps, version stamps.

use super::{Gateway, LimitApplied};
use crate::model::{FieldSelection, Record, TimelineItem};
use crate::schema::EntitySchema;
use crate::text::truncate_in_place;
use crate::{Error, Result};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The version a confirm token binds to: the backend's stamp, or a hash of every field.
pub fn record_version(record: &Record) -> String {
    if let Some(v) = &record.version {
        return format!("v:{v}");
    }
    let canonical = serde_json::to_vec(&record.fields).unwrap_or_default();
    let digest = Sha256::digest(&canonical);
    format!("h:{}", crmgate_shared::hex(&digest[..16]))
}

/// How a projection was chosen, for `applied.fields`.
pub(super) fn selection_label(fields: &Option<Vec<String>>) -> &'static str {
    match fields {
        None => "compact",
        Some(list) if list.len() == 1 && list[0] == "*" => "all",
        Some(_) => "list",
    }
}

impl Gateway {
    /// Resolve `fields` (absent = compact, `["*"]` = all, list = validated names).
    pub(super) fn selection(
        &self,
        schema: &EntitySchema,
        fields: &Option<Vec<String>>,
    ) -> Result<FieldSelection> {
        match fields {
            None => {
                let compact = schema.compact_fields();
                Ok(if compact.is_empty() {
                    FieldSelection::All
                } else {
                    FieldSelection::Only(compact)
                })
            }
            Some(list) if list.iter().any(|f| f == "*") => Ok(FieldSelection::All),
            Some(list) if list.is_empty() => Err(Error::validation(
                "fields is an empty list",
                "leave fields out for the compact default, pass [\"*\"] for all, or name the fields",
            )),
            Some(list) => {
                for name in list {
                    schema.require_field(name)?;
                }
                Ok(FieldSelection::Only(list.clone()))
            }
        }
    }

    /// Apply a limit: default when absent, refuse < 1, cap and report above the cap.
    pub(super) fn limit(&self, requested: Option<i64>) -> Result<LimitApplied> {
        let settings = self.settings();
        let requested = match requested {
            None => settings.default_limit.min(settings.limit_cap),
            Some(n) if n < 1 => {
                return Err(Error::validation(
                    format!("limit must be at least 1, got {n}"),
                    format!("pass a limit between 1 and {}", settings.limit_cap),
                ));
            }
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        };
        let applied = requested.min(settings.limit_cap);
        Ok(LimitApplied {
            requested,
            applied,
            capped: applied < requested,
        })
    }

    /// Project and cut one record.
    pub(super) fn present(&self, mut record: Record, selection: &FieldSelection) -> Record {
        if let FieldSelection::Only(list) = selection {
            record
                .fields
                .retain(|name, _| list.iter().any(|f| f == name));
        }
        let cap = self.settings().text_cap;
        for (name, value) in record.fields.iter_mut() {
            if cut_value(value, cap) && !record.truncated.contains(name) {
                record.truncated.push(name.clone());
            }
        }
        record
    }

    /// Cut one timeline entry.
    pub(super) fn present_item(&self, mut item: TimelineItem) -> TimelineItem {
        if truncate_in_place(&mut item.text, self.settings().text_cap) {
            item.truncated = true;
        }
        item
    }
}

fn cut_value(value: &mut Value, cap: usize) -> bool {
    match value {
        Value::String(s) => truncate_in_place(s, cap),
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |cut, v| cut_value(v, cap) | cut),
        Value::Object(map) => map
            .values_mut()
            .fold(false, |cut, v| cut_value(v, cap) | cut),
        _ => false,
    }
}
