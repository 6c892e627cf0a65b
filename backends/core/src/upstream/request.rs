//! What a backend hands the upstream layer ([`UpstreamRequest`]) and what it gets back
//! ([`UpstreamResponse`]), with the default mapping of HTTP statuses to crmgate errors.
//!
//! Nothing here ever copies a URL, query, header value or body into an error message: a
//! Bitrix24 webhook URL carries its secret token, and a CRM's error body may echo input.

use super::retry::{ceil_secs, parse_retry_after};
use crate::{Error, ErrorCode, Result};
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, IntoHeaderName, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

/// One HTTP request to a CRM. Built by a backend, sent by [`super::Upstream::send`].
#[derive(Debug, Clone)]
pub struct UpstreamRequest {
    /// HTTP method.
    pub method: Method,
    /// Absolute `http`/`https` URL. May hold secrets; never logged.
    pub url: String,
    /// Request headers. Mark credentials with [`HeaderValue::set_sensitive`].
    pub headers: HeaderMap,
    /// Query pairs appended to the URL.
    pub query: Vec<(String, String)>,
    /// Request body, if any.
    pub body: Option<RequestBody>,
    /// Whether repeating the request is harmless. Only idempotent requests are retried after
    /// a response or a timeout; writes are retried only if they never reached the server.
    pub idempotent: bool,
    /// What the layer does with a failed answer (429, 5xx) to an idempotent request.
    pub retry: RetryPolicy,
}

/// What the upstream layer does with a failed answer (429 or 5xx) to an idempotent request.
/// Writes are never repeated once sent, whatever the policy; a request whose connection never
/// opened is repeated under every policy but [`RetryPolicy::Never`].
#[derive(Debug, Clone, Copy, Default)]
pub enum RetryPolicy {
    /// Retry 429, 502, 503 and 504 (honouring `Retry-After`), timeouts and broken connections,
    /// within the call's deadline; hand any other 5xx back at once.
    #[default]
    Standard,
    /// The backend judges each failed answer from the vendor's own body: `true` retries it
    /// (with backoff, within the deadline), `false` hands it back at once as an
    /// [`super::UpstreamError`] carrying the answer. Timeouts and broken connections are
    /// retried as under `Standard`.
    Judge(fn(&UpstreamResponse) -> bool),
    /// Never repeat: the first failure comes back.
    Never,
}

impl RetryPolicy {
    /// Whether this policy retries a failed answer with `status` (idempotent requests only).
    pub(crate) fn retries_answer(&self, response: &UpstreamResponse) -> bool {
        match self {
            RetryPolicy::Standard => matches!(response.status.as_u16(), 429 | 502 | 503 | 504),
            RetryPolicy::Judge(judge) => judge(response),
            RetryPolicy::Never => false,
        }
    }

    /// Whether transport failures (timeouts, broken or refused connections) are retried.
    pub(crate) fn retries_transport(&self) -> bool {
        !matches!(self, RetryPolicy::Never)
    }
}

/// A request body; encoded once and reused for every attempt.
#[derive(Debug, Clone)]
pub enum RequestBody {
    /// `application/json`.
    Json(serde_json::Value),
    /// `application/x-www-form-urlencoded`.
    Form(Vec<(String, String)>),
    /// Raw bytes with their content type.
    Bytes(Bytes, HeaderValue),
}

impl RequestBody {
    /// The bytes to send and the default `Content-Type`.
    pub(crate) fn encode(&self) -> Result<(Bytes, HeaderValue)> {
        Ok(match self {
            RequestBody::Json(value) => (
                Bytes::from(serde_json::to_vec(value).map_err(|e| {
                    Error::upstream_protocol(format!("could not encode the request body: {e}"))
                })?),
                HeaderValue::from_static("application/json"),
            ),
            RequestBody::Form(pairs) => (
                Bytes::from(
                    form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(pairs)
                        .finish(),
                ),
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            ),
            RequestBody::Bytes(bytes, content_type) => (bytes.clone(), content_type.clone()),
        })
    }
}

impl UpstreamRequest {
    /// A request with no headers, query or body. GET, HEAD and OPTIONS are idempotent;
    /// everything else is treated as a write.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        let idempotent = matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
        UpstreamRequest {
            method,
            url: url.into(),
            headers: HeaderMap::new(),
            query: Vec::new(),
            body: None,
            idempotent,
            retry: RetryPolicy::Standard,
        }
    }

    /// A GET (idempotent).
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::GET, url)
    }

    /// A POST (not idempotent unless marked so).
    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::POST, url)
    }

    /// Add a header (replacing an earlier value of the same name).
    pub fn header(mut self, name: impl IntoHeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// Append a query pair.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Send a JSON body.
    pub fn json(mut self, value: serde_json::Value) -> Self {
        self.body = Some(RequestBody::Json(value));
        self
    }

    /// Send a form-encoded body.
    pub fn form(mut self, pairs: Vec<(String, String)>) -> Self {
        self.body = Some(RequestBody::Form(pairs));
        self
    }

    /// Override whether the request may be repeated (e.g. a read-only POST search).
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Set the retry policy for failed answers.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }
}

/// A CRM's answer, body fully read (and capped).
#[derive(Debug, Clone)]
pub struct UpstreamResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body, at most `max_response_bytes` long.
    pub body: Bytes,
}

impl UpstreamResponse {
    /// Deserialize the body as JSON. Malformed JSON is `UPSTREAM_PROTOCOL`; the message gives
    /// serde's reason and position but never the body's content.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::upstream_protocol(format!(
                "the CRM answered with malformed JSON: {}",
                redact_quoted(&e.to_string())
            ))
        })
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// A header's value, if present and valid text.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// `Retry-After`, if present and parseable.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.headers
            .get(RETRY_AFTER)?
            .to_str()
            .ok()
            .and_then(parse_retry_after)
    }

    /// Whether this is a failed answer: 429 or any 5xx. The upstream layer hands these back as
    /// [`super::UpstreamError`]s, never as responses.
    pub fn is_failed_answer(&self) -> bool {
        self.status == StatusCode::TOO_MANY_REQUESTS || self.status.is_server_error()
    }

    /// The default error for this answer to a request that `wrote` (a non-idempotent one): a
    /// 5xx to a write is `OUTCOME_UNKNOWN` — the CRM may have applied it before failing —
    /// anything else is [`UpstreamResponse::generic_error`].
    pub fn error_for(&self, wrote: bool) -> Error {
        if wrote && self.status.is_server_error() {
            return Error::outcome_unknown(
                format!(
                    "the CRM failed while handling the write (HTTP {}); it may or may not have \
                     been applied",
                    self.status.as_u16()
                ),
                "do not repeat the write blindly: read the record (or search for it) first to \
                 see whether the change is there",
            );
        }
        self.generic_error()
    }

    /// The default mapping of a non-success status to an error, for backends with nothing more
    /// specific to say. Never includes the body.
    pub fn generic_error(&self) -> Error {
        let code = self.status.as_u16();
        let (kind, message, suggestion) = match code {
            400 | 422 => (
                ErrorCode::Validation,
                "the CRM rejected the request as invalid",
                "check the field values against crm_describe and try again",
            ),
            401 => (
                ErrorCode::AuthFailed,
                "the CRM refused the credentials",
                "check the API key or token configured for this CRM (it may have expired)",
            ),
            403 => (
                ErrorCode::PermissionDenied,
                "the CRM user may not do this",
                "ask a CRM administrator for the permission, or act on records you own",
            ),
            404 | 410 => (
                ErrorCode::NotFound,
                "the CRM found no such record or endpoint",
                "check the id, or find the record with crm_search",
            ),
            408 => (
                ErrorCode::UpstreamTimeout,
                "the CRM timed out handling the request",
                "try again later, or ask for less",
            ),
            409 => (
                ErrorCode::Conflict,
                "the record changed or conflicts with another",
                "read the record again with crm_get and retry with its current state",
            ),
            429 => (
                ErrorCode::RateLimited,
                "the CRM is rate-limiting requests",
                "wait retry_after_s seconds and try again; batch reads use fewer requests",
            ),
            500..=599 => (
                ErrorCode::UpstreamUnavailable,
                "the CRM failed or is unavailable",
                "try again later",
            ),
            _ => (
                ErrorCode::UpstreamProtocol,
                "the CRM answered with an unexpected status",
                "retrying will not help — report it with the CRM's version",
            ),
        };
        let error = Error::new(kind, format!("{message} (HTTP {code})"), suggestion);
        let retry_after = self.retry_after().map(ceil_secs);
        match (kind, retry_after) {
            (ErrorCode::RateLimited, ra) => error.with_retry_after(ra.unwrap_or(1)),
            (ErrorCode::UpstreamUnavailable, Some(ra)) => error.with_retry_after(ra),
            _ => error,
        }
    }
}

/// Replace every double-quoted span of a serde message (which quotes input strings verbatim,
/// e.g. `invalid type: string "s3cret"`) with `"…"`.
fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '"' {
            while let Some(inner) = chars.next() {
                match inner {
                    '\\' => {
                        chars.next();
                    }
                    '"' => break,
                    _ => {}
                }
            }
            out.push_str("…\"");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, retry_after: Option<&str>) -> UpstreamResponse {
        let mut headers = HeaderMap::new();
        if let Some(v) = retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from_str(v).unwrap());
        }
        UpstreamResponse {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: Bytes::from_static(br#"{"error":"token s3cret"}"#),
        }
    }

    #[test]
    fn statuses_map_to_codes() {
        let cases = [
            (400, ErrorCode::Validation),
            (422, ErrorCode::Validation),
            (401, ErrorCode::AuthFailed),
            (403, ErrorCode::PermissionDenied),
            (404, ErrorCode::NotFound),
            (409, ErrorCode::Conflict),
            (429, ErrorCode::RateLimited),
            (500, ErrorCode::UpstreamUnavailable),
            (503, ErrorCode::UpstreamUnavailable),
            (418, ErrorCode::UpstreamProtocol),
        ];
        for (status, code) in cases {
            let e = response(status, None).generic_error();
            assert_eq!(e.code, code, "HTTP {status}");
            assert!(!e.message.contains("s3cret") && !e.suggestion.is_empty());
        }
        let e = response(503, None).generic_error();
        assert!(e.retryable && e.retry_after_s.is_none());
        assert_eq!(
            response(503, Some("4")).generic_error().retry_after_s,
            Some(4)
        );
        assert_eq!(
            response(429, Some("9")).generic_error().retry_after_s,
            Some(9)
        );
        assert_eq!(response(429, None).generic_error().retry_after_s, Some(1));
        // a 5xx to a write: the outcome is unknown, never "try again"
        let w = response(500, Some("3")).error_for(true);
        assert_eq!(w.code, ErrorCode::OutcomeUnknown);
        assert!(!w.retryable && w.retry_after_s.is_none());
        assert_eq!(
            response(429, None).error_for(true).code,
            ErrorCode::RateLimited
        );
        assert_eq!(
            response(500, None).error_for(false).code,
            ErrorCode::UpstreamUnavailable
        );
        assert!(response(500, None).is_failed_answer() && response(429, None).is_failed_answer());
        assert!(!response(404, None).is_failed_answer());
    }

    #[test]
    fn json_errors_do_not_echo_strings() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Shape {
            error: u32,
        }
        let e = response(200, None).json::<Shape>().unwrap_err();
        assert_eq!(e.code, ErrorCode::UpstreamProtocol);
        assert!(
            e.message
                .starts_with("the CRM answered with malformed JSON: invalid type")
        );
        assert!(!e.message.contains("s3cret"), "{}", e.message);
        assert_eq!(redact_quoted(r#"a "b\"c" d "e""#), r#"a "…" d "…""#);
    }

    #[test]
    fn builders_set_idempotency_by_method() {
        assert!(UpstreamRequest::get("http://x").idempotent);
        assert!(!UpstreamRequest::post("http://x").idempotent);
        assert!(!UpstreamRequest::new(Method::DELETE, "http://x").idempotent);
        let r = UpstreamRequest::post("http://x")
            .idempotent(true)
            .query("a", "1")
            .json(serde_json::json!({"k": 1}));
        assert!(r.idempotent && r.query.len() == 1 && r.body.is_some());
        let (bytes, ct) = RequestBody::Form(vec![("a b".into(), "c&d".into())])
            .encode()
            .unwrap();
        assert_eq!(
            (&bytes[..], ct.to_str().unwrap()),
            (&b"a+b=c%26d"[..], "application/x-www-form-urlencoded")
        );
    }
}
