//! Which fields BottleCRM filters per entity, and how: the table behind both the pushdown and
//! the notes crm_entities shows.

use crate::entities::Entity;
use crmgate_core::filter::FilterOp;

/// How BottleCRM filters one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `param=value`, exact (enum values are checked first).
    Exact,
    /// `param=a&param=b`: exact, repeatable (any of); enum values are checked first.
    Choice,
    /// `param=<uuid>&param=<uuid>`: any of several ids (assigned_to, tags).
    Ids,
    /// `param=<uuid>`: one id (account, lead, …).
    Id,
    /// `param=text`: case-insensitive contains.
    Contains,
    /// `gte`/`lte` parameters taking `YYYY-MM-DD`.
    Dates {
        /// Parameter for gte.
        gte: &'static str,
        /// Parameter for lte.
        lte: &'static str,
    },
    /// `gte`/`lte` parameters taking a number.
    Numbers {
        /// Parameter for gte.
        gte: &'static str,
        /// Parameter for lte.
        lte: &'static str,
    },
    /// `param=true|false`.
    Bool,
    /// Not a parameter: selects which section of a two-section list is read (accounts'
    /// `is_active`).
    Section,
}

impl Kind {
    /// The operators this kind runs.
    pub fn ops(self) -> &'static [FilterOp] {
        match self {
            Kind::Exact | Kind::Id | Kind::Bool | Kind::Section => &[FilterOp::Eq],
            Kind::Choice | Kind::Ids => &[FilterOp::Eq, FilterOp::In],
            Kind::Contains => &[FilterOp::Contains],
            Kind::Dates { .. } | Kind::Numbers { .. } => {
                &[FilterOp::Gte, FilterOp::Lte, FilterOp::Between]
            }
        }
    }
}

/// One filterable field.
#[derive(Debug, Clone, Copy)]
pub struct FilterField {
    /// Field name as records show it.
    pub field: &'static str,
    /// Query parameter (unused for ranges and sections).
    pub param: &'static str,
    /// How it filters.
    pub kind: Kind,
}

const fn f(field: &'static str, param: &'static str, kind: Kind) -> FilterField {
    FilterField { field, param, kind }
}

const CREATED: FilterField = f(
    "created_at",
    "",
    Kind::Dates {
        gte: "created_at__gte",
        lte: "created_at__lte",
    },
);

const LEADS_FILTERS: &[FilterField] = &[
    f("status", "status", Kind::Choice),
    f("source", "source", Kind::Exact),
    f("rating", "rating", Kind::Exact),
    f("city", "city", Kind::Contains),
    f("email", "email", Kind::Contains),
    f("assigned_to", "assigned_to", Kind::Ids),
    f("tags", "tags", Kind::Ids),
    f(
        "close_date",
        "",
        Kind::Dates {
            gte: "close_date__gte",
            lte: "close_date__lte",
        },
    ),
    f("next_follow_up", "next_follow_up", Kind::Exact),
    CREATED,
];

const CONTACTS_FILTERS: &[FilterField] = &[
    f("city", "city", Kind::Contains),
    f("email", "email", Kind::Contains),
    f("phone", "phone", Kind::Contains),
    f("assigned_to", "assigned_to", Kind::Ids),
    f("tags", "tags", Kind::Ids),
    f("is_active", "is_active", Kind::Bool),
    CREATED,
];

const ACCOUNTS_FILTERS: &[FilterField] = &[
    f("name", "name", Kind::Contains),
    f("city", "city", Kind::Contains),
    f("industry", "industry", Kind::Contains),
    f("assigned_to", "assigned_to", Kind::Ids),
    f("tags", "tags", Kind::Ids),
    f("is_active", "", Kind::Section),
    CREATED,
];

const OPPORTUNITIES_FILTERS: &[FilterField] = &[
    f("stage", "stage", Kind::Exact),
    f("name", "name", Kind::Contains),
    f("lead_source", "lead_source", Kind::Contains),
    f("account", "account", Kind::Id),
    f("assigned_to", "assigned_to", Kind::Ids),
    f("tags", "tags", Kind::Ids),
    f(
        "amount",
        "",
        Kind::Numbers {
            gte: "amount__gte",
            lte: "amount__lte",
        },
    ),
    f(
        "closed_on",
        "",
        Kind::Dates {
            gte: "closed_on__gte",
            lte: "closed_on__lte",
        },
    ),
    CREATED,
];

const TASKS_FILTERS: &[FilterField] = &[
    f("status", "status", Kind::Choice),
    f("priority", "priority", Kind::Exact),
    f("title", "title", Kind::Contains),
    f(
        "due_date",
        "",
        Kind::Dates {
            gte: "due_date__gte",
            lte: "due_date__lte",
        },
    ),
    f("account", "account", Kind::Id),
    f("opportunity", "opportunity", Kind::Id),
    f("case", "case", Kind::Id),
    f("lead", "lead", Kind::Id),
    f("assigned_to", "assigned_to", Kind::Ids),
    f("tags", "tags", Kind::Ids),
    CREATED,
];

const CASES_FILTERS: &[FilterField] = &[
    f("status", "status", Kind::Choice),
    f("priority", "priority", Kind::Exact),
    f("case_type", "case_type", Kind::Exact),
    f("name", "name", Kind::Contains),
    f("account", "account", Kind::Id),
    f("assigned_to", "assigned_to", Kind::Ids),
    f("tags", "tags", Kind::Ids),
    CREATED,
];

const INVOICES_FILTERS: &[FilterField] = &[
    f("status", "status", Kind::Exact),
    f("account_id", "account", Kind::Id),
    f("contact_id", "contact", Kind::Id),
    f("opportunity_id", "opportunity", Kind::Id),
    f(
        "issue_date",
        "",
        Kind::Dates {
            gte: "issue_date_gte",
            lte: "issue_date_lte",
        },
    ),
    f(
        "due_date",
        "",
        Kind::Dates {
            gte: "due_date_gte",
            lte: "due_date_lte",
        },
    ),
];

const SOLUTIONS_FILTERS: &[FilterField] = &[
    f("status", "status", Kind::Exact),
    f("is_published", "is_published", Kind::Bool),
];

/// The filterable fields of an entity, in the order crm_describe lists them first.
pub fn fields(entity: Entity) -> &'static [FilterField] {
    match entity {
        Entity::Leads => LEADS_FILTERS,
        Entity::Contacts => CONTACTS_FILTERS,
        Entity::Accounts => ACCOUNTS_FILTERS,
        Entity::Opportunities => OPPORTUNITIES_FILTERS,
        Entity::Tasks => TASKS_FILTERS,
        Entity::Cases => CASES_FILTERS,
        Entity::Invoices => INVOICES_FILTERS,
        Entity::Solutions => SOLUTIONS_FILTERS,
    }
}

/// What `query` searches, per entity.
pub fn query_fields(entity: Entity) -> &'static str {
    match entity {
        Entity::Leads => "first name, last name, company name and email",
        Entity::Contacts => "first name, last name, email and phone",
        Entity::Accounts => "name",
        Entity::Opportunities => "name",
        Entity::Tasks => "title",
        Entity::Cases => "name and description",
        Entity::Invoices => "title, number, client name and client email",
        Entity::Solutions => "title and description",
    }
}

/// Fields invoices can be sorted by (the only entity BottleCRM sorts on request).
pub const INVOICE_SORT: [&str; 5] = [
    "created_at",
    "due_date",
    "issue_date",
    "total_amount",
    "status",
];

/// The operators an entity runs natively on at least one field.
pub fn entity_ops(entity: Entity) -> Vec<FilterOp> {
    let mut ops: Vec<FilterOp> = fields(entity)
        .iter()
        .flat_map(|f| f.kind.ops().iter().copied())
        .collect();
    ops.sort();
    ops.dedup();
    ops
}

fn ops_words(kind: Kind) -> String {
    kind.ops()
        .iter()
        .map(|o| o.as_str())
        .collect::<Vec<_>>()
        .join("/")
}

/// "status (eq/in), city (contains), …": what runs natively, field by field.
pub fn supported_list(entity: Entity) -> String {
    fields(entity)
        .iter()
        .map(|f| format!("{} ({})", f.field, ops_words(f.kind)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The note crm_entities carries about filtering this entity.
pub fn summary(entity: Entity) -> String {
    let sort = if entity == Entity::Invoices {
        format!("sort by one of {}", INVOICE_SORT.join(", "))
    } else {
        "no sort (BottleCRM lists in its own fixed order)".to_owned()
    };
    format!(
        "filters BottleCRM runs, per field: {}; query searches {}; {}; dates are YYYY-MM-DD \
         (created_at compares from the start of that day); nothing is filtered on the gateway side",
        supported_list(entity),
        query_fields(entity),
        sort
    )
}
