//! End to end against the Bitrix24 sandbox: the sandbox runs in this test process, the built
//! `crmgate` binary serves a temp config with `kind = "bitrix24"` (webhook URL from an
//! environment variable), and rmcp's client drives it over stdio: every supported tool, the
//! confirm-token flow, a raw method call, and vendor errors surfacing with their codes.

use crmgate_bitrix24::sandbox::{Fault, Sandbox, SandboxOptions};
use serde_json::json;

mod common;
use common::*;

async fn spawn(sandbox: &Sandbox) -> (Client, tempfile::TempDir) {
    let config = r#"
[crm.portal]
kind = "bitrix24"
webhook_url_env = "CRMGATE_TEST_B24_WEBHOOK"
tier = "destructive"
raw_call_allow = ["crm.status.list", "crm.item.add", "crm.item.delete"]

[crm.portal.rate_limit]
per_second = 200
burst = 50
"#;
    let webhook = sandbox.webhook_url();
    serve(
        Some(config),
        &["--tier", "destructive"],
        &[("CRMGATE_TEST_B24_WEBHOOK", webhook.as_str())],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tool_through_the_mcp_client() {
    let sandbox = Sandbox::start(SandboxOptions {
        bucket_threshold: 10_000.0,
        bucket_drain: 1_000.0,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let (client, _dir) = spawn(&sandbox).await;
    assert_eq!(sandbox.requests(), 0, "start-up does no I/O");

    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for expected in [
        "crm_search",
        "crm_link",
        "crm_note",
        "crm_action",
        "crm_delete",
        "crm_call",
    ] {
        assert!(names.contains(&expected), "{names:?}");
    }
    assert!(!names.contains(&"crm_draft_email") && !names.contains(&"crm_query"));

    let entities = ok(&client, "crm_entities", json!({})).await;
    let list = entities["entities"].as_array().unwrap();
    let leads = list.iter().find(|e| e["name"] == "leads").unwrap();
    assert_eq!(leads["native"], "crm.item:1");
    assert!(leads["notes"].to_string().contains("no REST method"));
    assert!(list.iter().any(|e| e["native"] == "crm.item:128"));

    let schema = ok(&client, "crm_describe", json!({"entity": "crm.item:2"})).await;
    assert!(
        schema["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "UF_CRM_1721812814433")
    );

    let found = ok(&client, "crm_search", json!({
        "entity": "leads",
        "where": [{"field": "opportunity", "op": "gte", "value": 10000}, {"field": "stageId", "op": "in", "value": ["NEW", "IN_PROCESS"]}],
        "sort": "-opportunity", "limit": 5
    })).await;
    assert_eq!(found["records"].as_array().unwrap().len(), 5);
    assert!(found["total"].as_u64().unwrap() > 5 && found["has_more"] == true);
    let first = &found["records"][0];
    assert!(first["fields"]["labels"]["stageId"].is_string());
    let open = ok(&client, "crm_search", json!({"entity": "deals", "where": [{"field": "stageSemanticId", "op": "eq", "value": "P"}], "limit": 50})).await;
    assert!(
        open["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["fields"]["stageId"] != "WON")
    );

    let many = ok(
        &client,
        "crm_get",
        json!({"entity": "leads", "ids": ["1", "2", "999999"]}),
    )
    .await;
    assert_eq!(many["records"].as_array().unwrap().len(), 2);
    assert_eq!(many["missing"], json!(["999999"]));

    let created = ok(&client, "crm_create", json!({"entity": "deals", "data": {"title": "E2E deal", "opportunity": 500, "stageId": "NEW"}})).await;
    let id = created["record"]["id"].as_str().unwrap().to_owned();
    assert!(
        created["record"]["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/crm/deal/details/{id}/"))
    );
    let updated = ok(
        &client,
        "crm_update",
        json!({"entity": "deals", "id": id, "data": {"opportunity": 750}}),
    )
    .await;
    assert_eq!(updated["record"]["fields"]["opportunity"], 750);
    ok(
        &client,
        "crm_link",
        json!({"entity": "deals", "id": id, "link": "contacts", "target_id": "3"}),
    )
    .await;
    let related = ok(
        &client,
        "crm_related",
        json!({"entity": "deals", "id": id, "link": "contacts"}),
    )
    .await;
    assert!(
        related["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == "3")
    );
    let company = ok(
        &client,
        "crm_related",
        json!({"entity": "contacts", "id": "3", "link": "company"}),
    )
    .await;
    assert_eq!(company["records"].as_array().unwrap().len(), 1);
    ok(
        &client,
        "crm_unlink",
        json!({"entity": "deals", "id": id, "link": "contacts", "target_id": "3"}),
    )
    .await;
    let note = ok(
        &client,
        "crm_note",
        json!({"entity": "deals", "id": id, "text": "Spoke to the buyer"}),
    )
    .await;
    assert!(!note["note"]["id"].as_str().unwrap().is_empty());
    let timeline = ok(
        &client,
        "crm_timeline",
        json!({"entity": "deals", "id": id}),
    )
    .await;
    assert_eq!(timeline["items"][0]["text"], "Spoke to the buyer");
    let moved = ok(
        &client,
        "crm_action",
        json!({"entity": "deals", "id": id, "action": "move_stage", "params": {"stage": "C1:WON"}}),
    )
    .await;
    assert_eq!(moved["result"]["semantics"], "success");
    let raw = ok(
        &client,
        "crm_call",
        json!({"method": "crm.status.list", "params": {"filter": {"ENTITY_ID": "DEAL_STAGE"}}}),
    )
    .await;
    assert_eq!(raw["result"]["total"], 7);
    // raw methods: the grammar refuses escapes before anything is sent, the allow-list holds,
    // and a raw delete goes through the same preview + confirm flow as crm_delete
    let before = sandbox.requests();
    for escape in [
        "crm.item.delete?x=.list",
        "crm.item.list/../crm.item.delete",
        "batch",
    ] {
        let code = if escape == "batch" {
            "NOT_ALLOWED"
        } else {
            "VALIDATION"
        };
        err(
            &client,
            "crm_call",
            json!({"method": escape, "params": {}}),
            code,
        )
        .await;
    }
    err(
        &client,
        "crm_call",
        json!({"method": "crm.item.update", "params": {}}),
        "NOT_ALLOWED",
    )
    .await;
    assert_eq!(sandbox.requests(), before, "refused raw calls send nothing");
    let raw_lead = ok(
        &client,
        "crm_call",
        json!({"method": "crm.item.add", "params": {"entityTypeId": 1, "fields": {"title": "Raw"}}}),
    )
    .await;
    let raw_id = raw_lead["result"]["result"]["item"]["id"].as_i64().unwrap();
    let target = json!({"entityTypeId": 1, "id": raw_id});
    let preview = ok(
        &client,
        "crm_call",
        json!({"method": "CRM.ITEM.DELETE", "params": target}),
    )
    .await;
    assert_eq!(preview["method"], "crm.item.delete");
    assert_eq!(preview["called"], false);
    assert_eq!(preview["target"]["record"]["item"]["title"], "Raw");
    let token = preview["confirm_token"].as_str().unwrap().to_owned();
    err(
        &client,
        "crm_call",
        json!({"method": "crm.item.delete", "params": {"entityTypeId": 1, "id": 1}, "confirm_token": token}),
        "STALE_CONFIRMATION",
    )
    .await;
    let done = ok(
        &client,
        "crm_call",
        json!({"method": "crm.item.delete", "params": target, "confirm_token": token}),
    )
    .await;
    assert_eq!(done["class"], "destructive");
    let deletes = sandbox
        .state()
        .log()
        .into_iter()
        .filter(|r| r.method == "crm.item.delete")
        .count();
    assert_eq!(deletes, 1, "one delete, the confirmed one");

    let preview = ok(&client, "crm_delete", json!({"entity": "deals", "id": id})).await;
    let token = preview["confirm_token"].as_str().unwrap().to_owned();
    let done = ok(
        &client,
        "crm_delete",
        json!({"entity": "deals", "id": id, "confirm_token": token}),
    )
    .await;
    assert_eq!(done["deleted"], true);
    err(
        &client,
        "crm_get",
        json!({"entity": "deals", "id": id}),
        "NOT_FOUND",
    )
    .await;

    // vendor errors keep their meaning
    sandbox.state().inject(
        Some("crm.item.update"),
        Fault::error(
            400,
            "ACCESS_DENIED",
            "You do not have permission to update this item",
        ),
        1,
    );
    err(
        &client,
        "crm_update",
        json!({"entity": "leads", "id": "4", "data": {"title": "x"}}),
        "PERMISSION_DENIED",
    )
    .await;
    err(&client, "crm_search", json!({"entity": "leads", "where": [{"field": "stageId", "op": "contains", "value": "NE"}]}), "UNSUPPORTED_FILTER").await;
    // portal fidelity: a stage of another pipeline is refused before sending; no company is 0
    let adds = |sandbox: &Sandbox| {
        sandbox
            .state()
            .log()
            .iter()
            .filter(|r| r.method == "crm.item.add")
            .count()
    };
    let before = adds(&sandbox);
    let wrong = err(
        &client,
        "crm_create",
        json!({"entity": "deals", "data": {"title": "x", "stageId": "C1:WON"}}),
        "VALIDATION",
    )
    .await;
    assert!(
        wrong["suggestion"]
            .as_str()
            .unwrap()
            .contains("PREPARATION"),
        "{wrong}"
    );
    assert_eq!(adds(&sandbox), before, "nothing written");
    let lone = ok(
        &client,
        "crm_search",
        json!({"entity": "deals", "where": [{"field": "companyId", "op": "is_null"}], "limit": 50}),
    )
    .await;
    assert!(lone["total"].as_u64().unwrap() > 0);
    assert!(
        lone["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["fields"].get("companyId").is_none_or(|c| c.is_null()))
    );
    sandbox.state().inject(
        Some("crm.item.get"),
        Fault::error(404, "ERROR_METHOD_NOT_FOUND", "Method not found!"),
        1,
    );
    let missing = err(
        &client,
        "crm_get",
        json!({"entity": "leads", "id": "6"}),
        "NOT_ALLOWED",
    )
    .await;
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .contains("no REST method"),
        "{missing}"
    );
    sandbox.state().inject(
        Some("crm.item.get"),
        Fault::error(429, "OPERATION_TIME_LIMIT", "Method is blocked"),
        5,
    );
    let limited = err(
        &client,
        "crm_get",
        json!({"entity": "leads", "id": "5"}),
        "RATE_LIMITED",
    )
    .await;
    assert!(limited["retry_after_s"].as_u64().is_some());
    let _ = client.cancel().await;
}
