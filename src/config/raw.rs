//! The config file's serde shape, before validation.
//!
//! Parsing runs in two passes so that every error can name its full key path:
//! 1. the document into [`RawConfig`], each `[crm.NAME]` section kept as a plain table;
//! 2. each section split into the common keys ([`CRM_KEYS`], typed as [`RawCrm`]) and the
//!    vendor keys (everything else), which the vendor crate of that `kind` reads into its own
//!    `deny_unknown_fields` section type (see [`super::kind`]).
//!
//! Why not `#[serde(flatten)] vendor: toml::Table` inside one struct: serde buffers a flattened
//! struct's entries before deserializing its fields, so errors inside it lose their key path
//! (`crm.acme` instead of `crm.acme.limit_cap`), and `deny_unknown_fields` cannot be combined
//! with it. Splitting by key name keeps both.
//!
//! Integers are `i64` (TOML's own integer type) so that a negative or huge value reaches the
//! range checks of [`super::resolved`] and gets a "must be between" message, not serde's.

use super::kind::Kind;
use crmgate_core::config::{EnvVarName, InlineSecret};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Which `[crm.NAME]` to use when `--crm` is not given.
    pub default: Option<String>,
    /// Folder of `<prompt name>.md` files overriding the built-in prompts.
    pub prompts_dir: Option<String>,
    /// Name of the environment variable holding the confirm-token HMAC key.
    pub confirm_secret_env: Option<EnvVarName>,
    /// The confirm-token HMAC key inline (warned about when the file is readable by others).
    pub confirm_secret: Option<InlineSecret>,
    /// Hosted mode settings.
    pub http: Option<super::http::RawHttp>,
    /// The change journal (`crmgate-journal` owns the section's keys).
    pub journal: Option<crmgate_journal::JournalConfig>,
    /// Shared state through Redis (`crmgate-shared` owns the section's keys).
    pub redis: Option<crmgate_shared::RedisConfig>,
    /// The CRMs, by name; each section is split by [`split_crm`].
    #[serde(default)]
    pub crm: BTreeMap<String, toml::Table>,
}

/// Top-level keys, for "did you mean" on unknown keys.
pub const TOP_KEYS: &[&str] = &[
    "default",
    "prompts_dir",
    "confirm_secret_env",
    "confirm_secret",
    "http",
    "journal",
    "redis",
    "crm",
];

/// The keys of a `[crm.NAME]` section common to every backend (the fields of [`RawCrm`]).
/// Every other key of the section is a vendor key.
pub const CRM_KEYS: &[&str] = &[
    "kind",
    "tier",
    "limit_cap",
    "default_limit",
    "text_cap",
    "cache_ttl_s",
    "timeout_s",
    "connect_timeout_s",
    "raw_call_allow",
    "rate_limit",
    "shared_identity",
];

/// The common part of a `[crm.NAME]` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCrm {
    /// demo | espocrm | bitrix24 | bottlecrm | atomic
    pub kind: Option<Kind>,
    /// read | write | destructive
    pub tier: Option<String>,
    /// Largest page size.
    pub limit_cap: Option<i64>,
    /// Page size when none is asked for.
    pub default_limit: Option<i64>,
    /// Characters of text before it is cut.
    pub text_cap: Option<i64>,
    /// Metadata cache time to live, seconds.
    pub cache_ttl_s: Option<i64>,
    /// Whole-request timeout, seconds.
    pub timeout_s: Option<i64>,
    /// Connect timeout, seconds.
    pub connect_timeout_s: Option<i64>,
    /// Raw vendor methods crm_call may use.
    pub raw_call_allow: Option<Vec<String>>,
    /// Client-side rate limits towards the CRM.
    pub rate_limit: Option<RawRateLimit>,
    /// Hosted mode: serve every caller with the configured credential (on purpose only).
    pub shared_identity: Option<bool>,
}

/// `[crm.NAME.rate_limit]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    /// Sustained requests per second.
    pub per_second: Option<i64>,
    /// Requests allowed in a burst.
    pub burst: Option<i64>,
    /// Longest wait for a turn before `RATE_LIMITED`, milliseconds.
    pub max_wait_ms: Option<i64>,
    /// Requests in flight at once, all callers together.
    pub max_concurrency: Option<i64>,
    /// Requests of one caller in flight at once.
    pub max_concurrency_per_caller: Option<i64>,
}

/// `[crm.NAME.rate_limit]` keys, for "did you mean".
pub const RATE_LIMIT_KEYS: &[&str] = &[
    "per_second",
    "burst",
    "max_wait_ms",
    "max_concurrency",
    "max_concurrency_per_caller",
];

/// Split a `[crm.NAME]` section into its common keys and its vendor keys.
pub fn split_crm(section: &toml::Table) -> (toml::Table, toml::Table) {
    let mut common = toml::Table::new();
    let mut vendor = toml::Table::new();
    for (key, value) in section {
        if CRM_KEYS.contains(&key.as_str()) {
            common.insert(key.clone(), value.clone());
        } else {
            vendor.insert(key.clone(), value.clone());
        }
    }
    (common, vendor)
}
