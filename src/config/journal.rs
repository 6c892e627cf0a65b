//! `[journal]`: the section's type and checks live in `crmgate-journal`
//! ([`crmgate_journal::JournalConfig`]); this only places its problems in the file.

use super::Ctx;
use super::secrets::inline_secret_warning;
use crmgate_core::Result;
use crmgate_journal::{JournalConfig, JournalSettings};
use std::path::Path;

/// Check `[journal]` (`file`: the config file, for relative paths and the inline-URL warning).
pub(crate) fn resolve(
    ctx: &Ctx,
    file: Option<&Path>,
    raw: JournalConfig,
) -> Result<JournalSettings> {
    if raw.url.is_some()
        && let Some(file) = file
        && let Some(warning) = inline_secret_warning(file, "journal.url", "url_env")
    {
        tracing::warn!("{warning}");
    }
    raw.resolve(file.and_then(Path::parent))
        .map_err(|problem| ctx.error(&format!("journal.{}", problem.key), problem.message))
}
