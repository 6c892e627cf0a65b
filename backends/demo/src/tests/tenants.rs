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
async fn a_caller_that_never_wrote_reads_the_shared_pristine_copy_and_its_first_write_copies_it() {
    let b = DemoBackend::new();
    let contacts = info(&b, "contacts").await;
    let before = count(&b, &bearer("reader-0"), &contacts).await;
    for i in 0..1_000 {
        b.probe(&bearer(&format!("reader-{i}"))).await.unwrap();
    }
    assert_eq!(
        b.tenants.lock().unwrap().len(),
        0,
        "readers cost no CRM of their own"
    );
    let (a, z) = (bearer("reader-1"), bearer("reader-999"));
    assert!(Arc::ptr_eq(
        &b.store(&a, false).unwrap(),
        &b.store(&z, false).unwrap()
    ));
    let data: Fields = json!({"last_name": "Mine"}).as_object().unwrap().clone();
    b.create(&a, &contacts, &data, CreateOptions::default())
        .await
        .unwrap();
    assert_eq!(b.tenants.lock().unwrap().len(), 1);
    assert_eq!(count(&b, &a, &contacts).await, before + 1);
    assert_eq!(
        count(&b, &z, &contacts).await,
        before,
        "the pristine copy was not written"
    );
    assert!(!Arc::ptr_eq(
        &b.store(&a, false).unwrap(),
        &b.store(&z, false).unwrap()
    ));
}

#[tokio::test]
async fn every_identity_is_served_and_the_least_recently_used_crm_is_evicted() {
    let b = DemoBackend::new();
    let cx = |i: usize| bearer(&format!("caller-{i}"));
    let first = cx(0);
    let mine = b.store(&first, true).unwrap();
    for i in 1..300 {
        b.store(&cx(i), true).unwrap(); // a caller that wrote
        if i % 50 == 0 {
            // caller 0 keeps using its CRM
            assert!(Arc::ptr_eq(&mine, &b.store(&first, false).unwrap()));
        }
    }
    assert_eq!(
        b.tenants.lock().unwrap().len(),
        crate::MAX_TENANTS,
        "memory is bounded"
    );
    assert!(
        Arc::ptr_eq(&mine, &b.store(&first, false).unwrap()),
        "a recently used CRM is kept"
    );
    // caller 1 was idle longest: its CRM was dropped, and it is served a fresh one
    let old = b.store(&cx(299), false).unwrap();
    b.store(&cx(1), true).unwrap();
    assert_eq!(b.tenants.lock().unwrap().len(), crate::MAX_TENANTS);
    assert!(Arc::ptr_eq(&old, &b.store(&cx(299), false).unwrap()));
}
