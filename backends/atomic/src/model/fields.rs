//! The fields of each entity as Atomic CRM defines them (final migration state), with what the
//! catalog cannot say: labels, enum sources, links, the compact projection, and which columns
//! the database fills in (ids, timestamps, trigger-set values).

use super::Kind;
use super::options::{GENDERS, OptionSource};
use crmgate_core::schema::FieldType::{self, *};

/// One column of an entity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldSpec {
    /// Column name.
    pub name: &'static str,
    /// Common type.
    pub ty: FieldType,
    /// Human label.
    pub label: &'static str,
    /// Must be given on create.
    pub required: bool,
    /// Set by the database (or not writable through crmgate).
    pub read_only: bool,
    /// In the compact default projection.
    pub compact: bool,
    /// Where enum options come from.
    pub options: OptionSource,
    /// For references: the entity pointed at.
    pub link: Option<Kind>,
    /// Only in the summary view, not in the table.
    pub view_only: bool,
}

const fn f(name: &'static str, ty: FieldType, label: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        ty,
        label,
        required: false,
        read_only: false,
        compact: false,
        options: OptionSource::None,
        link: None,
        view_only: false,
    }
}

impl FieldSpec {
    const fn req(mut self) -> Self {
        self.required = true;
        self
    }
    const fn ro(mut self) -> Self {
        self.read_only = true;
        self
    }
    const fn c(mut self) -> Self {
        self.compact = true;
        self
    }
    const fn opts(mut self, options: OptionSource) -> Self {
        self.options = options;
        self
    }
    const fn to(mut self, kind: Kind) -> Self {
        self.link = Some(kind);
        self
    }
    const fn view(mut self) -> Self {
        self.view_only = true;
        self.read_only = true;
        self
    }
}

const ID: FieldSpec = f("id", Id, "Id").ro();
const SALES: FieldSpec = f("sales_id", Reference, "Account manager").to(Kind::Users);

const COMPANIES: &[FieldSpec] = &[
    ID,
    f("created_at", DateTime, "Created at").ro(),
    f("name", Text, "Name").req().c(),
    f("sector", Enum, "Sector")
        .opts(OptionSource::Config("companySectors"))
        .c(),
    f("size", Integer, "Size (employees: 1, 10, 50, 250 or 500)").c(),
    f("linkedin_url", Url, "LinkedIn URL"),
    f("website", Url, "Website").c(),
    f("phone_number", Phone, "Phone number"),
    f("address", Text, "Address"),
    f("zipcode", Text, "Zip code"),
    f("city", Text, "City").c(),
    f("state_abbr", Text, "State"),
    SALES,
    f("context_links", Json, "Context links (array of URLs)"),
    f("country", Text, "Country").c(),
    f("description", LongText, "Description"),
    f("revenue", Text, "Revenue"),
    f("tax_identifier", Text, "Tax identifier"),
    f("logo", Json, "Logo ({src, title})"),
    f("nb_deals", Integer, "Number of deals").view().c(),
    f("nb_contacts", Integer, "Number of contacts").view().c(),
];

const CONTACTS: &[FieldSpec] = &[
    ID,
    f("first_name", Text, "First name").c(),
    f("last_name", Text, "Last name").c(),
    f("gender", Enum, "Gender").opts(OptionSource::Fixed(GENDERS)),
    f("title", Text, "Title").c(),
    f("background", LongText, "Background"),
    f("avatar", Json, "Avatar ({src, title})"),
    f("first_seen", DateTime, "First seen"),
    f("last_seen", DateTime, "Last seen").c(),
    f("has_newsletter", Boolean, "Has newsletter"),
    f("status", Enum, "Status")
        .opts(OptionSource::Config("noteStatuses"))
        .c(),
    f("tags", References, "Tags").to(Kind::Tags),
    f("company_id", Reference, "Company")
        .to(Kind::Companies)
        .c(),
    SALES,
    f("linkedin_url", Url, "LinkedIn URL"),
    f(
        "email_jsonb",
        Json,
        "Emails: [{\"email\": \"…\", \"type\": \"Work|Home|Other\"}]",
    )
    .c(),
    f(
        "phone_jsonb",
        Json,
        "Phones: [{\"number\": \"…\", \"type\": \"Work|Home|Other\"}]",
    ),
    f("email_fts", Text, "Emails (text, for search)").view(),
    f("phone_fts", Text, "Phones (text, for search)").view(),
    f("company_name", Text, "Company name").view().c(),
    f("nb_tasks", Integer, "Open tasks").view(),
];

const DEALS: &[FieldSpec] = &[
    ID,
    f("name", Text, "Name").req().c(),
    f("company_id", Reference, "Company")
        .to(Kind::Companies)
        .c(),
    f("contact_ids", References, "Contacts").to(Kind::Contacts),
    f("category", Enum, "Category")
        .opts(OptionSource::Config("dealCategories"))
        .c(),
    f("stage", Enum, "Stage")
        .opts(OptionSource::Config("dealStages"))
        .req()
        .c(),
    f("description", LongText, "Description"),
    f(
        "amount",
        Money,
        "Amount (whole units of the configured currency)",
    )
    .c(),
    f("created_at", DateTime, "Created at").ro(),
    f("updated_at", DateTime, "Updated at").ro(),
    f("archived_at", DateTime, "Archived at"),
    f("expected_closing_date", Date, "Expected closing date").c(),
    SALES,
    f("index", Integer, "Position in its stage column"),
];

const TASKS: &[FieldSpec] = &[
    ID,
    f("contact_id", Reference, "Contact")
        .to(Kind::Contacts)
        .req()
        .c(),
    f("type", Enum, "Type")
        .opts(OptionSource::Config("taskTypes"))
        .c(),
    f("text", LongText, "Text").c(),
    f("due_date", DateTime, "Due date").c(),
    f("done_date", DateTime, "Done date").c(),
    SALES,
];

const NOTES: &[FieldSpec] = &[
    ID,
    f("contact_id", Reference, "Contact")
        .to(Kind::Contacts)
        .req()
        .c(),
    f("text", LongText, "Text").c(),
    f("date", DateTime, "Date").c(),
    SALES,
    f("status", Enum, "Status")
        .opts(OptionSource::Config("noteStatuses"))
        .c(),
    f("attachments", Json, "Attachments").ro(),
];

const DEAL_NOTES: &[FieldSpec] = &[
    ID,
    f("deal_id", Reference, "Deal").to(Kind::Deals).req().c(),
    f("type", Text, "Type").c(),
    f("text", LongText, "Text").c(),
    f("date", DateTime, "Date").c(),
    SALES,
    f("attachments", Json, "Attachments").ro(),
];

const USERS: &[FieldSpec] = &[
    ID,
    f("first_name", Text, "First name").ro().c(),
    f("last_name", Text, "Last name").ro().c(),
    f("email", Email, "Email").ro().c(),
    f("administrator", Boolean, "Administrator").ro().c(),
    f("user_id", Text, "Auth user id").ro(),
    f("avatar", Json, "Avatar").ro(),
    f("disabled", Boolean, "Disabled").ro().c(),
];

const TAGS: &[FieldSpec] = &[
    ID,
    f("name", Text, "Name").req().c(),
    f("color", Text, "Color (e.g. #eddcd2)").req().c(),
];

/// The built-in fields of an entity, table columns first, then summary-view columns.
pub fn fields(kind: Kind) -> &'static [FieldSpec] {
    match kind {
        Kind::Companies => COMPANIES,
        Kind::Contacts => CONTACTS,
        Kind::Deals => DEALS,
        Kind::Tasks => TASKS,
        Kind::Notes => NOTES,
        Kind::DealNotes => DEAL_NOTES,
        Kind::Users => USERS,
        Kind::Tags => TAGS,
    }
}

/// One built-in field.
pub fn field(kind: Kind, name: &str) -> Option<&'static FieldSpec> {
    fields(kind).iter().find(|f| f.name == name)
}
