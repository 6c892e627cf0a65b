//! Pure mapping of the EspoCRM answers behind the fidelity gaps of issue 11, from the recorded
//! 9.1.7 shapes: 409 `modified` (optimistic concurrency) names the fields and their stored
//! values; a phone number's `valid` failure speaks of phone format, an enum's of allowed
//! values; `restoreDeleted`'s answers (admin-only 403, not deleted, gone); who may restore,
//! from `App/user`. No I/O.

mod common;

use common::{answer, fixture, recorded_answer};
use crmgate_core::ErrorCode;
use crmgate_core::schema::{EntitySchema, FieldSchema, FieldType};
use crmgate_espocrm::errors::{Ctx, Op, map_error};
use crmgate_espocrm::scopes;
use serde_json::{Value, json};

fn ctx(
    op: Op,
    entity: &'static str,
    native: &'static str,
    id: Option<&'static str>,
) -> Ctx<'static> {
    Ctx {
        op,
        entity,
        native,
        id,
        link: None,
        auth: "api_key",
        site: "https://crm.example.com",
        schema: None,
        version: None,
    }
}

#[test]
fn a_409_modified_is_a_conflict_naming_the_fields_and_what_is_stored() {
    let recorded = fixture("update_optimistic_concurrency_409_modified");
    let mut cx = ctx(
        Op::Update,
        "email_templates",
        "EmailTemplate",
        Some("6b012cf790d0aad27"),
    );
    cx.version = Some(1);
    let e = map_error(&recorded_answer(&recorded), &cx);
    assert_eq!(e.code, ErrorCode::Conflict);
    assert!(!e.retryable);
    assert!(e.message.contains("nothing was written"), "{}", e.message);
    assert!(
        e.message
            .contains(r#"subject = "Welcome aboard, {Person.firstName}!""#),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("read at version 1, now 2"),
        "{}",
        e.message
    );
    assert!(e.suggestion.contains("crm_get"), "{}", e.suggestion);
    let details = e.details.unwrap();
    assert_eq!(
        details["current"]["subject"],
        "Welcome aboard, {Person.firstName}!"
    );
    assert_eq!(details["version"], 2);
    assert_eq!(details["read_version"], 1);
    // another 409 (a locked record) stays a plain conflict
    let locked = answer(409, vec![("X-Status-Reason", "locked")], Vec::new());
    let e = map_error(&locked, &cx);
    assert_eq!(e.code, ErrorCode::Conflict);
    assert!(e.details.is_none());
}

fn invalid(field: &str) -> crmgate_core::upstream::UpstreamResponse {
    let reason =
        format!("Field validation failure; entityType: Contact, field: {field}, type: valid.");
    let body = json!({"messageTranslation": {"label": "validationFailure", "scope": null, "data": {"field": field, "type": "valid"}}});
    answer(
        400,
        vec![
            ("X-Status-Reason", reason.as_str()),
            ("Content-Type", "application/json"),
        ],
        serde_json::to_vec(&body).unwrap(),
    )
}

#[test]
fn a_bad_phone_number_is_about_phone_format_not_allowed_values() {
    let schema = EntitySchema {
        entity: "contacts".into(),
        native: "Contact".into(),
        fields: vec![
            FieldSchema::new("phoneNumber", FieldType::Phone),
            FieldSchema::new("mobile", FieldType::Phone),
            FieldSchema::new("salutationName", FieldType::Enum),
            FieldSchema::new("birthday", FieldType::Date),
        ],
        links: Vec::new(),
    };
    let mut cx = ctx(Op::Create, "contacts", "Contact", None);
    cx.schema = Some(&schema);
    for field in ["phoneNumber", "mobile"] {
        let e = map_error(&invalid(field), &cx);
        assert_eq!(e.code, ErrorCode::Validation);
        assert!(e.message.contains("phone number"), "{}", e.message);
        assert!(!e.message.contains("allowed values"), "{}", e.message);
        assert!(
            e.suggestion.contains("international") && e.suggestion.contains("country code"),
            "{}",
            e.suggestion
        );
        assert_eq!(e.details.as_ref().unwrap()["field"], field);
        assert_eq!(e.details.as_ref().unwrap()["rule"], "valid");
    }
    // without a schema the attribute's name tells a phone number
    let bare = ctx(Op::Update, "contacts", "Contact", Some("6b012cf5de3340e2e"));
    let e = map_error(&invalid("phoneNumber"), &bare);
    assert!(e.suggestion.contains("+"), "{}", e.suggestion);
    // an enum's `valid` keeps its own wording; a date's says what a date is
    let e = map_error(&invalid("salutationName"), &cx);
    assert!(e.message.contains("allowed values"), "{}", e.message);
    let e = map_error(&invalid("birthday"), &cx);
    assert!(e.suggestion.contains("YYYY-MM-DD"), "{}", e.suggestion);
    // the recorded enum failure is unchanged
    let e = map_error(
        &recorded_answer(&fixture("create_lead_invalid_enum")),
        &ctx(Op::Create, "leads", "Lead", None),
    );
    assert!(e.message.contains("allowed values"), "{}", e.message);
}

#[test]
fn restore_answers_are_permission_conflict_and_not_found() {
    let cx = ctx(
        Op::Restore,
        "companies",
        "Account",
        Some("6b012cf59353c4863"),
    );
    // a non-admin: `new Forbidden()`, an empty X-Status-Reason
    let forbidden = answer(
        403,
        vec![
            ("X-Status-Reason", ""),
            ("Content-Type", "application/json"),
        ],
        Vec::new(),
    );
    let e = map_error(&forbidden, &cx);
    assert_eq!(e.code, ErrorCode::PermissionDenied);
    assert!(e.message.contains("administrator"), "{}", e.message);
    assert_eq!(e.details.unwrap()["permission"], "EspoCRM: administrator");
    // a record that is not deleted
    let live = answer(
        403,
        vec![("X-Status-Reason", "No 'deleted' attribute.")],
        Vec::new(),
    );
    let e = map_error(&live, &cx);
    assert_eq!(e.code, ErrorCode::Conflict);
    assert!(e.message.contains("not deleted"), "{}", e.message);
    // purged: `new NotFound()`
    let gone = answer(404, vec![("X-Status-Reason", "")], Vec::new());
    let e = map_error(&gone, &cx);
    assert_eq!(e.code, ErrorCode::NotFound);
    assert!(e.message.contains("purged"), "{}", e.message);
    // a 404 without EspoCRM's header is still a wrong url, not a missing record
    let e = map_error(&answer(404, vec![], Vec::new()), &cx);
    assert_eq!(e.code, ErrorCode::Config);
}

#[test]
fn only_an_administrator_may_restore() {
    let scopes_meta = fixture("metadata_scopes")["response"]["body"].clone();
    let api_user = fixture("app_user_api_key")["response"]["body"].clone();
    let access = scopes::access(&scopes_meta, &api_user).unwrap();
    assert!(!scopes::is_admin(&api_user["user"]));
    let companies = access.entities.get("companies").unwrap();
    assert!(!scopes::may_restore(companies));

    let mut admin = api_user.clone();
    admin["user"]["type"] = Value::String("admin".into());
    let access = scopes::access(&scopes_meta, &admin).unwrap();
    let companies = access.entities.get("companies").unwrap();
    assert!(scopes::may_restore(companies));
    assert!(
        companies.notes.iter().any(|n| n.contains("administrator")),
        "{:?}",
        companies.notes
    );
    // the flag never disturbs the entity's index
    let keys: Vec<u64> = access
        .entities
        .entities()
        .iter()
        .map(|e| e.key & 0xffff_ffff)
        .collect();
    assert_eq!(keys, (0..keys.len() as u64).collect::<Vec<_>>());
}
