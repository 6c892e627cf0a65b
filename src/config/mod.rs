//! The TOML configuration: where it is found, its shape ([`raw`]), validation into the one
//! CRM this process serves ([`resolved`]), and secrets ([`secrets`]).
//!
//! Found by `--config FILE`, else `$CRMGATE_CONFIG`, else the user config dir
//! ([`user_config_candidates`]). With no file at all the built-in demo CRM serves with every
//! default, so a fresh machine can run crmgate without setup. A file that was named explicitly
//! but does not exist is an error.
//!
//! Every problem is one `CONFIG` error whose message is one line naming the file, the key path
//! and what is wrong, e.g.
//! `config error in /x/crmgate.toml: crm.acme.limit_cap: must be between 1 and 500`.

pub mod http;
mod journal;
pub mod raw;
pub mod resolved;
pub mod secrets;

pub use resolved::ResolvedCrm;

use crmgate_core::gateway::Tier;
use crmgate_core::{Error, Result};
use raw::{RATE_LIMIT_KEYS, RawConfig, RawCrm, TOP_KEYS};
use std::path::{Path, PathBuf};

/// The environment variable naming the config file.
pub const CONFIG_ENV: &str = "CRMGATE_CONFIG";

/// Command-line overrides of the file (`--config`, `--crm`, `--tier`).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--config FILE`
    pub config: Option<PathBuf>,
    /// `--crm NAME`
    pub crm: Option<String>,
    /// `--tier read|write|destructive`
    pub tier: Option<Tier>,
}

/// Where the config came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The file found; `None`: no file, the built-in demo serves.
    pub path: Option<PathBuf>,
    /// The places looked at, in order, for messages.
    pub searched: Vec<PathBuf>,
}

/// Where errors point: the file (if any).
#[derive(Debug, Clone, Default)]
pub(crate) struct Ctx {
    pub file: Option<PathBuf>,
}

impl Ctx {
    /// `config error in FILE: KEY: WHAT`.
    pub fn error(&self, key: &str, what: impl std::fmt::Display) -> Error {
        self.plain(format!("{key}: {what}"))
    }

    /// `config error in FILE: MESSAGE`.
    pub fn plain(&self, message: impl std::fmt::Display) -> Error {
        match &self.file {
            Some(file) => Error::config(format!("config error in {}: {message}", file.display())),
            None => Error::config(format!("config error: {message}")),
        }
    }
}

/// Find the config file: `explicit` (`--config`), else `$CRMGATE_CONFIG`, else the first
/// existing [`user_config_candidates`]. An explicitly named file that does not exist is an
/// error; no file at all is not.
pub fn find(explicit: Option<&Path>) -> Result<Located> {
    let env = std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty());
    locate(
        explicit,
        env.as_deref().map(Path::new),
        &user_config_candidates(),
    )
}

/// [`find`] with its inputs given.
pub fn locate(explicit: Option<&Path>, env: Option<&Path>, user: &[PathBuf]) -> Result<Located> {
    if let Some(path) = explicit {
        return named(path, "--config");
    }
    if let Some(path) = env {
        return named(path, CONFIG_ENV);
    }
    let path = user.iter().find(|p| p.is_file()).cloned();
    Ok(Located {
        path,
        searched: user.to_vec(),
    })
}

fn named(path: &Path, how: &str) -> Result<Located> {
    let shown = absolute(path);
    if !shown.exists() {
        let mut error = Error::config(format!(
            "config error: {how} {}: no such file",
            shown.display()
        ));
        error.suggestion = format!(
            "check the path; without {how}, crmgate looks in the user config dir and falls back to the built-in demo CRM"
        );
        return Err(error);
    }
    Ok(Located {
        path: Some(shown.clone()),
        searched: vec![shown],
    })
}

/// `path` made absolute against the current directory (not canonicalised: symlinks stay).
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The per-user config files looked for, in order: `$XDG_CONFIG_HOME/crmgate/config.toml`
/// or `~/.config/crmgate/config.toml`; on macOS first
/// `~/Library/Application Support/crmgate/config.toml`; on Windows
/// `%APPDATA%\crmgate\config.toml`.
pub fn user_config_candidates() -> Vec<PathBuf> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from);
    let mut out = Vec::new();
    if cfg!(target_os = "macos")
        && let Some(home) = &home
    {
        out.push(home.join("Library/Application Support/crmgate/config.toml"));
    }
    if cfg!(windows)
        && let Some(appdata) = std::env::var_os("APPDATA").filter(|a| !a.is_empty())
    {
        out.push(PathBuf::from(appdata).join("crmgate").join("config.toml"));
    }
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    if let Some(xdg) = xdg {
        out.push(xdg.join("crmgate/config.toml"));
    } else if let Some(home) = &home {
        out.push(home.join(".config/crmgate/config.toml"));
    }
    out
}

/// Find, read and validate the config, applying the overrides.
pub fn load(overrides: &Overrides) -> Result<ResolvedCrm> {
    let located = find(overrides.config.as_deref())?;
    load_located(&located, overrides)
}

/// Read and validate the config `located` found (the built-in demo when it found none).
pub fn load_located(located: &Located, overrides: &Overrides) -> Result<ResolvedCrm> {
    match &located.path {
        Some(path) => load_file(path, overrides),
        None => {
            if let Some(name) = overrides.crm.as_deref()
                && name != "demo"
            {
                let searched: Vec<String> = located
                    .searched
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect();
                let mut error = Error::config(format!(
                    "--crm {name}: no config file found (looked for {CONFIG_ENV} and {}), so only the built-in demo CRM is available",
                    if searched.is_empty() {
                        "no user config dir".to_owned()
                    } else {
                        searched.join(", ")
                    }
                ));
                error.suggestion =
                    "pass --config FILE, or drop --crm to use the built-in demo CRM".into();
                return Err(error);
            }
            let mut crm = ResolvedCrm::demo();
            if let Some(tier) = overrides.tier {
                crm.settings.tier = tier;
            }
            Ok(crm)
        }
    }
}

/// Read and validate one file.
pub fn load_file(path: &Path, overrides: &Overrides) -> Result<ResolvedCrm> {
    let path = absolute(path);
    let ctx = Ctx {
        file: Some(path.clone()),
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| ctx.plain(format!("cannot read the file: {e}")))?;
    parse(&text, Some(&path), overrides)
}

/// Validate config text (`path` is where it came from, for messages and relative paths).
pub fn parse(text: &str, path: Option<&Path>, overrides: &Overrides) -> Result<ResolvedCrm> {
    let ctx = Ctx {
        file: path.map(Path::to_path_buf),
    };
    let raw = parse_raw(&ctx, text)?;

    // every section's common keys are checked, so a mistake in one that is not used today is
    // not a surprise tomorrow; secrets and vendor keys only for the one selected
    let mut sections = Vec::with_capacity(raw.crm.len());
    for (name, table) in &raw.crm {
        let (common, vendor) = raw::split_crm(table);
        let prefix = format!("crm.{name}");
        let raw_crm: RawCrm = typed(&ctx, &prefix, common)?;
        let common = resolved::resolve_common(&ctx, name, raw_crm)?;
        sections.push((name.clone(), common, vendor));
    }
    let names: Vec<&str> = sections.iter().map(|(n, _, _)| n.as_str()).collect();
    let file_shown = path.map_or_else(|| "the config".to_owned(), |p| p.display().to_string());
    let have = || {
        if names.is_empty() {
            "no [crm.NAME] sections".to_owned()
        } else {
            format!("have: {}", names.join(", "))
        }
    };
    if let Some(default) = &raw.default
        && !names.contains(&default.as_str())
    {
        return Err(ctx.error(
            "default",
            format!("no [crm.{default}] in {file_shown} ({})", have()),
        ));
    }
    let selected = match (&overrides.crm, &raw.default) {
        (Some(name), _) => {
            if !names.contains(&name.as_str()) {
                return Err(Error::config(format!(
                    "--crm {name}: no [crm.{name}] in {file_shown} ({})",
                    have()
                )));
            }
            Some(name.clone())
        }
        (None, Some(default)) => Some(default.clone()),
        (None, None) => match names.as_slice() {
            [] => None,
            [only] => Some((*only).to_owned()),
            _ => {
                return Err(ctx.plain(format!(
                    "several CRMs are listed ({}): set default = \"NAME\" or pass --crm NAME",
                    names.join(", ")
                )));
            }
        },
    };

    let confirm_key = secrets::resolve(
        &ctx,
        "",
        "confirm_secret",
        raw.confirm_secret_env.as_deref(),
        raw.confirm_secret.as_deref(),
    )?;
    if let Some(key) = &confirm_key {
        use secrecy::ExposeSecret;
        if key.expose_secret().len() < 32 {
            let which = if raw.confirm_secret_env.is_some() {
                "confirm_secret_env"
            } else {
                "confirm_secret"
            };
            return Err(ctx.error(
                which,
                "the confirm secret is shorter than 32 characters: use a long random value (openssl rand -hex 32)",
            ));
        }
    }
    let prompts_dir = match &raw.prompts_dir {
        None => None,
        Some(dir) => Some(prompts_dir(&ctx, path, dir)?),
    };

    let mut crm = match selected {
        // a file without [crm.*] sections: the demo, with the file's top-level settings
        None => {
            let mut crm = ResolvedCrm::demo();
            crm.source = path.map(Path::to_path_buf);
            crm
        }
        Some(name) => {
            let (name, common, vendor) = sections
                .into_iter()
                .find(|(n, _, _)| *n == name)
                .expect("selected from these names");
            ResolvedCrm {
                name,
                kind: common.kind,
                settings: common.settings,
                confirm_key: None,
                prompts_dir: None,
                cache_ttl: common.cache_ttl,
                upstream: common.upstream,
                vendor,
                source: path.map(Path::to_path_buf),
                shared_identity: common.shared_identity,
                http: Default::default(),
                journal: Default::default(),
            }
        }
    };
    crm.confirm_key = confirm_key;
    crm.prompts_dir = prompts_dir;
    if let Some(raw_http) = raw.http {
        crm.http = http::resolve(&ctx, raw_http)?;
    }
    if let Some(raw_journal) = raw.journal {
        crm.journal = journal::resolve(&ctx, path, raw_journal)?;
    }
    if let Some(tier) = overrides.tier {
        crm.settings.tier = tier;
    }
    Ok(crm)
}

/// Pass 1: the document into [`RawConfig`]; syntax errors with line and column.
fn parse_raw(ctx: &Ctx, text: &str) -> Result<RawConfig> {
    let de = toml::Deserializer::parse(text).map_err(|e| {
        let at = e
            .span()
            .map(|span| {
                let (line, col) = line_col(text, span.start);
                format!("line {line}, column {col}: ")
            })
            .unwrap_or_default();
        ctx.plain(format!("{at}{}", one_line(e.message())))
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let known = if path.starts_with("http.") {
            http::HTTP_KEYS
        } else if path.starts_with("journal.") {
            crmgate_journal::config::JOURNAL_KEYS
        } else {
            TOP_KEYS
        };
        serde_message(ctx, "", &path, e.inner().message(), known)
    })
}

/// Pass 2: a table into a typed struct, errors prefixed with the table's key path.
fn typed<T: serde::de::DeserializeOwned>(ctx: &Ctx, prefix: &str, table: toml::Table) -> Result<T> {
    serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
        let path = e.path().to_string();
        let known: &[&str] = if path.starts_with("rate_limit") {
            RATE_LIMIT_KEYS
        } else {
            raw::CRM_KEYS
        };
        serde_message(ctx, prefix, &path, e.inner().message(), known)
    })
}

/// Turn a serde error at `path` (relative to `prefix`) into the one-line config error:
/// unknown keys get a "did you mean", type errors the key path.
fn serde_message(ctx: &Ctx, prefix: &str, path: &str, message: &str, known: &[&str]) -> Error {
    let path = if path == "." { "" } else { path };
    let full_path = match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}.{path}"),
    };
    if let Some((field, expected)) = unknown_field(message) {
        // serde_path_to_error's path already ends with the unknown key
        let key = if full_path == field || full_path.ends_with(&format!(".{field}")) {
            full_path.clone()
        } else {
            secrets::join(&full_path, &field)
        };
        let candidates: Vec<&str> = if expected.is_empty() {
            known.to_vec()
        } else {
            expected.iter().map(String::as_str).collect()
        };
        return ctx.plain(
            match crmgate_core::text::did_you_mean(&field, candidates.iter().copied()) {
                Some(best) => format!("unknown key {key} (did you mean {best}?)"),
                None => format!("unknown key {key}: allowed here: {}", candidates.join(", ")),
            },
        );
    }
    let mut message = one_line(message)
        .replace("expected i64", "expected an integer")
        .replace("expected a sequence", "expected an array")
        .replace("expected a map", "expected a table");
    // never echo what may be a secret: keep only the expectation
    if full_path.contains("secret")
        && let Some((_, expected)) = message.split_once(", expected ")
    {
        message = format!("wrong type, expected {expected}");
    }
    if full_path.is_empty() {
        ctx.plain(message)
    } else {
        ctx.error(&full_path, message)
    }
}

/// Parse serde's "unknown field `x`, expected one of `a`, `b`" (or "expected `a`", or "there
/// are no fields").
fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    Some((field.to_owned(), expected))
}

/// 1-based line and column (in characters) of byte offset `at`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Collapse a multi-line message into one line.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// `prompts_dir`: `~` expanded, relative to the config file's folder, and it must exist.
fn prompts_dir(ctx: &Ctx, file: Option<&Path>, dir: &str) -> Result<PathBuf> {
    let dir = dir.trim();
    if dir.is_empty() {
        return Err(ctx.error("prompts_dir", "is empty"));
    }
    let expanded = if dir == "~" || dir.starts_with("~/") {
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .ok_or_else(|| ctx.error("prompts_dir", "starts with ~ but HOME is not set"))?;
        PathBuf::from(home).join(dir.trim_start_matches('~').trim_start_matches('/'))
    } else {
        PathBuf::from(dir)
    };
    let resolved = if expanded.is_absolute() {
        expanded
    } else {
        match file.and_then(Path::parent) {
            Some(base) => base.join(expanded),
            None => absolute(&expanded),
        }
    };
    if !resolved.is_dir() {
        return Err(ctx.error(
            "prompts_dir",
            format!("{} is not a directory", resolved.display()),
        ));
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_messages_are_parsed() {
        assert_eq!(
            unknown_field("unknown field `tierr`, expected one of `kind`, `tier`"),
            Some(("tierr".into(), vec!["kind".into(), "tier".into()]))
        );
        assert_eq!(
            unknown_field("unknown field `x`, expected `kind`"),
            Some(("x".into(), vec!["kind".into()]))
        );
        assert_eq!(
            unknown_field("unknown field `x`, there are no fields"),
            Some(("x".into(), vec![]))
        );
        assert_eq!(unknown_field("invalid type"), None);
    }

    #[test]
    fn line_and_column_are_one_based() {
        let text = "a = 1\nb = é?\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, text.find('?').unwrap()), (2, 6));
    }

    #[test]
    fn locate_prefers_explicit_then_env_then_user_dir() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.toml");
        let b = dir.path().join("b.toml");
        std::fs::write(&a, "").unwrap();
        std::fs::write(&b, "").unwrap();
        let missing = dir.path().join("missing.toml");
        let user = vec![missing.clone(), b.clone()];
        assert_eq!(
            locate(Some(&a), Some(&b), &user).unwrap().path,
            Some(a.clone())
        );
        assert_eq!(locate(None, Some(&a), &user).unwrap().path, Some(a.clone()));
        assert_eq!(locate(None, None, &user).unwrap().path, Some(b.clone()));
        assert_eq!(
            locate(None, None, std::slice::from_ref(&missing))
                .unwrap()
                .path,
            None
        );
        let e = locate(Some(&missing), None, &user).unwrap_err();
        assert!(e.message.contains("--config") && e.message.contains("no such file"));
        let e = locate(None, Some(&missing), &user).unwrap_err();
        assert!(e.message.contains(CONFIG_ENV), "{}", e.message);
    }
}
