//! Read operations: entities, describe, search, get, related, timeline.

use super::present::selection_label;
use super::*;
use crate::cursor;
use crate::filter::Filter;
use crate::model::{FieldSelection, PageRequest, SearchRequest};
use crate::schema::EntitySchema;

impl Gateway {
    /// crm_entities
    pub async fn entities(&self, cx: &CallContext) -> Result<EntitiesOutput> {
        self.within_deadline(async {
            let catalog = self.backend.entities(cx).await?;
            Ok(EntitiesOutput {
                entities: catalog.entities().to_vec(),
                hidden: catalog.hidden().to_vec(),
            })
        })
        .await
    }

    /// crm_describe
    pub async fn describe(&self, cx: &CallContext, entity: &str) -> Result<Arc<EntitySchema>> {
        self.within_deadline(async {
            let entity = self.resolve(cx, entity).await?;
            self.backend.describe(cx, &entity).await
        })
        .await
    }

    /// crm_search
    pub async fn search(&self, cx: &CallContext, args: SearchArgs) -> Result<SearchOutput> {
        self.within_deadline(self.search_now(cx, args)).await
    }

    async fn search_now(&self, cx: &CallContext, args: SearchArgs) -> Result<SearchOutput> {
        let (entity, schema) = self
            .resolve_with_schema(cx, &args.entity, Operation::Search)
            .await?;
        let filter = Filter {
            all: args
                .conditions
                .iter()
                .map(ConditionArg::parse)
                .collect::<Result<_>>()?,
            any: args
                .any
                .iter()
                .map(|group| {
                    group
                        .iter()
                        .map(ConditionArg::parse)
                        .collect::<Result<Vec<_>>>()
                })
                .collect::<Result<_>>()?,
            query: args
                .query
                .as_deref()
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .map(str::to_owned),
        };
        if filter.any.iter().any(Vec::is_empty) {
            return Err(Error::validation(
                "an any group is empty",
                "each item of any is a list of where items that must all hold; drop empty groups",
            ));
        }
        let sort = match &args.sort {
            None => Vec::new(),
            Some(sort) => sort.keys()?,
        };
        let known = knows_all(
            &schema,
            filter
                .conditions()
                .map(|c| c.field.as_str())
                .chain(sort.iter().map(|k| k.field.as_str()))
                .chain(projected(&args.fields)),
        );
        let schema = self.schema_knowing(cx, &entity, schema, known).await?;
        filter.check(&schema, &entity.filter_ops)?;
        for key in &sort {
            check_sortable(&schema, &key.field)?;
        }
        let fields = self.selection(&schema, &args.fields)?;
        let limit = self.limit(args.limit)?;
        let fingerprint = query_fingerprint(&entity.native, &filter, &sort);
        let backend_cursor = args
            .cursor
            .as_deref()
            .map(|c| cursor::decode(fingerprint, c))
            .transpose()?;

        let request = SearchRequest {
            entity,
            schema: schema.clone(),
            filter: filter.clone(),
            sort: sort.clone(),
            fields: fields.clone(),
            page: PageRequest {
                limit: limit.applied,
                cursor: backend_cursor,
            },
        };
        let page = self.backend.search(cx, &request).await?;
        let records = page
            .records
            .into_iter()
            .map(|r| self.present(r, &fields))
            .collect();
        Ok(SearchOutput {
            records,
            total: page.total,
            has_more: page.next_cursor.is_some(),
            next_cursor: page.next_cursor.map(|c| cursor::encode(fingerprint, &c)),
            applied: Applied {
                native: filter
                    .conditions()
                    .map(|c| format!("{} {}", c.field, c.op.as_str()))
                    .collect(),
                fields: selection_label(&args.fields),
                sort: sort
                    .iter()
                    .map(|k| format!("{}{}", if k.descending { "-" } else { "" }, k.field))
                    .collect(),
                limit,
                query: filter.query,
            },
        })
    }

    /// crm_get
    pub async fn get(&self, cx: &CallContext, args: GetArgs) -> Result<GetOutput> {
        self.within_deadline(self.get_now(cx, args)).await
    }

    async fn get_now(&self, cx: &CallContext, args: GetArgs) -> Result<GetOutput> {
        let (entity, schema) = self
            .resolve_with_schema(cx, &args.entity, Operation::Get)
            .await?;
        let known = knows_all(&schema, projected(&args.fields));
        let schema = self.schema_knowing(cx, &entity, schema, known).await?;
        let fields = self.selection(&schema, &args.fields)?;
        match (args.id, args.ids) {
            (Some(id), None) => {
                let id = self.record_id(&entity, &id, "id")?;
                let mut found = self
                    .backend
                    .get(cx, &entity, std::slice::from_ref(&id), &fields)
                    .await?;
                match found.iter().position(|r| r.id == id) {
                    Some(i) => Ok(GetOutput::One {
                        record: self.present(found.swap_remove(i), &fields),
                    }),
                    None => Err(Error::not_found(&entity.name, &id)),
                }
            }
            (None, Some(ids)) => {
                if ids.is_empty() || ids.len() > self.settings.max_get_ids {
                    return Err(Error::validation(
                        format!(
                            "ids has {} items; crm_get takes 1 to {}",
                            ids.len(),
                            self.settings.max_get_ids
                        ),
                        "split the ids into several calls, or use crm_search with an in filter",
                    ));
                }
                // ids in the CRM's spelling, so two spellings of one id are asked and answered once
                let mut unique: Vec<String> = Vec::with_capacity(ids.len());
                for id in &ids {
                    let id = self.record_id(&entity, id, "ids item")?;
                    if !unique.contains(&id) {
                        unique.push(id);
                    }
                }
                let found = self.backend.get_many(cx, &entity, &unique, &fields).await?;
                let mut records = Vec::with_capacity(found.records.len());
                let mut missing = Vec::new();
                let mut denied = Vec::new();
                for id in unique {
                    match found.records.iter().find(|r| r.id == id) {
                        Some(r) => records.push(self.present(r.clone(), &fields)),
                        None if found.denied.contains(&id) => denied.push(id),
                        None => missing.push(id),
                    }
                }
                Ok(GetOutput::Many {
                    records,
                    missing,
                    denied,
                })
            }
            _ => Err(Error::validation(
                "pass exactly one of id or ids",
                "id: \"…\" for one record, ids: [\"…\", …] for up to 100",
            )),
        }
    }

    /// crm_related
    pub async fn related(&self, cx: &CallContext, args: RelatedArgs) -> Result<RelatedOutput> {
        self.within_deadline(self.related_now(cx, args)).await
    }

    async fn related_now(&self, cx: &CallContext, args: RelatedArgs) -> Result<RelatedOutput> {
        let (entity, schema) = self
            .resolve_with_schema(cx, &args.entity, Operation::Related)
            .await?;
        let link = schema.require_link(&args.link)?.clone();
        let id = self.record_id(&entity, &args.id, "id")?;
        let fields = match self.resolve(cx, &link.target).await {
            Ok(target) => {
                let target_schema = self.backend.describe(cx, &target).await?;
                self.selection(&target_schema, &args.fields)?
            }
            // a link to an entity the caller cannot list: return what the CRM gives
            Err(_) => FieldSelection::All,
        };
        let limit = self.limit(args.limit)?;
        let fingerprint = cursor::fingerprint(&[&entity.native, &id, &link.name]);
        let backend_cursor = args
            .cursor
            .as_deref()
            .map(|c| cursor::decode(fingerprint, c))
            .transpose()?;
        let page = PageRequest {
            limit: limit.applied,
            cursor: backend_cursor,
        };
        let page = self
            .backend
            .related(cx, &entity, &id, &link, &fields, &page)
            .await?;
        Ok(RelatedOutput {
            records: page
                .records
                .into_iter()
                .map(|r| self.present(r, &fields))
                .collect(),
            has_more: page.next_cursor.is_some(),
            next_cursor: page.next_cursor.map(|c| cursor::encode(fingerprint, &c)),
            limit,
        })
    }

    /// crm_timeline
    pub async fn timeline(&self, cx: &CallContext, args: TimelineArgs) -> Result<TimelineOutput> {
        self.within_deadline(self.timeline_now(cx, args)).await
    }

    async fn timeline_now(&self, cx: &CallContext, args: TimelineArgs) -> Result<TimelineOutput> {
        let entity = self
            .resolve_for(cx, &args.entity, Operation::Timeline)
            .await?;
        let id = self.record_id(&entity, &args.id, "id")?;
        let limit = self.limit(args.limit)?;
        let fingerprint = cursor::fingerprint(&[&entity.native, &id, "timeline"]);
        let backend_cursor = args
            .cursor
            .as_deref()
            .map(|c| cursor::decode(fingerprint, c))
            .transpose()?;
        let page = PageRequest {
            limit: limit.applied,
            cursor: backend_cursor,
        };
        let page = self.backend.timeline(cx, &entity, &id, &page).await?;
        Ok(TimelineOutput {
            items: page
                .items
                .into_iter()
                .map(|i| self.present_item(i))
                .collect(),
            has_more: page.next_cursor.is_some(),
            next_cursor: page.next_cursor.map(|c| cursor::encode(fingerprint, &c)),
            limit,
        })
    }
}

/// The field, if a search can sort by it; `UNSUPPORTED_FILTER` naming the sortable fields if
/// not.
fn check_sortable(schema: &EntitySchema, name: &str) -> Result<()> {
    let field = schema.require_field(name)?;
    if field.sortable {
        return Ok(());
    }
    let sortable: Vec<&str> = schema.sortable_fields().take(20).collect();
    Err(Error::new(
        crate::ErrorCode::UnsupportedFilter,
        format!("{} cannot be sorted by {}", schema.entity, field.name),
        if sortable.is_empty() {
            format!(
                "{} has no sortable field: leave sort out (the CRM lists in its own order)",
                schema.entity
            )
        } else {
            format!("sort by one of: {}", sortable.join(", "))
        },
    ))
}

/// The field names a `fields` argument asks for (not `*`).
fn projected(fields: &Option<Vec<String>>) -> impl Iterator<Item = &str> {
    fields
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|f| *f != "*")
}

/// Cursors stay valid across projection changes, not across filter or sort changes.
fn query_fingerprint(native: &str, filter: &Filter, sort: &[crate::filter::SortKey]) -> [u8; 8] {
    let filter = serde_json::to_string(filter).unwrap_or_default();
    let sort = serde_json::to_string(sort).unwrap_or_default();
    cursor::fingerprint(&[native, &filter, &sort])
}
