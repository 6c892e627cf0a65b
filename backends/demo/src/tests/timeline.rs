//! Timelines and email drafts.

use super::*;
use crmgate_core::model::EmailDraft;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Arc;

#[tokio::test]
async fn timelines_are_newest_first_and_page_cleanly() {
    let b = DemoBackend::new();
    for (entity, id) in [
        ("deals", "dl-0001"),
        ("companies", "co-0001"),
        ("contacts", "ct-0002"),
        ("leads", "ld-0001"),
    ] {
        let items = timeline(&b, entity, id).await;
        assert!(!items.is_empty(), "{entity} {id}");
        assert!(
            items.windows(2).all(|w| w[0].at >= w[1].at),
            "{entity} newest first"
        );
        let ids: BTreeSet<&str> = items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids.len(), items.len(), "no duplicates");
        assert_eq!(
            items.last().unwrap().kind,
            "created",
            "{entity}: creation comes last"
        );
    }
    let deals = info(&b, "deals").await;
    assert_eq!(
        code(
            b.timeline(
                &cx(),
                &deals,
                "dl-9999",
                &PageRequest {
                    limit: 5,
                    cursor: None
                }
            )
            .await
        ),
        ErrorCode::NotFound
    );
    assert_eq!(
        code(
            b.timeline(
                &cx(),
                &deals,
                "dl-0001",
                &PageRequest {
                    limit: 5,
                    cursor: Some("x".into())
                }
            )
            .await
        ),
        ErrorCode::Validation
    );
    let tasks = info(&b, "tasks").await;
    assert_eq!(
        code(
            b.timeline(
                &cx(),
                &tasks,
                "tk-0001",
                &PageRequest {
                    limit: 5,
                    cursor: None
                }
            )
            .await
        ),
        ErrorCode::NotAllowed
    );
}

fn draft(
    to: &[&str],
    subject: &str,
    body: &str,
    parent: Option<(Arc<EntityInfo>, &str)>,
    template: Option<&str>,
) -> EmailDraft {
    EmailDraft {
        to: to.iter().map(|s| s.to_string()).collect(),
        subject: subject.into(),
        body: body.into(),
        parent: parent.map(|(e, id)| (e, id.to_string())),
        template: template.map(String::from),
    }
}

#[tokio::test]
async fn email_drafts_fill_templates_and_are_never_sent() {
    let b = DemoBackend::new();
    let contact = get_one(&b, "contacts", "ct-0001").await.unwrap();
    let first = contact.fields["first_name"].as_str().unwrap().to_string();
    let contacts = info(&b, "contacts").await;
    let d = draft(
        &["a@example.com"],
        "",
        "",
        Some((contacts.clone(), "ct-0001")),
        Some("follow_up"),
    );
    let r = b.draft_email(&cx(), &d).await.unwrap();
    assert!(r.id.starts_with("em-"));
    assert_eq!(r.fields["status"], "draft");
    assert_eq!(r.fields["contact_id"], "ct-0001");
    assert!(
        r.fields["body"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Hi {first},"))
    );
    assert!(!r.fields["body"].as_str().unwrap().contains('{'));
    assert_eq!(r.fields["template"], "follow_up");
    assert_eq!(r.title, r.fields["subject"].as_str().unwrap());
    let items = timeline(&b, "contacts", "ct-0001").await;
    assert_eq!(items[0].kind, "email_draft");
    // given text wins over the template's
    let d = draft(
        &["a@example.com"],
        "Mine",
        "Hello {first_name}",
        None,
        Some("INTRO"),
    );
    let r = b.draft_email(&cx(), &d).await.unwrap();
    assert_eq!(r.fields["subject"], "Mine");
    assert_eq!(r.fields["body"], "Hello there");
    // errors
    let err = b
        .draft_email(
            &cx(),
            &draft(&["a@example.com"], "s", "b", None, Some("folow_up")),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    assert!(err.suggestion.contains("follow_up") && err.suggestion.contains("intro"));
    assert_eq!(
        code(
            b.draft_email(&cx(), &draft(&[], "s", "b", None, None))
                .await
        ),
        ErrorCode::Validation
    );
    assert_eq!(
        code(
            b.draft_email(&cx(), &draft(&["nope"], "s", "b", None, None))
                .await
        ),
        ErrorCode::Validation
    );
    assert_eq!(
        code(
            b.draft_email(&cx(), &draft(&["a@example.com"], "", "", None, None))
                .await
        ),
        ErrorCode::Validation
    );
    let missing = Some((contacts, "ct-9999"));
    assert_eq!(
        code(
            b.draft_email(&cx(), &draft(&["a@example.com"], "s", "b", missing, None))
                .await
        ),
        ErrorCode::NotFound
    );
    let tasks = Some((info(&b, "tasks").await, "tk-0001"));
    assert_eq!(
        code(
            b.draft_email(&cx(), &draft(&["a@example.com"], "s", "b", tasks, None))
                .await
        ),
        ErrorCode::NotAllowed
    );
    // drafts are records of `emails`, searchable
    let filter = Filter {
        all: vec![cond("status", FilterOp::Eq, json!("draft"))],
        ..Default::default()
    };
    let page = search(&b, "EmailDraft", filter, vec![], 50, None)
        .await
        .unwrap();
    assert_eq!(page.total, Some(5));
}
