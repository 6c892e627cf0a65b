//! `[journal]`: whether writes are journaled, where, for how long, and what a write does when
//! the journal cannot be written.
//!
//! [`JournalConfig`] is the section as written (`deny_unknown_fields`); [`JournalConfig::resolve`]
//! checks it into [`JournalSettings`]. Problems are a [`KeyProblem`] naming the key (relative
//! to `[journal]`); the gateway's config loader prefixes `journal.` and the file. No value that
//! may be a secret (`url`) is ever echoed.

use crmgate_core::journal::{Bounds, OnFailure};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The journal file's name in the data directory.
pub const FILE_NAME: &str = "journal.sqlite3";
/// Default `retention_days`.
pub const DEFAULT_RETENTION_DAYS: u64 = 90;
/// Default `max_entries`.
pub const DEFAULT_MAX_ENTRIES: u64 = 100_000;
/// Default `max_size_mb`.
pub const DEFAULT_MAX_SIZE_MB: u64 = 256;

/// `[journal]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalConfig {
    /// Journal writes at all (default true). Off: no journal, and no history or undo.
    pub enabled: Option<bool>,
    /// The SQLite file (default: `journal.sqlite3` in the user's data directory). `~/` is the
    /// home folder; a relative path is relative to the config file's folder.
    pub path: Option<String>,
    /// A PostgreSQL URL (`postgres://user:password@host/db`): the journal lives there instead,
    /// shared by every process that names it. A secret: prefer `url_env`.
    pub url: Option<SecretString>,
    /// The environment variable holding the PostgreSQL URL.
    pub url_env: Option<String>,
    /// Entries older than this many days are removed.
    pub retention_days: Option<i64>,
    /// At most this many entries are kept (the oldest go first).
    pub max_entries: Option<i64>,
    /// At most this many megabytes of entries are kept (the oldest go first).
    pub max_size_mb: Option<i64>,
    /// `refuse` (default): a write whose entry cannot be journaled is refused; `allow`: it goes
    /// ahead unjournaled, with a warning in the log.
    pub on_failure: Option<OnFailure>,
}

/// `[journal]` keys, for "did you mean".
pub const JOURNAL_KEYS: &[&str] = &[
    "enabled",
    "path",
    "url",
    "url_env",
    "retention_days",
    "max_entries",
    "max_size_mb",
    "on_failure",
];

/// A problem with one key of `[journal]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyProblem {
    /// The key (`retention_days`).
    pub key: &'static str,
    /// What is wrong; never the value of `url`.
    pub message: String,
}

impl KeyProblem {
    fn new(key: &'static str, message: impl Into<String>) -> Self {
        KeyProblem {
            key,
            message: message.into(),
        }
    }
}

/// Where the journal lives.
#[derive(Debug, Clone)]
pub enum Storage {
    /// A SQLite file; `None` when no data directory could be found (then every journal write
    /// fails, and the log says to set `[journal] path`).
    Sqlite {
        /// The file.
        path: Option<PathBuf>,
    },
    /// A PostgreSQL database (`Debug` shows no URL).
    Postgres {
        /// The connection URL.
        url: SecretString,
    },
}

/// `[journal]`, checked.
#[derive(Debug, Clone)]
pub struct JournalSettings {
    /// Journal writes at all.
    pub enabled: bool,
    /// Where.
    pub storage: Storage,
    /// How much is kept.
    pub bounds: Bounds,
    /// What a write does when its entry cannot be stored.
    pub on_failure: OnFailure,
}

impl Default for JournalSettings {
    /// On, SQLite in the user's data directory, the default bounds, refuse on failure.
    fn default() -> Self {
        JournalSettings {
            enabled: true,
            storage: Storage::Sqlite {
                path: default_path(),
            },
            bounds: bounds(
                DEFAULT_RETENTION_DAYS,
                DEFAULT_MAX_ENTRIES,
                DEFAULT_MAX_SIZE_MB,
            ),
            on_failure: OnFailure::Refuse,
        }
    }
}

fn bounds(days: u64, entries: u64, mb: u64) -> Bounds {
    Bounds {
        max_age: Some(Duration::from_secs(days * 86_400)),
        max_entries: Some(entries),
        max_bytes: Some(mb * 1024 * 1024),
    }
}

impl JournalConfig {
    /// Check the section. `config_dir` is the config file's folder (relative `path`s are
    /// relative to it). Reads `url_env`'s variable.
    pub fn resolve(self, config_dir: Option<&Path>) -> Result<JournalSettings, KeyProblem> {
        self.resolve_with(config_dir, |name| std::env::var(name).ok())
    }

    /// [`JournalConfig::resolve`] with the environment given (for tests).
    pub fn resolve_with(
        self,
        config_dir: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<JournalSettings, KeyProblem> {
        let range =
            |key: &'static str, value: Option<i64>, lo: i64, hi: i64, default: u64| match value {
                None => Ok(default),
                Some(v) if (lo..=hi).contains(&v) => Ok(v as u64),
                Some(_) => Err(KeyProblem::new(
                    key,
                    format!("must be between {lo} and {hi}"),
                )),
            };
        let days = range(
            "retention_days",
            self.retention_days,
            1,
            36_500,
            DEFAULT_RETENTION_DAYS,
        )?;
        let entries = range(
            "max_entries",
            self.max_entries,
            100,
            1_000_000_000,
            DEFAULT_MAX_ENTRIES,
        )?;
        let mb = range(
            "max_size_mb",
            self.max_size_mb,
            1,
            1_048_576,
            DEFAULT_MAX_SIZE_MB,
        )?;
        let url = match (self.url, self.url_env) {
            (Some(_), Some(_)) => {
                return Err(KeyProblem::new(
                    "url",
                    "set either url_env or url, not both",
                ));
            }
            (Some(url), None) => Some(url),
            (None, Some(var)) => Some(url_from_env(&var, &env)?),
            (None, None) => None,
        };
        let storage = match (url, self.path) {
            (Some(_), Some(_)) => {
                return Err(KeyProblem::new(
                    "path",
                    "set either path (a SQLite file) or url/url_env (PostgreSQL), not both",
                ));
            }
            (Some(url), None) => {
                check_url(&url)?;
                Storage::Postgres { url }
            }
            (None, Some(path)) => Storage::Sqlite {
                path: Some(resolve_path(&path, config_dir)?),
            },
            (None, None) => Storage::Sqlite {
                path: default_path(),
            },
        };
        Ok(JournalSettings {
            enabled: self.enabled.unwrap_or(true),
            storage,
            bounds: bounds(days, entries, mb),
            on_failure: self.on_failure.unwrap_or_default(),
        })
    }
}

fn url_from_env(
    var: &str,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<SecretString, KeyProblem> {
    let var = var.trim();
    let is_name = !var.is_empty()
        && !var.starts_with(|c: char| c.is_ascii_digit())
        && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !is_name {
        // most likely the URL itself in the wrong key: not shown
        return Err(KeyProblem::new(
            "url_env",
            "is not an environment variable name (letters, digits and _): name the variable that holds the URL",
        ));
    }
    match env(var) {
        Some(value) if !value.trim().is_empty() => Ok(SecretString::from(value)),
        Some(_) => Err(KeyProblem::new(
            "url_env",
            format!("environment variable {var} is set but empty"),
        )),
        None => Err(KeyProblem::new(
            "url_env",
            format!(
                "environment variable {var} is not set (export {var}=postgres://… before starting crmgate)"
            ),
        )),
    }
}

fn check_url(url: &SecretString) -> Result<(), KeyProblem> {
    let text = url.expose_secret();
    let key = "url";
    if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
        return Err(KeyProblem::new(
            key,
            "must be a PostgreSQL URL starting with postgres:// or postgresql:// (not shown)",
        ));
    }
    text.parse::<tokio_postgres::Config>().map_err(|_| {
        KeyProblem::new(
            key,
            "is not a valid PostgreSQL URL (postgres://USER:PASSWORD@HOST:5432/DB; not shown)",
        )
    })?;
    Ok(())
}

/// `path`: `~` expanded, relative to the config file's folder.
fn resolve_path(path: &str, config_dir: Option<&Path>) -> Result<PathBuf, KeyProblem> {
    let path = path.trim();
    if path.is_empty() {
        return Err(KeyProblem::new("path", "is empty"));
    }
    let expanded = if path == "~" || path.starts_with("~/") {
        let home =
            home().ok_or_else(|| KeyProblem::new("path", "starts with ~ but HOME is not set"))?;
        home.join(path.trim_start_matches('~').trim_start_matches('/'))
    } else {
        PathBuf::from(path)
    };
    if expanded.is_absolute() {
        return Ok(expanded);
    }
    let base = match config_dir {
        Some(dir) => dir.to_path_buf(),
        None => std::env::current_dir().map_err(|_| {
            KeyProblem::new("path", "is relative and the current folder is unknown")
        })?,
    };
    Ok(base.join(expanded))
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// The default journal file: on macOS `~/Library/Application Support/crmgate/journal.sqlite3`;
/// on Windows `%LOCALAPPDATA%\crmgate\journal.sqlite3`; elsewhere
/// `$XDG_DATA_HOME/crmgate/journal.sqlite3`, else `~/.local/share/crmgate/journal.sqlite3`.
/// `None` when none of these can be found.
pub fn default_path() -> Option<PathBuf> {
    if cfg!(target_os = "macos") {
        return home().map(|h| {
            h.join("Library/Application Support/crmgate")
                .join(FILE_NAME)
        });
    }
    if cfg!(windows) {
        return std::env::var_os("LOCALAPPDATA")
            .filter(|a| !a.is_empty())
            .map(|a| PathBuf::from(a).join("crmgate").join(FILE_NAME));
    }
    let xdg = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    match xdg {
        Some(dir) => Some(dir.join("crmgate").join(FILE_NAME)),
        None => home().map(|h| h.join(".local/share/crmgate").join(FILE_NAME)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The section from JSON (this crate has no TOML parser; the binary's loader tests the
    /// TOML form).
    fn parse(json: &str) -> Result<JournalConfig, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults() {
        let s = JournalConfig::default().resolve_with(None, no_env).unwrap();
        assert!(s.enabled);
        assert_eq!(s.on_failure, OnFailure::Refuse);
        assert_eq!(s.bounds.max_entries, Some(DEFAULT_MAX_ENTRIES));
        assert_eq!(s.bounds.max_bytes, Some(256 * 1024 * 1024));
        assert_eq!(s.bounds.max_age, Some(Duration::from_secs(90 * 86_400)));
        assert!(matches!(s.storage, Storage::Sqlite { .. }));
    }

    #[test]
    fn unknown_keys_and_bad_policies_are_refused() {
        let e = parse(r#"{"retention": 3}"#).unwrap_err();
        assert!(e.contains("unknown field `retention`"), "{e}");
        let e = parse(r#"{"on_failure": "ignore"}"#).unwrap_err();
        assert!(e.contains("refuse") && e.contains("allow"), "{e}");
        let c = parse(r#"{"on_failure": "allow", "enabled": false}"#).unwrap();
        let s = c.resolve_with(None, no_env).unwrap();
        assert_eq!(s.on_failure, OnFailure::Allow);
        assert!(!s.enabled);
    }

    #[test]
    fn ranges_name_the_key() {
        for (json, key) in [
            (r#"{"retention_days": 0}"#, "retention_days"),
            (r#"{"max_entries": 5}"#, "max_entries"),
            (r#"{"max_size_mb": -1}"#, "max_size_mb"),
        ] {
            let e = parse(json).unwrap().resolve_with(None, no_env).unwrap_err();
            assert_eq!(e.key, key);
            assert!(e.message.contains("between"), "{}", e.message);
        }
    }

    #[test]
    fn paths_resolve_against_the_config_folder() {
        let dir = Path::new("/etc/crmgate");
        let s = parse(r#"{"path": "data/j.sqlite3"}"#)
            .unwrap()
            .resolve_with(Some(dir), no_env)
            .unwrap();
        match s.storage {
            Storage::Sqlite { path } => assert_eq!(path.unwrap(), dir.join("data/j.sqlite3")),
            other => panic!("{other:?}"),
        }
        let e = parse(r#"{"path": "  "}"#)
            .unwrap()
            .resolve_with(Some(dir), no_env)
            .unwrap_err();
        assert_eq!(e.key, "path");
    }

    #[test]
    fn urls_are_checked_and_never_shown() {
        let secret_url = "postgres://journal:s3cr3t-pw@db.internal:5432/crm";
        let c = parse(&format!(r#"{{"url": "{secret_url}"}}"#)).unwrap();
        let s = c.resolve_with(None, no_env).unwrap();
        assert!(matches!(s.storage, Storage::Postgres { .. }));
        assert!(!format!("{s:?}").contains("s3cr3t"), "{s:?}");

        let e = parse(r#"{"url": "mysql://u:s3cr3t@h/db"}"#)
            .unwrap()
            .resolve_with(None, no_env)
            .unwrap_err();
        assert_eq!(e.key, "url");
        assert!(!e.message.contains("s3cr3t"));

        let e = parse(&format!(r#"{{"url_env": "{secret_url}"}}"#))
            .unwrap()
            .resolve_with(None, no_env)
            .unwrap_err();
        assert_eq!(e.key, "url_env");
        assert!(!e.message.contains("s3cr3t"), "{}", e.message);

        let env = |name: &str| (name == "JOURNAL_URL").then(|| secret_url.to_owned());
        let s = parse(r#"{"url_env": "JOURNAL_URL"}"#)
            .unwrap()
            .resolve_with(None, env)
            .unwrap();
        assert!(matches!(s.storage, Storage::Postgres { .. }));
        let e = parse(r#"{"url_env": "MISSING_VAR"}"#)
            .unwrap()
            .resolve_with(None, env)
            .unwrap_err();
        assert!(
            e.message.contains("MISSING_VAR is not set"),
            "{}",
            e.message
        );

        let e = parse(r#"{"url_env": "JOURNAL_URL", "path": "/x"}"#)
            .unwrap()
            .resolve_with(None, env)
            .unwrap_err();
        assert!(e.message.contains("not both"), "{}", e.message);
        let e = parse(&format!(
            r#"{{"url_env": "JOURNAL_URL", "url": "{secret_url}"}}"#
        ))
        .unwrap()
        .resolve_with(None, env)
        .unwrap_err();
        assert!(e.message.contains("not both"), "{}", e.message);
    }
}
