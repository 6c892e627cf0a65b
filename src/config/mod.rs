//! The TOML configuration: where it is found, its shape ([`raw`]), the registry of backend
//! kinds whose vendor crates read their own keys ([`kind`]), validation into the one CRM this
//! process serves ([`resolved`]), and inline-secret warnings ([`secrets`]).
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
pub mod kind;
mod messages;
pub mod raw;
pub mod redis;
pub mod resolved;
pub mod secrets;

pub use kind::{Kind, Vendor};
pub use resolved::ResolvedCrm;

use crmgate_core::config::ConfigProblem;
use crmgate_core::gateway::Tier;
use crmgate_core::{Error, Result};
use raw::RawCrm;
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
    let raw = messages::parse_raw(&ctx, text)?;

    // every section's keys are checked, so a mistake in one that is not used today is not a
    // surprise tomorrow; secrets are read from the environment only for the one selected, and
    // only when its backend is built
    let mut sections = Vec::with_capacity(raw.crm.len());
    for (name, table) in &raw.crm {
        let (common, vendor) = raw::split_crm(table);
        let prefix = format!("crm.{name}");
        let mut raw_crm: RawCrm = messages::common(&ctx, &prefix, common)?;
        let Some(kind) = raw_crm.kind.take() else {
            return Err(ctx.error(
                &format!("{prefix}.kind"),
                format!("missing: set kind = \"demo\" (or {})", other_kinds()),
            ));
        };
        let vendor = Vendor::parse(&ctx, &prefix, kind, vendor)?;
        let common = resolved::resolve_common(&ctx, name, raw_crm, vendor.section())?;
        sections.push((name.clone(), kind, common, vendor));
    }
    let names: Vec<&str> = sections.iter().map(|(n, ..)| n.as_str()).collect();
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
        let wanted = if crmgate_core::config::secret_shaped(default) {
            format!("no section named by it (the value is not shown) in {file_shown}")
        } else {
            format!("no [crm.{default}] in {file_shown}")
        };
        return Err(ctx.error("default", format!("{wanted} ({})", have())));
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

    let confirm_key = confirm_key(&ctx, &raw)?;
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
            let (name, kind, common, vendor) = sections
                .into_iter()
                .find(|(n, ..)| *n == name)
                .expect("selected from these names");
            if let (Some(file), Some(section)) = (path, vendor.section()) {
                for key in section.inline_secrets() {
                    secrets::warn_if_exposed(
                        file,
                        &format!("crm.{name}.{key}"),
                        &format!("{key}_env"),
                    );
                }
            }
            ResolvedCrm {
                name,
                kind,
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
                redis: None,
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
    if let Some(raw_redis) = raw.redis {
        let confirm_key_set = crm.confirm_key.is_some();
        crm.redis = Some(redis::resolve(&ctx, path, raw_redis, confirm_key_set)?);
    }
    if let Some(tier) = overrides.tier {
        crm.settings.tier = tier;
    }
    Ok(crm)
}

/// Every kind but the demo, for the "missing kind" message.
fn other_kinds() -> String {
    Kind::ALL[1..]
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The top-level confirm-token key: from `confirm_secret_env` or inline `confirm_secret`, at
/// least 32 characters.
fn confirm_key(ctx: &Ctx, raw: &raw::RawConfig) -> Result<Option<secrecy::SecretString>> {
    use secrecy::ExposeSecret;
    let problem = |p: ConfigProblem| ctx.error(&p.key, p.message);
    let key = crmgate_core::config::secret(
        "confirm_secret",
        raw.confirm_secret_env.as_ref(),
        raw.confirm_secret.as_ref(),
    )
    .map_err(problem)?;
    if raw.confirm_secret.is_some()
        && let Some(file) = ctx.file.as_deref()
    {
        secrets::warn_if_exposed(file, "confirm_secret", "confirm_secret_env");
    }
    if let Some(key) = &key
        && key.expose_secret().chars().count() < 32
    {
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
    Ok(key)
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
