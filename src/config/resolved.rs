//! The validated configuration of the one CRM this process serves.

use super::Ctx;
use super::kind::{Kind, Vendor};
use super::raw::{RawCrm, RawRateLimit};
use super::secrets;
use crmgate_core::config::{ConfigProblem, VendorSection, shown};
use crmgate_core::gateway::{GatewaySettings, Tier};
use crmgate_core::upstream::UpstreamConfig;
use crmgate_core::{Error, Result};
use secrecy::SecretString;
use std::path::PathBuf;
use std::time::Duration;

/// Default metadata cache time to live.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(300);

/// The CRM this process serves, validated. Its vendor keys were read by the vendor crate's own
/// section type ([`ResolvedCrm::section`]); secrets are read from the environment only when
/// the backend is built.
#[derive(Debug)]
pub struct ResolvedCrm {
    /// The section name (`acme` for `[crm.acme]`; `demo` without a config file).
    pub name: String,
    /// Which backend.
    pub kind: Kind,
    /// Tier, caps and policies for the gateway.
    pub settings: GatewaySettings,
    /// HMAC key for confirm tokens shared by replicas; `None`: random per process.
    pub confirm_key: Option<SecretString>,
    /// Folder of `<prompt name>.md` files overriding the built-in prompts.
    pub prompts_dir: Option<PathBuf>,
    /// Metadata cache time to live.
    pub cache_ttl: Duration,
    /// Timeouts, rate limits and concurrency towards the CRM: the vendor's defaults adjusted
    /// by the common keys.
    pub upstream: UpstreamConfig,
    /// The section's vendor keys, typed by the vendor crate.
    pub vendor: Vendor,
    /// The file it came from; `None` for the built-in demo without a config file.
    pub source: Option<PathBuf>,
    /// Hosted mode may serve every caller with the configured credential.
    pub shared_identity: bool,
    /// Hosted-mode settings (`[http]`).
    pub http: super::http::HttpSettings,
    /// The change journal (`[journal]`).
    pub journal: crmgate_journal::JournalSettings,
    /// Shared state through Redis (`[redis]`); `None`: this process only.
    pub redis: Option<crmgate_shared::RedisSettings>,
}

impl ResolvedCrm {
    /// The built-in demo CRM with every default (no config file).
    pub fn demo() -> Self {
        ResolvedCrm {
            name: "demo".into(),
            kind: Kind::Demo,
            settings: GatewaySettings::default(),
            confirm_key: None,
            prompts_dir: None,
            cache_ttl: DEFAULT_CACHE_TTL,
            upstream: UpstreamConfig::default(),
            vendor: Vendor::Demo(Default::default()),
            source: None,
            shared_identity: false,
            http: Default::default(),
            journal: Default::default(),
            redis: None,
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

    /// A `CONFIG` error about `key` of this section (the section itself when empty), in the
    /// one-line format `config error in FILE: crm.NAME.KEY: WHAT`.
    pub fn error(&self, key: &str, what: impl std::fmt::Display) -> Error {
        let path = if key.is_empty() {
            self.key_path()
        } else {
            secrets::join(&self.key_path(), key)
        };
        self.ctx().error(&path, what)
    }

    /// A vendor crate's [`ConfigProblem`] as the one-line `CONFIG` error.
    pub fn problem(&self, problem: ConfigProblem) -> Error {
        self.error(&problem.key, problem.message)
    }

    /// The vendor's section, or an error when this binary was built without the vendor.
    pub fn section(&self) -> Result<&dyn VendorSection> {
        self.vendor.section().ok_or_else(|| {
            self.error(
                "kind",
                format!(
                    "kind \"{}\" is not built into this crmgate (it was compiled without the \
                     \"{}\" feature): install it with default features, or add --features {}",
                    self.kind, self.kind, self.kind
                ),
            )
        })
    }

    /// The keys of this section carrying one CRM user's credential.
    pub fn identity_keys(&self) -> Vec<&'static str> {
        self.vendor
            .section()
            .map(VendorSection::identity_keys)
            .unwrap_or_default()
    }

    /// The OAuth authorization server issuing this CRM's user tokens, when the section says.
    pub fn authorization_server(&self) -> Option<String> {
        self.vendor
            .section()
            .and_then(VendorSection::authorization_server)
    }
}

/// The common settings of one section, validated.
pub(crate) struct Common {
    pub shared_identity: bool,
    pub settings: GatewaySettings,
    pub cache_ttl: Duration,
    pub upstream: UpstreamConfig,
}

/// Validate the common keys of `[crm.NAME]` (ranges, tier, the crm_call allow-list) over the
/// vendor's upstream defaults and raw-method grammar.
pub(crate) fn resolve_common(
    ctx: &Ctx,
    name: &str,
    raw: RawCrm,
    vendor: Option<&dyn VendorSection>,
) -> Result<Common> {
    let mut upstream = vendor.map(|s| s.upstream_defaults()).unwrap_or_default();
    let prefix = format!("crm.{name}");
    let key = |k: &str| secrets::join(&prefix, k);
    let mut settings = GatewaySettings::default();
    if let Some(tier) = raw.tier {
        settings.tier = tier.parse::<Tier>().map_err(|why| {
            if crmgate_core::config::secret_shaped(&tier) {
                ctx.error(
                    &key("tier"),
                    "unknown tier (the value is not shown): use read, write or destructive",
                )
            } else {
                ctx.error(&key("tier"), why)
            }
        })?;
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
                check_raw_call_pattern(vendor, pattern)
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
        max_concurrency_per_caller,
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
    upstream.max_concurrency_per_caller = range(
        &rl_key("max_concurrency_per_caller"),
        max_concurrency_per_caller,
        1,
        1024,
        upstream.max_concurrency_per_caller as i64,
    )? as usize;
    Ok(Common {
        shared_identity: raw.shared_identity.unwrap_or(false),
        settings,
        cache_ttl,
        upstream,
    })
}

/// A `raw_call_allow` entry: a method name, or a prefix ending in `*`, normalised by the
/// vendor's raw-method grammar (the form crm_call compares against); an entry that could
/// match no method is refused.
fn check_raw_call_pattern(
    vendor: Option<&dyn VendorSection>,
    pattern: &str,
) -> std::result::Result<String, String> {
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
        return Err(format!("{} contains whitespace", shown(p)));
    }
    if p.strip_suffix('*').unwrap_or(p).contains('*') {
        return Err(format!(
            "{}: '*' may only end a prefix, as in \"crm.deal.*\"",
            shown(p)
        ));
    }
    match vendor {
        Some(section) => section.raw_call_pattern(p),
        None => Ok(p.to_owned()),
    }
}
