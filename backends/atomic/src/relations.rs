//! Links: reading the records on the far side of a link, and adding or removing one.
//! A link is a foreign-key column (`contacts.company_id`) or an id array without a foreign key
//! (`deals.contact_ids`, `contacts.tags`). Changing an array is read-modify-write guarded by
//! the value read (`… where contact_ids = {1,2}`), retried a few times when someone else
//! changed it in between, so concurrent links never lose one another.

use crate::backend::AtomicBackend;
use crate::map::parse_id;
use crate::model::Kind;
use crate::model::links::{LinkSpec, Via, link};
use crate::records::{self, offset_of, page};
use crate::store::{Caller, Cast, CmpOp, Cond, Row, Select};
use crmgate_core::model::{EntityInfo, Page, PageRequest};
use crmgate_core::schema::LinkSchema;
use crmgate_core::{CallContext, Error, ErrorCode, Result};
use serde_json::{Value, json};

const ARRAY_ATTEMPTS: usize = 4;

fn spec_of(kind: Kind, link_schema: &LinkSchema) -> Result<&'static LinkSpec> {
    link(kind, &link_schema.name).ok_or_else(|| {
        Error::new(
            ErrorCode::NotFound,
            format!("{} has no link {:?}", kind.name(), link_schema.name),
            "crm_describe lists the links of each entity",
        )
    })
}

/// The source row from its table, or NOT_FOUND.
async fn source_row(
    b: &AtomicBackend,
    caller: &Caller,
    kind: Kind,
    id: &str,
) -> Result<(i64, Row)> {
    let number = parse_id(id).ok_or_else(|| Error::not_found(kind.name(), id))?;
    let filter = [Cond::id_eq("id", number)];
    let rows = b
        .store
        .select(
            caller,
            &Select {
                relation: kind.table(),
                filter: &filter,
                order: &[],
                limit: 1,
                offset: 0,
                count: false,
            },
        )
        .await?;
    let row = rows
        .rows
        .into_iter()
        .next()
        .ok_or_else(|| Error::not_found(kind.name(), id))?;
    Ok((number, row))
}

fn ids_in(row: &Row, column: &str) -> Vec<i64> {
    match row.get(column) {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_i64).collect(),
        _ => Vec::new(),
    }
}

/// crm_related.
pub(crate) async fn related(
    b: &AtomicBackend,
    cx: &CallContext,
    entity: &EntityInfo,
    id: &str,
    link_schema: &LinkSchema,
    request: &PageRequest,
) -> Result<Page> {
    let kind = AtomicBackend::kind(entity)?;
    let spec = spec_of(kind, link_schema)?;
    let caller = b.caller(cx).await?;
    let model = b.model(&caller).await?;
    let target = model.get(spec.target);
    let (number, row) = source_row(b, &caller, kind, id).await?;
    let condition = match spec.via {
        Via::Column(column) => match row.get(column).and_then(Value::as_i64) {
            Some(target_id) => Cond::id_eq("id", target_id),
            None => return Ok(Page::default()),
        },
        Via::ArrayColumn(column) => {
            let ids = ids_in(&row, column);
            if ids.is_empty() {
                return Ok(Page::default());
            }
            Cond::id_in("id", &ids)
        }
        Via::Reverse(column) => Cond::id_eq(column, number),
        Via::ReverseArray(column) => Cond::ArrayHas {
            column: column.into(),
            value: number.to_string(),
        },
    };
    let offset = offset_of(request.cursor.as_deref())?;
    let limit = request.limit.max(1);
    let filter = [condition];
    let rows = b
        .store
        .select(
            &caller,
            &Select {
                relation: &target.relation,
                filter: &filter,
                order: &[],
                limit,
                offset,
                count: true,
            },
        )
        .await?;
    page(b, spec.target, target, rows, offset, limit)
}

/// crm_link (`add`) and crm_unlink.
pub(crate) async fn change(
    b: &AtomicBackend,
    cx: &CallContext,
    entity: &EntityInfo,
    id: &str,
    link_schema: &LinkSchema,
    target_id: &str,
    add: bool,
) -> Result<()> {
    let kind = AtomicBackend::kind(entity)?;
    let spec = spec_of(kind, link_schema)?;
    if !spec.writable {
        return Err(Error::not_allowed(
            format!(
                "{}.{} cannot be changed with crm_link",
                kind.name(),
                spec.name
            ),
            "update the record's reference field with crm_update instead",
        ));
    }
    let caller = b.caller(cx).await?;
    let target =
        parse_id(target_id).ok_or_else(|| Error::not_found(spec.target.name(), target_id))?;
    if add {
        // the target must exist (arrays have no foreign key to say so)
        records::require(b, &caller, spec.target, target_id).await?;
    }
    match spec.via {
        Via::Column(column) => set_column(b, &caller, kind, id, spec, column, target, add).await,
        Via::ArrayColumn(column) => {
            change_array(b, &caller, kind, id, spec, column, target, add).await
        }
        Via::Reverse(_) | Via::ReverseArray(_) => Err(Error::not_allowed(
            format!("{}.{} is read-only", kind.name(), spec.name),
            "change the link from the other side",
        )),
    }
}

#[allow(clippy::too_many_arguments)]
async fn set_column(
    b: &AtomicBackend,
    caller: &Caller,
    kind: Kind,
    id: &str,
    spec: &LinkSpec,
    column: &str,
    target: i64,
    add: bool,
) -> Result<()> {
    let number = parse_id(id).ok_or_else(|| Error::not_found(kind.name(), id))?;
    let mut row = Row::new();
    let mut filter = vec![Cond::id_eq("id", number)];
    if add {
        row.insert(column.into(), json!(target));
    } else {
        row.insert(column.into(), Value::Null);
        filter.push(Cond::id_eq(column, target));
    }
    let changed = b.store.update(caller, kind.table(), &filter, &row).await?;
    if changed.is_empty() {
        // tell "no such record" from "not linked to that target"
        source_row(b, caller, kind, id).await?;
        return Err(not_linked(kind, id, spec, target));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn change_array(
    b: &AtomicBackend,
    caller: &Caller,
    kind: Kind,
    id: &str,
    spec: &LinkSpec,
    column: &str,
    target: i64,
    add: bool,
) -> Result<()> {
    for _ in 0..ARRAY_ATTEMPTS {
        let (number, row) = source_row(b, caller, kind, id).await?;
        let before = row.get(column).cloned().unwrap_or(Value::Null);
        let mut ids = ids_in(&row, column);
        let present = ids.contains(&target);
        match (add, present) {
            (true, true) => return Ok(()),
            (false, false) => return Err(not_linked(kind, id, spec, target)),
            (true, false) => ids.push(target),
            (false, true) => ids.retain(|i| *i != target),
        }
        let guard = match &before {
            Value::Array(items) => Cond::Cmp {
                column: column.into(),
                op: CmpOp::Eq,
                value: format!(
                    "{{{}}}",
                    items
                        .iter()
                        .map(Value::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                ),
                cast: Cast::BigIntArray,
            },
            _ => Cond::IsNull(column.into()),
        };
        let mut update = Row::new();
        update.insert(column.into(), json!(ids));
        if kind == Kind::Deals {
            update.insert("updated_at".into(), json!(crate::timefmt::now_timestamp()));
        }
        let filter = [Cond::id_eq("id", number), guard];
        if !b
            .store
            .update(caller, kind.table(), &filter, &update)
            .await?
            .is_empty()
        {
            return Ok(());
        }
    }
    Err(Error::new(
        ErrorCode::Conflict,
        format!(
            "{}.{} kept changing while crmgate updated it",
            kind.name(),
            spec.name
        ),
        "repeat the call",
    )
    .with_retry_after(1))
}

fn not_linked(kind: Kind, id: &str, spec: &LinkSpec, target: i64) -> Error {
    Error::new(
        ErrorCode::NotFound,
        format!(
            "{} {id} is not linked to {} {target} through {}",
            kind.name(),
            spec.target.name(),
            spec.name
        ),
        format!(
            "crm_related {} {id} {} lists what is linked",
            kind.name(),
            spec.name
        ),
    )
}
