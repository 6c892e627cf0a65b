//! The validated configuration of the one CRM this process serves.

use super::Ctx;
use super::raw::{CRM_KEYS, RawCrm, RawRateLimit};
use super::secrets;
use crmgate_core::Result;
use crmgate_core::gateway::{GatewaySettings, Tier};
use crmgate_core::upstream::UpstreamConfig;
use secrecy::SecretString;
use std::path::PathBuf;
use std::time::Duration;

/// Default metadata cache time to live.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(300);

/// The CRM this process serves, validated. Vendor keys are kept for the backend of `kind`,
/// which reads them with [`ResolvedCrm::vendor_str`], [`ResolvedCrm::secret`] and checks them
/// with [`ResolvedCrm::check_vendor_keys`].
pub struct ResolvedCrm {
    /// The section name (`acme` for `[crm.acme]`; `demo` without a config file).
    pub name: String,
    /// Which backend: demo | espocrm | bitrix24 | bottlecrm | atomic.
    pub kind: String,
    /// Tier, caps and policies for the gateway.
    pub settings: GatewaySettings,
    /// HMAC key for confirm tokens shared by replicas; `None`: random per process.
    pub confirm_key: Option<SecretString>,
    /// Folder of `<prompt name>.md` files overriding the built-in prompts.
    pub prompts_dir: Option<PathBuf>,
    /// Metadata cache time to live.
    pub cache_ttl: Duration,
    /// Timeouts, rate limits and concurrency towards the CRM.
    pub upstream: UpstreamConfig,
    /// The section's vendor keys (every key that is not common to all backends).
    pub vendor: toml::Table,
    /// The file it came from; `None` for the built-in demo without a config file.
    pub source: Option<PathBuf>,
    /// Hosted mode may serve every caller with the configured credential.
    pub shared_identity: bool,
    /// Hosted-mode settings (`[http]`).
    pub http: super::http::HttpSettings,
    /// The change journal (`[journal]`).
    pub journal: crmgate_journal::JournalSettings,
}

/// `Debug` shows vendor key names only: an inline secret is among the values.
impl std::fmt::Debug for ResolvedCrm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedCrm")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("settings", &self.settings)
            .field(
                "confirm_key",
                &self.confirm_key.as_ref().map(|_| "[REDACTED]"),
            )
            .field("prompts_dir", &self.prompts_dir)
            .field("cache_ttl", &self.cache_ttl)
            .field("upstream", &self.upstream)
            .field("vendor_keys", &self.vendor.keys().collect::<Vec<_>>())
            .field("source", &self.source)
            .field("shared_identity", &self.shared_identity)
            .field("http", &self.http)
            .field("journal", &self.journal)
            .finish()
    }
}

impl ResolvedCrm {
    /// The built-in demo CRM with every default (no config file).
    pub fn demo() -> Self {
        ResolvedCrm {
            name: "demo".into(),
            kind: "demo".into(),
            settings: GatewaySettings::default(),
            confirm_key: None,
            prompts_dir: None,
            cache_ttl: DEFAULT_CACHE_TTL,
            upstream: upstream_defaults("demo"),
            vendor: toml::Table::new(),
            source: None,
            shared_identity: false,
            http: Default::default(),
            journal: Default::default(),
        }
    }

    fn ctx(&self) -> Ctx {
        Ctx {
            file: self.source.clone(),
        }
    }

    /// This section's key path (`crm.acme`).
    pub fn key_path(&self) -> String {
        format!("crm.{}", self.name)
    }

    /// A `CONFIG` error about `key` of this section, in the one-line format
    /// `config error in FILE: crm.NAME.KEY: WHAT`.
    pub fn error(&self, key: &str, what: impl std::fmt::Display) -> crmgate_core::Error {
        self.ctx()
            .error(&secrets::join(&self.key_path(), key), what)
    }

    /// Refuse vendor keys other than `allowed`, with a "did you mean" over the allowed vendor
    /// keys and the common keys (so `tierr` suggests `tier`).
    pub fn check_vendor_keys(&self, allowed: &[&str]) -> Result<()> {
        for key in self.vendor.keys() {
            if allowed.contains(&key.as_str()) {
                continue;
            }
            let candidates = allowed.iter().chain(CRM_KEYS.iter()).copied();
            let full = secrets::join(&self.key_path(), key);
            let message = match crmgate_core::text::did_you_mean(key, candidates) {
                Some(best) => format!("unknown key {full} (did you mean {best}?)"),
                None if allowed.is_empty() => format!(
                    "unknown key {full}: kind {:?} takes none beyond the common keys ({})",
                    self.kind,
                    CRM_KEYS.join(", ")
                ),
                None => format!(
                    "unknown key {full}: kind {:?} takes {} and the common keys ({})",
                    self.kind,
                    allowed.join(", "),
                    CRM_KEYS.join(", ")
                ),
            };
            return Err(self.ctx().plain(message));
        }
        Ok(())
    }

    /// A vendor string value (`url = "..."`), or a type error.
    pub fn vendor_str(&self, key: &str) -> Result<Option<&str>> {
        secrets::string_at(&self.ctx(), &self.key_path(), &self.vendor, key)
    }

    /// A vendor string value that must be present.
    pub fn require_vendor_str(&self, key: &str) -> Result<&str> {
        self.vendor_str(key)?.ok_or_else(|| {
            self.error(
                key,
                format!("missing: kind {:?} needs {key} = \"...\"", self.kind),
            )
        })
    }

    /// The secret `key`: from the environment variable named by `<key>_env`, or inline
    /// `<key>` (warned about when the file is readable by others). `None` when neither is set.
    pub fn secret(&self, key: &str) -> Result<Option<SecretString>> {
        secrets::secret(&self.ctx(), &self.key_path(), &self.vendor, key)
    }

    /// A secret that must be present.
    pub fn require_secret(&self, key: &str) -> Result<SecretString> {
        self.secret(key)?.ok_or_else(|| {
            self.error(
                &format!("{key}_env"),
                format!(
                    "missing: kind {:?} needs a {key}; name the environment variable that holds it \
                     ({key}_env = \"VAR\"), or set {key} inline in a file only you can read",
                    self.kind
                ),
            )
        })
    }
}

/// The common settings of one section, validated.
pub(crate) struct Common {
    pub kind: String,
    pub shared_identity: bool,
    pub settings: GatewaySettings,
    pub cache_ttl: Duration,
    pub upstream: UpstreamConfig,
}

/// Validate the common keys of `[crm.NAME]` (ranges, tier, kind present).
pub(crate) fn resolve_common(ctx: &Ctx, name: &str, raw: RawCrm) -> Result<Common> {
    let prefix = format!("crm.{name}");
    let key = |k: &str| secrets::join(&prefix, k);
    let kind = match raw.kind {
        Some(kind) if !kind.trim().is_empty() => kind.trim().to_owned(),
        _ => {
            return Err(ctx.error(
                &key("kind"),
                "missing: set kind = \"demo\" (or espocrm, bitrix24, bottlecrm, atomic)",
            ));
        }
    };
    let mut settings = GatewaySettings::default();
    if let Some(tier) = raw.tier {
        settings.tier = tier
            .parse::<Tier>()
            .map_err(|why| ctx.error(&key("tier"), why))?;
    }
    let range = |k: &str, value: Option<i64>, lo: i64, hi: i64, default: i64| -> Result<i64> {
        match value {
            None => Ok(default),
            Some(v) if (lo..=hi).contains(&v) => Ok(v),
            Some(_) => Err(ctx.error(&key(k), format!("must be between {lo} and {hi}"))),
        }
    };
    settings.limit_cap = range("limit_cap", raw.limit_cap, 1, 500, 50)? as usize;
    let default_limit_default = (settings.default_limit as i64).min(settings.limit_cap as i64);
    settings.default_limit = match raw.default_limit {
        None => default_limit_default as usize,
        Some(v) if v >= 1 && v <= settings.limit_cap as i64 => v as usize,
        Some(_) => {
            return Err(ctx.error(
                &key("default_limit"),
                format!("must be between 1 and limit_cap ({})", settings.limit_cap),
            ));
        }
    };
    settings.text_cap = range("text_cap", raw.text_cap, 100, 1_000_000, 2000)? as usize;
    if let Some(allow) = raw.raw_call_allow {
        settings.raw_call_allow = allow
            .iter()
            .enumerate()
            .map(|(i, pattern)| {
                check_raw_call_pattern(&kind, pattern)
                    .map_err(|why| ctx.error(&format!("{}[{i}]", key("raw_call_allow")), why))
            })
            .collect::<Result<_>>()?;
    }
    let cache_ttl = Duration::from_secs(range(
        "cache_ttl_s",
        raw.cache_ttl_s,
        0,
        86_400,
        DEFAULT_CACHE_TTL.as_secs() as i64,
    )? as u64);

    let mut upstream = upstream_defaults(&kind);
    upstream.timeout = Duration::from_secs(range(
        "timeout_s",
        raw.timeout_s,
        1,
        600,
        upstream.timeout.as_secs() as i64,
    )? as u64);
    upstream.connect_timeout = Duration::from_secs(range(
        "connect_timeout_s",
        raw.connect_timeout_s,
        1,
        120,
        upstream.connect_timeout.as_secs() as i64,
    )? as u64);
    let rl = raw.rate_limit.unwrap_or_default();
    let rl_key = |k: &str| format!("rate_limit.{k}");
    let RawRateLimit {
        per_second,
        burst,
        max_wait_ms,
        max_concurrency,
    } = rl;
    upstream.rate_per_second = range(
        &rl_key("per_second"),
        per_second,
        1,
        10_000,
        upstream.rate_per_second.into(),
    )? as u32;
    upstream.burst = range(&rl_key("burst"), burst, 1, 10_000, upstream.burst.into())? as u32;
    upstream.max_wait = Duration::from_millis(range(
        &rl_key("max_wait_ms"),
        max_wait_ms,
        0,
        600_000,
        upstream.max_wait.as_millis() as i64,
    )? as u64);
    upstream.max_concurrency = range(
        &rl_key("max_concurrency"),
        max_concurrency,
        1,
        1024,
        upstream.max_concurrency as i64,
    )? as usize;
    Ok(Common {
        kind,
        shared_identity: raw.shared_identity.unwrap_or(false),
        settings,
        cache_ttl,
        upstream,
    })
}

/// Per-vendor upstream defaults (Bitrix24 allows 2 requests/s with a burst of 50).
pub fn upstream_defaults(kind: &str) -> UpstreamConfig {
    let mut upstream = UpstreamConfig::default();
    if kind == "bitrix24" {
        upstream.rate_per_second = 2;
        upstream.burst = 50;
    }
    upstream
}

/// A `raw_call_allow` entry: a method name, or a prefix ending in `*`, normalised by the
/// vendor's raw-method grammar (the form crm_call compares against); an entry that could
/// match no method is refused.
fn check_raw_call_pattern(kind: &str, pattern: &str) -> std::result::Result<String, String> {
    let p = pattern.trim();
    if p.is_empty() {
        return Err("is empty: list method names such as \"crm.deal.list\"".into());
    }
    if p == "*" {
        return Err(
            "\"*\" alone would allow every vendor method: list the methods, or a prefix such as \"crm.deal.*\""
                .into(),
        );
    }
    if p.chars().any(char::is_whitespace) {
        return Err(format!("{p:?} contains whitespace"));
    }
    if p.strip_suffix('*').unwrap_or(p).contains('*') {
        return Err(format!(
            "{p:?}: '*' may only end a prefix, as in \"crm.deal.*\""
        ));
    }
    match kind {
        "bitrix24" => crmgate_bitrix24::raw::allow_pattern(p),
        "espocrm" => crmgate_espocrm::raw::allow_pattern(p),
        _ => Ok(p.to_owned()),
    }
}

/// A TOML value's type, for messages that must not echo the value.
pub(crate) fn type_name(value: &toml::Value) -> &'static str {
    match value {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}
