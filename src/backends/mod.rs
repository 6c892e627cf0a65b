//! Builds the backend a config names, and the [`App`] around it.
//!
//! Each vendor backend checks its own vendor keys (with [`ResolvedCrm::check_vendor_keys`])
//! and reads its secrets (with [`ResolvedCrm::secret`]); nothing here touches the network, so
//! start-up stays cheap — connections and metadata wait for the first call.

pub mod atomic;
mod bitrix24;
mod bottlecrm;
mod espocrm;

use crate::app::App;
use crate::config::ResolvedCrm;
use crmgate_core::cache::MetadataCache;
use crmgate_core::confirm::ConfirmSigner;
use crmgate_core::gateway::Gateway;
use crmgate_core::{Backend, Result};
use secrecy::ExposeSecret;
use std::sync::Arc;

/// Every backend kind a config may name.
pub const KINDS: &[&str] = &["demo", "espocrm", "bitrix24", "bottlecrm", "atomic"];

/// The backend for `crm.kind`, configured from its vendor keys. `cache` is the process-wide
/// metadata cache; each backend namespaces its keys by instance and caller scope.
pub fn build(crm: &ResolvedCrm, cache: &MetadataCache) -> Result<Arc<dyn Backend>> {
    match crm.kind.as_str() {
        "demo" => {
            crm.check_vendor_keys(&[])?;
            Ok(Arc::new(crmgate_demo::DemoBackend::new()))
        }
        "espocrm" => espocrm::build(crm, cache),
        "bitrix24" => bitrix24::build(crm, cache),
        "bottlecrm" => bottlecrm::build(crm, cache),
        "atomic" => atomic::build(crm, cache),
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
    let cache = MetadataCache::new(crm.cache_ttl, 10_000);
    let backend = build(&crm, &cache)?;
    let signer = match &crm.confirm_key {
        Some(key) => ConfirmSigner::new(key.expose_secret().as_bytes()),
        None => ConfirmSigner::random(),
    };
    let gateway = Gateway::new(backend, crm.settings.clone(), signer);
    Ok(App {
        gateway,
        crm_name: crm.name,
        prompts_dir: crm.prompts_dir,
        budget: None,
        metrics: None,
    })
}

/// Run a vendor's sandbox (an in-process fake of its API) on `127.0.0.1:port` until Ctrl-C.
pub async fn sandbox(vendor: &str, port: u16) -> Result<()> {
    match vendor {
        "espocrm" => espocrm::sandbox(port).await,
        "bitrix24" => bitrix24::sandbox(port).await,
        "bottlecrm" => bottlecrm::sandbox(port).await,
        "atomic" => atomic::sandbox(port).await,
        other => Err(crmgate_core::Error::not_allowed(
            format!("no sandbox for {other:?}"),
            "sandboxes: espocrm, bitrix24, bottlecrm, atomic",
        )),
    }
}

/// Vendor keys that carry one CRM user's credential, per kind (each also as `<key>_env`).
const IDENTITY_KEYS: &[(&str, &[&str])] = &[
    (
        "espocrm",
        &["api_key", "hmac_secret", "username", "password"],
    ),
    (
        "bitrix24",
        &["webhook_url", "access_token", "refresh_token"],
    ),
    ("bottlecrm", &["token"]),
    ("atomic", &["access_token", "email", "password"]),
];

/// The configured credential keys of a section (none for the demo).
pub fn identity_keys_present(crm: &ResolvedCrm) -> Vec<String> {
    let keys = IDENTITY_KEYS
        .iter()
        .find(|(kind, _)| *kind == crm.kind)
        .map_or(&[][..], |(_, keys)| *keys);
    keys.iter()
        .flat_map(|k| [k.to_string(), format!("{k}_env")])
        .filter(|k| crm.vendor.contains_key(k))
        .collect()
}

/// Hosted mode has no server-side credential: refuse a configured one unless
/// `shared_identity = true` says every caller may act as it (then warn).
pub fn check_hosted_identity(crm: &ResolvedCrm) -> Result<()> {
    let present = identity_keys_present(crm);
    if present.is_empty() {
        return Ok(());
    }
    if crm.shared_identity {
        tracing::warn!(
            crm = %crm.name,
            keys = %present.join(", "),
            "shared_identity = true: every caller of this hosted server acts as the configured CRM user"
        );
        return Ok(());
    }
    let mut error = crm.error(
        &present[0],
        format!(
            "hosted mode takes each caller's own credential from their bearer token, so a configured credential ({}) is refused",
            present.join(", ")
        ),
    );
    error.suggestion = "remove it from this section for `serve --http`, or set shared_identity = true if every caller should act as that one user".into();
    Err(error)
}
