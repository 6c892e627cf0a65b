//! End to end with `kind = "bottlecrm"`: the built `crmgate` binary over stdio, driven by rmcp's
//! client, talking HTTP to the BottleCRM sandbox started in this test process. Tool listing,
//! every supported tool, the confirm-token flow (lead conversion, invoice send, delete), and
//! vendor errors surfacing with the right codes.

use crmgate_bottlecrm::sandbox::{ADMIN_A, REVOKED_A, Sandbox};
use serde_json::json;

mod common;
use common::*;

/// Spawn `crmgate serve` with a config naming the sandbox; the token comes from the env.
async fn spawn(sandbox: &Sandbox, token: &str) -> (Client, tempfile::TempDir) {
    let config = format!(
        "[crm.bottle]\nkind = \"bottlecrm\"\nurl = \"{}\"\ntoken_env = \"E2E_BCRM_TOKEN\"\napp_url = \"https://app.bottlecrm.example\"\n",
        sandbox.url()
    );
    serve(
        Some(&config),
        &["--tier", "destructive"],
        &[("E2E_BCRM_TOKEN", token)],
    )
    .await
}

#[tokio::test]
async fn every_supported_tool_works_against_the_bottlecrm_sandbox() {
    let sandbox = Sandbox::start().await.unwrap();
    let (client, _home) = spawn(&sandbox, ADMIN_A).await;
    assert_eq!(sandbox.requests(), 0, "start-up does no I/O");

    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for name in [
        "crm_entities",
        "crm_describe",
        "crm_search",
        "crm_get",
        "crm_timeline",
        "crm_create",
        "crm_update",
        "crm_note",
        "crm_action",
        "crm_delete",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    for absent in [
        "crm_related",
        "crm_link",
        "crm_unlink",
        "crm_draft_email",
        "crm_query",
        "crm_call",
    ] {
        assert!(
            !names.contains(&absent),
            "{absent} listed though BottleCRM has no such capability"
        );
    }

    let entities = ok(&client, "crm_entities", json!({})).await;
    let list = entities["entities"].as_array().unwrap();
    assert_eq!(list.len(), 8);
    let companies = list.iter().find(|e| e["name"] == "companies").unwrap();
    assert_eq!(companies["native"], "accounts");
    let invoices = list.iter().find(|e| e["name"] == "invoices").unwrap();
    assert!(
        !invoices["operations"]
            .as_array()
            .unwrap()
            .contains(&json!("delete"))
    );

    let described = ok(&client, "crm_describe", json!({"entity": "contacts"})).await;
    assert!(
        described["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "first_name" && f["required"] == true)
    );

    let closed = ok(&client, "crm_search", json!({"entity": "leads", "where": [{"field": "status", "op": "eq", "value": "closed"}], "fields": ["*"]})).await;
    assert_eq!(closed["total"], 1);
    assert_eq!(closed["records"][0]["fields"]["status"], "closed");
    let found = ok(
        &client,
        "crm_search",
        json!({"entity": "accounts", "query": "globex"}),
    )
    .await;
    let globex = found["records"][0]["id"].as_str().unwrap().to_owned();
    let got = ok(
        &client,
        "crm_get",
        json!({"entity": "companies", "id": globex}),
    )
    .await;
    assert_eq!(got["record"]["title"], "Globex Corporation");
    assert!(
        got["record"]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://app.bottlecrm.example/accounts/")
    );

    // create a contact, update it, comment on it, read its timeline, delete it
    let created = ok(&client, "crm_create", json!({"entity": "contacts", "data": {"first_name": "Erin", "last_name": "Example", "email": "erin@example.org", "account": globex}})).await;
    let contact = created["record"]["id"].as_str().unwrap().to_owned();
    let updated = ok(
        &client,
        "crm_update",
        json!({"entity": "contacts", "id": contact, "data": {"title": "Buyer"}}),
    )
    .await;
    assert_eq!(updated["record"]["fields"]["title"], "Buyer");
    let note = ok(
        &client,
        "crm_note",
        json!({"entity": "contacts", "id": contact, "text": "Met at the expo."}),
    )
    .await;
    assert_eq!(note["note"]["fields"]["comment"], "Met at the expo.");
    let timeline = ok(
        &client,
        "crm_timeline",
        json!({"entity": "contacts", "id": contact}),
    )
    .await;
    assert_eq!(timeline["items"][0]["text"], "Met at the expo.");
    let preview = ok(
        &client,
        "crm_delete",
        json!({"entity": "contacts", "id": contact}),
    )
    .await;
    let token = preview["confirm_token"].as_str().unwrap().to_owned();
    let deleted = ok(
        &client,
        "crm_delete",
        json!({"entity": "contacts", "id": contact, "confirm_token": token}),
    )
    .await;
    assert_eq!(deleted["deleted"], true);
    err(
        &client,
        "crm_get",
        json!({"entity": "contacts", "id": contact}),
        "NOT_FOUND",
    )
    .await;

    // a lead created without an id coming back, then converted with confirmation
    let lead = ok(&client, "crm_create", json!({"entity": "leads", "data": {"first_name": "Lena", "last_name": "Lead", "email": "lena@lead.example", "company_name": "Lead Co"}})).await;
    let lead = lead["record"]["id"].as_str().unwrap().to_owned();
    assert!(!lead.is_empty());
    let preview = ok(
        &client,
        "crm_action",
        json!({"entity": "leads", "id": lead, "action": "convert"}),
    )
    .await;
    let token = preview["confirm_token"]
        .as_str()
        .expect("conversion needs a confirm token")
        .to_owned();
    let converted = ok(
        &client,
        "crm_action",
        json!({"entity": "leads", "id": lead, "action": "convert", "confirm_token": token}),
    )
    .await;
    let account = converted["result"]["account_id"].as_str().unwrap();
    let account = ok(
        &client,
        "crm_get",
        json!({"entity": "companies", "id": account}),
    )
    .await;
    assert_eq!(account["record"]["title"], "Lead Co");

    // sending an invoice emails the client: only with a confirm token
    let invoice = ok(
        &client,
        "crm_search",
        json!({"entity": "invoices", "query": "initech"}),
    )
    .await;
    let invoice = invoice["records"][0]["id"].as_str().unwrap().to_owned();
    let preview = ok(
        &client,
        "crm_action",
        json!({"entity": "invoices", "id": invoice, "action": "send"}),
    )
    .await;
    assert!(
        sandbox.emails().iter().all(|e| !e.starts_with("invoice")),
        "nothing sent by a preview"
    );
    let token = preview["confirm_token"].as_str().unwrap().to_owned();
    ok(
        &client,
        "crm_action",
        json!({"entity": "invoices", "id": invoice, "action": "send", "confirm_token": token}),
    )
    .await;
    assert_eq!(
        sandbox
            .emails()
            .iter()
            .filter(|e| e.starts_with("invoice"))
            .count(),
        1
    );

    // vendor errors with the right codes
    err(
        &client,
        "crm_get",
        json!({"entity": "invoices", "id": "00000000-0000-4000-8000-000000000000"}),
        "NOT_FOUND",
    )
    .await;
    err(
        &client,
        "crm_get",
        json!({"entity": "invoices", "id": "not-a-uuid"}),
        "VALIDATION",
    )
    .await;
    err(
        &client,
        "crm_search",
        json!({"entity": "tasks", "where": [{"field": "title", "op": "eq", "value": "x"}]}),
        "UNSUPPORTED_FILTER",
    )
    .await;
    err(
        &client,
        "crm_delete",
        json!({"entity": "invoices", "id": invoice}),
        "NOT_ALLOWED",
    )
    .await;
    let dup = err(
        &client,
        "crm_create",
        json!({"entity": "companies", "data": {"name": "globex corporation"}}),
        "DUPLICATE",
    )
    .await;
    assert_eq!(dup["details"]["matches"][0]["id"], globex);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_revoked_token_is_an_auth_failure() {
    let sandbox = Sandbox::start().await.unwrap();
    let (client, _home) = spawn(&sandbox, REVOKED_A).await;
    let e = err(
        &client,
        "crm_search",
        json!({"entity": "leads"}),
        "AUTH_FAILED",
    )
    .await;
    assert!(e["suggestion"].as_str().unwrap().contains("token_env"));
    assert!(
        !e.to_string().contains(REVOKED_A),
        "the token never reaches a result"
    );
    client.cancel().await.unwrap();
}

/// A CRM over plain HTTP needs no trusted roots: on a machine whose trust store is unreadable
/// (a minimal container, here `SSL_CERT_FILE`/`SSL_CERT_DIR` naming nothing) the calls still
/// work, and no root is loaded for them.
#[tokio::test]
async fn a_plain_http_crm_works_without_a_trust_store() {
    let sandbox = Sandbox::start().await.unwrap();
    let config = format!(
        "[crm.bottle]\nkind = \"bottlecrm\"\nurl = \"{}\"\ntoken_env = \"E2E_BCRM_TOKEN\"\n",
        sandbox.url()
    );
    let nowhere = "/nonexistent/crmgate-no-trust-store";
    let (client, _home) = serve(
        Some(&config),
        &[],
        &[
            ("E2E_BCRM_TOKEN", ADMIN_A),
            ("SSL_CERT_FILE", nowhere),
            ("SSL_CERT_DIR", nowhere),
        ],
    )
    .await;
    let found = ok(
        &client,
        "crm_search",
        json!({"entity": "leads", "limit": 2}),
    )
    .await;
    assert_eq!(
        found["records"].as_array().map(Vec::len),
        Some(2),
        "{found}"
    );
    client.cancel().await.unwrap();
}
