//! Using the Atomic CRM backend as a library: a `Gateway` over `AtomicBackend`, acting as a
//! signed-in user under Atomic CRM's row-level security.
//!
//! It lists the entities, shows the deal stages this instance allows (from its
//! `configuration` row), finds won deals, creates a contact at a company, links it to a deal,
//! adds a note and reads the deal's timeline, then deletes the contact through the
//! confirm-token flow. With the postgres transport it also runs one read-only crm_query.
//!
//! Run against the built-in sandbox (nothing to set up):
//!     cargo run --example atomic -- --sandbox
//! Run against a Supabase project (postgrest transport), signing in as a CRM user:
//!     ATOMIC_SUPABASE_URL=https://<ref>.supabase.co ATOMIC_ANON_KEY=… \
//!     ATOMIC_EMAIL=you@example.com ATOMIC_PASSWORD=… cargo run --example atomic
//! (ATOMIC_ACCESS_TOKEN=… instead of email and password; ATOMIC_JWT_SECRET=… for a self-hosted
//! stack signing with HS256; the project's JWKS is used otherwise.)
//! Add ATOMIC_DATABASE_URL=postgresql://crmgate:…@db.<ref>.supabase.co:5432/postgres for the
//! postgres transport (a role that can only become `authenticated`; see the README).

use crmgate_atomic::sandbox::{ALICE_PASSWORD, Sandbox};
use crmgate_atomic::testkit::TestUser;
use crmgate_atomic::{AtomicBackend, AtomicConfig, Credential, Transport, Verification};
use crmgate_core::cache::MetadataCache;
use crmgate_core::confirm::ConfirmSigner;
use crmgate_core::gateway::*;
use crmgate_core::{CallContext, Error};
use secrecy::SecretString;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The configuration from the environment, or for the sandbox.
fn config(sandbox: Option<&Sandbox>) -> Result<AtomicConfig, Error> {
    if let Some(sandbox) = sandbox {
        return Ok(sandbox.config(Credential::Password {
            email: TestUser::Alice.email().into(),
            password: SecretString::from(ALICE_PASSWORD),
        }));
    }
    let database_url = env("ATOMIC_DATABASE_URL").map(SecretString::from);
    let transport = if database_url.is_some() {
        Transport::Postgres
    } else {
        Transport::Postgrest
    };
    let mut config = AtomicConfig::new(transport);
    config.database_url = database_url;
    config.supabase_url = env("ATOMIC_SUPABASE_URL");
    config.anon_key = env("ATOMIC_ANON_KEY").map(SecretString::from);
    config.verification =
        env("ATOMIC_JWT_SECRET").map(|s| Verification::Hs256(SecretString::from(s)));
    config.credential = match (
        env("ATOMIC_ACCESS_TOKEN"),
        env("ATOMIC_EMAIL"),
        env("ATOMIC_PASSWORD"),
    ) {
        (Some(token), _, _) => Credential::AccessToken(SecretString::from(token)),
        (None, Some(email), Some(password)) => Credential::Password {
            email,
            password: SecretString::from(password),
        },
        _ => {
            return Err(Error::config(
                "set ATOMIC_ACCESS_TOKEN, or ATOMIC_EMAIL and ATOMIC_PASSWORD (or pass --sandbox)",
            ));
        }
    };
    Ok(config)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let sandbox = match std::env::args().any(|a| a == "--sandbox") {
        true => Some(
            Sandbox::start()
                .await
                .map_err(|e| Error::config(format!("sandbox: {e}")))?,
        ),
        false => None,
    };
    let config = config(sandbox.as_ref())?;
    let postgres = config.transport == Transport::Postgres;
    let backend = AtomicBackend::new(config, MetadataCache::new(Duration::from_secs(300), 1000))?;
    let gateway = Gateway::new(
        Arc::new(backend),
        GatewaySettings {
            tier: Tier::Destructive,
            ..GatewaySettings::default()
        },
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
    let stages: Vec<String> = deals
        .field("stage")
        .map(|f| f.options.iter().map(|o| o.value.clone()).collect())
        .unwrap_or_default();
    println!("deal stages: {}", stages.join(", "));

    let won = gateway
        .search(
            &cx,
            SearchArgs {
                entity: "deals".into(),
                conditions: vec![ConditionArg {
                    field: "stage".into(),
                    op: "eq".into(),
                    value: json!("won"),
                }],
                sort: Some(SortArg::One("-amount".into())),
                limit: Some(5),
                ..Default::default()
            },
        )
        .await?;
    println!("won deals: {} in total", won.total.unwrap_or(0));
    for deal in &won.records {
        println!(
            "  {} — {} ({})",
            deal.id,
            deal.title,
            deal.fields.get("amount").unwrap_or(&json!(null))
        );
    }
    let Some(deal) = won.records.first() else {
        println!("no won deal to work on; done");
        return Ok(());
    };
    let company = deal
        .fields
        .get("company_id")
        .cloned()
        .unwrap_or(json!(null));

    let contact = gateway
        .create(
            &cx,
            CreateArgs {
                entity: "contacts".into(),
                data: json!({
                    "first_name": "Example",
                    "last_name": "Contact",
                    "company_id": company,
                    "email_jsonb": [{"email": "example.contact@example.com", "type": "Work"}]
                })
                .as_object()
                .cloned()
                .unwrap_or_default(),
                skip_duplicate_check: false,
            },
        )
        .await?
        .into_record()
        .ok_or_else(|| {
            crmgate_core::Error::upstream_protocol("the CRM did not report the new record's id")
        })?;
    println!("created contact {} ({})", contact.id, contact.title);
    let link = LinkArgs {
        entity: "deals".into(),
        id: deal.id.clone(),
        link: "contacts".into(),
        target_id: contact.id.clone(),
    };
    gateway.link(&cx, link.clone()).await?;
    gateway
        .note(
            &cx,
            NoteArgs {
                entity: "deals".into(),
                id: deal.id.clone(),
                text: "Met the new contact".into(),
            },
        )
        .await?;
    let timeline = gateway
        .timeline(
            &cx,
            TimelineArgs {
                entity: "deals".into(),
                id: deal.id.clone(),
                limit: Some(3),
                ..Default::default()
            },
        )
        .await?;
    for item in &timeline.items {
        println!(
            "  {} {} — {}",
            item.at,
            item.author.as_deref().unwrap_or("?"),
            item.text
        );
    }

    if postgres {
        let pipeline = gateway
            .sql(&cx, QueryArgs { sql: "select stage, count(*), sum(amount) from deals group by stage order by 3 desc nulls last".into(), limit: Some(10) })
            .await?;
        println!(
            "pipeline ({}): {:?}",
            pipeline.columns.join(", "),
            pipeline.rows
        );
    }

    gateway.unlink(&cx, link).await?;
    let preview = gateway
        .delete(
            &cx,
            DeleteArgs {
                entity: "contacts".into(),
                id: contact.id.clone(),
                confirm_token: None,
            },
        )
        .await?;
    if let DeleteOutput::Preview { confirm_token, .. } = preview {
        gateway
            .delete(
                &cx,
                DeleteArgs {
                    entity: "contacts".into(),
                    id: contact.id.clone(),
                    confirm_token: Some(confirm_token),
                },
            )
            .await?;
        println!("deleted contact {}", contact.id);
    }
    Ok(())
}
