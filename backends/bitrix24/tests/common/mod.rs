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

/// A documented answer's `result` from `tests/fixtures/` (written from the docs).
pub fn fixture_result(name: &str) -> serde_json::Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let body: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    crmgate_bitrix24::wire::Envelope::from_body(body)
        .unwrap()
        .result
}

/// The dictionaries of the documented fixtures (statuses, currencies, users, deal pipelines).
pub fn documented_dictionaries() -> crmgate_bitrix24::map::dicts::Dictionaries {
    use crmgate_bitrix24::map::dicts::{self, Dictionaries};
    let mut d = Dictionaries {
        statuses: dicts::parse_statuses(&fixture_result("crm_status_list.json")),
        currencies: dicts::parse_currencies(&fixture_result("crm_currency_list.json")),
        users: dicts::parse_users(&fixture_result("user_get.json"))
            .into_iter()
            .collect(),
        ..Dictionaries::default()
    };
    d.categories.insert(
        2,
        dicts::parse_categories(&fixture_result("crm_category_list.json")),
    );
    d
}

/// The documented deal schema (`crm.item.fields` for entityTypeId 2).
pub fn documented_deals() -> crmgate_bitrix24::map::fields::EntityMeta {
    use crmgate_bitrix24::map::fields;
    let metas = fields::parse_fields(&fixture_result("crm_item_fields_deal.json"));
    fields::build(2, "deals", "crm.item:2", metas, &documented_dictionaries())
}

/// POST a JSON body to the sandbox's webhook; status and body.
pub async fn post(
    sandbox: &Sandbox,
    method: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{method}", sandbox.webhook_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}
