//! Using the Bitrix24 backend as a library, without MCP: build it from a webhook URL, wrap it
//! in a `Gateway`, and do what an agent would — list entities, describe deals (stages with
//! their semantics), find open deals (stage semantics resolved to stage ids), read 120 leads in
//! one batch request, show labels, create a deal, link a contact, note it, move its stage, and
//! delete it through the confirm-token flow.
//!
//! Against the sandbox (one terminal each):
//!
//! ```text
//! cargo run -- sandbox bitrix24 --port 8024          # prints the webhook URL
//! cargo run --example bitrix24 -- http://127.0.0.1:8024/rest/1/sandboxhook7x2k9/
//! ```
//!
//! Against a portal: pass its inbound webhook URL as the argument, or set
//! `BITRIX24_WEBHOOK_URL`. The example writes (a deal it then deletes).

use crmgate_bitrix24::{Bitrix24Backend, Bitrix24Config};
use crmgate_core::cache::MetadataCache;
use crmgate_core::confirm::ConfirmSigner;
use crmgate_core::gateway::*;
use crmgate_core::upstream::UpstreamConfig;
use crmgate_core::{CallContext, meta};
use secrecy::SecretString;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), crmgate_core::Error> {
    let url = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("BITRIX24_WEBHOOK_URL").ok())
        .ok_or_else(|| {
            crmgate_core::Error::config(
                "pass the inbound webhook URL as the argument or in BITRIX24_WEBHOOK_URL",
            )
        })?;
    // Bitrix24's own limit: 2 requests/s with a burst of 50 (Enterprise: 5/s, 250)
    let upstream = UpstreamConfig {
        rate_per_second: 2,
        burst: 50,
        ..UpstreamConfig::default()
    };
    let config = Bitrix24Config::webhook(SecretString::from(url), upstream)?;
    let cache = MetadataCache::new(Duration::from_secs(300), 1000);
    let backend = Arc::new(Bitrix24Backend::new(config, cache)?);
    let settings = GatewaySettings {
        tier: Tier::Destructive,
        limit_cap: 500,
        ..GatewaySettings::default()
    };
    let gateway = Gateway::new(backend, settings, ConfirmSigner::random());
    let cx = CallContext::configured();

    let (entities, m) = meta::measure(gateway.entities(&cx)).await;
    let names: Vec<String> = entities?
        .entities
        .iter()
        .map(|e| format!("{} ({})", e.name, e.native))
        .collect();
    println!(
        "entities: {} [{} request]",
        names.join(", "),
        m.upstream_calls
    );

    let deals = gateway.describe(&cx, "deals").await?;
    if let Some(stage) = deals.field("stageId") {
        let stages: Vec<String> = stage
            .options
            .iter()
            .map(|o| format!("{}={}", o.value, o.label))
            .collect();
        println!("deal stages: {}", stages.join(", "));
    }

    let args = |v: serde_json::Value| -> SearchArgs {
        serde_json::from_value(v).expect("valid search arguments")
    };
    let open = gateway
        .search(&cx, args(json!({"entity": "deals", "where": [{"field": "stageSemanticId", "op": "eq", "value": "open"}], "sort": "-opportunity", "limit": 3})))
        .await?;
    println!("{} open deals; the biggest:", open.total.unwrap_or(0));
    for deal in &open.records {
        let labels = &deal.fields["labels"];
        println!(
            "  {} [{}] {} {} — {} ({})",
            deal.title,
            deal.id,
            deal.fields["opportunity"],
            deal.fields["currencyId"],
            labels["stageId"],
            labels["assignedById"]
        );
    }

    let (leads, m) =
        meta::measure(gateway.search(&cx, args(json!({"entity": "leads", "limit": 120})))).await;
    println!(
        "read {} leads in {} request(s)",
        leads?.records.len(),
        m.upstream_calls
    );

    let created = gateway
        .create(&cx, serde_json::from_value(json!({"entity": "deals", "data": {"title": "crmgate example deal", "opportunity": 1200, "currencyId": "USD"}})).expect("valid"))
        .await?
        .into_record()
        .ok_or_else(|| crmgate_core::Error::upstream_protocol("the CRM did not report the new record's id"))?;
    println!(
        "created deal {} at {}",
        created.id,
        created.url.clone().unwrap_or_default()
    );
    let contact = gateway
        .search(&cx, args(json!({"entity": "contacts", "limit": 1})))
        .await?
        .records
        .into_iter()
        .next();
    if let Some(contact) = contact {
        gateway
            .link(
                &cx,
                LinkArgs {
                    entity: "deals".into(),
                    id: created.id.clone(),
                    link: "contacts".into(),
                    target_id: contact.id.clone(),
                },
            )
            .await?;
        println!("linked contact {} ({})", contact.title, contact.id);
    }
    gateway
        .note(
            &cx,
            NoteArgs {
                entity: "deals".into(),
                id: created.id.clone(),
                text: "Created by the crmgate example".into(),
            },
        )
        .await?;
    let stage = deals
        .field("stageId")
        .and_then(|f| f.options.get(1))
        .map(|o| o.value.clone());
    if let Some(stage) = stage {
        let moved = gateway
            .action(&cx, serde_json::from_value(json!({"entity": "deals", "id": created.id, "action": "move_stage", "params": {"stage": stage}})).expect("valid"))
            .await?;
        println!(
            "moved: {}",
            serde_json::to_string(&moved).unwrap_or_default()
        );
    }
    let token = match gateway
        .delete(
            &cx,
            DeleteArgs {
                entity: "deals".into(),
                id: created.id.clone(),
                confirm_token: None,
            },
        )
        .await?
    {
        DeleteOutput::Preview { confirm_token, .. } => confirm_token,
        DeleteOutput::Deleted { .. } => unreachable!("no token, no delete"),
    };
    gateway
        .delete(
            &cx,
            DeleteArgs {
                entity: "deals".into(),
                id: created.id.clone(),
                confirm_token: Some(token),
            },
        )
        .await?;
    println!("deleted deal {} (to the recycle bin)", created.id);
    Ok(())
}
