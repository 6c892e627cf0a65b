//! The postgres transport: a direct connection (tokio-postgres + deadpool) as a login role
//! that can only become `authenticated`. Before first use the role is vetted ([`vet`]): a
//! superuser, a BYPASSRLS role, an owner of the CRM tables, a member of a predefined role that
//! reads or writes all data or server files, or a role that can become one of those is
//! refused. Every call is one transaction that sets, with `SET LOCAL` semantics,
//! `role = authenticated`, the caller's verified claims (so `auth.uid()` and RLS apply), the
//! statement timeout and UTC; reads are READ ONLY. The transaction goes out as one pipelined
//! batch ([`pipeline`]): one round trip per call once the connection's fixed statements are
//! prepared (cached per connection); crmgate's generated statements are sent unnamed with
//! typed parameters, so they need no preparing round trip either. crm_query lives in
//! [`query`].
//!
//! A [`FairQueue`] stands in front of the pool: one caller (by the token's `sub`) holds at most
//! half the connections, and a freed connection goes to the next caller in turn, so a caller
//! running slow queries cannot time everyone else out.

mod pipeline;
mod query;
pub mod sql;
mod vet;

use super::{Caller, Column, Cond, Row, Rows, Select, Store};
use crate::errors::{Context, DbError, map_db_error};
use crate::sql_guard::SqlGuard;
use async_trait::async_trait;
use crmgate_core::model::SqlResult;
use crmgate_core::{Error, ErrorCode, Result};
use crmgate_shared::{FairPermit, FairQueue, QueueError};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use futures::{FutureExt, TryStreamExt};
use pipeline::{End, Out, Step, transaction};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;
use tokio_postgres::config::SslMode;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Statement};

/// Tuning of the postgres transport.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Statement timeout set in every transaction.
    pub statement_timeout: Duration,
    /// Most bytes of crm_query results returned.
    pub query_max_bytes: usize,
    /// Connections in the pool; one caller holds at most half of them (at least one).
    pub pool_size: usize,
    /// PEM file of the CA that signed the server's certificate (Supabase's own CA).
    pub ssl_root_cert: Option<std::path::PathBuf>,
    /// crm_query's guard (its allow-list of functions).
    pub guard: SqlGuard,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            statement_timeout: Duration::from_secs(8),
            query_max_bytes: 1024 * 1024,
            pool_size: 8,
            ssl_root_cert: None,
            guard: SqlGuard::default(),
        }
    }
}

/// The postgres transport.
pub struct PgStore {
    pool: Pool,
    queue: FairQueue,
    vetted: OnceCell<()>,
    options: PgOptions,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// A pool for `database_url`; connects on first use.
    pub fn new(database_url: &SecretString, options: PgOptions) -> Result<Self> {
        let config: tokio_postgres::Config =
            database_url.expose_secret().parse().map_err(|_| {
                Error::config(
                    "database_url is not a valid PostgreSQL connection string \
                 (postgresql://USER:PASSWORD@HOST:5432/postgres?sslmode=require)",
                )
            })?;
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = if config.get_ssl_mode() == SslMode::Disable {
            Manager::from_config(config, tokio_postgres::NoTls, manager_config)
        } else {
            Manager::from_config(
                config,
                tls(options.ssl_root_cert.as_deref())?,
                manager_config,
            )
        };
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|_| Error::config("could not build the database connection pool"))?;
        let size = options.pool_size.max(1);
        Ok(PgStore {
            pool,
            queue: FairQueue::new(size, per_caller_connections(size), MAX_WAITING_PER_CALLER),
            vetted: OnceCell::new(),
            options,
        })
    }

    /// A pooled connection whose login role has been vetted, taken in `caller`'s turn of the
    /// fair queue (the permit goes back when the returned value is dropped).
    async fn client(&self, caller: &Caller) -> Result<Leased> {
        let permit =
            match tokio::time::timeout(QUEUE_WAIT, self.queue.acquire(&caller.claims.sub)).await {
                Ok(Ok(permit)) => permit,
                Ok(Err(QueueError::Full)) => {
                    return Err(Error::new(
                        ErrorCode::RateLimited,
                        "you have too many database calls waiting already",
                        "wait for your running calls to finish (retry_after_s), then try again",
                    )
                    .with_retry_after(1));
                }
                Ok(Err(QueueError::Closed)) | Err(_) => return Err(queue_timeout()),
            };
        let client = self.pool.get().await.map_err(pool_error)?;
        self.vetted.get_or_try_init(|| vet::vet(&client)).await?;
        Ok(Leased {
            client,
            _permit: permit,
        })
    }

    /// The caller's session settings for a transaction on `client`: the statement prepared
    /// once per connection, with the caller's values.
    async fn acting(&self, client: &Object, caller: &Caller, session: Session) -> Result<Acting> {
        let statement = client
            .prepare_cached(session.sql())
            .await
            .map_err(records_error)?;
        Ok(Acting {
            statement,
            claims: Value::Object(caller.claims.raw.clone()).to_string(),
            sub: caller.claims.sub.clone(),
            timeout: self
                .options
                .statement_timeout
                .as_millis()
                .max(1)
                .to_string(),
        })
    }

    /// One transaction acting as the caller, sent as one batch: the steps' outputs.
    async fn run<'c>(
        &self,
        client: &'c Client,
        acting: &'c Acting,
        read_only: bool,
        steps: Vec<Step<'c>>,
    ) -> Result<Vec<Out>> {
        let end = if read_only {
            End::Rollback
        } else {
            End::Commit
        };
        transaction(client, read_only, acting.step(client), steps, end)
            .await
            .outputs()
            .map_err(|e| {
                if read_only {
                    records_error(e)
                } else {
                    commit_error(e)
                }
            })
    }
}

/// How long a call waits for its turn at a connection.
const QUEUE_WAIT: Duration = Duration::from_secs(10);
/// Calls of one caller waiting for a connection at once.
const MAX_WAITING_PER_CALLER: usize = 32;

/// Connections one caller may hold of a pool of `size`: half, at least one.
fn per_caller_connections(size: usize) -> usize {
    (size / 2).max(1)
}

/// A pooled connection and the caller's fair-queue permit (returned after the connection).
struct Leased {
    client: Object,
    _permit: FairPermit,
}

impl std::ops::Deref for Leased {
    type Target = Object;

    fn deref(&self) -> &Object {
        &self.client
    }
}

fn queue_timeout() -> Error {
    Error::new(
        ErrorCode::UpstreamTimeout,
        "timed out waiting for a database connection (other calls hold them)",
        "try again; if it persists, raise pool_size or check the database",
    )
}

/// Which session settings a transaction gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Session {
    /// crmgate's own statements.
    Records,
    /// crm_query: also `search_path` pinned to `pg_catalog`, so every unqualified function,
    /// operator and type the statement names resolves to a built-in.
    Query,
}

/// The settings every transaction starts with, as `SET LOCAL` does (undone at its end).
const SESSION_SQL: &str = "select pg_catalog.set_config('role', 'authenticated', true), \
     pg_catalog.set_config('request.jwt.claims', $1, true), \
     pg_catalog.set_config('request.jwt.claim.sub', $2, true), \
     pg_catalog.set_config('request.jwt.claim.role', 'authenticated', true), \
     pg_catalog.set_config('statement_timeout', $3, true), \
     pg_catalog.set_config('TimeZone', 'UTC', true)";

const QUERY_SESSION_SQL: &str = "select pg_catalog.set_config('role', 'authenticated', true), \
     pg_catalog.set_config('request.jwt.claims', $1, true), \
     pg_catalog.set_config('request.jwt.claim.sub', $2, true), \
     pg_catalog.set_config('request.jwt.claim.role', 'authenticated', true), \
     pg_catalog.set_config('statement_timeout', $3, true), \
     pg_catalog.set_config('TimeZone', 'UTC', true), \
     pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true)";

impl Session {
    fn sql(self) -> &'static str {
        match self {
            Session::Records => SESSION_SQL,
            Session::Query => QUERY_SESSION_SQL,
        }
    }
}

/// The session settings of one transaction.
struct Acting {
    statement: Statement,
    claims: String,
    sub: String,
    timeout: String,
}

impl Acting {
    fn step<'c>(&'c self, client: &'c Client) -> Step<'c> {
        prepared(
            client,
            &self.statement,
            vec![&self.claims, &self.sub, &self.timeout],
        )
    }
}

/// A step running a statement prepared on this connection.
fn prepared<'c>(
    client: &'c Client,
    statement: &'c Statement,
    params: Vec<&'c (dyn ToSql + Sync)>,
) -> Step<'c> {
    async move {
        let stream = client.query_raw(statement, params).await?;
        Ok(Out::Rows(stream.try_collect().await?))
    }
    .boxed()
}

/// A step running generated SQL unnamed, with typed parameters: parse, bind and execute in
/// one message, no preparing round trip.
fn typed<'c>(
    client: &'c Client,
    sql: &'c str,
    params: Vec<(&'c (dyn ToSql + Sync), Type)>,
) -> Step<'c> {
    async move {
        let stream = client.query_typed_raw(sql, params).await?;
        Ok(Out::Rows(stream.try_collect().await?))
    }
    .boxed()
}

/// Text parameters, as every generated condition takes them.
fn text_params(params: &[String]) -> Vec<(&(dyn ToSql + Sync), Type)> {
    params
        .iter()
        .map(|p| (p as &(dyn ToSql + Sync), Type::TEXT))
        .collect()
}

fn json_rows(rows: Vec<tokio_postgres::Row>) -> Result<Vec<Row>> {
    rows.into_iter()
        .map(|r| match r.try_get::<_, Value>(0) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(Error::upstream_protocol(
                "the database returned a row that is not an object",
            )),
        })
        .collect()
}

/// The rows of the only (or first) output.
fn first(outputs: Vec<Out>) -> Vec<tokio_postgres::Row> {
    outputs
        .into_iter()
        .next()
        .map(Out::rows)
        .unwrap_or_default()
}

// The fixed statements name every function and operator with its schema, like the generated
// ones (`sql`): they are prepared with the login role's own search_path.

const CATALOG_SQL: &str = "select c.table_name::text, c.column_name::text, c.data_type::text, \
     c.udt_name::text, c.is_nullable::text operator(pg_catalog.=) 'YES', \
     (c.column_default is not null or c.is_identity::text operator(pg_catalog.=) 'YES' \
      or c.is_generated::text operator(pg_catalog.=) 'ALWAYS') \
     from information_schema.columns c \
     where c.table_schema::text operator(pg_catalog.=) 'public' \
       and c.table_name::text operator(pg_catalog.=) any($1::text[]) \
     order by c.table_name, c.ordinal_position";

const CONFIGURATION_READABLE_SQL: &str = "select coalesce((select \
     pg_catalog.has_table_privilege(c.oid, 'select') \
     from pg_catalog.pg_class c join pg_catalog.pg_namespace n \
       on n.oid operator(pg_catalog.=) c.relnamespace \
     where n.nspname::text operator(pg_catalog.=) 'public' \
       and c.relname::text operator(pg_catalog.=) 'configuration'), false)";

const CONFIGURATION_SQL: &str =
    "select config::jsonb from public.configuration where id operator(pg_catalog.=) 1";

#[async_trait]
impl Store for PgStore {
    async fn select(&self, caller: &Caller, select: &Select<'_>) -> Result<Rows> {
        let (rows_sql, count_sql, params) = sql::select(select);
        let client = self.client(caller).await?;
        let acting = self.acting(&client, caller, Session::Records).await?;
        let p = text_params(&params.0);
        let mut steps = vec![typed(&client, &rows_sql, p.clone())];
        if let Some(count) = &count_sql {
            steps.push(typed(&client, count, p));
        }
        let mut outputs = self.run(&client, &acting, true, steps).await?.into_iter();
        let rows = outputs.next().map(Out::rows).unwrap_or_default();
        let total = match outputs.next().map(Out::rows) {
            Some(count) => {
                let row = count
                    .first()
                    .ok_or_else(|| Error::upstream_protocol("the count returned no row"))?;
                Some(row.try_get::<_, i64>(0).map_err(records_error)?.max(0) as u64)
            }
            None => None,
        };
        Ok(Rows {
            rows: json_rows(rows)?,
            total,
        })
    }

    async fn insert(&self, caller: &Caller, table: &str, row: &Row) -> Result<Row> {
        let (statement, params) = if row.is_empty() {
            (
                format!(
                    "insert into {} as t default values returning pg_catalog.to_jsonb(t)",
                    sql::relation(table)
                ),
                false,
            )
        } else {
            (sql::insert(table, row), true)
        };
        let value = Value::Object(row.clone());
        let client = self.client(caller).await?;
        let acting = self.acting(&client, caller, Session::Records).await?;
        let p: Vec<(&(dyn ToSql + Sync), Type)> = if params {
            vec![(&value, Type::JSONB)]
        } else {
            Vec::new()
        };
        let outputs = self
            .run(&client, &acting, false, vec![typed(&client, &statement, p)])
            .await?;
        json_rows(first(outputs))?
            .pop()
            .ok_or_else(|| Error::upstream_protocol("the insert returned no row"))
    }

    async fn update(
        &self,
        caller: &Caller,
        table: &str,
        filter: &[Cond],
        row: &Row,
    ) -> Result<Vec<Row>> {
        let (statement, params) = sql::update(table, filter, row);
        let value = Value::Object(row.clone());
        let mut p: Vec<(&(dyn ToSql + Sync), Type)> = vec![(&value, Type::JSONB)];
        p.extend(text_params(&params.0[1..]));
        let client = self.client(caller).await?;
        let acting = self.acting(&client, caller, Session::Records).await?;
        let outputs = self
            .run(&client, &acting, false, vec![typed(&client, &statement, p)])
            .await?;
        json_rows(first(outputs))
    }

    async fn delete(&self, caller: &Caller, table: &str, filter: &[Cond]) -> Result<u64> {
        let (statement, params) = sql::delete(table, filter);
        let client = self.client(caller).await?;
        let acting = self.acting(&client, caller, Session::Records).await?;
        let step = typed(&client, &statement, text_params(&params.0));
        let outputs = self.run(&client, &acting, false, vec![step]).await?;
        Ok(first(outputs).len() as u64)
    }

    async fn catalog(&self, caller: &Caller, relations: &[&str]) -> Result<Option<Vec<Column>>> {
        let names: Vec<String> = relations.iter().map(|r| (*r).to_owned()).collect();
        let client = self.client(caller).await?;
        let (acting, catalog) = futures::try_join!(
            self.acting(&client, caller, Session::Records),
            client
                .prepare_cached(CATALOG_SQL)
                .map(|r| r.map_err(records_error)),
        )?;
        let step = prepared(&client, &catalog, vec![&names]);
        let rows = first(self.run(&client, &acting, true, vec![step]).await?);
        let columns = rows
            .iter()
            .map(|r| -> std::result::Result<Column, tokio_postgres::Error> {
                Ok(Column {
                    relation: r.try_get(0)?,
                    name: r.try_get(1)?,
                    data_type: r.try_get(2)?,
                    udt: r.try_get(3)?,
                    nullable: r.try_get(4)?,
                    has_default: r.try_get(5)?,
                })
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(records_error)?;
        Ok(Some(columns))
    }

    async fn configuration(&self, caller: &Caller) -> Result<Option<Value>> {
        let client = self.client(caller).await?;
        let (acting, readable) = futures::try_join!(
            self.acting(&client, caller, Session::Records),
            client
                .prepare_cached(CONFIGURATION_READABLE_SQL)
                .map(|r| r.map_err(records_error)),
        )?;
        // both in one batch; the row is read only when the table is there and readable (its
        // error, when it is not, is then not the caller's concern)
        let steps = vec![
            prepared(&client, &readable, Vec::new()),
            typed(&client, CONFIGURATION_SQL, Vec::new()),
        ];
        let mut answers =
            transaction(&client, true, acting.step(&client), steps, End::Rollback).await;
        answers.opened().map_err(records_error)?;
        let mut steps = std::mem::take(&mut answers.steps).into_iter();
        let exists = steps
            .next()
            .unwrap_or(Ok(Out::Done))
            .map_err(records_error)?
            .rows()
            .first()
            .map(|r| r.try_get::<_, bool>(0))
            .transpose()
            .map_err(records_error)?
            .unwrap_or(false);
        if !exists {
            return Ok(None);
        }
        let rows = steps
            .next()
            .unwrap_or(Ok(Out::Done))
            .map_err(records_error)?
            .rows();
        rows.first()
            .map(|r| r.try_get::<_, Value>(0))
            .transpose()
            .map_err(records_error)
    }

    async fn sql(&self, caller: &Caller, sql: &str, limit: usize) -> Result<SqlResult> {
        let checked = self.options.guard.check(sql)?;
        query::run(self, caller, &checked.sql, limit).await
    }
}

/// The TLS connector: the platform's roots, or only the CA in `root_cert` (hosted Supabase's
/// database certificates are signed by Supabase's own CA, downloadable from the dashboard).
fn tls(root_cert: Option<&Path>) -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    use rustls::ClientConfig;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| Error::config("could not set up TLS for the database connection"))?;
    let config = match root_cert {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|_| {
                Error::config(format!("ssl_root_cert: cannot read {}", path.display()))
            })?;
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|_| {
                    Error::config(format!(
                        "ssl_root_cert: {} is not a PEM certificate",
                        path.display()
                    ))
                })?;
                roots.add(cert).map_err(|_| {
                    Error::config(format!(
                        "ssl_root_cert: {} holds an unusable certificate",
                        path.display()
                    ))
                })?;
            }
            if roots.is_empty() {
                return Err(Error::config(format!(
                    "ssl_root_cert: {} holds no certificate",
                    path.display()
                )));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => {
            use rustls_platform_verifier::BuilderVerifierExt;
            builder
                .with_platform_verifier()
                .map_err(|_| Error::config("could not load the system's trusted certificates"))?
                .with_no_client_auth()
        }
    };
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// A failed write transaction. Its statements and `COMMIT` leave in one pipelined batch, so:
/// the database's own refusal (a constraint, a policy) rolled it back; a connection that broke
/// once the batch was on its way leaves the outcome unknown; any other driver error (e.g. a
/// value the driver could not encode) happened before anything was sent.
fn commit_error(e: tokio_postgres::Error) -> Error {
    let broke =
        e.is_closed() || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
    if e.as_db_error().is_some() || !broke {
        return records_error(e);
    }
    Error::outcome_unknown(
        "the database connection broke while the write was being committed; it may or may not \
         have been applied",
        "do not repeat the write blindly: read the record (or search for it) first",
    )
}

/// A driver error from crmgate's own statements.
pub(crate) fn records_error(e: tokio_postgres::Error) -> Error {
    driver_error(e, Context::Records)
}

pub(crate) fn driver_error(e: tokio_postgres::Error, context: Context) -> Error {
    match e.as_db_error() {
        Some(db) => map_db_error(
            DbError {
                code: db.code().code(),
                message: db.message(),
                detail: db.detail(),
            },
            context,
        ),
        None if e.is_closed() => unavailable("the database connection was closed"),
        None if io_failure(&e) => unavailable("the database connection failed"),
        // the driver refused the exchange itself (a value it cannot encode or decode): not
        // the network's fault, and retrying will not help
        None => Error::upstream_protocol(format!("the database exchange failed: {e}")),
    }
}

/// Whether the driver error comes from the connection (I/O) rather than from the exchange.
fn io_failure(e: &tokio_postgres::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

fn unavailable(what: &str) -> Error {
    Error::new(
        ErrorCode::UpstreamUnavailable,
        what,
        "check that the database is up and reachable (host, port, IPv6/pooler), then try again",
    )
}

fn pool_error(e: deadpool_postgres::PoolError) -> Error {
    use deadpool_postgres::PoolError;
    match e {
        PoolError::Backend(e) => match e.as_db_error() {
            Some(_) => records_error(e),
            None => unavailable("could not connect to the database"),
        },
        PoolError::Timeout(_) => Error::new(
            ErrorCode::UpstreamTimeout,
            "timed out waiting for a database connection",
            "try again; if it persists, raise pool_size or check the database",
        ),
        _ => unavailable("the database connection pool failed"),
    }
}

#[cfg(test)]
mod tests;
