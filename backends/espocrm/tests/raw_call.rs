//! crm_call on EspoCRM, through the gateway against the sandbox: every escape of the
//! `METHOD:/Path` grammar sends nothing (proved by the sandbox's request log) at every tier and
//! with every allow-list; the normalised call is what is checked, signed and sent; DELETE and
//! documented destructive endpoints need the destructive tier and a confirm token bound to the
//! call, the params and the record.

mod common;

use common::*;
use crmgate_core::confirm::ConfirmSigner;
use crmgate_core::gateway::{CallArgs, CallOutput, Gateway, GatewaySettings, Tier};
use crmgate_core::raw::RawClass;
use crmgate_core::{CallContext, ErrorCode};
use crmgate_espocrm::Auth;
use crmgate_espocrm::sandbox::{Logged, Sandbox, credentials};
use secrecy::SecretString;
use serde_json::{Value, json};

fn cx() -> CallContext {
    CallContext::configured()
}

/// A gateway at `tier` allowing `allow` (normalised as the config loader does).
fn gateway_at(sandbox: &Sandbox, auth: Auth, tier: Tier, allow: &[&str]) -> Gateway {
    let raw_call_allow = allow
        .iter()
        .map(|p| crmgate_espocrm::raw::allow_pattern(p).unwrap())
        .collect();
    let settings = GatewaySettings {
        tier,
        raw_call_allow,
        ..GatewaySettings::default()
    };
    Gateway::new(
        backend(sandbox, auth),
        settings,
        ConfirmSigner::new(b"raw-call tests"),
    )
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

/// `METHOD path?query` of each request that reached the sandbox.
fn sent(sandbox: &Sandbox) -> Vec<String> {
    sandbox
        .requests()
        .iter()
        .map(|r: &Logged| {
            if r.query.is_empty() {
                format!("{} {}", r.method, r.path)
            } else {
                format!("{} {}?{}", r.method, r.path, r.query)
            }
        })
        .collect()
}

/// Call texts outside the grammar: dot-segments (plain, percent-encoded, double-encoded),
/// encoded slashes, queries, fragments, parameters, whitespace and control characters, Unicode
/// look-alikes in the method and the path, empty segments, wrong or missing methods, absolute
/// URLs, very long paths. Each also in lower case.
fn escapes() -> Vec<String> {
    let base = [
        "GET:/../Admin/jobs",
        "GET:/Account/../Admin",
        "GET:/Account/./x",
        "GET:/./Account",
        "GET:/Account/..",
        "GET:/Account/%2e%2e/Admin",
        "GET:/Account/%2E%2E/Admin",
        "GET:/Account%2F..%2FAdmin",
        "GET:/Account/%252e%252e/Admin",
        "GET:/Account/%2e%2e%2fAdmin",
        "DELETE:/Account/x/..",
        "GET:/Account?select=name",
        "GET:/Account?maxSize=1#x",
        "GET:/Account#/../Admin",
        "GET:/Account;x=1",
        "GET:/Account&x=1",
        "GET:/Account=1",
        "GET:/Account x",
        "GET:/Account\t",
        "GET:/Account\n",
        "GET:/Account\r\nX-Injected: 1",
        "GET:/Account\u{0}",
        "GET:/Account\u{7f}",
        " GET:/Account",
        "GET :/Account",
        "GET: /Account",
        "GET:/Account\u{a0}",
        "GET:/Account\u{200b}",
        "GET:/Аccount",  // Cyrillic А
        "GEТ:/Account",  // Cyrillic Т
        "GET:/Ａccount", // full-width A
        "GET:/Account\\..\\Admin",
        "GET:/Account.json",
        "GET:/Account/",
        "GET://Account",
        "GET:/Account//x",
        "GET:/",
        "GET:",
        "GET",
        "GET /Account",
        "GET:Account",
        "/Account",
        ":/Account",
        "TRACE:/Account",
        "OPTIONS:/Account",
        "HEAD:/Account",
        "CONNECT:/Account",
        "GET:http://evil.example/api/v1/Account",
        "GET://evil.example/Account",
        "GET:/Account:443",
        "GET:/Account@evil.example",
        "DELETE:/Account/6b012d4a37024e63b?x",
        "POST:/MassAction?entityType=Account",
        "",
    ];
    let mut all: Vec<String> = base.iter().map(|s| (*s).to_owned()).collect();
    all.extend(base.iter().map(|s| s.to_lowercase()));
    all.push(format!("GET:/{}", "a".repeat(101)));
    all.push(format!("GET:{}", "/a".repeat(11)));
    all.push(format!("GET:/{}", "a/".repeat(3_000)));
    all
}

#[tokio::test]
async fn escapes_of_the_grammar_send_nothing_at_any_tier_with_any_allow_list() {
    let sandbox = Sandbox::start().await.unwrap();
    let allow_lists: [&[&str]; 5] = [
        &["GET:*"],
        &["GET:/Account"],
        &["GET:/Account*"],
        &["GET:*", "POST:*", "PUT:*", "PATCH:*", "DELETE:*"],
        &["POST:/Lead/action/*", "DELETE:/Account/*"],
    ];
    let mut checked = 0;
    for tier in [Tier::Read, Tier::Write, Tier::Destructive] {
        for allow in allow_lists {
            let gw = gateway_at(&sandbox, api_key(), tier, allow);
            for method in escapes() {
                for params in [json!({"maxSize": 1}), Value::Null] {
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
    assert!(checked > 1500, "{checked}");
    assert_eq!(sandbox.request_count(), 0, "nothing reached EspoCRM");
}

#[tokio::test]
async fn the_normalised_call_is_what_is_checked_signed_and_sent() {
    let sandbox = Sandbox::start().await.unwrap();
    let hmac = Auth::Hmac {
        key: SecretString::from(credentials::HMAC_KEY),
        secret: SecretString::from(credentials::HMAC_SECRET),
    };
    let gw = gateway_at(
        &sandbox,
        hmac,
        Tier::Read,
        &["get:/Account", "GET:/Contact/*"],
    );
    let out = gw
        .raw_call(
            &cx(),
            call(
                "get:/Account",
                json!({"select": "name", "searchParams": {"maxSize": 1, "orderBy": "name"}}),
            ),
        )
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
    assert_eq!((method.as_str(), class), ("GET:/Account", RawClass::Read));
    assert_eq!(result["list"].as_array().unwrap().len(), 1);
    let log = sandbox.requests();
    assert_eq!(log.len(), 1, "{:?}", sent(&sandbox));
    assert_eq!(
        (log[0].method.as_str(), log[0].path.as_str()),
        ("GET", "/api/v1/Account")
    );
    assert_eq!(
        log[0].auth, "hmac",
        "signed over the normalised path and accepted"
    );
    let query: Vec<(String, String)> = form_urlencoded::parse(log[0].query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert!(
        query.contains(&("select".into(), "name".into())),
        "{query:?}"
    );
    assert!(
        query.contains(&(
            "searchParams".into(),
            r#"{"maxSize":1,"orderBy":"name"}"#.into()
        )),
        "objects go as JSON: {query:?}"
    );
    // neighbours of the allowed calls are not allowed, and send nothing
    for other in [
        "GET:/Accounts",
        "GET:/Account/6b012d4a37024e63b",
        "POST:/Account",
        "GET:/Contact",
        "get:/contact/x",
    ] {
        let e = gw
            .raw_call(&cx(), call(other, Value::Null))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::NotAllowed, "{other}");
    }
    // a prefix entry: anything under /Contact/
    gw.raw_call(&cx(), call("GET:/Contact/6b012cf5de3340e2e", Value::Null))
        .await
        .unwrap();
    let sent = sent(&sandbox);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1], "GET /api/v1/Contact/6b012cf5de3340e2e");
}

#[tokio::test]
async fn a_read_runs_at_the_read_tier_and_a_write_needs_the_write_tier() {
    let sandbox = Sandbox::start().await.unwrap();
    let allow = [
        "GET:*",
        "POST:/Account",
        "PATCH:/Account/*",
        "POST:/Lead/action/*",
    ];
    let body = json!({"name": "Raw Account Ltd"});
    let read_tier = gateway_at(&sandbox, api_key(), Tier::Read, &allow);
    for method in [
        "POST:/Account",
        "post:/Account",
        "PATCH:/Account/6b012d4a37024e63b",
    ] {
        let e = read_tier
            .raw_call(&cx(), call(method, body.clone()))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::NotAllowed, "{method}");
        assert!(e.message.contains("write tier"), "{}", e.message);
    }
    // mass actions are destructive whatever the case of their name
    let write_tier = gateway_at(&sandbox, api_key(), Tier::Write, &allow);
    for method in [
        "POST:/Lead/action/massUpdate",
        "post:/Lead/action/MASSDELETE",
        "POST:/Lead/action/merge",
    ] {
        let e = write_tier
            .raw_call(&cx(), call(method, json!({"ids": ["x"]})))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::NotAllowed, "{method}");
        assert!(e.message.contains("destructive tier"), "{}", e.message);
    }
    assert_eq!(sandbox.request_count(), 0, "refused calls send nothing");

    let out = write_tier
        .raw_call(&cx(), call("POST:/Account", body.clone()))
        .await
        .unwrap();
    let CallOutput::Done { class, result, .. } = out else {
        panic!("writes need no token");
    };
    assert_eq!(class, RawClass::Write);
    let id = result["id"].as_str().unwrap().to_owned();
    let log = sandbox.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].method.as_str(), log[0].path.as_str()),
        ("POST", "/api/v1/Account")
    );
    assert_eq!(
        log[0].body.as_ref(),
        Some(&body),
        "params are the JSON body, as given"
    );
    let got = read_tier
        .raw_call(&cx(), call(&format!("GET:/Account/{id}"), Value::Null))
        .await
        .unwrap();
    assert_eq!(got.result().unwrap()["name"], "Raw Account Ltd");
}

#[tokio::test]
async fn a_delete_needs_the_destructive_tier_and_a_token_bound_to_call_params_and_record() {
    let sandbox = Sandbox::start().await.unwrap();
    let id = sandbox.insert("Account", json!({"name": "Doomed Ltd"}));
    let other = sandbox.insert("Account", json!({"name": "Spared Ltd"}));
    let allow = ["GET:*", "DELETE:/Account/*", "PATCH:/Account/*"];
    let delete = format!("DELETE:/Account/{id}");

    let write_tier = gateway_at(&sandbox, api_key(), Tier::Write, &allow);
    let e = write_tier
        .raw_call(&cx(), call(&delete, Value::Null))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotAllowed);
    assert!(e.message.contains("destructive tier"), "{}", e.message);
    assert_eq!(sandbox.request_count(), 0);

    let gw = gateway_at(&sandbox, api_key(), Tier::Destructive, &allow);
    let preview = gw
        .raw_call(&cx(), call(&format!("delete:/Account/{id}"), Value::Null))
        .await
        .unwrap();
    let CallOutput::Preview {
        method,
        class,
        target,
        confirm_token,
        called,
        ..
    } = preview
    else {
        panic!("a delete without a token is a preview");
    };
    assert_eq!(
        (method.as_str(), class, called),
        (delete.as_str(), RawClass::Destructive, false)
    );
    let target = target.expect("the record is read for the preview");
    assert_eq!(target.read, format!("GET:/Account/{id}"));
    assert_eq!(target.record["name"], "Doomed Ltd");
    assert_eq!(
        sent(&sandbox),
        [format!("GET /api/v1/Account/{id}")],
        "the preview only reads"
    );

    // the token is bound: another record, a body, another method → refused, nothing deleted
    for (method, params) in [
        (format!("DELETE:/Account/{other}"), Value::Null),
        (delete.clone(), json!({})),
        (delete.clone(), json!({"id": id})),
        (format!("DELETE:/Account/{id}/contacts"), Value::Null),
    ] {
        let e = gw
            .raw_call(&cx(), confirmed(&method, params.clone(), &confirm_token))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::StaleConfirmation, "{method} {params}");
    }
    assert!(
        sandbox.requests().iter().all(|r| r.method != "DELETE"),
        "no refused confirm sent a DELETE"
    );

    let done = gw
        .raw_call(&cx(), confirmed(&delete, Value::Null, &confirm_token))
        .await
        .unwrap();
    assert!(matches!(
        done,
        CallOutput::Done {
            class: RawClass::Destructive,
            ..
        }
    ));
    let deletes: Vec<String> = sent(&sandbox)
        .into_iter()
        .filter(|r| r.starts_with("DELETE"))
        .collect();
    assert_eq!(deletes, [format!("DELETE /api/v1/Account/{id}")]);
    let stored = sandbox.stored("Account");
    let deleted = |want: &str| stored.iter().find(|r| r["id"] == want).unwrap()["deleted"] == true;
    assert!(deleted(&id) && !deleted(&other));

    // gone: the same token finds nothing to delete and sends no DELETE
    let e = gw
        .raw_call(&cx(), confirmed(&delete, Value::Null, &confirm_token))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    assert_eq!(
        sandbox
            .requests()
            .iter()
            .filter(|r| r.method == "DELETE")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_token_goes_stale_when_the_record_changes() {
    let sandbox = Sandbox::start().await.unwrap();
    let id = sandbox.insert("Account", json!({"name": "Moving Ltd"}));
    let gw = gateway_at(
        &sandbox,
        api_key(),
        Tier::Destructive,
        &["DELETE:/Account/*", "PATCH:/Account/*"],
    );
    let delete = format!("DELETE:/Account/{id}");
    let CallOutput::Preview { confirm_token, .. } = gw
        .raw_call(&cx(), call(&delete, Value::Null))
        .await
        .unwrap()
    else {
        panic!("preview expected");
    };
    gw.raw_call(
        &cx(),
        call(
            &format!("PATCH:/Account/{id}"),
            json!({"name": "Moved Ltd"}),
        ),
    )
    .await
    .unwrap();
    let e = gw
        .raw_call(&cx(), confirmed(&delete, Value::Null, &confirm_token))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::StaleConfirmation);
    assert!(sandbox.requests().iter().all(|r| r.method != "DELETE"));
}

#[tokio::test]
async fn deleting_a_missing_record_is_not_found_at_the_preview() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway_at(&sandbox, api_key(), Tier::Destructive, &["DELETE:*"]);
    let e = gw
        .raw_call(&cx(), call("DELETE:/Account/000000000000nope", Value::Null))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    assert_eq!(sent(&sandbox), ["GET /api/v1/Account/000000000000nope"]);
}

#[tokio::test]
async fn a_mass_delete_is_previewed_then_runs_once_with_its_token() {
    let sandbox = Sandbox::start().await.unwrap();
    let a = sandbox.insert("Account", json!({"name": "Mass A"}));
    let b = sandbox.insert("Account", json!({"name": "Mass B"}));
    let gw = gateway_at(
        &sandbox,
        api_key(),
        Tier::Destructive,
        &["POST:/MassAction"],
    );
    let params = json!({"entityType": "Account", "action": "delete", "params": {"ids": [a, b]}});
    let CallOutput::Preview {
        target,
        confirm_token,
        params: shown,
        ..
    } = gw
        .raw_call(&cx(), call("post:/MassAction", params.clone()))
        .await
        .unwrap()
    else {
        panic!("a mass action is destructive");
    };
    assert!(target.is_none(), "no single record to show");
    assert_eq!(shown, params);
    assert_eq!(sandbox.request_count(), 0, "nothing read, nothing sent");
    // other ids → refused
    let e = gw
        .raw_call(
            &cx(),
            confirmed(
                "POST:/MassAction",
                json!({"entityType": "Account", "action": "delete", "params": {"ids": [a]}}),
                &confirm_token,
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::StaleConfirmation);
    assert_eq!(sandbox.request_count(), 0);
    let done = gw
        .raw_call(
            &cx(),
            confirmed("POST:/MassAction", params.clone(), &confirm_token),
        )
        .await
        .unwrap();
    assert_eq!(done.result().unwrap()["count"], 2);
    let log = sandbox.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].method.as_str(), log[0].path.as_str()),
        ("POST", "/api/v1/MassAction")
    );
    assert_eq!(log[0].body.as_ref(), Some(&params));
    // a spent token runs nothing again
    let replay = gw
        .raw_call(&cx(), confirmed("POST:/MassAction", params, &confirm_token))
        .await
        .unwrap_err();
    assert_eq!(replay.code, ErrorCode::StaleConfirmation);
    assert!(
        replay.message.contains("already used"),
        "{}",
        replay.message
    );
    assert_eq!(sandbox.request_count(), 1);
}

#[tokio::test]
async fn get_params_must_be_an_object_and_nothing_is_sent_otherwise() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway_at(
        &sandbox,
        api_key(),
        Tier::Destructive,
        &["GET:*", "DELETE:*"],
    );
    for params in [json!([1]), json!("maxSize=1"), json!(3)] {
        let e = gw
            .raw_call(&cx(), call("GET:/Account", params))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation);
    }
    assert_eq!(sandbox.request_count(), 0);
}
