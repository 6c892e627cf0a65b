//! The sandbox's state: the database, Supabase Auth's users and sessions, signing keys, the
//! faults waiting to be served, and the log of every request that reached it.

use super::db::{Actor, Db, PgError};
use crate::jwt::{sign_hs256, user_claims};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// A Supabase Auth user of the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthUser {
    /// `auth.users.id`.
    pub id: String,
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// An answer the sandbox gives instead of the real one, for the next `times` matching requests.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// Only requests whose path starts with this (empty: all).
    pub path_prefix: String,
    /// HTTP status.
    pub status: u16,
    /// Body.
    pub body: String,
    /// `Retry-After` seconds.
    pub retry_after: Option<u64>,
    /// How many requests get it.
    pub times: u32,
    /// Wait this long first (with `status` 0: then answer for real — a hung Data API).
    pub delay: Option<std::time::Duration>,
    /// Close the connection instead of answering.
    pub drop: bool,
    /// Handle the request for real first (a write is applied), then answer with the fault.
    pub after_applying: bool,
}

impl Fault {
    /// `status` with a JSON error body, for `times` requests.
    pub fn status(status: u16, times: u32) -> Self {
        Fault {
            path_prefix: String::new(),
            status,
            body: json!({"message": format!("sandbox fault {status}")}).to_string(),
            retry_after: None,
            times,
            delay: None,
            drop: false,
            after_applying: false,
        }
    }

    /// Close the connection without an answer, for `times` requests.
    pub fn drop_connection(times: u32) -> Self {
        Fault {
            drop: true,
            ..Fault::status(0, times)
        }
    }

    /// Wait `delay`, then answer for real, for `times` requests.
    pub fn hang(delay: std::time::Duration, times: u32) -> Self {
        Fault {
            delay: Some(delay),
            ..Fault::status(0, times)
        }
    }

    /// Apply the request first, then answer with this fault instead of the real answer.
    pub fn after_applying(mut self) -> Self {
        self.after_applying = true;
        self
    }

    /// 429 with `Retry-After`.
    pub fn rate_limited(retry_after: u64, times: u32) -> Self {
        Fault {
            retry_after: Some(retry_after),
            body: json!({"message": "rate limit exceeded"}).to_string(),
            ..Fault::status(429, times)
        }
    }

    /// 200 with a body that is not JSON.
    pub fn malformed(times: u32) -> Self {
        Fault {
            body: "<html>upstream proxy error".into(),
            ..Fault::status(200, times)
        }
    }

    /// Only for paths starting with `prefix` (`/rest/v1/deals`, `/auth/v1/token`).
    pub fn on(mut self, prefix: &str) -> Self {
        self.path_prefix = prefix.into();
        self
    }
}

/// One request that reached the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Query string (decoded).
    pub query: String,
    /// Whether it carried `Authorization: Bearer`.
    pub bearer: bool,
}

/// Who a Data API request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// No user token.
    Anon,
    /// A signed-in user.
    User(String),
    /// The service role.
    Service,
}

/// Everything mutable.
#[derive(Debug)]
pub struct State {
    /// Tables.
    pub db: Db,
    /// Auth users.
    pub users: Vec<AuthUser>,
    /// Refresh token → user id.
    pub refresh_tokens: HashMap<String, String>,
    /// Waiting faults.
    pub faults: Vec<Fault>,
    /// Requests so far.
    pub log: Vec<LoggedRequest>,
    /// Lifetime of issued access tokens.
    pub token_lifetime: i64,
    /// Published asymmetric signing keys.
    pub jwks: Vec<Jwk>,
}

impl State {
    /// The fault for a request, consuming one use.
    pub fn take_fault(&mut self, path: &str) -> Option<Fault> {
        let i = self
            .faults
            .iter()
            .position(|f| path.starts_with(&f.path_prefix))?;
        let fault = self.faults[i].clone();
        if self.faults[i].times <= 1 {
            self.faults.remove(i);
        } else {
            self.faults[i].times -= 1;
        }
        Some(fault)
    }

    /// The database actor for a role.
    pub fn actor(&self, role: &Role) -> Actor {
        match role {
            Role::User(sub) => {
                let sales = self.db.sales_of(sub);
                Actor::User {
                    sales_id: sales.map(|s| s.0),
                    admin: sales.is_some_and(|s| s.1),
                }
            }
            _ => Actor::Owner,
        }
    }

    /// A new session for a user: access token, refresh token.
    pub fn session(&mut self, user: &AuthUser, secret: &SecretString, issuer: &str) -> Value {
        let claims = user_claims(issuer, &user.id, &user.email, self.token_lifetime);
        let access = sign_hs256(secret, &claims).unwrap_or_default();
        let refresh = format!("{:032x}", rand::random::<u128>());
        self.refresh_tokens.insert(refresh.clone(), user.id.clone());
        json!({
            "access_token": access,
            "token_type": "bearer",
            "expires_in": self.token_lifetime,
            "expires_at": claims["exp"],
            "refresh_token": refresh,
            "user": {"id": user.id, "aud": "authenticated", "role": "authenticated", "email": user.email}
        })
    }

    /// Verify a bearer token as PostgREST does: the HS256 secret or a published key.
    pub fn verify(
        &self,
        token: &str,
        secret: &SecretString,
    ) -> Result<Map<String, Value>, PgError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            PgError::new(
                401,
                "PGRST301",
                "JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got 1)",
            )
        })?;
        let key = match header.alg {
            Algorithm::HS256 => DecodingKey::from_secret(secret.expose_secret().as_bytes()),
            _ => {
                let jwk = header
                    .kid
                    .as_deref()
                    .and_then(|kid| {
                        self.jwks
                            .iter()
                            .find(|k| k.common.key_id.as_deref() == Some(kid))
                    })
                    .ok_or_else(|| {
                        PgError::new(401, "PGRST301", "No suitable key or wrong key type")
                    })?;
                DecodingKey::from_jwk(jwk)
                    .map_err(|_| PgError::new(401, "PGRST301", "JWSError JWSInvalidSignature"))?
            }
        };
        let mut validation = Validation::new(header.alg);
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    PgError::new(401, "PGRST303", "JWT expired")
                }
                _ => PgError::new(401, "PGRST301", "JWSError JWSInvalidSignature"),
            })
    }
}
