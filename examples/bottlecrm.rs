//! Using crmgate as a library against BottleCRM, without MCP: the BottleCRM backend behind a
//! `Gateway`.
//!
//! Lists open leads, creates a contact, comments on it, and converts a lead — conversion is
//! irreversible (it creates an account, a contact and an opportunity), so it goes through the
//! confirm-token flow: a preview with a token first, then the conversion with the token.
//!
//! Run against the built-in sandbox (started in this process):
//!     `cargo run --example bottlecrm`
//! against a sandbox started with `crmgate sandbox bottlecrm --port 8765` (it prints tokens):
//!     `cargo run --example bottlecrm -- http://127.0.0.1:8765 bcrm_pat_SandboxAdminOrgA_00000000000000000000000000`
//! or against a real BottleCRM (this writes to it):
//!     `BOTTLECRM_URL=https://api.example.com BOTTLECRM_TOKEN=bcrm_pat_… cargo run --example bottlecrm`

use crmgate_bottlecrm::sandbox::{ADMIN_A, Sandbox};
use crmgate_bottlecrm::{BottleConfig, BottleCrmBackend};
use crmgate_core::CallContext;
use crmgate_core::cache::MetadataCache;
use crmgate_core::confirm::ConfirmSigner;
use crmgate_core::gateway::*;
use secrecy::SecretString;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args.next().or_else(|| std::env::var("BOTTLECRM_URL").ok());
    let token = args
        .next()
        .or_else(|| std::env::var("BOTTLECRM_TOKEN").ok());
    // no URL given: run against a sandbox in this process
    let (sandbox, url, token) = match url {
        Some(url) => (
            None,
            url,
            token.ok_or("give the token as the second argument or BOTTLECRM_TOKEN")?,
        ),
        None => {
            let sandbox = Sandbox::start().await?;
            let url = sandbox.url();
            (Some(sandbox), url, ADMIN_A.to_owned())
        }
    };
    let config = BottleConfig::new(&url, Some(SecretString::from(token)))?;
    let backend =
        BottleCrmBackend::new(config, MetadataCache::new(Duration::from_secs(300), 1000))?;
    let settings = GatewaySettings {
        tier: Tier::Destructive,
        ..GatewaySettings::default()
    };
    let gateway = Gateway::new(Arc::new(backend), settings, ConfirmSigner::random());
    let cx = CallContext::configured();

    // list: open leads only (status filters pick BottleCRM's open or closed section)
    let open = SearchArgs {
        entity: "leads".into(),
        conditions: vec![ConditionArg {
            field: "status".into(),
            op: "in".into(),
            value: json!(["assigned", "in process", "recycled"]),
        }],
        limit: Some(5),
        ..Default::default()
    };
    let page = gateway.search(&cx, open).await?;
    println!("open leads ({} in all):", page.total.unwrap_or(0));
    for r in &page.records {
        println!("  {}  {}", r.id, r.title);
    }

    // create a contact, then comment on it
    let contact = gateway
        .create(
            &cx,
            CreateArgs {
                entity: "contacts".into(),
                data: json!({"first_name": "Erin", "last_name": "Example", "email": format!("erin.{}@example.org", std::process::id())})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                skip_duplicate_check: false,
            },
        )
        .await?
        .into_record()
        .ok_or("the CRM did not report the new record's id")?;
    println!("created contact {} ({})", contact.title, contact.id);
    let note = gateway
        .note(
            &cx,
            NoteArgs {
                entity: "contacts".into(),
                id: contact.id.clone(),
                text: "Met at the expo; wants a demo next week.".into(),
            },
        )
        .await?
        .note;
    println!("commented: {:?} ({})", note.title, note.id);

    // convert a lead with an email: preview + token first, then the conversion
    let Some(lead) = page
        .records
        .iter()
        .find(|r| r.fields.get("email").is_some_and(|e| e.is_string()))
    else {
        println!("no open lead with an email to convert");
        return Ok(());
    };
    let convert = ActionArgs {
        entity: "leads".into(),
        id: lead.id.clone(),
        action: "convert".into(),
        ..Default::default()
    };
    let ActionOutput::Preview {
        description,
        confirm_token,
        expires_in_s,
        ..
    } = gateway.action(&cx, convert.clone()).await?
    else {
        return Err("conversion ran without confirmation".into());
    };
    println!(
        "convert {}? {description}\n  (token valid {expires_in_s}s)",
        lead.title
    );
    let done = gateway
        .action(
            &cx,
            ActionArgs {
                confirm_token: Some(confirm_token),
                ..convert
            },
        )
        .await?;
    if let ActionOutput::Done { result, .. } = done {
        println!(
            "converted: account {}, contact {}, opportunity {}",
            result["account_id"], result["contact_id"], result["opportunity_id"]
        );
    }
    drop(sandbox);
    Ok(())
}
