//! The `[redis]` config section: its serde shape ([`RedisConfig`]) and the checked settings
//! ([`RedisSettings`]) that [`crate::RedisStore::new`] takes.
//!
//! ```toml
//! [redis]
//! url_env = "CRMGATE_REDIS_URL"   # or url = "redis://:password@redis:6379/0" (a secret)
//! key_prefix = "crmgate:"         # every key starts with this (share one Redis safely)
//! replicas = 3                    # while Redis is down each process keeps 1/3 of each budget
//! op_timeout_ms = 75              # a Redis operation slower than this falls back to local
//! ```
//!
//! The URL may carry a password, so it is a [`SecretString`] from the moment it is read, and no
//! message here ever contains it or any part of it.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::fmt;
use std::time::Duration;

/// The default `key_prefix`.
pub const DEFAULT_KEY_PREFIX: &str = "crmgate:";
/// The default `op_timeout_ms`: well above a Redis round trip on a LAN (≈ 0.1–1 ms), well
/// below anything a caller would notice.
pub const DEFAULT_OP_TIMEOUT_MS: u64 = 75;

/// The `[redis]` section as written. Integers are `i64` (TOML's own) so that a negative or huge
/// value gets a range message naming the key, not a serde one.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// The Redis URL inline: `redis://[user:password@]host[:port][/db]` or
    /// `redis+unix:///path/to/socket`. A secret; prefer `url_env`.
    pub url: Option<SecretString>,
    /// The environment variable holding the Redis URL.
    pub url_env: Option<String>,
    /// Prefix of every key crmgate writes (default `crmgate:`).
    pub key_prefix: Option<String>,
    /// How many crmgate processes share the budgets (default 1). While Redis is unreachable
    /// each keeps `1 / replicas` of every budget, so together they stay within it.
    pub replicas: Option<i64>,
    /// The longest a call waits on one Redis operation before using local limits (default 75).
    pub op_timeout_ms: Option<i64>,
}

/// A wrong `[redis]` key: which one, and what to do. Never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The key path, e.g. `redis.replicas`.
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl std::error::Error for ConfigError {}

fn error(key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: format!("redis.{key}"),
        message: message.into(),
    }
}

/// The checked `[redis]` settings.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    pub(crate) url: SecretString,
    /// Prefix of every key.
    pub key_prefix: String,
    /// How many processes share the budgets.
    pub replicas: u32,
    /// The per-operation timeout.
    pub op_timeout: Duration,
}

impl RedisSettings {
    /// Settings for `url` with every other key at its default (tests, tools).
    pub fn new(url: SecretString) -> Result<RedisSettings, ConfigError> {
        check_url(url.expose_secret())?;
        Ok(RedisSettings {
            url,
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            replicas: 1,
            op_timeout: Duration::from_millis(DEFAULT_OP_TIMEOUT_MS),
        })
    }
}

impl RedisConfig {
    /// Check the section, reading `url_env` from the process environment.
    pub fn resolve(&self) -> Result<RedisSettings, ConfigError> {
        self.resolve_with(|name| std::env::var(name).ok())
    }

    /// Check the section, reading environment variables through `env`.
    pub fn resolve_with(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<RedisSettings, ConfigError> {
        let url = match (&self.url, &self.url_env) {
            (Some(_), Some(_)) => return Err(error("url", "set either url_env or url, not both")),
            (None, None) => {
                return Err(error(
                    "url_env",
                    "is missing: name the environment variable holding the Redis URL \
                     (url_env = \"CRMGATE_REDIS_URL\"), or set url",
                ));
            }
            (Some(url), None) => url.clone(),
            (None, Some(var)) => {
                let var = var.trim();
                if var.is_empty() {
                    return Err(error(
                        "url_env",
                        "is empty: name the environment variable that holds the Redis URL",
                    ));
                }
                match env(var) {
                    Some(value) if !value.trim().is_empty() => SecretString::from(value),
                    Some(_) => {
                        return Err(error(
                            "url_env",
                            format!("environment variable {var} is set but empty"),
                        ));
                    }
                    None => {
                        return Err(error(
                            "url_env",
                            format!(
                                "environment variable {var} is not set \
                                 (export {var}=redis://host:6379 before starting crmgate)"
                            ),
                        ));
                    }
                }
            }
        };
        check_url(url.expose_secret())?;
        let key_prefix = self
            .key_prefix
            .clone()
            .unwrap_or_else(|| DEFAULT_KEY_PREFIX.to_owned());
        if key_prefix.is_empty()
            || key_prefix.len() > 64
            || !key_prefix
                .chars()
                .all(|c| c.is_ascii_graphic() && c != '{' && c != '}')
        {
            return Err(error(
                "key_prefix",
                "must be 1 to 64 printable ASCII characters without spaces or braces \
                 (e.g. \"crmgate:\" or \"crmgate-staging:\")",
            ));
        }
        let replicas = in_range("replicas", self.replicas, 1, 1000, 1)?;
        let op_timeout_ms = in_range(
            "op_timeout_ms",
            self.op_timeout_ms,
            5,
            5000,
            DEFAULT_OP_TIMEOUT_MS as i64,
        )?;
        Ok(RedisSettings {
            url,
            key_prefix,
            replicas: replicas as u32,
            op_timeout: Duration::from_millis(op_timeout_ms as u64),
        })
    }
}

fn in_range(
    key: &str,
    value: Option<i64>,
    min: i64,
    max: i64,
    default: i64,
) -> Result<i64, ConfigError> {
    let value = value.unwrap_or(default);
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(error(key, format!("must be between {min} and {max}")))
    }
}

/// The URL's scheme is one this build speaks and the rest parses; the message never quotes it.
fn check_url(url: &str) -> Result<(), ConfigError> {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("redis" | "redis+unix" | "unix") => {}
        Some("rediss" | "valkeys") => {
            return Err(error(
                "url",
                "TLS to Redis (rediss://) is not built into crmgate yet: reach Redis over a \
                 private network, or through a local TLS tunnel (stunnel, a service-mesh \
                 sidecar) with url = \"redis://127.0.0.1:<port>\"",
            ));
        }
        _ => {
            return Err(error(
                "url",
                "must start with redis:// (redis://[user:password@]host[:port][/db]) or \
                 redis+unix:// (a socket path)",
            ));
        }
    }
    redis::Client::open(url).map(|_| ()).map_err(|_| {
        error(
            "url",
            "is not a valid Redis URL (redis://[user:password@]host[:port][/db])",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RedisConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults_and_env_url() {
        let config = parse("url_env = \"REDIS_URL\"").unwrap();
        let settings = config
            .resolve_with(|name| (name == "REDIS_URL").then(|| "redis://127.0.0.1:6379".into()))
            .unwrap();
        assert_eq!(settings.key_prefix, "crmgate:");
        assert_eq!(settings.replicas, 1);
        assert_eq!(settings.op_timeout, Duration::from_millis(75));
        assert_eq!(settings.url.expose_secret(), "redis://127.0.0.1:6379");
    }

    #[test]
    fn every_key_is_read() {
        let config = parse(
            "url = \"redis://:pw@redis:6379/2\"\nkey_prefix = \"cg-staging:\"\n\
             replicas = 3\nop_timeout_ms = 100",
        )
        .unwrap();
        let settings = config.resolve_with(no_env).unwrap();
        assert_eq!(settings.key_prefix, "cg-staging:");
        assert_eq!(settings.replicas, 3);
        assert_eq!(settings.op_timeout, Duration::from_millis(100));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = parse("url_env = \"X\"\nreplica = 2").unwrap_err();
        assert!(e.contains("unknown field `replica`"), "{e}");
    }

    #[test]
    fn bad_values_name_the_key_and_never_the_secret() {
        let secret = "hunter2-secret";
        let cases = [
            (
                format!("url = \"redis://:{secret}@h\"\nurl_env = \"X\""),
                "redis.url",
            ),
            (String::new(), "redis.url_env"),
            ("url_env = \" \"".to_owned(), "redis.url_env"),
            ("url_env = \"UNSET_VAR\"".to_owned(), "redis.url_env"),
            (format!("url = \"http://:{secret}@h\""), "redis.url"),
            (format!("url = \"rediss://:{secret}@h\""), "redis.url"),
            (
                format!("url = \"redis://:{secret}@h:notaport\""),
                "redis.url",
            ),
            (
                "url = \"redis://h\"\nkey_prefix = \"\"".to_owned(),
                "redis.key_prefix",
            ),
            (
                "url = \"redis://h\"\nkey_prefix = \"a {b}\"".to_owned(),
                "redis.key_prefix",
            ),
            (
                "url = \"redis://h\"\nreplicas = 0".to_owned(),
                "redis.replicas",
            ),
            (
                "url = \"redis://h\"\nreplicas = -4".to_owned(),
                "redis.replicas",
            ),
            (
                "url = \"redis://h\"\nop_timeout_ms = 60000".to_owned(),
                "redis.op_timeout_ms",
            ),
        ];
        for (text, key) in cases {
            let e = parse(&text).unwrap().resolve_with(no_env).unwrap_err();
            assert_eq!(e.key, key, "{text}: {e}");
            let shown = e.to_string();
            assert!(!shown.contains(secret), "{shown}");
            assert!(!shown.contains("://:"), "{shown}");
        }
    }

    #[test]
    fn the_url_never_shows_in_debug() {
        let config = parse("url = \"redis://:hunter2@h\"").unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
        let settings = config.resolve_with(no_env).unwrap();
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}
