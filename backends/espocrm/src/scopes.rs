//! Which entity types a caller can reach, and what it may do with each: the `scopes` metadata
//! (already cut by EspoCRM to what the user's roles allow) combined with the user's ACL table
//! from `App/user`. Pure; [`crate::backend`] caches the result per caller, since roles differ
//! per user.

use crate::filters::NATIVE_OPS;
use crate::names::canonical;
use crmgate_core::model::{
    ActionInfo, ActionParam, DeleteKind, Denied, EntityCatalog, EntityInfo, HiddenEntity,
    Operation, TotalKind,
};
use crmgate_core::schema::{EnumOption, FieldType};
use crmgate_core::{Error, Result};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Non-object scopes that are still useful records.
const EXTRA: &[&str] = &["Note", "EmailTemplate"];

/// Entities with a required assigned user (Task/Meeting/Call in EspoCRM 9).
const ASSIGNED: &[&str] = &["Task", "Meeting", "Call"];

/// Bit of [`EntityInfo::key`] set when the caller may restore deleted records: EspoCRM's
/// `restoreDeleted` is for administrators only (`user.type` `admin` or `super-admin` in
/// `App/user`). The low 32 bits are the entity's index in the catalogue.
pub const KEY_RESTORES: u64 = 1 << 32;

/// Whether the caller whose catalogue holds `entity` may restore its deleted records.
pub fn may_restore(entity: &EntityInfo) -> bool {
    entity.key & KEY_RESTORES != 0
}

/// Whether the `App/user` user is an EspoCRM administrator.
pub fn is_admin(user: &Value) -> bool {
    matches!(
        user.get("type").and_then(Value::as_str),
        Some("admin" | "super-admin")
    )
}

/// What one caller may reach.
#[derive(Debug, Clone)]
pub struct Access {
    /// The entity types, with operations, notes and what the role denies; entity types the
    /// role hides are named as such.
    pub entities: Arc<EntityCatalog>,
    /// Native type → its kanban status field (`stage`, `status`).
    pub status_fields: BTreeMap<String, String>,
    /// The user's own email address (the default From of drafts).
    pub user_email: Option<String>,
    /// The user's id.
    pub user_id: Option<String>,
}

/// An ACL level for one action: `all`, `team`, `own`, `yes` or `no`.
fn level(table: &Value, native: &str, action: &str, scope_acl: &Value) -> String {
    match table.get(native) {
        Some(Value::Object(entry)) => entry
            .get(action)
            .and_then(Value::as_str)
            .unwrap_or("no")
            .to_owned(),
        Some(Value::Bool(true)) => "all".into(),
        Some(_) => "no".into(),
        // scopes outside ACL (acl: false) are open; ACL scopes no role mentions are closed
        None if scope_acl == &Value::Bool(false) => {
            if action == "create" { "yes" } else { "all" }.into()
        }
        None => "no".into(),
    }
}

fn allowed(level: &str) -> bool {
    !matches!(level, "no" | "")
}

/// The entity types and permissions of a caller, from `Metadata?key=scopes` and `App/user`.
pub fn access(scopes: &Value, app_user: &Value) -> Result<Access> {
    let scopes = scopes
        .as_object()
        .ok_or_else(|| Error::upstream_protocol("EspoCRM's scopes metadata is not an object"))?;
    let table = app_user
        .get("acl")
        .and_then(|a| a.get("table"))
        .cloned()
        .unwrap_or(Value::Null);
    let user = app_user.get("user").cloned().unwrap_or(Value::Null);
    let note_create = level(
        &table,
        "Note",
        "create",
        scopes
            .get("Note")
            .and_then(|s| s.get("acl"))
            .unwrap_or(&Value::Null),
    );
    let email_create = level(
        &table,
        "Email",
        "create",
        scopes
            .get("Email")
            .and_then(|s| s.get("acl"))
            .unwrap_or(&Value::Null),
    );
    let mut entities = Vec::new();
    let mut hidden = Vec::new();
    let mut status_fields = BTreeMap::new();
    for (native, scope) in scopes {
        let is = |k: &str| scope.get(k).and_then(Value::as_bool).unwrap_or(false);
        if !is("entity") || is("disabled") || !(is("object") || EXTRA.contains(&native.as_str())) {
            continue;
        }
        let scope_acl = scope.get("acl").cloned().unwrap_or(Value::Null);
        let lv = |action: &str| level(&table, native, action, &scope_acl);
        let (read, create, edit, delete) = (lv("read"), lv("create"), lv("edit"), lv("delete"));
        let stream = lv("stream");
        if !allowed(&read) {
            hidden.push(HiddenEntity {
                name: canonical(native),
                native: native.clone(),
                permission: format!("{native}: read"),
            });
            continue;
        }
        let status_field = scope
            .get("statusField")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let info = entity_info(
            native,
            scope,
            Levels {
                read: &read,
                create: &create,
                edit: &edit,
                delete: &delete,
                stream: allowed(&stream),
                note: allowed(&note_create),
                email: allowed(&email_create),
            },
            status_field.as_deref(),
        );
        if let Some(field) = status_field.filter(|_| info.supports(Operation::Action)) {
            status_fields.insert(native.clone(), field);
        }
        entities.push(info);
    }
    // EspoCRM cuts `scopes` to what the user may read; its ACL table still names the rest
    if let Some(acl) = table.as_object() {
        for native in acl.keys().filter(|k| !scopes.contains_key(*k)) {
            if !allowed(&level(&table, native, "read", &Value::Null)) {
                hidden.push(HiddenEntity {
                    name: canonical(native),
                    native: native.clone(),
                    permission: format!("{native}: read"),
                });
            }
        }
    }
    entities.sort_by(|a, b| a.name.cmp(&b.name));
    let admin = is_admin(&user);
    for (i, e) in entities.iter_mut().enumerate() {
        e.key = i as u64 | if admin { KEY_RESTORES } else { 0 };
        if admin && e.operations.contains(&Operation::Delete) {
            for note in e
                .notes
                .iter_mut()
                .filter(|n| n.starts_with("delete is soft"))
            {
                *note = "delete is soft: crmgate signs in as an EspoCRM administrator, so a deleted record can be brought back (undo)".into();
            }
        }
    }
    Ok(Access {
        entities: Arc::new(EntityCatalog::new(entities).with_hidden(hidden)),
        status_fields,
        user_email: user
            .get("emailAddress")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        user_id: user.get("id").and_then(Value::as_str).map(str::to_owned),
    })
}

struct Levels<'a> {
    read: &'a str,
    create: &'a str,
    edit: &'a str,
    delete: &'a str,
    stream: bool,
    note: bool,
    email: bool,
}

fn entity_info(
    native: &str,
    scope: &Value,
    lv: Levels<'_>,
    status_field: Option<&str>,
) -> EntityInfo {
    use Operation::*;
    let is = |k: &str| scope.get(k).and_then(Value::as_bool).unwrap_or(false);
    let special = matches!(native, "Email" | "Note" | "User");
    let mut ops: BTreeSet<Operation> = [Search, Get, Related].into_iter().collect();
    // the stream needs the scope's stream flag and the role's stream access
    if is("stream") && lv.stream {
        ops.insert(Timeline);
        if lv.note {
            ops.insert(Note);
        }
        if lv.email && !matches!(native, "Email" | "Note" | "User" | "EmailTemplate") {
            ops.insert(DraftEmail);
        }
    }
    let mut denied = Vec::new();
    let mut deny = |operation: Operation, action: &str| {
        denied.push(Denied {
            operation,
            permission: format!("{native}: {action}"),
        });
    };
    if !special {
        if allowed(lv.create) {
            ops.insert(Create);
        } else {
            deny(Create, "create");
        }
        if allowed(lv.edit) {
            ops.insert(Update);
            ops.insert(Link);
        } else {
            deny(Update, "edit");
            deny(Link, "edit");
        }
    }
    // emails may be deleted (drafts included); notes and users are not deleted from here
    if native == "Email" || !special {
        if allowed(lv.delete) {
            ops.insert(Delete);
        } else {
            deny(Delete, "delete");
        }
    }
    let mut actions = Vec::new();
    let mut notes = Vec::new();
    if let Some(field) = status_field.filter(|_| !special && allowed(lv.edit)) {
        ops.insert(Action);
        actions.push(move_stage(field));
        notes.push(format!(
            "move_stage sets {field} (its kanban column); position top or bottom also orders the card in that column, for this API user only"
        ));
    }
    if matches!(lv.read, "own" | "team") {
        notes.push(format!(
            "the API user's role shows only its {} records of {native} (read: {})",
            lv.read, lv.read
        ));
    }
    if ops.contains(&Delete) {
        notes.push("delete is soft: an EspoCRM administrator can restore the record".into());
    }
    if ops.contains(&Create)
        && let Some(list) = scope
            .get("duplicateCheckFieldList")
            .and_then(Value::as_array)
    {
        let fields: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
        notes.push(format!(
            "create checks for duplicates by {}: a match is a DUPLICATE error listing the records; pass skip_duplicate_check: true to create anyway",
            fields.join(" or ")
        ));
    }
    if ASSIGNED.contains(&native) && ops.contains(&Create) {
        notes.push(
            "assignedUserId is required; an API user may assign only itself unless its role can read users".into(),
        );
    }
    match native {
        "Email" => notes.push(
            "create and update are not offered: an email saved with status Sending is sent at once; file drafts with crm_draft_email (never sent)".into(),
        ),
        "Note" => notes.push("add notes with crm_note on the record they belong to".into()),
        "User" => notes.push("users are read-only through crmgate".into()),
        _ => {}
    }
    notes.push(
        "sort by one field; datetimes are UTC \"YYYY-MM-DD HH:mm:ss\" (ISO 8601 accepted in filters and writes); query matches the start of name or email, * is a wildcard".into(),
    );
    EntityInfo {
        name: canonical(native),
        native: native.to_owned(),
        label: native.to_owned(),
        operations: ops,
        // what EspoCRM's where language runs; crm_describe says per field
        filter_ops: NATIVE_OPS.to_vec(),
        total: TotalKind::Exact,
        delete: DeleteKind::Soft,
        actions,
        notes,
        denied,
        key: 0,
    }
}

/// The stage-move action on an entity whose scope names a status field.
fn move_stage(field: &str) -> ActionInfo {
    ActionInfo {
        name: "move_stage".into(),
        description: format!(
            "Move the record to another {field} (a kanban column move): updates {field}; optionally orders it at the top or bottom of that column"
        ),
        destructive: false,
        params: vec![
            ActionParam {
                name: "stage".into(),
                description: format!("the new {field}, one of its options in crm_describe"),
                param_type: FieldType::Text,
                required: true,
                options: Vec::new(),
            },
            ActionParam {
                name: "position".into(),
                description: "where to put the card in the column (kanban order is per user)"
                    .into(),
                param_type: FieldType::Enum,
                required: false,
                options: vec![
                    EnumOption::new("top", "Top of the column"),
                    EnumOption::new("bottom", "Bottom of the column"),
                ],
            },
        ],
    }
}
