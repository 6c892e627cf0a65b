//! The sandbox's own description of Atomic CRM's tables: the database it pretends to be.
//! Column types, NOT NULL, defaults and foreign keys, as in `tests/sql/schema.sql`.

/// A column type, as far as the sandbox needs to tell values apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlType {
    /// bigint / smallint
    Int,
    /// text / citext / uuid
    Text,
    /// boolean
    Bool,
    /// timestamptz
    Timestamp,
    /// date
    Date,
    /// json / jsonb / jsonb[]
    Json,
    /// bigint[]
    IntArray,
}

impl SqlType {
    /// The type's name in PostgreSQL's messages.
    pub fn pg_name(self) -> &'static str {
        match self {
            SqlType::Int => "bigint",
            SqlType::Text => "text",
            SqlType::Bool => "boolean",
            SqlType::Timestamp => "timestamp with time zone",
            SqlType::Date => "date",
            SqlType::Json => "jsonb",
            SqlType::IntArray => "bigint[]",
        }
    }
}

/// What a column defaults to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    /// NULL.
    Null,
    /// `now()`.
    Now,
    /// A text constant.
    Text(&'static str),
    /// `false`.
    False,
    /// `'{}'` (JSON object).
    EmptyObject,
    /// The next identity value.
    Identity,
}

/// One column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Col {
    /// Name.
    pub name: &'static str,
    /// Type.
    pub ty: SqlType,
    /// NOT NULL.
    pub not_null: bool,
    /// Default.
    pub default: Default,
    /// Foreign key to another table's id.
    pub references: Option<&'static str>,
}

const fn c(name: &'static str, ty: SqlType) -> Col {
    Col {
        name,
        ty,
        not_null: false,
        default: Default::Null,
        references: None,
    }
}

impl Col {
    const fn nn(mut self) -> Self {
        self.not_null = true;
        self
    }
    const fn def(mut self, d: Default) -> Self {
        self.default = d;
        self
    }
    const fn fk(mut self, table: &'static str) -> Self {
        self.references = Some(table);
        self
    }
}

use SqlType::*;

const ID: Col = c("id", Int).nn().def(Default::Identity);

const SALES: &[Col] = &[
    ID,
    c("first_name", Text).nn().def(Default::Text("Pending")),
    c("last_name", Text).nn().def(Default::Text("Pending")),
    c("email", Text).nn(),
    c("administrator", Bool).nn(),
    c("user_id", Text).nn(),
    c("avatar", Json),
    c("disabled", Bool).nn().def(Default::False),
];

const COMPANIES: &[Col] = &[
    ID,
    c("created_at", Timestamp).nn().def(Default::Now),
    c("name", Text).nn(),
    c("sector", Text),
    c("size", Int),
    c("linkedin_url", Text),
    c("website", Text),
    c("phone_number", Text),
    c("address", Text),
    c("zipcode", Text),
    c("city", Text),
    c("state_abbr", Text),
    c("sales_id", Int).fk("sales"),
    c("context_links", Json),
    c("country", Text),
    c("description", Text),
    c("revenue", Text),
    c("tax_identifier", Text),
    c("logo", Json),
];

const CONTACTS: &[Col] = &[
    ID,
    c("first_name", Text),
    c("last_name", Text),
    c("gender", Text),
    c("title", Text),
    c("background", Text),
    c("avatar", Json),
    c("first_seen", Timestamp),
    c("last_seen", Timestamp),
    c("has_newsletter", Bool),
    c("status", Text),
    c("tags", IntArray),
    c("company_id", Int).fk("companies"),
    c("sales_id", Int).fk("sales"),
    c("linkedin_url", Text),
    c("email_jsonb", Json),
    c("phone_jsonb", Json),
];

const CONTACT_NOTES: &[Col] = &[
    ID,
    c("contact_id", Int).nn().fk("contacts"),
    c("text", Text),
    c("date", Timestamp).def(Default::Now),
    c("sales_id", Int).fk("sales"),
    c("status", Text),
    c("attachments", Json),
];

const DEALS: &[Col] = &[
    ID,
    c("name", Text).nn(),
    c("company_id", Int).fk("companies"),
    c("contact_ids", IntArray),
    c("category", Text),
    c("stage", Text).nn(),
    c("description", Text),
    c("amount", Int),
    c("created_at", Timestamp).nn().def(Default::Now),
    c("updated_at", Timestamp).nn().def(Default::Now),
    c("archived_at", Timestamp),
    c("expected_closing_date", Date),
    c("sales_id", Int).fk("sales"),
    c("index", Int),
];

const DEAL_NOTES: &[Col] = &[
    ID,
    c("deal_id", Int).nn().fk("deals"),
    c("type", Text),
    c("text", Text),
    c("date", Timestamp).def(Default::Now),
    c("sales_id", Int).fk("sales"),
    c("attachments", Json),
];

const TASKS: &[Col] = &[
    ID,
    c("contact_id", Int).nn().fk("contacts"),
    c("type", Text),
    c("text", Text),
    c("due_date", Timestamp),
    c("done_date", Timestamp),
    c("sales_id", Int),
];

const TAGS: &[Col] = &[ID, c("name", Text).nn(), c("color", Text).nn()];

const CONFIGURATION: &[Col] = &[
    c("id", Int).nn().def(Default::Text("1")),
    c("config", Json).nn().def(Default::EmptyObject),
];

/// Every table, in the order deletes cascade from.
pub const TABLES: &[&str] = &[
    "sales",
    "companies",
    "contacts",
    "contact_notes",
    "deals",
    "deal_notes",
    "tasks",
    "tags",
    "configuration",
];

/// The columns of a table.
pub fn columns(table: &str) -> Option<&'static [Col]> {
    Some(match table {
        "sales" => SALES,
        "companies" => COMPANIES,
        "contacts" => CONTACTS,
        "contact_notes" => CONTACT_NOTES,
        "deals" => DEALS,
        "deal_notes" => DEAL_NOTES,
        "tasks" => TASKS,
        "tags" => TAGS,
        "configuration" => CONFIGURATION,
        _ => return None,
    })
}

/// The summary views and the table each extends.
pub fn view_base(view: &str) -> Option<&'static str> {
    match view {
        "contacts_summary" => Some("contacts"),
        "companies_summary" => Some("companies"),
        _ => None,
    }
}

/// Columns a view adds to its table.
pub fn view_columns(view: &str) -> &'static [Col] {
    const CONTACTS_SUMMARY: &[Col] = &[
        c("email_fts", Text),
        c("phone_fts", Text),
        c("company_name", Text),
        c("nb_tasks", Int),
    ];
    const COMPANIES_SUMMARY: &[Col] = &[c("nb_deals", Int), c("nb_contacts", Int)];
    match view {
        "contacts_summary" => CONTACTS_SUMMARY,
        "companies_summary" => COMPANIES_SUMMARY,
        _ => &[],
    }
}

/// Tables whose rows are deleted with a row of `table` (ON DELETE CASCADE), and the column.
pub fn cascades(table: &str) -> &'static [(&'static str, &'static str)] {
    match table {
        "companies" => &[("contacts", "company_id"), ("deals", "company_id")],
        "contacts" => &[("contact_notes", "contact_id"), ("tasks", "contact_id")],
        "deals" => &[("deal_notes", "deal_id")],
        _ => &[],
    }
}

/// Tables whose BEFORE INSERT trigger fills `sales_id` with the caller's salesperson.
pub fn has_sales_id_default(table: &str) -> bool {
    matches!(
        table,
        "companies" | "contacts" | "contact_notes" | "deals" | "deal_notes" | "tasks"
    )
}
