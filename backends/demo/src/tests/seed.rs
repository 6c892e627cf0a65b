//! The seed: deterministic, big enough, internally consistent, with the awkward data the other
//! tests need (long text, nulls, non-ASCII, converted leads).

use crate::clock::SEED_NOW_MS;
use crate::clock::format_ms;
use crate::kind::Kind;
use crate::seed::seed;
use crate::store::{Store, refs, text};
use crmgate_core::schema::FieldType;

fn count(store: &Store, kind: Kind) -> usize {
    store.table(kind).rows.len()
}

#[test]
fn counts_and_total() {
    let store = seed("https://x.invalid");
    let expected = [
        (Kind::Companies, 40),
        (Kind::Contacts, 80),
        (Kind::Leads, 40),
        (Kind::Deals, 40),
        (Kind::Tasks, 30),
        (Kind::Notes, 40),
        (Kind::Users, 5),
        (Kind::Emails, 3),
    ];
    for (kind, n) in expected {
        assert_eq!(count(&store, kind), n, "{}", kind.name());
    }
    let total: usize = Kind::ALL.iter().map(|&k| count(&store, k)).sum();
    assert!(total >= 200, "{total}");
}

#[test]
fn deterministic_across_runs() {
    let (a, b) = (seed("https://x.invalid"), seed("https://x.invalid"));
    for kind in Kind::ALL {
        let rows = |s: &Store| {
            s.table(kind)
                .rows
                .values()
                .map(|r| r.fields.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(rows(&a), rows(&b), "{}", kind.name());
    }
    let events = |s: &Store| {
        s.events
            .iter()
            .map(|e| (e.id.clone(), e.record.clone(), e.at.clone(), e.text.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(events(&a), events(&b));
    // stable, documented anchors
    let first = a.row(Kind::Companies, "co-0001").unwrap();
    assert_eq!(text(&first.fields, "name"), Some("Northwind Traders"));
    assert!(a.row(Kind::Contacts, "ct-0080").is_some());
    assert!(a.row(Kind::Contacts, "ct-0081").is_none());
    assert_eq!(
        text(&a.row(Kind::Users, "us-0001").unwrap().fields, "name"),
        Some("Alex Morgan")
    );
}

#[test]
fn every_reference_points_at_an_existing_record() {
    let store = seed("https://x.invalid");
    let mut checked = 0;
    for kind in Kind::ALL {
        for field in &kind.schema().fields {
            let Some(target) = field.link_entity.as_deref().and_then(Kind::from_name) else {
                continue;
            };
            for row in store.table(kind).rows.values() {
                for id in refs(row.fields.get(&field.name)) {
                    assert!(
                        store.row(target, id).is_some(),
                        "{}.{} -> {id}",
                        kind.name(),
                        field.name
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 300, "{checked} references checked");
    // every record carries every schema field
    for kind in Kind::ALL {
        for row in store.table(kind).rows.values() {
            for field in &kind.schema().fields {
                assert!(row.fields.contains_key(&field.name), "{}", field.name);
            }
            assert_eq!(row.fields.len(), kind.schema().fields.len());
        }
    }
}

#[test]
fn links_are_populated_both_ways() {
    let store = seed("https://x.invalid");
    for kind in [Kind::Companies, Kind::Contacts, Kind::Deals, Kind::Leads] {
        for link in kind.links() {
            let linked: usize = store
                .table(kind)
                .rows
                .keys()
                .map(|id| store.linked_ids(kind, id, link).len())
                .sum();
            if link.name != "converted_deal" && link.name != "emails" {
                assert!(
                    linked > 0,
                    "{}.{} is never populated",
                    kind.name(),
                    link.name
                );
            }
        }
    }
    // deals: the primary contact is one of the deal's contacts
    for row in store.table(Kind::Deals).rows.values() {
        if let Some(primary) = text(&row.fields, "contact_id") {
            assert!(refs(row.fields.get("contact_ids")).contains(&primary));
        }
    }
}

#[test]
fn awkward_data_is_present() {
    let store = seed("https://x.invalid");
    let long = |kind: Kind, field: &str| {
        store
            .table(kind)
            .rows
            .values()
            .filter(|r| text(&r.fields, field).is_some_and(|t| t.chars().count() > 3000))
            .count()
    };
    assert!(long(Kind::Companies, "description") >= 2);
    assert!(long(Kind::Deals, "description") >= 1);
    assert!(long(Kind::Notes, "body") >= 2);
    let nulls = |kind: Kind, field: &str| {
        store
            .table(kind)
            .rows
            .values()
            .filter(|r| r.fields[field].is_null())
            .count()
    };
    assert!(nulls(Kind::Companies, "website") > 0);
    assert!(nulls(Kind::Contacts, "email") > 0);
    assert!(nulls(Kind::Contacts, "company_id") > 0);
    assert!(nulls(Kind::Deals, "close_date") > 0);
    assert!(nulls(Kind::Deals, "amount") > 0);
    assert!(nulls(Kind::Tasks, "due_date") > 0);
    let converted = store
        .table(Kind::Leads)
        .rows
        .values()
        .filter(|r| text(&r.fields, "status") == Some("converted"))
        .count();
    assert!(converted >= 5);
    assert!(
        store
            .table(Kind::Companies)
            .rows
            .values()
            .any(|r| text(&r.fields, "name").is_some_and(|n| !n.is_ascii()))
    );
}

#[test]
fn emails_unique_and_timestamps_before_seed_now() {
    let store = seed("https://x.invalid");
    let limit = format_ms(SEED_NOW_MS);
    for kind in [Kind::Contacts, Kind::Leads] {
        let mut emails: Vec<String> = store
            .table(kind)
            .rows
            .values()
            .filter_map(|r| text(&r.fields, "email").map(str::to_lowercase))
            .collect();
        let n = emails.len();
        emails.sort();
        emails.dedup();
        assert_eq!(emails.len(), n, "{} emails are unique", kind.name());
    }
    for kind in Kind::ALL {
        for row in store.table(kind).rows.values() {
            let created = text(&row.fields, "created_at").unwrap();
            let updated = text(&row.fields, "updated_at").unwrap();
            assert!(created <= updated && updated < limit.as_str());
        }
    }
    assert!(store.events.iter().all(|e| e.at < limit));
    let types = Kind::Contacts.schema().field("company_id").unwrap();
    assert_eq!(types.field_type, FieldType::Reference);
}
