//! The PostgreSQL schema, versioned in `crmgate_journal_schema`, and what PostgreSQL's errors
//! mean for a write.

use crmgate_core::journal::{JournalProblem, journal_error};
use crmgate_core::{Error, Result};
use deadpool_postgres::Object;

/// The schema, one script per version. Append new versions; never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: the entries
    "create table crmgate_journal (
         seq bigint generated always as identity primary key,
         entry_id text not null unique,
         crm text not null,
         scope text not null,
         batch_id text,
         at_ms bigint not null,
         entity text not null,
         record_id text,
         outcome text not null,
         undone_by text,
         bytes bigint not null,
         body jsonb not null
     );
     create index crmgate_journal_owner on crmgate_journal (crm, scope, seq);
     create index crmgate_journal_record on crmgate_journal (crm, scope, entity, record_id, seq);
     create index crmgate_journal_batch on crmgate_journal (crm, scope, batch_id, seq)
         where batch_id is not null;
     create index crmgate_journal_at on crmgate_journal (at_ms);
     create index crmgate_journal_size on crmgate_journal (bytes);",
];

/// Serialises migrations of replicas starting together (`pg_advisory_xact_lock`).
const MIGRATION_LOCK: i64 = 0x6372_6d67_6a6e_6c01; // "crmgjnl" 1

/// The schema version this build writes.
pub fn schema_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Bring the schema up to date, once per process (the caller caches success).
pub async fn migrate(client: &mut Object, location: &str) -> Result<()> {
    let err = |e: tokio_postgres::Error| pg_error(&e, location);
    let tx = client.transaction().await.map_err(err)?;
    tx.execute("select pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(err)?;
    tx.batch_execute(
        "create table if not exists crmgate_journal_schema (version integer not null)",
    )
    .await
    .map_err(err)?;
    let current: Option<i32> = tx
        .query_one("select max(version) from crmgate_journal_schema", &[])
        .await
        .map_err(err)?
        .get(0);
    let current = i64::from(current.unwrap_or(0));
    if current > schema_version() {
        tracing::warn!(
            "journal: {location} has schema version {current}, newer than this crmgate knows ({}); upgrade crmgate",
            schema_version()
        );
        return Err(journal_error(JournalProblem::Unavailable));
    }
    if current == schema_version() {
        return Ok(());
    }
    for script in MIGRATIONS.iter().skip(current as usize) {
        tx.batch_execute(script).await.map_err(err)?;
    }
    let version = schema_version() as i32;
    tx.execute("delete from crmgate_journal_schema", &[])
        .await
        .map_err(err)?;
    tx.execute(
        "insert into crmgate_journal_schema (version) values ($1)",
        &[&version],
    )
    .await
    .map_err(err)?;
    tx.commit().await.map_err(err)?;
    tracing::debug!("journal: {location} at schema version {version}");
    Ok(())
}

/// What a PostgreSQL error means for the write, logged with the database's location (the
/// error returned names neither it nor any credential).
pub fn pg_error(e: &tokio_postgres::Error, location: &str) -> Error {
    let problem = match e.code().map(|c| c.code()) {
        Some("53100") => JournalProblem::Full,
        Some("42501" | "25006") => JournalProblem::Unwritable,
        Some("40001" | "40P01" | "55P03") => JournalProblem::Busy,
        _ => JournalProblem::Unavailable,
    };
    match e.as_db_error() {
        Some(db) => tracing::warn!("journal: {location}: {} {}", db.code().code(), db.message()),
        None => tracing::warn!("journal: {location}: {e}"),
    }
    journal_error(problem)
}
