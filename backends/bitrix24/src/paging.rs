//! Reading records over Bitrix24's fixed 50-row pages.
//!
//! - Unsorted (or by `id`) searches page by key: `order {id}`, `filter {">id": last}`; the
//!   first page asks for the count (`start=0`), later ones skip it (`start=-1`). Pages after
//!   the first in one request chain through `$result[cN][items][49][id]` references.
//! - Other sorts page by offset (`start` = multiples of 50, rows skipped inside a page).
//! - A limit above 50 is one `batch` of up to 50 list commands (2,500 rows per request); a limit
//!   of 50 or less is one list call. `has_more` is the portal's own answer: the last page counts
//!   (`start=0`) and carries `next` when rows follow — no row beyond the limit is read.
//! - A filter value the portal would read as a `$result[…]` reference is never put in a batch:
//!   the pages are then calls of their own (see [`crate::batch`]).
//! - Get by ids: `crm.item.get` for one id, `crm.item.list` with `@id` for several (a batch of
//!   such lists for more than 50).
//!
//! The backend's cursor tokens: `ka:<id>` / `kd:<id>` (key, ascending / descending) and
//! `o:<offset>`.

use crate::client::{Access, Client, Command, MAX_BATCH, Reference};
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

/// 50-row pages that hold `rows` rows (one batch at most).
fn pages_for(rows: usize) -> usize {
    rows.div_ceil(PAGE).clamp(1, MAX_BATCH)
}

/// `start` of a page: `0` counts (the answer carries `total`, and `next` when more rows
/// follow), `-1` skips the count.
fn start(counted: bool) -> Value {
    json!(if counted { 0 } else { -1 })
}

/// Put `key: value` in its own numbered AND group; the path to it.
fn own_group(filter: &mut Map<String, Value>, key: &str, value: Value) -> String {
    let slot = (0..)
        .map(|i: usize| i.to_string())
        .find(|k| !filter.contains_key(k))
        .unwrap_or_default();
    let mut group = Map::new();
    group.insert(key.to_owned(), value);
    filter.insert(slot.clone(), Value::Object(group));
    slot
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
    let pages = pages_for(limit);
    let commands: Vec<Command> = (0..pages)
        .map(|i| {
            let mut filter = filter.clone();
            let reference = match (i, after) {
                (0, Some(after)) => {
                    own_group(&mut filter, key, json!(after));
                    None
                }
                (0, None) => None,
                _ => Some((
                    own_group(&mut filter, key, Value::Null),
                    Reference::new(name(i - 1), &["items", &(PAGE - 1).to_string(), "id"]),
                )),
            };
            let mut params = base.clone();
            params["filter"] = Value::Object(filter);
            params["order"] =
                filters::order_value(&[("id".into(), if descending { "DESC" } else { "ASC" })]);
            // the first page of a search counts (its total); the last one too (its `next` says
            // whether more rows follow); pages in between chain by key without a count
            params["start"] = start((i == 0 && after.is_none()) || i + 1 == pages);
            let command = Command::new(name(i), "crm.item.list", params);
            match reference {
                Some((slot, r)) => command.refer(&["filter", &slot, key], r),
                None => command,
            }
        })
        .collect();
    let run = run_pages(client, cx, &commands).await?;
    let more = run.rows.len() > limit || run.more;
    let mut rows = run.rows;
    rows.truncate(limit);
    let next = more
        .then(|| rows.last().and_then(|r| r.get("id")).and_then(wire::int))
        .flatten()
        .map(|after| Cursor::Key { after, descending }.token());
    Ok(Page {
        records: records(rows, scope),
        total: run.total.filter(|_| after.is_none()),
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
    let pages = pages_for(skip + limit);
    let commands: Vec<Command> = (0..pages)
        .map(|i| {
            let mut params = base.clone();
            params["filter"] = Value::Object(filter.clone());
            params["order"] = filters::order_value(order);
            params["start"] = json!(first + (i * PAGE) as u64);
            Command::new(name(i), "crm.item.list", params)
        })
        .collect();
    let run = run_pages(client, cx, &commands).await?;
    let mut rows = run.rows;
    rows.drain(..skip.min(rows.len()));
    let more = rows.len() > limit || run.more;
    rows.truncate(limit);
    let next =
        (more && !rows.is_empty()).then(|| Cursor::Offset(offset + rows.len() as u64).token());
    Ok(Page {
        records: records(rows, scope),
        total: run.total,
        next_cursor: next,
    })
}

/// The rows of a run of list pages.
struct Run {
    /// Every row, in page order, up to the first short page.
    rows: Vec<Value>,
    /// The first page's `total`, when it counted.
    total: Option<u64>,
    /// Whether the portal has rows after the last page read: the last page was full and its
    /// answer carried `next` (a page that did not count is taken as full = more).
    more: bool,
}

fn short(result: &Value) -> bool {
    result.get("items").map_or(0, |items| match items {
        Value::Array(a) => a.len(),
        Value::Object(m) => m.len(),
        _ => 0,
    }) < PAGE
}

/// Run list commands (one call, or one batch) and gather their rows in order, stopping at the
/// first short page. `has_more` comes from the portal's own `next` on the last page (never
/// from reading a row more than asked).
async fn run_pages(client: &Client, cx: &CallContext, commands: &[Command]) -> Result<Run> {
    let counted = |c: &Command| c.params.get("start").and_then(wire::int) != Some(-1);
    if let [only] = commands
        && only.references.is_empty()
    {
        let env = client
            .call(cx, &only.method, only.params.clone(), Access::Read)
            .await?;
        let rows = wire::items(env.result);
        let full = rows.len() >= PAGE;
        return Ok(Run {
            total: env.total.filter(|_| counted(only)).map(|t| t.max(0) as u64),
            more: full && (env.next.is_some() || !counted(only)),
            rows,
        });
    }
    let mut out = client
        .batch_until(cx, commands, Access::Read, short)
        .await?;
    let first = &commands[0];
    let total = out
        .totals
        .get(&first.name)
        .copied()
        .filter(|_| counted(first))
        .map(|t| t.max(0) as u64);
    let mut rows = Vec::with_capacity(commands.len() * PAGE);
    for (i, c) in commands.iter().enumerate() {
        let items = wire::items(out.take(&c.name, &c.method)?);
        let full = items.len() >= PAGE;
        rows.extend(items);
        if !full || i + 1 == commands.len() {
            let more = full && (out.nexts.contains_key(&c.name) || !counted(c));
            return Ok(Run { rows, total, more });
        }
    }
    Ok(Run {
        rows,
        total,
        more: false,
    })
}

fn records(rows: Vec<Value>, scope: &Scope<'_>) -> Vec<Record> {
    rows.into_iter()
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
            match client
                .exchange(cx, "crm.item.get", &params, Access::Read)
                .await?
            {
                Ok(env) => Ok(item_of(env.result)
                    .map(|item| vec![to_record(item, meta, scope.dicts, scope.portal)])
                    .unwrap_or_default()),
                // only the portal's "no such item" is an absent record; a missing method, a
                // denial or anything else is reported as what it is
                Err(e) if e.is_not_found() => Ok(Vec::new()),
                Err(e) => Err(e.to_error("crm.item.get")),
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
            let rows = if let [only] = commands.as_slice() {
                run_pages(client, cx, std::slice::from_ref(only))
                    .await?
                    .rows
            } else {
                let mut out = client.batch(cx, &commands, Access::Read).await?;
                let mut rows = Vec::with_capacity(numeric.len());
                for c in &commands {
                    rows.extend(wire::items(out.take(&c.name, &c.method)?));
                }
                rows
            };
            Ok(records(rows, scope))
        }
    }
}

/// The `item` of a `crm.item.get/add/update` result, moved out.
pub fn item_of(result: Value) -> Option<Value> {
    match result {
        Value::Object(mut map) => map.remove("item"),
        _ => None,
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
        assert_eq!(pages_for(50), 1, "a 50-row page is one list command");
        assert_eq!(pages_for(51), 2);
        assert_eq!(pages_for(2500), 50);
        assert_eq!(pages_for(2501), 50);
    }
}
