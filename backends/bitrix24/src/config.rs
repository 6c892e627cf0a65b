//! The Bitrix24 backend's configuration: which portal, and which credential — an inbound
//! webhook URL (`https://PORTAL/rest/USER_ID/CODE/`, a secret since it embeds the code) or an
//! OAuth access token (optionally renewed with a refresh token and the app's client id and
//! secret). In hosted mode the caller's bearer token is an OAuth access token for the portal.
//!
//! [`Bitrix24Section`] is the `[crm.NAME]` section of `kind = "bitrix24"`, with Bitrix24's
//! rate-limit defaults ([`upstream_defaults`]). Parsing only; no I/O. Errors never echo the
//! webhook URL.

use crate::Bitrix24Backend;
use crmgate_core::cache::MetadataCache;
use crmgate_core::config::{
    ConfigProblem, ConfigResult, EnvVarName, InlineSecret, VendorSection, present, secret,
};
use crmgate_core::upstream::UpstreamConfig;
use crmgate_core::{Backend, Error, Result};
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// Bitrix24's OAuth server, where refresh tokens are exchanged.
pub const DEFAULT_OAUTH_SERVER: &str = "https://oauth.bitrix.info";

/// How the configured identity authenticates.
#[derive(Debug, Clone)]
pub enum Credential {
    /// An inbound webhook: the base URL `https://PORTAL/rest/USER_ID/CODE/` (secret).
    Webhook(SecretString),
    /// An OAuth access token, sent as `auth` in the body.
    OAuth {
        /// The access token (lives one hour).
        access_token: SecretString,
        /// How to renew it on `expired_token`, when configured.
        refresh: Option<Refresh>,
    },
    /// No configured credential: only hosted callers bringing their own token can call.
    None,
}

/// What renews an OAuth access token.
#[derive(Debug, Clone)]
pub struct Refresh {
    /// The refresh token (lives 180 days).
    pub refresh_token: SecretString,
    /// The app's client id.
    pub client_id: String,
    /// The app's client secret.
    pub client_secret: SecretString,
}

/// Everything the backend needs, validated.
#[derive(Debug, Clone)]
pub struct Bitrix24Config {
    /// The portal's origin, `https://example.bitrix24.com` (no trailing slash).
    pub portal: String,
    /// The configured credential.
    pub credential: Credential,
    /// The OAuth server for refreshes (default [`DEFAULT_OAUTH_SERVER`]).
    pub oauth_server: String,
    /// The HTTP layer's tuning (rate limit 2/s, burst 50 by default for Bitrix24).
    pub upstream: UpstreamConfig,
}

impl Bitrix24Config {
    /// A config from a webhook URL; the portal is the URL's origin.
    pub fn webhook(url: SecretString, upstream: UpstreamConfig) -> Result<Self> {
        let portal = webhook_origin(url.expose_secret())?;
        let mut base = url.expose_secret().trim().to_owned();
        if !base.ends_with('/') {
            base.push('/');
        }
        Ok(Bitrix24Config {
            portal,
            credential: Credential::Webhook(SecretString::from(base)),
            oauth_server: DEFAULT_OAUTH_SERVER.into(),
            upstream,
        })
    }

    /// A config for a portal with an OAuth access token (or none, for hosted callers only).
    pub fn oauth(
        portal: &str,
        access_token: Option<SecretString>,
        refresh: Option<Refresh>,
        upstream: UpstreamConfig,
    ) -> Result<Self> {
        let portal = portal_origin(portal)?;
        let credential = match access_token {
            Some(access_token) => Credential::OAuth {
                access_token,
                refresh,
            },
            None => Credential::None,
        };
        Ok(Bitrix24Config {
            portal,
            credential,
            oauth_server: DEFAULT_OAUTH_SERVER.into(),
            upstream,
        })
    }

    /// Use another OAuth server (the sandbox serves `/oauth/token/` itself).
    pub fn with_oauth_server(mut self, server: &str) -> Result<Self> {
        self.oauth_server = portal_origin(server)?;
        Ok(self)
    }

    /// The REST endpoint for OAuth calls: `https://PORTAL/rest/`.
    pub fn oauth_endpoint(&self) -> String {
        format!("{}/rest/", self.portal)
    }

    /// Instance key for the metadata cache.
    pub fn instance(&self) -> String {
        format!("bitrix24:{}", self.portal)
    }
}

/// The origin of a webhook URL, checking its shape without ever echoing it.
pub fn webhook_origin(url: &str) -> Result<String> {
    let shape = "the webhook URL must look like https://PORTAL/rest/USER_ID/CODE/ (copy it from \
                 Developer resources → Other → Inbound webhook)";
    let parsed = crmgate_core::base_url::parse_http(url).map_err(|_| Error::config(shape))?;
    let segments: Vec<&str> = parsed
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    let ok = segments.len() == 3
        && segments[0] == "rest"
        && segments[1].chars().all(|c| c.is_ascii_digit())
        && !segments[2].is_empty();
    if !ok || parsed.query().is_some() {
        return Err(Error::config(shape));
    }
    Ok(origin(&parsed))
}

/// `https://example.bitrix24.com` from `example.bitrix24.com`, `https://example.bitrix24.com/`
/// or a URL with a path ([`crmgate_core::base_url::origin`]).
pub fn portal_origin(portal: &str) -> Result<String> {
    crmgate_core::base_url::origin(portal).map_err(|_| {
        Error::config("must be the portal's address, e.g. https://example.bitrix24.com")
    })
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Bitrix24's limits as the upstream layer's defaults: 2 requests/s with a burst of 50 (the
/// documented leaky bucket), kept per portal — the portal counts every caller together — and
/// divided fairly among the callers using it; enough retries with backoff for
/// `QUERY_LIMIT_EXCEEDED` to drain.
pub fn upstream_defaults() -> UpstreamConfig {
    UpstreamConfig {
        rate_per_second: 2,
        burst: 50,
        budget_scope: crmgate_core::upstream::BudgetScope::FairPool,
        max_retries: 3,
        base_backoff: Duration::from_millis(500),
        ..UpstreamConfig::default()
    }
}

/// The `[crm.NAME]` keys of `kind = "bitrix24"` (beyond the common ones): `webhook_url[_env]`
/// (an inbound webhook, a secret), or `portal` with `access_token[_env]` (an OAuth token) and
/// optionally `refresh_token[_env]`, `client_id`, `client_secret[_env]` (renewal) and
/// `oauth_server`. `portal` alone serves hosted callers bringing their own OAuth tokens.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bitrix24Section {
    /// The inbound webhook URL, inline (it embeds its secret code).
    pub webhook_url: Option<InlineSecret>,
    /// The environment variable holding the webhook URL.
    pub webhook_url_env: Option<EnvVarName>,
    /// The portal's address, for OAuth.
    pub portal: Option<String>,
    /// The OAuth access token, inline.
    pub access_token: Option<InlineSecret>,
    /// The environment variable holding the access token.
    pub access_token_env: Option<EnvVarName>,
    /// The refresh token, inline.
    pub refresh_token: Option<InlineSecret>,
    /// The environment variable holding the refresh token.
    pub refresh_token_env: Option<EnvVarName>,
    /// The OAuth app's client id.
    pub client_id: Option<String>,
    /// The OAuth app's client secret, inline.
    pub client_secret: Option<InlineSecret>,
    /// The environment variable holding the client secret.
    pub client_secret_env: Option<EnvVarName>,
    /// Another OAuth server for refreshes (the sandbox's own).
    pub oauth_server: Option<String>,
}

impl Bitrix24Section {
    /// The backend's configuration, validated; secrets read from the environment.
    pub fn resolve(&self, upstream: UpstreamConfig) -> ConfigResult<Bitrix24Config> {
        let webhook = secret(
            "webhook_url",
            self.webhook_url_env.as_ref(),
            self.webhook_url.as_ref(),
        )?;
        let access = secret(
            "access_token",
            self.access_token_env.as_ref(),
            self.access_token.as_ref(),
        )?;
        let config = match (webhook, self.portal.as_deref()) {
            (Some(_), _) if access.is_some() => {
                return Err(ConfigProblem::new(
                    "access_token_env",
                    "set either webhook_url_env (a webhook) or access_token_env (OAuth), not both",
                ));
            }
            (Some(url), _) => Bitrix24Config::webhook(url, upstream)
                .map_err(|e| ConfigProblem::new("webhook_url_env", e.message))?,
            (None, Some(portal)) => {
                let refresh = match secret(
                    "refresh_token",
                    self.refresh_token_env.as_ref(),
                    self.refresh_token.as_ref(),
                )? {
                    Some(refresh_token) => Some(Refresh {
                        refresh_token,
                        client_id: self.client_id.clone().ok_or_else(|| {
                            ConfigProblem::missing(
                                "client_id",
                                "bitrix24",
                                "client_id = \"...\" to renew the access token",
                            )
                        })?,
                        client_secret: secret(
                            "client_secret",
                            self.client_secret_env.as_ref(),
                            self.client_secret.as_ref(),
                        )?
                        .ok_or_else(|| {
                            ConfigProblem::missing(
                                "client_secret_env",
                                "bitrix24",
                                "the app's client secret to renew the access token \
                                 (client_secret_env = \"VAR\")",
                            )
                        })?,
                    }),
                    None => None,
                };
                if access.is_none() && refresh.is_some() {
                    return Err(ConfigProblem::new(
                        "access_token_env",
                        "missing: refresh needs the access token it renews",
                    ));
                }
                Bitrix24Config::oauth(portal, access, refresh, upstream)
                    .map_err(|e| ConfigProblem::new("portal", e.message))?
            }
            (None, None) => {
                return Err(ConfigProblem::new(
                    "webhook_url_env",
                    "missing: kind \"bitrix24\" needs webhook_url_env (an inbound webhook URL) or \
                     portal with access_token_env (OAuth)",
                ));
            }
        };
        match self.oauth_server.as_deref() {
            Some(server) => config
                .with_oauth_server(server)
                .map_err(|e| ConfigProblem::new("oauth_server", e.message)),
            None => Ok(config),
        }
    }
}

impl VendorSection for Bitrix24Section {
    fn raw_call_pattern(&self, pattern: &str) -> std::result::Result<String, String> {
        crate::raw::allow_pattern(pattern)
    }

    fn upstream_defaults(&self) -> UpstreamConfig {
        upstream_defaults()
    }

    fn inline_secrets(&self) -> Vec<&'static str> {
        present(&[
            ("webhook_url", self.webhook_url.is_some()),
            ("access_token", self.access_token.is_some()),
            ("refresh_token", self.refresh_token.is_some()),
            ("client_secret", self.client_secret.is_some()),
        ])
    }

    fn identity_keys(&self) -> Vec<&'static str> {
        present(&[
            ("webhook_url", self.webhook_url.is_some()),
            ("webhook_url_env", self.webhook_url_env.is_some()),
            ("access_token", self.access_token.is_some()),
            ("access_token_env", self.access_token_env.is_some()),
            ("refresh_token", self.refresh_token.is_some()),
            ("refresh_token_env", self.refresh_token_env.is_some()),
        ])
    }

    fn build(
        &self,
        upstream: UpstreamConfig,
        cache: &MetadataCache,
    ) -> ConfigResult<Arc<dyn Backend>> {
        Ok(Arc::new(Bitrix24Backend::new(
            self.resolve(upstream)?,
            cache.clone(),
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_give_the_portal_and_keep_the_secret_out_of_errors() {
        let url = SecretString::from("https://acme.bitrix24.com/rest/1/s3cretcode");
        let config = Bitrix24Config::webhook(url, UpstreamConfig::default()).unwrap();
        assert_eq!(config.portal, "https://acme.bitrix24.com");
        match &config.credential {
            Credential::Webhook(base) => assert!(base.expose_secret().ends_with("s3cretcode/")),
            other => panic!("{other:?}"),
        }
        assert!(!format!("{config:?}").contains("s3cretcode"));
        for bad in [
            "acme.bitrix24.com/rest/1/s3cretcode",
            "https://acme.bitrix24.com/rest/s3cretcode/",
            "https://acme.bitrix24.com/rest/1/s3cretcode/crm.lead.list",
            "ftp://acme/rest/1/s3cretcode/",
        ] {
            let e = webhook_origin(bad).unwrap_err();
            assert!(!e.message.contains("s3cret"), "{}", e.message);
        }
    }

    #[test]
    fn portals_normalise_to_an_origin() {
        assert_eq!(
            portal_origin("acme.bitrix24.com").unwrap(),
            "https://acme.bitrix24.com"
        );
        assert_eq!(
            portal_origin("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(portal_origin("").is_err());
    }
}
