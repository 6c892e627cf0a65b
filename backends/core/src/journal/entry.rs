//! [`JournalEntry`]: one write through crmgate, as the journal keeps it.

use super::diff::{FieldDiff, diff};
use super::time::Timestamp;
use crate::backend::CallContext;
use crate::model::EntityInfo;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Whose entries these are: the CRM (the config section's name, `acme` for `[crm.acme]`) and
/// the caller ([`CallContext::scope`], a hash — never a credential). A caller lists, reads and
/// undoes only entries of its own owner; the CRM is part of it so that an entry is never undone
/// against another CRM than the one it changed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Owner {
    /// The config section's name.
    pub crm: String,
    /// The caller scope.
    pub scope: String,
}

impl Owner {
    /// The owner of a call on `crm` made with `cx`.
    pub fn new(crm: &str, cx: &CallContext) -> Self {
        Owner {
            crm: crm.to_owned(),
            scope: cx.scope().to_owned(),
        }
    }
}

/// The entity an entry's record belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityRef {
    /// Canonical name (`contacts`).
    pub name: String,
    /// The vendor's name (`Contact`).
    pub native: String,
}

impl From<&EntityInfo> for EntityRef {
    fn from(entity: &EntityInfo) -> Self {
        EntityRef {
            name: entity.name.clone(),
            native: entity.native.clone(),
        }
    }
}

/// What kind of write an entry records, with what its inverse needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// crm_create: the entry's `id` is the new record's (absent when the CRM did not say).
    Create,
    /// crm_update: the fields the patch set (the inverse restores their `before` values).
    Update {
        /// Native field names, as sent.
        fields: Vec<String>,
    },
    /// crm_delete.
    Delete {
        /// The CRM keeps deleted records restorable (recycle bin, deleted flag).
        soft: bool,
    },
    /// crm_link: one association added from the entry's record.
    Link {
        /// The link's name.
        link: String,
        /// The target's entity (canonical name).
        target_entity: String,
        /// The target record's id.
        target_id: String,
    },
    /// crm_unlink: one association removed.
    Unlink {
        /// The link's name.
        link: String,
        /// The target's entity (canonical name).
        target_entity: String,
        /// The target record's id.
        target_id: String,
    },
    /// crm_note on the entry's record; `after` is the note's fields.
    Note {
        /// The note's own id, once the CRM said it.
        note_id: Option<String>,
    },
    /// crm_draft_email; the entry's record is the one the draft is about, `after` the draft.
    DraftEmail {
        /// The draft's id, once the CRM said it.
        draft_id: Option<String>,
    },
    /// crm_action on the entry's record.
    Action {
        /// The action's name.
        action: String,
        /// Whether it is destructive (outward-facing).
        destructive: bool,
        /// What the CRM answered, as given.
        result: Option<Value>,
    },
    /// crm_call with a write or destructive method.
    RawCall {
        /// The normalised method that was sent.
        method: String,
        /// Whether it is destructive.
        destructive: bool,
        /// What the CRM answered, as given.
        result: Option<Value>,
    },
}

impl Change {
    /// The `kind` tag (`create`, `update`, …), as stored and filtered on.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Create => "create",
            Change::Update { .. } => "update",
            Change::Delete { .. } => "delete",
            Change::Link { .. } => "link",
            Change::Unlink { .. } => "unlink",
            Change::Note { .. } => "note",
            Change::DraftEmail { .. } => "draft_email",
            Change::Action { .. } => "action",
            Change::RawCall { .. } => "raw_call",
        }
    }
}

/// What the CRM did with the write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Recorded before the write was sent, never completed: the process stopped mid-write or
    /// the journal failed afterwards. Read it as `outcome_unknown`.
    Pending,
    /// The CRM applied it.
    Applied,
    /// The CRM may or may not have applied it (`OUTCOME_UNKNOWN`).
    OutcomeUnknown,
    /// The CRM refused it; nothing changed. Kept so a batch says what happened to each record.
    Failed,
}

impl Outcome {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Applied => "applied",
            Outcome::OutcomeUnknown => "outcome_unknown",
            Outcome::Failed => "failed",
        }
    }
}

/// One write through crmgate.
///
/// The life of an entry: the gateway builds it with [`JournalEntry::pending`] *before* sending
/// the write and appends it (a journal that cannot be written refuses the write — see
/// [`super::OnFailure`]); after the CRM answered it completes it with [`JournalEntry::applied`],
/// [`JournalEntry::unknown`] or [`JournalEntry::failed`] and stores that with
/// [`super::JournalStore::complete`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// `j_` and 26 characters; sortable by creation time.
    pub entry_id: String,
    /// Set on every entry of one bulk operation (and of one undo of a batch).
    pub batch_id: Option<String>,
    /// When the write was started.
    pub at: Timestamp,
    /// The config section's name of the CRM written to.
    pub crm: String,
    /// The caller scope (a hash, never a credential).
    pub scope: String,
    /// The tool that wrote (`crm_update`).
    pub tool: String,
    /// The tool's arguments with `confirm_token` removed ([`journal_arguments`]). crmgate's own
    /// tools take no secrets; a raw `crm_call`'s `params` are kept as given.
    pub arguments: Value,
    /// The record's entity.
    pub entity: EntityRef,
    /// The record written (for a create, the new record's id once known).
    pub id: Option<String>,
    /// The kind of write and what undoing it needs.
    pub change: Change,
    /// The record's fields before the write, untruncated; `null` when there was none.
    pub before: Option<Value>,
    /// The record's fields after the write, untruncated; `null` when there is none.
    pub after: Option<Value>,
    /// What the CRM did.
    pub outcome: Outcome,
    /// The error code of a `failed` or `outcome_unknown` write.
    pub error: Option<String>,
    /// The entry that undid this one.
    pub undone_by: Option<String>,
    /// The entry this one undid.
    pub undoes: Option<String>,
}

impl JournalEntry {
    /// A new entry, `pending`, stamped now with a fresh id: what the gateway appends before it
    /// sends the write. `before` is the record's fields as read for the write's preview or
    /// validation (`None` for a create).
    pub fn pending(
        owner: &Owner,
        tool: &str,
        arguments: &Value,
        entity: EntityRef,
        id: Option<&str>,
        change: Change,
        before: Option<Value>,
    ) -> Self {
        JournalEntry {
            entry_id: new_entry_id(),
            batch_id: None,
            at: Timestamp::now(),
            crm: owner.crm.clone(),
            scope: owner.scope.clone(),
            tool: tool.to_owned(),
            arguments: journal_arguments(arguments),
            entity,
            id: id.map(str::to_owned),
            change,
            before,
            after: None,
            outcome: Outcome::Pending,
            error: None,
            undone_by: None,
            undoes: None,
        }
    }

    /// Part of the bulk operation `batch_id`.
    pub fn in_batch(mut self, batch_id: &str) -> Self {
        self.batch_id = Some(batch_id.to_owned());
        self
    }

    /// The inverse of entry `entry_id`.
    pub fn undoing(mut self, entry_id: &str) -> Self {
        self.undoes = Some(entry_id.to_owned());
        self
    }

    /// Completed: the CRM applied it; `id` (for a create) and the record's fields after.
    pub fn applied(mut self, id: Option<String>, after: Option<Value>) -> Self {
        if id.is_some() {
            self.id = id;
        }
        self.after = after;
        self.outcome = Outcome::Applied;
        self
    }

    /// Completed: the CRM may have applied it (`error` is the `OUTCOME_UNKNOWN` error).
    pub fn unknown(mut self, error: &Error) -> Self {
        self.outcome = Outcome::OutcomeUnknown;
        self.error = Some(error.code.as_str().to_owned());
        self
    }

    /// Completed: the CRM refused it, nothing changed.
    pub fn failed(mut self, error: &Error) -> Self {
        self.outcome = Outcome::Failed;
        self.error = Some(error.code.as_str().to_owned());
        self
    }

    /// Replace the change details learned from the answer (a note's or draft's id, an
    /// action's result).
    pub fn with_change(mut self, change: Change) -> Self {
        self.change = change;
        self
    }

    /// Whose entry this is.
    pub fn owner(&self) -> Owner {
        Owner {
            crm: self.crm.clone(),
            scope: self.scope.clone(),
        }
    }

    /// The fields that differ between `before` and `after`.
    pub fn diff(&self) -> Vec<FieldDiff> {
        diff(self.before.as_ref(), self.after.as_ref())
    }

    /// Why the journal alone already says this entry cannot be undone (`None`: it may be;
    /// whether the CRM offers the inverse is the backend's to say).
    pub fn journal_blocker(&self) -> Option<String> {
        if let Some(by) = &self.undone_by {
            return Some(format!("already undone by {by}"));
        }
        match self.outcome {
            Outcome::Applied => None,
            Outcome::Failed => Some("the CRM refused this write; nothing changed".into()),
            Outcome::Pending | Outcome::OutcomeUnknown => Some(
                "it is not known whether the CRM applied this write; look at the record with crm_get"
                    .into(),
            ),
        }
    }
}

/// The arguments as journaled: `confirm_token` removed (a bearer of intent, worthless after
/// use, and not the journal's to keep). Everything else as given.
pub fn journal_arguments(arguments: &Value) -> Value {
    let mut arguments = arguments.clone();
    if let Value::Object(map) = &mut arguments {
        map.remove("confirm_token");
    }
    arguments
}

const ID_CHARS: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ID_LEN: usize = 26;

/// A new entry id: `j_` and a ULID (48 bits of milliseconds, 80 random bits, Crockford
/// base 32), so ids sort by creation time and cannot be guessed.
pub fn new_entry_id() -> String {
    new_id("j_")
}

/// A new batch id: `b_` and a ULID.
pub fn new_batch_id() -> String {
    new_id("b_")
}

fn new_id(prefix: &str) -> String {
    let ms = u128::from(Timestamp::now().unix_ms().max(0) as u64) & ((1 << 48) - 1);
    let random = rand::random::<u128>() & ((1 << 80) - 1);
    let mut value = (ms << 80) | random;
    let mut chars = [0u8; ID_LEN];
    for slot in chars.iter_mut().rev() {
        *slot = ID_CHARS[(value & 31) as usize];
        value >>= 5;
    }
    let mut id = String::with_capacity(prefix.len() + ID_LEN);
    id.push_str(prefix);
    id.extend(chars.iter().map(|&c| c as char));
    id
}

/// An `entry_id` an agent sent, checked against the grammar of issued ids (`VALIDATION`
/// otherwise). A well-formed id that is not the caller's is `NOT_FOUND` later, never a
/// different error.
pub fn check_entry_id(text: &str) -> Result<&str> {
    check_id(text, "j_", "entry_id")
}

/// A `batch_id` an agent sent, checked like [`check_entry_id`].
pub fn check_batch_id(text: &str) -> Result<&str> {
    check_id(text, "b_", "batch_id")
}

fn check_id<'t>(text: &'t str, prefix: &str, what: &str) -> Result<&'t str> {
    let text = text.trim();
    let ok = text
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == ID_LEN && rest.bytes().all(|c| ID_CHARS.contains(&c)));
    if ok {
        Ok(text)
    } else {
        Err(Error::validation(
            format!("{what} is not a journal id"),
            format!(
                "pass {what} exactly as crm_history gave it ({prefix} and 26 letters and digits)"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn owner() -> Owner {
        Owner::new("acme", &CallContext::configured())
    }

    fn entity() -> EntityRef {
        EntityRef {
            name: "deals".into(),
            native: "Opportunity".into(),
        }
    }

    #[test]
    fn ids_are_well_formed_unique_and_sort_by_time() {
        let a = new_entry_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_entry_id();
        assert_ne!(a, b);
        assert!(a < b, "{a} {b}");
        assert_eq!(check_entry_id(&a).unwrap(), a);
        assert!(check_batch_id(&new_batch_id()).is_ok());
        assert!(check_batch_id(&a).is_err());
        for bad in [
            "",
            "j_",
            "j_0123",
            "J_01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "j_01ARZ3NDEKTSV4RRFFQ69G5FAU",
            "j_01ARZ3NDEKTSV4RRFFQ69G5FA'",
            "j_01ARZ3NDEKTSV4RRFFQ69G5FAVX",
        ] {
            let e = check_entry_id(bad).unwrap_err();
            assert_eq!(e.code, crate::ErrorCode::Validation, "{bad:?}");
        }
    }

    #[test]
    fn confirm_tokens_are_never_journaled() {
        let args = json!({"entity": "deals", "id": "7", "confirm_token": "tok.secret", "params": {"x": 1}});
        let entry = JournalEntry::pending(
            &owner(),
            "crm_delete",
            &args,
            entity(),
            Some("7"),
            Change::Delete { soft: true },
            Some(json!({"name": "Big deal"})),
        );
        assert!(entry.arguments.get("confirm_token").is_none());
        assert_eq!(entry.arguments["params"]["x"], 1);
        assert!(
            !serde_json::to_string(&entry)
                .unwrap()
                .contains("tok.secret")
        );
    }

    #[test]
    fn lifecycle_and_serialized_shape() {
        let entry = JournalEntry::pending(
            &owner(),
            "crm_update",
            &json!({"entity": "deals", "id": "7", "data": {"stage": "won"}}),
            entity(),
            Some("7"),
            Change::Update {
                fields: vec!["stage".into()],
            },
            Some(json!({"stage": "open", "name": "Big deal"})),
        )
        .in_batch("b_01ARZ3NDEKTSV4RRFFQ69G5FAV");
        assert_eq!(entry.outcome, Outcome::Pending);
        assert!(entry.journal_blocker().is_some());
        let done = entry
            .clone()
            .applied(None, Some(json!({"stage": "won", "name": "Big deal"})));
        assert_eq!(done.id.as_deref(), Some("7"));
        assert_eq!(done.journal_blocker(), None);
        let diff = done.diff();
        assert_eq!(diff.len(), 1);
        assert_eq!(diff[0].field, "stage");

        let v = serde_json::to_value(&done).unwrap();
        assert_eq!(v["outcome"], "applied");
        assert_eq!(v["change"], json!({"kind": "update", "fields": ["stage"]}));
        assert_eq!(v["scope"], "configured");
        assert_eq!(v["crm"], "acme");
        assert!(v["undone_by"].is_null() && v.get("undone_by").is_some());
        let back: JournalEntry = serde_json::from_value(v).unwrap();
        assert_eq!(back, done);

        let unknown =
            entry
                .clone()
                .unknown(&Error::new(crate::ErrorCode::UpstreamTimeout, "x", "y"));
        assert_eq!(unknown.error.as_deref(), Some("UPSTREAM_TIMEOUT"));
        assert!(unknown.journal_blocker().unwrap().contains("not known"));
        let mut undone = done.clone();
        undone.undone_by = Some("j_x".into());
        assert!(undone.journal_blocker().unwrap().contains("j_x"));
    }

    #[test]
    fn every_change_kind_round_trips_with_its_tag() {
        let changes = [
            Change::Create,
            Change::Update {
                fields: vec!["a".into()],
            },
            Change::Delete { soft: false },
            Change::Link {
                link: "contacts".into(),
                target_entity: "contacts".into(),
                target_id: "9".into(),
            },
            Change::Unlink {
                link: "contacts".into(),
                target_entity: "contacts".into(),
                target_id: "9".into(),
            },
            Change::Note {
                note_id: Some("n1".into()),
            },
            Change::DraftEmail { draft_id: None },
            Change::Action {
                action: "convert".into(),
                destructive: false,
                result: Some(json!({"ok": true})),
            },
            Change::RawCall {
                method: "crm.deal.update".into(),
                destructive: false,
                result: None,
            },
        ];
        for change in changes {
            let v = serde_json::to_value(&change).unwrap();
            assert_eq!(v["kind"], change.kind());
            assert_eq!(serde_json::from_value::<Change>(v).unwrap(), change);
        }
    }
}
