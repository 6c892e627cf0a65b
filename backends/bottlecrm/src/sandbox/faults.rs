//! Fault injection: answers the sandbox gives instead of the real one, for the next `times`
//! matching requests. Every faulted request is still counted in the request log.

use std::time::Duration;

/// What a fault answers.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// A status with a body and content type, optionally a `Retry-After`.
    Status {
        /// HTTP status.
        status: u16,
        /// Body.
        body: String,
        /// Content type.
        content_type: &'static str,
        /// `Retry-After` seconds.
        retry_after: Option<u64>,
    },
    /// 200 with a body that is not JSON.
    Malformed,
    /// Wait, then answer normally.
    Delay(Duration),
    /// 200 with a JSON body of about this many bytes.
    Huge(usize),
    /// Close the connection without an answer.
    Drop,
    /// Handle the request for real — a write is applied — then answer with the inner fault
    /// instead (a 5xx page, a dropped connection, or a delay before the real answer).
    AfterApplying(Box<FaultKind>),
}

/// One injected fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// Only requests whose path starts with this (e.g. `/api/leads/`); `None`: any.
    pub path_prefix: Option<String>,
    /// Only this method (e.g. `POST`); `None`: any.
    pub method: Option<String>,
    /// The answer.
    pub kind: FaultKind,
    /// How many requests it applies to.
    pub times: usize,
}

impl Fault {
    /// A fault for the next request, any path.
    pub fn new(kind: FaultKind) -> Self {
        Fault {
            path_prefix: None,
            method: None,
            kind,
            times: 1,
        }
    }

    /// `status` with a JSON body.
    pub fn status(status: u16, body: serde_json::Value) -> Self {
        Fault::new(FaultKind::Status {
            status,
            body: body.to_string(),
            content_type: "application/json",
            retry_after: None,
        })
    }

    /// 429 with `Retry-After`.
    pub fn rate_limited(retry_after_s: u64) -> Self {
        Fault::new(FaultKind::Status {
            status: 429,
            body: r#"{"detail": "Request was throttled."}"#.into(),
            content_type: "application/json",
            retry_after: Some(retry_after_s),
        })
    }

    /// 503, as a proxy in front of BottleCRM answers when it is down.
    pub fn unavailable() -> Self {
        Fault::new(FaultKind::Status {
            status: 503,
            body: "<html><body><h1>503 Service Unavailable</h1></body></html>".into(),
            content_type: "text/html",
            retry_after: None,
        })
    }

    /// Django's HTML 500 page.
    pub fn server_error() -> Self {
        Fault::new(FaultKind::Status {
            status: 500,
            body: super::router::HTML_500.into(),
            content_type: "text/html",
            retry_after: None,
        })
    }

    /// Apply the request, then answer with `after` instead of the real answer.
    pub fn after_applying(after: Fault) -> Self {
        Fault::new(FaultKind::AfterApplying(Box::new(after.kind)))
    }

    /// Close the connection without an answer.
    pub fn drop_connection() -> Self {
        Fault::new(FaultKind::Drop)
    }

    /// Wait `d`, then answer normally.
    pub fn delay(d: Duration) -> Self {
        Fault::new(FaultKind::Delay(d))
    }

    /// 200 with a body that is not JSON.
    pub fn malformed() -> Self {
        Fault::new(FaultKind::Malformed)
    }

    /// Apply to `n` requests.
    pub fn times(mut self, n: usize) -> Self {
        self.times = n;
        self
    }

    /// Only requests under this path.
    pub fn on_path(mut self, prefix: &str) -> Self {
        self.path_prefix = Some(prefix.to_owned());
        self
    }

    /// Only requests with this method.
    pub fn on_method(mut self, method: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    /// Whether it applies to a request.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.times > 0
            && self.method.as_deref().is_none_or(|m| m == method)
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|p| path.starts_with(p))
    }
}
