//! Using the EspoCRM backend as a library, without MCP: lists the entity types, describes
//! Contact, searches with a filter, creates a contact, links it to a company, adds a note, and
//! deletes it through the confirm-token flow.
//!
//! Against any EspoCRM (an API user with the key; see the EspoCRM section of README.md):
//!
//! ```text
//! cargo run --example espocrm -- https://crm.example.com "$ESPOCRM_API_KEY"
//! ```
//!
//! Against the sandbox (`ESPOCRM_URL` / `ESPOCRM_API_KEY` work instead of arguments):
//!
//! ```text
//! crmgate sandbox espocrm --port 8090 &
//! ESPOCRM_URL=http://127.0.0.1:8090 ESPOCRM_API_KEY=sandbox-api-full-key cargo run --example espocrm
//! ```
//!
//! With no URL at all it starts the sandbox in-process and runs against that.

use crmgate_core::CallContext;
use crmgate_core::cache::MetadataCache;
use crmgate_core::confirm::ConfirmSigner;
use crmgate_core::gateway::*;
use crmgate_core::upstream::UpstreamConfig;
use crmgate_espocrm::sandbox::{Sandbox, credentials};
use crmgate_espocrm::{Auth, EspoBackend, EspoConfig};
use secrecy::SecretString;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), crmgate_core::Error> {
    let mut args = std::env::args().skip(1);
    let url = args.next().or_else(|| std::env::var("ESPOCRM_URL").ok());
    let key = args
        .next()
        .or_else(|| std::env::var("ESPOCRM_API_KEY").ok());
    let (_sandbox, url, key) = match url {
        Some(url) => {
            let key = key.ok_or_else(|| {
                crmgate_core::Error::config(
                    "pass the API key as the second argument or ESPOCRM_API_KEY",
                )
            })?;
            (None, url, key)
        }
        None => {
            let sandbox = Sandbox::start()
                .await
                .map_err(|e| crmgate_core::Error::config(format!("sandbox: {e}")))?;
            let url = sandbox.url().to_owned();
            println!("no URL given: running against an in-process sandbox at {url}");
            (Some(sandbox), url, credentials::API_KEY.to_owned())
        }
    };

    let config = EspoConfig::new(&url, Auth::ApiKey(SecretString::from(key)))?;
    let cache = MetadataCache::new(Duration::from_secs(300), 1000);
    let backend = EspoBackend::new(config, UpstreamConfig::default(), cache)?;
    let settings = GatewaySettings {
        tier: Tier::Destructive,
        ..GatewaySettings::default()
    };
    let gateway = Gateway::new(Arc::new(backend), settings, ConfirmSigner::random());
    let cx = CallContext::configured();

    let entities = gateway.entities(&cx).await?.entities;
    let names: Vec<String> = entities
        .iter()
        .map(|e| format!("{} ({})", e.name, e.native))
        .collect();
    println!("entity types: {}", names.join(", "));

    let contact = gateway.describe(&cx, "Contact").await?;
    let required: Vec<&str> = contact
        .fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name.as_str())
        .collect();
    println!(
        "Contact: {} fields (required: {}), links: {}",
        contact.fields.len(),
        required.join(", "),
        contact
            .links
            .iter()
            .map(|l| l.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );

    let search: SearchArgs = serde_json::from_value(json!({
        "entity": "contacts",
        "where": [{"field": "emailAddress", "op": "is_not_null"}],
        "sort": "lastName",
        "limit": 5
    }))
    .expect("valid search arguments");
    let found = gateway.search(&cx, search).await?;
    println!(
        "{} contacts with an email address; the first 5:",
        found.total.unwrap_or(0)
    );
    for r in &found.records {
        println!(
            "  {} <{}>",
            r.title,
            r.fields["emailAddress"].as_str().unwrap_or("")
        );
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
        .into_iter()
        .next()
        .ok_or_else(|| crmgate_core::Error::config("the CRM has no company to link to"))?;

    let created = gateway
        .create(
            &cx,
            CreateArgs {
                entity: "contacts".into(),
                data: json!({"firstName": "Example", "lastName": "Person", "emailAddress": "example.person@crmgate.example"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                skip_duplicate_check: false,
            },
        )
        .await?
        .into_record()
        .ok_or_else(|| crmgate_core::Error::upstream_protocol("the CRM did not report the new record's id"))?;
    println!(
        "created {} [{}] {}",
        created.title,
        created.id,
        created.url.as_deref().unwrap_or("")
    );

    gateway
        .link(
            &cx,
            LinkArgs {
                entity: "contacts".into(),
                id: created.id.clone(),
                link: "accounts".into(),
                target_id: company.id.clone(),
            },
        )
        .await?;
    println!("linked to {}", company.title);

    let note = gateway
        .note(
            &cx,
            NoteArgs {
                entity: "contacts".into(),
                id: created.id.clone(),
                text: "Added by the crmgate example.".into(),
            },
        )
        .await?;
    println!("note {} added", note.note.id);

    let preview = gateway
        .delete(
            &cx,
            DeleteArgs {
                entity: "contacts".into(),
                id: created.id.clone(),
                confirm_token: None,
            },
        )
        .await?;
    let DeleteOutput::Preview { confirm_token, .. } = preview else {
        unreachable!("a delete without a token only previews");
    };
    gateway
        .delete(
            &cx,
            DeleteArgs {
                entity: "contacts".into(),
                id: created.id.clone(),
                confirm_token: Some(confirm_token),
            },
        )
        .await?;
    println!(
        "deleted {} (soft: an EspoCRM admin can restore it)",
        created.id
    );
    Ok(())
}
