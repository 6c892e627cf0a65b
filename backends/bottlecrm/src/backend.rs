//! The `Backend` impl: resolve the entity, delegate to [`crate::ops`], nothing else.

use crate::client::Client;
use crate::config::BottleConfig;
use crate::describe::{self, Schemas, Source};
use crate::entities::{Entity, entity_infos};
use crate::filters;
use crate::ops::{self, Api};
use async_trait::async_trait;
use crmgate_core::backend::unsupported;
use crmgate_core::cache::{CacheScope, MetadataCache};
use crmgate_core::model::{
    ActionInfo, CreateOptions, Created, EntityCatalog, EntityInfo, Features, Fetched,
    FieldSelection, Fields, Page, PageRequest, Pending, ProbeReport, Record, SearchRequest,
    TimelinePage,
};
use crmgate_core::schema::EntitySchema;
use crmgate_core::{Backend, CallContext, Error, ErrorCode, Result};
use serde_json::Value;
use std::sync::{Arc, OnceLock};

/// BottleCRM (Django-CRM REST API) behind the common tool surface.
pub struct BottleCrmBackend {
    client: Client,
    cache: MetadataCache,
    instance: String,
    app_url: Option<String>,
    /// The entities (built on first use: nothing is built at start-up that can wait).
    catalog: OnceLock<Arc<EntityCatalog>>,
    /// The built-in tables alone, for scoped tokens (built once, on first use).
    static_schemas: OnceLock<Arc<Schemas>>,
}

impl std::fmt::Debug for BottleCrmBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BottleCrmBackend")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl BottleCrmBackend {
    /// A backend for `config`, caching metadata in `cache`. No I/O.
    pub fn new(config: BottleConfig, cache: MetadataCache) -> Result<Self> {
        Ok(BottleCrmBackend {
            client: Client::new(&config)?,
            cache,
            instance: format!("bottlecrm:{}", config.url),
            app_url: config.app_url.clone(),
            catalog: OnceLock::new(),
            static_schemas: OnceLock::new(),
        })
    }

    fn catalog(&self) -> Arc<EntityCatalog> {
        self.catalog
            .get_or_init(|| Arc::new(EntityCatalog::new(entity_infos())))
            .clone()
    }

    fn static_schemas(&self) -> Arc<Schemas> {
        self.static_schemas
            .get_or_init(|| Arc::new(describe::build(None)))
            .clone()
    }

    fn api<'a>(&'a self, cx: &'a CallContext) -> Api<'a> {
        Api {
            client: &self.client,
            cx,
            app_url: self.app_url.as_deref(),
        }
    }

    /// Every entity's description for this caller. The OpenAPI document is the same for every
    /// caller, so it is read once per instance (cached globally); per caller (cached per
    /// caller scope) only the small health check runs, which proves the token and tells
    /// whether it is scoped — a scoped token may not read `/schema/` and gets the static
    /// tables, as BottleCRM would refuse it the document.
    pub async fn schemas(&self, cx: &CallContext) -> Result<Arc<Schemas>> {
        let mine = self
            .cache
            .get_or_load(
                &self.instance,
                CacheScope::Caller(cx),
                "schemas",
                // boxed: the loading future is large, and every call would otherwise move it
                // around only to find the cached value
                || {
                    Box::pin(async {
                        if self.client.probe(cx).await? {
                            return Ok(self.static_schemas());
                        }
                        self.cache
                            .get_or_load(
                                &self.instance,
                                CacheScope::Global,
                                "openapi-schemas",
                                || Box::pin(describe::load(&self.client, cx)),
                            )
                            .await
                    })
                },
            )
            .await?;
        Ok(Arc::clone(&*mine))
    }

    /// Whether this caller's descriptions came from `/schema/` or the static tables.
    pub async fn schema_source(&self, cx: &CallContext) -> Result<Source> {
        Ok(self.schemas(cx).await?.source)
    }
}

fn entity_of(info: &EntityInfo) -> Result<Entity> {
    Entity::from_key(info.key)
        .filter(|e| e.spec().native == info.native)
        .or_else(|| Entity::from_name(&info.native))
        .or_else(|| Entity::from_name(&info.name))
        .ok_or_else(|| {
            let known: Vec<String> = Entity::ALL
                .iter()
                .map(|e| e.spec().name.to_owned())
                .collect();
            Error::unknown_entity(&info.name, &known)
        })
}

#[async_trait]
impl Backend for BottleCrmBackend {
    fn kind(&self) -> &'static str {
        "bottlecrm"
    }

    fn features(&self) -> Features {
        Features {
            write: true,
            delete: true,
            related: false,
            link: false,
            timeline: true,
            note: true,
            draft_email: false,
            actions: true,
            raw_call: false,
            sql: false,
        }
    }

    /// The eight entities. The first call per caller also loads that caller's descriptions
    /// (cached), so a bad, revoked or expired token is `AUTH_FAILED` here already, and a
    /// BottleCRM that does not answer is `UPSTREAM_UNAVAILABLE`. A `/schema/` that answers
    /// something unreadable does not hide the entities (the static tables describe them).
    async fn entities(&self, cx: &CallContext) -> Result<Arc<EntityCatalog>> {
        match self.schemas(cx).await {
            Err(e) if e.code == ErrorCode::UpstreamProtocol => Ok(self.catalog()),
            Err(e) => Err(e),
            Ok(_) => Ok(self.catalog()),
        }
    }

    /// `GET healthz/`: BottleCRM answers it to any valid credential (a scoped token is told
    /// its scope does not cover it, which still proves the token).
    async fn probe(&self, cx: &CallContext) -> Result<ProbeReport> {
        let scoped = self.client.probe(cx).await?;
        Ok(ProbeReport {
            crm: format!("BottleCRM API at {}", self.client.base()),
            identity: Some(
                if scoped {
                    "a scoped personal access token"
                } else {
                    "an unrestricted token"
                }
                .into(),
            ),
        })
    }

    async fn describe(&self, cx: &CallContext, entity: &EntityInfo) -> Result<Arc<EntitySchema>> {
        let entity = entity_of(entity)?;
        Ok(self.schemas(cx).await?.get(entity))
    }

    async fn search(&self, cx: &CallContext, request: &SearchRequest) -> Result<Page> {
        let entity = entity_of(&request.entity)?;
        let plan = filters::plan(entity, &request.schema, &request.filter, &request.sort)?;
        ops::search::page(self.api(cx), entity, &plan, &request.page, &request.fields).await
    }

    async fn get(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        ids: &[String],
        _fields: &FieldSelection,
    ) -> Result<Vec<Record>> {
        ops::records::many(self.api(cx), entity_of(entity)?, ids).await
    }

    /// Batch reads report records a USER-role token may not open as `denied`.
    async fn get_many(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        ids: &[String],
        _fields: &FieldSelection,
    ) -> Result<Fetched> {
        ops::records::fetch(self.api(cx), entity_of(entity)?, ids).await
    }

    /// BottleCRM ids are UUIDs: any spelling Python's `uuid.UUID()` parses becomes the
    /// canonical lower-case, hyphenated form its records carry.
    fn canonical_id(&self, entity: &EntityInfo, id: &str) -> Result<String> {
        ops::record_id(entity_of(entity)?, id)
    }

    /// Assignees emailed on update, a lead already converted (refused), an invoice sent again.
    fn preview_notes(
        &self,
        entity: &EntityInfo,
        current: &Record,
        pending: Pending<'_>,
    ) -> Result<Vec<String>> {
        crate::preview::notes(entity_of(entity)?, current, pending)
    }

    async fn timeline(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        page: &PageRequest,
    ) -> Result<TimelinePage> {
        let e = entity_of(entity)?;
        if !entity.supports(crmgate_core::model::Operation::Timeline) {
            return Err(unsupported(entity, "timelines"));
        }
        ops::actions::timeline(self.api(cx), e, id, page).await
    }

    async fn create(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        data: &Fields,
        _options: CreateOptions,
    ) -> Result<Created> {
        let e = entity_of(entity)?;
        let schema = self.schemas(cx).await?.get(e);
        ops::write::create(self.api(cx), e, &schema, data).await
    }

    async fn update(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        data: &Fields,
    ) -> Result<Record> {
        let e = entity_of(entity)?;
        let schema = self.schemas(cx).await?.get(e);
        ops::write::update(self.api(cx), e, &schema, id, data).await
    }

    async fn delete(&self, cx: &CallContext, entity: &EntityInfo, id: &str) -> Result<()> {
        let e = entity_of(entity)?;
        if !e.spec().deletable {
            return Err(unsupported(entity, "delete"));
        }
        ops::write::delete(self.api(cx), e, id).await
    }

    async fn note(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        text: &str,
    ) -> Result<Record> {
        ops::actions::note(self.api(cx), entity_of(entity)?, id, text).await
    }

    async fn action(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        action: &ActionInfo,
        _params: &Fields,
    ) -> Result<Value> {
        ops::actions::run(self.api(cx), entity_of(entity)?, id, &action.name).await
    }
}
