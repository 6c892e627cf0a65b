//! The one error type every layer returns.
//!
//! A concrete struct with a `#[non_exhaustive]` code enum (globset's style) rather than one
//! variant per situation: every error, whatever produced it, must carry the same four things to
//! the agent — a stable machine code, a message, a suggestion saying what to do next, and
//! whether a retry can help. Constructors below keep call sites short and the wording uniform.

use serde::Serialize;
use std::fmt;

/// Stable machine codes. Their spelling (`SCREAMING_SNAKE_CASE`) is part of the public
/// interface: agents and scripts match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The record (or link, or action) does not exist.
    NotFound,
    /// The input is malformed or breaks a rule of the schema.
    Validation,
    /// No entity by that canonical or native name.
    UnknownEntity,
    /// No field by that name on the entity.
    UnknownField,
    /// A filter operator the backend cannot run and the gateway will not emulate.
    UnsupportedFilter,
    /// The credentials were refused.
    AuthFailed,
    /// The credentials are valid but may not do this.
    PermissionDenied,
    /// Too many requests; `retry_after_s` says when to try again.
    RateLimited,
    /// The CRM could not be reached or answered 5xx.
    UpstreamUnavailable,
    /// The CRM did not answer in time.
    UpstreamTimeout,
    /// The CRM answered something this gateway cannot understand.
    UpstreamProtocol,
    /// The record changed underneath the request.
    Conflict,
    /// The CRM found records that look like the one being created.
    Duplicate,
    /// A destructive call needs a confirm token first.
    ConfirmationRequired,
    /// The confirm token is forged, expired, or the record changed since the preview.
    StaleConfirmation,
    /// The operation is not allowed here (tier, capability, configuration).
    NotAllowed,
    /// The configuration is wrong.
    Config,
    /// A write may or may not have been applied (the connection broke or timed out after the
    /// request was sent, or the CRM failed while handling it). Never retryable: the message
    /// names the record or search that tells whether it happened.
    OutcomeUnknown,
    /// crmgate itself failed on this call (a bug reached by this input); the server carries on.
    Internal,
}

impl ErrorCode {
    /// The wire spelling, e.g. `NOT_FOUND`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Validation => "VALIDATION",
            ErrorCode::UnknownEntity => "UNKNOWN_ENTITY",
            ErrorCode::UnknownField => "UNKNOWN_FIELD",
            ErrorCode::UnsupportedFilter => "UNSUPPORTED_FILTER",
            ErrorCode::AuthFailed => "AUTH_FAILED",
            ErrorCode::PermissionDenied => "PERMISSION_DENIED",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::UpstreamUnavailable => "UPSTREAM_UNAVAILABLE",
            ErrorCode::UpstreamTimeout => "UPSTREAM_TIMEOUT",
            ErrorCode::UpstreamProtocol => "UPSTREAM_PROTOCOL",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::Duplicate => "DUPLICATE",
            ErrorCode::ConfirmationRequired => "CONFIRMATION_REQUIRED",
            ErrorCode::StaleConfirmation => "STALE_CONFIRMATION",
            ErrorCode::NotAllowed => "NOT_ALLOWED",
            ErrorCode::Config => "CONFIG",
            ErrorCode::OutcomeUnknown => "OUTCOME_UNKNOWN",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    /// Whether the same call may succeed if simply repeated later.
    pub fn default_retryable(self) -> bool {
        matches!(
            self,
            ErrorCode::RateLimited | ErrorCode::UpstreamUnavailable | ErrorCode::UpstreamTimeout
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as the agent sees it: `structuredContent.error`.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    /// Stable machine code.
    pub code: ErrorCode,
    /// What went wrong, in one sentence.
    pub message: String,
    /// What to do about it.
    pub suggestion: String,
    /// Whether repeating the same call later can succeed.
    pub retryable: bool,
    /// Seconds to wait before retrying, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
    /// Extra machine-readable detail (allowed values, duplicate matches, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// Result alias used across crmgate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with a code, message and suggestion; `retryable` follows the code.
    pub fn new(code: ErrorCode, message: impl Into<String>, suggestion: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            suggestion: suggestion.into(),
            retryable: code.default_retryable(),
            retry_after_s: None,
            details: None,
        }
    }

    /// Attach machine-readable detail.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Replace the suggestion.
    pub fn with_suggestion(mut self, suggestion: impl Into<String>) -> Self {
        self.suggestion = suggestion.into();
        self
    }

    /// Set `retry_after_s` (and mark the error retryable). An `OUTCOME_UNKNOWN` stays as it is:
    /// it is never retryable.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        if self.code == ErrorCode::OutcomeUnknown {
            return self;
        }
        self.retry_after_s = Some(seconds);
        self.retryable = true;
        self
    }

    /// `NOT_FOUND` for one record.
    pub fn not_found(entity: &str, id: &str) -> Self {
        Error::new(
            ErrorCode::NotFound,
            format!("no {entity} record with id {id:?}"),
            format!("check the id, or find the record with crm_search on {entity}"),
        )
    }

    /// `VALIDATION` with a suggestion.
    pub fn validation(message: impl Into<String>, suggestion: impl Into<String>) -> Self {
        Error::new(ErrorCode::Validation, message, suggestion)
    }

    /// `UNKNOWN_ENTITY`, listing what exists.
    pub fn unknown_entity(name: &str, known: &[String]) -> Self {
        let suggestion = match crate::text::did_you_mean(name, known.iter().map(String::as_str)) {
            Some(best) => format!("did you mean {best:?}? crm_entities lists every entity"),
            None => format!("use one of: {}", known.join(", ")),
        };
        Error::new(
            ErrorCode::UnknownEntity,
            format!("no entity named {name:?}"),
            suggestion,
        )
    }

    /// `UNKNOWN_FIELD` with a "did you mean".
    pub fn unknown_field<'a>(
        entity: &str,
        field: &str,
        known: impl IntoIterator<Item = &'a str> + Clone,
    ) -> Self {
        let suggestion = match crate::text::did_you_mean(field, known) {
            Some(best) => format!("did you mean {best:?}? crm_describe {entity} lists every field"),
            None => format!("crm_describe {entity} lists every field"),
        };
        Error::new(
            ErrorCode::UnknownField,
            format!("{entity} has no field {field:?}"),
            suggestion,
        )
    }

    /// `PERMISSION_DENIED`: the CRM supports this, but the caller's role lacks `permission`.
    pub fn permission_denied(message: impl Into<String>, permission: &str) -> Self {
        Error::new(
            ErrorCode::PermissionDenied,
            message,
            format!(
                "ask a CRM administrator to grant {permission} to the user crmgate acts as, or \
                 act on what this user may reach (crm_entities lists it)"
            ),
        )
        .with_details(serde_json::json!({ "permission": permission }))
    }

    /// `OUTCOME_UNKNOWN`: a write may have reached the CRM. `check` says how to find out.
    pub fn outcome_unknown(message: impl Into<String>, check: impl Into<String>) -> Self {
        Error::new(ErrorCode::OutcomeUnknown, message, check)
    }

    /// `NOT_ALLOWED` for an operation the backend or configuration does not offer.
    pub fn not_allowed(message: impl Into<String>, suggestion: impl Into<String>) -> Self {
        Error::new(ErrorCode::NotAllowed, message, suggestion)
    }

    /// `UPSTREAM_PROTOCOL`: the CRM answered something unexpected.
    pub fn upstream_protocol(message: impl Into<String>) -> Self {
        Error::new(
            ErrorCode::UpstreamProtocol,
            message,
            "the CRM answered in an unexpected shape; retrying will not help — report it with the CRM's version",
        )
    }

    /// `CONFIG`: one line naming the key and what is wrong.
    pub fn config(message: impl Into<String>) -> Self {
        Error::new(
            ErrorCode::Config,
            message,
            "fix the configuration file (config.example.toml documents every key)",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_stable_strings() {
        let e = Error::not_found("contacts", "42");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["code"], "NOT_FOUND");
        assert_eq!(v["retryable"], false);
        assert!(v.get("retry_after_s").is_none());
        assert_eq!(
            e.to_string(),
            "NOT_FOUND: no contacts record with id \"42\""
        );
    }

    #[test]
    fn retry_after_marks_retryable() {
        let e = Error::new(ErrorCode::Conflict, "x", "y").with_retry_after(3);
        assert!(e.retryable);
        assert_eq!(serde_json::to_value(&e).unwrap()["retry_after_s"], 3);
        assert!(Error::new(ErrorCode::RateLimited, "x", "y").retryable);
    }

    #[test]
    fn outcome_unknown_is_never_retryable() {
        let e = Error::outcome_unknown("the write may have been applied", "crm_get it");
        assert_eq!(e.code.as_str(), "OUTCOME_UNKNOWN");
        assert!(!e.retryable);
        let e = e.with_retry_after(5);
        assert!(!e.retryable && e.retry_after_s.is_none());
        assert_eq!(serde_json::to_value(&e).unwrap()["code"], "OUTCOME_UNKNOWN");
        let denied = Error::permission_denied("may not create", "Contact: create");
        assert_eq!(denied.code, ErrorCode::PermissionDenied);
        assert!(denied.suggestion.contains("Contact: create"));
    }

    #[test]
    fn unknown_field_suggests_nearest() {
        let e = Error::unknown_field("contacts", "emial", ["email", "phone", "first_name"]);
        assert_eq!(e.code, ErrorCode::UnknownField);
        assert!(e.suggestion.contains("\"email\""), "{}", e.suggestion);
    }
}
