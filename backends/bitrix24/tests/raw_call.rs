//! crm_call on Bitrix24, through the gateway against the sandbox: every escape of the method
//! grammar sends nothing (proved by the sandbox's request log) at every tier and with every
//! allow-list; the normalised name is what is checked and sent; deletes need the destructive
//! tier and a confirm token bound to the method, the params and the record.

mod common;

use crmgate_bitrix24::sandbox::{Sandbox, SandboxOptions};
use crmgate_core::confirm::ConfirmSigner;
use crmgate_core::gateway::{CallArgs, CallOutput, Gateway, GatewaySettings, Tier};
use crmgate_core::raw::RawClass;
use crmgate_core::{CallContext, ErrorCode};
use serde_json::{Value, json};

fn cx() -> CallContext {
    CallContext::configured()
}

/// A gateway at `tier` allowing `allow` (normalised as the config loader does).
fn gateway(sandbox: &Sandbox, tier: Tier, allow: &[&str]) -> Gateway {
    let backend = common::backend_for(&sandbox.webhook_url(), common::fast_upstream());
    let raw_call_allow = allow
        .iter()
        .map(|p| crmgate_bitrix24::raw::allow_pattern(p).unwrap())
        .collect();
    let settings = GatewaySettings {
        tier,
        raw_call_allow,
        ..GatewaySettings::default()
    };
    Gateway::new(backend, settings, ConfirmSigner::new(b"raw-call tests"))
}

async fn start() -> Sandbox {
    Sandbox::start(SandboxOptions {
        leads: 5,
        ..common::roomy()
    })
    .await
    .unwrap()
}

fn call(method: &str, params: Value) -> CallArgs {
    CallArgs {
        method: method.into(),
        params,
        confirm_token: None,
    }
}

fn confirmed(method: &str, params: Value, token: &str) -> CallArgs {
    CallArgs {
        confirm_token: Some(token.into()),
        ..call(method, params)
    }
}

/// Methods each logged request ran, in order, with the exact URL target and params.
fn log(sandbox: &Sandbox) -> Vec<(String, String, Value)> {
    sandbox
        .state()
        .log()
        .into_iter()
        .map(|r| (r.method, r.target, r.params))
        .collect()
}

/// Method texts outside the Bitrix24 grammar: smuggled queries, fragments and parameters,
/// path segments and dot-segments (plain, percent-encoded, double-encoded, mixed case),
/// whitespace and control characters, Unicode look-alikes, empty segments, transport
/// suffixes, absolute URLs and very long names. Each also in upper case.
fn escapes() -> Vec<String> {
    let base = [
        "crm.item.delete?x=.list",
        "crm.item.delete?.list",
        "crm.item.list?entityTypeId=1&id=1",
        "crm.item.delete#.list",
        "crm.item.list#",
        "crm.item.delete&x=.list",
        "crm.item.delete;.list",
        "crm.item.delete=.list",
        "crm.item.list/../crm.item.delete",
        "crm.item.list/./../crm.item.delete",
        "./crm.item.delete",
        "../crm.item.delete",
        "crm.item.list/..",
        "crm.item.list\\..\\crm.item.delete",
        "crm.item.list/..%2Fcrm.item.delete",
        "crm.item.list%2F..%2Fcrm.item.delete",
        "crm.item.list%2f%2e%2e%2fcrm.item.delete",
        "crm.item.list/%2e%2e/crm.item.delete",
        "crm.item.list/%252e%252e/crm.item.delete",
        "crm.item.%64elete",
        "crm.item.%2564elete",
        "crm.item.delete%3F.list",
        "crm.item.delete%23.list",
        "crm.item.delete .list",
        "crm.item.delete\t.list",
        "crm.item.delete\n.list",
        "crm.item.delete\r\n",
        "crm.item.delete\u{0}.list",
        "crm.item.delete\u{7f}",
        " crm.item.list",
        "crm.item.list ",
        "crm.item.list\u{a0}",
        "crm.item.list\u{200b}",
        "crm.item.dеlete", // Cyrillic е
        "crm.item.lіst",   // Cyrillic і
        "crm.item.ｌist",  // full-width l
        "crm.item.\u{212a}ist",
        "crm.item.delete.json",
        "crm.item.delete.xml",
        "crm.item.list.",
        ".crm.item.list",
        "crm..item.list",
        "crm.item..delete",
        ".",
        "",
        "crm.item.list:443",
        "crm.item.list@evil.example",
        "https://evil.example/rest/crm.item.delete",
        "//evil.example/crm.item.list",
        "crm-item.list",
        "crm.item.list,crm.item.delete",
    ];
    let mut all: Vec<String> = base.iter().map(|s| (*s).to_owned()).collect();
    all.extend(base.iter().map(|s| s.to_uppercase()));
    all.push(format!("crm.item.list{}", ".x".repeat(60)));
    all.push(format!("crm.item.{}", "l".repeat(5_000)));
    all
}

#[tokio::test]
async fn escapes_of_the_grammar_send_nothing_at_any_tier_with_any_allow_list() {
    let sandbox = start().await;
    let allow_lists: [&[&str]; 4] = [
        &["crm.item.list"],
        &["crm.item.*"],
        &["crm.*"],
        &["crm.item.list", "crm.item.get", "crm.item.delete"],
    ];
    let mut checked = 0;
    for tier in [Tier::Read, Tier::Write, Tier::Destructive] {
        for allow in allow_lists {
            let gw = gateway(&sandbox, tier, allow);
            for method in escapes() {
                for params in [json!({"entityTypeId": 1, "id": 1}), Value::Null] {
                    let e = gw.raw_call(&cx(), call(&method, params)).await.unwrap_err();
                    assert_eq!(e.code, ErrorCode::Validation, "{method:?} at {tier:?}");
                    assert!(
                        e.suggestion.contains("params"),
                        "{method:?}: says where parameters go: {}",
                        e.suggestion
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 1000, "{checked}");
    assert_eq!(sandbox.requests(), 0, "nothing reached the portal");
    // the lead the escapes aimed at is still there
    let gw = gateway(&sandbox, Tier::Read, &["crm.item.get"]);
    let got = gw
        .raw_call(
            &cx(),
            call("crm.item.get", json!({"entityTypeId": 1, "id": 1})),
        )
        .await
        .unwrap();
    assert_eq!(got.result().unwrap()["result"]["item"]["id"], 1);
}

#[tokio::test]
async fn the_normalised_name_is_what_is_checked_and_sent() {
    let sandbox = start().await;
    let gw = gateway(&sandbox, Tier::Read, &["CRM.Item.List", "crm.status.*"]);
    let params = json!({"entityTypeId": 1, "select": ["id"], "order": {"id": "ASC"}});
    let out = gw
        .raw_call(&cx(), call("CRM.ITEM.List", params.clone()))
        .await
        .unwrap();
    let CallOutput::Done {
        method,
        class,
        result,
    } = out
    else {
        panic!("a read runs at once");
    };
    assert_eq!((method.as_str(), class), ("crm.item.list", RawClass::Read));
    assert_eq!(result["total"], 5);
    let sent = log(&sandbox);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "crm.item.list");
    assert_eq!(
        sent[0].1, "crm.item.list",
        "the exact URL target: no query, no suffix"
    );
    assert_eq!(sent[0].2["entityTypeId"], 1);
    assert_eq!(sent[0].2["select"], json!(["id"]));
    // a prefix entry matches normalised names only
    gw.raw_call(
        &cx(),
        call(
            "Crm.Status.List",
            json!({"filter": {"ENTITY_ID": "SOURCE"}}),
        ),
    )
    .await
    .unwrap();
    assert_eq!(log(&sandbox)[1].1, "crm.status.list");
    // names next to the allowed ones are not allowed, and send nothing
    for other in [
        "crm.item.get",
        "crm.item.lists",
        "crm.statuses.list",
        "crm.item.delete",
    ] {
        let e = gw
            .raw_call(&cx(), call(other, json!({})))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::NotAllowed, "{other}");
        assert!(
            e.suggestion.contains("crm.item.list, crm.status.*"),
            "{}",
            e.suggestion
        );
    }
    assert_eq!(sandbox.requests(), 2);
}

#[tokio::test]
async fn a_read_runs_at_the_read_tier_and_a_write_needs_the_write_tier() {
    let sandbox = start().await;
    let allow = ["crm.item.add", "crm.item.get", "crm.item.update"];
    let add = json!({"entityTypeId": 1, "fields": {"title": "Raw lead"}});
    let read_tier = gateway(&sandbox, Tier::Read, &allow);
    for method in ["crm.item.add", "CRM.ITEM.ADD", "crm.item.update"] {
        let e = read_tier
            .raw_call(&cx(), call(method, add.clone()))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::NotAllowed, "{method}");
        assert!(e.message.contains("write tier"), "{}", e.message);
    }
    assert_eq!(sandbox.requests(), 0, "a refused write sends nothing");

    let write_tier = gateway(&sandbox, Tier::Write, &allow);
    let out = write_tier
        .raw_call(&cx(), call("crm.item.add", add))
        .await
        .unwrap();
    let CallOutput::Done { class, result, .. } = out else {
        panic!("writes need no token");
    };
    assert_eq!(class, RawClass::Write);
    let id = result["result"]["item"]["id"].as_i64().unwrap();
    assert_eq!(log(&sandbox).len(), 1);
    assert_eq!(log(&sandbox)[0].1, "crm.item.add");
    let got = read_tier
        .raw_call(
            &cx(),
            call("crm.item.get", json!({"entityTypeId": 1, "id": id})),
        )
        .await
        .unwrap();
    assert_eq!(got.result().unwrap()["result"]["item"]["title"], "Raw lead");
}

#[tokio::test]
async fn a_delete_needs_the_destructive_tier_and_a_token_bound_to_method_params_and_record() {
    let sandbox = start().await;
    let allow = ["crm.item.*", "crm.lead.*"];
    let target = json!({"entityTypeId": 1, "id": 2});

    // the escape from the incident: crm.item.* allowed at write → no delete, nothing sent
    let write_tier = gateway(&sandbox, Tier::Write, &allow);
    for method in ["crm.item.delete", "CRM.Item.Delete"] {
        let e = write_tier
            .raw_call(&cx(), call(method, target.clone()))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::NotAllowed, "{method}");
        assert!(e.message.contains("destructive tier"), "{}", e.message);
    }
    assert_eq!(sandbox.requests(), 0);

    // destructive tier, no token: a preview showing the record, nothing deleted
    let gw = gateway(&sandbox, Tier::Destructive, &allow);
    let preview = gw
        .raw_call(&cx(), call("crm.item.delete", target.clone()))
        .await
        .unwrap();
    let CallOutput::Preview {
        method,
        class,
        params,
        target: read,
        confirm_token,
        called,
        ..
    } = preview
    else {
        panic!("a delete without a token is a preview");
    };
    assert_eq!(
        (method.as_str(), class, called),
        ("crm.item.delete", RawClass::Destructive, false)
    );
    assert_eq!(params, target);
    let read = read.expect("crm.item.get shows the record");
    assert_eq!(read.read, r#"crm.item.get {"entityTypeId":1,"id":2}"#);
    assert_eq!(read.record["item"]["id"], 2);
    let methods: Vec<String> = log(&sandbox).into_iter().map(|r| r.0).collect();
    assert_eq!(methods, ["crm.item.get"], "the preview only reads");

    // the token is bound: other params, another record, another method → refused, no delete
    for (method, params) in [
        ("crm.item.delete", json!({"entityTypeId": 1, "id": 3})),
        ("crm.item.delete", json!({"entityTypeId": 2, "id": 2})),
        ("crm.item.delete", json!({"entityTypeId": 1, "id": "2"})),
        (
            "crm.item.delete",
            json!({"entityTypeId": 1, "id": 2, "extra": true}),
        ),
        ("crm.lead.delete", json!({"entityTypeId": 1, "id": 2})),
    ] {
        let e = gw
            .raw_call(&cx(), confirmed(method, params.clone(), &confirm_token))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::StaleConfirmation, "{method} {params}");
    }
    // a made-up token
    let e = gw
        .raw_call(
            &cx(),
            confirmed("crm.item.delete", target.clone(), "v1.99999999999.AAAA"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::StaleConfirmation);
    assert!(
        log(&sandbox).iter().all(|r| r.0 != "crm.item.delete"),
        "no refused confirm deleted anything"
    );

    // the same params in another key order (and the name in another case) are the same intent
    let done = gw
        .raw_call(
            &cx(),
            confirmed(
                "CRM.ITEM.DELETE",
                json!({"id": 2, "entityTypeId": 1}),
                &confirm_token,
            ),
        )
        .await
        .unwrap();
    assert!(matches!(
        done,
        CallOutput::Done {
            class: RawClass::Destructive,
            ..
        }
    ));
    let deletes: Vec<(String, String, Value)> = log(&sandbox)
        .into_iter()
        .filter(|r| r.0 == "crm.item.delete")
        .collect();
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].1, "crm.item.delete");
    assert_eq!(deletes[0].2, json!({"entityTypeId": 1, "id": 2}));

    // used once: the record is gone, and the token cannot run it again
    let before = log(&sandbox).len();
    let again = gw
        .raw_call(&cx(), confirmed("crm.item.delete", target, &confirm_token))
        .await
        .unwrap_err();
    assert_eq!(again.code, ErrorCode::NotFound);
    assert!(
        log(&sandbox)[before..]
            .iter()
            .all(|r| r.0 != "crm.item.delete")
    );
}

#[tokio::test]
async fn a_token_goes_stale_when_the_record_changes() {
    let sandbox = start().await;
    let gw = gateway(&sandbox, Tier::Destructive, &["crm.item.*"]);
    let target = json!({"entityTypeId": 1, "id": 3});
    let preview = gw
        .raw_call(&cx(), call("crm.item.delete", target.clone()))
        .await
        .unwrap();
    let CallOutput::Preview { confirm_token, .. } = preview else {
        panic!("preview expected");
    };
    gw.raw_call(
        &cx(),
        call(
            "crm.item.update",
            json!({"entityTypeId": 1, "id": 3, "fields": {"title": "Changed"}}),
        ),
    )
    .await
    .unwrap();
    let e = gw
        .raw_call(&cx(), confirmed("crm.item.delete", target, &confirm_token))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::StaleConfirmation);
    assert!(e.message.contains("nothing was changed"), "{}", e.message);
    assert!(log(&sandbox).iter().all(|r| r.0 != "crm.item.delete"));
}

#[tokio::test]
async fn a_destructive_method_without_a_readable_target_is_previewed_and_runs_once() {
    let sandbox = start().await;
    let gw = gateway(&sandbox, Tier::Destructive, &["crm.deal.contact.*"]);
    let params = json!({"id": 1, "fields": {"CONTACT_ID": 1}});
    let preview = gw
        .raw_call(&cx(), call("crm.deal.contact.delete", params.clone()))
        .await
        .unwrap();
    let CallOutput::Preview {
        target,
        confirm_token,
        ..
    } = preview
    else {
        panic!("preview expected");
    };
    assert!(target.is_none());
    assert_eq!(sandbox.requests(), 0, "nothing to read, nothing sent");
    gw.raw_call(
        &cx(),
        confirmed("crm.deal.contact.delete", params.clone(), &confirm_token),
    )
    .await
    .unwrap();
    assert_eq!(log(&sandbox).len(), 1);
    assert_eq!(log(&sandbox)[0].1, "crm.deal.contact.delete");
    let replay = gw
        .raw_call(
            &cx(),
            confirmed("crm.deal.contact.delete", params, &confirm_token),
        )
        .await
        .unwrap_err();
    assert_eq!(replay.code, ErrorCode::StaleConfirmation);
    assert!(
        replay.message.contains("already used"),
        "{}",
        replay.message
    );
    assert_eq!(sandbox.requests(), 1, "a spent token sends nothing");
}

#[tokio::test]
async fn batch_is_refused_whatever_it_embeds() {
    let sandbox = start().await;
    let settings = GatewaySettings {
        tier: Tier::Destructive,
        // hand-made settings the config loader would refuse
        raw_call_allow: vec!["batch".into(), "b*".into(), "crm.*".into()],
        ..GatewaySettings::default()
    };
    let backend = common::backend_for(&sandbox.webhook_url(), common::fast_upstream());
    let gw = Gateway::new(backend, settings, ConfirmSigner::random());
    for method in ["batch", "BATCH", "Batch"] {
        for cmd in [
            json!({"a": "crm.item.delete?entityTypeId=1&id=1"}),
            json!({"a": "crm.item.list", "b": "crm.item.delete?entityTypeId=1&id=$result[a][0][id]"}),
            json!({"a": "batch?cmd[x]=crm.item.delete%3FentityTypeId%3D1%26id%3D1"}),
            json!({"a": "crm.item.list"}),
        ] {
            let e = gw
                .raw_call(&cx(), call(method, json!({"halt": 0, "cmd": cmd})))
                .await
                .unwrap_err();
            assert_eq!(e.code, ErrorCode::NotAllowed, "{method}");
            assert!(e.message.contains("batch"), "{}", e.message);
        }
    }
    assert_eq!(sandbox.requests(), 0);
}

#[tokio::test]
async fn params_cannot_carry_a_credential_or_be_anything_but_an_object() {
    let sandbox = start().await;
    let gw = gateway(&sandbox, Tier::Destructive, &["crm.item.*"]);
    for (method, params) in [
        (
            "crm.item.list",
            json!({"entityTypeId": 1, "auth": "someone-elses-token"}),
        ),
        (
            "crm.item.list",
            json!({"entityTypeId": 1, "ACCESS_TOKEN": "x"}),
        ),
        (
            "crm.item.delete",
            json!({"entityTypeId": 1, "id": 1, "auth": "x"}),
        ),
        ("crm.item.list", json!("entityTypeId=1")),
        ("crm.item.list", json!([1, 2])),
        ("crm.item.delete", json!(7)),
    ] {
        let e = gw
            .raw_call(&cx(), call(method, params.clone()))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation, "{method} {params}");
    }
    assert_eq!(sandbox.requests(), 0);
}

#[tokio::test]
async fn with_nothing_allowed_nothing_runs() {
    let sandbox = start().await;
    let gw = gateway(&sandbox, Tier::Destructive, &[]);
    let e = gw
        .raw_call(&cx(), call("crm.item.list", json!({"entityTypeId": 1})))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotAllowed);
    assert!(
        e.suggestion.contains("allowed here: nothing"),
        "{}",
        e.suggestion
    );
    assert_eq!(sandbox.requests(), 0);
}
