//! crm_query on the postgres transport, after the guard ([`crate::sql_guard`]) accepted the
//! statement and restated it. One batch, one round trip:
//!
//! 1. a READ ONLY transaction acting as the caller (`authenticated`, their claims, the
//!    statement timeout) with `search_path` pinned to `pg_catalog`;
//! 2. the statement alone, described with the extended protocol (which cannot hold several
//!    statements): its column names;
//! 3. the statement wrapped (`from (<statement>) as i limit n+1`) so that every row comes
//!    back as one JSON array, at most one row more than the cap is read, and bytes are capped
//!    on the server — a huge value never crosses the wire (see [`wrap`]);
//! 4. the session checked again: still `authenticated`, same claims, still read-only — a
//!    statement that changed any of them has its result discarded;
//! 5. `ROLLBACK`, then session advisory locks released (they survive a rollback).
//!
//! Rows beyond `limit` or past the byte cap are dropped and `truncated` is set; a cell larger
//! than the cap is replaced by `{"crmgate_omitted": {"column", "bytes", "max_bytes"}}`.

use super::pipeline::{Out, Step, command, in_order};
use super::{Acting, PgStore, Session, driver_error, prepared, typed};
use crate::errors::Context;
use crate::store::Caller;
use crmgate_core::model::SqlResult;
use crmgate_core::{Error, Result};
use futures::FutureExt;
use serde_json::Value;
use tokio_postgres::Client;

/// The session as the statement left it.
const STATE_SQL: &str = "select current_user::text, \
     pg_catalog.current_setting('request.jwt.claims', true), \
     pg_catalog.current_setting('request.jwt.claim.sub', true), \
     pg_catalog.current_setting('transaction_read_only')";

/// Run one statement that passed the guard.
pub(super) async fn run(
    store: &PgStore,
    caller: &Caller,
    statement: &str,
    limit: usize,
) -> Result<SqlResult> {
    let client = store.client(caller).await?;
    let (acting, state) = futures::try_join!(
        store.acting(&client, caller, Session::Query),
        client
            .prepare_cached(STATE_SQL)
            .map(|r| r.map_err(super::records_error)),
    )?;
    let max_bytes = store.options.query_max_bytes;
    let wrapped = wrap(statement, limit, max_bytes);
    let outcome = execute(
        &client, &acting, &state, statement, &wrapped, caller, limit, max_bytes,
    )
    .await;
    if outcome.released.is_err() {
        // a connection whose session state is unknown never goes back to the pool
        drop(deadpool_postgres::Object::take(client.client));
    }
    outcome.result
}

struct Outcome {
    result: Result<SqlResult>,
    released: std::result::Result<(), ()>,
}

#[allow(clippy::too_many_arguments)]
async fn execute(
    client: &Client,
    acting: &Acting,
    state: &tokio_postgres::Statement,
    statement: &str,
    wrapped: &str,
    caller: &Caller,
    limit: usize,
    max_bytes: usize,
) -> Outcome {
    let described: Step<'_> = client
        .prepare(statement)
        .map(|r| r.map(Out::Described))
        .boxed();
    let steps = vec![
        command(client, "BEGIN READ ONLY"),
        acting.step(client),
        described,
        typed(client, wrapped, Vec::new()),
        prepared(client, state, Vec::new()),
        command(
            client,
            "ROLLBACK; SELECT pg_catalog.pg_advisory_unlock_all()",
        ),
    ];
    let mut answers = in_order(steps).await.into_iter();
    let mut next = || answers.next().unwrap_or(Ok(Out::Done));
    let (begin, session, described, wrapped_rows, after, end) =
        (next(), next(), next(), next(), next(), next());
    let released = end.as_ref().map(|_| ()).map_err(|_| ());
    let own = |e| driver_error(e, Context::Query);
    let result = (|| {
        begin.map_err(super::records_error)?;
        session.map_err(super::records_error)?;
        let columns: Vec<String> = match described.map_err(own)? {
            Out::Described(s) => s.columns().iter().map(|c| c.name().to_owned()).collect(),
            _ => Vec::new(),
        };
        let rows = wrapped_rows.map_err(own)?.rows();
        if columns.is_empty() {
            return Err(Error::validation(
                "the statement returns no columns",
                "select the columns you want to see",
            ));
        }
        check_session(after.map_err(own)?.rows(), caller)?;
        collect(columns, rows, limit, max_bytes)
    })();
    Outcome { result, released }
}

/// The session after the statement is still the caller's, read-only.
fn check_session(state: Vec<tokio_postgres::Row>, caller: &Caller) -> Result<()> {
    let own = |e| driver_error(e, Context::Query);
    let row = state
        .first()
        .ok_or_else(|| Error::upstream_protocol("the session check returned no row"))?;
    let user: String = row.try_get(0).map_err(own)?;
    let claims: Option<String> = row.try_get(1).map_err(own)?;
    let sub: Option<String> = row.try_get(2).map_err(own)?;
    let read_only: String = row.try_get(3).map_err(own)?;
    let expected = Value::Object(caller.claims.raw.clone()).to_string();
    if user != "authenticated"
        || claims.as_deref() != Some(expected.as_str())
        || sub.as_deref() != Some(caller.claims.sub.as_str())
        || read_only != "on"
    {
        return Err(Error::not_allowed(
            "the statement changed the session's role, claims or read-only mode; its result was \
             discarded",
            "crm_query runs as you, under your row-level security; select the data directly",
        ));
    }
    Ok(())
}

/// The wrapped rows as the result: at most `limit` rows, the first always, later ones while
/// the running total stays under `max_bytes`.
fn collect(
    columns: Vec<String>,
    rows: Vec<tokio_postgres::Row>,
    limit: usize,
    max_bytes: usize,
) -> Result<SqlResult> {
    let own = |e| driver_error(e, Context::Query);
    let n = columns.len();
    let mut out = Vec::with_capacity(rows.len().min(limit));
    let mut truncated = rows.len() > limit;
    for (i, row) in rows.into_iter().take(limit).enumerate() {
        let total: i64 = row.try_get(2).map_err(own)?;
        if i > 0 && total > max_bytes as i64 {
            truncated = true;
            break;
        }
        let omitted: Option<bool> = row.try_get(1).map_err(own)?;
        truncated |= omitted.unwrap_or(false);
        let cells: Option<Value> = row.try_get(0).map_err(own)?;
        let mut values = match cells {
            Some(Value::Array(values)) => values,
            _ => Vec::new(),
        };
        values.resize(n, Value::Null);
        out.push(values);
    }
    Ok(SqlResult {
        columns,
        rows: out,
        truncated,
    })
}

/// The statement wrapped so that each row comes back as one JSON array (`row_to_json` keeps
/// the columns' order and duplicate names; `json_each … with ordinality` reads them back in
/// order), at most `limit + 1` rows are read, and bytes are capped on the server:
///
/// - a cell over `max_bytes` is replaced by `{"crmgate_omitted": {"column", "bytes",
///   "max_bytes"}}`, so one huge value names its column instead of emptying the result;
/// - in the first row, when the row as a whole is over `max_bytes`, so is every cell over its
///   share (`max_bytes / columns`): the first row always fits;
/// - rows stop once the running total passes `max_bytes` (the first row past it is sent, and
///   dropped by [`collect`]).
///
/// Columns: the cells (json array), whether a cell was omitted, the running byte total.
fn wrap(statement: &str, limit: usize, max_bytes: usize) -> String {
    format!(
        "select w.cells, w.crmgate_omitted, (w.crmgate_before + w.crmgate_len)::bigint from (\
           select js.cells, js.crmgate_omitted, js.crmgate_len, q.crmgate_n, \
                  pg_catalog.sum(js.crmgate_len) over (order by q.crmgate_n) - js.crmgate_len as crmgate_before \
           from (select pg_catalog.row_to_json(crmgate_i.*) as crmgate_r, \
                        pg_catalog.row_number() over () as crmgate_n \
                 from (\n{statement}\n) as crmgate_i limit {rows}) as q \
           cross join lateral (\
             select pg_catalog.json_agg(c.cell order by c.k) as cells, \
                    pg_catalog.bool_or(c.omit) as crmgate_omitted, \
                    pg_catalog.sum(pg_catalog.octet_length(c.cell::text)) as crmgate_len \
             from (select e.k, e.omit, case when e.omit then pg_catalog.json_build_object(\
                     'crmgate_omitted', pg_catalog.json_build_object(\
                       'column', e.key, 'bytes', e.len, 'max_bytes', {max_bytes})) \
                     else e.value end as cell \
                   from (select x.key, x.value, x.k, x.len, \
                                x.len > {max_bytes} or (q.crmgate_n = 1 \
                                  and pg_catalog.sum(x.len) over () > {max_bytes} \
                                  and x.len > {max_bytes} / pg_catalog.count(*) over ()) as omit \
                         from (select j.key, j.value, j.k, \
                                      pg_catalog.octet_length(j.value::text) as len \
                               from pg_catalog.json_each(q.crmgate_r) with ordinality \
                                    as j(key, value, k)) as x) as e) as c\
           ) as js\
         ) as w where w.crmgate_before <= {max_bytes} order by w.crmgate_n",
        rows = limit.saturating_add(1),
    )
}
