//! The backend's EspoCRM behaviour over the sandbox, counting requests: duplicates and the
//! skip flag, server-side validation, pages over 200 served in chunks, `X-No-Total` after the
//! first page, metadata cached per caller, hosted mode, drafts and templates, the stage move,
//! notes and the timeline, links, ISO datetimes, and crm_call.

mod common;

use common::*;
use crmgate_core::gateway::*;
use crmgate_core::model::{CreateOptions, Operation};
use crmgate_core::{Backend, CallContext, ErrorCode};
use crmgate_espocrm::Auth;
use crmgate_espocrm::sandbox::{Sandbox, credentials};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::sync::Arc;

const ACME: &str = "6b012cf59353c4863";
const ALICE: &str = "6b012cf5de3340e2e";
const PILOT: &str = "6b012cf67f3b7db5c";

fn cx() -> CallContext {
    CallContext::configured()
}

fn args(v: Value) -> SearchArgs {
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn duplicates_are_listed_and_can_be_overridden() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway(&sandbox, api_key());
    let data = fields(json!({"firstName": "Alice", "lastName": "Anderson"}));
    let e = gw
        .create(
            &cx(),
            CreateArgs {
                entity: "contacts".into(),
                data: data.clone(),
                skip_duplicate_check: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Duplicate);
    assert_eq!(e.details.as_ref().unwrap()["matches"][0]["id"], ALICE);
    let created = gw
        .create(
            &cx(),
            CreateArgs {
                entity: "contacts".into(),
                data,
                skip_duplicate_check: true,
            },
        )
        .await
        .unwrap()
        .into_record()
        .unwrap();
    assert_ne!(created.id, ALICE);
    let posts: Vec<_> = sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 2);
    assert!(!posts[0].skip_duplicate_check && posts[1].skip_duplicate_check);
}

#[tokio::test]
async fn server_validation_names_field_and_rule_and_gateway_validation_sends_nothing() {
    let sandbox = Sandbox::start().await.unwrap();
    let backend = backend(&sandbox, api_key());
    let gw = gateway_over(backend.clone());
    let contacts = gw.resolve(&cx(), "contacts").await.unwrap();
    let e = backend
        .create(
            &cx(),
            &contacts,
            &fields(json!({"lastName": "L".repeat(120)})),
            CreateOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert_eq!(e.details.as_ref().unwrap()["field"], "lastName");
    assert_eq!(e.details.as_ref().unwrap()["rule"], "maxLength");
    // the gateway refuses a task without its required assigned user before any request
    sandbox.clear_requests();
    let e = gw
        .create(
            &cx(),
            CreateArgs {
                entity: "tasks".into(),
                data: fields(json!({"name": "No owner"})),
                skip_duplicate_check: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(e.message.contains("assignedUserId"), "{}", e.message);
    assert!(
        sandbox.requests().iter().all(|r| r.method == "GET"),
        "nothing written"
    );
}

#[tokio::test]
async fn pages_over_200_are_served_in_chunks_and_later_pages_skip_the_count() {
    let sandbox = Sandbox::start().await.unwrap();
    for i in 0..240 {
        sandbox.insert(
            "Lead",
            json!({"firstName": "Bulk", "lastName": format!("Lead{i:03}"), "status": "New"}),
        );
    }
    let backend = backend(&sandbox, api_key());
    let settings = GatewaySettings {
        tier: Tier::Destructive,
        limit_cap: 500,
        ..GatewaySettings::default()
    };
    let gw = crmgate_core::testkit::gateway_with(backend, settings);
    gw.describe(&cx(), "leads").await.unwrap();
    sandbox.clear_requests();
    let first = gw
        .search(
            &cx(),
            args(json!({"entity": "leads", "limit": 230, "sort": "lastName"})),
        )
        .await
        .unwrap();
    assert_eq!(first.records.len(), 230);
    assert_eq!(first.total, Some(245));
    assert!(first.has_more && !first.applied.limit.capped);
    let requests = sandbox.requests();
    assert_eq!(requests.len(), 2, "200 + 30");
    let sizes: Vec<i64> = requests
        .iter()
        .map(|r| {
            let q: Vec<(String, String)> = form_urlencoded_pairs(&r.query);
            let sp: Value =
                serde_json::from_str(&q.iter().find(|(k, _)| k == "searchParams").unwrap().1)
                    .unwrap();
            sp["maxSize"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(sizes, [200, 30], "never more than 200 per request");
    assert!(
        !requests[0].no_total && requests[1].no_total,
        "only the first request counts"
    );
    sandbox.clear_requests();
    let next = gw
        .search(&cx(), args(json!({"entity": "leads", "limit": 230, "sort": "lastName", "cursor": first.next_cursor})))
        .await
        .unwrap();
    assert_eq!(next.records.len(), 15);
    assert!(!next.has_more && next.total.is_none());
    assert!(
        sandbox.requests().iter().all(|r| r.no_total),
        "X-No-Total on later pages"
    );
    let mut ids: Vec<String> = first
        .records
        .iter()
        .chain(&next.records)
        .map(|r| r.id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 245, "no record twice, none lost");
}

fn form_urlencoded_pairs(q: &str) -> Vec<(String, String)> {
    url_pairs(q)
}

fn url_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            let d = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (d(k), d(v))
        })
        .collect()
}

#[tokio::test]
async fn metadata_is_cached_per_caller() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway(&sandbox, api_key());
    gw.entities(&cx()).await.unwrap();
    gw.describe(&cx(), "contacts").await.unwrap();
    let loaded = sandbox.request_count();
    assert_eq!(loaded, 4, "scopes, App/user, entityDefs.Contact, I18n");
    gw.entities(&cx()).await.unwrap();
    gw.describe(&cx(), "Contact").await.unwrap();
    assert_eq!(sandbox.request_count(), loaded, "served from the cache");
    // another caller (hosted mode, the restricted user's key as bearer) loads its own view
    let restricted = CallContext::bearer(SecretString::from(credentials::READONLY_KEY));
    let theirs = gw.entities(&restricted).await.unwrap().entities;
    assert!(
        theirs.iter().all(|e| e.name != "companies"),
        "never the configured user's view"
    );
    assert!(sandbox.request_count() > loaded);
    let e = gw.describe(&restricted, "companies").await.unwrap_err();
    assert_eq!(
        e.code,
        ErrorCode::PermissionDenied,
        "hidden from this caller, not unknown"
    );
    let e = gw.describe(&restricted, "no_such_thing").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UnknownEntity);
}

#[tokio::test]
async fn hosted_mode_uses_the_callers_key_not_the_configured_identity() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway(
        &sandbox,
        Auth::Hmac {
            key: SecretString::from(credentials::HMAC_KEY),
            secret: SecretString::from(credentials::HMAC_SECRET),
        },
    );
    let caller = CallContext::bearer(SecretString::from(credentials::API_KEY));
    gw.search(&caller, args(json!({"entity": "contacts", "limit": 1})))
        .await
        .unwrap();
    assert!(
        sandbox.requests().iter().all(|r| r.auth == "api_key"),
        "no HMAC mixed in"
    );
    let stranger = CallContext::bearer(SecretString::from("not-a-key"));
    let e = gw.entities(&stranger).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::AuthFailed);
    assert!(e.suggestion.contains("bearer"), "{}", e.suggestion);
}

#[tokio::test]
async fn drafts_are_drafts_filled_from_templates_and_never_sent() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway(&sandbox, api_key());
    let draft = gw
        .draft_email(&cx(), serde_json::from_value(json!({
            "to": "alice.anderson@acme.example.com", "subject": "", "body": "A short note first.",
            "entity": "contacts", "id": ALICE, "template": "Lead welcome"
        })).unwrap())
        .await
        .unwrap()
        .draft;
    assert_eq!(draft.fields["status"], "Draft");
    assert_eq!(draft.fields["subject"], "Welcome aboard, Alice!");
    assert!(
        draft.fields["body"]
            .as_str()
            .unwrap()
            .starts_with("<p>A short note first.</p><p>Hello Alice Anderson")
    );
    assert_eq!(draft.fields["from"], "api-full@crm.example.com");
    let posts: Vec<_> = sandbox
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/Email"))
        .collect();
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0].body.as_ref().unwrap()["status"],
        "Draft",
        "status sent explicitly"
    );
    assert!(
        sandbox
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/prepare"))
    );
    assert!(
        sandbox
            .stored("Email")
            .iter()
            .all(|e| e["status"] == "Draft"),
        "nothing sent"
    );

    // a user without an email address gets a clear refusal before any Email request
    let hmac = gateway(
        &sandbox,
        Auth::Hmac {
            key: SecretString::from(credentials::HMAC_KEY),
            secret: SecretString::from(credentials::HMAC_SECRET),
        },
    );
    sandbox.clear_requests();
    let e = hmac
        .draft_email(
            &cx(),
            serde_json::from_value(json!({"to": "a@b.example", "subject": "Hi", "body": "x"}))
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotAllowed);
    assert!(e.suggestion.contains("email_from"));
    assert!(sandbox.requests().iter().all(|r| r.method == "GET"));
    let e = gw
        .draft_email(&cx(), serde_json::from_value(json!({"to": "a@b.example", "subject": "", "body": "", "template": "No such template"})).unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
}

#[tokio::test]
async fn move_stage_updates_the_status_field_and_orders_the_kanban_column() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway(&sandbox, api_key());
    let done = gw
        .action(&cx(), serde_json::from_value(json!({
            "entity": "deals", "id": PILOT, "action": "move_stage", "params": {"stage": "Negotiation", "position": "top"}
        })).unwrap())
        .await
        .unwrap();
    let ActionOutput::Done { result, .. } = done else {
        panic!("not a destructive action")
    };
    assert_eq!(result["record"]["stage"], "Negotiation");
    assert_eq!(result["kanban"]["ordered"], true);
    let order = sandbox
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/Kanban/order"))
        .unwrap();
    assert_eq!(order.body.as_ref().unwrap()["ids"][0], PILOT);
    assert_eq!(order.body.as_ref().unwrap()["group"], "Negotiation");
    let patch = sandbox
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!(patch.body.unwrap(), json!({"stage": "Negotiation"}));
    // a closed-lost deal has no kanban column: moved, not ordered
    let done = gw
        .action(&cx(), serde_json::from_value(json!({
            "entity": "deals", "id": PILOT, "action": "move_stage", "params": {"stage": "Closed Lost", "position": "bottom"}
        })).unwrap())
        .await
        .unwrap();
    let ActionOutput::Done { result, .. } = done else {
        panic!()
    };
    assert_eq!(result["kanban"]["ordered"], false);
    sandbox.clear_requests();
    let e = gw
        .action(&cx(), serde_json::from_value(json!({
            "entity": "deals", "id": PILOT, "action": "move_stage", "params": {"stage": "Won-ish"}
        })).unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(e.suggestion.contains("Closed Won"));
    assert!(
        sandbox.requests().iter().all(|r| r.method == "GET"),
        "nothing written"
    );
}

#[tokio::test]
async fn notes_reach_the_timeline_newest_first() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway(&sandbox, api_key());
    let note = gw
        .note(
            &cx(),
            NoteArgs {
                entity: "companies".into(),
                id: ACME.into(),
                text: "Called about the renewal.".into(),
            },
        )
        .await
        .unwrap()
        .note;
    assert_eq!(
        note.url.as_deref(),
        Some(format!("{}/#Account/view/{ACME}", sandbox.url()).as_str())
    );
    let timeline = gw
        .timeline(
            &cx(),
            TimelineArgs {
                entity: "companies".into(),
                id: ACME.into(),
                limit: Some(3),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(timeline.items[0].text, "Called about the renewal.");
    assert_eq!(timeline.items[0].kind, "note");
    assert_eq!(timeline.items[0].source.as_ref().unwrap().id, note.id);
    assert!(timeline.has_more);
    let all = gw
        .timeline(
            &cx(),
            TimelineArgs {
                entity: "companies".into(),
                id: ACME.into(),
                limit: Some(50),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        all.items
            .iter()
            .any(|i| i.kind == "related_created" || i.kind == "created")
    );
}

#[tokio::test]
async fn links_change_related_lists_and_belongs_to_links_are_not_writable() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway(&sandbox, api_key());
    let link = LinkArgs {
        entity: "contacts".into(),
        id: ALICE.into(),
        link: "opportunities".into(),
        target_id: PILOT.into(),
    };
    gw.link(&cx(), link.clone()).await.unwrap();
    let related = gw
        .related(
            &cx(),
            RelatedArgs {
                entity: "deals".into(),
                id: PILOT.into(),
                link: "contacts".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(related.records.iter().any(|r| r.id == ALICE));
    let sent = sandbox
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(sent.body.unwrap(), json!({"id": PILOT}));
    gw.unlink(&cx(), link).await.unwrap();
    let del = sandbox
        .requests()
        .into_iter()
        .find(|r| r.method == "DELETE")
        .unwrap();
    assert_eq!(
        del.body.unwrap(),
        json!({"id": PILOT}),
        "unlink sends a body on DELETE"
    );
    let e = gw
        .link(
            &cx(),
            LinkArgs {
                entity: "contacts".into(),
                id: ALICE.into(),
                link: "account".into(),
                target_id: ACME.into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotAllowed);
}

#[tokio::test]
async fn iso_datetimes_are_stored_in_utc_espo_form() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway(&sandbox, api_key());
    let task = gw
        .create(&cx(), CreateArgs {
            entity: "tasks".into(),
            data: fields(json!({"name": "Prepare demo", "assignedUserId": credentials::API_USER_ID, "dateEnd": "2026-12-24T09:00:00+01:00"})),
            skip_duplicate_check: false,
        })
        .await
        .unwrap()
        .into_record()
        .unwrap();
    assert_eq!(task.fields["dateEnd"], "2026-12-24 08:00:00");
    let found = gw
        .search(&cx(), args(json!({"entity": "tasks", "where": [{"field": "dateEnd", "op": "gte", "value": "2026-12-24T08:00:00Z"}]})))
        .await
        .unwrap();
    assert!(found.records.iter().any(|r| r.id == task.id));
}

#[tokio::test]
async fn raw_calls_reach_paths_and_only_get_counts_as_reading() {
    let sandbox = Sandbox::start().await.unwrap();
    let backend = backend(&sandbox, api_key());
    let list = backend.raw_method("GET:/Account").unwrap();
    assert_eq!(list.class(), crmgate_core::raw::RawClass::Read);
    let result = backend
        .raw_call(&cx(), &list, &json!({"maxSize": 1}))
        .await
        .unwrap();
    assert_eq!(result["list"].as_array().unwrap().len(), 1);
    assert_eq!(
        backend
            .raw_method("POST:/Lead/action/convert")
            .unwrap()
            .class(),
        crmgate_core::raw::RawClass::Write
    );
    assert_eq!(
        backend.raw_method("GET:/../x").unwrap_err().code,
        ErrorCode::Validation
    );
    let _: Arc<dyn Backend> = backend;
}

#[tokio::test]
async fn custom_entities_and_fields_are_first_class() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway(&sandbox, api_key());
    let entities = gw.entities(&cx()).await.unwrap().entities;
    let project = entities.iter().find(|e| e.native == "CProject").unwrap();
    assert_eq!(
        project.name, "CProject",
        "custom entities keep their native name"
    );
    assert!(project.supports(Operation::Create) && project.supports(Operation::Action));
    let schema = gw.describe(&cx(), "CProject").await.unwrap();
    assert_eq!(schema.field("status").unwrap().options.len(), 4);
    let companies = gw.describe(&cx(), "companies").await.unwrap();
    let tier = companies.field("cTier").unwrap();
    assert_eq!(tier.label, "Tier");
    assert!(tier.options.iter().any(|o| o.value == "Gold"));
    let gold = gw
        .search(&cx(), args(json!({"entity": "companies", "where": [{"field": "cTier", "op": "eq", "value": "Gold"}]})))
        .await
        .unwrap();
    assert_eq!(gold.records.len(), 1);
    assert!(companies.link("projects").is_some());
}
