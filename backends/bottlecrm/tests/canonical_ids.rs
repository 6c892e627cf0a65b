//! Ids leave the mappers canonical (lower-case, hyphenated, no braces) whatever spelling
//! BottleCRM or the caller used: records and their references, create answers, conversions,
//! comments and timeline entries. Recorded answers, with their ids re-spelled.

use crmgate_bottlecrm::entities::Entity;
use crmgate_bottlecrm::map::{answer, comment, record};
use serde_json::{Value, json};

fn body(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str::<Value>(&text).unwrap()["response"]["body"].clone()
}

fn shout(v: &Value) -> Value {
    Value::String(v.as_str().unwrap().to_ascii_uppercase())
}

#[test]
fn records_and_their_references_carry_canonical_ids() {
    let detail = body("leads__detail");
    let mut lead = record::detail_object(Entity::Leads, &detail)
        .unwrap()
        .clone();
    let id = lead["id"].as_str().unwrap().to_owned();
    lead["id"] = json!(format!("{{{}}}", id.to_ascii_uppercase()));
    let created_by = lead["created_by"]["id"].clone();
    lead["created_by"]["id"] = shout(&created_by);
    let r = record::to_record(Entity::Leads, &lead, None).unwrap();
    assert_eq!(r.id, id);
    assert_eq!(r.fields["id"], json!(id));
    assert_eq!(r.fields["created_by"], created_by);
}

#[test]
fn create_and_conversion_answers_give_canonical_ids() {
    let created = body("contacts__create_success");
    let id = created["id"].as_str().unwrap().to_owned();
    let mut loud = created.clone();
    loud["id"] = shout(&created["id"]);
    assert_eq!(answer::created_id(&loud).unwrap(), id);

    let converted = body("leads__convert");
    let mut loud = converted.clone();
    for k in ["account_id", "contact_id", "opportunity_id"] {
        loud[k] = shout(&converted[k]);
    }
    let lead = "7EAF0D24-18EB-4D7D-8D4A-B2CE76207156";
    let out = answer::conversion(lead, &loud);
    assert_eq!(out["lead_id"], json!(lead.to_ascii_lowercase()));
    for k in ["account_id", "contact_id", "opportunity_id"] {
        assert_eq!(out[k], converted[k], "{k}");
    }
    assert_eq!(out["created"][0]["id"], converted["account_id"]);
}

#[test]
fn comments_and_timeline_entries_give_canonical_ids() {
    let mut answer = body("leads__comment_add");
    let id = answer["comments"][0]["id"].as_str().unwrap().to_owned();
    answer["comments"][0]["id"] = shout(&answer["comments"][0]["id"]);
    let text = answer["comments"][0]["comment"]
        .as_str()
        .unwrap()
        .to_owned();
    let posted = comment::posted(&answer, &text).unwrap();
    let lead = "{F7414BC8-695F-4DE0-9B7A-9AB286E22EEF}";
    let note = comment::note_record(Entity::Leads, lead, posted).unwrap();
    assert_eq!(note.id, id);
    assert_eq!(
        note.fields["record_id"],
        json!("f7414bc8-695f-4de0-9b7a-9ab286e22eef")
    );
    assert!(comment::timeline(&answer).iter().any(|t| t.id == id));
}
