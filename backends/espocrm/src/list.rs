//! Paging over EspoCRM lists: `searchParams` JSON (typed values), offset cursors, at most 200
//! records per request (EspoCRM answers `maxSize` > 200 with 403), a larger page served by
//! several requests, and `X-No-Total` whenever the caller does not need the count (every page
//! after the first), reading EspoCRM's -1 / -2 instead.

use crate::client::{Call, EspoClient};
use crate::errors::Ctx;
use crate::map::{self, ListPage};
use crmgate_core::{CallContext, Error, Result};
use serde_json::{Map, Value, json};

/// EspoCRM's `recordListMaxSizeLimit` (default 200): the most one request may ask for.
pub const MAX_SIZE: usize = 200;

/// What to list, besides paging.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// `where` items.
    pub where_items: Vec<Value>,
    /// Free text (`textFilter`).
    pub text: Option<String>,
    /// `orderBy`, `order`.
    pub order: Option<(String, &'static str)>,
    /// Attributes to select (`id` is always returned).
    pub select: Option<Vec<String>>,
}

/// Records of one page, the total when counted, and where the next page starts.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// Attribute maps.
    pub list: Vec<Map<String, Value>>,
    /// Exact total, when asked for and known.
    pub total: Option<u64>,
    /// Offset of the next page, if records follow.
    pub next: Option<usize>,
}

/// The offset a cursor stands for (the cursor is the decimal offset of the next record).
pub fn offset_of(cursor: Option<&str>) -> Result<usize> {
    match cursor {
        None => Ok(0),
        Some(c) => c.parse().map_err(|_| {
            Error::validation(
                "the cursor is not one this backend issued",
                "pass next_cursor exactly as the previous page returned it",
            )
        }),
    }
}

/// The `searchParams` JSON of one request.
pub fn search_params(query: &ListQuery, offset: usize, max_size: usize) -> Value {
    let mut params = Map::new();
    if !query.where_items.is_empty() {
        params.insert("where".into(), Value::Array(query.where_items.clone()));
    }
    if let Some(select) = &query.select {
        params.insert("select".into(), json!(select));
    }
    if let Some((field, order)) = &query.order {
        params.insert("orderBy".into(), json!(field));
        params.insert("order".into(), json!(order));
    }
    if let Some(text) = &query.text {
        params.insert("textFilter".into(), json!(text));
    }
    params.insert("offset".into(), json!(offset));
    params.insert("maxSize".into(), json!(max_size));
    Value::Object(params)
}

/// Fetch `limit` records from `offset` of the list at `path` (an entity list or a related
/// list), in requests of at most [`MAX_SIZE`]. The total is asked for only when `want_total`
/// and only on the first request; every other request sends `X-No-Total`.
#[allow(clippy::too_many_arguments)]
pub async fn fetch(
    client: &EspoClient,
    cx: &CallContext,
    path: &str,
    query: &ListQuery,
    offset: usize,
    limit: usize,
    want_total: bool,
    what: Ctx<'_>,
) -> Result<Fetched> {
    let mut out = Fetched::default();
    let mut at = offset;
    loop {
        let want = (limit - out.list.len()).min(MAX_SIZE);
        let first = out.list.is_empty() && at == offset;
        let count = first && want_total;
        let params = search_params(query, at, want);
        let mut call = Call::get(path).query("searchParams", params.to_string());
        if !count {
            call = call.header("X-No-Total", "true");
        }
        let response = client.expect(cx, call, what).await?;
        let page: ListPage = map::list_page(what.entity, &response.body)?;
        if count {
            out.total = page.exact_total();
        }
        let more = page.has_more(at);
        let got = page.list.len().min(want);
        at += got;
        out.list.extend(page.list.into_iter().take(want));
        if !more || got == 0 || out.list.len() >= limit {
            out.next = (more && got > 0).then_some(at);
            break;
        }
    }
    Ok(out)
}
