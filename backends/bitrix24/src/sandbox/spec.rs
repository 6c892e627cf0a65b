//! The sandbox portal's fixed shape: `crm.item.fields` of each entity type (with legacy
//! UPPER_CASE names), and the dictionaries — stages with semantics, sources, types,
//! pipelines, currencies, users, one smart process — as the documented responses show them.

use serde_json::{Value, json};

/// The smart process the sandbox has.
pub const SPA: i64 = 128;

/// One field of an entity type.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// crm.item name.
    pub name: &'static str,
    /// Legacy name (`crm.lead.*`).
    pub upper: &'static str,
    /// Bitrix type.
    pub btype: &'static str,
    /// Read-only.
    pub read_only: bool,
    /// Set only on create (`isImmutable`).
    pub immutable: bool,
    /// Multiple.
    pub multiple: bool,
    /// `statusType` of crm_status fields.
    pub status_type: Option<&'static str>,
    /// Title.
    pub title: &'static str,
}

const fn f(
    name: &'static str,
    upper: &'static str,
    btype: &'static str,
    title: &'static str,
) -> Field {
    Field {
        name,
        upper,
        btype,
        read_only: false,
        immutable: false,
        multiple: false,
        status_type: None,
        title,
    }
}
const fn ro(field: Field) -> Field {
    Field {
        read_only: true,
        ..field
    }
}
/// Settable only on create, as the recorded deal `categoryId` is.
const fn immutable(field: Field) -> Field {
    Field {
        immutable: true,
        ..field
    }
}
const fn many(field: Field) -> Field {
    Field {
        multiple: true,
        ..field
    }
}
const fn st(field: Field, status_type: &'static str) -> Field {
    Field {
        status_type: Some(status_type),
        ..field
    }
}

const ID: Field = ro(f("id", "ID", "integer", "ID"));
const ASSIGNED: Field = f("assignedById", "ASSIGNED_BY_ID", "user", "Responsible");
const CREATED_BY: Field = ro(f("createdBy", "CREATED_BY_ID", "user", "Created by"));
const UPDATED_BY: Field = ro(f("updatedBy", "MODIFY_BY_ID", "user", "Modified by"));
const CREATED: Field = ro(f("createdTime", "DATE_CREATE", "datetime", "Created on"));
const UPDATED: Field = ro(f("updatedTime", "DATE_MODIFY", "datetime", "Modified on"));
const OPENED: Field = f("opened", "OPENED", "char", "Available to everyone");
const COMMENTS: Field = f("comments", "COMMENTS", "text", "Comment");
const CURRENCY: Field = f("currencyId", "CURRENCY_ID", "crm_currency", "Currency");
const OPPORTUNITY: Field = f("opportunity", "OPPORTUNITY", "double", "Amount");
const COMPANY: Field = f("companyId", "COMPANY_ID", "crm_company", "Company");
const CONTACT: Field = f("contactId", "CONTACT_ID", "crm_contact", "Contact");
const CONTACTS: Field = many(f("contactIds", "CONTACT_IDS", "crm_contact", "Contacts"));
const FM: Field = many(f("fm", "FM", "crm_multifield", "Phones, e-mails, sites"));
const SOURCE: Field = st(f("sourceId", "SOURCE_ID", "crm_status", "Source"), "SOURCE");
const HONORIFIC: Field = st(
    f("honorific", "HONORIFIC", "crm_status", "Salutation"),
    "HONORIFIC",
);
const SEMANTIC: Field = ro(f(
    "stageSemanticId",
    "STAGE_SEMANTIC_ID",
    "string",
    "Stage group",
));

const LEAD: &[Field] = &[
    ID,
    f("title", "TITLE", "string", "Lead name"),
    HONORIFIC,
    f("name", "NAME", "string", "First name"),
    f("lastName", "LAST_NAME", "string", "Last name"),
    f("companyTitle", "COMPANY_TITLE", "string", "Company name"),
    f("post", "POST", "string", "Position"),
    f("birthdate", "BIRTHDATE", "date", "Date of birth"),
    SOURCE,
    st(f("stageId", "STATUS_ID", "crm_status", "Status"), "STATUS"),
    Field {
        upper: "STATUS_SEMANTIC_ID",
        ..SEMANTIC
    },
    OPPORTUNITY,
    CURRENCY,
    f(
        "isManualOpportunity",
        "IS_MANUAL_OPPORTUNITY",
        "char",
        "Manual amount",
    ),
    OPENED,
    COMMENTS,
    ASSIGNED,
    CREATED_BY,
    UPDATED_BY,
    CREATED,
    UPDATED,
    COMPANY,
    CONTACT,
    CONTACTS,
    FM,
    f(
        "UF_CRM_LEAD_NOTE",
        "UF_CRM_LEAD_NOTE",
        "string",
        "Qualification note",
    ),
];

const DEAL: &[Field] = &[
    ID,
    f("title", "TITLE", "string", "Deal name"),
    st(f("typeId", "TYPE_ID", "crm_status", "Type"), "DEAL_TYPE"),
    immutable(f("categoryId", "CATEGORY_ID", "crm_category", "Pipeline")),
    st(
        f("stageId", "STAGE_ID", "crm_status", "Stage"),
        "DEAL_STAGE",
    ),
    SEMANTIC,
    f("probability", "PROBABILITY", "integer", "Probability"),
    OPPORTUNITY,
    CURRENCY,
    f(
        "isManualOpportunity",
        "IS_MANUAL_OPPORTUNITY",
        "char",
        "Manual amount",
    ),
    f("closed", "CLOSED", "char", "Closed"),
    OPENED,
    COMMENTS,
    f("begindate", "BEGINDATE", "date", "Start date"),
    f("closedate", "CLOSEDATE", "date", "Close date"),
    ASSIGNED,
    CREATED_BY,
    UPDATED_BY,
    CREATED,
    UPDATED,
    COMPANY,
    CONTACT,
    CONTACTS,
    f("leadId", "LEAD_ID", "crm_lead", "Lead"),
    SOURCE,
    f(
        "UF_CRM_1721812814433",
        "UF_CRM_1721812814433",
        "enumeration",
        "Delivery",
    ),
];

const CONTACT_FIELDS: &[Field] = &[
    ID,
    HONORIFIC,
    f("name", "NAME", "string", "First name"),
    f("secondName", "SECOND_NAME", "string", "Second name"),
    f("lastName", "LAST_NAME", "string", "Last name"),
    f("post", "POST", "string", "Position"),
    st(
        f("typeId", "TYPE_ID", "crm_status", "Contact type"),
        "CONTACT_TYPE",
    ),
    SOURCE,
    f("birthdate", "BIRTHDATE", "date", "Date of birth"),
    OPENED,
    COMMENTS,
    ASSIGNED,
    CREATED_BY,
    UPDATED_BY,
    CREATED,
    UPDATED,
    COMPANY,
    FM,
];

const COMPANY_FIELDS: &[Field] = &[
    ID,
    f("title", "TITLE", "string", "Company name"),
    st(
        f("typeId", "COMPANY_TYPE", "crm_status", "Company type"),
        "COMPANY_TYPE",
    ),
    st(
        f("industry", "INDUSTRY", "crm_status", "Industry"),
        "INDUSTRY",
    ),
    st(
        f("employees", "EMPLOYEES", "crm_status", "Employees"),
        "EMPLOYEES",
    ),
    f("revenue", "REVENUE", "double", "Annual revenue"),
    CURRENCY,
    OPENED,
    COMMENTS,
    ASSIGNED,
    CREATED_BY,
    UPDATED_BY,
    CREATED,
    UPDATED,
    FM,
];

const SPA_FIELDS: &[Field] = &[
    ID,
    f("title", "TITLE", "string", "Name"),
    f("categoryId", "CATEGORY_ID", "crm_category", "Pipeline"),
    st(
        f("stageId", "STAGE_ID", "crm_status", "Stage"),
        "DYNAMIC_128_STAGE_3",
    ),
    SEMANTIC,
    OPPORTUNITY,
    CURRENCY,
    f("begindate", "BEGINDATE", "date", "Start date"),
    f("closedate", "CLOSEDATE", "date", "Finish date"),
    ASSIGNED,
    CREATED_BY,
    UPDATED_BY,
    CREATED,
    UPDATED,
    COMPANY,
    CONTACT,
];

/// Bitrix types holding the id of another CRM record (`0`: none).
pub fn is_reference(btype: &str) -> bool {
    matches!(
        btype,
        "crm_contact" | "crm_company" | "crm_lead" | "crm_deal"
    )
}

/// The fields of an entity type the sandbox has.
pub fn fields(etid: i64) -> Option<&'static [Field]> {
    match etid {
        1 => Some(LEAD),
        2 => Some(DEAL),
        3 => Some(CONTACT_FIELDS),
        4 => Some(COMPANY_FIELDS),
        SPA => Some(SPA_FIELDS),
        _ => None,
    }
}

/// A field by crm.item name.
pub fn field(etid: i64, name: &str) -> Option<&'static Field> {
    fields(etid)?.iter().find(|f| f.name == name)
}

/// Items of the enumeration user field of deals.
pub fn enum_items(name: &str) -> Value {
    match name {
        "UF_CRM_1721812814433" => {
            json!([{"ID": "79", "VALUE": "Courier"}, {"ID": "80", "VALUE": "Pickup"}])
        }
        _ => json!([]),
    }
}

/// A `crm_rest_field_description`.
pub fn descriptor(field: &Field) -> Value {
    let dynamic = field.name.starts_with("UF_");
    let mut d = json!({
        "type": field.btype,
        "isRequired": false,
        "isReadOnly": field.read_only,
        "isImmutable": field.immutable,
        "isMultiple": field.multiple,
        "isDynamic": dynamic,
        "title": if dynamic { field.name } else { field.title },
        "upperName": field.upper,
    });
    if let Some(t) = field.status_type {
        d["statusType"] = json!(t);
    }
    if dynamic {
        d["listLabel"] = json!(field.title);
        d["formLabel"] = json!(field.title);
        d["filterLabel"] = json!(field.title);
    }
    if field.btype == "enumeration" {
        d["items"] = enum_items(field.name);
    }
    d
}

/// Stage and dictionary rows: (ENTITY_ID, STATUS_ID, NAME, SEMANTICS, CATEGORY_ID).
pub const STATUSES: &[(&str, &str, &str, &str, Option<i64>)] = &[
    ("STATUS", "NEW", "Unassigned", "", None),
    ("STATUS", "IN_PROCESS", "In progress", "", None),
    ("STATUS", "PROCESSED", "Processed", "", None),
    ("STATUS", "CONVERTED", "Good lead", "S", None),
    ("STATUS", "JUNK", "Junk lead", "F", None),
    ("SOURCE", "CALL", "Call", "", None),
    ("SOURCE", "EMAIL", "E-mail", "", None),
    ("SOURCE", "WEB", "Website", "", None),
    ("SOURCE", "ADVERTISING", "Advertising", "", None),
    ("SOURCE", "PARTNER", "Existing client", "", None),
    ("HONORIFIC", "HNR_EN_1", "Mr.", "", None),
    ("HONORIFIC", "HNR_EN_2", "Mrs.", "", None),
    ("HONORIFIC", "HNR_EN_3", "Ms.", "", None),
    ("DEAL_TYPE", "SALE", "Sales", "", None),
    ("DEAL_TYPE", "COMPLEX", "Integrated sales", "", None),
    ("DEAL_TYPE", "SERVICES", "Service", "", None),
    ("DEAL_STAGE", "NEW", "New", "", Some(0)),
    ("DEAL_STAGE", "PREPARATION", "Documents", "", Some(0)),
    ("DEAL_STAGE", "PREPAYMENT_INVOICE", "Invoice", "", Some(0)),
    ("DEAL_STAGE", "EXECUTING", "In progress", "", Some(0)),
    ("DEAL_STAGE", "WON", "Deal won", "S", Some(0)),
    ("DEAL_STAGE", "LOSE", "Deal lost", "F", Some(0)),
    ("DEAL_STAGE", "APOLOGY", "Analysis of failure", "F", Some(0)),
    ("DEAL_STAGE_1", "C1:NEW", "Lead in", "", Some(1)),
    ("DEAL_STAGE_1", "C1:NEGOTIATION", "Negotiation", "", Some(1)),
    ("DEAL_STAGE_1", "C1:WON", "Partner signed", "S", Some(1)),
    ("DEAL_STAGE_1", "C1:LOSE", "Partner declined", "F", Some(1)),
    ("CONTACT_TYPE", "CLIENT", "Clients", "", None),
    ("CONTACT_TYPE", "SUPPLIER", "Suppliers", "", None),
    ("CONTACT_TYPE", "PARTNER", "Partners", "", None),
    ("COMPANY_TYPE", "CUSTOMER", "Client", "", None),
    ("COMPANY_TYPE", "SUPPLIER", "Supplier", "", None),
    ("COMPANY_TYPE", "PARTNER", "Partner", "", None),
    ("INDUSTRY", "IT", "Information technology", "", None),
    ("INDUSTRY", "TELECOM", "Telecommunications", "", None),
    ("INDUSTRY", "MANUFACTURING", "Manufacturing", "", None),
    ("EMPLOYEES", "EMPLOYEES_1", "fewer than 50", "", None),
    ("EMPLOYEES", "EMPLOYEES_2", "50-250", "", None),
    ("DYNAMIC_128_STAGE_3", "DT128_3:NEW", "Started", "", Some(3)),
    (
        "DYNAMIC_128_STAGE_3",
        "DT128_3:PREPARATION",
        "Underway",
        "",
        Some(3),
    ),
    (
        "DYNAMIC_128_STAGE_3",
        "DT128_3:SUCCESS",
        "Delivered",
        "S",
        Some(3),
    ),
    (
        "DYNAMIC_128_STAGE_3",
        "DT128_3:FAIL",
        "Cancelled",
        "F",
        Some(3),
    ),
];

/// `crm.status.list` rows as the legacy API writes them (numbers as strings, `EXTRA` only on
/// lead statuses and deal stages).
pub fn status_rows() -> Vec<Value> {
    let mut sort_in: std::collections::HashMap<&str, i64> = Default::default();
    STATUSES
        .iter()
        .enumerate()
        .map(|(i, (entity, id, name, semantics, category))| {
            let sort = sort_in.entry(entity).or_insert(0);
            *sort += 10;
            let mut row = json!({
                "ID": (i + 1).to_string(),
                "ENTITY_ID": entity,
                "STATUS_ID": id,
                "NAME": name,
                "NAME_INIT": name,
                "SORT": sort.to_string(),
                "SYSTEM": "N",
                "CATEGORY_ID": category.map(|c| c.to_string()),
                "COLOR": "#39A8EF",
                "SEMANTICS": if semantics.is_empty() { Value::Null } else { json!(semantics) },
            });
            if *entity == "STATUS" || entity.starts_with("DEAL_STAGE") {
                let word = match *semantics {
                    "S" => "success",
                    "F" => "failure",
                    _ => "process",
                };
                row["EXTRA"] = json!({"SEMANTICS": word, "COLOR": "#39A8EF"});
            }
            row
        })
        .collect()
}

/// The stage dictionary of an entity type and pipeline.
pub fn stage_dictionary(etid: i64, category: i64) -> String {
    match (etid, category) {
        (1, _) => "STATUS".into(),
        (2, 0) => "DEAL_STAGE".into(),
        (2, c) => format!("DEAL_STAGE_{c}"),
        (e, c) => format!("DYNAMIC_{e}_STAGE_{c}"),
    }
}

/// Pipelines per entity type.
pub fn categories(etid: i64) -> Vec<Value> {
    match etid {
        2 => vec![
            json!({"id": 0, "name": "General", "sort": 100, "entityTypeId": 2, "isDefault": "Y", "originId": "", "originatorId": ""}),
            json!({"id": 1, "name": "Partners", "sort": 200, "entityTypeId": 2, "isDefault": "N", "originId": "", "originatorId": ""}),
        ],
        SPA => vec![
            json!({"id": 3, "name": "Projects", "sort": 100, "entityTypeId": SPA, "isDefault": "Y", "originId": "", "originatorId": ""}),
        ],
        _ => Vec::new(),
    }
}

/// `crm.currency.list` rows.
pub fn currencies() -> Vec<Value> {
    [("USD", "US Dollar", "Y", "1"), ("EUR", "Euro", "N", "1.08"), ("GBP", "Pound Sterling", "N", "1.27")]
        .iter()
        .enumerate()
        .map(|(i, (code, name, base, amount))| {
            json!({"CURRENCY": code, "AMOUNT_CNT": "1", "AMOUNT": amount, "SORT": ((i + 1) * 100).to_string(),
                   "BASE": base, "FULL_NAME": name, "LID": "en", "FORMAT_STRING": "$#", "DEC_POINT": ".",
                   "THOUSANDS_SEP": ",", "DECIMALS": "2", "DATE_UPDATE": "2025-01-01T00:00:00+03:00"})
        })
        .collect()
}

/// `user.get` rows.
pub fn users() -> Vec<Value> {
    [("1", "Anna", "Petrova"), ("2", "Boris", "Ivanov"), ("3", "Clara", "Novak"), ("4", "Dmitri", "Orlov"), ("5", "Elena", "Smirnova")]
        .iter()
        .map(|(id, name, last)| {
            json!({"ID": id, "ACTIVE": true, "NAME": name, "LAST_NAME": last, "SECOND_NAME": "",
                   "EMAIL": format!("{}@sandbox.example", name.to_lowercase()), "UF_DEPARTMENT": [1],
                   "USER_TYPE": "employee", "IS_ONLINE": "N"})
        })
        .collect()
}

/// `crm.type.list` rows.
pub fn types() -> Vec<Value> {
    vec![
        json!({"id": 1, "entityTypeId": SPA, "title": "Projects", "isCategoriesEnabled": "Y",
                "isStagesEnabled": "Y", "isClientEnabled": "Y"}),
    ]
}
