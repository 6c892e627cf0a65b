//! Mapper tests on rows recorded from PostgreSQL 15 with the test schema applied
//! (`tests/fixtures/rows.json`: `to_jsonb(row)` of each relation, as both transports return).

use super::*;
use crate::describe::builtin_schema;
use crate::model::options::AllowedValues;
use crmgate_core::ErrorCode;
use serde_json::json;

fn fixture(relation: &str) -> Row {
    let all: Value = serde_json::from_str(include_str!("../../tests/fixtures/rows.json")).unwrap();
    all[relation].as_object().unwrap().clone()
}

fn schema(kind: Kind) -> EntitySchema {
    builtin_schema(kind, &AllowedValues::default())
}

#[test]
fn contacts_from_the_summary_view() {
    let row = fixture("contacts_summary");
    let r = record(
        Kind::Contacts,
        &schema(Kind::Contacts),
        row,
        Some("https://crm.example/"),
    )
    .unwrap();
    assert_eq!(r.id, "4");
    assert_eq!(r.title, "Edsger Turing 4");
    assert_eq!(
        r.url.as_deref(),
        Some("https://crm.example/#/contacts/4/show")
    );
    // references become strings, as writes take them; view columns stay
    assert_eq!(r.fields["company_id"], json!("5"));
    assert_eq!(r.fields["tags"], json!(["1", "6"]));
    assert_eq!(r.fields["sales_id"], json!("1"));
    assert_eq!(r.fields["company_name"], json!("Stark Materials"));
    assert_eq!(r.fields["nb_tasks"], json!(1));
    assert_eq!(
        r.fields["email_jsonb"][0]["email"],
        json!("person4@example.com")
    );
}

#[test]
fn every_relation_maps_with_a_title() {
    let cases = [
        (Kind::Companies, "companies_summary", "Globex"),
        (Kind::Deals, "deals", "Deal 1 redesign"),
        (Kind::Tasks, "tasks", "Task 3"),
        (Kind::Notes, "contact_notes", "Note 1 about the contact"),
        (Kind::DealNotes, "deal_notes", "Deal note 1"),
        (Kind::Users, "sales", "Bob Seller"),
        (Kind::Tags, "tags", "vip"),
    ];
    for (kind, relation, title) in cases {
        let r = record(kind, &schema(kind), fixture(relation), None).unwrap();
        assert_eq!(r.title, title, "{relation}");
        assert!(r.url.is_none());
    }
    let deal = record(
        Kind::Deals,
        &schema(Kind::Deals),
        fixture("deals"),
        Some("http://x"),
    )
    .unwrap();
    assert_eq!(deal.fields["contact_ids"], json!(["2", "9"]));
    assert_eq!(deal.fields["amount"], json!(1000));
    assert_eq!(deal.url.as_deref(), Some("http://x/#/deals/1/show"));
    let task = record(
        Kind::Tasks,
        &schema(Kind::Tasks),
        fixture("tasks"),
        Some("http://x"),
    )
    .unwrap();
    assert_eq!(task.url.as_deref(), Some("http://x/#/contacts/4/show"));
    let mut no_id = fixture("tags");
    no_id.remove("id");
    assert_eq!(
        record(Kind::Tags, &schema(Kind::Tags), no_id, None)
            .unwrap_err()
            .code,
        ErrorCode::UpstreamProtocol
    );
}

#[test]
fn untitled_records_fall_back_to_their_id() {
    let row = json!({"id": 7, "first_name": null, "last_name": " ", "email_jsonb": []});
    assert_eq!(
        title(Kind::Contacts, "7", row.as_object().unwrap()),
        "contacts #7"
    );
    let long = json!({"id": 1, "text": format!("{}\nsecond line", "x".repeat(100))});
    let t = title(Kind::Notes, "1", long.as_object().unwrap());
    assert_eq!(t.chars().count(), 80);
    assert!(t.ends_with('…'));
}

#[test]
fn writes_turn_references_into_numbers_and_check_what_the_database_does_not() {
    let data =
        json!({"name": "Deal", "company_id": "3", "contact_ids": ["1", "2"], "sales_id": null});
    let row = row_for_write(Kind::Deals, &schema(Kind::Deals), data.as_object().unwrap()).unwrap();
    assert_eq!(
        Value::Object(row),
        json!({"name": "Deal", "company_id": 3, "contact_ids": [1, 2], "sales_id": null})
    );
    let bad = json!({"company_id": "acme"});
    let e = row_for_write(Kind::Deals, &schema(Kind::Deals), bad.as_object().unwrap()).unwrap_err();
    assert!(e.message.starts_with("company_id:"), "{}", e.message);
    let size = json!({"size": 42});
    let e = row_for_write(
        Kind::Companies,
        &schema(Kind::Companies),
        size.as_object().unwrap(),
    )
    .unwrap_err();
    assert!(e.suggestion.contains("250"));
    for bad in [
        json!({"email_jsonb": "a@b.c"}),
        json!({"email_jsonb": [{"email": "not an email", "type": "Work"}]}),
        json!({"email_jsonb": [{"email": "a@b.c", "type": "Mobile"}]}),
        json!({"phone_jsonb": [{"phone": "123"}]}),
    ] {
        let e = row_for_write(
            Kind::Contacts,
            &schema(Kind::Contacts),
            bad.as_object().unwrap(),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation, "{bad}");
    }
    let good = json!({"email_jsonb": [{"email": "a@b.c", "type": "Work"}], "phone_jsonb": [{"number": "+1"}]});
    assert!(
        row_for_write(
            Kind::Contacts,
            &schema(Kind::Contacts),
            good.as_object().unwrap()
        )
        .is_ok()
    );
}

#[test]
fn notes_become_timeline_entries_pointing_at_themselves() {
    let authors = HashMap::from([(2, "Bob Seller".to_owned())]);
    let item = timeline_item(Kind::Notes, &fixture("contact_notes"), &authors).unwrap();
    assert_eq!(item.id, "1");
    assert_eq!(item.at, "2026-03-10T09:00:00+00:00");
    assert_eq!(item.author.as_deref(), Some("Bob Seller"));
    assert_eq!(item.text, "[warm] Note 1 about the contact");
    assert_eq!(item.source.unwrap().entity, "notes");
    assert_eq!(
        person_name(&fixture("sales")),
        Some((2, "Bob Seller".into()))
    );
    assert_eq!(parse_id(" 12 "), Some(12));
    assert_eq!(parse_id("0"), None);
    assert_eq!(parse_id("abc"), None);
}
