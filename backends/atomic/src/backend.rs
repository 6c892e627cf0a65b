//! [`AtomicBackend`]: the `Backend` impl, thin. It verifies the caller, loads the (cached)
//! model, and hands the work to [`crate::records`] (search, get, writes), [`crate::relations`]
//! (related, link, unlink) and [`crate::notes`] (timeline, note) over the configured
//! [`Store`].

use crate::config::{AtomicConfig, Credential, Transport, Verification};
use crate::describe::{self, Model};
use crate::identity::{Configured, Identities, PasswordSession};
use crate::jwt::JwtVerifier;
use crate::model::Kind;
use crate::model::options::AllowedValues;
use crate::sql_guard::SqlGuard;
use crate::store::pg::{PgOptions, PgStore};
use crate::store::rest::RestStore;
use crate::store::{Caller, Store};
use async_trait::async_trait;
use crmgate_core::cache::{CacheScope, MetadataCache};
use crmgate_core::model::{
    CreateOptions, Created, EntityCatalog, EntityInfo, Features, FieldSelection, Fields, Page,
    PageRequest, ProbeReport, Record, SearchRequest, SqlResult, TimelinePage,
};
use crmgate_core::schema::{EntitySchema, LinkSchema};
use crmgate_core::upstream::Upstream;
use crmgate_core::{Backend, CallContext, Error, Result};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Atomic CRM, over PostgreSQL (direct, under RLS) or PostgREST.
pub struct AtomicBackend {
    pub(crate) store: Arc<dyn Store>,
    identities: Identities,
    cache: MetadataCache,
    instance: String,
    transport: Transport,
    pub(crate) app_url: Option<String>,
    authorization_server: Option<String>,
}

impl std::fmt::Debug for AtomicBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtomicBackend")
            .field("instance", &self.instance)
            .field("transport", &self.transport)
            .field("verifier", &self.identities.verifier)
            .finish_non_exhaustive()
    }
}

impl AtomicBackend {
    /// The backend for a configuration. No I/O: connections, sign-in, keys and metadata wait
    /// for the first call.
    pub fn new(config: AtomicConfig, cache: MetadataCache) -> Result<Self> {
        config.validate()?;
        let upstream = Upstream::new(config.upstream.clone())?;
        let issuer = config.effective_issuer();
        let verifier = match config.effective_verification()? {
            Verification::Hs256(secret) => JwtVerifier::hs256(&secret, issuer, &config.audience),
            Verification::Jwks(url) => {
                JwtVerifier::jwks(&url, issuer, &config.audience, upstream.clone())
            }
        };
        let configured = match config.credential.clone() {
            Credential::None => Configured::None,
            Credential::AccessToken(token) => Configured::Token(token),
            Credential::Password { email, password } => {
                Configured::Password(Box::new(PasswordSession::new(
                    config.authorization_server().unwrap_or_default(),
                    config
                        .anon_key
                        .clone()
                        .unwrap_or_else(|| SecretString::from("")),
                    email,
                    password,
                    upstream.clone(),
                )))
            }
        };
        let (store, instance): (Arc<dyn Store>, String) = match config.transport {
            Transport::Postgres => {
                let url = config.database_url.as_ref().ok_or_else(|| {
                    Error::config("database_url_env is required for transport = \"postgres\"")
                })?;
                let digest = Sha256::digest(url.expose_secret().as_bytes());
                let id = crmgate_shared::hex(&digest[..8]);
                let options = PgOptions {
                    statement_timeout: config.statement_timeout,
                    query_max_bytes: config.query_max_bytes,
                    pool_size: config.pool_size,
                    ssl_root_cert: config.ssl_root_cert.clone(),
                    guard: SqlGuard::new(&config.sql_allow_functions)?,
                };
                (
                    Arc::new(PgStore::new(url, options)?),
                    format!("atomic:postgres:{id}"),
                )
            }
            Transport::Postgrest => {
                let base = config.base_url().unwrap_or_default();
                let store = RestStore::new(
                    upstream.clone(),
                    &base,
                    config
                        .anon_key
                        .clone()
                        .unwrap_or_else(|| SecretString::from("")),
                );
                (Arc::new(store), format!("atomic:postgrest:{base}"))
            }
        };
        Ok(AtomicBackend {
            store,
            identities: Identities {
                verifier,
                configured,
            },
            cache,
            instance,
            transport: config.transport,
            app_url: config.app_url.clone().filter(|u| !u.trim().is_empty()),
            authorization_server: config.authorization_server(),
        })
    }

    /// The verifier of Supabase access tokens this backend uses; the hosted HTTP layer checks
    /// bearer tokens with it before the MCP layer.
    pub fn verifier(&self) -> &JwtVerifier {
        &self.identities.verifier
    }

    /// The authorization server to name in Protected Resource Metadata
    /// (`{supabase_url}/auth/v1`), when `supabase_url` is configured.
    pub fn authorization_server(&self) -> Option<&str> {
        self.authorization_server.as_deref()
    }

    /// The transport in use.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The verified caller.
    pub(crate) async fn caller(&self, cx: &CallContext) -> Result<Caller> {
        self.identities.caller(cx).await
    }

    /// The model: catalog (postgres) and configuration row, cached for every caller (all
    /// signed-in users share one role, so they see the same columns and configuration).
    pub(crate) async fn model(&self, caller: &Caller) -> Result<Arc<Model>> {
        let store = self.store.clone();
        let caller = caller.clone();
        self.cache
            .get_or_load(&self.instance, CacheScope::Global, "model", || async move {
                let catalog = store.catalog(&caller, &describe::relations()).await?;
                let config = store.configuration(&caller).await?;
                let allowed = AllowedValues::from_config(config.as_ref());
                Ok(Model::build(catalog.as_deref(), &allowed))
            })
            .await
    }

    /// The kind an entity names, or UNKNOWN_ENTITY.
    pub(crate) fn kind(entity: &EntityInfo) -> Result<Kind> {
        Kind::of(entity).ok_or_else(|| {
            let known: Vec<String> = Kind::ALL.iter().map(|k| k.name().to_owned()).collect();
            Error::unknown_entity(&entity.name, &known)
        })
    }
}

#[async_trait]
impl Backend for AtomicBackend {
    fn kind(&self) -> &'static str {
        "atomic"
    }

    fn features(&self) -> Features {
        Features {
            write: true,
            delete: true,
            related: true,
            link: true,
            timeline: true,
            note: true,
            draft_email: false,
            actions: false,
            raw_call: false,
            sql: self.transport == Transport::Postgres,
        }
    }

    /// The entities whose tables the caller can reach. Verifies the caller and loads the
    /// (cached) model, so that `crmgate check` and every call's name resolution prove the
    /// credentials before anything else.
    async fn entities(&self, cx: &CallContext) -> Result<Arc<EntityCatalog>> {
        let caller = self.caller(cx).await?;
        Ok(self.model(&caller).await?.catalog().clone())
    }

    /// Verifies the caller and reads the model through the transport: the database (or the
    /// Data API) answers and accepts the credentials.
    async fn probe(&self, cx: &CallContext) -> Result<ProbeReport> {
        let caller = self.caller(cx).await?;
        let model = self.model(&caller).await?;
        let transport = match self.transport {
            Transport::Postgres => "PostgreSQL",
            Transport::Postgrest => "the Supabase Data API (PostgREST)",
        };
        Ok(ProbeReport {
            crm: format!(
                "Atomic CRM over {transport} ({} entities)",
                model.catalog().len()
            ),
            identity: None,
        })
    }

    async fn describe(&self, cx: &CallContext, entity: &EntityInfo) -> Result<Arc<EntitySchema>> {
        let kind = Self::kind(entity)?;
        let caller = self.caller(cx).await?;
        Ok(self.model(&caller).await?.get(kind).schema.clone())
    }

    async fn search(&self, cx: &CallContext, request: &SearchRequest) -> Result<Page> {
        crate::records::search(self, cx, request).await
    }

    async fn get(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        ids: &[String],
        _fields: &FieldSelection,
    ) -> Result<Vec<Record>> {
        let kind = Self::kind(entity)?;
        let caller = self.caller(cx).await?;
        crate::records::get(self, &caller, kind, ids).await
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
        crate::relations::related(self, cx, entity, id, link, page).await
    }

    async fn timeline(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        page: &PageRequest,
    ) -> Result<TimelinePage> {
        crate::notes::timeline(self, cx, entity, id, page).await
    }

    async fn create(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        data: &Fields,
        _options: CreateOptions,
    ) -> Result<Created> {
        crate::records::create(self, cx, entity, data)
            .await
            .map(Created::Record)
    }

    async fn update(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        data: &Fields,
    ) -> Result<Record> {
        crate::records::update(self, cx, entity, id, data).await
    }

    async fn delete(&self, cx: &CallContext, entity: &EntityInfo, id: &str) -> Result<()> {
        crate::records::delete(self, cx, entity, id).await
    }

    async fn link(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        link: &LinkSchema,
        target_id: &str,
    ) -> Result<()> {
        crate::relations::change(self, cx, entity, id, link, target_id, true).await
    }

    async fn unlink(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        link: &LinkSchema,
        target_id: &str,
    ) -> Result<()> {
        crate::relations::change(self, cx, entity, id, link, target_id, false).await
    }

    async fn note(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        text: &str,
    ) -> Result<Record> {
        crate::notes::note(self, cx, entity, id, text).await
    }

    async fn verify_bearer(&self, token: &SecretString) -> Result<()> {
        self.identities
            .verifier
            .verify(token.expose_secret())
            .await
            .map(|_| ())
    }

    async fn sql(&self, cx: &CallContext, sql: &str, limit: usize) -> Result<SqlResult> {
        let caller = self.caller(cx).await?;
        self.store.sql(&caller, sql, limit).await
    }
}
