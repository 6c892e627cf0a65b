//! Delete clean-up, link / unlink, and notes.

use super::*;
use crmgate_core::model::FieldSelection;
use serde_json::json;

#[tokio::test]
async fn delete_removes_the_record_and_cleans_up_around_it() {
    let b = DemoBackend::new();
    let companies = info(&b, "companies").await;
    let contacts_of = |b: &DemoBackend, id: &str| {
        let store = b.read_sync();
        store.linked_ids(
            Kind::Companies,
            id,
            Kind::Companies.link("contacts").unwrap(),
        )
    };
    let people = contacts_of(&b, "co-0001");
    assert!(!people.is_empty());
    let only_here: Vec<String> = {
        let store = b.read_sync();
        store
            .table(Kind::Notes)
            .rows
            .values()
            .filter(|r| r.fields["company_id"] == "co-0001")
            .filter(|r| {
                ["contact_id", "lead_id", "deal_id"]
                    .iter()
                    .all(|f| r.fields[*f].is_null())
            })
            .map(|r| r.fields["id"].as_str().unwrap().to_string())
            .collect()
    };
    b.delete(&cx(), &companies, "co-0001").await.unwrap();
    assert!(get_one(&b, "companies", "co-0001").await.is_none());
    for p in &people {
        let c = get_one(&b, "contacts", p).await.unwrap();
        assert!(c.fields["company_id"].is_null(), "reference cleared");
    }
    for n in &only_here {
        assert!(
            get_one(&b, "notes", n).await.is_none(),
            "note attached only to it is gone"
        );
    }
    {
        let store = b.read_sync();
        for kind in Kind::ALL {
            for row in store.table(kind).rows.values() {
                for (name, value) in &row.fields {
                    if name != "id" {
                        assert_ne!(value, "co-0001", "{}.{name}", kind.name());
                    }
                }
            }
        }
    }
    assert_eq!(
        code(b.delete(&cx(), &companies, "co-0001").await),
        ErrorCode::NotFound
    );
    let timeline = b
        .timeline(
            &cx(),
            &companies,
            "co-0001",
            &PageRequest {
                limit: 5,
                cursor: None,
            },
        )
        .await;
    assert_eq!(code(timeline), ErrorCode::NotFound);
    // deals.contact_ids loses a deleted contact
    let deal = get_one(&b, "deals", "dl-0005").await.unwrap();
    let contact = deal.fields["contact_ids"][0].as_str().unwrap().to_string();
    b.delete(&cx(), &*info(&b, "contacts").await, &contact)
        .await
        .unwrap();
    let deal = get_one(&b, "deals", "dl-0005").await.unwrap();
    assert!(
        !deal.fields["contact_ids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == contact.as_str())
    );
    assert_eq!(
        code(b.delete(&cx(), &*info(&b, "users").await, "us-0002").await),
        ErrorCode::NotAllowed
    );
}

#[tokio::test]
async fn link_and_unlink_are_idempotent_and_one_links_replace() {
    let b = DemoBackend::new();
    let contacts = info(&b, "contacts").await;
    let company = link("contacts", "company");
    // one-link: replaces
    b.link(&cx(), &contacts, "ct-0001", &company, "co-0002")
        .await
        .unwrap();
    let c = get_one(&b, "contacts", "ct-0001").await.unwrap();
    assert_eq!(c.fields["company_id"], "co-0002");
    b.link(&cx(), &contacts, "ct-0001", &company, "co-0002")
        .await
        .unwrap();
    let again = get_one(&b, "contacts", "ct-0001").await.unwrap();
    assert_eq!(again.version, c.version, "linking twice changes nothing");
    b.unlink(&cx(), &contacts, "ct-0001", &company, "co-0003")
        .await
        .unwrap();
    assert_eq!(
        get_one(&b, "contacts", "ct-0001").await.unwrap().fields["company_id"],
        "co-0002"
    );
    b.unlink(&cx(), &contacts, "ct-0001", &company, "co-0002")
        .await
        .unwrap();
    assert!(get_one(&b, "contacts", "ct-0001").await.unwrap().fields["company_id"].is_null());

    // many-link stored on the record (deals.contact_ids)
    let deals = info(&b, "deals").await;
    let people = link("deals", "contacts");
    let before = get_one(&b, "deals", "dl-0001").await.unwrap().fields["contact_ids"]
        .as_array()
        .unwrap()
        .len();
    for _ in 0..2 {
        b.link(&cx(), &deals, "dl-0001", &people, "ct-0070")
            .await
            .unwrap();
    }
    let ids = get_one(&b, "deals", "dl-0001").await.unwrap().fields["contact_ids"].clone();
    assert_eq!(ids.as_array().unwrap().len(), before + 1);
    let related = b
        .related(
            &cx(),
            &deals,
            "dl-0001",
            &people,
            &FieldSelection::All,
            &PageRequest {
                limit: 50,
                cursor: None,
            },
        )
        .await
        .unwrap();
    assert!(related.records.iter().any(|r| r.id == "ct-0070"));
    // and seen from the other side
    let back = b
        .related(
            &cx(),
            &contacts,
            "ct-0070",
            &link("contacts", "deals"),
            &FieldSelection::All,
            &PageRequest {
                limit: 50,
                cursor: None,
            },
        )
        .await
        .unwrap();
    assert!(back.records.iter().any(|r| r.id == "dl-0001"));
    for _ in 0..2 {
        b.unlink(&cx(), &deals, "dl-0001", &people, "ct-0070")
            .await
            .unwrap();
    }
    let ids = get_one(&b, "deals", "dl-0001").await.unwrap().fields["contact_ids"].clone();
    assert_eq!(ids.as_array().unwrap().len(), before);

    // the primary contact joins the deal's contacts
    b.link(
        &cx(),
        &deals,
        "dl-0001",
        &link("deals", "contact"),
        "ct-0071",
    )
    .await
    .unwrap();
    let deal = get_one(&b, "deals", "dl-0001").await.unwrap();
    assert_eq!(deal.fields["contact_id"], "ct-0071");
    assert!(
        deal.fields["contact_ids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "ct-0071")
    );

    // many-link stored on the far side (companies.contacts sets contacts.company_id)
    let companies = info(&b, "companies").await;
    b.link(
        &cx(),
        &companies,
        "co-0005",
        &link("companies", "contacts"),
        "ct-0079",
    )
    .await
    .unwrap();
    assert_eq!(
        get_one(&b, "contacts", "ct-0079").await.unwrap().fields["company_id"],
        "co-0005"
    );

    // errors
    assert_eq!(
        code(
            b.link(&cx(), &contacts, "ct-0001", &company, "co-9999")
                .await
        ),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(
            b.link(&cx(), &contacts, "ct-9999", &company, "co-0001")
                .await
        ),
        ErrorCode::NotFound
    );
    let read_only = link("companies", "emails");
    assert_eq!(
        code(
            b.link(&cx(), &companies, "co-0001", &read_only, "em-0001")
                .await
        ),
        ErrorCode::NotAllowed
    );
    let users = info(&b, "users").await;
    assert_eq!(
        code(
            b.link(&cx(), &users, "us-0001", &link("users", "deals"), "dl-0001")
                .await
        ),
        ErrorCode::NotAllowed
    );
}

#[tokio::test]
async fn notes_attach_to_records_and_lead_the_timeline() {
    let b = DemoBackend::new();
    let deals = info(&b, "deals").await;
    let note = b
        .note(
            &cx(),
            &deals,
            "dl-0003",
            "Called the buyer.\nThey want a discount.",
        )
        .await
        .unwrap();
    assert!(note.id.starts_with("nt-"));
    assert_eq!(note.title, "Called the buyer.");
    assert_eq!(note.fields["deal_id"], "dl-0003");
    assert_eq!(note.fields["author_id"], "us-0001");
    assert_eq!(
        note.url.as_deref(),
        Some(format!("https://demo.crmgate.invalid/#/Note/{}", note.id).as_str())
    );
    let timeline = b
        .timeline(
            &cx(),
            &deals,
            "dl-0003",
            &PageRequest {
                limit: 3,
                cursor: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(timeline.items[0].id, note.id);
    assert_eq!(timeline.items[0].kind, "note");
    assert_eq!(timeline.items[0].author.as_deref(), Some("Alex Morgan"));
    assert_eq!(
        code(b.note(&cx(), &deals, "dl-9999", "x").await),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(b.note(&cx(), &deals, "dl-0003", "   ").await),
        ErrorCode::Validation
    );
    let tasks = info(&b, "tasks").await;
    assert_eq!(
        code(b.note(&cx(), &tasks, "tk-0001", "x").await),
        ErrorCode::NotAllowed
    );
    // notes are records: searchable by their parent
    let filter = Filter {
        all: vec![cond("deal_id", FilterOp::Eq, json!("dl-0003"))],
        ..Default::default()
    };
    let page = search(
        &b,
        "notes",
        filter,
        vec![sort("created_at", true)],
        10,
        None,
    )
    .await
    .unwrap();
    assert_eq!(page.records[0].id, note.id);
}
