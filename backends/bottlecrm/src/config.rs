//! The configuration of one BottleCRM backend: where the API is, the token, and where the web
//! app lives (for deep links). [`BottleSection`] is the `[crm.NAME]` section of
//! `kind = "bottlecrm"` that builds it.

use crate::BottleCrmBackend;
use crmgate_core::cache::MetadataCache;
use crmgate_core::config::{
    ConfigProblem, ConfigResult, EnvVarName, InlineSecret, VendorSection, present, secret,
};
use crmgate_core::upstream::UpstreamConfig;
use crmgate_core::{Backend, Error, Result};
use secrecy::SecretString;
use serde::Deserialize;
use std::sync::Arc;

/// A BottleCRM backend's settings.
#[derive(Clone)]
pub struct BottleConfig {
    /// The API's base URL (scheme and host, e.g. `https://api.bottlecrm.io`), without `/api`.
    pub url: String,
    /// The personal access token (`bcrm_pat_…`) used in stdio mode. In hosted mode each caller
    /// brings their own, and this one is never used.
    pub token: Option<SecretString>,
    /// The BottleCRM web app, for deep links (`{app_url}/leads/{id}`); none when unset.
    pub app_url: Option<String>,
    /// Timeouts, limits and retries towards the API.
    pub upstream: UpstreamConfig,
}

impl std::fmt::Debug for BottleConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BottleConfig")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .field("app_url", &self.app_url)
            .finish_non_exhaustive()
    }
}

/// Check and normalise a base URL: http(s), a host, no credentials, no query, no trailing
/// slash, no trailing `/api` ([`crmgate_core::base_url::normalise`]).
pub fn normalise_url(raw: &str) -> Result<String> {
    crmgate_core::base_url::normalise(raw, &["/api"]).map_err(|p| Error::config(p.message()))
}

impl BottleConfig {
    /// Settings for the API at `url`, with an optional token and default upstream tuning.
    pub fn new(url: &str, token: Option<SecretString>) -> Result<Self> {
        Ok(BottleConfig {
            url: normalise_url(url)?,
            token,
            app_url: None,
            upstream: UpstreamConfig::default(),
        })
    }
}

/// The `[crm.NAME]` keys of `kind = "bottlecrm"` (beyond the common ones): `url` (the API's
/// base URL, required), `token_env` / `token` (a personal access token `bcrm_pat_…`), `app_url`
/// (the web app, for deep links). The token is optional: in hosted mode each caller brings their
/// own, and a stdio call without one fails with a `CONFIG` error naming `token_env`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BottleSection {
    /// The API's base URL (required).
    pub url: Option<String>,
    /// The personal access token, inline.
    pub token: Option<InlineSecret>,
    /// The environment variable holding the personal access token.
    pub token_env: Option<EnvVarName>,
    /// The web app's base URL, for deep links.
    pub app_url: Option<String>,
}

impl BottleSection {
    /// The backend's configuration, validated; the token read from the environment.
    pub fn resolve(&self, upstream: UpstreamConfig) -> ConfigResult<BottleConfig> {
        let url = self.url.as_deref().ok_or_else(|| {
            ConfigProblem::missing("url", "bottlecrm", "url = \"https://api.bottlecrm.io\"")
        })?;
        let token = secret("token", self.token_env.as_ref(), self.token.as_ref())?;
        let mut config =
            BottleConfig::new(url, token).map_err(|e| ConfigProblem::new("url", e.message))?;
        config.app_url = self
            .app_url
            .as_deref()
            .map(normalise_url)
            .transpose()
            .map_err(|e| ConfigProblem::new("app_url", e.message))?;
        config.upstream = upstream;
        Ok(config)
    }
}

impl VendorSection for BottleSection {
    fn inline_secrets(&self) -> Vec<&'static str> {
        present(&[("token", self.token.is_some())])
    }

    fn identity_keys(&self) -> Vec<&'static str> {
        present(&[
            ("token", self.token.is_some()),
            ("token_env", self.token_env.is_some()),
        ])
    }

    fn build(
        &self,
        upstream: UpstreamConfig,
        cache: &MetadataCache,
    ) -> ConfigResult<Arc<dyn Backend>> {
        Ok(Arc::new(BottleCrmBackend::new(
            self.resolve(upstream)?,
            cache.clone(),
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalised_and_debug_hides_the_token() {
        assert_eq!(
            normalise_url("https://crm.example.com/api/").unwrap(),
            "https://crm.example.com"
        );
        assert_eq!(
            normalise_url("http://127.0.0.1:8000").unwrap(),
            "http://127.0.0.1:8000"
        );
        assert!(normalise_url("crm.example.com").is_err());
        assert!(normalise_url("https://x.example?a=1").is_err());
        let c = BottleConfig::new(
            "https://x.example",
            Some(SecretString::from("bcrm_pat_s3cret")),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
