//! Rate budgets: how many requests may go out, keyed by string, in-process ([`LocalBudget`]) or
//! shared by every replica through Redis ([`RedisBudget`]).
//!
//! Two kinds of step (the algorithm is in [`gcra`]):
//! - [`RateBudget::take`]: one bucket per key — a whole CRM instance (`keys::instance`), or one
//!   caller of it (`keys::caller`) for a CRM without a server-side limit;
//! - [`RateBudget::take_fair`]: one bucket per *pool* (a Bitrix24 portal has one limit for
//!   everyone) divided fairly among the callers using it, so a flooding caller cannot starve the
//!   others and unused capacity is not wasted.
//!
//! A step answers at once: [`Decision::Granted`] (possibly after a reserved wait) or
//! [`Decision::Denied`] with when to retry. [`acquire`] wraps the wait-or-fail loop a caller
//! usually wants: wait up to a bound, else report `retry_after`.

pub(crate) mod gcra;
mod local;
mod redis;

pub use local::LocalBudget;
pub use redis::RedisBudget;

use async_trait::async_trait;
use std::time::Duration;
use tokio::time::Instant;

/// Bounds of the window in which a caller counts as active on a fair pool.
pub(crate) const MIN_ACTIVE_WINDOW: Duration = Duration::from_secs(5);
pub(crate) const MAX_ACTIVE_WINDOW: Duration = Duration::from_secs(60);

/// A sustained rate with a burst: `per_second` requests per second on average, up to `burst` at
/// once. Kept as an emission interval in microseconds, as the Lua scripts use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    interval_us: u64,
    burst: u32,
}

impl Rate {
    /// `per_second` (finite, > 0, at most one million) and `burst` (≥ 1); `None` otherwise.
    pub fn per_second(per_second: f64, burst: u32) -> Option<Rate> {
        if !per_second.is_finite() || per_second <= 0.0 || per_second > 1e6 || burst == 0 {
            return None;
        }
        Some(Rate {
            interval_us: ((1e6 / per_second).round() as u64).max(1),
            burst,
        })
    }

    /// One request per `interval` on average, up to `burst` at once; `None` for a zero
    /// interval or burst.
    pub fn every(interval: Duration, burst: u32) -> Option<Rate> {
        let interval_us = u64::try_from(interval.as_micros()).ok()?;
        (interval_us > 0 && burst > 0).then_some(Rate { interval_us, burst })
    }

    /// The average time between two requests.
    pub fn interval(&self) -> Duration {
        Duration::from_micros(self.interval_us)
    }

    /// Requests admitted at once.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// This rate divided among `parts` holders (the local fallback when Redis is down: each of
    /// `replicas` processes keeps `1 / replicas` of the shared budget). The burst is divided
    /// too, never below one.
    pub fn divided(&self, parts: u32) -> Rate {
        let parts = parts.max(1);
        Rate {
            interval_us: self.interval_us.saturating_mul(u64::from(parts)),
            burst: (self.burst / parts).max(1),
        }
    }

    pub(crate) fn bucket(&self) -> gcra::Bucket {
        gcra::Bucket {
            interval: self.interval_us,
            burst: u64::from(self.burst),
        }
    }

    /// How long a caller counts as active on a fair pool after its last request: the time the
    /// pool takes to refill its whole burst, kept between 5 s and 60 s.
    pub(crate) fn active_window(&self) -> Duration {
        let refill = Duration::from_micros(self.interval_us.saturating_mul(u64::from(self.burst)));
        refill.clamp(MIN_ACTIVE_WINDOW, MAX_ACTIVE_WINDOW)
    }
}

/// The answer of one budget step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go, after `wait` (zero unless a slot up to `max_wait` ahead was reserved for you; the
    /// slot is spent even if you do not use it).
    Granted {
        /// How long to wait before sending.
        wait: Duration,
    },
    /// Not now, and nothing was reserved; a step after `retry_after` can succeed.
    Denied {
        /// When to try again (report it to the agent as `retry_after_s`, rounded up).
        retry_after: Duration,
    },
}

impl Decision {
    pub(crate) fn from_outcome(outcome: gcra::Outcome) -> Decision {
        match outcome {
            gcra::Outcome::Granted { wait } => Decision::Granted {
                wait: Duration::from_micros(wait),
            },
            gcra::Outcome::Denied { retry_after } => Decision::Denied {
                retry_after: Duration::from_micros(retry_after),
            },
        }
    }

    /// Whether the step was admitted.
    pub fn is_granted(&self) -> bool {
        matches!(self, Decision::Granted { .. })
    }
}

/// A rate budget keyed by string. Implementations: [`LocalBudget`] (this process only) and
/// [`RedisBudget`] (every replica; falls back to a scaled local budget while Redis is down).
///
/// Keys are opaque; build them with [`crate::keys`] so that components cannot run together.
#[async_trait]
pub trait RateBudget: Send + Sync {
    /// One step of the bucket `key` at `rate`: admit now, reserve a slot up to `max_wait` ahead,
    /// or refuse (reserving nothing).
    async fn take(&self, key: &str, rate: Rate, max_wait: Duration) -> Decision;

    /// One step of the pool `pool` at `rate`, divided fairly among the callers using it;
    /// `caller` is the caller's scope (a non-secret hash).
    ///
    /// Each caller seen on the pool within the active window (its refill time, 5 s to 60 s) has
    /// a share of `rate / n` and `burst / n` (at least 1). Within its share a caller may use the
    /// pool up to its full burst; shares add up to the pool, so each caller gets at least
    /// `min(demand, rate / n)`. Over its share a caller may only borrow idle capacity: an
    /// immediate slot, while half the pool's burst stays free. So a flooding caller gets its
    /// share plus what nobody else uses, and cannot starve the others.
    ///
    /// Admits at once or refuses with the exact time to retry; never reserves a future slot
    /// (a lone caller reserving ahead would push the pool past a newcomer's wait). Use
    /// [`acquire`] to wait.
    async fn take_fair(&self, pool: &str, caller: &str, rate: Rate) -> Decision;
}

/// Which step [`acquire`] takes.
#[derive(Debug, Clone, Copy)]
pub enum Step<'a> {
    /// [`RateBudget::take`] on this key.
    Key(&'a str),
    /// [`RateBudget::take_fair`] on this pool, for this caller.
    Fair {
        /// The pool (e.g. `keys::instance("b24")`).
        pool: &'a str,
        /// The caller's scope.
        caller: &'a str,
    },
}

/// Refused by [`acquire`]: the next slot lies beyond the wait allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    /// When a retry can succeed.
    pub retry_after: Duration,
}

impl RateLimited {
    /// `retry_after` in whole seconds, rounded up, at least 1 (the `retry_after_s` of a
    /// `RATE_LIMITED` error).
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_secs_f64().ceil().max(1.0) as u64
    }
}

/// Take a step, waiting for it up to `max_wait` in total (sleeping through a reserved wait, or
/// retrying once a refused step can succeed); `Err` as soon as the next slot lies beyond
/// `max_wait`. Returns how long it waited.
pub async fn acquire(
    budget: &dyn RateBudget,
    step: Step<'_>,
    rate: Rate,
    max_wait: Duration,
) -> Result<Duration, RateLimited> {
    let started = Instant::now();
    loop {
        let left = max_wait.saturating_sub(started.elapsed());
        let decision = match step {
            Step::Key(key) => budget.take(key, rate, left).await,
            Step::Fair { pool, caller } => budget.take_fair(pool, caller, rate).await,
        };
        match decision {
            Decision::Granted { wait } => {
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
                return Ok(started.elapsed());
            }
            Decision::Denied { retry_after } => {
                let left = max_wait.saturating_sub(started.elapsed());
                if retry_after > left {
                    return Err(RateLimited { retry_after });
                }
                // at least a millisecond, so a zero retry cannot spin
                tokio::time::sleep(retry_after.max(Duration::from_millis(1))).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_checked() {
        assert!(Rate::per_second(0.0, 1).is_none());
        assert!(Rate::per_second(-1.0, 1).is_none());
        assert!(Rate::per_second(f64::NAN, 1).is_none());
        assert!(Rate::per_second(f64::INFINITY, 1).is_none());
        assert!(Rate::per_second(1.0, 0).is_none());
        assert!(Rate::every(Duration::ZERO, 1).is_none());
        let r = Rate::per_second(2.0, 50).unwrap();
        assert_eq!(r.interval(), Duration::from_millis(500));
        assert_eq!(r.burst(), 50);
        assert_eq!(r.active_window(), Duration::from_secs(25));
    }

    #[test]
    fn division_scales_rate_and_burst() {
        let r = Rate::per_second(10.0, 20).unwrap();
        let third = r.divided(3);
        assert_eq!(third.interval(), Duration::from_millis(300));
        assert_eq!(third.burst(), 6);
        assert_eq!(r.divided(0), r, "zero parts is one part");
        assert_eq!(r.divided(100).burst(), 1);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let r = |ms| RateLimited {
            retry_after: Duration::from_millis(ms),
        };
        assert_eq!(r(1).retry_after_secs(), 1);
        assert_eq!(r(1000).retry_after_secs(), 1);
        assert_eq!(r(1001).retry_after_secs(), 2);
    }
}
