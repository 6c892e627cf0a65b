//! Scenarios both transports must pass, on the same seed (`tests/sql/seed.sql` in PostgreSQL,
//! the sandbox's copy of it): each takes gateways acting as the seeded users.

#![allow(dead_code)]

use crmgate_core::gateway::*;
use crmgate_core::{CallContext, ErrorCode};
use serde_json::{Value, json};

pub fn cx() -> CallContext {
    CallContext::configured()
}

pub fn data(v: Value) -> crmgate_core::model::Fields {
    v.as_object().unwrap().clone()
}

pub async fn create(
    g: &Gateway,
    entity: &str,
    v: Value,
) -> crmgate_core::Result<crmgate_core::model::Record> {
    g.create(
        &cx(),
        CreateArgs {
            entity: entity.into(),
            data: data(v),
            skip_duplicate_check: false,
        },
    )
    .await
    .map(|o| o.into_record().expect("Atomic reports created ids"))
}

pub async fn search(
    g: &Gateway,
    entity: &str,
    field: &str,
    op: &str,
    value: Value,
) -> Vec<crmgate_core::model::Record> {
    g.search(
        &cx(),
        SearchArgs {
            entity: entity.into(),
            conditions: vec![ConditionArg {
                field: field.into(),
                op: op.into(),
                value,
            }],
            fields: Some(vec!["*".into()]),
            limit: Some(50),
            ..Default::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{entity} {field} {op}: {e}"))
    .records
}

pub async fn related(g: &Gateway, entity: &str, id: &str, link: &str) -> Vec<String> {
    g.related(
        &cx(),
        RelatedArgs {
            entity: entity.into(),
            id: id.into(),
            link: link.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("related {entity} {id} {link}: {e}"))
    .records
    .into_iter()
    .map(|r| r.id)
    .collect()
}

pub fn link_args(entity: &str, id: &str, link: &str, target: &str) -> LinkArgs {
    LinkArgs {
        entity: entity.into(),
        id: id.into(),
        link: link.into(),
        target_id: target.into(),
    }
}

/// The account manager (`sales_id`) is the caller's by default and can be set to any user on
/// create and update, as Atomic CRM's forms do (no policy checks it); ids may be JSON numbers.
pub async fn account_managers(bob: &Gateway) {
    let company = create(bob, "companies", json!({"name": "Managed", "sales_id": 1}))
        .await
        .unwrap();
    assert_eq!(
        company.fields["sales_id"], "1",
        "the trigger keeps a given value"
    );
    let deal = create(
        bob,
        "deals",
        json!({"name": "Managed deal", "stage": "opportunity", "company_id": company.id.parse::<i64>().unwrap(), "contact_ids": [1, "2"], "sales_id": "1"}),
    )
    .await
    .unwrap();
    assert_eq!(deal.fields["sales_id"], "1");
    assert_eq!(deal.fields["company_id"], company.id.as_str());
    assert_eq!(deal.fields["contact_ids"], json!(["1", "2"]));
    let task = create(
        bob,
        "tasks",
        json!({"contact_id": 1, "text": "Hand over", "sales_id": 1}),
    )
    .await
    .unwrap();
    assert_eq!(task.fields["sales_id"], "1");
    for (entity, id) in [
        ("contacts", "3"),
        ("tasks", task.id.as_str()),
        ("deals", deal.id.as_str()),
    ] {
        for manager in [json!(1), json!("2")] {
            let updated = bob
                .update(
                    &cx(),
                    UpdateArgs {
                        entity: entity.into(),
                        id: id.into(),
                        data: data(json!({"sales_id": manager})),
                        preview: false,
                    },
                )
                .await
                .unwrap_or_else(|e| panic!("{entity} {id}: {e}"));
            let UpdateOutput::Updated { record } = updated else {
                panic!("not a preview");
            };
            assert_eq!(
                record.fields["sales_id"],
                manager.to_string().trim_matches('"'),
                "{entity}"
            );
        }
    }
    // a user that does not exist, with a foreign key (companies) and without one (tasks)
    for (entity, v) in [
        ("companies", json!({"name": "Nobody's", "sales_id": 999})),
        (
            "tasks",
            json!({"contact_id": "1", "text": "x", "sales_id": "999"}),
        ),
    ] {
        let e = create(bob, entity, v).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation, "{entity}: {e}");
        assert!(e.message.contains("sales_id"), "{entity}: {e}");
        assert!(e.message.contains("999"), "{entity}: {e}");
    }
    let e = create(bob, "tasks", json!({"contact_id": "1", "sales_id": 1.5}))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation, "{e}");
}

/// Triggers fill sales_id for the caller, a bearer identity wins over the configured one,
/// users are read-only, values the database does not check are checked.
pub async fn triggers_and_identities(alice: &Gateway, bob: CallContext) {
    // sales_id comes from the trigger, for the caller
    let company = create(alice, "companies", json!({"name": "Alice Inc", "size": 10}))
        .await
        .unwrap();
    assert_eq!(company.fields["sales_id"], "1");
    assert_eq!(
        company.fields["nb_contacts"], 0,
        "read back through companies_summary"
    );
    // hosted mode: the bearer's identity, never the configured one
    let made = alice
        .create(
            &bob,
            CreateArgs {
                entity: "tasks".into(),
                data: data(json!({"contact_id": "1", "type": "call", "text": "Call back"})),
                skip_duplicate_check: false,
            },
        )
        .await
        .unwrap()
        .into_record()
        .unwrap();
    assert_eq!(made.fields["sales_id"], "2");
    // users are read-only
    let e = create(alice, "users", json!({"first_name": "Eve"}))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotAllowed);
    // size bands are checked, references must exist
    let e = create(alice, "companies", json!({"name": "Odd", "size": 42}))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    let e = create(
        alice,
        "contacts",
        json!({"first_name": "Lost", "company_id": "999"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(e.message.contains("company_id"), "{e}");
    let e = create(
        alice,
        "deals",
        json!({"name": "D", "stage": "won", "contact_ids": ["1", "999"]}),
    )
    .await
    .unwrap_err();
    assert!(
        e.message.contains("contact_ids") && e.message.contains("999"),
        "{e}"
    );
    // emails are lower-cased by the database trigger
    let c = create(
        alice,
        "contacts",
        json!({"first_name": "Up", "email_jsonb": [{"email": "UP@Example.COM", "type": "Work"}]}),
    )
    .await
    .unwrap();
    assert_eq!(c.fields["email_jsonb"][0]["email"], "up@example.com");
    assert_eq!(c.fields["email_fts"], "[\"up@example.com\"]");
}

/// Links change one id at a time; related reads both directions.
pub async fn links(g: &Gateway) {
    // deal 1 has contacts 2 and 9
    assert_eq!(related(g, "deals", "1", "contacts").await, ["2", "9"]);
    g.link(&cx(), link_args("deals", "1", "contacts", "5"))
        .await
        .unwrap();
    g.link(&cx(), link_args("deals", "1", "contacts", "5"))
        .await
        .unwrap(); // already linked: fine
    assert_eq!(related(g, "deals", "1", "contacts").await, ["2", "5", "9"]);
    assert!(
        related(g, "contacts", "5", "deals")
            .await
            .contains(&"1".to_owned())
    );
    g.unlink(&cx(), link_args("deals", "1", "contacts", "2"))
        .await
        .unwrap();
    assert_eq!(related(g, "deals", "1", "contacts").await, ["5", "9"]);
    let e = g
        .unlink(&cx(), link_args("deals", "1", "contacts", "2"))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    let e = g
        .link(&cx(), link_args("deals", "1", "contacts", "999"))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    let e = g
        .link(&cx(), link_args("deals", "999", "contacts", "1"))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    // tags on contacts
    g.link(&cx(), link_args("contacts", "1", "tags", "6"))
        .await
        .unwrap();
    assert_eq!(related(g, "contacts", "1", "tags").await, ["6"]);
    assert!(
        related(g, "tags", "6", "contacts")
            .await
            .contains(&"1".to_owned())
    );
    // company of a contact
    g.link(&cx(), link_args("contacts", "1", "company", "8"))
        .await
        .unwrap();
    assert_eq!(related(g, "contacts", "1", "company").await, ["8"]);
    let e = g
        .unlink(&cx(), link_args("contacts", "1", "company", "7"))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    g.unlink(&cx(), link_args("contacts", "1", "company", "8"))
        .await
        .unwrap();
    assert!(related(g, "contacts", "1", "company").await.is_empty());
    // read-only links refuse
    let e = g
        .link(&cx(), link_args("companies", "1", "contacts", "1"))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotAllowed);
    assert_eq!(related(g, "companies", "2", "deals").await.len(), 2);
}

/// Notes on deals and contacts, timelines with authors (acting as Bob).
pub async fn notes(g: &Gateway) {
    let note = g
        .note(
            &cx(),
            NoteArgs {
                entity: "deals".into(),
                id: "2".into(),
                text: "Called the buyer".into(),
            },
        )
        .await
        .unwrap()
        .note;
    assert_eq!(note.fields["deal_id"], "2");
    assert_eq!(note.fields["sales_id"], "2");
    let timeline = g
        .timeline(
            &cx(),
            TimelineArgs {
                entity: "deals".into(),
                id: "2".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(timeline.items[0].text, "Called the buyer");
    assert_eq!(timeline.items[0].author.as_deref(), Some("Bob Seller"));
    assert_eq!(
        timeline.items[0].source.as_ref().unwrap().entity,
        "deal_notes"
    );
    assert!(timeline.items.len() >= 2);
    // a note on a contact bumps last_seen (trigger)
    let before = g
        .get(
            &cx(),
            GetArgs {
                entity: "contacts".into(),
                id: Some("3".into()),
                fields: Some(vec!["*".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let GetOutput::One { record: before } = before else {
        panic!()
    };
    g.note(
        &cx(),
        NoteArgs {
            entity: "contacts".into(),
            id: "3".into(),
            text: "Met again".into(),
        },
    )
    .await
    .unwrap();
    let after = g
        .get(
            &cx(),
            GetArgs {
                entity: "contacts".into(),
                id: Some("3".into()),
                fields: Some(vec!["*".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let GetOutput::One { record: after } = after else {
        panic!()
    };
    assert!(
        after.fields["last_seen"].as_str().unwrap() > before.fields["last_seen"].as_str().unwrap()
    );
    let e = g
        .note(
            &cx(),
            NoteArgs {
                entity: "companies".into(),
                id: "1".into(),
                text: "x".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotAllowed);
}

/// Filters mean the same on every field type.
pub async fn filters(g: &Gateway) {
    // text equality ignores case
    let adas = search(g, "contacts", "first_name", "eq", json!("ADA")).await;
    assert_eq!(adas.len(), 3);
    // a wildcard in the value is a literal
    assert!(
        search(g, "contacts", "first_name", "contains", json!("%"))
            .await
            .is_empty()
    );
    // id arrays: eq is membership, in is overlap
    let with_vip = search(g, "contacts", "tags", "eq", json!("6")).await;
    assert!(
        !with_vip.is_empty()
            && with_vip
                .iter()
                .all(|r| r.fields["tags"].as_array().unwrap().contains(&json!("6")))
    );
    let deals_of_3 = search(g, "deals", "contact_ids", "eq", json!("3")).await;
    assert!(deals_of_3.iter().all(|r| {
        r.fields["contact_ids"]
            .as_array()
            .unwrap()
            .contains(&json!("3"))
    }));
    assert!(!deals_of_3.is_empty());
    // empty arrays and nulls are empty
    let untagged = search(g, "contacts", "tags", "is_null", Value::Null).await;
    assert_eq!(
        untagged.len()
            + search(g, "contacts", "tags", "is_not_null", Value::Null)
                .await
                .len(),
        30
    );
    // emails through the view's text column
    let found = search(g, "contacts", "email_fts", "contains", json!("person12@")).await;
    assert_eq!(found.len(), 1);
    // references take ids as strings
    let at_3 = search(g, "contacts", "company_id", "eq", json!("3")).await;
    assert!(at_3.iter().all(|r| r.fields["company_id"] == "3") && !at_3.is_empty());
    // ne keeps empty fields; dates compare as dates
    let not_ceo = search(g, "contacts", "title", "ne", json!("ceo")).await;
    assert_eq!(not_ceo.len(), 24);
    let late = search(
        g,
        "deals",
        "expected_closing_date",
        "gte",
        json!("2026-06-10"),
    )
    .await;
    assert_eq!(late.len(), 4);
    // free text reaches the view's company name
    let page = g
        .search(
            &cx(),
            SearchArgs {
                entity: "contacts".into(),
                query: Some("hooli".into()),
                limit: Some(50),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(page.total.unwrap() > 0);
    assert!(
        page.records
            .iter()
            .all(|r| r.fields.get("company_name") == Some(&json!("Hooli")))
    );
    // operators a type cannot take are refused clearly
    let e = g
        .search(
            &cx(),
            SearchArgs {
                entity: "deals".into(),
                conditions: vec![ConditionArg {
                    field: "amount".into(),
                    op: "contains".into(),
                    value: json!("5"),
                }],
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::UnsupportedFilter);
}
