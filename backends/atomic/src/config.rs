//! The Atomic CRM backend's configuration, validated without any I/O. [`AtomicSection`] is the
//! `[crm.NAME]` section of `kind = "atomic"`: its keys map onto [`AtomicConfig`] one to one
//! (docs/configuration.md lists them).

use crate::AtomicBackend;
use crmgate_core::cache::MetadataCache;
use crmgate_core::config::{
    ConfigProblem, ConfigResult, EnvVarName, InlineSecret, VendorSection, present, secret,
};
use crmgate_core::upstream::UpstreamConfig;
use crmgate_core::{Backend, Error, Result};
use secrecy::SecretString;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How the backend reaches the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
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
    /// Functions crm_query may call besides the built-in allow-list: `name` (a built-in, in
    /// `pg_catalog`) or `schema.name` (callable only written with its schema), e.g.
    /// `["auth.uid"]`. See `docs/atomic-sql-guard.md`.
    pub sql_allow_functions: Vec<String>,
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
            pool_size: 8,
            sql_allow_functions: Vec::new(),
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
        if let Err(e) = crate::sql_guard::AllowList::with(&self.sql_allow_functions) {
            let message = e
                .message
                .split_once("sql_allow_functions: ")
                .map(|(_, m)| m.to_owned())
                .unwrap_or(e.message);
            return Some(("sql_allow_functions", message));
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

/// The `[crm.NAME]` keys of `kind = "atomic"` (beyond the common ones); each secret also
/// inline as `<key>`. `transport` ("postgrest" by default, or "postgres"), `supabase_url`,
/// `anon_key_env`, `access_token_env` or `email` + `password_env` (the stdio identity),
/// `jwt_secret_env` (HS256) or `jwks_url` (default `{supabase_url}/auth/v1/.well-known/jwks.json`),
/// `issuer` (default `{supabase_url}/auth/v1`), `audience` (default "authenticated"),
/// `database_url_env` and `ssl_root_cert` (postgres), `app_url` (deep links),
/// `statement_timeout_ms`, `query_max_bytes`, `pool_size`, `sql_allow_functions`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtomicSection {
    /// postgrest (default) or postgres.
    pub transport: Option<Transport>,
    /// `https://<ref>.supabase.co` (or a self-hosted API URL).
    pub supabase_url: Option<String>,
    /// The project's anon (publishable) key, inline.
    pub anon_key: Option<InlineSecret>,
    /// The environment variable holding the anon key.
    pub anon_key_env: Option<EnvVarName>,
    /// A user's access token, inline.
    pub access_token: Option<InlineSecret>,
    /// The environment variable holding a user's access token.
    pub access_token_env: Option<EnvVarName>,
    /// The stdio identity's email (with a password).
    pub email: Option<String>,
    /// Its password, inline.
    pub password: Option<InlineSecret>,
    /// The environment variable holding its password.
    pub password_env: Option<EnvVarName>,
    /// The project's HS256 JWT secret, inline.
    pub jwt_secret: Option<InlineSecret>,
    /// The environment variable holding the HS256 JWT secret.
    pub jwt_secret_env: Option<EnvVarName>,
    /// Where the signing keys are published.
    pub jwks_url: Option<String>,
    /// The expected `iss`.
    pub issuer: Option<String>,
    /// The expected `aud`.
    pub audience: Option<String>,
    /// The PostgreSQL connection URL, inline.
    pub database_url: Option<InlineSecret>,
    /// The environment variable holding the PostgreSQL connection URL.
    pub database_url_env: Option<EnvVarName>,
    /// CA certificate (PEM) for the database's TLS.
    pub ssl_root_cert: Option<PathBuf>,
    /// Atomic CRM's web app, for deep links.
    pub app_url: Option<String>,
    /// Statement timeout, milliseconds (100 to 600000).
    pub statement_timeout_ms: Option<i64>,
    /// Most bytes of crm_query results (1024 to 64 MiB).
    pub query_max_bytes: Option<i64>,
    /// Database connections (1 to 64).
    pub pool_size: Option<i64>,
    /// Functions crm_query may call beyond its built-in allow-list (`name` or `schema.name`).
    #[serde(default, deserialize_with = "function_names")]
    pub sql_allow_functions: Option<Vec<String>>,
}

/// `value` within `low..=high`, or a problem naming `key`.
fn in_range(key: &str, value: Option<i64>, low: i64, high: i64) -> ConfigResult<Option<u64>> {
    match value {
        None => Ok(None),
        Some(n) if (low..=high).contains(&n) => Ok(Some(n as u64)),
        Some(_) => Err(ConfigProblem::new(
            key,
            format!("must be between {low} and {high}"),
        )),
    }
}

impl AtomicSection {
    /// The backend's configuration, validated; secrets read from the environment. No I/O
    /// beyond the environment.
    pub fn resolve(&self, upstream: UpstreamConfig) -> ConfigResult<AtomicConfig> {
        let mut config = AtomicConfig::new(self.transport.unwrap_or(Transport::Postgrest));
        config.supabase_url = self.supabase_url.clone();
        config.anon_key = secret(
            "anon_key",
            self.anon_key_env.as_ref(),
            self.anon_key.as_ref(),
        )?;
        config.database_url = secret(
            "database_url",
            self.database_url_env.as_ref(),
            self.database_url.as_ref(),
        )?;
        config.ssl_root_cert = self.ssl_root_cert.clone();
        config.app_url = match self.app_url.as_deref() {
            None => None,
            Some(url) => Some(
                crmgate_core::base_url::normalise(url, &[])
                    .map_err(|p| ConfigProblem::new("app_url", p.message()))?,
            ),
        };
        config.issuer = self.issuer.clone();
        if let Some(audience) = &self.audience {
            config.audience = audience.clone();
        }
        let jwt_secret = secret(
            "jwt_secret",
            self.jwt_secret_env.as_ref(),
            self.jwt_secret.as_ref(),
        )?;
        config.verification = match (jwt_secret, self.jwks_url.as_deref()) {
            (Some(_), Some(_)) => {
                return Err(ConfigProblem::new(
                    "jwks_url",
                    "set either jwks_url or jwt_secret_env, not both",
                ));
            }
            (Some(secret), None) => Some(Verification::Hs256(secret)),
            (None, Some(url)) => Some(Verification::Jwks(url.to_owned())),
            (None, None) => None,
        };
        let token = secret(
            "access_token",
            self.access_token_env.as_ref(),
            self.access_token.as_ref(),
        )?;
        let password = secret(
            "password",
            self.password_env.as_ref(),
            self.password.as_ref(),
        )?;
        config.credential = match (token, self.email.as_deref(), password) {
            (Some(_), Some(_), _) => {
                return Err(ConfigProblem::new(
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
                return Err(ConfigProblem::new(
                    "password_env",
                    "missing: email needs a password",
                ));
            }
            (_, None, Some(_)) => {
                return Err(ConfigProblem::new(
                    "email",
                    "missing: password_env needs an email",
                ));
            }
            (None, None, None) => Credential::None,
        };
        if let Some(ms) = in_range(
            "statement_timeout_ms",
            self.statement_timeout_ms,
            100,
            600_000,
        )? {
            config.statement_timeout = Duration::from_millis(ms);
        }
        if let Some(bytes) = in_range("query_max_bytes", self.query_max_bytes, 1024, 64 << 20)? {
            config.query_max_bytes = bytes as usize;
        }
        if let Some(n) = in_range("pool_size", self.pool_size, 1, 64)? {
            config.pool_size = n as usize;
        }
        if let Some(names) = &self.sql_allow_functions {
            config.sql_allow_functions = names.clone();
        }
        config.upstream = upstream;
        if let Some((key, message)) = config.problem() {
            return Err(ConfigProblem::new(key, message));
        }
        Ok(config)
    }
}

/// `sql_allow_functions`: a list of strings, with a message that says so (the names themselves
/// are checked against the guard's grammar by [`AtomicConfig::problem`]).
fn function_names<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<Vec<String>>, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    let names = value.as_array().and_then(|items| {
        items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<String>>>()
    });
    names.map(Some).ok_or_else(|| {
        serde::de::Error::custom("must be a list of function names, e.g. [\"auth.uid\"]")
    })
}

impl VendorSection for AtomicSection {
    fn inline_secrets(&self) -> Vec<&'static str> {
        present(&[
            ("anon_key", self.anon_key.is_some()),
            ("access_token", self.access_token.is_some()),
            ("password", self.password.is_some()),
            ("jwt_secret", self.jwt_secret.is_some()),
            ("database_url", self.database_url.is_some()),
        ])
    }

    fn identity_keys(&self) -> Vec<&'static str> {
        present(&[
            ("access_token", self.access_token.is_some()),
            ("access_token_env", self.access_token_env.is_some()),
            ("email", self.email.is_some()),
            ("password", self.password.is_some()),
            ("password_env", self.password_env.is_some()),
        ])
    }

    /// Supabase Auth (`{supabase_url}/auth/v1`) issues the tokens.
    fn authorization_server(&self) -> Option<String> {
        let mut config = AtomicConfig::new(Transport::Postgrest);
        config.supabase_url = self.supabase_url.clone();
        config.authorization_server()
    }

    fn build(
        &self,
        upstream: UpstreamConfig,
        cache: &MetadataCache,
    ) -> ConfigResult<Arc<dyn Backend>> {
        Ok(Arc::new(AtomicBackend::new(
            self.resolve(upstream)?,
            cache.clone(),
        )?))
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

    #[test]
    fn sql_allow_functions_are_checked_without_io() {
        let mut pg = AtomicConfig::new(Transport::Postgres);
        pg.database_url = Some(SecretString::from("postgresql://x@h/db"));
        pg.verification = Some(Verification::Hs256(SecretString::from("s")));
        pg.sql_allow_functions = vec!["auth.uid".into(), "pg_sleep".into()];
        pg.validate().unwrap();
        pg.sql_allow_functions.push("pg_catalog.set_config".into());
        let (key, message) = pg.problem().unwrap();
        assert_eq!(key, "sql_allow_functions");
        assert!(message.contains("can never be allowed"), "{message}");
        pg.sql_allow_functions = vec!["Robert'); drop table x".into()];
        assert!(
            pg.validate()
                .unwrap_err()
                .message
                .starts_with("kind \"atomic\": sql_allow_functions: ")
        );
    }
}
