//! [`UpstreamError`]: what the upstream layer hands back when a request produced no usable
//! answer — whether the request may have reached the CRM ([`Delivery`]), the CRM's own failed
//! answer when there was one (status, `Retry-After`, body), and the error crmgate reports unless
//! the backend, reading the vendor's body, knows better.

use super::UpstreamResponse;
use crate::Error;
use bytes::Bytes;
use reqwest::StatusCode;
use std::time::Duration;

/// Whether a failed request may have reached the CRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Provably not: refused before sending (rate limit, spent deadline, bad URL) or the
    /// connection never opened. Nothing happened upstream.
    NotSent,
    /// Sent, and no answer came (timed out, connection dropped): the CRM may have acted on it.
    Unknown,
    /// The CRM answered: see [`UpstreamError::answer`].
    Answered,
}

/// A request that produced no usable answer. `?` turns it into its [`Error`].
#[derive(Debug)]
pub struct UpstreamError {
    /// What crmgate reports by default: `OUTCOME_UNKNOWN` for a write that may have been
    /// applied, `RATE_LIMITED`, `UPSTREAM_UNAVAILABLE`, `UPSTREAM_TIMEOUT`, …
    pub error: Error,
    /// Whether the request may have reached the CRM.
    pub delivery: Delivery,
    /// The CRM's failed answer (429 or 5xx), body read and capped.
    pub answer: Option<UpstreamResponse>,
}

impl UpstreamError {
    /// A refusal before anything was sent.
    pub fn not_sent(error: Error) -> Self {
        UpstreamError {
            error,
            delivery: Delivery::NotSent,
            answer: None,
        }
    }

    /// A failed answer to a request that `wrote` (see [`UpstreamResponse::error_for`]).
    pub fn answered(response: UpstreamResponse, wrote: bool) -> Self {
        UpstreamError {
            error: response.error_for(wrote),
            delivery: Delivery::Answered,
            answer: Some(response),
        }
    }

    /// The failed answer's status.
    pub fn status(&self) -> Option<StatusCode> {
        self.answer.as_ref().map(|a| a.status)
    }

    /// The failed answer's `Retry-After`.
    pub fn retry_after(&self) -> Option<Duration> {
        self.answer.as_ref().and_then(UpstreamResponse::retry_after)
    }

    /// The failed answer's body.
    pub fn body(&self) -> Option<&Bytes> {
        self.answer.as_ref().map(|a| &a.body)
    }

    /// Whether the request provably never reached the CRM.
    pub fn not_sent_upstream(&self) -> bool {
        self.delivery == Delivery::NotSent
    }
}

impl From<UpstreamError> for Error {
    fn from(e: UpstreamError) -> Error {
        e.error
    }
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for UpstreamError {}
