//! Atomic CRM behaviour on real PostgreSQL (postgres transport), through the gateway: the
//! shared scenarios, plus what only the catalog can show (describe follows the live columns).

mod scenarios;

use crmgate_atomic::testkit::{PgTestDb, TestUser};
use crmgate_atomic::{AtomicBackend, Credential};
use crmgate_core::gateway::*;
use crmgate_core::testkit;
use crmgate_core::{CallContext, ErrorCode};
use scenarios::{create, cx};
use serde_json::json;
use std::sync::Arc;

fn gateway(db: &PgTestDb, user: TestUser) -> Gateway {
    let config = db.config(db.gateway_url(), Credential::AccessToken(user.token(3600)));
    testkit::gateway(Arc::new(
        AtomicBackend::new(config, testkit::cache()).unwrap(),
    ))
}

#[tokio::test]
async fn describe_follows_the_catalog_and_allowed_values_follow_the_configuration_row() {
    let Some(db) = PgTestDb::create("describe").await else {
        return;
    };
    db.admin_client()
        .await
        .batch_execute(
            "alter table public.contacts add column nickname text; \
             update public.configuration set config = '{\"dealStages\": [{\"value\": \"lead\", \"label\": \"Lead\"}, {\"value\": \"signed\", \"label\": \"Signed\"}]}' where id = 1",
        )
        .await
        .unwrap();
    let g = gateway(&db, TestUser::Bob);
    // entities are what the caller can reach: a table it has no rights on is not listed
    db.admin_client()
        .await
        .batch_execute("revoke all on public.tags from authenticated")
        .await
        .unwrap();
    let listed = g.entities(&cx()).await.unwrap().entities;
    assert!(listed.iter().all(|e| e.name != "tags") && listed.len() == 7);
    let contacts = g.describe(&cx(), "contacts").await.unwrap();
    let nickname = contacts
        .field("nickname")
        .expect("a column added to the database is described");
    assert!(!nickname.is_read_only() && !nickname.required);
    // contacts_summary was created before the column: it lacks it, so the table is read
    assert!(contacts.field("company_name").is_none());
    let companies = g.describe(&cx(), "companies").await.unwrap();
    assert!(companies.field("nb_deals").unwrap().is_read_only());
    let deals = g.describe(&cx(), "deals").await.unwrap();
    let stages: Vec<&str> = deals
        .field("stage")
        .unwrap()
        .options
        .iter()
        .map(|o| o.value.as_str())
        .collect();
    assert_eq!(stages, ["lead", "signed"]);
    // categories are not configured: the app's defaults
    assert_eq!(deals.field("category").unwrap().options.len(), 5);
    let e = create(&g, "deals", json!({"name": "Big one", "stage": "won"}))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(
        e.suggestion.contains("lead") && e.suggestion.contains("signed"),
        "{}",
        e.suggestion
    );
    let e = create(&g, "deals", json!({"name": "Big one", "stage": "Lead"}))
        .await
        .unwrap_err();
    assert!(
        e.suggestion.contains("\"lead\""),
        "labels point at their value: {}",
        e.suggestion
    );
    let deal = create(
        &g,
        "deals",
        json!({"name": "Big one", "stage": "lead", "amount": 5000}),
    )
    .await
    .unwrap();
    assert_eq!(deal.fields["stage"], "lead");
    let nick = create(
        &g,
        "contacts",
        json!({"first_name": "Nick", "nickname": "nicky"}),
    )
    .await
    .unwrap();
    assert_eq!(nick.fields["nickname"], "nicky");
}

#[tokio::test]
async fn triggers_and_identities() {
    let Some(db) = PgTestDb::create("identities").await else {
        return;
    };
    let bob = CallContext::bearer(TestUser::Bob.token(600));
    scenarios::triggers_and_identities(&gateway(&db, TestUser::Alice), bob).await;
}

#[tokio::test]
async fn links() {
    let Some(db) = PgTestDb::create("links").await else {
        return;
    };
    scenarios::links(&gateway(&db, TestUser::Bob)).await;
}

#[tokio::test]
async fn notes() {
    let Some(db) = PgTestDb::create("notes").await else {
        return;
    };
    scenarios::notes(&gateway(&db, TestUser::Bob)).await;
}

#[tokio::test]
async fn filters() {
    let Some(db) = PgTestDb::create("filters").await else {
        return;
    };
    scenarios::filters(&gateway(&db, TestUser::Bob)).await;
}

#[tokio::test]
async fn account_managers() {
    let Some(db) = PgTestDb::create("managers").await else {
        return;
    };
    scenarios::account_managers(&gateway(&db, TestUser::Bob)).await;
}
