//! Restoring soft-deleted EspoCRM records through the backend over the sandbox: an
//! administrator brings a deleted record back under its old id with its links (the
//! `restoreDeleted` request as EspoCRM takes it); a live or purged record is refused; any other
//! user is refused before anything is sent, as EspoCRM itself refuses it.

mod common;

use common::*;
use crmgate_core::gateway::*;
use crmgate_core::{Backend, CallContext, ErrorCode};
use crmgate_espocrm::Auth;
use crmgate_espocrm::sandbox::{Sandbox, credentials};
use secrecy::SecretString;
use serde_json::json;

const ACME: &str = "6b012cf59353c4863";
const ALICE: &str = "6b012cf5de3340e2e";

fn cx() -> CallContext {
    CallContext::configured()
}

fn admin() -> Auth {
    Auth::Basic {
        username: credentials::ADMIN_USER.into(),
        password: SecretString::from(credentials::ADMIN_PASSWORD),
    }
}

fn deleted(sandbox: &Sandbox, id: &str) -> serde_json::Value {
    sandbox
        .stored("Account")
        .into_iter()
        .find(|r| r["id"] == id)
        .unwrap()["deleted"]
        .clone()
}

#[tokio::test]
async fn an_administrator_restores_a_deleted_record_under_its_old_id() {
    let sandbox = Sandbox::start().await.unwrap();
    let backend = backend(&sandbox, admin());
    let gw = gateway_over(backend.clone());
    let companies = gw.resolve(&cx(), "companies").await.unwrap();
    assert!(backend.restores(&companies));

    let delete = |token: Option<String>| DeleteArgs {
        entity: "companies".into(),
        id: ACME.into(),
        confirm_token: token,
    };
    let token = match gw.delete(&cx(), delete(None)).await.unwrap() {
        DeleteOutput::Preview { confirm_token, .. } => confirm_token,
        other => panic!("{other:?}"),
    };
    gw.delete(&cx(), delete(Some(token))).await.unwrap();
    assert_eq!(deleted(&sandbox, ACME), true);
    // EspoCRM shows an admin the deleted record; crmgate does not pass it off as live
    let e = gw
        .get(
            &cx(),
            GetArgs {
                entity: "companies".into(),
                id: Some(ACME.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);

    let back = backend.restore(&cx(), &companies, ACME).await.unwrap();
    assert_eq!(
        (back.id.as_str(), back.title.as_str()),
        (ACME, "Acme Corporation")
    );
    assert_eq!(deleted(&sandbox, ACME), false);
    let restore = sandbox
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(restore.path, "/api/v1/Account/action/restoreDeleted");
    assert_eq!(restore.body, Some(json!({"id": ACME})));
    // its contacts are linked again
    let related = gw
        .related(
            &cx(),
            RelatedArgs {
                entity: "companies".into(),
                id: ACME.into(),
                link: "contacts".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(related.records.iter().any(|r| r.id == ALICE));

    // restoring a live record, or one that never existed
    let e = backend.restore(&cx(), &companies, ACME).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Conflict, "{}", e.message);
    let e = backend
        .restore(&cx(), &companies, "6b012cf000000000f")
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound, "{}", e.message);
}

#[tokio::test]
async fn restoring_needs_an_administrator_and_espocrm_refuses_others() {
    let sandbox = Sandbox::start().await.unwrap();
    let backend = backend(&sandbox, api_key());
    let gw = gateway_over(backend.clone());
    let companies = gw.resolve(&cx(), "companies").await.unwrap();
    assert!(!backend.restores(&companies));
    sandbox.clear_requests();
    let e = backend.restore(&cx(), &companies, ACME).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::PermissionDenied);
    assert_eq!(e.details.unwrap()["permission"], "EspoCRM: administrator");
    assert_eq!(sandbox.request_count(), 0, "refused before sending");
    // what EspoCRM itself answers a non-admin: an empty Forbidden
    let r = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/Account/action/restoreDeleted",
            sandbox.url()
        ))
        .header("X-Api-Key", credentials::API_KEY)
        .json(&json!({"id": ACME}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["x-status-reason"], "");
}
