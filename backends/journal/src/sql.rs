//! What both stores share: the table, how an entry is stored in it, and the statements —
//! written once with PostgreSQL's `$n` parameters (the SQLite store turns them into `?n`,
//! SQLite's numbered form: its own `$n` would be numbered by first appearance).
//!
//! One row per entry: the columns that are filtered on or change after the entry is written
//! (`outcome`, `record_id`, `undone_by`), and the whole entry as JSON in `body` (its
//! `undone_by` is the column's). `seq` is the store's position: it only grows, orders history
//! and export, and is what cursors carry.

use crmgate_core::journal::{
    ExportQuery, HistoryQuery, JournalEntry, JournalProblem, Owner, already_undone,
    entry_not_found, journal_error,
};
use crmgate_core::{Error, ErrorCode, Result};

/// The table, in both stores.
pub const TABLE: &str = "crmgate_journal";

/// A statement parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// Text.
    Text(String),
    /// A 64-bit integer.
    Int(i64),
}

/// A statement and its parameters, in order (`$1`, `$2`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The SQL.
    pub sql: String,
    /// `$1`…`$n`.
    pub params: Vec<Param>,
}

struct Builder {
    conditions: Vec<String>,
    params: Vec<Param>,
}

impl Builder {
    fn new() -> Self {
        Builder {
            conditions: Vec::new(),
            params: Vec::new(),
        }
    }

    fn push(&mut self, param: Param) -> String {
        self.params.push(param);
        format!("${}", self.params.len())
    }

    fn when(&mut self, column: &str, op: &str, param: Option<Param>) {
        if let Some(param) = param {
            let at = self.push(param);
            self.conditions.push(format!("{column} {op} {at}"));
        }
    }

    fn finish(mut self, order: &str, limit: usize) -> Statement {
        let at = self.push(Param::Int(limit as i64));
        let filter = if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" where {}", self.conditions.join(" and "))
        };
        Statement {
            sql: format!(
                "select seq, body, undone_by from {TABLE}{filter} order by seq {order} limit {at}"
            ),
            params: self.params,
        }
    }
}

fn text(value: &Option<String>) -> Option<Param> {
    value.clone().map(Param::Text)
}

/// `owner`'s entries matching `query`, newest first, below `start`; one more row than
/// `limit` is asked for, to know whether another page follows.
pub fn history(owner: &Owner, query: &HistoryQuery, start: Option<i64>, limit: usize) -> Statement {
    let mut b = Builder::new();
    b.when("crm", "=", Some(Param::Text(owner.crm.clone())));
    b.when("scope", "=", Some(Param::Text(owner.scope.clone())));
    b.when("entity", "=", text(&query.entity));
    b.when("record_id", "=", text(&query.id));
    b.when("batch_id", "=", text(&query.batch_id));
    b.when("at_ms", ">=", query.since.map(|s| Param::Int(s.unix_ms())));
    b.when("seq", "<", start.map(Param::Int));
    b.finish("desc", limit + 1)
}

/// The export's page, oldest first, one row more than `query.limit`.
pub fn export(query: &ExportQuery, limit: usize) -> Statement {
    let mut b = Builder::new();
    b.when("at_ms", ">=", query.since.map(|s| Param::Int(s.unix_ms())));
    b.when("crm", "=", text(&query.crm));
    b.when("scope", "=", text(&query.scope));
    b.when("seq", ">", query.after.map(Param::Int));
    b.finish("asc", limit + 1)
}

/// `insert`: `$1` entry_id, `$2` crm, `$3` scope, `$4` batch_id, `$5` at_ms, `$6` entity,
/// `$7` record_id, `$8` outcome, `$9` bytes, `$10` body.
pub const INSERT: &str = "insert into crmgate_journal \
     (entry_id, crm, scope, batch_id, at_ms, entity, record_id, outcome, bytes, body) \
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// Complete a pending entry: `$1` outcome, `$2` record_id, `$3` bytes, `$4` body,
/// `$5` entry_id, `$6` crm, `$7` scope.
pub const COMPLETE: &str = "update crmgate_journal \
     set outcome = $1, record_id = $2, bytes = $3, body = $4 \
     where entry_id = $5 and crm = $6 and scope = $7 and outcome = 'pending'";

/// One entry of an owner: `$1` crm, `$2` scope, `$3` entry_id.
pub const GET: &str = "select seq, body, undone_by from crmgate_journal \
     where crm = $1 and scope = $2 and entry_id = $3";

/// An entry's outcome and undo mark, to explain a refused update: `$1` crm, `$2` scope,
/// `$3` entry_id.
pub const STATE: &str = "select outcome, undone_by from crmgate_journal \
     where crm = $1 and scope = $2 and entry_id = $3";

/// The compare-and-set claim: `$1` undone_by, `$2` crm, `$3` scope, `$4` entry_id.
pub const MARK_UNDONE: &str = "update crmgate_journal set undone_by = $1 \
     where crm = $2 and scope = $3 and entry_id = $4 and undone_by is null";

/// Release a claim: `$1` undone_by, `$2` crm, `$3` scope, `$4` entry_id.
pub const CLEAR_UNDONE: &str = "update crmgate_journal set undone_by = null \
     where crm = $2 and scope = $3 and entry_id = $4 and undone_by = $1";

/// Remove entries made before `$1` (ms).
pub const PRUNE_AGE: &str = "delete from crmgate_journal where at_ms < $1";

/// The journal's size: `count(*)` and `sum(bytes)` (a covering index on `bytes` answers it).
pub const TOTALS: &str =
    "select count(*), coalesce(cast(sum(bytes) as bigint), 0) from crmgate_journal";

/// The `seq` of the entry at offset `$1` from the oldest.
pub const NTH_OLDEST: &str = "select seq from crmgate_journal order by seq asc limit 1 offset $1";

/// `(seq, bytes)` of the oldest entries after `seq` `$1`, at most `$2`.
pub const OLDEST_SIZES: &str = "select seq, bytes from crmgate_journal \
     where seq > $1 order by seq asc limit $2";

/// Remove every entry up to `seq` `$1`.
pub const DELETE_UP_TO: &str = "delete from crmgate_journal where seq <= $1";

/// An entry as stored.
#[derive(Debug, Clone)]
pub struct Row {
    /// `body`: the entry as JSON text, `undone_by` left out (it is the column's).
    pub body: String,
    /// `outcome`.
    pub outcome: &'static str,
    /// Bytes counted against `max_size_mb`.
    pub bytes: i64,
}

/// How `entry` is stored.
pub fn encode(entry: &JournalEntry) -> Result<Row> {
    let mut stored = entry.clone();
    stored.undone_by = None;
    let body = serde_json::to_string(&stored).map_err(|e| {
        tracing::warn!("journal: an entry could not be encoded: {e}");
        journal_error(JournalProblem::Unavailable)
    })?;
    Ok(Row {
        bytes: body.len() as i64,
        outcome: entry.outcome.as_str(),
        body,
    })
}

/// The entry stored as `body` (JSON text) with the `undone_by` column.
pub fn decode(body: &str, undone_by: Option<String>) -> Result<JournalEntry> {
    finish(serde_json::from_str(body), undone_by)
}

/// [`decode`] for a `body` already parsed (PostgreSQL's `jsonb`).
pub fn decode_value(body: serde_json::Value, undone_by: Option<String>) -> Result<JournalEntry> {
    finish(serde_json::from_value(body), undone_by)
}

fn finish(
    parsed: serde_json::Result<JournalEntry>,
    undone_by: Option<String>,
) -> Result<JournalEntry> {
    let mut entry = parsed.map_err(|e| {
        tracing::warn!("journal: a stored entry could not be read: {e}");
        journal_error(JournalProblem::Unavailable)
    })?;
    entry.undone_by = undone_by;
    Ok(entry)
}

/// The ids to claim or release: sorted (two claims lock rows in one order, so they never
/// deadlock) and without repeats.
pub fn claim_order(entry_ids: &[String]) -> Vec<String> {
    let mut ids = entry_ids.to_vec();
    ids.sort();
    ids.dedup();
    ids
}

/// Why a pending entry could not be completed.
pub fn not_pending(state: Option<(String, Option<String>)>, entry_id: &str) -> Error {
    match state {
        None => entry_not_found(entry_id),
        Some((outcome, _)) => Error::new(
            ErrorCode::Conflict,
            format!("journal entry {entry_id:?} is already completed ({outcome})"),
            "complete each pending entry once",
        ),
    }
}

/// Why an entry could not be claimed for an undo.
pub fn not_claimable(state: Option<(String, Option<String>)>, entry_id: &str) -> Error {
    match state {
        None => entry_not_found(entry_id),
        Some((_, Some(by))) => already_undone(entry_id, &by),
        // claimed and released between the update and this read
        Some((_, None)) => journal_error(JournalProblem::Busy),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crmgate_core::journal::Timestamp;

    #[test]
    fn history_filters_are_parameters_in_order() {
        let owner = Owner {
            crm: "acme".into(),
            scope: "caller:1".into(),
        };
        let query = HistoryQuery {
            entity: Some("deals'; drop table x; --".into()),
            since: Some(Timestamp::from_unix_ms(5)),
            ..Default::default()
        };
        let s = history(&owner, &query, Some(99), 20);
        assert_eq!(
            s.sql,
            "select seq, body, undone_by from crmgate_journal where crm = $1 and scope = $2 \
             and entity = $3 and at_ms >= $4 and seq < $5 order by seq desc limit $6"
        );
        assert_eq!(s.params[2], Param::Text("deals'; drop table x; --".into()));
        assert_eq!(s.params[5], Param::Int(21));
        let e = export(&ExportQuery::default(), 10);
        assert_eq!(
            e.sql,
            "select seq, body, undone_by from crmgate_journal order by seq asc limit $1"
        );
    }

    #[test]
    fn claims_are_sorted_and_unique() {
        let ids = vec!["j_b".to_owned(), "j_a".into(), "j_b".into()];
        assert_eq!(claim_order(&ids), ["j_a", "j_b"]);
    }
}
