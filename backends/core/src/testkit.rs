//! The set-up every backend's tests repeat (feature `testkit`; `conformance` implies it): a
//! gateway at the destructive tier, an upstream tuning whose limiter and backoff stay out of the
//! way, a metadata cache, and small helpers for contexts and field maps.

use crate::backend::{Backend, CallContext};
use crate::cache::MetadataCache;
use crate::confirm::ConfirmSigner;
use crate::gateway::{Gateway, GatewaySettings, Tier};
use crate::model::Fields;
use crate::upstream::UpstreamConfig;
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

/// A gateway over `backend` at the destructive tier, with a random confirm key.
pub fn gateway(backend: Arc<dyn Backend>) -> Gateway {
    gateway_with(
        backend,
        GatewaySettings {
            tier: Tier::Destructive,
            ..GatewaySettings::default()
        },
    )
}

/// A gateway over `backend` with `settings`, with a random confirm key.
pub fn gateway_with(backend: Arc<dyn Backend>, settings: GatewaySettings) -> Gateway {
    Gateway::new(backend, settings, ConfirmSigner::random())
}

/// Upstream tuning for tests: a limiter no test fills unless it means to, millisecond backoff,
/// and the default timeouts and retry counts.
pub fn upstream() -> UpstreamConfig {
    UpstreamConfig {
        rate_per_second: 10_000,
        burst: 10_000,
        max_wait: Duration::from_secs(30),
        base_backoff: Duration::from_millis(2),
        ..UpstreamConfig::default()
    }
}

/// A fresh metadata cache (five minutes, a thousand entries).
pub fn cache() -> MetadataCache {
    MetadataCache::new(Duration::from_secs(300), 1000)
}

/// The configured identity.
pub fn cx() -> CallContext {
    CallContext::configured()
}

/// A hosted caller bringing `token`.
pub fn caller(token: &str) -> CallContext {
    CallContext::bearer(SecretString::from(token.to_owned()))
}

/// The configured identity acting for another caller scope (hosted mode, `shared_identity`).
pub fn configured_for(token: &str) -> CallContext {
    CallContext::configured_for(&SecretString::from(token.to_owned()))
}

/// A JSON object literal as a field map. Panics on anything but an object (tests only).
pub fn fields(value: serde_json::Value) -> Fields {
    match value {
        serde_json::Value::Object(map) => map,
        other => panic!("fields() takes a JSON object, got {other}"),
    }
}
