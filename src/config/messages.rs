//! Reading TOML into typed structs with errors a user can act on: one line, the full key path,
//! "did you mean" for unknown keys, and no configured value repeated unless
//! [`crmgate_core::config::shown`] judges it cannot be a secret.

use super::Ctx;
use super::kind::Kind;
use super::raw::{CRM_KEYS, RATE_LIMIT_KEYS, RawConfig, TOP_KEYS};
use crmgate_core::config::{secret_shaped, shown};
use crmgate_core::{Error, Result};
use serde::de::DeserializeOwned;

/// Which keys an unknown key is compared against.
enum Known<'a> {
    /// A fixed list (top level, `[http]`, common keys, `rate_limit`).
    Keys(&'a [&'a str]),
    /// A vendor's section: its own keys (from serde's message) and the common ones.
    Vendor(Kind),
}

/// Pass 1: the document into [`RawConfig`]; syntax errors with line and column.
pub(crate) fn parse_raw(ctx: &Ctx, text: &str) -> Result<RawConfig> {
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
            super::http::HTTP_KEYS
        } else if path.starts_with("journal.") {
            crmgate_journal::config::JOURNAL_KEYS
        } else if path.starts_with("redis.") {
            super::redis::REDIS_KEYS
        } else {
            TOP_KEYS
        };
        serde_message(ctx, "", &path, e.inner().message(), Known::Keys(known))
    })
}

/// Pass 2: a section's common keys into a typed struct, errors prefixed with `prefix`.
pub(crate) fn common<T: DeserializeOwned>(
    ctx: &Ctx,
    prefix: &str,
    table: toml::Table,
) -> Result<T> {
    serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
        let path = e.path().to_string();
        let known = if path.starts_with("rate_limit") {
            RATE_LIMIT_KEYS
        } else {
            CRM_KEYS
        };
        serde_message(ctx, prefix, &path, e.inner().message(), Known::Keys(known))
    })
}

/// Pass 2: a section's vendor keys into the vendor crate's section type.
pub(crate) fn vendor_section<T: DeserializeOwned>(
    ctx: &Ctx,
    prefix: &str,
    kind: Kind,
    table: toml::Table,
) -> Result<T> {
    serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
        let path = e.path().to_string();
        serde_message(ctx, prefix, &path, e.inner().message(), Known::Vendor(kind))
    })
}

/// Turn a serde error at `path` (relative to `prefix`) into the one-line config error.
fn serde_message(ctx: &Ctx, prefix: &str, path: &str, message: &str, known: Known<'_>) -> Error {
    let path = if path == "." { "" } else { path };
    let full_path = match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}.{path}"),
    };
    if let Some((field, expected)) = unknown_field(message) {
        return ctx.plain(unknown_key(&full_path, &field, &expected, known));
    }
    if let Some((value, expected)) = unknown_variant(message) {
        let noun = full_path.rsplit('.').next().unwrap_or("value");
        let hint = crmgate_core::text::did_you_mean(&value, expected.iter().map(String::as_str))
            .map(|best| format!(" (did you mean {best}?)"))
            .unwrap_or_default();
        return ctx.error(
            &full_path,
            format!(
                "unknown {noun} {}{hint}: use one of {}",
                shown(&value),
                expected.join(", ")
            ),
        );
    }
    let message = redact_string_values(&one_line(message))
        .replace("expected i64", "expected an integer")
        .replace("expected a sequence", "expected an array")
        .replace("expected a map", "expected a table");
    if full_path.is_empty() {
        ctx.plain(message)
    } else {
        ctx.error(&full_path, message)
    }
}

/// "unknown key K (did you mean X?)", or the keys allowed there.
fn unknown_key(full_path: &str, field: &str, expected: &[String], known: Known<'_>) -> String {
    // serde_path_to_error's path already ends with the unknown key
    let key = if full_path == field || full_path.ends_with(&format!(".{field}")) {
        full_path.to_owned()
    } else {
        super::secrets::join(full_path, field)
    };
    let key = if secret_shaped(field) {
        "(a key shaped like a secret, not shown)".to_owned()
    } else {
        key
    };
    let own: Vec<&str> = expected.iter().map(String::as_str).collect();
    match known {
        Known::Keys(list) => {
            let candidates = if own.is_empty() { list.to_vec() } else { own };
            match crmgate_core::text::did_you_mean(field, candidates.iter().copied()) {
                Some(best) => format!("unknown key {key} (did you mean {best}?)"),
                None => format!("unknown key {key}: allowed here: {}", candidates.join(", ")),
            }
        }
        Known::Vendor(kind) => {
            let candidates = own.iter().chain(CRM_KEYS).copied();
            match crmgate_core::text::did_you_mean(field, candidates) {
                Some(best) => format!("unknown key {key} (did you mean {best}?)"),
                None if own.is_empty() => format!(
                    "unknown key {key}: kind \"{kind}\" takes none beyond the common keys ({})",
                    CRM_KEYS.join(", ")
                ),
                None => format!(
                    "unknown key {key}: kind \"{kind}\" takes {} and the common keys ({})",
                    own.join(", "),
                    CRM_KEYS.join(", ")
                ),
            }
        }
    }
}

/// Parse serde's "unknown field `x`, expected one of `a`, `b`" (or "expected `a`", or "there
/// are no fields").
fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    Some((field.to_owned(), backticked(rest)))
}

/// Parse serde's "unknown variant `x`, expected one of `a`, `b`" (or "expected `a` or `b`").
fn unknown_variant(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown variant `")?;
    let (value, rest) = rest.rsplit_once("`, expected ")?;
    Some((value.to_owned(), backticked(rest)))
}

/// The words between backticks.
fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// serde quotes the value of a type error (`invalid type: string "…", expected …`): keep it
/// only when it cannot be a secret.
fn redact_string_values(message: &str) -> String {
    for marker in ["invalid type: string \"", "invalid value: string \""] {
        if let Some(start) = message.find(marker).map(|i| i + marker.len())
            && let Some(len) = message[start..].rfind("\", expected")
        {
            let value = &message[start..start + len];
            let head = &message[..start - 1];
            let tail = &message[start + len + 1..];
            return format!("{head}{}{tail}", shown(value));
        }
    }
    message.to_owned()
}

/// 1-based line and column (in characters) of byte offset `at`.
pub(crate) fn line_col(text: &str, at: usize) -> (usize, usize) {
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
pub(crate) fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_are_parsed() {
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
        assert_eq!(
            unknown_variant("unknown variant `pg`, expected `postgres` or `postgrest`"),
            Some(("pg".into(), vec!["postgres".into(), "postgrest".into()]))
        );
    }

    #[test]
    fn quoted_values_are_kept_only_when_harmless() {
        assert_eq!(
            redact_string_values("invalid type: string \"many\", expected i64"),
            "invalid type: string \"many\", expected i64"
        );
        let secret = "invalid type: string \"sk_live_51HxQv2ABCdef0123\", expected i64";
        let shown = redact_string_values(secret);
        assert!(
            !shown.contains("sk_live") && shown.contains("not shown"),
            "{shown}"
        );
        // a value that itself contains the closing marker
        let tricky = "invalid type: string \"a\\\", expected x 9f8e7d6c5b4a39281\", expected i64";
        assert!(!redact_string_values(tricky).contains("9f8e7d6c5b4a39281"));
    }

    #[test]
    fn line_and_column_are_one_based() {
        let text = "a = 1\nb = é?\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, text.find('?').unwrap()), (2, 6));
    }
}
