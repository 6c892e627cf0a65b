//! The SQLite store: one file (default: the user's data directory), opened on first use, WAL
//! mode so several crmgate processes on one machine can share it. Every call runs on tokio's
//! blocking pool, never on the async runtime's threads.

mod checkpoint;
mod open;

pub use open::{BUSY_WAIT, schema_version};

use crate::prune::{SCAN_PAGE, Schedule, Totals};
use crate::sql::{self, Param, Row, Statement, not_claimable, not_pending};
use async_trait::async_trait;
use crmgate_core::Result;
use crmgate_core::journal::{
    Bounds, ExportPage, ExportQuery, HistoryPage, HistoryQuery, JournalEntry, JournalProblem,
    JournalStore, MAX_PAGE, Owner, PruneReport, Timestamp, entry_not_found, journal_error,
};
use open::{is_full, sqlite_error};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params_from_iter};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The SQLite store.
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: Option<PathBuf>,
    bounds: Bounds,
    conn: Mutex<Option<Opened>>,
    schedule: Schedule,
}

/// The store's connection, and the thread that checkpoints its WAL.
struct Opened {
    conn: Connection,
    checkpointer: Option<checkpoint::Checkpointer>,
}

impl Opened {
    fn open(path: &Path, bounds: &Bounds) -> Result<Self> {
        let conn = open::open(path, bounds)?;
        let checkpointer = checkpoint::Checkpointer::start(path);
        if checkpointer.is_some() {
            // the thread checkpoints; a commit never does
            conn.query_row("pragma wal_autocheckpoint = 0", [], |_| Ok(()))
                .map_err(|e| sqlite_error(&e, path))?;
        }
        Ok(Opened { conn, checkpointer })
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .field("bounds", &self.inner.bounds)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// A store for the file at `path` (`None`: no data directory was found; every call fails
    /// and the log says to set `[journal] path`). Nothing is opened until first use.
    pub fn new(path: Option<PathBuf>, bounds: Bounds) -> Self {
        SqliteStore::with_schedule(path, bounds, Schedule::default())
    }

    /// [`SqliteStore::new`] pruning every `every` appended entries (tests, benches).
    pub fn with_prune_every(path: Option<PathBuf>, bounds: Bounds, every: u64) -> Self {
        SqliteStore::with_schedule(path, bounds, Schedule::new(every))
    }

    fn with_schedule(path: Option<PathBuf>, bounds: Bounds, schedule: Schedule) -> Self {
        SqliteStore {
            inner: Arc::new(Inner {
                path,
                bounds,
                conn: Mutex::new(None),
                schedule,
            }),
        }
    }

    /// The file.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// Run `work` with the open connection on the blocking pool (opening it first if need be;
    /// a failed open is tried again on the next call).
    async fn run<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner, &Path, &mut Connection) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let Some(path) = inner.path.clone() else {
                tracing::warn!(
                    "journal: no data directory (HOME is not set): set [journal] path to a file"
                );
                return Err(journal_error(JournalProblem::Unavailable));
            };
            let mut slot = inner.conn.lock().unwrap_or_else(|p| p.into_inner());
            let opened = match &mut *slot {
                Some(opened) => opened,
                empty => empty.insert(Opened::open(&path, &inner.bounds)?),
            };
            let result = work(&inner, &path, &mut opened.conn);
            if let Some(checkpointer) = &opened.checkpointer {
                checkpointer.committed();
            }
            result
        })
        .await
        .map_err(|_| journal_error(JournalProblem::Unavailable))?
    }
}

/// `$n` → `?n`: SQLite's numbered parameters.
fn sqlite_sql(sql: &str) -> String {
    sql.replace('$', "?")
}

fn values(params: &[Param]) -> Vec<rusqlite::types::Value> {
    params
        .iter()
        .map(|p| match p {
            Param::Text(s) => rusqlite::types::Value::Text(s.clone()),
            Param::Int(i) => rusqlite::types::Value::Integer(*i),
        })
        .collect()
}

/// `(seq, entry)` rows of a select built by [`sql`].
fn select(
    conn: &Connection,
    path: &Path,
    statement: &Statement,
) -> Result<Vec<(i64, JournalEntry)>> {
    let err = |e: rusqlite::Error| sqlite_error(&e, path);
    let mut stmt = conn
        .prepare_cached(&sqlite_sql(&statement.sql))
        .map_err(err)?;
    let rows = stmt
        .query_map(params_from_iter(values(&statement.params)), |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, Option<String>>(2)?,
            ))
        })
        .map_err(err)?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, body, undone_by) = row.map_err(err)?;
        out.push((seq, sql::decode(&body, undone_by)?));
    }
    Ok(out)
}

fn insert(
    conn: &mut Connection,
    path: &Path,
    entries: &[JournalEntry],
    rows: &[Row],
) -> Result<()> {
    let err = |e: rusqlite::Error| sqlite_error(&e, path);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    {
        let mut stmt = tx.prepare_cached(&sqlite_sql(sql::INSERT)).map_err(err)?;
        for (entry, row) in entries.iter().zip(rows) {
            stmt.execute(rusqlite::params![
                entry.entry_id,
                entry.crm,
                entry.scope,
                entry.batch_id,
                entry.at.unix_ms(),
                entry.entity.name,
                entry.id,
                row.outcome,
                row.bytes,
                row.body,
            ])
            .map_err(err)?;
        }
    }
    tx.commit().map_err(err)
}

/// An entry's `(outcome, undone_by)`, if `owner` has it.
fn state(
    conn: &Connection,
    path: &Path,
    owner: &Owner,
    entry_id: &str,
) -> Result<Option<(String, Option<String>)>> {
    conn.query_row(
        &sqlite_sql(sql::STATE),
        rusqlite::params![owner.crm, owner.scope, entry_id],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .optional()
    .map_err(|e| sqlite_error(&e, path))
}

fn prune(
    conn: &mut Connection,
    path: &Path,
    bounds: &Bounds,
    now: Timestamp,
) -> Result<PruneReport> {
    let err = |e: rusqlite::Error| sqlite_error(&e, path);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    let mut removed = 0;
    if let Some(age) = bounds.max_age {
        removed += tx
            .execute(&sqlite_sql(sql::PRUNE_AGE), [now.minus(age).unix_ms()])
            .map_err(err)?;
    }
    let totals = tx
        .query_row(&sqlite_sql(sql::TOTALS), [], |row| {
            Ok(Totals {
                count: row.get(0)?,
                bytes: row.get(1)?,
            })
        })
        .map_err(err)?;
    let mut cut = None;
    if let Some(offset) = totals.count_cut(bounds) {
        cut = tx
            .query_row(&sqlite_sql(sql::NTH_OLDEST), [offset], |row| {
                row.get::<_, i64>(0)
            })
            .optional()
            .map_err(err)?;
    }
    if let Some(mut scan) = totals.size_scan(bounds) {
        let mut stmt = tx
            .prepare_cached(&sqlite_sql(sql::OLDEST_SIZES))
            .map_err(err)?;
        let by_size = loop {
            let page = stmt
                .query_map([scan.after(), SCAN_PAGE], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .map_err(err)?
                .collect::<rusqlite::Result<Vec<(i64, i64)>>>()
                .map_err(err)?;
            if let Some(seq) = scan.feed(&page) {
                break Some(seq);
            }
            if page.is_empty() {
                break None;
            }
        };
        drop(stmt);
        cut = cut.max(by_size);
    }
    if let Some(seq) = cut {
        removed += tx
            .execute(&sqlite_sql(sql::DELETE_UP_TO), [seq])
            .map_err(err)?;
    }
    tx.commit().map_err(err)?;
    if removed > 0 {
        tracing::debug!("journal: pruned {removed} entries from {}", path.display());
    }
    Ok(PruneReport {
        removed: removed as u64,
    })
}

#[async_trait]
impl JournalStore for SqliteStore {
    fn location(&self) -> String {
        match &self.inner.path {
            Some(path) => format!("sqlite {}", path.display()),
            None => "sqlite (no data directory: set [journal] path)".into(),
        }
    }

    async fn append(&self, entries: &[JournalEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let rows = entries
            .iter()
            .map(sql::encode)
            .collect::<Result<Vec<_>>>()?;
        let entries = entries.to_vec();
        self.run(move |inner, path, conn| {
            match insert(conn, path, &entries, &rows) {
                Err(e) if is_full(&e) => {
                    // make room as the bounds allow, then one more try
                    prune(conn, path, &inner.bounds, Timestamp::now())?;
                    insert(conn, path, &entries, &rows)?;
                }
                other => other?,
            }
            if inner.schedule.due(entries.len())
                && let Err(e) = prune(conn, path, &inner.bounds, Timestamp::now())
            {
                tracing::warn!("journal: prune failed: {}", e.message);
            }
            Ok(())
        })
        .await
    }

    async fn complete(&self, entries: &[JournalEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let rows = entries
            .iter()
            .map(sql::encode)
            .collect::<Result<Vec<_>>>()?;
        let entries = entries.to_vec();
        self.run(move |_, path, conn| {
            let err = |e: rusqlite::Error| sqlite_error(&e, path);
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            let mut stmt = tx.prepare_cached(&sqlite_sql(sql::COMPLETE)).map_err(err)?;
            for (entry, row) in entries.iter().zip(&rows) {
                let changed = stmt
                    .execute(rusqlite::params![
                        row.outcome,
                        entry.id,
                        row.bytes,
                        row.body,
                        entry.entry_id,
                        entry.crm,
                        entry.scope
                    ])
                    .map_err(err)?;
                if changed == 0 {
                    return Err(not_pending(
                        state(&tx, path, &entry.owner(), &entry.entry_id)?,
                        &entry.entry_id,
                    ));
                }
            }
            drop(stmt);
            tx.commit().map_err(err)
        })
        .await
    }

    async fn list(&self, owner: &Owner, query: &HistoryQuery) -> Result<HistoryPage> {
        let start = query.start(owner)?;
        let limit = query.page_size();
        let statement = sql::history(owner, query, start, limit);
        let mut rows = self
            .run(move |_, path, conn| select(conn, path, &statement))
            .await?;
        let next_cursor = (rows.len() > limit).then(|| {
            rows.truncate(limit);
            query.next_cursor(owner, rows[limit - 1].0)
        });
        Ok(HistoryPage {
            entries: rows.into_iter().map(|(_, e)| e).collect(),
            next_cursor,
        })
    }

    async fn get(&self, owner: &Owner, entry_id: &str) -> Result<JournalEntry> {
        let statement = Statement {
            sql: sql::GET.into(),
            params: vec![
                Param::Text(owner.crm.clone()),
                Param::Text(owner.scope.clone()),
                Param::Text(entry_id.to_owned()),
            ],
        };
        let rows = self
            .run(move |_, path, conn| select(conn, path, &statement))
            .await?;
        rows.into_iter()
            .next()
            .map(|(_, entry)| entry)
            .ok_or_else(|| entry_not_found(entry_id))
    }

    async fn mark_undone(
        &self,
        owner: &Owner,
        entry_ids: &[String],
        undone_by: &str,
    ) -> Result<()> {
        let ids = sql::claim_order(entry_ids);
        let owner = owner.clone();
        let undone_by = undone_by.to_owned();
        self.run(move |_, path, conn| {
            let err = |e: rusqlite::Error| sqlite_error(&e, path);
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            for id in &ids {
                let claimed = tx
                    .execute(
                        &sqlite_sql(sql::MARK_UNDONE),
                        rusqlite::params![undone_by, owner.crm, owner.scope, id],
                    )
                    .map_err(err)?;
                if claimed == 0 {
                    return Err(not_claimable(state(&tx, path, &owner, id)?, id));
                }
            }
            tx.commit().map_err(err)
        })
        .await
    }

    async fn clear_undone(
        &self,
        owner: &Owner,
        entry_ids: &[String],
        undone_by: &str,
    ) -> Result<()> {
        let ids = sql::claim_order(entry_ids);
        let owner = owner.clone();
        let undone_by = undone_by.to_owned();
        self.run(move |_, path, conn| {
            let err = |e: rusqlite::Error| sqlite_error(&e, path);
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            for id in &ids {
                tx.execute(
                    &sqlite_sql(sql::CLEAR_UNDONE),
                    rusqlite::params![undone_by, owner.crm, owner.scope, id],
                )
                .map_err(err)?;
            }
            tx.commit().map_err(err)
        })
        .await
    }

    async fn export(&self, query: &ExportQuery) -> Result<ExportPage> {
        let limit = query.limit.clamp(1, MAX_PAGE);
        let statement = sql::export(query, limit);
        let mut rows = self
            .run(move |_, path, conn| select(conn, path, &statement))
            .await?;
        let next_after = (rows.len() > limit).then(|| {
            rows.truncate(limit);
            rows[limit - 1].0
        });
        Ok(ExportPage {
            entries: rows.into_iter().map(|(_, e)| e).collect(),
            next_after,
        })
    }

    async fn prune(&self, bounds: &Bounds, now: Timestamp) -> Result<PruneReport> {
        let bounds = *bounds;
        self.run(move |_, path, conn| prune(conn, path, &bounds, now))
            .await
    }
}
