//! Authenticated requests to the BottleCRM API, through the shared upstream layer.
//!
//! Every request carries `Accept: application/json` (without it DRF may answer its HTML
//! browsable API) and `Authorization: Bearer <token>`: the caller's own token in hosted mode,
//! the configured one otherwise — never both. Answers come back as JSON on 2xx; anything else
//! is mapped by [`crate::map::error`] with the entity and id it concerned.

use crate::config::BottleConfig;
use crate::map::error::{self, Context};
use crmgate_core::upstream::{Upstream, UpstreamRequest, UpstreamResponse};
use crmgate_core::{CallContext, Error, ErrorCode, Identity, Result};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// One request, relative to the base URL.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    /// HTTP method.
    pub method: Method,
    /// Path under the base URL, e.g. `api/leads/<id>/`.
    pub path: String,
    /// Query pairs.
    pub query: Vec<(String, String)>,
    /// JSON body.
    pub body: Option<Value>,
    /// What the request is about, for error messages.
    pub cx: Context<'a>,
}

impl<'a> Call<'a> {
    /// A request with no query or body.
    pub fn new(method: Method, path: impl Into<String>, cx: Context<'a>) -> Self {
        Call {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            cx,
        }
    }

    /// With query pairs.
    pub fn query(mut self, query: Vec<(String, String)>) -> Self {
        self.query = query;
        self
    }

    /// With a JSON body.
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}

/// The HTTP side of one backend instance.
#[derive(Debug, Clone)]
pub struct Client {
    upstream: Upstream,
    base: String,
    token: Option<SecretString>,
}

impl Client {
    /// A client for the configured API; no I/O.
    pub fn new(config: &BottleConfig) -> Result<Self> {
        Ok(Client {
            upstream: Upstream::new(config.upstream.clone())?,
            base: config.url.clone(),
            token: config.token.clone(),
        })
    }

    /// The API's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn authorization(&self, cx: &CallContext) -> Result<HeaderValue> {
        let token = match cx.identity() {
            Identity::Bearer(token) => token,
            Identity::Configured => self.token.as_ref().ok_or_else(|| {
                Error::new(
                    ErrorCode::Config,
                    "no BottleCRM token is configured for this server",
                    "set token_env = \"VAR\" in the [crm.NAME] section and export VAR with a \
                     personal access token (bcrm_pat_…); in hosted mode each caller sends their own",
                )
            })?,
        };
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret().trim()))
            .map_err(|_| {
                Error::new(
                    ErrorCode::AuthFailed,
                    "the BottleCRM token contains characters a header cannot carry",
                    "copy the personal access token again (it looks like bcrm_pat_ followed by 43 characters)",
                )
            })?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// Send `call` for `cx`; the JSON answer on 2xx (`Null` for an empty body), else the
    /// mapped error.
    pub async fn send(&self, cx: &CallContext, call: Call<'_>) -> Result<Value> {
        let answer = self.exchange(cx, call).await?;
        if answer.body.trim_ascii().is_empty() {
            return Ok(Value::Null);
        }
        answer.json::<Value>()
    }

    /// Send `call` for `cx`; the answer on 2xx, its body unparsed (for the typed, borrowing
    /// readers in [`crate::map`]), else the mapped error.
    pub async fn send_raw(&self, cx: &CallContext, call: Call<'_>) -> Result<UpstreamResponse> {
        self.exchange(cx, call).await
    }

    /// Send `call` for `cx`; the answer on 2xx, else the mapped error. A write that may have
    /// been applied (5xx, lost answer) is `OUTCOME_UNKNOWN`; a failed answer to a read is
    /// mapped like any other error answer.
    async fn exchange(&self, cx: &CallContext, call: Call<'_>) -> Result<UpstreamResponse> {
        let mut request =
            UpstreamRequest::new(call.method.clone(), format!("{}/{}", self.base, call.path))
                .header(ACCEPT, HeaderValue::from_static("application/json"))
                .header(AUTHORIZATION, self.authorization(cx)?);
        request.query = call.query;
        if let Some(body) = call.body {
            request = request.json(body);
        }
        let mut ctx = call.cx;
        ctx.method = call.method.as_str();
        let answer = match self.upstream.send(cx, request).await {
            Ok(answer) => answer,
            Err(failure) if failure.error.code == ErrorCode::OutcomeUnknown => {
                return Err(failure.error);
            }
            Err(failure) => {
                return Err(match &failure.answer {
                    Some(a) if a.status.is_server_error() => {
                        error::from_status(ctx, a.status.as_u16(), &a.body)
                    }
                    _ => failure.error,
                });
            }
        };
        if !answer.is_success() {
            return Err(error::from_status(
                ctx,
                answer.status.as_u16(),
                &answer.body,
            ));
        }
        Ok(answer)
    }

    /// `GET healthz/` for `cx`: `Ok(false)` when BottleCRM answers and accepts the token,
    /// `Ok(true)` when it accepts a token scoped away from the health check; the mapped error
    /// otherwise (`AUTH_FAILED`, `UPSTREAM_UNAVAILABLE`, `CONFIG` for a wrong url).
    pub async fn probe(&self, cx: &CallContext) -> Result<bool> {
        let call = Call::new(
            Method::GET,
            "healthz/",
            Context {
                entity: None,
                id: None,
                method: "GET",
            },
        );
        match self.exchange(cx, call).await {
            Ok(_) => Ok(false),
            Err(e)
                if e.code == ErrorCode::PermissionDenied
                    && e.details
                        .as_ref()
                        .is_some_and(|d| d.get("missing_scope").is_some()) =>
            {
                Ok(true)
            }
            Err(e) => Err(e),
        }
    }
}
