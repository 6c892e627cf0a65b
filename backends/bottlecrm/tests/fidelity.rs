//! BottleCRM fidelity through the gateway against the sandbox: ids come back canonical whatever
//! spelling was sent, and duplicates are read once; a refusal in a batch read is `denied`; a tag
//! or assignee BottleCRM would drop silently is refused before anything is sent; previews state
//! known outcomes; the OpenAPI document is read once per instance, not per caller.

mod common;

use common::{MISSING, gateway};
use crmgate_bottlecrm::describe::Source;
use crmgate_bottlecrm::sandbox::{ADMIN_A, ADMIN_B, LEADS_READ_A, Sandbox};
use crmgate_core::gateway::{
    ActionArgs, ActionOutput, CreateArgs, Gateway, GetArgs, GetOutput, NoteArgs, SearchArgs,
    UpdateArgs, UpdateOutput,
};
use crmgate_core::{CallContext, ErrorCode};
use secrecy::SecretString;
use serde_json::{Value, json};

fn cx() -> CallContext {
    CallContext::configured()
}

fn fields(v: Value) -> crmgate_core::model::Fields {
    v.as_object().unwrap().clone()
}

async fn first(g: &Gateway, entity: &str, query: &str) -> crmgate_core::model::Record {
    let args = SearchArgs {
        entity: entity.into(),
        query: Some(query.into()),
        fields: Some(vec!["*".into()]),
        ..Default::default()
    };
    g.search(&cx(), args).await.unwrap().records.remove(0)
}

fn get_ids(entity: &str, ids: &[&str]) -> GetArgs {
    GetArgs {
        entity: entity.into(),
        ids: Some(ids.iter().map(|s| (*s).to_owned()).collect()),
        ..Default::default()
    }
}

/// Requests in the sandbox log that start with `prefix` (`"GET /api/leads/"`).
fn sent(sandbox: &Sandbox, prefix: &str) -> usize {
    sandbox
        .request_log()
        .iter()
        .filter(|r| r.starts_with(prefix))
        .count()
}

#[tokio::test]
async fn ids_go_out_canonical_and_each_id_is_read_once() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = gateway(&sandbox, ADMIN_A);
    let jane = first(&g, "leads", "jane").await.id;
    assert_eq!(jane, jane.to_ascii_lowercase());
    let upper = jane.to_ascii_uppercase();
    let braced = format!("{{{jane}}}");
    let bare = jane.replace('-', "");

    // one id, any spelling: the record carries the canonical id
    let one = g
        .get(
            &cx(),
            GetArgs {
                entity: "leads".into(),
                id: Some(upper.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let GetOutput::One { record } = one else {
        panic!("not one")
    };
    assert_eq!(record.id, jane);

    // a batch with four spellings of one id and a missing one: one read each, one record
    let detail = format!("GET /api/leads/{jane}/");
    let before = sent(&sandbox, &detail);
    let out = g
        .get(
            &cx(),
            get_ids("leads", &[&upper, &braced, &jane, &bare, MISSING]),
        )
        .await
        .unwrap();
    let GetOutput::Many {
        records,
        missing,
        denied,
    } = out
    else {
        panic!("not many")
    };
    assert_eq!(records.len(), 1, "duplicates are answered once");
    assert_eq!(records[0].id, jane);
    assert_eq!(missing, vec![MISSING.to_owned()]);
    assert!(denied.is_empty());
    assert_eq!(sent(&sandbox, &detail), before + 1, "fetched once");

    // update and note by an upper-case id: canonical ids back, canonical path sent
    let updated = g
        .update(
            &cx(),
            UpdateArgs {
                entity: "leads".into(),
                id: upper.clone(),
                data: fields(json!({"city": "Lisbon"})),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let UpdateOutput::Updated { record } = updated else {
        panic!("not updated")
    };
    assert_eq!(record.id, jane);
    let note = g
        .note(
            &cx(),
            NoteArgs {
                entity: "leads".into(),
                id: braced.clone(),
                text: "Called back".into(),
            },
        )
        .await
        .unwrap()
        .note;
    assert_eq!(note.fields["record_id"], json!(jane));
    assert_eq!(note.id, note.id.to_ascii_lowercase());
    assert!(
        sandbox
            .request_log()
            .iter()
            .all(|r| !r.contains(&upper) && !r.contains(&bare)),
        "only canonical ids reach a path: {:?}",
        sandbox.request_log()
    );
}

#[tokio::test]
async fn a_bad_id_is_validation_before_anything_is_sent() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = gateway(&sandbox, ADMIN_A);
    first(&g, "leads", "jane").await;
    let before = sandbox.requests();
    for ids in [vec!["not-a-uuid"], vec![MISSING, "banana"]] {
        let e = g.get(&cx(), get_ids("leads", &ids)).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation, "{ids:?}");
    }
    assert_eq!(sandbox.requests(), before, "{:?}", sandbox.request_log());
}

#[tokio::test]
async fn unknown_tags_and_assignees_are_refused_before_the_write() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = gateway(&sandbox, ADMIN_A);
    let (vip, admin) = sandbox.with_store(|s| (s.tags[0].id.clone(), s.profiles[0].id.clone()));
    let unknown = "6f1c2a8e-8a3d-4e0b-9d7e-1b2c3d4e5f60";
    let create = |data: Value| CreateArgs {
        entity: "contacts".into(),
        data: fields(data),
        skip_duplicate_check: false,
    };
    first(&g, "contacts", "a").await;
    let posts = sent(&sandbox, "POST");
    // the unknown id in upper case: canonicalised, then found unknown
    let e = g
        .create(
            &cx(),
            create(json!({"first_name": "Tia", "last_name": "Gomez", "tags": [vip, unknown.to_ascii_uppercase()]})),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation, "{e:?}");
    assert!(
        e.message.contains(unknown) && e.message.contains("tag"),
        "{}",
        e.message
    );
    assert!(e.suggestion.contains(&vip), "{}", e.suggestion);
    let e = g
        .create(
            &cx(),
            create(json!({"first_name": "Tia", "last_name": "Gomez", "assigned_to": [unknown]})),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation, "{e:?}");
    assert!(e.message.contains("assigned_to"), "{}", e.message);
    assert_eq!(sent(&sandbox, "POST"), posts, "nothing was written");

    let jane = first(&g, "leads", "jane").await.id;
    let patches = sent(&sandbox, "PATCH");
    let e = g
        .update(
            &cx(),
            UpdateArgs {
                entity: "leads".into(),
                id: jane.clone(),
                data: fields(json!({"tags": [unknown]})),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert_eq!(sent(&sandbox, "PATCH"), patches, "nothing was written");

    // known ids go through and stick
    let created = g
        .create(
            &cx(),
            create(json!({"first_name": "Tia", "last_name": "Gomez", "email": "tia@gomez.example", "tags": [vip], "assigned_to": [admin]})),
        )
        .await
        .unwrap()
        .into_record()
        .unwrap();
    assert_eq!(created.fields["tags"], json!([vip]));
    assert_eq!(created.fields["assigned_to"], json!([admin]));
}

#[tokio::test]
async fn previews_state_known_outcomes() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = gateway(&sandbox, ADMIN_A);
    let admin = sandbox.with_store(|s| s.profiles[0].id.clone());
    let jane = first(&g, "leads", "jane").await.id;
    let preview = |data: Value| UpdateArgs {
        entity: "leads".into(),
        id: jane.clone(),
        data: fields(data),
        preview: true,
    };
    let UpdateOutput::Preview { notes, .. } = g
        .update(&cx(), preview(json!({"assigned_to": [admin]})))
        .await
        .unwrap()
    else {
        panic!("not a preview")
    };
    assert!(
        notes.iter().any(|n| n.contains("emails every assignee")),
        "{notes:?}"
    );
    let UpdateOutput::Preview { notes, .. } = g
        .update(&cx(), preview(json!({"city": "Porto"})))
        .await
        .unwrap()
    else {
        panic!("not a preview")
    };
    assert!(notes.is_empty(), "{notes:?}");

    // a lead converted already: the preview refuses, as BottleCRM would
    let carlos = first(&g, "leads", "carlos").await.id;
    let convert = ActionArgs {
        entity: "leads".into(),
        id: carlos.clone(),
        action: "convert".into(),
        ..Default::default()
    };
    let ActionOutput::Preview { confirm_token, .. } =
        g.action(&cx(), convert.clone()).await.unwrap()
    else {
        panic!("convert ran without a token")
    };
    g.action(
        &cx(),
        ActionArgs {
            confirm_token: Some(confirm_token),
            ..convert.clone()
        },
    )
    .await
    .unwrap();
    let patches = sent(&sandbox, "PATCH");
    let e = g.action(&cx(), convert).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation, "{e:?}");
    assert!(e.message.contains("already converted"), "{}", e.message);
    assert_eq!(sent(&sandbox, "PATCH"), patches);
}

#[tokio::test]
async fn the_openapi_document_is_read_once_per_instance_not_per_caller() {
    let sandbox = Sandbox::start().await.unwrap();
    let g = gateway(&sandbox, ADMIN_A);
    let backend = common::backend(&sandbox, ADMIN_A);
    let callers = [ADMIN_A, ADMIN_B, LEADS_READ_A]
        .map(|t| CallContext::bearer(SecretString::from(t.to_owned())));
    for caller in &callers {
        g.describe(caller, "leads").await.unwrap();
    }
    assert_eq!(
        sent(&sandbox, "GET /schema/"),
        1,
        "{:?}",
        sandbox.request_log()
    );
    // each caller still gets what its token may read
    assert_eq!(
        backend.schema_source(&callers[1]).await.unwrap(),
        Source::OpenApi
    );
    assert_eq!(
        backend.schema_source(&callers[2]).await.unwrap(),
        Source::Static
    );
    let bad = CallContext::bearer(SecretString::from(
        "bcrm_pat_NotARealToken_0000000000000000000000000".to_owned(),
    ));
    let e = g.describe(&bad, "leads").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::AuthFailed);
}
