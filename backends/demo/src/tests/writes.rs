//! Writes: create (validation, duplicates), update (versions, derived fields), delete (clean-up),
//! link / unlink (idempotence, one-links replace), notes.

use super::*;
use crmgate_core::model::CreateOptions;
use crmgate_core::model::Created;
use serde_json::json;

async fn create(b: &DemoBackend, entity: &str, data: Value, skip: bool) -> Result<Record> {
    let entity = info(b, entity).await;
    let options = CreateOptions {
        skip_duplicate_check: skip,
    };
    match b.create(&cx(), &entity, &obj(data), options).await? {
        Created::Record(record) => Ok(record),
        other => panic!("the demo always reports the id: {other:?}"),
    }
}

async fn update(b: &DemoBackend, entity: &str, id: &str, data: Value) -> Result<Record> {
    let entity = info(b, entity).await;
    b.update(&cx(), &entity, id, &obj(data)).await
}

#[tokio::test]
async fn create_assigns_id_stamps_defaults_and_title() {
    let b = DemoBackend::new();
    let r = create(
        &b,
        "Company",
        json!({"name": "Fresh Ventures", "industry": "software"}),
        false,
    )
    .await
    .unwrap();
    assert_eq!(r.id, "co-0041");
    assert_eq!(r.title, "Fresh Ventures");
    assert_eq!(
        r.url.as_deref(),
        Some("https://demo.crmgate.invalid/#/Company/co-0041")
    );
    assert_eq!(r.fields["created_at"], r.fields["updated_at"]);
    assert!(r.fields["created_at"].as_str().unwrap() > "2026-04-01");
    assert_eq!(r.fields["owner_id"], "us-0001");
    assert!(
        r.fields["website"].is_null(),
        "unset fields are present as null"
    );
    assert!(r.version.is_some());
    let deal = create(
        &b,
        "deals",
        json!({"name": "Big one", "stage": "proposal", "contact_id": "ct-0001"}),
        false,
    )
    .await
    .unwrap();
    assert_eq!(deal.fields["probability"], 50);
    assert_eq!(deal.fields["currency"], "USD");
    assert_eq!(deal.fields["contact_ids"], json!(["ct-0001"]));
    let lead = create(&b, "leads", json!({"last_name": "Nobody"}), false)
        .await
        .unwrap();
    assert_eq!(lead.fields["status"], "new");
    assert_eq!(lead.title, "Nobody");
    let got = get_one(&b, "companies", "co-0041").await.unwrap();
    assert_eq!(got, r);
}

#[tokio::test]
async fn create_is_validated() {
    let b = DemoBackend::new();
    let err = create(&b, "contacts", json!({"first_name": "X"}), false)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert!(err.message.contains("last_name"));
    let err = create(
        &b,
        "contacts",
        json!({"last_name": "X", "emial": "x@y.z"}),
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::UnknownField);
    assert!(err.suggestion.contains("\"email\""));
    let err = create(
        &b,
        "contacts",
        json!({"last_name": "X", "id": "ct-7777"}),
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert!(err.message.contains("read-only"));
    let err = create(&b, "deals", json!({"name": "D", "stage": "won"}), false)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert!(
        err.suggestion.contains("closed_won (Closed won)"),
        "{}",
        err.suggestion
    );
    assert!(err.details.unwrap()["allowed"].as_array().unwrap().len() == 6);
    let err = create(
        &b,
        "deals",
        json!({"name": "D", "stage": "proposal", "amount": "lots"}),
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    let err = create(
        &b,
        "deals",
        json!({"name": "D", "stage": "proposal", "close_date": "2026-02-30"}),
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    let err = create(
        &b,
        "deals",
        json!({"name": "D", "stage": "proposal", "company_id": "co-9999"}),
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert!(err.message.contains("co-9999"));
    let err = create(
        &b,
        "contacts",
        json!({"last_name": "X", "email": "not an email"}),
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    let err = create(&b, "companies", json!({"name": "x".repeat(121)}), false)
        .await
        .unwrap_err();
    assert!(err.message.contains("at most 120"));
    assert_eq!(
        code(create(&b, "users", json!({"name": "U"}), false).await),
        ErrorCode::NotAllowed
    );
    assert_eq!(
        code(create(&b, "emails", json!({"subject": "U"}), false).await),
        ErrorCode::NotAllowed
    );
    // nothing was created by the failed calls
    let page = search(&b, "contacts", Filter::default(), vec![], 1, None)
        .await
        .unwrap();
    assert_eq!(page.total, Some(80));
}

#[tokio::test]
async fn duplicates_are_detected_unless_skipped() {
    let b = DemoBackend::new();
    let err = create(
        &b,
        "companies",
        json!({"name": "  northwind TRADERS "}),
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::Duplicate);
    assert!(err.suggestion.contains("skip_duplicate_check"));
    let matches = &err.details.as_ref().unwrap()["matches"];
    assert_eq!(matches[0]["id"], "co-0001");
    assert_eq!(matches[0]["title"], "Northwind Traders");
    let forced = create(&b, "companies", json!({"name": "Northwind Traders"}), true)
        .await
        .unwrap();
    assert_eq!(forced.id, "co-0041");
    // now two match
    let err = create(&b, "companies", json!({"name": "Northwind Traders"}), false)
        .await
        .unwrap_err();
    assert_eq!(err.details.unwrap()["matches"].as_array().unwrap().len(), 2);

    let existing = get_one(&b, "contacts", "ct-0001").await.unwrap();
    let email = existing.fields["email"].as_str().unwrap().to_uppercase();
    let err = create(
        &b,
        "contacts",
        json!({"last_name": "Twin", "email": email}),
        false,
    )
    .await
    .unwrap_err();
    assert_eq!(err.code, ErrorCode::Duplicate);
    assert_eq!(err.details.unwrap()["matches"][0]["id"], "ct-0001");
    assert!(
        create(
            &b,
            "contacts",
            json!({"last_name": "Twin", "email": email}),
            true
        )
        .await
        .is_ok()
    );
    let lead = get_one(&b, "leads", "ld-0010").await.unwrap();
    let email = lead.fields["email"].as_str().unwrap();
    assert_eq!(
        code(
            create(
                &b,
                "leads",
                json!({"last_name": "L", "email": email}),
                false
            )
            .await
        ),
        ErrorCode::Duplicate
    );
    // no email, no duplicate check on it
    assert!(
        create(&b, "contacts", json!({"last_name": "Plain"}), false)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn update_patches_and_bumps_version() {
    let b = DemoBackend::new();
    let before = get_one(&b, "deals", "dl-0002").await.unwrap();
    let after = update(&b, "deals", "dl-0002", json!({"amount": 12345}))
        .await
        .unwrap();
    assert_eq!(after.fields["amount"], 12345);
    assert_eq!(
        after.fields["name"], before.fields["name"],
        "other fields untouched"
    );
    assert_ne!(after.fields["updated_at"], before.fields["updated_at"]);
    assert_ne!(after.version, before.version);
    let again = update(&b, "deals", "dl-0002", json!({"amount": 12345}))
        .await
        .unwrap();
    assert_ne!(again.version, after.version, "every save is a new version");
    assert!(again.fields["updated_at"].as_str() > after.fields["updated_at"].as_str());
    // stage change sets the stage's probability unless given
    let won = update(&b, "deals", "dl-0002", json!({"stage": "closed_won"}))
        .await
        .unwrap();
    assert_eq!(won.fields["probability"], 100);
    let set = update(
        &b,
        "deals",
        "dl-0002",
        json!({"stage": "negotiation", "probability": 60}),
    )
    .await
    .unwrap();
    assert_eq!(set.fields["probability"], 60);
    // tasks: completing sets completed_at, reopening clears it
    let done = update(&b, "tasks", "tk-0001", json!({"status": "completed"}))
        .await
        .unwrap();
    assert!(done.fields["completed_at"].is_string());
    let open = update(&b, "tasks", "tk-0001", json!({"status": "in_progress"}))
        .await
        .unwrap();
    assert!(open.fields["completed_at"].is_null());
    // errors
    assert_eq!(
        code(update(&b, "deals", "dl-9999", json!({"amount": 1})).await),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(update(&b, "deals", "dl-0002", json!({})).await),
        ErrorCode::Validation
    );
    assert_eq!(
        code(update(&b, "deals", "dl-0002", json!({"name": ""})).await),
        ErrorCode::Validation
    );
    assert_eq!(
        code(
            update(
                &b,
                "deals",
                "dl-0002",
                json!({"updated_at": "2026-01-01T00:00:00Z"})
            )
            .await
        ),
        ErrorCode::Validation
    );
    assert_eq!(
        code(update(&b, "users", "us-0001", json!({"name": "x"})).await),
        ErrorCode::NotAllowed
    );
    // clearing an optional field
    let cleared = update(&b, "deals", "dl-0002", json!({"close_date": null}))
        .await
        .unwrap();
    assert!(cleared.fields["close_date"].is_null());
    let set = update(&b, "deals", "dl-0002", json!({"close_date": "2026-07-01"}))
        .await
        .unwrap();
    assert_eq!(set.fields["close_date"], "2026-07-01");
    let blank = update(
        &b,
        "deals",
        "dl-0002",
        json!({"close_date": "", "company_id": " "}),
    )
    .await
    .unwrap();
    assert!(blank.fields["close_date"].is_null() && blank.fields["company_id"].is_null());
}
