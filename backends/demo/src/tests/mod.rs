//! Unit tests of the demo CRM, through the `Backend` trait where possible. Helpers here.

mod actions;
mod links;
mod reads;
mod search;
mod seed;
mod tenants;
mod timeline;
mod writes;

use crate::DemoBackend;
use crate::kind::Kind;
use crmgate_core::filter::{Condition, Filter, FilterOp, SortKey};
use crmgate_core::model::{
    ActionInfo, EntityInfo, FieldSelection, Fields, Page, PageRequest, Record, SearchRequest,
    TimelineItem,
};
use crmgate_core::schema::LinkSchema;
use crmgate_core::{Backend, CallContext, Error, ErrorCode, Result};
use serde_json::Value;
use std::sync::Arc;

fn cx() -> CallContext {
    CallContext::configured()
}

/// The entity info for a canonical or native name.
async fn info(backend: &DemoBackend, name: &str) -> Arc<EntityInfo> {
    backend
        .entities(&cx())
        .await
        .unwrap()
        .get(name)
        .cloned()
        .unwrap_or_else(|| panic!("no entity {name}"))
}

/// The link schema of an entity.
fn link(entity: &str, name: &str) -> LinkSchema {
    let kind = Kind::from_name(entity).unwrap();
    kind.schema().link(name).cloned().unwrap()
}

/// The action info of an entity.
fn action(entity: &str, name: &str) -> ActionInfo {
    let kind = Kind::from_name(entity).unwrap();
    kind.info()
        .actions
        .iter()
        .find(|a| a.name == name)
        .cloned()
        .unwrap()
}

fn cond(field: &str, op: FilterOp, value: Value) -> Condition {
    Condition {
        field: field.into(),
        op,
        value,
    }
}

fn sort(field: &str, descending: bool) -> SortKey {
    SortKey {
        field: field.into(),
        descending,
    }
}

fn obj(value: Value) -> Fields {
    value.as_object().cloned().unwrap_or_default()
}

/// One search call.
async fn search(
    backend: &DemoBackend,
    entity: &str,
    filter: Filter,
    sort: Vec<SortKey>,
    limit: usize,
    cursor: Option<String>,
) -> Result<Page> {
    let entity = info(backend, entity).await;
    let schema = Kind::from_name(&entity.name).unwrap().schema().clone();
    let request = SearchRequest {
        entity,
        schema,
        filter,
        sort,
        fields: FieldSelection::All,
        page: PageRequest { limit, cursor },
    };
    backend.search(&cx(), &request).await
}

/// Every page of a search, asserting the paging invariants on the way; returns all records.
async fn search_all(
    backend: &DemoBackend,
    entity: &str,
    filter: Filter,
    sort: Vec<SortKey>,
    limit: usize,
) -> Vec<Record> {
    let mut records = Vec::new();
    let mut cursor = None;
    let mut total = None;
    loop {
        let page = search(backend, entity, filter.clone(), sort.clone(), limit, cursor)
            .await
            .unwrap();
        assert!(page.records.len() <= limit);
        if let Some(t) = total {
            assert_eq!(page.total, Some(t), "total stable across pages");
        }
        total = page.total;
        records.extend(page.records);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(
        Some(records.len() as u64),
        total,
        "paging yields exactly total"
    );
    records
}

async fn get_one(backend: &DemoBackend, entity: &str, id: &str) -> Option<Record> {
    let entity = info(backend, entity).await;
    backend
        .get(&cx(), &entity, &[id.to_string()], &FieldSelection::All)
        .await
        .unwrap()
        .pop()
}

fn code<T: std::fmt::Debug>(result: Result<T, Error>) -> ErrorCode {
    result.expect_err("expected an error").code
}

/// A whole timeline, read two items at a time.
async fn timeline(b: &DemoBackend, entity: &str, id: &str) -> Vec<TimelineItem> {
    let entity = info(b, entity).await;
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let page = b
            .timeline(&cx(), &entity, id, &PageRequest { limit: 2, cursor })
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        items.extend(page.items);
        cursor = page.next_cursor;
        if cursor.is_none() {
            return items;
        }
    }
}
