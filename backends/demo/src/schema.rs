//! Entity definitions: the fields of every demo entity, and the [`Catalog`] that gathers
//! schemas, links and capabilities once, on first use.

use crate::capabilities::{info, stage_options};
use crate::kind::{
    CURRENCIES, EMAIL_STATUSES, INDUSTRIES, Kind, LEAD_SOURCES, LEAD_STATUSES, LIFECYCLE,
    PRIORITIES, ROLES, TASK_STATUSES,
};
use crate::links::{LinkSpec, link_schema, links};
use crmgate_core::model::{EntityCatalog, EntityInfo};
use crmgate_core::schema::{EntitySchema, EnumOption, FieldSchema, FieldType as T};
use std::sync::{Arc, OnceLock};

/// Everything known about the entities, built once.
pub(crate) struct Catalog {
    schemas: Vec<Arc<EntitySchema>>,
    entities: Arc<EntityCatalog>,
    links: Vec<Vec<LinkSpec>>,
    text_fields: Vec<Vec<String>>,
}

/// The catalog, built on first use.
pub(crate) fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let schemas: Vec<Arc<EntitySchema>> = Kind::ALL
            .iter()
            .map(|&k| {
                Arc::new(EntitySchema {
                    entity: k.name().into(),
                    native: k.native().into(),
                    fields: fields(k),
                    links: links(k).iter().map(link_schema).collect(),
                })
            })
            .collect();
        let text_fields = schemas
            .iter()
            .map(|s| {
                s.fields
                    .iter()
                    .filter(|f| {
                        matches!(
                            f.field_type,
                            T::Text | T::LongText | T::Email | T::Phone | T::Url
                        )
                    })
                    .map(|f| f.name.clone())
                    .collect()
            })
            .collect();
        let infos = Kind::ALL
            .iter()
            .map(|&k| info(k, &schemas[k.index()]))
            .collect();
        Catalog {
            schemas,
            entities: Arc::new(EntityCatalog::new(infos)),
            links: Kind::ALL.iter().map(|&k| links(k)).collect(),
            text_fields,
        }
    })
}

impl Kind {
    /// This kind's schema.
    pub(crate) fn schema(self) -> &'static Arc<EntitySchema> {
        &catalog().schemas[self.index()]
    }

    /// This kind's entity info (operations, filter operators, actions).
    pub(crate) fn info(self) -> &'static EntityInfo {
        &catalog().entities.entities()[self.index()]
    }

    /// This kind's links.
    pub(crate) fn links(self) -> &'static [LinkSpec] {
        &catalog().links[self.index()]
    }

    /// One link by name.
    pub(crate) fn link(self, name: &str) -> Option<&'static LinkSpec> {
        self.links().iter().find(|l| l.name == name)
    }

    /// Fields searched by free text.
    pub(crate) fn text_fields(self) -> &'static [String] {
        &catalog().text_fields[self.index()]
    }
}

/// Every entity's info, in catalog order, shared.
pub(crate) fn entity_catalog() -> Arc<EntityCatalog> {
    catalog().entities.clone()
}

/// `(value, label)` pairs as enum options.
pub(crate) fn options(table: &[(&str, &str)]) -> Vec<EnumOption> {
    table.iter().map(|(v, l)| EnumOption::new(*v, *l)).collect()
}

fn f(name: &str, ty: T, label: &str) -> FieldSchema {
    FieldSchema::new(name, ty).label(label)
}

fn reference(name: &str, target: Kind, label: &str) -> FieldSchema {
    f(name, T::Reference, label).links_to(target.name())
}

fn id_field() -> FieldSchema {
    f("id", T::Id, "ID").read_only()
}

fn stamps() -> [FieldSchema; 2] {
    [
        f("created_at", T::DateTime, "Created").read_only(),
        f("updated_at", T::DateTime, "Last modified").read_only(),
    ]
}

fn parents() -> [FieldSchema; 4] {
    [
        reference("company_id", Kind::Companies, "Company"),
        reference("contact_id", Kind::Contacts, "Contact"),
        reference("lead_id", Kind::Leads, "Lead"),
        reference("deal_id", Kind::Deals, "Deal"),
    ]
}

fn fields(kind: Kind) -> Vec<FieldSchema> {
    let mut v = vec![id_field()];
    match kind {
        Kind::Companies => v.extend([
            f("name", T::Text, "Company name")
                .required()
                .compact()
                .max_length(120),
            f("industry", T::Enum, "Industry")
                .options(options(INDUSTRIES))
                .compact(),
            f("website", T::Url, "Website"),
            f("phone", T::Phone, "Phone"),
            f("city", T::Text, "City").compact(),
            f("country", T::Text, "Country").compact(),
            f("employees", T::Integer, "Employees").compact(),
            f("annual_revenue", T::Money, "Annual revenue (USD)"),
            f("description", T::LongText, "Description"),
            reference("owner_id", Kind::Users, "Account owner"),
        ]),
        Kind::Contacts => v.extend([
            f("first_name", T::Text, "First name")
                .compact()
                .max_length(80),
            f("last_name", T::Text, "Last name")
                .required()
                .compact()
                .max_length(80),
            f("email", T::Email, "Email").compact(),
            f("phone", T::Phone, "Phone"),
            f("job_title", T::Text, "Job title"),
            reference("company_id", Kind::Companies, "Company").compact(),
            f("lifecycle", T::Enum, "Lifecycle stage")
                .options(options(LIFECYCLE))
                .compact(),
            f("description", T::LongText, "Background"),
            reference("owner_id", Kind::Users, "Contact owner"),
        ]),
        Kind::Leads => v.extend([
            f("first_name", T::Text, "First name")
                .compact()
                .max_length(80),
            f("last_name", T::Text, "Last name")
                .required()
                .compact()
                .max_length(80),
            f("company_name", T::Text, "Company").compact(),
            f("email", T::Email, "Email").compact(),
            f("phone", T::Phone, "Phone"),
            f("source", T::Enum, "Lead source").options(options(LEAD_SOURCES)),
            f("status", T::Enum, "Status")
                .options(options(LEAD_STATUSES))
                .compact(),
            f("description", T::LongText, "Description"),
            reference("owner_id", Kind::Users, "Lead owner"),
            reference(
                "converted_contact_id",
                Kind::Contacts,
                "Converted to contact",
            )
            .read_only(),
            reference(
                "converted_company_id",
                Kind::Companies,
                "Converted to company",
            )
            .read_only(),
            reference("converted_deal_id", Kind::Deals, "Converted to deal").read_only(),
            f("converted_at", T::DateTime, "Converted at").read_only(),
        ]),
        Kind::Deals => v.extend([
            f("name", T::Text, "Deal name")
                .required()
                .compact()
                .max_length(150),
            f("amount", T::Money, "Amount").compact(),
            f("currency", T::Enum, "Currency")
                .options(options(CURRENCIES))
                .create_only(),
            f("stage", T::Enum, "Stage")
                .required()
                .options(stage_options())
                .compact(),
            f("close_date", T::Date, "Expected close date").compact(),
            f("probability", T::Integer, "Probability (%)"),
            reference("company_id", Kind::Companies, "Company").compact(),
            reference("contact_id", Kind::Contacts, "Primary contact"),
            f("contact_ids", T::References, "Contacts").links_to(Kind::Contacts.name()),
            f("description", T::LongText, "Description"),
            reference("owner_id", Kind::Users, "Deal owner"),
            f("quote_sent_at", T::DateTime, "Quote last sent").read_only(),
        ]),
        Kind::Tasks => {
            v.extend([
                f("subject", T::Text, "Subject")
                    .required()
                    .compact()
                    .max_length(200),
                f("due_date", T::Date, "Due date").compact(),
                f("status", T::Enum, "Status")
                    .options(options(TASK_STATUSES))
                    .compact(),
                f("priority", T::Enum, "Priority")
                    .options(options(PRIORITIES))
                    .compact(),
                f("description", T::LongText, "Description"),
                reference("assignee_id", Kind::Users, "Assigned to").compact(),
            ]);
            v.extend(parents());
            v.push(f("completed_at", T::DateTime, "Completed at").read_only());
        }
        Kind::Notes => {
            v.push(
                f("body", T::LongText, "Note")
                    .required()
                    .compact()
                    .max_length(20_000),
            );
            v.push(f("pinned", T::Boolean, "Pinned"));
            v.push(
                reference("author_id", Kind::Users, "Author")
                    .read_only()
                    .compact(),
            );
            let [company, contact, lead, deal] = parents();
            v.extend([company, contact.compact(), lead, deal.compact()]);
        }
        Kind::Users => v.extend([
            f("name", T::Text, "Full name").read_only().compact(),
            f("email", T::Email, "Email").read_only().compact(),
            f("role", T::Enum, "Role")
                .options(options(ROLES))
                .read_only()
                .compact(),
            f("active", T::Boolean, "Active").read_only().compact(),
        ]),
        Kind::Emails => {
            v.extend([
                f("to", T::Json, "To (addresses)").read_only().compact(),
                f("subject", T::Text, "Subject").read_only().compact(),
                f("body", T::LongText, "Body").read_only(),
                f("status", T::Enum, "Status")
                    .options(options(EMAIL_STATUSES))
                    .read_only()
                    .compact(),
                f("template", T::Text, "Template").read_only(),
            ]);
            v.extend(parents().map(|p| p.read_only()));
        }
    }
    v.extend(stamps());
    if matches!(kind, Kind::Notes | Kind::Emails) {
        // the date matters when scanning a list of notes or drafts
        if let Some(created) = v.iter_mut().find(|f| f.name == "created_at") {
            created.compact = true;
        }
    }
    v
}
