//! crmgate-espocrm: the EspoCRM backend of crmgate, and a faithful in-process EspoCRM sandbox.
//!
//! # Layout
//! - [`config`]: the site URL and the configured identity ([`Auth`]: API key, HMAC, or
//!   username/password); `email_from`.
//! - [`auth`]: EspoCRM's request signatures (HMAC over `METHOD /path`, `Espo-Authorization`).
//! - [`client`]: requests under `/api/v1` through the shared upstream layer, signed per caller
//!   (hosted mode: the caller's bearer token as an API key).
//! - [`errors`]: EspoCRM error answers (status, `X-Status-Reason`, body) → crmgate errors.
//! - [`map`]: pure mappers, EspoCRM JSON ⇄ model (records, pages, duplicates, stream notes).
//! - [`filters`]: the canonical filter → EspoCRM `where` items (all 13 operators native).
//! - [`describe`]: schemas from `entityDefs` + `I18n` (pure); [`scopes`]: entity types and
//!   permissions from `scopes` + the user's ACL table (pure).
//! - [`metadata`]: loads and caches both, per caller.
//! - [`list`]: offset paging, ≤ 200 per request, `X-No-Total` when no count is needed.
//! - [`email`]: draft bodies (always `status: Draft`) and template results (pure); `drafts`:
//!   the From address, template lookup and `prepare`, the `POST Email`.
//! - `actions`: timeline, link/unlink, notes, the stage move.
//! - [`raw`]: crm_call — the `METHOD:/Path` grammar, its class, the record a delete acts on.
//! - [`backend`]: the thin `Backend` impl (restore of soft-deleted records for administrators).
//! - [`sandbox`]: the axum fake of EspoCRM 9.1.7 (auth incl. HMAC, metadata, where[], paging,
//!   ACL, duplicates, validation, links, stream, notes, drafts, kanban, fault injection).
//! - [`ids`]: the grammar of an EspoCRM record id, checked before an id reaches a path.
//! - [`versions`]: the `versionNumber` each caller last saw, sent back with an update
//!   (optimistic concurrency: a change made since is `CONFLICT`, nothing written).
//! - [`time`], [`names`]: datetime forms; canonical entity names.

mod actions;
pub mod auth;
pub mod backend;
pub mod client;
pub mod config;
pub mod describe;
mod drafts;
pub mod email;
pub mod errors;
pub mod filters;
pub mod ids;
pub mod list;
pub mod map;
pub mod metadata;
pub mod names;
pub mod raw;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod scopes;
pub mod time;
pub mod versions;

pub use backend::EspoBackend;
pub use config::{Auth, EspoConfig};
