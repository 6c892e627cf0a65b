//! Writes and actions through the gateway against the sandbox: records created without an id
//! are found again (or said to be unknown), conversion and invoice sending go through the
//! confirm-token flow, invoices update by PUT, comments land on the timeline, lead sections
//! page as one list.

mod common;

use common::gateway;
use crmgate_bottlecrm::entities::Entity;
use crmgate_bottlecrm::sandbox::{ADMIN_A, Sandbox};
use crmgate_core::gateway::{
    ActionArgs, ActionOutput, ConditionArg, CreateArgs, CreateOutput, Gateway, GetArgs, GetOutput,
    NoteArgs, SearchArgs, TimelineArgs, UpdateArgs, UpdateOutput,
};
use crmgate_core::{CallContext, ErrorCode};
use serde_json::{Value, json};
use std::collections::HashSet;

fn cx() -> CallContext {
    CallContext::configured()
}

fn fields(v: Value) -> crmgate_core::model::Fields {
    v.as_object().unwrap().clone()
}

async fn create_output(
    g: &Gateway,
    entity: &str,
    data: Value,
) -> crmgate_core::Result<CreateOutput> {
    g.create(
        &cx(),
        CreateArgs {
            entity: entity.into(),
            data: fields(data),
            skip_duplicate_check: false,
        },
    )
    .await
}

async fn create(
    g: &Gateway,
    entity: &str,
    data: Value,
) -> crmgate_core::Result<crmgate_core::model::Record> {
    create_output(g, entity, data)
        .await
        .map(|o| o.into_record().expect("the record's id is known"))
}

async fn find(g: &Gateway, entity: &str, query: &str) -> crmgate_core::model::Record {
    let args = SearchArgs {
        entity: entity.into(),
        query: Some(query.into()),
        fields: Some(vec!["*".into()]),
        ..Default::default()
    };
    g.search(&cx(), args).await.unwrap().records.remove(0)
}

async fn action(g: &Gateway, entity: &str, id: &str, name: &str) -> crmgate_core::Result<Value> {
    let args = ActionArgs {
        entity: entity.into(),
        id: id.into(),
        action: name.into(),
        ..Default::default()
    };
    let token = match g.action(&cx(), args.clone()).await? {
        ActionOutput::Preview { confirm_token, .. } => confirm_token,
        ActionOutput::Done { .. } => panic!("{name} ran without a confirm token"),
    };
    match g
        .action(
            &cx(),
            ActionArgs {
                confirm_token: Some(token),
                ..args
            },
        )
        .await?
    {
        ActionOutput::Done { result, .. } => Ok(result),
        ActionOutput::Preview { .. } => panic!("{name}: still a preview"),
    }
}

#[tokio::test]
async fn leads_and_tasks_created_without_an_id_are_found_again() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = gateway(&sandbox, ADMIN_A);
    let lead = create(&g, "leads", json!({"first_name": "Nadia", "last_name": "Okafor", "email": "nadia@okafor.example", "status": "closed"}))
        .await
        .unwrap();
    assert!(!lead.id.is_empty());
    assert_eq!(lead.fields["email"], "nadia@okafor.example");
    assert_eq!(
        lead.fields["status"], "closed",
        "found in the closed section"
    );
    // no email: found by comparing the list before and after
    let lead = create(
        &g,
        "leads",
        json!({"first_name": "Jane", "last_name": "Doe"}),
    )
    .await
    .unwrap();
    assert_eq!(lead.title, "Jane Doe");
    let task = create(
        &g,
        "tasks",
        json!({"title": "Call Hank about proposal", "status": "New", "priority": "High"}),
    )
    .await
    .unwrap();
    assert!(
        !task.id.is_empty(),
        "a task with the same title as an existing one is still told apart"
    );
    let existing = find(&g, "tasks", "Call Hank").await;
    assert!(existing.id != task.id || existing.fields.get("due_date") == Some(&Value::Null));
    // more look-alikes than crmgate will list: it says plainly that the id is unknown
    sandbox.with_store(|s| {
        for _ in 0..101 {
            crmgate_bottlecrm::sandbox::records::insert(
                s,
                Entity::Tasks,
                0,
                0,
                json!({"title": "Bulk", "status": "New", "priority": "Low"}),
            );
        }
    });
    let before = sandbox.with_store(|s| s.rows.get(&Entity::Tasks).map_or(0, Vec::len));
    let out = create_output(
        &g,
        "tasks",
        json!({"title": "Bulk", "status": "New", "priority": "Low"}),
    )
    .await
    .unwrap();
    let CreateOutput::IdUnknown {
        created,
        id_unknown,
    } = out
    else {
        panic!("expected the id to be unknown: {out:?}");
    };
    assert!(created);
    assert!(
        id_unknown.reason.contains("cannot tell"),
        "{}",
        id_unknown.reason
    );
    assert_eq!(id_unknown.find.entity, "tasks");
    let json = serde_json::to_value(&id_unknown.find).unwrap();
    assert_eq!(
        json["where"],
        json!([
            {"field": "status", "op": "eq", "value": "New"},
            {"field": "priority", "op": "eq", "value": "Low"},
            {"field": "title", "op": "contains", "value": "Bulk"}
        ]),
        "a crm_search on the fields BottleCRM filters"
    );
    assert_eq!(
        sandbox.with_store(|s| s.rows.get(&Entity::Tasks).map_or(0, Vec::len)),
        before + 1,
        "created exactly once"
    );
    // the search it names runs as given
    let found = g
        .search(
            &cx(),
            SearchArgs {
                entity: "tasks".into(),
                conditions: serde_json::from_value(json["where"].clone()).unwrap(),
                limit: Some(5),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(!found.records.is_empty());
}

#[tokio::test]
async fn writes_bottlecrm_would_get_wrong_are_refused_before_sending() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = gateway(&sandbox, ADMIN_A);
    g.describe(&cx(), "leads").await.unwrap();
    let before = sandbox.requests();
    let e = create(&g, "leads", json!({"first_name": "Tag", "last_name": "Bad", "email": "tagbad@x.example", "tags": ["nope"]})).await.unwrap_err();
    assert_eq!(
        e.code,
        ErrorCode::Validation,
        "BottleCRM would save the lead and then answer 400"
    );
    let e = create(
        &g,
        "leads",
        json!({"first_name": "Conv", "email": "conv@x.example", "status": "converted"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(e.suggestion.contains("convert"), "{}", e.suggestion);
    let e = create(&g, "tasks", json!({"title": "Two parents", "status": "New", "priority": "Low",
        "account": "00000000-0000-4000-8000-000000000001", "lead": "00000000-0000-4000-8000-000000000002"})).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    let e = create(&g, "leads", json!({"source": "campaign"}))
        .await
        .unwrap_err();
    assert!(
        e.suggestion.contains("compaign"),
        "the label Campaign points at the stored value: {}",
        e.suggestion
    );
    assert_eq!(sandbox.requests(), before, "{:?}", sandbox.request_log());
    let sections = g
        .search(
            &cx(),
            SearchArgs {
                entity: "leads".into(),
                query: Some("tagbad".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(sections.records.is_empty(), "no lead was saved");
}

#[tokio::test]
async fn duplicates_list_the_existing_record() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = gateway(&sandbox, ADMIN_A);
    let hank = find(&g, "contacts", "hank").await;
    let e = create(
        &g,
        "contacts",
        json!({"first_name": "Hank", "last_name": "Again", "email": "HANK@globex.example"}),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Duplicate);
    let matches = e.details.unwrap()["matches"].clone();
    assert_eq!(matches, json!([{"id": hank.id, "title": hank.title}]));
}

#[tokio::test]
async fn converting_a_lead_needs_confirmation_and_creates_three_records() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = gateway(&sandbox, ADMIN_A);
    let carlos = find(&g, "leads", "carlos").await;
    let result = action(&g, "leads", &carlos.id, "convert").await.unwrap();
    for (entity, key) in [
        ("companies", "account_id"),
        ("contacts", "contact_id"),
        ("deals", "opportunity_id"),
    ] {
        let id = result[key].as_str().unwrap();
        let got = g
            .get(
                &cx(),
                GetArgs {
                    entity: entity.into(),
                    id: Some(id.into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(matches!(got, GetOutput::One { .. }), "{entity}");
    }
    let deal = g
        .get(
            &cx(),
            GetArgs {
                entity: "deals".into(),
                id: result["opportunity_id"].as_str().map(Into::into),
                fields: Some(vec!["*".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let GetOutput::One { record } = deal else {
        panic!()
    };
    assert_eq!(record.fields["stage"], "QUALIFICATION");
    // converted: never listed again, still readable by id
    let search = SearchArgs {
        entity: "leads".into(),
        query: Some("carlos".into()),
        ..Default::default()
    };
    assert!(g.search(&cx(), search).await.unwrap().records.is_empty());
    let GetOutput::One { record } = g
        .get(
            &cx(),
            GetArgs {
                entity: "leads".into(),
                id: Some(carlos.id.clone()),
                fields: Some(vec!["*".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(record.fields["status"], "converted");
    let e = action(&g, "leads", &carlos.id, "convert")
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(e.message.contains("already converted"));
    let paul = find(&g, "leads", "Nomail").await;
    let e = action(&g, "leads", &paul.id, "convert").await.unwrap_err();
    assert!(e.message.contains("needs an email"), "{}", e.message);
    // crm_update cannot convert behind the confirm token's back
    let e = g
        .update(
            &cx(),
            UpdateArgs {
                entity: "leads".into(),
                id: paul.id,
                data: fields(json!({"status": "converted"})),
                preview: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
}

#[tokio::test]
async fn invoices_send_cancel_and_update_by_put() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = gateway(&sandbox, ADMIN_A);
    let invoice = find(&g, "invoices", "globex").await;
    assert_eq!(invoice.fields["status"], "Draft");
    let result = action(&g, "invoices", &invoice.id, "send").await.unwrap();
    assert_eq!(result["message"], "Invoice sent successfully");
    assert_eq!(
        sandbox
            .emails()
            .iter()
            .filter(|e| e.starts_with("invoice"))
            .count(),
        1,
        "the client was emailed once"
    );
    let updated = g
        .update(
            &cx(),
            UpdateArgs {
                entity: "invoices".into(),
                id: invoice.id.clone(),
                data: fields(json!({"po_number": "PO-7788", "notes": "Net 30, thanks"})),
                preview: false,
            },
        )
        .await
        .unwrap();
    let UpdateOutput::Updated { record } = updated else {
        panic!()
    };
    assert_eq!(record.fields["po_number"], "PO-7788");
    assert_eq!(record.fields["status"], "Sent");
    assert!(
        sandbox
            .request_log()
            .iter()
            .any(|l| l.starts_with("PUT /api/invoices/")),
        "invoices update by PUT"
    );
    assert!(
        !sandbox
            .request_log()
            .iter()
            .any(|l| l.starts_with("PATCH /api/invoices/"))
    );
    let result = action(&g, "invoices", &invoice.id, "cancel").await.unwrap();
    assert_eq!(result["record"]["status"], "Cancelled");
    let e = action(&g, "invoices", &invoice.id, "send")
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(e.message.contains("Cannot send a cancelled invoice"));
    assert_eq!(
        sandbox
            .emails()
            .iter()
            .filter(|e| e.starts_with("invoice"))
            .count(),
        1
    );
}

#[tokio::test]
async fn comments_land_on_the_timeline_newest_first() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = gateway(&sandbox, ADMIN_A);
    for (entity, query) in [
        ("contacts", "hank"),
        ("leads", "jane"),
        ("invoices", "globex"),
        ("cases", "login"),
    ] {
        let rec = find(&g, entity, query).await;
        for text in ["first", "second"] {
            let note = g
                .note(
                    &cx(),
                    NoteArgs {
                        entity: entity.into(),
                        id: rec.id.clone(),
                        text: text.into(),
                    },
                )
                .await
                .unwrap()
                .note;
            assert_eq!(note.fields["comment"], text, "{entity}");
            assert!(!note.id.is_empty());
        }
        let t = g
            .timeline(
                &cx(),
                TimelineArgs {
                    entity: entity.into(),
                    id: rec.id.clone(),
                    limit: Some(1),
                    cursor: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(t.items[0].text, "second", "{entity}: newest first");
        assert!(t.has_more);
        let t = g
            .timeline(
                &cx(),
                TimelineArgs {
                    entity: entity.into(),
                    id: rec.id,
                    limit: Some(1),
                    cursor: t.next_cursor,
                },
            )
            .await
            .unwrap();
        assert_eq!(t.items[0].text, "first", "{entity}");
    }
    assert!(
        sandbox
            .request_log()
            .iter()
            .any(|l| l.contains("/comments/")),
        "invoice comments go to /comments/"
    );
}

#[tokio::test]
async fn assigning_emails_the_assignees() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = gateway(&sandbox, ADMIN_A);
    let user = sandbox.with_store(|s| s.profiles[1].id.clone());
    let before = sandbox.emails().len();
    create(
        &g,
        "contacts",
        json!({"first_name": "Ada", "last_name": "Assigned", "assigned_to": [user]}),
    )
    .await
    .unwrap();
    assert_eq!(
        sandbox.emails().len(),
        before + 1,
        "as crm_entities' notes warn"
    );
    let infos = g.entities(&cx()).await.unwrap().entities;
    assert!(
        infos
            .iter()
            .filter(|e| e.name != "solutions")
            .all(|e| e.notes.iter().any(|n| n.contains("email every assignee")))
    );
}

#[tokio::test]
async fn lead_sections_page_as_one_list_and_filters_pick_a_section() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = gateway(&sandbox, ADMIN_A);
    let mut seen = HashSet::new();
    let mut statuses = Vec::new();
    let mut cursor = None;
    loop {
        let page = g
            .search(
                &cx(),
                SearchArgs {
                    entity: "leads".into(),
                    limit: Some(4),
                    cursor: cursor.clone(),
                    fields: Some(vec!["*".into()]),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            page.total,
            Some(9),
            "8 open and 1 closed (converted leads are never listed)"
        );
        for r in &page.records {
            assert!(seen.insert(r.id.clone()), "{} twice", r.id);
            statuses.push(r.fields["status"].as_str().unwrap().to_owned());
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 9);
    assert_eq!(
        statuses.last().map(String::as_str),
        Some("closed"),
        "the closed section comes last"
    );
    let closed = SearchArgs {
        entity: "leads".into(),
        conditions: vec![ConditionArg {
            field: "status".into(),
            op: "eq".into(),
            value: json!("closed"),
        }],
        ..Default::default()
    };
    let page = g.search(&cx(), closed).await.unwrap();
    assert_eq!((page.records.len(), page.total), (1, Some(1)));
    let converted = SearchArgs {
        entity: "leads".into(),
        conditions: vec![ConditionArg {
            field: "status".into(),
            op: "eq".into(),
            value: json!("converted"),
        }],
        ..Default::default()
    };
    assert_eq!(
        g.search(&cx(), converted).await.unwrap_err().code,
        ErrorCode::UnsupportedFilter
    );
    let inactive = SearchArgs {
        entity: "companies".into(),
        conditions: vec![ConditionArg {
            field: "is_active".into(),
            op: "eq".into(),
            value: json!(false),
        }],
        ..Default::default()
    };
    let page = g.search(&cx(), inactive).await.unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.records[0].title, "Old Co");
}
