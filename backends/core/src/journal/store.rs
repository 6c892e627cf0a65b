//! [`JournalStore`]: where entries are kept (SQLite or PostgreSQL, in crate `crmgate-journal`),
//! and the queries it answers.

use super::entry::{JournalEntry, Owner};
use super::time::Timestamp;
use crate::{Result, cursor};
use async_trait::async_trait;
use std::time::Duration;

/// Most entries one history page or one export page holds (a bulk operation's batch fits).
pub const MAX_PAGE: usize = 500;
/// Entries in a history page when the caller asks for no limit.
pub const DEFAULT_PAGE: usize = 20;

/// `crm_history`'s filters, newest first. Every filter narrows; `cursor` continues a previous
/// page of the same query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryQuery {
    /// Only entries on this entity (canonical name, already resolved).
    pub entity: Option<String>,
    /// Only entries on this record id.
    pub id: Option<String>,
    /// Only entries of this batch.
    pub batch_id: Option<String>,
    /// Only entries made at or after this moment.
    pub since: Option<Timestamp>,
    /// Page size; default [`DEFAULT_PAGE`], at most [`MAX_PAGE`].
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl HistoryQuery {
    /// The page size to use.
    pub fn page_size(&self) -> usize {
        self.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
    }

    fn fingerprint(&self, owner: &Owner) -> [u8; 8] {
        let since = self.since.map(|s| s.unix_ms().to_string());
        cursor::fingerprint(&[
            "journal",
            &owner.crm,
            &owner.scope,
            self.entity.as_deref().unwrap_or("\0"),
            self.id.as_deref().unwrap_or("\0"),
            self.batch_id.as_deref().unwrap_or("\0"),
            since.as_deref().unwrap_or("\0"),
        ])
    }

    /// Where this page starts: entries stored strictly before this position (`None`: the
    /// newest). Decodes the cursor; one made for another query or owner is `VALIDATION`.
    /// For stores.
    pub fn start(&self, owner: &Owner) -> Result<Option<i64>> {
        let Some(text) = self.cursor.as_deref() else {
            return Ok(None);
        };
        let token = cursor::decode(self.fingerprint(owner), text)?;
        token.parse::<i64>().map(Some).map_err(|_| {
            crate::Error::validation(
                "cursor refused: it is not a cursor this server issued",
                "pass next_cursor exactly as the previous result gave it, or start again without cursor",
            )
        })
    }

    /// The cursor of the page after one whose last (oldest) entry is at store position
    /// `position`. For stores.
    pub fn next_cursor(&self, owner: &Owner, position: i64) -> String {
        cursor::encode(self.fingerprint(owner), &position.to_string())
    }
}

/// One page of history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPage {
    /// Newest first.
    pub entries: Vec<JournalEntry>,
    /// Pass back as `cursor` for the next (older) page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// The operator's export: every entry (any owner unless narrowed), oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExportQuery {
    /// Only entries made at or after this moment.
    pub since: Option<Timestamp>,
    /// Only entries on this CRM (config section name).
    pub crm: Option<String>,
    /// Only entries of this caller scope.
    pub scope: Option<String>,
    /// Continue after this store position (`next_after` of the previous page).
    pub after: Option<i64>,
    /// Page size, at most [`MAX_PAGE`].
    pub limit: usize,
}

/// One page of an export.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportPage {
    /// Oldest first.
    pub entries: Vec<JournalEntry>,
    /// Set `after` to this for the next page; `None` on the last page.
    pub next_after: Option<i64>,
}

/// How much the journal keeps. Entries beyond any bound are removed oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Entries older than this go.
    pub max_age: Option<Duration>,
    /// At most this many entries.
    pub max_entries: Option<u64>,
    /// At most this many bytes of stored entries (the journal's file or table is somewhat
    /// larger: indexes, free pages).
    pub max_bytes: Option<u64>,
}

/// What a prune removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Entries removed.
    pub removed: u64,
}

/// Where journal entries are kept. Dyn-safe (`Arc<dyn JournalStore>`); every method may be
/// called from several tasks, and several processes may share one store (SQLite file or
/// PostgreSQL database).
///
/// Errors that mean the journal cannot be used are built with [`super::journal_error`]. The
/// gateway passes an `append` failure through [`super::OnFailure`] (refuse: the write is not
/// sent). A `complete` failure comes after the CRM applied the write: the write's result
/// stands, the failure is logged, and the entry stays `pending` (read as outcome unknown).
#[async_trait]
pub trait JournalStore: Send + Sync + 'static {
    /// Where the entries are, for logs and the operator (`sqlite /path/journal.sqlite3`,
    /// `postgresql db.example.com/crm`); never a secret.
    fn location(&self) -> String;

    /// Store new entries, all or none.
    async fn append(&self, entries: &[JournalEntry]) -> Result<()>;

    /// Replace `pending` entries with their completed state (same `entry_id` and owner), all
    /// or none. An entry that is not pending, or not there, is an error and nothing changes.
    async fn complete(&self, entries: &[JournalEntry]) -> Result<()>;

    /// `owner`'s entries matching `query`, newest first.
    async fn list(&self, owner: &Owner, query: &HistoryQuery) -> Result<HistoryPage>;

    /// One of `owner`'s entries. Another owner's entry is `NOT_FOUND` exactly like a missing
    /// one ([`super::entry_not_found`]).
    async fn get(&self, owner: &Owner, entry_id: &str) -> Result<JournalEntry>;

    /// Claim `entry_ids` as undone by `undone_by`, all or none, compare-and-set: only entries
    /// of `owner` not yet undone are claimed. When any is missing it is `NOT_FOUND`, when any
    /// is already undone `CONFLICT` ([`super::already_undone`]) — and nothing is claimed.
    /// Two concurrent claims of one entry (even from two processes) cannot both succeed.
    async fn mark_undone(&self, owner: &Owner, entry_ids: &[String], undone_by: &str)
    -> Result<()>;

    /// Release a claim made by [`JournalStore::mark_undone`] with the same `undone_by` (the
    /// inverse failed and nothing changed). Entries claimed by another undo are left alone.
    async fn clear_undone(
        &self,
        owner: &Owner,
        entry_ids: &[String],
        undone_by: &str,
    ) -> Result<()>;

    /// The operator's export, oldest first.
    async fn export(&self, query: &ExportQuery) -> Result<ExportPage>;

    /// Remove entries beyond `bounds` (ages counted back from `now`), oldest first.
    async fn prune(&self, bounds: &Bounds, now: Timestamp) -> Result<PruneReport>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(scope: &str) -> Owner {
        Owner {
            crm: "acme".into(),
            scope: scope.into(),
        }
    }

    #[test]
    fn page_size_is_capped_and_defaulted() {
        assert_eq!(HistoryQuery::default().page_size(), DEFAULT_PAGE);
        let q = |limit| HistoryQuery {
            limit: Some(limit),
            ..Default::default()
        };
        assert_eq!(q(0).page_size(), 1);
        assert_eq!(q(10_000).page_size(), MAX_PAGE);
    }

    #[test]
    fn cursors_belong_to_one_query_and_one_owner() {
        let query = HistoryQuery {
            entity: Some("deals".into()),
            ..Default::default()
        };
        let cursor = query.next_cursor(&owner("a"), 42);
        let next = HistoryQuery {
            cursor: Some(cursor.clone()),
            ..query.clone()
        };
        assert_eq!(next.start(&owner("a")).unwrap(), Some(42));
        // another caller replaying it
        assert!(next.start(&owner("b")).is_err());
        // another filter
        let other = HistoryQuery {
            entity: Some("contacts".into()),
            cursor: Some(cursor),
            ..Default::default()
        };
        let e = other.start(&owner("a")).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::Validation);
        let garbage = HistoryQuery {
            cursor: Some("nope".into()),
            ..Default::default()
        };
        assert!(garbage.start(&owner("a")).is_err());
        assert_eq!(query.start(&owner("a")).unwrap(), None);
    }
}
