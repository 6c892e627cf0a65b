//! Reading records over Bitrix24's fixed 50-row pages.
//!
//! - Unsorted (or by `id`) searches page by key: `order {id}`, `filter {">id": last}`; the
//!   first page asks for the count (`start=0`), later ones skip it (`start=-1`). Pages after
//!   the first in one request chain through `$result[cN][items][49][id]` references.
//! - Other sorts page by offset (`start` = multiples of 50, rows skipped inside a page).
//! - A limit above 50 is one `batch` of up to 50 list commands (2,500 rows per request); one
//!   row more than asked is read when it costs nothing, so `has_more` is exact.
//! - Get by ids: `crm.item.get` for one id, `crm.item.list` with `@id` for several (a batch of
//!   such lists for more than 50).
//!
//! The backend's cursor tokens: `ka:<id>` / `kd:<id>` (key, ascending / descending) and
//! `o:<offset>`.

use crate::client::{Access, Client, Command, MAX_BATCH};
use crate::filters;
use crate::map::dicts::Dictionaries;
use crate::map::fields::{EntityMeta, LABELS};
use crate::map::record::to_record;
use crate::wire;
use crmgate_core::model::{FieldSelection, Page, Record, SearchRequest};
use crmgate_core::{CallContext, Error, Result};
use serde_json::{Map, Value, json};

/// Bitrix24's fixed page size.
pub const PAGE: usize = 50;

/// Where a search continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// After (or before, descending) this id.
    Key { after: i64, descending: bool },
    /// At this row offset.
    Offset(u64),
}

impl Cursor {
    /// Parse a token this module issued.
    pub fn parse(token: &str) -> Result<Cursor> {
        let bad = || {
            Error::validation(
                "cursor refused: it is not a Bitrix24 cursor of this server",
                "pass next_cursor exactly as the previous result gave it",
            )
        };
        let (kind, n) = token.split_once(':').ok_or_else(bad)?;
        match kind {
            "ka" | "kd" => Ok(Cursor::Key {
                after: n.parse().map_err(|_| bad())?,
                descending: kind == "kd",
            }),
            "o" => Ok(Cursor::Offset(n.parse().map_err(|_| bad())?)),
            _ => Err(bad()),
        }
    }

    /// The token.
    pub fn token(self) -> String {
        match self {
            Cursor::Key { after, descending } => {
                format!("{}:{after}", if descending { "kd" } else { "ka" })
            }
            Cursor::Offset(n) => format!("o:{n}"),
        }
    }
}

/// What one search needs from the catalog.
pub struct Scope<'a> {
    /// The entity's schema and Bitrix types.
    pub meta: &'a EntityMeta,
    /// The dictionaries (labels, stage semantics).
    pub dicts: &'a Dictionaries,
    /// The portal origin (deep links).
    pub portal: &'a str,
}

/// `select` for a field selection: `*` (which also brings `fm`), or the fields asked for plus
/// what titles and versions need.
pub fn select(fields: &FieldSelection, meta: &EntityMeta) -> Value {
    match fields {
        FieldSelection::All => json!(["*"]),
        FieldSelection::Only(list) => {
            let mut out: Vec<&str> = vec!["id"];
            for f in
                list.iter()
                    .map(String::as_str)
                    .chain(["title", "name", "lastName", "updatedTime"])
            {
                if f != LABELS && meta.field(f).is_some() && !out.contains(&f) {
                    out.push(f);
                }
            }
            json!(out)
        }
    }
}

/// One page of a search.
pub async fn search(
    client: &Client,
    cx: &CallContext,
    scope: &Scope<'_>,
    request: &SearchRequest,
) -> Result<Page> {
    let meta = scope.meta;
    let filter = filters::translate(&request.filter, meta, scope.dicts)?;
    let order = filters::order(&request.sort, meta)?;
    let cursor = request
        .page
        .cursor
        .as_deref()
        .map(Cursor::parse)
        .transpose()?;
    let keyed = match request.sort.as_slice() {
        [] => Some(false),
        [only] if only.field == "id" => Some(only.descending),
        _ => None,
    };
    let limit = request.page.limit.max(1);
    let base = json!({
        "entityTypeId": meta.entity_type_id,
        "select": select(&request.fields, meta),
        "useOriginalUfNames": "Y",
    });
    match (keyed, cursor) {
        (Some(descending), None | Some(Cursor::Key { .. })) => {
            let after = match cursor {
                Some(Cursor::Key { after, .. }) => Some(after),
                _ => None,
            };
            keyset(client, cx, scope, &base, filter, descending, after, limit).await
        }
        (_, Some(Cursor::Offset(offset))) => {
            offset_page(client, cx, scope, &base, filter, &order, offset, limit).await
        }
        (None, _) => offset_page(client, cx, scope, &base, filter, &order, 0, limit).await,
    }
}

/// Command names sort in execution order (`c00` … `c49`): JSON objects are sent sorted.
fn name(i: usize) -> String {
    format!("c{i:02}")
}

fn pages_for(rows: usize) -> usize {
    rows.div_ceil(PAGE).clamp(1, MAX_BATCH)
}

#[allow(clippy::too_many_arguments)]
async fn keyset(
    client: &Client,
    cx: &CallContext,
    scope: &Scope<'_>,
    base: &Value,
    filter: Map<String, Value>,
    descending: bool,
    after: Option<i64>,
    limit: usize,
) -> Result<Page> {
    let key = if descending { "<id" } else { ">id" };
    let pages = pages_for(limit + 1);
    let commands: Vec<Command> = (0..pages)
        .map(|i| {
            let mut filter = filter.clone();
            let bound = match (i, after) {
                (0, Some(after)) => Some(json!(after)),
                (0, None) => None,
                _ => Some(json!(format!(
                    "$result[{}][items][{}][id]",
                    name(i - 1),
                    PAGE - 1
                ))),
            };
            if let Some(bound) = bound {
                filters::push(&mut filter, key.into(), bound);
            }
            let mut params = base.clone();
            params["filter"] = Value::Object(filter);
            params["order"] =
                filters::order_value(&[("id".into(), if descending { "DESC" } else { "ASC" })]);
            params["start"] = json!(if i == 0 && after.is_none() { 0 } else { -1 });
            Command::new(name(i), "crm.item.list", params)
        })
        .collect();
    let (rows, total, exhausted) = run_pages(client, cx, &commands).await?;
    let more = rows.len() > limit || !exhausted;
    let rows: Vec<Value> = rows.into_iter().take(limit).collect();
    let next = more
        .then(|| rows.last().and_then(|r| r.get("id")).and_then(wire::int))
        .flatten()
        .map(|after| Cursor::Key { after, descending }.token());
    Ok(Page {
        records: records(&rows, scope),
        total,
        next_cursor: next,
    })
}

#[allow(clippy::too_many_arguments)]
async fn offset_page(
    client: &Client,
    cx: &CallContext,
    scope: &Scope<'_>,
    base: &Value,
    filter: Map<String, Value>,
    order: &[(String, &'static str)],
    offset: u64,
    limit: usize,
) -> Result<Page> {
    let first = (offset / PAGE as u64) * PAGE as u64;
    let skip = (offset - first) as usize;
    let pages = pages_for(skip + limit + 1);
    let commands: Vec<Command> = (0..pages)
        .map(|i| {
            let mut params = base.clone();
            params["filter"] = Value::Object(filter.clone());
            params["order"] = filters::order_value(order);
            params["start"] = json!(first + (i * PAGE) as u64);
            Command::new(name(i), "crm.item.list", params)
        })
        .collect();
    let (rows, total, exhausted) = run_pages(client, cx, &commands).await?;
    let rows: Vec<Value> = rows.into_iter().skip(skip).collect();
    let more = rows.len() > limit || !exhausted;
    let rows: Vec<Value> = rows.into_iter().take(limit).collect();
    let next =
        (more && !rows.is_empty()).then(|| Cursor::Offset(offset + rows.len() as u64).token());
    Ok(Page {
        records: records(&rows, scope),
        total,
        next_cursor: next,
    })
}

/// Run list commands (one call, or one batch) and gather their rows in order, stopping at the
/// first short page. Returns the rows, the first command's total (when it counted), and
/// whether the end was seen.
async fn run_pages(
    client: &Client,
    cx: &CallContext,
    commands: &[Command],
) -> Result<(Vec<Value>, Option<u64>, bool)> {
    let counted = commands
        .first()
        .is_some_and(|c| c.params.get("start").and_then(wire::int) != Some(-1));
    if let [only] = commands {
        let env = client
            .call(cx, &only.method, only.params.clone(), Access::Read)
            .await?;
        let rows = wire::list(env.result.get("items"));
        let exhausted = rows.len() < PAGE;
        let total = counted
            .then_some(env.total)
            .flatten()
            .map(|t| t.max(0) as u64);
        return Ok((rows, total, exhausted));
    }
    let mut out = client.batch(cx, commands, Access::Read).await?;
    let total = counted
        .then(|| out.totals.get(&name(0)).copied())
        .flatten()
        .map(|t| t.max(0) as u64);
    let mut rows = Vec::new();
    for c in commands {
        let result = out.take(&c.name, &c.method)?;
        let items = wire::list(result.get("items"));
        let short = items.len() < PAGE;
        rows.extend(items);
        if short {
            return Ok((rows, total, true));
        }
    }
    Ok((rows, total, false))
}

fn records(rows: &[Value], scope: &Scope<'_>) -> Vec<Record> {
    rows.iter()
        .map(|row| to_record(row, scope.meta, scope.dicts, scope.portal))
        .collect()
}

/// Records by id; ids that are not numbers or do not exist are absent.
pub async fn get(
    client: &Client,
    cx: &CallContext,
    scope: &Scope<'_>,
    ids: &[String],
    fields: &FieldSelection,
) -> Result<Vec<Record>> {
    let meta = scope.meta;
    let numeric: Vec<i64> = ids
        .iter()
        .filter_map(|id| id.trim().parse::<i64>().ok().filter(|n| *n > 0))
        .collect();
    match numeric.as_slice() {
        [] => Ok(Vec::new()),
        [id] => {
            let params =
                json!({"entityTypeId": meta.entity_type_id, "id": id, "useOriginalUfNames": "Y"});
            match client.call(cx, "crm.item.get", params, Access::Read).await {
                Ok(env) => Ok(env
                    .result
                    .get("item")
                    .map(|item| vec![to_record(item, meta, scope.dicts, scope.portal)])
                    .unwrap_or_default()),
                Err(e) if e.code == crmgate_core::ErrorCode::NotFound => Ok(Vec::new()),
                Err(e) => Err(e),
            }
        }
        many => {
            let commands: Vec<Command> = many
                .chunks(PAGE)
                .enumerate()
                .map(|(i, chunk)| {
                    Command::new(
                        name(i),
                        "crm.item.list",
                        json!({
                            "entityTypeId": meta.entity_type_id,
                            "select": select(fields, meta),
                            "filter": {"@id": chunk},
                            "order": [["id", "ASC"]],
                            "start": -1,
                            "useOriginalUfNames": "Y",
                        }),
                    )
                })
                .collect();
            let (rows, _, _) = if let [only] = commands.as_slice() {
                run_pages(client, cx, std::slice::from_ref(only)).await?
            } else {
                let mut out = client.batch(cx, &commands, Access::Read).await?;
                let mut rows = Vec::new();
                for c in &commands {
                    rows.extend(wire::list(out.take(&c.name, &c.method)?.get("items")));
                }
                (rows, None, true)
            };
            Ok(records(&rows, scope))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        for c in [
            Cursor::Key {
                after: 120,
                descending: false,
            },
            Cursor::Key {
                after: 7,
                descending: true,
            },
            Cursor::Offset(275),
        ] {
            assert_eq!(Cursor::parse(&c.token()).unwrap(), c);
        }
        assert!(Cursor::parse("x:1").is_err());
        assert!(Cursor::parse("ka:abc").is_err());
        assert!(Cursor::parse("").is_err());
    }

    #[test]
    fn page_counts_stay_within_one_batch() {
        assert_eq!(pages_for(21), 1);
        assert_eq!(pages_for(51), 2);
        assert_eq!(pages_for(2501), 50);
    }
}
