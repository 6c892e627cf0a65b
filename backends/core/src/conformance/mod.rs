//! The conformance suite: the same behaviours checked against every backend and its sandbox.
//!
//! A backend's test builds a [`Gateway`] over it (at the destructive tier) and a [`Fixture`]
//! naming an entity it may write to, then calls [`run`]. Checks discover the rest from
//! `entities()` and `describe()`: every operator the backend claims must work and give only
//! matching records; every operator it does not claim must be refused with
//! `UNSUPPORTED_FILTER`; per field, the operators a field does not run and the sorts it does not
//! support must be refused before any request leaves, and the entity's operators must be the
//! union of its fields'; pagination must reach the end with no duplicates or gaps; writes must
//! be validated, read-only and create-only fields enforced; deletes must go through the
//! confirm-token flow, bound to the caller; missing records must be `NOT_FOUND`. Every failed
//! check is reported, not just the first.

use crate::gateway::*;
use crate::model::{EntityInfo, Fields};
use crate::schema::EntitySchema;
use crate::{CallContext, ErrorCode};
use reads::*;
use std::future::Future;
use writes::*;

/// What the suite needs to know about a backend's data.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// An entity the suite may create, update and delete records in.
    pub write_entity: String,
    /// Valid data for creating a record there.
    pub create: Fields,
    /// A valid patch for that record.
    pub update: Fields,
    /// An entity with enough records to page through (more than `page_size`).
    pub paging_entity: String,
    /// Page size for the paging check.
    pub page_size: i64,
    /// A link to exercise: on `write_entity`, the link name and an existing target id.
    pub link: Option<(String, String)>,
    /// An id that exists in no entity.
    pub missing_id: String,
}

/// Outcome of a run: the checks that passed.
#[derive(Debug, Default)]
pub struct Report {
    /// Names of passed checks.
    pub passed: Vec<String>,
}

type Check = std::result::Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

mod reads;
mod writes;

/// Run every check; panics with the list of failures if any failed.
pub async fn run(gateway: &Gateway, fixture: &Fixture) -> Report {
    let cx = CallContext::configured();
    let mut report = Report::default();
    let mut failures = Vec::new();
    let mut record = |name: &str, outcome: Check| match outcome {
        Ok(()) => report.passed.push(name.to_owned()),
        Err(message) => failures.push(format!("{name}: {message}")),
    };
    record("entities_and_names", entities_and_names(gateway, &cx).await);
    record(
        "describe_every_entity",
        describe_every_entity(gateway, &cx).await,
    );
    record(
        "claimed_operators_work",
        claimed_operators_work(gateway, &cx, fixture).await,
    );
    record(
        "unclaimed_operators_refused",
        unclaimed_operators_refused(gateway, &cx, fixture).await,
    );
    record(
        "per_field_capabilities",
        per_field_capabilities(gateway, &cx, fixture).await,
    );
    record(
        "pagination_to_the_end",
        pagination_to_the_end(gateway, &cx, fixture).await,
    );
    record(
        "limit_cap_reported",
        limit_cap_reported(gateway, &cx, fixture).await,
    );
    record(
        "bad_inputs_refused",
        bad_inputs_refused(gateway, &cx, fixture).await,
    );
    record(
        "validation_before_write",
        validation_before_write(gateway, &cx, fixture).await,
    );
    record(
        "field_access_enforced",
        field_access_enforced(gateway, &cx, fixture).await,
    );
    record(
        "write_lifecycle",
        write_lifecycle(gateway, &cx, fixture).await,
    );
    record("not_found", not_found(gateway, &cx, fixture).await);
    assert!(
        failures.is_empty(),
        "conformance failures:\n  {}",
        failures.join("\n  ")
    );
    report
}

async fn expect_code<T, F>(call: F, code: ErrorCode, what: &str) -> Check
where
    F: Future<Output = crate::Result<T>>,
{
    match call.await {
        Ok(_) => Err(format!("{what}: expected {code}, got success")),
        Err(e) if e.code == code => {
            ensure!(
                !e.suggestion.is_empty(),
                "{what}: {code} without a suggestion"
            );
            Ok(())
        }
        Err(e) => Err(format!("{what}: expected {code}, got {e}")),
    }
}

fn ok<T>(what: &str, result: crate::Result<T>) -> std::result::Result<T, String> {
    result.map_err(|e| format!("{what}: {e} ({})", e.suggestion))
}

async fn entity_and_schema(
    gateway: &Gateway,
    cx: &CallContext,
    name: &str,
) -> std::result::Result<(std::sync::Arc<EntityInfo>, std::sync::Arc<EntitySchema>), String> {
    let entity = ok("resolve", gateway.resolve(cx, name).await)?;
    let schema = ok("describe", gateway.describe(cx, name).await)?;
    Ok((entity, schema))
}
