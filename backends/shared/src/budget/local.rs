//! The in-process budget: the [`gcra`] steps on this process's monotonic clock (tokio's, so
//! tests can pause it), with bounded memory.

use super::gcra::{self, FairState};
use super::{Decision, Rate, RateBudget};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Keys kept before the first sweep of idle entries.
const SWEEP_FLOOR: usize = 1024;

/// A [`RateBudget`] for this process alone.
///
/// Memory: an entry whose TAT has passed is the same as no entry, so once a map has doubled
/// since the last sweep, such entries are dropped — the maps hold only keys with a pending debt
/// (or, for fair pools, callers active within the window).
#[derive(Debug)]
pub struct LocalBudget {
    base: Instant,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    buckets: HashMap<String, u64>,
    pools: HashMap<String, Pool>,
    buckets_sweep_at: usize,
    pools_sweep_at: usize,
}

#[derive(Debug, Default)]
struct Pool {
    tat: Option<u64>,
    callers: HashMap<String, Share>,
}

#[derive(Debug)]
struct Share {
    tat: Option<u64>,
    last_seen: u64,
}

impl Default for LocalBudget {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalBudget {
    /// An empty budget.
    pub fn new() -> Self {
        LocalBudget {
            base: Instant::now(),
            state: Mutex::new(State {
                buckets_sweep_at: SWEEP_FLOOR,
                pools_sweep_at: SWEEP_FLOOR,
                ..State::default()
            }),
        }
    }

    /// Microseconds since this budget was made (never zero).
    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_micros()).unwrap_or(u64::MAX) + 1
    }

    /// How many keys and pool callers are held (for [`crate::Health`]).
    pub fn len(&self) -> usize {
        let state = self.lock();
        state.buckets.len()
            + state
                .pools
                .values()
                .map(|p| p.callers.len() + 1)
                .sum::<usize>()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // a panic elsewhere while holding the lock leaves consistent numbers behind
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// [`RateBudget::take`] without the async wrapper.
    pub fn take_now(&self, key: &str, rate: Rate, max_wait: Duration) -> Decision {
        let now = self.now();
        let mut state = self.lock();
        let tat = state.buckets.get(key).copied();
        let (outcome, new_tat) = gcra::step(tat, now, rate.bucket(), micros(max_wait));
        if let Some(new_tat) = new_tat {
            match state.buckets.get_mut(key) {
                Some(slot) => *slot = new_tat,
                None => {
                    state.buckets.insert(key.to_owned(), new_tat);
                }
            }
        }
        if state.buckets.len() > state.buckets_sweep_at {
            state.buckets.retain(|_, tat| *tat > now);
            state.buckets_sweep_at = (state.buckets.len() * 2).max(SWEEP_FLOOR);
        }
        Decision::from_outcome(outcome)
    }

    /// [`RateBudget::take_fair`] without the async wrapper.
    pub fn take_fair_now(&self, pool: &str, caller: &str, rate: Rate) -> Decision {
        let now = self.now();
        let window = micros(rate.active_window());
        let mut state = self.lock();
        if !state.pools.contains_key(pool) {
            state.pools.insert(pool.to_owned(), Pool::default());
        }
        let entry = state.pools.get_mut(pool).expect("inserted above");
        match entry.callers.get_mut(caller) {
            Some(share) => share.last_seen = now,
            None => {
                entry.callers.insert(
                    caller.to_owned(),
                    Share {
                        tat: None,
                        last_seen: now,
                    },
                );
            }
        }
        // forget callers gone quiet whose share is paid off; count those seen in the window
        let active_since = now.saturating_sub(window);
        entry
            .callers
            .retain(|_, s| s.last_seen >= active_since || s.tat.is_some_and(|t| t > now));
        let active = entry
            .callers
            .values()
            .filter(|s| s.last_seen >= active_since)
            .count() as u64;
        let share = entry.callers.get_mut(caller).expect("inserted above");
        let result = gcra::fair_step(
            FairState {
                pool_tat: entry.tat,
                caller_tat: share.tat,
                active,
            },
            now,
            rate.bucket(),
        );
        if let Some(tat) = result.caller_tat {
            share.tat = Some(tat);
        }
        if let Some(tat) = result.pool_tat {
            entry.tat = Some(tat);
        }
        if state.pools.len() > state.pools_sweep_at {
            // pools have their own windows; none is longer than the longest
            let kept_since = now.saturating_sub(micros(super::MAX_ACTIVE_WINDOW));
            state.pools.retain(|_, p| {
                p.tat.is_some_and(|t| t > now)
                    || p.callers.values().any(|s| s.last_seen >= kept_since)
            });
            state.pools_sweep_at = (state.pools.len() * 2).max(SWEEP_FLOOR);
        }
        Decision::from_outcome(result.outcome)
    }
}

#[async_trait]
impl RateBudget for LocalBudget {
    async fn take(&self, key: &str, rate: Rate, max_wait: Duration) -> Decision {
        self.take_now(key, rate, max_wait)
    }

    async fn take_fair(&self, pool: &str, caller: &str, rate: Rate) -> Decision {
        self.take_fair_now(pool, caller, rate)
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
