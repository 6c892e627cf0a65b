//! Builds the backend a config names, and the [`App`] around it.
//!
//! Each vendor crate reads, checks and builds its own section (its `config.rs` implements
//! [`crmgate_core::config::VendorSection`]; [`crate::config::kind`] maps `kind` to it). Nothing
//! here touches the network, so start-up stays cheap — connections and metadata wait for the
//! first call.

use crate::app::App;
use crate::config::ResolvedCrm;
use crmgate_core::cache::MetadataCache;
use crmgate_core::confirm::ConfirmSigner;
use crmgate_core::gateway::{Gateway, Journal};
use crmgate_core::{Backend, Result};
use crmgate_shared::{CredentialHasher, SharedState};
use secrecy::ExposeSecret;
use std::sync::Arc;

/// The backend for `crm.kind`, configured from its vendor keys (secrets read from the
/// environment now). `cache` is the process-wide metadata cache; each backend namespaces its
/// keys by instance and caller scope.
pub fn build(crm: &ResolvedCrm, cache: &MetadataCache) -> Result<Arc<dyn Backend>> {
    crm.section()?
        .build(crm.upstream.clone(), cache)
        .map_err(|problem| crm.problem(problem))
}

/// The state this process shares: through Redis when `[redis]` is set (no I/O yet: the first
/// use connects), else in-process. Must run inside the tokio runtime.
pub fn shared_state(crm: &ResolvedCrm) -> Result<SharedState> {
    match &crm.redis {
        None => Ok(SharedState::local()),
        Some(settings) => SharedState::redis(settings).map_err(|problem| {
            crate::config::Ctx {
                file: crm.source.clone(),
            }
            .error(&problem.key, problem.message)
        }),
    }
}

/// The gateway over the configured backend, and the app around it. Must run inside the tokio
/// runtime (the shared state's Redis connection is set up there).
pub fn app(mut crm: ResolvedCrm) -> Result<App> {
    let shared = shared_state(&crm)?;
    crm.upstream.shared = Some(shared.clone());
    let cache = MetadataCache::new(crm.cache_ttl, 10_000);
    let backend = build(&crm, &cache)?;
    let signer = match &crm.confirm_key {
        Some(key) => ConfirmSigner::new(key.expose_secret().as_bytes()),
        None => ConfirmSigner::random(),
    };
    let mut gateway = Gateway::new(backend, crm.settings.clone(), signer);
    // no I/O: the store opens its file or database on the first write
    if let Some(store) = crmgate_journal::open(&crm.journal)? {
        gateway = gateway.with_journal(Journal {
            store,
            crm: crm.name.clone(),
            on_failure: crm.journal.on_failure,
        });
    }
    Ok(App {
        gateway,
        crm_name: crm.name,
        prompts_dir: crm.prompts_dir,
        budget: None,
        metrics: None,
        shared,
        hasher: match &crm.confirm_key {
            Some(key) => CredentialHasher::from_secret(key),
            None => CredentialHasher::random(),
        },
    })
}

/// Run a vendor's sandbox (an in-process fake of its API) on `127.0.0.1:port` until Ctrl-C.
pub async fn sandbox(vendor: &str, port: u16) -> Result<()> {
    let listening = |e: std::io::Error| {
        crmgate_core::Error::config(format!(
            "the {vendor} sandbox could not listen on 127.0.0.1:{port}: {e}"
        ))
    };
    match vendor {
        #[cfg(all(feature = "sandbox", feature = "espocrm"))]
        "espocrm" => crmgate_espocrm::sandbox::serve(port)
            .await
            .map_err(listening),
        #[cfg(all(feature = "sandbox", feature = "bitrix24"))]
        "bitrix24" => crmgate_bitrix24::sandbox::serve(port)
            .await
            .map_err(listening),
        #[cfg(all(feature = "sandbox", feature = "bottlecrm"))]
        "bottlecrm" => crmgate_bottlecrm::sandbox::serve(port)
            .await
            .map_err(listening),
        #[cfg(all(feature = "sandbox", feature = "atomic"))]
        "atomic" => {
            let sandbox = crmgate_atomic::sandbox::Sandbox::start_on(port)
                .await
                .map_err(listening)?;
            sandbox.run_until_ctrl_c().await;
            Ok(())
        }
        other => {
            let _ = listening;
            Err(crmgate_core::Error::not_allowed(
                format!(
                    "no sandbox for {} in this build",
                    crmgate_core::config::shown(other)
                ),
                format!("sandboxes built in: {}", SANDBOXES.join(", ")),
            ))
        }
    }
}

/// The sandboxes this binary carries (feature `sandbox` and each vendor's feature).
pub const SANDBOXES: &[&str] = &[
    #[cfg(all(feature = "sandbox", feature = "espocrm"))]
    "espocrm",
    #[cfg(all(feature = "sandbox", feature = "bitrix24"))]
    "bitrix24",
    #[cfg(all(feature = "sandbox", feature = "bottlecrm"))]
    "bottlecrm",
    #[cfg(all(feature = "sandbox", feature = "atomic"))]
    "atomic",
];

/// The configured credential keys of a section (none for the demo).
pub fn identity_keys_present(crm: &ResolvedCrm) -> Vec<String> {
    crm.identity_keys().into_iter().map(str::to_owned).collect()
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
