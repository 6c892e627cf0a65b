//! The operations behind the `Backend` methods, one module per concern:
//! [`search`] (sectioned paging over the list envelopes), [`records`] (detail reads),
//! [`refs`] (references BottleCRM would drop silently, checked before a write),
//! [`write`] (create — including finding records BottleCRM creates without answering their
//! id —, update, delete) and [`actions`] (comments, timeline, convert, send, cancel, publish).

pub mod actions;
pub mod records;
pub mod refs;
pub mod search;
pub mod write;

use crate::client::Client;
use crate::entities::Entity;
use crate::ids;
use crate::map::error::Context;
use crmgate_core::{CallContext, Error, Result};

/// What every operation needs: the client, the caller, and where deep links point.
#[derive(Clone, Copy)]
pub struct Api<'a> {
    /// The HTTP client.
    pub client: &'a Client,
    /// The caller.
    pub cx: &'a CallContext,
    /// The BottleCRM web app, for deep links.
    pub app_url: Option<&'a str>,
}

/// The canonical form of a record id, or `VALIDATION` before anything is sent (BottleCRM
/// answers an id it cannot parse with an HTML 404 page).
pub fn record_id(entity: Entity, id: &str) -> Result<String> {
    ids::canonical(id).ok_or_else(|| {
        Error::validation(
            format!("{id:?} is not a BottleCRM {} id", entity.spec().name),
            "BottleCRM ids are UUIDs like 5f0c2a8e-8a3d-4e0b-9d7e-1b2c3d4e5f60; find the record \
             with crm_search",
        )
    })
}

/// The detail path of a record.
pub fn detail_path(entity: Entity, id: &str) -> String {
    format!("{}{id}/", entity.spec().path)
}

/// Error context for a request about one record.
pub fn about<'a>(entity: Entity, id: Option<&'a str>) -> Context<'a> {
    Context {
        entity: Some(entity),
        id,
        method: "",
    }
}
