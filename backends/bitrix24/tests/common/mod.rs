//! Shared test setup: a sandbox on 127.0.0.1:0, a backend over its webhook, a gateway.
#![allow(dead_code)]

use crmgate_bitrix24::sandbox::{Sandbox, SandboxOptions};
use crmgate_bitrix24::{Bitrix24Backend, Bitrix24Config};
use crmgate_core::gateway::Gateway;
use crmgate_core::testkit;
use crmgate_core::upstream::UpstreamConfig;
use secrecy::SecretString;
use std::sync::Arc;

/// A generous client-side limiter, so tests are not slowed by it (unless they mean to be).
pub fn fast_upstream() -> UpstreamConfig {
    testkit::upstream()
}

/// A sandbox with a bucket that never fills in normal tests.
pub fn roomy() -> SandboxOptions {
    SandboxOptions {
        bucket_threshold: 100_000.0,
        bucket_drain: 10_000.0,
        ..SandboxOptions::default()
    }
}

pub fn backend_for(url: &str, upstream: UpstreamConfig) -> Arc<Bitrix24Backend> {
    let config = Bitrix24Config::webhook(SecretString::from(url.to_owned()), upstream).unwrap();
    Arc::new(Bitrix24Backend::new(config, testkit::cache()).unwrap())
}

pub fn gateway(backend: Arc<Bitrix24Backend>) -> Gateway {
    testkit::gateway(backend)
}

pub async fn start(options: SandboxOptions) -> (Sandbox, Arc<Bitrix24Backend>, Gateway) {
    let sandbox = Sandbox::start(options).await.unwrap();
    let backend = backend_for(&sandbox.webhook_url(), fast_upstream());
    let gw = gateway(backend.clone());
    (sandbox, backend, gw)
}
