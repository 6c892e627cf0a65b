//! Verifying Supabase access tokens: [`JwtVerifier`] checks the signature (the project's JWKS,
//! cached and refetched on an unknown `kid`, or a self-hosted stack's HS256 secret), expiry,
//! issuer, audience, and that the token is a signed-in user's (`role = "authenticated"`, a
//! `sub`). Both transports verify every token before using it as an identity; the hosted HTTP
//! layer calls the same verifier before the MCP layer.

use crate::timefmt::unix_now;
use crmgate_core::upstream::{Upstream, UpstreamRequest};
use crmgate_core::{CallContext, Error, ErrorCode, Result};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, RwLock};

/// How long a fetched JWKS is used before it is fetched again.
const JWKS_TTL: Duration = Duration::from_secs(600);
/// After a refetch triggered by an unknown `kid`, further unknown kids do not refetch for this
/// long (a flood of forged kids must not become a flood of requests to the auth server).
const UNKNOWN_KID_COOLDOWN: Duration = Duration::from_secs(30);
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_S: u64 = 10;

/// The verified claims of a Supabase access token.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    /// The user's id (`auth.users.id`, a UUID): what `auth.uid()` returns.
    pub sub: String,
    /// The database role the token asks for; always `authenticated` once verified.
    pub role: String,
    /// The user's email, when the token carries it.
    pub email: Option<String>,
    /// Expiry (Unix seconds).
    pub exp: u64,
    /// Every claim, as `request.jwt.claims` carries them to the database.
    pub raw: Map<String, Value>,
}

enum Keys {
    Secret(DecodingKey),
    Jwks(Box<JwksKeys>),
}

struct JwksKeys {
    url: String,
    upstream: Upstream,
    cache: RwLock<Option<(Instant, JwkSet)>>,
    fetch: Mutex<Option<Instant>>,
}

/// Verifies Supabase access tokens. Cheap to clone.
#[derive(Clone)]
pub struct JwtVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    keys: Keys,
    issuer: Option<String>,
    audience: String,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = match &self.inner.keys {
            Keys::Secret(_) => "HS256 secret".to_owned(),
            Keys::Jwks(j) => format!("JWKS {}", j.url),
        };
        f.debug_struct("JwtVerifier")
            .field("keys", &keys)
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .finish()
    }
}

impl JwtVerifier {
    /// Tokens signed with a self-hosted stack's (or a legacy project's) HS256 JWT secret.
    pub fn hs256(secret: &SecretString, issuer: Option<String>, audience: &str) -> Self {
        JwtVerifier::with_keys(
            Keys::Secret(DecodingKey::from_secret(secret.expose_secret().as_bytes())),
            issuer,
            audience,
        )
    }

    /// Tokens signed with the asymmetric keys published at `jwks_url`
    /// (`{supabase_url}/auth/v1/.well-known/jwks.json`), fetched through `upstream`.
    pub fn jwks(
        jwks_url: &str,
        issuer: Option<String>,
        audience: &str,
        upstream: Upstream,
    ) -> Self {
        JwtVerifier::with_keys(
            Keys::Jwks(Box::new(JwksKeys {
                url: jwks_url.to_owned(),
                upstream,
                cache: RwLock::new(None),
                fetch: Mutex::new(None),
            })),
            issuer,
            audience,
        )
    }

    fn with_keys(keys: Keys, issuer: Option<String>, audience: &str) -> Self {
        JwtVerifier {
            inner: Arc::new(Inner {
                keys,
                issuer: issuer.filter(|i| !i.trim().is_empty()),
                audience: audience.to_owned(),
            }),
        }
    }

    /// The issuer checked, if any.
    pub fn issuer(&self) -> Option<&str> {
        self.inner.issuer.as_deref()
    }

    /// Verify a token: signature, `exp`/`nbf`, `iss`, `aud`, a `sub`, and the
    /// `authenticated` role. Any failure is `AUTH_FAILED` saying why; a JWKS that cannot be
    /// fetched is the upstream layer's error (the token may be fine).
    pub async fn verify(&self, token: &str) -> Result<Claims> {
        let token = token.trim();
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| auth_failed("the access token is not a JWT"))?;
        let (key, algorithms) = match &self.inner.keys {
            Keys::Secret(key) => (key.clone(), vec![Algorithm::HS256]),
            Keys::Jwks(_)
                if matches!(
                    header.alg,
                    Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
                ) =>
            {
                // a legacy project's shared secret signed it; the JWKS never holds that secret
                return Err(Error::new(
                    ErrorCode::AuthFailed,
                    format!(
                        "Supabase access token refused: it is signed with {:?} (the project's \
                         shared JWT secret), and this server verifies tokens against the \
                         project's published signing keys (JWKS) only",
                        header.alg
                    ),
                    "set jwt_secret_env to the name of an environment variable holding the \
                     project's JWT secret (Supabase dashboard: Project Settings → JWT Keys → \
                     Legacy JWT secret), or move the project to asymmetric signing keys",
                ));
            }
            Keys::Jwks(jwks) => {
                let jwk = jwks.key_for(header.kid.as_deref()).await?;
                let alg = jwk_algorithm(&jwk).ok_or_else(|| {
                    auth_failed("the signing key in the JWKS has an unsupported algorithm")
                })?;
                let key = DecodingKey::from_jwk(&jwk)
                    .map_err(|_| auth_failed("the signing key in the JWKS is malformed"))?;
                (key, vec![alg])
            }
        };
        if !algorithms.contains(&header.alg) {
            return Err(auth_failed(&format!(
                "the token is signed with {:?}, but this server accepts {:?} only",
                header.alg, algorithms[0]
            )));
        }
        let mut validation = Validation::new(algorithms[0]);
        validation.leeway = LEEWAY_S;
        validation.validate_nbf = true;
        validation.set_audience(&[&self.inner.audience]);
        let mut required = vec!["exp", "sub", "aud"];
        if let Some(issuer) = &self.inner.issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        validation.set_required_spec_claims(&required);
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| self.explain(e))?;
        claims_from(data.claims)
    }

    fn explain(&self, error: jsonwebtoken::errors::Error) -> Error {
        use jsonwebtoken::errors::ErrorKind as K;
        let why = match error.kind() {
            K::ExpiredSignature => "the access token has expired".to_owned(),
            K::ImmatureSignature => "the access token is not valid yet (nbf)".to_owned(),
            K::InvalidSignature => {
                "the access token's signature is invalid (forged, or signed by another project)"
                    .to_owned()
            }
            K::InvalidIssuer => format!(
                "the access token was issued by another issuer (expected {})",
                self.inner.issuer.as_deref().unwrap_or("?")
            ),
            K::InvalidAudience => format!(
                "the access token is for another audience (expected {:?})",
                self.inner.audience
            ),
            K::MissingRequiredClaim(claim) => {
                format!("the access token has no {claim:?} claim")
            }
            K::InvalidAlgorithm => "the access token uses an unexpected algorithm".to_owned(),
            _ => "the access token is malformed".to_owned(),
        };
        auth_failed(&why)
    }
}

fn claims_from(raw: Map<String, Value>) -> Result<Claims> {
    let text = |k: &str| raw.get(k).and_then(Value::as_str).map(str::to_owned);
    let sub = text("sub").filter(|s| !s.is_empty()).ok_or_else(|| {
        auth_failed("the access token has no user id (sub); sign in as a CRM user")
    })?;
    let role = text("role").unwrap_or_default();
    if role != "authenticated" {
        return Err(auth_failed(&format!(
            "the token's role is {role:?}, not \"authenticated\": use a signed-in user's access \
             token (never the anon or service_role key)"
        )));
    }
    let exp = raw.get("exp").and_then(Value::as_u64).unwrap_or(0);
    Ok(Claims {
        sub,
        role,
        email: text("email"),
        exp,
        raw,
    })
}

impl JwksKeys {
    /// The key for `kid`: from the cache, or after a refetch when the cache is stale or does
    /// not know the kid (at most one unknown-kid refetch per cooldown).
    async fn key_for(&self, kid: Option<&str>) -> Result<Jwk> {
        if let Some((fetched, set)) = &*self.cache.read().await
            && fetched.elapsed() < JWKS_TTL
            && let Some(jwk) = pick(set, kid)
        {
            return Ok(jwk.clone());
        }
        let mut last_unknown = self.fetch.lock().await;
        // another caller may have refreshed while this one waited
        let stale = match &*self.cache.read().await {
            Some((fetched, set)) if fetched.elapsed() < JWKS_TTL => {
                if let Some(jwk) = pick(set, kid) {
                    return Ok(jwk.clone());
                }
                false
            }
            _ => true,
        };
        if !stale && last_unknown.is_some_and(|t| t.elapsed() < UNKNOWN_KID_COOLDOWN) {
            return Err(unknown_kid());
        }
        let set = self.fetch_set().await?;
        if !stale {
            *last_unknown = Some(Instant::now());
        }
        let found = pick(&set, kid).cloned();
        *self.cache.write().await = Some((Instant::now(), set));
        found.ok_or_else(unknown_kid)
    }

    async fn fetch_set(&self) -> Result<JwkSet> {
        let cx = CallContext::configured();
        let response = self
            .upstream
            .send(&cx, UpstreamRequest::get(&self.url))
            .await?;
        if !response.is_success() {
            let mut e = response.generic_error();
            e.message = format!(
                "could not fetch the project's signing keys (JWKS): {}",
                e.message
            );
            e.suggestion = "check supabase_url / jwks_url, and that the project uses asymmetric \
                            JWT signing keys (or configure jwt_secret_env for an HS256 secret)"
                .into();
            return Err(e);
        }
        response.json::<JwkSet>().map_err(|_| {
            Error::upstream_protocol("the JWKS document is not a valid JSON Web Key Set")
        })
    }
}

fn pick<'a>(set: &'a JwkSet, kid: Option<&str>) -> Option<&'a Jwk> {
    match kid {
        Some(kid) => set.find(kid),
        None if set.keys.len() == 1 => set.keys.first(),
        None => None,
    }
}

fn unknown_kid() -> Error {
    auth_failed("the access token is signed by a key the project does not publish (unknown kid)")
}

fn jwk_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    if let Some(alg) = jwk.common.key_algorithm {
        return alg.to_string().parse().ok();
    }
    match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::OctetKeyPair(_) => Some(Algorithm::EdDSA),
        _ => None,
    }
}

/// `AUTH_FAILED` with the reason and what to do.
pub(crate) fn auth_failed(why: &str) -> Error {
    Error::new(
        ErrorCode::AuthFailed,
        format!("Supabase access token refused: {why}"),
        "sign in again to get a fresh access token from this Supabase project (stdio: check \
         access_token_env, or email and password_env)",
    )
}

/// Sign `claims` with an HS256 secret (the sandbox and tests mint tokens with it).
pub fn sign_hs256(secret: &SecretString, claims: &Value) -> Result<String> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.expose_secret().as_bytes()),
    )
    .map_err(|_| Error::config("could not sign a JWT with the configured secret"))
}

/// The claims Supabase Auth puts in a user's access token, valid for `lifetime_s` seconds.
pub fn user_claims(issuer: &str, sub: &str, email: &str, lifetime_s: i64) -> Value {
    let now = unix_now() as i64;
    serde_json::json!({
        "iss": issuer,
        "sub": sub,
        "aud": "authenticated",
        "exp": now + lifetime_s,
        "iat": now,
        "email": email,
        "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": {},
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": now}],
        "session_id": format!("{:032x}", rand::random::<u128>()),
        "is_anonymous": false
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret() -> SecretString {
        SecretString::from("test-secret-with-at-least-32-characters!")
    }

    fn verifier() -> JwtVerifier {
        JwtVerifier::hs256(
            &secret(),
            Some("http://sb.test/auth/v1".into()),
            "authenticated",
        )
    }

    async fn refused(token: &str) -> String {
        let e = verifier().verify(token).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::AuthFailed);
        assert!(!e.message.contains(token));
        e.message
    }

    #[tokio::test]
    async fn accepts_a_user_token_and_keeps_every_claim() {
        let token = sign_hs256(
            &secret(),
            &user_claims("http://sb.test/auth/v1", "u-1", "a@b.c", 60),
        )
        .unwrap();
        let claims = verifier().verify(&token).await.unwrap();
        assert_eq!(claims.sub, "u-1");
        assert_eq!(claims.email.as_deref(), Some("a@b.c"));
        assert_eq!(claims.raw["aal"], "aal1");
    }

    #[tokio::test]
    async fn refuses_forged_expired_foreign_and_privileged_tokens() {
        let good = user_claims("http://sb.test/auth/v1", "u-1", "a@b.c", 60);
        let forged = sign_hs256(
            &SecretString::from("another-secret-of-32-characters!!!"),
            &good,
        )
        .unwrap();
        assert!(refused(&forged).await.contains("signature"));
        let mut expired = good.clone();
        expired["exp"] = json!(unix_now() - 120);
        assert!(
            refused(&sign_hs256(&secret(), &expired).unwrap())
                .await
                .contains("expired")
        );
        let mut issuer = good.clone();
        issuer["iss"] = json!("http://evil.test/auth/v1");
        assert!(
            refused(&sign_hs256(&secret(), &issuer).unwrap())
                .await
                .contains("issuer")
        );
        let mut audience = good.clone();
        audience["aud"] = json!("other");
        assert!(
            refused(&sign_hs256(&secret(), &audience).unwrap())
                .await
                .contains("audience")
        );
        let mut service = good.clone();
        service["role"] = json!("service_role");
        assert!(
            refused(&sign_hs256(&secret(), &service).unwrap())
                .await
                .contains("service_role")
        );
        let mut no_sub = good.clone();
        no_sub.as_object_mut().unwrap().remove("sub");
        assert!(
            refused(&sign_hs256(&secret(), &no_sub).unwrap())
                .await
                .contains("sub")
        );
        assert!(refused("not-a-jwt").await.contains("not a JWT"));
        // alg=none must never pass
        let header = base64_url(br#"{"alg":"none","typ":"JWT"}"#);
        let body = base64_url(good.to_string().as_bytes());
        assert_eq!(
            verifier()
                .verify(&format!("{header}.{body}."))
                .await
                .unwrap_err()
                .code,
            ErrorCode::AuthFailed
        );
    }

    fn base64_url(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }
}
