//! Field validation as BottleCRM's serializers answer it: required fields, lengths, emails,
//! choices (from the recorded enums), dates, decimals, integers, foreign keys within the
//! organisation; then the rules across fields (uniqueness per organisation, closing dates, one
//! parent per task). Errors collect into DRF's `{field: [messages]}`.

use super::catalog;
use super::router::Reply;
use super::state::Store;
use crate::entities::Entity;
use crate::ids;
use serde_json::{Map, Value, json};

/// How one writable field is checked.
#[derive(Clone, Copy)]
pub enum Check {
    Text(usize),
    Email,
    Url,
    Choice(&'static str),
    Options(&'static [&'static str]),
    Date,
    Decimal { non_negative: bool },
    Int { max: Option<i64> },
    Bool,
    Fk(Entity),
    Any,
}

/// Many-to-many id lists (`payload_id_list`): ids must parse, unknown ones are dropped.
pub const LISTS: &[&str] = &["assigned_to", "teams", "contacts", "tags"];

pub fn spec(entity: Entity) -> (&'static [&'static str], &'static [(&'static str, Check)]) {
    use Check::*;
    const ADDRESS: [(&str, Check); 5] = [
        ("address_line", Text(255)),
        ("city", Text(255)),
        ("state", Text(255)),
        ("postcode", Text(64)),
        ("country", Choice("ClientCountryEnum")),
    ];
    macro_rules! fields {
        ($($f:expr),* $(,)?) => {{
            const F: &[(&str, Check)] = &[$($f),*];
            F
        }};
    }
    match entity {
        Entity::Leads => (
            &[],
            fields![
                ("title", Text(255)),
                ("salutation", Text(64)),
                ("first_name", Text(255)),
                ("last_name", Text(255)),
                ("email", Email),
                ("phone", Text(25)),
                ("job_title", Text(255)),
                ("website", Text(255)),
                ("linkedin_url", Url),
                ("status", Choice("LeadStatusEnum")),
                ("source", Choice("SourceEnum")),
                ("industry", Choice("IndustryEnum")),
                ("rating", Choice("RatingEnum")),
                (
                    "opportunity_amount",
                    Decimal {
                        non_negative: false
                    }
                ),
                ("currency", Choice("CurrencyEnum")),
                ("probability", Int { max: Some(100) }),
                ("close_date", Date),
                ADDRESS[0],
                ADDRESS[1],
                ADDRESS[2],
                ADDRESS[3],
                ADDRESS[4],
                ("last_contacted", Date),
                ("next_follow_up", Date),
                ("description", Any),
                ("company_name", Text(255)),
                ("is_active", Bool),
                ("custom_fields", Any),
            ],
        ),
        Entity::Contacts => (
            &["first_name", "last_name"],
            fields![
                ("first_name", Text(255)),
                ("last_name", Text(255)),
                ("email", Email),
                ("phone", Text(25)),
                ("organization", Text(255)),
                ("title", Text(255)),
                ("department", Text(255)),
                ("do_not_call", Bool),
                ("linkedin_url", Url),
                ADDRESS[0],
                ADDRESS[1],
                ADDRESS[2],
                ADDRESS[3],
                ADDRESS[4],
                ("description", Any),
                ("account", Fk(Entity::Accounts)),
                ("is_active", Bool),
                ("custom_fields", Any),
            ],
        ),
        Entity::Accounts => (
            &["name"],
            fields![
                ("name", Text(255)),
                ("email", Email),
                ("phone", Text(25)),
                ("website", Url),
                ("industry", Choice("IndustryEnum")),
                ("number_of_employees", Int { max: None }),
                ("annual_revenue", Decimal { non_negative: true }),
                ("currency", Choice("CurrencyEnum")),
                ADDRESS[0],
                ADDRESS[1],
                ADDRESS[2],
                ADDRESS[3],
                ADDRESS[4],
                ("description", Any),
                ("is_active", Bool),
                ("custom_fields", Any),
            ],
        ),
        Entity::Opportunities => (
            &["name"],
            fields![
                ("name", Text(255)),
                ("account", Fk(Entity::Accounts)),
                ("stage", Choice("StageEnum")),
                ("opportunity_type", Choice("OpportunityTypeEnum")),
                (
                    "amount",
                    Decimal {
                        non_negative: false
                    }
                ),
                ("currency", Choice("CurrencyEnum")),
                ("probability", Int { max: Some(100) }),
                ("closed_on", Date),
                ("lead_source", Choice("LeadSourceEnum")),
                ("description", Any),
                ("custom_fields", Any),
            ],
        ),
        Entity::Tasks => (
            &["title", "status", "priority"],
            fields![
                ("title", Text(200)),
                ("status", Choice("TaskStatusEnum")),
                ("priority", Choice("TaskPriorityEnum")),
                ("due_date", Date),
                ("description", Any),
                ("account", Fk(Entity::Accounts)),
                ("opportunity", Fk(Entity::Opportunities)),
                ("case", Fk(Entity::Cases)),
                ("lead", Fk(Entity::Leads)),
                ("custom_fields", Any),
            ],
        ),
        Entity::Cases => (
            &["name", "status", "priority"],
            fields![
                ("name", Text(64)),
                ("status", Choice("CaseStatusEnum")),
                ("priority", Choice("CasePriorityEnum")),
                ("case_type", Choice("CaseTypeEnum")),
                ("closed_on", Date),
                ("account", Fk(Entity::Accounts)),
                ("description", Any),
            ],
        ),
        Entity::Solutions => (
            &["title", "description"],
            fields![
                ("title", Text(255)),
                ("description", Any),
                ("status", Choice("SolutionStatusEnum")),
                ("is_published", Bool),
            ],
        ),
        Entity::Invoices => (
            &["invoice_title", "account_id", "contact_id"],
            fields![
                ("invoice_title", Text(255)),
                ("client_name", Text(255)),
                ("client_email", Email),
                ("client_phone", Text(25)),
                ("billing_address_line", Text(255)),
                ("billing_city", Text(255)),
                ("billing_state", Text(255)),
                ("billing_postcode", Text(64)),
                ("billing_country", Text(2)),
                ("client_address_line", Text(255)),
                ("client_city", Text(255)),
                ("client_state", Text(255)),
                ("client_postcode", Text(64)),
                ("client_country", Text(2)),
                ("discount_type", Options(&["", "PERCENTAGE", "FIXED"])),
                ("discount_value", Decimal { non_negative: true }),
                ("tax_rate", Decimal { non_negative: true }),
                ("shipping_amount", Decimal { non_negative: true }),
                ("currency", Choice("CurrencyEnum")),
                ("issue_date", Date),
                ("due_date", Date),
                ("payment_terms", Text(32)),
                ("reminder_enabled", Bool),
                ("reminder_days_before", Int { max: None }),
                ("reminder_days_after", Int { max: None }),
                ("reminder_frequency", Text(32)),
                ("public_link_enabled", Bool),
                ("notes", Any),
                ("terms", Any),
                ("billing_period", Text(64)),
                ("po_number", Text(64)),
                ("line_items", Any),
            ],
        ),
    }
}

/// Django's `DateField`: a real `YYYY-MM-DD`.
fn is_date(s: &str) -> bool {
    crmgate_core::time::is_date(s)
}

pub fn decimal(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Field errors, in DRF's `{field: [messages]}` form.
#[derive(Default)]
pub struct Errors(pub Map<String, Value>);

impl Errors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        let list = self.0.entry(field.to_owned()).or_insert_with(|| json!([]));
        if let Value::Array(items) = list {
            items.push(Value::String(message.into()));
        }
    }

    pub fn reply(self, entity: Entity) -> Reply {
        if entity == Entity::Solutions {
            Reply::json(400, Value::Object(self.0))
        } else {
            Reply::json(400, json!({"error": true, "errors": self.0}))
        }
    }
}

/// Check `data` and return the values to store (decimals as two-decimal strings).
pub fn validate(
    store: &Store,
    org: usize,
    entity: Entity,
    data: &Value,
    required: bool,
    errors: &mut Errors,
) -> Map<String, Value> {
    let (req, checks) = spec(entity);
    let mut out = Map::new();
    if required {
        for f in req {
            if data.get(*f).is_none_or(Value::is_null) {
                errors.add(f, "This field is required.");
            }
        }
    }
    for (field, check) in checks {
        let Some(v) = data.get(*field) else { continue };
        if v.is_null() {
            if req.contains(field) {
                errors.add(field, "This field may not be null.");
            } else {
                out.insert((*field).into(), Value::Null);
            }
            continue;
        }
        let text = v.as_str();
        let stored = match check {
            Check::Text(max) => match text {
                Some(s) if s.trim().is_empty() && req.contains(field) => {
                    errors.add(field, "This field may not be blank.");
                    continue;
                }
                Some(s) if s.chars().count() > *max => {
                    errors.add(
                        field,
                        format!("Ensure this field has no more than {max} characters."),
                    );
                    continue;
                }
                Some(_) => v.clone(),
                None => {
                    errors.add(field, "Not a valid string.");
                    continue;
                }
            },
            Check::Email => match text {
                Some("") => v.clone(),
                Some(s)
                    if s.contains('@')
                        && s.rsplit('@').next().is_some_and(|d| d.contains('.'))
                        && !s.contains(' ') =>
                {
                    v.clone()
                }
                _ => {
                    errors.add(field, "Enter a valid email address.");
                    continue;
                }
            },
            Check::Url => match text {
                Some(s)
                    if s.is_empty() || s.starts_with("http://") || s.starts_with("https://") =>
                {
                    v.clone()
                }
                _ => {
                    errors.add(field, "Enter a valid URL.");
                    continue;
                }
            },
            Check::Choice(component) => match text {
                Some("") => v.clone(),
                Some(s) if catalog::is_choice(component, s) => v.clone(),
                _ => {
                    errors.add(
                        field,
                        format!(
                            "\"{}\" is not a valid choice.",
                            text.unwrap_or(&v.to_string())
                        ),
                    );
                    continue;
                }
            },
            Check::Options(options) => match text {
                Some(s) if options.contains(&s) => v.clone(),
                _ => {
                    errors.add(
                        field,
                        format!(
                            "\"{}\" is not a valid choice.",
                            text.unwrap_or(&v.to_string())
                        ),
                    );
                    continue;
                }
            },
            Check::Date => match text {
                Some(s) if is_date(s) => v.clone(),
                _ => {
                    errors.add(
                        field,
                        "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.",
                    );
                    continue;
                }
            },
            Check::Decimal { non_negative } => match decimal(v) {
                Some(n) if *non_negative && n < 0.0 => {
                    let label = if *field == "annual_revenue" {
                        "Annual revenue"
                    } else {
                        "Value"
                    };
                    errors.add(field, format!("{label} cannot be negative."));
                    continue;
                }
                Some(n) => json!(format!("{n:.2}")),
                None => {
                    errors.add(field, "A valid number is required.");
                    continue;
                }
            },
            Check::Int { max } => match v.as_i64().or_else(|| text.and_then(|s| s.parse().ok())) {
                Some(n) if max.is_some_and(|m| n > m) => {
                    errors.add(
                        field,
                        format!(
                            "Ensure this value is less than or equal to {}.",
                            max.unwrap_or(0)
                        ),
                    );
                    continue;
                }
                Some(n) if n < 0 && *field != "probability" => {
                    errors.add(field, "Ensure this value is greater than or equal to 0.");
                    continue;
                }
                Some(n) => json!(n),
                None => {
                    errors.add(field, "A valid integer is required.");
                    continue;
                }
            },
            Check::Bool => match v {
                Value::Bool(_) => v.clone(),
                Value::String(s) if s == "true" || s == "false" => json!(s == "true"),
                _ => {
                    errors.add(field, "Must be a valid boolean.");
                    continue;
                }
            },
            Check::Fk(target) => match text.and_then(ids::canonical) {
                Some(id) if store.find(*target, org, &id).is_some() => json!(id),
                _ => {
                    errors.add(
                        field,
                        format!(
                            "Invalid pk \"{}\" - object does not exist.",
                            text.unwrap_or(&v.to_string())
                        ),
                    );
                    continue;
                }
            },
            Check::Any => v.clone(),
        };
        out.insert((*field).into(), stored);
    }
    out
}

/// Business rules beyond single fields: uniqueness, closing dates, one parent per task.
pub fn rules(
    store: &Store,
    org: usize,
    entity: Entity,
    merged: &Map<String, Value>,
    this: Option<&str>,
    errors: &mut Errors,
) {
    let others = |field: &str, value: &str| {
        store.rows(entity).iter().any(|r| {
            r.org == org
                && Some(r.id.as_str()) != this
                && r.s(field).is_some_and(|v| v.eq_ignore_ascii_case(value))
        })
    };
    let s = |k: &str| {
        merged
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let unique = match entity {
        Entity::Leads => Some((
            "email",
            "Another lead in this organisation already uses that email address.",
        )),
        Entity::Contacts => Some(("email", "Contact already exists with this email")),
        Entity::Accounts => Some(("name", "Account already exists with this name")),
        Entity::Opportunities => Some(("name", "Opportunity already exists with this name")),
        Entity::Cases => Some(("name", "Case already exists with this name")),
        _ => None,
    };
    if let Some((field, message)) = unique
        && s(field).is_some_and(|v| others(field, v))
    {
        errors.add(field, message);
    }
    match entity {
        Entity::Opportunities => {
            let stage = s("stage").unwrap_or("PROSPECTING");
            if matches!(stage, "CLOSED_WON" | "CLOSED_LOST") && s("closed_on").is_none() {
                errors.add(
                    "closed_on",
                    "A deal cannot be closed without the date it closed on.",
                );
            }
            if stage == "CLOSED_WON" && merged.get("amount").is_none_or(Value::is_null) {
                errors.add("amount", "A won deal needs an amount.");
            }
        }
        Entity::Cases if s("status") == Some("Closed") && s("closed_on").is_none() => {
            errors.add("closed_on", "Closed date is required when closing a case");
        }
        Entity::Tasks => {
            let set: Vec<&str> = ["account", "opportunity", "case", "lead"]
                .into_iter()
                .filter(|k| s(k).is_some())
                .collect();
            if set.len() > 1 {
                errors.add(
                    "account",
                    format!(
                        "A task can only be linked to one parent entity (Account, Opportunity, Case, or Lead). Currently set: {}",
                        set.join(", ")
                    ),
                );
            }
        }
        _ => {}
    }
}
