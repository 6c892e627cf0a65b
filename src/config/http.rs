//! `[http]`: hosted mode (`crmgate serve --http ADDR`) — path, host and origin checks, limits,
//! the per-caller rate budget, and the OAuth protected-resource metadata.

use super::Ctx;
use crmgate_core::Result;
use serde::Deserialize;
use std::time::Duration;

/// `[http]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    /// Where MCP is served (default `/mcp`).
    pub path: Option<String>,
    /// `Host` values accepted (DNS-rebinding protection); default loopback names only.
    pub allowed_hosts: Option<Vec<String>>,
    /// Browser `Origin`s accepted; empty: requests with an Origin are refused.
    pub allowed_origins: Option<Vec<String>>,
    /// Largest request body, bytes.
    pub max_body_bytes: Option<i64>,
    /// Longest a request may take, seconds.
    pub request_timeout_s: Option<i64>,
    /// Longest a client may take to send a request head, seconds (slow-loris).
    pub header_read_timeout_s: Option<i64>,
    /// Connections one client address may hold open at once.
    pub max_connections_per_address: Option<i64>,
    /// Tool calls per second one caller may make (keyed by identity).
    pub per_caller_per_second: Option<i64>,
    /// Tool calls one caller may make in a burst.
    pub per_caller_burst: Option<i64>,
    /// OAuth authorization servers to name in the protected-resource metadata (RFC 9728).
    pub authorization_servers: Option<Vec<String>>,
    /// This server's public URL (the `resource` of RFC 9728), e.g. `https://crm.example.com/mcp`.
    pub resource: Option<String>,
}

/// `[http]` keys, for "did you mean".
pub const HTTP_KEYS: &[&str] = &[
    "path",
    "allowed_hosts",
    "allowed_origins",
    "max_body_bytes",
    "request_timeout_s",
    "header_read_timeout_s",
    "max_connections_per_address",
    "per_caller_per_second",
    "per_caller_burst",
    "authorization_servers",
    "resource",
];

/// Hosted-mode settings, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    /// Where MCP is served.
    pub path: String,
    /// Accepted `Host` values.
    pub allowed_hosts: Vec<String>,
    /// Accepted `Origin` values.
    pub allowed_origins: Vec<String>,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Longest a client may take to send a request head.
    pub header_read_timeout: Duration,
    /// Connections one client address may hold open at once.
    pub max_connections_per_address: usize,
    /// Sustained tool calls per second per caller.
    pub per_caller_per_second: u32,
    /// Burst of tool calls per caller.
    pub per_caller_burst: u32,
    /// Authorization servers for RFC 9728 metadata; empty: no metadata endpoint.
    pub authorization_servers: Vec<String>,
    /// This server's public URL.
    pub resource: Option<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            path: "/mcp".into(),
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            allowed_origins: Vec::new(),
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(60),
            header_read_timeout: Duration::from_secs(10),
            max_connections_per_address: 1024,
            per_caller_per_second: 20,
            per_caller_burst: 40,
            authorization_servers: Vec::new(),
            resource: None,
        }
    }
}

/// Validate `[http]`.
pub(crate) fn resolve(ctx: &Ctx, raw: RawHttp) -> Result<HttpSettings> {
    let mut http = HttpSettings::default();
    let range = |k: &str, value: Option<i64>, lo: i64, hi: i64, default: i64| -> Result<i64> {
        match value {
            None => Ok(default),
            Some(v) if (lo..=hi).contains(&v) => Ok(v),
            Some(_) => Err(ctx.error(
                &format!("http.{k}"),
                format!("must be between {lo} and {hi}"),
            )),
        }
    };
    if let Some(path) = raw.path {
        http.path = mcp_path(&path)
            .ok_or_else(|| ctx.error("http.path", "must be a path like \"/mcp\" or \"/crm/mcp\": segments of letters, digits, '-', '.', '_' and '~' after each '/'"))?;
    }
    if let Some(hosts) = raw.allowed_hosts {
        if hosts.iter().any(|h| h.trim().is_empty()) {
            return Err(ctx.error("http.allowed_hosts", "contains an empty host"));
        }
        http.allowed_hosts = hosts;
    }
    if let Some(origins) = raw.allowed_origins {
        if let Some(bad) = origins.iter().find(|o| !o.contains("://") && *o != "null") {
            return Err(ctx.error(
                "http.allowed_origins",
                format!(
                    "{} needs a scheme, e.g. \"https://app.example.com:443\"",
                    crmgate_core::config::shown(bad)
                ),
            ));
        }
        http.allowed_origins = origins;
    }
    http.max_body_bytes = range(
        "max_body_bytes",
        raw.max_body_bytes,
        1024,
        64 * 1024 * 1024,
        http.max_body_bytes as i64,
    )? as usize;
    http.request_timeout =
        Duration::from_secs(range("request_timeout_s", raw.request_timeout_s, 1, 3600, 60)? as u64);
    http.header_read_timeout = Duration::from_secs(range(
        "header_read_timeout_s",
        raw.header_read_timeout_s,
        1,
        600,
        10,
    )? as u64);
    http.max_connections_per_address = range(
        "max_connections_per_address",
        raw.max_connections_per_address,
        1,
        1_000_000,
        1024,
    )? as usize;
    http.per_caller_per_second = range(
        "per_caller_per_second",
        raw.per_caller_per_second,
        1,
        100_000,
        20,
    )? as u32;
    http.per_caller_burst = range("per_caller_burst", raw.per_caller_burst, 1, 100_000, 40)? as u32;
    if let Some(servers) = raw.authorization_servers {
        if let Some(bad) = servers
            .iter()
            .find(|s| !s.starts_with("https://") && !s.starts_with("http://"))
        {
            return Err(ctx.error(
                "http.authorization_servers",
                format!("{} is not an http(s) URL", crmgate_core::config::shown(bad)),
            ));
        }
        http.authorization_servers = servers;
    }
    if let Some(resource) = raw.resource {
        if !resource.starts_with("https://") && !resource.starts_with("http://") {
            return Err(ctx.error(
                "http.resource",
                "must be this server's public URL, e.g. \"https://crm.example.com/mcp\"",
            ));
        }
        http.resource = Some(resource);
    }
    Ok(http)
}

/// The MCP endpoint's path as served: `/` then non-empty segments of URL-unreserved characters
/// (RFC 3986), a trailing `/` dropped. Nothing else: the path becomes a route, where `{…}` or
/// `*` would be a parameter, and a dot segment would never match a normalised URL.
fn mcp_path(path: &str) -> Option<String> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let rest = path.strip_prefix('/')?;
    let segment_ok = |segment: &str| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
    };
    rest.split('/').all(segment_ok).then(|| path.to_owned())
}
