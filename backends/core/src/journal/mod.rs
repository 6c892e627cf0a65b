//! The change journal: every write through crmgate, with the record's state before and after,
//! so a caller can see what it changed ([`JournalStore::list`]) and take it back (undo).
//!
//! This module is the data model and the storage contract; the stores (SQLite, PostgreSQL),
//! their configuration and the operator's export are in crate `crmgate-journal`.
//!
//! # How a write is journaled (write-ahead)
//! 1. Before sending the write, the gateway builds a [`JournalEntry::pending`] (owner, tool,
//!    arguments, entity, id, [`Change`], the record's `before` fields as read for the write's
//!    preview or validation) and [`JournalStore::append`]s it. If that fails, the error goes
//!    through [`OnFailure::handle`]: by default the write is refused and nothing is sent.
//! 2. After the CRM answered, it completes the entry — [`JournalEntry::applied`] with the
//!    record's `after` fields, [`JournalEntry::unknown`] for `OUTCOME_UNKNOWN`,
//!    [`JournalEntry::failed`] — and stores it with [`JournalStore::complete`]. If that fails
//!    the write's result still stands (the CRM applied it); the failure is logged. An entry
//!    left `pending` (the process stopped mid-write, or `complete` failed) reads as outcome
//!    unknown.
//! 3. A bulk operation gives every entry one [`new_batch_id`] and appends them in one call.
//!
//! `before` and `after` are the backend's record fields *before* the gateway projects or cuts
//! text (`text_cap`): undo must restore what was there, not what the agent was shown.
//!
//! # How an undo claims its entries
//! [`JournalStore::mark_undone`] is a compare-and-set: the undo claims the entries (with the id
//! of its own, new entry) *before* it sends the inverse, so two undos of one entry — even in two
//! processes sharing a PostgreSQL journal — cannot both run. If the inverse fails with nothing
//! changed, [`JournalStore::clear_undone`] releases the claim. The inverse's entries carry
//! [`JournalEntry::undoing`].
//!
//! # Isolation
//! Every read and claim is for one [`Owner`] (CRM + caller scope). Another owner's entry is
//! [`entry_not_found`], exactly like a missing one: ids do not leak across callers.

mod diff;
mod entry;
mod policy;
mod store;
mod time;

pub use diff::{FieldDiff, diff};
pub use entry::{
    Change, EntityRef, JournalEntry, Outcome, Owner, check_batch_id, check_entry_id,
    journal_arguments, new_batch_id, new_entry_id,
};
pub use policy::{JournalProblem, OnFailure, already_undone, entry_not_found, journal_error};
pub use store::{
    Bounds, DEFAULT_PAGE, ExportPage, ExportQuery, HistoryPage, HistoryQuery, JournalStore,
    MAX_PAGE, PruneReport,
};
pub use time::Timestamp;
