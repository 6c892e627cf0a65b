//! The postgrest transport: Supabase's Data API (`{supabase_url}/rest/v1`) through the shared
//! upstream layer, with the project's `apikey` and the caller's bearer token. Filters follow
//! PostgREST's conventions ([`params`]); counts come from `Prefer: count=exact` and
//! `Content-Range`; writes ask for `return=representation` so that rows hidden by RLS show up
//! as "0 rows", not as silent success; error bodies (`{code, message, details, hint}`) are
//! mapped in [`errors`].
//!
//! Writes (POST, PATCH, DELETE) are never repeated once sent: a PATCH can fire triggers and
//! bump timestamps, so it is no safer to repeat than an insert. A 5xx carrying PostgREST's own
//! error body means the statement failed and its transaction rolled back (nothing happened);
//! a 5xx without one (a proxy, a lost connection) leaves a write's outcome unknown.

pub mod errors;
pub mod params;

use super::{Caller, Column, Cond, Row, Rows, Select, Store};
use async_trait::async_trait;
use crmgate_core::upstream::{Upstream, UpstreamError, UpstreamRequest, UpstreamResponse};
use crmgate_core::{Error, Result};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// The postgrest transport.
#[derive(Debug, Clone)]
pub struct RestStore {
    upstream: Upstream,
    base: String,
    anon_key: SecretString,
}

impl RestStore {
    /// A client of `{supabase_url}/rest/v1`.
    pub fn new(upstream: Upstream, supabase_url: &str, anon_key: SecretString) -> Self {
        RestStore {
            upstream,
            base: supabase_url.trim_end_matches('/').to_owned(),
            anon_key,
        }
    }

    fn request(&self, method: Method, relation: &str, caller: &Caller) -> Result<UpstreamRequest> {
        let mut apikey = HeaderValue::from_str(self.anon_key.expose_secret())
            .map_err(|_| Error::config("anon_key is not a valid header value"))?;
        apikey.set_sensitive(true);
        let mut bearer = HeaderValue::from_str(&format!("Bearer {}", caller.token.expose_secret()))
            .map_err(|_| crate::jwt::auth_failed("the access token is not a valid header value"))?;
        bearer.set_sensitive(true);
        Ok(
            UpstreamRequest::new(method, format!("{}/rest/v1/{relation}", self.base))
                .header(HeaderName::from_static("apikey"), apikey)
                .header(AUTHORIZATION, bearer)
                .header(ACCEPT, HeaderValue::from_static("application/json")),
        )
    }

    async fn send(&self, caller: &Caller, request: UpstreamRequest) -> Result<UpstreamResponse> {
        // the upstream layer scopes rate limits by caller; the caller's own token is the scope
        let cx = crmgate_core::CallContext::bearer(caller.token.clone());
        let response = self.upstream.send(&cx, request).await.map_err(failed)?;
        if response.is_success() {
            Ok(response)
        } else {
            Err(errors::from_response(&response))
        }
    }

    fn rows(response: &UpstreamResponse) -> Result<Vec<Row>> {
        let value: Value = response.json()?;
        match value {
            Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    Value::Object(map) => Ok(map),
                    _ => Err(Error::upstream_protocol(
                        "PostgREST returned a row that is not an object",
                    )),
                })
                .collect(),
            _ => Err(Error::upstream_protocol(
                "PostgREST returned something other than an array of rows",
            )),
        }
    }
}

/// A failed answer or a lost request: PostgREST's own error body (the statement failed, its
/// transaction rolled back) is mapped like any error answer; without one, the upstream
/// layer's verdict stands (`OUTCOME_UNKNOWN` for a write that may have been applied).
fn failed(failure: UpstreamError) -> Error {
    match &failure.answer {
        Some(answer) if answer.status.is_server_error() && errors::is_postgrest(answer) => {
            errors::from_response(answer)
        }
        _ => failure.error,
    }
}

fn prefer(value: &'static str) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_static("prefer"),
        HeaderValue::from_static(value),
    )
}

/// The total of a `Content-Range: 0-24/3573458` (or `*/0`) header.
pub fn content_range_total(header: Option<&str>) -> Option<u64> {
    header?.rsplit('/').next()?.trim().parse().ok()
}

#[async_trait]
impl Store for RestStore {
    async fn select(&self, caller: &Caller, select: &Select<'_>) -> Result<Rows> {
        let mut request = self
            .request(Method::GET, select.relation, caller)?
            .query("select", "*");
        for (key, value) in params::filters(select.filter) {
            request = request.query(key, value);
        }
        request = request
            .query("order", params::order(select.order))
            .query("limit", select.limit.to_string())
            .query("offset", select.offset.to_string());
        if select.count {
            let (name, value) = prefer("count=exact");
            request = request.header(name, value);
        }
        let cx = crmgate_core::CallContext::bearer(caller.token.clone());
        let response = self.upstream.send(&cx, request).await.map_err(failed)?;
        let total = content_range_total(response.header_str("content-range"));
        if response.status.as_u16() == 416 {
            // an offset past the end: no rows
            return Ok(Rows {
                rows: Vec::new(),
                total,
            });
        }
        if !response.is_success() {
            return Err(errors::from_response(&response));
        }
        Ok(Rows {
            rows: Self::rows(&response)?,
            total: if select.count { total } else { None },
        })
    }

    async fn insert(&self, caller: &Caller, table: &str, row: &Row) -> Result<Row> {
        let (name, value) = prefer("return=representation");
        let request = self
            .request(Method::POST, table, caller)?
            .header(name, value)
            .json(Value::Object(row.clone()));
        let response = self.send(caller, request).await?;
        Self::rows(&response)?
            .pop()
            .ok_or_else(|| Error::upstream_protocol("PostgREST returned no row for the insert"))
    }

    async fn update(
        &self,
        caller: &Caller,
        table: &str,
        filter: &[Cond],
        row: &Row,
    ) -> Result<Vec<Row>> {
        let (name, value) = prefer("return=representation");
        let mut request = self
            .request(Method::PATCH, table, caller)?
            .header(name, value)
            .json(Value::Object(row.clone()));
        for (key, value) in params::filters(filter) {
            request = request.query(key, value);
        }
        let response = self.send(caller, request).await?;
        Self::rows(&response)
    }

    async fn delete(&self, caller: &Caller, table: &str, filter: &[Cond]) -> Result<u64> {
        let (name, value) = prefer("return=representation");
        let mut request = self
            .request(Method::DELETE, table, caller)?
            .header(name, value);
        for (key, value) in params::filters(filter) {
            request = request.query(key, value);
        }
        let response = self.send(caller, request).await?;
        Ok(Self::rows(&response)?.len() as u64)
    }

    async fn catalog(&self, _caller: &Caller, _relations: &[&str]) -> Result<Option<Vec<Column>>> {
        // the OpenAPI document is no longer readable with a user's key: use the built-in model
        Ok(None)
    }

    async fn configuration(&self, caller: &Caller) -> Result<Option<Value>> {
        let request = self
            .request(Method::GET, "configuration", caller)?
            .query("select", "config")
            .query("id", "eq.1");
        let cx = crmgate_core::CallContext::bearer(caller.token.clone());
        let response = self.upstream.send(&cx, request).await.map_err(failed)?;
        match response.status.as_u16() {
            200..=299 => Ok(Self::rows(&response)?
                .into_iter()
                .next()
                .and_then(|mut row| row.remove("config"))),
            // no such table, or no right to read it: the app's defaults apply
            403 | 404 => Ok(None),
            _ => Err(errors::from_response(&response)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_totals() {
        assert_eq!(content_range_total(Some("0-24/3573458")), Some(3573458));
        assert_eq!(content_range_total(Some("*/0")), Some(0));
        assert_eq!(content_range_total(Some("0-24/*")), None);
        assert_eq!(content_range_total(None), None);
    }
}
