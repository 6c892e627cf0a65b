//! The demo CRM's entity kinds, their names and id prefixes, and the enum option tables shared
//! by the schema, the seed and the actions.

/// One entity type of the demo CRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Kind {
    Companies,
    Contacts,
    Leads,
    Deals,
    Tasks,
    Notes,
    Users,
    Emails,
}

impl Kind {
    /// Every kind, in index order.
    pub(crate) const ALL: [Kind; 8] = [
        Kind::Companies,
        Kind::Contacts,
        Kind::Leads,
        Kind::Deals,
        Kind::Tasks,
        Kind::Notes,
        Kind::Users,
        Kind::Emails,
    ];

    /// Kinds a note, task or email can be attached to, with the field that points at them.
    pub(crate) const PARENTS: [(Kind, &'static str); 4] = [
        (Kind::Companies, "company_id"),
        (Kind::Contacts, "contact_id"),
        (Kind::Leads, "lead_id"),
        (Kind::Deals, "deal_id"),
    ];

    /// Position in [`Kind::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Canonical name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Companies => "companies",
            Kind::Contacts => "contacts",
            Kind::Leads => "leads",
            Kind::Deals => "deals",
            Kind::Tasks => "tasks",
            Kind::Notes => "notes",
            Kind::Users => "users",
            Kind::Emails => "emails",
        }
    }

    /// The demo CRM's own ("native") name, deliberately different from the canonical one.
    pub(crate) fn native(self) -> &'static str {
        match self {
            Kind::Companies => "Company",
            Kind::Contacts => "Person",
            Kind::Leads => "Lead",
            Kind::Deals => "Deal",
            Kind::Tasks => "Task",
            Kind::Notes => "Note",
            Kind::Users => "User",
            Kind::Emails => "EmailDraft",
        }
    }

    /// Human label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Kind::Companies => "Companies",
            Kind::Contacts => "Contacts",
            Kind::Leads => "Leads",
            Kind::Deals => "Deals",
            Kind::Tasks => "Tasks",
            Kind::Notes => "Notes",
            Kind::Users => "Users",
            Kind::Emails => "Email drafts",
        }
    }

    /// One record, in words (`company`, `contact`).
    pub(crate) fn singular(self) -> &'static str {
        match self {
            Kind::Companies => "company",
            Kind::Contacts => "contact",
            Kind::Leads => "lead",
            Kind::Deals => "deal",
            Kind::Tasks => "task",
            Kind::Notes => "note",
            Kind::Users => "user",
            Kind::Emails => "email draft",
        }
    }

    /// Id prefix: ids look like `co-0001`.
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            Kind::Companies => "co",
            Kind::Contacts => "ct",
            Kind::Leads => "ld",
            Kind::Deals => "dl",
            Kind::Tasks => "tk",
            Kind::Notes => "nt",
            Kind::Users => "us",
            Kind::Emails => "em",
        }
    }

    /// The kind whose catalogue key (its index) is `key`.
    pub(crate) fn from_key(key: u64) -> Option<Kind> {
        Kind::ALL.get(usize::try_from(key).ok()?).copied()
    }

    /// The kind with this canonical or native name (ASCII case-insensitive).
    pub(crate) fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name) || k.native().eq_ignore_ascii_case(name))
    }

    /// The field by which notes, tasks and emails point at records of this kind.
    pub(crate) fn parent_field(self) -> Option<&'static str> {
        Kind::PARENTS
            .iter()
            .find(|(k, _)| *k == self)
            .map(|(_, f)| *f)
    }

    /// Whether records of this kind have a timeline.
    pub(crate) fn has_timeline(self) -> bool {
        self.parent_field().is_some()
    }
}

/// The id of the `n`th record (1-based) of a kind.
pub(crate) fn make_id(kind: Kind, n: u64) -> String {
    format!("{}-{n:04}", kind.prefix())
}

/// The user every write through crmgate acts as (the demo's configured identity).
pub(crate) const CURRENT_USER: &str = "us-0001";

/// `companies.industry`.
pub(crate) const INDUSTRIES: &[(&str, &str)] = &[
    ("software", "Software"),
    ("manufacturing", "Manufacturing"),
    ("retail", "Retail"),
    ("healthcare", "Healthcare"),
    ("financial_services", "Financial services"),
    ("education", "Education"),
    ("logistics", "Logistics"),
    ("media", "Media & entertainment"),
    ("energy", "Energy"),
    ("hospitality", "Hospitality"),
];

/// `contacts.lifecycle`.
pub(crate) const LIFECYCLE: &[(&str, &str)] = &[
    ("subscriber", "Subscriber"),
    ("lead", "Lead"),
    ("marketing_qualified", "Marketing qualified"),
    ("sales_qualified", "Sales qualified"),
    ("opportunity", "Opportunity"),
    ("customer", "Customer"),
    ("churned", "Churned"),
];

/// `leads.source`.
pub(crate) const LEAD_SOURCES: &[(&str, &str)] = &[
    ("website", "Website form"),
    ("referral", "Referral"),
    ("trade_show", "Trade show"),
    ("cold_call", "Cold call"),
    ("partner", "Partner"),
    ("advertising", "Advertising"),
    ("webinar", "Webinar"),
];

/// `leads.status`.
pub(crate) const LEAD_STATUSES: &[(&str, &str)] = &[
    ("new", "New"),
    ("contacted", "Contacted"),
    ("qualified", "Qualified"),
    ("converted", "Converted"),
    ("lost", "Lost"),
];

/// `deals.stage`: value, label, default probability (%).
pub(crate) const DEAL_STAGES: &[(&str, &str, i64)] = &[
    ("prospecting", "Prospecting", 10),
    ("qualification", "Qualification", 25),
    ("proposal", "Proposal sent", 50),
    ("negotiation", "Negotiation", 75),
    ("closed_won", "Closed won", 100),
    ("closed_lost", "Closed lost", 0),
];

/// `deals.currency`.
pub(crate) const CURRENCIES: &[(&str, &str)] = &[
    ("USD", "US dollar"),
    ("EUR", "Euro"),
    ("GBP", "Pound sterling"),
];

/// `tasks.status`.
pub(crate) const TASK_STATUSES: &[(&str, &str)] = &[
    ("not_started", "Not started"),
    ("in_progress", "In progress"),
    ("waiting", "Waiting on someone"),
    ("completed", "Completed"),
    ("deferred", "Deferred"),
];

/// `tasks.priority`.
pub(crate) const PRIORITIES: &[(&str, &str)] = &[
    ("low", "Low"),
    ("normal", "Normal"),
    ("high", "High"),
    ("urgent", "Urgent"),
];

/// `users.role`.
pub(crate) const ROLES: &[(&str, &str)] = &[
    ("admin", "Administrator"),
    ("manager", "Sales manager"),
    ("rep", "Sales representative"),
];

/// `emails.status`: drafts only — the demo never sends.
pub(crate) const EMAIL_STATUSES: &[(&str, &str)] = &[("draft", "Draft (not sent)")];

/// The label of a deal stage, or the value itself when unknown.
pub(crate) fn stage_label(stage: &str) -> &str {
    DEAL_STAGES
        .iter()
        .find(|(v, _, _)| *v == stage)
        .map_or(stage, |(_, l, _)| l)
}

/// The default probability of a deal stage.
pub(crate) fn stage_probability(stage: &str) -> Option<i64> {
    DEAL_STAGES
        .iter()
        .find(|(v, _, _)| *v == stage)
        .map(|(_, _, p)| *p)
}

/// The label of an enum value in a `(value, label)` table, or the value itself.
pub(crate) fn label_of<'a>(table: &'a [(&'a str, &'a str)], value: &'a str) -> &'a str {
    table
        .iter()
        .find(|(v, _)| *v == value)
        .map_or(value, |(_, l)| l)
}
