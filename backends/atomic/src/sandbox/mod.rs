//! An in-process fake of the Supabase project behind Atomic CRM: the Data API (PostgREST's
//! filters, logic trees, ranges and counts, `Prefer`, singular responses, its error bodies),
//! Supabase Auth's token endpoint (password and refresh grants) and JWKS, the API gateway's key
//! check, and a database that behaves like Atomic CRM's (types, constraints, triggers, views,
//! policies). Tests start it on `127.0.0.1:0`, inject faults, and count what reached it.
//!
//! - `schema`: the tables it pretends to have. `db`: rows, constraints, triggers, policies.
//! - `query`: PostgREST's query language; `eval`: applying it to rows. `handlers`: the endpoints. `state`: users,
//!   sessions, keys, faults, the request log. `seed`: the same data as `tests/sql/seed.sql`.

mod db;
mod eval;
mod handlers;
mod query;
mod schema;
mod seed;
mod state;
mod values;

pub use seed::{ALICE_PASSWORD, BOB_PASSWORD};
pub use state::{Fault, LoggedRequest};

use crate::config::{AtomicConfig, Credential, Transport, Verification};
use crate::jwt::{sign_hs256, user_claims};
use crate::testkit::TestUser;
use axum::Router;
use axum::extract::{Request, State as AxumState};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use state::State;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use tokio::task::JoinHandle;

/// The HS256 secret the sandbox signs and verifies tokens with.
pub const SANDBOX_JWT_SECRET: &str = "crmgate-sandbox-jwt-secret-0123456789abcdef";

pub(crate) struct Shared {
    state: Mutex<State>,
    secret: SecretString,
    anon_key: String,
    base: OnceLock<String>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn issuer(&self) -> String {
        format!(
            "{}/auth/v1",
            self.base.get().map(String::as_str).unwrap_or("")
        )
    }
}

/// A running sandbox. Stops when dropped.
pub struct Sandbox {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Sandbox {
    /// Start on `127.0.0.1:0` (any free port).
    pub async fn start() -> std::io::Result<Sandbox> {
        Sandbox::start_on(0).await
    }

    /// Start on `127.0.0.1:port`.
    pub async fn start_on(port: u16) -> std::io::Result<Sandbox> {
        let secret = SecretString::from(SANDBOX_JWT_SECRET);
        let anon_claims =
            serde_json::json!({"iss": "supabase-demo", "role": "anon", "exp": 4_102_444_800u64});
        let anon_key = sign_hs256(&secret, &anon_claims).unwrap_or_default();
        let (users, db) = seed::seed();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                db,
                users,
                refresh_tokens: Default::default(),
                faults: Vec::new(),
                log: Vec::new(),
                token_lifetime: 3600,
                jwks: Vec::new(),
            }),
            secret,
            anon_key,
            base: OnceLock::new(),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let _ = shared.base.set(format!("http://{addr}"));
        let app = Router::new()
            .route("/rest/v1/", get(handlers::openapi))
            .route("/rest/v1/{relation}", any(handlers::rest))
            .route("/auth/v1/token", post(handlers::token))
            .route("/auth/v1/.well-known/jwks.json", get(handlers::jwks))
            .layer(middleware::from_fn_with_state(
                shared.clone(),
                log_and_faults,
            ))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Sandbox { shared, addr, task })
    }

    /// `http://127.0.0.1:PORT`: the project URL (`supabase_url`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The project's anon key.
    pub fn anon_key(&self) -> SecretString {
        SecretString::from(self.shared.anon_key.clone())
    }

    /// The HS256 JWT secret.
    pub fn jwt_secret(&self) -> SecretString {
        self.shared.secret.clone()
    }

    /// The issuer of its tokens (`{url}/auth/v1`).
    pub fn issuer(&self) -> String {
        self.shared.issuer()
    }

    /// An access token for a seeded user, valid `lifetime_s` seconds.
    pub fn token(&self, user: TestUser, lifetime_s: i64) -> SecretString {
        let claims = user_claims(&self.issuer(), user.id(), user.email(), lifetime_s);
        SecretString::from(sign_hs256(&self.shared.secret, &claims).unwrap_or_default())
    }

    /// A postgrest-transport configuration for this sandbox (HS256 verification).
    pub fn config(&self, credential: Credential) -> AtomicConfig {
        let mut config = AtomicConfig::new(Transport::Postgrest);
        config.supabase_url = Some(self.url());
        config.anon_key = Some(self.anon_key());
        config.verification = Some(Verification::Hs256(self.jwt_secret()));
        config.credential = credential;
        config.app_url = Some("https://crm.example.test".into());
        // tests talk to it fast; retries back off briefly
        config.upstream.base_backoff = std::time::Duration::from_millis(10);
        config.upstream.rate_per_second = 1000;
        config.upstream.burst = 1000;
        config
    }

    /// Serve `fault` to the next matching requests.
    pub fn inject(&self, fault: Fault) {
        self.shared.lock().faults.push(fault);
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.lock().log.clone()
    }

    /// How many requests reached the sandbox.
    pub fn request_count(&self) -> usize {
        self.shared.lock().log.len()
    }

    /// Forget the requests so far.
    pub fn clear_log(&self) {
        self.shared.lock().log.clear();
    }

    /// Lifetime of access tokens the auth endpoint issues from now on.
    pub fn set_token_lifetime(&self, seconds: i64) {
        self.shared.lock().token_lifetime = seconds;
    }

    /// Publish a new ES256 signing key under `kid` in the JWKS; returns a signer for it.
    pub fn add_signing_key(&self, kid: &str) -> EncodingKey {
        let pair = aws_lc_rs::signature::EcdsaKeyPair::generate(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        )
        .and_then(|p| p.to_pkcs8v1())
        .map(|doc| doc.as_ref().to_vec())
        .unwrap_or_default();
        let key = EncodingKey::from_ec_der(&pair);
        if let Ok(mut jwk) = Jwk::from_encoding_key(&key, Algorithm::ES256) {
            jwk.common.key_id = Some(kid.into());
            self.shared.lock().jwks.push(jwk);
        }
        key
    }

    /// An access token for a user, signed with an ES256 key published (or not) under `kid`.
    pub fn token_es256(
        &self,
        key: &EncodingKey,
        kid: &str,
        user: TestUser,
        lifetime_s: i64,
    ) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.into());
        let claims = user_claims(&self.issuer(), user.id(), user.email(), lifetime_s);
        jsonwebtoken::encode(&header, &claims, key).unwrap_or_default()
    }

    /// Read a row of a table (for tests).
    pub fn row(&self, table: &str, id: i64) -> Option<Value> {
        self.shared
            .lock()
            .db
            .get(table, id)
            .cloned()
            .map(Value::Object)
    }

    /// Set the `configuration` row's `config` (for tests).
    pub fn set_configuration(&self, config: Value) {
        let mut state = self.shared.lock();
        let mut patch = serde_json::Map::new();
        patch.insert("config".into(), config);
        let _ = state
            .db
            .update(db::Actor::Owner, "configuration", &[1], &patch);
    }

    /// Print where it listens and the test credentials, then serve until Ctrl-C.
    pub async fn run_until_ctrl_c(self) {
        eprintln!("listening on {}", self.url());
        eprintln!("  supabase_url   = {}", self.url());
        eprintln!("  anon key       = {}", self.shared.anon_key);
        eprintln!("  jwt secret     = {}", self.shared.secret.expose_secret());
        eprintln!(
            "  users          = {} / {ALICE_PASSWORD} (administrator), {} / {BOB_PASSWORD}",
            TestUser::Alice.email(),
            TestUser::Bob.email()
        );
        eprintln!(
            "  access token   = {} (Alice, 24 h)",
            self.token(TestUser::Alice, 86_400).expose_secret()
        );
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Log every request; answer with a waiting fault instead, if one matches.
async fn log_and_faults(
    AxumState(shared): AxumState<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or("").to_owned();
    let query = percent_encoding::percent_decode_str(&query.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned();
    let bearer = request.headers().get("authorization").is_some();
    let fault = {
        let mut state = shared.lock();
        state.log.push(LoggedRequest {
            method: request.method().to_string(),
            path: path.clone(),
            query,
            bearer,
        });
        state.take_fault(&path)
    };
    let Some(fault) = fault else {
        return next.run(request).await;
    };
    let mut pending = Some((next, request));
    let mut real = None;
    if fault.after_applying
        && let Some((next, request)) = pending.take()
    {
        real = Some(next.run(request).await);
    }
    if let Some(delay) = fault.delay {
        tokio::time::sleep(delay).await;
    }
    if fault.drop {
        let stream = futures::stream::once(async {
            Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other(
                "connection dropped by fault injection",
            ))
        });
        return Response::new(axum::body::Body::from_stream(stream));
    }
    if fault.status == 0 {
        return match (real, pending) {
            (Some(response), _) => response,
            (None, Some((next, request))) => next.run(request).await,
            (None, None) => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        };
    }
    let mut response = (
        axum::http::StatusCode::from_u16(fault.status)
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "application/json")],
        fault.body,
    )
        .into_response();
    if let Some(s) = fault.retry_after
        && let Ok(v) = s.to_string().parse()
    {
        response.headers_mut().insert("retry-after", v);
    }
    response
}
