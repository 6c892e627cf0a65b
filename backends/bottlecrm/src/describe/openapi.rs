//! Enrich the static field tables from BottleCRM's OpenAPI document (`GET /schema/`).
//!
//! The create operation of each entity's list path names a request component
//! (`LeadCreateSwaggerRequest`, `CreateContactRequest`, …). Its properties give enum values with
//! their labels (drf-spectacular writes them as "* `compaign` - Campaign" lines in the enum's
//! description), maximum lengths and titles, and any field the static table does not know yet.
//! Its `required` list is *not* used: it is wrong for several entities (the facts and the
//! recorded answers say what create really requires, and the static table holds that).
//! Invoices declare no request body at all; their table stays as it is.

use crate::entities::Entity;
use crmgate_core::schema::{EnumOption, FieldSchema, FieldType};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

/// The OpenAPI path of an entity's list (`/api/leads/`).
fn list_path(entity: Entity) -> String {
    format!("/{}", entity.spec().path)
}

fn component<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let name = reference.strip_prefix("#/components/schemas/")?;
    doc.pointer(&format!("/components/schemas/{name}"))
}

/// The request-body component of the create operation on `entity`'s list path.
pub fn request_body(doc: &Value, entity: Entity) -> Option<&Map<String, Value>> {
    let path = list_path(entity);
    let reference = doc
        .get("paths")?
        .get(&path)?
        .pointer("/post/requestBody/content/application~1json/schema/$ref")?
        .as_str()?;
    component(doc, reference)?.get("properties")?.as_object()
}

/// Enum options of a property: its `enum`, or the enums behind `$ref` / `oneOf` / `allOf`
/// (blank and null members dropped, each value once), with labels from the enum's description.
fn options(doc: &Value, prop: &Value) -> Vec<EnumOption> {
    let mut out = Vec::new();
    collect_options(doc, prop, &mut out, &mut HashSet::new(), 0);
    out
}

/// Lookups by value, not scans: a country enum has ~250 values, and comparing each with every
/// label and every option already taken cost millions of comparisons per entity.
fn collect_options<'a>(
    doc: &'a Value,
    node: &'a Value,
    out: &mut Vec<EnumOption>,
    taken: &mut HashSet<&'a str>,
    depth: usize,
) {
    if depth > 4 {
        return;
    }
    if let Some(reference) = node.get("$ref").and_then(Value::as_str)
        && let Some(target) = component(doc, reference)
    {
        collect_options(doc, target, out, taken, depth + 1);
    }
    for key in ["oneOf", "allOf", "anyOf"] {
        for member in node
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            collect_options(doc, member, out, taken, depth + 1);
        }
    }
    if let Some(values) = node.get("enum").and_then(Value::as_array) {
        let labels: HashMap<String, String> = node
            .get("description")
            .and_then(Value::as_str)
            .map(enum_labels)
            .unwrap_or_default()
            .into_iter()
            .rev() // the first line for a value wins
            .collect();
        for v in values
            .iter()
            .filter_map(Value::as_str)
            .filter(|v| !v.is_empty())
        {
            if taken.insert(v) {
                let label = labels.get(v).map_or(v, String::as_str);
                out.push(EnumOption::new(v, label));
            }
        }
    }
}

/// `* `value` - Label` lines of a drf-spectacular enum description.
pub fn enum_labels(description: &str) -> Vec<(String, String)> {
    description
        .lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("* `")?;
            let (value, label) = rest.split_once("` - ")?;
            Some((value.to_owned(), label.trim().to_owned()))
        })
        .collect()
}

fn max_length(prop: &Value) -> Option<usize> {
    prop.get("maxLength")
        .or_else(|| prop.pointer("/oneOf/0/maxLength"))
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
        .map(|n| n as usize)
}

/// The common type of a property the static table does not know.
fn field_type(doc: &Value, prop: &Value) -> FieldType {
    if !options(doc, prop).is_empty() {
        return FieldType::Enum;
    }
    let first = prop.pointer("/oneOf/0").unwrap_or(prop);
    let format = first.get("format").and_then(Value::as_str).unwrap_or("");
    match (first.get("type").and_then(Value::as_str), format) {
        (Some("string"), "date") => FieldType::Date,
        (Some("string"), "date-time") => FieldType::DateTime,
        (Some("string"), "email") => FieldType::Email,
        (Some("string"), "uri") => FieldType::Url,
        (Some("string"), "decimal") => FieldType::Number,
        (Some("string"), "uuid") => FieldType::Reference,
        (Some("string"), _) => FieldType::Text,
        (Some("integer"), _) => FieldType::Integer,
        (Some("number"), _) => FieldType::Number,
        (Some("boolean"), _) => FieldType::Boolean,
        (Some("array"), _)
            if first.pointer("/items/format").and_then(Value::as_str) == Some("uuid") =>
        {
            FieldType::References
        }
        _ => FieldType::Json,
    }
}

/// Enrich `fields` (the static table of `entity`) from the document; returns how many request
/// properties were found.
pub fn enrich(doc: &Value, entity: Entity, fields: &mut Vec<FieldSchema>) -> usize {
    let Some(props) = request_body(doc, entity) else {
        return 0;
    };
    for (name, prop) in props {
        let found = options(doc, prop);
        match fields.iter_mut().find(|f| &f.name == name) {
            Some(field) => {
                if !found.is_empty()
                    && matches!(field.field_type, FieldType::Enum | FieldType::Text)
                {
                    field.field_type = FieldType::Enum;
                    field.options = found;
                    field.max_length = None;
                } else if let Some(max) = max_length(prop)
                    && matches!(field.field_type, FieldType::Text | FieldType::LongText)
                {
                    field.max_length = Some(max);
                }
                if field.label.is_empty()
                    && let Some(title) = prop.get("title").and_then(Value::as_str)
                {
                    field.label = title.to_owned();
                }
            }
            None => {
                let mut field = FieldSchema::new(name.clone(), field_type(doc, prop));
                field.options = found;
                field.max_length = max_length(prop).filter(|_| field.field_type == FieldType::Text);
                if let Some(title) = prop.get("title").and_then(Value::as_str) {
                    field.label = title.to_owned();
                }
                // insert before the read-only metadata at the end
                let at = fields
                    .iter()
                    .rposition(|f| !f.is_read_only())
                    .map_or(fields.len(), |i| i + 1);
                fields.insert(at, field);
            }
        }
    }
    props.len()
}
