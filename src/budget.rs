//! The per-caller rate budget of hosted mode: one keyed limiter over caller identities, on top
//! of each backend's own limit towards the CRM, so one caller cannot starve the others.

use crmgate_core::{Error, ErrorCode};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;

/// Forget callers idle long enough to have a full budget again once the map grows past this.
const RETAIN_ABOVE: usize = 10_000;

/// Tool calls per caller identity.
pub struct CallerBudget {
    limiter: DefaultKeyedRateLimiter<String>,
}

impl CallerBudget {
    /// `per_second` sustained calls, `burst` at once, per caller.
    pub fn new(per_second: u32, burst: u32) -> Self {
        let per_second = NonZeroU32::new(per_second.max(1)).expect("at least 1");
        let burst = NonZeroU32::new(burst.max(1)).expect("at least 1");
        CallerBudget {
            limiter: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
        }
    }

    /// Take one call from `caller`'s budget, or `RATE_LIMITED` saying when to retry.
    pub fn take(&self, caller: &str) -> Result<(), Error> {
        if self.limiter.len() > RETAIN_ABOVE {
            self.limiter.retain_recent();
        }
        match self.limiter.check_key(&caller.to_owned()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(Error::new(
                    ErrorCode::RateLimited,
                    "you are over your share of this server's calls",
                    "wait retry_after_s seconds, then retry; other callers are not affected",
                )
                .with_retry_after(wait.as_secs_f64().ceil().max(1.0) as u64))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_caller_has_its_own_budget() {
        let budget = CallerBudget::new(1, 2);
        assert!(budget.take("a").is_ok());
        assert!(budget.take("a").is_ok());
        let e = budget.take("a").unwrap_err();
        assert_eq!(e.code, ErrorCode::RateLimited);
        assert!(e.retry_after_s.is_some_and(|s| s >= 1));
        assert!(budget.take("b").is_ok(), "b is unaffected by a");
    }
}
