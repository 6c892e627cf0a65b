//! Reads: entities and schemas, projection, get, related, and the errors of bad input.

use super::*;
use crmgate_core::model::FieldSelection;
use crmgate_core::model::{DeleteKind, Operation, TotalKind};
use crmgate_core::schema::LinkKind;
use serde_json::json;

#[tokio::test]
async fn entities_have_distinct_native_names_and_full_capabilities() {
    let b = DemoBackend::new();
    let entities = b.entities(&cx()).await.unwrap();
    let names: Vec<&str> = entities.iter().map(|e| e.name.as_str()).collect();
    for want in [
        "companies",
        "contacts",
        "leads",
        "deals",
        "tasks",
        "notes",
        "users",
        "emails",
    ] {
        assert!(names.contains(&want), "{want}");
    }
    for e in entities.iter() {
        assert_ne!(e.name, e.native);
        assert_eq!(e.filter_ops, FilterOp::ALL.to_vec());
        assert_eq!(e.total, TotalKind::Exact);
        assert_eq!(e.delete, DeleteKind::Hard);
        assert!(e.supports(Operation::Search) && e.supports(Operation::Get));
        // both names resolve to the same schema
        let by_native = EntityInfo {
            name: e.native.clone(),
            ..(**e).clone()
        };
        let a = b.describe(&cx(), e).await.unwrap();
        let n = b.describe(&cx(), &by_native).await.unwrap();
        assert_eq!(a, n);
        assert!((4..=6).contains(&a.compact_fields().len()), "{}", e.name);
        assert!(a.field("id").unwrap().is_read_only());
        assert!(a.field("created_at").unwrap().is_read_only());
    }
    let features = b.features();
    assert!(features.write && features.actions && features.draft_email);
    assert!(!features.raw_call && !features.sql);
}

#[tokio::test]
async fn schema_marks_required_enums_references_and_links() {
    let b = DemoBackend::new();
    let deals = b.describe(&cx(), &*info(&b, "Deal").await).await.unwrap();
    assert!(deals.field("name").unwrap().required && deals.field("stage").unwrap().required);
    let stage = deals.field("stage").unwrap();
    assert!(
        stage
            .options
            .iter()
            .any(|o| o.value == "closed_won" && o.label == "Closed won")
    );
    assert_eq!(
        deals.field("company_id").unwrap().link_entity.as_deref(),
        Some("companies")
    );
    assert_eq!(deals.field("name").unwrap().max_length, Some(150));
    assert_eq!(deals.link("contacts").unwrap().kind, LinkKind::Many);
    assert_eq!(deals.link("company").unwrap().kind, LinkKind::One);
    let contacts = b
        .describe(&cx(), &*info(&b, "contacts").await)
        .await
        .unwrap();
    assert!(contacts.field("last_name").unwrap().required);
    assert!(contacts.link("company").unwrap().writable);
    let companies = b
        .describe(&cx(), &*info(&b, "companies").await)
        .await
        .unwrap();
    assert!(companies.field("name").unwrap().required);
    for l in ["contacts", "deals", "notes", "tasks"] {
        assert_eq!(companies.link(l).unwrap().kind, LinkKind::Many, "{l}");
    }
    assert!(!companies.link("emails").unwrap().writable);
}

#[tokio::test]
async fn projection_keeps_id_title_url_and_version() {
    let b = DemoBackend::with_url_base("https://crm.example.test/");
    let entity = info(&b, "companies").await;
    let request = SearchRequest {
        schema: Kind::Companies.schema().clone(),
        entity,
        filter: Filter::default(),
        sort: vec![],
        fields: FieldSelection::Only(vec!["name".into(), "city".into()]),
        page: PageRequest {
            limit: 2,
            cursor: None,
        },
    };
    let page = b.search(&cx(), &request).await.unwrap();
    let r = &page.records[0];
    assert_eq!(r.fields.keys().collect::<Vec<_>>(), ["city", "name"]);
    assert_eq!(r.id, "co-0001");
    assert_eq!(r.title, "Northwind Traders");
    assert_eq!(
        r.url.as_deref(),
        Some("https://crm.example.test/#/Company/co-0001")
    );
    assert!(r.version.is_some());
    assert_eq!(page.next_cursor.as_deref(), Some("2"));
    let bad = SearchRequest {
        fields: FieldSelection::Only(vec!["nmae".into()]),
        ..request
    };
    assert_eq!(code(b.search(&cx(), &bad).await), ErrorCode::UnknownField);
}

#[tokio::test]
async fn bad_cursors_and_bad_filters_are_errors_not_panics() {
    let b = DemoBackend::new();
    let err = search(
        &b,
        "contacts",
        Filter::default(),
        vec![],
        5,
        Some("abc".into()),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert!(err.suggestion.contains("next_cursor"));
    assert_eq!(
        code(
            search(
                &b,
                "contacts",
                Filter::default(),
                vec![],
                5,
                Some("-1".into())
            )
            .await
        ),
        ErrorCode::Validation
    );
    let past = search(
        &b,
        "contacts",
        Filter::default(),
        vec![],
        5,
        Some("9999".into()),
    )
    .await
    .unwrap();
    assert!(past.records.is_empty() && past.next_cursor.is_none());
    let zero = search(&b, "contacts", Filter::default(), vec![], 0, None)
        .await
        .unwrap();
    assert_eq!(zero.records.len(), 1, "a zero limit is treated as one");
    let unknown = Filter {
        all: vec![cond("emial", FilterOp::Eq, json!("x"))],
        ..Default::default()
    };
    let err = search(&b, "contacts", unknown, vec![], 5, None)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::UnknownField);
    assert!(err.suggestion.contains("email"));
    let bad_in = Filter {
        all: vec![cond("email", FilterOp::In, json!("x"))],
        ..Default::default()
    };
    assert_eq!(
        code(search(&b, "contacts", bad_in, vec![], 5, None).await),
        ErrorCode::Validation
    );
    assert_eq!(
        code(
            search(
                &b,
                "contacts",
                Filter::default(),
                vec![sort("nope", false)],
                5,
                None
            )
            .await
        ),
        ErrorCode::UnknownField
    );
    let ghost = EntityInfo {
        name: "invoices".into(),
        native: "Invoice".into(),
        ..(*info(&b, "deals").await).clone()
    };
    let got = b
        .get(&cx(), &ghost, &["x".into()], &FieldSelection::All)
        .await;
    assert_eq!(code(got), ErrorCode::UnknownEntity);
    assert_eq!(
        code(b.describe(&cx(), &ghost).await),
        ErrorCode::UnknownEntity
    );
}

#[tokio::test]
async fn get_skips_missing_ids_and_keeps_order() {
    let b = DemoBackend::new();
    let entity = info(&b, "Person").await;
    let ids: Vec<String> = ["ct-0002", "ct-9999", "ct-0001", "ct-0002", "", "co-0001"]
        .map(String::from)
        .to_vec();
    let got = b
        .get(&cx(), &entity, &ids, &FieldSelection::All)
        .await
        .unwrap();
    assert_eq!(
        got.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["ct-0002", "ct-0001"]
    );
    assert!(got[0].fields.contains_key("email"));
    let none = b
        .get(&cx(), &entity, &[], &FieldSelection::All)
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn related_follows_links_both_ways_with_paging() {
    let b = DemoBackend::new();
    let companies = info(&b, "companies").await;
    let contacts = link("companies", "contacts");
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = b
            .related(
                &cx(),
                &companies,
                "co-0001",
                &contacts,
                &FieldSelection::All,
                &PageRequest { limit: 1, cursor },
            )
            .await
            .unwrap();
        seen.extend(page.records.iter().map(|r| r.id.clone()));
        assert!(page.total.is_some_and(|t| t >= seen.len() as u64));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert!(!seen.is_empty());
    for id in &seen {
        let r = get_one(&b, "contacts", id).await.unwrap();
        assert_eq!(r.fields["company_id"], "co-0001");
        // and back: the contact's company is co-0001
        let back = b
            .related(
                &cx(),
                &*info(&b, "contacts").await,
                id,
                &link("contacts", "company"),
                &FieldSelection::All,
                &PageRequest {
                    limit: 5,
                    cursor: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(back.records[0].id, "co-0001");
    }
    let missing = b
        .related(
            &cx(),
            &companies,
            "co-9999",
            &contacts,
            &FieldSelection::All,
            &PageRequest {
                limit: 5,
                cursor: None,
            },
        )
        .await;
    assert_eq!(code(missing), ErrorCode::NotFound);
    let bogus = LinkSchema {
        name: "contcts".into(),
        ..contacts.clone()
    };
    let err = b
        .related(
            &cx(),
            &companies,
            "co-0001",
            &bogus,
            &FieldSelection::All,
            &PageRequest {
                limit: 5,
                cursor: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    assert!(err.suggestion.contains("contacts"));
    let users = info(&b, "users").await;
    let owned = b
        .related(
            &cx(),
            &users,
            "us-0001",
            &link("users", "deals"),
            &FieldSelection::All,
            &PageRequest {
                limit: 100,
                cursor: None,
            },
        )
        .await
        .unwrap();
    assert!(
        owned
            .records
            .iter()
            .all(|r| r.fields["owner_id"] == "us-0001")
    );
}
