//! A faithful, in-process fake of EspoCRM 9.1.7's REST API, built from the behaviour recorded
//! on a real instance: the three ways to sign in (API key, HMAC verified over `METHOD /path`,
//! username/password), the failed-login lockout, ACL-cut metadata, `where[]` in bracket syntax
//! and `searchParams` JSON, `maxSize` > 200 → 403, `X-No-Total`, duplicates (409), validation
//! (400 with `X-Status-Reason`), a restricted user's 403s, links, the stream, notes, email
//! drafts, template filling, kanban and `POST MassAction` (delete by ids) — plus fault injection
//! and a request log for tests.
//!
//! Seeded with the recorded instance's data (same ids), so recorded requests replay.
//!
//! Layout: `defs` (metadata, i18n and what the server derives from them), `state` (users and
//! roles, records, edges, notes), `auth` (sign-in and lockout), `params` / `query` (search
//! parameters and their evaluation), `render` (records as EspoCRM returns them), `handlers/`
//! (records, writes + validate, links, extras), `respond` (answer shapes), `faults` (fault
//! injection and the request log); this file runs it.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sandbox = crmgate_espocrm::sandbox::Sandbox::start().await?;
//! println!("{} key {}", sandbox.url(), crmgate_espocrm::sandbox::credentials::API_KEY);
//! # Ok(()) }
//! ```

mod auth;
mod defs;
mod faults;
mod handlers;
mod params;
mod query;
mod render;
mod respond;
mod state;

pub use faults::{Fault, Logged};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use faults::Faults;
use handlers::Req;
use respond::Answer;
use state::{Store, User};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

/// The sandbox's test credentials (not secrets: printed by `crmgate sandbox espocrm`).
pub mod credentials {
    /// API key of `api-full` (full access to the CRM entities, has an email address).
    pub const API_KEY: &str = "sandbox-api-full-key";
    /// API key of `api-hmac` (HMAC, same role as api-full).
    pub const HMAC_KEY: &str = "sandbox-api-hmac-key";
    /// Secret key of `api-hmac`.
    pub const HMAC_SECRET: &str = "sandbox-hmac-secret";
    /// API key of `api-readonly` (Contact read only).
    pub const READONLY_KEY: &str = "sandbox-api-readonly-key";
    /// Administrator user name.
    pub const ADMIN_USER: &str = "admin";
    /// Administrator password.
    pub const ADMIN_PASSWORD: &str = "sandbox-admin-password";
    /// Id of the administrator.
    pub const ADMIN_ID: &str = "6b012c8d4d982ff3a";
    /// Id of `api-full`.
    pub const API_USER_ID: &str = "6b012cc1e263fd989";
}

/// State shared by the handlers.
pub(crate) struct Shared {
    store: Mutex<Store>,
    /// This sandbox's metadata (fields may be added at run time).
    defs: Mutex<Arc<defs::Defs>>,
    users: Vec<User>,
    lockout: auth::Lockout,
    faults: Faults,
}

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox").field("url", &self.url).finish()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Sandbox {
    /// Start on `127.0.0.1` at a free port.
    pub async fn start() -> std::io::Result<Sandbox> {
        Sandbox::start_on(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)).await
    }

    /// Start on `addr`.
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::seeded()),
            defs: Mutex::new(defs::base()),
            users: state::users(),
            lockout: auth::Lockout::default(),
            faults: Faults::default(),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let task = tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            let _ = axum::serve(listener, service).await;
        });
        Ok(Sandbox {
            url: format!("http://{local}"),
            shared,
            task,
        })
    }

    /// The site URL (`http://127.0.0.1:PORT`); the API is under `/api/v1`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every request that reached the sandbox, in order.
    pub fn requests(&self) -> Vec<Logged> {
        self.shared.faults.requests()
    }

    /// How many requests reached the sandbox.
    pub fn request_count(&self) -> usize {
        self.shared.faults.requests().len()
    }

    /// Forget the request log.
    pub fn clear_requests(&self) {
        self.shared.faults.clear();
    }

    /// Serve `fault` to the next request.
    pub fn inject(&self, fault: Fault) {
        self.shared.faults.push(fault);
    }

    /// Serve `fault` to the next request whose path contains `path` (and has `method`).
    pub fn inject_for(&self, fault: Fault, path: &str, method: Option<&str>) {
        self.shared.faults.push_for(fault, path, method);
    }

    /// Delay every answer by `latency`.
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.shared.faults.set_latency(latency);
    }

    /// Store a record directly (test data in bulk); returns its id.
    pub fn insert(&self, entity: &str, attributes: serde_json::Value) -> String {
        let mut store = self
            .shared
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let id = store.new_id();
        let mut rec = attributes.as_object().cloned().unwrap_or_default();
        let now = crate::time::now();
        rec.insert("id".into(), serde_json::json!(id));
        rec.insert("deleted".into(), serde_json::json!(false));
        rec.entry("createdAt").or_insert(serde_json::json!(now));
        rec.entry("createdById")
            .or_insert(serde_json::json!(credentials::API_USER_ID));
        store
            .records
            .entry(entity.to_owned())
            .or_default()
            .push(rec);
        id
    }

    /// Add a field to `entity`, as an administrator does in EspoCRM's Entity Manager: from the
    /// next request on, metadata shows it and writes, filters and reads take it. `def` is its
    /// `entityDefs` definition (`{"type": "varchar", "maxLength": 50}`). False when `entity`
    /// has no definitions.
    pub fn add_field(&self, entity: &str, name: &str, def: serde_json::Value) -> bool {
        let mut defs = self
            .shared
            .defs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match defs.with_field(entity, name, def, name) {
            Some(grown) => {
                *defs = Arc::new(grown);
                true
            }
            None => false,
        }
    }

    /// Records of an entity as stored (deleted ones included), for assertions.
    pub fn stored(&self, entity: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
        self.shared
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .records
            .get(entity)
            .cloned()
            .unwrap_or_default()
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let method = parts.method.as_str().to_ascii_uppercase();
    let path = parts.uri.path().to_owned();
    let raw_query = parts.uri.query().unwrap_or_default().to_owned();
    shared.faults.record(Logged {
        method: method.clone(),
        path: path.clone(),
        query: raw_query.clone(),
        auth: auth::kind(&parts.headers),
        no_total: parts.headers.get("x-no-total").is_some_and(|v| v == "true"),
        skip_duplicate_check: parts
            .headers
            .get("x-skip-duplicate-check")
            .is_some_and(|v| v == "true"),
        version_number: parts
            .headers
            .get("x-version-number")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: serde_json::from_slice(&body).ok(),
    });
    let latency = shared.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match shared.faults.take(&method, &path) {
        None => {}
        Some(Fault::Hang(wait)) => tokio::time::sleep(wait).await,
        Some(Fault::Applied(after)) => {
            let applied = answer(&shared, &parts, &body, peer, &method, &path, raw_query).await;
            if let Fault::Hang(wait) = *after {
                tokio::time::sleep(wait).await;
                return applied;
            }
            return faults::respond(&after).unwrap_or_else(dropped);
        }
        Some(fault) => return faults::respond(&fault).unwrap_or_else(dropped),
    }
    answer(&shared, &parts, &body, peer, &method, &path, raw_query).await
}

/// Answer one request for real.
async fn answer(
    shared: &Arc<Shared>,
    parts: &axum::http::request::Parts,
    body: &Bytes,
    peer: SocketAddr,
    method: &str,
    path: &str,
    raw_query: String,
) -> Response {
    let method = method.to_owned();
    let Some(resource) = path.strip_prefix("/api/v1") else {
        return Answer::html(404, None).into_response();
    };
    let resource = if resource.is_empty() { "/" } else { resource };
    let has_credentials = auth::kind(&parts.headers) != "none";
    if resource == "/I18n" && !has_credentials && method == "GET" {
        return Answer::ok(handlers::public_i18n()).into_response();
    }
    let user = match auth::authenticate(
        &shared.users,
        &shared.lockout,
        &parts.headers,
        &method,
        resource,
        peer.ip(),
    ) {
        Ok(user) => user,
        Err(answer) => return answer.into_response(),
    };
    let query: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let req = Req {
        method: &method,
        segments: resource
            .split('/')
            .filter(|s| !s.is_empty())
            .map(decode)
            .collect(),
        query,
        headers: &parts.headers,
        body,
        user: &user,
    };
    let defs = shared
        .defs
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    defs::within(defs, || handlers::dispatch(shared, &req)).into_response()
}

/// A response whose body fails mid-way: the client sees the connection break.
fn dropped() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other(
            "connection dropped by fault injection",
        ))
    });
    Response::new(Body::from_stream(stream))
}

/// Run a sandbox on `127.0.0.1:port` until Ctrl-C, printing where and the credentials.
pub async fn serve(port: u16) -> std::io::Result<()> {
    let sandbox = Sandbox::start_on(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)).await?;
    eprintln!("listening on {}", sandbox.url());
    eprintln!(
        "EspoCRM 9.1.7 sandbox: the API is at {}/api/v1",
        sandbox.url()
    );
    eprintln!("  api key (full access):      {}", credentials::API_KEY);
    eprintln!(
        "  hmac key / secret:          {} / {}",
        credentials::HMAC_KEY,
        credentials::HMAC_SECRET
    );
    eprintln!(
        "  api key (contacts, read):   {}",
        credentials::READONLY_KEY
    );
    eprintln!(
        "  admin user / password:      {} / {}",
        credentials::ADMIN_USER,
        credentials::ADMIN_PASSWORD
    );
    tokio::signal::ctrl_c().await?;
    drop(sandbox);
    Ok(())
}
