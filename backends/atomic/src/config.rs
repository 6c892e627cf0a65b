//! The Atomic CRM backend's configuration, validated without any I/O. The gateway's config
//! file keys (`kind = "atomic"`) map onto [`AtomicConfig`] one to one (see the README).

use crmgate_core::upstream::UpstreamConfig;
use crmgate_core::{Error, Result};
use secrecy::SecretString;
use std::path::PathBuf;
use std::time::Duration;

/// How the backend reaches the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A direct PostgreSQL connection as a role that can only become `authenticated`.
    Postgres,
    /// Supabase's Data API (`/rest/v1`).
    Postgrest,
}

impl std::str::FromStr for Transport {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "postgres" => Ok(Transport::Postgres),
            "postgrest" => Ok(Transport::Postgrest),
            other => Err(Error::config(format!(
                "transport {other:?} is not known: use \"postgres\" or \"postgrest\""
            ))),
        }
    }
}

/// Whose identity stdio mode uses (hosted mode uses each request's bearer token instead).
#[derive(Debug, Clone)]
pub enum Credential {
    /// None configured: only bearer tokens (hosted mode) work.
    None,
    /// A user's access token, e.g. from an environment variable.
    AccessToken(SecretString),
    /// Sign in at `{supabase_url}/auth/v1` and refresh before expiry.
    Password {
        /// The user's email.
        email: String,
        /// Their password.
        password: SecretString,
    },
}

/// How access tokens are verified.
#[derive(Debug, Clone)]
pub enum Verification {
    /// The project's HS256 JWT secret (self-hosted, or legacy projects).
    Hs256(SecretString),
    /// The project's published signing keys.
    Jwks(String),
}

/// Everything the backend needs.
#[derive(Debug, Clone)]
pub struct AtomicConfig {
    /// postgres or postgrest.
    pub transport: Transport,
    /// `https://<ref>.supabase.co` (or a self-hosted API URL).
    pub supabase_url: Option<String>,
    /// The project's anon / publishable key.
    pub anon_key: Option<SecretString>,
    /// The stdio identity.
    pub credential: Credential,
    /// Token verification; `None` derives the JWKS URL from `supabase_url`.
    pub verification: Option<Verification>,
    /// Expected `iss`; `None` derives `{supabase_url}/auth/v1`.
    pub issuer: Option<String>,
    /// Expected `aud`.
    pub audience: String,
    /// PostgreSQL connection URL (postgres transport).
    pub database_url: Option<SecretString>,
    /// CA certificate (PEM) for the database's TLS.
    pub ssl_root_cert: Option<PathBuf>,
    /// Atomic CRM's web app, for deep links (`https://crm.example.com`).
    pub app_url: Option<String>,
    /// Statement timeout of every database transaction (postgres transport).
    pub statement_timeout: Duration,
    /// Most bytes of crm_query results.
    pub query_max_bytes: usize,
    /// Database connections (postgres transport).
    pub pool_size: usize,
    /// HTTP tuning (Data API, Auth, JWKS).
    pub upstream: UpstreamConfig,
}

impl AtomicConfig {
    /// A configuration for a transport with every default.
    pub fn new(transport: Transport) -> Self {
        AtomicConfig {
            transport,
            supabase_url: None,
            anon_key: None,
            credential: Credential::None,
            verification: None,
            issuer: None,
            audience: "authenticated".into(),
            database_url: None,
            ssl_root_cert: None,
            app_url: None,
            statement_timeout: Duration::from_secs(8),
            query_max_bytes: 1024 * 1024,
            pool_size: 4,
            upstream: UpstreamConfig::default(),
        }
    }

    /// `supabase_url` normalised ([`crmgate_core::base_url::normalise`]); `None` when unset or
    /// not a valid base URL ([`AtomicConfig::problem`] says which).
    pub fn base_url(&self) -> Option<String> {
        self.supabase_url
            .as_deref()
            .and_then(|u| crmgate_core::base_url::normalise(u, &[]).ok())
    }

    /// The Supabase Auth server (`{supabase_url}/auth/v1`): the authorization server named in
    /// Protected Resource Metadata, the default issuer, and where stdio sign-in goes.
    pub fn authorization_server(&self) -> Option<String> {
        self.base_url().map(|u| format!("{u}/auth/v1"))
    }

    /// The issuer checked: configured, or the authorization server.
    pub fn effective_issuer(&self) -> Option<String> {
        self.issuer
            .clone()
            .filter(|i| !i.trim().is_empty())
            .or_else(|| self.authorization_server())
    }

    /// The verification in force: configured, or the project's JWKS.
    pub fn effective_verification(&self) -> Result<Verification> {
        if let Some(v) = &self.verification {
            return Ok(v.clone());
        }
        match self.authorization_server() {
            Some(auth) => Ok(Verification::Jwks(format!("{auth}/.well-known/jwks.json"))),
            None => Err(Error::config(
                "kind \"atomic\" needs a way to verify access tokens: set supabase_url (its JWKS is \
                 used), jwks_url, or jwt_secret_env (self-hosted HS256)",
            )),
        }
    }

    /// Check that the keys fit together. No I/O.
    pub fn validate(&self) -> Result<()> {
        match self.problem() {
            None => Ok(()),
            Some((key, message)) => {
                Err(Error::config(format!("kind \"atomic\": {key}: {message}")))
            }
        }
    }

    /// The first problem, as (config key, what is wrong).
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if let Some(raw) = &self.supabase_url
            && let Err(problem) = crmgate_core::base_url::normalise(raw, &[])
        {
            return Some(("supabase_url", problem.message().into()));
        }
        let url = self.base_url();
        let url_needed =
            |why: &str| Some(("supabase_url", format!("missing: it is required {why}")));
        let key_needed = |why: &str| {
            Some((
                "anon_key_env",
                format!("missing: the project's anon (publishable) key is required {why}"),
            ))
        };
        match self.transport {
            Transport::Postgrest if url.is_none() => {
                return url_needed("for transport = \"postgrest\"");
            }
            Transport::Postgrest if self.anon_key.is_none() => {
                return key_needed("for transport = \"postgrest\"");
            }
            Transport::Postgres if self.database_url.is_none() => {
                return Some((
                    "database_url_env",
                    "missing: transport = \"postgres\" needs the connection URL of a role that can \
                     only become authenticated"
                        .into(),
                ));
            }
            _ => {}
        }
        if let Credential::Password { email, .. } = &self.credential {
            if email.trim().is_empty() {
                return Some(("email", "is empty".into()));
            }
            if url.is_none() {
                return url_needed("to sign in with email and password");
            }
            if self.anon_key.is_none() {
                return key_needed("to sign in with email and password");
            }
        }
        if self.audience.trim().is_empty() {
            return Some(("audience", "is empty".into()));
        }
        if self.verification.is_none() && url.is_none() {
            return Some((
                "jwt_secret_env",
                "missing: access tokens must be verified; set supabase_url (its JWKS is used), \
                 jwks_url, or jwt_secret_env (self-hosted HS256)"
                    .into(),
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transports_need_their_keys() {
        let mut rest = AtomicConfig::new(Transport::Postgrest);
        assert!(
            rest.validate()
                .unwrap_err()
                .message
                .contains("supabase_url: missing")
        );
        rest.supabase_url = Some("https://abc.supabase.co/".into());
        assert!(
            rest.validate()
                .unwrap_err()
                .message
                .contains("anon_key_env")
        );
        rest.anon_key = Some(SecretString::from("anon"));
        rest.validate().unwrap();
        assert_eq!(
            rest.authorization_server().as_deref(),
            Some("https://abc.supabase.co/auth/v1")
        );
        assert!(matches!(
            rest.effective_verification().unwrap(),
            Verification::Jwks(u) if u == "https://abc.supabase.co/auth/v1/.well-known/jwks.json"
        ));

        let mut pg = AtomicConfig::new(Transport::Postgres);
        assert!(
            pg.validate()
                .unwrap_err()
                .message
                .contains("database_url_env")
        );
        pg.database_url = Some(SecretString::from("postgresql://x@h/db"));
        assert!(
            pg.validate()
                .unwrap_err()
                .message
                .contains("must be verified")
        );
        pg.verification = Some(Verification::Hs256(SecretString::from("s")));
        pg.validate().unwrap();
        pg.credential = Credential::Password {
            email: "a@b.c".into(),
            password: SecretString::from("p"),
        };
        assert!(pg.validate().unwrap_err().message.contains("sign in"));
        assert!("pg".parse::<Transport>().is_err());
    }
}
