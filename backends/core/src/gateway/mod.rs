//! The operations behind every tool, independent of any transport.
//!
//! [`Gateway`] wraps one `Arc<dyn Backend>` and does what every backend would otherwise repeat:
//! resolve canonical or native entity names, check capabilities, validate filters and writes
//! against the schema, cap limits (and say so), wrap cursors, project fields, cut long text,
//! and run the confirm-token flow for deletes and destructive actions. The MCP layer only turns
//! JSON arguments into these calls and results back into JSON.

mod action;
mod args;
mod args_journal;
mod bulk;
mod history;
mod id_arg;
mod journaled;
mod outcome;
mod present;
mod raw;
mod read;
mod undo;
mod write;

pub use args::*;
pub use args_journal::*;
pub use bulk::{BulkWatch, Unwatched};
pub use journaled::Journal;
pub use present::record_version;

use crate::backend::{Backend, CallContext};
use crate::confirm::ConfirmSigner;
use crate::model::{EntityInfo, Operation};
use crate::schema::EntitySchema;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// An optional text argument as given: trimmed, `None` when absent or empty (strict-mode
/// clients send `""` for an argument they have nothing for).
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// What a deployment lets the agent do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Look only.
    Read,
    /// Look, create, update, link, annotate, draft (the default).
    Write,
    /// Also delete and run outward-facing actions, each with a confirm token.
    Destructive,
}

impl Tier {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Read => "read",
            Tier::Write => "write",
            Tier::Destructive => "destructive",
        }
    }
}

impl std::str::FromStr for Tier {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "read" => Ok(Tier::Read),
            "write" => Ok(Tier::Write),
            "destructive" => Ok(Tier::Destructive),
            other => Err(format!(
                "unknown tier {other:?}: use read, write or destructive"
            )),
        }
    }
}

/// Limits and policies of one gateway.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// The tier in force.
    pub tier: Tier,
    /// Largest page a search may ask for; larger requests are capped and the cap reported.
    pub limit_cap: usize,
    /// Page size when none is asked for.
    pub default_limit: usize,
    /// Longest text value returned, in characters; longer text is cut and flagged.
    pub text_cap: usize,
    /// Most ids in one crm_get.
    pub max_get_ids: usize,
    /// Raw vendor methods crm_call may use: exact names, or a prefix ending in `*`, in the
    /// vendor's normalised form (the config loader normalises them). Empty: off.
    pub raw_call_allow: Vec<String>,
    /// An upper bound on one call's time whatever the CRM's own `timeout_s` (hosted mode: a
    /// little under `request_timeout_s`, so the call ends with an honest tool result first).
    pub call_time_limit: Option<std::time::Duration>,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            tier: Tier::Write,
            limit_cap: 50,
            default_limit: 20,
            text_cap: 2000,
            max_get_ids: 100,
            raw_call_allow: Vec::new(),
            call_time_limit: None,
        }
    }
}

/// The transport-agnostic operations behind every tool.
#[derive(Clone)]
pub struct Gateway {
    backend: Arc<dyn Backend>,
    settings: Arc<GatewaySettings>,
    signer: ConfirmSigner,
    spent: Arc<raw::SpentTokens>,
    journal: Option<Arc<Journal>>,
}

impl Gateway {
    /// A gateway over a backend.
    pub fn new(
        backend: Arc<dyn Backend>,
        settings: GatewaySettings,
        signer: ConfirmSigner,
    ) -> Self {
        Gateway {
            backend,
            settings: Arc::new(settings),
            signer,
            spent: Arc::default(),
            journal: None,
        }
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The settings in force.
    pub fn settings(&self) -> &GatewaySettings {
        &self.settings
    }

    /// Bound every operation of this gateway by `limit` (see
    /// [`GatewaySettings::call_time_limit`]).
    pub fn with_call_time_limit(mut self, limit: std::time::Duration) -> Self {
        let mut settings = (*self.settings).clone();
        settings.call_time_limit = Some(limit);
        self.settings = Arc::new(settings);
        self
    }

    /// Run one operation under one deadline ([`crate::deadline`]).
    async fn within_deadline<T>(&self, operation: impl std::future::Future<Output = T>) -> T {
        crate::deadline::scope(self.settings.call_time_limit, operation).await
    }

    /// Resolve a canonical or native entity name: a lookup in the caller's catalogue. An
    /// entity the caller's role hides is `PERMISSION_DENIED`, not unknown.
    pub async fn resolve(&self, cx: &CallContext, name: &str) -> Result<Arc<EntityInfo>> {
        let name = name.trim();
        let catalog = self.backend.entities(cx).await?;
        if let Some(found) = catalog.get(name) {
            return Ok(found.clone());
        }
        if let Some(hidden) = catalog.hidden_named(name) {
            return Err(Error::permission_denied(
                format!(
                    "{} exists in this CRM, but your CRM role may not see it (it lacks {})",
                    hidden.name, hidden.permission
                ),
                &hidden.permission,
            ));
        }
        Err(Error::unknown_entity(name, &catalog.names()))
    }

    /// Resolve an entity and require an operation on it: `PERMISSION_DENIED` naming the
    /// permission when the CRM offers it but the caller's role forbids it, `NOT_ALLOWED` when
    /// the CRM (or crmgate) does not offer it here.
    async fn resolve_for(
        &self,
        cx: &CallContext,
        name: &str,
        op: Operation,
    ) -> Result<Arc<EntityInfo>> {
        let entity = self.resolve(cx, name).await?;
        if !entity.supports(op) {
            if let Some(permission) = entity.denied_permission(op) {
                return Err(Error::permission_denied(
                    format!(
                        "your CRM role may not {} {} (it lacks {permission})",
                        op_verb(op),
                        entity.name
                    ),
                    permission,
                ));
            }
            let ops: Vec<String> = entity
                .operations
                .iter()
                .map(|o| {
                    serde_json::to_value(o)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                })
                .collect();
            return Err(Error::not_allowed(
                format!("{} does not support {}", entity.name, op_word(op)),
                format!("{} supports: {}", entity.name, ops.join(", ")),
            ));
        }
        Ok(entity)
    }

    /// Resolve an entity, require an operation, and load its schema.
    async fn resolve_with_schema(
        &self,
        cx: &CallContext,
        name: &str,
        op: Operation,
    ) -> Result<(Arc<EntityInfo>, Arc<EntitySchema>)> {
        let entity = self.resolve_for(cx, name, op).await?;
        let schema = self.backend.describe(cx, &entity).await?;
        Ok((entity, schema))
    }

    /// `schema`, or — when the call names a field it does not know (`known` false, from
    /// [`knows_all`]) — the backend's fresh schema ([`Backend::describe_fresh`]: a field added
    /// in the CRM since the schema was cached). Asked once per call, before anything refuses
    /// the field as `UNKNOWN_FIELD`.
    async fn schema_knowing(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        schema: Arc<EntitySchema>,
        known: bool,
    ) -> Result<Arc<EntitySchema>> {
        if known {
            return Ok(schema);
        }
        self.backend.describe_fresh(cx, entity, &schema).await
    }

    /// Refuse when the tier in force is below `needed`.
    pub fn require_tier(&self, needed: Tier, what: &str) -> Result<()> {
        if self.settings.tier >= needed {
            return Ok(());
        }
        Err(Error::not_allowed(
            format!(
                "{what} needs the {} tier; this server runs at {}",
                needed.as_str(),
                self.settings.tier.as_str()
            ),
            format!(
                "ask the operator to set tier = \"{}\" in the crmgate config (or --tier {})",
                needed.as_str(),
                needed.as_str()
            ),
        ))
    }
}

fn op_word(op: Operation) -> &'static str {
    match op {
        Operation::Search => "search",
        Operation::Get => "get",
        Operation::Related => "related records",
        Operation::Timeline => "a timeline",
        Operation::Create => "create",
        Operation::Update => "update",
        Operation::Delete => "delete",
        Operation::Link => "link / unlink",
        Operation::Note => "notes",
        Operation::DraftEmail => "email drafts",
        Operation::Action => "actions",
    }
}

/// The verb for a permission message: "may not create contacts".
fn op_verb(op: Operation) -> &'static str {
    match op {
        Operation::Search => "search",
        Operation::Get => "read",
        Operation::Related => "read the related records of",
        Operation::Timeline => "read the timeline of",
        Operation::Create => "create",
        Operation::Update => "update",
        Operation::Delete => "delete",
        Operation::Link => "link or unlink",
        Operation::Note => "add notes to",
        Operation::DraftEmail => "file email drafts on",
        Operation::Action => "run actions on",
    }
}

/// Whether `schema` has every field of `names`.
fn knows_all<'a>(schema: &EntitySchema, mut names: impl Iterator<Item = &'a str>) -> bool {
    names.all(|name| schema.field(name).is_some())
}

fn require_id(id: &str, what: &str) -> Result<String> {
    let id = id.trim();
    if id.is_empty() {
        return Err(Error::validation(
            format!("{what} is empty"),
            format!("pass the record's {what} as crm_search or crm_get returned it"),
        ));
    }
    Ok(id.to_owned())
}

impl Gateway {
    /// A record id of `entity` as the agent sent it (`what` names the argument), non-empty and
    /// in the spelling the CRM's records carry ([`Backend::canonical_id`]).
    fn record_id(&self, entity: &EntityInfo, id: &str, what: &str) -> Result<String> {
        let id = require_id(id, what)?;
        self.backend.canonical_id(entity, &id)
    }
}
