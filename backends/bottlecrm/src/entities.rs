//! The eight BottleCRM entities crmgate serves, and what each one's REST routes really do.
//!
//! BottleCRM has no common shape: every list envelope, detail wrapper, create answer and write
//! verb differs per entity. [`Entity::spec`] holds those differences as data, so the client,
//! the mappers and the sandbox all read one table. [`entity_infos`] turns it into the
//! capabilities the agent sees, with notes on what is absent and why.

use crate::filters;
use crmgate_core::model::{ActionInfo, DeleteKind, EntityInfo, Operation, TotalKind};
use std::collections::BTreeSet;

/// One BottleCRM entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Entity {
    /// `/api/leads/`
    Leads,
    /// `/api/contacts/`
    Contacts,
    /// `/api/accounts/` (canonical `companies`)
    Accounts,
    /// `/api/opportunities/` (canonical `deals`)
    Opportunities,
    /// `/api/tasks/`
    Tasks,
    /// `/api/cases/`
    Cases,
    /// `/api/invoices/`
    Invoices,
    /// `/api/cases/solutions/` (knowledge base articles)
    Solutions,
}

/// How a create call answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// `200 {"error": false, "message"}`: no id at all (leads, tasks).
    NoId,
    /// `200 {"error": false, "message", "id"}` (contacts, accounts, opportunities, cases).
    Id,
    /// `201` with the bare object (solutions).
    BareObject,
    /// `201 {"invoice": {...}}` (invoices).
    Wrapped(&'static str),
}

/// Where comments are posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comments {
    /// The entity has none (solutions).
    None,
    /// `POST {id}/ {"comment"}`: the detail URL.
    DetailUrl,
    /// `POST {id}/comments/ {"comment"}` (invoices).
    CommentsUrl,
}

/// The routes and quirks of one entity.
#[derive(Debug)]
pub struct Spec {
    /// Which entity.
    pub entity: Entity,
    /// Canonical name.
    pub name: &'static str,
    /// BottleCRM's name (the first path segment after `/api/`, and the scope resource).
    pub native: &'static str,
    /// Human label.
    pub label: &'static str,
    /// List path under the base URL, with trailing slash.
    pub path: &'static str,
    /// Key of the record in the detail answer (`lead_obj`); `None` when the answer is the bare
    /// object.
    pub detail_key: Option<&'static str>,
    /// How create answers.
    pub created: Created,
    /// Updates go by PUT (invoices, where PATCH is 405) instead of PATCH.
    pub update_by_put: bool,
    /// Where comments go.
    pub comments: Comments,
    /// DELETE works (it is 405 on invoices).
    pub deletable: bool,
    /// The list accepts `slim=true`, which drops the bundled account and contact catalogues.
    pub slim: bool,
    /// The scope resource a PAT needs (`cases` for solutions).
    pub scope: &'static str,
    /// The field that titles a record, in order of preference.
    pub title_fields: &'static [&'static str],
}

impl Entity {
    /// Every entity, in the order crm_entities lists them.
    pub const ALL: [Entity; 8] = [
        Entity::Leads,
        Entity::Contacts,
        Entity::Accounts,
        Entity::Opportunities,
        Entity::Tasks,
        Entity::Cases,
        Entity::Invoices,
        Entity::Solutions,
    ];

    /// Its routes and quirks.
    pub fn spec(self) -> &'static Spec {
        &SPECS[self as usize]
    }

    /// The entity whose catalogue key (its position in [`Entity::ALL`]) is `key`.
    pub fn from_key(key: u64) -> Option<Entity> {
        Entity::ALL.get(usize::try_from(key).ok()?).copied()
    }

    /// The entity a resolved [`EntityInfo`] names.
    pub fn from_name(name: &str) -> Option<Entity> {
        Entity::ALL.into_iter().find(|e| {
            e.spec().name.eq_ignore_ascii_case(name) || e.spec().native.eq_ignore_ascii_case(name)
        })
    }
}

static SPECS: [Spec; 8] = [
    Spec {
        entity: Entity::Leads,
        name: "leads",
        native: "leads",
        label: "Leads",
        path: "api/leads/",
        detail_key: Some("lead_obj"),
        created: Created::NoId,
        update_by_put: false,
        comments: Comments::DetailUrl,
        deletable: true,
        slim: false,
        scope: "leads",
        title_fields: &["first_name", "last_name", "title", "email", "company_name"],
    },
    Spec {
        entity: Entity::Contacts,
        name: "contacts",
        native: "contacts",
        label: "Contacts",
        path: "api/contacts/",
        detail_key: Some("contact_obj"),
        created: Created::Id,
        update_by_put: false,
        comments: Comments::DetailUrl,
        deletable: true,
        slim: false,
        scope: "contacts",
        title_fields: &["first_name", "last_name", "email"],
    },
    Spec {
        entity: Entity::Accounts,
        name: "companies",
        native: "accounts",
        label: "Accounts (companies)",
        path: "api/accounts/",
        detail_key: Some("account_obj"),
        created: Created::Id,
        update_by_put: false,
        comments: Comments::DetailUrl,
        deletable: true,
        slim: false,
        scope: "accounts",
        title_fields: &["name"],
    },
    Spec {
        entity: Entity::Opportunities,
        name: "deals",
        native: "opportunities",
        label: "Opportunities (deals)",
        path: "api/opportunities/",
        detail_key: Some("opportunity_obj"),
        created: Created::Id,
        update_by_put: false,
        comments: Comments::DetailUrl,
        deletable: true,
        slim: false,
        scope: "opportunities",
        title_fields: &["name"],
    },
    Spec {
        entity: Entity::Tasks,
        name: "tasks",
        native: "tasks",
        label: "Tasks",
        path: "api/tasks/",
        detail_key: Some("task_obj"),
        created: Created::NoId,
        update_by_put: false,
        comments: Comments::DetailUrl,
        deletable: true,
        slim: true,
        scope: "tasks",
        title_fields: &["title"],
    },
    Spec {
        entity: Entity::Cases,
        name: "cases",
        native: "cases",
        label: "Cases",
        path: "api/cases/",
        detail_key: Some("cases_obj"),
        created: Created::Id,
        update_by_put: false,
        comments: Comments::DetailUrl,
        deletable: true,
        slim: true,
        scope: "cases",
        title_fields: &["name"],
    },
    Spec {
        entity: Entity::Invoices,
        name: "invoices",
        native: "invoices",
        label: "Invoices",
        path: "api/invoices/",
        detail_key: Some("invoice"),
        created: Created::Wrapped("invoice"),
        update_by_put: true,
        comments: Comments::CommentsUrl,
        deletable: false,
        slim: false,
        scope: "invoices",
        title_fields: &["invoice_number", "invoice_title"],
    },
    Spec {
        entity: Entity::Solutions,
        name: "solutions",
        native: "solutions",
        label: "Solutions (knowledge base)",
        path: "api/cases/solutions/",
        detail_key: None,
        created: Created::BareObject,
        update_by_put: false,
        comments: Comments::None,
        deletable: true,
        slim: false,
        scope: "cases",
        title_fields: &["title"],
    },
];

/// Action names.
pub mod action {
    /// Convert a lead (PATCH status converted).
    pub const CONVERT: &str = "convert";
    /// Email an invoice to its client.
    pub const SEND: &str = "send";
    /// Void an invoice.
    pub const CANCEL: &str = "cancel";
    /// Publish an approved solution.
    pub const PUBLISH: &str = "publish";
    /// Take a solution off the public knowledge base.
    pub const UNPUBLISH: &str = "unpublish";
}

fn actions(entity: Entity) -> Vec<ActionInfo> {
    let act = |name: &str, destructive: bool, description: &str| ActionInfo {
        name: name.into(),
        description: description.into(),
        destructive,
        params: Vec::new(),
    };
    match entity {
        Entity::Leads => vec![act(
            action::CONVERT,
            true,
            "Convert the lead. Irreversible: BottleCRM creates (or reuses) an account named after \
             company_name (else \"first last\"), creates a contact from the lead's email and an \
             opportunity at stage QUALIFICATION, and sets the lead to converted, which hides it from \
             every list. The lead needs an email. Returns the new account_id, contact_id and \
             opportunity_id.",
        )],
        Entity::Invoices => vec![
            act(
                action::SEND,
                true,
                "Email the invoice to its client (client_email). A Draft becomes Sent; sending a Sent \
                 invoice again emails the client again. Paid or cancelled invoices cannot be sent.",
            ),
            act(
                action::CANCEL,
                true,
                "Void the invoice (status Cancelled). BottleCRM cannot delete invoices; this is how \
                 one is withdrawn. A cancelled invoice can no longer be sent.",
            ),
        ],
        Entity::Solutions => vec![
            act(
                action::PUBLISH,
                true,
                "Publish the article on the public knowledge base (customers can read it). Only \
                 approved solutions can be published, and only by an admin.",
            ),
            act(
                action::UNPUBLISH,
                false,
                "Take the article off the public knowledge base.",
            ),
        ],
        _ => Vec::new(),
    }
}

const ASSIGNED_TO_NOTE: &str = "setting assigned_to (on create or update) makes BottleCRM email \
     every assignee; the ids in assigned_to are user profile ids";

fn notes(entity: Entity) -> Vec<String> {
    let mut notes: Vec<String> = Vec::new();
    let spec = entity.spec();
    match entity {
        Entity::Leads => {
            notes.push(
                "search reads BottleCRM's two lead lists in turn: the open section (status assigned, \
                 in process, recycled) and then the closed section (status closed); filter on status \
                 to read one section only. Converted leads are never listable: BottleCRM hides them \
                 from every list, so status converted is refused; crm_get still reads one by id"
                    .into(),
            );
            notes.push(
                "create: BottleCRM answers without the new lead's id; crmgate finds it again (by \
                 email when one is given, else by comparing the list before and after) and says \
                 plainly when it cannot tell which record is new"
                    .into(),
            );
            notes.push(
                "status converted is not writable with crm_update or crm_create: it runs the \
                 irreversible conversion; use crm_action convert"
                    .into(),
            );
            notes.push(
                "source values are BottleCRM's own, including the misspelt \"compaign\" (label \
                 Campaign); email is unique per organisation"
                    .into(),
            );
            notes.push("delete: only an admin or the lead's creator may delete a lead".into());
        }
        Entity::Tasks => {
            notes.push(
                "create: BottleCRM answers without the new task's id; crmgate finds it again by \
                 comparing the list before and after, and says plainly when it cannot tell which \
                 record is new"
                    .into(),
            );
            notes.push(
                "a task has at most one parent: set only one of account, opportunity, case, lead"
                    .into(),
            );
        }
        Entity::Accounts => {
            notes.push(
                "search reads the active accounts and then the inactive ones; filter is_active eq \
                 true or false to read one section only"
                    .into(),
            );
            notes.push(
                "tags on accounts are tag names (an unknown name creates the tag), unlike other \
                 entities where tags are tag ids; the name is unique per organisation"
                    .into(),
            );
        }
        Entity::Cases => {
            notes.push(
                "BottleCRM hides inactive, merged and Duplicate cases from lists; delete is \
                 permanent"
                    .into(),
            );
        }
        Entity::Invoices => {
            notes.push(
                "delete is absent: BottleCRM answers DELETE on an invoice with 405; use the cancel \
                 action to void one"
                    .into(),
            );
            notes.push(
                "update goes by PUT, which BottleCRM applies partially (only the fields sent \
                 change); status is read-only and changes through the send and cancel actions"
                    .into(),
            );
            notes.push(
                "comments go to the invoice's own comments list; send emails the client".into(),
            );
        }
        Entity::Solutions => {
            notes.push(
                "solutions have no comments or timeline; approving (status approved) or publishing \
                 needs an admin"
                    .into(),
            );
        }
        Entity::Opportunities => {
            notes.push(
                "name is unique per organisation; a closed stage needs closed_on and CLOSED_WON \
                 needs an amount"
                    .into(),
            );
        }
        Entity::Contacts => {
            notes.push("email is unique per organisation (case-insensitive)".into());
        }
    }
    if !matches!(entity, Entity::Solutions) {
        notes.push(ASSIGNED_TO_NOTE.into());
        notes.push(
            "a USER-role token sees only records it created or is assigned to; other records \
             answer PERMISSION_DENIED"
                .into(),
        );
    }
    if spec.comments != Comments::None {
        notes.push(
            "crm_note adds a comment; BottleCRM comments cannot be edited through crmgate".into(),
        );
    }
    notes.push(filters::summary(entity));
    notes.push(format!(
        "a scoped token needs {0}:read to read and {0}:write to change {1}",
        spec.scope, spec.name
    ));
    notes
}

/// The capabilities of every entity, as crm_entities shows them.
pub fn entity_infos() -> Vec<EntityInfo> {
    Entity::ALL
        .into_iter()
        .map(|entity| {
            let spec = entity.spec();
            let mut operations: BTreeSet<Operation> = [
                Operation::Search,
                Operation::Get,
                Operation::Create,
                Operation::Update,
            ]
            .into_iter()
            .collect();
            if spec.deletable {
                operations.insert(Operation::Delete);
            }
            if spec.comments != Comments::None {
                operations.insert(Operation::Note);
                operations.insert(Operation::Timeline);
            }
            let actions = actions(entity);
            if !actions.is_empty() {
                operations.insert(Operation::Action);
            }
            EntityInfo {
                name: spec.name.into(),
                native: spec.native.into(),
                label: spec.label.into(),
                operations,
                filter_ops: filters::entity_ops(entity),
                total: TotalKind::Exact,
                delete: DeleteKind::Hard,
                actions,
                notes: notes(entity),
                denied: Vec::new(),
                key: entity as u64,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_indexed_by_the_enum() {
        for e in Entity::ALL {
            assert_eq!(e.spec().entity, e);
            assert_eq!(Entity::from_name(e.spec().name), Some(e));
            assert_eq!(Entity::from_name(e.spec().native), Some(e));
        }
    }

    #[test]
    fn invoices_cannot_be_deleted_and_leads_convert_destructively() {
        let infos = entity_infos();
        let invoices = infos.iter().find(|i| i.name == "invoices").unwrap();
        assert!(!invoices.supports(Operation::Delete));
        assert!(invoices.actions.iter().all(|a| a.destructive));
        let leads = infos.iter().find(|i| i.name == "leads").unwrap();
        assert!(
            leads
                .actions
                .iter()
                .any(|a| a.name == "convert" && a.destructive)
        );
        assert!(
            leads
                .notes
                .iter()
                .any(|n| n.contains("Converted leads are never listable"))
        );
        assert!(
            leads
                .notes
                .iter()
                .any(|n| n.contains("email every assignee"))
        );
        let solutions = infos.iter().find(|i| i.name == "solutions").unwrap();
        assert!(!solutions.supports(Operation::Note));
    }
}
