//! Actions (convert, move_stage, send_quote, complete), email drafts and timelines.

use super::*;
use serde_json::json;

async fn run(b: &DemoBackend, entity: &str, id: &str, name: &str, params: Value) -> Result<Value> {
    let entity_info = info(b, entity).await;
    b.action(&cx(), &entity_info, id, &action(entity, name), &obj(params))
        .await
}

/// A lead that is not converted yet and has a company name that is not a company.
fn fresh_lead(b: &DemoBackend) -> (String, String) {
    let store = b.read_sync();
    store
        .table(Kind::Leads)
        .rows
        .values()
        .find_map(|r| {
            let name = r.fields["company_name"].as_str()?;
            let new_company = !store.table(Kind::Companies).rows.values().any(|c| {
                c.fields["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            });
            (r.fields["status"] != "converted" && new_company && r.fields["email"].is_string())
                .then(|| {
                    (
                        r.fields["id"].as_str().unwrap().to_string(),
                        name.to_string(),
                    )
                })
        })
        .unwrap()
}

#[tokio::test]
async fn convert_creates_contact_company_deal_once() {
    let b = DemoBackend::new();
    let (lead, company_name) = fresh_lead(&b);
    let out = run(
        &b,
        "leads",
        &lead,
        "convert",
        json!({"create_deal": true, "deal_amount": 5000}),
    )
    .await
    .unwrap();
    assert_eq!(out["status"], "converted");
    assert_eq!(out["contact"]["created"], true);
    assert_eq!(out["company"]["created"], true);
    assert_eq!(out["company"]["title"], company_name.as_str());
    let contact = get_one(&b, "contacts", out["contact"]["id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(contact.fields["company_id"], out["company"]["id"]);
    let deal = get_one(&b, "deals", out["deal"]["id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(deal.fields["amount"], 5000);
    assert_eq!(deal.fields["contact_id"], contact.fields["id"]);
    let lead_rec = get_one(&b, "leads", &lead).await.unwrap();
    assert_eq!(lead_rec.fields["status"], "converted");
    assert_eq!(
        lead_rec.fields["converted_contact_id"],
        contact.fields["id"]
    );
    assert!(lead_rec.fields["converted_at"].is_string());
    assert_eq!(timeline(&b, "leads", &lead).await[0].kind, "converted");
    let again = run(&b, "leads", &lead, "convert", json!({}))
        .await
        .unwrap_err();
    assert_eq!(again.code, ErrorCode::Conflict);
    assert!(again.suggestion.contains(contact.id.as_str()));
}

#[tokio::test]
async fn convert_reuses_an_existing_company_and_skips_the_deal_by_default() {
    let b = DemoBackend::new();
    let lead = create_lead(
        &b,
        json!({"last_name": "Reuse", "first_name": "Rita", "company_name": "halcyon software"}),
    )
    .await;
    let out = run(&b, "Lead", &lead, "convert", json!({})).await.unwrap();
    assert_eq!(out["company"]["created"], false);
    assert_eq!(out["company"]["id"], "co-0005");
    assert!(out["deal"].is_null());
    // a lead with no company converts to a contact only
    let lone = create_lead(&b, json!({"last_name": "Solo"})).await;
    let out = run(
        &b,
        "leads",
        &lone,
        "convert",
        json!({"deal_name": "Solo deal"}),
    )
    .await
    .unwrap();
    assert!(out["company"].is_null());
    assert_eq!(out["deal"]["title"], "Solo deal");
    let err = run(&b, "leads", &lone, "convert", json!({"create_deal": "yes"}))
        .await
        .unwrap_err();
    assert_eq!(
        err.code,
        ErrorCode::Validation,
        "params are checked before state"
    );
    assert_eq!(
        code(run(&b, "leads", "ld-9999", "convert", json!({})).await),
        ErrorCode::NotFound
    );
    // a lead marked converted by hand, without a conversion
    let marked = create_lead(&b, json!({"last_name": "Marked", "status": "converted"})).await;
    let err = run(&b, "leads", &marked, "convert", json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Conflict);
    assert!(err.suggestion.contains("crm_update"), "{}", err.suggestion);
}

async fn create_lead(b: &DemoBackend, data: Value) -> String {
    let leads = info(b, "leads").await;
    match b
        .create(&cx(), &leads, &obj(data), Default::default())
        .await
        .unwrap()
    {
        crmgate_core::model::Created::Record(r) => r.id,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn move_stage_validates_and_records_the_change() {
    let b = DemoBackend::new();
    let current = get_one(&b, "deals", "dl-0004").await.unwrap();
    let target = if current.fields["stage"] == "negotiation" {
        "proposal"
    } else {
        "negotiation"
    };
    let out = run(
        &b,
        "deals",
        "dl-0004",
        "move_stage",
        json!({"stage": target, "reason": "verbal yes"}),
    )
    .await
    .unwrap();
    assert_eq!(out["changed"], true);
    assert_eq!(out["to"], target);
    let moved = get_one(&b, "deals", "dl-0004").await.unwrap();
    assert_eq!(moved.fields["stage"], target);
    assert_ne!(moved.version, current.version);
    let items = timeline(&b, "deals", "dl-0004").await;
    assert_eq!(items[0].kind, "stage_change");
    assert!(items[0].text.contains("verbal yes") && items[0].text.contains("to "));
    let same = run(
        &b,
        "deals",
        "dl-0004",
        "move_stage",
        json!({"stage": target}),
    )
    .await
    .unwrap();
    assert_eq!(same["changed"], false);

    let err = run(
        &b,
        "deals",
        "dl-0004",
        "move_stage",
        json!({"stage": "won"}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert!(
        err.suggestion.contains("closed_won (Closed won)"),
        "{}",
        err.suggestion
    );
    let err = run(&b, "deals", "dl-0004", "move_stage", json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert!(err.message.contains("stage") && err.suggestion.contains("prospecting (Prospecting)"));
    let err = run(
        &b,
        "deals",
        "dl-0004",
        "move_stage",
        json!({"stag": "proposal"}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert!(err.suggestion.contains("\"stage\""));
    assert_eq!(
        code(run(&b, "deals", "dl-0004", "move_stage", json!({"stage": 3})).await),
        ErrorCode::Validation
    );
    assert_eq!(
        code(
            run(
                &b,
                "deals",
                "dl-9999",
                "move_stage",
                json!({"stage": "proposal"})
            )
            .await
        ),
        ErrorCode::NotFound
    );
    let bogus = crmgate_core::model::ActionInfo {
        name: "explode".into(),
        ..action("deals", "move_stage")
    };
    let err = b
        .action(
            &cx(),
            &*info(&b, "deals").await,
            "dl-0004",
            &bogus,
            &Fields::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    assert!(err.suggestion.contains("move_stage"));
    let companies = info(&b, "companies").await;
    assert_eq!(
        code(
            b.action(&cx(), &companies, "co-0001", &bogus, &Fields::new())
                .await
        ),
        ErrorCode::NotAllowed
    );
}

#[tokio::test]
async fn send_quote_is_destructive_and_only_records_a_timeline_entry() {
    let b = DemoBackend::new();
    assert!(action("deals", "send_quote").destructive);
    assert!(!action("deals", "move_stage").destructive);
    let deal = get_one(&b, "deals", "dl-0001").await.unwrap();
    let out = run(
        &b,
        "deals",
        "dl-0001",
        "send_quote",
        json!({"to": "buyer@example.com"}),
    )
    .await
    .unwrap();
    assert_eq!(out["sent_to"], "buyer@example.com");
    let items = timeline(&b, "deals", "dl-0001").await;
    assert_eq!(items[0].kind, "quote_sent");
    assert!(
        items[0].text.contains("quote sent to buyer@example.com")
            || items[0].text.contains("Quote sent to buyer@example.com")
    );
    assert_ne!(
        get_one(&b, "deals", "dl-0001").await.unwrap().version,
        deal.version
    );
    // default recipient: the primary contact
    let primary = deal.fields["contact_id"].as_str().unwrap();
    let email = get_one(&b, "contacts", primary).await.unwrap().fields["email"].clone();
    if email.is_string() {
        let out = run(&b, "deals", "dl-0001", "send_quote", json!({}))
            .await
            .unwrap();
        assert_eq!(out["sent_to"], email);
    }
    let lonely = {
        let deals = info(&b, "deals").await;
        let created = b
            .create(
                &cx(),
                &deals,
                &obj(json!({"name": "No contact", "stage": "proposal"})),
                Default::default(),
            )
            .await
            .unwrap();
        match created {
            crmgate_core::model::Created::Record(r) => r.id,
            other => panic!("{other:?}"),
        }
    };
    let err = run(&b, "deals", &lonely, "send_quote", json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert_eq!(
        code(run(&b, "deals", &lonely, "send_quote", json!({"to": "nope"})).await),
        ErrorCode::Validation
    );
}

#[tokio::test]
async fn complete_is_idempotent_and_reaches_the_parent_timeline() {
    let b = DemoBackend::new();
    let task = {
        let store = b.read_sync();
        store
            .table(Kind::Tasks)
            .rows
            .values()
            .find(|r| r.fields["status"] != "completed" && r.fields["deal_id"].is_string())
            .map(|r| {
                (
                    r.fields["id"].as_str().unwrap().to_string(),
                    r.fields["deal_id"].as_str().unwrap().to_string(),
                )
            })
            .unwrap()
    };
    let out = run(
        &b,
        "tasks",
        &task.0,
        "complete",
        json!({"outcome": "done early"}),
    )
    .await
    .unwrap();
    assert_eq!(out["already_completed"], false);
    let items = timeline(&b, "deals", &task.1).await;
    assert_eq!(items[0].kind, "task_completed");
    assert!(items[0].text.contains("done early"));
    let again = run(&b, "tasks", &task.0, "complete", json!({}))
        .await
        .unwrap();
    assert_eq!(again["already_completed"], true);
    assert_eq!(again["completed_at"], out["completed_at"]);
    assert_eq!(
        code(run(&b, "tasks", &task.0, "complete", json!({"x": 1})).await),
        ErrorCode::Validation
    );
}
