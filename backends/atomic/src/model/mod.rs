//! The built-in description of Atomic CRM's data model: its entities (the tables and the
//! summary views the app reads), their fields ([`fields`]), their links ([`links`]) and the
//! allowed values of the enum-like columns ([`options`]). The postgres transport reconciles it
//! with the live catalog; the postgrest transport uses it as is, since the OpenAPI document is
//! no longer readable with a user's key.

pub mod fields;
pub mod links;
pub mod options;

use crmgate_core::filter::FilterOp;
use crmgate_core::model::{DeleteKind, EntityInfo, Operation, TotalKind};
use std::collections::BTreeSet;

/// The entities of Atomic CRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `companies` (read through `companies_summary`).
    Companies,
    /// `contacts` (read through `contacts_summary`).
    Contacts,
    /// `deals`.
    Deals,
    /// `tasks` (of contacts).
    Tasks,
    /// `contact_notes`.
    Notes,
    /// `deal_notes`.
    DealNotes,
    /// `sales`: the CRM's users, read-only.
    Users,
    /// `tags` (of contacts).
    Tags,
}

impl Kind {
    /// Every entity, in listing order.
    pub const ALL: [Kind; 8] = [
        Kind::Companies,
        Kind::Contacts,
        Kind::Deals,
        Kind::Tasks,
        Kind::Notes,
        Kind::DealNotes,
        Kind::Users,
        Kind::Tags,
    ];

    /// Canonical name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Companies => "companies",
            Kind::Contacts => "contacts",
            Kind::Deals => "deals",
            Kind::Tasks => "tasks",
            Kind::Notes => "notes",
            Kind::DealNotes => "deal_notes",
            Kind::Users => "users",
            Kind::Tags => "tags",
        }
    }

    /// The table (native name).
    pub fn table(self) -> &'static str {
        match self {
            Kind::Notes => "contact_notes",
            Kind::Users => "sales",
            other => other.name(),
        }
    }

    /// The summary view the app reads lists and records through, if any.
    pub fn summary_view(self) -> Option<&'static str> {
        match self {
            Kind::Companies => Some("companies_summary"),
            Kind::Contacts => Some("contacts_summary"),
            _ => None,
        }
    }

    /// Human label.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Companies => "Companies",
            Kind::Contacts => "Contacts",
            Kind::Deals => "Deals",
            Kind::Tasks => "Tasks",
            Kind::Notes => "Contact notes",
            Kind::DealNotes => "Deal notes",
            Kind::Users => "Users (sales)",
            Kind::Tags => "Tags",
        }
    }

    /// The kind an entity denotes: its catalogue key (checked against the table, in case the
    /// info did not come from the catalogue), else its names.
    pub fn of(entity: &EntityInfo) -> Option<Kind> {
        usize::try_from(entity.key)
            .ok()
            .and_then(|i| Kind::ALL.get(i).copied())
            .filter(|k| k.table() == entity.native)
            .or_else(|| {
                Kind::ALL
                    .into_iter()
                    .find(|k| k.name() == entity.name || k.table() == entity.native)
            })
    }

    /// The kind whose table is `table`.
    pub fn from_table(table: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.table() == table)
    }

    /// Whether records can be created, changed and deleted (users are managed in the app).
    pub fn writable(self) -> bool {
        self != Kind::Users
    }

    /// The kind of the notes a record of this kind carries, and the column pointing back.
    pub fn notes(self) -> Option<(Kind, &'static str)> {
        match self {
            Kind::Contacts => Some((Kind::Notes, "contact_id")),
            Kind::Deals => Some((Kind::DealNotes, "deal_id")),
            _ => None,
        }
    }

    /// Columns the free-text `query` is matched against (as the app's `q` filter does).
    pub fn search_columns(self, with_view: bool) -> &'static [&'static str] {
        match (self, with_view) {
            (Kind::Contacts, true) => &[
                "first_name",
                "last_name",
                "company_name",
                "title",
                "email_fts",
                "phone_fts",
                "background",
            ],
            (Kind::Contacts, false) => &["first_name", "last_name", "title", "background"],
            (Kind::Companies, _) => &[
                "name",
                "phone_number",
                "website",
                "zipcode",
                "city",
                "state_abbr",
            ],
            (Kind::Deals, _) => &["name", "category", "description"],
            (Kind::Tasks, _) => &["text", "type"],
            (Kind::Notes | Kind::DealNotes, _) => &["text"],
            (Kind::Users, _) => &["first_name", "last_name", "email"],
            (Kind::Tags, _) => &["name"],
        }
    }

    /// The deep-link path in Atomic CRM's UI of a record (hash routes of react-admin).
    pub fn ui_path(self, id: &str, row: &serde_json::Map<String, serde_json::Value>) -> String {
        let parent = |column: &str, kind: Kind| match row.get(column) {
            Some(serde_json::Value::Number(n)) => format!("#/{}/{n}/show", kind.table()),
            _ => format!("#/{}", kind.table()),
        };
        match self {
            Kind::Companies | Kind::Contacts | Kind::Deals => {
                format!("#/{}/{id}/show", self.table())
            }
            Kind::Tasks | Kind::Notes => parent("contact_id", Kind::Contacts),
            Kind::DealNotes => parent("deal_id", Kind::Deals),
            Kind::Users => format!("#/sales/{id}"),
            Kind::Tags => "#/contacts".to_owned(),
        }
    }

    /// What crm_entities says about this entity: operations, operators, notes.
    pub fn info(self) -> EntityInfo {
        use Operation::*;
        let mut operations: BTreeSet<Operation> = [Search, Get].into();
        if !links::links(self).is_empty() {
            operations.insert(Related);
        }
        if self.writable() {
            operations.extend([Create, Update, Delete]);
        }
        if self.notes().is_some() {
            operations.extend([Timeline, Note]);
        }
        if links::links(self).iter().any(|l| l.writable) {
            operations.insert(Link);
        }
        EntityInfo {
            name: self.name().into(),
            native: self.table().into(),
            label: self.label().into(),
            operations,
            filter_ops: FilterOp::ALL.to_vec(),
            total: TotalKind::Exact,
            delete: DeleteKind::Hard,
            actions: Vec::new(),
            notes: self.notes_text().iter().map(|s| (*s).to_owned()).collect(),
            denied: Vec::new(),
            key: self as u64,
        }
    }

    fn notes_text(self) -> &'static [&'static str] {
        match self {
            Kind::Companies => &[
                "Deleting a company also deletes its contacts and deals, and their notes and tasks (the database cascades).",
                "Companies have no notes of their own in Atomic CRM: use crm_timeline / crm_note on a contact or deal.",
                "size takes 1, 10, 50, 250 or 500 (employee bands); sector takes the configured company sectors.",
            ],
            Kind::Contacts => &[
                "Every signed-in user sees and may change every contact (Atomic CRM's row-level security shares all records).",
                "Emails and phones are email_jsonb / phone_jsonb: arrays of {\"email\" (or \"number\"), \"type\": \"Work\"|\"Home\"|\"Other\"}; search them with email_fts / phone_fts.",
                "Adding a note sets last_seen (a database trigger); status takes the configured note statuses.",
                "Deleting a contact also deletes its notes and tasks.",
            ],
            Kind::Deals => &[
                "stage and category take the values configured in Atomic CRM (crm_describe lists them); the database itself accepts anything, crmgate checks.",
                "contact_ids links contacts: crm_link / crm_unlink add or remove one contact; crm_update replaces the whole list.",
                "An update also sets updated_at.",
            ],
            Kind::Tasks => &[
                "A task belongs to a contact (contact_id is required); type takes the configured task types.",
                "Mark a task done by setting done_date.",
            ],
            Kind::Notes => &[
                "Notes of contacts; crm_note on a contact creates one. Deleting a note through the database does not remove its attachment files from storage.",
            ],
            Kind::DealNotes => &[
                "Notes of deals; crm_note on a deal creates one. Deleting a note through the database does not remove its attachment files from storage.",
            ],
            Kind::Users => &[
                "The CRM's users (the sales table) are read-only here: they are invited, changed and disabled in Atomic CRM's admin screens.",
            ],
            Kind::Tags => &["Tags are attached to contacts with crm_link contacts … link tags."],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_both_ways_and_operations_follow_the_model() {
        for kind in Kind::ALL {
            let info = kind.info();
            assert_eq!(Kind::of(&info), Some(kind));
            assert_eq!(Kind::from_table(kind.table()), Some(kind));
        }
        let users = Kind::Users.info();
        assert!(!users.supports(Operation::Create) && users.supports(Operation::Search));
        assert!(Kind::Contacts.info().supports(Operation::Link));
        assert!(Kind::Deals.info().supports(Operation::Note));
        assert!(!Kind::Companies.info().supports(Operation::Note));
        assert!(!Kind::Tasks.info().supports(Operation::Link));
    }
}
