//! crmgate-bitrix24: the Bitrix24 backend (REST, `crm.item.*`), and its sandbox.
//!
//! # Layout
//! - [`config`]: portal and credential (inbound webhook URL, or OAuth token with refresh).
//! - [`client`]: auth and requests through the shared upstream layer; `batch`; the local
//!   `OPERATION_TIME_LIMIT` block.
//! - [`batch`]: batch commands as values — literal data apart from deliberate `$result[…]`
//!   references, so that no value an agent sends is ever substituted by the portal.
//! - [`error`]: Bitrix24 errors → crmgate errors (pure).
//! - [`wire`], [`php`]: Bitrix's loose JSON (numbers as strings, `[]` for empty maps) and
//!   PHP bracket encoding for batch commands (pure).
//! - [`map`]: pure mappers — entity types, dictionaries, `crm.item.fields` → schema,
//!   items ⇄ records with labels, timeline comments.
//! - [`filters`]: canonical filters and sort → Bitrix prefix-operator filters and `order`.
//! - [`describe`]: the catalog (dictionaries + schemas) in the shared metadata cache.
//! - [`paging`]: search and get over fixed 50-row pages (keyset, offset, batch).
//! - [`links`], [`timeline`]: related records, deal ↔ contact links, notes and comments.
//! - [`raw`]: crm_call — the grammar of a method name, its class, the record a delete acts on.
//! - [`backend`]: the thin `Backend` impl.
//! - [`sandbox`]: an in-process fake Bitrix24 portal (axum) with state, faults and a request
//!   log.

pub mod backend;
pub mod batch;
pub mod client;
pub mod config;
pub mod describe;
pub mod error;
pub mod filters;
pub mod links;
pub mod map;
pub mod paging;
pub mod php;
pub mod raw;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod timeline;
pub mod wire;

pub use backend::Bitrix24Backend;
pub use config::{Bitrix24Config, Credential, Refresh};
