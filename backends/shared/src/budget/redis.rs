//! The budget every replica shares: each step is one Lua script run (`EVALSHA`, loaded on
//! `NOSCRIPT`) — one round trip, atomic, on Redis time. While Redis is unavailable the steps go
//! to a local budget at `1 / replicas` of each rate.

use super::local::LocalBudget;
use super::{Decision, Rate, RateBudget};
use crate::store::{FAIR, GCRA, RedisStore};
use async_trait::async_trait;
use std::time::Duration;

/// A [`RateBudget`] shared through Redis. Keys: `<prefix>rate:{<key>}` for plain buckets;
/// `<prefix>fair:{<pool>}`, `…:c:<caller>` and `…:active` for fair pools (one hash tag per pool,
/// so a pool's keys stay in one slot).
#[derive(Debug)]
pub struct RedisBudget {
    store: RedisStore,
    fallback: LocalBudget,
}

impl RedisBudget {
    /// A budget on `store`.
    pub fn new(store: RedisStore) -> Self {
        RedisBudget {
            store,
            fallback: LocalBudget::new(),
        }
    }

    /// The store (for its health).
    pub fn store(&self) -> &RedisStore {
        &self.store
    }

    /// Keys held by the local fallback.
    pub fn local_keys(&self) -> usize {
        self.fallback.len()
    }
}

#[async_trait]
impl RateBudget for RedisBudget {
    async fn take(&self, key: &str, rate: Rate, max_wait: Duration) -> Decision {
        let redis_key = self.store.key("rate", key, "");
        let mut conn = self.store.conn();
        let answer = self
            .store
            .run(async {
                GCRA.key(&redis_key)
                    .arg(rate.interval_us)
                    .arg(rate.burst)
                    .arg(micros(max_wait))
                    .invoke_async::<(i64, i64)>(&mut conn)
                    .await
            })
            .await;
        match answer {
            Some((granted, us)) => decision(granted == 1, us),
            None => self
                .fallback
                .take_now(key, rate.divided(self.store.replicas()), max_wait),
        }
    }

    async fn take_fair(&self, pool: &str, caller: &str, rate: Rate) -> Decision {
        let pool_key = self.store.key("fair", pool, "");
        let caller_key =
            self.store
                .key("fair", pool, &format!(":c:{}", crate::keys::escape(caller)));
        let active_key = self.store.key("fair", pool, ":active");
        let mut conn = self.store.conn();
        let answer = self
            .store
            .run(async {
                FAIR.key(&pool_key)
                    .key(&caller_key)
                    .key(&active_key)
                    .arg(rate.interval_us)
                    .arg(rate.burst)
                    .arg(caller)
                    .arg(micros(rate.active_window()))
                    .invoke_async::<(i64, i64, i64)>(&mut conn)
                    .await
            })
            .await;
        match answer {
            Some((granted, us, _active)) => decision(granted == 1, us),
            None => self
                .fallback
                .take_fair_now(pool, caller, rate.divided(self.store.replicas())),
        }
    }
}

fn decision(granted: bool, us: i64) -> Decision {
    let d = Duration::from_micros(us.max(0) as u64);
    if granted {
        Decision::Granted { wait: d }
    } else {
        Decision::Denied { retry_after: d }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
