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
pub mod config;
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
use crate::schema::entity_catalog;
use crate::store::Store;
use async_trait::async_trait;
use crmgate_core::backend::unsupported;
use crmgate_core::filter::FilterOp;
use crmgate_core::model::{
    ActionInfo, CreateOptions, Created, EmailDraft, EntityCatalog, EntityInfo, Features,
    FieldSelection, Fields, Operation, Page, PageRequest, ProbeReport, Record, SearchRequest,
    TimelinePage,
};
use crmgate_core::schema::{EntitySchema, LinkSchema};
use crmgate_core::{Backend, CallContext, Error, ErrorCode, Identity, Result};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Where deep links point unless [`DemoBackend::with_url_base`] says otherwise.
pub const DEFAULT_URL_BASE: &str = "https://demo.crmgate.invalid";

/// Most callers' changed CRMs (distinct bearer identities that wrote) one demo keeps in hosted
/// mode; past it the least recently used is dropped (its changes with it) and the newcomer is
/// served. A caller that has not written reads the shared pristine seed and costs nothing.
pub const MAX_TENANTS: usize = 256;

type SharedStore = Arc<tokio::sync::RwLock<Store>>;

/// The in-memory demo CRM, seeded with a small deterministic data set on first use.
///
/// The configured identity (stdio) has one CRM; in hosted mode every bearer identity gets a
/// CRM of its own, seeded the same way, so callers never see each other's changes: until its
/// first write a caller reads the one pristine copy every such caller shares (never written),
/// and its first write gives it a copy of its own (copy on write). Memory is bounded: at most
/// [`MAX_TENANTS`] changed CRMs are kept, the least recently used evicted.
pub struct DemoBackend {
    url_base: String,
    seed: OnceLock<Store>,
    state: OnceLock<SharedStore>,
    pristine: OnceLock<SharedStore>,
    tenants: Mutex<Tenants>,
}

/// The bearer identities' CRMs, with when each was last used.
#[derive(Default)]
struct Tenants {
    stores: HashMap<String, (SharedStore, u64)>,
    clock: u64,
}

impl Tenants {
    fn len(&self) -> usize {
        self.stores.len()
    }

    /// The CRM of `scope`, marked as just used.
    fn get(&mut self, scope: &str) -> Option<SharedStore> {
        self.clock += 1;
        let now = self.clock;
        self.stores.get_mut(scope).map(|(store, used)| {
            *used = now;
            store.clone()
        })
    }

    /// Keep `store` for `scope`, dropping the least recently used CRM when full.
    fn insert(&mut self, scope: &str, store: SharedStore) {
        if self.stores.len() >= MAX_TENANTS
            && let Some(oldest) = self
                .stores
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone())
        {
            self.stores.remove(&oldest);
        }
        self.clock += 1;
        self.stores.insert(scope.to_owned(), (store, self.clock));
    }
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
            .field("tenants", &self.tenants.lock().map_or(0, |t| t.len()))
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
            seed: OnceLock::new(),
            state: OnceLock::new(),
            pristine: OnceLock::new(),
            tenants: Mutex::new(Tenants::default()),
        }
    }

    /// The configured identity's CRM (stdio, the CLI): seeded on its own, not copied from the
    /// seed kept for bearer identities, so that a process serving only it holds one CRM.
    fn configured(&self) -> SharedStore {
        Arc::new(tokio::sync::RwLock::new(seed::seed(&self.url_base)))
    }

    /// A freshly seeded CRM: a copy of the seed, built once.
    fn seeded(&self) -> SharedStore {
        let seed = self.seed.get_or_init(|| seed::seed(&self.url_base));
        Arc::new(tokio::sync::RwLock::new(seed.clone()))
    }

    /// The CRM of the caller: the configured one, or the bearer identity's own — for a read
    /// by a caller that never wrote, the shared pristine copy; for a write, its own copy,
    /// made on its first write.
    fn store(&self, cx: &CallContext, writing: bool) -> Result<SharedStore> {
        if matches!(cx.identity(), Identity::Configured) {
            return Ok(self.state.get_or_init(|| self.configured()).clone());
        }
        let lock = || self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(store) = lock().get(cx.scope()) {
            return Ok(store);
        }
        if !writing {
            return Ok(self.pristine.get_or_init(|| self.seeded()).clone());
        }
        // seed outside the lock: other callers are served meanwhile
        let seeded = self.seeded();
        let mut tenants = lock();
        if let Some(store) = tenants.get(cx.scope()) {
            return Ok(store); // a concurrent first write of this caller won
        }
        tenants.insert(cx.scope(), seeded.clone());
        Ok(seeded)
    }

    /// The configured CRM for inspection in unit tests (never contended there).
    #[cfg(test)]
    fn read_sync(&self) -> tokio::sync::OwnedRwLockReadGuard<Store> {
        let store = self.state.get_or_init(|| self.configured()).clone();
        store
            .try_read_owned()
            .expect("no writer during a test inspection")
    }

    async fn read(&self, cx: &CallContext) -> Result<tokio::sync::OwnedRwLockReadGuard<Store>> {
        Ok(self.store(cx, false)?.read_owned().await)
    }

    async fn write(&self, cx: &CallContext) -> Result<tokio::sync::OwnedRwLockWriteGuard<Store>> {
        Ok(self.store(cx, true)?.write_owned().await)
    }
}

/// The kind an entity info denotes: its catalogue key (checked against the native name, in
/// case the info did not come from this catalogue), or its names.
fn kind_of(entity: &EntityInfo) -> Result<Kind> {
    Kind::from_key(entity.key)
        .filter(|k| k.native() == entity.native)
        .or_else(|| Kind::from_name(&entity.native))
        .or_else(|| Kind::from_name(&entity.name))
        .ok_or_else(|| {
            let known: Vec<String> = Kind::ALL.iter().map(|k| k.name().to_string()).collect();
            Error::unknown_entity(&entity.name, &known)
        })
}

/// The kind an entity info names, if it supports `op`.
fn resolve(entity: &EntityInfo, op: Operation) -> Result<Kind> {
    let kind = kind_of(entity)?;
    if !kind.info().supports(op) {
        return Err(unsupported(kind.info(), crmgate_core::backend::op_word(op)));
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

    async fn entities(&self, _cx: &CallContext) -> Result<Arc<EntityCatalog>> {
        Ok(entity_catalog())
    }

    async fn probe(&self, cx: &CallContext) -> Result<ProbeReport> {
        self.store(cx, false)?;
        Ok(ProbeReport {
            crm: "the built-in demo CRM (in memory)".into(),
            identity: Some(match cx.identity() {
                Identity::Configured => "the demo user".into(),
                Identity::Bearer(_) => format!("the demo CRM of {}", cx.scope()),
            }),
        })
    }

    async fn describe(&self, _cx: &CallContext, entity: &EntityInfo) -> Result<Arc<EntitySchema>> {
        Ok(kind_of(entity)?.schema().clone())
    }

    async fn search(&self, cx: &CallContext, request: &SearchRequest) -> Result<Page> {
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
        self.read(cx).await?.search(
            kind,
            &request.filter,
            &request.sort,
            &request.fields,
            &request.page,
        )
    }

    async fn get(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        ids: &[String],
        fields: &FieldSelection,
    ) -> Result<Vec<Record>> {
        let kind = resolve(entity, Operation::Get)?;
        Ok(self.read(cx).await?.get(kind, ids, fields))
    }

    async fn related(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        link: &LinkSchema,
        _fields: &FieldSelection,
        page: &PageRequest,
    ) -> Result<Page> {
        let kind = resolve(entity, Operation::Related)?;
        let spec = link_spec(kind, link)?;
        self.read(cx).await?.related(kind, id, spec, page)
    }

    async fn timeline(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        page: &PageRequest,
    ) -> Result<TimelinePage> {
        let kind = resolve(entity, Operation::Timeline)?;
        self.read(cx).await?.timeline(kind, id, page)
    }

    async fn create(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        data: &Fields,
        options: CreateOptions,
    ) -> Result<Created> {
        let kind = resolve(entity, Operation::Create)?;
        self.write(cx)
            .await?
            .create(kind, data, options)
            .map(Created::Record)
    }

    async fn update(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        data: &Fields,
    ) -> Result<Record> {
        let kind = resolve(entity, Operation::Update)?;
        self.write(cx).await?.update(kind, id, data)
    }

    async fn delete(&self, cx: &CallContext, entity: &EntityInfo, id: &str) -> Result<()> {
        let kind = resolve(entity, Operation::Delete)?;
        self.write(cx).await?.delete(kind, id)
    }

    /// The demo keeps what this process deleted, so an undo brings it back under its old id.
    fn restores(&self, entity: &EntityInfo) -> bool {
        entity.supports(Operation::Delete)
    }

    async fn restore(&self, cx: &CallContext, entity: &EntityInfo, id: &str) -> Result<Record> {
        let kind = resolve(entity, Operation::Delete)?;
        self.write(cx).await?.restore(kind, id)
    }

    async fn link(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        link: &LinkSchema,
        target_id: &str,
    ) -> Result<()> {
        let kind = resolve(entity, Operation::Link)?;
        let spec = link_spec(kind, link)?;
        self.write(cx)
            .await?
            .set_link(kind, id, spec, target_id, true)
    }

    async fn unlink(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        link: &LinkSchema,
        target_id: &str,
    ) -> Result<()> {
        let kind = resolve(entity, Operation::Link)?;
        let spec = link_spec(kind, link)?;
        self.write(cx)
            .await?
            .set_link(kind, id, spec, target_id, false)
    }

    async fn note(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        text: &str,
    ) -> Result<Record> {
        let kind = resolve(entity, Operation::Note)?;
        self.write(cx).await?.add_note(kind, id, text)
    }

    fn deletes_notes(&self) -> bool {
        true
    }

    async fn delete_note(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        note_id: &str,
    ) -> Result<()> {
        let kind = resolve(entity, Operation::Note)?;
        self.write(cx).await?.delete_note(kind, id, note_id)
    }

    async fn draft_email(&self, cx: &CallContext, draft: &EmailDraft) -> Result<Record> {
        self.write(cx).await?.draft_email(draft)
    }

    async fn action(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        action: &ActionInfo,
        params: &Fields,
    ) -> Result<Value> {
        let kind = resolve(entity, Operation::Action)?;
        self.write(cx)
            .await?
            .run_action(kind, id, &action.name, params)
    }
}
