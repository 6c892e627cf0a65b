//! The EspoCRM fidelity gaps of issue 11 through the gateway and the sandbox, checked against
//! what reached the sandbox: optimistic concurrency (the version last read is sent back; a
//! change since is `CONFLICT` and nothing is written; a preview binds the update), a field
//! added in EspoCRM during the session, phone numbers, the to-one link refusal, the Lead
//! definition as recorded, and ids that EspoCRM cannot have refused before any request.
//! Restoring deleted records is in `restore.rs`.

mod common;

use common::*;
use crmgate_core::gateway::*;
use crmgate_core::{Backend, CallContext, ErrorCode};
use crmgate_espocrm::Auth;
use crmgate_espocrm::sandbox::{Sandbox, credentials};
use secrecy::SecretString;
use serde_json::{Value, json};

const ACME: &str = "6b012cf59353c4863";
const ALICE: &str = "6b012cf5de3340e2e";
const PILOT: &str = "6b012cf67f3b7db5c";

fn cx() -> CallContext {
    CallContext::configured()
}

fn admin() -> Auth {
    Auth::Basic {
        username: credentials::ADMIN_USER.into(),
        password: SecretString::from(credentials::ADMIN_PASSWORD),
    }
}

/// Someone else editing the record in EspoCRM (its UI or another integration).
async fn edit_elsewhere(sandbox: &Sandbox, entity: &str, id: &str, data: Value) {
    let status = reqwest::Client::new()
        .put(format!("{}/api/v1/{entity}/{id}", sandbox.url()))
        .header("X-Api-Key", credentials::API_KEY)
        .json(&data)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
}

fn stored(sandbox: &Sandbox, entity: &str, id: &str) -> serde_json::Map<String, Value> {
    sandbox
        .stored(entity)
        .into_iter()
        .find(|r| r["id"] == id)
        .unwrap()
}

fn update(entity: &str, id: &str, data: Value) -> UpdateArgs {
    UpdateArgs {
        entity: entity.into(),
        id: id.into(),
        data: fields(data),
        preview: false,
    }
}

fn get(entity: &str, id: &str) -> GetArgs {
    GetArgs {
        entity: entity.into(),
        id: Some(id.into()),
        ..Default::default()
    }
}

/// The `X-Version-Number` of the last PATCH that reached the sandbox.
fn last_patch_version(sandbox: &Sandbox) -> Option<String> {
    sandbox
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.method == "PATCH")
        .expect("a PATCH reached the sandbox")
        .version_number
}

#[tokio::test]
async fn an_update_sends_the_version_last_read_and_a_change_since_is_a_conflict() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway(&sandbox, api_key());
    // the version is a read-only field of versioned entities
    let deals = gw.describe(&cx(), "deals").await.unwrap();
    assert!(deals.field("versionNumber").unwrap().is_read_only());
    let contacts = gw.describe(&cx(), "contacts").await.unwrap();
    assert!(contacts.field("versionNumber").is_none());
    let mut some = get("deals", PILOT);
    some.fields = Some(vec!["stage".into(), "versionNumber".into()]);
    let read = gw.get(&cx(), some).await.unwrap();
    let GetOutput::One { record } = read else {
        panic!("one record")
    };
    let read = record.fields["versionNumber"].clone();
    assert_eq!(record.fields["stage"], "Proposal");
    edit_elsewhere(
        &sandbox,
        "Opportunity",
        PILOT,
        json!({"stage": "Negotiation"}),
    )
    .await;

    let e = gw
        .update(
            &cx(),
            update("deals", PILOT, json!({"stage": "Closed Won"})),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Conflict, "{}", e.message);
    assert!(
        e.message.contains(r#"stage = "Negotiation""#),
        "{}",
        e.message
    );
    let details = e.details.unwrap();
    assert_eq!(details["current"]["stage"], "Negotiation");
    assert_eq!(details["read_version"], read);
    assert_eq!(last_patch_version(&sandbox), Some(read.to_string()));
    assert_eq!(
        stored(&sandbox, "Opportunity", PILOT)["stage"],
        "Negotiation",
        "nothing was written"
    );

    // reading again lets the update through, at the version just read
    gw.get(&cx(), get("deals", PILOT)).await.unwrap();
    let now = stored(&sandbox, "Opportunity", PILOT)["versionNumber"].clone();
    gw.update(
        &cx(),
        update("deals", PILOT, json!({"stage": "Closed Won"})),
    )
    .await
    .unwrap();
    assert_eq!(last_patch_version(&sandbox), Some(now.to_string()));
    assert_eq!(
        stored(&sandbox, "Opportunity", PILOT)["stage"],
        "Closed Won"
    );

    // EspoCRM conflicts only where the update would change a stored value: writing what is
    // already there goes through even at a stale version
    edit_elsewhere(
        &sandbox,
        "Opportunity",
        PILOT,
        json!({"description": "elsewhere"}),
    )
    .await;
    gw.update(
        &cx(),
        update("deals", PILOT, json!({"stage": "Closed Won"})),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_preview_binds_the_update_to_the_version_it_showed() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway(&sandbox, api_key());
    let mut args = update("companies", ACME, json!({"website": "https://acme.test"}));
    args.preview = true;
    let preview = gw.update(&cx(), args).await.unwrap();
    assert!(matches!(preview, UpdateOutput::Preview { .. }));
    edit_elsewhere(
        &sandbox,
        "Account",
        ACME,
        json!({"website": "https://acme.example.org"}),
    )
    .await;
    let e = gw
        .update(
            &cx(),
            update("companies", ACME, json!({"website": "https://acme.test"})),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Conflict);
    assert_eq!(
        e.details.unwrap()["current"]["website"],
        "https://acme.example.org"
    );
    assert_eq!(
        stored(&sandbox, "Account", ACME)["website"],
        "https://acme.example.org"
    );
}

#[tokio::test]
async fn unversioned_or_unread_records_update_as_sent_and_searches_refresh_the_version() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway(&sandbox, api_key());
    // contacts carry no versionNumber: no header, last write wins as in EspoCRM
    gw.get(&cx(), get("contacts", ALICE)).await.unwrap();
    edit_elsewhere(&sandbox, "Contact", ALICE, json!({"title": "CTO"})).await;
    gw.update(&cx(), update("contacts", ALICE, json!({"title": "CEO"})))
        .await
        .unwrap();
    assert_eq!(last_patch_version(&sandbox), None);
    // a deal this caller never read: sent without a version
    gw.update(&cx(), update("deals", PILOT, json!({"probability": 55})))
        .await
        .unwrap();
    assert_eq!(last_patch_version(&sandbox), None);
    // its answer is a read: the next update sends the version it returned
    let version = stored(&sandbox, "Opportunity", PILOT)["versionNumber"].to_string();
    gw.update(&cx(), update("deals", PILOT, json!({"probability": 60})))
        .await
        .unwrap();
    assert_eq!(last_patch_version(&sandbox), Some(version));

    // a search selects versionNumber with any projection, so it refreshes what is sent
    edit_elsewhere(&sandbox, "Opportunity", PILOT, json!({"probability": 70})).await;
    let search: SearchArgs = serde_json::from_value(json!({
        "entity": "deals", "where": [{"field": "id", "op": "eq", "value": PILOT}], "fields": ["name"]
    }))
    .unwrap();
    gw.search(&cx(), search).await.unwrap();
    let list = sandbox
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.method == "GET")
        .unwrap();
    assert!(list.query.contains("versionNumber"), "{}", list.query);
    gw.update(&cx(), update("deals", PILOT, json!({"probability": 80})))
        .await
        .unwrap();
    assert_eq!(stored(&sandbox, "Opportunity", PILOT)["probability"], 80);
}

#[tokio::test]
async fn a_field_added_in_espocrm_during_the_session_is_found_with_one_metadata_request() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway(&sandbox, api_key());
    gw.search(
        &cx(),
        SearchArgs {
            entity: "companies".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(sandbox.add_field(
        "Account",
        "cRegion",
        json!({"type": "varchar", "maxLength": 20})
    ));

    sandbox.clear_requests();
    gw.update(&cx(), update("companies", ACME, json!({"cRegion": "EMEA"})))
        .await
        .unwrap();
    assert_eq!(stored(&sandbox, "Account", ACME)["cRegion"], "EMEA");
    let seen: Vec<(String, String)> = sandbox
        .requests()
        .into_iter()
        .map(|r| (r.method, r.query))
        .collect();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen[0].1.contains("entityDefs.Account"), "{seen:?}");
    assert_eq!(seen[1].0, "PATCH");

    // the fresh schema serves filters and its rules apply before sending
    sandbox.clear_requests();
    let found = gw
        .search(
            &cx(),
            serde_json::from_value(json!({
                "entity": "companies", "where": [{"field": "cRegion", "op": "eq", "value": "EMEA"}]
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(found.records.len(), 1);
    assert_eq!(found.records[0].id, ACME);
    let e = gw
        .update(
            &cx(),
            update("companies", ACME, json!({"cRegion": "x".repeat(21)})),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(
        sandbox
            .requests()
            .iter()
            .all(|r| r.method == "GET" && !r.query.contains("Metadata"))
    );

    // a field EspoCRM does not have either: one refresh, then UNKNOWN_FIELD, nothing written
    sandbox.clear_requests();
    let e = gw
        .update(&cx(), update("companies", ACME, json!({"cNope": 1})))
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::UnknownField);
    let seen = sandbox.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
}

#[tokio::test]
async fn phone_numbers_take_the_international_form_and_a_bad_one_says_so() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway(&sandbox, api_key());
    let create = |data: Value| CreateArgs {
        entity: "contacts".into(),
        data: fields(data),
        skip_duplicate_check: false,
    };
    let before = sandbox.stored("Contact").len();
    for bad in ["555-0101", "+1 555", "+44 (0) call me"] {
        let e = gw
            .create(
                &cx(),
                create(json!({"lastName": "Dial", "phoneNumber": bad})),
            )
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation, "{bad}");
        assert!(e.message.contains("phone number"), "{bad}: {}", e.message);
        assert!(!e.message.contains("allowed values"), "{}", e.message);
        assert!(e.suggestion.contains("country code"), "{}", e.suggestion);
    }
    assert_eq!(sandbox.stored("Contact").len(), before, "nothing created");
    let created = gw
        .create(
            &cx(),
            create(json!({"lastName": "Dial", "phoneNumber": "+1 (212) 555-0100"})),
        )
        .await
        .unwrap()
        .into_record()
        .unwrap();
    assert_eq!(created.fields["phoneNumber"], "+12125550100");
}

#[tokio::test]
async fn the_lead_definition_and_option_lists_are_the_recorded_ones() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway(&sandbox, api_key());
    let leads = gw.describe(&cx(), "leads").await.unwrap();
    // lastName is not required on a Lead in 9.1.7: a lead can be just a company
    assert!(!leads.field("lastName").unwrap().required);
    let industries: Vec<&str> = leads
        .field("industry")
        .unwrap()
        .options
        .iter()
        .map(|o| o.value.as_str())
        .collect();
    assert!(industries.contains(&"Aerospace") && industries.contains(&"Water"));
    let statuses: Vec<&str> = leads
        .field("status")
        .unwrap()
        .options
        .iter()
        .map(|o| o.value.as_str())
        .collect();
    assert_eq!(
        statuses,
        [
            "New",
            "Assigned",
            "In Process",
            "Converted",
            "Recycled",
            "Dead"
        ]
    );
    assert!(leads.link("cases").is_some() && leads.link("targetLists").is_some());
    let lead = gw
        .create(
            &cx(),
            CreateArgs {
                entity: "leads".into(),
                data: fields(json!({"accountName": "Only A Company Ltd", "industry": "Aerospace"})),
                skip_duplicate_check: false,
            },
        )
        .await
        .unwrap()
        .into_record()
        .unwrap();
    assert_eq!(lead.fields["industry"], "Aerospace");
    // an opportunity's contact role borrows Contact.opportunityRole
    let deals = gw.describe(&cx(), "deals").await.unwrap();
    let roles: Vec<&str> = deals
        .field("contactRole")
        .unwrap()
        .options
        .iter()
        .map(|o| o.value.as_str())
        .collect();
    assert!(roles.contains(&"Decision Maker"), "{roles:?}");
}

#[tokio::test]
async fn crm_link_on_a_to_one_link_names_the_id_field_and_sends_nothing() {
    let sandbox = Sandbox::start().await.unwrap();
    let gw = gateway(&sandbox, api_key());
    gw.describe(&cx(), "contacts").await.unwrap();
    sandbox.clear_requests();
    let e = gw
        .link(
            &cx(),
            LinkArgs {
                entity: "contacts".into(),
                id: ALICE.into(),
                link: "account".into(),
                target_id: ACME.into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotAllowed);
    assert!(e.message.contains("accountId"), "{}", e.message);
    assert!(
        e.suggestion
            .contains(&format!(r#"{{"accountId": "{ACME}"}}"#)),
        "{}",
        e.suggestion
    );
    assert_eq!(sandbox.request_count(), 0);
}

#[tokio::test]
async fn ids_espocrm_cannot_have_are_refused_before_anything_is_sent() {
    let sandbox = Sandbox::start().await.unwrap();
    let backend = backend(&sandbox, admin());
    let gw = gateway_over(backend.clone());
    for entity in ["companies", "contacts", "deals"] {
        gw.describe(&cx(), entity).await.unwrap();
    }
    let companies = gw.resolve(&cx(), "companies").await.unwrap();
    sandbox.clear_requests();
    let long = "6b012cf5".repeat(6_400);
    let hostile = [
        "a/b",
        "..",
        ".",
        "../../App/user",
        "x?maxSize=1",
        "x#y",
        "%2e%2e",
        "ünïcödé",
        "tab\tid",
        long.as_str(),
    ];
    for id in hostile {
        let refused = |e: crmgate_core::Error, what: &str| {
            assert_eq!(
                e.code,
                ErrorCode::Validation,
                "{what} {id:.20}: {}",
                e.message
            );
            assert!(
                e.message.len() < 300,
                "{what}: the id is not repeated at length"
            );
        };
        refused(
            gw.get(&cx(), get("companies", id)).await.unwrap_err(),
            "get",
        );
        let many = GetArgs {
            entity: "companies".into(),
            ids: Some(vec![ACME.into(), id.into()]),
            ..Default::default()
        };
        refused(gw.get(&cx(), many).await.unwrap_err(), "get many");
        refused(
            gw.update(&cx(), update("companies", id, json!({"name": "x"})))
                .await
                .unwrap_err(),
            "update",
        );
        let delete = DeleteArgs {
            entity: "companies".into(),
            id: id.into(),
            confirm_token: None,
        };
        refused(gw.delete(&cx(), delete).await.unwrap_err(), "delete");
        for (record, target) in [(id, ALICE), (ACME, id)] {
            let link = LinkArgs {
                entity: "companies".into(),
                id: record.into(),
                link: "contacts".into(),
                target_id: target.into(),
            };
            refused(gw.link(&cx(), link.clone()).await.unwrap_err(), "link");
            refused(gw.unlink(&cx(), link).await.unwrap_err(), "unlink");
        }
        let related = RelatedArgs {
            entity: "companies".into(),
            id: id.into(),
            link: "contacts".into(),
            ..Default::default()
        };
        refused(gw.related(&cx(), related).await.unwrap_err(), "related");
        let timeline = TimelineArgs {
            entity: "companies".into(),
            id: id.into(),
            ..Default::default()
        };
        refused(gw.timeline(&cx(), timeline).await.unwrap_err(), "timeline");
        let note = NoteArgs {
            entity: "companies".into(),
            id: id.into(),
            text: "hello".into(),
        };
        refused(gw.note(&cx(), note).await.unwrap_err(), "note");
        let action = ActionArgs {
            entity: "deals".into(),
            id: id.into(),
            action: "move_stage".into(),
            params: fields(json!({"stage": "Proposal"})),
            confirm_token: None,
        };
        refused(gw.action(&cx(), action).await.unwrap_err(), "action");
        refused(
            backend.restore(&cx(), &companies, id).await.unwrap_err(),
            "restore",
        );
    }
    let sent = sandbox.requests();
    assert!(
        sent.is_empty(),
        "nothing reached EspoCRM: {:?}",
        sent.first()
    );
}
