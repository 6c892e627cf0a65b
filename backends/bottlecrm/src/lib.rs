//! crmgate-bottlecrm: BottleCRM (MicroPyramid/Django-CRM REST API) behind crmgate's common
//! tool surface, and a sandbox that behaves like the recorded BottleCRM.
//!
//! # Layout
//! - [`config`]: the backend's settings (API URL, personal access token, web app URL).
//! - [`entities`]: the eight entities and their irregular routes, as one table; capabilities,
//!   actions and notes for crm_entities.
//! - [`ids`]: UUID checks (BottleCRM answers a bad id with an HTML 404 page).
//! - [`client`]: authenticated requests through `crmgate_core::upstream`.
//! - [`map`]: pure vendor JSON ⇄ model functions (list envelopes, records, errors, comments,
//!   write answers), tested on the recorded fixtures.
//! - [`filters`]: canonical filters → list query parameters, per field; refusals naming what
//!   works.
//! - [`describe`]: field descriptions from the OpenAPI request bodies, corrected by the facts,
//!   cached once per instance; static tables when a scoped token is refused `/schema/`.
//! - [`ops`]: search (sectioned paging), reads, writes (finding records created without an
//!   id), comments, timeline, actions.
//! - [`preview`]: known outcomes of a pending write (assignees emailed, a lead already
//!   converted), for the gateway's previews.
//! - [`backend`]: the thin `Backend` impl.
//! - [`sandbox`]: an axum fake of BottleCRM with state: two organisations, ADMIN and USER
//!   tokens, scoped, revoked and expired tokens, every envelope and error shape, fault
//!   injection and a request log.

pub mod backend;
pub mod client;
pub mod config;
pub mod describe;
pub mod entities;
pub mod filters;
pub mod ids;
pub mod map;
pub mod ops;
pub mod preview;
#[cfg(feature = "sandbox")]
pub mod sandbox;

pub use backend::BottleCrmBackend;
pub use config::BottleConfig;
