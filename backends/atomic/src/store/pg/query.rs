//! crm_query on the postgres transport. After the lexical guard ([`crate::sql_guard`]):
//!
//! 1. a READ ONLY transaction acting as the caller (`authenticated`, their claims, the
//!    statement timeout);
//! 2. the statement alone is prepared with the extended protocol, which cannot hold several
//!    statements, and which reports its columns;
//! 3. it runs wrapped (`from (<statement>) as q(c1, …) limit n+1`) so that every type comes back
//!    as JSON, at most one row more than the cap is read, and rows stop at the byte cap on the
//!    server — a huge value never crosses the wire;
//! 4. the session is checked again: still `authenticated`, same claims, still read-only — a
//!    statement that changed any of them has its result discarded;
//! 5. the transaction is rolled back, and session-level advisory locks released.
//!
//! Rows beyond `limit` or past the byte cap are dropped and `truncated` is set.

use super::{PgStore, driver_error};
use crate::errors::Context;
use crate::store::Caller;
use crmgate_core::model::SqlResult;
use crmgate_core::{Error, Result};
use serde_json::Value;

/// Run one statement that passed the guard.
pub(super) async fn run(
    store: &PgStore,
    caller: &Caller,
    statement: &str,
    limit: usize,
) -> Result<SqlResult> {
    let mut client = store.client().await?;
    let outcome = execute(store, &mut client, caller, statement, limit).await;
    // session advisory locks survive ROLLBACK; never hand such a connection back to the pool
    if client
        .execute("select pg_advisory_unlock_all()", &[])
        .await
        .is_err()
    {
        drop(deadpool_postgres::Object::take(client));
    }
    outcome
}

async fn execute(
    store: &PgStore,
    client: &mut deadpool_postgres::Object,
    caller: &Caller,
    statement: &str,
    limit: usize,
) -> Result<SqlResult> {
    let tx = store.begin(client, caller, true).await?;
    let own = |e| driver_error(e, Context::Query);
    let prepared = tx.prepare(statement).await.map_err(own)?;
    let columns: Vec<String> = prepared
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    if columns.is_empty() {
        return Err(Error::validation(
            "the statement returns no columns",
            "select the columns you want to see",
        ));
    }
    let wrapped = wrap(
        statement,
        columns.len(),
        limit,
        store.options.query_max_bytes,
    );
    let rows = tx.query(&wrapped, &[]).await.map_err(own)?;
    let state = tx
        .query_one(
            "select current_user::text, current_setting('request.jwt.claims', true), \
                    current_setting('request.jwt.claim.sub', true), \
                    current_setting('transaction_read_only')",
            &[],
        )
        .await
        .map_err(own)?;
    let user: String = state.try_get(0).map_err(own)?;
    let claims: Option<String> = state.try_get(1).map_err(own)?;
    let sub: Option<String> = state.try_get(2).map_err(own)?;
    let read_only: String = state.try_get(3).map_err(own)?;
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
    tx.rollback().await.map_err(own)?;
    let n = columns.len();
    let mut out = Vec::with_capacity(rows.len().min(limit));
    let mut truncated = rows.len() > limit;
    for row in rows.into_iter().take(limit) {
        let total: i64 = row.try_get(n).map_err(own)?;
        if total > store.options.query_max_bytes as i64 {
            truncated = true;
            break;
        }
        let mut values = Vec::with_capacity(n);
        for i in 0..n {
            let value: Option<Value> = row.try_get(i).map_err(own)?;
            values.push(value.unwrap_or(Value::Null));
        }
        out.push(values);
    }
    Ok(SqlResult {
        columns,
        rows: out,
        truncated,
    })
}

/// The statement wrapped so that every value comes back as JSON, at most `limit + 1` rows are
/// read, and rows stop once their JSON passes `max_bytes` (the first row past the cap is sent
/// with over-large cells replaced by their size, so nothing big crosses the wire). The last
/// column is the running byte total.
fn wrap(statement: &str, n: usize, limit: usize, max_bytes: usize) -> String {
    let inputs: Vec<String> = (1..=n).map(|i| format!("c{i}")).collect();
    let raw: Vec<String> = (1..=n)
        .map(|i| format!("to_json(q.c{i}) as v{i}"))
        .collect();
    let cells: Vec<String> = (1..=n)
        .map(|i| {
            format!(
                "case when octet_length(v.v{i}::text) > {max_bytes} \
                 then json_build_object('crmgate_too_large_bytes', octet_length(v.v{i}::text)) \
                 else v.v{i} end as j{i}"
            )
        })
        .collect();
    let lengths: Vec<String> = (1..=n)
        .map(|i| format!("coalesce(octet_length(v.v{i}::text), 4)"))
        .collect();
    let outputs: Vec<String> = (1..=n).map(|i| format!("w.j{i}")).collect();
    format!(
        "select {outputs}, (w.crmgate_before + w.crmgate_len)::bigint from (\
           select js.*, q.crmgate_n, \
                  sum(js.crmgate_len) over (order by q.crmgate_n) - js.crmgate_len as crmgate_before \
           from (select crmgate_i.*, row_number() over () as crmgate_n from (\n{statement}\n) \
                 as crmgate_i({inputs}) limit {rows}) as q \
           cross join lateral (select {cells}, {lengths} as crmgate_len \
                               from (select {raw}) as v) as js\
         ) as w where w.crmgate_before <= {max_bytes} order by w.crmgate_n",
        outputs = outputs.join(", "),
        inputs = inputs.join(", "),
        rows = limit.saturating_add(1),
        cells = cells.join(", "),
        lengths = lengths.join(" + "),
        raw = raw.join(", "),
    )
}
