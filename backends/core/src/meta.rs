//! Per-call accounting for `_meta`: upstream requests made, metadata cache hits and misses with
//! the age of what was served, and time spent waiting on the rate limiter.
//!
//! The gateway runs each tool call inside [`measure`]; the upstream layer and the metadata cache
//! record into the task-local [`CallStats`] without any parameter threading. Outside `measure`
//! recording is a no-op.

use serde::Serialize;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

tokio::task_local! {
    static STATS: Arc<CallStats>;
}

/// Counters for one tool call.
#[derive(Debug, Default)]
pub struct CallStats {
    upstream_calls: AtomicU64,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
    cache_age_ms: AtomicU64,
    rate_limit_wait_us: AtomicU64,
}

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
    let stats = Arc::new(CallStats::default());
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
}

/// Add time spent waiting on a rate limiter.
pub fn record_rate_limit_wait(wait: Duration) {
    with_stats(|s| {
        s.rate_limit_wait_us
            .fetch_add(wait.as_micros() as u64, Ordering::Relaxed);
    });
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
}
