//! BottleCRM: the `kind = "bottlecrm"` config keys → the backend, and `crmgate sandbox bottlecrm`.
//!
//! Keys: `url` (the API's base URL, required), `token_env` (the environment variable holding a
//! personal access token `bcrm_pat_…`) or `token` (inline), `app_url` (the web app, for deep
//! links). The token is optional here: in hosted mode each caller brings their own, and a
//! stdio call without one fails with a `CONFIG` error naming `token_env`.

use crate::config::ResolvedCrm;
use crmgate_bottlecrm::{BottleConfig, BottleCrmBackend, config::normalise_url};
use crmgate_core::cache::MetadataCache;
use crmgate_core::{Backend, Error, Result};
use std::sync::Arc;

/// The BottleCRM backend from its config section. No I/O.
pub fn build(crm: &ResolvedCrm, cache: &MetadataCache) -> Result<Arc<dyn Backend>> {
    crm.check_vendor_keys(&["url", "token", "token_env", "app_url"])?;
    let url = crm.require_vendor_str("url")?;
    let token = crm.secret("token")?;
    let mut config = BottleConfig::new(url, token).map_err(|e| crm.error("url", e.message))?;
    config.app_url = crm
        .vendor_str("app_url")?
        .map(normalise_url)
        .transpose()
        .map_err(|e| crm.error("app_url", e.message))?;
    config.upstream = crm.upstream.clone();
    Ok(Arc::new(BottleCrmBackend::new(config, cache.clone())?))
}

/// Serve the BottleCRM sandbox on 127.0.0.1:`port` until Ctrl-C.
pub async fn sandbox(port: u16) -> Result<()> {
    crmgate_bottlecrm::sandbox::serve(port).await.map_err(|e| {
        Error::config(format!(
            "could not start the BottleCRM sandbox on port {port}: {e}"
        ))
    })
}
