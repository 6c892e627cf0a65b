//! Expiring flags: vendor blocks ("method X of instance Y is blocked until T", Bitrix24's
//! `OPERATION_TIME_LIMIT`) and the rejected-credential memory (a credential the CRM refused is
//! not sent again for a while, so one bad caller cannot trip a vendor's failed-login lockout for
//! everyone). Both are the same thing underneath: a key that exists until it expires.
//!
//! [`LocalFlags`] keeps them in this process; [`RedisFlags`] in Redis (one round trip per
//! operation) with a local copy of everything it sets: reads look at the local copy first, so a
//! flag this replica set costs no round trip, and what was set during an outage still holds.
//! A flag cleared by another replica may so linger here until it expires (TTLs are short).

use crate::credential::Fingerprint;
use crate::keys::escape;
use crate::store::{RedisStore, SET_LONGER};
use async_trait::async_trait;
use redis::AsyncCommands;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Flags kept before the first sweep of expired ones.
const SWEEP_FLOOR: usize = 1024;

/// Vendor-side blocks of one method of one CRM instance.
#[async_trait]
pub trait VendorBlocks: Send + Sync {
    /// `method` of `instance` is blocked for `duration` from now (for Bitrix24: until
    /// `time.operating_reset_at`). A longer block already set is kept. When the vendor blocks
    /// per credential (Bitrix24 counts per app or webhook), pass `keys::caller(..)` as
    /// `instance`.
    async fn block(&self, instance: &str, method: &str, duration: Duration);

    /// How long `method` of `instance` stays blocked, if it is.
    async fn blocked_for(&self, instance: &str, method: &str) -> Option<Duration>;
}

/// Credentials a CRM instance refused recently, by [`Fingerprint`] (never the credential).
#[async_trait]
pub trait RejectedCredentials: Send + Sync {
    /// Remember that `instance` refused `credential`, for `ttl` (a longer memory is kept).
    async fn remember(&self, instance: &str, credential: &Fingerprint, ttl: Duration);

    /// How long `credential` stays refused by `instance` without being sent, if it is.
    async fn rejected_for(&self, instance: &str, credential: &Fingerprint) -> Option<Duration>;

    /// Forget a refusal (the credential just worked, e.g. on another replica's retry).
    async fn forget(&self, instance: &str, credential: &Fingerprint);
}

const BLOCK: &str = "block";
const REJECTED: &str = "rejected";

/// Flags in this process.
#[derive(Debug)]
pub struct LocalFlags {
    state: Mutex<LocalState>,
}

#[derive(Debug)]
struct LocalState {
    flags: HashMap<String, Instant>,
    sweep_at: usize,
}

impl Default for LocalFlags {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalFlags {
    /// No flags.
    pub fn new() -> Self {
        LocalFlags {
            state: Mutex::new(LocalState {
                flags: HashMap::new(),
                sweep_at: SWEEP_FLOOR,
            }),
        }
    }

    /// Flags held (expired ones included until the next sweep).
    pub fn len(&self) -> usize {
        self.lock().flags.len()
    }

    /// Whether no flag is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LocalState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, key: String, ttl: Duration) {
        let now = Instant::now();
        let until = now + ttl;
        let mut state = self.lock();
        let slot = state.flags.entry(key).or_insert(until);
        if *slot < until {
            *slot = until;
        }
        if state.flags.len() > state.sweep_at {
            state.flags.retain(|_, until| *until > now);
            state.sweep_at = (state.flags.len() * 2).max(SWEEP_FLOOR);
        }
    }

    fn remaining(&self, key: &str) -> Option<Duration> {
        let now = Instant::now();
        let mut state = self.lock();
        match state.flags.get(key) {
            Some(until) if *until > now => Some(*until - now),
            Some(_) => {
                state.flags.remove(key);
                None
            }
            None => None,
        }
    }

    fn clear(&self, key: &str) {
        self.lock().flags.remove(key);
    }
}

fn local_key(kind: &str, instance: &str, item: &str) -> String {
    format!("{kind}:{}:{}", escape(instance), escape(item))
}

#[async_trait]
impl VendorBlocks for LocalFlags {
    async fn block(&self, instance: &str, method: &str, duration: Duration) {
        self.set(local_key(BLOCK, instance, method), duration);
    }

    async fn blocked_for(&self, instance: &str, method: &str) -> Option<Duration> {
        self.remaining(&local_key(BLOCK, instance, method))
    }
}

#[async_trait]
impl RejectedCredentials for LocalFlags {
    async fn remember(&self, instance: &str, credential: &Fingerprint, ttl: Duration) {
        self.set(local_key(REJECTED, instance, &credential.to_hex()), ttl);
    }

    async fn rejected_for(&self, instance: &str, credential: &Fingerprint) -> Option<Duration> {
        self.remaining(&local_key(REJECTED, instance, &credential.to_hex()))
    }

    async fn forget(&self, instance: &str, credential: &Fingerprint) {
        self.clear(&local_key(REJECTED, instance, &credential.to_hex()));
    }
}

/// Flags in Redis, shared by every replica: `<prefix>block:{<instance>}:<method>` and
/// `<prefix>rejected:{<instance>}:<fingerprint hex>`, each with a millisecond expiry.
#[derive(Debug)]
pub struct RedisFlags {
    store: RedisStore,
    local: LocalFlags,
}

impl RedisFlags {
    /// Flags on `store`.
    pub fn new(store: RedisStore) -> Self {
        RedisFlags {
            store,
            local: LocalFlags::new(),
        }
    }

    /// Flags held in the local copy.
    pub fn local_keys(&self) -> usize {
        self.local.len()
    }

    async fn set(&self, kind: &str, instance: &str, item: &str, ttl: Duration) {
        self.local.set(local_key(kind, instance, item), ttl);
        let key = self
            .store
            .key(kind, instance, &format!(":{}", escape(item)));
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut conn = self.store.conn();
        self.store
            .run(async {
                SET_LONGER
                    .key(&key)
                    .arg(ms)
                    .invoke_async::<i64>(&mut conn)
                    .await
            })
            .await;
    }

    async fn remaining(&self, kind: &str, instance: &str, item: &str) -> Option<Duration> {
        if let Some(left) = self.local.remaining(&local_key(kind, instance, item)) {
            return Some(left);
        }
        let key = self
            .store
            .key(kind, instance, &format!(":{}", escape(item)));
        let mut conn = self.store.conn();
        let ms = self
            .store
            .run(async { conn.pttl::<_, i64>(&key).await })
            .await?;
        (ms > 0).then(|| Duration::from_millis(ms as u64))
    }

    async fn clear(&self, kind: &str, instance: &str, item: &str) {
        self.local.clear(&local_key(kind, instance, item));
        let key = self
            .store
            .key(kind, instance, &format!(":{}", escape(item)));
        let mut conn = self.store.conn();
        self.store
            .run(async { conn.del::<_, i64>(&key).await })
            .await;
    }
}

#[async_trait]
impl VendorBlocks for RedisFlags {
    async fn block(&self, instance: &str, method: &str, duration: Duration) {
        self.set(BLOCK, instance, method, duration).await;
    }

    async fn blocked_for(&self, instance: &str, method: &str) -> Option<Duration> {
        self.remaining(BLOCK, instance, method).await
    }
}

#[async_trait]
impl RejectedCredentials for RedisFlags {
    async fn remember(&self, instance: &str, credential: &Fingerprint, ttl: Duration) {
        self.set(REJECTED, instance, &credential.to_hex(), ttl)
            .await;
    }

    async fn rejected_for(&self, instance: &str, credential: &Fingerprint) -> Option<Duration> {
        self.remaining(REJECTED, instance, &credential.to_hex())
            .await
    }

    async fn forget(&self, instance: &str, credential: &Fingerprint) {
        self.clear(REJECTED, instance, &credential.to_hex()).await;
    }
}
