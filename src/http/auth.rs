//! Bearer identities: every request to `/mcp` must carry `Authorization: Bearer …`, which
//! becomes that request's identity in the CRM. A missing, malformed or refused token is a 401
//! with `WWW-Authenticate` before the MCP layer sees anything — initialize and tools/list
//! included. Tokens are never logged; the identity appears in logs as a short hash.

use super::credentials::{CredentialCheck, Verdict};
use crate::metrics::Metrics;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use crmgate_core::{Backend, CallContext};
use secrecy::SecretString;
use std::sync::Arc;

/// The identity a request acts as, attached by [`authorize`] for the MCP layer.
#[derive(Clone, Debug)]
pub struct Caller(pub CallContext);

/// What the bearer check needs.
#[derive(Clone)]
pub struct AuthState {
    /// Verifies tokens that can be checked locally (JWTs).
    pub backend: Arc<dyn Backend>,
    /// Serve every caller with the configured credential (their token only keys budgets).
    pub shared_identity: bool,
    /// Where the RFC 9728 metadata is, to name in `WWW-Authenticate`.
    pub resource_metadata: MetadataLocation,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Each token tried once against the CRM, the verdict kept (`None` with
    /// `shared_identity`: tokens only key budgets then).
    pub credentials: Option<CredentialCheck>,
}

/// Where the protected-resource metadata lives, if it is served.
#[derive(Clone, Debug)]
pub enum MetadataLocation {
    /// Not served (no authorization servers configured).
    None,
    /// At this absolute URL (derived from the configured public `resource`).
    Fixed(String),
    /// On this server under the request's own `Host`, for the MCP path given.
    FromHost(String),
}

impl MetadataLocation {
    fn url(&self, headers: &axum::http::HeaderMap) -> Option<String> {
        match self {
            MetadataLocation::None => None,
            MetadataLocation::Fixed(url) => Some(url.clone()),
            MetadataLocation::FromHost(path) => {
                let host = headers.get(header::HOST)?.to_str().ok()?;
                Some(format!(
                    "http://{host}/.well-known/oauth-protected-resource{path}"
                ))
            }
        }
    }
}

/// The longest bearer token accepted.
const MAX_TOKEN_LEN: usize = 8192;

/// Parse `Authorization: Bearer <token>` (RFC 6750 b64token syntax).
pub fn bearer_token(value: Option<&HeaderValue>) -> Result<SecretString, &'static str> {
    let value = value.ok_or("no Authorization header")?;
    let value = value
        .to_str()
        .map_err(|_| "the Authorization header is not ASCII")?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or("the Authorization header is not \"Bearer <token>\"")?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err("the Authorization scheme must be Bearer");
    }
    let token = token.trim();
    let valid = !token.is_empty()
        && token.len() <= MAX_TOKEN_LEN
        && token
            .trim_end_matches('=')
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    if !valid {
        return Err("the bearer token is malformed");
    }
    Ok(SecretString::from(token.to_owned()))
}

/// Check the request's bearer: attach its [`Caller`], or answer the refusal (401, or 503 when
/// the token could not be checked).
pub async fn authorize(state: &AuthState, request: &mut Request) -> Result<(), Response> {
    let token = match bearer_token(request.headers().get(header::AUTHORIZATION)) {
        Ok(token) => token,
        Err(why) => {
            let given = request.headers().contains_key(header::AUTHORIZATION);
            return Err(unauthorized(state, request.headers(), why, given));
        }
    };
    if let Err(e) = state.backend.verify_bearer(&token).await {
        use crmgate_core::ErrorCode::{UpstreamTimeout, UpstreamUnavailable};
        if matches!(e.code, UpstreamUnavailable | UpstreamTimeout) {
            // the token could not be checked (key set unreachable): not the caller's fault
            let body = serde_json::json!({"error": e});
            return Err((StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response());
        }
        return Err(unauthorized(state, request.headers(), &e.message, true));
    }
    let cx = if state.shared_identity {
        CallContext::configured_for(&token)
    } else {
        CallContext::bearer(token.clone())
    };
    if let Some(check) = &state.credentials {
        match check.check(&token, &cx).await {
            Verdict::Accepted | Verdict::Undecided => {}
            Verdict::Rejected(why) => {
                return Err(unauthorized(state, request.headers(), &why, true));
            }
            Verdict::Paused(left) => return Err(paused(left)),
        }
    }
    tracing::debug!(caller = cx.scope(), path = %request.uri().path(), "request");
    request.extensions_mut().insert(Caller(cx));
    Ok(())
}

/// `503` + `Retry-After`: too many refused credentials lately, unknown tokens wait.
fn paused(left: std::time::Duration) -> Response {
    let secs = left.as_secs_f64().ceil().max(1.0) as u64;
    let body = serde_json::json!({
        "error": {
            "code": "RATE_LIMITED",
            "message": "the CRM refused many credentials lately; new credentials are not tried for a while, so that failed logins cannot lock the CRM for everyone",
            "suggestion": format!("retry in {secs} s; check that the token is the right one"),
            "retry_after_s": secs,
        }
    });
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
}

fn unauthorized(
    state: &AuthState,
    headers: &axum::http::HeaderMap,
    why: &str,
    token_given: bool,
) -> Response {
    state.metrics.record_unauthorized();
    let mut challenge = "Bearer realm=\"crmgate\"".to_owned();
    if let Some(url) = state.resource_metadata.url(headers) {
        challenge.push_str(&format!(", resource_metadata=\"{url}\""));
    }
    if token_given {
        let description = why.replace(['"', '\\'], "'");
        challenge.push_str(&format!(
            ", error=\"invalid_token\", error_description=\"{description}\""
        ));
    }
    let body = serde_json::json!({
        "error": {
            "code": "AUTH_FAILED",
            "message": why,
            "suggestion": "send Authorization: Bearer <your CRM credential> with every request",
        }
    });
    let mut response = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn parse(v: &str) -> Result<String, &'static str> {
        bearer_token(Some(&HeaderValue::from_str(v).unwrap())).map(|t| t.expose_secret().to_owned())
    }

    #[test]
    fn parses_bearer_tokens_strictly() {
        assert_eq!(
            parse("Bearer abc.DEF-123_~+/=").unwrap(),
            "abc.DEF-123_~+/="
        );
        assert_eq!(parse("bearer xyz").unwrap(), "xyz");
        assert!(parse("Basic dXNlcjpwYXNz").is_err());
        assert!(parse("Bearer").is_err());
        assert!(parse("Bearer ").is_err());
        assert!(parse("Bearer two words").is_err());
        assert!(parse("Bearer a\"b").is_err());
        assert!(bearer_token(None).is_err());
    }
}
