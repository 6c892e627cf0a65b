//! `crm.item.fields` (with `useOriginalUfNames=Y`) → the entity schema: Bitrix types onto
//! common types, enum options from the dictionaries (stages with their semantics, pipelines,
//! currencies, `crm.status` dictionaries, enumeration `items`), references to their entities.
//! The Bitrix-side type of each field is kept ([`FieldMeta`]) to convert values both ways.
//!
//! Per field, what `crm.item.list` runs: the prefix operators on any single-valued field, text
//! matching (`%`, `=%`) only on text, nothing on phones / e-mails (`crm_multifield`), files and
//! the computed `labels`; stage semantics by eq / ne / in / not_in; sorting on single-valued
//! fields. `isImmutable` (set only on create) makes a field create-only. Emptiness
//! (`is_null`) is not offered on pipelines or multiple fields.

use super::dicts::{Dictionaries, Semantics};
use super::lookup::{Labels, Pipeline, StageRules};
use crmgate_core::filter::FilterOp;
use crmgate_core::schema::{EntitySchema, EnumOption, FieldSchema, FieldType, LinkSchema};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// The synthetic read-only field carrying human names for a record's ids.
pub const LABELS: &str = "labels";

/// Standard fields first, in this order; the rest alphabetically, user fields after them.
const ORDER: &[&str] = &[
    "id",
    "title",
    "name",
    "secondName",
    "lastName",
    "honorific",
    "post",
    "companyTitle",
    "stageId",
    "stageSemanticId",
    "categoryId",
    "typeId",
    "sourceId",
    "sourceDescription",
    "opportunity",
    "currencyId",
    "probability",
    "assignedById",
    "companyId",
    "contactId",
    "contactIds",
    "leadId",
    "begindate",
    "closedate",
    "birthdate",
    "comments",
];

/// Fields in the compact default projection (when the entity has them).
const COMPACT: &[&str] = &[
    "id",
    "title",
    "name",
    "lastName",
    "stageId",
    "categoryId",
    "opportunity",
    "currencyId",
    "assignedById",
    "companyId",
    "contactId",
    "post",
    "updatedTime",
    LABELS,
];

/// A field as Bitrix describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldMeta {
    /// Name (camelCase, or `UF_CRM_…` for user fields).
    pub name: String,
    /// Bitrix type (`integer`, `crm_status`, `enumeration`, …).
    pub btype: String,
    /// Holds several values.
    pub multiple: bool,
    /// Read-only.
    pub read_only: bool,
    /// Set only when the record is created (`isImmutable`).
    pub immutable: bool,
    /// Required on create.
    pub required: bool,
    /// The `crm.status` dictionary, for `crm_status` fields.
    pub status_type: Option<String>,
    /// Human label.
    pub title: String,
    /// Enumeration items (`ID`, `VALUE`).
    pub items: Vec<(String, String)>,
}

/// An entity type's schema and the Bitrix side of its fields, built once when its metadata
/// loads and shared (`Arc`) by every call.
#[derive(Debug, Clone)]
pub struct EntityMeta {
    /// entityTypeId.
    pub entity_type_id: i64,
    /// The common schema.
    pub schema: Arc<EntitySchema>,
    /// Bitrix field descriptions by name.
    pub fields: HashMap<String, FieldMeta>,
    /// Human names of field values (stages, dictionaries, pipelines, currencies, list items).
    pub labels: Labels,
    /// Pipelines and their stages (empty when the type has none).
    pub pipelines: Vec<Pipeline>,
}

impl EntityMeta {
    /// The Bitrix description of a field.
    pub fn field(&self, name: &str) -> Option<&FieldMeta> {
        self.fields.get(name)
    }

    /// The rules a write's stage and pipeline must follow.
    pub fn stage_rules(&self) -> StageRules<'_> {
        StageRules {
            entity: &self.schema.entity,
            pipelines: &self.pipelines,
        }
    }
}

/// Bitrix types that hold the id of another record or user, `0` meaning none (the portal
/// stores and returns `0` for "no company", "no contact").
pub fn is_reference(btype: &str) -> bool {
    matches!(
        btype,
        "user" | "crm_contact" | "crm_company" | "crm_lead" | "crm_deal"
    )
}

/// `crm.item.fields` result (`{"fields": {name: descriptor}}`) → descriptions.
pub fn parse_fields(result: &Value) -> Vec<FieldMeta> {
    let fields = result.get("fields").unwrap_or(result);
    let Some(map) = fields.as_object() else {
        return Vec::new();
    };
    map.iter()
        .map(|(name, d)| {
            let flag = |k: &str| d.get(k).and_then(crate::wire::flag).unwrap_or(false);
            let label = ["listLabel", "formLabel", "title"]
                .iter()
                .filter_map(|k| d.get(*k).and_then(Value::as_str))
                .find(|s| !s.is_empty())
                .unwrap_or(name)
                .to_owned();
            FieldMeta {
                name: name.clone(),
                btype: d
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("string")
                    .to_owned(),
                multiple: flag("isMultiple"),
                read_only: flag("isReadOnly"),
                immutable: flag("isImmutable"),
                required: flag("isRequired"),
                status_type: d
                    .get("statusType")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                title: label,
                items: crate::wire::list(d.get("items"))
                    .iter()
                    .filter_map(|i| {
                        Some((
                            i.get("ID").and_then(crate::wire::text)?,
                            i.get("VALUE")
                                .and_then(crate::wire::text)
                                .unwrap_or_default(),
                        ))
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Build the schema of an entity type from its field descriptions and the dictionaries.
pub fn build(
    entity_type_id: i64,
    name: &str,
    native: &str,
    metas: Vec<FieldMeta>,
    dicts: &Dictionaries,
) -> EntityMeta {
    let mut metas = metas;
    metas.sort_by_key(|m| {
        let rank = ORDER
            .iter()
            .position(|n| *n == m.name)
            .unwrap_or(ORDER.len() + usize::from(m.name.starts_with("UF_")));
        (rank, m.name.clone())
    });
    let mut fields: Vec<FieldSchema> = metas
        .iter()
        .map(|m| field_schema(entity_type_id, m, dicts))
        .collect();
    fields.push(
        FieldSchema::new(LABELS, FieldType::Json)
            .label("Human names of this record's ids (responsible user, stage, source, pipeline, currency, list values), from cached dictionaries")
            .read_only()
            .filter_ops(&[])
            .sortable(false),
    );
    for f in &mut fields {
        if COMPACT.contains(&f.name.as_str()) {
            f.compact = true;
        }
    }
    let schema = EntitySchema {
        entity: name.to_owned(),
        native: native.to_owned(),
        fields,
        links: links(entity_type_id),
    };
    EntityMeta {
        entity_type_id,
        schema: Arc::new(schema),
        labels: Labels::build(entity_type_id, &metas, dicts),
        pipelines: super::lookup::pipelines(entity_type_id, &metas, dicts),
        fields: metas.into_iter().map(|m| (m.name.clone(), m)).collect(),
    }
}

fn field_schema(entity_type_id: i64, m: &FieldMeta, dicts: &Dictionaries) -> FieldSchema {
    let many = m.multiple;
    let enum_type = if many {
        FieldType::MultiEnum
    } else {
        FieldType::Enum
    };
    let reference = |target: Option<&str>| {
        let f = FieldSchema::new(
            &m.name,
            if many {
                FieldType::References
            } else {
                FieldType::Reference
            },
        );
        match target {
            Some(t) => f.links_to(t),
            None => f,
        }
    };
    let with_options = |options: Vec<EnumOption>| {
        if options.is_empty() {
            FieldSchema::new(&m.name, FieldType::Text)
        } else {
            FieldSchema::new(&m.name, enum_type).options(options)
        }
    };
    let mut f = match (m.name.as_str(), m.btype.as_str()) {
        ("id", _) => FieldSchema::new("id", FieldType::Id),
        ("stageSemanticId", _) => FieldSchema::new(&m.name, FieldType::Enum).options(vec![
            EnumOption::new("P", "in progress (open)"),
            EnumOption::new("S", "success (won / converted)"),
            EnumOption::new("F", "failure (lost / junk)"),
        ]),
        ("stageId", "crm_status") => with_options(
            dicts
                .stages(entity_type_id)
                .into_iter()
                .map(|s| {
                    let semantics = s.semantics.unwrap_or(Semantics::Process).word();
                    let label = match s.category_id.and_then(|c| {
                        dicts.category_name(entity_type_id, c).filter(|_| {
                            dicts
                                .categories
                                .get(&entity_type_id)
                                .is_some_and(|cs| cs.len() > 1)
                        })
                    }) {
                        Some(pipeline) => format!("{} [{pipeline}] ({semantics})", s.name),
                        None => format!("{} ({semantics})", s.name),
                    };
                    EnumOption::new(&s.status_id, label)
                })
                .collect(),
        ),
        (_, "crm_status") => with_options(
            m.status_type
                .as_deref()
                .map(|t| dicts.dictionary(t))
                .unwrap_or_default()
                .into_iter()
                .map(|s| EnumOption::new(&s.status_id, &s.name))
                .collect(),
        ),
        (_, "crm_category") => with_options(
            dicts
                .categories
                .get(&entity_type_id)
                .map(|cs| {
                    cs.iter()
                        .map(|c| EnumOption::new(c.id.to_string(), &c.name))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        (_, "crm_currency") => with_options(
            dicts
                .currencies
                .iter()
                .map(|c| EnumOption::new(&c.code, &c.name))
                .collect(),
        ),
        (_, "enumeration") => with_options(
            m.items
                .iter()
                .map(|(id, value)| EnumOption::new(id, value))
                .collect(),
        ),
        (_, "user") => reference(None),
        (_, "crm_contact") => reference(Some("contacts")),
        (_, "crm_company") => reference(Some("companies")),
        (_, "crm_lead") => reference(Some("leads")),
        (_, "crm_deal") => reference(Some("deals")),
        ("opportunity", _) => FieldSchema::new(&m.name, FieldType::Money),
        (_, "integer") => FieldSchema::new(&m.name, FieldType::Integer),
        (_, "double") => FieldSchema::new(&m.name, FieldType::Number),
        (_, "money") => FieldSchema::new(&m.name, FieldType::Money),
        (_, "string") if !many => FieldSchema::new(&m.name, FieldType::Text),
        (_, "text") if !many => FieldSchema::new(&m.name, FieldType::LongText),
        (_, "url") if !many => FieldSchema::new(&m.name, FieldType::Url),
        (_, "date") if !many => FieldSchema::new(&m.name, FieldType::Date),
        (_, "datetime") if !many => FieldSchema::new(&m.name, FieldType::DateTime),
        (_, "char" | "boolean") if !many => FieldSchema::new(&m.name, FieldType::Boolean),
        _ => FieldSchema::new(&m.name, FieldType::Json),
    };
    f.label = m.title.clone();
    if m.read_only || m.name == "id" || m.name == "stageSemanticId" {
        f = f.read_only();
    } else if m.immutable {
        f = f.create_only();
    }
    if m.required && !f.is_read_only() {
        f.required = true;
    }
    with_query(f, m)
}

/// Narrow a field's operators and sorting to what `crm.item.list` runs on it.
fn with_query(f: FieldSchema, m: &FieldMeta) -> FieldSchema {
    use FilterOp::*;
    if m.btype == "crm_multifield" || f.field_type == FieldType::Json {
        return f.filter_ops(&[]).sortable(false);
    }
    if m.name == "stageSemanticId" {
        return f.filter_ops(&[Eq, Ne, In, NotIn]);
    }
    let textual = matches!(m.btype.as_str(), "string" | "text" | "url") && !m.multiple;
    let mut f = f.sortable(!m.multiple);
    if !textual {
        f.filter_ops
            .retain(|op| !matches!(op, Contains | StartsWith));
    }
    // emptiness has no filter the portal answers exactly: a pipeline is never empty (`0` is
    // the default pipeline, which the portal's `= 0` also counts as empty), and a multiple
    // field's emptiness is not a column
    if m.btype == "crm_category" || m.multiple {
        f.filter_ops.retain(|op| !matches!(op, IsNull | IsNotNull));
    }
    f
}

/// Links of an entity type: deal ↔ contacts is writable through `crm.deal.contact.*`; the
/// others follow reference fields and are read-only (change them with crm_update).
fn links(entity_type_id: i64) -> Vec<LinkSchema> {
    use crmgate_core::schema::LinkKind::{Many, One};
    let link = |name: &str, target: &str, kind, writable| LinkSchema {
        name: name.into(),
        target: target.into(),
        kind,
        writable,
    };
    match entity_type_id {
        2 => vec![
            link("contacts", "contacts", Many, true),
            link("company", "companies", One, false),
        ],
        3 => vec![link("company", "companies", One, false)],
        4 => vec![
            link("contacts", "contacts", Many, false),
            link("deals", "deals", Many, false),
        ],
        _ => Vec::new(),
    }
}
