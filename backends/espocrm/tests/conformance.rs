//! The conformance suite against the EspoCRM backend over its sandbox, for each way to sign in.

mod common;

use common::*;
use crmgate_core::conformance::{self, Fixture};
use crmgate_espocrm::Auth;
use crmgate_espocrm::sandbox::{Sandbox, credentials};
use secrecy::SecretString;
use serde_json::json;

const ACME: &str = "6b012cf59353c4863";

fn fixture() -> Fixture {
    Fixture {
        write_entity: "contacts".into(),
        create: fields(json!({
            "firstName": "Conformance",
            "lastName": "Check",
            "emailAddress": "conformance.check@suite.example",
            "salutationName": "Dr."
        })),
        update: fields(json!({"description": "Checked by the suite", "addressCity": "Lisbon"})),
        paging_entity: "contacts".into(),
        page_size: 3,
        link: Some(("accounts".into(), ACME.into())),
        missing_id: "0000000000000dead".into(),
    }
}

#[tokio::test]
async fn passes_with_an_api_key() {
    let sandbox = Sandbox::start().await.unwrap();
    let report = conformance::run(&gateway(&sandbox, api_key()), &fixture()).await;
    assert_eq!(report.passed.len(), 12, "{:?}", report.passed);
}

#[tokio::test]
async fn passes_with_hmac() {
    let sandbox = Sandbox::start().await.unwrap();
    let auth = Auth::Hmac {
        key: SecretString::from(credentials::HMAC_KEY),
        secret: SecretString::from(credentials::HMAC_SECRET),
    };
    let report = conformance::run(&gateway(&sandbox, auth), &fixture()).await;
    assert_eq!(report.passed.len(), 12, "{:?}", report.passed);
    let auth_kinds: std::collections::BTreeSet<&str> =
        sandbox.requests().iter().map(|r| r.auth).collect();
    assert_eq!(auth_kinds, ["hmac"].into(), "every request was HMAC-signed");
}

#[tokio::test]
async fn passes_with_username_and_password() {
    let sandbox = Sandbox::start().await.unwrap();
    let auth = Auth::Basic {
        username: credentials::ADMIN_USER.into(),
        password: SecretString::from(credentials::ADMIN_PASSWORD),
    };
    let report = conformance::run(&gateway(&sandbox, auth), &fixture()).await;
    assert_eq!(report.passed.len(), 12, "{:?}", report.passed);
}
