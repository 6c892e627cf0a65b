//! The `Backend` trait: the one seam between the gateway and a CRM.
//!
//! Every method takes the [`CallContext`] of the caller it acts for. In stdio mode that is the
//! configured identity; in hosted mode it carries the caller's own bearer token, and a backend
//! must use that token — never a server-wide credential — for the upstream call.
//!
//! Names reaching a backend are already resolved ([`EntityInfo`]), fields validated against the
//! schema, filter operators checked against what the backend claims, and limits capped. A
//! backend's job is the vendor API: translate, call, map back.

use crate::model::{
    ActionInfo, CreateOptions, Created, EmailDraft, EntityCatalog, EntityInfo, Features, Fetched,
    FieldSelection, Fields, Page, PageRequest, Pending, ProbeReport, Record, SearchRequest,
    SqlResult, TimelinePage,
};
use crate::raw::{RawMethod, RawTarget};
use crate::schema::{EntitySchema, LinkSchema};
use crate::{Error, Result};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

/// Records of a bulk change in flight at once.
pub const BULK_CONCURRENCY: usize = 4;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Who a call acts for.
#[derive(Clone, Debug)]
pub enum Identity {
    /// The identity configured for this process (stdio mode).
    Configured,
    /// A caller's own bearer credential (hosted mode). `Debug` never shows the secret.
    Bearer(SecretString),
}

/// Per-call context handed to every backend method.
#[derive(Clone, Debug)]
pub struct CallContext {
    identity: Identity,
    scope: Arc<str>,
}

impl CallContext {
    /// The configured identity (stdio mode).
    pub fn configured() -> Self {
        CallContext {
            identity: Identity::Configured,
            scope: Arc::from("configured"),
        }
    }

    /// A caller bringing its own bearer credential.
    pub fn bearer(token: SecretString) -> Self {
        let scope = caller_scope(&token);
        CallContext {
            identity: Identity::Bearer(token),
            scope,
        }
    }

    /// Hosted mode with `shared_identity`: the configured credential acts, but budgets and
    /// caches are scoped to the caller who brought `token`.
    pub fn configured_for(token: &SecretString) -> Self {
        CallContext {
            identity: Identity::Configured,
            scope: caller_scope(token),
        }
    }

    /// Who the call acts for.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// A stable, non-secret key naming this caller, for scoping caches and rate limits.
    /// Derived from a hash of the credential; reveals nothing of it.
    pub fn scope(&self) -> &str {
        &self.scope
    }
}

/// `caller:<hex>`: a hash of the credential, safe to log and to key caches with.
fn caller_scope(token: &SecretString) -> Arc<str> {
    let digest = Sha256::digest(token.expose_secret().as_bytes());
    let mut scope = String::with_capacity(7 + 24);
    scope.push_str("caller:");
    scope.push_str(&crmgate_shared::hex(&digest[..12]));
    Arc::from(scope)
}

/// A CRM behind the common tool surface. Dyn-safe (`Arc<dyn Backend>`).
///
/// Optional operations have default bodies that refuse with `NOT_ALLOWED`; a backend overrides
/// those it supports and says so in [`Backend::features`] and [`EntityInfo::operations`].
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// Short vendor name (`demo`, `espocrm`, …).
    fn kind(&self) -> &'static str;

    /// What the backend can do at all, known without I/O.
    fn features(&self) -> Features;

    /// Entity types the caller can reach, with per-entity capabilities. Built once per caller
    /// and cached by the backend: a call costs an `Arc` clone, not a copy of the list.
    async fn entities(&self, cx: &CallContext) -> Result<Arc<EntityCatalog>>;

    /// Whether the CRM answers at the configured address and accepts the credentials
    /// (`crmgate check`). `UPSTREAM_UNAVAILABLE` when nothing answers, `CONFIG` naming `url`
    /// when something answers that is not this CRM's API, `AUTH_FAILED` when the credentials
    /// are refused.
    async fn probe(&self, cx: &CallContext) -> Result<ProbeReport>;

    /// Whether the CRM locks an address out after repeated failed logins, valid credentials
    /// too (EspoCRM: more than 10 in 60 s). Hosted mode then tries unknown credentials two at a
    /// time and pauses trying new ones after a few refusals. Default: no.
    fn locks_out_failed_logins(&self) -> bool {
        false
    }

    /// Fields and links of one entity.
    async fn describe(&self, cx: &CallContext, entity: &EntityInfo) -> Result<Arc<EntitySchema>>;

    /// The schema again from the CRM, bypassing any cache, when `stale` (what
    /// [`Backend::describe`] returned) lacks a field a call names — a field added in the CRM
    /// during the session. The gateway asks at most once per call, before refusing with
    /// `UNKNOWN_FIELD`. Single-flight: callers that saw the same `stale` schema share one load,
    /// and a schema already replaced is returned without loading. The default does not refresh.
    async fn describe_fresh(
        &self,
        _cx: &CallContext,
        _entity: &EntityInfo,
        stale: &Arc<EntitySchema>,
    ) -> Result<Arc<EntitySchema>> {
        Ok(stale.clone())
    }

    /// One page of matching records.
    async fn search(&self, cx: &CallContext, request: &SearchRequest) -> Result<Page>;

    /// Records by id. Ids that do not exist are simply absent from the result.
    async fn get(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        ids: &[String],
        fields: &FieldSelection,
    ) -> Result<Vec<Record>>;

    /// Records by id for a batch read: found records plus the ids the CRM refused this caller
    /// (`denied`); ids that do not exist are absent from both. The default asks
    /// [`Backend::get`] and reports no denial.
    async fn get_many(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        ids: &[String],
        fields: &FieldSelection,
    ) -> Result<Fetched> {
        Ok(Fetched {
            records: self.get(cx, entity, ids, fields).await?,
            denied: Vec::new(),
        })
    }

    /// The spelling of a record id the CRM's records carry, for an id the agent sent in any
    /// form the CRM accepts (e.g. a UUID in upper case or braces); `VALIDATION` for text that
    /// cannot be an id. The gateway applies it before an id reaches the backend and compares
    /// returned ids with the result. The default keeps the id as sent.
    fn canonical_id(&self, _entity: &EntityInfo, id: &str) -> Result<String> {
        Ok(id.to_owned())
    }

    /// Known outcomes of a pending write, shown on its preview (e.g. "the CRM emails the
    /// assignees"), or an error when the CRM is known to refuse it. `current` is the record as
    /// it is now. The default knows of none.
    fn preview_notes(
        &self,
        _entity: &EntityInfo,
        _current: &Record,
        _pending: Pending<'_>,
    ) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// Records linked to one record through a link. `fields` are of the link's target entity;
    /// a backend may return more (the gateway projects), never fewer.
    async fn related(
        &self,
        _cx: &CallContext,
        entity: &EntityInfo,
        _id: &str,
        _link: &LinkSchema,
        _fields: &FieldSelection,
        _page: &PageRequest,
    ) -> Result<Page> {
        Err(unsupported(entity, "reading related records"))
    }

    /// Notes, comments and activities of one record, newest first.
    async fn timeline(
        &self,
        _cx: &CallContext,
        entity: &EntityInfo,
        _id: &str,
        _page: &PageRequest,
    ) -> Result<TimelinePage> {
        Err(unsupported(entity, "timelines"))
    }

    /// Create a record. `data` is already validated. Once the CRM has accepted the create,
    /// nothing may fail with a retryable error: an id the CRM did not report is
    /// [`Created::IdUnknown`], and a write whose outcome is unclear is `OUTCOME_UNKNOWN`.
    async fn create(
        &self,
        _cx: &CallContext,
        entity: &EntityInfo,
        _data: &Fields,
        _options: CreateOptions,
    ) -> Result<Created> {
        Err(unsupported(entity, "create"))
    }

    /// Patch a record: only the given fields change. `data` is already validated.
    async fn update(
        &self,
        _cx: &CallContext,
        entity: &EntityInfo,
        _id: &str,
        _data: &Fields,
    ) -> Result<Record> {
        Err(unsupported(entity, "update"))
    }

    /// The record as it is now, for the journal's `before` of an update: a read that must not
    /// count as the caller having seen the record (where the CRM checks versions on write, the
    /// update still carries the version the caller last read — EspoCRM overrides this).
    /// Default: [`Backend::get`] of the one id.
    async fn peek(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
    ) -> Result<Option<Record>> {
        let ids = [id.to_owned()];
        let found = self.get(cx, entity, &ids, &FieldSelection::All).await?;
        Ok(found.into_iter().find(|r| r.id == id))
    }

    /// Patch many records of one entity with the same validated `data` (a confirmed bulk
    /// crm_update): one result per id, in order. The default sends them one by one, at most
    /// [`BULK_CONCURRENCY`] at a time, each through the upstream layer's rate budget; a CRM
    /// with a batch API may send them together.
    async fn update_many(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        ids: &[String],
        data: &Fields,
    ) -> Vec<Result<Record>> {
        use futures::StreamExt;
        // futures are lazy: only BULK_CONCURRENCY of them run at a time
        let calls: Vec<_> = ids
            .iter()
            .map(|id| self.update(cx, entity, id, data))
            .collect();
        futures::stream::iter(calls)
            .buffered(BULK_CONCURRENCY)
            .collect()
            .await
    }

    /// Delete a record. The gateway has already checked the confirm token.
    async fn delete(&self, _cx: &CallContext, entity: &EntityInfo, _id: &str) -> Result<()> {
        Err(unsupported(entity, "delete"))
    }

    /// Whether [`Backend::restore`] can bring back a deleted record of this entity, known
    /// without I/O (undo of a delete says up front whether the old record comes back or a new
    /// one is created from the journaled state).
    fn restores(&self, _entity: &EntityInfo) -> bool {
        false
    }

    /// Bring back a record this CRM soft-deleted, under its old id (undo of a delete: EspoCRM's
    /// `restoreDeleted`). Only called where [`Backend::restores`] says so.
    async fn restore(&self, _cx: &CallContext, entity: &EntityInfo, _id: &str) -> Result<Record> {
        Err(unsupported(entity, "restoring deleted records"))
    }

    /// Whether [`Backend::delete_note`] can remove a note crm_note added, known without I/O
    /// (crm_history says up front whether a note can be undone).
    fn deletes_notes(&self) -> bool {
        false
    }

    /// Remove the note `note_id` that crm_note added to record `id` (undo of a note). Only
    /// called where [`Backend::deletes_notes`] says so; a note gone already is `NOT_FOUND`.
    async fn delete_note(
        &self,
        _cx: &CallContext,
        entity: &EntityInfo,
        _id: &str,
        _note_id: &str,
    ) -> Result<()> {
        Err(unsupported(entity, "deleting notes"))
    }

    /// Add one association.
    async fn link(
        &self,
        _cx: &CallContext,
        entity: &EntityInfo,
        _id: &str,
        _link: &LinkSchema,
        _target_id: &str,
    ) -> Result<()> {
        Err(unsupported(entity, "linking"))
    }

    /// Remove one association.
    async fn unlink(
        &self,
        _cx: &CallContext,
        entity: &EntityInfo,
        _id: &str,
        _link: &LinkSchema,
        _target_id: &str,
    ) -> Result<()> {
        Err(unsupported(entity, "unlinking"))
    }

    /// Add a note or comment to a record.
    async fn note(
        &self,
        _cx: &CallContext,
        entity: &EntityInfo,
        _id: &str,
        _text: &str,
    ) -> Result<Record> {
        Err(unsupported(entity, "notes"))
    }

    /// File an email draft. Never sends.
    async fn draft_email(&self, _cx: &CallContext, _draft: &EmailDraft) -> Result<Record> {
        Err(Error::not_allowed(
            "this CRM does not support email drafts through crmgate",
            "write the email elsewhere and log it with crm_note",
        ))
    }

    /// Run a vendor action on a record. Destructive actions arrive only with a valid token.
    async fn action(
        &self,
        _cx: &CallContext,
        entity: &EntityInfo,
        _id: &str,
        _action: &ActionInfo,
        _params: &Fields,
    ) -> Result<Value> {
        Err(unsupported(entity, "actions"))
    }

    /// Parse a raw vendor method (crm_call) with this vendor's grammar: the normalised name that
    /// will be sent, and its class. Text outside the grammar is `VALIDATION` (saying what the
    /// grammar is and where parameters go). No I/O; runs before anything else.
    fn raw_method(&self, _text: &str) -> Result<RawMethod> {
        Err(no_raw_calls())
    }

    /// The record a destructive raw method would act on, read for its preview and again before
    /// the confirmed call (`None` when the vendor offers no way to read it). Checks `params`
    /// first; never writes.
    async fn raw_target(
        &self,
        _cx: &CallContext,
        _method: &RawMethod,
        _params: &Value,
    ) -> Result<Option<RawTarget>> {
        Ok(None)
    }

    /// Call a raw method parsed by [`Backend::raw_method`], after the gateway checked the
    /// allow-list, the tier and (for destructive ones) the confirm token. Checks `params` before
    /// sending and builds the request only from the parsed method.
    async fn raw_call(
        &self,
        _cx: &CallContext,
        _method: &RawMethod,
        _params: &Value,
    ) -> Result<Value> {
        Err(no_raw_calls())
    }

    /// Hosted mode: check a caller's bearer credential before any MCP message is handled
    /// (e.g. verify a JWT's signature, issuer, audience and expiry). The default accepts any
    /// well-formed token; the CRM then judges it on first use (`AUTH_FAILED`).
    async fn verify_bearer(&self, _token: &SecretString) -> Result<()> {
        Ok(())
    }

    /// Run one read-only SQL statement under the caller's row-level security (crm_query).
    async fn sql(&self, _cx: &CallContext, _sql: &str, _limit: usize) -> Result<SqlResult> {
        Err(Error::not_allowed(
            "this backend has no SQL access",
            "use crm_search",
        ))
    }
}

fn no_raw_calls() -> Error {
    Error::not_allowed("this backend has no raw method call", "use the crm_* tools")
}

/// `NOT_ALLOWED` for an operation this backend does not offer on an entity. When the CRM offers
/// it but the caller's role forbids it ([`EntityInfo::denied`]), `PERMISSION_DENIED` naming the
/// permission instead.
pub fn unsupported(entity: &EntityInfo, what: &str) -> Error {
    let denied = entity.denied.iter().find(|d| op_word(d.operation) == what);
    if let Some(denied) = denied {
        return Error::permission_denied(
            format!(
                "your CRM role may not use {what} on {} (it lacks {})",
                entity.name, denied.permission
            ),
            &denied.permission,
        );
    }
    Error::not_allowed(
        format!("{} does not support {what}", entity.name),
        "crm_entities lists the operations each entity supports",
    )
}

/// How errors name an operation (`create`, `reading related records`, …).
pub fn op_word(op: crate::model::Operation) -> &'static str {
    use crate::model::Operation;
    match op {
        Operation::Search => "search",
        Operation::Get => "get",
        Operation::Related => "reading related records",
        Operation::Timeline => "timelines",
        Operation::Create => "create",
        Operation::Update => "update",
        Operation::Delete => "delete",
        Operation::Link => "linking",
        Operation::Note => "notes",
        Operation::DraftEmail => "email drafts",
        Operation::Action => "actions",
    }
}
