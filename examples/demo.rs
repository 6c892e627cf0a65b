//! Using crmgate as a library, without MCP: the embedded demo CRM behind a `Gateway`.
//!
//! Lists entity types, describes deals, searches with a filter, creates a contact, links it to
//! a company, adds a note, and deletes it through the confirm-token flow.
//!
//! Run: `cargo run --example demo`

use crmgate_core::CallContext;
use crmgate_core::confirm::ConfirmSigner;
use crmgate_core::gateway::*;
use crmgate_demo::DemoBackend;
use serde_json::json;
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), crmgate_core::Error> {
    let settings = GatewaySettings {
        tier: Tier::Destructive,
        ..GatewaySettings::default()
    };
    let gateway = Gateway::new(
        Arc::new(DemoBackend::new()),
        settings,
        ConfirmSigner::random(),
    );
    let cx = CallContext::configured();

    let entities = gateway.entities(&cx).await?.entities;
    let names: Vec<String> = entities
        .iter()
        .map(|e| format!("{} ({})", e.name, e.native))
        .collect();
    println!("entities: {}", names.join(", "));

    let deals = gateway.describe(&cx, "deals").await?;
    let stage = deals.field("stage").expect("deals have a stage");
    let stages: Vec<String> = stage
        .options
        .iter()
        .map(|o| format!("{}={}", o.value, o.label))
        .collect();
    println!("deal stages: {}", stages.join(", "));

    let big = gateway
        .search(&cx, serde_json::from_value(json!({
            "entity": "deals",
            "where": [{"field": "amount", "op": "gte", "value": 50000}, {"field": "stage", "op": "not_in", "value": ["closed_won", "closed_lost"]}],
            "sort": "-amount",
            "limit": 3
        })).expect("valid search arguments"))
        .await?;
    println!(
        "{} open deals of 50k or more; the top 3:",
        big.total.unwrap_or(0)
    );
    for deal in &big.records {
        println!("  {} [{}] {}", deal.title, deal.id, deal.fields["amount"]);
    }

    let company = gateway
        .search(
            &cx,
            SearchArgs {
                entity: "companies".into(),
                limit: Some(1),
                ..Default::default()
            },
        )
        .await?
        .records
        .remove(0);
    let created = gateway
        .create(&cx, CreateArgs {
            entity: "contacts".into(),
            data: json!({"first_name": "Grace", "last_name": "Example", "email": "grace@example.org"}).as_object().cloned().unwrap_or_default(),
            skip_duplicate_check: false,
        })
        .await?
        .into_record()
        .ok_or_else(|| crmgate_core::Error::upstream_protocol("the CRM did not report the new record's id"))?;
    println!("created {} [{}]", created.title, created.id);
    gateway
        .link(
            &cx,
            LinkArgs {
                entity: "contacts".into(),
                id: created.id.clone(),
                link: "company".into(),
                target_id: company.id.clone(),
            },
        )
        .await?;
    println!("linked to {}", company.title);
    gateway
        .note(
            &cx,
            NoteArgs {
                entity: "contacts".into(),
                id: created.id.clone(),
                text: "Met at the example conference.".into(),
            },
        )
        .await?;

    let delete = DeleteArgs {
        entity: "contacts".into(),
        id: created.id.clone(),
        confirm_token: None,
    };
    let DeleteOutput::Preview { confirm_token, .. } = gateway.delete(&cx, delete.clone()).await?
    else {
        unreachable!("a delete without a token only previews");
    };
    gateway
        .delete(
            &cx,
            DeleteArgs {
                confirm_token: Some(confirm_token),
                ..delete
            },
        )
        .await?;
    println!("deleted {} after confirmation", created.id);
    Ok(())
}
