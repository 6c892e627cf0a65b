//! State that callers and replicas share, so that one caller never hurts another and N crmgate
//! processes in front of one CRM stay inside its limits together.
//!
//! | primitive | trait | in-process | through Redis |
//! |---|---|---|---|
//! | rate budget (GCRA; fair division of a per-portal budget) | [`RateBudget`] | [`LocalBudget`] | [`RedisBudget`] |
//! | vendor blocks (Bitrix24 `OPERATION_TIME_LIMIT`) | [`VendorBlocks`] | [`LocalFlags`] | [`RedisFlags`] |
//! | rejected-credential memory (by [`Fingerprint`]) | [`RejectedCredentials`] | [`LocalFlags`] | [`RedisFlags`] |
//! | in-flight cap per caller | — | [`InflightCaps`] | — |
//! | fair queue for a pool (Atomic's connections) | — | [`FairQueue`] | — |
//!
//! [`SharedState`] bundles the first three for a process: [`SharedState::local`] without
//! `[redis]`, [`SharedState::redis`] with it. The Redis implementations never block a call for
//! longer than `op_timeout_ms` on a dead Redis: they fall back to local limits scaled to
//! `1 / replicas`, log once per transition, report a [`Health`] for `/metrics`, and return to
//! shared mode when Redis does (see [`RedisStore`]).
//!
//! This crate depends on no other crmgate crate: the upstream layer, the HTTP layer and the
//! backends call into it and map a [`RateLimited`] to their own `RATE_LIMITED` error.

mod budget;
mod config;
mod credential;
mod fair_queue;
mod flags;
mod health;
mod hex;
mod inflight;
pub mod keys;
mod store;

pub use budget::{
    Decision, LocalBudget, Rate, RateBudget, RateLimited, RedisBudget, Step, acquire,
};
pub use config::{
    ConfigError, DEFAULT_KEY_PREFIX, DEFAULT_OP_TIMEOUT_MS, RedisConfig, RedisSettings,
};
pub use credential::{CredentialHasher, Fingerprint};
pub use fair_queue::{FairPermit, FairQueue, QueueError};
pub use flags::{LocalFlags, RedisFlags, RejectedCredentials, VendorBlocks};
pub use health::{FailureKind, Health, Mode};
pub use hex::hex;
pub use inflight::{Busy, InflightCaps, InflightPermit};
pub use store::RedisStore;

use std::sync::Arc;

/// The shared primitives of one process: in-process, or through one Redis.
#[derive(Clone)]
pub struct SharedState {
    backing: Backing,
}

#[derive(Clone)]
enum Backing {
    Local {
        budget: Arc<LocalBudget>,
        flags: Arc<LocalFlags>,
    },
    Redis {
        store: RedisStore,
        budget: Arc<RedisBudget>,
        flags: Arc<RedisFlags>,
    },
}

impl std::fmt::Debug for SharedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedState")
            .field("mode", &self.health().mode)
            .finish_non_exhaustive()
    }
}

impl SharedState {
    /// Everything in this process (no `[redis]` configured).
    pub fn local() -> Self {
        SharedState {
            backing: Backing::Local {
                budget: Arc::new(LocalBudget::new()),
                flags: Arc::new(LocalFlags::new()),
            },
        }
    }

    /// Everything through the Redis of `settings`. No I/O here (the first use connects); must
    /// be called inside a tokio runtime.
    pub fn redis(settings: &RedisSettings) -> Result<Self, ConfigError> {
        let store = RedisStore::new(settings).map_err(|_| ConfigError {
            key: "redis.url".to_owned(),
            message: "is not a usable Redis URL (redis://[user:password@]host[:port][/db])"
                .to_owned(),
        })?;
        Ok(SharedState {
            backing: Backing::Redis {
                budget: Arc::new(RedisBudget::new(store.clone())),
                flags: Arc::new(RedisFlags::new(store.clone())),
                store,
            },
        })
    }

    /// The rate budget.
    pub fn budget(&self) -> Arc<dyn RateBudget> {
        match &self.backing {
            Backing::Local { budget, .. } => budget.clone(),
            Backing::Redis { budget, .. } => budget.clone(),
        }
    }

    /// Vendor blocks.
    pub fn blocks(&self) -> Arc<dyn VendorBlocks> {
        match &self.backing {
            Backing::Local { flags, .. } => flags.clone(),
            Backing::Redis { flags, .. } => flags.clone(),
        }
    }

    /// The rejected-credential memory.
    pub fn rejected(&self) -> Arc<dyn RejectedCredentials> {
        match &self.backing {
            Backing::Local { flags, .. } => flags.clone(),
            Backing::Redis { flags, .. } => flags.clone(),
        }
    }

    /// Where the state lives and how it has fared, for `/metrics`.
    pub fn health(&self) -> Health {
        match &self.backing {
            Backing::Local { budget, flags } => Health {
                mode: Mode::Local,
                last_error: None,
                transitions: 0,
                shared_ops: 0,
                fallback_ops: 0,
                replicas: 1,
                local_keys: budget.len() + flags.len(),
            },
            Backing::Redis {
                store,
                budget,
                flags,
            } => Health {
                local_keys: budget.local_keys() + flags.local_keys(),
                ..store.health()
            },
        }
    }
}
