//! Test harness: the machine's Redis (skipped loudly when absent, a failure under `CI=true`),
//! unique key prefixes so tests run in parallel, Redis time, and private `redis-server`
//! processes that a test may kill and restart.

#![allow(dead_code)]

mod private_redis;
#[allow(unused_imports)] // not every test binary restarts a Redis
pub use private_redis::PrivateRedis;

use crmgate_shared::{RedisConfig, RedisSettings, SharedState};
use secrecy::SecretString;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The Redis the tests use: `CRMGATE_TEST_REDIS_URL`, or the machine's at 127.0.0.1:6379.
pub fn redis_url() -> Option<String> {
    let url = std::env::var("CRMGATE_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    match ping(&url) {
        Ok(()) => Some(url),
        Err(why) => unavailable(&format!(
            "Redis at {} is unreachable ({why})",
            without_password(&url)
        )),
    }
}

/// `url` with any `user:password@` replaced, for messages.
fn without_password(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://***@{host}"),
        _ => url.to_owned(),
    }
}

/// Skip loudly, or fail under `CI=true` (where .ci/run has started Redis).
pub fn unavailable<T>(why: &str) -> Option<T> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}: CI=true requires it (.ci/run starts redis-server)");
    }
    eprintln!("SKIPPED (not a pass): {why}; start redis-server to run this test");
    None
}

fn ping(url: &str) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut conn = client
        .get_connection_with_timeout(Duration::from_secs(1))
        .map_err(|e| e.to_string())?;
    redis::cmd("PING")
        .query::<String>(&mut conn)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A key prefix no other test (or run) uses.
pub fn unique_prefix(test: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "crmgate-test:{test}:{}-{nanos}-{}:",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Settings for `url` with `prefix`, `replicas` and `op_timeout_ms`.
pub fn settings(url: &str, prefix: &str, replicas: i64, op_timeout_ms: i64) -> RedisSettings {
    RedisConfig {
        url: Some(SecretString::from(url.to_owned())),
        url_env: None,
        key_prefix: Some(prefix.to_owned()),
        replicas: Some(replicas),
        op_timeout_ms: Some(op_timeout_ms),
    }
    .resolve()
    .expect("valid test settings")
}

/// A process's shared state on `url` under `prefix` (each call is a separate "replica" with
/// its own connection).
pub fn replica(url: &str, prefix: &str) -> SharedState {
    SharedState::redis(&settings(url, prefix, 1, 500)).unwrap()
}

/// Redis's clock, microseconds since the epoch.
pub async fn redis_time_us(url: &str) -> u64 {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let (s, us): (u64, u64) = redis::cmd("TIME").query_async(&mut conn).await.unwrap();
    s * 1_000_000 + us
}

/// What each caller of [`flood`] got.
#[derive(Debug, Default, Clone, Copy)]
pub struct Served {
    pub granted: u64,
    pub refused: u64,
    /// The longest a granted request waited.
    pub longest_wait: Duration,
}

impl Served {
    fn count(&mut self, waited: Option<Duration>) {
        match waited {
            Some(waited) => {
                self.granted += 1;
                self.longest_wait = self.longest_wait.max(waited);
            }
            None => self.refused += 1,
        }
    }
}

/// How [`flood`] went.
#[derive(Debug)]
pub struct FloodReport {
    pub flooder: Served,
    pub others: Vec<Served>,
    pub elapsed: Duration,
}

/// Caller `A` floods the pool with `flooders` concurrent loops from the start; after
/// `run / 5`, callers `B` and `C` each make one request every 250 ms, until `run` is over.
/// Every request waits up to 500 ms (`acquire`). `fair`: divide the pool among callers
/// (`take_fair`); otherwise one plain bucket for everyone (`take`).
pub async fn flood(
    budget: std::sync::Arc<dyn crmgate_shared::RateBudget>,
    pool: &str,
    rate: crmgate_shared::Rate,
    fair: bool,
    flooders: usize,
    run: Duration,
) -> FloodReport {
    use crmgate_shared::{Step, acquire};
    let started = tokio::time::Instant::now();
    let end = started + run;
    let max_wait = Duration::from_millis(500);
    let request = move |budget: std::sync::Arc<dyn crmgate_shared::RateBudget>,
                        pool: String,
                        caller: &'static str| async move {
        let step = if fair {
            Step::Fair {
                pool: &pool,
                caller,
            }
        } else {
            Step::Key(&pool)
        };
        acquire(budget.as_ref(), step, rate, max_wait).await.ok()
    };
    let mut tasks = Vec::new();
    for _ in 0..flooders {
        let (budget, pool) = (budget.clone(), pool.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut served = Served::default();
            while tokio::time::Instant::now() < end {
                served.count(request(budget.clone(), pool.clone(), "A").await);
            }
            ("A", served)
        }));
    }
    for caller in ["B", "C"] {
        let (budget, pool) = (budget.clone(), pool.to_owned());
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(run / 5).await;
            let mut served = Served::default();
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while tokio::time::Instant::now() < end {
                tick.tick().await;
                served.count(request(budget.clone(), pool.clone(), caller).await);
            }
            (caller, served)
        }));
    }
    let mut report = FloodReport {
        flooder: Served::default(),
        others: Vec::new(),
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        let (caller, served) = task.await.unwrap();
        if caller == "A" {
            report.flooder.granted += served.granted;
            report.flooder.refused += served.refused;
            report.flooder.longest_wait = report.flooder.longest_wait.max(served.longest_wait);
        } else {
            report.others.push(served);
        }
    }
    report.elapsed = started.elapsed();
    report
}
