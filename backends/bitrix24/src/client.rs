//! Auth and requests: every Bitrix24 call leaves through the shared [`Upstream`] (rate limit,
//! concurrency cap, retries of reads only, size cap) as a `POST` with a JSON body — to the
//! webhook URL, or to `PORTAL/rest/METHOD` with `auth` in the body for OAuth tokens (the
//! configured one, renewed once on `expired_token` when a refresh token is configured, or a
//! hosted caller's own bearer token, never mixed).
//!
//! `batch` sends up to 50 commands as one HTTP request (one drop in the portal's leaky bucket)
//! — unless a command's literal data would be read by the portal as a `$result[…]` reference
//! (see [`crate::batch`]): those commands go one by one, as JSON bodies the portal never scans.
//!
//! Failed answers are judged from Bitrix24's own error code, before any retry
//! ([`RetryPolicy::Judge`]): `QUERY_LIMIT_EXCEEDED` (503, the request bucket) is retried for
//! reads with backoff; `OVERLOAD_LIMIT` (503, REST blocked by an administrator) never is; the
//! first `OPERATION_TIME_LIMIT` (429) blocks that method locally at once until the reset time
//! the portal reported, so an agent gets `RATE_LIMITED` with the real wait and no request is
//! wasted. The block is also written to the shared vendor blocks (every replica, with
//! `[redis]`), keyed by portal and credential, and read back before each call. A write answered 5xx for any other reason may have been applied: `OUTCOME_UNKNOWN`.

pub use crate::batch::{BatchOutcome, Command, MAX_BATCH, Reference};

use crate::batch;
use crate::config::{Bitrix24Config, Credential, Refresh};
use crate::error::VendorError;
use crate::wire::{self, Envelope};
use bytes::Bytes;
use crmgate_core::upstream::{
    RequestBody, RetryPolicy, Upstream, UpstreamError, UpstreamRequest, UpstreamResponse,
};
use crmgate_core::{CallContext, Error, ErrorCode, Identity, Result};
use crmgate_shared::SharedState;
use reqwest::header::{ACCEPT, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// Whether a call only reads (may be retried) or writes (never repeated once sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads: idempotent, retried on 503/timeouts.
    Read,
    /// Writes: sent at most once unless the connection never opened.
    Write,
}

/// The Bitrix24 REST client of one backend instance.
#[derive(Debug)]
pub struct Client {
    upstream: Upstream,
    config: Bitrix24Config,
    /// The configured OAuth token pair as last renewed.
    oauth: RwLock<Option<(SecretString, Option<Refresh>)>>,
    /// Serialises refreshes so that concurrent expiries renew once.
    refreshing: tokio::sync::Mutex<()>,
    /// Method → Unix time its operating-time budget resets, as last reported.
    operating: Mutex<HashMap<String, (i64, bool)>>,
    /// Blocks shared with other processes (`[redis]`), when the binary passed its state.
    shared_blocks: Option<SharedState>,
}

impl Client {
    /// A client over `config`. No I/O.
    pub fn new(config: Bitrix24Config) -> Result<Self> {
        let upstream = Upstream::new(config.upstream.clone())?;
        let oauth = match &config.credential {
            Credential::OAuth {
                access_token,
                refresh,
            } => Some((access_token.clone(), refresh.clone())),
            _ => None,
        };
        Ok(Client {
            upstream,
            shared_blocks: config.upstream.shared.clone(),
            config,
            oauth: RwLock::new(oauth),
            refreshing: tokio::sync::Mutex::new(()),
            operating: Mutex::new(HashMap::new()),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Bitrix24Config {
        &self.config
    }

    /// Call one method; its result envelope, or the mapped error.
    pub async fn call(
        &self,
        cx: &CallContext,
        method: &str,
        params: Value,
        access: Access,
    ) -> Result<Envelope> {
        self.exchange(cx, method, &params, access)
            .await?
            .map_err(|e| e.to_error(method))
    }

    /// Call one method; its envelope, or the portal's own error (for callers that judge
    /// some codes themselves). `Err` is what is not Bitrix24's answer to this method: the
    /// transport, a locally blocked method, the credential, a body of another shape.
    pub async fn exchange(
        &self,
        cx: &CallContext,
        method: &str,
        params: &Value,
        access: Access,
    ) -> Result<std::result::Result<Envelope, VendorError>> {
        self.check_operating(method)?;
        self.check_shared_block(cx, method).await?;
        let result = self.exchange_once(cx, method, params, access).await;
        if result.is_err() {
            self.share_block(cx, method).await;
        }
        result
    }

    async fn exchange_once(
        &self,
        cx: &CallContext,
        method: &str,
        params: &Value,
        access: Access,
    ) -> Result<std::result::Result<Envelope, VendorError>> {
        let mut refreshed = false;
        loop {
            let (status, body) = self.send(cx, method, params, access).await?;
            let body = if status < 300 {
                match Envelope::from_body(body) {
                    Ok(envelope) => {
                        if let Some(reset) = envelope.operating_reset_at {
                            self.note_operating(method, reset, false);
                        }
                        return Ok(Ok(envelope));
                    }
                    Err(body) => body,
                }
            } else {
                body
            };
            let Some(error) = VendorError::parse(Some(status), &body) else {
                return Err(Error::upstream_protocol(format!(
                    "Bitrix24 answered {method} with HTTP {status} and neither result nor error"
                )));
            };
            if error.code == "expired_token" && !refreshed && self.can_refresh(cx) {
                self.refresh(cx).await?;
                refreshed = true;
                continue;
            }
            if error.code == "OPERATION_TIME_LIMIT" {
                return Err(self.operating_limited(method));
            }
            if error.is_credential_failure() {
                return Err(error.to_error(method));
            }
            return Ok(Err(error));
        }
    }

    /// Run up to 50 commands (`halt=0`: every command runs, errors are collected per
    /// command), in one `batch` request — unless a command's literal parameters would be read
    /// by the portal as a `$result[…]` back-reference ([`batch::encode`]): then each command
    /// is its own call, in order, with crmgate resolving the deliberate references.
    pub async fn batch(
        &self,
        cx: &CallContext,
        commands: &[Command],
        access: Access,
    ) -> Result<BatchOutcome> {
        self.batch_until(cx, commands, access, |_| false).await
    }

    /// [`Client::batch`], ending a one-by-one run at the first result for which `stop` holds
    /// (a short page); a batch request runs every command anyway.
    pub async fn batch_until(
        &self,
        cx: &CallContext,
        commands: &[Command],
        access: Access,
        stop: fn(&Value) -> bool,
    ) -> Result<BatchOutcome> {
        if commands.is_empty() {
            return Ok(BatchOutcome::default());
        }
        if commands.len() > MAX_BATCH {
            return Err(Error::validation(
                format!("{} commands in one batch", commands.len()),
                "a batch takes at most 50 commands",
            ));
        }
        let outcome = match batch::encode(commands) {
            Some(cmd) => {
                let envelope = self
                    .call(cx, "batch", json!({"halt": 0, "cmd": cmd}), access)
                    .await?;
                BatchOutcome::parse(envelope.result)
            }
            None => self.one_by_one(cx, commands, access, stop).await?,
        };
        for (name, error) in &outcome.errors {
            if error.code == "OPERATION_TIME_LIMIT"
                && let Some(c) = commands.iter().find(|c| &c.name == name)
            {
                let error = self.operating_limited(&c.method);
                self.share_block(cx, &c.method).await;
                return Err(error);
            }
        }
        Ok(outcome)
    }

    /// Commands as calls of their own, in order: literal parameters travel as JSON, which the
    /// portal never scans for references; a command whose reference does not resolve is not
    /// sent (it has no result). A failure short of Bitrix24's answer ends the run: the
    /// commands that ran keep their results, the failed one and the rest carry the error.
    async fn one_by_one(
        &self,
        cx: &CallContext,
        commands: &[Command],
        access: Access,
        stop: fn(&Value) -> bool,
    ) -> Result<BatchOutcome> {
        let mut out = BatchOutcome::default();
        for (i, c) in commands.iter().enumerate() {
            let Some(params) = c.with_references_resolved(&out.results) else {
                continue;
            };
            let answer = match self.exchange(cx, &c.method, &params, access).await {
                Ok(answer) => answer,
                // nothing ran yet: fail as a batch request would
                Err(e) if i == 0 => return Err(e),
                // what ran stays known; what follows is not sent
                Err(e) => {
                    // not sent, so never of unknown outcome
                    let code = match e.code {
                        ErrorCode::OutcomeUnknown => ErrorCode::UpstreamUnavailable,
                        code => code,
                    };
                    for later in &commands[i + 1..] {
                        out.failed.insert(
                            later.name.clone(),
                            Error::new(
                                code,
                                format!(
                                    "{} was not sent: {} failed first ({})",
                                    later.method, c.method, e.message
                                ),
                                e.suggestion.clone(),
                            ),
                        );
                    }
                    out.failed.insert(c.name.clone(), e);
                    break;
                }
            };
            match answer {
                Ok(envelope) => {
                    if let Some(total) = envelope.total {
                        out.totals.insert(c.name.clone(), total);
                    }
                    if let Some(next) = envelope.next {
                        out.nexts.insert(c.name.clone(), next);
                    }
                    let done = stop(&envelope.result);
                    out.results.insert(c.name.clone(), envelope.result);
                    if done {
                        break;
                    }
                }
                Err(error) => {
                    out.errors.insert(c.name.clone(), error);
                }
            }
        }
        Ok(out)
    }

    /// One HTTP exchange: the status and the parsed JSON body.
    async fn send(
        &self,
        cx: &CallContext,
        method: &str,
        params: &Value,
        access: Access,
    ) -> Result<(u16, Value)> {
        let (url, body) = self.target(cx, method, params)?;
        let mut request = UpstreamRequest::post(url)
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .idempotent(access == Access::Read)
            .retry(RetryPolicy::Judge(worth_retrying));
        request.body = Some(RequestBody::Bytes(
            Bytes::from(wire::body_json(&body)),
            HeaderValue::from_static("application/json"),
        ));
        let response = match self.upstream.send(cx, request).await {
            Ok(response) => response,
            Err(failure) => return Err(self.failed(method, failure)),
        };
        let status = response.status.as_u16();
        if (300..400).contains(&status) {
            return Err(Error::new(
                ErrorCode::UpstreamProtocol,
                format!("Bitrix24 redirected {method} to another address (HTTP {status})"),
                "the portal's address may have changed: update portal / webhook_url in the \
                 crmgate config",
            ));
        }
        let body: Value = response.json().map_err(|e| {
            if response.is_success() {
                return e;
            }
            Error::config(format!(
                "the configured Bitrix24 address answers {method} with HTTP {status} and no \
                 JSON: it is probably not the portal's REST API"
            ))
            .with_suggestion(
                "check webhook_url (https://PORTAL/rest/USER_ID/CODE/) or portal in the crmgate \
                 config",
            )
        })?;
        Ok((status, body))
    }

    /// The URL and body for a call under the caller's identity.
    fn target(&self, cx: &CallContext, method: &str, params: &Value) -> Result<(String, Value)> {
        let with_auth = |token: &SecretString| {
            let mut body = params.as_object().cloned().unwrap_or_default();
            body.insert("auth".into(), Value::String(token.expose_secret().into()));
            (
                format!("{}{method}", self.config.oauth_endpoint()),
                Value::Object(body),
            )
        };
        match cx.identity() {
            Identity::Bearer(token) => Ok(with_auth(token)),
            Identity::Configured => match &self.config.credential {
                Credential::Webhook(base) => {
                    Ok((format!("{}{method}", base.expose_secret()), params.clone()))
                }
                Credential::OAuth { .. } => {
                    let guard = self.oauth.read().unwrap_or_else(PoisonError::into_inner);
                    let (token, _) = guard.as_ref().ok_or_else(no_credential)?;
                    Ok(with_auth(token))
                }
                Credential::None => Err(no_credential()),
            },
        }
    }

    fn can_refresh(&self, cx: &CallContext) -> bool {
        matches!(cx.identity(), Identity::Configured)
            && self
                .oauth
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
                .is_some_and(|(_, r)| r.is_some())
    }

    /// Exchange the refresh token for a new pair (once for concurrent expiries).
    async fn refresh(&self, cx: &CallContext) -> Result<()> {
        let before = self.current_token();
        let _guard = self.refreshing.lock().await;
        if self.current_token() != before {
            return Ok(()); // another call renewed it meanwhile
        }
        let Some(refresh) = self
            .oauth
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .and_then(|(_, r)| r.clone())
        else {
            return Err(no_credential());
        };
        let url = format!("{}/oauth/token/", self.config.oauth_server);
        let request = UpstreamRequest::get(url)
            .query("grant_type", "refresh_token")
            .query("client_id", refresh.client_id.clone())
            .query("client_secret", refresh.client_secret.expose_secret())
            .query("refresh_token", refresh.refresh_token.expose_secret())
            .idempotent(false);
        let response = self.upstream.send(cx, request).await?;
        let body: Value = response.json()?;
        let access = body.get("access_token").and_then(Value::as_str);
        match access {
            Some(access) if response.is_success() => {
                let renewed = Refresh {
                    refresh_token: body
                        .get("refresh_token")
                        .and_then(Value::as_str)
                        .map(|s| SecretString::from(s.to_owned()))
                        .unwrap_or(refresh.refresh_token),
                    ..refresh
                };
                *self.oauth.write().unwrap_or_else(PoisonError::into_inner) =
                    Some((SecretString::from(access.to_owned()), Some(renewed)));
                tracing::info!("renewed the Bitrix24 OAuth access token");
                Ok(())
            }
            _ => {
                let error = VendorError::parse(Some(response.status.as_u16()), &body);
                let code = error.as_ref().map(|e| e.code.as_str()).unwrap_or("");
                Err(Error::new(
                    ErrorCode::AuthFailed,
                    format!("the OAuth token could not be renewed ({code})"),
                    "the refresh token is dead (invalid_grant) or the client id / secret are \
                     wrong: re-authorise the app and configure the new refresh token",
                ))
            }
        }
    }

    fn current_token(&self) -> Option<String> {
        self.oauth
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|(t, _)| t.expose_secret().to_owned())
    }

    /// Fail fast while a method is known to be over its operating-time budget.
    fn check_operating(&self, method: &str) -> Result<()> {
        let now = unix_now();
        let guard = self
            .operating
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match guard.get(method) {
            Some((reset, true)) if *reset > now => Err(operating_error(method, *reset - now)),
            _ => Ok(()),
        }
    }

    /// The key of this portal and `cx`'s credential in the shared vendor blocks (Bitrix24
    /// counts operating time per app or webhook).
    fn block_key(&self, cx: &CallContext) -> String {
        crmgate_shared::keys::caller(&self.config.portal, cx.scope())
    }

    /// Fail fast while another process saw `method` blocked for this credential.
    async fn check_shared_block(&self, cx: &CallContext, method: &str) -> Result<()> {
        let Some(blocks) = self.shared_blocks.as_ref().map(SharedState::blocks) else {
            return Ok(());
        };
        match blocks.blocked_for(&self.block_key(cx), method).await {
            Some(left) => Err(operating_error(
                method,
                left.as_secs_f64().ceil().max(1.0) as i64,
            )),
            None => Ok(()),
        }
    }

    /// Copy a local block of `method` (just set) to the shared vendor blocks.
    async fn share_block(&self, cx: &CallContext, method: &str) {
        let Some(blocks) = self.shared_blocks.as_ref().map(SharedState::blocks) else {
            return;
        };
        let now = unix_now();
        let until = self
            .operating
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(method)
            .and_then(|(reset, blocked)| (*blocked && *reset > now).then_some(*reset));
        if let Some(reset) = until {
            let wait = std::time::Duration::from_secs((reset - now) as u64);
            blocks.block(&self.block_key(cx), method, wait).await;
        }
    }

    fn note_operating(&self, method: &str, reset_at: i64, blocked: bool) {
        let mut guard = self
            .operating
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        guard.insert(method.to_owned(), (reset_at, blocked));
    }

    /// `OPERATION_TIME_LIMIT` on `method`: block it locally until the last reported reset
    /// (or a minute, when the portal never reported one).
    fn operating_limited(&self, method: &str) -> Error {
        let now = unix_now();
        let known = self
            .operating
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(method)
            .map(|(reset, _)| *reset)
            .filter(|reset| *reset > now);
        let reset = known.unwrap_or(now + 60);
        self.note_operating(method, reset, true);
        operating_error(method, reset - now)
    }

    /// A failed answer (429, 5xx) or a lost request, judged from Bitrix24's own error code.
    fn failed(&self, method: &str, failure: UpstreamError) -> Error {
        let vendor = failure.answer.as_ref().and_then(|answer| {
            let body: Value = serde_json::from_slice(&answer.body).ok()?;
            VendorError::parse(Some(answer.status.as_u16()), &body)
        });
        let Some(vendor) = vendor else {
            return failure.error;
        };
        match vendor.code.as_str() {
            // refused before running: nothing happened, even to a write
            "OPERATION_TIME_LIMIT" => self.operating_limited(method),
            "QUERY_LIMIT_EXCEEDED" => Error::new(
                ErrorCode::RateLimited,
                format!(
                    "Bitrix24 refused {method}: the portal's request bucket is full \
                     (QUERY_LIMIT_EXCEEDED); nothing was done"
                ),
                "wait a few seconds and try again (reads were already retried); several \
                 applications on one portal share its bucket; batch reads use fewer requests",
            )
            .with_retry_after(2),
            "OVERLOAD_LIMIT" => {
                let mut e = Error::new(
                    ErrorCode::UpstreamUnavailable,
                    format!(
                        "Bitrix24 refused {method}: REST access is blocked for this portal or \
                         webhook (OVERLOAD_LIMIT); nothing was done"
                    ),
                    "do not retry: a portal administrator blocked REST calls (or the portal \
                     is overloaded); ask them to lift the block",
                );
                e.retryable = false;
                e
            }
            "PORTAL_DELETED" => vendor.to_error(method),
            // any other failure of a write may have happened after it was applied
            _ if failure.error.code == ErrorCode::OutcomeUnknown => {
                let mut e = failure.error;
                e.message = format!("{} ({}: {})", e.message, vendor.code, vendor.description);
                e
            }
            _ => vendor.to_error(method),
        }
    }
}

/// Whether a failed answer is worth repeating (reads only; the upstream layer never repeats a
/// write): the request bucket (`QUERY_LIMIT_EXCEEDED`) and Bitrix24's transient internal
/// errors are; `OVERLOAD_LIMIT` and `OPERATION_TIME_LIMIT` never are. An answer without a
/// Bitrix24 error body comes from a proxy: 502/503/504 are retried.
fn worth_retrying(answer: &UpstreamResponse) -> bool {
    let vendor = serde_json::from_slice::<Value>(&answer.body)
        .ok()
        .and_then(|body| VendorError::parse(Some(answer.status.as_u16()), &body));
    match vendor {
        Some(v) => matches!(
            v.code.as_str(),
            "QUERY_LIMIT_EXCEEDED" | "INTERNAL_SERVER_ERROR" | "ERROR_UNEXPECTED_ANSWER"
        ),
        None => matches!(answer.status.as_u16(), 502..=504),
    }
}

fn operating_error(method: &str, wait: i64) -> Error {
    Error::new(
        ErrorCode::RateLimited,
        format!("Bitrix24 blocks {method} for this credential: its operating-time budget (OPERATION_TIME_LIMIT) is spent"),
        "wait retry_after_s seconds (until the portal's operating_reset_at); other methods \
         still work; ask for less per call (narrower filters, fewer fields)",
    )
    .with_retry_after(wait.max(1) as u64)
}

fn no_credential() -> Error {
    Error::new(
        ErrorCode::AuthFailed,
        "no Bitrix24 credential is configured for this server",
        "set webhook_url_env (an inbound webhook) or access_token_env (an OAuth token) in the \
         crmgate config, or call in hosted mode with your own Bitrix24 OAuth token",
    )
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
