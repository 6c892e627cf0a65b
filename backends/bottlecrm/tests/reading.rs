//! Reading list answers from their bytes: a row read in a list is the record the row maps to
//! on its own; a search reads only the fields it returns (the recorded list answers read with a
//! projection give the same ids, titles and selected values as read whole, without the rest);
//! an unreadable answer is `UPSTREAM_PROTOCOL` without quoting it.

use crmgate_bottlecrm::describe;
use crmgate_bottlecrm::entities::Entity;
use crmgate_bottlecrm::map::{list, record};
use crmgate_core::ErrorCode;
use crmgate_core::model::FieldSelection;
use serde_json::Value;

const LISTS: [(Entity, &str); 8] = [
    (Entity::Leads, "leads__list_default"),
    (Entity::Contacts, "contacts__list_default"),
    (Entity::Accounts, "accounts__list_default"),
    (Entity::Opportunities, "opportunities__list_default"),
    (Entity::Tasks, "tasks__list_default"),
    (Entity::Cases, "cases__list_default"),
    (Entity::Invoices, "invoices__list_default"),
    (Entity::Solutions, "solutions__list_default"),
];

fn body(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::to_vec(&serde_json::from_str::<Value>(&text).unwrap()["response"]["body"]).unwrap()
}

#[test]
fn a_projection_reads_the_selected_fields_and_what_the_title_needs() {
    let schemas = describe::build(None);
    for (entity, name) in LISTS {
        let bytes = body(name);
        let compact = schemas.get(entity).compact_fields();
        assert!(!compact.is_empty(), "{name}");
        let whole = list::sections(entity, &bytes, None, &FieldSelection::All).unwrap();
        let only = FieldSelection::Only(compact.clone());
        let part = list::sections(entity, &bytes, None, &only).unwrap();
        assert_eq!(whole.len(), part.len());
        for (w, p) in whole.iter().zip(&part) {
            assert_eq!(w.count, p.count, "{name}");
            assert_eq!(w.rows.len(), p.rows.len(), "{name}");
            for (w, p) in w.rows.iter().zip(&p.rows) {
                assert_eq!((&w.id, &w.title), (&p.id, &p.title), "{name}");
                for f in &compact {
                    assert_eq!(w.fields.get(f), p.fields.get(f), "{name}.{f}");
                }
                assert!(p.fields.len() < w.fields.len(), "{name}: nothing skipped");
                // a version only where BottleCRM keeps updated_at; never a hash of a part
                match w.fields.get("updated_at") {
                    Some(_) => assert_eq!(w.version, p.version, "{name}"),
                    None => assert_eq!(p.version, None, "{name}"),
                }
            }
        }
    }
}

/// The row with `id` in a list answer: the fullest object carrying that id (catalogues hold
/// short copies of some records).
fn list_row<'a>(answer: &'a Value, id: &str) -> &'a Value {
    fn walk<'a>(v: &'a Value, id: &str, out: &mut Vec<&'a Value>) {
        match v {
            Value::Object(m) => {
                if m.get("id").and_then(Value::as_str) == Some(id) {
                    out.push(v);
                }
                m.values().for_each(|v| walk(v, id, out));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, id, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(answer, id, &mut found);
    found
        .into_iter()
        .max_by_key(|v| v.as_object().map_or(0, |m| m.len()))
        .unwrap_or_else(|| panic!("no row {id}"))
}

#[test]
fn a_row_read_in_a_list_is_the_record_it_maps_to_alone() {
    for (entity, name) in LISTS {
        let bytes = body(name);
        let raw: Value = serde_json::from_slice(&bytes).unwrap();
        for section in list::sections(entity, &bytes, None, &FieldSelection::All).unwrap() {
            for r in &section.rows {
                let row = list_row(&raw, &r.id);
                assert_eq!(r, &record::to_record(entity, row, None).unwrap(), "{name}");
            }
        }
    }
}

#[test]
fn an_unreadable_list_answer_is_a_protocol_error_that_quotes_nothing() {
    for bad in [
        &br#"{"tasks": "secret text", "tasks_count": 1}"#[..],
        br#"{"tasks": [{"id": 1}], "tasks_count": 1}"#,
        br#"{"tasks": [], "tasks_count": "many"}"#,
        br#"{"tasks": [], "tasks_count": 0} trailing"#,
        b"not json",
    ] {
        let e = list::sections(Entity::Tasks, bad, None, &FieldSelection::All).unwrap_err();
        assert_eq!(e.code, ErrorCode::UpstreamProtocol);
        assert!(!e.message.contains("secret"), "{}", e.message);
    }
}
