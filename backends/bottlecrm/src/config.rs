//! The configuration of one BottleCRM backend: where the API is, the token, and where the web
//! app lives (for deep links). Built by `src/backends/bottlecrm.rs` from `[crm.NAME]`.

use crmgate_core::upstream::UpstreamConfig;
use crmgate_core::{Error, Result};
use secrecy::SecretString;

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
