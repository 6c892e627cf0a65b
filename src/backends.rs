//! Builds the backend a config names, and the [`App`] around it.
//!
//! Each vendor backend checks its own vendor keys (with [`ResolvedCrm::check_vendor_keys`])
//! and reads its secrets (with [`ResolvedCrm::secret`]); nothing here touches the network, so
//! start-up stays cheap — connections and metadata wait for the first call.

use crate::app::App;
use crate::config::ResolvedCrm;
use crmgate_core::confirm::ConfirmSigner;
use crmgate_core::gateway::Gateway;
use crmgate_core::{Backend, Result};
use secrecy::ExposeSecret;
use std::sync::Arc;

/// Every backend kind a config may name.
pub const KINDS: &[&str] = &["demo", "espocrm", "bitrix24", "bottlecrm", "atomic"];

/// Kinds built into this version.
pub const BUILT: &[&str] = &["demo"];

/// The backend for `crm.kind`, configured from its vendor keys.
pub fn build(crm: &ResolvedCrm) -> Result<Arc<dyn Backend>> {
    match crm.kind.as_str() {
        "demo" => {
            crm.check_vendor_keys(&[])?;
            Ok(Arc::new(crmgate_demo::DemoBackend::new()))
        }
        kind if KINDS.contains(&kind) => Err(crm.error(
            "kind",
            format!(
                "kind {kind:?} is not built into this version of crmgate yet; use kind = \"demo\""
            ),
        )),
        other => {
            let known = crmgate_core::text::did_you_mean(other, KINDS.iter().copied())
                .map(|best| format!(" (did you mean {best}?)"))
                .unwrap_or_default();
            Err(crm.error(
                "kind",
                format!(
                    "unknown kind {other:?}{known}: use one of {}",
                    KINDS.join(", ")
                ),
            ))
        }
    }
}

/// The gateway over the configured backend, and the app around it.
pub fn app(crm: ResolvedCrm) -> Result<App> {
    let backend = build(&crm)?;
    let signer = match &crm.confirm_key {
        Some(key) => ConfirmSigner::new(key.expose_secret().as_bytes()),
        None => ConfirmSigner::random(),
    };
    let gateway = Gateway::new(backend, crm.settings.clone(), signer);
    Ok(App {
        gateway,
        crm_name: crm.name,
        prompts_dir: crm.prompts_dir,
    })
}
