//! Faults and vendor errors through the backend, counting what reached the sandbox: bad
//! credentials, the lockout, a restricted user, missing records, 429/5xx (retried only when
//! safe), writes whose outcome is unknown (`OUTCOME_UNKNOWN`, exactly one record), a hung
//! EspoCRM (one timeout per call), malformed and dropped answers, a wrong url, and secrets
//! staying out of errors.

mod common;

use common::*;
use crmgate_core::gateway::{
    CreateArgs, DeleteArgs, DeleteOutput, GetArgs, NoteArgs, SearchArgs, TimelineArgs, UpdateArgs,
};
use crmgate_core::model::{CreateOptions, FieldSelection, Operation};
use crmgate_core::upstream::UpstreamConfig;
use crmgate_core::{Backend, CallContext, ErrorCode};
use crmgate_espocrm::Auth;
use crmgate_espocrm::sandbox::{Fault, Sandbox, credentials};
use secrecy::SecretString;
use serde_json::json;
use std::time::Duration;

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
        .get("companies")
        .cloned()
        .unwrap();
    let contacts_full = full
        .entities(&cx)
        .await
        .unwrap()
        .get("contacts")
        .cloned()
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
    // the backend itself refuses what the role forbids, before any request, naming the
    // permission
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
    assert_eq!(e.code, ErrorCode::PermissionDenied, "{e}");
    assert!(e.message.contains("Contact: create"), "{}", e.message);
    assert_eq!(sandbox.request_count(), before);
    // through the gateway: a hidden entity is hidden, not unknown; a forbidden operation
    // names its permission
    let gw = gateway_over(restricted.clone());
    let listed = gw.entities(&cx).await.unwrap();
    assert!(
        listed
            .hidden
            .iter()
            .any(|h| h.name == "companies" && h.permission == "Account: read"),
        "crm_entities names what the role hides: {:?}",
        listed.hidden
    );
    let e = gw.describe(&cx, "companies").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::PermissionDenied, "{e}");
    assert!(e.message.contains("may not see it"), "{}", e.message);
    assert_eq!(e.details.as_ref().unwrap()["permission"], "Account: read");
    let create = CreateArgs {
        entity: "contacts".into(),
        data: fields(json!({"lastName": "X"})),
        skip_duplicate_check: false,
    };
    let e = gw.create(&cx, create).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::PermissionDenied, "{e}");
    assert!(
        e.message.contains("may not create contacts"),
        "{}",
        e.message
    );
    assert_eq!(
        sandbox.request_count(),
        before,
        "refused before any request"
    );
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
    assert_eq!(e.code, ErrorCode::OutcomeUnknown, "a 5xx to a write: {e}");
    assert!(!e.retryable);
    assert_eq!(
        sandbox.request_count(),
        1,
        "a write is never repeated after an answer"
    );
    assert_eq!(sandbox.stored("Contact").len(), before);

    sandbox.clear_requests();
    sandbox.inject_for(Fault::Drop, "/api/v1/Contact", Some("POST"));
    let e = gw.create(&cx, create).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::OutcomeUnknown, "{e}");
    assert_eq!(
        sandbox.request_count(),
        1,
        "a write whose answer broke is not repeated"
    );
    assert_eq!(sandbox.stored("Contact").len(), before);
}

/// A backend whose calls give up after one second.
fn impatient(sandbox: &Sandbox) -> crmgate_core::gateway::Gateway {
    gateway_over(backend_with(
        sandbox,
        api_key(),
        UpstreamConfig {
            timeout: Duration::from_secs(1),
            ..upstream()
        },
    ))
}

#[tokio::test]
async fn writes_that_may_have_been_applied_are_outcome_unknown_with_exactly_one_record() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = impatient(&sandbox);
    let cx = CallContext::configured();
    gw.describe(&cx, "contacts").await.unwrap();
    let faults = [
        Fault::Applied(Box::new(Fault::Status(500, Some("Error".into())))),
        Fault::Applied(Box::new(Fault::Drop)),
        Fault::Applied(Box::new(Fault::Hang(Duration::from_secs(5)))),
    ];
    for (i, fault) in faults.into_iter().enumerate() {
        let email = format!("once.{i}@outcome.example");
        let before = sandbox.stored("Contact").len();
        sandbox.clear_requests();
        sandbox.inject_for(fault.clone(), "/api/v1/Contact", Some("POST"));
        let create = CreateArgs {
            entity: "contacts".into(),
            data: fields(json!({"lastName": "Once", "emailAddress": email})),
            skip_duplicate_check: true,
        };
        let e = gw.create(&cx, create).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::OutcomeUnknown, "{fault:?}: {e}");
        assert!(!e.retryable && e.retry_after_s.is_none(), "{fault:?}");
        assert!(
            e.suggestion.contains(&format!(
                "crm_search contacts where emailAddress eq \"{email}\""
            )),
            "{fault:?}: {}",
            e.suggestion
        );
        let check = &e.details.as_ref().unwrap()["check"];
        assert_eq!(check["tool"], "crm_search");
        let posts = sandbox
            .requests()
            .iter()
            .filter(|r| r.method == "POST")
            .count();
        assert_eq!(posts, 1, "{fault:?}: sent exactly once");
        assert_eq!(
            sandbox.stored("Contact").len(),
            before + 1,
            "{fault:?}: exactly one record upstream"
        );
        // the search the error names finds it
        let found = gw
            .search(
                &cx,
                SearchArgs {
                    entity: "contacts".into(),
                    conditions: vec![crmgate_core::gateway::ConditionArg {
                        field: "emailAddress".into(),
                        op: "eq".into(),
                        value: json!(email),
                    }],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(found.records.len(), 1, "{fault:?}");
    }
    // an update and a delete name the record to read
    sandbox.inject_for(
        Fault::Applied(Box::new(Fault::Status(502, None))),
        &format!("/api/v1/Account/{ACME}"),
        Some("PATCH"),
    );
    let update = UpdateArgs {
        entity: "companies".into(),
        id: ACME.into(),
        data: fields(json!({"website": "https://acme.example"})),
        preview: false,
    };
    let e = gw.update(&cx, update).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::OutcomeUnknown, "{e}");
    assert!(
        e.suggestion.contains(&format!("crm_get companies {ACME}")),
        "{}",
        e.suggestion
    );
    let preview = gw
        .delete(
            &cx,
            DeleteArgs {
                entity: "companies".into(),
                id: ACME.into(),
                confirm_token: None,
            },
        )
        .await
        .unwrap();
    let DeleteOutput::Preview { confirm_token, .. } = preview else {
        panic!("preview expected");
    };
    sandbox.inject_for(
        Fault::Applied(Box::new(Fault::Drop)),
        &format!("/api/v1/Account/{ACME}"),
        Some("DELETE"),
    );
    let e = gw
        .delete(
            &cx,
            DeleteArgs {
                entity: "companies".into(),
                id: ACME.into(),
                confirm_token: Some(confirm_token),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::OutcomeUnknown, "{e}");
    assert!(
        e.suggestion.contains("NOT_FOUND means it happened"),
        "{}",
        e.suggestion
    );
}

#[tokio::test]
async fn a_hung_espocrm_costs_one_timeout_per_call() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = impatient(&sandbox);
    let cx = CallContext::configured();
    gw.describe(&cx, "contacts").await.unwrap();
    sandbox.clear_requests();
    for _ in 0..3 {
        sandbox.inject_for(
            Fault::Hang(Duration::from_secs(10)),
            "/api/v1/Contact",
            Some("GET"),
        );
    }
    let (outcome, meta) = crmgate_core::meta::measure(gw.search(&cx, search("contacts"))).await;
    let e = outcome.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamTimeout, "{e}");
    assert!(e.message.contains("within 1s"), "{}", e.message);
    assert_eq!(
        meta.upstream_calls, 1,
        "no retry beyond the call's one-second budget"
    );
    assert_eq!(sandbox.request_count(), 1);
}

#[tokio::test]
async fn a_wrong_url_says_to_check_url_and_nothing_listening_is_unavailable() {
    // the sandbox answers bare 404s outside /api/v1: a site mounted elsewhere
    let sandbox = Sandbox::start().await.unwrap();
    let config =
        crmgate_espocrm::EspoConfig::new(&format!("{}/crm", sandbox.url()), api_key()).unwrap();
    let wrong = std::sync::Arc::new(
        crmgate_espocrm::EspoBackend::new(config, upstream(), crmgate_core::testkit::cache())
            .unwrap(),
    );
    let cx = CallContext::configured();
    let e = wrong.probe(&cx).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Config, "{e}");
    assert!(e.suggestion.contains("check url"), "{}", e.suggestion);
    let e = wrong.entities(&cx).await.unwrap_err();
    assert!(e.suggestion.contains("check url"), "{}", e.suggestion);
    assert!(!e.suggestion.contains("check the id"));

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let config = crmgate_espocrm::EspoConfig::new(&nowhere, api_key()).unwrap();
    let absent =
        crmgate_espocrm::EspoBackend::new(config, upstream(), crmgate_core::testkit::cache())
            .unwrap();
    let e = absent.probe(&cx).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamUnavailable, "{e}");
    assert!(e.suggestion.contains("url"), "{}", e.suggestion);

    let report = backend(&sandbox, api_key()).probe(&cx).await.unwrap();
    assert_eq!(report.identity.as_deref(), Some("api-full"));
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
