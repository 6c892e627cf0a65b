//! Links between entities and how each is stored: a foreign-key column on one side, or an
//! array of ids (`deals.contact_ids`, `contacts.tags`, which have no foreign key).

use super::Kind;
use crmgate_core::schema::{LinkKind, LinkSchema};

/// How a link is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// This record's column holds the target's id.
    Column(&'static str),
    /// This record's array column holds the targets' ids.
    ArrayColumn(&'static str),
    /// Targets whose column holds this record's id.
    Reverse(&'static str),
    /// Targets whose array column contains this record's id.
    ReverseArray(&'static str),
}

/// One link of an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkSpec {
    /// Link name, as passed to crm_related / crm_link.
    pub name: &'static str,
    /// The entity on the far side.
    pub target: Kind,
    /// Storage.
    pub via: Via,
    /// Whether crm_link / crm_unlink change it.
    pub writable: bool,
}

impl LinkSpec {
    /// The link as crm_describe shows it.
    pub fn schema(&self) -> LinkSchema {
        LinkSchema {
            name: self.name.into(),
            target: self.target.name().into(),
            kind: match self.via {
                Via::Column(_) => LinkKind::One,
                _ => LinkKind::Many,
            },
            writable: self.writable,
        }
    }
}

const fn l(name: &'static str, target: Kind, via: Via) -> LinkSpec {
    LinkSpec {
        name,
        target,
        via,
        writable: false,
    }
}

const fn w(name: &'static str, target: Kind, via: Via) -> LinkSpec {
    LinkSpec {
        name,
        target,
        via,
        writable: true,
    }
}

const SALES: LinkSpec = l("sales", Kind::Users, Via::Column("sales_id"));

use Via::*;

const COMPANIES: &[LinkSpec] = &[
    l("contacts", Kind::Contacts, Reverse("company_id")),
    l("deals", Kind::Deals, Reverse("company_id")),
    SALES,
];
const CONTACTS: &[LinkSpec] = &[
    w("company", Kind::Companies, Column("company_id")),
    w("tags", Kind::Tags, ArrayColumn("tags")),
    l("deals", Kind::Deals, ReverseArray("contact_ids")),
    l("tasks", Kind::Tasks, Reverse("contact_id")),
    l("notes", Kind::Notes, Reverse("contact_id")),
    SALES,
];
const DEALS: &[LinkSpec] = &[
    w("contacts", Kind::Contacts, ArrayColumn("contact_ids")),
    l("company", Kind::Companies, Column("company_id")),
    l("notes", Kind::DealNotes, Reverse("deal_id")),
    SALES,
];
const TASKS: &[LinkSpec] = &[l("contact", Kind::Contacts, Column("contact_id")), SALES];
const NOTES: &[LinkSpec] = &[l("contact", Kind::Contacts, Column("contact_id")), SALES];
const DEAL_NOTES: &[LinkSpec] = &[l("deal", Kind::Deals, Column("deal_id")), SALES];
const TAGS: &[LinkSpec] = &[l("contacts", Kind::Contacts, ReverseArray("tags"))];

/// The links of an entity.
pub fn links(kind: Kind) -> &'static [LinkSpec] {
    match kind {
        Kind::Companies => COMPANIES,
        Kind::Contacts => CONTACTS,
        Kind::Deals => DEALS,
        Kind::Tasks => TASKS,
        Kind::Notes => NOTES,
        Kind::DealNotes => DEAL_NOTES,
        Kind::Users => &[],
        Kind::Tags => TAGS,
    }
}

/// One link by name.
pub fn link(kind: Kind, name: &str) -> Option<&'static LinkSpec> {
    links(kind).iter().find(|l| l.name == name)
}
