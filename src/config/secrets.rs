//! Inline secrets in the config file: `<key> = "..."` works, with a warning when the file is
//! readable by group or others (`<key>_env = "VAR"`, naming an environment variable, is the
//! preferred form). Reading and checking secrets is [`crmgate_core::config`]'s: values become
//! `SecretString`s at once and never reach a message or a log line.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

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
pub(crate) fn warn_if_exposed(file: &Path, key_path: &str, env_key: &str) {
    if let Some(message) = inline_secret_warning(file, key_path, env_key)
        && !WARNED.swap(true, Ordering::Relaxed)
    {
        tracing::warn!("{message}");
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
