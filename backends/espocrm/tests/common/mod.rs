//! Shared test setup: a sandbox, and a backend / gateway over it (the generic parts come from
//! `crmgate_core::testkit`).
#![allow(dead_code, unused_imports)]

use crmgate_core::gateway::Gateway;
use crmgate_core::testkit;
pub use crmgate_core::testkit::{fields, upstream};
use crmgate_core::upstream::UpstreamConfig;
use crmgate_espocrm::sandbox::{Sandbox, credentials};
use crmgate_espocrm::{Auth, EspoBackend, EspoConfig};
use secrecy::SecretString;
use std::sync::Arc;

pub fn api_key() -> Auth {
    Auth::ApiKey(SecretString::from(credentials::API_KEY))
}

pub fn backend(sandbox: &Sandbox, auth: Auth) -> Arc<EspoBackend> {
    backend_with(sandbox, auth, upstream())
}

pub fn backend_with(sandbox: &Sandbox, auth: Auth, upstream: UpstreamConfig) -> Arc<EspoBackend> {
    let config = EspoConfig::new(sandbox.url(), auth).unwrap();
    Arc::new(EspoBackend::new(config, upstream, testkit::cache()).unwrap())
}

pub fn gateway(sandbox: &Sandbox, auth: Auth) -> Gateway {
    gateway_over(backend(sandbox, auth))
}

pub fn gateway_over(backend: Arc<EspoBackend>) -> Gateway {
    testkit::gateway(backend)
}
