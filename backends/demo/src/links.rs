//! Links between entities: how each named link is stored (a reference field on the record, or
//! references on the far side), and the link list of every entity.

use crate::kind::Kind;
use crmgate_core::schema::{LinkKind, LinkSchema};

/// How a link is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// A reference (one) or references (many) field on the record itself.
    Own(&'static str),
    /// Records of another kind whose reference(s) field holds this record's id.
    Reverse(Kind, &'static str),
}

/// A link as the store implements it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LinkSpec {
    pub name: &'static str,
    pub target: Kind,
    pub many: bool,
    pub writable: bool,
    pub via: Via,
}

const fn own(name: &'static str, target: Kind, field: &'static str, writable: bool) -> LinkSpec {
    LinkSpec {
        name,
        target,
        many: false,
        writable,
        via: Via::Own(field),
    }
}

const fn many(name: &'static str, target: Kind, via: Via, writable: bool) -> LinkSpec {
    LinkSpec {
        name,
        target,
        many: true,
        writable,
        via,
    }
}

pub(crate) fn link_schema(spec: &LinkSpec) -> LinkSchema {
    LinkSchema {
        name: spec.name.into(),
        target: spec.target.name().into(),
        kind: if spec.many {
            LinkKind::Many
        } else {
            LinkKind::One
        },
        writable: spec.writable,
    }
}

/// The links of an entity.
pub(crate) fn links(kind: Kind) -> Vec<LinkSpec> {
    use Via::Reverse;
    let attached = |field: &'static str| {
        [
            many("notes", Kind::Notes, Reverse(Kind::Notes, field), true),
            many("tasks", Kind::Tasks, Reverse(Kind::Tasks, field), true),
            many("emails", Kind::Emails, Reverse(Kind::Emails, field), false),
        ]
    };
    let parent_links = |writable: bool| {
        [
            own("company", Kind::Companies, "company_id", writable),
            own("contact", Kind::Contacts, "contact_id", writable),
            own("lead", Kind::Leads, "lead_id", writable),
            own("deal", Kind::Deals, "deal_id", writable),
        ]
    };
    let owner = own("owner", Kind::Users, "owner_id", true);
    let mut v = Vec::new();
    match kind {
        Kind::Companies => {
            v.push(many(
                "contacts",
                Kind::Contacts,
                Reverse(Kind::Contacts, "company_id"),
                true,
            ));
            v.push(many(
                "deals",
                Kind::Deals,
                Reverse(Kind::Deals, "company_id"),
                true,
            ));
            v.extend(attached("company_id"));
            v.push(owner);
        }
        Kind::Contacts => {
            v.push(own("company", Kind::Companies, "company_id", true));
            v.push(many(
                "deals",
                Kind::Deals,
                Reverse(Kind::Deals, "contact_ids"),
                true,
            ));
            v.extend(attached("contact_id"));
            v.push(owner);
        }
        Kind::Leads => {
            v.extend(attached("lead_id"));
            v.push(owner);
            v.push(own(
                "converted_contact",
                Kind::Contacts,
                "converted_contact_id",
                false,
            ));
            v.push(own(
                "converted_company",
                Kind::Companies,
                "converted_company_id",
                false,
            ));
            v.push(own(
                "converted_deal",
                Kind::Deals,
                "converted_deal_id",
                false,
            ));
        }
        Kind::Deals => {
            v.push(own("company", Kind::Companies, "company_id", true));
            v.push(own("contact", Kind::Contacts, "contact_id", true));
            v.push(many(
                "contacts",
                Kind::Contacts,
                Via::Own("contact_ids"),
                true,
            ));
            v.extend(attached("deal_id"));
            v.push(owner);
        }
        Kind::Tasks => {
            v.extend(parent_links(true));
            v.push(own("assignee", Kind::Users, "assignee_id", true));
        }
        Kind::Notes => {
            v.extend(parent_links(true));
            v.push(own("author", Kind::Users, "author_id", false));
        }
        Kind::Users => {
            v.push(many(
                "companies",
                Kind::Companies,
                Reverse(Kind::Companies, "owner_id"),
                false,
            ));
            v.push(many(
                "deals",
                Kind::Deals,
                Reverse(Kind::Deals, "owner_id"),
                false,
            ));
            v.push(many(
                "tasks",
                Kind::Tasks,
                Reverse(Kind::Tasks, "assignee_id"),
                false,
            ));
        }
        Kind::Emails => v.extend(parent_links(false)),
    }
    v
}
