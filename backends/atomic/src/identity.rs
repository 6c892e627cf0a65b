//! Who a call acts for. Hosted mode: the request's bearer token. stdio: the configured access
//! token, or a session signed in with email and password at Supabase Auth
//! (`/auth/v1/token?grant_type=password`) and refreshed before it expires. Whatever its origin,
//! a token is verified ([`JwtVerifier`]) before it becomes an identity, and the two sources are
//! never mixed: a bearer call never falls back to the configured identity.

use crate::jwt::{JwtVerifier, auth_failed};
use crate::store::Caller;
use crate::timefmt::unix_now;
use crmgate_core::upstream::{Upstream, UpstreamRequest};
use crmgate_core::{CallContext, Error, ErrorCode, Identity, Result};
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;

/// Refresh a signed-in session this long before its token expires.
const REFRESH_MARGIN_S: u64 = 60;

/// The stdio identity.
pub(crate) enum Configured {
    None,
    Token(SecretString),
    Password(Box<PasswordSession>),
}

/// Resolves and verifies callers.
pub(crate) struct Identities {
    pub verifier: JwtVerifier,
    pub configured: Configured,
}

impl Identities {
    /// The verified caller of a call.
    pub async fn caller(&self, cx: &CallContext) -> Result<Caller> {
        let token = match cx.identity() {
            Identity::Bearer(token) => token.clone(),
            Identity::Configured => match &self.configured {
                Configured::Token(token) => token.clone(),
                Configured::Password(session) => session.token().await?,
                Configured::None => {
                    return Err(Error::new(
                        ErrorCode::AuthFailed,
                        "no Atomic CRM identity is configured",
                        "set access_token_env, or email and password_env, in the [crm] section \
                         (hosted mode brings each caller's own token instead)",
                    ));
                }
            },
        };
        let claims = self.verifier.verify(token.expose_secret()).await?;
        Ok(Caller { token, claims })
    }
}

/// A Supabase Auth session for email + password sign-in.
pub(crate) struct PasswordSession {
    auth_url: String,
    anon_key: SecretString,
    email: String,
    password: SecretString,
    upstream: Upstream,
    state: Mutex<Option<Session>>,
}

struct Session {
    access: SecretString,
    refresh: Option<SecretString>,
    expires_at: u64,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    expires_at: Option<u64>,
}

impl PasswordSession {
    pub fn new(
        auth_url: String,
        anon_key: SecretString,
        email: String,
        password: SecretString,
        upstream: Upstream,
    ) -> Self {
        PasswordSession {
            auth_url,
            anon_key,
            email,
            password,
            upstream,
            state: Mutex::new(None),
        }
    }

    /// A token valid for at least the refresh margin: the current one, a refreshed one, or
    /// one from a new sign-in.
    async fn token(&self) -> Result<SecretString> {
        let mut state = self.state.lock().await;
        let now = unix_now();
        if let Some(session) = &*state
            && session.expires_at > now + REFRESH_MARGIN_S
        {
            return Ok(session.access.clone());
        }
        let refreshed = match state.as_ref().and_then(|s| s.refresh.clone()) {
            Some(refresh) => self
                .grant(
                    "refresh_token",
                    json!({"refresh_token": refresh.expose_secret()}),
                )
                .await
                .ok(),
            None => None,
        };
        let session = match refreshed {
            Some(session) => {
                tracing::debug!("refreshed the Supabase Auth session");
                session
            }
            None => self
                .grant(
                    "password",
                    json!({"email": self.email, "password": self.password.expose_secret()}),
                )
                .await
                .inspect(|_| tracing::debug!("signed in to Supabase Auth"))?,
        };
        let token = session.access.clone();
        *state = Some(session);
        Ok(token)
    }

    async fn grant(&self, grant_type: &str, body: serde_json::Value) -> Result<Session> {
        let mut apikey = HeaderValue::from_str(self.anon_key.expose_secret())
            .map_err(|_| Error::config("anon_key is not a valid header value"))?;
        apikey.set_sensitive(true);
        let request = UpstreamRequest::post(format!("{}/token", self.auth_url))
            .query("grant_type", grant_type)
            .header(HeaderName::from_static("apikey"), apikey)
            .json(body);
        let response = self
            .upstream
            .send(&CallContext::configured(), request)
            .await?;
        if !response.is_success() {
            return Err(sign_in_error(
                response.status.as_u16(),
                &response.body,
                grant_type,
            ));
        }
        let token: TokenResponse = response.json()?;
        let expires_at = token
            .expires_at
            .or_else(|| token.expires_in.map(|s| unix_now() + s))
            .unwrap_or_else(|| unix_now() + 3600);
        Ok(Session {
            access: SecretString::from(token.access_token),
            refresh: token.refresh_token.map(SecretString::from),
            expires_at,
        })
    }
}

/// Supabase Auth's refusal (`{"code":400,"error_code":"invalid_credentials","msg":…}`, or
/// `{"error":"invalid_grant","error_description":…}` on older versions).
fn sign_in_error(status: u16, body: &[u8], grant_type: &str) -> Error {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let code = value["error_code"]
        .as_str()
        .or_else(|| value["error"].as_str())
        .unwrap_or("");
    match (status, code) {
        (429, _) => Error::new(
            ErrorCode::RateLimited,
            "Supabase Auth is rate-limiting sign-ins",
            "wait a minute and try again",
        )
        .with_retry_after(60),
        (400 | 401 | 403 | 422, "email_not_confirmed") => Error::new(
            ErrorCode::AuthFailed,
            "sign-in refused: the user's email is not confirmed",
            "confirm the email (or have an Atomic CRM admin do it), then try again",
        ),
        (400 | 401 | 403 | 422, "user_banned") => Error::new(
            ErrorCode::AuthFailed,
            "sign-in refused: the user is disabled in Atomic CRM",
            "ask an Atomic CRM administrator to enable the user",
        ),
        (400 | 401 | 403 | 422, _) if grant_type == "password" => Error::new(
            ErrorCode::AuthFailed,
            "sign-in refused: invalid email or password",
            "check email and the password in password_env for this Atomic CRM user",
        ),
        (401, _) => auth_failed("Supabase Auth refused the API key or the refresh token"),
        (400 | 403 | 422, _) => auth_failed("the session could not be refreshed"),
        _ => {
            let mut e = Error::new(
                ErrorCode::UpstreamUnavailable,
                format!("Supabase Auth failed (HTTP {status})"),
                "try again later",
            );
            if status < 500 {
                e.code = ErrorCode::UpstreamProtocol;
            }
            e
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_refusals_are_explained() {
        let fixtures: serde_json::Value =
            serde_json::from_str(include_str!("../tests/fixtures/postgrest_errors.json")).unwrap();
        let body = fixtures["signin_invalid"]["body"].to_string();
        let e = sign_in_error(400, body.as_bytes(), "password");
        assert_eq!(e.code, ErrorCode::AuthFailed);
        assert!(e.suggestion.contains("password_env"));
        let body = fixtures["refresh_not_found"]["body"].to_string();
        assert_eq!(
            sign_in_error(400, body.as_bytes(), "refresh_token").code,
            ErrorCode::AuthFailed
        );
        assert!(
            sign_in_error(400, br#"{"error_code":"email_not_confirmed"}"#, "password")
                .message
                .contains("confirmed")
        );
        assert_eq!(sign_in_error(429, b"", "password").retry_after_s, Some(60));
        assert_eq!(
            sign_in_error(500, b"", "password").code,
            ErrorCode::UpstreamUnavailable
        );
    }
}
