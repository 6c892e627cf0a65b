//! The EspoCRM backend's configuration: where the CRM is, and how to sign in.
//!
//! Three ways to authenticate, as EspoCRM offers them: an API key (`X-Api-Key`), HMAC (the
//! API key plus its secret, `X-Hmac-Authorization`), or a username and password (or auth
//! token) sent as `Espo-Authorization`. In hosted mode the caller's bearer token is used as an
//! API key instead of any of these.
//!
//! [`EspoSection`] is the `[crm.NAME]` section of `kind = "espocrm"`: its keys, read and checked
//! here (the gateway binary only maps the kind to this type).

use crate::EspoBackend;
use crmgate_core::cache::MetadataCache;
use crmgate_core::config::{
    ConfigProblem, ConfigResult, EnvVarName, InlineSecret, VendorSection, present, secret,
};
use crmgate_core::upstream::UpstreamConfig;
use crmgate_core::{Backend, Error, Result};
use secrecy::SecretString;
use serde::Deserialize;
use std::sync::Arc;

/// How the configured identity signs in. `Debug` never shows a secret.
#[derive(Clone)]
pub enum Auth {
    /// `X-Api-Key: <key>` (API user with authentication method "API Key").
    ApiKey(SecretString),
    /// `X-Hmac-Authorization` (API user with authentication method "HMAC").
    Hmac {
        /// The API key.
        key: SecretString,
        /// The secret key shown once when the API user was created.
        secret: SecretString,
    },
    /// `Espo-Authorization: base64(username:password)`.
    Basic {
        /// User name.
        username: String,
        /// Password, or an auth token from `App/user`.
        password: SecretString,
    },
    /// No configured identity: every call must bring its own (hosted mode).
    None,
}

impl Auth {
    /// Short name for messages (`api_key`, `hmac`, `basic`, `none`).
    pub fn kind(&self) -> &'static str {
        match self {
            Auth::ApiKey(_) => "api_key",
            Auth::Hmac { .. } => "hmac",
            Auth::Basic { .. } => "basic",
            Auth::None => "none",
        }
    }
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"[REDACTED]")
                .finish(),
            other => write!(f, "{}([REDACTED])", other.kind()),
        }
    }
}

/// Everything the backend needs besides the upstream tuning.
#[derive(Debug, Clone)]
pub struct EspoConfig {
    /// The site URL, e.g. `https://crm.example.com` (no `/api/v1`, no trailing slash).
    pub site: String,
    /// The configured identity.
    pub auth: Auth,
    /// The `From` address of email drafts; default: the API user's own email address.
    pub email_from: Option<String>,
}

impl EspoConfig {
    /// A config for `url` (the site, with or without a trailing `/api/v1`).
    pub fn new(url: &str, auth: Auth) -> Result<Self> {
        Ok(EspoConfig {
            site: site_url(url)?,
            auth,
            email_from: None,
        })
    }

    /// Set the `From` address of email drafts.
    pub fn with_email_from(mut self, from: impl Into<String>) -> Self {
        self.email_from = Some(from.into());
        self
    }

    /// The API base, `{site}/api/v1`.
    pub fn api_base(&self) -> String {
        format!("{}/api/v1", self.site)
    }
}

/// Normalise the configured URL to the site URL: http(s), a host, no credentials, no query,
/// no trailing `/` or `/api/v1` ([`crmgate_core::base_url::normalise`]).
pub fn site_url(url: &str) -> Result<String> {
    crmgate_core::base_url::normalise(url, &["/api/v1"]).map_err(|p| Error::config(p.message()))
}

/// The `[crm.NAME]` keys of `kind = "espocrm"` (beyond the common ones). One identity —
/// `api_key[_env]` (API key), `api_key[_env]` + `hmac_secret[_env]` (HMAC), or `username` +
/// `password[_env]` (Espo-Authorization) — or none at all when every caller brings its own API
/// key as a bearer token (hosted mode).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EspoSection {
    /// The site URL (required), e.g. `https://crm.example.com`.
    pub url: Option<String>,
    /// The API key, inline.
    pub api_key: Option<InlineSecret>,
    /// The environment variable holding the API key.
    pub api_key_env: Option<EnvVarName>,
    /// The HMAC secret key, inline.
    pub hmac_secret: Option<InlineSecret>,
    /// The environment variable holding the HMAC secret key.
    pub hmac_secret_env: Option<EnvVarName>,
    /// User name for Espo-Authorization.
    pub username: Option<String>,
    /// The password (or auth token), inline.
    pub password: Option<InlineSecret>,
    /// The environment variable holding the password.
    pub password_env: Option<EnvVarName>,
    /// The `From` address of email drafts.
    pub email_from: Option<String>,
}

impl EspoSection {
    /// The configured identity, from the secrets present.
    fn auth(&self) -> ConfigResult<Auth> {
        let api_key = secret("api_key", self.api_key_env.as_ref(), self.api_key.as_ref())?;
        let hmac_secret = secret(
            "hmac_secret",
            self.hmac_secret_env.as_ref(),
            self.hmac_secret.as_ref(),
        )?;
        let username = self
            .username
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        let password = secret(
            "password",
            self.password_env.as_ref(),
            self.password.as_ref(),
        )?;
        let problem = ConfigProblem::new;
        match (api_key, hmac_secret, username, password) {
            (Some(_), _, Some(_), _) => Err(problem(
                "username",
                "set either an API key (api_key_env, with hmac_secret_env for HMAC) or username + password_env, not both",
            )),
            (Some(key), Some(secret), None, None) => Ok(Auth::Hmac { key, secret }),
            (Some(key), None, None, None) => Ok(Auth::ApiKey(key)),
            (Some(_), _, None, Some(_)) => Err(problem(
                "password_env",
                "a password goes with username, not with an API key",
            )),
            (None, Some(_), _, _) => Err(problem(
                "hmac_secret_env",
                "HMAC needs the API key too: set api_key_env next to hmac_secret_env",
            )),
            (None, None, Some(username), Some(password)) => Ok(Auth::Basic {
                username: username.to_owned(),
                password,
            }),
            (None, None, Some(_), None) => Err(problem(
                "password_env",
                "missing: username needs a password (password_env = \"VAR\"), or use an API user's key instead",
            )),
            (None, None, None, Some(_)) => Err(problem(
                "username",
                "missing: password_env is set but username is not",
            )),
            (None, None, None, None) => Ok(Auth::None),
        }
    }

    /// The backend's configuration, validated; secrets read from the environment.
    pub fn resolve(&self) -> ConfigResult<EspoConfig> {
        let url = self.url.as_deref().ok_or_else(|| {
            ConfigProblem::missing("url", "espocrm", "url = \"https://crm.example.com\"")
        })?;
        let mut config =
            EspoConfig::new(url, self.auth()?).map_err(|e| ConfigProblem::new("url", e.message))?;
        if let Some(from) = self.email_from.as_deref().map(str::trim) {
            if !from.contains('@') || from.contains(char::is_whitespace) {
                return Err(ConfigProblem::new("email_from", "is not an email address"));
            }
            config = config.with_email_from(from);
        }
        Ok(config)
    }
}

impl VendorSection for EspoSection {
    fn raw_call_pattern(&self, pattern: &str) -> std::result::Result<String, String> {
        crate::raw::allow_pattern(pattern)
    }

    fn inline_secrets(&self) -> Vec<&'static str> {
        present(&[
            ("api_key", self.api_key.is_some()),
            ("hmac_secret", self.hmac_secret.is_some()),
            ("password", self.password.is_some()),
        ])
    }

    fn identity_keys(&self) -> Vec<&'static str> {
        present(&[
            ("api_key", self.api_key.is_some()),
            ("api_key_env", self.api_key_env.is_some()),
            ("hmac_secret", self.hmac_secret.is_some()),
            ("hmac_secret_env", self.hmac_secret_env.is_some()),
            ("username", self.username.is_some()),
            ("password", self.password.is_some()),
            ("password_env", self.password_env.is_some()),
        ])
    }

    fn build(
        &self,
        upstream: UpstreamConfig,
        cache: &MetadataCache,
    ) -> ConfigResult<Arc<dyn Backend>> {
        Ok(Arc::new(EspoBackend::new(
            self.resolve()?,
            upstream,
            cache.clone(),
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_url_is_normalised() {
        assert_eq!(
            site_url("https://crm.example.com/").unwrap(),
            "https://crm.example.com"
        );
        assert_eq!(
            site_url("https://crm.example.com/espo/api/v1/").unwrap(),
            "https://crm.example.com/espo"
        );
        assert!(site_url("ftp://crm.example.com").is_err());
        assert!(site_url("crm.example.com").is_err());
        assert!(site_url("https://crm.example.com/?x=1").is_err());
        let e = site_url("https://admin:s3cret@crm.example.com").unwrap_err();
        assert!(!e.message.contains("s3cret"), "{}", e.message);
    }

    #[test]
    fn debug_hides_secrets() {
        let auth = Auth::Hmac {
            key: SecretString::from("k3y"),
            secret: SecretString::from("s3cret"),
        };
        let basic = Auth::Basic {
            username: "bot".into(),
            password: SecretString::from("pa55"),
        };
        let shown = format!("{auth:?} {basic:?}");
        assert!(!shown.contains("k3y") && !shown.contains("s3cret") && !shown.contains("pa55"));
        assert!(shown.contains("bot"));
    }
}
