//! Arguments and results of crm_history, crm_undo and the bulk form of crm_update /
//! crm_delete (`ids`). Like [`super::args`], their field names are the public tool interface
//! and their doc comments the descriptions the model reads: keep them short.

use super::FieldChange;
use super::id_arg;
use crate::Error;
use crate::model::Fields;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Schema stand-in for a JSON object: output schemas stay shallow.
type Object = Map<String, Value>;

/// crm_history arguments: every filter narrows.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryArgs {
    /// Entity
    #[serde(default)]
    pub entity: Option<String>,
    /// Id
    #[serde(default, deserialize_with = "id_arg::opt_id")]
    pub id: Option<String>,
    /// A bulk change
    #[serde(default)]
    pub batch_id: Option<String>,
    /// Date, time or age (7d)
    #[serde(default)]
    pub since: Option<String>,
    /// Max 500
    #[serde(default)]
    pub limit: Option<i64>,
    /// next_cursor
    #[serde(default)]
    pub cursor: Option<String>,
}

/// crm_undo arguments: `entry_id` or `batch_id`.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UndoArgs {
    /// From crm_history
    #[serde(default)]
    pub entry_id: Option<String>,
    /// Or a batch
    #[serde(default)]
    pub batch_id: Option<String>,
    /// Token
    #[serde(default)]
    pub confirm_token: Option<String>,
}

/// One journal entry as crm_history shows it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HistoryEntry {
    /// Pass to crm_undo.
    pub entry_id: String,
    /// The bulk change it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<String>,
    /// When (RFC 3339).
    pub at: String,
    /// The tool that wrote.
    pub tool: String,
    /// Entity (canonical).
    pub entity: String,
    /// Record id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Changed fields before.
    #[schemars(with = "Object")]
    pub before: Value,
    /// Changed fields after.
    #[schemars(with = "Object")]
    pub after: Value,
    /// applied, outcome_unknown, failed, pending.
    pub outcome: String,
    /// Whether crm_undo can take it back.
    pub undoable: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_not: Option<String>,
    /// The entry this one undid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
}

/// crm_history result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HistoryOutput {
    /// Newest first.
    pub entries: Vec<HistoryEntry>,
    /// Pass back as `cursor` for older entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One inverse operation of an undo.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UndoStep {
    /// The entry it takes back.
    pub entry_id: String,
    /// update, delete, link, unlink, restore, recreate.
    pub inverse: String,
    /// Entity (canonical).
    pub entity: String,
    /// Record id (the new one, for a recreate once done).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Fields it writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Object>")]
    pub data: Option<Value>,
    /// What cannot come back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caveat: Option<String>,
    /// After the undo: whether this step was done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done: Option<bool>,
    /// After the undo: why it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Object>")]
    pub error: Option<Error>,
}

/// crm_undo result: the preview with its token, or what was undone.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct UndoOutput {
    /// False: a preview, nothing changed yet.
    pub undone: bool,
    /// The inverse operations.
    pub steps: Vec<UndoStep>,
    /// Pass back to undo, unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirm_token: Option<String>,
    /// Seconds the token stays valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_s: Option<u64>,
    /// The undo's own entry or batch (crm_history).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undo_id: Option<String>,
}

/// crm_update as the tool takes it: one `id`, or `ids` for a bulk change (previewed, then
/// confirmed with a token).
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateToolArgs {
    /// Entity
    pub entity: String,
    /// Id
    #[serde(default, deserialize_with = "id_arg::opt_id")]
    pub id: Option<String>,
    /// Or up to {limit_cap} ids
    #[serde(default, deserialize_with = "id_arg::opt_ids")]
    pub ids: Option<Vec<String>>,
    /// Field → new value
    pub data: Fields,
    /// Diff only, write nothing
    #[serde(default)]
    pub preview: bool,
    /// Token
    #[serde(default)]
    pub confirm_token: Option<String>,
}

/// crm_delete as the tool takes it: one `id`, or `ids`.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteToolArgs {
    /// Entity
    pub entity: String,
    /// Id
    #[serde(default, deserialize_with = "id_arg::opt_id")]
    pub id: Option<String>,
    /// Or up to {limit_cap} ids
    #[serde(default, deserialize_with = "id_arg::opt_ids")]
    pub ids: Option<Vec<String>>,
    /// Token
    #[serde(default)]
    pub confirm_token: Option<String>,
}

/// A bulk crm_update (`data` set) or crm_delete (`data` empty) on many records of one entity.
#[derive(Debug, Clone, Default)]
pub struct BulkArgs {
    /// The entity.
    pub entity: String,
    /// The records.
    pub ids: Vec<String>,
    /// The patch (update only).
    pub data: Fields,
    /// From the preview.
    pub confirm_token: Option<String>,
}

/// One record of a bulk change.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BulkRecord {
    /// Record id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Update preview: field by field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<Vec<FieldChange>>,
    /// Applied: whether it was done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done: Option<bool>,
    /// Applied: why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Object>")]
    pub error: Option<Error>,
}

/// Result of a bulk crm_update / crm_delete: the preview and its token, or per-record
/// outcomes under one batch id.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BulkOutput {
    /// False: a preview, nothing written.
    pub applied: bool,
    /// Per record.
    pub records: Vec<BulkRecord>,
    /// Pass back to apply, unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirm_token: Option<String>,
    /// Seconds the token stays valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_s: Option<u64>,
    /// crm_undo takes the whole batch back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<String>,
    /// Stopped (cancelled) before these records; nothing was sent for them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_done: Vec<String>,
}
