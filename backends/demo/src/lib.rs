//! crmgate-demo: the embedded in-memory demo CRM, and the reference implementation of
//! [`crmgate_core::Backend`]. It is what `crmgate` serves with no configuration.
//!
//! # Layout
//! - `kind`: entity kinds, names, id prefixes and enum tables.
//! - `schema`, `links`, `capabilities`: fields, links, operations and actions of each entity,
//!   gathered once into a catalog.
//! - `seed`: the deterministic seed (fixed-seed SplitMix64) and its word lists.
//! - `store`: the state and its read paths (search, get, related, timeline, paging).
//! - `write` / `check`: create, update, delete, link, notes; input checks.
//! - `email`: email drafts and templates. `actions`: record actions. `clock`: timestamps.
//! - this file: the thin `Backend` impl.
//!
//! The seed is built on first use (not in [`DemoBackend::new`]), so constructing the backend
//! costs nothing at start-up. State sits behind a `std::sync::RwLock` that is never held across
//! an `.await` (no method awaits at all). Ids look like `co-0001` (prefix per entity); search
//! cursors are the decimal offset of the next record. Deletes are hard.

mod actions;
mod capabilities;
mod check;
mod clock;
mod email;
mod kind;
mod links;
mod schema;
mod seed;
mod store;
mod write;

#[cfg(test)]
mod tests;

use crate::kind::Kind;
use crate::links::LinkSpec;
use crate::schema::entity_infos;
use crate::store::Store;
use async_trait::async_trait;
use crmgate_core::backend::unsupported;
use crmgate_core::filter::FilterOp;
use crmgate_core::model::{
    ActionInfo, CreateOptions, EmailDraft, EntityInfo, Features, FieldSelection, Fields, Operation,
    Page, PageRequest, Record, SearchRequest, TimelinePage,
};
use crmgate_core::schema::{EntitySchema, LinkSchema};
use crmgate_core::{Backend, CallContext, Error, ErrorCode, Result};
use serde_json::Value;
use std::sync::{Arc, OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Where deep links point unless [`DemoBackend::with_url_base`] says otherwise.
pub const DEFAULT_URL_BASE: &str = "https://demo.crmgate.invalid";

/// The in-memory demo CRM, seeded with a small deterministic data set on first use.
pub struct DemoBackend {
    url_base: String,
    state: OnceLock<RwLock<Store>>,
}

impl Default for DemoBackend {
    fn default() -> Self {
        DemoBackend::new()
    }
}

impl std::fmt::Debug for DemoBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoBackend")
            .field("url_base", &self.url_base)
            .field("seeded", &self.state.get().is_some())
            .finish()
    }
}

impl DemoBackend {
    /// A demo CRM with deep links under [`DEFAULT_URL_BASE`]. Cheap: seeding waits for the
    /// first call.
    pub fn new() -> Self {
        DemoBackend::with_url_base(DEFAULT_URL_BASE)
    }

    /// A demo CRM whose deep links look like `{base}/#/{native entity}/{id}`.
    pub fn with_url_base(base: impl Into<String>) -> Self {
        DemoBackend {
            url_base: base.into().trim_end_matches('/').to_string(),
            state: OnceLock::new(),
        }
    }

    fn state(&self) -> &RwLock<Store> {
        self.state
            .get_or_init(|| RwLock::new(seed::seed(&self.url_base)))
    }

    fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.state().read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Store> {
        self.state().write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The kind an entity info names, if it supports `op`.
fn resolve(entity: &EntityInfo, op: Operation) -> Result<Kind> {
    let kind = Kind::from_name(&entity.name)
        .or_else(|| Kind::from_name(&entity.native))
        .ok_or_else(|| {
            let known: Vec<String> = Kind::ALL.iter().map(|k| k.name().to_string()).collect();
            Error::unknown_entity(&entity.name, &known)
        })?;
    if !kind.info().supports(op) {
        let what = match op {
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
        };
        return Err(unsupported(kind.info(), what));
    }
    Ok(kind)
}

/// The store's view of a link named in the schema.
fn link_spec(kind: Kind, link: &LinkSchema) -> Result<&'static LinkSpec> {
    kind.link(&link.name).ok_or_else(|| {
        kind.schema()
            .require_link(&link.name)
            .err()
            .unwrap_or_else(|| {
                Error::new(
                    ErrorCode::NotFound,
                    format!("{} has no link {:?}", kind.name(), link.name),
                    "crm_describe lists the links of each entity",
                )
            })
    })
}

#[async_trait]
impl Backend for DemoBackend {
    fn kind(&self) -> &'static str {
        "demo"
    }

    fn features(&self) -> Features {
        Features {
            write: true,
            delete: true,
            related: true,
            link: true,
            timeline: true,
            note: true,
            draft_email: true,
            actions: true,
            raw_call: false,
            sql: false,
        }
    }

    async fn entities(&self, _cx: &CallContext) -> Result<Vec<EntityInfo>> {
        Ok(entity_infos().to_vec())
    }

    async fn describe(&self, _cx: &CallContext, entity: &EntityInfo) -> Result<Arc<EntitySchema>> {
        let kind = Kind::from_name(&entity.name)
            .or_else(|| Kind::from_name(&entity.native))
            .ok_or_else(|| {
                let known: Vec<String> = Kind::ALL.iter().map(|k| k.name().to_string()).collect();
                Error::unknown_entity(&entity.name, &known)
            })?;
        Ok(kind.schema().clone())
    }

    async fn search(&self, _cx: &CallContext, request: &SearchRequest) -> Result<Page> {
        let kind = resolve(&request.entity, Operation::Search)?;
        let schema = kind.schema();
        request.filter.check(schema, &FilterOp::ALL)?;
        for key in &request.sort {
            schema.require_field(&key.field)?;
        }
        if let FieldSelection::Only(names) = &request.fields {
            for name in names {
                schema.require_field(name)?;
            }
        }
        self.read().search(
            kind,
            &request.filter,
            &request.sort,
            &request.fields,
            &request.page,
        )
    }

    async fn get(
        &self,
        _cx: &CallContext,
        entity: &EntityInfo,
        ids: &[String],
        fields: &FieldSelection,
    ) -> Result<Vec<Record>> {
        let kind = resolve(entity, Operation::Get)?;
        Ok(self.read().get(kind, ids, fields))
    }

    async fn related(
        &self,
        _cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        link: &LinkSchema,
        _fields: &FieldSelection,
        page: &PageRequest,
    ) -> Result<Page> {
        let kind = resolve(entity, Operation::Related)?;
        let spec = link_spec(kind, link)?;
        self.read().related(kind, id, spec, page)
    }

    async fn timeline(
        &self,
        _cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        page: &PageRequest,
    ) -> Result<TimelinePage> {
        let kind = resolve(entity, Operation::Timeline)?;
        self.read().timeline(kind, id, page)
    }

    async fn create(
        &self,
        _cx: &CallContext,
        entity: &EntityInfo,
        data: &Fields,
        options: CreateOptions,
    ) -> Result<Record> {
        let kind = resolve(entity, Operation::Create)?;
        self.write().create(kind, data, options)
    }

    async fn update(
        &self,
        _cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        data: &Fields,
    ) -> Result<Record> {
        let kind = resolve(entity, Operation::Update)?;
        self.write().update(kind, id, data)
    }

    async fn delete(&self, _cx: &CallContext, entity: &EntityInfo, id: &str) -> Result<()> {
        let kind = resolve(entity, Operation::Delete)?;
        self.write().delete(kind, id)
    }

    async fn link(
        &self,
        _cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        link: &LinkSchema,
        target_id: &str,
    ) -> Result<()> {
        let kind = resolve(entity, Operation::Link)?;
        let spec = link_spec(kind, link)?;
        self.write().set_link(kind, id, spec, target_id, true)
    }

    async fn unlink(
        &self,
        _cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        link: &LinkSchema,
        target_id: &str,
    ) -> Result<()> {
        let kind = resolve(entity, Operation::Link)?;
        let spec = link_spec(kind, link)?;
        self.write().set_link(kind, id, spec, target_id, false)
    }

    async fn note(
        &self,
        _cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        text: &str,
    ) -> Result<Record> {
        let kind = resolve(entity, Operation::Note)?;
        self.write().add_note(kind, id, text)
    }

    async fn draft_email(&self, _cx: &CallContext, draft: &EmailDraft) -> Result<Record> {
        self.write().draft_email(draft)
    }

    async fn action(
        &self,
        _cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        action: &ActionInfo,
        params: &Fields,
    ) -> Result<Value> {
        let kind = resolve(entity, Operation::Action)?;
        self.write().run_action(kind, id, &action.name, params)
    }
}
