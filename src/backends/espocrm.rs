//! EspoCRM: the `kind = "espocrm"` config keys → the backend, and `crmgate sandbox espocrm`.
//!
//! Keys: `url` (required); one identity — `api_key[_env]` (API key), `api_key[_env]` +
//! `hmac_secret[_env]` (HMAC), or `username` + `password[_env]` (Espo-Authorization) — or none
//! at all when every caller brings its own API key as a bearer token (hosted mode);
//! `email_from` (optional From of drafts). Nothing here touches the network.

use crate::config::ResolvedCrm;
use crmgate_core::cache::MetadataCache;
use crmgate_core::{Backend, Error, Result};
use crmgate_espocrm::{Auth, EspoBackend, EspoConfig};
use std::sync::Arc;

/// Every vendor key of `kind = "espocrm"`.
const KEYS: &[&str] = &[
    "url",
    "api_key",
    "api_key_env",
    "hmac_secret",
    "hmac_secret_env",
    "username",
    "password",
    "password_env",
    "email_from",
];

/// The configured identity, from the secrets present.
fn auth(crm: &ResolvedCrm) -> Result<Auth> {
    let api_key = crm.secret("api_key")?;
    let hmac_secret = crm.secret("hmac_secret")?;
    let username = crm
        .vendor_str("username")?
        .map(str::trim)
        .filter(|u| !u.is_empty());
    let password = crm.secret("password")?;
    match (api_key, hmac_secret, username, password) {
        (Some(_), _, Some(_), _) => Err(crm.error(
            "username",
            "set either an API key (api_key_env, with hmac_secret_env for HMAC) or username + password_env, not both",
        )),
        (Some(key), Some(secret), None, None) => Ok(Auth::Hmac { key, secret }),
        (Some(key), None, None, None) => Ok(Auth::ApiKey(key)),
        (Some(_), _, None, Some(_)) => Err(crm.error(
            "password_env",
            "a password goes with username, not with an API key",
        )),
        (None, Some(_), _, _) => Err(crm.error(
            "hmac_secret_env",
            "HMAC needs the API key too: set api_key_env next to hmac_secret_env",
        )),
        (None, None, Some(username), Some(password)) => Ok(Auth::Basic {
            username: username.to_owned(),
            password,
        }),
        (None, None, Some(_), None) => Err(crm.error(
            "password_env",
            "missing: username needs a password (password_env = \"VAR\"), or use an API user's key instead",
        )),
        (None, None, None, Some(_)) => Err(crm.error(
            "username",
            "missing: password_env is set but username is not",
        )),
        (None, None, None, None) => Ok(Auth::None),
    }
}

/// The EspoCRM backend from its config section.
pub fn build(crm: &ResolvedCrm, cache: &MetadataCache) -> Result<Arc<dyn Backend>> {
    crm.check_vendor_keys(KEYS)?;
    let url = crm.require_vendor_str("url")?;
    let mut config = EspoConfig::new(url, auth(crm)?).map_err(|e| crm.error("url", e.message))?;
    if let Some(from) = crm.vendor_str("email_from")?.map(str::trim) {
        if !from.contains('@') || from.contains(char::is_whitespace) {
            return Err(crm.error("email_from", "is not an email address"));
        }
        config = config.with_email_from(from);
    }
    Ok(Arc::new(EspoBackend::new(
        config,
        crm.upstream.clone(),
        cache.clone(),
    )?))
}

/// Serve the EspoCRM sandbox on 127.0.0.1:`port` until Ctrl-C.
pub async fn sandbox(port: u16) -> Result<()> {
    crmgate_espocrm::sandbox::serve(port).await.map_err(|e| {
        Error::config(format!(
            "could not run the EspoCRM sandbox on port {port}: {e}"
        ))
    })
}
