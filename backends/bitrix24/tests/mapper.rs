//! Pure mappers on documented Bitrix24 response shapes (`fixtures/`, written from the docs:
//! there are no recordings): dictionaries, `crm.item.fields` → schema, items → records with
//! labels, values back to the wire, filters to prefix operators, and batch answers.

use crmgate_bitrix24::client::BatchOutcome;
use crmgate_bitrix24::filters;
use crmgate_bitrix24::map::dicts::{Dictionaries, Semantics};
use crmgate_bitrix24::map::fields::EntityMeta;
use crmgate_bitrix24::map::record::{to_record, to_wire};
use crmgate_bitrix24::wire::Envelope;
use crmgate_core::ErrorCode;
use crmgate_core::filter::{Condition, Filter, FilterOp, SortKey};
use crmgate_core::schema::FieldType;
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

mod common;

fn dictionaries() -> Dictionaries {
    common::documented_dictionaries()
}

fn deals() -> EntityMeta {
    common::documented_deals()
}

#[test]
fn dictionaries_read_semantics_strings_and_names() {
    let d = dictionaries();
    assert_eq!(d.statuses.len(), 7);
    let won = d.statuses.iter().find(|s| s.status_id == "WON").unwrap();
    assert_eq!(
        (won.sort, won.category_id, won.semantics),
        (60, Some(0), Some(Semantics::Success))
    );
    // no EXTRA: SEMANTICS decides
    let fail = d
        .statuses
        .iter()
        .find(|s| s.status_id == "DT128_3:FAIL")
        .unwrap();
    assert_eq!(fail.semantics, Some(Semantics::Failure));
    assert_eq!(
        d.statuses
            .iter()
            .find(|s| s.status_id == "CALL")
            .unwrap()
            .semantics,
        None
    );
    assert_eq!(d.stage_ids(2, Semantics::Success), ["WON", "C1:WON"]);
    assert_eq!(d.stage_ids(2, Semantics::Process), ["NEW", "C1:NEW"]);
    assert_eq!(d.stages(128).len(), 1);
    assert!(d.currencies.iter().any(|c| c.code == "USD" && c.base));
    assert_eq!(d.users["1"], "John Smith");
    assert_eq!(d.users["99"], "robot@example.com");
    assert_eq!(d.category_name(2, 1), Some("Partners"));
}

#[test]
fn item_fields_become_a_schema() {
    let meta = deals();
    let s = &meta.schema;
    assert_eq!(s.fields[0].name, "id");
    assert_eq!(s.fields[1].name, "title");
    let f = |n: &str| s.field(n).unwrap();
    assert_eq!(f("id").field_type, FieldType::Id);
    assert!(f("id").is_read_only());
    assert_eq!(f("opportunity").field_type, FieldType::Money);
    assert_eq!(f("opened").field_type, FieldType::Boolean);
    assert_eq!(f("closedate").field_type, FieldType::Date);
    assert_eq!(f("updatedTime").field_type, FieldType::DateTime);
    assert!(f("updatedTime").is_read_only());
    assert_eq!(f("assignedById").field_type, FieldType::Reference);
    assert!(f("assignedById").required);
    assert_eq!(f("companyId").link_entity.as_deref(), Some("companies"));
    assert_eq!(f("contactIds").field_type, FieldType::References);
    assert_eq!(f("fm").field_type, FieldType::Json);
    let stage = f("stageId");
    assert_eq!(stage.field_type, FieldType::Enum);
    let labels: Vec<&str> = stage.options.iter().map(|o| o.label.as_str()).collect();
    assert!(
        labels.contains(&"Signed [Partners] (success)"),
        "{labels:?}"
    );
    assert_eq!(f("categoryId").options.len(), 2);
    assert_eq!(f("currencyId").options[1].label, "Euro");
    let uf = f("UF_CRM_44_1721812814433");
    assert_eq!(uf.label, "Custom field (list)");
    assert_eq!(uf.options[1].value, "80");
    assert!(f("stageSemanticId").is_read_only());
    assert!(f("labels").is_read_only() && f("labels").compact);
    assert!(s.links.iter().any(|l| l.name == "contacts" && l.writable));
    // per field, from the recorded descriptors: isImmutable → create-only; what list runs
    use crmgate_core::filter::FilterOp::*;
    use crmgate_core::schema::FieldAccess;
    assert_eq!(
        f("categoryId").access,
        FieldAccess::CreateOnly,
        "recorded isImmutable"
    );
    assert_eq!(f("title").access, FieldAccess::ReadWrite);
    assert!(f("title").filters_with(Contains) && f("title").filters_with(StartsWith));
    assert!(
        !f("stageId").filters_with(Contains),
        "text matching only on text"
    );
    assert!(f("opportunity").filters_with(Between) && f("opportunity").sortable);
    assert!(
        f("fm").filter_ops.is_empty() && !f("fm").sortable,
        "phones and e-mails"
    );
    assert!(f("labels").filter_ops.is_empty() && !f("labels").sortable);
    assert!(!f("contactIds").sortable, "multiple fields do not sort");
    assert_eq!(f("stageSemanticId").filter_ops, vec![Eq, Ne, In, NotIn]);
}

#[test]
fn items_become_records_with_labels() {
    let meta = deals();
    let d = dictionaries();
    let env = Envelope::from_body(fixture("crm_item_list_deals.json")).unwrap();
    assert_eq!(
        (env.total, env.next, env.operating_reset_at),
        (Some(654), Some(50), Some(1718292834))
    );
    let mut items = crmgate_bitrix24::wire::items(env.result).into_iter();
    let won = to_record(
        items.next().unwrap(),
        &meta,
        &d,
        "https://acme.bitrix24.com",
    );
    assert_eq!(won.id, "253");
    assert_eq!(won.title, "Website redesign");
    assert_eq!(
        won.url.as_deref(),
        Some("https://acme.bitrix24.com/crm/deal/details/253/")
    );
    let f = &won.fields;
    assert_eq!(f["opportunity"], json!(19000));
    assert_eq!(f["opened"], json!(true));
    assert_eq!(f["assignedById"], json!("1"));
    assert_eq!(f["companyId"], Value::Null, "0 means no company");
    assert_eq!(f["contactIds"], json!(["5", "7"]));
    assert_eq!(f["categoryId"], json!("1"));
    assert_eq!(f["closedate"], json!("2024-06-30"));
    assert_eq!(f["UF_CRM_44_1721812814433"], json!("80"));
    assert_eq!(f["notDescribed"], json!("kept as is"));
    let labels = &f["labels"];
    assert_eq!(labels["assignedById"], "John Smith");
    assert_eq!(labels["stageId"], "Signed");
    assert_eq!(labels["categoryId"], "Partners");
    assert_eq!(labels["currencyId"], "Euro");
    assert_eq!(labels["UF_CRM_44_1721812814433"], "List item #2");

    // numbers as strings, empty dates, unknown users
    let open = to_record(
        items.next().unwrap(),
        &meta,
        &d,
        "https://acme.bitrix24.com",
    );
    assert_eq!(open.title, "#254");
    assert_eq!(open.fields["opportunity"], json!(15000.5));
    assert_eq!(open.fields["opened"], json!(false));
    assert_eq!(open.fields["closedate"], Value::Null);
    assert_eq!(open.fields["companyId"], json!("12"));
    assert!(
        open.fields["labels"].get("assignedById").is_none()
            || open.fields["labels"]["assignedById"] == "robot@example.com"
    );
}

#[test]
fn values_go_back_to_the_wire() {
    let meta = deals();
    let data =
        json!({"opened": false, "assignedById": "3", "categoryId": "1", "contactIds": ["5", "7"],
                      "UF_CRM_44_1721812814433": "79", "title": "x", "opportunity": 12.5})
        .as_object()
        .cloned()
        .unwrap();
    let wire = to_wire(&data, &meta);
    assert_eq!(
        wire,
        json!({"opened": "N", "assignedById": 3, "categoryId": 1, "contactIds": [5, 7],
               "UF_CRM_44_1721812814433": 79, "title": "x", "opportunity": 12.5})
    );
}

fn cond(field: &str, op: FilterOp, value: Value) -> Condition {
    Condition {
        field: field.into(),
        op,
        value,
    }
}

#[test]
fn filters_become_prefix_operators() {
    let meta = deals();
    let d = dictionaries();
    let filter = Filter {
        all: vec![
            cond("opportunity", FilterOp::Between, json!([1000, 5000])),
            cond("title", FilterOp::StartsWith, json!("Web")),
            cond("stageId", FilterOp::Ne, json!("LOSE")),
            cond("stageId", FilterOp::Ne, json!("C1:WON")),
            cond("opened", FilterOp::Eq, json!(true)),
            cond("companyId", FilterOp::IsNull, Value::Null),
            cond("stageSemanticId", FilterOp::Eq, json!("open")),
        ],
        any: vec![
            vec![cond("currencyId", FilterOp::In, json!(["EUR"]))],
            vec![cond("assignedById", FilterOp::Eq, json!("1"))],
        ],
        query: Some("acme".into()),
    };
    let f = Value::Object(filters::translate(&filter, &meta, &d).unwrap());
    assert_eq!(f[">=opportunity"], 1000);
    assert_eq!(f["<=opportunity"], 5000);
    assert_eq!(f["=%title"], "Web%");
    assert_eq!(f["!=stageId"], "LOSE");
    assert_eq!(
        f["0"],
        json!({"!=stageId": "C1:WON"}),
        "a repeated key nests"
    );
    assert_eq!(f["=opened"], "Y");
    assert_eq!(f["=companyId"], 0, "no company is stored as 0");
    assert_eq!(f["@stageId"], json!(["NEW", "C1:NEW"]));
    assert_eq!(
        f["1"],
        json!({"logic": "OR", "0": {"@currencyId": ["EUR"]}, "1": {"=assignedById": 1}})
    );
    assert_eq!(f["2"], json!({"logic": "OR", "0": {"%title": "acme"}}));

    let refuse = |c: Condition| {
        filters::translate(
            &Filter {
                all: vec![c],
                ..Filter::default()
            },
            &meta,
            &d,
        )
        .unwrap_err()
        .code
    };
    assert_eq!(
        refuse(cond("stageId", FilterOp::Contains, json!("WO"))),
        ErrorCode::UnsupportedFilter
    );
    assert_eq!(
        refuse(cond("labels", FilterOp::Eq, json!("x"))),
        ErrorCode::UnsupportedFilter
    );
    assert_eq!(
        refuse(cond("stageSemanticId", FilterOp::Eq, json!("maybe"))),
        ErrorCode::Validation
    );

    let order = filters::order(
        &[SortKey {
            field: "opportunity".into(),
            descending: true,
        }],
        &meta,
    )
    .unwrap();
    assert_eq!(
        order,
        vec![("opportunity".to_owned(), "DESC"), ("id".to_owned(), "ASC")]
    );
}

#[test]
fn batch_answers_keep_results_errors_and_totals_apart() {
    let env = Envelope::from_body(fixture("batch_result.json")).unwrap();
    let mut out = BatchOutcome::parse(env.result);
    assert_eq!(out.totals["get_user"], 1);
    assert!(out.nexts.is_empty(), "[] is an empty map");
    assert_eq!(
        out.take("get_department", "department.get")
            .unwrap_err()
            .code,
        ErrorCode::PermissionDenied
    );
    assert_eq!(out.take("get_user", "user.get").unwrap()[0]["NAME"], "John");
}

fn fields_of(v: Value) -> crmgate_core::model::Fields {
    v.as_object().cloned().unwrap()
}

#[test]
fn a_stage_must_belong_to_its_pipeline() {
    let meta = deals();
    let pipelines: Vec<(i64, bool, usize)> = meta
        .pipelines
        .iter()
        .map(|p| (p.id, p.default, p.stages.len()))
        .collect();
    assert_eq!(pipelines, vec![(0, true, 3), (1, false, 2)]);
    let rules = meta.stage_rules();
    // create: the default pipeline, or the one named
    assert!(
        rules
            .check_create(&fields_of(json!({"stageId": "WON"})))
            .is_ok()
    );
    let e = rules
        .check_create(&fields_of(json!({"stageId": "C1:WON"})))
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(
        e.message.contains("\"General\" (categoryId 0)"),
        "{}",
        e.message
    );
    assert!(
        e.suggestion
            .contains("NEW (New), WON (Deal won), LOSE (Deal lost)")
            && e.suggestion.contains("categoryId 1"),
        "{}",
        e.suggestion
    );
    assert_eq!(e.details.unwrap()["allowed"], json!(["NEW", "WON", "LOSE"]));
    assert!(
        rules
            .check_create(&fields_of(json!({"stageId": "C1:WON", "categoryId": "1"})))
            .is_ok()
    );
    assert!(
        rules
            .check_create(&fields_of(json!({"stageId": "WON", "categoryId": 1})))
            .is_err()
    );
    assert_eq!(
        rules
            .check_create(&fields_of(json!({"stageId": "NEW", "categoryId": 7})))
            .unwrap_err()
            .details
            .unwrap()["field"],
        "categoryId"
    );
    // update: the record's pipeline decides, read when the write does not say
    use crmgate_bitrix24::map::lookup::StageNeed;
    let stage_only = fields_of(json!({"stageId": "C1:NEW"}));
    assert_eq!(rules.update_needs(&stage_only), StageNeed::CurrentCategory);
    assert!(rules.check_update(&stage_only, Some(1)).is_ok());
    assert!(rules.check_update(&stage_only, Some(0)).is_err());
    let both = fields_of(json!({"stageId": "C1:NEW", "categoryId": 1}));
    assert_eq!(rules.update_needs(&both), StageNeed::Nothing);
    assert!(rules.check_update(&both, None).is_ok());
    let move_only = fields_of(json!({"categoryId": 1}));
    assert_eq!(rules.update_needs(&move_only), StageNeed::CurrentCategory);
    let e = rules.check_update(&move_only, Some(0)).unwrap_err();
    assert!(e.message.contains("needs a stage"), "{}", e.message);
    assert!(
        e.suggestion.contains("C1:NEW (Lead in)"),
        "{}",
        e.suggestion
    );
    assert!(
        rules.check_update(&move_only, Some(1)).is_ok(),
        "not a move"
    );
    let title = fields_of(json!({"title": "x"}));
    assert_eq!(rules.update_needs(&title), StageNeed::Nothing);
    assert!(rules.check_update(&title, None).is_ok());
}

#[test]
fn emptiness_and_text_matching_follow_the_portal() {
    let meta = deals();
    let d = dictionaries();
    let translate = |c: Condition| {
        filters::translate(
            &Filter {
                all: vec![c],
                ..Filter::default()
            },
            &meta,
            &d,
        )
        .map(Value::Object)
    };
    // a record without a company or responsible stores 0
    assert_eq!(
        translate(cond("companyId", FilterOp::IsNull, Value::Null)).unwrap(),
        json!({"=companyId": 0})
    );
    assert_eq!(
        translate(cond("companyId", FilterOp::IsNotNull, Value::Null)).unwrap(),
        json!({"!=companyId": 0})
    );
    assert_eq!(
        translate(cond("assignedById", FilterOp::IsNull, Value::Null)).unwrap(),
        json!({"=assignedById": 0})
    );
    assert_eq!(
        translate(cond("closedate", FilterOp::IsNull, Value::Null)).unwrap(),
        json!({"=closedate": null})
    );
    // the pipeline 0 is a pipeline, and a multiple field's emptiness is no column
    use crmgate_core::filter::FilterOp::{IsNotNull, IsNull};
    for name in ["categoryId", "contactIds"] {
        let f = meta.schema.field(name).unwrap();
        assert!(
            !f.filters_with(IsNull) && !f.filters_with(IsNotNull),
            "{name}"
        );
    }
    assert!(meta.schema.field("companyId").unwrap().filters_with(IsNull));
    // contains: the portal escapes the value; starts_with: the value is the pattern
    assert_eq!(
        translate(cond("title", FilterOp::Contains, json!("50% off_now"))).unwrap(),
        json!({"%title": "50% off_now"})
    );
    for wild in ["50%", "a_b", "a\\b"] {
        let e = translate(cond("title", FilterOp::StartsWith, json!(wild))).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedFilter, "{wild}");
        assert!(e.suggestion.contains("contains"), "{}", e.suggestion);
    }
    assert_eq!(
        translate(cond("title", FilterOp::StartsWith, json!("Web $x"))).unwrap(),
        json!({"=%title": "Web $x%"})
    );
}

#[test]
fn clearing_a_reference_writes_the_portals_zero() {
    let meta = deals();
    let wire = to_wire(
        &fields_of(json!({"companyId": null, "assignedById": null, "title": null})),
        &meta,
    );
    assert_eq!(
        wire,
        json!({"companyId": 0, "assignedById": null, "title": null})
    );
}
