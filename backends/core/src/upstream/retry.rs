//! The retry policy's arithmetic: what an attempt's outcome was, whether another attempt is
//! safe, how long to back off (exponential with full jitter), and how to read `Retry-After`.
//!
//! The safety rule lives in [`Failure::may_retry`]: an idempotent request may be repeated after
//! any transient failure, a write only when it provably never reached the server.

use crate::{Error, ErrorCode};
use rand::Rng;
use std::time::{Duration, SystemTime};

/// The longest single backoff between attempts, whatever the attempt number.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How an attempt that produced no usable response failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// The connection was never established: the request never left. Safe to repeat.
    Connect,
    /// Timed out or broke after the request may have reached the server.
    Transient,
    /// Could not even be built (invalid URL, header or query): never sent, repeating cannot
    /// help.
    Unsendable,
    /// An answer came but cannot be used, and repeating cannot help (oversized body, redirect
    /// loop).
    Fatal,
}

/// A failed attempt: its kind decides retrying, its error is what the caller gets.
#[derive(Debug)]
pub(crate) struct Failure {
    pub kind: FailureKind,
    pub error: Error,
}

impl Failure {
    /// Classify a reqwest error by kind only: its text may hold the URL and so a secret.
    /// `budget_s` is the call's whole budget, for the timeout message; `wrote` says whether the
    /// request was a write, whose outcome is unknown once it may have been sent.
    pub fn from_reqwest(err: reqwest::Error, budget_s: u64, wrote: bool) -> Self {
        let err = err.without_url();
        if err.is_connect() {
            let how = if err.is_timeout() {
                "timed out"
            } else {
                "failed"
            };
            return Failure {
                kind: FailureKind::Connect,
                error: Error::new(
                    ErrorCode::UpstreamUnavailable,
                    format!("could not connect to the CRM (connection {how}); nothing was sent"),
                    "check that the CRM is up and that url in the crmgate config points at it, \
                     then try again",
                ),
            };
        }
        if err.is_builder() {
            return Failure {
                kind: FailureKind::Unsendable,
                error: Error::config(
                    "could not build the request to the CRM (invalid URL, header or query)",
                ),
            };
        }
        if err.is_redirect() {
            return Failure {
                kind: FailureKind::Fatal,
                error: Error::upstream_protocol("the CRM redirected too many times"),
            };
        }
        let timed_out = err.is_timeout();
        let error = match (timed_out, wrote) {
            (true, true) => Error::outcome_unknown(
                format!(
                    "the CRM did not answer the write within {budget_s}s (this call's whole \
                     budget); it may or may not have been applied"
                ),
                "do not repeat the write blindly: read the record (or search for it) first to \
                 see whether the change is there",
            ),
            (true, false) => Error::new(
                ErrorCode::UpstreamTimeout,
                format!(
                    "the CRM did not answer within {budget_s}s (this call's whole budget, \
                     retries included)"
                ),
                "try again later, or ask for less (fewer records or fields)",
            ),
            (false, true) => Error::outcome_unknown(
                "the connection to the CRM broke after the write was sent; it may or may not \
                 have been applied",
                "do not repeat the write blindly: read the record (or search for it) first to \
                 see whether the change is there",
            ),
            (false, false) => Error::new(
                ErrorCode::UpstreamUnavailable,
                "the connection to the CRM broke during the request",
                "try again later",
            ),
        };
        Failure {
            kind: FailureKind::Transient,
            error,
        }
    }

    /// A failure that no retry can fix.
    pub fn fatal(error: Error) -> Self {
        Failure {
            kind: FailureKind::Fatal,
            error,
        }
    }

    /// Whether another attempt is safe: writes only if they never left.
    pub fn may_retry(&self, idempotent: bool) -> bool {
        match self.kind {
            FailureKind::Connect => true,
            FailureKind::Transient => idempotent,
            FailureKind::Fatal | FailureKind::Unsendable => false,
        }
    }
}

/// Backoff before retry number `retry` (1 for the first retry): a uniformly random duration in
/// `[0, min(MAX_BACKOFF, base * 2^(retry-1))]` ("full jitter").
pub(crate) fn backoff(base: Duration, retry: u32) -> Duration {
    let factor = 2u32.saturating_pow(retry.saturating_sub(1));
    let ceiling = base.saturating_mul(factor).min(MAX_BACKOFF);
    let micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
    Duration::from_micros(rand::rng().random_range(0..=micros))
}

/// Whole seconds for `retry_after_s`: rounded up, at least 1.
pub(crate) fn ceil_secs(duration: Duration) -> u64 {
    let secs = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    secs.max(1)
}

/// Parse a `Retry-After` value: delta-seconds (`"120"`) or an HTTP-date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`). A date in the past means "now" (zero).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-3"), None);
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after(""), None);
        let past = "Wed, 21 Oct 2015 07:28:00 GMT";
        assert_eq!(parse_retry_after(past), Some(Duration::ZERO));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        let parsed = parse_retry_after(&later).unwrap();
        assert!(parsed > Duration::from_secs(27) && parsed <= Duration::from_secs(30));
    }

    #[test]
    fn backoff_is_jittered_and_capped() {
        let base = Duration::from_millis(100);
        for retry in 1..=40 {
            let d = backoff(base, retry);
            let ceiling = (base * 2u32.saturating_pow(retry - 1)).min(MAX_BACKOFF);
            assert!(d <= ceiling, "retry {retry}: {d:?} > {ceiling:?}");
        }
        let spread: std::collections::HashSet<_> = (0..20).map(|_| backoff(base, 3)).collect();
        assert!(spread.len() > 1, "full jitter should vary");
    }

    #[test]
    fn seconds_round_up_to_at_least_one() {
        assert_eq!(ceil_secs(Duration::ZERO), 1);
        assert_eq!(ceil_secs(Duration::from_millis(1001)), 2);
        assert_eq!(ceil_secs(Duration::from_secs(3)), 3);
    }

    #[test]
    fn writes_retry_only_when_never_sent() {
        let f = |kind| Failure {
            kind,
            error: Error::upstream_protocol("x"),
        };
        assert!(f(FailureKind::Connect).may_retry(false));
        assert!(!f(FailureKind::Transient).may_retry(false));
        assert!(f(FailureKind::Transient).may_retry(true));
        assert!(!f(FailureKind::Fatal).may_retry(true));
    }
}
