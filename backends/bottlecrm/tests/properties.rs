//! Property tests over BottleCRM's pure functions with hostile input (crmgate_core::arb): id
//! canonicalisation (once a panic on non-ASCII), the filter planner on every entity, record,
//! list, comment and answer mappers on arbitrary answers, and error mapping on arbitrary bodies.
//! Every input gets an answer, never a panic. Cases: `PROPTEST_CASES` (256 by default).

use crmgate_bottlecrm::describe::{self, Schemas};
use crmgate_bottlecrm::entities::Entity;
use crmgate_bottlecrm::map::error::{Body, Context, field_errors, from_status, missing_scope};
use crmgate_bottlecrm::map::{answer, comment, list, record};
use crmgate_bottlecrm::{filters, ids};
use crmgate_core::arb::{
    field_names, fields_among, filter_among, hostile_string, json_value, sort_among,
};
use proptest::prelude::*;
use serde_json::Value;
use std::sync::LazyLock;

/// The built-in tables (no `/schema/` document).
static SCHEMAS: LazyLock<Schemas> = LazyLock::new(|| describe::build(None));

fn entity() -> impl Strategy<Value = Entity> {
    prop::sample::select(Entity::ALL.to_vec())
}

fn every_field() -> Vec<String> {
    Entity::ALL
        .iter()
        .flat_map(|e| field_names(&SCHEMAS.get(*e)))
        .collect()
}

proptest! {
    #[test]
    fn ids_canonicalise_or_refuse_any_text(text in hostile_string(), raw in any::<String>(), hex in "[0-9a-fA-F]{32}") {
        for s in [&text, &raw, &format!("urn:uuid:{text}"), &format!("{{{hex}}}"), &format!("uuid:{hex}")] {
            if let Some(canonical) = ids::canonical(s) {
                prop_assert!(ids::is_canonical(&canonical));
                prop_assert_eq!(ids::canonical(&canonical), Some(canonical.clone()));
                prop_assert_eq!(canonical.len(), 36);
            }
        }
        let braced = format!("{{{hex}}}");
        prop_assert!(ids::canonical(&braced).is_some());
    }

    #[test]
    fn filters_plan_or_refuse_on_every_entity(
        entity in entity(),
        filter in filter_among(every_field()),
        sort in sort_among(every_field()),
    ) {
        // the planner takes what the gateway passes on: filters that passed `Filter::check`
        let schema = SCHEMAS.get(entity);
        if filter.check(&schema, &crmgate_core::filter::FilterOp::ALL).is_ok() {
            let _ = filters::plan(entity, &schema, &filter, &sort);
        }
    }

    #[test]
    fn records_lists_and_comments_map_from_any_answer(
        entity in entity(),
        object in fields_among(every_field()),
        body in json_value(4),
        app_url in proptest::option::of(hostile_string()),
        text in hostile_string(),
    ) {
        let object = Value::Object(object);
        if let Ok(mapped) = record::to_record(entity, &object, app_url.as_deref()) {
            prop_assert!(ids::is_canonical(&mapped.id), "{}", mapped.id);
        }
        let _ = record::to_record(entity, &body, None);
        let fields = record::fields(entity, object.as_object().unwrap());
        let _ = record::title(entity, &fields);
        let _ = record::version(&fields);
        let _ = record::detail_object(entity, &body);
        let _ = list::sections_of(entity, &body, None);
        let _ = list::sections(
            entity,
            body.to_string().as_bytes(),
            app_url.as_deref(),
            &crmgate_core::model::FieldSelection::Only(vec!["email".into()]),
        );
        let _ = record::detail(entity, body.to_string().as_bytes(), None);
        let _ = comment::timeline(&body);
        let _ = comment::posted(&body, &text);
        let _ = comment::note_record(entity, &text, &body);
        let _ = answer::message(&body);
        let _ = answer::created_id(&body);
        let _ = answer::is_conversion(&body);
        let _ = answer::conversion(&text, &body);
    }

    #[test]
    fn error_answers_map_to_a_code_for_any_body(
        status in 100u16..600,
        bytes in prop_oneof![
            json_value(3).prop_map(|v| serde_json::to_vec(&v).unwrap()),
            prop::collection::vec(any::<u8>(), 0..300),
            hostile_string().prop_map(String::into_bytes),
        ],
        entity in proptest::option::of(entity()),
        id in proptest::option::of(hostile_string()),
        detail in hostile_string(),
        value in json_value(3),
    ) {
        let _ = Body::parse(&bytes);
        let _ = field_errors(&value);
        let _ = missing_scope(&detail);
        let error = from_status(Context { entity, id: id.as_deref(), method: "GET" }, status, &bytes);
        prop_assert!(!error.message.is_empty() && !error.suggestion.is_empty());
    }
}
