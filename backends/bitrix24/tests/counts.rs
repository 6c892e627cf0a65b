//! Tests that count the HTTP requests reaching the sandbox: batch reads, single-flight
//! metadata, and a burst kept under the portal's leaky bucket by the client-side limiter.

mod common;

use crmgate_bitrix24::sandbox::{Sandbox, SandboxOptions};
use crmgate_core::filter::{Condition, Filter, FilterOp, SortKey};
use crmgate_core::model::{FieldSelection, PageRequest, SearchRequest};
use crmgate_core::upstream::UpstreamConfig;
use crmgate_core::{Backend, CallContext};
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;

async fn request(
    backend: &crmgate_bitrix24::Bitrix24Backend,
    entity: &str,
    filter: Filter,
    sort: Vec<SortKey>,
    limit: usize,
    cursor: Option<String>,
) -> SearchRequest {
    let cx = CallContext::configured();
    let info = backend
        .entities(&cx)
        .await
        .unwrap()
        .get(entity)
        .cloned()
        .unwrap();
    let schema = backend.describe(&cx, &info).await.unwrap();
    SearchRequest {
        entity: info,
        schema,
        filter,
        sort,
        fields: FieldSelection::All,
        page: PageRequest { limit, cursor },
    }
}

#[tokio::test]
async fn reading_2500_leads_takes_one_request() {
    let options = SandboxOptions {
        leads: 2600,
        ..common::roomy()
    };
    let (sandbox, backend, _) = common::start(options).await;
    let cx = CallContext::configured();
    let req = request(&backend, "leads", Filter::default(), vec![], 2500, None).await;
    sandbox.state().reset_log();
    let page = backend.search(&cx, &req).await.unwrap();
    assert_eq!(page.records.len(), 2500);
    assert_eq!(page.total, Some(2600));
    let log = sandbox.state().log();
    assert_eq!(sandbox.requests(), 1, "{log:?}");
    assert_eq!((log[0].method.as_str(), log[0].commands), ("batch", 50));
    let ids: Vec<i64> = page.records.iter().map(|r| r.id.parse().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "keyset pages chain in id order"
    );
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 2500);

    let rest = SearchRequest {
        page: PageRequest {
            limit: 2500,
            cursor: page.next_cursor.clone(),
        },
        ..req
    };
    let tail = backend.search(&cx, &rest).await.unwrap();
    assert_eq!(tail.records.len(), 100);
    assert!(tail.next_cursor.is_none());
    assert_eq!(sandbox.requests(), 2);
    assert!(tail.records[0].id.parse::<i64>().unwrap() > *ids.last().unwrap());
}

#[tokio::test]
async fn a_hundred_concurrent_describes_take_one_request() {
    let (sandbox, _backend, gateway) = common::start(common::roomy()).await;
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let gateway = gateway.clone();
            tokio::spawn(async move {
                let entity = ["leads", "deals", "contacts", "companies"][i % 4];
                gateway.describe(&CallContext::configured(), entity).await
            })
        })
        .collect();
    for task in tasks {
        let schema = task.await.unwrap().unwrap();
        assert!(schema.field("id").is_some());
    }
    assert_eq!(sandbox.requests(), 1, "{:?}", sandbox.state().log());
    let deals = gateway
        .describe(&CallContext::configured(), "crm.item:2")
        .await
        .unwrap();
    let stage = deals.field("stageId").unwrap();
    assert!(
        stage
            .options
            .iter()
            .any(|o| o.value == "C1:WON" && o.label.contains("success"))
    );
    assert_eq!(sandbox.requests(), 1, "served from the cache");
}

#[tokio::test]
async fn a_burst_of_200_calls_never_trips_the_bucket() {
    // a fast-leaking bucket (threshold 20, 100/s) and a client limiter under it
    let options = SandboxOptions {
        bucket_threshold: 20.0,
        bucket_drain: 100.0,
        ..SandboxOptions::default()
    };
    let sandbox = Sandbox::start(options).await.unwrap();
    let upstream = UpstreamConfig {
        rate_per_second: 80,
        burst: 10,
        max_wait: Duration::from_secs(30),
        max_concurrency: 16,
        ..UpstreamConfig::default()
    };
    let backend = common::backend_for(&sandbox.webhook_url(), upstream);
    let cx = CallContext::configured();
    let leads = backend
        .entities(&cx)
        .await
        .unwrap()
        .get("leads")
        .cloned()
        .unwrap();
    let tasks: Vec<_> = (1..=200)
        .map(|i| {
            let (backend, leads) = (backend.clone(), leads.clone());
            tokio::spawn(async move {
                backend
                    .get(
                        &CallContext::configured(),
                        &leads,
                        &[i.to_string()],
                        &FieldSelection::All,
                    )
                    .await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().len(), 1);
    }
    assert_eq!(sandbox.state().rejected(), 0, "the bucket never refused");
    assert_eq!(sandbox.requests(), 201);
}

#[tokio::test]
async fn limits_above_fifty_are_one_batch_and_offsets_follow_sorts() {
    let (sandbox, backend, _) = common::start(common::roomy()).await;
    let cx = CallContext::configured();
    let sort = vec![SortKey {
        field: "opportunity".into(),
        descending: true,
    }];
    let req = request(&backend, "leads", Filter::default(), sort, 120, None).await;
    let before = sandbox.requests();
    let page = backend.search(&cx, &req).await.unwrap();
    assert_eq!(sandbox.requests() - before, 1);
    assert_eq!(page.records.len(), 120);
    let amounts: Vec<f64> = page
        .records
        .iter()
        .map(|r| r.fields["opportunity"].as_f64().unwrap())
        .collect();
    assert!(amounts.windows(2).all(|w| w[0] >= w[1]), "sorted by amount");
    let next = SearchRequest {
        page: PageRequest {
            limit: 120,
            cursor: page.next_cursor.clone(),
        },
        ..req
    };
    let second = backend.search(&cx, &next).await.unwrap();
    let first_ids: HashSet<_> = page.records.iter().map(|r| r.id.clone()).collect();
    assert!(second.records.iter().all(|r| !first_ids.contains(&r.id)));
    assert!(second.records[0].fields["opportunity"].as_f64().unwrap() <= *amounts.last().unwrap());
}

#[tokio::test]
async fn open_deals_resolve_to_stage_ids_and_records_carry_labels() {
    let (sandbox, backend, _) = common::start(common::roomy()).await;
    let cx = CallContext::configured();
    let open = Filter {
        all: vec![Condition {
            field: "stageSemanticId".into(),
            op: FilterOp::Eq,
            value: json!("open"),
        }],
        ..Filter::default()
    };
    let req = request(&backend, "deals", open, vec![], 50, None).await;
    let page = backend.search(&cx, &req).await.unwrap();
    assert!(!page.records.is_empty());
    for r in &page.records {
        assert_eq!(r.fields["stageSemanticId"], "P", "{}", r.id);
        assert_eq!(r.fields["closed"], false);
        let labels = &r.fields["labels"];
        assert!(
            labels["assignedById"]
                .as_str()
                .is_some_and(|n| n.contains(' ')),
            "{labels}"
        );
        assert!(labels["stageId"].is_string() && labels["categoryId"].is_string());
        assert!(
            r.url
                .as_deref()
                .unwrap()
                .ends_with(&format!("/crm/deal/details/{}/", r.id))
        );
    }
    let expected = sandbox.state().count(2);
    assert!(
        page.total.unwrap() < expected as u64,
        "won and lost deals are left out"
    );
    // both pipelines' open stages are in the filter
    assert!(page.records.iter().any(|r| r.fields["categoryId"] == "1"));
}

#[tokio::test]
async fn get_many_is_one_request() {
    let (sandbox, backend, _) = common::start(common::roomy()).await;
    let cx = CallContext::configured();
    let leads = backend
        .entities(&cx)
        .await
        .unwrap()
        .get("leads")
        .cloned()
        .unwrap();
    let ids: Vec<String> = (1..=100)
        .map(|i| i.to_string())
        .chain(["999999".into(), "abc".into()])
        .collect();
    let before = sandbox.requests();
    let records = backend
        .get(&cx, &leads, &ids, &FieldSelection::All)
        .await
        .unwrap();
    assert_eq!(records.len(), 100);
    assert_eq!(sandbox.requests() - before, 1);
}
