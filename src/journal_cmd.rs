//! `crmgate journal export`: the operator's audit export of the change journal, as JSON lines
//! on stdout, oldest first. Every caller's entries (optionally one CRM's, one scope's, since a
//! time); a summary goes to stderr.

use crmgate_core::journal::{ExportQuery, Timestamp};
use crmgate_core::{Error, Result};
use crmgate_journal::export::{ExportError, export_json_lines};
use crmgate_journal::{JournalSettings, Storage};
use std::io::Write;

/// What to export.
#[derive(Debug, Clone, Default)]
pub struct Export {
    /// Only entries made at or after this moment.
    pub since: Option<Timestamp>,
    /// Only this CRM's entries (the config section's name).
    pub crm: Option<String>,
    /// Only this caller scope's entries.
    pub scope: Option<String>,
}

/// `--since`: RFC 3339, a date, or an age like `24h` (`VALIDATION` otherwise).
pub fn parse_since(text: &str) -> Result<Timestamp> {
    Timestamp::parse_since(text, Timestamp::now())
}

/// Write the entries `what` selects to `out`; returns how many. A SQLite journal that does not
/// exist yet is reported (on stderr) and left uncreated.
pub async fn export(
    settings: &JournalSettings,
    what: Export,
    out: &mut dyn Write,
) -> Result<u64, ExportError> {
    if let Storage::Sqlite { path: Some(path) } = &settings.storage
        && !path.exists()
    {
        eprintln!(
            "journal: no journal yet at {} (nothing written so far)",
            path.display()
        );
        return Ok(0);
    }
    let store = crmgate_journal::open(settings)
        .map_err(ExportError::Journal)?
        .ok_or_else(|| {
            ExportError::Journal(Error::not_allowed(
                "the journal is off ([journal] enabled = false)",
                "turn it on in the config to journal writes; entries written while it was on stay where they were",
            ))
        })?;
    let query = ExportQuery {
        since: what.since,
        crm: what.crm,
        scope: what.scope,
        ..Default::default()
    };
    let written = export_json_lines(store.as_ref(), query, out).await?;
    eprintln!(
        "journal: exported {written} entries from {}",
        store.location()
    );
    Ok(written)
}
