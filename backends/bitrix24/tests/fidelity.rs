//! Fidelity to the real portal's reading of what crmgate sends, against the sandbox (which
//! runs filters as the core's `CSQLWhere` and batch references as its
//! `CRestUtil::ParseBatchQuery`): `0` for no company and `is_null` on references, literal text
//! that looks like a batch reference (never batched), `has_more` from the portal's `next`
//! (counting list commands). Stages, missing methods and legacy methods: `portal_rules.rs`.

mod common;

use crmgate_bitrix24::sandbox::{Fault, LoggedRequest, Sandbox};
use crmgate_core::filter::{Condition, Filter, FilterOp, SortKey};
use crmgate_core::gateway::{CreateArgs, Gateway, SearchArgs, SearchOutput, UpdateArgs};
use crmgate_core::model::{FieldSelection, PageRequest, SearchRequest};
use crmgate_core::{Backend, CallContext, ErrorCode};
use serde_json::{Value, json};

fn cx() -> CallContext {
    CallContext::configured()
}

async fn search(gateway: &Gateway, args: Value) -> SearchOutput {
    let args: SearchArgs = serde_json::from_value(args).unwrap();
    gateway.search(&cx(), args).await.unwrap()
}

fn data(v: Value) -> crmgate_core::model::Fields {
    v.as_object().cloned().unwrap()
}

/// A search request straight to the backend (the gateway caps a page at 50 rows).
async fn request(
    backend: &crmgate_bitrix24::Bitrix24Backend,
    entity: &str,
    filter: Filter,
    sort: Vec<SortKey>,
    limit: usize,
    cursor: Option<String>,
) -> SearchRequest {
    let info = backend
        .entities(&cx())
        .await
        .unwrap()
        .get(entity)
        .cloned()
        .unwrap();
    let schema = backend.describe(&cx(), &info).await.unwrap();
    SearchRequest {
        entity: info,
        schema,
        filter,
        sort,
        fields: FieldSelection::All,
        page: PageRequest { limit, cursor },
    }
}

fn condition(field: &str, op: FilterOp, value: Value) -> Filter {
    Filter {
        all: vec![Condition {
            field: field.into(),
            op,
            value,
        }],
        ..Filter::default()
    }
}

/// List commands among logged requests: a call is one, a batch counts its commands.
fn list_commands(log: &[LoggedRequest]) -> usize {
    log.iter()
        .map(|r| match r.method.as_str() {
            "crm.item.list" => 1,
            "batch" => r.commands,
            _ => 0,
        })
        .sum()
}

#[tokio::test]
async fn no_company_is_zero_and_is_null_finds_it() {
    let (sandbox, _backend, gateway) = common::start(common::roomy()).await;
    // the portal stores and returns 0 for "no company"
    let (_, body) = common::post(
        &sandbox,
        "crm.item.get",
        json!({"entityTypeId": 2, "id": 10, "useOriginalUfNames": "Y"}),
    )
    .await;
    assert_eq!(body["result"]["item"]["companyId"], 0, "{body}");
    let (_, lead) = common::post(
        &sandbox,
        "crm.item.get",
        json!({"entityTypeId": 1, "id": 1}),
    )
    .await;
    assert_eq!(lead["result"]["item"]["companyId"], 0);
    assert_eq!(lead["result"]["item"]["contactId"], 0);

    let without = search(
        &gateway,
        json!({"entity": "deals", "where": [{"field": "companyId", "op": "is_null"}], "limit": 100}),
    )
    .await;
    let with = search(
        &gateway,
        json!({"entity": "deals", "where": [{"field": "companyId", "op": "is_not_null"}], "limit": 100}),
    )
    .await;
    let deals = sandbox.state().count(2) as u64;
    assert_eq!(without.total, Some(6), "every tenth deal has no company");
    assert_eq!(with.total, Some(deals - 6));
    assert!(
        without
            .records
            .iter()
            .all(|r| r.fields["companyId"].is_null())
    );
    assert!(
        with.records
            .iter()
            .all(|r| r.fields["companyId"].as_str().is_some())
    );
    let sent = sandbox.state().log().last().unwrap().params.clone();
    assert_eq!(sent["filter"]["!=companyId"], 0, "{sent}");

    // clearing the company stores 0 again
    let cleared = gateway
        .update(
            &cx(),
            UpdateArgs {
                entity: "deals".into(),
                id: "11".into(),
                data: data(json!({"companyId": null})),
                preview: false,
            },
        )
        .await
        .unwrap();
    assert!(
        serde_json::to_value(&cleared)
            .unwrap()
            .to_string()
            .contains("\"companyId\":null")
    );
    let (_, body) = common::post(
        &sandbox,
        "crm.item.get",
        json!({"entityTypeId": 2, "id": 11}),
    )
    .await;
    assert_eq!(body["result"]["item"]["companyId"], 0);
}

#[tokio::test]
async fn the_sandbox_substitutes_batch_references_as_the_portal_does() {
    let sandbox = Sandbox::start(common::roomy()).await.unwrap();
    // a literal text in a batch command is replaced by an earlier result: there is no escape
    let (status, body) = common::post(
        &sandbox,
        "batch",
        json!({"halt": 0, "cmd": {
            "a": "crm.item.get?entityTypeId=1&id=1",
            "b": "crm.item.list?entityTypeId=1&filter[%25title]=$result[a][item][title]&select[]=id",
            "c": "crm.item.list?entityTypeId=1&filter[%25title]=x $RESULT[a][item][id]&select[]=id",
            "d": "crm.item.list?entityTypeId=1&filter[%3Did]=$result[a][item][id]&select[]=id",
        }}),
    )
    .await;
    assert_eq!(status, 200);
    let inner = &body["result"];
    assert_eq!(inner["result_error"], json!([]), "{inner}");
    assert_eq!(sandbox.state().log()[0].commands, 4);
    assert_eq!(
        inner["result"]["b"]["items"][0]["id"], 1,
        "the value became lead 1's title: {inner}"
    );
    // a non-string inside a longer value is left alone; a whole value takes any type
    assert_eq!(inner["result"]["c"]["items"], json!([]));
    assert_eq!(inner["result"]["d"]["items"][0]["id"], 1);
}

#[tokio::test]
async fn text_that_looks_like_a_batch_reference_is_searched_for_as_text() {
    let (sandbox, backend, gateway) = common::start(common::roomy()).await;
    // a lead whose title holds what the portal would read as a reference
    let hostile = "Promo $result[c00][items][0][title] 50% off_";
    let created = gateway
        .create(
            &cx(),
            CreateArgs {
                entity: "leads".into(),
                data: data(json!({"title": hostile})),
                skip_duplicate_check: true,
            },
        )
        .await
        .unwrap();
    let id = serde_json::to_value(&created).unwrap()["record"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    sandbox.state().reset_log();
    // 120 rows would take one batch of three pages: the value must not travel in it
    let req = request(
        &backend,
        "leads",
        condition("title", FilterOp::Contains, json!(hostile)),
        vec![],
        120,
        None,
    )
    .await;
    sandbox.state().reset_log();
    let found = backend.search(&cx(), &req).await.unwrap();
    let ids: Vec<&str> = found.records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        vec![id.as_str()],
        "found by its literal text, nothing else"
    );
    assert!(found.next_cursor.is_none());
    let log = sandbox.state().log();
    assert!(log.iter().all(|r| r.method != "batch"), "{log:?}");
    assert_eq!(log[0].params["filter"]["%title"], hostile);
    assert_eq!(log.len(), 1, "a short first page ends the run");

    // over many pages it still pages by key, one call per page, crmgate resolving the keys
    let req = request(
        &backend,
        "leads",
        condition("title", FilterOp::Ne, json!("$result[c00][items][49][id]")),
        vec![],
        120,
        None,
    )
    .await;
    sandbox.state().reset_log();
    let every = backend.search(&cx(), &req).await.unwrap();
    assert_eq!(every.records.len(), 120);
    assert!(every.next_cursor.is_some());
    let log = sandbox.state().log();
    assert_eq!(
        log.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(),
        ["crm.item.list"; 3]
    );
    assert_eq!(
        log[1].params["filter"]["0"][">id"], 50,
        "resolved by crmgate"
    );
    assert_eq!(log[2].params["filter"]["0"][">id"], 100);
    let ids: Vec<i64> = every
        .records
        .iter()
        .map(|r| r.id.parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]) && ids[0] == 1 && ids[119] == 120);

    // the same search with a plain value is one batch of three commands
    let req = request(
        &backend,
        "leads",
        condition("title", FilterOp::Ne, json!("result[c00]")),
        vec![],
        120,
        None,
    )
    .await;
    sandbox.state().reset_log();
    let plain = backend.search(&cx(), &req).await.unwrap();
    assert_eq!(plain.records.len(), 120);
    let log = sandbox.state().log();
    assert_eq!(
        (log.len(), log[0].method.as_str(), log[0].commands),
        (1, "batch", 3)
    );
}

#[tokio::test]
async fn has_more_comes_from_next_and_a_page_of_fifty_is_one_list_command() {
    let (sandbox, backend, gateway) = common::start(common::roomy()).await;
    gateway.describe(&cx(), "leads").await.unwrap();
    let leads = sandbox.state().count(1);
    assert_eq!(leads, 320);

    sandbox.state().reset_log();
    let first = search(&gateway, json!({"entity": "leads", "limit": 50})).await;
    assert_eq!((first.records.len(), first.total), (50, Some(320)));
    assert!(first.has_more);
    let log = sandbox.state().log();
    assert_eq!(list_commands(&log), 1, "{log:?}");
    assert_eq!(log[0].method, "crm.item.list");

    // page by key to the end: 320 = 6 × 50 + 20; each 50-row page is one command
    let mut cursor = first.next_cursor.clone();
    let mut seen = 50;
    let mut pages = 1;
    sandbox.state().reset_log();
    while let Some(c) = cursor {
        let page = search(
            &gateway,
            json!({"entity": "leads", "limit": 50, "cursor": c}),
        )
        .await;
        seen += page.records.len();
        pages += 1;
        assert_eq!(page.has_more, page.next_cursor.is_some());
        cursor = page.next_cursor;
    }
    assert_eq!((seen, pages), (320, 7));
    assert_eq!(list_commands(&sandbox.state().log()), 6);

    // 70 rows (two pages), then exactly the 250 left: no extra read, and no more
    let req = request(&backend, "leads", Filter::default(), vec![], 70, None).await;
    sandbox.state().reset_log();
    let head = backend.search(&cx(), &req).await.unwrap();
    assert_eq!((head.records.len(), head.total), (70, Some(320)));
    let log = sandbox.state().log();
    assert_eq!((log.len(), list_commands(&log)), (1, 2));
    let rest = SearchRequest {
        page: PageRequest {
            limit: 250,
            cursor: head.next_cursor.clone(),
        },
        ..req.clone()
    };
    sandbox.state().reset_log();
    let tail = backend.search(&cx(), &rest).await.unwrap();
    assert_eq!(tail.records.len(), 250);
    assert!(
        tail.next_cursor.is_none(),
        "the last page's answer has no next"
    );
    assert_eq!(list_commands(&sandbox.state().log()), 5, "5 × 50, not 6");

    // by offset: a limit of 120 is one batch of three pages
    let sort = vec![SortKey {
        field: "opportunity".into(),
        descending: true,
    }];
    let req = request(&backend, "leads", Filter::default(), sort, 120, None).await;
    sandbox.state().reset_log();
    let sorted = backend.search(&cx(), &req).await.unwrap();
    assert_eq!(sorted.records.len(), 120);
    assert!(sorted.next_cursor.is_some());
    let log = sandbox.state().log();
    assert_eq!((log.len(), list_commands(&log)), (1, 3), "{log:?}");
    let rest = SearchRequest {
        page: PageRequest {
            limit: 200,
            cursor: sorted.next_cursor.clone(),
        },
        ..req
    };
    sandbox.state().reset_log();
    let tail = backend.search(&cx(), &rest).await.unwrap();
    assert_eq!(tail.records.len(), 200, "rows 120..320");
    assert!(tail.next_cursor.is_none());
    assert_eq!(list_commands(&sandbox.state().log()), 5, "starts 100 … 300");
}

#[tokio::test]
async fn a_deliberate_reference_still_rides_in_one_batch() {
    let (sandbox, _backend, gateway) = common::start(common::roomy()).await;
    gateway.describe(&cx(), "contacts").await.unwrap();
    sandbox.state().reset_log();
    let args = serde_json::from_value(json!({"entity": "contacts", "id": "3", "link": "company"}))
        .unwrap();
    let company = gateway.related(&cx(), args).await.unwrap();
    assert_eq!(company.records.len(), 1);
    let log = sandbox.state().log();
    assert_eq!(
        (log.len(), log[0].method.as_str(), log[0].commands),
        (1, "batch", 2)
    );
}

#[tokio::test]
async fn writes_sent_one_by_one_keep_what_ran_when_one_fails() {
    use crmgate_bitrix24::Bitrix24Config;
    use crmgate_bitrix24::client::{Access, Client, Command};
    use secrecy::SecretString;
    let sandbox = Sandbox::start(common::roomy()).await.unwrap();
    let config = Bitrix24Config::webhook(
        SecretString::from(sandbox.webhook_url()),
        common::fast_upstream(),
    )
    .unwrap();
    let client = Client::new(config).unwrap();
    let title = |t: &str| json!({"entityTypeId": 1, "id": 2, "fields": {"title": t}});
    let commands = [
        Command::new("a", "crm.item.update", title("Price: $total[a] $RESULT[z]")),
        Command::new("b", "crm.item.get", json!({"entityTypeId": 1, "id": 2})),
        Command::new("c", "crm.item.update", title("never")),
    ];
    sandbox.state().inject(Some("crm.item.get"), Fault::Drop, 1);
    let mut out = client.batch(&cx(), &commands, Access::Write).await.unwrap();
    let updated = out.take("a", "crm.item.update").unwrap();
    assert_eq!(
        updated["item"]["title"], "Price: $total[a] $RESULT[z]",
        "stored as typed"
    );
    assert!(out.take("b", "crm.item.get").is_err());
    let not_sent = out.take("c", "crm.item.update").unwrap_err();
    assert_ne!(not_sent.code, ErrorCode::OutcomeUnknown);
    assert!(
        not_sent.message.contains("was not sent"),
        "{}",
        not_sent.message
    );
    let methods: Vec<String> = sandbox
        .state()
        .log()
        .into_iter()
        .map(|r| r.method)
        .collect();
    assert_eq!(methods, ["crm.item.update", "crm.item.get"]);
}
