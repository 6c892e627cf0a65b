//! The `Backend` impl: thin. Each method resolves the native entity, builds the EspoCRM call
//! ([`crate::client`]), and maps the answer back ([`crate::map`]); metadata comes from
//! [`crate::metadata`] (cached per caller), filters from [`crate::filters`], paging from
//! [`crate::list`], drafts from `drafts` and [`crate::email`], timelines, notes and the stage
//! move from `actions`. Every id is checked against EspoCRM's id grammar ([`crate::ids`])
//! before a request is built; every record read remembers its `versionNumber` for the caller,
//! and an update sends it back ([`crate::versions`]).

use crate::client::{Call, EspoClient};
use crate::config::EspoConfig;
use crate::errors::{Ctx, Op};
use crate::filters;
use crate::ids;
use crate::list::{self, ListQuery};
use crate::map::{self, segment};
use crate::metadata::Metadata;
use crate::versions::Versions;
use async_trait::async_trait;
use crmgate_core::backend::unsupported;
use crmgate_core::cache::MetadataCache;
use crmgate_core::model::{
    ActionInfo, CreateOptions, Created, DeleteKind, EmailDraft, EntityCatalog, EntityInfo,
    Features, FieldSelection, Fields, Operation, Page, PageRequest, ProbeReport, Record,
    SearchRequest, TimelinePage,
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
    pub(crate) versions: Versions,
}

impl EspoBackend {
    /// A backend for `config`, sending through an upstream built from `upstream`, caching
    /// metadata in `cache`. No I/O: metadata loads on first use.
    pub fn new(config: EspoConfig, upstream: UpstreamConfig, cache: MetadataCache) -> Result<Self> {
        let client = EspoClient::new(Upstream::new(upstream)?, config);
        let meta = Metadata::new(client.clone(), cache);
        Ok(EspoBackend {
            client,
            meta,
            versions: Versions::default(),
        })
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
            schema: None,
            version: None,
        }
    }

    fn record(&self, native: &str, attributes: serde_json::Map<String, Value>) -> Result<Record> {
        map::record(self.client.site(), native, attributes)
    }

    /// Remember the versions of records the caller has just seen.
    pub(crate) async fn saw(&self, cx: &CallContext, native: &str, records: &[Record]) {
        for record in records {
            if let Some(version) = record.version.as_deref().and_then(|v| v.parse().ok()) {
                self.versions
                    .saw(cx.scope(), native, &record.id, version)
                    .await;
            }
        }
    }

    /// `GET {Entity}/{id}`, or `None` when EspoCRM says 404 — or shows an administrator a
    /// record it deleted (9.x reads deleted records for admins, flagged `deleted: true`).
    pub(crate) async fn read(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
    ) -> Result<Option<Record>> {
        let record = self.read_unseen(cx, entity, id).await?;
        if let Some(record) = &record {
            self.saw(cx, &entity.native, std::slice::from_ref(record))
                .await;
        }
        Ok(record)
    }

    /// [`Self::read`] without remembering the version: the journal's look at a record before
    /// an update, which must not stand for the caller having seen it.
    pub(crate) async fn read_unseen(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
    ) -> Result<Option<Record>> {
        let id = ids::check(id, "id")?;
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
        let body = map::parse_json(&response.body)?;
        if body.get("deleted") == Some(&Value::Bool(true)) {
            return Ok(None);
        }
        let record = map::record_from_value(self.client.site(), &entity.native, body)?;
        Ok(Some(record))
    }

    /// The attributes to select: the projection plus `name`, and `versionNumber` where records
    /// carry one (so a search refreshes the version an update sends).
    fn select(
        fields: &FieldSelection,
        schema: Option<&EntitySchema>,
        versioned: bool,
    ) -> Option<Vec<String>> {
        match fields {
            FieldSelection::All => None,
            FieldSelection::Only(names) => {
                let mut select = names.clone();
                if schema.is_none_or(|s| s.field("name").is_some())
                    && !select.iter().any(|f| f == "name")
                {
                    select.push("name".into());
                }
                if versioned && !select.iter().any(|f| f == "versionNumber") {
                    select.push("versionNumber".into());
                }
                Some(select)
            }
        }
    }

    /// `PATCH {Entity}/{id}` with `payload`, sending the version the caller last saw
    /// (`X-Version-Number`): EspoCRM refuses with 409 `modified` — `CONFLICT` naming the fields
    /// and their current values — when someone changed them since, and writes nothing.
    pub(crate) async fn patch(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        payload: serde_json::Map<String, Value>,
        schema: Option<&EntitySchema>,
    ) -> Result<Record> {
        let mut call = Call::new(
            Method::PATCH,
            format!("/{}/{}", segment(&entity.native), segment(id)),
        )
        .json(Value::Object(payload));
        let seen = self
            .versions
            .last_seen(cx.scope(), &entity.native, id)
            .await;
        if let Some(version) = seen {
            call = call.header("X-Version-Number", version.to_string());
        }
        let mut what = self.ctx(cx, Op::Update, entity, Some(id));
        what.schema = schema;
        what.version = seen;
        let response = self.client.expect(cx, call, what).await?;
        let record = map::record_from_body(self.client.site(), &entity.native, &response.body)?;
        self.saw(cx, &entity.native, std::slice::from_ref(&record))
            .await;
        Ok(record)
    }

    /// Whether records of `native` carry `versionNumber`.
    async fn versioned(&self, cx: &CallContext, native: &str) -> Result<bool> {
        Ok(self.meta.described(cx, native).await?.versioned)
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

    /// More than 10 failed logins from one address within 60 s lock it out (403), valid keys
    /// too (`FailedAttemptsLimit`).
    fn locks_out_failed_logins(&self) -> bool {
        true
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
            schema: None,
            version: None,
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

    /// `entityDefs.{Entity}` again, past the metadata cache (single-flight per caller).
    async fn describe_fresh(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        stale: &Arc<EntitySchema>,
    ) -> Result<Arc<EntitySchema>> {
        self.meta.refresh(cx, &entity.native, stale).await
    }

    async fn search(&self, cx: &CallContext, request: &SearchRequest) -> Result<Page> {
        let entity = &request.entity;
        require(entity, Operation::Search, "search")?;
        let versioned = self.versioned(cx, &entity.native).await?;
        let query = ListQuery {
            where_items: filters::where_items(&request.filter, &request.schema)?,
            text: request.filter.query.clone(),
            order: filters::order(&request.sort)?,
            select: Self::select(&request.fields, Some(&request.schema), versioned),
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
        let records: Vec<Record> = fetched
            .list
            .into_iter()
            .map(|r| self.record(&entity.native, r))
            .collect::<Result<_>>()?;
        self.saw(cx, &entity.native, &records).await;
        Ok(Page {
            records,
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
        let ids = ids::check_all(ids, "id")?;
        if let [id] = ids {
            return Ok(self.read(cx, entity, id).await?.into_iter().collect());
        }
        let versioned = self.versioned(cx, &entity.native).await?;
        let mut records = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(list::MAX_SIZE) {
            let query = ListQuery {
                where_items: vec![json!({"type": "in", "attribute": "id", "value": chunk})],
                select: Self::select(fields, None, versioned),
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
        self.saw(cx, &entity.native, &records).await;
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
        let id = ids::check(id, "id")?;
        let target = crate::names::native_of(&link.target).unwrap_or(&link.target);
        let query = ListQuery {
            select: Self::select(fields, None, false),
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
        let records: Vec<Record> = fetched
            .list
            .into_iter()
            .map(|r| self.record(target, r))
            .collect::<Result<_>>()?;
        self.saw(cx, target, &records).await;
        Ok(Page {
            records,
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
        let id = ids::check(id, "id")?;
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
        let mut what = self.ctx(cx, Op::Create, entity, None);
        what.schema = Some(&schema);
        let response = self.client.expect(cx, call, what).await?;
        let record = map::record_from_body(self.client.site(), &entity.native, &response.body)?;
        self.saw(cx, &entity.native, std::slice::from_ref(&record))
            .await;
        Ok(Created::Record(record))
    }

    async fn update(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
        data: &Fields,
    ) -> Result<Record> {
        require(entity, Operation::Update, "update")?;
        let id = ids::check(id, "id")?;
        let schema = self.meta.schema(cx, &entity.native).await?;
        let payload = map::write_payload(&schema, data)?;
        self.patch(cx, entity, id, payload, Some(&schema)).await
    }

    async fn delete(&self, cx: &CallContext, entity: &EntityInfo, id: &str) -> Result<()> {
        require(entity, Operation::Delete, "delete")?;
        let id = ids::check(id, "id")?;
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

    /// EspoCRM deletes softly; `restoreDeleted` is for administrators only, which the caller's
    /// catalogue records (from `App/user`).
    /// The journal's `before` of an update: read, but the version the update sends stays the
    /// one the caller last saw (a change made since is still `CONFLICT`).
    async fn peek(
        &self,
        cx: &CallContext,
        entity: &EntityInfo,
        id: &str,
    ) -> Result<Option<Record>> {
        require(entity, Operation::Get, "get")?;
        self.read_unseen(cx, entity, id).await
    }

    fn restores(&self, entity: &EntityInfo) -> bool {
        entity.delete == DeleteKind::Soft && crate::scopes::may_restore(entity)
    }

    /// `POST {Entity}/action/restoreDeleted {"id": …}`, then the record as it is back.
    async fn restore(&self, cx: &CallContext, entity: &EntityInfo, id: &str) -> Result<Record> {
        let id = ids::check(id, "id")?;
        let what = self.ctx(cx, Op::Restore, entity, Some(id));
        if !self.restores(entity) {
            return Err(crate::errors::restore_not_permitted(&what));
        }
        let call = Call::new(
            Method::POST,
            format!("/{}/action/restoreDeleted", segment(&entity.native)),
        )
        .json(json!({ "id": id }));
        let response = self.client.expect(cx, call, what).await?;
        if !map::boolean("restore", &response.body)? {
            return Err(Error::upstream_protocol(
                "EspoCRM answered the restore with false: nothing was restored",
            ));
        }
        self.read(cx, entity, id).await?.ok_or_else(|| {
            Error::upstream_protocol(format!(
                "EspoCRM restored {} record {id:?} but does not show it",
                entity.name
            ))
        })
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
        let id = ids::check(id, "id")?;
        let target_id = ids::check(target_id, "target_id")?;
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
        let id = ids::check(id, "id")?;
        let target_id = ids::check(target_id, "target_id")?;
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
        let id = ids::check(id, "id")?;
        crate::actions::note(self, cx, entity, id, text).await
    }

    async fn draft_email(&self, cx: &CallContext, draft: &EmailDraft) -> Result<Record> {
        if let Some((entity, id)) = &draft.parent {
            require(entity, Operation::DraftEmail, "email drafts")?;
            ids::check(id, "id")?;
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
        let id = ids::check(id, "id")?;
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
