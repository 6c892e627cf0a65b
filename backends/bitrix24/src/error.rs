//! Bitrix24 errors → crmgate errors. Bitrix answers `{"error": CODE, "error_description":
//! TEXT}` with a status that depends on the code (and 400 when the core set none); legacy CRM
//! methods send an empty code with "Not found" / "Access denied." in the description, so both
//! are read. Inside `batch` a command's error has no status of its own: the code decides.
//!
//! Pure functions, no I/O. Messages never echo the request (a webhook URL holds its secret).

use crmgate_core::{Error, ErrorCode};
use serde_json::Value;

/// The portal's code for a method it does not have.
pub const METHOD_NOT_FOUND: &str = "ERROR_METHOD_NOT_FOUND";

/// Whether a mapped error is the portal's "no such method" ([`VendorError::is_method_missing`]),
/// not a missing record.
pub fn method_missing(error: &Error) -> bool {
    error
        .details
        .as_ref()
        .and_then(|d| d.get("bitrix_error"))
        .and_then(Value::as_str)
        == Some(METHOD_NOT_FOUND)
}

/// A Bitrix24 error as it came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorError {
    /// HTTP status, when the error came as a response (not a batch command).
    pub status: Option<u16>,
    /// `error` (may be empty for legacy CRM methods).
    pub code: String,
    /// `error_description`.
    pub description: String,
}

impl VendorError {
    /// Read an error body; `None` when it has no `error` key.
    pub fn parse(status: Option<u16>, body: &Value) -> Option<VendorError> {
        let code = body.get("error")?;
        Some(VendorError {
            status,
            code: match code {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => String::new(),
            },
            description: body
                .get("error_description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .chars()
                .take(300)
                .collect(),
        })
    }

    /// Whether this is a "not found" of any flavour.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.code.as_str(),
            "NOT_FOUND" | "OWNER_NOT_FOUND" | "ERROR_NOT_FOUND"
        ) || ((self.code.is_empty() || self.code == "ERROR_CORE")
            && self.description.to_lowercase().contains("not found"))
    }

    /// Whether the credential itself was refused (nothing of the call ran): the same for every
    /// method, so a run of calls stops at it.
    pub fn is_credential_failure(&self) -> bool {
        matches!(
            self.code.as_str(),
            "expired_token"
                | "invalid_token"
                | "NO_AUTH_FOUND"
                | "INVALID_CREDENTIALS"
                | "authorization_error"
                | "invalid_grant"
                | "invalid_client"
                | "INVALID_REQUEST"
        )
    }

    /// Whether the portal has no such method (`ERROR_METHOD_NOT_FOUND`, HTTP 404): no module
    /// installed on it provides the name.
    pub fn is_method_missing(&self) -> bool {
        self.code == METHOD_NOT_FOUND
    }

    /// The crmgate error for this vendor error, raised by `method`.
    pub fn to_error(&self, method: &str) -> Error {
        let code = self.code.as_str();
        let said = if self.description.is_empty() {
            if code.is_empty() {
                "no description".to_owned()
            } else {
                code.to_owned()
            }
        } else {
            self.description.clone()
        };
        let tag = if code.is_empty() {
            String::new()
        } else {
            format!("{code}: ")
        };
        let message = format!("Bitrix24 refused {method}: {tag}{said}");
        let desc = self.description.to_lowercase();
        match code {
            "expired_token" => Error::new(
                ErrorCode::AuthFailed,
                message,
                "the OAuth access token has expired (they live one hour): configure \
                 refresh_token_env, client_id and client_secret_env so crmgate renews it, or \
                 pass a fresh token",
            ),
            "invalid_token"
            | "NO_AUTH_FOUND"
            | "INVALID_CREDENTIALS"
            | "authorization_error"
            | "invalid_grant"
            | "invalid_client" => Error::new(
                ErrorCode::AuthFailed,
                message,
                "check the credential: an inbound webhook URL looks like \
                 https://PORTAL/rest/USER_ID/CODE/ (re-create the webhook if it was deleted); an \
                 OAuth token must belong to this portal and not be revoked",
            ),
            "insufficient_scope" | "invalid_scope" => Error::new(
                ErrorCode::PermissionDenied,
                message,
                format!(
                    "the webhook or app lacks the scope {method} needs ({}): edit the inbound \
                     webhook (Developer resources → Other → Inbound webhook) or the app, tick \
                     the scope, and save",
                    scope_of(method)
                ),
            ),
            "ACCESS_DENIED"
            | "user_access_error"
            | "allowed_only_intranet_user"
            | "METHOD_CONFIRM_WAITING"
            | "METHOD_CONFIRM_DENIED"
            | "WRONG_AUTH_TYPE"
            | "PAYMENT_REQUIRED"
            | "PORTAL_DELETED" => Error::new(
                ErrorCode::PermissionDenied,
                message,
                "the Bitrix24 user behind this credential may not do this: ask a portal \
                 administrator for CRM access rights on this entity (Settings → CRM → Access \
                 permissions), or use a webhook created by a user who has them",
            ),
            METHOD_NOT_FOUND => Error::new(
                ErrorCode::NotAllowed,
                format!("Bitrix24 has no REST method {method} ({METHOD_NOT_FOUND}: {said})"),
                "no module installed on this portal provides that method: check its name \
                 (apidocs.bitrix24.com; the portal's `methods` method lists what this credential \
                 can call), or the portal is older than the method — it is not a missing record",
            )
            .with_details(serde_json::json!({"bitrix_error": METHOD_NOT_FOUND, "method": method})),
            "QUERY_LIMIT_EXCEEDED" => Error::new(
                ErrorCode::RateLimited,
                message,
                "the portal's request bucket is full: wait a second and try again; batch reads \
                 (crm_get with several ids, larger limits) use fewer requests",
            )
            .with_retry_after(1),
            "OPERATION_TIME_LIMIT" => Error::new(
                ErrorCode::RateLimited,
                message,
                format!(
                    "Bitrix24 blocks {method} for this credential until its 10-minute \
                     operating-time budget resets; other methods still work"
                ),
            )
            .with_retry_after(60),
            "OVERLOAD_LIMIT" => Error::new(
                ErrorCode::UpstreamUnavailable,
                message,
                "a portal administrator has blocked REST access (overload): ask them to unblock \
                 it; retrying will not help until then",
            ),
            "INTERNAL_SERVER_ERROR" | "ERROR_UNEXPECTED_ANSWER" => Error::new(
                ErrorCode::UpstreamUnavailable,
                message,
                "Bitrix24 failed internally: try again later",
            ),
            "ERROR_BATCH_LENGTH_EXCEEDED" | "ERROR_BATCH_METHOD_NOT_ALLOWED" => Error::new(
                ErrorCode::Validation,
                message,
                "a batch takes at most 50 commands and no nested batch",
            ),
            "INVALID_REQUEST" => Error::new(
                ErrorCode::Config,
                message,
                "Bitrix24 requires https: fix the portal or webhook URL",
            ),
            _ if self.is_not_found() => Error::new(
                ErrorCode::NotFound,
                message,
                "check the id, or find the record with crm_search",
            ),
            _ if desc.contains("access denied") || desc.contains("permission") => Error::new(
                ErrorCode::PermissionDenied,
                message,
                "the Bitrix24 user behind this credential may not do this: ask a portal \
                 administrator for CRM access rights on this entity",
            ),
            _ if self.status.is_some_and(|s| s >= 500) => Error::new(
                ErrorCode::UpstreamUnavailable,
                message,
                "Bitrix24 failed: try again later",
            ),
            _ => {
                let field = field_in(&self.description);
                let suggestion = match &field {
                    Some(f) => format!(
                        "fix the value of {f:?}; crm_describe lists the fields, their types and \
                         allowed values"
                    ),
                    None => "check the field values against crm_describe and try again".into(),
                };
                let error = Error::new(ErrorCode::Validation, message, suggestion);
                match field {
                    Some(f) => error.with_details(serde_json::json!({"field": f})),
                    None => error,
                }
            }
        }
    }
}

/// The webhook scope a method needs, for the permission hint.
pub fn scope_of(method: &str) -> &'static str {
    let m = method.to_ascii_lowercase();
    if m.starts_with("user.") {
        "user or user_brief"
    } else if m.starts_with("tasks.") || m.starts_with("task.") {
        "task"
    } else if m.starts_with("voximplant.") || m.starts_with("telephony.") {
        "telephony"
    } else if m.starts_with("crm.") {
        "crm"
    } else {
        "the method's module"
    }
}

/// The field a validation message names, from `field 'X'`, `"X"` or `Field X`.
fn field_in(description: &str) -> Option<String> {
    for quote in ['\'', '"', '`'] {
        let mut parts = description.split(quote);
        parts.next()?;
        if let Some(inner) = parts.next() {
            let inner = inner.trim();
            if !inner.is_empty() && inner.len() < 64 && !inner.contains(' ') {
                return Some(inner.to_owned());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn classify(status: u16, body: Value) -> Error {
        VendorError::parse(Some(status), &body)
            .unwrap()
            .to_error("crm.item.get")
    }

    #[test]
    fn documented_codes_map_to_crmgate_codes() {
        let cases = [
            (
                401,
                json!({"error": "expired_token", "error_description": "The access token provided has expired"}),
                ErrorCode::AuthFailed,
            ),
            (
                401,
                json!({"error": "invalid_token"}),
                ErrorCode::AuthFailed,
            ),
            (
                401,
                json!({"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"}),
                ErrorCode::AuthFailed,
            ),
            (
                403,
                json!({"error": "INVALID_CREDENTIALS", "error_description": "Invalid request credentials"}),
                ErrorCode::AuthFailed,
            ),
            (
                403,
                json!({"error": "insufficient_scope"}),
                ErrorCode::PermissionDenied,
            ),
            (
                401,
                json!({"error": "insufficient_scope"}),
                ErrorCode::PermissionDenied,
            ),
            (
                400,
                json!({"error": "ACCESS_DENIED", "error_description": "You do not have permission to view this item"}),
                ErrorCode::PermissionDenied,
            ),
            (
                404,
                json!({"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}),
                ErrorCode::NotAllowed,
            ),
            (
                400,
                json!({"error": "NOT_FOUND", "error_description": "Item not found"}),
                ErrorCode::NotFound,
            ),
            (
                400,
                json!({"error": "", "error_description": "Not found"}),
                ErrorCode::NotFound,
            ),
            (
                400,
                json!({"error": "ERROR_CORE", "error_description": "Element not found"}),
                ErrorCode::NotFound,
            ),
            (
                400,
                json!({"error": "", "error_description": "Access denied."}),
                ErrorCode::PermissionDenied,
            ),
            (
                503,
                json!({"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}),
                ErrorCode::RateLimited,
            ),
            (
                429,
                json!({"error": "OPERATION_TIME_LIMIT"}),
                ErrorCode::RateLimited,
            ),
            (
                500,
                json!({"error": "INTERNAL_SERVER_ERROR"}),
                ErrorCode::UpstreamUnavailable,
            ),
            (
                500,
                json!({"error": "ERROR_CORE", "error_description": "SQL error"}),
                ErrorCode::UpstreamUnavailable,
            ),
        ];
        for (status, body, code) in cases {
            let e = classify(status, body.clone());
            assert_eq!(e.code, code, "{body}");
            assert!(!e.suggestion.is_empty());
        }
    }

    #[test]
    fn a_missing_method_is_not_a_missing_record() {
        let body =
            json!({"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"});
        let vendor = VendorError::parse(Some(404), &body).unwrap();
        assert!(vendor.is_method_missing() && !vendor.is_not_found());
        let e = vendor.to_error("crm.item.get");
        assert_ne!(e.code, ErrorCode::NotFound);
        assert!(
            e.message.contains("no REST method crm.item.get"),
            "{}",
            e.message
        );
        assert!(method_missing(&e));
        assert!(!method_missing(&classify(
            400,
            json!({"error": "NOT_FOUND"})
        )));
    }

    #[test]
    fn validation_names_the_field() {
        let e = classify(
            400,
            json!({"error": "INVALID_ARG_VALUE", "error_description": "Invalid filter: field 'foo' is not allowed in filter"}),
        );
        assert_eq!(e.code, ErrorCode::Validation);
        assert_eq!(e.details.unwrap()["field"], "foo");
        assert!(e.suggestion.contains("\"foo\""));
    }

    #[test]
    fn scope_hint_names_the_scope() {
        let e = VendorError::parse(Some(403), &json!({"error": "insufficient_scope"}))
            .unwrap()
            .to_error("user.get");
        assert!(e.suggestion.contains("user"), "{}", e.suggestion);
    }
}
