//! Schemas: the built-in model, reconciled with the live catalog when the transport can read
//! it (postgres), with the enum options of this instance's `configuration` row. The backend
//! loads all entities at once and caches the result in the shared metadata cache.

use crate::model::Kind;
use crate::model::fields::{FieldSpec, field, fields};
use crate::model::links::links;
use crate::model::options::AllowedValues;
use crate::store::Column;
use crmgate_core::model::{EntityCatalog, HiddenEntity};
use crmgate_core::schema::{EntitySchema, FieldSchema, FieldType};
use std::collections::HashMap;
use std::sync::Arc;

/// One entity as this database has it.
#[derive(Debug, Clone)]
pub struct Described {
    /// Fields and links.
    pub schema: Arc<EntitySchema>,
    /// The relation records are read from: the summary view when it exists, else the table.
    pub relation: String,
    /// The caller can see the table (always true without a catalog).
    pub present: bool,
}

/// Every entity, described, and the catalogue of those the caller can reach.
#[derive(Debug, Clone, Default)]
pub struct Model {
    entities: HashMap<Kind, Described>,
    catalog: Arc<EntityCatalog>,
}

impl Model {
    /// The description of one entity.
    pub fn get(&self, kind: Kind) -> &Described {
        // every kind is inserted by `build`
        &self.entities[&kind]
    }

    /// The entities the caller can reach (shared: a call clones the `Arc`).
    pub fn catalog(&self) -> &Arc<EntityCatalog> {
        &self.catalog
    }

    /// Build the model: from the catalog when given, else from the built-in description.
    pub fn build(catalog: Option<&[Column]>, allowed: &AllowedValues) -> Self {
        let entities: HashMap<Kind, Described> = Kind::ALL
            .into_iter()
            .map(|kind| {
                let described = catalog
                    .and_then(|c| from_catalog(kind, c, allowed))
                    .unwrap_or_else(|| Described {
                        schema: Arc::new(builtin_schema(kind, allowed)),
                        relation: kind.summary_view().unwrap_or(kind.table()).to_owned(),
                        // with a catalog, a table it does not show is out of reach
                        present: catalog.is_none(),
                    });
                (kind, described)
            })
            .collect();
        let infos = Kind::ALL
            .into_iter()
            .filter(|k| entities[k].present)
            .map(|k| {
                let mut info = k.info();
                info.filter_ops = entities[&k].schema.filter_ops_union();
                info
            })
            .collect();
        // a table the catalog does not show this caller exists but is out of its reach
        let hidden = Kind::ALL
            .into_iter()
            .filter(|k| catalog.is_some() && !entities[k].present)
            .map(|k| HiddenEntity {
                name: k.name().into(),
                native: k.table().into(),
                permission: format!("SELECT on {}", k.table()),
            })
            .collect();
        Model {
            entities,
            catalog: Arc::new(EntityCatalog::new(infos).with_hidden(hidden)),
        }
    }
}

/// The relations whose columns the catalog is asked for.
pub fn relations() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Kind::ALL.iter().map(|k| k.table()).collect();
    out.extend(Kind::ALL.iter().filter_map(|k| k.summary_view()));
    out.push("configuration");
    out
}

/// The built-in schema of an entity (every field, view columns included).
pub fn builtin_schema(kind: Kind, allowed: &AllowedValues) -> EntitySchema {
    EntitySchema {
        entity: kind.name().into(),
        native: kind.table().into(),
        fields: fields(kind).iter().map(|s| from_spec(s, allowed)).collect(),
        links: links(kind).iter().map(|l| l.schema()).collect(),
    }
}

fn from_spec(spec: &FieldSpec, allowed: &AllowedValues) -> FieldSchema {
    let mut f = queryable(FieldSchema::new(spec.name, spec.ty).label(spec.label));
    f.required = spec.required;
    if spec.read_only {
        f = f.read_only();
    }
    f.compact = spec.compact;
    f.options = allowed.options(spec.options);
    f.link_entity = spec.link.map(|k| k.name().to_owned());
    f
}

/// A field with the operators the database runs on its type ([`crate::filters::ops_for`]).
fn queryable(f: FieldSchema) -> FieldSchema {
    let ops = crate::filters::ops_for(f.field_type);
    f.filter_ops(ops)
}

/// The schema from the catalog: the table's columns in order (known ones described by the
/// model, others by their SQL type), then columns only the summary view has (read-only).
/// `None` when the caller can see no column of the table.
fn from_catalog(kind: Kind, catalog: &[Column], allowed: &AllowedValues) -> Option<Described> {
    let of = |relation: &str| -> Vec<&Column> {
        catalog.iter().filter(|c| c.relation == relation).collect()
    };
    let table = of(kind.table());
    if table.is_empty() {
        return None;
    }
    let mut view = kind.summary_view().map(of).unwrap_or_default();
    // a view selects `table.*` as it was when created: after a column was added to the table
    // it lacks that column, so read the table itself
    if !table.iter().all(|t| view.iter().any(|v| v.name == t.name)) {
        view.clear();
    }
    let mut out: Vec<FieldSchema> = Vec::with_capacity(table.len() + view.len());
    for column in &table {
        out.push(match field(kind, &column.name) {
            Some(spec) => from_spec(spec, allowed),
            None => unknown_column(column, false),
        });
    }
    for column in &view {
        if out.iter().any(|f| f.name == column.name) {
            continue;
        }
        out.push(match field(kind, &column.name) {
            Some(spec) => from_spec(spec, allowed).read_only(),
            None => unknown_column(column, true),
        });
    }
    let relation = match (kind.summary_view(), view.is_empty()) {
        (Some(v), false) => v,
        _ => kind.table(),
    };
    Some(Described {
        schema: Arc::new(EntitySchema {
            entity: kind.name().into(),
            native: kind.table().into(),
            fields: out,
            links: links(kind).iter().map(|l| l.schema()).collect(),
        }),
        relation: relation.to_owned(),
        present: true,
    })
}

/// A column the built-in model does not know (a local addition), described by its type.
fn unknown_column(column: &Column, view_only: bool) -> FieldSchema {
    let ty = match (column.data_type.as_str(), column.udt.as_str()) {
        ("bigint" | "integer" | "smallint", _) => FieldType::Integer,
        ("numeric" | "real" | "double precision", _) => FieldType::Number,
        ("boolean", _) => FieldType::Boolean,
        ("date", _) => FieldType::Date,
        (t, _) if t.starts_with("timestamp") => FieldType::DateTime,
        ("json" | "jsonb" | "ARRAY", _) => FieldType::Json,
        _ => FieldType::Text,
    };
    let mut f = queryable(FieldSchema::new(column.name.clone(), ty));
    if view_only {
        f = f.read_only();
    }
    f.required = !view_only && !column.nullable && !column.has_default;
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(relation: &str, name: &str, data_type: &str, nullable: bool) -> Column {
        Column {
            relation: relation.into(),
            name: name.into(),
            data_type: data_type.into(),
            udt: String::new(),
            nullable,
            has_default: false,
        }
    }

    #[test]
    fn builtin_model_reads_views_and_carries_options() {
        let model = Model::build(None, &AllowedValues::default());
        let contacts = model.get(Kind::Contacts);
        assert_eq!(contacts.relation, "contacts_summary");
        assert!(
            contacts
                .schema
                .field("company_name")
                .unwrap()
                .is_read_only()
        );
        // per field: text runs every operator, ids and numbers no text matching, JSON emptiness
        use crmgate_core::filter::FilterOp;
        let f = |n: &str| contacts.schema.field(n).unwrap().clone();
        assert_eq!(f("first_name").filter_ops, FilterOp::ALL.to_vec());
        assert!(!f("id").filters_with(FilterOp::Contains) && f("id").filters_with(FilterOp::Gt));
        assert_eq!(
            model.catalog().get("contacts").unwrap().filter_ops,
            contacts.schema.filter_ops_union()
        );
        let deals = model.get(Kind::Deals);
        assert_eq!(deals.relation, "deals");
        let stage = deals.schema.field("stage").unwrap();
        assert!(stage.required && stage.options.len() == 6);
        assert_eq!(
            deals
                .schema
                .field("company_id")
                .unwrap()
                .link_entity
                .as_deref(),
            Some("companies")
        );
        assert!(deals.schema.link("contacts").unwrap().writable);
    }

    #[test]
    fn catalog_order_wins_unknown_columns_are_typed_and_missing_views_fall_back() {
        let catalog = vec![
            col("tags", "id", "bigint", false),
            col("tags", "name", "text", false),
            col("tags", "color", "text", false),
            col("tags", "priority", "integer", false),
            col("contacts", "id", "bigint", false),
            col("contacts", "first_name", "text", true),
        ];
        let model = Model::build(Some(&catalog), &AllowedValues::default());
        let tags = &model.get(Kind::Tags).schema;
        let names: Vec<&str> = tags.field_names().collect();
        assert_eq!(names, ["id", "name", "color", "priority"]);
        let priority = tags.field("priority").unwrap();
        assert_eq!(priority.field_type, FieldType::Integer);
        assert!(priority.required);
        // no contacts_summary visible: read the table
        assert_eq!(model.get(Kind::Contacts).relation, "contacts");
        assert!(
            model
                .get(Kind::Contacts)
                .schema
                .field("last_name")
                .is_none()
        );
        // a table the caller cannot see: the built-in model, and named as hidden, not unknown
        assert_eq!(
            model.get(Kind::Deals).schema.fields.len(),
            fields(Kind::Deals).len()
        );
        assert!(model.catalog().get("deals").is_none());
        let hidden = model.catalog().hidden_named("deals").unwrap();
        assert_eq!(hidden.permission, "SELECT on deals");
        assert!(model.catalog().get("tags").is_some());
    }
}
