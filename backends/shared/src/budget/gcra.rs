//! The arithmetic of one budget step, as pure functions on microsecond timestamps.
//!
//! GCRA (the generic cell rate algorithm) keeps one number per bucket: the *theoretical arrival
//! time* (TAT), the moment the bucket would be empty again if nothing else arrived. A bucket with
//! emission interval `T` (1 / rate) and burst `B` admits a request at `now` when the new TAT
//! (`max(tat, now) + T`) lies at most `B·T` ahead of `now`. A TAT in the past is the same as no
//! entry at all, which is why idle buckets can be forgotten (locally) or expire (in Redis).
//!
//! **Reservation.** A step may *reserve* a slot up to `max_wait` ahead: the TAT is advanced and
//! the caller is told to go after the wait. Waiters are so served in arrival order without
//! polling. A refusal reserves nothing.
//!
//! **Fair division of one pool** ([`fair_step`]). A CRM with one limit per portal (Bitrix24) keeps
//! one pool bucket, and each caller also has a *share* bucket at `rate / n` (burst `B / n`,
//! at least 1), where `n` is the number of callers seen on the pool within the active window.
//! 1. Within its share, a caller may use the pool up to its full burst. Shares add up to the
//!    pool's rate, so the callers within their share can always be served by the pool: each
//!    gets at least `min(demand, rate / n)`.
//! 2. Over its share, a caller may only *borrow* capacity nobody else is using: an immediate slot,
//!    and only while the pool keeps a reserve of half its burst free (`ceil(B / 2)` intervals).
//!    Borrowing never reserves future slots and does not advance the caller's share bucket, so a
//!    flooding caller gets its share plus what is left over, and the reserve keeps room for the
//!    others' next requests. With `B = 1` there is no room to borrow.
//! 3. A fair step never reserves: it admits at once or says when to retry. Were a caller alone
//!    on the pool allowed to reserve `max_wait` ahead, a newcomer would find the pool's horizon
//!    beyond its own wait. Callers wait by retrying at the exact `retry_after`
//!    ([`super::acquire`]); a caller over its share cannot take the slot that frees, so the
//!    newcomer gets it.
//!
//! The Lua scripts in `scripts/` implement exactly these functions on Redis time; the local
//! budget calls them on the process clock.

/// The parameters of one bucket, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bucket {
    /// Emission interval: microseconds per request at the sustained rate.
    pub interval: u64,
    /// Requests admitted at once.
    pub burst: u64,
}

impl Bucket {
    /// How far ahead of now the TAT may lie: `B·T`.
    fn tolerance(self) -> u64 {
        self.interval.saturating_mul(self.burst)
    }
}

/// The result of a step, before it becomes a [`super::Decision`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Admitted: go after `wait` microseconds (0 unless a slot was reserved ahead).
    Granted { wait: u64 },
    /// Refused; a request made `retry_after` microseconds from now can be admitted at once
    /// (unless someone else takes that slot first).
    Denied { retry_after: u64 },
}

/// One step of a plain bucket. Returns the outcome and the TAT to store (`None`: unchanged).
pub(crate) fn step(
    tat: Option<u64>,
    now: u64,
    bucket: Bucket,
    max_wait: u64,
) -> (Outcome, Option<u64>) {
    let new_tat = tat.unwrap_or(now).max(now) + bucket.interval;
    let ready = new_tat.saturating_sub(bucket.tolerance());
    let wait = ready.saturating_sub(now);
    if wait <= max_wait {
        (Outcome::Granted { wait }, Some(new_tat))
    } else {
        (Outcome::Denied { retry_after: wait }, None)
    }
}

/// The state a fair step reads: the pool's TAT, this caller's share TAT, and `active` (how many
/// callers used the pool within the active window, this one included; at least 1).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FairState {
    pub pool_tat: Option<u64>,
    pub caller_tat: Option<u64>,
    pub active: u64,
}

/// What a fair step decided and which TATs to store (`None`: unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FairResult {
    pub outcome: Outcome,
    pub pool_tat: Option<u64>,
    pub caller_tat: Option<u64>,
}

/// A caller's share bucket when `active` callers divide `pool`.
pub(crate) fn share(pool: Bucket, active: u64) -> Bucket {
    let active = active.max(1);
    Bucket {
        interval: pool.interval.saturating_mul(active),
        burst: (pool.burst / active).max(1),
    }
}

/// The part of the pool's burst kept free for callers within their share, in microseconds.
pub(crate) fn reserve(pool: Bucket) -> u64 {
    pool.interval.saturating_mul(pool.burst.div_ceil(2))
}

/// One step of a pool divided fairly among its active callers (see the module docs): admits at
/// once or refuses, never reserves.
pub(crate) fn fair_step(state: FairState, now: u64, pool: Bucket) -> FairResult {
    let own = share(pool, state.active);
    let new_pool = state.pool_tat.unwrap_or(now).max(now) + pool.interval;
    let pool_ready = new_pool.saturating_sub(pool.tolerance());
    let new_caller = state.caller_tat.unwrap_or(now).max(now) + own.interval;
    let caller_ready = new_caller.saturating_sub(own.tolerance());
    let ready = pool_ready.max(caller_ready);
    if ready <= now {
        return FairResult {
            outcome: Outcome::Granted { wait: 0 },
            pool_tat: Some(new_pool),
            caller_tat: Some(new_caller),
        };
    }
    let mut retry_at = ready;
    if state.active >= 2 {
        // pool_ready + reserve, without the saturation of pool_ready at zero
        let borrow_at = new_pool
            .saturating_add(reserve(pool))
            .saturating_sub(pool.tolerance());
        if new_pool.saturating_add(reserve(pool)) <= now.saturating_add(pool.tolerance()) {
            return FairResult {
                outcome: Outcome::Granted { wait: 0 },
                pool_tat: Some(new_pool),
                caller_tat: None,
            };
        }
        retry_at = retry_at.min(borrow_at);
    }
    FairResult {
        outcome: Outcome::Denied {
            retry_after: retry_at.saturating_sub(now),
        },
        pool_tat: None,
        caller_tat: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000;
    const NOW: u64 = 1_000 * SEC;

    #[test]
    fn burst_then_one_per_interval() {
        let bucket = Bucket {
            interval: SEC,
            burst: 3,
        };
        let mut tat = None;
        for _ in 0..3 {
            let (outcome, new) = step(tat, NOW, bucket, 0);
            assert_eq!(outcome, Outcome::Granted { wait: 0 });
            tat = new;
        }
        let (outcome, new) = step(tat, NOW, bucket, 0);
        assert_eq!(outcome, Outcome::Denied { retry_after: SEC });
        assert_eq!(new, None, "a refusal reserves nothing");
        // reserving: the next slots are one interval apart
        let (outcome, new) = step(tat, NOW, bucket, 10 * SEC);
        assert_eq!(outcome, Outcome::Granted { wait: SEC });
        let (outcome, _) = step(new, NOW, bucket, 10 * SEC);
        assert_eq!(outcome, Outcome::Granted { wait: 2 * SEC });
        // after one interval, one more is admitted at once
        let (outcome, _) = step(tat, NOW + SEC, bucket, 0);
        assert_eq!(outcome, Outcome::Granted { wait: 0 });
    }

    #[test]
    fn a_past_tat_is_a_full_bucket() {
        let bucket = Bucket {
            interval: SEC,
            burst: 2,
        };
        assert_eq!(
            step(Some(NOW - 100 * SEC), NOW, bucket, 0),
            step(None, NOW, bucket, 0)
        );
    }

    #[test]
    fn shares_divide_rate_and_burst() {
        let pool = Bucket {
            interval: 500_000,
            burst: 50,
        };
        assert_eq!(share(pool, 1), pool);
        assert_eq!(
            share(pool, 4),
            Bucket {
                interval: 2 * SEC,
                burst: 12
            }
        );
        assert_eq!(share(pool, 100).burst, 1, "never below one");
        assert_eq!(reserve(pool), 25 * 500_000);
    }

    #[test]
    fn over_its_share_a_caller_borrows_only_idle_capacity() {
        let pool = Bucket {
            interval: SEC,
            burst: 4,
        };
        // two callers active; this one has spent its share (burst 2 at 2 s per request)
        let spent = NOW + 2 * 2 * SEC;
        // the pool is idle: borrowing is allowed, the share bucket is left alone
        let idle = fair_step(
            FairState {
                pool_tat: None,
                caller_tat: Some(spent),
                active: 2,
            },
            NOW,
            pool,
        );
        assert_eq!(idle.outcome, Outcome::Granted { wait: 0 });
        assert_eq!(idle.caller_tat, None);
        assert_eq!(idle.pool_tat, Some(NOW + SEC));
        // the pool is half full: the reserve (2 intervals) is kept for the other caller
        let half = fair_step(
            FairState {
                pool_tat: Some(NOW + 2 * SEC),
                caller_tat: Some(spent),
                active: 2,
            },
            NOW,
            pool,
        );
        assert_eq!(
            half.outcome,
            Outcome::Denied {
                retry_after: SEC // one interval drains → back under the reserve
            }
        );
        // the other caller, within its share, still gets the pool's remaining burst
        let other = fair_step(
            FairState {
                pool_tat: Some(NOW + 2 * SEC),
                caller_tat: None,
                active: 2,
            },
            NOW,
            pool,
        );
        assert_eq!(other.outcome, Outcome::Granted { wait: 0 });
    }

    #[test]
    fn alone_a_caller_has_the_whole_pool() {
        let pool = Bucket {
            interval: SEC,
            burst: 3,
        };
        let mut state = FairState {
            pool_tat: None,
            caller_tat: None,
            active: 1,
        };
        for _ in 0..3 {
            let r = fair_step(state, NOW, pool);
            assert_eq!(r.outcome, Outcome::Granted { wait: 0 });
            state.pool_tat = r.pool_tat;
            state.caller_tat = r.caller_tat;
        }
        let r = fair_step(state, NOW, pool);
        assert_eq!(r.outcome, Outcome::Denied { retry_after: SEC });
    }
}
