//! End to end with `kind = "atomic"`: the built `crmgate` binary driven by rmcp's client over
//! stdio, against the Atomic CRM sandbox (postgrest transport, signing in with email and
//! password) and against real PostgreSQL (postgres transport, with crm_query) when one is
//! reachable. Every supported tool, the confirm-token flow, and vendor errors with their codes.

use crmgate_atomic::sandbox::{ALICE_PASSWORD, Fault, Sandbox};
use crmgate_atomic::testkit::{PgTestDb, TEST_ISSUER, TEST_JWT_SECRET, TestUser};
use secrecy::ExposeSecret;
use serde_json::json;

mod common;
use common::*;

/// Spawn `crmgate serve` on a config file holding `section`, with `env` set.
async fn spawn(section: &str, env: &[(&str, String)]) -> (Client, tempfile::TempDir) {
    let config = format!("default = \"atomic\"\n\n[crm.atomic]\n{section}");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    serve(Some(&config), &["--tier", "destructive"], &env).await
}

#[tokio::test]
async fn every_tool_over_the_postgrest_transport() {
    let sandbox = Sandbox::start().await.unwrap();
    let section = format!(
        "kind = \"atomic\"\ntransport = \"postgrest\"\nsupabase_url = \"{}\"\nanon_key_env = \"ATOMIC_ANON_KEY\"\n\
         email = \"{}\"\npassword_env = \"ATOMIC_PASSWORD\"\njwt_secret_env = \"ATOMIC_JWT_SECRET\"\n\
         app_url = \"https://crm.example.test\"\n",
        sandbox.url(),
        TestUser::Alice.email()
    );
    let env = [
        (
            "ATOMIC_ANON_KEY",
            sandbox.anon_key().expose_secret().to_owned(),
        ),
        ("ATOMIC_PASSWORD", ALICE_PASSWORD.to_owned()),
        (
            "ATOMIC_JWT_SECRET",
            sandbox.jwt_secret().expose_secret().to_owned(),
        ),
    ];
    let (client, _home) = spawn(&section, &env).await;
    assert_eq!(sandbox.request_count(), 0, "start-up does no I/O");

    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for tool in [
        "crm_search",
        "crm_timeline",
        "crm_link",
        "crm_note",
        "crm_delete",
    ] {
        assert!(names.contains(&tool), "{tool} in {names:?}");
    }
    assert!(
        !names.contains(&"crm_query"),
        "crm_query needs the postgres transport"
    );
    assert!(!names.contains(&"crm_draft_email") && !names.contains(&"crm_action"));

    let entities = ok(&client, "crm_entities", json!({})).await;
    let users = entities["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "users")
        .unwrap()
        .clone();
    assert_eq!(users["native"], "sales");
    assert!(users["notes"][0].as_str().unwrap().contains("read-only"));
    let deals = ok(&client, "crm_describe", json!({"entity": "deals"})).await;
    let stage = deals["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "stage")
        .unwrap()
        .clone();
    assert_eq!(stage["options"][0]["value"], "opportunity");

    let found = ok(
        &client,
        "crm_search",
        json!({"entity": "contacts", "where": [{"field": "company_id", "op": "eq", "value": "3"}], "sort": "last_name", "limit": 2}),
    )
    .await;
    assert_eq!(found["records"].as_array().unwrap().len(), 2);
    assert_eq!(found["has_more"], true);
    assert_eq!(found["records"][0]["fields"]["company_name"], "Initech");
    let next = ok(
        &client,
        "crm_search",
        json!({"entity": "contacts", "where": [{"field": "company_id", "op": "eq", "value": "3"}], "sort": "last_name", "limit": 2, "cursor": found["next_cursor"]}),
    )
    .await;
    assert_ne!(next["records"][0]["id"], found["records"][0]["id"]);
    let got = ok(
        &client,
        "crm_get",
        json!({"entity": "deals", "ids": ["1", "999"]}),
    )
    .await;
    assert_eq!(got["missing"], json!(["999"]));
    assert_eq!(
        got["records"][0]["url"],
        "https://crm.example.test/#/deals/1/show"
    );
    let related = ok(
        &client,
        "crm_related",
        json!({"entity": "deals", "id": "1", "link": "contacts"}),
    )
    .await;
    assert_eq!(related["records"].as_array().unwrap().len(), 2);
    let timeline = ok(
        &client,
        "crm_timeline",
        json!({"entity": "deals", "id": "2"}),
    )
    .await;
    assert!(!timeline["items"].as_array().unwrap().is_empty());

    // writes
    let created = ok(
        &client,
        "crm_create",
        json!({"entity": "deals", "data": {"name": "E2E deal", "stage": "opportunity", "amount": 1200, "company_id": "2"}}),
    )
    .await;
    let id = created["record"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["record"]["fields"]["sales_id"], "1",
        "the trigger set Alice's sales id"
    );
    let preview = ok(
        &client,
        "crm_update",
        json!({"entity": "deals", "id": id, "data": {"stage": "won"}, "preview": true}),
    )
    .await;
    assert_eq!(preview["diff"][0]["before"], "opportunity");
    let updated = ok(
        &client,
        "crm_update",
        json!({"entity": "deals", "id": id, "data": {"stage": "won"}}),
    )
    .await;
    assert_eq!(updated["record"]["fields"]["stage"], "won");
    ok(
        &client,
        "crm_link",
        json!({"entity": "deals", "id": id, "link": "contacts", "target_id": "4"}),
    )
    .await;
    ok(
        &client,
        "crm_unlink",
        json!({"entity": "deals", "id": id, "link": "contacts", "target_id": "4"}),
    )
    .await;
    let note = ok(
        &client,
        "crm_note",
        json!({"entity": "deals", "id": id, "text": "Signed today"}),
    )
    .await;
    assert_eq!(note["note"]["fields"]["deal_id"], id.as_str());

    // delete: preview and token, then the delete
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

    // validation before any request, vendor errors with their codes
    let before = sandbox.request_count();
    let e = err(
        &client,
        "crm_create",
        json!({"entity": "deals", "data": {"name": "X", "stage": "won-deal"}}),
        "VALIDATION",
    )
    .await;
    assert!(e["suggestion"].as_str().unwrap().contains("won"));
    assert_eq!(sandbox.request_count(), before);
    let e = err(
        &client,
        "crm_create",
        json!({"entity": "tasks", "data": {"contact_id": "999", "type": "call"}}),
        "VALIDATION",
    )
    .await;
    assert!(e["message"].as_str().unwrap().contains("contact_id"), "{e}");
    err(
        &client,
        "crm_create",
        json!({"entity": "users", "data": {"first_name": "Eve"}}),
        "NOT_ALLOWED",
    )
    .await;
    sandbox.inject(Fault::status(503, 3).on("/rest/v1/deals"));
    let e = err(
        &client,
        "crm_get",
        json!({"entity": "deals", "id": "1"}),
        "UPSTREAM_UNAVAILABLE",
    )
    .await;
    assert_eq!(e["retryable"], true);
    err(
        &client,
        "crm_query",
        json!({"sql": "select 1"}),
        "NOT_ALLOWED",
    )
    .await;
    // one sign-in served the whole session
    let sign_ins = sandbox
        .requests()
        .iter()
        .filter(|r| r.path == "/auth/v1/token")
        .count();
    assert_eq!(sign_ins, 1);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn crm_query_over_the_postgres_transport() {
    let Some(db) = PgTestDb::create("e2e").await else {
        return;
    };
    let section = format!(
        "kind = \"atomic\"\ntransport = \"postgres\"\ndatabase_url_env = \"ATOMIC_DATABASE_URL\"\n\
         access_token_env = \"ATOMIC_TOKEN\"\njwt_secret_env = \"ATOMIC_JWT_SECRET\"\nissuer = \"{TEST_ISSUER}\"\n\
         statement_timeout_ms = 500\nquery_max_bytes = 4096\nsql_allow_functions = [\"auth.uid\"]\n"
    );
    let env = [
        (
            "ATOMIC_DATABASE_URL",
            db.gateway_url().expose_secret().to_owned(),
        ),
        (
            "ATOMIC_TOKEN",
            TestUser::Bob.token(3600).expose_secret().to_owned(),
        ),
        ("ATOMIC_JWT_SECRET", TEST_JWT_SECRET.to_owned()),
    ];
    let (client, _home) = spawn(&section, &env).await;
    let tools = client.list_all_tools().await.unwrap();
    let query = tools
        .iter()
        .find(|t| t.name == "crm_query")
        .expect("crm_query with the postgres transport");
    assert_eq!(
        query.annotations.as_ref().unwrap().read_only_hint,
        Some(true)
    );
    let r = ok(
        &client,
        "crm_query",
        json!({"sql": "select stage, count(*) as n from deals group by stage order by stage"}),
    )
    .await;
    assert_eq!(r["columns"], json!(["stage", "n"]));
    assert_eq!(r["rows"].as_array().unwrap().len(), 6);
    let me = ok(
        &client,
        "crm_query",
        json!({"sql": "select auth.uid() as me"}),
    )
    .await;
    assert_eq!(me["rows"][0][0], TestUser::Bob.id());
    err(
        &client,
        "crm_query",
        json!({"sql": "select set_config('role', 'postgres', true)"}),
        "NOT_ALLOWED",
    )
    .await;
    err(
        &client,
        "crm_query",
        json!({"sql": "select 1; delete from contacts"}),
        "NOT_ALLOWED",
    )
    .await;
    err(
        &client,
        "crm_query",
        json!({"sql": "select count(*) from generate_series(1, 1000000000)"}),
        "UPSTREAM_TIMEOUT",
    )
    .await;
    // functions off the allow-list, with the way to extend it
    let e = err(
        &client,
        "crm_query",
        json!({"sql": "select pg_sleep(3)"}),
        "NOT_ALLOWED",
    )
    .await;
    assert!(
        e["suggestion"]
            .as_str()
            .unwrap()
            .contains("sql_allow_functions"),
        "{e}"
    );
    // a placeholder is the caller's mistake, not a broken connection
    let e = err(
        &client,
        "crm_query",
        json!({"sql": "select * from contacts where id = $1"}),
        "VALIDATION",
    )
    .await;
    assert!(
        e["message"].as_str().unwrap().contains("placeholder"),
        "{e}"
    );
    // one oversized cell names its column; the row stays
    let big = ok(
        &client,
        "crm_query",
        json!({"sql": "select id, repeat('x', 100000) as huge from contacts where id = 1"}),
    )
    .await;
    assert_eq!(big["truncated"], true);
    assert_eq!(big["rows"][0][0], 1);
    assert_eq!(big["rows"][0][1]["crmgate_omitted"]["column"], "huge");
    // ids as JSON numbers, wherever ids are taken
    let one = ok(&client, "crm_get", json!({"entity": "contacts", "id": 1})).await;
    assert_eq!(one["record"]["id"], "1", "{one}");
    let two = ok(
        &client,
        "crm_get",
        json!({"entity": "contacts", "ids": [1, "2"]}),
    )
    .await;
    assert_eq!(two["records"].as_array().unwrap().len(), 2, "{two}");
    // the account manager can be set, by number
    ok(
        &client,
        "crm_update",
        json!({"entity": "contacts", "id": 1, "data": {"sales_id": 1}}),
    )
    .await;
    let managed = ok(
        &client,
        "crm_get",
        json!({"entity": "contacts", "id": 1, "fields": ["sales_id"]}),
    )
    .await;
    assert_eq!(managed["record"]["fields"]["sales_id"], "1", "{managed}");
    let deal = ok(
        &client,
        "crm_create",
        json!({"entity": "deals", "data": {"name": "By number", "stage": "opportunity", "company_id": 2, "contact_ids": [1, 3], "sales_id": 1}}),
    )
    .await;
    let deal_id: i64 = deal["record"]["id"].as_str().unwrap().parse().unwrap();
    let stored = ok(
        &client,
        "crm_get",
        json!({"entity": "deals", "id": deal_id, "fields": ["contact_ids", "sales_id", "company_id"]}),
    )
    .await;
    assert_eq!(
        stored["record"]["fields"],
        json!({"contact_ids": ["1", "3"], "sales_id": "1", "company_id": "2"}),
        "{stored}"
    );
    let linked = ok(
        &client,
        "crm_related",
        json!({"entity": "deals", "id": deal_id, "link": "contacts"}),
    )
    .await;
    assert_eq!(linked["records"].as_array().unwrap().len(), 2, "{linked}");
    err(
        &client,
        "crm_get",
        json!({"entity": "contacts", "id": 1.5}),
        "VALIDATION",
    )
    .await;
    let capped = ok(
        &client,
        "crm_query",
        json!({"sql": "select g from generate_series(1, 100) g", "limit": 3}),
    )
    .await;
    assert_eq!(capped["truncated"], true);
    let found = ok(
        &client,
        "crm_search",
        json!({"entity": "companies", "query": "acme"}),
    )
    .await;
    assert_eq!(found["records"][0]["fields"]["name"], "Acme Corp");
    let created = ok(
        &client,
        "crm_create",
        json!({"entity": "tags", "data": {"name": "e2e", "color": "#123456"}}),
    )
    .await;
    assert_eq!(created["record"]["title"], "e2e");
    client.cancel().await.unwrap();
}
