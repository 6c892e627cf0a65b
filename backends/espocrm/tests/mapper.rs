//! Pure mappers on recorded EspoCRM 9.1.7 answers (tests/fixtures): records, pages, scopes and
//! permissions, schemas, stream notes, error answers, the HMAC string, and the requests the
//! backend builds compared with recorded ones. No I/O.

use bytes_of::response;
use crmgate_core::ErrorCode;
use crmgate_core::filter::{Condition, Filter, FilterOp, SortKey};
use crmgate_core::model::Operation;
use crmgate_core::schema::{FieldType, LinkKind};
use crmgate_espocrm::errors::{Ctx, Op, map_error};
use crmgate_espocrm::list::{ListQuery, search_params};
use crmgate_espocrm::{auth, describe, filters, map, scopes};
use serde_json::{Value, json};

const SITE: &str = "https://crm.example.com";

fn load(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn body(name: &str) -> Value {
    load(name)["response"]["body"].clone()
}

mod bytes_of {
    use crmgate_core::upstream::UpstreamResponse;
    use reqwest::StatusCode;
    use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

    /// The recorded answer as the upstream layer hands it over.
    pub fn response(fixture: &serde_json::Value) -> UpstreamResponse {
        let r = &fixture["response"];
        let mut headers = HeaderMap::new();
        for (k, v) in r["headers"].as_object().unwrap() {
            headers.insert(
                HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()).unwrap(),
                HeaderValue::from_str(v.as_str().unwrap()).unwrap(),
            );
        }
        let body = match (&r["body"], r["body_is_json"].as_bool()) {
            (_, Some(false)) => Vec::new(),
            (v, _) => serde_json::to_vec(v).unwrap(),
        };
        UpstreamResponse {
            status: StatusCode::from_u16(r["status"].as_u64().unwrap() as u16).unwrap(),
            headers,
            body: body.into(),
        }
    }
}

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
        site: SITE,
        schema: None,
        version: None,
    }
}

fn error_of(fixture: &str, cx: Ctx<'_>) -> crmgate_core::Error {
    map_error(&response(&load(fixture)), &cx)
}

#[test]
fn a_recorded_record_maps_to_title_deep_link_and_version() {
    let contact = map::record_from_body(
        SITE,
        "Contact",
        &serde_json::to_vec(&body("read_contact")).unwrap(),
    )
    .unwrap();
    assert_eq!(contact.id, "6b012cf5de3340e2e");
    assert_eq!(contact.title, "Alice Anderson");
    assert_eq!(
        contact.url.as_deref(),
        Some("https://crm.example.com/#Contact/view/6b012cf5de3340e2e")
    );
    assert_eq!(contact.fields["accountName"], "Acme Corporation");
    assert!(!contact.fields.contains_key("deleted"));
    assert_eq!(contact.version, None, "contacts carry no versionNumber");
    let deal = map::record_from_body(
        SITE,
        "Opportunity",
        &serde_json::to_vec(&body("read_opportunity")).unwrap(),
    )
    .unwrap();
    assert_eq!(deal.version.as_deref(), Some("1"));
    assert_eq!(deal.fields["amount"], 85000);
    assert!(map::record_from_body(SITE, "Contact", b"{\"name\": \"no id\"}").is_err());
    assert_eq!(
        map::record_from_body(SITE, "Contact", b"{\"id\": ")
            .unwrap_err()
            .code,
        ErrorCode::UpstreamProtocol
    );
}

#[test]
fn pages_read_counted_and_uncounted_totals() {
    let more = map::list_page(
        "contacts",
        &serde_json::to_vec(&body("list_contact_x_no_total_more")).unwrap(),
    )
    .unwrap();
    assert_eq!((more.total, more.list.len()), (-1, 3));
    assert!(more.has_more(0) && more.exact_total().is_none());
    let last = map::list_page(
        "contacts",
        &serde_json::to_vec(&body("list_contact_x_no_total_last_page")).unwrap(),
    )
    .unwrap();
    assert_eq!(last.total, -2);
    assert!(!last.has_more(0));
    let counted = map::list_page(
        "contacts",
        &serde_json::to_vec(&body("list_contact_order_offset_maxsize_select")).unwrap(),
    )
    .unwrap();
    assert_eq!(counted.exact_total(), Some(10));
    assert!(counted.has_more(2), "offset 2 + 3 < 10");
    assert!(!counted.has_more(7));
    assert!(map::list_page("contacts", b"[1,2]").is_err());
}

#[test]
fn scopes_and_the_acl_table_give_entities_and_operations() {
    let access = scopes::access(&body("metadata_scopes"), &body("app_user_api_key")).unwrap();
    let names: Vec<&str> = access.entities.iter().map(|e| e.name.as_str()).collect();
    for expected in [
        "companies",
        "contacts",
        "leads",
        "deals",
        "tasks",
        "cases",
        "meetings",
        "calls",
        "emails",
        "email_templates",
        "notes",
        "users",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(
        !names
            .iter()
            .any(|n| ["Team", "teams", "Attachment", "Target"].contains(n)),
        "{names:?}"
    );
    let find = |n: &str| access.entities.iter().find(|e| e.name == n).unwrap();
    let contacts = find("contacts");
    for op in [
        Operation::Search,
        Operation::Create,
        Operation::Update,
        Operation::Delete,
        Operation::Link,
        Operation::Note,
        Operation::Timeline,
        Operation::DraftEmail,
    ] {
        assert!(contacts.supports(op), "contacts {op:?}");
    }
    assert_eq!(contacts.native, "Contact");
    assert_eq!(contacts.filter_ops.len(), 13);
    assert!(
        contacts
            .notes
            .iter()
            .any(|n| n.contains("skip_duplicate_check"))
    );
    let deals = find("deals");
    assert_eq!(deals.actions[0].name, "move_stage");
    assert_eq!(access.status_fields["Opportunity"], "stage");
    let users = find("users");
    assert!(!users.supports(Operation::Create) && users.supports(Operation::Get));
    assert!(
        users.notes.iter().any(|n| n.contains("only its own")),
        "read: own is said"
    );
    let emails = find("emails");
    assert!(
        !emails.supports(Operation::Create) && !emails.supports(Operation::Update),
        "Sending would send"
    );
    assert_eq!(
        access.user_email.as_deref(),
        Some("api-full@crm.example.com")
    );
}

#[test]
fn the_contact_schema_expands_fields_to_attributes_with_labels() {
    let defs = body("metadata_entitydefs_contact");
    let i18n = body("i18n_trimmed");
    let schema = describe::schema("Contact", &defs, &i18n, &Default::default());
    assert_eq!(schema.entity, "contacts");
    assert_eq!(schema.fields[0].name, "id");
    assert_eq!(schema.fields[1].name, "name");
    let f = |n: &str| schema.field(n).unwrap_or_else(|| panic!("no {n}"));
    assert!(f("name").is_read_only(), "personName is computed");
    assert!(f("lastName").required && f("lastName").max_length == Some(100));
    assert_eq!(f("emailAddress").field_type, FieldType::Email);
    assert_eq!(f("accountId").field_type, FieldType::Reference);
    assert_eq!(f("accountId").link_entity.as_deref(), Some("companies"));
    assert!(f("accountName").is_read_only());
    assert_eq!(f("accountsIds").field_type, FieldType::References);
    assert!(f("createdAt").is_read_only() && f("createdById").is_read_only());
    assert!(
        f("accountType").is_read_only(),
        "foreign fields are read-only"
    );
    assert!(
        f("opportunityRole").is_read_only(),
        "relationship columns are read-only"
    );
    assert!(
        !f("title").is_read_only(),
        "Contact title is notStorable but writable (recorded)"
    );
    // per field, what EspoCRM runs: a notStorable attribute only what its `where` lists
    use crmgate_core::filter::FilterOp::*;
    assert_eq!(
        f("title").filter_ops,
        vec![Eq, Ne, Contains, StartsWith, IsNull, IsNotNull],
        "title's where: LIKE, =, <>, IS NULL, IS NOT NULL (no IN)"
    );
    assert!(f("title").sortable, "title has an order definition");
    assert_eq!(
        f("hasPortalUser").filter_ops,
        vec![Eq, Ne],
        "where: = TRUE, = FALSE"
    );
    assert!(
        f("hasPortalUser").sortable,
        "notStorable, with an order definition"
    );
    assert!(f("opportunityRole").filter_ops.is_empty() && !f("opportunityRole").sortable);
    assert!(f("emailAddressData").filter_ops.is_empty());
    assert!(f("lastName").filters_with(Contains) && f("lastName").sortable);
    assert!(f("createdAt").filters_with(Between) && f("createdAt").sortable);
    assert!(f("accountsIds").filters_with(In) && !f("accountsIds").sortable);
    assert_eq!(f("name").filter_ops, vec![Eq, Contains, StartsWith]);
    assert_eq!(f("salutationName").options[0].value, "");
    assert!(
        schema.field("accountAnyId").is_none(),
        "utility fields are left out"
    );
    assert!(schema.field("address").is_none() && schema.field("addressCity").is_some());
    let accounts = schema.link("accounts").unwrap();
    assert_eq!(
        (accounts.target.as_str(), accounts.kind, accounts.writable),
        ("companies", LinkKind::Many, true)
    );
    assert!(
        !schema.link("account").unwrap().writable,
        "belongsTo: update accountId instead"
    );
    assert!(schema.compact_fields().contains(&"emailAddress".to_owned()));
}

#[test]
fn enum_labels_come_from_i18n_and_options_references_are_resolved() {
    let defs = json!({"fields": body("metadata_entitydefs_opportunity_fields")});
    let i18n = body("i18n_trimmed");
    let refs = describe::option_references(&defs);
    assert!(
        refs.contains(&("Lead".to_owned(), "source".to_owned())),
        "{refs:?}"
    );
    let lead_sources: Vec<String> = i18n["Lead"]["options"]["source"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let referenced = [("Lead.source".to_owned(), lead_sources)].into();
    let schema = describe::schema("Opportunity", &defs, &i18n, &referenced);
    let stage = schema.field("stage").unwrap();
    assert_eq!(stage.field_type, FieldType::Enum);
    assert_eq!(stage.options.len(), 6);
    assert_eq!(stage.label, "Stage");
    let source = schema.field("leadSource").unwrap();
    assert!(
        source
            .options
            .iter()
            .any(|o| o.value == "Web Site" && o.label == "Web Site")
    );
    assert_eq!(schema.field("amount").unwrap().field_type, FieldType::Money);
    assert!(schema.field("amount").unwrap().required);
    assert_eq!(
        schema.field("amountCurrency").unwrap().field_type,
        FieldType::Text,
        "enum without options"
    );
    assert!(schema.field("amountConverted").unwrap().is_read_only());
    assert!(schema.field("contactsColumns").is_some());
}

#[test]
fn stream_notes_become_timeline_items() {
    let stream = body("stream_account");
    let notes = stream["list"].as_array().unwrap();
    let items: Vec<_> = notes
        .iter()
        .filter_map(|n| {
            map::stream::timeline_item(("Account", "6b012cf59353c4863"), n.as_object().unwrap())
        })
        .collect();
    assert_eq!(items.len(), notes.len());
    assert_eq!(items[2].kind, "note");
    assert!(items[2].text.contains("2027 renewal"));
    assert_eq!(items[2].at, "2026-11-21T05:34:21Z");
    assert_eq!(items[2].author.as_deref(), Some("api-full"));
    assert_eq!(items[2].source.as_ref().unwrap().entity, "notes");
    let related = &items[3];
    assert_eq!(related.kind, "related_created");
    assert_eq!(
        related.source.as_ref().map(|s| s.entity.as_str()),
        Some("tasks")
    );
    let created = items.iter().find(|i| i.kind == "created").unwrap();
    assert_eq!(
        created.source.as_ref().map(|s| s.entity.as_str()),
        Some("tasks"),
        "a task created on a contact of this account"
    );
    let lead = body("stream_lead");
    let first = map::stream::timeline_item(
        ("Lead", "6b012cf6b65b60844"),
        lead["list"][1].as_object().unwrap(),
    )
    .unwrap();
    assert_eq!(first.kind, "created");
    assert!(first.text.contains("status: New"), "{}", first.text);
    assert!(
        first.source.is_none(),
        "its own creation points nowhere else"
    );
}

#[test]
fn error_answers_map_to_codes_with_suggestions() {
    let cases: Vec<(&str, Ctx<'static>, ErrorCode, &str)> = vec![
        (
            "auth_bad_api_key_401",
            ctx(Op::Metadata, "User", "User", None),
            ErrorCode::AuthFailed,
            "api_key",
        ),
        (
            "auth_espo_authorization_malformed_400",
            ctx(Op::Metadata, "User", "User", None),
            ErrorCode::AuthFailed,
            "api_key",
        ),
        (
            "auth_failed_attempts_lockout_403",
            ctx(Op::Metadata, "User", "User", None),
            ErrorCode::RateLimited,
            "60 seconds",
        ),
        (
            "restricted_list_account_403",
            ctx(Op::Search, "companies", "Account", None),
            ErrorCode::PermissionDenied,
            "Roles",
        ),
        (
            "create_task_assigned_user_forbidden",
            ctx(Op::Create, "tasks", "Task", None),
            ErrorCode::PermissionDenied,
            "read access to User",
        ),
        (
            "email_create_draft_foreign_from_403",
            ctx(Op::DraftEmail, "emails", "Email", None),
            ErrorCode::PermissionDenied,
            "email_from",
        ),
        (
            "read_missing_id_404",
            ctx(Op::Read, "contacts", "Contact", Some("0000000000000dead")),
            ErrorCode::NotFound,
            "crm_search",
        ),
        (
            "related_unknown_link_404",
            ctx(Op::Related, "companies", "Account", Some("x")),
            ErrorCode::NotFound,
            "crm_describe",
        ),
        (
            "link_unknown_link_404",
            ctx(Op::Link, "companies", "Account", Some("x")),
            ErrorCode::NotFound,
            "crm_describe",
        ),
        (
            "update_optimistic_concurrency_409_modified",
            ctx(Op::Update, "email_templates", "EmailTemplate", Some("x")),
            ErrorCode::Conflict,
            "crm_get",
        ),
        (
            "create_contact_missing_required_lastName",
            ctx(Op::Create, "contacts", "Contact", None),
            ErrorCode::Validation,
            "give it a value",
        ),
        (
            "list_where_unknown_attribute",
            ctx(Op::Search, "contacts", "Contact", None),
            ErrorCode::Validation,
            "crm_describe",
        ),
        (
            "list_where_missing_attribute",
            ctx(Op::Search, "contacts", "Contact", None),
            ErrorCode::UpstreamUnavailable,
            "later",
        ),
    ];
    for (fixture, cx, code, hint) in cases {
        let e = error_of(fixture, cx);
        assert_eq!(e.code, code, "{fixture}: {e}");
        assert!(e.suggestion.contains(hint), "{fixture}: {}", e.suggestion);
    }
    let lockout = error_of(
        "auth_failed_attempts_lockout_403",
        ctx(Op::Metadata, "User", "User", None),
    );
    assert_eq!(lockout.retry_after_s, Some(60));
    let denied = error_of(
        "restricted_list_account_403",
        ctx(Op::Search, "companies", "Account", None),
    );
    assert!(
        denied.message.contains("No read access."),
        "the X-Status-Reason is carried: {}",
        denied.message
    );
}

#[test]
fn validation_names_field_and_rule() {
    let e = error_of(
        "create_contact_maxlength_exceeded",
        ctx(Op::Create, "contacts", "Contact", None),
    );
    assert_eq!(e.code, ErrorCode::Validation);
    assert_eq!(e.details.as_ref().unwrap()["field"], "lastName");
    assert_eq!(e.details.as_ref().unwrap()["rule"], "maxLength");
    assert!(e.message.contains("contacts.lastName"));
    let subject = error_of(
        "email_create_draft_missing_subject",
        ctx(Op::DraftEmail, "emails", "Email", None),
    );
    assert_eq!(
        subject.details.as_ref().unwrap()["field"],
        "subject",
        "Email.name is the subject"
    );
    let enum_ = error_of(
        "create_lead_invalid_enum",
        ctx(Op::Create, "leads", "Lead", None),
    );
    assert_eq!(enum_.details.as_ref().unwrap()["rule"], "valid");
}

#[test]
fn duplicates_list_the_matching_records() {
    let e = error_of(
        "create_contact_duplicate_409",
        ctx(Op::Create, "contacts", "Contact", None),
    );
    assert_eq!(e.code, ErrorCode::Duplicate);
    let matches = &e.details.as_ref().unwrap()["matches"];
    assert_eq!(matches[0]["id"], "6b012cf5de3340e2e");
    assert_eq!(matches[0]["title"], "Alice Anderson");
    assert_eq!(
        matches[0]["url"],
        "https://crm.example.com/#Contact/view/6b012cf5de3340e2e"
    );
    assert!(e.message.contains("Alice Anderson") && e.suggestion.contains("skip_duplicate_check"));
}

#[test]
fn the_hmac_string_is_method_and_path_as_recorded() {
    for fixture in [
        "auth_hmac_success_get",
        "auth_hmac_success_get_with_query",
        "auth_hmac_success_post_with_body",
    ] {
        let request = &load(fixture)["request"];
        let path = request["path"]
            .as_str()
            .unwrap()
            .strip_prefix("/api/v1")
            .unwrap();
        assert_eq!(
            auth::string_to_sign(request["method"].as_str().unwrap(), path),
            request["hmac_string_to_sign"].as_str().unwrap(),
            "{fixture}"
        );
    }
}

fn cond(field: &str, op: FilterOp, value: Value) -> Condition {
    Condition {
        field: field.into(),
        op,
        value,
    }
}

#[test]
fn the_search_request_matches_the_recorded_search_params() {
    let defs = json!({"fields": body("metadata_entitydefs_opportunity_fields")});
    let schema = describe::schema(
        "Opportunity",
        &defs,
        &body("i18n_trimmed"),
        &Default::default(),
    );
    let filter = Filter {
        all: vec![
            cond(
                "stage",
                FilterOp::In,
                json!(["Proposal", "Negotiation", "Qualification"]),
            ),
            cond("amount", FilterOp::Gte, json!(5000)),
        ],
        ..Default::default()
    };
    let query = ListQuery {
        where_items: filters::where_items(&filter, &schema).unwrap(),
        order: filters::order(&[SortKey {
            field: "amount".into(),
            descending: true,
        }])
        .unwrap(),
        select: Some(vec![
            "id".into(),
            "name".into(),
            "stage".into(),
            "amount".into(),
        ]),
        text: None,
    };
    let built = search_params(&query, 0, 5);
    let recorded = load("list_opportunity_searchParams_json");
    let sent: Value =
        serde_json::from_str(recorded["request"]["query_decoded"][0][1].as_str().unwrap()).unwrap();
    assert_eq!(built, sent, "the backend sends what the recording sent");
    assert!(
        filters::order(&[
            SortKey {
                field: "a".into(),
                descending: false
            },
            SortKey {
                field: "b".into(),
                descending: false
            }
        ])
        .is_err(),
        "EspoCRM sorts by one field"
    );
}

#[test]
fn canonical_operators_become_native_where_items() {
    let defs = body("metadata_entitydefs_contact");
    let schema = describe::schema("Contact", &defs, &body("i18n_trimmed"), &Default::default());
    let one = |c: Condition| {
        filters::where_items(
            &Filter {
                all: vec![c],
                ..Default::default()
            },
            &schema,
        )
        .unwrap()[0]
            .clone()
    };
    assert_eq!(
        one(cond("accountId", FilterOp::Eq, json!("6b012cf59353c4863"))),
        json!({"type": "equals", "attribute": "accountId", "value": "6b012cf59353c4863"})
    );
    assert_eq!(
        one(cond("lastName", FilterOp::StartsWith, json!("B"))),
        json!({"type": "startsWith", "attribute": "lastName", "value": "B"})
    );
    assert_eq!(
        one(cond("emailAddress", FilterOp::IsNotNull, Value::Null)),
        json!({"type": "isNotNull", "attribute": "emailAddress"})
    );
    assert_eq!(
        one(cond("doNotCall", FilterOp::Eq, json!(true))),
        json!({"type": "isTrue", "attribute": "doNotCall"})
    );
    assert_eq!(
        one(cond("accountsIds", FilterOp::In, json!(["a"]))),
        json!({"type": "linkedWith", "attribute": "accounts", "value": ["a"]})
    );
    assert_eq!(
        one(cond("title", FilterOp::IsNull, Value::Null))["type"],
        "or",
        "empty text counts as null"
    );
    assert_eq!(
        one(cond("title", FilterOp::Ne, json!("CTO")))["value"][1]["type"],
        "isNull",
        "ne keeps empty values"
    );
    assert_eq!(
        one(cond(
            "createdAt",
            FilterOp::Between,
            json!(["2026-11-21T00:00:00Z", "2026-11-21T02:00:00+02:00"])
        )),
        json!({"type": "between", "attribute": "createdAt", "value": ["2026-11-21 00:00:00", "2026-11-21 00:00:00"]})
    );
    let bad = filters::where_items(
        &Filter {
            all: vec![cond("createdAt", FilterOp::Gt, json!("yesterday"))],
            ..Default::default()
        },
        &schema,
    );
    assert_eq!(bad.unwrap_err().code, ErrorCode::Validation);
    let any = Filter {
        any: vec![
            vec![cond("lastName", FilterOp::Eq, json!("Brown"))],
            vec![cond("lastName", FilterOp::Eq, json!("Clark"))],
        ],
        ..Default::default()
    };
    let items = filters::where_items(&any, &schema).unwrap();
    assert_eq!(items[0]["type"], "or");
    assert_eq!(items[0]["value"][1]["type"], "and");
}
