//! The static field tables: every field crmgate knows per entity, with what BottleCRM really
//! requires on create (the facts, not the OpenAPI `required` lists, which are wrong: they mark
//! `assigned_to`, `contacts` and `teams` required on leads, where nothing is), which fields are
//! read-only, and the enum values with their labels. This is the whole description when a
//! scoped token is refused `/schema/`; otherwise the OpenAPI request bodies enrich it
//! ([`super::openapi`]).

use crate::entities::Entity;
use crmgate_core::schema::{EnumOption, FieldSchema, FieldType};

fn opts(pairs: &[(&str, &str)]) -> Vec<EnumOption> {
    pairs.iter().map(|(v, l)| EnumOption::new(*v, *l)).collect()
}

fn same(values: &[&str]) -> Vec<EnumOption> {
    values.iter().map(|v| EnumOption::new(*v, *v)).collect()
}

fn text(name: &str) -> FieldSchema {
    FieldSchema::new(name, FieldType::Text)
}

fn long(name: &str) -> FieldSchema {
    FieldSchema::new(name, FieldType::LongText)
}

fn en(name: &str, options: Vec<EnumOption>) -> FieldSchema {
    FieldSchema::new(name, FieldType::Enum).options(options)
}

fn of(name: &str, t: FieldType) -> FieldSchema {
    FieldSchema::new(name, t)
}

fn refs(name: &str, label: &str) -> FieldSchema {
    FieldSchema::new(name, FieldType::References).label(label)
}

fn reference(name: &str, entity: &str) -> FieldSchema {
    FieldSchema::new(name, FieldType::Reference).links_to(entity)
}

fn ro(name: &str, t: FieldType) -> FieldSchema {
    FieldSchema::new(name, t).read_only()
}

const LEAD_STATUS: &[(&str, &str)] = &[
    ("assigned", "Assigned"),
    ("in process", "In Process"),
    ("converted", "Converted"),
    ("recycled", "Recycled"),
    ("closed", "Closed"),
];
const LEAD_SOURCE: &[(&str, &str)] = &[
    ("call", "Call"),
    ("email", "Email"),
    ("existing customer", "Existing Customer"),
    ("partner", "Partner"),
    ("public relations", "Public Relations"),
    ("compaign", "Campaign"),
    ("other", "Other"),
];
const RATING: &[(&str, &str)] = &[("HOT", "Hot"), ("WARM", "Warm"), ("COLD", "Cold")];
const INDUSTRY: &[&str] = &[
    "ADVERTISING",
    "AGRICULTURE",
    "APPAREL & ACCESSORIES",
    "AUTOMOTIVE",
    "BANKING",
    "BIOTECHNOLOGY",
    "BUILDING MATERIALS & EQUIPMENT",
    "CHEMICAL",
    "COMPUTER",
    "EDUCATION",
    "ELECTRONICS",
    "ENERGY",
    "ENTERTAINMENT & LEISURE",
    "FINANCE",
    "FOOD & BEVERAGE",
    "GROCERY",
    "HEALTHCARE",
    "INSURANCE",
    "LEGAL",
    "MANUFACTURING",
    "PUBLISHING",
    "REAL ESTATE",
    "SERVICE",
    "SOFTWARE",
    "SPORTS",
    "TECHNOLOGY",
    "TELECOMMUNICATIONS",
    "TELEVISION",
    "TRANSPORTATION",
    "VENTURE CAPITAL",
];
const CURRENCY: &[&str] = &[
    "USD", "EUR", "GBP", "INR", "CAD", "AUD", "JPY", "CNY", "CHF", "SGD", "AED", "BRL", "MXN",
];
const STAGE: &[(&str, &str)] = &[
    ("PROSPECTING", "Prospecting"),
    ("QUALIFICATION", "Qualification"),
    ("PROPOSAL", "Proposal"),
    ("NEGOTIATION", "Negotiation"),
    ("CLOSED_WON", "Closed Won"),
    ("CLOSED_LOST", "Closed Lost"),
];
const OPPORTUNITY_TYPE: &[(&str, &str)] = &[
    ("NEW_BUSINESS", "New Business"),
    ("EXISTING_BUSINESS", "Existing Business"),
    ("RENEWAL", "Renewal"),
    ("UPSELL", "Upsell"),
    ("CROSS_SELL", "Cross-sell"),
];
const OPPORTUNITY_SOURCE: &[&str] = &[
    "NONE",
    "CALL",
    "EMAIL",
    "EXISTING CUSTOMER",
    "PARTNER",
    "PUBLIC RELATIONS",
    "CAMPAIGN",
    "WEBSITE",
    "OTHER",
];
const TASK_STATUS: &[&str] = &["New", "In Progress", "Completed"];
const TASK_PRIORITY: &[&str] = &["Low", "Medium", "High"];
const CASE_STATUS: &[&str] = &[
    "New",
    "Assigned",
    "Pending",
    "Closed",
    "Rejected",
    "Duplicate",
];
const CASE_PRIORITY: &[&str] = &["Low", "Normal", "High", "Urgent"];
const CASE_TYPE: &[&str] = &["Question", "Incident", "Problem"];
const SOLUTION_STATUS: &[(&str, &str)] = &[
    ("draft", "Draft"),
    ("reviewed", "Reviewed"),
    ("approved", "Approved"),
];
const INVOICE_STATUS: &[(&str, &str)] = &[
    ("Draft", "Draft"),
    ("Sent", "Sent"),
    ("Viewed", "Viewed"),
    ("Paid", "Paid"),
    ("Partially_Paid", "Partially Paid"),
    ("Overdue", "Overdue"),
    ("Pending", "Pending"),
    ("Cancelled", "Cancelled"),
];

fn address(prefix: &str) -> Vec<FieldSchema> {
    ["address_line", "city", "state", "postcode"]
        .iter()
        .map(|f| text(&format!("{prefix}{f}")))
        .chain([text(&format!("{prefix}country"))
            .max_length(2)
            .label("Country (ISO 3166 code)")])
        .collect()
}

fn people() -> Vec<FieldSchema> {
    vec![
        refs(
            "assigned_to",
            "Assigned user profile ids (setting it emails them)",
        ),
        refs("teams", "Team ids"),
    ]
}

fn leads() -> Vec<FieldSchema> {
    let mut f = vec![
        text("title")
            .max_length(255)
            .label("Lead name / subject")
            .compact(),
        text("salutation").max_length(64),
        text("first_name").max_length(255).compact(),
        text("last_name").max_length(255).compact(),
        of("email", FieldType::Email).compact(),
        of("phone", FieldType::Phone),
        text("job_title").max_length(255),
        text("website").max_length(255),
        of("linkedin_url", FieldType::Url),
        en("status", opts(LEAD_STATUS)).compact(),
        en("source", opts(LEAD_SOURCE)),
        en("industry", same(INDUSTRY)),
        en("rating", opts(RATING)),
        of("opportunity_amount", FieldType::Money).label("Deal value"),
        en("currency", same(CURRENCY)),
        of("probability", FieldType::Integer).label("Win probability %"),
        of("close_date", FieldType::Date).label("Expected close date"),
    ];
    f.extend(address(""));
    f.extend(people());
    f.extend([
        refs("contacts", "Contact ids"),
        refs("tags", "Tag ids"),
        of("last_contacted", FieldType::Date),
        of("next_follow_up", FieldType::Date),
        long("description").label("Notes"),
        text("company_name").max_length(255).compact(),
        of("is_active", FieldType::Boolean),
        of("custom_fields", FieldType::Json),
    ]);
    f
}

fn contacts() -> Vec<FieldSchema> {
    let mut f = vec![
        text("first_name").max_length(255).required().compact(),
        text("last_name").max_length(255).required().compact(),
        of("email", FieldType::Email).compact(),
        of("phone", FieldType::Phone).compact(),
        text("organization")
            .max_length(255)
            .label("Company")
            .compact(),
        text("title").max_length(255).label("Job title"),
        text("department").max_length(255),
        of("do_not_call", FieldType::Boolean),
        of("linkedin_url", FieldType::Url),
    ];
    f.extend(address(""));
    f.extend([
        long("description").label("Notes"),
        reference("account", "companies")
            .label("Primary account")
            .compact(),
        of("is_active", FieldType::Boolean),
    ]);
    f.extend(people());
    f.extend([
        refs("tags", "Tag ids"),
        of("custom_fields", FieldType::Json),
    ]);
    f
}

fn accounts() -> Vec<FieldSchema> {
    let mut f = vec![
        text("name")
            .max_length(255)
            .required()
            .label("Account name")
            .compact(),
        of("email", FieldType::Email),
        of("phone", FieldType::Phone),
        of("website", FieldType::Url).compact(),
        en("industry", same(INDUSTRY)).compact(),
        of("number_of_employees", FieldType::Integer),
        of("annual_revenue", FieldType::Money),
        en("currency", same(CURRENCY)),
    ];
    f.extend(address(""));
    f.extend([
        long("description").label("Notes"),
        of("is_active", FieldType::Boolean),
    ]);
    f.extend(people());
    f.extend([
        FieldSchema::new("tags", FieldType::MultiEnum)
            .label("Tag names (unknown names create tags)"),
        of("custom_fields", FieldType::Json),
    ]);
    f
}

fn opportunities() -> Vec<FieldSchema> {
    let mut f = vec![
        text("name")
            .max_length(255)
            .required()
            .label("Opportunity name")
            .compact(),
        reference("account", "companies").compact(),
        en("stage", opts(STAGE)).compact(),
        en("opportunity_type", opts(OPPORTUNITY_TYPE)).label("Type"),
        of("amount", FieldType::Money).compact(),
        en("currency", same(CURRENCY)),
        of("probability", FieldType::Integer).label("Probability (%)"),
        of("closed_on", FieldType::Date).label("Closed on (needed for closed stages)"),
        en("lead_source", same(OPPORTUNITY_SOURCE)),
        long("description").label("Notes"),
        refs("contacts", "Contact ids"),
    ];
    f.extend(people());
    f.extend([
        refs("tags", "Tag ids"),
        of("custom_fields", FieldType::Json),
    ]);
    f
}

fn tasks() -> Vec<FieldSchema> {
    let mut f = vec![
        text("title").max_length(200).required().compact(),
        en("status", same(TASK_STATUS)).required().compact(),
        en("priority", same(TASK_PRIORITY)).required().compact(),
        of("due_date", FieldType::Date).compact(),
        long("description").label("Notes"),
        reference("account", "companies").label("Parent account (one parent at most)"),
        reference("opportunity", "deals").label("Parent opportunity (one parent at most)"),
        reference("case", "cases").label("Parent case (one parent at most)"),
        reference("lead", "leads").label("Parent lead (one parent at most)"),
        refs("contacts", "Contact ids"),
    ];
    f.extend(people());
    f.extend([
        refs("tags", "Tag ids"),
        of("custom_fields", FieldType::Json),
    ]);
    f
}

fn cases() -> Vec<FieldSchema> {
    let mut f = vec![
        text("name").max_length(64).required().compact(),
        en("status", same(CASE_STATUS)).required().compact(),
        en("priority", same(CASE_PRIORITY)).required().compact(),
        en("case_type", same(CASE_TYPE)),
        of("closed_on", FieldType::Date).label("Closed on (needed to close)"),
        reference("account", "companies").compact(),
        refs("contacts", "Contact ids"),
    ];
    f.extend(people());
    f.extend([refs("tags", "Tag ids"), long("description")]);
    f
}

fn invoices() -> Vec<FieldSchema> {
    let mut f = vec![
        text("invoice_title").max_length(255).required().compact(),
        reference("account_id", "companies")
            .required()
            .label("Account")
            .compact(),
        reference("contact_id", "contacts")
            .required()
            .label("Contact (must belong to the account)"),
        reference("opportunity_id", "deals").label("Opportunity"),
        text("client_name"),
        of("client_email", FieldType::Email).label("Client email (send emails it)"),
        of("client_phone", FieldType::Phone),
    ];
    f.extend(address("billing_"));
    f.extend(address("client_"));
    f.extend([
        text("discount_type"),
        of("discount_value", FieldType::Number),
        of("tax_rate", FieldType::Number),
        of("shipping_amount", FieldType::Money),
        en("currency", same(CURRENCY)),
        of("issue_date", FieldType::Date).label("Issue date (default today)"),
        of("due_date", FieldType::Date).compact(),
        text("payment_terms").label("Payment terms (default NET_30)"),
        of("reminder_enabled", FieldType::Boolean),
        of("reminder_days_before", FieldType::Integer),
        of("reminder_days_after", FieldType::Integer),
        text("reminder_frequency"),
        of("public_link_enabled", FieldType::Boolean),
        long("notes"),
        long("terms"),
        text("billing_period"),
        text("po_number"),
        of("line_items", FieldType::Json)
            .label("Line items: [{name, description, quantity, unit_price}]"),
        ro("invoice_number", FieldType::Text).compact(),
        en("status", opts(INVOICE_STATUS))
            .read_only()
            .label("Status (changes by the send and cancel actions)")
            .compact(),
        ro("total_amount", FieldType::Money).compact(),
        ro("amount_due", FieldType::Money),
        ro("amount_paid", FieldType::Money),
        ro("subtotal", FieldType::Money),
        ro("tax_amount", FieldType::Money),
        ro("discount_amount", FieldType::Money),
        ro("is_overdue", FieldType::Boolean),
        ro("sent_at", FieldType::DateTime),
        ro("paid_at", FieldType::DateTime),
        ro("assigned_to", FieldType::References),
        ro("updated_at", FieldType::DateTime),
    ]);
    f
}

fn solutions() -> Vec<FieldSchema> {
    vec![
        text("title").max_length(255).required().compact(),
        long("description").required(),
        en("status", opts(SOLUTION_STATUS))
            .label("Status (approved needs an admin)")
            .compact(),
        of("is_published", FieldType::Boolean)
            .label("Published (use the publish action)")
            .compact(),
        ro("case_count", FieldType::Integer),
        ro("author", FieldType::Text),
        ro("updated_at", FieldType::DateTime),
        ro("updated_by", FieldType::Reference),
    ]
}

/// Every field of `entity` from the static table, read-only metadata last.
pub fn table(entity: Entity) -> Vec<FieldSchema> {
    let mut fields = match entity {
        Entity::Leads => leads(),
        Entity::Contacts => contacts(),
        Entity::Accounts => accounts(),
        Entity::Opportunities => opportunities(),
        Entity::Tasks => tasks(),
        Entity::Cases => cases(),
        Entity::Invoices => invoices(),
        Entity::Solutions => solutions(),
    };
    fields.insert(0, ro("id", FieldType::Id));
    fields.push(ro("created_by", FieldType::Reference).label("Creator's user id"));
    fields.push(ro("created_at", FieldType::DateTime));
    if matches!(entity, Entity::Leads | Entity::Contacts) {
        fields.push(ro("updated_at", FieldType::DateTime));
    }
    fields
}
