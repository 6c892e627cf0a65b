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

/// A recorded exchange from `tests/fixtures`.
pub fn fixture(name: &str) -> serde_json::Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The recorded answer of `fixture` as the upstream layer hands it over.
pub fn recorded_answer(fixture: &serde_json::Value) -> crmgate_core::upstream::UpstreamResponse {
    answer(
        fixture["response"]["status"].as_u64().unwrap() as u16,
        fixture["response"]["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
            .collect(),
        match fixture["response"]["body_is_json"].as_bool() {
            Some(false) => Vec::new(),
            _ => serde_json::to_vec(&fixture["response"]["body"]).unwrap(),
        },
    )
}

/// An answer with these status, headers and body.
pub fn answer(
    status: u16,
    headers: Vec<(&str, &str)>,
    body: Vec<u8>,
) -> crmgate_core::upstream::UpstreamResponse {
    use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    crmgate_core::upstream::UpstreamResponse {
        status: reqwest::StatusCode::from_u16(status).unwrap(),
        headers: map,
        body: body.into(),
    }
}
