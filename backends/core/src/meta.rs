//! Per-call accounting for `_meta`: upstream requests made, metadata cache hits and misses with
//! the age of what was served, and time spent waiting on the rate limiter. Also the [`Notice`]s
//! the user should see while a call runs (a rate-limit wait, a retry, a metadata load), for
//! hosts that show log messages.
//!
//! The gateway runs each tool call inside [`measure`] (or [`measure_with`], with a notice
//! sink); the upstream layer and the metadata cache record into the task-local [`CallStats`]
//! without any parameter threading. Outside `measure` recording is a no-op.

use serde::Serialize;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

tokio::task_local! {
    static STATS: Arc<CallStats>;
}

/// Counters for one tool call.
#[derive(Default)]
pub struct CallStats {
    upstream_calls: AtomicU64,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
    cache_age_ms: AtomicU64,
    rate_limit_wait_us: AtomicU64,
    notices: Option<NoticeSink>,
}

/// How much a [`Notice`] matters (the MCP log levels crmgate uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NoticeLevel {
    /// Routine detail (a metadata load).
    Debug,
    /// Worth showing (a rate-limit wait).
    Info,
    /// Something went wrong and is being handled (a retry).
    Warning,
}

/// Something the user should see while a call runs. Never contains a secret or a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// How much it matters.
    pub level: NoticeLevel,
    /// One line.
    pub text: String,
}

/// Where a call's notices go.
pub type NoticeSink = Arc<dyn Fn(Notice) + Send + Sync>;

/// A wait for the rate limiter shorter than this is not worth a notice.
const NOTICEABLE_WAIT: Duration = Duration::from_millis(250);

/// What `_meta.crmgate` reports about one call.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CallMeta {
    /// Requests that left for the CRM (retries included).
    pub upstream_calls: u64,
    /// Metadata served from cache.
    pub cache_hits: u64,
    /// Metadata loaded fresh.
    pub cache_misses: u64,
    /// Age in seconds of the oldest cached metadata served, when any was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_age_s: Option<f64>,
    /// Milliseconds spent waiting for the rate limiter.
    pub rate_limit_wait_ms: f64,
    /// Wall time of the call in milliseconds.
    pub duration_ms: f64,
}

/// Run `future`, collecting the stats that code under it records.
pub async fn measure<F: Future>(future: F) -> (F::Output, CallMeta) {
    measure_with(None, future).await
}

/// [`measure`], sending the notices of the call to `sink` as they happen.
pub async fn measure_with<F: Future>(sink: Option<NoticeSink>, future: F) -> (F::Output, CallMeta) {
    let stats = Arc::new(CallStats {
        notices: sink,
        ..CallStats::default()
    });
    let started = Instant::now();
    let output = STATS.scope(stats.clone(), future).await;
    let hits = stats.cache_hits.load(Ordering::Relaxed);
    let meta = CallMeta {
        upstream_calls: stats.upstream_calls.load(Ordering::Relaxed),
        cache_hits: hits,
        cache_misses: stats.cache_misses.load(Ordering::Relaxed),
        cache_age_s: (hits > 0).then(|| stats.cache_age_ms.load(Ordering::Relaxed) as f64 / 1000.0),
        rate_limit_wait_ms: stats.rate_limit_wait_us.load(Ordering::Relaxed) as f64 / 1000.0,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
    };
    (output, meta)
}

fn with_stats(f: impl FnOnce(&CallStats)) {
    let _ = STATS.try_with(|s| f(s));
}

/// Tell the user something about the running call (no-op without a sink).
pub fn notice(level: NoticeLevel, text: impl Into<String>) {
    with_stats(|s| {
        if let Some(sink) = &s.notices {
            sink(Notice {
                level,
                text: text.into(),
            });
        }
    });
}

/// A request is about to be repeated after `wait` (attempt number `attempt`, from 2).
pub fn record_retry(attempt: u32, wait: Duration) {
    notice(
        NoticeLevel::Warning,
        format!(
            "the CRM did not answer cleanly; retrying in {:.1} s (attempt {attempt})",
            wait.as_secs_f64()
        ),
    );
}

/// Count one request sent upstream.
pub fn record_upstream_call() {
    with_stats(|s| {
        s.upstream_calls.fetch_add(1, Ordering::Relaxed);
    });
}

/// Count a metadata cache lookup; `age` is the age of the entry served on a hit.
pub fn record_cache(hit: bool, age: Duration) {
    with_stats(|s| {
        if hit {
            s.cache_hits.fetch_add(1, Ordering::Relaxed);
            s.cache_age_ms
                .fetch_max(age.as_millis() as u64, Ordering::Relaxed);
        } else {
            s.cache_misses.fetch_add(1, Ordering::Relaxed);
        }
    });
    if !hit {
        notice(
            NoticeLevel::Debug,
            "loading metadata from the CRM (not cached)",
        );
    }
}

/// Add time spent waiting on a rate limiter.
pub fn record_rate_limit_wait(wait: Duration) {
    with_stats(|s| {
        s.rate_limit_wait_us
            .fetch_add(wait.as_micros() as u64, Ordering::Relaxed);
    });
    if wait >= NOTICEABLE_WAIT {
        notice(
            NoticeLevel::Info,
            format!(
                "waited {:.1} s for the CRM's rate limit",
                wait.as_secs_f64()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_inside_measure_only() {
        record_upstream_call(); // outside: ignored, no panic
        let ((), meta) = measure(async {
            record_upstream_call();
            record_upstream_call();
            record_cache(true, Duration::from_secs(3));
            record_cache(false, Duration::ZERO);
            record_rate_limit_wait(Duration::from_millis(5));
        })
        .await;
        assert_eq!(meta.upstream_calls, 2);
        assert_eq!((meta.cache_hits, meta.cache_misses), (1, 1));
        assert_eq!(meta.cache_age_s, Some(3.0));
        assert!((meta.rate_limit_wait_ms - 5.0).abs() < 0.01);
    }

    #[tokio::test]
    async fn notices_reach_the_sink_of_their_call_only() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink: NoticeSink = {
            let seen = seen.clone();
            Arc::new(move |n: Notice| seen.lock().unwrap().push(n))
        };
        notice(NoticeLevel::Info, "outside"); // no call: dropped
        let ((), _) = measure_with(Some(sink), async {
            record_rate_limit_wait(Duration::from_millis(10)); // too short to mention
            record_rate_limit_wait(Duration::from_millis(1500));
            record_retry(2, Duration::from_millis(500));
            record_cache(false, Duration::ZERO);
        })
        .await;
        let ((), _) = measure(async { notice(NoticeLevel::Warning, "no sink") }).await;
        let seen = seen.lock().unwrap();
        let levels: Vec<NoticeLevel> = seen.iter().map(|n| n.level).collect();
        assert_eq!(
            levels,
            vec![NoticeLevel::Info, NoticeLevel::Warning, NoticeLevel::Debug]
        );
        assert_eq!(seen[0].text, "waited 1.5 s for the CRM's rate limit");
        assert!(seen[1].text.contains("attempt 2"), "{}", seen[1].text);
    }
}
