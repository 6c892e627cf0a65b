//! A search reads only the fields it returns: the recorded list answers read with a projection
//! give the same records (id, title, selected values) as read whole, without the rest.

use crmgate_bottlecrm::describe;
use crmgate_bottlecrm::entities::Entity;
use crmgate_bottlecrm::map::list;
use crmgate_core::model::FieldSelection;
use serde_json::Value;

fn body(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::to_vec(&serde_json::from_str::<Value>(&text).unwrap()["response"]["body"]).unwrap()
}

#[test]
fn a_projection_reads_the_selected_fields_and_what_the_title_needs() {
    let schemas = describe::build(None);
    for (entity, name) in [
        (Entity::Leads, "leads__list_default"),
        (Entity::Contacts, "contacts__list_default"),
        (Entity::Accounts, "accounts__list_default"),
        (Entity::Opportunities, "opportunities__list_default"),
        (Entity::Tasks, "tasks__list_default"),
        (Entity::Cases, "cases__list_default"),
        (Entity::Invoices, "invoices__list_default"),
        (Entity::Solutions, "solutions__list_default"),
    ] {
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
