//! One deadline per tool call.
//!
//! A call runs inside [`scope`] (the gateway opens one per operation; nested scopes share the
//! outer one). The first upstream request of the call fixes the deadline at "now + that
//! backend's `timeout`", bounded by the scope's own limit (hosted mode: a little under
//! `request_timeout_s`); every later attempt, backoff, `Retry-After` wait and rate-limiter wait
//! of the same call shares it. So `timeout_s` bounds the whole call, retries included, and an
//! error can state the real figure.
//!
//! Outside a scope, each [`fix`] starts its own deadline (one request with its retries).

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

tokio::task_local! {
    static CALL: Arc<CallDeadline>;
}

#[derive(Debug)]
struct CallDeadline {
    /// The latest the call may end, from the scope's limit.
    limit: Option<Instant>,
    /// The deadline once an upstream request fixed it.
    fixed: Mutex<Option<Deadline>>,
}

/// When a call must be done, and the budget that figure came from (for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// The instant.
    pub at: Instant,
    /// The whole budget of the call, as configured (`timeout_s`, or the hosted limit).
    pub budget: Duration,
}

impl Deadline {
    /// Time left (zero once passed).
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Whether it has passed.
    pub fn passed(&self) -> bool {
        Instant::now() >= self.at
    }

    /// The budget in whole seconds, rounded up (at least 1), for messages.
    pub fn budget_s(&self) -> u64 {
        let b = self.budget;
        (b.as_secs() + u64::from(b.subsec_nanos() > 0)).max(1)
    }
}

/// Run `future` as one call. `limit` bounds it whatever the backends' timeouts say. Inside an
/// existing scope the outer scope is kept (and `limit` ignored).
pub async fn scope<F: Future>(limit: Option<Duration>, future: F) -> F::Output {
    if CALL.try_with(|_| ()).is_ok() {
        return future.await;
    }
    let call = Arc::new(CallDeadline {
        limit: limit.map(|l| Instant::now() + l),
        fixed: Mutex::new(None),
    });
    CALL.scope(call, future).await
}

/// The call's deadline, fixing it at `now + budget` (bounded by the scope's limit) if no
/// upstream request of this call fixed it yet.
pub fn fix(budget: Duration) -> Deadline {
    let now = Instant::now();
    let fresh = |limit: Option<Instant>| match limit {
        Some(limit) if limit < now + budget => Deadline {
            at: limit,
            budget: limit.saturating_duration_since(now),
        },
        _ => Deadline {
            at: now + budget,
            budget,
        },
    };
    CALL.try_with(|call| {
        let mut fixed = call.fixed.lock().unwrap_or_else(PoisonError::into_inner);
        *fixed.get_or_insert_with(|| fresh(call.limit))
    })
    .unwrap_or_else(|_| fresh(None))
}

/// Time left in the current call, if a deadline is known (fixed, or the scope's limit).
pub fn remaining() -> Option<Duration> {
    CALL.try_with(|call| {
        let fixed = *call.fixed.lock().unwrap_or_else(PoisonError::into_inner);
        fixed
            .map(|d| d.at)
            .or(call.limit)
            .map(|at| at.saturating_duration_since(Instant::now()))
    })
    .ok()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_request_fixes_the_deadline_for_the_whole_call() {
        scope(None, async {
            assert_eq!(remaining(), None);
            let first = fix(Duration::from_secs(30));
            let second = fix(Duration::from_secs(5));
            assert_eq!(first, second, "later requests share the first deadline");
            assert_eq!(first.budget_s(), 30);
            assert!(remaining().unwrap() <= Duration::from_secs(30));
            // a nested scope keeps the outer deadline
            scope(Some(Duration::from_secs(1)), async {
                assert_eq!(fix(Duration::from_secs(1)), first);
            })
            .await;
        })
        .await;
    }

    #[tokio::test]
    async fn the_scope_limit_caps_the_budget() {
        scope(Some(Duration::from_secs(2)), async {
            assert!(remaining().unwrap() <= Duration::from_secs(2));
            let d = fix(Duration::from_secs(30));
            assert!(d.budget <= Duration::from_secs(2));
            assert_eq!(d.budget_s(), 2);
        })
        .await;
    }

    #[tokio::test]
    async fn outside_a_scope_each_fix_stands_alone() {
        let a = fix(Duration::from_secs(3));
        assert_eq!(a.budget, Duration::from_secs(3));
        assert!(!a.passed());
        assert_eq!(remaining(), None);
    }
}
