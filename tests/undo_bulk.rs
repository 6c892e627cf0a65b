//! Bulk crm_update / crm_delete (`ids`) through `tools::call` on the demo CRM with a SQLite
//! journal: previewed and confirmed as one, journaled under one batch id, undone as one batch,
//! bad ids refused before anything is written, a cancellation stopping before the next group.

mod undo_common;

use serde_json::json;
use undo_common::*;

#[tokio::test]
async fn a_bulk_update_of_30_deals_is_previewed_confirmed_and_undone_as_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let app = demo(&dir, "");
    let cx = me();
    let page = ok(
        &app,
        &cx,
        "crm_search",
        json!({"entity": "deals", "limit": 30}),
    )
    .await;
    let ids: Vec<String> = page["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 30);
    let mut before = Vec::new();
    for id in &ids {
        before.push(state(&app, &cx, "deals", id).await);
    }
    let args =
        json!({"entity": "deals", "ids": ids, "data": {"probability": 99, "description": "bulk"}});
    let preview = ok(&app, &cx, "crm_update", args.clone()).await;
    assert_eq!(preview["applied"], false);
    assert_eq!(preview["records"].as_array().unwrap().len(), 30);
    assert_eq!(preview["records"][0]["diff"][0]["after"], json!("bulk"));
    assert_eq!(
        state(&app, &cx, "deals", &ids[0]).await,
        before[0],
        "a preview writes nothing"
    );
    // the token is bound to these ids and this patch
    let token = preview["confirm_token"].as_str().unwrap().to_owned();
    let mut other = args.clone();
    other["data"]["probability"] = json!(1);
    other["confirm_token"] = json!(token);
    assert_eq!(
        err(&app, &cx, "crm_update", other).await["code"],
        "STALE_CONFIRMATION"
    );
    let mut confirmed = args.clone();
    confirmed["confirm_token"] = json!(token);
    let done = ok(&app, &cx, "crm_update", confirmed).await;
    assert_eq!(done["applied"], true);
    assert!(
        done["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["done"] == true)
    );
    let batch = done["batch_id"].as_str().unwrap().to_owned();
    for id in &ids {
        assert_eq!(full(&app, &cx, "deals", id).await["probability"], 99);
    }
    let history = ok(
        &app,
        &cx,
        "crm_history",
        json!({"batch_id": batch, "limit": 100}),
    )
    .await;
    assert_eq!(history["entries"].as_array().unwrap().len(), 30);

    let undone = undo(&app, &cx, json!({"batch_id": batch})).await;
    assert_eq!(undone["steps"].as_array().unwrap().len(), 30);
    for (id, was) in ids.iter().zip(&before) {
        assert_eq!(&state(&app, &cx, "deals", id).await, was, "{id}");
    }
    let again = err(&app, &cx, "crm_undo", json!({"batch_id": batch})).await;
    assert_eq!(again["code"], "CONFLICT");
}

#[tokio::test]
async fn bulk_changes_refuse_bad_ids_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let app = demo(&dir, "");
    let cx = me();
    let id = any_id(&app, &cx, "deals").await;
    let before = state(&app, &cx, "deals", &id).await;
    let missing = err(
        &app,
        &cx,
        "crm_update",
        json!({"entity": "deals", "ids": [id, "no-such-deal"], "data": {"probability": 3}}),
    )
    .await;
    assert_eq!(missing["code"], "NOT_FOUND");
    assert_eq!(missing["details"]["missing"], json!(["no-such-deal"]));
    let too_many: Vec<String> = (0..51).map(|i| format!("d{i}")).collect();
    let e = err(
        &app,
        &cx,
        "crm_update",
        json!({"entity": "deals", "ids": too_many, "data": {"probability": 3}}),
    )
    .await;
    assert_eq!(e["code"], "VALIDATION");
    let both = err(
        &app,
        &cx,
        "crm_update",
        json!({"entity": "deals", "id": id, "ids": [id], "data": {"probability": 3}}),
    )
    .await;
    assert_eq!(both["code"], "VALIDATION");
    assert_eq!(state(&app, &cx, "deals", &id).await, before);
    let history = ok(&app, &cx, "crm_history", json!({})).await;
    assert!(history["entries"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_bulk_delete_is_confirmed_once_and_undone_as_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let app = demo(&dir, "");
    let cx = me();
    let mut ids = Vec::new();
    for i in 0..3 {
        let c = ok(&app, &cx, "crm_create", json!({"entity": "contacts", "data": {"first_name": format!("Bulk{i}"), "last_name": "Gone"}})).await;
        ids.push(c["record"]["id"].as_str().unwrap().to_owned());
    }
    let preview = ok(
        &app,
        &cx,
        "crm_delete",
        json!({"entity": "contacts", "ids": ids}),
    )
    .await;
    let token = preview["confirm_token"].as_str().unwrap();
    let done = ok(
        &app,
        &cx,
        "crm_delete",
        json!({"entity": "contacts", "ids": ids, "confirm_token": token}),
    )
    .await;
    assert_eq!(done["records"].as_array().unwrap().len(), 3);
    for id in &ids {
        assert_eq!(
            err(
                &app,
                &cx,
                "crm_get",
                json!({"entity": "contacts", "id": id})
            )
            .await["code"],
            "NOT_FOUND"
        );
    }
    let batch = done["batch_id"].as_str().unwrap();
    let undone = undo(&app, &cx, json!({"batch_id": batch})).await;
    let mut back: Vec<String> = undone["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["inverse"], "restore");
            s["id"].as_str().unwrap().to_owned()
        })
        .collect();
    back.sort();
    let mut was = ids.clone();
    was.sort();
    assert_eq!(back, was, "the same records, under their old ids");
    for id in &ids {
        ok(
            &app,
            &cx,
            "crm_get",
            json!({"entity": "contacts", "id": id}),
        )
        .await;
    }
}

/// A host whose user cancels once the first group of records is done.
struct CancelAfterFirstGroup(std::sync::atomic::AtomicBool);

impl crmgate_core::gateway::BulkWatch for CancelAfterFirstGroup {
    fn progress(&self, _done: usize, _total: usize) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    fn cancelled(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl crmgate::tools::Host for CancelAfterFirstGroup {
    async fn confirm(&self, _question: String) -> Option<crmgate::tools::Confirmation> {
        None
    }
    fn notices(&self) -> Option<crmgate_core::meta::NoticeSink> {
        None
    }
    fn bulk_watch(&self) -> &dyn crmgate_core::gateway::BulkWatch {
        self
    }
}

#[tokio::test]
async fn a_cancelled_bulk_update_stops_before_the_next_group_and_says_what_was_done() {
    let dir = tempfile::tempdir().unwrap();
    let app = demo(&dir, "");
    let cx = me();
    let page = ok(
        &app,
        &cx,
        "crm_search",
        json!({"entity": "deals", "limit": 10}),
    )
    .await;
    let ids: Vec<String> = page["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let args = json!({"entity": "deals", "ids": ids, "data": {"probability": 13}});
    let preview = ok(&app, &cx, "crm_update", args.clone()).await;
    let mut confirmed = args;
    confirmed["confirm_token"] = preview["confirm_token"].clone();
    let host = CancelAfterFirstGroup(Default::default());
    let out = Box::pin(crmgate::tools::call_with(
        &app,
        &cx,
        "crm_update",
        confirmed,
        &host,
    ))
    .await;
    assert!(!out.is_error, "{}", out.text);
    let done = out.structured["records"].as_array().unwrap().len();
    let not_done = out.structured["not_done"].as_array().unwrap().len();
    assert!(
        done > 0 && not_done > 0 && done + not_done == 10,
        "{}",
        out.text
    );
    assert!(out.text.contains("Cancelled"), "{}", out.text);
    // the records not reached are untouched, and only the done ones are journaled
    let untouched = out.structured["not_done"][0].as_str().unwrap();
    assert_ne!(full(&app, &cx, "deals", untouched).await["probability"], 13);
    let batch = out.structured["batch_id"].as_str().unwrap();
    let history = ok(&app, &cx, "crm_history", json!({"batch_id": batch})).await;
    assert_eq!(history["entries"].as_array().unwrap().len(), done);
}
