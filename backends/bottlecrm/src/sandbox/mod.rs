//! An in-process fake of BottleCRM's REST API that behaves like the recorded one: the
//! per-entity list envelopes (with their lookup catalogues), detail wrappers and error shapes,
//! the missing ids on lead and task create, the HTML 404 for ids that do not parse (invoices:
//! any non-canonical UUID) and the HTML 500 on comments to missing leads, 403 instead of 401
//! for bad, revoked and expired tokens, PAT scopes, two organisations that never see each
//! other's records (even by id), ADMIN and USER roles, the schema endpoint, lead conversion,
//! invoice send / cancel, solution publish — plus fault injection and a request log.
//!
//! - [`state`]: the data; [`seed`]: the organisations, users, tokens and records;
//!   [`records`]: storing a record as BottleCRM fills it.
//! - [`router`]: one handler, in BottleCRM's order (resolve, authenticate, scope, method, view).
//! - [`auth`]: tokens and scopes. [`render`]: BottleCRM's nested answer shapes.
//! - `lists` (+ `list_filters`), `details`, `writes` (+ `validation`), [`actions`]: the views.
//! - [`faults`]: injected answers. [`catalog`]: the recorded OpenAPI document and its enums.

pub mod actions;
pub mod auth;
pub mod catalog;
mod details;
pub mod faults;
mod list_filters;
mod lists;
pub mod records;
pub mod render;
pub mod router;
pub mod seed;
pub mod state;
mod validation;
mod writes;

pub use faults::{Fault, FaultKind};
pub use seed::{ADMIN_A, ADMIN_B, EXPIRED_A, LEADS_READ_A, REVOKED_A, USER_A};

use state::{Store, Token};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::oneshot;

/// The state shared by the handler and the test handle. The lock is never held across an
/// `.await`.
#[derive(Debug)]
pub struct Shared {
    store: Mutex<Store>,
}

impl Shared {
    /// Lock the store.
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The axum app over a store.
pub fn app(shared: Arc<Shared>) -> axum::Router {
    axum::Router::new()
        .fallback(router::handle)
        .with_state(shared)
}

/// A running sandbox. Dropping it stops the server.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Sandbox {
    /// Start on 127.0.0.1 at a free port, seeded.
    pub async fn start() -> std::io::Result<Sandbox> {
        Sandbox::start_on(0).await
    }

    /// Start on 127.0.0.1:`port` (0: any free port), seeded.
    pub async fn start_on(port: u16) -> std::io::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            store: Mutex::new(seed::seed()),
        });
        let (tx, rx) = oneshot::channel::<()>();
        let app = app(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Sandbox {
            addr,
            shared,
            shutdown: Some(tx),
        })
    }

    /// The base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answer the next matching request(s) with a fault.
    pub fn inject(&self, fault: Fault) {
        self.shared.lock().faults.push(fault);
    }

    /// Requests received so far (faulted ones included).
    pub fn requests(&self) -> usize {
        self.shared.lock().log.len()
    }

    /// The requests received so far, as `METHOD /path?query`.
    pub fn request_log(&self) -> Vec<String> {
        self.shared.lock().log.clone()
    }

    /// The emails BottleCRM would have sent so far (invoice sends, assignment notices).
    pub fn emails(&self) -> Vec<String> {
        self.shared.lock().emails.clone()
    }

    /// Work on the store directly (tests: inspect or arrange state).
    pub fn with_store<R>(&self, f: impl FnOnce(&mut Store) -> R) -> R {
        f(&mut self.shared.lock())
    }

    /// Mint a token for the profile with `email`, with these scopes (empty: unrestricted).
    pub fn mint_token(&self, email: &str, scopes: &[&str]) -> Option<String> {
        let mut store = self.shared.lock();
        let profile = store.profiles.iter().position(|p| p.email == email)?;
        let n = store.tokens.len();
        let raw = format!("bcrm_pat_{:0<43}", format!("Minted{n}_"));
        store.tokens.push(Token {
            raw: raw.clone(),
            profile,
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            revoked: false,
            expired: false,
        });
        Some(raw)
    }

    /// Revoke a token (it then answers like any unknown token).
    pub fn revoke(&self, raw: &str) {
        if let Some(t) = self.shared.lock().tokens.iter_mut().find(|t| t.raw == raw) {
            t.revoked = true;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The credentials the sandbox knows, for `crmgate sandbox bottlecrm` to print.
pub fn credentials() -> Vec<(&'static str, &'static str)> {
    vec![
        ("org A ADMIN (admin@acme.test), unrestricted", ADMIN_A),
        ("org A USER (user@acme.test), unrestricted", USER_A),
        ("org B ADMIN (admin@beta.test), unrestricted", ADMIN_B),
        ("org A ADMIN, scoped to leads:read", LEADS_READ_A),
        ("org A ADMIN, revoked", REVOKED_A),
        ("org A ADMIN, expired", EXPIRED_A),
    ]
}

/// Run a sandbox on 127.0.0.1:`port` until Ctrl-C, printing its URL and tokens to stderr.
pub async fn serve(port: u16) -> std::io::Result<()> {
    let sandbox = Sandbox::start_on(port).await?;
    eprintln!("BottleCRM sandbox listening on {}", sandbox.url());
    eprintln!("personal access tokens (send as Authorization: Bearer <token>):");
    for (who, token) in credentials() {
        eprintln!("  {token}  {who}");
    }
    tokio::signal::ctrl_c().await?;
    drop(sandbox);
    Ok(())
}
