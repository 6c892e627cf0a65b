//! Records: search (offset cursors, exact totals), get by ids, create, update and delete.
//! Reads go through the summary view when the database has it; writes go to the table and
//! the record is read back through the view, so every answer has the same fields.

use crate::backend::AtomicBackend;
use crate::describe::Described;
use crate::filters;
use crate::map::{self, parse_id};
use crate::model::Kind;
use crate::model::fields::fields;
use crate::store::{Caller, Cond, Row, Select};
use crate::timefmt::now_timestamp;
use crmgate_core::backend::unsupported;
use crmgate_core::model::{EntityInfo, Fields, Page, Record, SearchRequest};
use crmgate_core::schema::FieldType;
use crmgate_core::{CallContext, Error, Result};
use serde_json::{Value, json};

/// crm_search.
pub(crate) async fn search(
    b: &AtomicBackend,
    cx: &CallContext,
    request: &SearchRequest,
) -> Result<Page> {
    let kind = AtomicBackend::kind(&request.entity)?;
    let caller = b.caller(cx).await?;
    let model = b.model(&caller).await?;
    let described = model.get(kind);
    let with_view = described.relation != kind.table();
    let conds = filters::conditions(
        &request.filter,
        &described.schema,
        kind.search_columns(with_view),
    )?;
    let order = filters::order(&request.sort);
    let offset = offset_of(request.page.cursor.as_deref())?;
    let limit = request.page.limit.max(1);
    let rows = b
        .store
        .select(
            &caller,
            &Select {
                relation: &described.relation,
                filter: &conds,
                order: &order,
                limit,
                offset,
                count: true,
            },
        )
        .await?;
    page(b, kind, described, rows, offset, limit)
}

/// A page of rows as records, with the next offset as cursor.
pub(crate) fn page(
    b: &AtomicBackend,
    kind: Kind,
    described: &Described,
    rows: crate::store::Rows,
    offset: usize,
    limit: usize,
) -> Result<Page> {
    let count = rows.rows.len();
    let next = offset + count;
    let more = match rows.total {
        Some(total) => (next as u64) < total,
        None => count >= limit,
    };
    Ok(Page {
        records: records(b, kind, described, rows.rows)?,
        total: rows.total,
        next_cursor: (more && count > 0).then(|| next.to_string()),
    })
}

/// Rows as records.
pub(crate) fn records(
    b: &AtomicBackend,
    kind: Kind,
    described: &Described,
    rows: Vec<Row>,
) -> Result<Vec<Record>> {
    rows.into_iter()
        .map(|row| map::record(kind, &described.schema, row, b.app_url.as_deref()))
        .collect()
}

/// The offset a cursor names.
pub(crate) fn offset_of(cursor: Option<&str>) -> Result<usize> {
    match cursor {
        None => Ok(0),
        Some(c) => c.parse().map_err(|_| {
            Error::validation(
                "cursor refused: it is not a cursor this server issued",
                "pass next_cursor exactly as the previous result gave it",
            )
        }),
    }
}

/// crm_get: records by id; ids that are not numbers simply do not exist.
pub(crate) async fn get(
    b: &AtomicBackend,
    caller: &Caller,
    kind: Kind,
    ids: &[String],
) -> Result<Vec<Record>> {
    let numbers: Vec<i64> = ids.iter().filter_map(|i| parse_id(i)).collect();
    if numbers.is_empty() {
        return Ok(Vec::new());
    }
    let model = b.model(caller).await?;
    let described = model.get(kind);
    let filter = [Cond::id_in("id", &numbers)];
    let rows = b
        .store
        .select(
            caller,
            &Select {
                relation: &described.relation,
                filter: &filter,
                order: &[],
                limit: numbers.len(),
                offset: 0,
                count: false,
            },
        )
        .await?;
    records(b, kind, described, rows.rows)
}

/// One record by id, or NOT_FOUND.
pub(crate) async fn require(
    b: &AtomicBackend,
    caller: &Caller,
    kind: Kind,
    id: &str,
) -> Result<Record> {
    get(b, caller, kind, &[id.to_owned()])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Error::not_found(kind.name(), id))
}

fn writable(entity: &EntityInfo, kind: Kind, what: &str) -> Result<()> {
    if kind.writable() {
        Ok(())
    } else {
        Err(unsupported(entity, what))
    }
}

/// crm_create.
pub(crate) async fn create(
    b: &AtomicBackend,
    cx: &CallContext,
    entity: &EntityInfo,
    data: &Fields,
) -> Result<Record> {
    let kind = AtomicBackend::kind(entity)?;
    writable(entity, kind, "create")?;
    let caller = b.caller(cx).await?;
    let model = b.model(&caller).await?;
    let described = model.get(kind);
    let row = map::row_for_write(kind, &described.schema, data)?;
    check_unconstrained_ids(b, &caller, kind, &row).await?;
    let stored = b
        .store
        .insert(&caller, kind.table(), &row)
        .await
        .map_err(|e| name_the_value(e, kind, &row))?;
    read_back(b, &caller, kind, described, stored).await
}

/// crm_update: only the given fields change; deals also get `updated_at`.
pub(crate) async fn update(
    b: &AtomicBackend,
    cx: &CallContext,
    entity: &EntityInfo,
    id: &str,
    data: &Fields,
) -> Result<Record> {
    let kind = AtomicBackend::kind(entity)?;
    writable(entity, kind, "update")?;
    let number = parse_id(id).ok_or_else(|| Error::not_found(kind.name(), id))?;
    let caller = b.caller(cx).await?;
    let model = b.model(&caller).await?;
    let described = model.get(kind);
    let mut row = map::row_for_write(kind, &described.schema, data)?;
    if kind == Kind::Deals && described.schema.field("updated_at").is_some() {
        row.insert("updated_at".into(), json!(now_timestamp()));
    }
    check_unconstrained_ids(b, &caller, kind, &row).await?;
    let stored = b
        .store
        .update(&caller, kind.table(), &[Cond::id_eq("id", number)], &row)
        .await
        .map_err(|e| name_the_value(e, kind, &row))?
        .pop()
        // no row: missing, or hidden from this user by row-level security
        .ok_or_else(|| Error::not_found(kind.name(), id))?;
    read_back(b, &caller, kind, described, stored).await
}

/// crm_delete (hard; the database cascades).
pub(crate) async fn delete(
    b: &AtomicBackend,
    cx: &CallContext,
    entity: &EntityInfo,
    id: &str,
) -> Result<()> {
    let kind = AtomicBackend::kind(entity)?;
    writable(entity, kind, "delete")?;
    let number = parse_id(id).ok_or_else(|| Error::not_found(kind.name(), id))?;
    let caller = b.caller(cx).await?;
    let deleted = b
        .store
        .delete(&caller, kind.table(), &[Cond::id_eq("id", number)])
        .await?;
    if deleted == 0 {
        return Err(Error::not_found(kind.name(), id));
    }
    Ok(())
}

/// The stored row, read again through the summary view when there is one.
async fn read_back(
    b: &AtomicBackend,
    caller: &Caller,
    kind: Kind,
    described: &Described,
    stored: Row,
) -> Result<Record> {
    if described.relation != kind.table()
        && let Some(id) = stored.get("id").and_then(Value::as_i64)
        && let Some(record) = get(b, caller, kind, &[id.to_string()])
            .await?
            .into_iter()
            .next()
    {
        return Ok(record);
    }
    map::record(kind, &described.schema, stored, b.app_url.as_deref())
}

/// A foreign-key refusal whose key PostgreSQL hid (the referenced table has row-level
/// security), told with the value that was sent.
fn name_the_value(e: Error, kind: Kind, row: &Row) -> Error {
    let field = e
        .details
        .as_ref()
        .and_then(|d| d.get("field"))
        .and_then(Value::as_str);
    let (Some(field), Some(value)) = (field, field.and_then(|f| row.get(f))) else {
        return e;
    };
    let Some(target) = fields(kind)
        .iter()
        .find(|f| f.name == field)
        .and_then(|f| f.link)
    else {
        return e;
    };
    if e.code != crmgate_core::ErrorCode::Validation || !e.message.ends_with("record it names") {
        return e;
    }
    Error::validation(
        format!(
            "{field}: there is no {} record with id {value}",
            target.name()
        ),
        format!(
            "find the {} with crm_search, then use their ids",
            target.name()
        ),
    )
    .with_details(json!({"field": field, "missing": value.to_string()}))
}

/// References Atomic CRM stores without a foreign key: id arrays, and `tasks.sales_id`
/// (added without one in `20240806124555`). The database accepts any number there, so check
/// that every id written exists (and is visible to the caller).
async fn check_unconstrained_ids(
    b: &AtomicBackend,
    caller: &Caller,
    kind: Kind,
    row: &Row,
) -> Result<()> {
    let unconstrained = |ty: FieldType, name: &str| {
        ty == FieldType::References || (kind == Kind::Tasks && name == "sales_id")
    };
    for spec in fields(kind).iter().filter(|f| unconstrained(f.ty, f.name)) {
        let (Some(value), Some(target)) = (row.get(spec.name), spec.link) else {
            continue;
        };
        let items = match value {
            Value::Array(items) => items.clone(),
            Value::Null => continue,
            one => vec![one.clone()],
        };
        let mut ids: Vec<i64> = items.iter().filter_map(Value::as_i64).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            continue;
        }
        let found = get(
            b,
            caller,
            target,
            &ids.iter().map(i64::to_string).collect::<Vec<_>>(),
        )
        .await?;
        if let Some(missing) = ids
            .iter()
            .find(|i| !found.iter().any(|r| r.id == i.to_string()))
        {
            return Err(Error::validation(
                format!(
                    "{}: there is no {} record with id {missing}",
                    spec.name,
                    target.name()
                ),
                format!(
                    "find the {} with crm_search, then use their ids",
                    target.name()
                ),
            )
            .with_details(json!({"field": spec.name, "missing": missing.to_string()})));
        }
    }
    Ok(())
}
