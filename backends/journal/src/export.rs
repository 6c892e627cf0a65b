//! The operator's export: every entry matching a query, oldest first, one JSON object per
//! line (`crmgate journal export`).

use crmgate_core::Error;
use crmgate_core::journal::{ExportQuery, JournalStore, MAX_PAGE};
use std::io::Write;

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The journal could not be read.
    #[error("{0}")]
    Journal(Error),
    /// The output could not be written.
    #[error("cannot write the export: {0}")]
    Write(std::io::Error),
}

/// Write every entry matching `query` to `out` as JSON lines, page by page (memory stays
/// bounded however large the journal). `query.after` and `query.limit` are the starting point
/// and the page size (0: the largest). Returns how many entries were written; a reader that
/// went away (a closed pipe) ends the export quietly.
pub async fn export_json_lines(
    store: &dyn JournalStore,
    mut query: ExportQuery,
    out: &mut dyn Write,
) -> Result<u64, ExportError> {
    if query.limit == 0 {
        query.limit = MAX_PAGE;
    }
    let mut written = 0;
    loop {
        let page = store.export(&query).await.map_err(ExportError::Journal)?;
        for entry in &page.entries {
            let mut line = serde_json::to_vec(entry).expect("entries serialise");
            line.push(b'\n');
            match out.write_all(&line) {
                Ok(()) => written += 1,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(written),
                Err(e) => return Err(ExportError::Write(e)),
            }
        }
        match page.next_after {
            Some(after) => query.after = Some(after),
            None => break,
        }
    }
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(ExportError::Write(e)),
        _ => Ok(written),
    }
}
