//! crmgate-journal: where the change journal is kept.
//!
//! The journal's data model and the [`JournalStore`] contract are in
//! [`crmgate_core::journal`]; this crate has the stores and what configures them:
//!
//! - [`config`]: `[journal]` ([`JournalConfig`] as written, [`JournalSettings`] checked).
//! - [`sqlite`]: the default store, a SQLite file in the user's data directory (WAL, opened on
//!   first use, blocking work on tokio's blocking pool).
//! - [`postgres`]: one table in a PostgreSQL database, shared by hosted replicas.
//! - [`export`]: the operator's JSON-lines export.
//!
//! Both stores keep the same table (`crmgate_journal`, see [`sql`]), migrate their schema by
//! version, and prune on their first append and then every few hundred appended entries
//! ([`prune`]) to the configured [`Bounds`](crmgate_core::journal::Bounds).
//!
//! ```no_run
//! # async fn demo() -> crmgate_core::Result<()> {
//! use crmgate_core::journal::{Change, EntityRef, JournalEntry, Owner, HistoryQuery};
//! use crmgate_core::CallContext;
//! let store = crmgate_journal::open(&Default::default())?.expect("enabled by default");
//! let owner = Owner::new("demo", &CallContext::configured());
//! let entity = EntityRef { name: "deals".into(), native: "deals".into() };
//! let before = serde_json::json!({"stage": "open"});
//! let entry = JournalEntry::pending(&owner, "crm_update", &serde_json::json!({}), entity,
//!     Some("7"), Change::Update { fields: vec!["stage".into()] }, Some(before));
//! store.append(std::slice::from_ref(&entry)).await?;        // before the write is sent
//! let done = entry.applied(None, Some(serde_json::json!({"stage": "won"})));
//! store.complete(&[done]).await?;                           // after the CRM answered
//! let page = store.list(&owner, &HistoryQuery::default()).await?;
//! # Ok(()) }
//! ```

pub mod config;
pub mod export;
pub mod postgres;
pub mod prune;
pub mod sql;
pub mod sqlite;

pub use config::{JournalConfig, JournalSettings, KeyProblem, Storage};
pub use crmgate_core::journal::JournalStore;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

use crmgate_core::Result;
use std::sync::Arc;

/// The store `settings` name, or `None` when the journal is off (`enabled = false`). No I/O:
/// the file or database is opened on first use.
pub fn open(settings: &JournalSettings) -> Result<Option<Arc<dyn JournalStore>>> {
    if !settings.enabled {
        return Ok(None);
    }
    let store: Arc<dyn JournalStore> = match &settings.storage {
        Storage::Sqlite { path } => Arc::new(SqliteStore::new(path.clone(), settings.bounds)),
        Storage::Postgres { url } => Arc::new(PgStore::new(url, settings.bounds)?),
    };
    Ok(Some(store))
}
