//! Reading records by id: `GET {path}{id}/`, the record inside its detail wrapper.

use super::{Api, about, detail_path, record_id};
use crate::client::Call;
use crate::entities::Entity;
use crate::map::record;
use crmgate_core::model::Record;
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

/// One record, or `None` when BottleCRM says it does not exist (or belongs to another
/// organisation, which BottleCRM answers the same way).
pub async fn one(api: Api<'_>, entity: Entity, id: &str) -> Result<Option<Record>> {
    let canonical = record_id(entity, id)?;
    match detail(api, entity, &canonical).await {
        Ok(body) => {
            let mut rec =
                record::to_record(entity, record::detail_object(entity, &body)?, api.app_url)?;
            // the caller matches results by the id it sent (any UUID spelling)
            rec.id = id.to_owned();
            Ok(Some(rec))
        }
        Err(e) if e.code == ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Several records by id; the missing ones are absent. Ids are checked before any request.
/// Asked for one record, a refusal is `PERMISSION_DENIED`; asked for several, a record the
/// caller may not open is reported missing with the others ("not found or not visible").
pub async fn many(api: Api<'_>, entity: Entity, ids: &[String]) -> Result<Vec<Record>> {
    for id in ids {
        record_id(entity, id)?;
    }
    let several = ids.len() > 1;
    let found: Vec<Option<Record>> = stream::iter(ids.iter().cloned().map(|id| async move {
        match one(api, entity, &id).await {
            Err(e) if several && e.code == ErrorCode::PermissionDenied => Ok(None),
            other => other,
        }
    }))
    .buffered(PARALLEL_READS)
    .try_collect()
    .await?;
    Ok(found.into_iter().flatten().collect())
}
