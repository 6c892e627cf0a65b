//! Hosted mode: every bearer identity has a CRM of its own.

use super::*;
use crmgate_core::model::CreateOptions;
use secrecy::SecretString;
use serde_json::json;
use std::sync::Arc;

fn bearer(token: &str) -> CallContext {
    CallContext::bearer(SecretString::from(token.to_owned()))
}

async fn count(b: &DemoBackend, cx: &CallContext, contacts: &EntityInfo) -> u64 {
    let schema = b.describe(cx, contacts).await.unwrap();
    let request = SearchRequest {
        entity: Arc::new(contacts.clone()),
        schema,
        filter: Filter::default(),
        sort: vec![],
        fields: FieldSelection::All,
        page: PageRequest {
            limit: 1,
            cursor: None,
        },
    };
    b.search(cx, &request).await.unwrap().total.unwrap()
}

#[tokio::test]
async fn callers_never_see_each_others_changes() {
    let b = DemoBackend::new();
    let contacts = info(&b, "contacts").await;
    let (alice, bob) = (bearer("alice-token"), bearer("bob-token"));
    let before = count(&b, &alice, &contacts).await;
    let data: Fields = json!({"last_name": "Alice-only"})
        .as_object()
        .unwrap()
        .clone();
    let crmgate_core::model::Created::Record(created) = b
        .create(&alice, &contacts, &data, CreateOptions::default())
        .await
        .unwrap()
    else {
        panic!("the demo reports created ids");
    };
    assert_eq!(count(&b, &alice, &contacts).await, before + 1);
    assert_eq!(
        count(&b, &bob, &contacts).await,
        before,
        "bob's CRM is untouched"
    );
    assert_eq!(
        count(&b, &cx(), &contacts).await,
        before,
        "so is the configured one"
    );
    let seen_by_bob = b
        .get(
            &bob,
            &contacts,
            std::slice::from_ref(&created.id),
            &FieldSelection::All,
        )
        .await
        .unwrap();
    assert!(
        seen_by_bob.is_empty(),
        "bob cannot read alice's record by id"
    );
    // the same token is the same caller
    assert_eq!(
        count(&b, &bearer("alice-token"), &contacts).await,
        before + 1
    );
}

#[tokio::test]
async fn every_identity_is_served_and_the_least_recently_used_crm_is_evicted() {
    let b = DemoBackend::new();
    let cx = |i: usize| bearer(&format!("caller-{i}"));
    let first = cx(0);
    let mine = b.store(&first).unwrap();
    for i in 1..300 {
        b.probe(&cx(i)).await.unwrap();
        if i % 50 == 0 {
            // caller 0 keeps using its CRM
            assert!(Arc::ptr_eq(&mine, &b.store(&first).unwrap()));
        }
    }
    assert_eq!(
        b.tenants.lock().unwrap().len(),
        crate::MAX_TENANTS,
        "memory is bounded"
    );
    assert!(
        Arc::ptr_eq(&mine, &b.store(&first).unwrap()),
        "a recently used CRM is kept"
    );
    // caller 1 was idle longest: its CRM was dropped, and it is served a fresh one
    let old = b.store(&cx(299)).unwrap();
    b.store(&cx(1)).unwrap();
    assert_eq!(b.tenants.lock().unwrap().len(), crate::MAX_TENANTS);
    assert!(Arc::ptr_eq(&old, &b.store(&cx(299)).unwrap()));
}
