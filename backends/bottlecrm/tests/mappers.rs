//! The pure mappers on real recorded BottleCRM exchanges (`tests/fixtures/`, copied from the
//! recording made against a running BottleCRM at d3eb5f9): every list envelope, the detail
//! wrappers, every error body shape, comments, write answers and the OpenAPI document.

use crmgate_bottlecrm::describe::{self, Source};
use crmgate_bottlecrm::entities::Entity;
use crmgate_bottlecrm::map::error::{Context, duplicate_field, from_status};
use crmgate_bottlecrm::map::{answer, comment, list, record};
use crmgate_core::ErrorCode;
use crmgate_core::model::FieldSelection;
use crmgate_core::schema::FieldType;
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn body(name: &str) -> Value {
    fixture(name)["response"]["body"].clone()
}

/// The error a recorded failed answer maps to.
fn error_of(name: &str, entity: Option<Entity>, id: Option<&str>) -> crmgate_core::Error {
    let f = fixture(name);
    let status = f["response"]["status"].as_u64().unwrap() as u16;
    let bytes = match &f["response"]["body"] {
        Value::String(s) => s.clone().into_bytes(),
        other => other.to_string().into_bytes(),
    };
    let method = f["request"]["method"].as_str().unwrap().to_owned();
    from_status(
        Context {
            entity,
            id,
            method: &method,
        },
        status,
        &bytes,
    )
}

#[test]
fn every_list_envelope_becomes_sections_of_rows_and_counts() {
    let cases = [
        (Entity::Leads, "leads__list_default", vec![8, 1]),
        (Entity::Contacts, "contacts__list_default", vec![7]),
        (Entity::Accounts, "accounts__list_default", vec![5, 1]),
        (
            Entity::Opportunities,
            "opportunities__list_default",
            vec![5],
        ),
        (Entity::Tasks, "tasks__list_default", vec![4]),
        (Entity::Cases, "cases__list_default", vec![3]),
        (Entity::Solutions, "solutions__list_default", vec![3]),
        (Entity::Invoices, "invoices__list_default", vec![3]),
    ];
    for (entity, name, counts) in cases {
        let raw = body(name);
        let sections = list::sections(
            entity,
            raw.to_string().as_bytes(),
            None,
            &FieldSelection::All,
        )
        .unwrap();
        // the same from the bytes and from a parsed answer
        assert_eq!(sections, list::sections_of(entity, &raw, None).unwrap());
        let got: Vec<u64> = sections.iter().map(|s| s.count).collect();
        assert_eq!(got, counts, "{name}");
        for s in &sections {
            // one page of at most 10 rows, all of them records (catalogues dropped)
            assert_eq!(s.rows.len() as u64, s.count.min(10), "{name}");
            for r in &s.rows {
                assert!(!r.id.is_empty() && !r.title.is_empty(), "{name}");
                for catalogue in [
                    "countries",
                    "users",
                    "accounts_list",
                    "contacts_list",
                    "industries",
                ] {
                    assert!(
                        !r.fields.contains_key(catalogue),
                        "{name}: {catalogue} leaked into a record"
                    );
                }
            }
        }
    }
}

#[test]
fn paged_answers_give_the_rows_to_compute_the_next_offset_from() {
    // leads limit=2&offset=1: the open section has 8, 2 rows from offset 1 → next offset 3;
    // the closed section (1 row) is past its end at offset 1 and answers offset 0, no rows
    let s = list::sections_of(Entity::Leads, &body("leads__list_limit_offset"), None).unwrap();
    assert_eq!((s[0].rows.len(), s[0].count), (2, 8));
    assert_eq!((s[1].rows.len(), s[1].count), (0, 1));
    // contacts answer offset 2 for a page at offset 2: not a usable next offset (it would repeat)
    let raw = body("contacts__list_limit_offset");
    assert_eq!(raw["offset"], 2);
    let s = list::sections_of(Entity::Contacts, &raw, None).unwrap();
    assert_eq!((s[0].rows.len(), s[0].count), (2, 7));
    // limit=0&offset=-5 falls back to 10 rows from 0
    let s = list::sections_of(Entity::Leads, &body("leads__list_limit_zero"), None).unwrap();
    assert_eq!(s[0].rows.len(), 8);
    for (entity, name, rows) in [
        (Entity::Accounts, "accounts__list_limit_offset", 2),
        (Entity::Tasks, "tasks__list_limit_offset", 2),
        (Entity::Cases, "cases__list_limit_offset", 1),
        (Entity::Solutions, "solutions__list_limit_offset", 1),
        (Entity::Invoices, "invoices__list_limit_offset", 1),
    ] {
        assert_eq!(
            list::sections_of(entity, &body(name), None).unwrap()[0]
                .rows
                .len(),
            rows,
            "{name}"
        );
    }
}

#[test]
fn a_list_without_its_keys_is_a_protocol_error() {
    let e = list::sections_of(Entity::Tasks, &json!({"results": []}), None).unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamProtocol);
    assert!(e.message.contains("tasks"), "{}", e.message);
}

#[test]
fn records_carry_references_as_writes_take_them() {
    let lead = body("leads__detail");
    let r = record::to_record(
        Entity::Leads,
        record::detail_object(Entity::Leads, &lead).unwrap(),
        Some("https://app.example"),
    )
    .unwrap();
    assert_eq!(r.id, "f7414bc8-695f-4de0-9b7a-9ab286e22eef");
    assert_eq!(r.title, "Jane Smith (Acme Prospects)");
    assert_eq!(
        r.fields["assigned_to"],
        json!(["fe0356fd-eb4b-4dfa-836f-f45b794bc038"])
    );
    assert_eq!(
        r.fields["tags"],
        json!(["2c0cf63d-c6a5-45ed-ac03-8533f6ffede6"])
    );
    assert_eq!(
        r.fields["created_by"],
        json!("5ff8de88-8ba1-4a68-b25d-2822b7fe5f25")
    );
    assert_eq!(r.fields["opportunity_amount"], json!(5000.0));
    assert_eq!(
        r.url.as_deref(),
        Some("https://app.example/leads/f7414bc8-695f-4de0-9b7a-9ab286e22eef")
    );
    assert!(
        r.version.as_deref().unwrap().starts_with("u:"),
        "leads have updated_at"
    );

    let contact = body("contacts__detail");
    let c = record::to_record(Entity::Contacts, &contact["contact_obj"], None).unwrap();
    assert_eq!(
        c.fields["tags"],
        json!(["2c0cf63d-c6a5-45ed-ac03-8533f6ffede6"]),
        "contact tags are already ids"
    );
    assert_eq!(
        c.fields["account"],
        json!("3a11cdd1-14ee-48cc-8e05-1dae2f07519a")
    );
    assert!(c.fields["org"].is_string());

    let account = body("accounts__detail");
    let a = record::to_record(Entity::Accounts, &account["account_obj"], None).unwrap();
    assert!(
        a.fields["tags"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t.as_str().is_some_and(|n| !n.contains('-'))),
        "account tags are names"
    );
    assert!(
        a.fields["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .all(Value::is_string)
    );
    assert_eq!(a.fields["annual_revenue"], json!(1200000.0));

    let deal = body("opportunities__detail");
    let d = record::to_record(Entity::Opportunities, &deal["opportunity_obj"], None).unwrap();
    assert_eq!(
        d.fields["account"],
        json!("3a11cdd1-14ee-48cc-8e05-1dae2f07519a")
    );
    assert_eq!(d.fields["amount"], json!(45000.0));
    // no updated_at: a hash that ignores the clock-driven fields
    let mut later = deal["opportunity_obj"].clone();
    later["created_on_arrow"] = json!("3 hours ago");
    later["days_in_stage"] = json!(4);
    assert_eq!(
        record::to_record(Entity::Opportunities, &later, None)
            .unwrap()
            .version,
        d.version
    );
    later["stage"] = json!("NEGOTIATION");
    assert_ne!(
        record::to_record(Entity::Opportunities, &later, None)
            .unwrap()
            .version,
        d.version
    );

    let invoice = body("invoices__detail");
    let i = record::to_record(Entity::Invoices, &invoice["invoice"], None).unwrap();
    assert_eq!(i.title, "INV-20261121-0001 — Globex platform licence Q4");
    assert_eq!(
        i.fields["account_id"],
        json!("3a11cdd1-14ee-48cc-8e05-1dae2f07519a")
    );
    assert_eq!(
        i.fields["contact_id"],
        json!("832bb2af-d4c5-4a4b-9926-6c9d9cfb15b7")
    );
    assert_eq!(
        i.fields["opportunity_id"],
        json!("b53ddbe1-4549-428c-9c87-6f99e1976079")
    );
    assert!(!i.fields.contains_key("account"));
    assert_eq!(i.fields["total_amount"], json!(49500.0));

    let solution = body("solutions__detail");
    let s = record::to_record(
        Entity::Solutions,
        record::detail_object(Entity::Solutions, &solution).unwrap(),
        None,
    )
    .unwrap();
    assert_eq!(s.title, "Reset a locked portal account");

    let task = body("tasks__detail");
    let t = record::to_record(Entity::Tasks, &task["task_obj"], None).unwrap();
    assert_eq!(
        t.fields["account"],
        json!("3a11cdd1-14ee-48cc-8e05-1dae2f07519a")
    );
    let case = body("cases__detail");
    let k = record::to_record(Entity::Cases, &case["cases_obj"], None).unwrap();
    assert!(k.fields["account"].is_string());
    assert!(record::detail_object(Entity::Tasks, &json!({"nope": 1})).is_err());
}

#[test]
fn bad_unknown_revoked_and_expired_tokens_are_auth_failures_with_a_hint() {
    for name in [
        "auth__bad_token",
        "auth__revoked_token",
        "auth__expired_token",
        "auth__auth_me_with_pat",
    ] {
        let e = error_of(name, Some(Entity::Leads), None);
        assert_eq!(e.code, ErrorCode::AuthFailed, "{name}");
        assert!(
            e.suggestion.contains("personal access token"),
            "{name}: {}",
            e.suggestion
        );
        assert!(
            e.details.as_ref().unwrap()["upstream"].is_object(),
            "{name}: upstream JSON kept"
        );
    }
}

#[test]
fn scope_refusals_name_the_missing_scope() {
    let e = error_of("auth__scoped_token_write_denied", Some(Entity::Leads), None);
    assert_eq!(e.code, ErrorCode::PermissionDenied);
    assert_eq!(e.details.as_ref().unwrap()["missing_scope"], "leads:write");
    assert!(e.suggestion.contains("\"leads:write\""), "{}", e.suggestion);
    let e = error_of(
        "auth__scoped_token_other_resource_denied",
        Some(Entity::Contacts),
        None,
    );
    assert_eq!(
        e.details.as_ref().unwrap()["missing_scope"],
        "contacts:read"
    );
    let e = error_of("auth__scoped_token_schema_denied", None, None);
    assert_eq!(e.code, ErrorCode::PermissionDenied);
    assert!(e.suggestion.contains("unrestricted"));
    let e = error_of("auth__pat_on_credential_path", None, None);
    assert_eq!(e.code, ErrorCode::PermissionDenied);
}

#[test]
fn every_error_shape_maps_to_a_clean_error_keeping_the_upstream_json() {
    let id = "00000000-0000-4000-8000-000000000000";
    let cases: &[(&str, Entity, ErrorCode, &str)] = &[
        (
            "leads__detail_missing",
            Entity::Leads,
            ErrorCode::NotFound,
            "No Lead matches",
        ),
        (
            "tasks__detail_missing",
            Entity::Tasks,
            ErrorCode::NotFound,
            "No such task",
        ),
        (
            "opportunities__detail_missing",
            Entity::Opportunities,
            ErrorCode::NotFound,
            "Opportunity not found",
        ),
        (
            "invoices__detail_missing",
            Entity::Invoices,
            ErrorCode::NotFound,
            "Invoice not found",
        ),
        (
            "tenant__orgB_reads_orgA_lead",
            Entity::Leads,
            ErrorCode::NotFound,
            "No Lead matches",
        ),
        (
            "tenant__orgB_reads_orgA_opportunity",
            Entity::Opportunities,
            ErrorCode::NotFound,
            "Opportunity not found",
        ),
        (
            "contacts__create_invalid_fields",
            Entity::Contacts,
            ErrorCode::Validation,
            "email: Enter a valid email address.",
        ),
        (
            "solutions__create_missing_fields",
            Entity::Solutions,
            ErrorCode::Validation,
            "title: This field is required.",
        ),
        (
            "leads__list_bad_filter_date",
            Entity::Leads,
            ErrorCode::Validation,
            "created_at__gte",
        ),
        (
            "leads__list_bad_filter_assigned_to",
            Entity::Leads,
            ErrorCode::Validation,
            "assigned_to",
        ),
        (
            "solutions__publish_unapproved",
            Entity::Solutions,
            ErrorCode::Validation,
            "Only approved solutions",
        ),
        (
            "invoices__comment_empty",
            Entity::Invoices,
            ErrorCode::Validation,
            "Comment text required",
        ),
        (
            "tasks__create_two_parents",
            Entity::Tasks,
            ErrorCode::Validation,
            "account: A task can only be linked",
        ),
        (
            "leads__convert_again",
            Entity::Leads,
            ErrorCode::Validation,
            "already converted",
        ),
        (
            "leads__convert_without_email",
            Entity::Leads,
            ErrorCode::Validation,
            "needs an email",
        ),
        (
            "invoices__send_cancelled",
            Entity::Invoices,
            ErrorCode::Validation,
            "Cannot send a cancelled invoice",
        ),
        (
            "contacts__create_duplicate_email",
            Entity::Contacts,
            ErrorCode::Duplicate,
            "this email",
        ),
        (
            "accounts__create_duplicate_name",
            Entity::Accounts,
            ErrorCode::Duplicate,
            "this name",
        ),
        (
            "leads__create_duplicate_email",
            Entity::Leads,
            ErrorCode::Duplicate,
            "already uses",
        ),
        (
            "role__user_reads_unassigned_lead",
            Entity::Leads,
            ErrorCode::PermissionDenied,
            "You do not have Permission",
        ),
        (
            "role__user_patches_unassigned_lead",
            Entity::Leads,
            ErrorCode::PermissionDenied,
            "You do not have Permission",
        ),
        (
            "role__user_deletes_assigned_lead",
            Entity::Leads,
            ErrorCode::PermissionDenied,
            "permission to delete",
        ),
        (
            "role__user_reads_unassigned_invoice",
            Entity::Invoices,
            ErrorCode::PermissionDenied,
            "Permission denied",
        ),
        (
            "leads__method_not_allowed",
            Entity::Leads,
            ErrorCode::NotAllowed,
            "POST",
        ),
        (
            "invoices__patch_not_allowed",
            Entity::Invoices,
            ErrorCode::NotAllowed,
            "PATCH",
        ),
        (
            "invoices__delete_not_allowed",
            Entity::Invoices,
            ErrorCode::NotAllowed,
            "DELETE",
        ),
    ];
    for (name, entity, code, text) in cases {
        let e = error_of(name, Some(*entity), Some(id));
        assert_eq!(e.code, *code, "{name}: {e}");
        assert!(e.message.contains(text), "{name}: {}", e.message);
        assert!(!e.suggestion.is_empty(), "{name}");
        let details = e.details.as_ref().unwrap();
        assert_eq!(
            details["upstream"],
            body(name),
            "{name}: the upstream JSON is kept as JSON"
        );
        assert_eq!(details["html"], false);
    }
    assert_eq!(
        duplicate_field(&error_of(
            "contacts__create_duplicate_email",
            Some(Entity::Contacts),
            None
        ))
        .as_deref(),
        Some("email")
    );
}

#[test]
fn html_pages_become_clean_errors_without_echoing_the_page() {
    for name in [
        "leads__detail_unparseable_id",
        "invoices__detail_uuid_bare_hex",
    ] {
        let e = error_of(name, Some(Entity::Leads), Some("x"));
        assert_eq!(e.code, ErrorCode::NotFound, "{name}");
        let d = e.details.as_ref().unwrap();
        assert_eq!(
            (d["html"].clone(), d["upstream"].clone()),
            (json!(true), Value::Null)
        );
        assert!(!e.message.contains("<"), "{}", e.message);
    }
    let e = error_of(
        "leads__comment_missing_lead",
        Some(Entity::Leads),
        Some("x"),
    );
    assert_eq!(e.code, ErrorCode::UpstreamUnavailable);
    assert_eq!(e.details.as_ref().unwrap()["html"], true);
}

#[test]
fn comments_become_notes_and_a_newest_first_timeline() {
    for (entity, name, text) in [
        (
            Entity::Leads,
            "leads__comment_add",
            "Called Jane, wants a demo next week.",
        ),
        (
            Entity::Contacts,
            "contacts__comment_add",
            "Hank prefers email contact.",
        ),
        (Entity::Tasks, "tasks__comment_add", "Left a voicemail."),
        (
            Entity::Invoices,
            "invoices__comment_add",
            "Client asked for a PDF copy.",
        ),
        (
            Entity::Cases,
            "cases__comment_add",
            "Reproduced on staging.",
        ),
    ] {
        let answer = body(name);
        let c =
            comment::posted(&answer, text).unwrap_or_else(|| panic!("{name}: comment not found"));
        let note = comment::note_record(entity, "rec", c).unwrap();
        assert_eq!(note.fields["comment"], json!(text), "{name}");
        assert_eq!(
            note.fields["commented_by"],
            json!("admin@acme.test"),
            "{name}"
        );
        assert!(!note.id.is_empty());
    }
    let items = comment::timeline(&body("cases__comment_add"));
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].kind, "internal_note");
    let detail = json!({"comments": [
        {"id": "a", "comment": "old", "commented_on": "2026-01-01T00:00:00Z", "commented_by": {"user_details": {"email": "x@y.z"}}},
        {"id": "b", "comment": "new", "commented_on": "2026-02-01T00:00:00Z", "commented_by": {"user_details": {"email": "x@y.z"}}}
    ]});
    let items = comment::timeline(&detail);
    assert_eq!(
        items.iter().map(|i| i.text.as_str()).collect::<Vec<_>>(),
        ["new", "old"]
    );
}

#[test]
fn write_answers_give_ids_where_bottlecrm_has_them() {
    for (name, id) in [
        (
            "accounts__create_success",
            "3a11cdd1-14ee-48cc-8e05-1dae2f07519a",
        ),
        (
            "opportunities__create_success",
            "b53ddbe1-4549-428c-9c87-6f99e1976079",
        ),
    ] {
        assert_eq!(answer::created_id(&body(name)).unwrap(), id, "{name}");
    }
    assert_eq!(
        answer::created_id(&body("contacts__create_success")).unwrap(),
        "832bb2af-d4c5-4a4b-9926-6c9d9cfb15b7"
    );
    assert_eq!(
        answer::created_id(&body("cases__create_success")).unwrap(),
        "2a9f634f-549b-412f-8ba6-d1f2ebdf3d0d"
    );
    for name in ["leads__create_success", "tasks__create_success"] {
        assert_eq!(
            answer::created_id(&body(name)).unwrap_err().code,
            ErrorCode::UpstreamProtocol,
            "{name}: no id"
        );
    }
    let invoice = body("invoices__create_success");
    let r = record::to_record(Entity::Invoices, &invoice["invoice"], None).unwrap();
    assert_eq!(r.id, "e4b44c98-9c13-4a46-988e-00d668ea2202");
    let solution = body("solutions__create_success");
    assert!(record::to_record(Entity::Solutions, &solution, None).is_ok());
    let conversion = body("leads__convert");
    assert!(answer::is_conversion(&conversion));
    let v = answer::conversion("lead", &conversion);
    assert_eq!(v["account_id"], "50dc993e-f1a9-45d9-8c27-0719ccc82a22");
    assert_eq!(v["contact_id"], "b8c53687-fb09-41ee-9026-295996d1d997");
    assert_eq!(v["opportunity_id"], "12c044ff-b165-4716-b5fb-49867b2c6ae4");
    assert_eq!(
        answer::message(&body("invoices__send")),
        Some("Invoice sent successfully")
    );
    let cancelled = body("invoices__cancel");
    assert_eq!(
        record::to_record(Entity::Invoices, &cancelled["invoice"], None)
            .unwrap()
            .fields["status"],
        "Cancelled"
    );
}

#[test]
fn describe_comes_from_the_request_bodies_corrected_by_the_facts() {
    let doc = body("schema__json");
    let schemas = describe::build(Some(&doc));
    assert_eq!(schemas.source, Source::OpenApi);
    let contacts = schemas.get(Entity::Contacts);
    let country = contacts.field("country").unwrap();
    assert_eq!(country.field_type, FieldType::Enum);
    assert!(country.options.len() > 200);
    // each value once, in the document's order (the enum is reached through `oneOf` and `$ref`)
    let values: Vec<&str> = country.options.iter().map(|o| o.value.as_str()).collect();
    let distinct: std::collections::HashSet<&str> = values.iter().copied().collect();
    assert_eq!(distinct.len(), values.len(), "an option listed twice");
    let listed = doc["components"]["schemas"]["ClientCountryEnum"]["enum"]
        .as_array()
        .unwrap();
    assert_eq!(values[0], listed[0].as_str().unwrap());
    assert!(
        country
            .options
            .iter()
            .any(|o| o.value == "GB" && o.label == "United Kingdom")
    );
    let leads = schemas.get(Entity::Leads);
    let source = leads.field("source").unwrap();
    assert!(
        source
            .options
            .iter()
            .any(|o| o.value == "compaign" && o.label == "Campaign")
    );
    // the schema claims assigned_to, contacts and teams are required on leads: nothing is
    assert!(
        leads.fields.iter().all(|f| !f.required),
        "no lead field is required"
    );
    // and that opportunities need closed_on: only name is
    let required = |e: Entity| -> Vec<String> {
        let mut names: Vec<String> = schemas
            .get(e)
            .fields
            .iter()
            .filter(|f| f.required)
            .map(|f| f.name.clone())
            .collect();
        names.sort();
        names
    };
    assert_eq!(required(Entity::Opportunities), ["name"]);
    assert_eq!(required(Entity::Tasks), ["priority", "status", "title"]);
    assert_eq!(
        required(Entity::Invoices),
        ["account_id", "contact_id", "invoice_title"]
    );
    assert_eq!(leads.field("title").unwrap().max_length, Some(255));
    // filterable fields come first, after the id
    let tasks = schemas.get(Entity::Tasks);
    assert_eq!(tasks.fields[0].name, "id");
    assert_eq!(tasks.fields[1].name, "status");
    // without the document: the static tables
    let fallback = describe::build(None);
    assert_eq!(fallback.source, Source::Static);
    assert_eq!(
        fallback
            .get(Entity::Contacts)
            .field("country")
            .unwrap()
            .field_type,
        FieldType::Text
    );
    assert_eq!(
        fallback
            .get(Entity::Leads)
            .field("source")
            .unwrap()
            .options
            .len(),
        7
    );
}
