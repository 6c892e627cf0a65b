//! The postgres transport: a direct connection (tokio-postgres + deadpool) as a login role
//! that can only become `authenticated`. Before first use the role is vetted ([`vet`]): a
//! superuser, a BYPASSRLS role, an owner of the CRM tables, or a role that can become one of
//! those is refused. Every call is one transaction that sets, with `SET LOCAL` semantics,
//! `role = authenticated`, the caller's verified claims (so `auth.uid()` and RLS apply), the
//! statement timeout and UTC; reads are READ ONLY. crm_query lives in [`query`].

mod query;
pub mod sql;
mod vet;

use super::{Caller, Column, Cond, Row, Rows, Select, Store};
use crate::errors::{Context, DbError, map_db_error};
use async_trait::async_trait;
use crmgate_core::model::SqlResult;
use crmgate_core::{Error, ErrorCode, Result};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;
use tokio_postgres::config::SslMode;
use tokio_postgres::types::ToSql;

/// Tuning of the postgres transport.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Statement timeout set in every transaction.
    pub statement_timeout: Duration,
    /// Most bytes of crm_query results returned.
    pub query_max_bytes: usize,
    /// Connections in the pool.
    pub pool_size: usize,
    /// PEM file of the CA that signed the server's certificate (Supabase's own CA).
    pub ssl_root_cert: Option<std::path::PathBuf>,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            statement_timeout: Duration::from_secs(8),
            query_max_bytes: 1024 * 1024,
            pool_size: 4,
            ssl_root_cert: None,
        }
    }
}

/// The postgres transport.
pub struct PgStore {
    pool: Pool,
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
        Ok(PgStore {
            pool,
            vetted: OnceCell::new(),
            options,
        })
    }

    /// A pooled connection whose login role has been vetted.
    async fn client(&self) -> Result<Object> {
        let client = self.pool.get().await.map_err(pool_error)?;
        self.vetted.get_or_try_init(|| vet::vet(&client)).await?;
        Ok(client)
    }

    /// Begin a transaction acting as the caller.
    async fn begin<'c>(
        &self,
        client: &'c mut Object,
        caller: &Caller,
        read_only: bool,
    ) -> Result<deadpool_postgres::Transaction<'c>> {
        let tx = client
            .build_transaction()
            .read_only(read_only)
            .start()
            .await
            .map_err(records_error)?;
        let claims = Value::Object(caller.claims.raw.clone()).to_string();
        let timeout = self
            .options
            .statement_timeout
            .as_millis()
            .max(1)
            .to_string();
        tx.execute(
            "select set_config('role', 'authenticated', true), \
                    set_config('request.jwt.claims', $1::text, true), \
                    set_config('request.jwt.claim.sub', $2::text, true), \
                    set_config('request.jwt.claim.role', 'authenticated', true), \
                    set_config('statement_timeout', $3::text, true), \
                    set_config('TimeZone', 'UTC', true)",
            &[&claims, &caller.claims.sub, &timeout],
        )
        .await
        .map_err(records_error)?;
        Ok(tx)
    }
}

fn text_params(params: &[String]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
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

#[async_trait]
impl Store for PgStore {
    async fn select(&self, caller: &Caller, select: &Select<'_>) -> Result<Rows> {
        let (rows_sql, count_sql, params) = sql::select(select);
        let mut client = self.client().await?;
        let tx = self.begin(&mut client, caller, true).await?;
        let p = text_params(&params.0);
        let rows = tx.query(&rows_sql, &p).await.map_err(records_error)?;
        let total = match count_sql {
            Some(count) => {
                let row = tx.query_one(&count, &p).await.map_err(records_error)?;
                Some(row.try_get::<_, i64>(0).map_err(records_error)?.max(0) as u64)
            }
            None => None,
        };
        tx.rollback().await.map_err(records_error)?;
        Ok(Rows {
            rows: json_rows(rows)?,
            total,
        })
    }

    async fn insert(&self, caller: &Caller, table: &str, row: &Row) -> Result<Row> {
        let statement = if row.is_empty() {
            format!(
                "insert into {} as t default values returning to_jsonb(t)",
                sql::relation(table)
            )
        } else {
            sql::insert(table, row)
        };
        let value = Value::Object(row.clone());
        let mut client = self.client().await?;
        let tx = self.begin(&mut client, caller, false).await?;
        let rows = if row.is_empty() {
            tx.query(&statement, &[]).await
        } else {
            tx.query(&statement, &[&value]).await
        }
        .map_err(records_error)?;
        tx.commit().await.map_err(commit_error)?;
        json_rows(rows)?
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
        let mut p: Vec<&(dyn ToSql + Sync)> = vec![&value];
        p.extend(text_params(&params.0[1..]));
        let mut client = self.client().await?;
        let tx = self.begin(&mut client, caller, false).await?;
        let rows = tx.query(&statement, &p).await.map_err(records_error)?;
        tx.commit().await.map_err(commit_error)?;
        json_rows(rows)
    }

    async fn delete(&self, caller: &Caller, table: &str, filter: &[Cond]) -> Result<u64> {
        let (statement, params) = sql::delete(table, filter);
        let mut client = self.client().await?;
        let tx = self.begin(&mut client, caller, false).await?;
        let rows = tx
            .query(&statement, &text_params(&params.0))
            .await
            .map_err(records_error)?;
        tx.commit().await.map_err(commit_error)?;
        Ok(rows.len() as u64)
    }

    async fn catalog(&self, caller: &Caller, relations: &[&str]) -> Result<Option<Vec<Column>>> {
        let names: Vec<String> = relations.iter().map(|r| (*r).to_owned()).collect();
        let mut client = self.client().await?;
        let tx = self.begin(&mut client, caller, true).await?;
        let rows = tx
            .query(
                "select c.table_name::text, c.column_name::text, c.data_type::text, c.udt_name::text, \
                        c.is_nullable = 'YES', \
                        (c.column_default is not null or c.is_identity = 'YES' or c.is_generated = 'ALWAYS') \
                 from information_schema.columns c \
                 where c.table_schema = 'public' and c.table_name = any($1::text[]) \
                 order by c.table_name, c.ordinal_position",
                &[&names],
            )
            .await
            .map_err(records_error)?;
        tx.rollback().await.map_err(records_error)?;
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
        let mut client = self.client().await?;
        let tx = self.begin(&mut client, caller, true).await?;
        let exists = tx
            .query_one(
                "select coalesce((select has_table_privilege(c.oid, 'select') \
                 from pg_class c join pg_namespace n on n.oid = c.relnamespace \
                 where n.nspname = 'public' and c.relname = 'configuration'), false)",
                &[],
            )
            .await
            .map_err(records_error)?
            .try_get::<_, bool>(0)
            .map_err(records_error)?;
        let config = if exists {
            tx.query_opt(
                "select config::jsonb from public.configuration where id = 1",
                &[],
            )
            .await
            .map_err(records_error)?
            .map(|r| r.try_get::<_, Value>(0))
            .transpose()
            .map_err(records_error)?
        } else {
            None
        };
        tx.rollback().await.map_err(records_error)?;
        Ok(config)
    }

    async fn sql(&self, caller: &Caller, sql: &str, limit: usize) -> Result<SqlResult> {
        let statement = crate::sql_guard::check(sql)?;
        query::run(self, caller, statement, limit).await
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

/// A failed `COMMIT` of a write: the database's own refusal (a deferred constraint) rolled it
/// back; a connection that broke once the `COMMIT` was sent leaves the outcome unknown. (A
/// connection that breaks before the `COMMIT` rolls the transaction back: nothing happened.)
fn commit_error(e: tokio_postgres::Error) -> Error {
    if e.as_db_error().is_some() {
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
        None => unavailable("the database connection failed"),
    }
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
