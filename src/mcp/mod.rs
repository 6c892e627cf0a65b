//! The MCP server: the only module that imports rmcp.
//!
//! [`CrmServer`] implements `ServerHandler` by hand (tools are data, listed per tier and per
//! backend features), delegating each call to [`crate::tools::call`]. Prompts and resources
//! live in their own files.

mod prompts;
mod resources;
mod server;

pub use server::CrmServer;

use crate::app::App;
use rmcp::ServiceExt;

/// Serve MCP over stdio until the client closes the stream. stdout carries only protocol
/// messages; logs go to stderr.
pub async fn serve_stdio(app: App) -> anyhow::Result<()> {
    let service = CrmServer::new(app).serve(rmcp::transport::stdio()).await?;
    service.waiting().await?;
    Ok(())
}
