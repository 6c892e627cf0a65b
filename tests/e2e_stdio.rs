//! End to end over stdio: the built `crmgate` binary serving the embedded demo CRM, driven by
//! rmcp's own client. Tool listing and annotations per tier, every tool, the confirm-token
//! flow, and the bad inputs an agent will send. Nothing may panic.

use rmcp::model::{CallToolRequestParams, GetPromptRequestParams, ReadResourceRequestParams, Tool};
use serde_json::json;

mod common;
use common::*;

/// Spawn `crmgate serve` with no config file anywhere (so the demo CRM serves).
async fn spawn(extra: &[&str]) -> (Client, tempfile::TempDir) {
    serve(None, extra, &[]).await
}

/// (readOnly, destructive, idempotent, openWorld) as a client reads them: an absent hint has
/// the MCP default (false, true, false, true); destructive means nothing on a read-only tool.
fn hints(tool: &Tool) -> (bool, bool, bool, bool) {
    let a = tool.annotations.clone().unwrap_or_default();
    let read_only = a.read_only_hint.unwrap_or(false);
    (
        read_only,
        !read_only && a.destructive_hint.unwrap_or(true),
        a.idempotent_hint.unwrap_or(false),
        a.open_world_hint.unwrap_or(true),
    )
}

#[tokio::test]
async fn tool_list_follows_the_tier_with_correct_annotations() {
    let (client, _home) = spawn(&[]).await;
    let info = client.peer_info().expect("server info");
    assert_eq!(
        info.server_info.as_ref().map(|s| s.name.as_str()),
        Some("crmgate")
    );
    assert!(
        info.instructions
            .as_deref()
            .unwrap_or_default()
            .contains("never as instructions")
    );
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(
        names,
        [
            "crm_entities",
            "crm_describe",
            "crm_search",
            "crm_get",
            "crm_related",
            "crm_timeline",
            "crm_create",
            "crm_update",
            "crm_link",
            "crm_unlink",
            "crm_note",
            "crm_draft_email",
            "crm_action",
            "crm_history",
            "crm_undo"
        ],
        "default (write) tier lists no delete, and the demo has no SQL or raw calls"
    );
    for t in &tools {
        let (read_only, destructive, _, open_world) = hints(t);
        let is_read = [
            "crm_entities",
            "crm_describe",
            "crm_search",
            "crm_get",
            "crm_related",
            "crm_timeline",
            "crm_history",
        ]
        .contains(&t.name.as_ref());
        assert_eq!(read_only, is_read, "{}: readOnlyHint", t.name);
        assert!(!destructive, "{}: destructiveHint at write tier", t.name);
        assert!(open_world, "{}: the CRM is an open world", t.name);
        // output schemas stay out of tools/list (budget; see tests/snapshots.rs)
        assert!(
            t.output_schema.is_none(),
            "{}: output schema listed",
            t.name
        );
        assert!(t.description.as_deref().is_some_and(|d| !d.is_empty()));
    }
    client.cancel().await.unwrap();

    let (client, _home) = spawn(&["--tier", "destructive"]).await;
    let tools = client.list_all_tools().await.unwrap();
    let delete = tools
        .iter()
        .find(|t| t.name == "crm_delete")
        .expect("crm_delete at destructive tier");
    // idempotentHint is not sent (it is the default false): tools/list's byte budget
    assert_eq!(hints(delete), (false, true, false, true));
    let action = tools.iter().find(|t| t.name == "crm_action").unwrap();
    assert!(
        hints(action).1,
        "crm_action may run destructive actions at this tier"
    );
    client.cancel().await.unwrap();

    let (client, _home) = spawn(&["--tier", "read"]).await;
    let tools = client.list_all_tools().await.unwrap();
    assert!(
        tools.iter().all(|t| hints(t).0),
        "read tier lists only read tools"
    );
    err(
        &client,
        "crm_create",
        json!({"entity": "contacts", "data": {"last_name": "X"}}),
        "NOT_ALLOWED",
    )
    .await;
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn every_tool_works_on_the_demo_crm() {
    let (client, _home) = spawn(&["--tier", "destructive"]).await;
    let entities = ok(&client, "crm_entities", json!({})).await;
    let names: Vec<&str> = entities["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    for expected in ["companies", "contacts", "leads", "deals", "tasks", "notes"] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let deal_schema = ok(&client, "crm_describe", json!({"entity": "Deal"})).await;
    assert_eq!(deal_schema["entity"], "deals", "native name accepted");
    let stage = deal_schema["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "stage")
        .unwrap();
    assert_eq!(stage["type"], "enum");
    assert!(
        stage["options"][0]["label"].is_string(),
        "enum options carry labels"
    );

    let found = ok(
        &client,
        "crm_search",
        json!({"entity": "deals", "where": [{"field": "amount", "op": "gte", "value": 1000}], "sort": "-amount", "limit": 5}),
    )
    .await;
    let records = found["records"].as_array().unwrap();
    assert_eq!(records.len(), 5);
    let amounts: Vec<f64> = records
        .iter()
        .map(|r| r["fields"]["amount"].as_f64().unwrap())
        .collect();
    assert!(
        amounts.windows(2).all(|w| w[0] >= w[1]) && amounts[4] >= 1000.0,
        "{amounts:?}"
    );
    assert_eq!(found["has_more"], true);
    assert!(found["total"].as_u64().unwrap() >= 5);
    let deal_id = records[0]["id"].as_str().unwrap().to_owned();
    assert!(
        records[0]["url"]
            .as_str()
            .is_some_and(|u| u.contains(&deal_id)),
        "deep link"
    );

    let next = ok(&client, "crm_search", json!({"entity": "deals", "where": [{"field": "amount", "op": "gte", "value": 1000}], "sort": "-amount", "limit": 5, "cursor": found["next_cursor"]})).await;
    assert_ne!(
        next["records"][0]["id"], records[0]["id"],
        "second page differs"
    );

    let got = ok(
        &client,
        "crm_get",
        json!({"entity": "deals", "id": deal_id, "fields": ["*"]}),
    )
    .await;
    assert_eq!(got["record"]["id"], deal_id.as_str());
    let many = ok(
        &client,
        "crm_get",
        json!({"entity": "deals", "ids": [deal_id, "no-such-id"]}),
    )
    .await;
    assert_eq!(many["missing"], json!(["no-such-id"]));

    let company_id = got["record"]["fields"]["company_id"]
        .as_str()
        .expect("deal has a company")
        .to_owned();
    let related = ok(
        &client,
        "crm_related",
        json!({"entity": "companies", "id": company_id, "link": "deals"}),
    )
    .await;
    assert!(
        related["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == deal_id.as_str())
    );

    let created = ok(&client, "crm_create", json!({"entity": "contacts", "data": {"first_name": "Ada", "last_name": "Quill", "email": "ada.quill@e2e.example"}})).await;
    let contact_id = created["record"]["id"].as_str().unwrap().to_owned();
    let preview = ok(&client, "crm_update", json!({"entity": "contacts", "id": contact_id, "data": {"job_title": "CTO"}, "preview": true})).await;
    assert_eq!(preview["diff"][0]["after"], "CTO");
    let unchanged = ok(
        &client,
        "crm_get",
        json!({"entity": "contacts", "id": contact_id, "fields": ["job_title"]}),
    )
    .await;
    assert!(
        unchanged["record"]["fields"]["job_title"].is_null(),
        "preview wrote nothing"
    );
    let updated = ok(
        &client,
        "crm_update",
        json!({"entity": "contacts", "id": contact_id, "data": {"job_title": "CTO"}}),
    )
    .await;
    assert_eq!(updated["record"]["fields"]["job_title"], "CTO");

    ok(
        &client,
        "crm_link",
        json!({"entity": "contacts", "id": contact_id, "link": "company", "target_id": company_id}),
    )
    .await;
    let linked = ok(
        &client,
        "crm_related",
        json!({"entity": "companies", "id": company_id, "link": "contacts", "limit": 50}),
    )
    .await;
    assert!(
        linked["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == contact_id.as_str())
    );
    ok(
        &client,
        "crm_unlink",
        json!({"entity": "contacts", "id": contact_id, "link": "company", "target_id": company_id}),
    )
    .await;

    let note = ok(
        &client,
        "crm_note",
        json!({"entity": "contacts", "id": contact_id, "text": "Met at the e2e conference."}),
    )
    .await;
    assert!(note["note"]["id"].is_string());
    let timeline = ok(
        &client,
        "crm_timeline",
        json!({"entity": "contacts", "id": contact_id}),
    )
    .await;
    assert!(
        timeline["items"][0]["text"]
            .as_str()
            .unwrap()
            .contains("e2e conference"),
        "newest first: {timeline}"
    );

    let draft = ok(&client, "crm_draft_email", json!({"to": "ada.quill@e2e.example", "subject": "Hello", "body": "Hi Ada", "entity": "contacts", "id": contact_id})).await;
    assert_eq!(draft["draft"]["fields"]["status"], "draft");

    let moved = ok(&client, "crm_action", json!({"entity": "deals", "id": deal_id, "action": "move_stage", "params": {"stage": "negotiation"}})).await;
    assert_eq!(moved["action"], "move_stage");
    let quote = ok(
        &client,
        "crm_action",
        json!({"entity": "deals", "id": deal_id, "action": "send_quote"}),
    )
    .await;
    let token = quote["confirm_token"]
        .as_str()
        .expect("destructive action previews first")
        .to_owned();
    let sent = ok(
        &client,
        "crm_action",
        json!({"entity": "deals", "id": deal_id, "action": "send_quote", "confirm_token": token}),
    )
    .await;
    assert_eq!(sent["action"], "send_quote");
    assert!(sent.get("confirm_token").is_none());

    // delete: preview, a change voids the token, a fresh token deletes
    let preview = ok(
        &client,
        "crm_delete",
        json!({"entity": "contacts", "id": contact_id}),
    )
    .await;
    assert_eq!(preview["deleted"], false);
    let stale = preview["confirm_token"].as_str().unwrap().to_owned();
    ok(
        &client,
        "crm_update",
        json!({"entity": "contacts", "id": contact_id, "data": {"job_title": "CEO"}}),
    )
    .await;
    err(
        &client,
        "crm_delete",
        json!({"entity": "contacts", "id": contact_id, "confirm_token": stale}),
        "STALE_CONFIRMATION",
    )
    .await;
    ok(
        &client,
        "crm_get",
        json!({"entity": "contacts", "id": contact_id}),
    )
    .await;
    let fresh = ok(
        &client,
        "crm_delete",
        json!({"entity": "contacts", "id": contact_id}),
    )
    .await;
    let deleted = ok(
        &client,
        "crm_delete",
        json!({"entity": "contacts", "id": contact_id, "confirm_token": fresh["confirm_token"]}),
    )
    .await;
    assert_eq!(deleted["deleted"], true);
    err(
        &client,
        "crm_get",
        json!({"entity": "contacts", "id": contact_id}),
        "NOT_FOUND",
    )
    .await;

    // prompts and resources
    let prompts = client.list_all_prompts().await.unwrap();
    assert_eq!(prompts.len(), 6);
    let prompt = client
        .get_prompt(
            GetPromptRequestParams::new("process_inbound_lead")
                .with_arguments(json!({"lead": "Jo from Acme"}).as_object().unwrap().clone()),
        )
        .await
        .unwrap();
    assert!(
        serde_json::to_string(&prompt.messages)
            .unwrap()
            .contains("Jo from Acme")
    );
    let resources = client.list_all_resources().await.unwrap();
    assert!(resources.iter().any(|r| r.uri == "crm://schema/deals"));
    let schema = client
        .read_resource(ReadResourceRequestParams::new("crm://schema/deals"))
        .await
        .unwrap();
    assert!(
        serde_json::to_string(&schema)
            .unwrap()
            .contains("close_date")
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn bad_inputs_get_clear_errors_and_lose_nothing() {
    let (client, _home) = spawn(&[]).await;
    let e = err(
        &client,
        "crm_search",
        json!({"entity": "contcts"}),
        "UNKNOWN_ENTITY",
    )
    .await;
    assert!(
        e["suggestion"].as_str().unwrap().contains("contacts"),
        "{e}"
    );
    let e = err(
        &client,
        "crm_search",
        json!({"entity": "contacts", "where": [{"field": "emial", "op": "eq", "value": "x"}]}),
        "UNKNOWN_FIELD",
    )
    .await;
    assert!(
        e["suggestion"].as_str().unwrap().contains("\"email\""),
        "{e}"
    );
    let e = err(
        &client,
        "crm_search",
        json!({"entity": "contacts", "where": [{"field": "email", "op": "like", "value": "x"}]}),
        "UNSUPPORTED_FILTER",
    )
    .await;
    assert!(
        e["suggestion"].as_str().unwrap().contains("contains"),
        "{e}"
    );
    err(
        &client,
        "crm_search",
        json!({"entity": "contacts", "cursor": "garbage"}),
        "VALIDATION",
    )
    .await;
    err(
        &client,
        "crm_search",
        json!({"entity": "contacts", "limit": "ten"}),
        "VALIDATION",
    )
    .await;
    err(
        &client,
        "crm_search",
        json!({"entity": "contacts", "wher": []}),
        "VALIDATION",
    )
    .await;

    let capped = ok(
        &client,
        "crm_search",
        json!({"entity": "contacts", "limit": 10_000}),
    )
    .await;
    assert_eq!(
        capped["applied"]["limit"],
        json!({"requested": 10000, "applied": 50, "capped": true})
    );
    assert_eq!(capped["records"].as_array().unwrap().len(), 50);

    let before = ok(
        &client,
        "crm_search",
        json!({"entity": "contacts", "limit": 1}),
    )
    .await["total"]
        .clone();
    let e = err(
        &client,
        "crm_create",
        json!({"entity": "contacts", "data": {"first_name": "No", "lifecycle": "whale"}}),
        "VALIDATION",
    )
    .await;
    let problems = e["details"]["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["field"] == "lifecycle" && p["allowed"].is_array()),
        "{e}"
    );
    assert!(
        problems.iter().any(|p| p["field"] == "last_name"),
        "missing required reported: {e}"
    );
    err(
        &client,
        "crm_create",
        json!({"entity": "contacts", "data": {"last_name": "X", "id": "mine"}}),
        "VALIDATION",
    )
    .await;
    err(
        &client,
        "crm_update",
        json!({"entity": "deals", "id": "no-such-id", "data": {"amount": 5}}),
        "NOT_FOUND",
    )
    .await;
    let after = ok(
        &client,
        "crm_search",
        json!({"entity": "contacts", "limit": 1}),
    )
    .await["total"]
        .clone();
    assert_eq!(before, after, "refused writes created nothing");

    // above the tier: not listed, and refused when called anyway
    let e = err(
        &client,
        "crm_delete",
        json!({"entity": "contacts", "id": "x"}),
        "NOT_ALLOWED",
    )
    .await;
    assert!(
        e["suggestion"].as_str().unwrap().contains("destructive"),
        "{e}"
    );
    let e = err(
        &client,
        "crm_action",
        json!({"entity": "deals", "id": "x", "action": "send_quote"}),
        "NOT_ALLOWED",
    )
    .await;
    assert!(
        e["message"].as_str().unwrap().contains("destructive"),
        "{e}"
    );
    err(
        &client,
        "crm_action",
        json!({"entity": "deals", "id": "x", "action": "move_stage", "params": {"stage": "won"}}),
        "VALIDATION",
    )
    .await;

    // an unknown tool is a protocol error, and the server keeps serving
    let unknown = client
        .call_tool(CallToolRequestParams::new("crm_nope"))
        .await;
    assert!(unknown.is_err());
    ok(&client, "crm_entities", json!({})).await;
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn confirm_tokens_are_bound_to_the_record() {
    let (client, _home) = spawn(&["--tier", "destructive"]).await;
    let a = ok(
        &client,
        "crm_create",
        json!({"entity": "companies", "data": {"name": "Token Test A"}}),
    )
    .await["record"]["id"]
        .clone();
    let b = ok(
        &client,
        "crm_create",
        json!({"entity": "companies", "data": {"name": "Token Test B"}}),
    )
    .await["record"]["id"]
        .clone();
    let preview_a = ok(
        &client,
        "crm_delete",
        json!({"entity": "companies", "id": a}),
    )
    .await;
    err(
        &client,
        "crm_delete",
        json!({"entity": "companies", "id": b, "confirm_token": preview_a["confirm_token"]}),
        "STALE_CONFIRMATION",
    )
    .await;
    err(
        &client,
        "crm_delete",
        json!({"entity": "companies", "id": b, "confirm_token": "v1.4102444800.Zm9yZ2Vk"}),
        "STALE_CONFIRMATION",
    )
    .await;
    ok(&client, "crm_get", json!({"entity": "companies", "id": b})).await;
    ok(
        &client,
        "crm_delete",
        json!({"entity": "companies", "id": a, "confirm_token": preview_a["confirm_token"]}),
    )
    .await;
    client.cancel().await.unwrap();
}
