//! The postgrest transport against the sandbox's faults: refused keys and tokens, permission
//! and missing records, rate limits, 5xx, writes whose outcome is unknown (`OUTCOME_UNKNOWN`,
//! exactly one record; PATCH included), a hung Data API (one timeout per call), malformed
//! bodies — counting what reached the sandbox (reads are retried, writes never are; a token
//! that fails verification sends nothing).

use crmgate_atomic::sandbox::{Fault, Sandbox};
use crmgate_atomic::testkit::TestUser;
use crmgate_atomic::{AtomicBackend, Credential};
use crmgate_core::gateway::*;
use crmgate_core::{CallContext, ErrorCode, testkit};
use secrecy::SecretString;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn gateway_with(config: crmgate_atomic::AtomicConfig) -> Gateway {
    testkit::gateway(Arc::new(
        AtomicBackend::new(config, testkit::cache()).unwrap(),
    ))
}

fn gateway(sandbox: &Sandbox) -> Gateway {
    gateway_with(sandbox.config(Credential::AccessToken(
        sandbox.token(TestUser::Alice, 3600),
    )))
}

fn cx() -> CallContext {
    CallContext::configured()
}

fn get(id: &str) -> GetArgs {
    GetArgs {
        entity: "deals".into(),
        id: Some(id.into()),
        ..Default::default()
    }
}

fn new_tag() -> CreateArgs {
    CreateArgs {
        entity: "tags".into(),
        data: json!({"name": "fault", "color": "#000000"})
            .as_object()
            .unwrap()
            .clone(),
        skip_duplicate_check: false,
    }
}

/// Warm the model cache so that later counts only see the call under test.
async fn warm(g: &Gateway) {
    g.describe(&cx(), "deals").await.unwrap();
}

#[tokio::test]
async fn refused_keys_and_tokens() {
    let sandbox = Sandbox::start().await.unwrap();
    // a wrong anon key: the API gateway refuses with its own body
    let mut config = sandbox.config(Credential::AccessToken(
        sandbox.token(TestUser::Alice, 3600),
    ));
    config.anon_key = Some(SecretString::from("wrong-key"));
    let e = gateway_with(config).get(&cx(), get("1")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::AuthFailed);
    assert!(e.suggestion.contains("anon_key_env"), "{}", e.suggestion);
    // expired, forged or foreign tokens never leave the gateway
    sandbox.clear_log();
    let g = gateway(&sandbox);
    for token in [
        sandbox.token(TestUser::Alice, -300),
        SecretString::from("not.a.jwt"),
        crmgate_atomic::testkit::TestUser::Alice.token(3600), // signed with another secret
    ] {
        let e = g
            .get(&CallContext::bearer(token), get("1"))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::AuthFailed, "{e}");
    }
    assert_eq!(sandbox.request_count(), 0, "nothing reached the sandbox");
    // a token the Data API itself refuses (e.g. revoked) maps to AUTH_FAILED too
    sandbox.inject(
        Fault {
            body: json!({"code": "PGRST301", "details": null, "hint": null, "message": "JWSError JWSInvalidSignature"}).to_string(),
            ..Fault::status(401, 1)
        }
        .on("/rest/v1/"),
    );
    let e = g.get(&cx(), get("1")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::AuthFailed);
}

#[tokio::test]
async fn permission_and_missing_records() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = gateway(&sandbox);
    warm(&g).await;
    let e = g.get(&cx(), get("999")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    let e = g
        .update(
            &cx(),
            UpdateArgs {
                entity: "deals".into(),
                id: "999".into(),
                data: json!({"name": "x"}).as_object().unwrap().clone(),
                preview: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    sandbox.inject(
        Fault {
            body: json!({"code": "42501", "details": null, "hint": null, "message": "new row violates row-level security policy for table \"tags\""}).to_string(),
            ..Fault::status(403, 1)
        }
        .on("/rest/v1/tags"),
    );
    let e = g.create(&cx(), new_tag()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::PermissionDenied);
    // a foreign key the database refuses names the field
    let e = g
        .create(
            &cx(),
            CreateArgs {
                entity: "tasks".into(),
                data: json!({"contact_id": "999", "type": "call"})
                    .as_object()
                    .unwrap()
                    .clone(),
                skip_duplicate_check: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(e.message.contains("contact_id"), "{e}");
}

#[tokio::test]
async fn rate_limits_and_outages_retry_reads_never_writes() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = gateway(&sandbox);
    warm(&g).await;
    // a read: retried after Retry-After, then succeeds
    sandbox.clear_log();
    sandbox.inject(Fault::rate_limited(0, 2).on("/rest/v1/deals"));
    g.get(&cx(), get("1")).await.unwrap();
    assert_eq!(sandbox.request_count(), 3);
    // a read that stays rate-limited: RATE_LIMITED with retry_after_s, 3 attempts
    sandbox.clear_log();
    sandbox.inject(Fault::rate_limited(1, 3).on("/rest/v1/deals"));
    let e = g.get(&cx(), get("1")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::RateLimited);
    assert_eq!(e.retry_after_s, Some(1));
    assert_eq!(sandbox.request_count(), 3);
    // a write meeting a 503 from the gateway in front is not repeated: its outcome is unknown
    sandbox.clear_log();
    sandbox.inject(Fault::status(503, 1).on("/rest/v1/tags"));
    let e = g.create(&cx(), new_tag()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::OutcomeUnknown);
    assert!(!e.retryable);
    assert_eq!(sandbox.request_count(), 1);
    // a 5xx carrying PostgREST's own error: the statement failed and rolled back
    sandbox.clear_log();
    sandbox.inject(
        Fault {
            body: json!({"code": "53400", "details": null, "hint": null, "message": "configuration limit exceeded"}).to_string(),
            ..Fault::status(500, 1)
        }
        .on("/rest/v1/tags"),
    );
    let e = g.create(&cx(), new_tag()).await.unwrap_err();
    assert_ne!(
        e.code,
        ErrorCode::OutcomeUnknown,
        "PostgREST rolled it back: {e}"
    );
    assert_eq!(sandbox.request_count(), 1);
    // a 500 on a read is not retried either (not an overload status)
    sandbox.clear_log();
    sandbox.inject(Fault::status(500, 1).on("/rest/v1/deals"));
    let e = g.get(&cx(), get("1")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamUnavailable);
    assert_eq!(sandbox.request_count(), 1);
}

#[tokio::test]
async fn malformed_answers_are_protocol_errors() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = gateway(&sandbox);
    warm(&g).await;
    sandbox.inject(Fault::malformed(1).on("/rest/v1/deals"));
    let e = g.get(&cx(), get("1")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamProtocol);
    assert!(
        !e.message.contains("html"),
        "the body is not echoed: {}",
        e.message
    );
    sandbox.inject(
        Fault {
            body: "{\"not\": \"an array\"}".into(),
            ..Fault::status(200, 1)
        }
        .on("/rest/v1/deals"),
    );
    let e = g.get(&cx(), get("1")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamProtocol);
    // and the next call is fine
    g.get(&cx(), get("1")).await.unwrap();
}

#[tokio::test]
async fn requests_follow_postgrest_conventions() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = gateway(&sandbox);
    warm(&g).await;
    sandbox.clear_log();
    g.search(
        &cx(),
        SearchArgs {
            entity: "contacts".into(),
            conditions: vec![
                ConditionArg {
                    field: "company_id".into(),
                    op: "eq".into(),
                    value: json!("3"),
                },
                ConditionArg {
                    field: "title".into(),
                    op: "ne".into(),
                    value: json!("CEO"),
                },
            ],
            sort: Some(SortArg::One("-last_seen".into())),
            limit: Some(5),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let requests = sandbox.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("GET", "/rest/v1/contacts_summary")
    );
    assert!(r.bearer);
    for part in [
        "select=*",
        "company_id=eq.3",
        "or=(title.is.null,title.not.ilike.\"CEO\")",
        "order=last_seen.desc.nullslast,id.asc",
        "limit=5",
        "offset=0",
    ] {
        assert!(r.query.contains(part), "{part} in {}", r.query);
    }
}

/// A gateway whose calls give up after one second.
fn impatient(sandbox: &Sandbox) -> Gateway {
    let mut config = sandbox.config(Credential::AccessToken(
        sandbox.token(TestUser::Alice, 3600),
    ));
    config.upstream = crmgate_core::upstream::UpstreamConfig {
        timeout: Duration::from_secs(1),
        ..testkit::upstream()
    };
    gateway_with(config)
}

async fn count_tags(g: &Gateway, name: &str) -> usize {
    g.search(
        &cx(),
        SearchArgs {
            entity: "tags".into(),
            conditions: vec![ConditionArg {
                field: "name".into(),
                op: "eq".into(),
                value: json!(name),
            }],
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .records
    .len()
}

#[tokio::test]
async fn writes_that_may_have_been_applied_are_outcome_unknown_with_exactly_one_record() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = impatient(&sandbox);
    warm(&g).await;
    g.describe(&cx(), "tags").await.unwrap();
    let faults = [
        Fault::status(502, 1).after_applying(),
        Fault::drop_connection(1).after_applying(),
        Fault::hang(Duration::from_secs(5), 1).after_applying(),
    ];
    for (i, fault) in faults.into_iter().enumerate() {
        let name = format!("once-{i}");
        sandbox.inject(fault.clone().on("/rest/v1/tags"));
        sandbox.clear_log();
        let create = CreateArgs {
            entity: "tags".into(),
            data: json!({"name": name, "color": "#000000"})
                .as_object()
                .unwrap()
                .clone(),
            skip_duplicate_check: false,
        };
        let e = g.create(&cx(), create).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::OutcomeUnknown, "{fault:?}: {e}");
        assert!(!e.retryable, "{fault:?}");
        assert!(
            e.suggestion
                .contains(&format!("crm_search tags where name eq \"{name}\"")),
            "{fault:?}: {}",
            e.suggestion
        );
        assert_eq!(sandbox.request_count(), 1, "{fault:?}: sent exactly once");
        assert_eq!(
            count_tags(&g, &name).await,
            1,
            "{fault:?}: exactly one record"
        );
    }
    // a PATCH is a write too: never repeated once sent
    sandbox.inject(
        Fault::drop_connection(3)
            .after_applying()
            .on("/rest/v1/deals"),
    );
    sandbox.clear_log();
    let e = g
        .update(
            &cx(),
            UpdateArgs {
                entity: "deals".into(),
                id: "1".into(),
                data: json!({"name": "Patched once"}).as_object().unwrap().clone(),
                preview: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::OutcomeUnknown, "{e}");
    assert!(e.suggestion.contains("crm_get deals 1"), "{}", e.suggestion);
    let patches = sandbox
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .count();
    assert_eq!(patches, 1, "the PATCH was sent exactly once");
}

#[tokio::test]
async fn a_hung_data_api_costs_one_timeout_per_call() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = impatient(&sandbox);
    warm(&g).await;
    sandbox.inject(Fault::hang(Duration::from_secs(10), 3).on("/rest/v1/deals"));
    sandbox.clear_log();
    let (outcome, meta) = crmgate_core::meta::measure(g.get(&cx(), get("1"))).await;
    let e = outcome.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamTimeout, "{e}");
    assert!(e.message.contains("within 1s"), "{}", e.message);
    assert_eq!(meta.upstream_calls, 1);
    assert_eq!(sandbox.request_count(), 1);
}
