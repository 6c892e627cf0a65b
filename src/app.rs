//! A running crmgate: the gateway over the chosen backend, and what the MCP layer needs.

use crmgate_core::gateway::Gateway;
use std::path::PathBuf;

/// Everything a server (or a one-shot `crmgate call`) needs.
#[derive(Clone)]
pub struct App {
    /// The operations over the configured backend.
    pub gateway: Gateway,
    /// The configured CRM's name (`default` when none).
    pub crm_name: String,
    /// A folder whose `<prompt name>.md` files replace the built-in prompt texts.
    pub prompts_dir: Option<PathBuf>,
}
