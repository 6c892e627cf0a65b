//! The EspoCRM backend's configuration: where the CRM is, and how to sign in.
//!
//! Three ways to authenticate, as EspoCRM offers them: an API key (`X-Api-Key`), HMAC (the
//! API key plus its secret, `X-Hmac-Authorization`), or a username and password (or auth
//! token) sent as `Espo-Authorization`. In hosted mode the caller's bearer token is used as an
//! API key instead of any of these.

use crmgate_core::{Error, Result};
use secrecy::SecretString;

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
