//! crmgate-core: the contract between the crmgate gateway and the CRMs behind it.
//!
//! # Layout
//! - [`backend`]: the `Backend` trait every CRM implements, and the caller's [`CallContext`].
//! - [`model`], [`schema`], [`filter`]: the common model — entities, records, fields, filters.
//! - [`error`]: the one error type, with stable codes.
//! - [`validate`]: write validation against a schema, before any upstream call.
//! - [`config`]: what a vendor crate needs to own its config section (typed keys, secrets
//!   read from the environment and never echoed).
//! - [`confirm`]: HMAC confirm tokens for deletes and destructive actions.
//! - [`journal`]: the change journal's data model and storage contract (stores: `crmgate-journal`).
//! - [`raw`]: raw vendor methods (crm_call) as typed values parsed by each vendor's grammar.
//! - [`gateway`]: the transport-agnostic operations behind every tool (resolution, projection,
//!   truncation, limit caps, cursors, validation, confirmation).
//! - [`upstream`]: the shared HTTP layer (reqwest + rate budgets divided among callers +
//!   in-flight caps + retry + size cap).
//! - [`base_url`]: one parser and normaliser for configured CRM URLs.
//! - [`time`], [`text`]: dates and times (civil arithmetic, a strict ISO 8601 parser), "did
//!   you mean" and truncation — shared by every crate instead of copies.
//! - [`cache`]: the shared metadata cache (moka), scoped by backend instance and caller.
//! - [`meta`]: per-call accounting reported in `_meta`.
//! - [`deadline`]: one deadline per tool call, honoured by every upstream attempt and wait.
//! - `conformance` (feature `conformance`): the suite every backend must pass.
//! - `testkit` (feature `testkit`, implied by `conformance`): the gateway and upstream set-up
//!   shared by backend tests.
//! - `arb` (feature `arb`): proptest strategies for hostile inputs, for property tests.

pub mod backend;
pub mod base_url;
pub mod cache;
pub mod config;
pub mod confirm;
pub mod cursor;
pub mod deadline;
pub mod error;
pub mod filter;
pub mod gateway;
pub mod journal;
pub mod meta;
pub mod model;
pub mod raw;
pub mod schema;
pub mod text;
pub mod time;
pub mod upstream;
pub mod validate;

#[cfg(feature = "conformance")]
pub mod conformance;

#[cfg(feature = "arb")]
pub mod arb;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use backend::{Backend, CallContext, Identity};
/// Lower-case hex of bytes (digests, fingerprints).
pub use crmgate_shared::hex;
pub use error::{Error, ErrorCode, Result};
