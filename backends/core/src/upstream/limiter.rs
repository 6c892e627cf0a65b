//! Client-side limits before each attempt, so that one caller never hurts another:
//!
//! - a rate budget ([`crmgate_shared::RateBudget`], in this process or shared by every replica
//!   through Redis) divided as the CRM's own limit is ([`BudgetScope`]): one bucket per caller
//!   for a CRM with no server-side limit, one pool per CRM instance divided fairly among its
//!   callers for a per-portal limit (Bitrix24), or one bucket for everyone;
//! - in-flight requests capped per caller ([`crmgate_shared::InflightCaps`]) and in total.
//!
//! The instance a budget belongs to is the request URL's origin (scheme, host, port): the same
//! in every process that talks to that CRM, and never a secret (a Bitrix24 webhook's token is
//! in its path). A call waits for its turn up to `max_wait` (never past the call's deadline);
//! when the next free slot is further away than that it fails at once with `RATE_LIMITED` and
//! `retry_after_s`, without sending anything.

use super::retry::ceil_secs;
use crate::{Error, ErrorCode, Result};
use crmgate_shared::{InflightCaps, InflightPermit, Rate, SharedState, Step, keys};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, SemaphorePermit};

/// How an upstream rate budget is divided among the callers of one CRM instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BudgetScope {
    /// Each caller (by [`crate::CallContext::scope`]) has its own bucket at the configured
    /// rate: for a CRM with no server-side limit of its own (BottleCRM, EspoCRM, PostgREST),
    /// where the only reason to limit is that one caller must not swamp the server for others.
    #[default]
    PerCaller,
    /// One pool for the whole instance at the configured rate, divided fairly among the
    /// callers using it (a share of `rate / n` each, idle capacity lent out): for a CRM whose
    /// limit is per portal (Bitrix24).
    FairPool,
    /// One bucket for the whole instance, first come first served.
    Instance,
}

/// Which bucket refused.
#[derive(Debug, Clone, Copy)]
enum Bucket {
    Instance,
    Caller,
    Share,
}

/// The limits of one [`super::Upstream`].
#[derive(Debug)]
pub(crate) struct Limiters {
    shared: SharedState,
    scope: BudgetScope,
    rate: Rate,
    inflight: InflightCaps,
    total: Semaphore,
}

/// A slot to send one attempt; both caps are released on drop.
#[derive(Debug)]
pub(crate) struct Slot<'a> {
    _caller: InflightPermit,
    _total: SemaphorePermit<'a>,
}

impl Limiters {
    /// Build from the configured rates; zero rates or caps are configuration errors. `shared`
    /// holds the budgets (`None`: a private in-process one).
    pub fn new(config: &super::UpstreamConfig) -> Result<Self> {
        if config.rate_per_second == 0 {
            return Err(Error::config("upstream rate_per_second must be at least 1"));
        }
        if config.max_concurrency == 0 || config.max_concurrency_per_caller == 0 {
            return Err(Error::config("upstream max_concurrency must be at least 1"));
        }
        let rate = Rate::per_second(f64::from(config.rate_per_second), config.burst)
            .ok_or_else(|| Error::config("upstream burst must be at least 1"))?;
        let shared = config.shared.clone().unwrap_or_else(SharedState::local);
        let per_caller = config
            .max_concurrency_per_caller
            .min(config.max_concurrency);
        Ok(Limiters {
            shared,
            scope: config.budget_scope,
            rate,
            inflight: InflightCaps::new(u32::try_from(per_caller).unwrap_or(u32::MAX)),
            total: Semaphore::new(config.max_concurrency.min(Semaphore::MAX_PERMITS)),
        })
    }

    /// Wait for a slot in the budget of `instance` (the CRM's origin) for caller `scope`,
    /// within `max_wait`. Time spent waiting is recorded in the call's `_meta`.
    pub async fn acquire(&self, instance: &str, scope: &str, max_wait: Duration) -> Result<()> {
        let started = Instant::now();
        let pool = keys::instance(instance);
        let caller_key;
        let (step, bucket) = match self.scope {
            BudgetScope::PerCaller => {
                caller_key = keys::caller(instance, scope);
                (Step::Key(&caller_key), Bucket::Caller)
            }
            BudgetScope::FairPool => (
                Step::Fair {
                    pool: &pool,
                    caller: scope,
                },
                Bucket::Share,
            ),
            BudgetScope::Instance => (Step::Key(&pool), Bucket::Instance),
        };
        let result =
            crmgate_shared::acquire(self.shared.budget().as_ref(), step, self.rate, max_wait).await;
        let waited = started.elapsed();
        if waited >= Duration::from_micros(1) {
            crate::meta::record_rate_limit_wait(waited);
        }
        result
            .map(|_| ())
            .map_err(|limited| rate_limited(bucket, limited.retry_after))
    }

    /// A slot to send one attempt: one of the caller's in-flight slots, then one of the
    /// instance's, waiting up to `max_wait` in all; `None` when none came free in time.
    pub async fn slot(&self, scope: &str, max_wait: Duration) -> Option<Slot<'_>> {
        let started = Instant::now();
        let caller = self.inflight.acquire(scope, max_wait).await.ok()?;
        let left = max_wait.saturating_sub(started.elapsed());
        let total = tokio::time::timeout(left, self.total.acquire())
            .await
            .ok()?
            .ok()?;
        Some(Slot {
            _caller: caller,
            _total: total,
        })
    }
}

fn rate_limited(bucket: Bucket, wait: Duration) -> Error {
    let message = match bucket {
        Bucket::Instance => "crmgate's request budget for this CRM is spent for the moment",
        Bucket::Caller => "your request budget for this CRM is spent for the moment",
        Bucket::Share => {
            "your share of this CRM's request budget (one limit for every caller of this \
             CRM) is spent for the moment"
        }
    };
    Error::new(
        ErrorCode::RateLimited,
        message,
        "wait retry_after_s seconds and try again; batch reads (crm_get with several ids) \
         use fewer requests",
    )
    .with_retry_after(ceil_secs(wait))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::UpstreamConfig;

    fn limiters(scope: BudgetScope, rate: u32, burst: u32) -> Limiters {
        Limiters::new(&UpstreamConfig {
            rate_per_second: rate,
            burst,
            budget_scope: scope,
            ..UpstreamConfig::default()
        })
        .unwrap()
    }

    #[tokio::test]
    async fn burst_passes_then_fails_fast() {
        let limiters = limiters(BudgetScope::Instance, 1, 2);
        let wait = Duration::from_millis(50);
        limiters.acquire("o", "a", wait).await.unwrap();
        limiters.acquire("o", "b", wait).await.unwrap();
        let started = Instant::now();
        let err = limiters.acquire("o", "c", wait).await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_millis(40),
            "should not wait"
        );
        assert_eq!(err.code, ErrorCode::RateLimited);
        assert_eq!(err.retry_after_s, Some(1));
        assert!(err.message.contains("crmgate's request budget"));
        limiters
            .acquire("other-origin", "c", Duration::ZERO)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn callers_have_separate_buckets() {
        let limiters = limiters(BudgetScope::PerCaller, 1, 1);
        limiters.acquire("o", "a", Duration::ZERO).await.unwrap();
        let e = limiters
            .acquire("o", "a", Duration::ZERO)
            .await
            .unwrap_err();
        assert!(e.message.starts_with("your request budget"));
        limiters.acquire("o", "b", Duration::ZERO).await.unwrap();
    }

    #[tokio::test]
    async fn a_fair_pool_keeps_their_share_for_others() {
        let limiters = limiters(BudgetScope::FairPool, 1, 10);
        limiters.acquire("o", "b", Duration::ZERO).await.unwrap();
        let mut flooder = 0;
        while limiters.acquire("o", "a", Duration::ZERO).await.is_ok() {
            flooder += 1;
            assert!(flooder <= 10, "the pool's burst bounds a caller");
        }
        assert!(flooder >= 4, "a got its share ({flooder})");
        // the flooder borrowed only idle capacity: b still has its share
        limiters.acquire("o", "b", Duration::ZERO).await.unwrap();
    }

    #[tokio::test]
    async fn in_flight_slots_are_capped_per_caller_and_in_total() {
        let limiters = Limiters::new(&UpstreamConfig {
            max_concurrency: 3,
            max_concurrency_per_caller: 2,
            ..UpstreamConfig::default()
        })
        .unwrap();
        let none = Duration::from_millis(1);
        let a1 = limiters.slot("a", none).await.unwrap();
        let _a2 = limiters.slot("a", none).await.unwrap();
        assert!(limiters.slot("a", none).await.is_none(), "a is at its cap");
        let _b1 = limiters.slot("b", none).await.unwrap();
        assert!(
            limiters.slot("c", none).await.is_none(),
            "the total is spent"
        );
        drop(a1);
        assert!(limiters.slot("c", none).await.is_some());
    }

    #[test]
    fn zero_rates_are_config_errors() {
        let bad = |config: UpstreamConfig| Limiters::new(&config).unwrap_err().code;
        let d = UpstreamConfig::default;
        assert_eq!(
            bad(UpstreamConfig {
                rate_per_second: 0,
                ..d()
            }),
            ErrorCode::Config
        );
        assert_eq!(bad(UpstreamConfig { burst: 0, ..d() }), ErrorCode::Config);
        assert_eq!(
            bad(UpstreamConfig {
                max_concurrency_per_caller: 0,
                ..d()
            }),
            ErrorCode::Config
        );
    }
}
