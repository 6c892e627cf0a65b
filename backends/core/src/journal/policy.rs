//! What happens when the journal cannot be written ([`OnFailure`]), and the journal's errors.

use crate::{Error, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// `[journal] on_failure`: what a write does when its entry cannot be journaled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// The write is refused before anything is sent to the CRM (the default): no change
    /// goes unjournaled.
    #[default]
    Refuse,
    /// The write goes ahead unjournaled, with a warning in the log.
    Allow,
}

impl OnFailure {
    /// Apply the policy to the failure to append a write's entry (before the write is sent):
    /// `Refuse` returns the error for the write to fail with; `Allow` logs a warning and lets
    /// the write go on.
    pub fn handle(self, error: Error) -> Result<()> {
        match self {
            OnFailure::Refuse => Err(error),
            OnFailure::Allow => {
                tracing::warn!(
                    "journal: a write goes ahead unjournaled (on_failure = \"allow\"): {}",
                    error.message
                );
                Ok(())
            }
        }
    }
}

/// Why the journal cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalProblem {
    /// No room: the disk, the database, or the journal's size bound is full.
    Full,
    /// The file or database refuses writes (permissions, read-only file system).
    Unwritable,
    /// The store could not be reached or opened (database down, file missing or corrupt).
    Unavailable,
    /// Another process holds the journal locked longer than the wait allows.
    Busy,
}

impl JournalProblem {
    /// The stable spelling in `details.journal`.
    pub fn as_str(self) -> &'static str {
        match self {
            JournalProblem::Full => "full",
            JournalProblem::Unwritable => "unwritable",
            JournalProblem::Unavailable => "unavailable",
            JournalProblem::Busy => "busy",
        }
    }
}

/// The error a write fails with when its journal entry cannot be stored: it says that nothing
/// was sent to the CRM and what the operator can do. `details.journal` names the problem.
/// Never contains a path or URL (the agent may be remote); stores log those.
pub fn journal_error(problem: JournalProblem) -> Error {
    let (what, fix) = match problem {
        JournalProblem::Full => (
            "the change journal is full",
            "free disk space, or lower [journal] retention_days / raise max_size_mb",
        ),
        JournalProblem::Unwritable => (
            "the change journal cannot be written",
            "make the journal file (or database) writable for crmgate",
        ),
        JournalProblem::Unavailable => (
            "the change journal cannot be reached",
            "check the journal's database or file (crmgate's log names it)",
        ),
        JournalProblem::Busy => (
            "the change journal is locked by another process",
            "try again in a moment",
        ),
    };
    let mut error = Error::new(
        ErrorCode::NotAllowed,
        format!("{what}, so this write was refused and nothing was sent to the CRM"),
        format!(
            "ask the operator to {fix}; [journal] on_failure = \"allow\" lets writes go ahead unjournaled (docs/journal.md)"
        ),
    )
    .with_details(json!({ "journal": problem.as_str() }));
    error.retryable = problem == JournalProblem::Busy;
    error
}

/// `NOT_FOUND` for an entry id: missing, pruned, or another caller's — indistinguishably.
pub fn entry_not_found(entry_id: &str) -> Error {
    Error::new(
        ErrorCode::NotFound,
        format!("no journal entry {entry_id:?} of yours"),
        "crm_history lists your changes and their entry ids; entries older than the journal's retention are gone",
    )
}

/// `CONFLICT` for an entry undone already.
pub fn already_undone(entry_id: &str, undone_by: &str) -> Error {
    Error::new(
        ErrorCode::Conflict,
        format!("journal entry {entry_id:?} was already undone (by {undone_by:?})"),
        "crm_history shows the undo; undo that entry instead to redo the change",
    )
    .with_details(json!({ "entry_id": entry_id, "undone_by": undone_by }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuse_passes_the_error_allow_swallows_it() {
        let e = journal_error(JournalProblem::Unwritable);
        assert_eq!(OnFailure::Refuse.handle(e.clone()), Err(e.clone()));
        assert_eq!(OnFailure::Allow.handle(e), Ok(()));
        assert_eq!(OnFailure::default(), OnFailure::Refuse);
    }

    #[test]
    fn journal_errors_say_nothing_was_sent_and_what_to_do() {
        for problem in [
            JournalProblem::Full,
            JournalProblem::Unwritable,
            JournalProblem::Unavailable,
            JournalProblem::Busy,
        ] {
            let e = journal_error(problem);
            assert!(e.message.contains("nothing was sent"), "{}", e.message);
            assert!(e.suggestion.contains("on_failure"), "{}", e.suggestion);
            assert_eq!(e.details.as_ref().unwrap()["journal"], problem.as_str());
            assert_eq!(e.retryable, problem == JournalProblem::Busy);
        }
        assert!(
            journal_error(JournalProblem::Full)
                .suggestion
                .contains("max_size_mb")
        );
    }

    #[test]
    fn policy_spelling() {
        let v: OnFailure = serde_json::from_str("\"allow\"").unwrap();
        assert_eq!(v, OnFailure::Allow);
        assert!(serde_json::from_str::<OnFailure>("\"ignore\"").is_err());
    }
}
