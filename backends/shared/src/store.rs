//! The connection to Redis that every shared primitive uses, and its health: shared or local
//! fallback, with the transitions between them.
//!
//! - **No I/O at start-up.** The connection manager is lazy; the first operation connects.
//! - **Never block a call for long.** Each operation gets `op_timeout`; a failure or timeout
//!   switches the store to [`Mode::LocalFallback`] and the operation is answered locally.
//! - **No retries on the call path while Redis is down.** In fallback, operations go straight to
//!   the local state; one background probe (exponential backoff with jitter, 100 ms to 5 s)
//!   runs a real script step against Redis and switches back to [`Mode::Shared`] when it works.
//!   Only the probe returns the store to shared, so a late success of an operation that started
//!   before the failure cannot make it flap.
//! - **Logged once per transition**, never per call; the URL (which may hold a password) and
//!   error texts are never logged, only the [`FailureKind`].

use crate::config::RedisSettings;
use crate::health::{FailureKind, Health, Mode};
use rand::Rng;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisResult, Script};
use secrecy::ExposeSecret;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Weak};
use std::time::Duration;

/// The plain GCRA step (`scripts/gcra.lua`).
pub(crate) static GCRA: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/gcra.lua")));
/// The fair pool step (`scripts/fair.lua`).
pub(crate) static FAIR: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/fair.lua")));
/// Set an expiring flag without shortening it (`scripts/set_longer.lua`).
pub(crate) static SET_LONGER: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/set_longer.lua")));

/// The probe's first and longest pause between attempts.
const PROBE_MIN: Duration = Duration::from_millis(100);
const PROBE_MAX: Duration = Duration::from_secs(5);
/// The probe is not on a call's path: it may wait longer for an answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// A lazily connected Redis with a health state. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: ConnectionManager,
    prefix: String,
    op_timeout: Duration,
    replicas: u32,
    mode: AtomicU8,
    last_error: AtomicU8,
    transitions: AtomicU64,
    shared_ops: AtomicU64,
    fallback_ops: AtomicU64,
    probing: AtomicBool,
}

impl std::fmt::Debug for RedisStore {
    // the connection manager's Debug shows the connection info, password included
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.inner.prefix)
            .field("mode", &self.mode())
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store for `settings`. Does no I/O; must be called inside a tokio runtime.
    pub fn new(settings: &RedisSettings) -> RedisResult<RedisStore> {
        let client = redis::Client::open(settings.url.expose_secret())?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.op_timeout.max(Duration::from_millis(250))))
            .set_response_timeout(Some(settings.op_timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(200));
        let conn = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(RedisStore {
            inner: Arc::new(Inner {
                conn,
                prefix: settings.key_prefix.clone(),
                op_timeout: settings.op_timeout,
                replicas: settings.replicas,
                mode: AtomicU8::new(Mode::Pending.as_u8()),
                last_error: AtomicU8::new(0),
                transitions: AtomicU64::new(0),
                shared_ops: AtomicU64::new(0),
                fallback_ops: AtomicU64::new(0),
                probing: AtomicBool::new(false),
            }),
        })
    }

    /// Where the state lives now.
    pub fn mode(&self) -> Mode {
        Mode::from_u8(self.inner.mode.load(Ordering::Acquire))
    }

    /// The configured replica count.
    pub fn replicas(&self) -> u32 {
        self.inner.replicas
    }

    /// A health snapshot; `local_keys` is left for the caller to fill in.
    pub fn health(&self) -> Health {
        let inner = &self.inner;
        Health {
            mode: self.mode(),
            last_error: FailureKind::from_u8(inner.last_error.load(Ordering::Relaxed)),
            transitions: inner.transitions.load(Ordering::Relaxed),
            shared_ops: inner.shared_ops.load(Ordering::Relaxed),
            fallback_ops: inner.fallback_ops.load(Ordering::Relaxed),
            replicas: inner.replicas,
            local_keys: 0,
        }
    }

    /// The full key for `kind` and a hash-tagged `tag` (kept in one cluster slot with anything
    /// else sharing the tag), plus an optional suffix.
    pub(crate) fn key(&self, kind: &str, tag: &str, suffix: &str) -> String {
        format!(
            "{}{kind}:{{{}}}{suffix}",
            self.inner.prefix,
            crate::keys::escape_braces(tag)
        )
    }

    /// A connection handle (cheap clone of the manager).
    pub(crate) fn conn(&self) -> ConnectionManager {
        self.inner.conn.clone()
    }

    /// Run one operation against Redis within `op_timeout`. `None` means "answer locally":
    /// the store is in fallback, or this operation failed (which starts the fallback).
    pub(crate) async fn run<T>(&self, op: impl Future<Output = RedisResult<T>>) -> Option<T> {
        if self.mode() == Mode::LocalFallback {
            self.inner.fallback_ops.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let outcome = match tokio::time::timeout(self.inner.op_timeout, op).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(FailureKind::of(&e)),
            Err(_) => Err(FailureKind::Timeout),
        };
        match outcome {
            Ok(value) => {
                self.inner.shared_ops.fetch_add(1, Ordering::Relaxed);
                if self
                    .inner
                    .mode
                    .compare_exchange(
                        Mode::Pending.as_u8(),
                        Mode::Shared.as_u8(),
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    )
                    .is_ok()
                {
                    tracing::info!(
                        prefix = %self.inner.prefix,
                        "shared state: connected to Redis; rate budgets, vendor blocks and \
                         rejected credentials are shared by every replica"
                    );
                }
                Some(value)
            }
            Err(kind) => {
                self.inner.fallback_ops.fetch_add(1, Ordering::Relaxed);
                self.fail(kind);
                None
            }
        }
    }

    /// Record a failure; on the transition into fallback, log once and start the probe.
    fn fail(&self, kind: FailureKind) {
        self.inner.last_error.store(kind.as_u8(), Ordering::Relaxed);
        let previous = self
            .inner
            .mode
            .swap(Mode::LocalFallback.as_u8(), Ordering::AcqRel);
        if Mode::from_u8(previous) == Mode::LocalFallback {
            return;
        }
        self.inner.transitions.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            error = kind.as_str(),
            replicas = self.inner.replicas,
            "shared state: Redis is unavailable; using local limits (1/{} of each shared \
             budget) until it returns",
            self.inner.replicas
        );
        self.start_probe();
    }

    fn start_probe(&self) {
        if self.inner.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(probe(weak));
    }
}

/// Wait for Redis to answer a real script step again, then switch back to shared.
async fn probe(weak: Weak<Inner>) {
    let mut pause = PROBE_MIN;
    loop {
        let jitter = rand::rng().random_range(0.8..1.2);
        tokio::time::sleep(pause.mul_f64(jitter)).await;
        let Some(inner) = weak.upgrade() else {
            return; // the store is gone
        };
        let store = RedisStore { inner };
        let key = store.key("probe", "health", "");
        let mut conn = store.conn();
        let attempt = tokio::time::timeout(PROBE_TIMEOUT, async {
            GCRA.key(&key)
                .arg(1u64)
                .arg(1_000_000u64)
                .arg(0u64)
                .invoke_async::<(i64, i64)>(&mut conn)
                .await
        })
        .await;
        match attempt {
            Ok(Ok(_)) => {
                let inner = &store.inner;
                inner.probing.store(false, Ordering::Release);
                if inner
                    .mode
                    .compare_exchange(
                        Mode::LocalFallback.as_u8(),
                        Mode::Shared.as_u8(),
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    )
                    .is_ok()
                {
                    inner.transitions.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(
                        "shared state: Redis is reachable again; budgets are shared by every \
                         replica"
                    );
                }
                return;
            }
            Ok(Err(e)) => store
                .inner
                .last_error
                .store(FailureKind::of(&e).as_u8(), Ordering::Relaxed),
            Err(_) => store
                .inner
                .last_error
                .store(FailureKind::Timeout.as_u8(), Ordering::Relaxed),
        }
        pause = (pause * 2).min(PROBE_MAX);
    }
}
