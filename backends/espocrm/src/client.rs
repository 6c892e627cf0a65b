//! HTTP to EspoCRM through the shared upstream layer: builds each request under `/api/v1`,
//! signs it for the caller (configured API key, HMAC or username/password; in hosted mode the
//! caller's bearer token as an API key, never mixed with the configured identity), sends it,
//! and turns error answers into crmgate errors ([`crate::errors`]).

use crate::auth;
use crate::config::{Auth, EspoConfig};
use crate::errors::{Ctx, map_error};
use crmgate_core::upstream::{Upstream, UpstreamRequest, UpstreamResponse};
use crmgate_core::{CallContext, Error, Identity, Result};
use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::ExposeSecret;
use serde_json::Value;

/// The EspoCRM API of one site, for any caller.
#[derive(Debug, Clone)]
pub struct EspoClient {
    upstream: Upstream,
    config: EspoConfig,
    /// `{site}/api/v1`
    api_base: String,
}

/// One request before signing: method, resource path (after `/api/v1`, already
/// percent-encoded), query, body and headers.
#[derive(Debug, Clone)]
pub struct Call {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
    idempotent: bool,
}

impl Call {
    /// A call; GET is idempotent, other methods are not unless marked.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        let idempotent = method == Method::GET;
        Call {
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            headers: Vec::new(),
            idempotent,
        }
    }

    /// GET `path`.
    pub fn get(path: impl Into<String>) -> Self {
        Call::new(Method::GET, path)
    }

    /// Add a query pair.
    pub fn query(mut self, key: &str, value: impl Into<String>) -> Self {
        self.query.push((key.to_owned(), value.into()));
        self
    }

    /// Send a JSON body.
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Add a header (`X-No-Total`, `X-Skip-Duplicate-Check`, `X-Version-Number`).
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Mark whether repeating the call is harmless.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }
}

impl EspoClient {
    /// A client; no I/O.
    pub fn new(upstream: Upstream, config: EspoConfig) -> Self {
        let api_base = config.api_base();
        EspoClient {
            upstream,
            config,
            api_base,
        }
    }

    /// The site URL (for deep links).
    pub fn site(&self) -> &str {
        &self.config.site
    }

    /// The configuration.
    pub fn config(&self) -> &EspoConfig {
        &self.config
    }

    /// How `cx` signs in: `bearer` in hosted mode, else the configured kind.
    pub fn auth_kind(&self, cx: &CallContext) -> &'static str {
        match cx.identity() {
            Identity::Bearer(_) => "bearer",
            Identity::Configured => self.config.auth.kind(),
        }
    }

    /// The signed request for `cx`.
    fn build(&self, cx: &CallContext, call: &Call) -> Result<UpstreamRequest> {
        let mut request = UpstreamRequest::new(
            call.method.clone(),
            format!("{}{}", self.api_base, call.path),
        )
        .idempotent(call.idempotent);
        request.query = call.query.clone();
        if let Some(body) = &call.body {
            request = request.json(body.clone());
        }
        for (name, value) in &call.headers {
            let name = HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
                .map_err(|_| Error::config("invalid header name"))?;
            let value =
                HeaderValue::from_str(value).map_err(|_| Error::config("invalid header value"))?;
            request = request.header(name, value);
        }
        let (name, value) = match cx.identity() {
            Identity::Bearer(token) => ("x-api-key", token.expose_secret().to_owned()),
            Identity::Configured => match &self.config.auth {
                Auth::ApiKey(key) => ("x-api-key", key.expose_secret().to_owned()),
                Auth::Hmac { key, secret } => (
                    "x-hmac-authorization",
                    auth::hmac_header(
                        key.expose_secret(),
                        secret.expose_secret(),
                        call.method.as_str(),
                        &call.path,
                    ),
                ),
                Auth::Basic { username, password } => (
                    "espo-authorization",
                    auth::espo_authorization(username, password.expose_secret()),
                ),
                Auth::None => {
                    return Err(Error::new(
                        crmgate_core::ErrorCode::AuthFailed,
                        "no EspoCRM credentials: this server has none configured and the call brought none",
                        "send an EspoCRM API key as the bearer token, or configure api_key_env for this CRM",
                    ));
                }
            },
        };
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            Error::config("the EspoCRM credential contains characters not allowed in a header")
        })?;
        value.set_sensitive(true);
        Ok(request.header(HeaderName::from_static(name), value))
    }

    /// Send a call; any 2xx–4xx answer comes back. Failed answers (5xx, 429 after retries)
    /// and transport failures are errors — `OUTCOME_UNKNOWN` for a write that may have been
    /// applied — with EspoCRM's `X-Status-Reason` when it gave one.
    pub async fn send(&self, cx: &CallContext, call: Call) -> Result<UpstreamResponse> {
        let request = self.build(cx, &call)?;
        self.upstream
            .send(cx, request)
            .await
            .map_err(crate::errors::failed_answer)
    }

    /// Send a call and map any non-2xx answer to an error described by `what`.
    pub async fn expect(
        &self,
        cx: &CallContext,
        call: Call,
        what: Ctx<'_>,
    ) -> Result<UpstreamResponse> {
        let response = self.send(cx, call).await?;
        if response.is_success() {
            Ok(response)
        } else {
            Err(map_error(&response, &what))
        }
    }
}
