//! Honest write outcomes: when a write may or may not have reached the CRM (`OUTCOME_UNKNOWN`
//! from the upstream layer or a backend), the gateway — which knows the entity, the id and the
//! data — names the read that tells whether it happened, in words and as machine-readable
//! `details.check` (a tool name and its arguments). The same search finds a record created
//! under an id the CRM did not report.

use super::SearchHint;
use crate::filter::{Condition, FilterOp};
use crate::model::{EntityInfo, Fields};
use crate::schema::{EntitySchema, FieldType};
use crate::{Error, ErrorCode};
use serde_json::{Value, json};

/// Which read tells whether a write happened.
pub(super) enum Check<'a> {
    /// A create: search for the record by an identifying field of `data`.
    Created {
        entity: &'a EntityInfo,
        schema: &'a EntitySchema,
        data: &'a Fields,
    },
    /// A change to one record: read it (`what` is "update", "delete", …).
    Record {
        entity: &'a EntityInfo,
        id: &'a str,
        what: &'a str,
    },
    /// A link change: read the link's records.
    Link {
        entity: &'a EntityInfo,
        id: &'a str,
        link: &'a str,
    },
    /// A note: read the record's timeline.
    Timeline { entity: &'a EntityInfo, id: &'a str },
}

/// Name the check in an `OUTCOME_UNKNOWN` error; other errors pass unchanged.
pub(super) fn explain(error: Error, check: Check<'_>) -> Error {
    if error.code != ErrorCode::OutcomeUnknown {
        return error;
    }
    let (what, suggestion, details) = match check {
        Check::Created {
            entity,
            schema,
            data,
        } => {
            let hint = find_created(entity, schema, data, &[]);
            let shown = hint
                .conditions
                .iter()
                .map(|c| format!("{} {} {}", c.field, c.op.as_str(), c.value))
                .collect::<Vec<_>>()
                .join(" and ");
            let how = if shown.is_empty() {
                format!("look through the newest {} with crm_search", entity.name)
            } else {
                format!("crm_search {} where {shown}", entity.name)
            };
            (
                format!("the create on {}", entity.name),
                format!(
                    "do not create it again yet: {how} to see whether the record exists, and \
                     create it only if it does not"
                ),
                json!({"tool": "crm_search", "arguments": hint}),
            )
        }
        Check::Record { entity, id, what } => (
            format!("the {what} of {} {id}", entity.name),
            format!(
                "do not repeat it yet: crm_get {} {id} and check whether the {what} is there \
                 (after a delete, NOT_FOUND means it happened)",
                entity.name
            ),
            json!({"tool": "crm_get", "arguments": {"entity": entity.name, "id": id}}),
        ),
        Check::Link { entity, id, link } => (
            format!("the link change on {} {id}", entity.name),
            format!(
                "do not repeat it yet: crm_related {} {id} {link} shows whether it happened",
                entity.name
            ),
            json!({"tool": "crm_related", "arguments": {"entity": entity.name, "id": id, "link": link}}),
        ),
        Check::Timeline { entity, id } => (
            format!("the note on {} {id}", entity.name),
            format!(
                "do not add it again yet: crm_timeline {} {id} shows whether it is there",
                entity.name
            ),
            json!({"tool": "crm_timeline", "arguments": {"entity": entity.name, "id": id}}),
        ),
    };
    let mut out = Error::outcome_unknown(format!("{what}: {}", error.message), suggestion);
    let mut all = error.details.unwrap_or_else(|| json!({}));
    if let Value::Object(map) = &mut all {
        map.insert("check".into(), details);
        out.details = Some(all);
    } else {
        out.details = Some(json!({"check": details, "detail": all}));
    }
    out
}

/// The search that finds a record created from `data`: the backend's own conditions when it
/// gave some, else equality on the most identifying field of `data` the CRM can filter by.
pub(super) fn find_created(
    entity: &EntityInfo,
    schema: &EntitySchema,
    data: &Fields,
    given: &[Condition],
) -> SearchHint {
    let conditions = if given.is_empty() {
        identifying(schema, data).into_iter().collect()
    } else {
        given.to_vec()
    };
    SearchHint {
        entity: entity.name.clone(),
        conditions,
    }
}

/// One condition on an identifying field of `data`: an email, a phone, a name or title, any
/// other short text — whichever comes first that the field filters by `eq` (or, failing that,
/// `starts_with` / `contains`).
fn identifying(schema: &EntitySchema, data: &Fields) -> Option<Condition> {
    let rank = |name: &str, t: FieldType| match t {
        FieldType::Email => 0,
        FieldType::Phone => 1,
        FieldType::Text
            if ["name", "title", "subject"]
                .iter()
                .any(|w| name.to_ascii_lowercase().contains(w)) =>
        {
            2
        }
        FieldType::Text => 3,
        _ => 9,
    };
    let mut candidates: Vec<(usize, &str, &Value, FilterOp)> = data
        .iter()
        .filter_map(|(name, value)| {
            let field = schema.field(name)?;
            let text = value.as_str().filter(|s| !s.trim().is_empty())?;
            let op = [FilterOp::Eq, FilterOp::StartsWith, FilterOp::Contains]
                .into_iter()
                .find(|op| field.filters_with(*op))?;
            let r = rank(name, field.field_type);
            (r < 9 && text.chars().count() <= 200).then_some((r, name.as_str(), value, op))
        })
        .collect();
    candidates.sort_by_key(|(r, name, _, _)| (*r, *name));
    candidates.first().map(|(_, field, value, op)| Condition {
        field: (*field).to_owned(),
        op: *op,
        value: (*value).clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DeleteKind, TotalKind};
    use crate::schema::FieldSchema;

    fn entity() -> EntityInfo {
        EntityInfo {
            name: "contacts".into(),
            native: "Contact".into(),
            label: "Contacts".into(),
            operations: Default::default(),
            filter_ops: FilterOp::ALL.to_vec(),
            total: TotalKind::Exact,
            delete: DeleteKind::Hard,
            actions: vec![],
            notes: vec![],
            denied: vec![],
            key: 0,
        }
    }

    fn schema() -> EntitySchema {
        EntitySchema {
            entity: "contacts".into(),
            native: "Contact".into(),
            fields: vec![
                FieldSchema::new("lastName", FieldType::Text),
                FieldSchema::new("emailAddress", FieldType::Email),
                FieldSchema::new("website", FieldType::Url).filter_ops(&[]),
            ],
            links: vec![],
        }
    }

    #[test]
    fn a_create_names_a_search_on_its_most_identifying_field() {
        let data = json!({"lastName": "Ng", "emailAddress": "ng@example.com", "website": "x"});
        let e = explain(
            Error::outcome_unknown("the CRM failed (HTTP 500)", "x"),
            Check::Created {
                entity: &entity(),
                schema: &schema(),
                data: data.as_object().unwrap(),
            },
        );
        assert_eq!(e.code, ErrorCode::OutcomeUnknown);
        assert!(!e.retryable);
        assert!(
            e.message.starts_with("the create on contacts: "),
            "{}",
            e.message
        );
        assert!(
            e.suggestion
                .contains("crm_search contacts where emailAddress eq \"ng@example.com\""),
            "{}",
            e.suggestion
        );
        let check = &e.details.unwrap()["check"];
        assert_eq!(check["tool"], "crm_search");
        assert_eq!(
            check["arguments"]["where"][0],
            json!({"field": "emailAddress", "op": "eq", "value": "ng@example.com"})
        );
    }

    #[test]
    fn record_checks_and_other_errors() {
        let e = explain(
            Error::outcome_unknown("broke", "x"),
            Check::Record {
                entity: &entity(),
                id: "7",
                what: "delete",
            },
        );
        assert!(
            e.suggestion.contains("crm_get contacts 7"),
            "{}",
            e.suggestion
        );
        let other = Error::not_found("contacts", "7");
        let same = explain(
            other.clone(),
            Check::Record {
                entity: &entity(),
                id: "7",
                what: "update",
            },
        );
        assert_eq!(same, other);
    }
}
