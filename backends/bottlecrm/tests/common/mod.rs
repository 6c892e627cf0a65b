//! Shared set-up: a sandbox, a backend pointed at it with a given token, a gateway over it.

#![allow(dead_code)]

use crmgate_bottlecrm::sandbox::Sandbox;
use crmgate_bottlecrm::{BottleConfig, BottleCrmBackend};
use crmgate_core::gateway::Gateway;
use crmgate_core::testkit;
use secrecy::SecretString;
use std::sync::Arc;

/// A backend for the sandbox acting with `token` (no retries' waiting worth mentioning).
pub fn backend(sandbox: &Sandbox, token: &str) -> BottleCrmBackend {
    let mut config =
        BottleConfig::new(&sandbox.url(), Some(SecretString::from(token.to_owned()))).unwrap();
    config.app_url = Some("https://app.bottlecrm.example".into());
    config.upstream = testkit::upstream();
    BottleCrmBackend::new(config, testkit::cache()).unwrap()
}

/// A gateway at the destructive tier over a backend for the sandbox acting with `token`.
pub fn gateway(sandbox: &Sandbox, token: &str) -> Gateway {
    testkit::gateway(Arc::new(backend(sandbox, token)))
}

/// The id used for "missing" throughout the recording.
pub const MISSING: &str = "00000000-0000-4000-8000-000000000000";
