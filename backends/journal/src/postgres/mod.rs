//! The PostgreSQL store: one table shared by every crmgate process that names the database
//! (hosted replicas), a small pool (deadpool), TLS unless the URL says `sslmode=disable`. The
//! schema is created on first use under an advisory lock, so replicas starting together
//! migrate once.

mod schema;

pub use schema::schema_version;

use crate::prune::{SCAN_PAGE, Schedule, Totals};
use crate::sql::{self, Param, Row, Statement, not_claimable, not_pending};
use async_trait::async_trait;
use crmgate_core::journal::{
    Bounds, ExportPage, ExportQuery, HistoryPage, HistoryQuery, JournalEntry, JournalProblem,
    JournalStore, MAX_PAGE, Owner, PruneReport, Timestamp, entry_not_found, journal_error,
};
use crmgate_core::{Error, Result};
use deadpool_postgres::{
    GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime,
};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::types::{Json, ToSql};

/// Connections in the pool: writes are short, one per tool call.
const POOL_SIZE: usize = 4;
/// Session option of every journal connection (see [`PgStore::new`]).
const ASYNC_COMMIT: &str = "-c synchronous_commit=off";
/// Longest wait for a connection (and for connecting).
const CONNECT_WAIT: Duration = Duration::from_secs(5);

/// The PostgreSQL store.
pub struct PgStore {
    pool: Pool,
    location: String,
    bounds: Bounds,
    schedule: Schedule,
    migrated: OnceCell<()>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("location", &self.location)
            .field("bounds", &self.bounds)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// A store in the database at `url`; nothing connects until first use. Its sessions run
    /// with `synchronous_commit = off`: a commit does not wait for the disk, so a crash of the
    /// database server may lose the last moments of entries (never corrupt them).
    pub fn new(url: &SecretString, bounds: Bounds) -> Result<Self> {
        PgStore::with_prune_every(url, bounds, crate::prune::PRUNE_EVERY)
    }

    /// [`PgStore::new`] pruning every `every` appended entries (tests).
    pub fn with_prune_every(url: &SecretString, bounds: Bounds, every: u64) -> Result<Self> {
        let mut config: tokio_postgres::Config = url.expose_secret().parse().map_err(|_| {
            Error::config("[journal] url is not a valid PostgreSQL URL (not shown)")
        })?;
        // a commit returns before its WAL reaches the disk: a database crash may lose the last
        // fraction of a second of entries, never corrupt them (SQLite's synchronous = normal
        // makes the same trade); it halves the cost of a journaled write
        let options = match config.get_options() {
            Some(given) => format!("{given} {ASYNC_COMMIT}"),
            None => ASYNC_COMMIT.to_owned(),
        };
        config.options(options);
        let location = location(&config);
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = if config.get_ssl_mode() == SslMode::Disable {
            Manager::from_config(config, tokio_postgres::NoTls, manager_config)
        } else {
            Manager::from_config(config, tls()?, manager_config)
        };
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_WAIT))
            .create_timeout(Some(CONNECT_WAIT))
            .build()
            .map_err(|_| Error::config("could not build the journal's database pool"))?;
        Ok(PgStore {
            pool,
            location,
            bounds,
            schedule: Schedule::new(every),
            migrated: OnceCell::new(),
        })
    }

    /// A pooled connection to a database whose schema is up to date.
    async fn client(&self) -> Result<Object> {
        let mut client = self.pool.get().await.map_err(|e| {
            tracing::warn!("journal: cannot connect to {}: {e}", self.location);
            journal_error(JournalProblem::Unavailable)
        })?;
        self.migrated
            .get_or_try_init(|| schema::migrate(&mut client, &self.location))
            .await?;
        Ok(client)
    }

    fn error(&self, e: tokio_postgres::Error) -> Error {
        schema::pg_error(&e, &self.location)
    }

    async fn select(&self, statement: &Statement) -> Result<Vec<(i64, JournalEntry)>> {
        let client = self.client().await?;
        select(&client, statement, &self.location).await
    }
}

/// Insert `entries` through `client` (a connection or a transaction).
async fn insert_rows(
    client: &impl GenericClient,
    entries: &[JournalEntry],
    rows: &[Row],
    location: &str,
) -> Result<()> {
    let err = |e: tokio_postgres::Error| schema::pg_error(&e, location);
    let stmt = client.prepare_cached(sql::INSERT).await.map_err(err)?;
    for (entry, row) in entries.iter().zip(rows) {
        let body = stored(entry);
        client
            .execute(
                &stmt,
                &[
                    &entry.entry_id,
                    &entry.crm,
                    &entry.scope,
                    &entry.batch_id,
                    &entry.at.unix_ms(),
                    &entry.entity.name,
                    &entry.id,
                    &row.outcome,
                    &row.bytes,
                    &Json(&body),
                ],
            )
            .await
            .map_err(err)?;
    }
    Ok(())
}

/// Complete pending `entries` through `client`; the first that is not pending stops it.
async fn complete_rows(
    client: &impl GenericClient,
    entries: &[JournalEntry],
    rows: &[Row],
    location: &str,
) -> Result<()> {
    let err = |e: tokio_postgres::Error| schema::pg_error(&e, location);
    let stmt = client.prepare_cached(sql::COMPLETE).await.map_err(err)?;
    for (entry, row) in entries.iter().zip(rows) {
        let body = stored(entry);
        let changed = client
            .execute(
                &stmt,
                &[
                    &row.outcome,
                    &entry.id,
                    &row.bytes,
                    &Json(&body),
                    &entry.entry_id,
                    &entry.crm,
                    &entry.scope,
                ],
            )
            .await
            .map_err(err)?;
        if changed == 0 {
            let state = state(client, &entry.owner(), &entry.entry_id, location).await?;
            return Err(not_pending(state, &entry.entry_id));
        }
    }
    Ok(())
}

/// Claim `ids` (sorted) for `undone_by` through `client`; the first that cannot be claimed
/// stops it.
async fn claim_rows(
    client: &impl GenericClient,
    owner: &Owner,
    ids: &[String],
    undone_by: &str,
    location: &str,
) -> Result<()> {
    let err = |e: tokio_postgres::Error| schema::pg_error(&e, location);
    let stmt = client.prepare_cached(sql::MARK_UNDONE).await.map_err(err)?;
    // READ COMMITTED: a concurrent claim of the same row waits for the first to commit, then
    // sees undone_by set and claims nothing
    for id in ids {
        let claimed = client
            .execute(&stmt, &[&undone_by, &owner.crm, &owner.scope, id])
            .await
            .map_err(err)?;
        if claimed == 0 {
            let state = state(client, owner, id, location).await?;
            return Err(not_claimable(state, id));
        }
    }
    Ok(())
}

fn encode(entries: &[JournalEntry]) -> Result<Vec<Row>> {
    entries.iter().map(sql::encode).collect()
}

/// The entry as `body` holds it (its `undone_by` is the column's).
fn stored(entry: &JournalEntry) -> JournalEntry {
    let mut body = entry.clone();
    body.undone_by = None;
    body
}

fn params(params: &[Param]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    params
        .iter()
        .map(|p| -> Box<dyn ToSql + Sync + Send> {
            match p {
                Param::Text(s) => Box::new(s.clone()),
                Param::Int(i) => Box::new(*i),
            }
        })
        .collect()
}

async fn select(
    client: &impl GenericClient,
    statement: &Statement,
    location: &str,
) -> Result<Vec<(i64, JournalEntry)>> {
    let boxed = params(&statement.params);
    let refs: Vec<&(dyn ToSql + Sync)> = boxed.iter().map(|b| &**b as _).collect();
    let err = |e: tokio_postgres::Error| schema::pg_error(&e, location);
    let prepared = client.prepare_cached(&statement.sql).await.map_err(err)?;
    let rows = client.query(&prepared, &refs).await.map_err(err)?;
    rows.into_iter()
        .map(|row| {
            let seq: i64 = row.try_get(0).map_err(|e| schema::pg_error(&e, location))?;
            let body: serde_json::Value =
                row.try_get(1).map_err(|e| schema::pg_error(&e, location))?;
            let undone_by: Option<String> =
                row.try_get(2).map_err(|e| schema::pg_error(&e, location))?;
            Ok((seq, sql::decode_value(body, undone_by)?))
        })
        .collect()
}

async fn state(
    client: &impl GenericClient,
    owner: &Owner,
    entry_id: &str,
    location: &str,
) -> Result<Option<(String, Option<String>)>> {
    let row = client
        .query_opt(sql::STATE, &[&owner.crm, &owner.scope, &entry_id])
        .await
        .map_err(|e| schema::pg_error(&e, location))?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

#[async_trait]
impl JournalStore for PgStore {
    fn location(&self) -> String {
        self.location.clone()
    }

    async fn append(&self, entries: &[JournalEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let rows = encode(entries)?;
        let mut client = self.client().await?;
        if entries.len() == 1 {
            // one statement is atomic by itself: no BEGIN and COMMIT round trips
            insert_rows(&client, entries, &rows, &self.location).await?;
        } else {
            let tx = client.transaction().await.map_err(|e| self.error(e))?;
            insert_rows(&tx, entries, &rows, &self.location).await?;
            tx.commit().await.map_err(|e| self.error(e))?;
        }
        drop(client);
        if self.schedule.due(entries.len())
            && let Err(e) = self.prune(&self.bounds, Timestamp::now()).await
        {
            tracing::warn!("journal: prune failed: {}", e.message);
        }
        Ok(())
    }

    async fn complete(&self, entries: &[JournalEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let rows = encode(entries)?;
        let mut client = self.client().await?;
        if entries.len() == 1 {
            // one statement is atomic by itself: no BEGIN and COMMIT round trips
            return complete_rows(&client, entries, &rows, &self.location).await;
        }
        let tx = client.transaction().await.map_err(|e| self.error(e))?;
        complete_rows(&tx, entries, &rows, &self.location).await?;
        tx.commit().await.map_err(|e| self.error(e))
    }

    async fn list(&self, owner: &Owner, query: &HistoryQuery) -> Result<HistoryPage> {
        let start = query.start(owner)?;
        let limit = query.page_size();
        let mut rows = self
            .select(&sql::history(owner, query, start, limit))
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
        self.select(&statement)
            .await?
            .into_iter()
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
        let mut client = self.client().await?;
        if ids.len() == 1 {
            return claim_rows(&client, owner, &ids, undone_by, &self.location).await;
        }
        let tx = client.transaction().await.map_err(|e| self.error(e))?;
        claim_rows(&tx, owner, &ids, undone_by, &self.location).await?;
        tx.commit().await.map_err(|e| self.error(e))
    }

    async fn clear_undone(
        &self,
        owner: &Owner,
        entry_ids: &[String],
        undone_by: &str,
    ) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(|e| self.error(e))?;
        for id in sql::claim_order(entry_ids) {
            tx.execute(
                sql::CLEAR_UNDONE,
                &[&undone_by, &owner.crm, &owner.scope, &id],
            )
            .await
            .map_err(|e| self.error(e))?;
        }
        tx.commit().await.map_err(|e| self.error(e))
    }

    async fn export(&self, query: &ExportQuery) -> Result<ExportPage> {
        let limit = query.limit.clamp(1, MAX_PAGE);
        let mut rows = self.select(&sql::export(query, limit)).await?;
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
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(|e| self.error(e))?;
        let mut removed = 0;
        if let Some(age) = bounds.max_age {
            removed += tx
                .execute(sql::PRUNE_AGE, &[&now.minus(age).unix_ms()])
                .await
                .map_err(|e| self.error(e))?;
        }
        let row = tx
            .query_one(sql::TOTALS, &[])
            .await
            .map_err(|e| self.error(e))?;
        let totals = Totals {
            count: row.get(0),
            bytes: row.get(1),
        };
        let mut cut = None;
        if let Some(offset) = totals.count_cut(bounds) {
            cut = tx
                .query_opt(sql::NTH_OLDEST, &[&offset])
                .await
                .map_err(|e| self.error(e))?
                .map(|row| row.get::<_, i64>(0));
        }
        if let Some(mut scan) = totals.size_scan(bounds) {
            let by_size = loop {
                let page: Vec<(i64, i64)> = tx
                    .query(sql::OLDEST_SIZES, &[&scan.after(), &SCAN_PAGE])
                    .await
                    .map_err(|e| self.error(e))?
                    .iter()
                    .map(|row| (row.get(0), row.get(1)))
                    .collect();
                if let Some(seq) = scan.feed(&page) {
                    break Some(seq);
                }
                if page.is_empty() {
                    break None;
                }
            };
            cut = cut.max(by_size);
        }
        if let Some(seq) = cut {
            removed += tx
                .execute(sql::DELETE_UP_TO, &[&seq])
                .await
                .map_err(|e| self.error(e))?;
        }
        tx.commit().await.map_err(|e| self.error(e))?;
        Ok(PruneReport { removed })
    }
}

/// `postgresql host:port/db` — never the user or password.
fn location(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or("(default database)");
    format!("postgresql {host}:{port}/{db}")
}

/// TLS with the platform's trusted roots.
fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| Error::config("could not set up TLS for the journal's database"))?
        .with_platform_verifier()
        .map_err(|_| Error::config("could not load the system's trusted certificates"))?
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}
