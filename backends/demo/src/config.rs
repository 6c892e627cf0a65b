//! The `[crm.NAME]` section of `kind = "demo"`: the demo takes no keys beyond the common ones.

use crate::DemoBackend;
use crmgate_core::Backend;
use crmgate_core::cache::MetadataCache;
use crmgate_core::config::{ConfigResult, VendorSection};
use crmgate_core::upstream::UpstreamConfig;
use serde::Deserialize;
use std::sync::Arc;

/// No vendor keys: any key beyond the common ones is refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSection {}

impl VendorSection for DemoSection {
    fn inline_secrets(&self) -> Vec<&'static str> {
        Vec::new()
    }

    fn identity_keys(&self) -> Vec<&'static str> {
        Vec::new()
    }

    fn build(&self, _: UpstreamConfig, _: &MetadataCache) -> ConfigResult<Arc<dyn Backend>> {
        Ok(Arc::new(DemoBackend::new()))
    }
}
