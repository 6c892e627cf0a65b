//! The `Backend` impl: thin — resolve the entity type, fetch the cached metadata, delegate to
//! paging / links / timeline, map back.

use crate::client::{Access, Client, Command, MAX_BATCH};
use crate::config::Bitrix24Config;
use crate::describe::{Catalog, Describer};
use crate::map::fields::EntityMeta;
use crate::map::kind;
use crate::map::lookup::StageNeed;
use crate::map::record::{to_record, to_wire};
use crate::paging::{self, Scope, item_of};
use crate::{links, timeline};
use async_trait::async_trait;
use crmgate_core::cache::MetadataCache;
use crmgate_core::model::{
    ActionInfo, CreateOptions, Created, EntityCatalog, EntityInfo, Features, FieldSelection,
    Fields, Page, PageRequest, ProbeReport, Record, SearchRequest, TimelinePage,
};
use crmgate_core::raw::{RawMethod, RawTarget};
use crmgate_core::schema::{EntitySchema, LinkSchema};
use crmgate_core::{Backend, CallContext, Error, ErrorCode, Result};
use serde_json::{Value, json};
use std::sync::Arc;

/// The Bitrix24 backend.
#[derive(Debug)]
pub struct Bitrix24Backend {
    client: Client,
    describer: Describer,
}

impl Bitrix24Backend {
    /// A backend over `config`, caching metadata in `cache`. No I/O.
    pub fn new(config: Bitrix24Config, cache: MetadataCache) -> Result<Self> {
        let instance = config.instance();
        Ok(Bitrix24Backend {
            client: Client::new(config)?,
            describer: Describer::new(cache, instance),
        })
    }

    fn portal(&self) -> &str {
        &self.client.config().portal
    }

    async fn meta(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
    ) -> Result<(Arc<Catalog>, Arc<EntityMeta>)> {
        self.describer.meta(&self.client, cx, entity).await
    }

    /// The pipeline a record is in now (one `crm.item.list` of two fields).
    async fn category_of(&self, cx: &CallContext, meta: &EntityMeta, id: i64) -> Result<i64> {
        let params = json!({
            "entityTypeId": meta.entity_type_id,
            "filter": {"=id": id},
            "select": ["id", "categoryId"],
            "start": -1,
        });
        let env = self
            .client
            .call(cx, "crm.item.list", params, Access::Read)
            .await?;
        crate::wire::items(env.result)
            .first()
            .and_then(|item| item.get("categoryId"))
            .and_then(crate::wire::int)
            .ok_or_else(|| Error::not_found(&meta.schema.entity, &id.to_string()))
    }

    fn etid(entity: &EntityInfo) -> Result<i64> {
        kind::from_native(&entity.native).ok_or_else(|| {
            Error::new(
                ErrorCode::UnknownEntity,
                format!("{} is not a Bitrix24 CRM entity", entity.name),
                "crm_entities lists the entities",
            )
        })
    }
}

#[async_trait]
impl Backend for Bitrix24Backend {
    fn kind(&self) -> &'static str {
        "bitrix24"
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
            actions: true,
            raw_call: true,
            sql: false,
        }
    }

    async fn entities(&self, cx: &CallContext) -> Result<Arc<EntityCatalog>> {
        Ok(self
            .describer
            .catalog(&self.client, cx)
            .await?
            .entities
            .clone())
    }

    /// `profile`: any valid credential may call it; it names the user the credential acts as.
    async fn probe(&self, cx: &CallContext) -> Result<ProbeReport> {
        let env = self
            .client
            .call(cx, "profile", json!({}), Access::Read)
            .await?;
        let field = |k: &str| env.result.get(k).and_then(crate::wire::text);
        let name = [field("NAME"), field("LAST_NAME")]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let id = field("ID").ok_or_else(|| {
            Error::config(format!(
                "{} answers, but not like a Bitrix24 portal's REST API (profile has no ID)",
                self.portal()
            ))
            .with_suggestion(
                "check webhook_url (https://PORTAL/rest/USER_ID/CODE/) or portal in the \
                 crmgate config",
            )
        })?;
        Ok(ProbeReport {
            crm: format!("Bitrix24 portal {}", self.portal()),
            identity: Some(if name.is_empty() {
                format!("user {id}")
            } else {
                format!("{name} (user {id})")
            }),
        })
    }

    async fn describe(&self, cx: &CallContext, entity: &EntityInfo) -> Result<Arc<EntitySchema>> {
        Ok(self.meta(cx, entity).await?.1.schema.clone())
    }

    async fn search(&self, cx: &CallContext, request: &SearchRequest) -> Result<Page> {
        let (catalog, meta) = self.meta(cx, &request.entity).await?;
        let scope = Scope {
            meta: &meta,
            dicts: &catalog.dicts,
            portal: self.portal(),
        };
        paging::search(&self.client, cx, &scope, request).await
    }

    async fn get(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        ids: &[String],
        fields: &FieldSelection,
    ) -> Result<Vec<Record>> {
        let (catalog, meta) = self.meta(cx, entity).await?;
        let scope = Scope {
            meta: &meta,
            dicts: &catalog.dicts,
            portal: self.portal(),
        };
        paging::get(&self.client, cx, &scope, ids, fields).await
    }

    async fn related(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        link: &LinkSchema,
        fields: &FieldSelection,
        page: &PageRequest,
    ) -> Result<Page> {
        let etid = Self::etid(entity)?;
        let catalog = self.describer.catalog(&self.client, cx).await?;
        let target = catalog.entities.get(&link.target).ok_or_else(|| {
            Error::new(
                ErrorCode::PermissionDenied,
                format!("{} are not visible to this Bitrix24 user", link.target),
                "ask a portal administrator for CRM access rights on them",
            )
        })?;
        let (_, meta) = self.meta(cx, target).await?;
        let target = links::Target {
            entity: target,
            scope: Scope {
                meta: &meta,
                dicts: &catalog.dicts,
                portal: self.portal(),
            },
        };
        links::related(&self.client, cx, etid, id, link, &target, fields, page).await
    }

    async fn timeline(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        page: &PageRequest,
    ) -> Result<TimelinePage> {
        let etid = Self::etid(entity)?;
        let catalog = self.describer.catalog(&self.client, cx).await?;
        timeline::read(&self.client, cx, etid, id, &catalog.dicts, page).await
    }

    async fn create(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        data: &Fields,
        _options: CreateOptions,
    ) -> Result<Created> {
        let (catalog, meta) = self.meta(cx, entity).await?;
        meta.stage_rules().check_create(data)?;
        let params = json!({
            "entityTypeId": meta.entity_type_id,
            "fields": to_wire(data, &meta),
            "useOriginalUfNames": "Y",
        });
        let env = self
            .client
            .call(cx, "crm.item.add", params, Access::Write)
            .await?;
        item_record(env.result, &meta, &catalog, self.portal()).map(Created::Record)
    }

    async fn update(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        data: &Fields,
    ) -> Result<Record> {
        let (catalog, meta) = self.meta(cx, entity).await?;
        let id = links::parse_id(id)?;
        let rules = meta.stage_rules();
        let current = match rules.update_needs(data) {
            StageNeed::Nothing => None,
            StageNeed::CurrentCategory => Some(self.category_of(cx, &meta, id).await?),
        };
        rules.check_update(data, current)?;
        let params = json!({
            "entityTypeId": meta.entity_type_id,
            "id": id,
            "fields": to_wire(data, &meta),
            "useOriginalUfNames": "Y",
        });
        let env = self
            .client
            .call(cx, "crm.item.update", params, Access::Write)
            .await?;
        item_record(env.result, &meta, &catalog, self.portal())
    }

    /// A confirmed bulk update as one `batch` request (`crm.item.update` per record, `halt=0`:
    /// each record has its own outcome). Where the stage rules need a record's current
    /// category, or an id is not one, the records go one by one.
    async fn update_many(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        ids: &[String],
        data: &Fields,
    ) -> Vec<Result<Record>> {
        let batched = match self.update_batch(cx, entity, ids, data).await {
            Ok(Some(batched)) => return batched,
            Ok(None) => None,
            Err(e) => Some(e),
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(match &batched {
                Some(e) => Err(e.clone()),
                None => self.update(cx, entity, id, data).await,
            });
        }
        out
    }

    async fn delete(&self, cx: &CallContext, entity: &EntityInfo, id: &str) -> Result<()> {
        let etid = Self::etid(entity)?;
        let params = json!({"entityTypeId": etid, "id": links::parse_id(id)?});
        self.client
            .call(cx, "crm.item.delete", params, Access::Write)
            .await?;
        Ok(())
    }

    async fn link(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        link: &LinkSchema,
        target_id: &str,
    ) -> Result<()> {
        links::change(
            &self.client,
            cx,
            Self::etid(entity)?,
            id,
            link,
            target_id,
            true,
        )
        .await
    }

    async fn unlink(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        link: &LinkSchema,
        target_id: &str,
    ) -> Result<()> {
        links::change(
            &self.client,
            cx,
            Self::etid(entity)?,
            id,
            link,
            target_id,
            false,
        )
        .await
    }

    async fn note(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        text: &str,
    ) -> Result<Record> {
        timeline::note(&self.client, cx, Self::etid(entity)?, id, text).await
    }

    async fn action(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        action: &ActionInfo,
        params: &Fields,
    ) -> Result<Value> {
        if action.name != "move_stage" {
            return Err(crmgate_core::backend::unsupported(entity, "this action"));
        }
        let (catalog, meta) = self.meta(cx, entity).await?;
        let stage = params.get("stage").and_then(Value::as_str).unwrap_or("");
        let status = catalog
            .dicts
            .stages(meta.entity_type_id)
            .into_iter()
            .find(|s| s.status_id == stage)
            .cloned()
            .ok_or_else(|| {
                Error::validation(
                    format!("{stage:?} is not a stage of {}", entity.name),
                    "crm_describe lists the stages (stageId options)",
                )
            })?;
        let mut fields = json!({"stageId": stage});
        if let (Some(category), true) = (status.category_id, meta.field("categoryId").is_some()) {
            fields["categoryId"] = json!(category);
        }
        let body = json!({
            "entityTypeId": meta.entity_type_id,
            "id": links::parse_id(id)?,
            "fields": fields,
            "useOriginalUfNames": "Y",
        });
        let env = self
            .client
            .call(cx, "crm.item.update", body, Access::Write)
            .await?;
        let record = item_record(env.result, &meta, &catalog, self.portal())?;
        Ok(json!({
            "id": record.id,
            "stageId": stage,
            "stage": status.name,
            "semantics": status.semantics.map(|s| s.word()),
            "url": record.url,
        }))
    }

    fn raw_method(&self, text: &str) -> Result<RawMethod> {
        crate::raw::parse(text)
    }

    async fn raw_target(
        &self,
        cx: &CallContext,
        method: &RawMethod,
        params: &Value,
    ) -> Result<Option<RawTarget>> {
        crate::raw::target(&self.client, cx, method, params).await
    }

    async fn raw_call(
        &self,
        cx: &CallContext,
        method: &RawMethod,
        params: &Value,
    ) -> Result<Value> {
        crate::raw::call(&self.client, cx, method, params).await
    }
}

impl Bitrix24Backend {
    /// [`Backend::update_many`] in one batch; `None` when the records must go one by one.
    async fn update_batch(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        ids: &[String],
        data: &Fields,
    ) -> Result<Option<Vec<Result<Record>>>> {
        let (catalog, meta) = self.meta(cx, entity).await?;
        let rules = meta.stage_rules();
        if ids.len() > MAX_BATCH || !matches!(rules.update_needs(data), StageNeed::Nothing) {
            return Ok(None);
        }
        rules.check_update(data, None)?;
        let mut commands = Vec::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            let Ok(id) = links::parse_id(id) else {
                return Ok(None);
            };
            let params = json!({
                "entityTypeId": meta.entity_type_id,
                "id": id,
                "fields": to_wire(data, &meta),
                "useOriginalUfNames": "Y",
            });
            commands.push(Command::new(format!("u{i}"), "crm.item.update", params));
        }
        let mut outcome = self.client.batch(cx, &commands, Access::Write).await?;
        Ok(Some(
            commands
                .iter()
                .map(|c| {
                    let result = outcome.take(&c.name, "crm.item.update")?;
                    item_record(result, &meta, &catalog, self.portal())
                })
                .collect(),
        ))
    }
}

/// The record in a `{"item": …}` result.
fn item_record(
    result: Value,
    meta: &EntityMeta,
    catalog: &Catalog,
    portal: &str,
) -> Result<Record> {
    let item =
        item_of(result).ok_or_else(|| Error::upstream_protocol("Bitrix24 returned no item"))?;
    Ok(to_record(item, meta, &catalog.dicts, portal))
}
