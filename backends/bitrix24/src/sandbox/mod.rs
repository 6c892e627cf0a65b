//! A faithful fake Bitrix24 portal (axum), in process for tests or as
//! `crmgate sandbox bitrix24 --port N`.
//!
//! What it reproduces (see the facts' checklist): webhook and OAuth routes; the
//! `{result, next, total, time}` envelope and `{error, error_description}` with the documented
//! statuses; the leaky bucket per portal (503 `QUERY_LIMIT_EXCEEDED` above the threshold; a
//! batch is one request); the per-method operating-time budget (429 `OPERATION_TIME_LIMIT`);
//! scopes (`insufficient_scope`); fixed 50-row pages with `next`/`total` and `start=-1`;
//! `crm.item.*` and the legacy `crm.lead.*`-style methods; prefix-operator filters with
//! `logic: OR`; `batch` with `$result[…]` references and per-command errors; dictionaries;
//! timeline comments; deal contacts; token refresh. Tests inject faults and read the request
//! log (each request's URL target as it arrived, and the parameters the portal read).
//!
//! - `spec`: fields and dictionaries. `seed`: the data. `state`: state, bucket, faults, log.
//! - `filter`: filter evaluation and ordering. `items`, `legacy`, `misc`: the method
//!   handlers.
//! - `router`: HTTP, auth, envelopes. `batch`: batch execution and references.

mod batch;
mod filter;
mod items;
mod legacy;
mod misc;
mod router;
mod seed;
pub mod spec;
mod state;

pub use state::{
    ACCESS_TOKEN, CLIENT_ID, CLIENT_SECRET, EXPIRED_TOKEN, Fault, LIMITED_CODE, LoggedRequest,
    REFRESH_TOKEN, SandboxOptions, State, WEBHOOK_CODE,
};

use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// A handler's success.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub result: Value,
    pub next: Option<i64>,
    pub total: Option<i64>,
}

impl Reply {
    pub(crate) fn of(result: Value) -> Self {
        Reply {
            result,
            next: None,
            total: None,
        }
    }
}

/// A Bitrix error answer.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: String,
    pub description: String,
}

impl ApiError {
    pub(crate) fn new(status: u16, code: &str, description: &str) -> Self {
        ApiError {
            status,
            code: code.into(),
            description: description.into(),
        }
    }
}

pub(crate) type Answer = Result<Reply, ApiError>;

/// A running sandbox.
#[derive(Debug)]
pub struct Sandbox {
    addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Sandbox {
    /// Start on 127.0.0.1 with an OS-chosen port.
    pub async fn start(options: SandboxOptions) -> std::io::Result<Sandbox> {
        Sandbox::bind(0, options).await
    }

    /// Start on 127.0.0.1:`port`.
    pub async fn bind(port: u16, options: SandboxOptions) -> std::io::Result<Sandbox> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::new(options.clone(), seed::seed(options.leads)));
        let app = router::router(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Sandbox { addr, state, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The inbound webhook of user 1 with every scope.
    pub fn webhook_url(&self) -> String {
        format!("{}/rest/1/{WEBHOOK_CODE}/", self.url())
    }

    /// A webhook of user 2 with the `crm` scope only.
    pub fn limited_webhook_url(&self) -> String {
        format!("{}/rest/2/{LIMITED_CODE}/", self.url())
    }

    /// The state: request log, counters, faults, data.
    pub fn state(&self) -> &Arc<State> {
        &self.state
    }

    /// HTTP requests that reached the sandbox.
    pub fn requests(&self) -> usize {
        self.state.requests()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serve on 127.0.0.1:`port` until Ctrl-C, printing the address and the test credentials to
/// stderr.
pub async fn serve(port: u16) -> std::io::Result<()> {
    let sandbox = Sandbox::bind(port, SandboxOptions::default()).await?;
    eprintln!("listening on {}", sandbox.url());
    eprintln!("webhook:        {}", sandbox.webhook_url());
    eprintln!("crm-only hook:  {}", sandbox.limited_webhook_url());
    eprintln!(
        "OAuth:          portal = {}, access token {ACCESS_TOKEN}",
        sandbox.url()
    );
    eprintln!(
        "refresh:        token {REFRESH_TOKEN} (renews {EXPIRED_TOKEN}), client {CLIENT_ID} / {CLIENT_SECRET}, oauth_server = {}",
        sandbox.url()
    );
    eprintln!(
        "bucket:         2 requests/s, threshold 50; {} leads seeded",
        SandboxOptions::default().leads
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
