//! The PostgreSQL store: one table shared by every crmgate process that names the database
//! (hosted replicas), a small pool (deadpool), TLS unless the URL says `sslmode=disable`. The
//! schema is created on first use under an advisory lock, so replicas starting together
//! migrate once.

mod schema;

pub use schema::schema_version;

use crate::schedule::Schedule;
use crate::sql::{self, Param, Statement};
use crate::sqlite::{not_claimable, not_pending};
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
    /// A store in the database at `url`; nothing connects until first use.
    pub fn new(url: &SecretString, bounds: Bounds) -> Result<Self> {
        PgStore::with_prune_every(url, bounds, crate::schedule::PRUNE_EVERY)
    }

    /// [`PgStore::new`] pruning every `every` appended entries (tests).
    pub fn with_prune_every(url: &SecretString, bounds: Bounds, every: u64) -> Result<Self> {
        let config: tokio_postgres::Config = url.expose_secret().parse().map_err(|_| {
            Error::config("[journal] url is not a valid PostgreSQL URL (not shown)")
        })?;
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

    async fn insert(&self, entries: &[JournalEntry]) -> Result<()> {
        let rows = entries
            .iter()
            .map(sql::encode)
            .collect::<Result<Vec<_>>>()?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(|e| self.error(e))?;
        let stmt = tx
            .prepare_cached(sql::INSERT)
            .await
            .map_err(|e| self.error(e))?;
        for (entry, row) in entries.iter().zip(&rows) {
            let body = stored(entry);
            tx.execute(
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
            .map_err(|e| self.error(e))?;
        }
        tx.commit().await.map_err(|e| self.error(e))
    }
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
    let rows = client
        .query(&statement.sql, &refs)
        .await
        .map_err(|e| schema::pg_error(&e, location))?;
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
        self.insert(entries).await?;
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
        let rows = entries
            .iter()
            .map(sql::encode)
            .collect::<Result<Vec<_>>>()?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(|e| self.error(e))?;
        for (entry, row) in entries.iter().zip(&rows) {
            let body = stored(entry);
            let changed = tx
                .execute(
                    sql::COMPLETE,
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
                .map_err(|e| self.error(e))?;
            if changed == 0 {
                let state = state(&tx, &entry.owner(), &entry.entry_id, &self.location).await?;
                return Err(not_pending(state, &entry.entry_id));
            }
        }
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
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(|e| self.error(e))?;
        // READ COMMITTED: a concurrent claim of the same row waits for the first to commit,
        // then sees undone_by set and claims nothing
        for id in sql::claim_order(entry_ids) {
            let claimed = tx
                .execute(
                    sql::MARK_UNDONE,
                    &[&undone_by, &owner.crm, &owner.scope, &id],
                )
                .await
                .map_err(|e| self.error(e))?;
            if claimed == 0 {
                let state = state(&tx, owner, &id, &self.location).await?;
                return Err(not_claimable(state, &id));
            }
        }
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
        if let Some(max) = bounds.max_entries {
            let max = i64::try_from(max).unwrap_or(i64::MAX);
            removed += tx
                .execute(sql::PRUNE_COUNT, &[&max])
                .await
                .map_err(|e| self.error(e))?;
        }
        if let Some(max) = bounds.max_bytes {
            let max = i64::try_from(max).unwrap_or(i64::MAX);
            removed += tx
                .execute(sql::PRUNE_BYTES, &[&max])
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
