//! The sandbox's state: the portal's records and dictionaries, its credentials, the leaky
//! bucket (per portal) and the per-method operating-time budget (per credential), injected
//! faults, and the log of requests that reached it.

use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The sandbox's inbound webhook: user 1, every scope.
pub const WEBHOOK_CODE: &str = "sandboxhook7x2k9";
/// A second webhook of user 2 with the `crm` scope only (no `user`).
pub const LIMITED_CODE: &str = "crmonlyhook4q8w1";
/// A valid OAuth access token (user 1).
pub const ACCESS_TOKEN: &str = "sandbox-access-token-1";
/// An OAuth access token that has expired.
pub const EXPIRED_TOKEN: &str = "sandbox-expired-token";
/// The refresh token that renews [`EXPIRED_TOKEN`].
pub const REFRESH_TOKEN: &str = "sandbox-refresh-token";
/// The OAuth app's client id.
pub const CLIENT_ID: &str = "local.sandbox.app";
/// The OAuth app's client secret.
pub const CLIENT_SECRET: &str = "sandbox-client-secret";

/// Tuning of a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Leads seeded (at least 300 by default).
    pub leads: usize,
    /// The bucket's threshold X: a request finding the counter above it gets 503.
    pub bucket_threshold: f64,
    /// The bucket's drain Y, requests per second.
    pub bucket_drain: f64,
    /// Operating-time budget per (credential, method) over 10 minutes, seconds.
    pub operating_limit: f64,
    /// Operating time each call of a method costs, seconds.
    pub operating_cost: f64,
    /// Budget only this method (all methods when `None`).
    pub operating_method: Option<String>,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            leads: 320,
            bucket_threshold: 50.0,
            bucket_drain: 2.0,
            operating_limit: 480.0,
            operating_cost: 0.01,
            operating_method: None,
        }
    }
}

/// An injected fault.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer with this status and Bitrix error.
    Error {
        /// HTTP status.
        status: u16,
        /// `error`.
        code: String,
        /// `error_description`.
        description: String,
    },
    /// Answer 200 with a body that is not JSON.
    Malformed,
    /// Wait before answering.
    Delay(Duration),
    /// Close the connection without an answer.
    Drop,
    /// Run the method for real — a write is applied — then answer with the inner fault
    /// instead (an error status, a dropped connection, or a delay before the real answer).
    /// Top-level calls only; inside a batch the command simply runs.
    AfterApplying(Box<Fault>),
}

impl Fault {
    /// A Bitrix error answer.
    pub fn error(status: u16, code: &str, description: &str) -> Fault {
        Fault::Error {
            status,
            code: code.into(),
            description: description.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct FaultRule {
    pub method: Option<String>,
    pub fault: Fault,
    pub remaining: usize,
}

/// One HTTP request that reached the sandbox.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedRequest {
    /// The REST method (`batch` for a batch), or `oauth/token`.
    pub method: String,
    /// Commands, for a batch.
    pub commands: usize,
    /// The HTTP status answered.
    pub status: u16,
    /// The request target as it arrived, after `/rest/` (a webhook's user id and code left
    /// out), with `?query` when one came: exactly what a client put in the URL.
    pub target: String,
    /// The parameters the portal read (query and body merged, `auth` removed); null when
    /// they could not be read.
    pub params: Value,
}

/// The portal's data.
#[derive(Debug, Default)]
pub(crate) struct Data {
    pub items: HashMap<i64, BTreeMap<i64, Map<String, Value>>>,
    pub next_id: HashMap<i64, i64>,
    pub comments: Vec<Map<String, Value>>,
    pub next_comment: i64,
    pub access_tokens: HashSet<String>,
    pub expired_tokens: HashSet<String>,
    pub refresh_tokens: HashSet<String>,
    pub issued: usize,
}

/// Operating time spent by one (credential, method): (Unix time, seconds) per call.
type Spent = VecDeque<(i64, f64)>;

/// The whole sandbox state; shared by the server and the tests.
#[derive(Debug)]
pub struct State {
    pub(crate) options: SandboxOptions,
    pub(crate) data: Mutex<Data>,
    bucket: Mutex<(f64, Instant)>,
    operating: Mutex<HashMap<(String, String), Spent>>,
    faults: Mutex<Vec<FaultRule>>,
    log: Mutex<Vec<LoggedRequest>>,
    requests: AtomicUsize,
    rejected: AtomicUsize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    pub(crate) fn new(options: SandboxOptions, data: Data) -> Self {
        State {
            options,
            data: Mutex::new(data),
            bucket: Mutex::new((0.0, Instant::now())),
            operating: Mutex::new(HashMap::new()),
            faults: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
            requests: AtomicUsize::new(0),
            rejected: AtomicUsize::new(0),
        }
    }

    pub(crate) fn data(&self) -> MutexGuard<'_, Data> {
        lock(&self.data)
    }

    /// HTTP requests that reached the sandbox.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Requests refused by the leaky bucket (503 `QUERY_LIMIT_EXCEEDED`).
    pub fn rejected(&self) -> usize {
        self.rejected.load(Ordering::SeqCst)
    }

    /// The request log.
    pub fn log(&self) -> Vec<LoggedRequest> {
        lock(&self.log).clone()
    }

    /// Forget the log and the counters (not the data).
    pub fn reset_log(&self) {
        lock(&self.log).clear();
        self.requests.store(0, Ordering::SeqCst);
        self.rejected.store(0, Ordering::SeqCst);
    }

    /// Inject `fault` for the next `times` calls of `method` (any method when `None`; inside a
    /// batch, per command).
    pub fn inject(&self, method: Option<&str>, fault: Fault, times: usize) {
        lock(&self.faults).push(FaultRule {
            method: method.map(str::to_owned),
            fault,
            remaining: times,
        });
    }

    /// Drop every injected fault.
    pub fn clear_faults(&self) {
        lock(&self.faults).clear();
    }

    /// Make an access token expire (the next call with it gets `expired_token`).
    pub fn expire_token(&self, token: &str) {
        let mut data = self.data();
        data.access_tokens.remove(token);
        data.expired_tokens.insert(token.to_owned());
    }

    /// Records of an entity type.
    pub fn count(&self, etid: i64) -> usize {
        self.data().items.get(&etid).map_or(0, BTreeMap::len)
    }

    pub(crate) fn take_fault(&self, method: &str) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let i = faults.iter().position(|r| {
            r.remaining > 0
                && r.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
        })?;
        faults[i].remaining -= 1;
        let fault = faults[i].fault.clone();
        faults.retain(|r| r.remaining > 0);
        Some(fault)
    }

    pub(crate) fn record(&self, method: &str, commands: usize, status: u16) {
        self.record_request(method, commands, status, String::new(), Value::Null);
    }

    pub(crate) fn record_request(
        &self,
        method: &str,
        commands: usize,
        status: u16,
        target: String,
        params: Value,
    ) {
        lock(&self.log).push(LoggedRequest {
            method: method.to_owned(),
            commands,
            status,
            target,
            params,
        });
    }

    pub(crate) fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::SeqCst);
    }

    /// The leaky bucket: drain, refuse above the threshold, else add one.
    pub(crate) fn admit(&self) -> bool {
        let mut bucket = lock(&self.bucket);
        let now = Instant::now();
        let drained = now.duration_since(bucket.1).as_secs_f64() * self.options.bucket_drain;
        bucket.0 = (bucket.0 - drained).max(0.0);
        bucket.1 = now;
        if bucket.0 > self.options.bucket_threshold {
            self.rejected.fetch_add(1, Ordering::SeqCst);
            return false;
        }
        bucket.0 += 1.0;
        true
    }

    /// Operating time of (credential, method): `Err(reset_at)` when over the budget, else the
    /// time spent and when the oldest bucket resets.
    pub(crate) fn operating(&self, credential: &str, method: &str) -> Result<(f64, i64), i64> {
        let now = unix_now();
        if self
            .options
            .operating_method
            .as_deref()
            .is_some_and(|m| !m.eq_ignore_ascii_case(method))
        {
            return Ok((0.0, now + 600));
        }
        let mut all = lock(&self.operating);
        let spent = all
            .entry((credential.to_owned(), method.to_owned()))
            .or_default();
        while spent.front().is_some_and(|(at, _)| *at + 600 <= now) {
            spent.pop_front();
        }
        let total: f64 = spent.iter().map(|(_, c)| c).sum();
        let reset = spent.front().map_or(now + 600, |(at, _)| at + 600);
        if total > self.options.operating_limit {
            return Err(reset);
        }
        spent.push_back((now, self.options.operating_cost));
        Ok((total + self.options.operating_cost, reset))
    }
}

/// Seconds since the epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Fractional seconds since the epoch.
pub fn unix_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// ISO 8601 with the portal's offset (+03:00), as Bitrix writes date-times.
pub fn iso(unix: i64) -> String {
    let local = crmgate_core::time::Civil::from_unix(unix + 3 * 3600);
    format!("{}T{}+03:00", local.date(), local.time())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_format_like_bitrix() {
        assert_eq!(iso(0), "1970-01-01T03:00:00+03:00");
        assert_eq!(iso(1_735_689_600), "2025-01-01T03:00:00+03:00");
        assert_eq!(iso(951_782_400), "2000-02-29T03:00:00+03:00");
    }

    #[test]
    fn the_bucket_refuses_above_its_threshold() {
        let options = SandboxOptions {
            bucket_threshold: 3.0,
            bucket_drain: 0.001,
            ..SandboxOptions::default()
        };
        let state = State::new(options, Data::default());
        let admitted = (0..10).filter(|_| state.admit()).count();
        assert_eq!(admitted, 4, "X + 1 requests pass from an empty bucket");
        assert_eq!(state.rejected(), 6);
    }
}
