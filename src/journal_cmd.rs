//! `crmgate journal export`: the operator's audit export of the change journal, as JSON lines
//! on stdout, oldest first. Every caller's entries (optionally one CRM's, one scope's, since a
//! time); a summary goes to stderr.

use crmgate_core::Result;
use crmgate_core::journal::{ExportQuery, Timestamp};
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
/// exist yet is reported (on stderr) and left uncreated. A journal switched off
/// (`enabled = false`) is still exported: what it kept stays readable.
pub async fn export(
    settings: &JournalSettings,
    what: Export,
    out: &mut dyn Write,
) -> Result<u64, ExportError> {
    if !settings.enabled {
        eprintln!(
            "journal: journaling is off ([journal] enabled = false); exporting what was kept"
        );
    }
    if let Storage::Sqlite { path: Some(path) } = &settings.storage
        && !path.exists()
    {
        eprintln!(
            "journal: no journal yet at {} (nothing written so far)",
            path.display()
        );
        return Ok(0);
    }
    // the store the settings name, whether or not writes are journaled now
    let reading = JournalSettings {
        enabled: true,
        ..settings.clone()
    };
    let store = crmgate_journal::open(&reading)
        .map_err(ExportError::Journal)?
        .expect("an enabled journal has a store");
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
