//! Search: paging to the end, sort order (nulls last, id tie-break), every filter operator
//! against brute-force evaluation, and free text.

use super::*;
use serde_json::json;
use std::collections::BTreeSet;

#[tokio::test]
async fn paging_to_the_end_has_no_duplicates_or_gaps() {
    let b = DemoBackend::new();
    for (limit, keys) in [
        (7, vec![sort("last_name", false)]),
        (
            13,
            vec![sort("company_id", true), sort("first_name", false)],
        ),
        (80, vec![]),
        (1000, vec![sort("email", false)]),
    ] {
        let all = search_all(&b, "contacts", Filter::default(), keys.clone(), limit).await;
        let ids: BTreeSet<&str> = all.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), 80, "limit {limit}");
        // same order as one big page
        let one = search(&b, "contacts", Filter::default(), keys, 500, None)
            .await
            .unwrap();
        assert!(one.next_cursor.is_none());
        let a: Vec<&str> = all.iter().map(|r| r.id.as_str()).collect();
        let o: Vec<&str> = one.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(a, o);
    }
}

#[tokio::test]
async fn sort_puts_nulls_last_both_ways_and_breaks_ties_by_id() {
    let b = DemoBackend::new();
    for descending in [false, true] {
        let all = search_all(
            &b,
            "deals",
            Filter::default(),
            vec![sort("close_date", descending)],
            9,
        )
        .await;
        let dates: Vec<&Value> = all.iter().map(|r| &r.fields["close_date"]).collect();
        let first_null = dates.iter().position(|d| d.is_null()).unwrap();
        assert!(dates[first_null..].iter().all(|d| d.is_null()));
        let present: Vec<&str> = dates[..first_null]
            .iter()
            .filter_map(|d| d.as_str())
            .collect();
        let mut sorted = present.clone();
        sorted.sort();
        if descending {
            sorted.reverse();
        }
        assert_eq!(present, sorted);
    }
    let by_stage = search_all(
        &b,
        "deals",
        Filter::default(),
        vec![sort("stage", false)],
        50,
    )
    .await;
    for pair in by_stage.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.fields["stage"] == b.fields["stage"] {
            assert!(a.id < b.id, "ties broken by id");
        }
    }
}

#[tokio::test]
async fn filters_match_brute_force_evaluation() {
    let b = DemoBackend::new();
    let everything = search_all(&b, "deals", Filter::default(), vec![], 100).await;
    let cases = vec![
        vec![cond("stage", FilterOp::Eq, json!("NEGOTIATION"))],
        vec![cond("stage", FilterOp::Ne, json!("closed_lost"))],
        vec![cond("amount", FilterOp::Gt, json!(100_000))],
        vec![
            cond("amount", FilterOp::Gte, json!(100_000)),
            cond("amount", FilterOp::Lte, json!(200_000)),
        ],
        vec![cond("amount", FilterOp::Lt, json!(20_000))],
        vec![cond(
            "stage",
            FilterOp::In,
            json!(["proposal", "negotiation"]),
        )],
        vec![cond("currency", FilterOp::NotIn, json!(["USD"]))],
        vec![cond("name", FilterOp::Contains, json!("licence"))],
        vec![cond("name", FilterOp::StartsWith, json!("north"))],
        vec![cond("close_date", FilterOp::IsNull, Value::Null)],
        vec![cond("amount", FilterOp::IsNotNull, Value::Null)],
        vec![cond(
            "close_date",
            FilterOp::Between,
            json!(["2026-04-01", "2026-06-30"]),
        )],
    ];
    let shared = everything
        .iter()
        .find_map(|r| {
            r.fields["contact_ids"]
                .as_array()
                .filter(|a| a.len() > 1)
                .map(|a| a[1].clone())
        })
        .unwrap();
    let mut cases = cases;
    cases.push(vec![cond("contact_ids", FilterOp::Eq, shared)]);
    for conditions in cases {
        let filter = Filter {
            all: conditions.clone(),
            ..Default::default()
        };
        let got = search_all(&b, "deals", filter.clone(), vec![], 6).await;
        let want: Vec<&str> = everything
            .iter()
            .filter(|r| filter.matches(&r.fields))
            .map(|r| r.id.as_str())
            .collect();
        let got: Vec<&str> = got.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(got, want, "{conditions:?}");
        assert!(
            !want.is_empty() && want.len() < 40 || conditions[0].op == FilterOp::Ne,
            "{conditions:?} is a meaningful case"
        );
    }
    // any: OR of ANDs
    let filter = Filter {
        all: vec![cond("amount", FilterOp::IsNotNull, Value::Null)],
        any: vec![
            vec![cond("stage", FilterOp::Eq, json!("closed_won"))],
            vec![cond("stage", FilterOp::Eq, json!("closed_lost"))],
        ],
        query: None,
    };
    let got = search_all(&b, "deals", filter, vec![], 5).await;
    assert!(!got.is_empty());
    for r in got {
        assert!(
            r.fields["stage"].as_str().unwrap().starts_with("closed")
                && r.fields["amount"].is_number()
        );
    }
}

#[tokio::test]
async fn free_text_query_is_case_insensitive_across_text_fields() {
    let b = DemoBackend::new();
    let q = |query: &str| Filter {
        query: Some(query.into()),
        ..Default::default()
    };
    let page = search(&b, "Company", q("NORTHWIND"), vec![], 10, None)
        .await
        .unwrap();
    assert_eq!(
        page.records
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        ["co-0001"]
    );
    let page = search(&b, "companies", q("müller"), vec![], 10, None)
        .await
        .unwrap();
    assert_eq!(page.total, Some(1));
    // words may match different fields (city + industry label text is not searched, name is)
    let page = search(&b, "companies", q("logistics rotterdam"), vec![], 10, None)
        .await
        .unwrap();
    assert_eq!(page.records[0].title, "Bluebird Logistics");
    // query combines with where
    let filter = Filter {
        all: vec![cond("status", FilterOp::Eq, json!("converted"))],
        query: Some("example".into()),
        any: vec![],
    };
    let page = search(&b, "leads", filter, vec![], 100, None)
        .await
        .unwrap();
    assert!(
        page.records
            .iter()
            .all(|r| r.fields["status"] == "converted")
    );
    let none = search(&b, "contacts", q("zzzz-no-such-text"), vec![], 10, None)
        .await
        .unwrap();
    assert_eq!(
        (none.records.len(), none.total, none.next_cursor),
        (0, Some(0), None)
    );
}
