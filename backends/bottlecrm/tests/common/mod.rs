//! Shared set-up: a sandbox, a backend pointed at it with a given token, a gateway over it.

#![allow(dead_code)]

use crmgate_bottlecrm::sandbox::Sandbox;
use crmgate_bottlecrm::{BottleConfig, BottleCrmBackend};
use crmgate_core::cache::MetadataCache;
use crmgate_core::confirm::ConfirmSigner;
use crmgate_core::gateway::{Gateway, GatewaySettings, Tier};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

/// A backend for the sandbox acting with `token` (no retries' waiting worth mentioning).
pub fn backend(sandbox: &Sandbox, token: &str) -> BottleCrmBackend {
    let mut config =
        BottleConfig::new(&sandbox.url(), Some(SecretString::from(token.to_owned()))).unwrap();
    config.app_url = Some("https://app.bottlecrm.example".into());
    config.upstream.base_backoff = Duration::from_millis(1);
    config.upstream.rate_per_second = 10_000;
    config.upstream.burst = 10_000;
    BottleCrmBackend::new(config, MetadataCache::new(Duration::from_secs(60), 1000)).unwrap()
}

/// A gateway at the destructive tier over a backend for the sandbox acting with `token`.
pub fn gateway(sandbox: &Sandbox, token: &str) -> Gateway {
    Gateway::new(
        Arc::new(backend(sandbox, token)),
        GatewaySettings {
            tier: Tier::Destructive,
            ..GatewaySettings::default()
        },
        ConfirmSigner::random(),
    )
}

/// The id used for "missing" throughout the recording.
pub const MISSING: &str = "00000000-0000-4000-8000-000000000000";
