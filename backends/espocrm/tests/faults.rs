//! Faults and vendor errors through the backend, counting what reached the sandbox: bad
//! credentials, the lockout, a restricted user, missing records, 429/5xx (retried only when
//! safe), malformed and dropped answers, and secrets staying out of errors.

mod common;

use common::*;
use crmgate_core::gateway::{CreateArgs, GetArgs, NoteArgs, SearchArgs, TimelineArgs};
use crmgate_core::model::{CreateOptions, FieldSelection, Operation};
use crmgate_core::{Backend, CallContext, ErrorCode};
use crmgate_espocrm::Auth;
use crmgate_espocrm::sandbox::{Fault, Sandbox, credentials};
use secrecy::SecretString;
use serde_json::json;

const ACME: &str = "6b012cf59353c4863";

fn search(entity: &str) -> SearchArgs {
    SearchArgs {
        entity: entity.into(),
        limit: Some(2),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_wrong_api_key_is_auth_failed_without_retries_or_echo() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway(
        &sandbox,
        Auth::ApiKey(SecretString::from("wrong-k3y-value")),
    );
    let e = gw.entities(&CallContext::configured()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::AuthFailed);
    assert!(e.suggestion.contains("api_key"), "{}", e.suggestion);
    let shown = format!("{e:?} {}", serde_json::to_string(&e).unwrap());
    assert!(
        !shown.contains("wrong-k3y-value"),
        "the key never reaches an error"
    );
    // scopes and App/user are asked for together; neither 401 is retried
    assert_eq!(sandbox.request_count(), 2);
}

#[tokio::test]
async fn a_wrong_hmac_secret_is_auth_failed() {
    let sandbox = Sandbox::start().await.unwrap();
    let auth = Auth::Hmac {
        key: SecretString::from(credentials::HMAC_KEY),
        secret: SecretString::from("not-the-secret"),
    };
    let e = gateway(&sandbox, auth)
        .entities(&CallContext::configured())
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::AuthFailed);
    assert!(e.suggestion.contains("hmac_secret"), "{}", e.suggestion);
    assert!(sandbox.requests().iter().all(|r| r.auth == "hmac"));
}

#[tokio::test]
async fn the_failed_login_lockout_is_rate_limited_for_a_minute() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = reqwest::Client::new();
    for _ in 0..11 {
        client
            .get(format!("{}/api/v1/App/user", sandbox.url()))
            .header("X-Api-Key", "wrong")
            .send()
            .await
            .unwrap();
    }
    let e = gateway(&sandbox, api_key())
        .search(&CallContext::configured(), search("contacts"))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::RateLimited, "{e}");
    assert_eq!(e.retry_after_s, Some(60));
    assert!(e.suggestion.contains("60 seconds"));
}

#[tokio::test]
async fn a_restricted_user_sees_its_entities_and_gets_permission_denied_with_the_reason() {
    let sandbox = Sandbox::start().await.unwrap();
    let cx = CallContext::configured();
    let full = backend(&sandbox, api_key());
    let companies = full
        .entities(&cx)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.name == "companies")
        .unwrap();
    let contacts_full = full
        .entities(&cx)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.name == "contacts")
        .unwrap();
    let restricted = backend(
        &sandbox,
        Auth::ApiKey(SecretString::from(credentials::READONLY_KEY)),
    );
    let entities = restricted.entities(&cx).await.unwrap();
    let names: Vec<&str> = entities.iter().map(|e| e.name.as_str()).collect();
    assert!(
        names.contains(&"contacts") && !names.contains(&"companies"),
        "{names:?}"
    );
    let contacts = entities.iter().find(|e| e.name == "contacts").unwrap();
    assert!(contacts.supports(Operation::Search) && !contacts.supports(Operation::Create));
    assert!(!contacts.supports(Operation::Note), "no stream access");
    let e = restricted
        .get(&cx, &companies, &[ACME.into()], &FieldSelection::All)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::PermissionDenied);
    assert!(e.message.contains("No read access."), "{}", e.message);
    assert!(e.suggestion.contains("Roles"));
    // the backend itself refuses what the entity does not offer, before any request
    let before = sandbox.request_count();
    let e = restricted
        .create(
            &cx,
            contacts,
            &fields(json!({"lastName": "X"})),
            CreateOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotAllowed);
    assert_eq!(sandbox.request_count(), before);
    // and EspoCRM's own 403 when asked anyway
    let e = restricted
        .create(
            &cx,
            &contacts_full,
            &fields(json!({"lastName": "X"})),
            CreateOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::PermissionDenied);
    assert!(e.message.contains("No create access."), "{}", e.message);
}

#[tokio::test]
async fn missing_records_are_not_found_everywhere() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway(&sandbox, api_key());
    let cx = CallContext::configured();
    let missing = "0000000000000dead".to_owned();
    let get = GetArgs {
        entity: "contacts".into(),
        id: Some(missing.clone()),
        ..Default::default()
    };
    assert_eq!(
        gw.get(&cx, get).await.unwrap_err().code,
        ErrorCode::NotFound
    );
    let timeline = TimelineArgs {
        entity: "companies".into(),
        id: missing.clone(),
        ..Default::default()
    };
    assert_eq!(
        gw.timeline(&cx, timeline).await.unwrap_err().code,
        ErrorCode::NotFound
    );
    sandbox.clear_requests();
    let note = NoteArgs {
        entity: "companies".into(),
        id: missing.clone(),
        text: "hello".into(),
    };
    let e = gw.note(&cx, note).await.unwrap_err();
    assert_eq!(
        e.code,
        ErrorCode::NotFound,
        "EspoCRM's 403 on a missing parent is told apart"
    );
    let paths: Vec<String> = sandbox
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        paths,
        [
            "POST /api/v1/Note",
            &format!("GET /api/v1/Account/{missing}")
        ]
    );
    let related = crmgate_core::gateway::RelatedArgs {
        entity: "companies".into(),
        id: missing,
        link: "contacts".into(),
        ..Default::default()
    };
    assert_eq!(
        gw.related(&cx, related).await.unwrap_err().code,
        ErrorCode::NotFound
    );
}

#[tokio::test]
async fn rate_limit_answers_are_retried_then_reported_with_retry_after() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway(&sandbox, api_key());
    let cx = CallContext::configured();
    gw.entities(&cx).await.unwrap();
    gw.describe(&cx, "contacts").await.unwrap();
    sandbox.clear_requests();
    sandbox.inject_for(Fault::RateLimited(0), "/api/v1/Contact", None);
    let page = gw.search(&cx, search("contacts")).await.unwrap();
    assert_eq!(page.records.len(), 2, "one 429, then the retry succeeds");
    assert_eq!(sandbox.request_count(), 2);
    sandbox.clear_requests();
    for _ in 0..3 {
        sandbox.inject_for(Fault::RateLimited(0), "/api/v1/Contact", None);
    }
    let e = gw.search(&cx, search("contacts")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::RateLimited);
    assert_eq!(e.retry_after_s, Some(1));
    assert_eq!(sandbox.request_count(), 3, "first attempt and two retries");
}

#[tokio::test]
async fn server_errors_are_retried_only_when_safe() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway(&sandbox, api_key());
    let cx = CallContext::configured();
    gw.describe(&cx, "contacts").await.unwrap();
    sandbox.clear_requests();
    sandbox.inject_for(Fault::Status(503, None), "/api/v1/Contact", Some("GET"));
    gw.search(&cx, search("contacts")).await.unwrap();
    assert_eq!(sandbox.request_count(), 2, "a read is retried after 503");

    sandbox.clear_requests();
    sandbox.inject_for(
        Fault::Status(500, Some("Error".into())),
        "/api/v1/Contact",
        Some("GET"),
    );
    let e = gw.search(&cx, search("contacts")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamUnavailable);
    assert_eq!(sandbox.request_count(), 1, "500 is not an overload answer");

    let before = sandbox.stored("Contact").len();
    sandbox.clear_requests();
    sandbox.inject_for(Fault::Status(503, None), "/api/v1/Contact", Some("POST"));
    let create = CreateArgs {
        entity: "contacts".into(),
        data: fields(json!({"firstName": "Once", "lastName": "Only"})),
        skip_duplicate_check: false,
    };
    let e = gw.create(&cx, create.clone()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamUnavailable);
    assert!(e.suggestion.contains("not retried"), "{}", e.suggestion);
    assert_eq!(
        sandbox.request_count(),
        1,
        "a write is never repeated after an answer"
    );
    assert_eq!(sandbox.stored("Contact").len(), before);

    sandbox.clear_requests();
    sandbox.inject_for(Fault::Drop, "/api/v1/Contact", Some("POST"));
    let e = gw.create(&cx, create).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamUnavailable, "{e}");
    assert_eq!(
        sandbox.request_count(),
        1,
        "a write whose answer broke is not repeated"
    );
    assert_eq!(sandbox.stored("Contact").len(), before);
}

#[tokio::test]
async fn a_malformed_answer_is_upstream_protocol_without_echo() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway(&sandbox, api_key());
    let cx = CallContext::configured();
    gw.describe(&cx, "contacts").await.unwrap();
    sandbox.inject_for(Fault::Malformed, "/api/v1/Contact", Some("GET"));
    let e = gw.search(&cx, search("contacts")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamProtocol);
    assert!(!e.message.contains("\"id\""), "{}", e.message);
    sandbox.inject_for(Fault::Huge(9 * 1024 * 1024), "/api/v1/Contact", Some("GET"));
    let e = gw.search(&cx, search("contacts")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamProtocol, "over the size cap");
}

#[tokio::test]
async fn no_configured_identity_and_no_bearer_is_auth_failed_without_a_request() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway(&sandbox, Auth::None);
    let e = gw.entities(&CallContext::configured()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::AuthFailed);
    assert_eq!(sandbox.request_count(), 0);
    let bearer = CallContext::bearer(SecretString::from(credentials::API_KEY));
    assert!(!gw.entities(&bearer).await.unwrap().entities.is_empty());
}

#[test]
fn debug_output_hides_credentials() {
    let config = crmgate_espocrm::EspoConfig::new(
        "https://crm.example.com",
        Auth::Hmac {
            key: SecretString::from("k3y-abc"),
            secret: SecretString::from("s3cret-xyz"),
        },
    )
    .unwrap();
    let shown = format!("{config:?}");
    assert!(
        !shown.contains("k3y-abc") && !shown.contains("s3cret-xyz"),
        "{shown}"
    );
}
