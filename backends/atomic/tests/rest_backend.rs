//! Atomic CRM behaviour over the postgrest transport, against the sandbox: the same scenarios
//! as on PostgreSQL, plus the configuration row driving allowed values.

mod scenarios;

use crmgate_atomic::sandbox::Sandbox;
use crmgate_atomic::testkit::TestUser;
use crmgate_atomic::{AtomicBackend, Credential};
use crmgate_core::gateway::*;
use crmgate_core::testkit;
use crmgate_core::{CallContext, ErrorCode};
use scenarios::{create, cx};
use serde_json::json;
use std::sync::Arc;

fn gateway(sandbox: &Sandbox, user: TestUser) -> Gateway {
    let config = sandbox.config(Credential::AccessToken(sandbox.token(user, 3600)));
    testkit::gateway(Arc::new(
        AtomicBackend::new(config, testkit::cache()).unwrap(),
    ))
}

#[tokio::test]
async fn triggers_and_identities() {
    let sandbox = Sandbox::start().await.unwrap();
    let bob = CallContext::bearer(sandbox.token(TestUser::Bob, 600));
    scenarios::triggers_and_identities(&gateway(&sandbox, TestUser::Alice), bob).await;
}

#[tokio::test]
async fn links() {
    let sandbox = Sandbox::start().await.unwrap();
    scenarios::links(&gateway(&sandbox, TestUser::Bob)).await;
}

#[tokio::test]
async fn notes() {
    let sandbox = Sandbox::start().await.unwrap();
    scenarios::notes(&gateway(&sandbox, TestUser::Bob)).await;
}

#[tokio::test]
async fn filters() {
    let sandbox = Sandbox::start().await.unwrap();
    scenarios::filters(&gateway(&sandbox, TestUser::Bob)).await;
}

#[tokio::test]
async fn allowed_values_follow_the_configuration_row() {
    let sandbox = Sandbox::start().await.unwrap();
    sandbox.set_configuration(json!({
        "dealStages": [{"value": "lead", "label": "Lead"}, {"value": "signed", "label": "Signed"}],
        "taskTypes": ["Call", "Visit"]
    }));
    let g = gateway(&sandbox, TestUser::Bob);
    let deals = g.describe(&cx(), "deals").await.unwrap();
    let stages: Vec<&str> = deals
        .field("stage")
        .unwrap()
        .options
        .iter()
        .map(|o| o.value.as_str())
        .collect();
    assert_eq!(stages, ["lead", "signed"]);
    // the built-in model describes what the Data API cannot (no OpenAPI with user keys)
    assert!(
        g.describe(&cx(), "contacts")
            .await
            .unwrap()
            .field("company_name")
            .unwrap()
            .is_read_only()
    );
    let e = create(&g, "deals", json!({"name": "X", "stage": "won"}))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(e.suggestion.contains("lead, signed"), "{}", e.suggestion);
    let e = create(&g, "tasks", json!({"contact_id": "1", "type": "call"}))
        .await
        .unwrap_err();
    assert!(e.suggestion.contains("Call"), "{}", e.suggestion);
    let before = sandbox.request_count();
    let e = create(&g, "deals", json!({"name": "X", "stage": "nope"}))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert_eq!(
        sandbox.request_count(),
        before,
        "a refused write sends nothing"
    );
    create(&g, "deals", json!({"name": "X", "stage": "signed"}))
        .await
        .unwrap();
}

#[tokio::test]
async fn account_managers() {
    let sandbox = Sandbox::start().await.unwrap();
    scenarios::account_managers(&gateway(&sandbox, TestUser::Bob)).await;
}
