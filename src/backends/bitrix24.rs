//! Bitrix24: the `kind = "bitrix24"` config keys → the backend, and `crmgate sandbox bitrix24`.
//!
//! Keys: `webhook_url_env` / `webhook_url` (an inbound webhook, a secret), or `portal` with
//! `access_token_env` / `access_token` (an OAuth token) and optionally `refresh_token_env`,
//! `client_id`, `client_secret_env` (renewal) and `oauth_server`. `portal` alone serves hosted
//! callers bringing their own OAuth tokens. No I/O here.

use crate::config::ResolvedCrm;
use crmgate_bitrix24::{Bitrix24Backend, Bitrix24Config, Refresh};
use crmgate_core::cache::MetadataCache;
use crmgate_core::{Backend, Result};
use std::sync::Arc;
use std::time::Duration;

const KEYS: &[&str] = &[
    "webhook_url",
    "webhook_url_env",
    "portal",
    "access_token",
    "access_token_env",
    "refresh_token",
    "refresh_token_env",
    "client_id",
    "client_secret",
    "client_secret_env",
    "oauth_server",
];

/// The Bitrix24 backend from its config section.
pub fn build(crm: &ResolvedCrm, cache: &MetadataCache) -> Result<Arc<dyn Backend>> {
    crm.check_vendor_keys(KEYS)?;
    let mut upstream = crm.upstream.clone();
    // QUERY_LIMIT_EXCEEDED drains at 2 requests/s: give reads time to wait it out
    upstream.max_retries = upstream.max_retries.max(3);
    upstream.base_backoff = upstream.base_backoff.max(Duration::from_millis(500));
    let webhook = crm.secret("webhook_url")?;
    let portal = crm.vendor_str("portal")?;
    let access = crm.secret("access_token")?;
    let config = match (webhook, portal) {
        (Some(_), _) if access.is_some() => {
            return Err(crm.error(
                "access_token_env",
                "set either webhook_url_env (a webhook) or access_token_env (OAuth), not both",
            ));
        }
        (Some(url), _) => Bitrix24Config::webhook(url, upstream)
            .map_err(|e| crm.error("webhook_url_env", e.message))?,
        (None, Some(portal)) => {
            let refresh = match crm.secret("refresh_token")? {
                Some(refresh_token) => Some(Refresh {
                    refresh_token,
                    client_id: crm.require_vendor_str("client_id")?.to_owned(),
                    client_secret: crm.require_secret("client_secret")?,
                }),
                None => None,
            };
            if access.is_none() && refresh.is_some() {
                return Err(crm.error(
                    "access_token_env",
                    "missing: refresh needs the access token it renews",
                ));
            }
            Bitrix24Config::oauth(portal, access, refresh, upstream)
                .map_err(|e| crm.error("portal", e.message))?
        }
        (None, None) => {
            return Err(crm.error(
                "webhook_url_env",
                "missing: kind \"bitrix24\" needs webhook_url_env (an inbound webhook URL) or \
                 portal with access_token_env (OAuth)",
            ));
        }
    };
    let config = match crm.vendor_str("oauth_server")? {
        Some(server) => config
            .with_oauth_server(server)
            .map_err(|e| crm.error("oauth_server", e.message))?,
        None => config,
    };
    Ok(Arc::new(Bitrix24Backend::new(config, cache.clone())?))
}

/// Serve the Bitrix24 sandbox on 127.0.0.1:`port` until Ctrl-C.
pub async fn sandbox(port: u16) -> Result<()> {
    crmgate_bitrix24::sandbox::serve(port).await.map_err(|e| {
        crmgate_core::Error::config(format!("the Bitrix24 sandbox could not listen: {e}"))
    })
}
