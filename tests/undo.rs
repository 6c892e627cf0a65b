//! The change journal wired into every write, crm_history and crm_undo, through `tools::call`
//! (the code path of the MCP server and `crmgate call`), on the demo CRM with a SQLite journal
//! in a temporary folder (bulk changes: `tests/undo_bulk.rs`).

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
    confirmed(
        &app,
        &cx,
        "crm_delete",
        json!({"entity": "contacts", "id": contact}),
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
    assert_eq!(note["after"]["body"], "a journaled note");
    assert_eq!(note["undoable"], true, "the demo deletes notes");
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

    // note → the note deleted
    ok(
        &app,
        &cx,
        "crm_note",
        json!({"entity": "deals", "id": id, "text": "undo this note"}),
    )
    .await;
    let timeline = ok(
        &app,
        &cx,
        "crm_timeline",
        json!({"entity": "deals", "id": id, "limit": 50}),
    )
    .await;
    assert!(timeline.to_string().contains("undo this note"));
    let done = undo_newest(&app, &cx).await;
    assert_eq!(done["steps"][0]["inverse"], "delete_note");
    let timeline = ok(
        &app,
        &cx,
        "crm_timeline",
        json!({"entity": "deals", "id": id, "limit": 50}),
    )
    .await;
    assert!(!timeline.to_string().contains("undo this note"));

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

    // delete → restored under its old id (the demo keeps what this process deleted)
    let victim = ok(&app, &cx, "crm_create", json!({"entity": "contacts", "data": {"first_name": "Del", "last_name": "Eted", "email": "del@undo.example"}})).await;
    let victim = victim["record"]["id"].as_str().unwrap().to_owned();
    let kept = state(&app, &cx, "contacts", &victim).await;
    confirmed(
        &app,
        &cx,
        "crm_delete",
        json!({"entity": "contacts", "id": victim}),
    )
    .await;
    let entry = newest(&app, &cx).await;
    let preview = ok(&app, &cx, "crm_undo", json!({"entry_id": entry})).await;
    assert_eq!(preview["steps"][0]["inverse"], "restore");
    assert!(
        preview["steps"][0]["caveat"]
            .as_str()
            .unwrap()
            .contains("old id")
    );
    let token = preview["confirm_token"].as_str().unwrap();
    let done = ok(
        &app,
        &cx,
        "crm_undo",
        json!({"entry_id": entry, "confirm_token": token}),
    )
    .await;
    assert_eq!(done["steps"][0]["id"], victim.as_str());
    assert_eq!(state(&app, &cx, "contacts", &victim).await, kept);
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
    confirmed(
        &app,
        &cx,
        "crm_delete",
        json!({"entity": "deals", "id": id}),
    )
    .await;
    let e = err(&app, &cx, "crm_undo", json!({"entry_id": entry})).await;
    assert_eq!(e["code"], "NOT_FOUND");
    assert!(
        e["message"].as_str().unwrap().contains("no longer exists"),
        "{e}"
    );

    // an action has no inverse: said up front in the history, and refused
    let deal = any_id(&app, &cx, "deals").await;
    ok(&app, &cx, "crm_action", json!({"entity": "deals", "id": deal, "action": "move_stage", "params": {"stage": "negotiation"}})).await;
    let history = ok(&app, &cx, "crm_history", json!({"limit": 1})).await;
    assert_eq!(history["entries"][0]["undoable"], false);
    assert!(
        history["entries"][0]["why_not"]
            .as_str()
            .unwrap()
            .contains("move_stage")
    );
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
