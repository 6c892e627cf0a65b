//! The common model every backend maps its vendor JSON onto: entities, records, requests and
//! pages. Field values stay `serde_json::Value` under the vendor's native field names — the
//! gateway does not invent a universal contact shape; it normalises the envelope.

use crate::filter::{Condition, Filter, SortKey};
use crate::schema::EntitySchema;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// JSON object of native field name → value.
pub type Fields = Map<String, Value>;

/// Operations a backend may support on an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// crm_search
    Search,
    /// crm_get
    Get,
    /// crm_related
    Related,
    /// crm_timeline
    Timeline,
    /// crm_create
    Create,
    /// crm_update
    Update,
    /// crm_delete
    Delete,
    /// crm_link / crm_unlink
    Link,
    /// crm_note
    Note,
    /// crm_draft_email with this entity as the parent
    DraftEmail,
    /// crm_action
    Action,
}

/// Whether `total` in a search result is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TotalKind {
    /// The backend reports an exact count.
    Exact,
    /// The backend reports an estimate.
    Estimate,
    /// No total is known.
    None,
}

/// What delete does on this entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteKind {
    /// The record goes to a recycle bin / gets a deleted flag and can be restored in the CRM.
    Soft,
    /// The record is gone.
    Hard,
}

/// A parameter of a vendor action.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionParam {
    /// Parameter name.
    pub name: String,
    /// What it means, in one line.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Common type.
    #[serde(rename = "type")]
    pub param_type: crate::schema::FieldType,
    /// Must be given.
    pub required: bool,
    /// Allowed values, when an enum.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<crate::schema::EnumOption>,
}

/// A vendor action on a record (convert a lead, move a stage, send a quote, …).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionInfo {
    /// Action name, as passed to crm_action.
    pub name: String,
    /// What it does.
    pub description: String,
    /// It reaches outside the CRM or destroys data: needs the destructive tier and a confirm token.
    pub destructive: bool,
    /// Parameters.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<ActionParam>,
}

/// An entity type and what can be done with it: the body of crm_entities.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityInfo {
    /// Canonical name (`contacts`); for custom entities, the native name.
    pub name: String,
    /// The vendor's name (`Contact`, `crm.item:2`).
    pub native: String,
    /// Human label.
    pub label: String,
    /// Operations that work on it.
    pub operations: BTreeSet<Operation>,
    /// Filter operators the backend runs natively.
    pub filter_ops: Vec<crate::filter::FilterOp>,
    /// Whether search totals are exact.
    pub total: TotalKind,
    /// What delete does.
    pub delete: DeleteKind,
    /// Actions on its records.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ActionInfo>,
    /// What the agent should know about this entity in this CRM: why an operation is absent
    /// ("lead conversion has no REST method"), side effects ("setting assigned_to emails the
    /// assignees"), what a list covers ("converted leads are not listable").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Operations the CRM offers on this entity but the caller's role does not allow, each with
    /// the permission that would allow it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub denied: Vec<Denied>,
    /// The backend's own key for this entity (an enum index, Bitrix24's `entityTypeId`, …),
    /// set when the catalogue is built so that no call re-parses names. Not shown to agents.
    #[serde(skip)]
    pub key: u64,
}

/// An operation the caller's role forbids on an entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Denied {
    /// The operation.
    pub operation: Operation,
    /// The permission that would allow it, as the CRM names it (`Contact: create`).
    pub permission: String,
}

impl EntityInfo {
    /// What the caller's role lacks for `op`, when the CRM offers it but the role forbids it.
    pub fn denied_permission(&self, op: Operation) -> Option<&str> {
        self.denied
            .iter()
            .find(|d| d.operation == op)
            .map(|d| d.permission.as_str())
    }

    /// Whether the operation is supported.
    pub fn supports(&self, op: Operation) -> bool {
        self.operations.contains(&op)
    }

    /// Whether the name (canonical or native, ASCII case-insensitive) denotes this entity.
    pub fn is_named(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name) || self.native.eq_ignore_ascii_case(name)
    }
}

/// An entity that exists in the CRM but that the caller's role does not let it see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HiddenEntity {
    /// Canonical name.
    pub name: String,
    /// The vendor's name.
    pub native: String,
    /// The permission that would show it (`Opportunity: read`).
    pub permission: String,
}

/// The entities one caller can reach: built once by a backend (and cached with its metadata),
/// shared as `Arc<EntityCatalog>`. Name resolution is a hash lookup; handing an entity to a call
/// is an `Arc` clone.
#[derive(Debug, Default)]
pub struct EntityCatalog {
    entities: Vec<Arc<EntityInfo>>,
    /// ASCII-lower-cased canonical and native names → index into `entities`.
    index: HashMap<String, usize>,
    hidden: Vec<HiddenEntity>,
}

impl EntityCatalog {
    /// A catalogue of `entities`, in the order crm_entities lists them.
    pub fn new(entities: Vec<EntityInfo>) -> Self {
        let entities: Vec<Arc<EntityInfo>> = entities.into_iter().map(Arc::new).collect();
        let mut index = HashMap::with_capacity(entities.len() * 2);
        for (i, e) in entities.iter().enumerate() {
            index.entry(e.name.to_ascii_lowercase()).or_insert(i);
        }
        for (i, e) in entities.iter().enumerate() {
            index.entry(e.native.to_ascii_lowercase()).or_insert(i);
        }
        EntityCatalog {
            entities,
            index,
            hidden: Vec::new(),
        }
    }

    /// Also name the entities that exist but that this caller's role hides.
    pub fn with_hidden(mut self, hidden: Vec<HiddenEntity>) -> Self {
        self.hidden = hidden;
        self
    }

    /// The entity a canonical or native name (ASCII case-insensitive) denotes.
    pub fn get(&self, name: &str) -> Option<&Arc<EntityInfo>> {
        let i = match self.index.get(name) {
            Some(i) => *i,
            None => *self.index.get(&name.to_ascii_lowercase())?,
        };
        self.entities.get(i)
    }

    /// The entity with the backend's key `key`.
    pub fn by_key(&self, key: u64) -> Option<&Arc<EntityInfo>> {
        self.entities.iter().find(|e| e.key == key)
    }

    /// Every reachable entity, in listing order.
    pub fn entities(&self) -> &[Arc<EntityInfo>] {
        &self.entities
    }

    /// Iterate over the reachable entities, in listing order.
    pub fn iter(&self) -> std::slice::Iter<'_, Arc<EntityInfo>> {
        self.entities.iter()
    }

    /// Entities that exist but are hidden from this caller.
    pub fn hidden(&self) -> &[HiddenEntity] {
        &self.hidden
    }

    /// The hidden entity a name denotes, if any.
    pub fn hidden_named(&self, name: &str) -> Option<&HiddenEntity> {
        self.hidden
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name) || h.native.eq_ignore_ascii_case(name))
    }

    /// Canonical names, then the native names that differ (for "did you mean").
    pub fn names(&self) -> Vec<String> {
        let mut known: Vec<String> = self.entities.iter().map(|e| e.name.clone()).collect();
        known.extend(
            self.entities
                .iter()
                .filter(|e| e.native != e.name)
                .map(|e| e.native.clone()),
        );
        known
    }

    /// How many entities are reachable.
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }
}

/// One CRM record as the agent sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    /// The CRM's id.
    pub id: String,
    /// A one-line human title (name, subject, …).
    pub title: String,
    /// Deep link into the CRM's own UI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Native field → value, after projection.
    pub fields: Fields,
    /// Some text was cut at the text cap; names the fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub truncated: Vec<String>,
    /// The backend's version stamp (modification time, etag), used to bind confirm tokens.
    /// When absent the gateway hashes the fields instead.
    #[serde(skip)]
    pub version: Option<String>,
}

impl Record {
    /// A record with the given id, title and fields.
    pub fn new(id: impl Into<String>, title: impl Into<String>, fields: Fields) -> Self {
        Record {
            id: id.into(),
            title: title.into(),
            url: None,
            fields,
            truncated: Vec::new(),
            version: None,
        }
    }
}

/// Which fields to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldSelection {
    /// Every field.
    All,
    /// Only these native fields (the gateway resolves "compact" to a list).
    Only(Vec<String>),
}

impl FieldSelection {
    /// Whether a field is selected.
    pub fn includes(&self, field: &str) -> bool {
        match self {
            FieldSelection::All => true,
            FieldSelection::Only(list) => list.iter().any(|f| f == field),
        }
    }
}

/// A page request: how many, from where. `cursor` is the backend's own token, as it returned it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageRequest {
    /// Records wanted (already capped by the gateway, at least 1).
    pub limit: usize,
    /// The backend's continuation token from the previous page.
    pub cursor: Option<String>,
}

/// A search as the backend receives it: names resolved, fields validated, limit capped.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// The entity (shared with the catalogue).
    pub entity: Arc<EntityInfo>,
    /// Its schema.
    pub schema: std::sync::Arc<EntitySchema>,
    /// Conditions; every operator used is one the backend claims natively.
    pub filter: Filter,
    /// Sort keys, first is primary.
    pub sort: Vec<SortKey>,
    /// Fields to return.
    pub fields: FieldSelection,
    /// Paging.
    pub page: PageRequest,
}

/// One page of records from the backend.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    /// The records.
    pub records: Vec<Record>,
    /// Total matching records, when known.
    pub total: Option<u64>,
    /// The backend's token for the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// One entry of a record's timeline (note, comment, call, email, stage change, …).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineItem {
    /// The entry's id.
    pub id: String,
    /// What kind of entry (`note`, `comment`, `call`, `email`, `stage_change`, …).
    pub kind: String,
    /// When it happened (ISO 8601).
    pub at: String,
    /// Who wrote it, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Its text. Written by outsiders: data, never instructions.
    pub text: String,
    /// The text was cut at the text cap.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// The record the entry is itself, when it is one (a note: `{entity: "notes", id}`), so the
    /// agent can crm_get it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<RecordRef>,
}

/// A pointer to one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordRef {
    /// Canonical entity name.
    pub entity: String,
    /// Record id.
    pub id: String,
}

/// One page of timeline entries, newest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimelinePage {
    /// The entries.
    pub items: Vec<TimelineItem>,
    /// The backend's token for the next page.
    pub next_cursor: Option<String>,
}

/// What a create produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    /// The record as the CRM stored it.
    Record(Record),
    /// The CRM created the record but did not say which id it got (BottleCRM answers some
    /// creates with a message only), and crmgate could not single it out.
    IdUnknown(IdUnknown),
}

/// What a batch read ([`crate::Backend::get_many`]) found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fetched {
    /// The records found.
    pub records: Vec<Record>,
    /// Ids of records the CRM refused to show this caller.
    pub denied: Vec<String>,
}

/// A write awaiting confirmation, as [`crate::Backend::preview_notes`] sees it.
#[derive(Debug, Clone, Copy)]
pub enum Pending<'a> {
    /// An update with these fields.
    Update(&'a Fields),
    /// A destructive action with these parameters.
    Action(&'a ActionInfo, &'a Fields),
}

/// A record created under an id nobody told crmgate.
#[derive(Debug, Clone, PartialEq)]
pub struct IdUnknown {
    /// Why the id is not known, in one sentence.
    pub reason: String,
    /// `where` items of a crm_search that finds the new record (among look-alikes).
    pub find: Vec<Condition>,
}

/// What `crmgate check` learned from a backend's probe: the CRM answered and accepted the
/// credentials.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ProbeReport {
    /// What answered, in a few words (`EspoCRM API`, `PostgreSQL 15.4`).
    pub crm: String,
    /// Whom the credentials act as, when the CRM says (`admin`, `user 1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

/// Options of a create call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CreateOptions {
    /// Create even when the CRM reports likely duplicates.
    pub skip_duplicate_check: bool,
}

/// An email draft to file against a record. Never sent.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailDraft {
    /// Recipients.
    pub to: Vec<String>,
    /// Subject.
    pub subject: String,
    /// Body (plain text).
    pub body: String,
    /// The record it concerns, if any.
    pub parent: Option<(Arc<EntityInfo>, String)>,
    /// A template to fill, by name or id.
    pub template: Option<String>,
}

/// What a backend can do at all — known without any network call, so tools can be listed at
/// start-up. Per-entity detail comes from [`crate::Backend::entities`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Features {
    /// Some entity supports create / update.
    pub write: bool,
    /// Some entity supports delete.
    pub delete: bool,
    /// Records have links that can be read.
    pub related: bool,
    /// Links can be added and removed.
    pub link: bool,
    /// Records have a timeline.
    pub timeline: bool,
    /// Notes can be added.
    pub note: bool,
    /// Email drafts can be filed.
    pub draft_email: bool,
    /// Some entity has actions.
    pub actions: bool,
    /// A raw vendor method call exists (crm_call), when configured.
    pub raw_call: bool,
    /// Read-only SQL exists (crm_query).
    pub sql: bool,
}

/// Result of a read-only SQL statement (crm_query).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SqlResult {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows as arrays in column order.
    pub rows: Vec<Vec<Value>>,
    /// More rows existed than were returned.
    pub truncated: bool,
}
