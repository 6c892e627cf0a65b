//! End to end with EspoCRM: the EspoCRM sandbox runs in this test process; the built `crmgate`
//! binary is configured with `kind = "espocrm"` pointing at it (API key from an environment
//! variable, or HMAC) and driven by rmcp's client over stdio: every supported tool, the
//! confirm-token flow, and EspoCRM errors surfacing with the right codes.

use crmgate_espocrm::sandbox::{Sandbox, credentials};
use serde_json::json;

mod common;
use common::*;

/// Spawn `crmgate serve` with a config for the sandbox; `section` holds the auth keys.
async fn spawn(sandbox: &Sandbox, section: &str) -> (Client, tempfile::TempDir) {
    let config = format!(
        "[crm.espo]\nkind = \"espocrm\"\nurl = \"{}\"\n{section}\n",
        sandbox.url()
    );
    let env = [
        ("E2E_ESPO_KEY", credentials::API_KEY),
        ("E2E_ESPO_HMAC_KEY", credentials::HMAC_KEY),
        ("E2E_ESPO_HMAC_SECRET", credentials::HMAC_SECRET),
    ];
    serve(Some(&config), &["--tier", "destructive"], &env).await
}

const ACME: &str = "6b012cf59353c4863";
const PILOT: &str = "6b012cf67f3b7db5c";

#[tokio::test]
async fn every_tool_works_against_the_espocrm_sandbox() {
    let sandbox = Sandbox::start().await.unwrap();
    let (client, _home) = spawn(
        &sandbox,
        "api_key_env = \"E2E_ESPO_KEY\"\nemail_from = \"api-full@crm.example.com\"",
    )
    .await;
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for expected in [
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
        "crm_delete",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(!names.contains(&"crm_query"), "EspoCRM has no SQL");
    assert_eq!(
        sandbox.request_count(),
        0,
        "start-up and tools/list do no I/O"
    );

    let entities = ok(&client, "crm_entities", json!({})).await;
    let list = entities["entities"].as_array().unwrap();
    let names: Vec<&str> = list.iter().map(|e| e["name"].as_str().unwrap()).collect();
    for expected in [
        "companies",
        "contacts",
        "leads",
        "deals",
        "tasks",
        "cases",
        "CProject",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let deals = list.iter().find(|e| e["name"] == "deals").unwrap();
    assert_eq!(deals["native"], "Opportunity");
    assert_eq!(deals["actions"][0]["name"], "move_stage");

    let schema = ok(&client, "crm_describe", json!({"entity": "Opportunity"})).await;
    assert_eq!(schema["entity"], "deals");
    let stage = schema["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "stage")
        .unwrap();
    assert_eq!(stage["type"], "enum");
    assert_eq!(
        stage["options"][0],
        json!({"value": "Prospecting", "label": "Prospecting"})
    );

    let found = ok(&client, "crm_search", json!({"entity": "deals", "where": [{"field": "amount", "op": "gte", "value": 10000}], "sort": "-amount", "limit": 2})).await;
    let records = found["records"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["title"], "Wayne fleet tracking");
    assert_eq!(found["total"], 4);
    assert_eq!(found["has_more"], true);
    assert_eq!(
        records[0]["url"],
        format!("{}/#Opportunity/view/6b012cf6a47cd4d5b", sandbox.url())
    );
    let next = ok(&client, "crm_search", json!({"entity": "deals", "where": [{"field": "amount", "op": "gte", "value": 10000}], "sort": "-amount", "limit": 2, "cursor": found["next_cursor"]})).await;
    assert_eq!(next["records"][0]["title"], "Initech licence deal");
    let text = ok(
        &client,
        "crm_search",
        json!({"entity": "companies", "query": "glo*"}),
    )
    .await;
    assert_eq!(text["records"][0]["title"], "Globex Industries");

    let one = ok(
        &client,
        "crm_get",
        json!({"entity": "companies", "id": ACME, "fields": ["*"]}),
    )
    .await;
    assert_eq!(one["record"]["fields"]["name"], "Acme Corporation");
    let many = ok(
        &client,
        "crm_get",
        json!({"entity": "companies", "ids": [ACME, "0000000000000dead"]}),
    )
    .await;
    assert_eq!(many["missing"], json!(["0000000000000dead"]));
    let related = ok(
        &client,
        "crm_related",
        json!({"entity": "companies", "id": ACME, "link": "contacts", "limit": 50}),
    )
    .await;
    assert_eq!(related["records"].as_array().unwrap().len(), 3);

    let dup = err(
        &client,
        "crm_create",
        json!({"entity": "contacts", "data": {"firstName": "Alice", "lastName": "Anderson"}}),
        "DUPLICATE",
    )
    .await;
    assert_eq!(dup["details"]["matches"][0]["title"], "Alice Anderson");
    let created = ok(&client, "crm_create", json!({"entity": "contacts", "data": {"firstName": "Ada", "lastName": "Quill", "emailAddress": "ada.quill@e2e.example"}})).await;
    let id = created["record"]["id"].as_str().unwrap().to_owned();
    let updated = ok(
        &client,
        "crm_update",
        json!({"entity": "contacts", "id": id, "data": {"title": "CTO"}}),
    )
    .await;
    assert_eq!(updated["record"]["fields"]["title"], "CTO");
    assert_eq!(
        updated["record"]["fields"]["lastName"], "Quill",
        "a patch keeps the rest"
    );

    ok(
        &client,
        "crm_link",
        json!({"entity": "contacts", "id": id, "link": "opportunities", "target_id": PILOT}),
    )
    .await;
    let linked = ok(
        &client,
        "crm_related",
        json!({"entity": "deals", "id": PILOT, "link": "contacts"}),
    )
    .await;
    assert!(
        linked["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == id.as_str())
    );
    ok(
        &client,
        "crm_unlink",
        json!({"entity": "contacts", "id": id, "link": "opportunities", "target_id": PILOT}),
    )
    .await;

    ok(
        &client,
        "crm_note",
        json!({"entity": "contacts", "id": id, "text": "Met at the e2e conference."}),
    )
    .await;
    let timeline = ok(
        &client,
        "crm_timeline",
        json!({"entity": "contacts", "id": id}),
    )
    .await;
    assert_eq!(timeline["items"][0]["text"], "Met at the e2e conference.");

    let draft = ok(&client, "crm_draft_email", json!({"to": "ada.quill@e2e.example", "subject": "Hello", "body": "Hi Ada", "entity": "contacts", "id": id})).await;
    assert_eq!(draft["draft"]["fields"]["status"], "Draft");

    let moved = ok(&client, "crm_action", json!({"entity": "deals", "id": PILOT, "action": "move_stage", "params": {"stage": "Negotiation", "position": "top"}})).await;
    assert_eq!(moved["result"]["record"]["stage"], "Negotiation");

    let forbidden = err(&client, "crm_create", json!({"entity": "tasks", "data": {"name": "For the admin", "assignedUserId": credentials::ADMIN_ID}}), "PERMISSION_DENIED").await;
    assert!(
        forbidden["suggestion"].as_str().unwrap().contains("User"),
        "{forbidden}"
    );

    // delete: preview and token; a change voids the token; a fresh one deletes
    let preview = ok(
        &client,
        "crm_delete",
        json!({"entity": "contacts", "id": id}),
    )
    .await;
    assert_eq!(preview["deleted"], false);
    assert_eq!(preview["delete"], "soft");
    ok(
        &client,
        "crm_update",
        json!({"entity": "contacts", "id": id, "data": {"title": "CEO"}}),
    )
    .await;
    err(
        &client,
        "crm_delete",
        json!({"entity": "contacts", "id": id, "confirm_token": preview["confirm_token"]}),
        "STALE_CONFIRMATION",
    )
    .await;
    let fresh = ok(
        &client,
        "crm_delete",
        json!({"entity": "contacts", "id": id}),
    )
    .await;
    let deleted = ok(
        &client,
        "crm_delete",
        json!({"entity": "contacts", "id": id, "confirm_token": fresh["confirm_token"]}),
    )
    .await;
    assert_eq!(deleted["deleted"], true);
    err(
        &client,
        "crm_get",
        json!({"entity": "contacts", "id": id}),
        "NOT_FOUND",
    )
    .await;
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn hmac_config_signs_every_request_and_vendor_errors_keep_their_codes() {
    let sandbox = Sandbox::start().await.unwrap();
    let (client, _home) = spawn(
        &sandbox,
        "api_key_env = \"E2E_ESPO_HMAC_KEY\"\nhmac_secret_env = \"E2E_ESPO_HMAC_SECRET\"\nraw_call_allow = [\"GET:*\"]",
    )
    .await;
    ok(
        &client,
        "crm_search",
        json!({"entity": "contacts", "limit": 3}),
    )
    .await;
    assert!(sandbox.requests().iter().all(|r| r.auth == "hmac"));
    err(
        &client,
        "crm_get",
        json!({"entity": "contacts", "id": "0000000000000dead"}),
        "NOT_FOUND",
    )
    .await;
    err(
        &client,
        "crm_search",
        json!({"entity": "contacts", "where": [{"field": "lastName", "op": "like", "value": "x"}]}),
        "UNSUPPORTED_FILTER",
    )
    .await;
    let raw = ok(
        &client,
        "crm_call",
        json!({"method": "GET:/Account", "params": {"maxSize": 2, "select": "id,name"}}),
    )
    .await;
    assert_eq!(raw["result"]["list"].as_array().unwrap().len(), 2);
    err(
        &client,
        "crm_call",
        json!({"method": "DELETE:/Account/6b012cf59353c4863"}),
        "NOT_ALLOWED",
    )
    .await;
    // this user has no email address of its own and no email_from: a clear refusal
    let e = err(
        &client,
        "crm_draft_email",
        json!({"to": "a@b.example", "subject": "Hi", "body": "x"}),
        "NOT_ALLOWED",
    )
    .await;
    assert!(e["suggestion"].as_str().unwrap().contains("email_from"));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_wrong_key_surfaces_as_auth_failed() {
    let sandbox = Sandbox::start().await.unwrap();
    let (client, _home) = spawn(&sandbox, "api_key = \"not-the-key\"").await;
    let e = err(&client, "crm_entities", json!({}), "AUTH_FAILED").await;
    assert!(!e.to_string().contains("not-the-key"));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn espocrm_fidelity_reaches_the_agent_through_the_tools() {
    let sandbox = Sandbox::start().await.unwrap();
    let (client, _home) = spawn(&sandbox, "api_key_env = \"E2E_ESPO_KEY\"").await;

    // optimistic concurrency: a change made in EspoCRM after the read is a CONFLICT
    ok(
        &client,
        "crm_get",
        json!({"entity": "deals", "id": PILOT, "fields": ["*"]}),
    )
    .await;
    let changed = reqwest::Client::new()
        .put(format!("{}/api/v1/Opportunity/{PILOT}", sandbox.url()))
        .header("X-Api-Key", credentials::API_KEY)
        .json(&json!({"stage": "Negotiation"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let conflict = err(
        &client,
        "crm_update",
        json!({"entity": "deals", "id": PILOT, "data": {"stage": "Closed Lost"}}),
        "CONFLICT",
    )
    .await;
    assert_eq!(conflict["details"]["current"]["stage"], "Negotiation");

    // a field added in EspoCRM during the session
    sandbox.add_field(
        "Account",
        "cTier",
        json!({"type": "varchar", "maxLength": 10}),
    );
    let updated = ok(
        &client,
        "crm_update",
        json!({"entity": "companies", "id": ACME, "data": {"cTier": "gold"}}),
    )
    .await;
    assert_eq!(updated["record"]["fields"]["cTier"], "gold");

    // phone format, the to-one link, ids EspoCRM cannot have
    let phone = err(
        &client,
        "crm_create",
        json!({"entity": "contacts", "data": {"lastName": "Dial", "phoneNumber": "555-0101"}}),
        "VALIDATION",
    )
    .await;
    assert!(
        phone["suggestion"]
            .as_str()
            .unwrap()
            .contains("country code"),
        "{phone}"
    );
    let link = err(
        &client,
        "crm_link",
        json!({"entity": "contacts", "id": "6b012cf5de3340e2e", "link": "account", "target_id": ACME}),
        "NOT_ALLOWED",
    )
    .await;
    assert_eq!(link["details"]["field"], "accountId");
    let sent = sandbox.request_count();
    let long = "f".repeat(50_000);
    for id in ["../App/user", "a/b", "x?y=1", "ünï", long.as_str()] {
        err(
            &client,
            "crm_get",
            json!({"entity": "companies", "id": id}),
            "VALIDATION",
        )
        .await;
    }
    assert_eq!(sandbox.request_count(), sent, "nothing sent for a bad id");
    client.cancel().await.unwrap();
}
