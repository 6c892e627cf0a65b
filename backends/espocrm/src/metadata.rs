//! Loading and caching EspoCRM metadata in the shared [`MetadataCache`], per caller: what one
//! user may see (scopes, entity definitions, even link lists) depends on its roles, so every
//! entry is keyed by the caller's scope as well as by this EspoCRM site.
//!
//! - `access`: `Metadata?key=scopes` + `App/user` (two requests, in parallel) → [`Access`].
//! - `i18n`: `I18n` (labels), once per caller and TTL.
//! - `schema:{Entity}`: `Metadata?key=entityDefs.{Entity}` (+ one request per
//!   `optionsReference`) → [`EntitySchema`].

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
        let item = format!("schema:{native}");
        self.cache
            .get_or_load(&self.instance, CacheScope::Caller(cx), &item, || async {
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
                Ok(describe::schema(native, &defs, &i18n, &referenced))
            })
            .await
    }
}
