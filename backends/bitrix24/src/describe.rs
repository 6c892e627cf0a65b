//! Metadata, loaded on first use and kept in the shared [`MetadataCache`] per caller (what a
//! Bitrix24 user may see depends on their CRM rights): one `batch` request brings the smart
//! process types, every `crm.status` dictionary (stages with semantics, sources, types…), the
//! deal pipelines, currencies, users and the `crm.item.fields` of leads, deals, contacts and
//! companies — so a cold `crm_describe` (or a hundred concurrent ones) costs one HTTP request.
//! A smart process's fields and pipelines load on first use in one more.

use crate::client::{Access, BatchOutcome, Client, Command, MAX_BATCH};
use crate::filters::NATIVE_OPS;
use crate::map::dicts::{self, Dictionaries};
use crate::map::fields::{self, EntityMeta};
use crate::map::kind;
use crmgate_core::cache::{CacheScope, MetadataCache};
use crmgate_core::model::{
    ActionInfo, ActionParam, DeleteKind, EntityCatalog, EntityInfo, HiddenEntity, Operation,
    TotalKind,
};
use crmgate_core::schema::{EnumOption, FieldType};
use crmgate_core::{CallContext, Error, ErrorCode, Result};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// Everything known about the portal for one caller.
#[derive(Debug)]
pub struct Catalog {
    /// The dictionaries.
    pub dicts: Dictionaries,
    /// The entity types the caller can reach (key: entityTypeId).
    pub entities: Arc<EntityCatalog>,
    /// Schemas of the standard types, shared with every call.
    pub metas: HashMap<i64, Arc<EntityMeta>>,
}

/// Loads and caches [`Catalog`]s and smart process schemas.
#[derive(Debug, Clone)]
pub struct Describer {
    cache: MetadataCache,
    instance: String,
}

impl Describer {
    /// A describer keyed by the backend instance.
    pub fn new(cache: MetadataCache, instance: String) -> Self {
        Describer { cache, instance }
    }

    /// The caller's catalog (one batch request when cold).
    pub async fn catalog(&self, client: &Client, cx: &CallContext) -> Result<Arc<Catalog>> {
        self.cache
            .get_or_load(&self.instance, CacheScope::Caller(cx), "catalog", || {
                load_catalog(client, cx)
            })
            .await
    }

    /// The schema and Bitrix field types of an entity type.
    pub async fn meta(
        &self,
        client: &Client,
        cx: &CallContext,
        entity: &EntityInfo,
    ) -> Result<(Arc<Catalog>, Arc<EntityMeta>)> {
        let catalog = self.catalog(client, cx).await?;
        let etid = i64::try_from(entity.key)
            .ok()
            .filter(|k| *k > 0)
            .or_else(|| kind::from_native(&entity.native))
            .ok_or_else(|| Error::unknown_entity(&entity.name, &catalog.entities.names()))?;
        if let Some(meta) = catalog.metas.get(&etid) {
            return Ok((catalog.clone(), meta.clone()));
        }
        let item = format!("spa:{etid}");
        let name = entity.name.clone();
        let cat = catalog.clone();
        let meta = self
            .cache
            .get_or_load(
                &self.instance,
                CacheScope::Caller(cx),
                &item,
                || async move { load_smart_process(client, cx, etid, &name, &cat.dicts).await },
            )
            .await?;
        Ok((catalog, meta))
    }
}

async fn load_catalog(client: &Client, cx: &CallContext) -> Result<Catalog> {
    let mut commands = vec![
        Command::new("types", "crm.type.list", json!({})),
        Command::new(
            "statuses",
            "crm.status.list",
            json!({"order": {"SORT": "ASC"}}),
        ),
        Command::new("currencies", "crm.currency.list", json!({})),
        Command::new("users", "user.get", json!({"start": 0})),
        Command::new(
            "categories_2",
            "crm.category.list",
            json!({"entityTypeId": 2}),
        ),
    ];
    for (etid, _, _) in kind::STANDARD {
        commands.push(Command::new(
            format!("fields_{etid}"),
            "crm.item.fields",
            json!({"entityTypeId": etid, "useOriginalUfNames": "Y"}),
        ));
    }
    let mut out = client.batch(cx, &commands, Access::Read).await?;
    let mut dicts = Dictionaries {
        statuses: dicts::parse_statuses(&out.take("statuses", "crm.status.list")?),
        currencies: dicts::parse_currencies(&optional(
            &mut out,
            "currencies",
            "crm.currency.list",
        )?),
        types: dicts::parse_types(&optional(&mut out, "types", "crm.type.list")?),
        ..Dictionaries::default()
    };
    dicts.categories.insert(
        2,
        dicts::parse_categories(&optional(&mut out, "categories_2", "crm.category.list")?),
    );
    let users_total = out.totals.get("users").copied().unwrap_or(0);
    let users_first = optional(&mut out, "users", "user.get")?;
    dicts.users.extend(dicts::parse_users(&users_first));
    let mut metas = HashMap::new();
    let mut entities = Vec::new();
    let mut hidden = Vec::new();
    let mut first_error = None;
    for (etid, name, label) in kind::STANDARD {
        match out.take(&format!("fields_{etid}"), "crm.item.fields") {
            Ok(result) => {
                let meta = fields::build(
                    etid,
                    name,
                    &kind::native(etid),
                    fields::parse_fields(&result),
                    &dicts,
                );
                entities.push(entity_info(etid, name, label, &meta));
                metas.insert(etid, Arc::new(meta));
            }
            Err(e) if e.code == ErrorCode::PermissionDenied => {
                hidden.push(HiddenEntity {
                    name: name.to_owned(),
                    native: kind::native(etid),
                    permission: format!("CRM access rights to read {label}"),
                });
                first_error.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
    }
    if users_total > 50 {
        load_more_users(client, cx, users_total, &mut dicts).await?;
    }
    for t in &dicts.types {
        let etid = t.entity_type_id;
        let name = kind::native(etid);
        let options = spa_stage_options(&dicts, etid);
        let mut ops = operations(etid);
        let actions = if options.is_empty() {
            ops.remove(&Operation::Action);
            Vec::new()
        } else {
            vec![move_stage(options)]
        };
        entities.push(EntityInfo {
            name: name.clone(),
            native: name,
            label: t.title.clone(),
            operations: ops,
            // its fields load on first use: what crm.item.list runs; crm_describe says per field
            filter_ops: NATIVE_OPS.to_vec(),
            total: TotalKind::Exact,
            delete: DeleteKind::Soft,
            actions,
            notes: vec![
                format!(
                    "smart process \"{}\" (entityTypeId {etid}); crm_describe lists its fields and stages",
                    t.title
                ),
                DELETE_NOTE.into(),
            ],
            denied: Vec::new(),
            key: etid as u64,
        });
    }
    if entities.is_empty() {
        return Err(first_error.unwrap_or_else(|| {
            Error::new(
                ErrorCode::PermissionDenied,
                "this Bitrix24 user can see no CRM entity",
                "give the webhook or app the crm scope, and the user CRM access rights",
            )
        }));
    }
    Ok(Catalog {
        dicts,
        entities: Arc::new(EntityCatalog::new(entities).with_hidden(hidden)),
        metas,
    })
}

/// A command's result, or `null` when the caller lacks the scope or rights for it (users or
/// smart processes are then simply unknown, not an error).
fn optional(out: &mut BatchOutcome, name: &str, method: &str) -> Result<Value> {
    match out.take(name, method) {
        Ok(v) => Ok(v),
        Err(e)
            if matches!(e.code, ErrorCode::PermissionDenied | ErrorCode::NotFound)
                || crate::error::method_missing(&e) =>
        {
            tracing::debug!(method, code = %e.code, "dictionary unavailable to this caller");
            Ok(Value::Null)
        }
        Err(e) => Err(e),
    }
}

/// Users past the first page: one more batch of `user.get` pages (50 per page).
async fn load_more_users(
    client: &Client,
    cx: &CallContext,
    total: i64,
    dicts: &mut Dictionaries,
) -> Result<()> {
    let commands: Vec<Command> = (1..)
        .map(|page: i64| page * 50)
        .take_while(|start| *start < total)
        .take(MAX_BATCH)
        .map(|start| Command::new(format!("u{start}"), "user.get", json!({"start": start})))
        .collect();
    let mut out = client.batch(cx, &commands, Access::Read).await?;
    for c in &commands {
        dicts.users.extend(dicts::parse_users(&optional(
            &mut out, &c.name, "user.get",
        )?));
    }
    Ok(())
}

async fn load_smart_process(
    client: &Client,
    cx: &CallContext,
    etid: i64,
    name: &str,
    base: &Dictionaries,
) -> Result<EntityMeta> {
    let commands = [
        Command::new(
            "fields",
            "crm.item.fields",
            json!({"entityTypeId": etid, "useOriginalUfNames": "Y"}),
        ),
        Command::new(
            "categories",
            "crm.category.list",
            json!({"entityTypeId": etid}),
        ),
    ];
    let mut out = client.batch(cx, &commands, Access::Read).await?;
    let metas = fields::parse_fields(&out.take("fields", "crm.item.fields")?);
    let mut dicts = base.clone();
    dicts.categories.insert(
        etid,
        dicts::parse_categories(&optional(&mut out, "categories", "crm.category.list")?),
    );
    Ok(fields::build(
        etid,
        name,
        &kind::native(etid),
        metas,
        &dicts,
    ))
}

const DELETE_NOTE: &str = "delete moves the record to the Bitrix24 recycle bin (when the portal \
                           has it on), where an administrator can restore it";

fn operations(etid: i64) -> BTreeSet<Operation> {
    use Operation::*;
    let mut ops: BTreeSet<Operation> = [Search, Get, Create, Update, Delete, Timeline, Note]
        .into_iter()
        .collect();
    if matches!(etid, 2..=4) {
        ops.insert(Related);
    }
    if etid == 2 {
        ops.insert(Link);
    }
    if etid == 1 || etid == 2 || etid >= 128 {
        ops.insert(Action);
    }
    ops
}

fn entity_info(etid: i64, name: &str, label: &str, meta: &EntityMeta) -> EntityInfo {
    let mut notes = vec![
        "records carry labels: human names for their ids (responsible user, stage, source, \
         pipeline, currency), from cached dictionaries"
            .to_owned(),
        DELETE_NOTE.to_owned(),
    ];
    let mut actions = Vec::new();
    let stage_options: Vec<EnumOption> = meta
        .schema
        .field("stageId")
        .map(|f| f.options.clone())
        .unwrap_or_default();
    if etid == 1 {
        notes.push(
            "lead conversion has no REST method in Bitrix24, so there is no convert action: \
             move the lead to its success status with move_stage, then create the contact, \
             company and deal with crm_create (deal leadId = this lead) and link them"
                .into(),
        );
    }
    if etid == 2 {
        notes.push(
            "stageSemanticId filters (P open, S won, F lost) are resolved to the stage ids of \
             every pipeline; link contacts with crm_link (crm.deal.contact.add), which keeps the \
             others"
                .into(),
        );
    }
    if !stage_options.is_empty() && actions.is_empty() && (etid == 1 || etid == 2) {
        actions.push(move_stage(stage_options));
    }
    EntityInfo {
        name: name.to_owned(),
        native: kind::native(etid),
        label: label.to_owned(),
        operations: {
            let mut ops = operations(etid);
            if actions.is_empty() {
                ops.remove(&Operation::Action);
            }
            ops
        },
        filter_ops: meta.schema.filter_ops_union(),
        total: TotalKind::Exact,
        delete: DeleteKind::Soft,
        actions,
        notes,
        denied: Vec::new(),
        key: etid as u64,
    }
}

/// The stage move action; `stage` picks from every pipeline's stages.
fn move_stage(options: Vec<EnumOption>) -> ActionInfo {
    ActionInfo {
        name: "move_stage".into(),
        description: "Move the record to another stage (crm.item.update stageId; a stage of \
                      another pipeline moves it to that pipeline). Bitrix24 runs the stage's \
                      automation rules and checks its required fields"
            .into(),
        destructive: false,
        params: vec![ActionParam {
            name: "stage".into(),
            description: "the stage id (crm_describe lists them with their semantics)".into(),
            param_type: FieldType::Enum,
            required: true,
            options,
        }],
    }
}

fn spa_stage_options(dicts: &Dictionaries, etid: i64) -> Vec<EnumOption> {
    dicts
        .stages(etid)
        .into_iter()
        .map(|s| {
            let semantics = s.semantics.unwrap_or(dicts::Semantics::Process).word();
            EnumOption::new(&s.status_id, format!("{} ({semantics})", s.name))
        })
        .collect()
}
