//! The shared HTTP layer every vendor backend sends through: one rustls `reqwest::Client`,
//! client-side rate limits ([`limiter`]), a concurrency cap, retries that never duplicate a
//! write ([`retry`]), a response size cap, and accounting into the call's `_meta`.
//!
//! [`Upstream::send`] hands back any HTTP status for the backend to map (it may use
//! [`UpstreamResponse::generic_error`]); only "the CRM is overloaded" statuses that outlast the
//! retry policy (429, 502, 503, 504) and transport failures come back as errors. URLs, query
//! strings, header values and bodies never reach an error message or a log line.

mod limiter;
mod request;
mod retry;

pub use request::{RequestBody, UpstreamRequest, UpstreamResponse};
pub use retry::parse_retry_after;

use crate::{CallContext, Error, Result};
use bytes::Bytes;
use limiter::Limiters;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{StatusCode, Url};
use retry::Failure;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Tuning for one [`Upstream`]; every field has a sensible default.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    /// Whole-request timeout, body included (default 30s).
    pub timeout: Duration,
    /// TCP/TLS connect timeout (default 5s).
    pub connect_timeout: Duration,
    /// Largest response body accepted (default 8 MiB); bigger is `UPSTREAM_PROTOCOL`.
    pub max_response_bytes: usize,
    /// Sustained requests per second to this backend instance (default 10).
    pub rate_per_second: u32,
    /// Requests allowed in a burst (default 20).
    pub burst: u32,
    /// Optional per-caller rate (hosted mode), keyed by [`CallContext::scope`].
    pub per_caller_rate_per_second: Option<u32>,
    /// Longest wait for the rate limiter before failing with `RATE_LIMITED` (default 5s).
    pub max_wait: Duration,
    /// Requests in flight at once (default 8).
    pub max_concurrency: usize,
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
            per_caller_rate_per_second: None,
            max_wait: Duration::from_secs(5),
            max_concurrency: 8,
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
    client: reqwest::Client,
    limiters: Limiters,
    semaphore: Semaphore,
    config: UpstreamConfig,
}

impl Upstream {
    /// Build the client and limiters. Zero rates or concurrency, or an invalid user agent, are
    /// `CONFIG` errors.
    pub fn new(config: UpstreamConfig) -> Result<Self> {
        if config.max_concurrency == 0 {
            return Err(Error::config("upstream max_concurrency must be at least 1"));
        }
        let user_agent = HeaderValue::from_str(&config.user_agent)
            .map_err(|_| Error::config("upstream user_agent is not a valid header value"))?;
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(user_agent)
            .redirect(same_origin_redirects())
            .build()
            .map_err(|_| Error::config("could not build the HTTP client (TLS setup failed)"))?;
        let limiters = Limiters::new(
            config.rate_per_second,
            config.burst,
            config.per_caller_rate_per_second,
            config.max_wait,
        )?;
        let permits = config.max_concurrency.min(Semaphore::MAX_PERMITS);
        Ok(Upstream {
            inner: Arc::new(Inner {
                client,
                limiters,
                semaphore: Semaphore::new(permits),
                config,
            }),
        })
    }

    /// The shared client, for the rare call that must bypass [`Upstream::send`].
    pub fn client(&self) -> &reqwest::Client {
        &self.inner.client
    }

    /// Send `request` for `cx` under the rate limits, concurrency cap and retry policy.
    ///
    /// Returns the response for any status, except: 429 after retries is `RATE_LIMITED`;
    /// 502/503/504 after retries is `UPSTREAM_UNAVAILABLE`; a timeout is `UPSTREAM_TIMEOUT`;
    /// a connection failure is `UPSTREAM_UNAVAILABLE`; an oversized body is `UPSTREAM_PROTOCOL`.
    /// A non-idempotent request is repeated only when its connection was never established.
    pub async fn send(
        &self,
        cx: &CallContext,
        request: UpstreamRequest,
    ) -> Result<UpstreamResponse> {
        let config = &self.inner.config;
        let url = Url::parse(&request.url)
            .map_err(|e| Error::config(format!("the CRM's URL is invalid: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::config(
                "the CRM's URL must start with http:// or https://",
            ));
        }
        let host = url.host_str().unwrap_or("").to_owned();
        let body = request.body.as_ref().map(RequestBody::encode).transpose()?;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let retries_left = attempt <= config.max_retries;
            self.inner.limiters.acquire(cx.scope()).await?;
            let started = Instant::now();
            let outcome = {
                let _permit = self
                    .inner
                    .semaphore
                    .acquire()
                    .await
                    .map_err(|_| Error::config("the upstream layer was shut down"))?;
                crate::meta::record_upstream_call();
                self.attempt(&request, &url, body.as_ref()).await
            };
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let wait = match outcome {
                Ok(response) => {
                    tracing::debug!(
                        method = %request.method, host = %host, status = response.status.as_u16(),
                        attempt, elapsed_ms, "upstream call"
                    );
                    if !is_overloaded(response.status) {
                        return Ok(response);
                    }
                    let retry_after = response.retry_after();
                    let mut error = response.generic_error();
                    if !request.idempotent && response.status != StatusCode::TOO_MANY_REQUESTS {
                        error = warn_not_retried(error);
                    }
                    if !request.idempotent || !retries_left {
                        return Err(error);
                    }
                    match retry_after {
                        Some(ra) if ra > config.max_retry_after => return Err(error),
                        Some(ra) => ra,
                        None => retry::backoff(config.base_backoff, attempt),
                    }
                }
                Err(failure) => {
                    tracing::debug!(
                        method = %request.method, host = %host, error = %failure.error.code,
                        attempt, elapsed_ms, "upstream call failed"
                    );
                    if !retries_left || !failure.may_retry(request.idempotent) {
                        let sent = failure.kind == retry::FailureKind::Transient;
                        return Err(if sent && !request.idempotent {
                            warn_not_retried(failure.error)
                        } else {
                            failure.error
                        });
                    }
                    retry::backoff(config.base_backoff, attempt)
                }
            };
            crate::meta::record_retry(attempt + 1, wait);
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt: send, then read the body under the size cap.
    async fn attempt(
        &self,
        request: &UpstreamRequest,
        url: &Url,
        body: Option<&(Bytes, HeaderValue)>,
    ) -> std::result::Result<UpstreamResponse, Failure> {
        let config = &self.inner.config;
        let mut builder = self
            .inner
            .client
            .request(request.method.clone(), url.clone())
            .headers(request.headers.clone());
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        if let Some((bytes, content_type)) = body {
            if !request.headers.contains_key(CONTENT_TYPE) {
                builder = builder.header(CONTENT_TYPE, content_type.clone());
            }
            builder = builder.body(bytes.clone());
        }
        let failure = |e| Failure::from_reqwest(e, config.timeout);
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

/// Statuses that mean "overloaded or briefly down": retried for idempotent requests, and
/// errors if they outlast the policy.
fn is_overloaded(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
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

/// Say why a write that may have reached the CRM was not repeated.
fn warn_not_retried(mut error: Error) -> Error {
    error.suggestion = format!(
        "{}; this write was not retried automatically because it may already have been \
         applied — check the record before repeating it",
        error.suggestion
    );
    error
}
