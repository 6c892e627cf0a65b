//! Secrets in the config: `<key>_env = "VAR"` names an environment variable (preferred), or
//! `<key> = "..."` holds the secret inline, with a warning when the file is readable by group
//! or others. Values become [`SecretString`]s at once; neither a value nor any part of it ever
//! reaches an error message or a log line (only key names and variable names do).

use super::Ctx;
use crmgate_core::Result;
use secrecy::SecretString;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// Read the secret `key` of `table` (a `[crm.NAME]` section's vendor keys): from the
/// environment variable named by `<key>_env`, or inline from `<key>`. `None` when neither is
/// set. `prefix` is the table's key path (`crm.acme`), for messages.
pub(crate) fn secret(
    ctx: &Ctx,
    prefix: &str,
    table: &toml::Table,
    key: &str,
) -> Result<Option<SecretString>> {
    let env_key = format!("{key}_env");
    let env_name = string_at(ctx, prefix, table, &env_key)?;
    let inline = match table.get(key) {
        None => None,
        Some(toml::Value::String(s)) => Some(s.as_str()),
        // never echo the value: it may be the secret
        Some(other) => {
            return Err(ctx.error(
                &join(prefix, key),
                format!(
                    "must be a string, not {}",
                    super::resolved::type_name(other)
                ),
            ));
        }
    };
    resolve(ctx, prefix, key, env_name, inline)
}

/// The shared logic of [`secret`], also used for the top-level `confirm_secret`.
pub(crate) fn resolve(
    ctx: &Ctx,
    prefix: &str,
    key: &str,
    env_name: Option<&str>,
    inline: Option<&str>,
) -> Result<Option<SecretString>> {
    let env_key = format!("{key}_env");
    match (env_name, inline) {
        (Some(_), Some(_)) => Err(ctx.error(
            &join(prefix, key),
            format!("set either {env_key} or {key}, not both"),
        )),
        (Some(var), None) => {
            let var = var.trim();
            if var.is_empty() {
                return Err(ctx.error(
                    &join(prefix, &env_key),
                    "is empty: name the environment variable that holds the secret",
                ));
            }
            match std::env::var(var) {
                Ok(value) if value.trim().is_empty() => Err(ctx.error(
                    &join(prefix, &env_key),
                    format!("environment variable {var} is set but empty"),
                )),
                Ok(value) => Ok(Some(SecretString::from(value))),
                Err(std::env::VarError::NotPresent) => Err(ctx.error(
                    &join(prefix, &env_key),
                    format!(
                        "environment variable {var} is not set (export {var}=... before starting crmgate, or set it in the MCP client's \"env\")"
                    ),
                )),
                Err(std::env::VarError::NotUnicode(_)) => Err(ctx.error(
                    &join(prefix, &env_key),
                    format!("environment variable {var} is not valid UTF-8"),
                )),
            }
        }
        (None, Some(value)) => {
            if value.is_empty() {
                return Err(ctx.error(&join(prefix, key), "is empty"));
            }
            if let Some(file) = ctx.file.as_deref() {
                warn_if_exposed(file, &join(prefix, key), &env_key);
            }
            Ok(Some(SecretString::from(value.to_owned())))
        }
        (None, None) => Ok(None),
    }
}

/// Whether a unix permission mode lets group or others read the file.
pub fn readable_by_others(mode: u32) -> bool {
    mode & 0o044 != 0
}

/// The warning to give for an inline secret at `key_path` in `file`, if the file is readable
/// by group or others (unix only; elsewhere, and when the mode cannot be read, `None`).
pub fn inline_secret_warning(file: &Path, key_path: &str, env_key: &str) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).ok()?.permissions().mode();
        readable_by_others(mode).then(|| {
            format!(
                "{} holds the secret {key_path} inline and is readable by other users (mode {:o}): \
                 run chmod 600 {}, or move the secret to an environment variable named by {env_key}",
                file.display(),
                mode & 0o777,
                file.display()
            )
        })
    }
    #[cfg(not(unix))]
    {
        let _ = (file, key_path, env_key);
        None
    }
}

static WARNED: AtomicBool = AtomicBool::new(false);

/// Log [`inline_secret_warning`] once per process.
fn warn_if_exposed(file: &Path, key_path: &str, env_key: &str) {
    if let Some(message) = inline_secret_warning(file, key_path, env_key)
        && !WARNED.swap(true, Ordering::Relaxed)
    {
        tracing::warn!("{message}");
    }
}

/// A string value at `key`, or a type error naming the key path.
pub(crate) fn string_at<'t>(
    ctx: &Ctx,
    prefix: &str,
    table: &'t toml::Table,
    key: &str,
) -> Result<Option<&'t str>> {
    match table.get(key) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(ctx.error(
            &join(prefix, key),
            format!(
                "must be a string, not {}",
                super::resolved::type_name(other)
            ),
        )),
    }
}

/// `prefix.key`, or `key` at the top level.
pub(crate) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_or_other_read_bits_count() {
        assert!(readable_by_others(0o644));
        assert!(readable_by_others(0o640));
        assert!(readable_by_others(0o604));
        assert!(!readable_by_others(0o600));
        assert!(!readable_by_others(0o700));
        assert!(!readable_by_others(0o100600));
    }
}
