//! Loading and caching EspoCRM metadata in the shared [`MetadataCache`], per caller: what one
//! user may see (scopes, entity definitions, even link lists) depends on its roles, so every
//! entry is keyed by the caller's scope as well as by this EspoCRM site.
//!
//! - `access`: `Metadata?key=scopes` + `App/user` (two requests, in parallel) → [`Access`].
//! - `i18n`: `I18n` (labels), once per caller and TTL.
//! - `schema:{Entity}`: `Metadata?key=entityDefs.{Entity}` (+ one request per
//!   `optionsReference`) → [`Described`]: the [`EntitySchema`] and whether records carry a
//!   `versionNumber`. [`Metadata::refresh`] loads it again, bypassing the cache, when a call
//!   names a field the cached schema lacks (a field added in EspoCRM during the session).

use crate::client::{Call, EspoClient};
use crate::describe;
use crate::errors::{Ctx, Op};
use crate::map::parse_json;
use crate::scopes::{self, Access};
use crmgate_core::cache::{CacheScope, MetadataCache};
use crmgate_core::schema::EntitySchema;
use crmgate_core::{CallContext, Error, ErrorCode, Result};
use serde_json::Value;
use std::sync::Arc;

/// What one entity's definitions say, as cached.
#[derive(Debug)]
pub struct Described {
    /// Fields and links.
    pub schema: Arc<EntitySchema>,
    /// Records carry `versionNumber` (`optimisticConcurrencyControl`).
    pub versioned: bool,
}

/// The metadata of one EspoCRM site, cached per caller.
#[derive(Debug, Clone)]
pub struct Metadata {
    client: EspoClient,
    cache: MetadataCache,
    instance: String,
}

impl Metadata {
    /// Metadata for the client's site, in `cache`.
    pub fn new(client: EspoClient, cache: MetadataCache) -> Self {
        let instance = format!("espocrm:{}", client.site());
        Metadata {
            client,
            cache,
            instance,
        }
    }

    fn ctx<'a>(&'a self, cx: &CallContext, native: &'a str) -> Ctx<'a> {
        Ctx {
            op: Op::Metadata,
            entity: native,
            native,
            id: None,
            link: None,
            auth: self.client.auth_kind(cx),
            site: self.client.site(),
            schema: None,
            version: None,
        }
    }

    /// `GET Metadata?key=…`; `None` when the key does not exist or the user may not see it
    /// (EspoCRM answers 200 with an empty body then).
    pub async fn key(&self, cx: &CallContext, key: &str) -> Result<Option<Value>> {
        let call = Call::get("/Metadata").query("key", key);
        let response = self
            .client
            .expect(cx, call, self.ctx(cx, "Metadata"))
            .await?;
        if response.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        match parse_json(&response.body)? {
            Value::Null => Ok(None),
            v => Ok(Some(v)),
        }
    }

    /// What the caller may reach.
    pub async fn access(&self, cx: &CallContext) -> Result<Arc<Access>> {
        self.cache
            .get_or_load(&self.instance, CacheScope::Caller(cx), "access", || async {
                let user_call = Call::get("/App/user");
                let (scopes, user) = futures::try_join!(
                    self.key(cx, "scopes"),
                    self.client.expect(cx, user_call, self.ctx(cx, "User"))
                )?;
                let scopes = scopes.ok_or_else(|| {
                    Error::upstream_protocol("EspoCRM returned no scopes metadata")
                })?;
                let user = parse_json(&user.body)?;
                scopes::access(&scopes, &user)
            })
            .await
    }

    /// The I18n labels.
    pub async fn i18n(&self, cx: &CallContext) -> Result<Arc<Value>> {
        self.cache
            .get_or_load(&self.instance, CacheScope::Caller(cx), "i18n", || async {
                let response = self
                    .client
                    .expect(cx, Call::get("/I18n"), self.ctx(cx, "I18n"))
                    .await?;
                parse_json(&response.body)
            })
            .await
    }

    /// The schema of a native entity type.
    pub async fn schema(&self, cx: &CallContext, native: &str) -> Result<Arc<EntitySchema>> {
        Ok(self.described(cx, native).await?.schema.clone())
    }

    /// The schema and the concurrency flag of a native entity type.
    pub async fn described(&self, cx: &CallContext, native: &str) -> Result<Arc<Described>> {
        let item = format!("schema:{native}");
        self.cache
            .get_or_load(&self.instance, CacheScope::Caller(cx), &item, || {
                self.load_described(cx, native)
            })
            .await
    }

    /// The schema loaded again from EspoCRM when the cached one is still `stale` (the one the
    /// caller saw); the cached one when another call already refreshed it. Single-flight.
    pub async fn refresh(
        &self,
        cx: &CallContext,
        native: &str,
        stale: &Arc<EntitySchema>,
    ) -> Result<Arc<EntitySchema>> {
        let item = format!("schema:{native}");
        let described = self
            .cache
            .refresh_if(
                &self.instance,
                CacheScope::Caller(cx),
                &item,
                |cached: &Described| Arc::ptr_eq(&cached.schema, stale),
                || self.load_described(cx, native),
            )
            .await?;
        Ok(described.schema.clone())
    }

    async fn load_described(&self, cx: &CallContext, native: &str) -> Result<Described> {
        let defs_key = format!("entityDefs.{native}");
        let (defs, i18n) = futures::try_join!(self.key(cx, &defs_key), self.i18n(cx))?;
        let defs = defs.ok_or_else(|| {
            Error::new(
                ErrorCode::UnknownEntity,
                format!("EspoCRM shows this user no definition of {native}"),
                "crm_entities lists the entity types this user can reach",
            )
        })?;
        let mut referenced = describe::Referenced::new();
        for (entity, field) in describe::option_references(&defs) {
            let key = format!("entityDefs.{entity}.fields.{field}.options");
            if let Some(Value::Array(options)) = self.key(cx, &key).await? {
                referenced.insert(
                    format!("{entity}.{field}"),
                    options
                        .iter()
                        .filter_map(|o| o.as_str().map(str::to_owned))
                        .collect(),
                );
            }
        }
        Ok(Described {
            schema: Arc::new(describe::schema(native, &defs, &i18n, &referenced)),
            versioned: describe::versioned(&defs),
        })
    }
}
