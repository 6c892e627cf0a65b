//! The shared HTTP layer every vendor backend sends through: one rustls `reqwest::Client`,
//! client-side rate budgets divided among callers ([`BudgetScope`]; in this process or shared
//! through Redis), in-flight caps per caller and in total, retries that never duplicate a
//! write ([`retry`]), a response size cap, and accounting into the call's `_meta`.
//!
//! [`Upstream::send`] hands back 2xx–4xx answers for the backend to map (it may use
//! [`UpstreamResponse::generic_error`]); failed answers (429, 5xx) that outlast the request's
//! [`RetryPolicy`], transport failures and refusals before sending come back as a typed
//! [`UpstreamError`] (what happened to the request, and the CRM's answer if any), so a backend
//! can decide from the vendor's own error. One deadline bounds a whole call
//! ([`crate::deadline`]). URLs, query strings, header values and bodies never reach an error
//! message or a log line.

mod limiter;
mod request;
mod retry;

mod failure;

pub use failure::{Delivery, UpstreamError};
pub use limiter::BudgetScope;
pub use request::{RequestBody, RetryPolicy, UpstreamRequest, UpstreamResponse};
pub use retry::parse_retry_after;

use crate::{CallContext, Error, Result};
use bytes::Bytes;
use limiter::Limiters;
use reqwest::Url;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use retry::Failure;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Tuning for one [`Upstream`]; every field has a sensible default.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// The budget of one tool call's upstream work, body reading, retries, backoff and
    /// rate-limit waits included (default 30s): the first request of a call fixes the
    /// deadline at now + `timeout` ([`crate::deadline`]).
    pub timeout: Duration,
    /// TCP/TLS connect timeout (default 5s).
    pub connect_timeout: Duration,
    /// Largest response body accepted (default 8 MiB); bigger is `UPSTREAM_PROTOCOL`.
    pub max_response_bytes: usize,
    /// Sustained requests per second (default 10): per caller, or for the whole instance,
    /// as `budget_scope` says.
    pub rate_per_second: u32,
    /// Requests allowed in a burst (default 20).
    pub burst: u32,
    /// How the budget is divided among callers (default per caller: a CRM with no server-side
    /// limit; Bitrix24 sets a fair pool per portal).
    pub budget_scope: BudgetScope,
    /// Where budgets live: `None` for a private in-process budget; the binary passes the
    /// process's `SharedState` (through Redis when `[redis]` is set).
    pub shared: Option<crmgate_shared::SharedState>,
    /// Longest wait for the rate limiter before failing with `RATE_LIMITED` (default 5s).
    pub max_wait: Duration,
    /// Requests in flight at once to this instance, all callers together (default 64).
    pub max_concurrency: usize,
    /// Requests of one caller in flight at once (default 8).
    pub max_concurrency_per_caller: usize,
    /// Retries after the first attempt (default 2, so at most 3 attempts).
    pub max_retries: u32,
    /// First backoff; doubles per retry, full jitter, capped at 5s (default 200ms).
    pub base_backoff: Duration,
    /// Longest `Retry-After` honoured by waiting (default 10s); longer gives up at once.
    pub max_retry_after: Duration,
    /// `User-Agent` sent with every request (default `crmgate/<version>`).
    pub user_agent: String,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            max_response_bytes: 8 * 1024 * 1024,
            rate_per_second: 10,
            burst: 20,
            budget_scope: BudgetScope::PerCaller,
            shared: None,
            max_wait: Duration::from_secs(5),
            max_concurrency: 64,
            max_concurrency_per_caller: 8,
            max_retries: 2,
            base_backoff: Duration::from_millis(200),
            max_retry_after: Duration::from_secs(10),
            user_agent: concat!("crmgate/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// The HTTP layer of one backend instance. Cheap to clone; clones share client, limits and
/// concurrency cap.
#[derive(Debug, Clone)]
pub struct Upstream {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The clients, each built on first use ([`Upstream::client`]): one for `https://` URLs,
    /// with the system's trusted roots (loading them costs more than the rest of start-up
    /// together, and a session that never reaches the CRM never needs them), and one for
    /// `http://` URLs, which never verifies a certificate and so loads no roots.
    tls_client: OnceLock<reqwest::Client>,
    plain_client: OnceLock<reqwest::Client>,
    user_agent: HeaderValue,
    limiters: Limiters,
    config: UpstreamConfig,
}

impl Upstream {
    /// Build the client and limiters. Zero rates or concurrency, or an invalid user agent, are
    /// `CONFIG` errors.
    pub fn new(config: UpstreamConfig) -> Result<Self> {
        let user_agent = HeaderValue::from_str(&config.user_agent)
            .map_err(|_| Error::config("upstream user_agent is not a valid header value"))?;
        let limiters = Limiters::new(&config)?;
        Ok(Upstream {
            inner: Arc::new(Inner {
                tls_client: OnceLock::new(),
                plain_client: OnceLock::new(),
                user_agent,
                limiters,
                config,
            }),
        })
    }

    /// The shared client for `https://` URLs (`tls`) or `http://` ones, built on its first use.
    /// `CONFIG` if it could not be set up. Redirects are followed within the first URL's origin
    /// only, so a client never meets the other scheme.
    fn client(&self, tls: bool) -> Result<&reqwest::Client> {
        let slot = if tls {
            &self.inner.tls_client
        } else {
            &self.inner.plain_client
        };
        if let Some(client) = slot.get() {
            return Ok(client);
        }
        let config = &self.inner.config;
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(self.inner.user_agent.clone())
            .redirect(same_origin_redirects());
        if !tls {
            // no root is trusted: nothing is verified over plain HTTP, and the system's roots
            // (a few hundred KB parsed) stay unread
            builder = builder.tls_certs_only([]);
        }
        let built = builder
            .build()
            .map_err(|_| Error::config("could not build the HTTP client (TLS setup failed)"))?;
        // two first calls at once may both build one; the first stored is the one kept
        Ok(slot.get_or_init(|| built))
    }

    /// Send `request` for `cx` under the rate limits, concurrency cap, retry policy and the
    /// call's deadline ([`crate::deadline`]: the first request of a call fixes it at now +
    /// `timeout`, and every attempt, backoff and wait of the call stays within it).
    ///
    /// Any 2xx, 3xx or 4xx answer comes back as a response for the backend to map. A failed
    /// answer (429 or 5xx) that outlasts the request's [`RetryPolicy`], a transport failure,
    /// and a refusal before sending (rate limit, spent deadline) come back as an
    /// [`UpstreamError`] saying whether the request may have reached the CRM and carrying the
    /// answer, if any. A write is sent again only when its connection never opened; once it may
    /// have been sent, a failure is `OUTCOME_UNKNOWN`.
    pub async fn send(
        &self,
        cx: &CallContext,
        request: UpstreamRequest,
    ) -> std::result::Result<UpstreamResponse, UpstreamError> {
        let config = &self.inner.config;
        let url = Url::parse(&request.url).map_err(|e| {
            UpstreamError::not_sent(Error::config(format!("the CRM's URL is invalid: {e}")))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(UpstreamError::not_sent(Error::config(
                "the CRM's URL must start with http:// or https://",
            )));
        }
        let host = url.host_str().unwrap_or("").to_owned();
        let instance = url.origin().ascii_serialization();
        let body = request
            .body
            .as_ref()
            .map(RequestBody::encode)
            .transpose()
            .map_err(UpstreamError::not_sent)?;
        let client = self
            .client(url.scheme() == "https")
            .map_err(UpstreamError::not_sent)?;
        let deadline = crate::deadline::fix(config.timeout);
        let wrote = !request.idempotent;
        // the last failure, returned when the deadline leaves no room for another attempt
        let mut last: Option<UpstreamError> = None;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let retries_left = attempt <= config.max_retries;
            let max_wait = config.max_wait.min(deadline.remaining());
            if let Err(e) = self
                .inner
                .limiters
                .acquire(&instance, cx.scope(), max_wait)
                .await
            {
                return Err(last.unwrap_or_else(|| UpstreamError::not_sent(e)));
            }
            if deadline.passed() {
                return Err(last.unwrap_or_else(|| spent(deadline)));
            }
            let started = Instant::now();
            let outcome = {
                let slot = self.inner.limiters.slot(cx.scope(), deadline.remaining());
                let Some(_slot) = slot.await else {
                    return Err(last.unwrap_or_else(|| spent(deadline)));
                };
                crate::meta::record_upstream_call();
                self.attempt(client, &request, &url, body.as_ref(), deadline)
                    .await
            };
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let wait = match outcome {
                Ok(response) => {
                    tracing::debug!(
                        method = %request.method, host = %host, status = response.status.as_u16(),
                        attempt, elapsed_ms, "upstream call"
                    );
                    if !response.is_failed_answer() {
                        return Ok(response);
                    }
                    let retry = request.idempotent
                        && retries_left
                        && request.retry.retries_answer(&response);
                    let retry_after = response.retry_after();
                    let failed = UpstreamError::answered(response, wrote);
                    if !retry {
                        return Err(failed);
                    }
                    let wait = match retry_after {
                        Some(ra) if ra > config.max_retry_after => return Err(failed),
                        Some(ra) => ra,
                        None => retry::backoff(config.base_backoff, attempt),
                    };
                    last = Some(failed);
                    wait
                }
                Err(failure) => {
                    tracing::debug!(
                        method = %request.method, host = %host, error = %failure.error.code,
                        attempt, elapsed_ms, "upstream call failed"
                    );
                    let delivery = match failure.kind {
                        retry::FailureKind::Connect | retry::FailureKind::Unsendable => {
                            Delivery::NotSent
                        }
                        retry::FailureKind::Transient => Delivery::Unknown,
                        retry::FailureKind::Fatal => Delivery::Answered,
                    };
                    let may_retry = retries_left
                        && request.retry.retries_transport()
                        && failure.may_retry(request.idempotent);
                    let failed = UpstreamError {
                        error: failure.error,
                        delivery,
                        answer: None,
                    };
                    if !may_retry {
                        return Err(failed);
                    }
                    last = Some(failed);
                    retry::backoff(config.base_backoff, attempt)
                }
            };
            if wait >= deadline.remaining() {
                // no room for another attempt: the last failure stands
                return Err(last.unwrap_or_else(|| spent(deadline)));
            }
            crate::meta::record_retry(attempt + 1, wait);
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt: send, then read the body under the size cap.
    async fn attempt(
        &self,
        client: &reqwest::Client,
        request: &UpstreamRequest,
        url: &Url,
        body: Option<&(Bytes, HeaderValue)>,
        deadline: crate::deadline::Deadline,
    ) -> std::result::Result<UpstreamResponse, Failure> {
        let config = &self.inner.config;
        let mut builder = client
            .request(request.method.clone(), url.clone())
            .headers(request.headers.clone())
            .timeout(deadline.remaining().min(config.timeout));
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        if let Some((bytes, content_type)) = body {
            if !request.headers.contains_key(CONTENT_TYPE) {
                builder = builder.header(CONTENT_TYPE, content_type.clone());
            }
            builder = builder.body(bytes.clone());
        }
        let budget_s = deadline.budget_s();
        let failure = |e| Failure::from_reqwest(e, budget_s, !request.idempotent);
        let mut response = builder.send().await.map_err(failure)?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let cap = config.max_response_bytes;
        let too_large = || {
            Failure::fatal(Error::upstream_protocol(format!(
                "response larger than {cap} bytes"
            )))
        };
        let declared = response.content_length();
        if declared.is_some_and(|len| len > cap as u64) {
            return Err(too_large());
        }
        let mut buffer = Vec::with_capacity(declared.map_or(0, |len| len as usize));
        while let Some(chunk) = response.chunk().await.map_err(failure)? {
            if buffer.len() + chunk.len() > cap {
                return Err(too_large());
            }
            buffer.extend_from_slice(&chunk);
        }
        Ok(UpstreamResponse {
            status,
            headers,
            body: Bytes::from(buffer),
        })
    }
}

/// Follow at most five redirects, and only within the origin (scheme, host, port) the request
/// started at: a vendor's API-key header must never be forwarded to another host, and an
/// https request must never be downgraded. A redirect elsewhere is handed back as the 3xx.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().map(Url::origin);
        if attempt.previous().len() > 5 {
            attempt.error("too many redirects")
        } else if first.is_some_and(|origin| origin != attempt.url().origin()) {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

/// `UPSTREAM_TIMEOUT` before anything (more) was sent: the call's budget is spent.
fn spent(deadline: crate::deadline::Deadline) -> UpstreamError {
    UpstreamError::not_sent(Error::new(
        crate::ErrorCode::UpstreamTimeout,
        format!(
            "this call used up its {}s budget before the CRM answered; nothing more was sent",
            deadline.budget_s()
        ),
        "try again later, or ask for less (fewer records or fields)",
    ))
}
