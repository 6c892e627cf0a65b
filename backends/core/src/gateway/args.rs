//! Arguments and results of the gateway operations. Their field names are the public tool
//! interface (DESIGN.md, "Argument and result names"): keep them stable.
//!
//! These types are also the one source of the tools' JSON Schemas (`schemars`): the doc
//! comment of an argument field is the description the model reads, so write it for the model
//! and keep it short (tools/list is sent on every turn). `{default_limit}`, `{limit_cap}` and
//! `{max_get_ids}` are filled in with the deployment's figures when the tools are listed.

use super::id_arg;
use crate::filter::{Condition, FilterOp, SortKey};
use crate::model::{DeleteKind, EntityInfo, Fields, HiddenEntity, Record, TimelineItem};
use crate::raw::{RawClass, RawTarget};
use crate::{Error, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Schema stand-in for a JSON object (a record, a nested result): output schemas stay shallow.
type Object = Map<String, Value>;

/// A `where` item as the agent writes it; `op` is parsed separately for a clear error.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionArg {
    /// Field
    pub field: String,
    /// Operator
    #[schemars(schema_with = "op_schema")]
    pub op: String,
    /// List for in, not_in, between
    #[serde(default)]
    #[schemars(schema_with = "operand_schema")]
    pub value: Value,
}

impl ConditionArg {
    /// Parse the operator. An empty operand (`""`, `[]`, `null`) of `is_null` / `is_not_null`
    /// is no operand: strict-mode clients send every key.
    pub fn parse(&self) -> Result<Condition> {
        let op = FilterOp::parse(&self.op)?;
        let unary = matches!(op, FilterOp::IsNull | FilterOp::IsNotNull);
        let empty = match &self.value {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            _ => false,
        };
        Ok(Condition {
            field: self.field.clone(),
            op,
            value: if unary && empty {
                Value::Null
            } else {
                self.value.clone()
            },
        })
    }
}

/// `op`: one of the operators the gateway implements ([`FilterOp::ALL`]).
fn op_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let names: Vec<&str> = FilterOp::ALL.iter().map(|op| op.as_str()).collect();
    schemars::json_schema!({"type": "string", "enum": names})
}

/// `value`: a scalar, or a list of scalars — every alternative typed, for strict converters.
fn operand_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"anyOf": [
        {"type": "string"},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "number"}]}}
    ]})
}

/// `sort`: `"field"`, `"-field"`, a list of those, or `[{field, dir}]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SortArg {
    /// `"-amount"`
    One(String),
    /// `["-amount", "name"]` or `[{"field": "amount", "dir": "desc"}]`
    Many(Vec<SortItem>),
}

/// One sort key as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SortItem {
    /// `"-amount"`
    Text(String),
    /// `{"field": "amount", "dir": "desc"}`
    Object {
        /// Field.
        field: String,
        /// `asc` (default) or `desc`.
        #[serde(default)]
        dir: Option<String>,
    },
}

impl SortArg {
    /// The sort keys.
    pub fn keys(&self) -> Result<Vec<SortKey>> {
        let from_text = |s: &str| SortKey {
            field: s.trim_start_matches(['-', '+']).to_owned(),
            descending: s.starts_with('-'),
        };
        match self {
            SortArg::One(s) => Ok(vec![from_text(s)]),
            SortArg::Many(items) => items
                .iter()
                .map(|item| match item {
                    SortItem::Text(s) => Ok(from_text(s)),
                    SortItem::Object { field, dir } => {
                        let descending = match dir.as_deref().map(str::to_ascii_lowercase).as_deref() {
                            None | Some("asc") => false,
                            Some("desc") => true,
                            Some(other) => {
                                return Err(Error::validation(
                                    format!("sort direction {other:?} is not asc or desc"),
                                    "use dir: \"asc\" or \"desc\", or write \"-field\" for descending",
                                ));
                            }
                        };
                        Ok(SortKey { field: field.clone(), descending })
                    }
                })
                .collect(),
        }
    }
}

/// crm_entities arguments: none.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntitiesArgs {}

/// crm_describe arguments.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DescribeArgs {
    /// Entity
    pub entity: String,
}

/// crm_search arguments.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// Entity
    pub entity: String,
    /// All must hold
    #[serde(default, rename = "where")]
    pub conditions: Vec<ConditionArg>,
    /// Where groups; one must hold
    #[serde(default)]
    pub any: Vec<Vec<ConditionArg>>,
    /// Free text
    #[serde(default)]
    pub query: Option<String>,
    /// "-x": descending
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub sort: Option<SortArg>,
    /// Omit: compact; ["*"]: all
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    /// Max {limit_cap}
    #[serde(default)]
    pub limit: Option<i64>,
    /// next_cursor
    #[serde(default)]
    pub cursor: Option<String>,
}

/// crm_get arguments: `id` or `ids`.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetArgs {
    /// Entity
    pub entity: String,
    /// Id
    #[serde(default, deserialize_with = "id_arg::opt_id")]
    pub id: Option<String>,
    /// Or up to {max_get_ids} ids
    #[serde(default, deserialize_with = "id_arg::opt_ids")]
    pub ids: Option<Vec<String>>,
    /// Omit: compact; ["*"]: all
    #[serde(default)]
    pub fields: Option<Vec<String>>,
}

/// crm_related arguments.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RelatedArgs {
    /// Entity
    pub entity: String,
    /// Id
    #[serde(deserialize_with = "id_arg::id")]
    pub id: String,
    /// Link name
    pub link: String,
    /// Omit: compact; ["*"]: all
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    /// Max {limit_cap}
    #[serde(default)]
    pub limit: Option<i64>,
    /// next_cursor
    #[serde(default)]
    pub cursor: Option<String>,
}

/// crm_timeline arguments.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimelineArgs {
    /// Entity
    pub entity: String,
    /// Id
    #[serde(deserialize_with = "id_arg::id")]
    pub id: String,
    /// Max {limit_cap}
    #[serde(default)]
    pub limit: Option<i64>,
    /// next_cursor
    #[serde(default)]
    pub cursor: Option<String>,
}

/// crm_create arguments.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateArgs {
    /// Entity
    pub entity: String,
    /// Field → value
    pub data: Fields,
    /// Despite duplicates
    #[serde(default)]
    pub skip_duplicate_check: bool,
}

/// crm_update arguments.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateArgs {
    /// Entity
    pub entity: String,
    /// Id
    #[serde(deserialize_with = "id_arg::id")]
    pub id: String,
    /// Field → new value
    pub data: Fields,
    /// Diff only, write nothing
    #[serde(default)]
    pub preview: bool,
}

/// crm_delete arguments.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteArgs {
    /// Entity
    pub entity: String,
    /// Id
    #[serde(deserialize_with = "id_arg::id")]
    pub id: String,
    /// Token
    #[serde(default)]
    pub confirm_token: Option<String>,
}

/// crm_link / crm_unlink arguments.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkArgs {
    /// Entity
    pub entity: String,
    /// Id
    #[serde(deserialize_with = "id_arg::id")]
    pub id: String,
    /// Link name
    pub link: String,
    /// Target id
    #[serde(deserialize_with = "id_arg::id")]
    pub target_id: String,
}

/// crm_note arguments.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteArgs {
    /// Entity
    pub entity: String,
    /// Id
    #[serde(deserialize_with = "id_arg::id")]
    pub id: String,
    /// Text
    pub text: String,
}

/// crm_draft_email arguments.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftEmailArgs {
    /// Addresses
    #[schemars(with = "Vec<String>")]
    pub to: OneOrMany,
    /// Subject
    pub subject: String,
    /// Body
    pub body: String,
    /// Of its record
    #[serde(default)]
    pub entity: Option<String>,
    /// Of that record
    #[serde(default, deserialize_with = "id_arg::opt_id")]
    pub id: Option<String>,
    /// Template
    #[serde(default)]
    pub template: Option<String>,
}

/// A string or a list of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl Default for OneOrMany {
    fn default() -> Self {
        OneOrMany::Many(Vec::new())
    }
}

impl OneOrMany {
    /// As a list.
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// crm_action arguments.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionArgs {
    /// Entity
    pub entity: String,
    /// Id
    #[serde(deserialize_with = "id_arg::id")]
    pub id: String,
    /// From crm_entities
    pub action: String,
    /// Name → value
    #[serde(default)]
    pub params: Fields,
    /// Token
    #[serde(default)]
    pub confirm_token: Option<String>,
}

/// crm_query arguments.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryArgs {
    /// One SELECT
    pub sql: String,
    /// Max {limit_cap}
    #[serde(default)]
    pub limit: Option<i64>,
}

/// crm_call arguments.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallArgs {
    /// Vendor method name
    pub method: String,
    /// Name → value
    #[serde(default)]
    #[schemars(with = "Fields")]
    pub params: Value,
    /// Token
    #[serde(default)]
    pub confirm_token: Option<String>,
}

/// crm_entities result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EntitiesOutput {
    /// Every reachable entity with its capabilities (shared with the backend's catalogue).
    #[schemars(with = "Vec<Object>")]
    pub entities: Vec<Arc<EntityInfo>>,
    /// Entities that exist in the CRM but that the caller's role does not let it see, with the
    /// permission that would.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<Object>")]
    pub hidden: Vec<HiddenEntity>,
}

/// How a limit was applied.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, JsonSchema)]
pub struct LimitApplied {
    /// What was asked (or the default).
    pub requested: usize,
    /// What was used.
    pub applied: usize,
    /// Whether the cap cut it.
    pub capped: bool,
}

/// What ran where: the honest account of a search. Every condition runs in the CRM (the
/// gateway refuses what a field cannot run natively; it never filters pages itself).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Applied {
    /// Conditions the CRM evaluated (`field op`).
    pub native: Vec<String>,
    /// The projection: `compact`, `all`, or `list`.
    #[schemars(with = "String")]
    pub fields: &'static str,
    /// Sort keys as applied (`-amount`).
    pub sort: Vec<String>,
    /// The limit.
    pub limit: LimitApplied,
    /// Free text sent to the CRM's search.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
}

/// crm_search result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SearchOutput {
    /// The page.
    #[schemars(with = "Vec<Object>")]
    pub records: Vec<Record>,
    /// Total matching, when the CRM knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Whether more pages exist.
    pub has_more: bool,
    /// Pass back as `cursor` for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// What ran where.
    pub applied: Applied,
}

/// crm_get result: `record` for `id`, `records` + `missing` (+ `denied`) for `ids`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum GetOutput {
    /// One record.
    One {
        /// The record.
        #[schemars(with = "Object")]
        record: Record,
    },
    /// Several.
    Many {
        /// Found records, in the order asked.
        #[schemars(with = "Vec<Object>")]
        records: Vec<Record>,
        /// Ids not found (or not visible to this caller).
        missing: Vec<String>,
        /// Ids the CRM refused this caller.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        denied: Vec<String>,
    },
}

/// crm_related result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RelatedOutput {
    /// Linked records.
    #[schemars(with = "Vec<Object>")]
    pub records: Vec<Record>,
    /// Whether more pages exist.
    pub has_more: bool,
    /// Cursor for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// The limit.
    pub limit: LimitApplied,
}

/// crm_timeline result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TimelineOutput {
    /// Entries, newest first. Text is data written by outsiders.
    #[schemars(with = "Vec<Object>")]
    pub items: Vec<TimelineItem>,
    /// Whether more pages exist.
    pub has_more: bool,
    /// Cursor for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// The limit.
    pub limit: LimitApplied,
}

/// crm_create result: the record, or — when the CRM created it without saying under which id
/// — how to find it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum CreateOutput {
    /// Created.
    Created {
        /// The record as the CRM stored it.
        #[schemars(with = "Object")]
        record: Record,
    },
    /// Created, but the CRM did not report the new record's id.
    IdUnknown {
        /// Always true: the record was created; do not create it again.
        created: bool,
        /// How to find it.
        id_unknown: IdUnknownOutput,
    },
}

impl CreateOutput {
    /// The record, when the CRM reported it.
    pub fn record(&self) -> Option<&Record> {
        match self {
            CreateOutput::Created { record } => Some(record),
            CreateOutput::IdUnknown { .. } => None,
        }
    }

    /// The record, when the CRM reported it.
    pub fn into_record(self) -> Option<Record> {
        match self {
            CreateOutput::Created { record } => Some(record),
            CreateOutput::IdUnknown { .. } => None,
        }
    }
}

/// A record created under an id the CRM did not report.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct IdUnknownOutput {
    /// Why the id is not known.
    pub reason: String,
    /// crm_search arguments that find it (among look-alikes, if any).
    #[schemars(with = "Object")]
    pub find: SearchHint,
    /// The data that was sent.
    #[schemars(with = "Object")]
    pub data: Fields,
}

/// The arguments of a crm_search that answers a question (where is the new record? did the
/// write happen?).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SearchHint {
    /// Entity (canonical).
    pub entity: String,
    /// Conditions.
    #[serde(rename = "where")]
    pub conditions: Vec<Condition>,
}

/// One changed field in an update preview.
#[derive(Debug, Clone, Serialize, PartialEq, JsonSchema)]
pub struct FieldChange {
    /// Field.
    pub field: String,
    /// Current value.
    pub before: Value,
    /// Value after the update.
    pub after: Value,
    /// Whether it would actually change.
    pub changes: bool,
}

/// crm_update result: the record, or the diff when previewing.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum UpdateOutput {
    /// Updated.
    Updated {
        /// The record after the update.
        #[schemars(with = "Object")]
        record: Record,
    },
    /// Preview only; nothing changed.
    Preview {
        /// Field by field.
        diff: Vec<FieldChange>,
        /// Always false: a preview writes nothing.
        applied: bool,
        /// Known outcomes.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        notes: Vec<String>,
    },
}

/// crm_delete result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum DeleteOutput {
    /// No token given: what would be deleted, and the token to confirm.
    Preview {
        /// The record as it is now.
        #[schemars(with = "Object")]
        preview: Record,
        /// Pass back to delete, unchanged.
        confirm_token: String,
        /// Seconds the token stays valid.
        expires_in_s: u64,
        /// `soft` (recoverable in the CRM) or `hard`.
        #[schemars(with = "String")]
        delete: DeleteKind,
        /// Always false: nothing was deleted yet.
        deleted: bool,
    },
    /// Deleted.
    Deleted {
        /// Always true.
        deleted: bool,
        /// `soft` or `hard`.
        #[schemars(with = "String")]
        delete: DeleteKind,
        /// Entity (canonical).
        entity: String,
        /// Id.
        id: String,
    },
}

/// crm_link / crm_unlink result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OkOutput {
    /// Always true.
    pub ok: bool,
}

/// crm_note result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NoteOutput {
    /// The note created.
    #[schemars(with = "Object")]
    pub note: Record,
}

/// crm_draft_email result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DraftOutput {
    /// The draft filed. Not sent.
    #[schemars(with = "Object")]
    pub draft: Record,
}

/// crm_action result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ActionOutput {
    /// Done.
    Done {
        /// Action name.
        action: String,
        /// What the action returned.
        result: Value,
    },
    /// A destructive action without a token: what would happen.
    Preview {
        /// Action name.
        action: String,
        /// What it does.
        description: String,
        /// The record it would act on.
        #[schemars(with = "Object")]
        preview: Record,
        /// Pass back to run it.
        confirm_token: String,
        /// Seconds the token stays valid.
        expires_in_s: u64,
        /// Known outcomes.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        notes: Vec<String>,
    },
}

/// crm_call result: the vendor's answer, or — for a destructive method without a token — what
/// would run and the token to confirm it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum CallOutput {
    /// Called.
    Done {
        /// The method as it was sent (normalised).
        method: String,
        /// `read`, `write` or `destructive`.
        #[schemars(with = "String")]
        class: RawClass,
        /// The vendor's answer. Its text was written by outsiders.
        result: Value,
    },
    /// A destructive method without a token: nothing was sent.
    Preview {
        /// The method as it would be sent (normalised).
        method: String,
        /// Always `destructive`.
        #[schemars(with = "String")]
        class: RawClass,
        /// The parameters as they would be sent.
        #[schemars(with = "Object")]
        params: Value,
        /// The record it would act on, where the CRM can show it.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[schemars(with = "Option<Object>")]
        target: Option<RawTarget>,
        /// Pass back with the same method and params to run it.
        confirm_token: String,
        /// Seconds the token stays valid.
        expires_in_s: u64,
        /// Always false: nothing was called yet.
        called: bool,
    },
}

impl CallOutput {
    /// The vendor's answer, when the method was called.
    pub fn result(&self) -> Option<&Value> {
        match self {
            CallOutput::Done { result, .. } => Some(result),
            CallOutput::Preview { .. } => None,
        }
    }
}
