//! Shared test setup: a sandbox, and a backend / gateway over it.
#![allow(dead_code)]

use crmgate_core::cache::MetadataCache;
use crmgate_core::confirm::ConfirmSigner;
use crmgate_core::gateway::{Gateway, GatewaySettings, Tier};
use crmgate_core::upstream::UpstreamConfig;
use crmgate_espocrm::sandbox::{Sandbox, credentials};
use crmgate_espocrm::{Auth, EspoBackend, EspoConfig};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

/// Upstream tuning for tests: quick retries, no client-side rate limit in the way.
pub fn upstream() -> UpstreamConfig {
    UpstreamConfig {
        base_backoff: Duration::from_millis(5),
        rate_per_second: 10_000,
        burst: 10_000,
        ..UpstreamConfig::default()
    }
}

pub fn api_key() -> Auth {
    Auth::ApiKey(SecretString::from(credentials::API_KEY))
}

pub fn backend(sandbox: &Sandbox, auth: Auth) -> Arc<EspoBackend> {
    let config = EspoConfig::new(sandbox.url(), auth).unwrap();
    let cache = MetadataCache::new(Duration::from_secs(300), 1000);
    Arc::new(EspoBackend::new(config, upstream(), cache).unwrap())
}

pub fn gateway(sandbox: &Sandbox, auth: Auth) -> Gateway {
    gateway_over(backend(sandbox, auth))
}

pub fn gateway_over(backend: Arc<EspoBackend>) -> Gateway {
    let settings = GatewaySettings {
        tier: Tier::Destructive,
        ..GatewaySettings::default()
    };
    Gateway::new(backend, settings, ConfirmSigner::random())
}

pub fn fields(v: serde_json::Value) -> crmgate_core::model::Fields {
    v.as_object().unwrap().clone()
}
