//! crm_describe for BottleCRM: the static field tables ([`fields`]) enriched from the OpenAPI
//! document ([`openapi`]), loaded once per instance and cached.
//!
//! `/schema/` is not under `/api/`, so no PAT scope covers it: BottleCRM refuses it to every
//! scoped token. Then the static tables serve alone (enums without the 250 country codes, no
//! OpenAPI titles) and the result says so. A bad token is still `AUTH_FAILED`. The document
//! (968 KB as BottleCRM serves it) is the same for every caller, so the descriptions built from
//! it are cached once per instance; per caller only whether the token may read it is
//! (`BottleCrmBackend::schemas`). The built-in tables already hold every field, type, enum
//! (but the 250 countries), requiredness and filter operator; the document adds field titles,
//! the country list and fields a newer BottleCRM may have gained.
//!
//! Fields are ordered: the id, then the fields BottleCRM can filter (in the order crm_entities'
//! note lists them), then the rest, read-only metadata last.
//!
//! Each field carries what BottleCRM runs on it, from the filter table ([`filters::fields`]):
//! its operators (none for a field the list endpoint does not filter), and whether it sorts
//! (invoices only, by a handful of fields). The gateway refuses anything else before a request.

pub mod fields;
pub mod openapi;

use crate::client::{Call, Client};
use crate::entities::Entity;
use crate::filters;
use crate::map::error::Context;
use crmgate_core::schema::{EntitySchema, FieldSchema};
use crmgate_core::{CallContext, ErrorCode, Result};
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where a description came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `/schema/` was read: the static tables enriched from it.
    OpenApi,
    /// The token may not read `/schema/`: the static tables alone.
    Static,
}

/// The descriptions of every entity, for one caller.
#[derive(Debug, Clone)]
pub struct Schemas {
    /// Where they came from.
    pub source: Source,
    by_entity: BTreeMap<Entity, Arc<EntitySchema>>,
}

impl Schemas {
    /// The description of one entity.
    pub fn get(&self, entity: Entity) -> Arc<EntitySchema> {
        self.by_entity[&entity].clone()
    }
}

fn ordered(entity: Entity, mut fields: Vec<FieldSchema>) -> Vec<FieldSchema> {
    let rank = |f: &FieldSchema| {
        if f.name == "id" {
            return 0;
        }
        match filters::fields(entity)
            .iter()
            .position(|ff| ff.field == f.name)
        {
            Some(i) => 1 + i,
            None if f.is_read_only() => 10_000,
            None => 1_000,
        }
    };
    fields.sort_by_key(rank); // stable: declared order within each rank
    fields
}

/// A field with the operators BottleCRM's list endpoint runs on it and whether it sorts.
fn queryable(entity: Entity, f: FieldSchema) -> FieldSchema {
    let ops = filters::fields(entity)
        .iter()
        .find(|ff| ff.field == f.name)
        .map_or(&[][..], |ff| ff.kind.ops());
    let sortable = entity == Entity::Invoices && filters::INVOICE_SORT.contains(&f.name.as_str());
    f.filter_ops(ops).sortable(sortable)
}

/// Build every description from the static tables, enriched from `doc` when given.
pub fn build(doc: Option<&Value>) -> Schemas {
    let by_entity = Entity::ALL
        .into_iter()
        .map(|entity| {
            let mut fields = fields::table(entity);
            if let Some(doc) = doc {
                openapi::enrich(doc, entity, &mut fields);
            }
            let fields = fields.into_iter().map(|f| queryable(entity, f)).collect();
            let spec = entity.spec();
            let schema = EntitySchema {
                entity: spec.name.into(),
                native: spec.native.into(),
                fields: ordered(entity, fields),
                links: Vec::new(),
            };
            (entity, Arc::new(schema))
        })
        .collect();
    Schemas {
        source: if doc.is_some() {
            Source::OpenApi
        } else {
            Source::Static
        },
        by_entity,
    }
}

/// Load the descriptions for `cx`: from `/schema/?format=json`, or the static tables when the
/// token is scoped (BottleCRM refuses `/schema/` to every scoped token).
pub async fn load(client: &Client, cx: &CallContext) -> Result<Schemas> {
    let call = Call::new(
        Method::GET,
        "schema/",
        Context {
            entity: None,
            id: None,
            method: "GET",
        },
    )
    .query(vec![("format".into(), "json".into())]);
    match client.send(cx, call).await {
        Ok(doc) => Ok(build(Some(&doc))),
        Err(e) if e.code == ErrorCode::PermissionDenied => {
            tracing::debug!(
                "BottleCRM refused /schema/ to this token; describing from static tables"
            );
            Ok(build(None))
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crmgate_core::filter::FilterOp::*;

    #[test]
    fn each_field_carries_what_the_list_endpoint_runs_on_it() {
        let schemas = build(None);
        let leads = schemas.get(Entity::Leads);
        let f = |s: &EntitySchema, n: &str| s.field(n).unwrap().clone();
        assert_eq!(f(&leads, "email").filter_ops, vec![Contains]);
        assert_eq!(f(&leads, "status").filter_ops, vec![Eq, In]);
        assert_eq!(f(&leads, "created_at").filter_ops, vec![Gte, Lte, Between]);
        assert!(
            f(&leads, "first_name").filter_ops.is_empty(),
            "not a list filter"
        );
        assert!(
            leads.fields.iter().all(|f| !f.sortable),
            "leads keep BottleCRM's order"
        );
        let invoices = schemas.get(Entity::Invoices);
        assert!(f(&invoices, "due_date").sortable);
        assert!(!f(&invoices, "currency").sortable);
        // the entity-level operators are the union of the fields'
        for entity in Entity::ALL {
            assert_eq!(
                schemas.get(entity).filter_ops_union(),
                filters::entity_ops(entity),
                "{entity:?}"
            );
        }
    }
}
