//! The change journal wired into every write, crm_history and crm_undo, through `tools::call`
//! (the code path of the MCP server and `crmgate call`), on the demo CRM with a SQLite journal
//! in a temporary folder.

mod undo_common;

use serde_json::{Value, json};
use undo_common::*;

#[tokio::test]
async fn every_write_kind_is_journaled_with_its_before_and_after() {
    let dir = tempfile::tempdir().unwrap();
    let app = demo(&dir, "");
    let cx = me();
    let created = ok(&app, &cx, "crm_create", json!({"entity": "deals", "data": {"name": "Journal deal", "stage": "prospecting", "amount": 100}})).await;
    let id = created["record"]["id"].as_str().unwrap().to_owned();
    let before = full(&app, &cx, "deals", &id).await;
    ok(
        &app,
        &cx,
        "crm_update",
        json!({"entity": "deals", "id": id, "data": {"amount": 250}}),
    )
    .await;
    let company = any_id(&app, &cx, "companies").await;
    let contact = ok(
        &app,
        &cx,
        "crm_create",
        json!({"entity": "contacts", "data": {"first_name": "Jo", "last_name": "Urnal"}}),
    )
    .await;
    let contact = contact["record"]["id"].as_str().unwrap().to_owned();
    ok(
        &app,
        &cx,
        "crm_link",
        json!({"entity": "contacts", "id": contact, "link": "company", "target_id": company}),
    )
    .await;
    ok(
        &app,
        &cx,
        "crm_unlink",
        json!({"entity": "contacts", "id": contact, "link": "company", "target_id": company}),
    )
    .await;
    ok(
        &app,
        &cx,
        "crm_note",
        json!({"entity": "deals", "id": id, "text": "a journaled note"}),
    )
    .await;
    let preview = ok(
        &app,
        &cx,
        "crm_delete",
        json!({"entity": "contacts", "id": contact}),
    )
    .await;
    let token = preview["confirm_token"].as_str().unwrap();
    ok(
        &app,
        &cx,
        "crm_delete",
        json!({"entity": "contacts", "id": contact, "confirm_token": token}),
    )
    .await;

    let history = ok(&app, &cx, "crm_history", json!({"limit": 50})).await;
    let entries = history["entries"].as_array().unwrap();
    let tools: Vec<&str> = entries
        .iter()
        .map(|e| e["tool"].as_str().unwrap())
        .collect();
    assert_eq!(
        tools,
        [
            "crm_delete",
            "crm_note",
            "crm_unlink",
            "crm_link",
            "crm_create",
            "crm_update",
            "crm_create"
        ]
    );
    assert!(
        entries.iter().all(|e| e["outcome"] == "applied"),
        "{entries:#?}"
    );
    let update = &entries[5];
    assert_eq!(update["id"], id.as_str());
    assert_eq!(update["before"]["amount"], before["amount"]);
    assert_eq!(update["after"]["amount"], 250);
    assert_eq!(update["undoable"], true);
    let create = &entries[6];
    assert_eq!(create["after"]["name"], "Journal deal");
    assert!(create["before"]["name"].is_null());
    let delete = &entries[0];
    assert_eq!(delete["before"]["first_name"], "Jo");
    assert_eq!(delete["after"]["first_name"], Value::Null);
    let note = &entries[1];
    assert_eq!(note["undoable"], false);
    assert!(note["why_not"].as_str().unwrap().contains("note"));
    assert!(!history.to_string().contains("confirm_token"));

    // filters: entity, record, since
    let only = ok(
        &app,
        &cx,
        "crm_history",
        json!({"entity": "deals", "id": id}),
    )
    .await;
    assert_eq!(only["entries"].as_array().unwrap().len(), 3);
    let later = ok(&app, &cx, "crm_history", json!({"since": "2999-01-01"})).await;
    assert!(later["entries"].as_array().unwrap().is_empty());
    let bad = err(&app, &cx, "crm_history", json!({"since": "yesterday-ish"})).await;
    assert_eq!(bad["code"], "VALIDATION");
}

#[tokio::test]
async fn undo_restores_each_kind_and_refuses_twice() {
    let dir = tempfile::tempdir().unwrap();
    let app = demo(&dir, "");
    let cx = me();
    let id = any_id(&app, &cx, "deals").await;
    let original = state(&app, &cx, "deals", &id).await;

    // update → the changed fields' before-values
    ok(
        &app,
        &cx,
        "crm_update",
        json!({"entity": "deals", "id": id, "data": {"amount": 4242, "probability": 7}}),
    )
    .await;
    let entry = newest(&app, &cx).await;
    let preview = ok(&app, &cx, "crm_undo", json!({"entry_id": entry})).await;
    assert_eq!(preview["undone"], false);
    assert_eq!(preview["steps"][0]["inverse"], "update");
    assert_eq!(
        full(&app, &cx, "deals", &id).await["amount"],
        4242,
        "a preview changes nothing"
    );
    let token = preview["confirm_token"].as_str().unwrap();
    let done = ok(
        &app,
        &cx,
        "crm_undo",
        json!({"entry_id": entry, "confirm_token": token}),
    )
    .await;
    assert_eq!(done["undone"], true);
    assert_eq!(state(&app, &cx, "deals", &id).await, original);
    // already undone
    let again = err(&app, &cx, "crm_undo", json!({"entry_id": entry})).await;
    assert_eq!(again["code"], "CONFLICT");
    assert!(
        again["message"]
            .as_str()
            .unwrap()
            .contains("already undone")
    );
    // the undo is itself journaled and undoable (redo)
    let history = ok(&app, &cx, "crm_history", json!({"limit": 2})).await;
    assert_eq!(history["entries"][0]["tool"], "crm_undo");
    assert_eq!(history["entries"][0]["undoes"], entry.as_str());
    assert_eq!(history["entries"][1]["undoable"], false);

    // create → delete
    let created = ok(
        &app,
        &cx,
        "crm_create",
        json!({"entity": "deals", "data": {"name": "Undo me", "stage": "prospecting"}}),
    )
    .await;
    let new_id = created["record"]["id"].as_str().unwrap().to_owned();
    undo_newest(&app, &cx).await;
    let gone = err(
        &app,
        &cx,
        "crm_get",
        json!({"entity": "deals", "id": new_id}),
    )
    .await;
    assert_eq!(gone["code"], "NOT_FOUND");

    // link ↔ unlink
    let contact = any_id(&app, &cx, "contacts").await;
    let deal_contacts = |v: &Value| v["contact_ids"].clone();
    let before_link = full(&app, &cx, "deals", &id).await;
    ok(
        &app,
        &cx,
        "crm_link",
        json!({"entity": "deals", "id": id, "link": "contacts", "target_id": contact}),
    )
    .await;
    undo_newest(&app, &cx).await;
    assert_eq!(
        deal_contacts(&full(&app, &cx, "deals", &id).await),
        deal_contacts(&before_link)
    );

    // delete → recreated from the journaled state (the demo deletes for good)
    let victim = ok(&app, &cx, "crm_create", json!({"entity": "contacts", "data": {"first_name": "Del", "last_name": "Eted", "email": "del@undo.example"}})).await;
    let victim = victim["record"]["id"].as_str().unwrap().to_owned();
    let kept = state(&app, &cx, "contacts", &victim).await;
    let preview = ok(
        &app,
        &cx,
        "crm_delete",
        json!({"entity": "contacts", "id": victim}),
    )
    .await;
    let token = preview["confirm_token"].as_str().unwrap();
    ok(
        &app,
        &cx,
        "crm_delete",
        json!({"entity": "contacts", "id": victim, "confirm_token": token}),
    )
    .await;
    let entry = newest(&app, &cx).await;
    let preview = ok(&app, &cx, "crm_undo", json!({"entry_id": entry})).await;
    assert_eq!(preview["steps"][0]["inverse"], "recreate");
    assert!(
        preview["steps"][0]["caveat"]
            .as_str()
            .unwrap()
            .contains("new id")
    );
    let token = preview["confirm_token"].as_str().unwrap();
    let done = ok(
        &app,
        &cx,
        "crm_undo",
        json!({"entry_id": entry, "confirm_token": token}),
    )
    .await;
    let back = done["steps"][0]["id"].as_str().unwrap().to_owned();
    assert_ne!(back, victim);
    assert_eq!(state(&app, &cx, "contacts", &back).await, kept);
}

#[tokio::test]
async fn undo_after_a_concurrent_change_is_conflict_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = demo(&dir, "");
    let cx = me();
    let id = any_id(&app, &cx, "deals").await;
    ok(
        &app,
        &cx,
        "crm_update",
        json!({"entity": "deals", "id": id, "data": {"amount": 1, "probability": 10}}),
    )
    .await;
    let entry = newest(&app, &cx).await;
    let preview = ok(&app, &cx, "crm_undo", json!({"entry_id": entry})).await;
    let token = preview["confirm_token"].as_str().unwrap().to_owned();
    // someone changes one of the fields since
    ok(
        &app,
        &cx,
        "crm_update",
        json!({"entity": "deals", "id": id, "data": {"probability": 55}}),
    )
    .await;
    let now = state(&app, &cx, "deals", &id).await;
    for args in [
        json!({"entry_id": entry}),
        json!({"entry_id": entry, "confirm_token": token}),
    ] {
        let e = err(&app, &cx, "crm_undo", args).await;
        assert_eq!(e["code"], "CONFLICT", "{e}");
        assert!(
            e["message"].as_str().unwrap().contains("probability"),
            "{e}"
        );
        assert_eq!(e["details"]["fields"], json!(["probability"]));
    }
    assert_eq!(state(&app, &cx, "deals", &id).await, now, "nothing touched");
    // the entry was not claimed
    let history = ok(&app, &cx, "crm_history", json!({"limit": 2})).await;
    assert_eq!(history["entries"][1]["entry_id"], entry.as_str());
    assert!(history["entries"][1].get("why_not").is_none());
}

#[tokio::test]
async fn bad_undos_are_clear_errors_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let app = demo(&dir, "");
    let cx = me();
    let id = any_id(&app, &cx, "deals").await;
    ok(
        &app,
        &cx,
        "crm_update",
        json!({"entity": "deals", "id": id, "data": {"amount": 77}}),
    )
    .await;
    let entry = newest(&app, &cx).await;

    // another caller's entry reads exactly like a missing one
    let other = someone_else();
    let theirs = err(&app, &other, "crm_undo", json!({"entry_id": entry})).await;
    let missing = err(
        &app,
        &other,
        "crm_undo",
        json!({"entry_id": "j_01ARZ3NDEKTSV4RRFFQ69G5FAV"}),
    )
    .await;
    assert_eq!(theirs["code"], "NOT_FOUND");
    assert_eq!(theirs["suggestion"], missing["suggestion"]);
    let their_history = ok(&app, &other, "crm_history", json!({})).await;
    assert!(their_history["entries"].as_array().unwrap().is_empty());

    // garbage ids, both or neither
    for args in [
        json!({"entry_id": "nope"}),
        json!({}),
        json!({"entry_id": entry, "batch_id": "b_01ARZ3NDEKTSV4RRFFQ69G5FAV"}),
    ] {
        assert_eq!(err(&app, &cx, "crm_undo", args).await["code"], "VALIDATION");
    }
    // a forged token
    let e = err(
        &app,
        &cx,
        "crm_undo",
        json!({"entry_id": entry, "confirm_token": "v1.1.x"}),
    )
    .await;
    assert_eq!(e["code"], "STALE_CONFIRMATION");
    assert_eq!(full(&app, &cx, "deals", &id).await["amount"], 77);

    // the record deleted elsewhere since
    let preview = ok(
        &app,
        &cx,
        "crm_delete",
        json!({"entity": "deals", "id": id}),
    )
    .await;
    let token = preview["confirm_token"].as_str().unwrap();
    ok(
        &app,
        &cx,
        "crm_delete",
        json!({"entity": "deals", "id": id, "confirm_token": token}),
    )
    .await;
    let e = err(&app, &cx, "crm_undo", json!({"entry_id": entry})).await;
    assert_eq!(e["code"], "NOT_FOUND");
    assert!(
        e["message"].as_str().unwrap().contains("no longer exists"),
        "{e}"
    );

    // notes cannot be undone, said up front
    let deal = any_id(&app, &cx, "deals").await;
    ok(
        &app,
        &cx,
        "crm_note",
        json!({"entity": "deals", "id": deal, "text": "x"}),
    )
    .await;
    let e = err(
        &app,
        &cx,
        "crm_undo",
        json!({"entry_id": newest(&app, &cx).await}),
    )
    .await;
    assert_eq!(e["code"], "NOT_ALLOWED");
}

#[tokio::test]
async fn the_journal_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cx = me();
    let entry = {
        let app = demo(&dir, "");
        let id = any_id(&app, &cx, "companies").await;
        ok(&app, &cx, "crm_update", json!({"entity": "companies", "id": id, "data": {"website": "https://restart.example"}})).await;
        newest(&app, &cx).await
    };
    let app = demo(&dir, "");
    let history = ok(&app, &cx, "crm_history", json!({})).await;
    assert_eq!(history["entries"][0]["entry_id"], entry.as_str());
    assert_eq!(
        history["entries"][0]["after"]["website"],
        "https://restart.example"
    );
}

#[tokio::test]
async fn an_unwritable_journal_refuses_writes_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    // the journal's path is a folder: it cannot be opened as a file
    std::fs::create_dir_all(dir.path().join("journal.sqlite3")).unwrap();
    let app = demo(&dir, "");
    let cx = me();
    let id = any_id(&app, &cx, "deals").await;
    let before = state(&app, &cx, "deals", &id).await;
    let e = err(
        &app,
        &cx,
        "crm_update",
        json!({"entity": "deals", "id": id, "data": {"amount": 9}}),
    )
    .await;
    assert!(
        e["message"].as_str().unwrap().contains("nothing was sent"),
        "{e}"
    );
    assert!(e["details"]["journal"].is_string());
    assert_eq!(
        state(&app, &cx, "deals", &id).await,
        before,
        "refused: nothing written"
    );

    let allowing = demo(&dir, "on_failure = \"allow\"\n");
    let id = any_id(&allowing, &cx, "deals").await;
    let done = ok(
        &allowing,
        &cx,
        "crm_update",
        json!({"entity": "deals", "id": id, "data": {"amount": 9}}),
    )
    .await;
    assert_eq!(done["record"]["fields"]["amount"], 9);
}

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
    let names: Vec<String> = undone["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["inverse"], "recreate");
            s["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(names.len(), 3);
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
