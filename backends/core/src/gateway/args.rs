//! Arguments and results of the gateway operations. Their field names are the public tool
//! interface (DESIGN.md, "Argument and result names"): keep them stable.

use crate::filter::{Condition, FilterOp, SortKey};
use crate::model::{DeleteKind, EntityInfo, Fields, HiddenEntity, Record, TimelineItem};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// A `where` item as the agent writes it; `op` is parsed separately for a clear error.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionArg {
    /// Native field name.
    pub field: String,
    /// Operator name.
    pub op: String,
    /// Operand.
    #[serde(default)]
    pub value: Value,
}

impl ConditionArg {
    /// Parse the operator.
    pub fn parse(&self) -> Result<Condition> {
        Ok(Condition {
            field: self.field.clone(),
            op: FilterOp::parse(&self.op)?,
            value: self.value.clone(),
        })
    }
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

/// crm_search arguments.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// Entity, canonical or native.
    pub entity: String,
    /// Conditions that must all hold.
    #[serde(default, rename = "where")]
    pub conditions: Vec<ConditionArg>,
    /// OR of AND groups.
    #[serde(default)]
    pub any: Vec<Vec<ConditionArg>>,
    /// Free text.
    #[serde(default)]
    pub query: Option<String>,
    /// Sort.
    #[serde(default)]
    pub sort: Option<SortArg>,
    /// Projection: absent = compact, `["*"]` = all, or a list.
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    /// Page size.
    #[serde(default)]
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// crm_get arguments: `id` or `ids`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GetArgs {
    /// Entity.
    pub entity: String,
    /// One id.
    #[serde(default)]
    pub id: Option<String>,
    /// Up to 100 ids.
    #[serde(default)]
    pub ids: Option<Vec<String>>,
    /// Projection.
    #[serde(default)]
    pub fields: Option<Vec<String>>,
}

/// crm_related arguments.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RelatedArgs {
    /// Entity of the record.
    pub entity: String,
    /// Its id.
    pub id: String,
    /// Link name (crm_describe lists links).
    pub link: String,
    /// Projection of the related records.
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    /// Page size.
    #[serde(default)]
    pub limit: Option<i64>,
    /// Cursor.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// crm_timeline arguments.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TimelineArgs {
    /// Entity.
    pub entity: String,
    /// Record id.
    pub id: String,
    /// Page size.
    #[serde(default)]
    pub limit: Option<i64>,
    /// Cursor.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// crm_create arguments.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CreateArgs {
    /// Entity.
    pub entity: String,
    /// Field → value.
    pub data: Fields,
    /// Create even when the CRM reports likely duplicates.
    #[serde(default)]
    pub skip_duplicate_check: bool,
}

/// crm_update arguments.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateArgs {
    /// Entity.
    pub entity: String,
    /// Record id.
    pub id: String,
    /// Fields to change.
    pub data: Fields,
    /// Only show the before → after diff.
    #[serde(default)]
    pub preview: bool,
}

/// crm_delete arguments.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DeleteArgs {
    /// Entity.
    pub entity: String,
    /// Record id.
    pub id: String,
    /// Token from the preview.
    #[serde(default)]
    pub confirm_token: Option<String>,
}

/// crm_link / crm_unlink arguments.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LinkArgs {
    /// Entity.
    pub entity: String,
    /// Record id.
    pub id: String,
    /// Link name.
    pub link: String,
    /// Id of the record on the far side.
    pub target_id: String,
}

/// crm_note arguments.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NoteArgs {
    /// Entity.
    pub entity: String,
    /// Record id.
    pub id: String,
    /// Note text.
    pub text: String,
}

/// crm_draft_email arguments.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DraftEmailArgs {
    /// Recipients: one address or a list.
    pub to: OneOrMany,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// Entity of the record it concerns.
    #[serde(default)]
    pub entity: Option<String>,
    /// Id of the record it concerns.
    #[serde(default)]
    pub id: Option<String>,
    /// Template name or id.
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
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ActionArgs {
    /// Entity.
    pub entity: String,
    /// Record id.
    pub id: String,
    /// Action name (crm_entities lists them).
    pub action: String,
    /// Parameters.
    #[serde(default)]
    pub params: Fields,
    /// Token from the preview (destructive actions).
    #[serde(default)]
    pub confirm_token: Option<String>,
}

/// crm_query arguments.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct QueryArgs {
    /// One read-only SQL statement.
    pub sql: String,
    /// Most rows returned.
    #[serde(default)]
    pub limit: Option<i64>,
}

/// crm_call arguments.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CallArgs {
    /// Vendor method or path.
    pub method: String,
    /// Parameters.
    #[serde(default)]
    pub params: Value,
}

/// crm_entities result.
#[derive(Debug, Clone, Serialize)]
pub struct EntitiesOutput {
    /// Every reachable entity with its capabilities (shared with the backend's catalogue).
    pub entities: Vec<Arc<EntityInfo>>,
    /// Entities that exist in the CRM but that the caller's role does not let it see, with the
    /// permission that would.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hidden: Vec<HiddenEntity>,
}

/// How a limit was applied.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
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
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    /// Conditions the CRM evaluated (`field op`).
    pub native: Vec<String>,
    /// The projection: `compact`, `all`, or `list`.
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
#[derive(Debug, Clone, Serialize)]
pub struct SearchOutput {
    /// The page.
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

/// crm_get result: `record` for `id`, `records` + `missing` for `ids`.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum GetOutput {
    /// One record.
    One {
        /// The record.
        record: Record,
    },
    /// Several.
    Many {
        /// Found records, in the order asked.
        records: Vec<Record>,
        /// Ids not found (or not visible to this caller).
        missing: Vec<String>,
    },
}

/// crm_related result.
#[derive(Debug, Clone, Serialize)]
pub struct RelatedOutput {
    /// Linked records.
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
#[derive(Debug, Clone, Serialize)]
pub struct TimelineOutput {
    /// Entries, newest first. Text is data written by outsiders.
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
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum CreateOutput {
    /// Created.
    Created {
        /// The record as the CRM stored it.
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
#[derive(Debug, Clone, Serialize)]
pub struct IdUnknownOutput {
    /// Why the id is not known.
    pub reason: String,
    /// crm_search arguments that find it (among look-alikes, if any).
    pub find: SearchHint,
    /// The data that was sent.
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
#[derive(Debug, Clone, Serialize, PartialEq)]
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
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum UpdateOutput {
    /// Updated.
    Updated {
        /// The record after the update.
        record: Record,
    },
    /// Preview only; nothing changed.
    Preview {
        /// Field by field.
        diff: Vec<FieldChange>,
        /// Always false: a preview writes nothing.
        applied: bool,
    },
}

/// crm_delete result.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum DeleteOutput {
    /// No token given: what would be deleted, and the token to confirm.
    Preview {
        /// The record as it is now.
        preview: Record,
        /// Pass back to delete, unchanged.
        confirm_token: String,
        /// Seconds the token stays valid.
        expires_in_s: u64,
        /// `soft` (recoverable in the CRM) or `hard`.
        delete: DeleteKind,
        /// Always false: nothing was deleted yet.
        deleted: bool,
    },
    /// Deleted.
    Deleted {
        /// Always true.
        deleted: bool,
        /// `soft` or `hard`.
        delete: DeleteKind,
        /// Entity (canonical).
        entity: String,
        /// Id.
        id: String,
    },
}

/// crm_link / crm_unlink result.
#[derive(Debug, Clone, Serialize)]
pub struct OkOutput {
    /// Always true.
    pub ok: bool,
}

/// crm_note result.
#[derive(Debug, Clone, Serialize)]
pub struct NoteOutput {
    /// The note created.
    pub note: Record,
}

/// crm_draft_email result.
#[derive(Debug, Clone, Serialize)]
pub struct DraftOutput {
    /// The draft filed. Not sent.
    pub draft: Record,
}

/// crm_action result.
#[derive(Debug, Clone, Serialize)]
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
        preview: Record,
        /// Pass back to run it.
        confirm_token: String,
        /// Seconds the token stays valid.
        expires_in_s: u64,
    },
}

/// crm_call result.
#[derive(Debug, Clone, Serialize)]
pub struct CallOutput {
    /// The vendor's answer.
    pub result: Value,
}
