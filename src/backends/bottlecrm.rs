//! BottleCRM: the `kind = "bottlecrm"` config keys → the backend, and `crmgate sandbox bottlecrm`.

use crate::config::ResolvedCrm;
use crmgate_core::cache::MetadataCache;
use crmgate_core::{Backend, Result};
use std::sync::Arc;

/// The BottleCRM backend from its config section.
pub fn build(crm: &ResolvedCrm, _cache: &MetadataCache) -> Result<Arc<dyn Backend>> {
    Err(super::not_built(crm))
}

/// Serve the BottleCRM sandbox on 127.0.0.1:`port` until Ctrl-C.
pub async fn sandbox(_port: u16) -> Result<()> {
    Err(super::no_sandbox("bottlecrm"))
}
