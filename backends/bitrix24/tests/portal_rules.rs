//! The portal's rules, against the sandbox: a deal's stage checked against its pipeline
//! before anything is sent, a missing REST method reported as such, the legacy methods as
//! documented (`select`, `.add` → id) and a wrong webhook's 403 answer.

mod common;

use common::post;
use crmgate_bitrix24::sandbox::{Fault, Sandbox, WEBHOOK_CODE};
use crmgate_core::gateway::{CreateArgs, GetArgs, UpdateArgs};
use crmgate_core::{CallContext, ErrorCode};
use serde_json::{Value, json};

fn cx() -> CallContext {
    CallContext::configured()
}

fn data(v: Value) -> crmgate_core::model::Fields {
    v.as_object().cloned().unwrap()
}

#[tokio::test]
async fn a_deals_stage_must_belong_to_its_pipeline() {
    let (sandbox, _backend, gateway) = common::start(common::roomy()).await;
    gateway.describe(&cx(), "deals").await.unwrap();
    let create = |d: Value| CreateArgs {
        entity: "deals".into(),
        data: data(d),
        skip_duplicate_check: true,
    };
    // a stage of pipeline 1 without categoryId: refused before anything is sent
    sandbox.state().reset_log();
    let e = gateway
        .create(&cx(), create(json!({"title": "x", "stageId": "C1:WON"})))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(
        e.message.contains("\"General\" (categoryId 0)"),
        "{}",
        e.message
    );
    assert!(
        e.suggestion.contains("PREPARATION (Documents)"),
        "{}",
        e.suggestion
    );
    assert!(
        sandbox
            .state()
            .log()
            .iter()
            .all(|r| r.method != "crm.item.add"),
        "nothing written"
    );
    let made = gateway
        .create(
            &cx(),
            create(json!({"title": "partner", "stageId": "C1:WON", "categoryId": "1"})),
        )
        .await
        .unwrap();
    let made = serde_json::to_value(&made).unwrap();
    assert_eq!(made["record"]["fields"]["categoryId"], "1");
    let id = made["record"]["id"].as_str().unwrap().to_owned();

    // an update of the stage alone: checked against the record's pipeline (read first)
    let update = |d: Value| UpdateArgs {
        entity: "deals".into(),
        id: id.clone(),
        data: data(d),
        preview: false,
    };
    sandbox.state().reset_log();
    let e = gateway
        .update(&cx(), update(json!({"stageId": "WON"})))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(
        e.message.contains("\"Partners\" (categoryId 1)") && e.suggestion.contains("C1:NEW"),
        "{e:?}"
    );
    let log = sandbox.state().log();
    assert!(log.iter().all(|r| r.method != "crm.item.update"), "{log:?}");
    let read = log.iter().find(|r| r.method == "crm.item.list").unwrap();
    assert_eq!(read.params["select"], json!(["id", "categoryId"]));
    gateway
        .update(&cx(), update(json!({"stageId": "C1:NEW"})))
        .await
        .unwrap();
    let (_, body) = post(
        &sandbox,
        "crm.item.get",
        json!({"entityTypeId": 2, "id": id.parse::<i64>().unwrap()}),
    )
    .await;
    assert_eq!(body["result"]["item"]["stageId"], "C1:NEW");
    // no record: not found, nothing written
    let e = gateway
        .update(
            &cx(),
            UpdateArgs {
                id: "999999".into(),
                ..update(json!({"stageId": "WON"}))
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
}

#[test]
fn a_smart_process_moved_to_another_pipeline_must_bring_its_stage() {
    use crmgate_bitrix24::map::lookup::{Pipeline, StageRules};
    // the sandbox's smart process has one pipeline: the move needs two
    let pipelines = vec![
        Pipeline {
            id: 3,
            name: "Projects".into(),
            default: true,
            stages: vec![("DT128_3:NEW".into(), "Started".into())],
        },
        Pipeline {
            id: 4,
            name: "Support".into(),
            default: false,
            stages: vec![("DT128_4:NEW".into(), "Opened".into())],
        },
    ];
    let rules = StageRules {
        entity: "crm.item:128",
        pipelines: &pipelines,
    };
    let e = rules
        .check_update(&data(json!({"categoryId": 4})), Some(3))
        .unwrap_err();
    assert!(
        e.suggestion.contains("DT128_4:NEW (Opened)"),
        "{}",
        e.suggestion
    );
    assert!(
        rules
            .check_update(
                &data(json!({"categoryId": 4, "stageId": "DT128_4:NEW"})),
                Some(3)
            )
            .is_ok()
    );
}

#[tokio::test]
async fn a_missing_method_is_reported_as_such_not_as_a_missing_record() {
    let (sandbox, _backend, gateway) = common::start(common::roomy()).await;
    gateway.describe(&cx(), "leads").await.unwrap();
    sandbox.state().inject(
        Some("crm.item.get"),
        Fault::error(404, "ERROR_METHOD_NOT_FOUND", "Method not found!"),
        1,
    );
    let e = gateway
        .get(
            &cx(),
            GetArgs {
                entity: "leads".into(),
                id: Some("1".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_ne!(e.code, ErrorCode::NotFound);
    assert!(
        e.message.contains("no REST method crm.item.get"),
        "{}",
        e.message
    );
    assert!(!e.message.contains("no leads record"), "{}", e.message);
    // the real answer of the sandbox to an unknown method
    let (status, body) = post(&sandbox, "crm.item.nosuch", json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"})
    );
}

#[tokio::test]
async fn legacy_methods_and_a_wrong_webhook_answer_as_documented() {
    let sandbox = Sandbox::start(common::roomy()).await.unwrap();
    // crm.lead.list honours select: named fields (ID always), multifields only when named
    let (_, body) = post(
        &sandbox,
        "crm.lead.list",
        json!({"select": ["TITLE", "PHONE"], "filter": {"=ID": 1}}),
    )
    .await;
    let row = body["result"][0].as_object().unwrap();
    let mut keys: Vec<&str> = row.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["ID", "PHONE", "TITLE"], "{body}");
    assert_eq!(row["ID"], "1", "numbers as strings");
    assert_eq!(row["PHONE"][0]["TYPE_ID"], "PHONE");
    let (_, body) = post(
        &sandbox,
        "crm.lead.list",
        json!({"select": ["*"], "filter": {"=ID": 1}}),
    )
    .await;
    let row = body["result"][0].as_object().unwrap();
    assert!(row.contains_key("STATUS_ID") && row.contains_key("COMPANY_ID"));
    assert!(!row.contains_key("UF_CRM_LEAD_NOTE") && !row.contains_key("PHONE"));
    assert_eq!(row["COMPANY_ID"], "0", "no company");
    let (_, body) = post(
        &sandbox,
        "crm.lead.list",
        json!({"select": ["UF_*"], "start": -1}),
    )
    .await;
    assert!(body["result"][0].get("UF_CRM_LEAD_NOTE").is_some());
    assert!(body["result"][0].get("TITLE").is_none());

    // crm.lead.add answers the new id; update and delete answer true
    let (status, body) = post(
        &sandbox,
        "crm.lead.add",
        json!({"fields": {"TITLE": "Legacy lead", "PHONE": [{"VALUE": "+1 555 0100", "VALUE_TYPE": "WORK"}]},
               "params": {"REGISTER_SONET_EVENT": "N"}}),
    )
    .await;
    assert_eq!(status, 200);
    let id = body["result"].as_i64().expect("an integer id");
    let (_, body) = post(&sandbox, "crm.lead.get", json!({"id": id})).await;
    assert_eq!(body["result"]["TITLE"], "Legacy lead");
    assert_eq!(body["result"]["PHONE"][0]["VALUE"], "+1 555 0100");
    let (_, body) = post(
        &sandbox,
        "crm.lead.update",
        json!({"id": id, "fields": {"TITLE": "Renamed"}}),
    )
    .await;
    assert_eq!(body["result"], true);
    let (_, body) = post(&sandbox, "crm.lead.delete", json!({"id": id})).await;
    assert_eq!(body["result"], true);
    let (status, body) = post(&sandbox, "crm.lead.get", json!({"id": id})).await;
    assert_eq!(status, 400);
    assert_eq!(body, json!({"error": "", "error_description": "Not found"}));

    // a wrong webhook code: 403 with the core's body
    let response = reqwest::Client::new()
        .post(format!(
            "{}/rest/1/wrong{WEBHOOK_CODE}/profile",
            sandbox.url()
        ))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"error": "INVALID_CREDENTIALS", "error_description": "Invalid request credentials"})
    );
}
