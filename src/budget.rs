//! The per-caller tool-call budget of hosted mode: one GCRA bucket per caller identity (by its
//! non-secret scope), on top of each backend's own limits towards the CRM, so one caller cannot
//! starve the others. The buckets live in the process's [`SharedState`]: in this process, or in
//! Redis with `[redis]` — then a caller's budget is the same whichever replica serves it.

use crmgate_core::{Error, ErrorCode};
use crmgate_shared::{Decision, Rate, SharedState, keys};
use std::time::Duration;

/// Tool calls per caller identity.
pub struct CallerBudget {
    shared: SharedState,
    rate: Rate,
}

impl CallerBudget {
    /// `per_second` sustained calls, `burst` at once, per caller, kept in `shared`.
    pub fn new(per_second: u32, burst: u32, shared: SharedState) -> Self {
        let rate = Rate::per_second(f64::from(per_second.max(1)), burst.max(1))
            .expect("a positive rate and burst");
        CallerBudget { shared, rate }
    }

    /// Take one call from `caller`'s budget, or `RATE_LIMITED` saying when to retry.
    pub async fn take(&self, caller: &str) -> Result<(), Error> {
        let key = keys::caller("tool-calls", caller);
        match self
            .shared
            .budget()
            .take(&key, self.rate, Duration::ZERO)
            .await
        {
            Decision::Granted { .. } => Ok(()),
            Decision::Denied { retry_after } => Err(Error::new(
                ErrorCode::RateLimited,
                "you are over your share of this server's calls",
                "wait retry_after_s seconds, then retry; other callers are not affected",
            )
            .with_retry_after(retry_after.as_secs_f64().ceil().max(1.0) as u64)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_caller_has_its_own_budget() {
        let budget = CallerBudget::new(1, 2, SharedState::local());
        assert!(budget.take("a").await.is_ok());
        assert!(budget.take("a").await.is_ok());
        let e = budget.take("a").await.unwrap_err();
        assert_eq!(e.code, ErrorCode::RateLimited);
        assert!(e.retry_after_s.is_some_and(|s| s >= 1));
        assert!(budget.take("b").await.is_ok(), "b is unaffected by a");
    }
}
