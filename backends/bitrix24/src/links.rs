//! Related records and deal ↔ contact links.
//!
//! - `deals.contacts`: `crm.deal.contact.items.get` (legacy: `crm.item` has no link methods),
//!   then the contacts by id; linked with `crm.deal.contact.add` / `.delete`, which change one
//!   link and keep the others (`.items.set` would replace the set).
//! - `deals.company`, `contacts.company`: one `batch` — the record, then the company through a
//!   `$result[o][item][companyId]` reference.
//! - `companies.contacts`, `companies.deals`: a search on `companyId`.

use crate::client::{Access, Client, Command, Reference};
use crate::map::record::to_record;
use crate::paging::{self, Scope};
use crmgate_core::filter::{Condition, Filter, FilterOp};
use crmgate_core::model::{EntityInfo, FieldSelection, Page, PageRequest, SearchRequest};
use crmgate_core::schema::LinkSchema;
use crmgate_core::{CallContext, Error, ErrorCode, Result};
use serde_json::{Value, json};
use std::sync::Arc;

/// The target side of a link: its scope and entity info.
pub struct Target<'a> {
    /// Entity of the far side (shared with the catalogue).
    pub entity: &'a Arc<EntityInfo>,
    /// Its scope (schema, dictionaries, portal).
    pub scope: Scope<'a>,
}

/// Records on the far side of `link` from record `id` of entity type `etid`.
#[allow(clippy::too_many_arguments)]
pub async fn related(
    client: &Client,
    cx: &CallContext,
    etid: i64,
    id: &str,
    link: &LinkSchema,
    target: &Target<'_>,
    fields: &FieldSelection,
    page: &PageRequest,
) -> Result<Page> {
    let id_num = parse_id(id)?;
    match (etid, link.name.as_str()) {
        (2, "contacts") => {
            let env = client
                .call(
                    cx,
                    "crm.deal.contact.items.get",
                    json!({"id": id_num}),
                    Access::Read,
                )
                .await?;
            let ids: Vec<String> = crate::wire::list(Some(&env.result))
                .iter()
                .filter_map(|row| row.get("CONTACT_ID").and_then(crate::wire::text))
                .collect();
            let offset = match &page.cursor {
                Some(c) => c.parse::<usize>().map_err(|_| bad_cursor())?,
                None => 0,
            };
            let window: Vec<String> = ids.iter().skip(offset).take(page.limit).cloned().collect();
            let mut records = paging::get(client, cx, &target.scope, &window, fields).await?;
            records.sort_by_key(|r| window.iter().position(|w| *w == r.id));
            let end = offset + window.len();
            Ok(Page {
                records,
                total: Some(ids.len() as u64),
                next_cursor: (end < ids.len()).then(|| end.to_string()),
            })
        }
        (2 | 3, "company") => {
            let commands = [
                Command::new(
                    "o",
                    "crm.item.get",
                    json!({"entityTypeId": etid, "id": id_num}),
                ),
                Command::new(
                    "t",
                    "crm.item.get",
                    json!({"entityTypeId": 4, "useOriginalUfNames": "Y"}),
                )
                .refer(&["id"], Reference::new("o", &["item", "companyId"])),
            ];
            let mut out = client.batch(cx, &commands, Access::Read).await?;
            out.take("o", "crm.item.get")?;
            let records = match out.take("t", "crm.item.get") {
                Ok(result) => crate::paging::item_of(result)
                    .map(|item| {
                        vec![to_record(
                            item,
                            target.scope.meta,
                            target.scope.dicts,
                            target.scope.portal,
                        )]
                    })
                    .unwrap_or_default(),
                Err(e) if e.code == ErrorCode::NotFound => Vec::new(),
                Err(e) => return Err(e),
            };
            Ok(Page {
                total: Some(records.len() as u64),
                records,
                next_cursor: None,
            })
        }
        (4, "contacts" | "deals") => {
            let request = SearchRequest {
                entity: target.entity.clone(),
                schema: target.scope.meta.schema.clone(),
                filter: Filter {
                    all: vec![Condition {
                        field: "companyId".into(),
                        op: FilterOp::Eq,
                        value: Value::String(id_num.to_string()),
                    }],
                    ..Filter::default()
                },
                sort: Vec::new(),
                fields: fields.clone(),
                page: page.clone(),
            };
            paging::search(client, cx, &target.scope, &request).await
        }
        _ => Err(Error::new(
            ErrorCode::NotFound,
            format!("no link {:?} here", link.name),
            "crm_describe lists the links of each entity",
        )),
    }
}

/// Add or remove one contact of a deal.
pub async fn change(
    client: &Client,
    cx: &CallContext,
    etid: i64,
    id: &str,
    link: &LinkSchema,
    target_id: &str,
    add: bool,
) -> Result<()> {
    if etid != 2 || link.name != "contacts" {
        return Err(Error::not_allowed(
            format!("the {} link cannot be changed through crmgate", link.name),
            "change the reference field (companyId, contactId) with crm_update",
        ));
    }
    let deal = parse_id(id)?;
    let contact = parse_id(target_id)?;
    let method = if add {
        "crm.deal.contact.add"
    } else {
        "crm.deal.contact.delete"
    };
    client
        .call(
            cx,
            method,
            json!({"id": deal, "fields": {"CONTACT_ID": contact}}),
            Access::Write,
        )
        .await?;
    Ok(())
}

/// A Bitrix id: a positive integer.
pub fn parse_id(id: &str) -> Result<i64> {
    id.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            Error::new(
                ErrorCode::NotFound,
                format!("{id:?} is not a Bitrix24 record id (ids are positive numbers)"),
                "pass the id as crm_search or crm_get returned it",
            )
        })
}

fn bad_cursor() -> Error {
    Error::validation(
        "cursor refused: it is not a cursor of this link",
        "pass next_cursor exactly as the previous result gave it",
    )
}
