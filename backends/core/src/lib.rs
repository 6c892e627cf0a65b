//! crmgate-core: the contract between the crmgate gateway and the CRMs behind it.
//!
//! # Layout
//! - [`backend`]: the `Backend` trait every CRM implements, and the caller's [`CallContext`].
//! - [`model`], [`schema`], [`filter`]: the common model — entities, records, fields, filters.
//! - [`error`]: the one error type, with stable codes.
//! - [`validate`]: write validation against a schema, before any upstream call.
//! - [`confirm`]: HMAC confirm tokens for deletes and destructive actions.
//! - [`journal`]: the change journal's data model and storage contract (stores: `crmgate-journal`).
//! - [`raw`]: raw vendor methods (crm_call) as typed values parsed by each vendor's grammar.
//! - [`gateway`]: the transport-agnostic operations behind every tool (resolution, projection,
//!   truncation, limit caps, cursors, validation, confirmation).
//! - [`upstream`]: the shared HTTP layer (reqwest + governor + retry + size cap).
//! - [`cache`]: the shared metadata cache (moka), scoped by backend instance and caller.
//! - [`meta`]: per-call accounting reported in `_meta`.
//! - `conformance` (feature `conformance`): the suite every backend must pass.

pub mod backend;
pub mod cache;
pub mod confirm;
pub mod cursor;
pub mod error;
pub mod filter;
pub mod gateway;
pub mod journal;
pub mod meta;
pub mod model;
pub mod raw;
pub mod schema;
pub mod text;
pub mod upstream;
pub mod validate;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use backend::{Backend, CallContext, Identity};
pub use error::{Error, ErrorCode, Result};
