//! Faults, counting what reached the sandbox: auth failures (bad webhook, expired and
//! refreshed OAuth tokens, hosted bearer tokens), missing scope, not found, the leaky bucket
//! (reads retried, writes not), `OVERLOAD_LIMIT` (never retried), the operating-time limit
//! (blocks at once; reset time, then no request), writes whose outcome is unknown
//! (`OUTCOME_UNKNOWN`, exactly one record), a hung portal (one timeout per call), 5xx,
//! malformed bodies, per-command batch errors, a wrong address; and no secret in any error.

mod common;

use crmgate_bitrix24::sandbox::{
    ACCESS_TOKEN, CLIENT_ID, CLIENT_SECRET, EXPIRED_TOKEN, Fault, REFRESH_TOKEN, Sandbox,
    SandboxOptions, WEBHOOK_CODE,
};
use crmgate_bitrix24::{Bitrix24Backend, Bitrix24Config, Refresh};
use crmgate_core::gateway::{CallArgs, CreateArgs, GetArgs, SearchArgs, UpdateArgs};
use crmgate_core::upstream::UpstreamConfig;
use crmgate_core::{Backend, CallContext, ErrorCode, testkit};
use secrecy::SecretString;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn cx() -> CallContext {
    CallContext::configured()
}

fn get(id: &str) -> GetArgs {
    GetArgs {
        entity: "leads".into(),
        id: Some(id.into()),
        ..Default::default()
    }
}

fn oauth_backend(sandbox: &Sandbox, token: &str, refresh: bool) -> Arc<Bitrix24Backend> {
    let refresh = refresh.then(|| Refresh {
        refresh_token: SecretString::from(REFRESH_TOKEN),
        client_id: CLIENT_ID.into(),
        client_secret: SecretString::from(CLIENT_SECRET),
    });
    let config = Bitrix24Config::oauth(
        &sandbox.url(),
        Some(SecretString::from(token.to_owned())),
        refresh,
        common::fast_upstream(),
    )
    .unwrap()
    .with_oauth_server(&sandbox.url())
    .unwrap();
    Arc::new(Bitrix24Backend::new(config, testkit::cache()).unwrap())
}

#[tokio::test]
async fn a_wrong_webhook_is_auth_failed_without_leaking_the_code() {
    let sandbox = Sandbox::start(common::roomy()).await.unwrap();
    let url = format!("{}/rest/1/wrong{WEBHOOK_CODE}/", sandbox.url());
    let gateway = common::gateway(common::backend_for(&url, common::fast_upstream()));
    let e = gateway.entities(&cx()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::AuthFailed);
    assert!(e.suggestion.contains("webhook"), "{}", e.suggestion);
    let shown = format!("{e:?}");
    assert!(!shown.contains(WEBHOOK_CODE), "{shown}");
    assert_eq!(sandbox.requests(), 1, "auth failures are not retried");
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_call_repeated() {
    let sandbox = Sandbox::start(common::roomy()).await.unwrap();
    let gateway = common::gateway(oauth_backend(&sandbox, EXPIRED_TOKEN, true));
    let out = gateway.get(&cx(), get("3")).await.unwrap();
    assert!(matches!(out, crmgate_core::gateway::GetOutput::One { .. }));
    let log: Vec<String> = sandbox
        .state()
        .log()
        .iter()
        .map(|r| format!("{} {}", r.method, r.status))
        .collect();
    assert_eq!(
        log[..3],
        ["batch 401", "oauth/token 200", "batch 200"],
        "{log:?}"
    );

    let stale = common::gateway(oauth_backend(&sandbox, EXPIRED_TOKEN, false));
    let e = stale.entities(&cx()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::AuthFailed);
    assert!(
        e.suggestion.contains("refresh_token_env"),
        "{}",
        e.suggestion
    );
}

#[tokio::test]
async fn hosted_callers_use_their_own_token_never_the_webhook() {
    let (sandbox, _backend, gateway) = common::start(common::roomy()).await;
    let caller = CallContext::bearer(SecretString::from(ACCESS_TOKEN));
    gateway.describe(&caller, "deals").await.unwrap();
    let intruder = CallContext::bearer(SecretString::from("not-a-token"));
    let e = gateway.describe(&intruder, "deals").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::AuthFailed);
    assert_eq!(sandbox.requests(), 2, "each caller's metadata is its own");
}

#[tokio::test]
async fn a_missing_scope_is_permission_denied_naming_it() {
    let sandbox = Sandbox::start(common::roomy()).await.unwrap();
    let backend = common::backend_for(&sandbox.limited_webhook_url(), common::fast_upstream());
    let settings = crmgate_core::gateway::GatewaySettings {
        tier: crmgate_core::gateway::Tier::Read,
        raw_call_allow: vec!["user.*".into(), "crm.*".into()],
        ..Default::default()
    };
    let gateway = testkit::gateway_with(backend, settings);
    // the catalog still loads: users are optional, labels simply lack names
    let page = gateway
        .search(
            &cx(),
            SearchArgs {
                entity: "deals".into(),
                limit: Some(3),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.records.len(), 3);
    let e = gateway
        .raw_call(
            &cx(),
            CallArgs {
                method: "user.get".into(),
                params: json!({}),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::PermissionDenied);
    assert!(e.suggestion.contains("user"), "{}", e.suggestion);
    let ok = gateway
        .raw_call(
            &cx(),
            CallArgs {
                method: "crm.status.list".into(),
                params: json!({"filter": {"ENTITY_ID": "SOURCE"}}),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ok.result().unwrap()["total"], 5);
    let before = sandbox.requests();
    let refused = gateway
        .raw_call(
            &cx(),
            CallArgs {
                method: "crm.item.add".into(),
                params: json!({"entityTypeId": 1, "fields": {"title": "x"}}),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        refused.code,
        ErrorCode::NotAllowed,
        "writes need the write tier"
    );
    assert_eq!(sandbox.requests(), before, "a refused write sends nothing");
}

#[tokio::test]
async fn not_found_everywhere() {
    let (sandbox, _backend, gateway) = common::start(common::roomy()).await;
    gateway.describe(&cx(), "leads").await.unwrap();
    let before = sandbox.requests();
    assert_eq!(
        gateway.get(&cx(), get("999999")).await.unwrap_err().code,
        ErrorCode::NotFound
    );
    assert_eq!(
        gateway.get(&cx(), get("abc")).await.unwrap_err().code,
        ErrorCode::NotFound
    );
    assert_eq!(
        sandbox.requests() - before,
        1,
        "a non-numeric id sends nothing"
    );
    let e = gateway
        .update(
            &cx(),
            UpdateArgs {
                entity: "leads".into(),
                id: "999999".into(),
                data: json!({"title": "x"}).as_object().cloned().unwrap(),
                preview: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    let e = gateway
        .raw_call(
            &cx(),
            CallArgs {
                method: "crm.lead.get".into(),
                params: json!({"id": 999999}),
                ..Default::default()
            },
        )
        .await;
    assert!(e.is_err(), "raw calls are off unless allowed");
}

#[tokio::test]
async fn the_bucket_is_waited_out_for_reads_but_writes_are_not_repeated() {
    let (sandbox, _backend, gateway) = common::start(common::roomy()).await;
    gateway.describe(&cx(), "leads").await.unwrap();
    let busy = Fault::error(503, "QUERY_LIMIT_EXCEEDED", "Too many requests");
    sandbox
        .state()
        .inject(Some("crm.item.get"), busy.clone(), 2);
    let before = sandbox.requests();
    gateway.get(&cx(), get("7")).await.unwrap();
    assert_eq!(
        sandbox.requests() - before,
        3,
        "two refusals, then the read went through"
    );

    let count = sandbox.state().count(1);
    sandbox.state().inject(Some("crm.item.add"), busy, 5);
    let before = sandbox.requests();
    let e = gateway
        .create(
            &cx(),
            CreateArgs {
                entity: "leads".into(),
                data: json!({"title": "Once only"}).as_object().cloned().unwrap(),
                skip_duplicate_check: true,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::RateLimited);
    assert!(e.retry_after_s.is_some());
    assert_eq!(sandbox.requests() - before, 1, "a write is never repeated");
    assert_eq!(sandbox.state().count(1), count, "nothing was created");
}

#[tokio::test]
async fn the_operating_limit_reports_its_reset_time_and_then_sends_nothing() {
    let options = SandboxOptions {
        operating_limit: 0.05,
        operating_cost: 0.03,
        operating_method: Some("crm.item.get".into()),
        ..common::roomy()
    };
    let (sandbox, _backend, gateway) = common::start(options).await;
    gateway.describe(&cx(), "leads").await.unwrap();
    gateway.get(&cx(), get("1")).await.unwrap();
    gateway.get(&cx(), get("2")).await.unwrap(); // pushes crm.item.get over its budget
    let e = gateway.get(&cx(), get("3")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::RateLimited);
    let wait = e.retry_after_s.unwrap();
    assert!(
        (500..=600).contains(&wait),
        "waits for operating_reset_at: {wait}"
    );
    let before = sandbox.requests();
    let again = gateway.get(&cx(), get("4")).await.unwrap_err();
    assert_eq!(again.code, ErrorCode::RateLimited);
    assert_eq!(sandbox.requests(), before, "blocked locally, nothing sent");
    // other methods still work
    gateway
        .search(
            &cx(),
            SearchArgs {
                entity: "leads".into(),
                limit: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn server_errors_malformed_bodies_and_batch_command_errors() {
    let (sandbox, _backend, gateway) = common::start(common::roomy()).await;
    gateway.describe(&cx(), "leads").await.unwrap();
    sandbox.state().inject(
        Some("crm.item.get"),
        Fault::error(500, "INTERNAL_SERVER_ERROR", "Internal error"),
        1,
    );
    let before = sandbox.requests();
    gateway.get(&cx(), get("1")).await.unwrap();
    assert_eq!(
        sandbox.requests() - before,
        2,
        "a read is retried after Bitrix24's internal error"
    );
    sandbox.state().inject(
        Some("crm.item.get"),
        Fault::error(500, "INTERNAL_SERVER_ERROR", "Internal error"),
        3,
    );
    let before = sandbox.requests();
    let e = gateway.get(&cx(), get("1")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamUnavailable);
    assert!(e.retryable);
    assert_eq!(
        sandbox.requests() - before,
        3,
        "first attempt and two retries"
    );

    sandbox
        .state()
        .inject(Some("crm.item.get"), Fault::Malformed, 1);
    assert_eq!(
        gateway.get(&cx(), get("1")).await.unwrap_err().code,
        ErrorCode::UpstreamProtocol
    );

    sandbox.state().inject(
        Some("crm.item.list"),
        Fault::error(
            400,
            "INVALID_ARG_VALUE",
            "Invalid filter: field 'title' has invalid value",
        ),
        1,
    );
    let e = gateway
        .search(
            &cx(),
            SearchArgs {
                entity: "leads".into(),
                limit: Some(120),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(e.suggestion.contains("title"));
}

#[tokio::test]
async fn overload_limit_is_never_retried_and_the_first_operation_time_limit_blocks_at_once() {
    let (sandbox, _backend, gateway) = common::start(common::roomy()).await;
    gateway.describe(&cx(), "leads").await.unwrap();
    sandbox.state().inject(
        Some("crm.item.get"),
        Fault::error(
            503,
            "OVERLOAD_LIMIT",
            "REST API is blocked due to overload.",
        ),
        3,
    );
    let before = sandbox.requests();
    let e = gateway.get(&cx(), get("1")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamUnavailable, "{e}");
    assert!(
        !e.retryable,
        "an administrator's block does not pass by retrying"
    );
    assert!(e.message.contains("OVERLOAD_LIMIT"), "{}", e.message);
    assert_eq!(sandbox.requests() - before, 1, "not retried");

    sandbox.state().clear_faults();
    sandbox.state().inject(
        Some("crm.item.get"),
        Fault::error(
            429,
            "OPERATION_TIME_LIMIT",
            "Method is blocked due to operation time limit.",
        ),
        1,
    );
    let before = sandbox.requests();
    let e = gateway.get(&cx(), get("2")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::RateLimited, "{e}");
    assert!(e.message.contains("OPERATION_TIME_LIMIT"), "{}", e.message);
    assert_eq!(sandbox.requests() - before, 1, "the 429 is not retried");
    let again = gateway.get(&cx(), get("3")).await.unwrap_err();
    assert_eq!(again.code, ErrorCode::RateLimited);
    assert_eq!(
        sandbox.requests() - before,
        1,
        "the first OPERATION_TIME_LIMIT blocks the method at once"
    );
}

/// A backend whose calls give up after one second.
fn impatient(sandbox: &Sandbox) -> crmgate_core::gateway::Gateway {
    common::gateway(common::backend_for(
        &sandbox.webhook_url(),
        UpstreamConfig {
            timeout: Duration::from_secs(1),
            ..common::fast_upstream()
        },
    ))
}

#[tokio::test]
async fn writes_that_may_have_been_applied_are_outcome_unknown_with_exactly_one_record() {
    let sandbox = Sandbox::start(common::roomy()).await.unwrap();
    let gateway = impatient(&sandbox);
    gateway.describe(&cx(), "leads").await.unwrap();
    let faults = [
        Fault::AfterApplying(Box::new(Fault::error(
            500,
            "INTERNAL_SERVER_ERROR",
            "Internal error",
        ))),
        Fault::AfterApplying(Box::new(Fault::Drop)),
        Fault::AfterApplying(Box::new(Fault::Delay(Duration::from_secs(5)))),
    ];
    for (i, fault) in faults.into_iter().enumerate() {
        let title = format!("Once only {i}");
        let count = sandbox.state().count(1);
        sandbox
            .state()
            .inject(Some("crm.item.add"), fault.clone(), 1);
        let before = sandbox.requests();
        let e = gateway
            .create(
                &cx(),
                CreateArgs {
                    entity: "leads".into(),
                    data: json!({"title": title}).as_object().cloned().unwrap(),
                    skip_duplicate_check: true,
                },
            )
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::OutcomeUnknown, "{fault:?}: {e}");
        assert!(!e.retryable, "{fault:?}");
        assert!(
            e.suggestion
                .contains(&format!("crm_search leads where title eq \"{title}\"")),
            "{fault:?}: {}",
            e.suggestion
        );
        assert_eq!(
            sandbox.requests() - before,
            1,
            "{fault:?}: sent exactly once"
        );
        assert_eq!(
            sandbox.state().count(1),
            count + 1,
            "{fault:?}: exactly one record upstream"
        );
    }
}

#[tokio::test]
async fn a_hung_portal_costs_one_timeout_per_call() {
    let sandbox = Sandbox::start(common::roomy()).await.unwrap();
    let gateway = impatient(&sandbox);
    gateway.describe(&cx(), "leads").await.unwrap();
    sandbox.state().inject(
        Some("crm.item.get"),
        Fault::Delay(Duration::from_secs(10)),
        3,
    );
    let before = sandbox.requests();
    let (outcome, meta) = crmgate_core::meta::measure(gateway.get(&cx(), get("1"))).await;
    let e = outcome.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamTimeout, "{e}");
    assert!(e.message.contains("within 1s"), "{}", e.message);
    assert_eq!(meta.upstream_calls, 1);
    assert_eq!(sandbox.requests() - before, 1);
}

#[tokio::test]
async fn the_probe_names_the_user_and_a_wrong_address_says_to_check_it() {
    let (sandbox, backend, _gateway) = common::start(common::roomy()).await;
    let report = backend.probe(&cx()).await.unwrap();
    assert!(report.identity.unwrap().contains("user 1"));
    // a web server that is not a Bitrix24 portal: 404 pages for everything
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .fallback(|| async { (axum::http::StatusCode::NOT_FOUND, "<html>Not Found</html>") });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    drop(sandbox);
    let wrong = common::backend_for(
        &format!("{site}/rest/1/{WEBHOOK_CODE}/"),
        common::fast_upstream(),
    );
    let e = wrong.probe(&cx()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Config, "{e}");
    assert!(e.suggestion.contains("webhook_url"), "{}", e.suggestion);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!(
        "http://{}/rest/1/{WEBHOOK_CODE}/",
        listener.local_addr().unwrap()
    );
    drop(listener);
    let e = common::backend_for(&nowhere, common::fast_upstream())
        .probe(&cx())
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamUnavailable, "{e}");
}
