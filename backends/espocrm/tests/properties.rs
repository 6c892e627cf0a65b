//! Property tests over EspoCRM's pure functions with hostile input (crmgate_core::arb): filter
//! translation, sort, record and page mappers on arbitrary answers, write payloads, stream
//! notes, date-times, names, credentials, error mapping and the record-id grammar. Every
//! input gets an answer, never a panic; an id the grammar accepts is one plain path segment. Cases: `PROPTEST_CASES` (256 by default).

use crmgate_core::arb::{
    every_type_schema, field_names, fields_among, filter_among, hostile_string, json_value,
    sort_among,
};
use crmgate_core::schema::EntitySchema;
use crmgate_core::upstream::UpstreamResponse;
use crmgate_espocrm::errors::{Ctx, Op, map_error};
use crmgate_espocrm::map::stream;
use crmgate_espocrm::{auth, describe, filters, ids, map, names, time};
use proptest::prelude::*;
use serde_json::Value;
use std::sync::LazyLock;

const SITE: &str = "https://crm.example.com";

fn body(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    recorded["response"]["body"].clone()
}

/// The recorded Contact schema, and a schema with a field of every type.
static SCHEMAS: LazyLock<[EntitySchema; 2]> = LazyLock::new(|| {
    let contact = describe::schema(
        "Contact",
        &body("metadata_entitydefs_contact"),
        &body("i18n_trimmed"),
        &Default::default(),
    );
    [contact, every_type_schema()]
});

fn all_fields() -> Vec<String> {
    SCHEMAS.iter().flat_map(field_names).collect()
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json_value(3).prop_map(|v| serde_json::to_vec(&v).unwrap()),
        prop::collection::vec(any::<u8>(), 0..64),
        hostile_string().prop_map(String::into_bytes),
    ]
}

proptest! {
    #[test]
    fn an_accepted_id_is_one_plain_path_segment(
        id in prop_oneof![
            hostile_string(),
            "[A-Za-z0-9_=.-]{0,80}",
            "[0-9a-f]{17}",
        ],
    ) {
        match ids::check(&id, "id") {
            Ok(accepted) => {
                prop_assert!(!accepted.is_empty() && accepted.len() <= ids::MAX_LEN);
                prop_assert!(accepted.chars().any(|c| c != '.'), "no dot-segment");
                let encoded = map::segment(accepted);
                prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)));
            }
            Err(e) => {
                prop_assert_eq!(e.code, crmgate_core::ErrorCode::Validation);
                prop_assert!(e.message.len() < 300);
            }
        }
    }

    #[test]
    fn filters_and_sorts_translate_or_refuse(
        filter in filter_among(all_fields()),
        sort in sort_among(all_fields()),
    ) {
        for schema in SCHEMAS.iter() {
            if let Ok(items) = filters::where_items(&filter, schema) {
                prop_assert!(items.iter().all(Value::is_object));
            }
        }
        let _ = filters::order(&sort);
    }

    #[test]
    fn records_and_pages_map_from_any_answer(
        attributes in fields_among(all_fields()),
        body in bytes(),
        native in hostile_string(),
    ) {
        if let Ok(record) = map::record(SITE, "Contact", attributes.clone()) {
            prop_assert!(!record.id.is_empty());
        }
        let _ = map::record(SITE, &native, attributes);
        let _ = map::record_from_body(SITE, "Contact", &body);
        let _ = map::list_page("contacts", &body);
        let _ = map::duplicates(SITE, "Contact", &body);
        let _ = map::boolean("link", &body);
        let _ = map::parse_json(&body);
        let _ = map::deep_link(SITE, &native, &native);
        let _ = map::segment(&native);
    }

    #[test]
    fn write_payloads_are_built_or_refused(data in fields_among(all_fields())) {
        for schema in SCHEMAS.iter() {
            let _ = map::write_payload(schema, &data);
        }
    }

    #[test]
    fn stream_notes_map_from_anything(note in fields_among(vec![
        "type".into(), "data".into(), "post".into(), "createdAt".into(), "createdByName".into(),
        "parentType".into(), "parentId".into(), "id".into(),
    ]), kind in hostile_string()) {
        let _ = stream::timeline_item(("Contact", "6b012cf5de3340e2e"), &note);
        let _ = stream::kind(&kind);
    }

    #[test]
    fn date_times_names_and_credentials_never_panic(text in hostile_string(), raw in any::<String>()) {
        for s in [&text, &raw] {
            if let Some(espo) = time::to_espo_datetime(s) {
                // always the one EspoCRM form, and stable
                prop_assert_eq!(espo.len(), 19);
                prop_assert_eq!(time::to_espo_datetime(&espo), Some(espo.clone()));
            }
            let _ = time::espo_to_iso(s);
            let _ = time::epoch_of(s);
            let _ = names::canonical(s);
            let _ = names::native_of(s);
            let _ = auth::split_credentials(s);
            let _ = describe::field_type(s);
        }
    }

    #[test]
    fn error_answers_map_to_a_code_for_any_body(status in 100u16..600, body in bytes(), id in hostile_string()) {
        let response = UpstreamResponse {
            status: reqwest::StatusCode::from_u16(status).unwrap(),
            headers: Default::default(),
            body: body.into(),
        };
        let cx = Ctx {
            op: Op::Read,
            entity: "contacts",
            native: "Contact",
            id: Some(&id),
            link: None,
            auth: "api_key",
            site: SITE,
            schema: None,
            version: None,
        };
        let error = map_error(&response, &cx);
        prop_assert!(!error.message.is_empty() && !error.suggestion.is_empty());
    }
}
