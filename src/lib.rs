//! crmgate: one MCP server for working inside any CRM.
//!
//! # Layout
//! - [`config`]: the TOML file — raw shape, validation, secrets — resolved into [`app::App`].
//! - [`backends`]: builds the `Backend` a config names (demo, espocrm, …).
//! - [`app`]: a ready gateway plus what the MCP layer needs (prompts folder, names).
//! - [`tools`]: the tool surface — names, tiers, annotations, schemas, dispatch, text
//!   rendering — with no MCP types, so the CLI's `call` and the MCP server share it.
//! - [`mcp`]: the only module that imports rmcp: server handler, prompts, resources, stdio and
//!   the streamable HTTP service.
//! - [`http`]: hosted mode — axum server, bearer identities, limits, `/healthz`, `/metrics`,
//!   protected-resource metadata.
//! - [`budget`], [`metrics`]: the per-caller rate budget and the counters of hosted mode.
//! - [`isolate`]: a panic in one call fails that call only (`INTERNAL`), never the process.
//! - [`cli`]: the `crmgate` command line; [`journal_cmd`]: its `journal export`.
//! - [`client_config`]: ready-to-paste snippets for MCP clients.

pub mod app;
pub mod backends;
pub mod budget;
pub mod cli;
pub mod client_config;
pub mod config;
pub mod http;
pub mod isolate;
pub mod journal_cmd;
pub mod mcp;
pub mod metrics;
pub mod tools;
