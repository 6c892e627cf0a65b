//! The `Backend` impl: thin. Each method resolves the native entity, builds the EspoCRM call
//! ([`crate::client`]), and maps the answer back ([`crate::map`]); metadata comes from
//! [`crate::metadata`] (cached per caller), filters from [`crate::filters`], paging from
//! [`crate::list`], drafts from `drafts` and [`crate::email`], timelines, notes and the stage
//! move from `actions`.

use crate::client::{Call, EspoClient};
use crate::config::EspoConfig;
use crate::errors::{Ctx, Op};
use crate::filters;
use crate::list::{self, ListQuery};
use crate::map::{self, segment};
use crate::metadata::Metadata;
use async_trait::async_trait;
use crmgate_core::backend::unsupported;
use crmgate_core::cache::MetadataCache;
use crmgate_core::model::{
    ActionInfo, CreateOptions, Created, EmailDraft, EntityCatalog, EntityInfo, Features,
    FieldSelection, Fields, Operation, Page, PageRequest, ProbeReport, Record, SearchRequest,
    TimelinePage,
};
use crmgate_core::raw::{RawMethod, RawTarget};
use crmgate_core::schema::{EntitySchema, LinkSchema};
use crmgate_core::upstream::{Upstream, UpstreamConfig};
use crmgate_core::{Backend, CallContext, Error, ErrorCode, Result};
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;

/// crmgate's EspoCRM backend.
#[derive(Debug, Clone)]
pub struct EspoBackend {
    pub(crate) client: EspoClient,
    pub(crate) meta: Metadata,
}

impl EspoBackend {
    /// A backend for `config`, sending through an upstream built from `upstream`, caching
    /// metadata in `cache`. No I/O: metadata loads on first use.
    pub fn new(config: EspoConfig, upstream: UpstreamConfig, cache: MetadataCache) -> Result<Self> {
        let client = EspoClient::new(Upstream::new(upstream)?, config);
        let meta = Metadata::new(client.clone(), cache);
        Ok(EspoBackend { client, meta })
    }

    /// The context of an error answer.
    pub(crate) fn ctx<'a>(
        &'a self,
        cx: &CallContext,
        op: Op,
        entity: &'a EntityInfo,
        id: Option<&'a str>,
    ) -> Ctx<'a> {
        Ctx {
            op,
            entity: &entity.name,
            native: &entity.native,
            id,
            link: None,
            auth: self.client.auth_kind(cx),
            site: self.client.site(),
        }
    }

    fn record(&self, native: &str, attributes: serde_json::Map<String, Value>) -> Result<Record> {
        map::record(self.client.site(), native, attributes)
    }

    /// `GET {Entity}/{id}`, or `None` when EspoCRM says 404.
    pub(crate) async fn read(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
    ) -> Result<Option<Record>> {
        let path = format!("/{}/{}", segment(&entity.native), segment(id));
        let response = self.client.send(cx, Call::get(path)).await?;
        if response.status.as_u16() == 404 {
            return Ok(None);
        }
        if !response.is_success() {
            return Err(crate::errors::map_error(
                &response,
                &self.ctx(cx, Op::Read, entity, Some(id)),
            ));
        }
        map::record_from_body(self.client.site(), &entity.native, &response.body).map(Some)
    }

    fn select(fields: &FieldSelection, schema: Option<&EntitySchema>) -> Option<Vec<String>> {
        match fields {
            FieldSelection::All => None,
            FieldSelection::Only(names) => {
                let mut select = names.clone();
                if schema.is_none_or(|s| s.field("name").is_some())
                    && !select.iter().any(|f| f == "name")
                {
                    select.push("name".into());
                }
                Some(select)
            }
        }
    }
}

fn require(entity: &EntityInfo, op: Operation, what: &str) -> Result<()> {
    if entity.supports(op) {
        Ok(())
    } else {
        Err(unsupported(entity, what))
    }
}

#[async_trait]
impl Backend for EspoBackend {
    fn kind(&self) -> &'static str {
        "espocrm"
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
            raw_call: true,
            sql: false,
        }
    }

    async fn entities(&self, cx: &CallContext) -> Result<Arc<EntityCatalog>> {
        Ok(self.meta.access(cx).await?.entities.clone())
    }

    /// `GET App/user`: EspoCRM answers it for any valid credential, with the user's name.
    async fn probe(&self, cx: &CallContext) -> Result<ProbeReport> {
        let what = Ctx {
            op: Op::Metadata,
            entity: "the current user",
            native: "User",
            id: None,
            link: None,
            auth: self.client.auth_kind(cx),
            site: self.client.site(),
        };
        let response = self.client.expect(cx, Call::get("/App/user"), what).await?;
        let user =
            crate::map::parse_json(&response.body).map_err(|_| crate::errors::wrong_url(&what))?;
        let name = user
            .get("user")
            .and_then(|u| u.get("userName"))
            .and_then(Value::as_str)
            .ok_or_else(|| crate::errors::wrong_url(&what))?;
        Ok(ProbeReport {
            crm: format!("EspoCRM at {}", self.client.site()),
            identity: Some(name.to_owned()),
        })
    }

    async fn describe(&self, cx: &CallContext, entity: &EntityInfo) -> Result<Arc<EntitySchema>> {
        self.meta.schema(cx, &entity.native).await
    }

    async fn search(&self, cx: &CallContext, request: &SearchRequest) -> Result<Page> {
        let entity = &request.entity;
        require(entity, Operation::Search, "search")?;
        let query = ListQuery {
            where_items: filters::where_items(&request.filter, &request.schema)?,
            text: request.filter.query.clone(),
            order: filters::order(&request.sort)?,
            select: Self::select(&request.fields, Some(&request.schema)),
        };
        let offset = list::offset_of(request.page.cursor.as_deref())?;
        let fetched = list::fetch(
            &self.client,
            cx,
            &format!("/{}", segment(&entity.native)),
            &query,
            offset,
            request.page.limit.max(1),
            request.page.cursor.is_none() && entity.total != crmgate_core::model::TotalKind::None,
            self.ctx(cx, Op::Search, entity, None),
        )
        .await?;
        Ok(Page {
            records: fetched
                .list
                .into_iter()
                .map(|r| self.record(&entity.native, r))
                .collect::<Result<_>>()?,
            total: fetched.total,
            next_cursor: fetched.next.map(|n| n.to_string()),
        })
    }

    async fn get(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        ids: &[String],
        fields: &FieldSelection,
    ) -> Result<Vec<Record>> {
        require(entity, Operation::Get, "get")?;
        if let [id] = ids {
            return Ok(self.read(cx, entity, id).await?.into_iter().collect());
        }
        let mut records = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(list::MAX_SIZE) {
            let query = ListQuery {
                where_items: vec![json!({"type": "in", "attribute": "id", "value": chunk})],
                select: Self::select(fields, None),
                ..Default::default()
            };
            let fetched = list::fetch(
                &self.client,
                cx,
                &format!("/{}", segment(&entity.native)),
                &query,
                0,
                chunk.len(),
                false,
                self.ctx(cx, Op::Search, entity, None),
            )
            .await?;
            for r in fetched.list {
                records.push(self.record(&entity.native, r)?);
            }
        }
        Ok(records)
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
        require(entity, Operation::Related, "reading related records")?;
        let target = crate::names::native_of(&link.target).unwrap_or(&link.target);
        let query = ListQuery {
            select: Self::select(fields, None),
            ..Default::default()
        };
        let mut what = self.ctx(cx, Op::Related, entity, Some(id));
        what.link = Some(&link.name);
        let fetched = list::fetch(
            &self.client,
            cx,
            &format!(
                "/{}/{}/{}",
                segment(&entity.native),
                segment(id),
                segment(&link.name)
            ),
            &query,
            list::offset_of(page.cursor.as_deref())?,
            page.limit.max(1),
            true,
            what,
        )
        .await?;
        Ok(Page {
            records: fetched
                .list
                .into_iter()
                .map(|r| self.record(target, r))
                .collect::<Result<_>>()?,
            total: fetched.total,
            next_cursor: fetched.next.map(|n| n.to_string()),
        })
    }

    async fn timeline(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        page: &PageRequest,
    ) -> Result<TimelinePage> {
        require(entity, Operation::Timeline, "timelines")?;
        crate::actions::timeline(self, cx, entity, id, page).await
    }

    async fn create(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        data: &Fields,
        options: CreateOptions,
    ) -> Result<Created> {
        require(entity, Operation::Create, "create")?;
        let schema = self.meta.schema(cx, &entity.native).await?;
        let payload = map::write_payload(&schema, data)?;
        let mut call = Call::new(Method::POST, format!("/{}", segment(&entity.native)))
            .json(Value::Object(payload));
        if options.skip_duplicate_check {
            call = call.header("X-Skip-Duplicate-Check", "true");
        }
        let response = self
            .client
            .expect(cx, call, self.ctx(cx, Op::Create, entity, None))
            .await?;
        map::record_from_body(self.client.site(), &entity.native, &response.body)
            .map(Created::Record)
    }

    async fn update(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        data: &Fields,
    ) -> Result<Record> {
        require(entity, Operation::Update, "update")?;
        let schema = self.meta.schema(cx, &entity.native).await?;
        let payload = map::write_payload(&schema, data)?;
        let call = Call::new(
            Method::PATCH,
            format!("/{}/{}", segment(&entity.native), segment(id)),
        )
        .json(Value::Object(payload));
        let response = self
            .client
            .expect(cx, call, self.ctx(cx, Op::Update, entity, Some(id)))
            .await?;
        map::record_from_body(self.client.site(), &entity.native, &response.body)
    }

    async fn delete(&self, cx: &CallContext, entity: &EntityInfo, id: &str) -> Result<()> {
        require(entity, Operation::Delete, "delete")?;
        let call = Call::new(
            Method::DELETE,
            format!("/{}/{}", segment(&entity.native), segment(id)),
        );
        let response = self
            .client
            .expect(cx, call, self.ctx(cx, Op::Delete, entity, Some(id)))
            .await?;
        match map::boolean("delete", &response.body)? {
            true => Ok(()),
            false => Err(Error::upstream_protocol(
                "EspoCRM answered the delete with false: nothing was deleted",
            )),
        }
    }

    async fn link(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        link: &LinkSchema,
        target_id: &str,
    ) -> Result<()> {
        require(entity, Operation::Link, "linking")?;
        crate::actions::change_link(self, cx, entity, id, link, target_id, true).await
    }

    async fn unlink(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        link: &LinkSchema,
        target_id: &str,
    ) -> Result<()> {
        require(entity, Operation::Link, "unlinking")?;
        crate::actions::change_link(self, cx, entity, id, link, target_id, false).await
    }

    async fn note(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        text: &str,
    ) -> Result<Record> {
        require(entity, Operation::Note, "notes")?;
        crate::actions::note(self, cx, entity, id, text).await
    }

    async fn draft_email(&self, cx: &CallContext, draft: &EmailDraft) -> Result<Record> {
        if let Some((entity, _)) = &draft.parent {
            require(entity, Operation::DraftEmail, "email drafts")?;
        }
        crate::drafts::draft(self, cx, draft).await
    }

    async fn action(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        action: &ActionInfo,
        params: &Fields,
    ) -> Result<Value> {
        require(entity, Operation::Action, "actions")?;
        match action.name.as_str() {
            "move_stage" => crate::actions::move_stage(self, cx, entity, id, params).await,
            other => Err(Error::new(
                ErrorCode::NotFound,
                format!("{} has no action {other:?}", entity.name),
                "crm_entities lists the actions of each entity",
            )),
        }
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
        crate::raw::target(self, cx, method, params).await
    }

    async fn raw_call(
        &self,
        cx: &CallContext,
        method: &RawMethod,
        params: &Value,
    ) -> Result<Value> {
        crate::raw::call(self, cx, method, params).await
    }
}
