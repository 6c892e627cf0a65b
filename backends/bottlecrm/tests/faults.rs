//! Failures through the backend, counting what reached the sandbox: bad, revoked and expired
//! tokens, scopes, roles, tenants, missing records, refused input (nothing sent), rate limits,
//! 5xx, writes whose outcome is unknown (`OUTCOME_UNKNOWN`, exactly one record), a hung
//! BottleCRM (one timeout per call), malformed answers, the probe (nothing listening, a wrong
//! url) — and hosted mode using the caller's own token.

mod common;

use common::{MISSING, gateway};
use crmgate_bottlecrm::describe::Source;
use crmgate_bottlecrm::sandbox::{
    ADMIN_A, ADMIN_B, EXPIRED_A, Fault, LEADS_READ_A, REVOKED_A, Sandbox, USER_A,
};
use crmgate_core::gateway::{ConditionArg, CreateArgs, DeleteArgs, GetArgs, NoteArgs, SearchArgs};
use crmgate_core::{Backend, CallContext, ErrorCode, testkit};
use secrecy::SecretString;
use serde_json::json;
use std::time::Duration;

fn cx() -> CallContext {
    CallContext::configured()
}

fn search(entity: &str) -> SearchArgs {
    SearchArgs {
        entity: entity.into(),
        ..Default::default()
    }
}

fn get(entity: &str, id: &str) -> GetArgs {
    GetArgs {
        entity: entity.into(),
        id: Some(id.into()),
        ..Default::default()
    }
}

use crmgate_core::testkit::fields;

async fn lead_id(sandbox: &Sandbox, query: &str) -> String {
    let g = gateway(sandbox, ADMIN_A);
    let args = SearchArgs {
        query: Some(query.into()),
        ..search("leads")
    };
    g.search(&cx(), args).await.unwrap().records[0].id.clone()
}

#[tokio::test]
async fn bad_revoked_and_expired_tokens_are_auth_failures_sent_once() {
    let sandbox = Sandbox::start().await.unwrap();
    for token in [
        "bcrm_pat_ThisTokenDoesNotExist_0000000000000000000000",
        REVOKED_A,
        EXPIRED_A,
    ] {
        let before = sandbox.requests();
        let e = gateway(&sandbox, token)
            .search(&cx(), search("leads"))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::AuthFailed, "{token}");
        assert!(e.suggestion.contains("token_env"), "{}", e.suggestion);
        assert!(
            !e.message.contains(token) && !e.suggestion.contains(token),
            "no token in errors"
        );
        // describe (schema) then the list: one request each, no retries
        assert!(
            sandbox.requests() - before <= 2,
            "{token}: {:?}",
            sandbox.request_log()
        );
    }
}

#[tokio::test]
async fn a_scoped_token_is_refused_naming_the_scope_and_described_statically() {
    let sandbox = Sandbox::start().await.unwrap();
    let backend = std::sync::Arc::new(common::backend(&sandbox, LEADS_READ_A));
    assert_eq!(
        backend.schema_source(&cx()).await.unwrap(),
        Source::Static,
        "/schema/ is refused to scoped tokens"
    );
    let g = testkit::gateway(backend);
    assert!(
        !g.search(&cx(), search("leads"))
            .await
            .unwrap()
            .records
            .is_empty()
    );
    let e = g.search(&cx(), search("contacts")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::PermissionDenied);
    assert!(e.suggestion.contains("contacts:read"), "{}", e.suggestion);
    let create = CreateArgs {
        entity: "leads".into(),
        data: fields(
            json!({"first_name": "Scope", "last_name": "Test", "email": "scope@x.example"}),
        ),
        skip_duplicate_check: false,
    };
    let e = g.create(&cx(), create).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::PermissionDenied);
    assert_eq!(e.details.unwrap()["missing_scope"], "leads:write");
}

#[tokio::test]
async fn roles_and_tenants() {
    let sandbox = Sandbox::start().await.unwrap();
    let jane = lead_id(&sandbox, "jane").await;
    let e = gateway(&sandbox, USER_A)
        .get(&cx(), get("leads", &jane))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::PermissionDenied);
    assert!(e.suggestion.contains("assigned"), "{}", e.suggestion);
    let e = gateway(&sandbox, ADMIN_B)
        .get(&cx(), get("leads", &jane))
        .await
        .unwrap_err();
    assert_eq!(
        e.code,
        ErrorCode::NotFound,
        "another organisation's lead is simply not there"
    );
    let page = gateway(&sandbox, USER_A)
        .search(&cx(), search("leads"))
        .await
        .unwrap();
    assert_eq!(page.total, Some(2));
    // the USER's delete of an assigned (not created) lead
    let maria = lead_id(&sandbox, "maria").await;
    let g = gateway(&sandbox, USER_A);
    let preview = g
        .delete(
            &cx(),
            DeleteArgs {
                entity: "leads".into(),
                id: maria.clone(),
                confirm_token: None,
            },
        )
        .await
        .unwrap();
    let crmgate_core::gateway::DeleteOutput::Preview { confirm_token, .. } = preview else {
        panic!("no preview")
    };
    let e = g
        .delete(
            &cx(),
            DeleteArgs {
                entity: "leads".into(),
                id: maria,
                confirm_token: Some(confirm_token),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::PermissionDenied);
    assert!(e.message.contains("permission to delete"), "{}", e.message);
}

#[tokio::test]
async fn hosted_mode_uses_the_callers_token_and_caches_per_caller() {
    let sandbox = Sandbox::start().await.unwrap();
    // configured with org A's admin, called with org B's and a scoped token
    let g = gateway(&sandbox, ADMIN_A);
    let org_b = CallContext::bearer(SecretString::from(ADMIN_B.to_owned()));
    let page = g.search(&org_b, search("leads")).await.unwrap();
    assert_eq!(page.total, Some(2), "org B's two leads, not org A's");
    let scoped = CallContext::bearer(SecretString::from(LEADS_READ_A.to_owned()));
    let e = g.search(&scoped, search("contacts")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::PermissionDenied);
    let country = |schema: std::sync::Arc<crmgate_core::schema::EntitySchema>| {
        schema.field("country").unwrap().options.len()
    };
    assert_eq!(
        country(g.describe(&scoped, "contacts").await.unwrap()),
        0,
        "static for the scoped caller"
    );
    assert!(
        country(g.describe(&cx(), "contacts").await.unwrap()) > 200,
        "from /schema/ for the admin"
    );
    let before = sandbox.requests();
    g.describe(&cx(), "leads").await.unwrap();
    assert_eq!(sandbox.requests(), before, "descriptions are cached");
}

#[tokio::test]
async fn refused_input_sends_nothing() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = gateway(&sandbox, ADMIN_A);
    g.describe(&cx(), "tasks").await.unwrap();
    let before = sandbox.requests();
    let cond = |field: &str, op: &str, value: serde_json::Value| SearchArgs {
        conditions: vec![ConditionArg {
            field: field.into(),
            op: op.into(),
            value,
        }],
        ..search("tasks")
    };
    let e = g
        .search(&cx(), cond("title", "eq", json!("x")))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::UnsupportedFilter);
    assert!(
        e.suggestion.starts_with("title supports: contains"),
        "{}",
        e.suggestion
    );
    let e = g
        .search(&cx(), cond("status", "ne", json!("New")))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::UnsupportedFilter);
    let e = g
        .search(&cx(), cond("status", "eq", json!("new")))
        .await
        .unwrap_err();
    assert_eq!(
        e.code,
        ErrorCode::Validation,
        "an unknown status would match every task"
    );
    let e = g
        .search(&cx(), cond("account", "eq", json!("nope")))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    let e = g.get(&cx(), get("tasks", "not-a-uuid")).await.unwrap_err();
    assert_eq!(
        e.code,
        ErrorCode::Validation,
        "BottleCRM would answer an HTML 404"
    );
    let sorted = SearchArgs {
        sort: Some(crmgate_core::gateway::SortArg::One("-title".into())),
        ..search("tasks")
    };
    assert_eq!(
        g.search(&cx(), sorted).await.unwrap_err().code,
        ErrorCode::UnsupportedFilter
    );
    let e = g
        .create(
            &cx(),
            CreateArgs {
                entity: "tasks".into(),
                data: fields(json!({"title": "x", "status": "Done", "priority": "High"})),
                skip_duplicate_check: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    let e = g
        .delete(
            &cx(),
            DeleteArgs {
                entity: "invoices".into(),
                id: MISSING.into(),
                confirm_token: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotAllowed, "invoices cannot be deleted");
    assert_eq!(sandbox.requests(), before, "{:?}", sandbox.request_log());
}

#[tokio::test]
async fn missing_records_are_not_found_and_a_missing_lead_gets_no_comment_post() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = gateway(&sandbox, ADMIN_A);
    for entity in [
        "leads",
        "contacts",
        "companies",
        "deals",
        "tasks",
        "cases",
        "invoices",
        "solutions",
    ] {
        let e = g.get(&cx(), get(entity, MISSING)).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::NotFound, "{entity}");
    }
    let before = sandbox.requests();
    let e = g
        .note(
            &cx(),
            NoteArgs {
                entity: "leads".into(),
                id: MISSING.into(),
                text: "hello".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound, "not BottleCRM's HTML 500");
    let log = sandbox.request_log();
    assert_eq!(log.len() - before, 1);
    assert!(log.last().unwrap().starts_with("GET "), "{log:?}");
}

#[tokio::test]
async fn rate_limits_5xx_and_malformed_answers() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = gateway(&sandbox, ADMIN_A);
    g.describe(&cx(), "tasks").await.unwrap();

    sandbox.inject(Fault::rate_limited(30).on_path("/api/tasks/"));
    let before = sandbox.requests();
    let e = g.search(&cx(), search("tasks")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::RateLimited);
    assert_eq!(e.retry_after_s, Some(30));
    assert_eq!(
        sandbox.requests() - before,
        1,
        "a Retry-After beyond the bound is not waited for"
    );

    sandbox.inject(Fault::unavailable().times(2).on_path("/api/tasks/"));
    let before = sandbox.requests();
    assert!(
        g.search(&cx(), search("tasks")).await.is_ok(),
        "reads are retried through 503s"
    );
    assert_eq!(sandbox.requests() - before, 3);

    sandbox.inject(Fault::unavailable().on_method("POST"));
    let before = sandbox.requests();
    let create = CreateArgs {
        entity: "contacts".into(),
        data: fields(
            json!({"first_name": "Retry", "last_name": "Never", "email": "retry.never@x.example"}),
        ),
        skip_duplicate_check: false,
    };
    let e = g.create(&cx(), create).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::OutcomeUnknown, "a 5xx to a write: {e}");
    assert!(!e.retryable);
    assert_eq!(sandbox.requests() - before, 1, "a write is never repeated");
    let found = g
        .search(
            &cx(),
            SearchArgs {
                query: Some("retry.never".into()),
                ..search("contacts")
            },
        )
        .await
        .unwrap();
    assert!(found.records.is_empty());

    sandbox.inject(Fault::server_error().on_path("/api/tasks/"));
    let e = g.search(&cx(), search("tasks")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamUnavailable);
    assert_eq!(e.details.unwrap()["html"], true);

    sandbox.inject(Fault::malformed().on_path("/api/tasks/"));
    let e = g.search(&cx(), search("tasks")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamProtocol);
}

#[tokio::test]
async fn the_schema_endpoint_failing_fails_describe_without_caching_it() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = gateway(&sandbox, ADMIN_A);
    sandbox.inject(Fault::server_error().on_path("/schema/"));
    assert_eq!(
        g.describe(&cx(), "leads").await.unwrap_err().code,
        ErrorCode::UpstreamUnavailable
    );
    assert!(
        g.describe(&cx(), "leads").await.is_ok(),
        "the failure was not cached"
    );
}

#[tokio::test]
async fn answers_over_the_size_cap_are_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let mut config = crmgate_bottlecrm::BottleConfig::new(
        &sandbox.url(),
        Some(SecretString::from(ADMIN_A.to_owned())),
    )
    .unwrap();
    config.upstream.max_response_bytes = 64 * 1024;
    let cache = crmgate_core::cache::MetadataCache::new(std::time::Duration::from_secs(60), 100);
    let backend =
        std::sync::Arc::new(crmgate_bottlecrm::BottleCrmBackend::new(config, cache).unwrap());
    let g = crmgate_core::gateway::Gateway::new(
        backend,
        Default::default(),
        crmgate_core::confirm::ConfirmSigner::random(),
    );
    g.describe(&cx(), "tasks").await.unwrap();
    sandbox.inject(
        Fault::new(crmgate_bottlecrm::sandbox::FaultKind::Huge(100_000)).on_path("/api/tasks/"),
    );
    let e = g.search(&cx(), search("tasks")).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamProtocol);
}

#[tokio::test]
async fn several_ids_report_the_refused_ones_denied_not_missing() {
    let sandbox = Sandbox::start().await.unwrap();
    let jane = lead_id(&sandbox, "jane").await;
    let maria = lead_id(&sandbox, "maria").await;
    let g = gateway(&sandbox, USER_A);
    let out = g
        .get(
            &cx(),
            GetArgs {
                entity: "leads".into(),
                ids: Some(vec![jane.clone(), maria.clone(), MISSING.into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let crmgate_core::gateway::GetOutput::Many {
        records,
        missing,
        denied,
    } = out
    else {
        panic!("not many")
    };
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].id, maria);
    assert_eq!(denied, vec![jane], "a refusal is not a missing record");
    assert_eq!(missing, vec![MISSING.to_owned()]);
}

/// A gateway whose calls give up after one second.
fn impatient(sandbox: &Sandbox) -> crmgate_core::gateway::Gateway {
    let mut config = crmgate_bottlecrm::BottleConfig::new(
        &sandbox.url(),
        Some(SecretString::from(ADMIN_A.to_owned())),
    )
    .unwrap();
    config.upstream = crmgate_core::upstream::UpstreamConfig {
        timeout: Duration::from_secs(1),
        ..testkit::upstream()
    };
    let backend = crmgate_bottlecrm::BottleCrmBackend::new(config, testkit::cache()).unwrap();
    testkit::gateway(std::sync::Arc::new(backend))
}

#[tokio::test]
async fn writes_that_may_have_been_applied_are_outcome_unknown_with_exactly_one_record() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = impatient(&sandbox);
    g.describe(&cx(), "contacts").await.unwrap();
    let faults = [
        Fault::after_applying(Fault::server_error()),
        Fault::after_applying(Fault::drop_connection()),
        Fault::after_applying(Fault::delay(Duration::from_secs(5))),
    ];
    for (i, fault) in faults.into_iter().enumerate() {
        let email = format!("once.{i}@outcome.example");
        let count = |email: &str| {
            sandbox.with_store(|s| {
                s.rows
                    .get(&crmgate_bottlecrm::entities::Entity::Contacts)
                    .map_or(0, |rows| {
                        rows.iter()
                            .filter(|r| format!("{r:?}").contains(email))
                            .count()
                    })
            })
        };
        sandbox.inject(fault.clone().on_path("/api/contacts/").on_method("POST"));
        let before = sandbox.requests();
        let create = CreateArgs {
            entity: "contacts".into(),
            data: fields(json!({"first_name": "Once", "last_name": "Only", "email": email})),
            skip_duplicate_check: true,
        };
        let e = g.create(&cx(), create).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::OutcomeUnknown, "{fault:?}: {e}");
        assert!(!e.retryable, "{fault:?}");
        assert!(
            e.suggestion
                .contains("crm_search contacts where email contains"),
            "{fault:?}: {}",
            e.suggestion
        );
        assert_eq!(
            sandbox.requests() - before,
            1,
            "{fault:?}: sent exactly once"
        );
        assert_eq!(count(&email), 1, "{fault:?}: exactly one record upstream");
    }
}

#[tokio::test]
async fn a_hung_bottlecrm_costs_one_timeout_per_call() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = impatient(&sandbox);
    g.describe(&cx(), "tasks").await.unwrap();
    sandbox.inject(
        Fault::delay(Duration::from_secs(10))
            .times(6)
            .on_path("/api/tasks/"),
    );
    let before = sandbox.requests();
    let (outcome, meta) = crmgate_core::meta::measure(g.search(&cx(), search("tasks"))).await;
    let e = outcome.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamTimeout, "{e}");
    assert!(e.message.contains("within 1s"), "{}", e.message);
    assert_eq!(meta.upstream_calls, 1);
    assert_eq!(sandbox.requests() - before, 1);
}

#[tokio::test]
async fn the_probe_tells_nothing_listening_and_a_wrong_url_from_a_working_token() {
    let sandbox = Sandbox::start().await.unwrap();
    let backend = |url: &str, token: &str| {
        let mut config =
            crmgate_bottlecrm::BottleConfig::new(url, Some(SecretString::from(token.to_owned())))
                .unwrap();
        config.upstream = testkit::upstream();
        crmgate_bottlecrm::BottleCrmBackend::new(config, testkit::cache()).unwrap()
    };
    let report = backend(&sandbox.url(), ADMIN_A).probe(&cx()).await.unwrap();
    assert_eq!(report.identity.as_deref(), Some("an unrestricted token"));
    let scoped = backend(&sandbox.url(), LEADS_READ_A)
        .probe(&cx())
        .await
        .unwrap();
    assert_eq!(
        scoped.identity.as_deref(),
        Some("a scoped personal access token")
    );
    let e = backend(&sandbox.url(), REVOKED_A)
        .probe(&cx())
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::AuthFailed, "{e}");
    let e = backend(&format!("{}/crm", sandbox.url()), ADMIN_A)
        .probe(&cx())
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Config, "{e}");
    assert!(e.suggestion.contains("check url"), "{}", e.suggestion);

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let absent = backend(&nowhere, ADMIN_A);
    let e = absent.probe(&cx()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamUnavailable, "{e}");
    // and the entity list no longer pretends BottleCRM answered
    let e = absent.entities(&cx()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamUnavailable, "{e}");
}
