//! crmgate-atomic: the Atomic CRM backend (Supabase), and its sandbox.
//!
//! Atomic CRM keeps everything in Supabase's PostgreSQL: companies, contacts, deals, tasks,
//! notes, tags and the CRM's users (`sales`), shared by every signed-in user through
//! row-level security. crmgate reaches it in one of two ways, chosen in config:
//!
//! - **postgres**: a direct connection as a login role that can only become `authenticated`;
//!   every database operation is one transaction that sets the role and the verified claims,
//!   so `auth.uid()` and RLS apply exactly as in the app. This transport also offers
//!   crm_query (one read-only SELECT, under the caller's RLS).
//! - **postgrest**: Supabase's Data API (`/rest/v1`) with the project's API key and the user's
//!   bearer token.
//!
//! # Layout
//! - [`config`]: the configuration ([`AtomicConfig`]), validated without I/O.
//! - [`jwt`]: [`JwtVerifier`] — Supabase access tokens checked against the project's JWKS or an
//!   HS256 secret; also used by the hosted HTTP layer.
//! - `identity`: who a call acts for (bearer, configured token, or email + password sign-in).
//! - [`model`]: the built-in description of Atomic CRM (entities, fields, links, allowed values).
//! - `describe`: schemas — the model reconciled with the live catalog and `configuration` row.
//! - `filters`: canonical filters → the store's condition tree. [`sql_guard`]: crm_query's guard,
//!   decided on PostgreSQL's own parse tree. `errors`: database / PostgREST errors → crmgate
//!   errors. `map`: rows ⇄ records (pure).
//! - `store`: the two transports behind one interface (`store::pg`, one round trip per call;
//!   `store::rest`).
//! - `backend`: the thin `Backend` impl; `records`, `relations`, `notes`: the operations.
//! - [`sandbox`]: an in-process fake of Supabase's Data API and Auth, with state, faults and a
//!   request log. [`testkit`]: a throw-away PostgreSQL database with the Atomic schema.
//! - `timefmt`: timestamps as PostgreSQL renders them.

pub mod config;
pub mod jwt;
pub mod model;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod sql_guard;
pub mod testkit;

mod backend;
mod describe;
mod errors;
mod filters;
mod identity;
mod map;
mod notes;
#[cfg(test)]
mod properties;
mod records;
mod relations;

mod store;
mod timefmt;

pub use backend::AtomicBackend;
pub use config::{AtomicConfig, Credential, Transport, Verification};
pub use jwt::{Claims, JwtVerifier};
