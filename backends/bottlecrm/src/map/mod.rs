//! Pure functions from BottleCRM JSON to the common model, and back. No I/O: every function
//! here is tested on the recorded exchanges in `tests/fixtures/`.
//!
//! - [`list`]: the eight list envelopes → records and counts per section (catalogues skipped).
//! - [`read`]: the typed, borrowing readers behind them: bytes → records in one pass.
//! - [`record`]: one row, detail object or write answer → a [`crmgate_core::model::Record`].
//! - [`error`]: a failed answer (three JSON error shapes, bare DRF errors, HTML pages, 405) →
//!   a [`crmgate_core::Error`] with the upstream JSON kept in `details`.
//! - [`comment`]: comments → timeline entries and note records.
//! - [`answer`]: what create, convert, send and the other writes answer.

pub mod answer;
pub mod comment;
pub mod error;
pub mod list;
pub mod read;
pub mod record;
