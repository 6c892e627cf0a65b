//! Fault injection and the request log. Tests queue faults (served instead of the real answer,
//! one per matching request) or set a latency, and count what reached the sandbox.

use super::respond::Answer;
use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// One injected misbehaviour.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer this status with this `X-Status-Reason` (e.g. 500, 503 maintenance).
    Status(u16, Option<String>),
    /// 429 from a proxy in front of EspoCRM, with `Retry-After` seconds.
    RateLimited(u64),
    /// 200 with a body that is not JSON.
    Malformed,
    /// 200 with a JSON body of `bytes` bytes (for size caps).
    Huge(usize),
    /// Close the connection without an answer.
    Drop,
    /// Wait this long, then answer normally (a hung EspoCRM).
    Hang(Duration),
    /// Handle the request normally — a write is applied — then answer with the inner fault
    /// instead of the real answer (5xx after the write, a dropped connection, a hang).
    Applied(Box<Fault>),
}

/// A fault waiting for a request whose path contains `path` (empty: any request).
#[derive(Debug, Clone)]
struct Pending {
    fault: Fault,
    path: String,
    method: Option<String>,
}

/// One request as it reached the sandbox. Credentials are not kept, only which kind came.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    /// HTTP method.
    pub method: String,
    /// Path (with `/api/v1`).
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// `api_key`, `hmac`, `espo`, `basic` or `none`.
    pub auth: &'static str,
    /// `X-No-Total: true` was sent.
    pub no_total: bool,
    /// `X-Skip-Duplicate-Check: true` was sent.
    pub skip_duplicate_check: bool,
    /// `X-Version-Number`, when sent.
    pub version_number: Option<String>,
    /// The JSON body, if any.
    pub body: Option<serde_json::Value>,
}

/// Faults to serve and requests seen.
#[derive(Debug, Default)]
pub struct Faults {
    pending: Mutex<VecDeque<Pending>>,
    latency: Mutex<Duration>,
    log: Mutex<Vec<Logged>>,
}

impl Faults {
    /// Queue a fault for the next request (any path).
    pub fn push(&self, fault: Fault) {
        self.push_for(fault, "", None);
    }

    /// Queue a fault for the next request whose path contains `path` (and method, if given).
    pub fn push_for(&self, fault: Fault, path: &str, method: Option<&str>) {
        lock(&self.pending).push_back(Pending {
            fault,
            path: path.to_owned(),
            method: method.map(str::to_ascii_uppercase),
        });
    }

    /// Delay every answer.
    pub fn set_latency(&self, latency: Duration) {
        *lock(&self.latency) = latency;
    }

    /// Record a request.
    pub fn record(&self, entry: Logged) {
        lock(&self.log).push(entry);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Logged> {
        lock(&self.log).clone()
    }

    /// Forget the log.
    pub fn clear(&self) {
        lock(&self.log).clear();
    }

    /// The latency to apply.
    pub fn latency(&self) -> Duration {
        *lock(&self.latency)
    }

    /// The fault for this request, if one waits for it (consumed).
    pub fn take(&self, method: &str, path: &str) -> Option<Fault> {
        let mut pending = lock(&self.pending);
        let at = pending.iter().position(|p| {
            path.contains(&p.path) && p.method.as_deref().is_none_or(|m| m == method)
        })?;
        pending.remove(at).map(|p| p.fault)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The response of a fault; `None` means drop the connection. `Hang` and `Applied` are
/// handled where the request is served.
pub fn respond(fault: &Fault) -> Option<Response> {
    match fault {
        Fault::Hang(_) | Fault::Applied(_) => None,
        Fault::Status(status, reason) => {
            let mut a = Answer::bare(*status);
            a.reason = reason.clone();
            Some(a.into_response())
        }
        Fault::RateLimited(secs) => {
            let mut r = Response::new(Body::from("Too Many Requests"));
            *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            if let Ok(v) = secs.to_string().parse() {
                r.headers_mut().insert("retry-after", v);
            }
            Some(r)
        }
        Fault::Malformed => {
            let mut r = Response::new(Body::from("{\"total\": 3, \"list\": [{\"id\": "));
            r.headers_mut()
                .insert("content-type", "application/json".parse().ok()?);
            Some(r)
        }
        Fault::Huge(bytes) => {
            let filler = "x".repeat(*bytes);
            let body =
                format!("{{\"total\": 1, \"list\": [{{\"id\": \"a\", \"name\": \"{filler}\"}}]}}");
            let mut r = Response::new(Body::from(body));
            r.headers_mut()
                .insert("content-type", "application/json".parse().ok()?);
            Some(r)
        }
        Fault::Drop => None,
    }
}
