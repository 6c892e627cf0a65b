//! A running crmgate: the gateway over the chosen backend, and what the MCP layer needs.

use crate::budget::CallerBudget;
use crate::metrics::Metrics;
use crmgate_core::gateway::Gateway;
use std::path::PathBuf;
use std::sync::Arc;

/// Everything a server (or a one-shot `crmgate call`) needs.
#[derive(Clone)]
pub struct App {
    /// The operations over the configured backend.
    pub gateway: Gateway,
    /// The configured CRM's name (`demo` without a config file).
    pub crm_name: String,
    /// A folder whose `<prompt name>.md` files replace the built-in prompt texts.
    pub prompts_dir: Option<PathBuf>,
    /// Hosted mode: each caller's share of tool calls (`None` over stdio).
    pub budget: Option<Arc<CallerBudget>>,
    /// Hosted mode: what `/metrics` reports (`None` over stdio).
    pub metrics: Option<Arc<Metrics>>,
    /// Budgets, vendor blocks and rejected credentials: in this process, or shared with every
    /// replica through Redis (`[redis]`).
    pub shared: crmgate_shared::SharedState,
    /// Fingerprints credentials for the rejected-credential memory: keyed from the confirm
    /// secret (the same in every replica), or at random per process without one.
    pub hasher: crmgate_shared::CredentialHasher,
}
