//! Client-side rate limiting before each attempt: one governor bucket per backend instance
//! (protecting the vendor's limit), plus an optional bucket per caller scope (hosted mode, so one
//! caller cannot spend everyone's budget).
//!
//! A call waits for its turn up to `max_wait` (never past the call's deadline); when the next
//! free slot is further away than that it fails at once with `RATE_LIMITED` and
//! `retry_after_s`, without sending anything.

use super::retry::ceil_secs;
use crate::{Error, ErrorCode, Result};
use governor::clock::Clock;
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Acquisitions between sweeps of idle per-caller buckets.
const SWEEP_EVERY: u64 = 1024;

/// Which bucket refused.
#[derive(Debug, Clone, Copy)]
enum Bucket {
    Backend,
    Caller,
}

/// The limiters of one [`super::Upstream`].
#[derive(Debug)]
pub(crate) struct Limiters {
    backend: DefaultDirectRateLimiter,
    per_caller: Option<DefaultKeyedRateLimiter<String>>,
    acquisitions: AtomicU64,
}

impl Limiters {
    /// Build from the configured rates; zero rates are configuration errors.
    pub fn new(
        rate_per_second: u32,
        burst: u32,
        per_caller_rate_per_second: Option<u32>,
    ) -> Result<Self> {
        let rate = nonzero(rate_per_second, "rate_per_second")?;
        let burst = nonzero(burst, "burst")?;
        let per_caller = per_caller_rate_per_second
            .map(|r| nonzero(r, "per_caller_rate_per_second"))
            .transpose()?
            .map(|r| RateLimiter::keyed(Quota::per_second(r)));
        Ok(Limiters {
            backend: RateLimiter::direct(Quota::per_second(rate).allow_burst(burst)),
            per_caller,
            acquisitions: AtomicU64::new(0),
        })
    }

    /// Wait for a slot in the caller's bucket (if any) and then the backend's, within
    /// `max_wait` in total. Time spent waiting is recorded in the call's `_meta`.
    pub async fn acquire(&self, scope: &str, max_wait: Duration) -> Result<()> {
        let started = Instant::now();
        let deadline = started + max_wait;
        let result = self.acquire_until(scope, deadline).await;
        let waited = started.elapsed();
        if waited >= Duration::from_micros(1) {
            crate::meta::record_rate_limit_wait(waited);
        }
        result
    }

    async fn acquire_until(&self, scope: &str, deadline: Instant) -> Result<()> {
        if let Some(keyed) = &self.per_caller {
            let key = scope.to_owned();
            wait_for(deadline, Bucket::Caller, || {
                keyed
                    .check_key(&key)
                    .map_err(|not_until| not_until.wait_time_from(keyed.clock().now()))
            })
            .await?;
            if self.acquisitions.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
                keyed.retain_recent();
                keyed.shrink_to_fit();
            }
        }
        let backend = &self.backend;
        wait_for(deadline, Bucket::Backend, || {
            backend
                .check()
                .map_err(|not_until| not_until.wait_time_from(backend.clock().now()))
        })
        .await
    }
}

/// Poll `check` (which yields how long until the next slot) until it passes, sleeping in
/// between, or fail as soon as the next slot lies beyond `deadline`.
async fn wait_for(
    deadline: Instant,
    bucket: Bucket,
    check: impl Fn() -> std::result::Result<(), Duration>,
) -> Result<()> {
    loop {
        let wait = match check() {
            Ok(()) => return Ok(()),
            Err(wait) => wait,
        };
        if Instant::now() + wait > deadline {
            return Err(rate_limited(bucket, wait));
        }
        tokio::time::sleep(wait).await;
    }
}

fn rate_limited(bucket: Bucket, wait: Duration) -> Error {
    let (message, suggestion) = match bucket {
        Bucket::Backend => (
            "crmgate's request budget for this CRM is spent for the moment",
            "wait retry_after_s seconds and try again; batch reads (crm_get with several ids) \
             use fewer requests",
        ),
        Bucket::Caller => (
            "your request budget for this CRM is spent for the moment",
            "wait retry_after_s seconds and try again; batch reads (crm_get with several ids) \
             use fewer requests",
        ),
    };
    Error::new(ErrorCode::RateLimited, message, suggestion).with_retry_after(ceil_secs(wait))
}

fn nonzero(value: u32, key: &str) -> Result<NonZeroU32> {
    NonZeroU32::new(value)
        .ok_or_else(|| Error::config(format!("upstream {key} must be at least 1")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn burst_passes_then_fails_fast() {
        let limiters = Limiters::new(1, 2, None).unwrap();
        let wait = Duration::from_millis(50);
        limiters.acquire("a", wait).await.unwrap();
        limiters.acquire("a", wait).await.unwrap();
        let started = Instant::now();
        let err = limiters.acquire("a", wait).await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_millis(40),
            "should not wait"
        );
        assert_eq!(err.code, ErrorCode::RateLimited);
        assert_eq!(err.retry_after_s, Some(1));
    }

    #[tokio::test]
    async fn callers_have_separate_buckets() {
        let limiters = Limiters::new(100, 100, Some(1)).unwrap();
        limiters.acquire("a", Duration::ZERO).await.unwrap();
        assert!(limiters.acquire("a", Duration::ZERO).await.is_err());
        limiters.acquire("b", Duration::ZERO).await.unwrap();
    }

    #[test]
    fn zero_rates_are_config_errors() {
        let err = Limiters::new(0, 1, None).unwrap_err();
        assert_eq!(err.code, ErrorCode::Config);
        assert!(Limiters::new(1, 1, Some(0)).is_err());
    }
}
