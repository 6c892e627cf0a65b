//! Counters and latency histograms for `/metrics` (Prometheus text format), fed by every tool
//! call in hosted mode. Small and lock-light: one mutex-guarded map per family, touched once
//! per call.

use crmgate_core::meta::CallMeta;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Latency histogram bucket bounds, seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// What hosted mode reports at `/metrics`.
#[derive(Default)]
pub struct Metrics {
    calls: Mutex<BTreeMap<(String, String), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    upstream_calls: AtomicU64,
    upstream_errors: Mutex<BTreeMap<String, u64>>,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
    rate_limit_wait_us: AtomicU64,
    unauthorized: AtomicU64,
    refused_connections: AtomicU64,
    shared: std::sync::OnceLock<crmgate_shared::SharedState>,
}

impl Metrics {
    /// Record one tool call: `outcome` is `ok` or the error code.
    pub fn record_call(&self, tool: &str, outcome: &str, meta: &CallMeta) {
        let tool = if crate::tools::find(tool).is_some() {
            tool
        } else {
            "unknown"
        };
        *lock(&self.calls)
            .entry((tool.to_owned(), outcome.to_owned()))
            .or_default() += 1;
        {
            let mut latency = lock(&self.latency);
            let h = latency.entry(tool.to_owned()).or_default();
            let seconds = meta.duration_ms / 1000.0;
            for (i, bound) in BUCKETS.iter().enumerate() {
                if seconds <= *bound {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += seconds;
        }
        self.upstream_calls
            .fetch_add(meta.upstream_calls, Ordering::Relaxed);
        self.cache_hits
            .fetch_add(meta.cache_hits, Ordering::Relaxed);
        self.cache_misses
            .fetch_add(meta.cache_misses, Ordering::Relaxed);
        self.rate_limit_wait_us
            .fetch_add((meta.rate_limit_wait_ms * 1000.0) as u64, Ordering::Relaxed);
        if matches!(
            outcome,
            "UPSTREAM_UNAVAILABLE"
                | "UPSTREAM_TIMEOUT"
                | "UPSTREAM_PROTOCOL"
                | "RATE_LIMITED"
                | "AUTH_FAILED"
        ) {
            *lock(&self.upstream_errors)
                .entry(outcome.to_owned())
                .or_default() += 1;
        }
    }

    /// Count a request refused before MCP for want of a valid bearer.
    pub fn record_unauthorized(&self) {
        self.unauthorized.fetch_add(1, Ordering::Relaxed);
    }

    /// Count a connection closed at once: its address had too many open.
    pub fn record_refused_connection(&self) {
        self.refused_connections.fetch_add(1, Ordering::Relaxed);
    }

    /// Report the health of the shared state (budgets, blocks, rejected credentials).
    pub fn set_shared(&self, shared: crmgate_shared::SharedState) {
        let _ = self.shared.set(shared);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP crmgate_tool_calls_total Tool calls by tool and outcome (ok or error code).\n# TYPE crmgate_tool_calls_total counter\n");
        for ((tool, outcome), n) in lock(&self.calls).iter() {
            let _ = writeln!(
                out,
                "crmgate_tool_calls_total{{tool=\"{tool}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        out.push_str("# HELP crmgate_tool_call_duration_seconds Tool call latency.\n# TYPE crmgate_tool_call_duration_seconds histogram\n");
        for (tool, h) in lock(&self.latency).iter() {
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "crmgate_tool_call_duration_seconds_bucket{{tool=\"{tool}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "crmgate_tool_call_duration_seconds_bucket{{tool=\"{tool}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "crmgate_tool_call_duration_seconds_sum{{tool=\"{tool}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "crmgate_tool_call_duration_seconds_count{{tool=\"{tool}\"}} {}",
                h.count
            );
        }
        let counter = |out: &mut String, name: &str, help: &str, value: String| {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
            );
        };
        counter(
            &mut out,
            "crmgate_upstream_calls_total",
            "Requests sent to the CRM, retries included.",
            self.upstream_calls.load(Ordering::Relaxed).to_string(),
        );
        out.push_str("# HELP crmgate_upstream_errors_total Tool calls that failed because of the CRM, by code.\n# TYPE crmgate_upstream_errors_total counter\n");
        for (code, n) in lock(&self.upstream_errors).iter() {
            let _ = writeln!(out, "crmgate_upstream_errors_total{{code=\"{code}\"}} {n}");
        }
        counter(
            &mut out,
            "crmgate_cache_hits_total",
            "Metadata served from cache.",
            self.cache_hits.load(Ordering::Relaxed).to_string(),
        );
        counter(
            &mut out,
            "crmgate_cache_misses_total",
            "Metadata loaded from the CRM.",
            self.cache_misses.load(Ordering::Relaxed).to_string(),
        );
        counter(
            &mut out,
            "crmgate_rate_limit_wait_seconds_total",
            "Time spent waiting for the CRM rate limiter.",
            (self.rate_limit_wait_us.load(Ordering::Relaxed) as f64 / 1e6).to_string(),
        );
        counter(
            &mut out,
            "crmgate_http_unauthorized_total",
            "Requests refused for a missing or invalid bearer token.",
            self.unauthorized.load(Ordering::Relaxed).to_string(),
        );
        counter(
            &mut out,
            "crmgate_http_refused_connections_total",
            "Connections closed at once: their client address had max_connections_per_address open.",
            self.refused_connections.load(Ordering::Relaxed).to_string(),
        );
        if let Some(shared) = self.shared.get() {
            shared.health().write_prometheus(&mut out);
        }
        out
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        let meta = CallMeta {
            upstream_calls: 2,
            cache_hits: 1,
            cache_misses: 0,
            cache_age_s: None,
            rate_limit_wait_ms: 1.5,
            duration_ms: 3.0,
        };
        m.record_call("crm_search", "ok", &meta);
        m.record_call("crm_search", "UPSTREAM_TIMEOUT", &meta);
        m.record_call("made_up_tool", "NOT_FOUND", &meta);
        m.record_unauthorized();
        let text = m.render();
        assert!(
            text.contains("crmgate_tool_calls_total{tool=\"crm_search\",outcome=\"ok\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("crmgate_tool_calls_total{tool=\"unknown\",outcome=\"NOT_FOUND\"} 1"),
            "tool names are bounded"
        );
        assert!(text.contains(
            "crmgate_tool_call_duration_seconds_bucket{tool=\"crm_search\",le=\"0.005\"} 2"
        ));
        assert!(text.contains(
            "crmgate_tool_call_duration_seconds_bucket{tool=\"crm_search\",le=\"0.0025\"} 0"
        ));
        assert!(text.contains("crmgate_upstream_calls_total 6"));
        assert!(text.contains("crmgate_upstream_errors_total{code=\"UPSTREAM_TIMEOUT\"} 1"));
        assert!(text.contains("crmgate_http_unauthorized_total 1"));
    }
}
