//! Atomic CRM: the `kind = "atomic"` config keys → the backend, and `crmgate sandbox atomic`.
//!
//! Keys (each secret also inline as `<key>`, warned about when the file is readable by others):
//! `transport` ("postgrest" by default, or "postgres"), `supabase_url`, `anon_key_env`,
//! `access_token_env` or `email` + `password_env` (the stdio identity), `jwt_secret_env`
//! (HS256) or `jwks_url` (default `{supabase_url}/auth/v1/.well-known/jwks.json`), `issuer`
//! (default `{supabase_url}/auth/v1`), `audience` (default "authenticated"),
//! `database_url_env` and `ssl_root_cert` (postgres), `app_url` (deep links),
//! `statement_timeout_ms`, `query_max_bytes`, `pool_size`, `sql_allow_functions` (functions
//! crm_query may call beyond its built-in allow-list; `docs/atomic-sql-guard.md`).

use crate::config::ResolvedCrm;
use crmgate_atomic::sandbox::Sandbox;
use crmgate_atomic::{AtomicBackend, AtomicConfig, Credential, Transport, Verification};
use crmgate_core::cache::MetadataCache;
use crmgate_core::{Backend, Result};
use std::sync::Arc;
use std::time::Duration;

/// Every vendor key of `kind = "atomic"`.
const KEYS: &[&str] = &[
    "transport",
    "supabase_url",
    "anon_key",
    "anon_key_env",
    "access_token",
    "access_token_env",
    "email",
    "password",
    "password_env",
    "jwt_secret",
    "jwt_secret_env",
    "jwks_url",
    "issuer",
    "audience",
    "database_url",
    "database_url_env",
    "ssl_root_cert",
    "app_url",
    "statement_timeout_ms",
    "query_max_bytes",
    "pool_size",
    "sql_allow_functions",
];

/// The Atomic CRM backend from its config section.
pub fn build(crm: &ResolvedCrm, cache: &MetadataCache) -> Result<Arc<dyn Backend>> {
    Ok(Arc::new(backend(crm, cache)?))
}

/// The backend itself (its [`AtomicBackend::verifier`] checks bearer tokens in hosted mode, and
/// [`AtomicBackend::authorization_server`] names Supabase Auth for Protected Resource Metadata).
pub fn backend(crm: &ResolvedCrm, cache: &MetadataCache) -> Result<AtomicBackend> {
    AtomicBackend::new(config(crm)?, cache.clone())
}

/// The authorization server of this section (`{supabase_url}/auth/v1`), if `supabase_url` is
/// set: for the hosted HTTP layer to name in Protected Resource Metadata.
#[allow(dead_code)]
pub fn authorization_server(crm: &ResolvedCrm) -> Result<Option<String>> {
    Ok(config(crm)?.authorization_server())
}

/// The section's keys as the backend's configuration. No I/O.
pub fn config(crm: &ResolvedCrm) -> Result<AtomicConfig> {
    crm.check_vendor_keys(KEYS)?;
    let transport = match crm.vendor_str("transport")?.map(str::trim) {
        None => Transport::Postgrest,
        Some(t) => t.parse::<Transport>().map_err(|_| {
            crm.error(
                "transport",
                format!("{t:?} is not known: use \"postgrest\" or \"postgres\""),
            )
        })?,
    };
    let mut config = AtomicConfig::new(transport);
    config.supabase_url = crm.vendor_str("supabase_url")?.map(str::to_owned);
    config.anon_key = crm.secret("anon_key")?;
    config.database_url = crm.secret("database_url")?;
    config.ssl_root_cert = crm.vendor_str("ssl_root_cert")?.map(Into::into);
    config.app_url = crm.vendor_str("app_url")?.map(str::to_owned);
    config.issuer = crm.vendor_str("issuer")?.map(str::to_owned);
    if let Some(audience) = crm.vendor_str("audience")? {
        config.audience = audience.to_owned();
    }
    config.verification = match (crm.secret("jwt_secret")?, crm.vendor_str("jwks_url")?) {
        (Some(_), Some(_)) => {
            return Err(crm.error(
                "jwks_url",
                "set either jwks_url or jwt_secret_env, not both",
            ));
        }
        (Some(secret), None) => Some(Verification::Hs256(secret)),
        (None, Some(url)) => Some(Verification::Jwks(url.to_owned())),
        (None, None) => None,
    };
    let token = crm.secret("access_token")?;
    let email = crm.vendor_str("email")?;
    let password = crm.secret("password")?;
    config.credential = match (token, email, password) {
        (Some(_), Some(_), _) => {
            return Err(crm.error(
                "email",
                "set either access_token_env or email + password_env, not both",
            ));
        }
        (Some(token), None, None) => Credential::AccessToken(token),
        (_, Some(email), Some(password)) => Credential::Password {
            email: email.to_owned(),
            password,
        },
        (_, Some(_), None) => {
            return Err(crm.error("password_env", "missing: email needs a password"));
        }
        (_, None, Some(_)) => {
            return Err(crm.error("email", "missing: password_env needs an email"));
        }
        (None, None, None) => Credential::None,
    };
    if let Some(ms) = int(crm, "statement_timeout_ms", 100, 600_000)? {
        config.statement_timeout = Duration::from_millis(ms);
    }
    if let Some(bytes) = int(crm, "query_max_bytes", 1024, 64 * 1024 * 1024)? {
        config.query_max_bytes = bytes as usize;
    }
    if let Some(n) = int(crm, "pool_size", 1, 64)? {
        config.pool_size = n as usize;
    }
    if let Some(value) = crm.vendor.get("sql_allow_functions") {
        let names = value.as_array().and_then(|items| {
            items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect::<Option<Vec<String>>>()
        });
        config.sql_allow_functions = names.ok_or_else(|| {
            crm.error(
                "sql_allow_functions",
                "must be a list of function names, e.g. [\"auth.uid\"]",
            )
        })?;
    }
    config.upstream = crm.upstream.clone();
    if let Some((key, message)) = config.problem() {
        return Err(crm.error(key, message));
    }
    Ok(config)
}

fn int(crm: &ResolvedCrm, key: &str, low: u64, high: u64) -> Result<Option<u64>> {
    match crm.vendor.get(key) {
        None => Ok(None),
        Some(toml::Value::Integer(n)) if (low as i64..=high as i64).contains(n) => {
            Ok(Some(*n as u64))
        }
        Some(toml::Value::Integer(_)) => {
            Err(crm.error(key, format!("must be between {low} and {high}")))
        }
        Some(_) => Err(crm.error(key, "must be a whole number")),
    }
}

/// Serve the Atomic CRM sandbox on 127.0.0.1:`port` until Ctrl-C.
pub async fn sandbox(port: u16) -> Result<()> {
    let sandbox = Sandbox::start_on(port).await.map_err(|e| {
        crmgate_core::Error::config(format!("could not listen on 127.0.0.1:{port}: {e}"))
    })?;
    sandbox.run_until_ctrl_c().await;
    Ok(())
}
