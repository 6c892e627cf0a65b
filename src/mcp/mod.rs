//! The MCP server: the only module that imports rmcp.
//!
//! [`CrmServer`] implements `ServerHandler` by hand (tools are data, listed per tier and per
//! backend features), delegating each call to [`crate::tools::call`]. Prompts and resources
//! live in their own files.

mod framing;
mod host;
mod prompts;
mod resources;
mod server;

pub use framing::refusal as jsonrpc_refusal;
pub use server::{CrmServer, to_tool, tools_list_json};

use crate::app::App;
use crate::config::http::HttpSettings;
use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Serve MCP over stdio until the client closes the stream. stdout carries only protocol
/// messages; logs go to stderr. Every line gets an answer, even one that is not JSON
/// ([`framing`]).
pub async fn serve_stdio(app: App) -> anyhow::Result<()> {
    let (stdin, stdout) = rmcp::transport::stdio_pipes();
    let transport = framing::LineTransport::new(stdin, stdout);
    let service = CrmServer::new(app).serve(transport).await?;
    service.waiting().await?;
    Ok(())
}

/// The MCP endpoint of hosted mode: rmcp's streamable HTTP service, stateless (any replica
/// serves any request; 2025-11-25 and 2026-07-28 clients alike), answering plain JSON where it
/// can, with rmcp's own Host check and body cap on top of the HTTP layer's. Built once and
/// shared: each request borrows it (the service's `tower::Service` impl would clone its whole
/// configuration per request).
pub struct HttpEndpoint(StreamableHttpService<CrmServer, NeverSessionManager>);

impl HttpEndpoint {
    /// The endpoint over an app; `shutdown` ends its in-flight streams.
    pub fn new(app: App, settings: &HttpSettings, shutdown: CancellationToken) -> Self {
        // one prototype, cloned per request (a few reference counts): the tool list is built
        // once and shared
        let prototype = CrmServer::new(app);
        // the HTTP layer checks Origin itself (it also admits the server's own loopback origin)
        let config = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_allowed_hosts(settings.allowed_hosts.clone())
            .disable_allowed_origins()
            .with_max_request_body_bytes(settings.max_body_bytes)
            .with_cancellation_token(shutdown);
        HttpEndpoint(StreamableHttpService::new(
            move || Ok(prototype.clone()),
            Arc::new(NeverSessionManager::default()),
            config,
        ))
    }

    /// Answer one request (its caller already attached by the bearer check).
    pub async fn handle(&self, request: axum::extract::Request) -> axum::response::Response {
        self.0.handle(request).await.map(axum::body::Body::new)
    }
}
