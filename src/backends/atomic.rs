//! Atomic CRM: the `kind = "atomic"` config keys → the backend, and `crmgate sandbox atomic`.

use crate::config::ResolvedCrm;
use crmgate_core::cache::MetadataCache;
use crmgate_core::{Backend, Result};
use std::sync::Arc;

/// The Atomic CRM backend from its config section.
pub fn build(crm: &ResolvedCrm, _cache: &MetadataCache) -> Result<Arc<dyn Backend>> {
    Err(super::not_built(crm))
}

/// Serve the Atomic CRM sandbox on 127.0.0.1:`port` until Ctrl-C.
pub async fn sandbox(_port: u16) -> Result<()> {
    Err(super::no_sandbox("atomic"))
}
