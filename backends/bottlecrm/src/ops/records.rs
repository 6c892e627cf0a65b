//! Reading records by id: `GET {path}{id}/`, the record inside its detail wrapper.

use super::{Api, about, detail_path, record_id};
use crate::client::Call;
use crate::entities::Entity;
use crate::map::record;
use crmgate_core::model::{Fetched, Record};
use crmgate_core::{ErrorCode, Result};
use futures::stream::{self, StreamExt, TryStreamExt};
use reqwest::Method;
use serde_json::Value;

/// Detail reads in flight at once for a crm_get of several ids.
const PARALLEL_READS: usize = 4;

/// The whole detail answer of one record (record, comments, catalogues, …). `id` must be
/// canonical.
pub async fn detail(api: Api<'_>, entity: Entity, id: &str) -> Result<Value> {
    let call = Call::new(
        Method::GET,
        detail_path(entity, id),
        about(entity, Some(id)),
    );
    api.client.send(api.cx, call).await
}

/// One record (its id canonical), or `None` when BottleCRM says it does not exist (or belongs
/// to another organisation, which BottleCRM answers the same way).
pub async fn one(api: Api<'_>, entity: Entity, id: &str) -> Result<Option<Record>> {
    let canonical = record_id(entity, id)?;
    let call = Call::new(
        Method::GET,
        detail_path(entity, &canonical),
        about(entity, Some(&canonical)),
    );
    match api.client.send_raw(api.cx, call).await {
        Ok(answer) => Ok(Some(record::detail(entity, &answer.body, api.app_url)?)),
        Err(e) if e.code == ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Ids in canonical form, each once, in the order first given; `VALIDATION` before any
/// request for an id that is not a UUID.
pub fn unique_ids(entity: Entity, ids: &[String]) -> Result<Vec<String>> {
    let mut unique: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        let id = record_id(entity, id)?;
        if !unique.contains(&id) {
            unique.push(id);
        }
    }
    Ok(unique)
}

/// Several records by id, each read once: the found ones, and the ids BottleCRM refused this
/// caller (a USER-role token opening another user's record). Missing ids are in neither.
pub async fn fetch(api: Api<'_>, entity: Entity, ids: &[String]) -> Result<Fetched> {
    let unique = unique_ids(entity, ids)?;
    let read: Vec<(String, Option<Record>, bool)> =
        stream::iter(unique.into_iter().map(|id| async move {
            match one(api, entity, &id).await {
                Ok(found) => Ok((id, found, false)),
                Err(e) if e.code == ErrorCode::PermissionDenied => Ok((id, None, true)),
                Err(e) => Err(e),
            }
        }))
        .buffered(PARALLEL_READS)
        .try_collect()
        .await?;
    let mut out = Fetched::default();
    for (id, found, denied) in read {
        match found {
            Some(record) => out.records.push(record),
            None if denied => out.denied.push(id),
            None => {}
        }
    }
    Ok(out)
}

/// Records by id, for [`crmgate_core::Backend::get`]: missing ones are absent. Asked for one
/// record, a refusal is `PERMISSION_DENIED`; asked for several, a refused record is absent
/// (batch reads go through [`fetch`], which reports it).
pub async fn many(api: Api<'_>, entity: Entity, ids: &[String]) -> Result<Vec<Record>> {
    let unique = unique_ids(entity, ids)?;
    if let [id] = unique.as_slice() {
        return Ok(one(api, entity, id).await?.into_iter().collect());
    }
    Ok(fetch(api, entity, &unique).await?.records)
}
