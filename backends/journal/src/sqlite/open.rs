//! Opening the SQLite file: its folder (created private), the pragmas (WAL, a busy wait for
//! other processes, a hard size cap), the versioned schema, and what SQLite's errors mean for
//! a write.

use crmgate_core::journal::{Bounds, JournalProblem, journal_error};
use crmgate_core::{Error, Result};
use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

/// How long a statement waits for another process's lock before `busy`.
pub const BUSY_WAIT: Duration = Duration::from_secs(5);

/// The schema, one script per version; `PRAGMA user_version` says how many have run.
/// Append new versions; never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: the entries
    "create table crmgate_journal (
         seq integer primary key autoincrement,
         entry_id text not null unique,
         crm text not null,
         scope text not null,
         batch_id text,
         at_ms integer not null,
         entity text not null,
         record_id text,
         outcome text not null,
         undone_by text,
         bytes integer not null,
         body text not null
     );
     create index crmgate_journal_owner on crmgate_journal (crm, scope, seq);
     create index crmgate_journal_record on crmgate_journal (crm, scope, entity, record_id, seq);
     create index crmgate_journal_batch on crmgate_journal (crm, scope, batch_id, seq)
         where batch_id is not null;
     create index crmgate_journal_at on crmgate_journal (at_ms);
     create index crmgate_journal_size on crmgate_journal (bytes);",
];

/// The schema version this build writes.
pub fn schema_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Open (creating if need be) the journal at `path` and bring its schema up to date.
pub fn open(path: &Path, bounds: &Bounds) -> Result<Connection> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
        && !dir.exists()
    {
        create_private_dir(dir).map_err(|e| {
            tracing::warn!("journal: cannot create {}: {e}", dir.display());
            io_problem(&e)
        })?;
    }
    let existed = path.exists();
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| sqlite_error(&e, path))?;
    if !existed {
        restrict_to_owner(path);
    }
    conn.busy_timeout(BUSY_WAIT)
        .map_err(|e| sqlite_error(&e, path))?;
    // WAL: readers never block the writer; NORMAL: a commit survives a crash of crmgate (not
    // necessarily a power cut) without an fsync per write
    let mode: String = conn
        .query_row("pragma journal_mode = wal", [], |row| row.get(0))
        .map_err(|e| sqlite_error(&e, path))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(
            "journal: {} is not in WAL mode ({mode}); writes from several processes will wait on each other",
            path.display()
        );
    }
    conn.execute_batch("pragma synchronous = normal;")
        .map_err(|e| sqlite_error(&e, path))?;
    if let Some(max) = bounds.max_bytes {
        cap_size(&conn, max).map_err(|e| sqlite_error(&e, path))?;
    }
    migrate(conn, path)
}

/// A hard cap at four times `max_size_mb` plus 16 MiB: pruning keeps the entries' bytes within
/// the bound (the file is up to about twice that: pages are not always full, and indexes), so
/// only a runaway — or a single entry too large for the bound — hits it; then SQLite answers
/// "full" and the write is refused rather than the disk filled.
fn cap_size(conn: &Connection, max_bytes: u64) -> rusqlite::Result<()> {
    let page: i64 = conn.query_row("pragma page_size", [], |row| row.get(0))?;
    let cap = max_bytes.saturating_mul(4).saturating_add(16 << 20) / page.max(512) as u64;
    let cap = i64::try_from(cap).unwrap_or(i64::MAX);
    conn.query_row(&format!("pragma max_page_count = {cap}"), [], |_| Ok(()))
}

fn migrate(mut conn: Connection, path: &Path) -> Result<Connection> {
    let current: i64 = conn
        .query_row("pragma user_version", [], |row| row.get(0))
        .map_err(|e| sqlite_error(&e, path))?;
    if current == schema_version() {
        return Ok(conn);
    }
    if current > schema_version() {
        tracing::warn!(
            "journal: {} has schema version {current}, newer than this crmgate knows ({}); upgrade crmgate",
            path.display(),
            schema_version()
        );
        return Err(journal_error(JournalProblem::Unavailable));
    }
    // IMMEDIATE: one process migrates, another waiting here then finds the work done
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| sqlite_error(&e, path))?;
    let current: i64 = tx
        .query_row("pragma user_version", [], |row| row.get(0))
        .map_err(|e| sqlite_error(&e, path))?;
    for (version, script) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        tx.execute_batch(script)
            .map_err(|e| sqlite_error(&e, path))?;
        tx.execute_batch(&format!("pragma user_version = {}", version + 1))
            .map_err(|e| sqlite_error(&e, path))?;
    }
    tx.commit().map_err(|e| sqlite_error(&e, path))?;
    tracing::debug!(
        "journal: {} at schema version {}",
        path.display(),
        schema_version()
    );
    Ok(conn)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// The journal holds CRM data: readable by its owner only.
fn restrict_to_owner(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
            tracing::warn!("journal: cannot make {} private: {e}", path.display());
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn io_problem(e: &std::io::Error) -> Error {
    use std::io::ErrorKind;
    journal_error(match e.kind() {
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => JournalProblem::Unwritable,
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => JournalProblem::Full,
        _ => JournalProblem::Unavailable,
    })
}

/// What a SQLite error means for the write, logged with the file's path (the error returned
/// names no path).
pub fn sqlite_error(e: &rusqlite::Error, path: &Path) -> Error {
    let problem = match e.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => JournalProblem::Full,
        Some(ErrorCode::ReadOnly | ErrorCode::PermissionDenied | ErrorCode::CannotOpen) => {
            JournalProblem::Unwritable
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => JournalProblem::Busy,
        _ => JournalProblem::Unavailable,
    };
    tracing::warn!("journal: {}: {e}", path.display());
    journal_error(problem)
}

/// Whether `error` is the journal being full (worth a prune and one more try).
pub fn is_full(error: &Error) -> bool {
    error
        .details
        .as_ref()
        .is_some_and(|d| d["journal"] == JournalProblem::Full.as_str())
}
