//! The sandbox's state: users and their roles, records (soft-deleted, never removed),
//! many-to-many edges with their relationship columns, stream notes, kanban orders and follows.
//! Seeded from `data/seed.json`, which reproduces the data of the recorded 9.1.7 instance
//! (same ids, names and values), so recorded requests replay with the recorded results.

use super::credentials;
use super::defs::{LinkKind, defs};
use crate::time;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

const SEED: &str = include_str!("data/seed.json");

/// One attribute map.
pub type Rec = Map<String, Value>;

/// How a user signs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// `X-Api-Key`.
    ApiKey(String),
    /// `X-Hmac-Authorization`.
    Hmac { key: String, secret: String },
    /// Username + password (`Espo-Authorization` / Basic).
    Password(String),
}

/// A user of the sandbox.
#[derive(Debug, Clone)]
pub struct User {
    /// Record id.
    pub id: String,
    /// `userName`.
    pub user_name: String,
    /// Administrator: every permission, no ACL cut.
    pub admin: bool,
    /// Sign-in.
    pub login: Login,
    /// Own email address (may be used as a draft's From).
    pub email: Option<String>,
    /// Scope → (read, edit, delete, create, stream).
    pub table: BTreeMap<String, [&'static str; 5]>,
}

const ACTIONS: [&str; 5] = ["read", "edit", "delete", "create", "stream"];

impl User {
    /// The level of `action` on `entity` (`all`, `team`, `own`, `yes`, `no`).
    pub fn level(&self, entity: &str, action: &str) -> &'static str {
        if self.admin {
            return if action == "create" { "yes" } else { "all" };
        }
        let i = ACTIONS.iter().position(|a| *a == action).unwrap_or(0);
        match self.table.get(entity) {
            Some(levels) => levels[i],
            // scopes outside ACL are open
            None if defs()
                .scope(entity)
                .and_then(|s| s.get("acl"))
                .is_none_or(|a| a == &Value::Bool(false)) =>
            {
                if action == "create" {
                    "yes"
                } else {
                    "all"
                }
            }
            None => "no",
        }
    }

    /// Whether `action` is allowed on the scope at all.
    pub fn can(&self, entity: &str, action: &str) -> bool {
        self.level(entity, action) != "no"
    }

    /// Whether `action` is allowed on this record (own/team levels: assigned to or created by
    /// the user).
    pub fn can_record(&self, entity: &str, action: &str, rec: &Rec) -> bool {
        match self.level(entity, action) {
            "no" => false,
            "own" | "team" => [rec.get("assignedUserId"), rec.get("createdById")]
                .iter()
                .any(|v| v.and_then(Value::as_str) == Some(self.id.as_str())),
            _ => true,
        }
    }

    /// The ACL table as `App/user` shows it.
    pub fn acl_json(&self) -> Value {
        let mut table = Map::new();
        for scope in defs().scopes().keys() {
            let mut entry = Map::new();
            for action in ACTIONS {
                entry.insert(action.into(), json!(self.level(scope, action)));
            }
            table.insert(scope.clone(), Value::Object(entry));
        }
        json!({"table": table, "assignmentPermission": if self.admin { "all" } else { "no" }})
    }
}

fn role(full: bool) -> BTreeMap<String, [&'static str; 5]> {
    let mut t = BTreeMap::new();
    if full {
        for e in [
            "Lead",
            "Contact",
            "Account",
            "Opportunity",
            "Task",
            "Case",
            "Meeting",
            "Call",
            "Email",
            "EmailTemplate",
            "CProject",
        ] {
            t.insert(e.to_owned(), ["all", "all", "all", "yes", "all"]);
        }
        t.insert("User".into(), ["own", "no", "no", "no", "no"]);
        t.insert("Team".into(), ["team", "no", "no", "no", "no"]);
    } else {
        t.insert("Contact".into(), ["all", "no", "no", "no", "no"]);
    }
    // mandatory in 9.x
    t.insert("Note".into(), ["own", "own", "own", "yes", "no"]);
    t
}

/// The sandbox users: admin (password), api-full (API key), api-hmac (HMAC, same role),
/// api-readonly (API key, Contact read only).
pub fn users() -> Vec<User> {
    vec![
        User {
            id: credentials::ADMIN_ID.into(),
            user_name: credentials::ADMIN_USER.into(),
            admin: true,
            login: Login::Password(credentials::ADMIN_PASSWORD.into()),
            email: Some("admin@crm.example.com".into()),
            table: BTreeMap::new(),
        },
        User {
            id: credentials::API_USER_ID.into(),
            user_name: "api-full".into(),
            admin: false,
            login: Login::ApiKey(credentials::API_KEY.into()),
            email: Some("api-full@crm.example.com".into()),
            table: role(true),
        },
        User {
            id: "6b012cc215062c943".into(),
            user_name: "api-hmac".into(),
            admin: false,
            login: Login::Hmac {
                key: credentials::HMAC_KEY.into(),
                secret: credentials::HMAC_SECRET.into(),
            },
            email: None,
            table: role(true),
        },
        User {
            id: "6b012cc2a1d4f9b07".into(),
            user_name: "api-readonly".into(),
            admin: false,
            login: Login::ApiKey(credentials::READONLY_KEY.into()),
            email: None,
            table: role(false),
        },
    ]
}

/// A many-to-many edge: `a` on the key's side, `b` on the other, with relationship columns.
#[derive(Debug, Clone)]
pub struct Edge {
    /// Id on the key's side.
    pub a: String,
    /// Id on the other side.
    pub b: String,
    /// Relationship columns (`role`, `status`, …).
    pub columns: Map<String, Value>,
}

/// Everything the sandbox stores.
#[derive(Debug, Default)]
pub struct Store {
    /// Entity type → records in creation order (deleted ones flagged).
    pub records: BTreeMap<String, Vec<Rec>>,
    /// Relation key → edges.
    pub edges: BTreeMap<String, Vec<Edge>>,
    /// (user, entity, group) → ordered ids.
    pub kanban: BTreeMap<(String, String, String), Vec<String>>,
    /// (user, entity, id) followed.
    pub follows: BTreeSet<(String, String, String)>,
    seq: u64,
    number: u64,
}

impl Store {
    /// The seeded store.
    pub fn seeded() -> Store {
        let seed: Value = serde_json::from_str(SEED).unwrap_or(Value::Null);
        let mut store = Store {
            seq: 1,
            number: 100,
            ..Default::default()
        };
        let as_recs = |v: &Value| -> Vec<Rec> {
            v.as_array()
                .map(|a| a.iter().filter_map(|r| r.as_object().cloned()).collect())
                .unwrap_or_default()
        };
        store.records.insert("User".into(), as_recs(&seed["users"]));
        store.records.insert("Team".into(), as_recs(&seed["teams"]));
        if let Some(all) = seed["records"].as_object() {
            for (entity, list) in all {
                store.records.insert(entity.clone(), as_recs(list));
            }
        }
        for r in store.records.values_mut().flatten() {
            r.insert("deleted".into(), json!(false));
        }
        for rel in seed["relations"].as_array().into_iter().flatten() {
            let s = |i: usize| rel[i].as_str().unwrap_or_default().to_owned();
            let columns = rel[4].as_object().cloned().unwrap_or_default();
            store.add_edge(&s(0), &s(1), &s(2), &s(3), columns);
        }
        for note in as_recs(&seed["notes"]) {
            let created = note
                .get("createdAt")
                .and_then(Value::as_str)
                .unwrap_or("2026-11-21 05:32:40")
                .to_owned();
            store.add_note(note, credentials::API_USER_ID, Some(&created));
        }
        store
    }

    /// A new 17-character id, as EspoCRM makes them.
    pub fn new_id(&mut self) -> String {
        self.seq += 1;
        let mixed = self.seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 16;
        format!("6b013{:012x}", mixed & 0xffff_ffff_ffff)
    }

    /// A record (not deleted).
    pub fn find(&self, entity: &str, id: &str) -> Option<&Rec> {
        self.records.get(entity)?.iter().find(|r| {
            r.get("id").and_then(Value::as_str) == Some(id)
                && r.get("deleted") != Some(&json!(true))
        })
    }

    /// A record, deleted or not (what `getEntityEvenDeleted` finds).
    pub fn find_even_deleted_mut(&mut self, entity: &str, id: &str) -> Option<&mut Rec> {
        self.records
            .get_mut(entity)?
            .iter_mut()
            .find(|r| r.get("id").and_then(Value::as_str) == Some(id))
    }

    /// A record to change (not deleted).
    pub fn find_mut(&mut self, entity: &str, id: &str) -> Option<&mut Rec> {
        self.records.get_mut(entity)?.iter_mut().find(|r| {
            r.get("id").and_then(Value::as_str) == Some(id)
                && r.get("deleted") != Some(&json!(true))
        })
    }

    /// Live records of an entity.
    pub fn live(&self, entity: &str) -> impl Iterator<Item = &Rec> {
        self.records
            .get(entity)
            .into_iter()
            .flatten()
            .filter(|r| r.get("deleted") != Some(&json!(true)))
    }

    /// The display name of a record.
    pub fn name_of(&self, entity: &str, id: &str) -> Option<String> {
        let r = self.find(entity, id)?;
        if let Some(n) = r.get("name").and_then(Value::as_str) {
            return Some(n.to_owned());
        }
        if entity == "User"
            && let Some(n) = r.get("userName").and_then(Value::as_str)
            && !matches!(r.get("firstName").and_then(Value::as_str), Some(f) if !f.is_empty())
            && r.get("lastName").and_then(Value::as_str) == Some(n)
        {
            return Some(n.to_owned());
        }
        Some(person_name(r)).filter(|n| !n.is_empty())
    }

    /// Add a many-to-many edge (no duplicates).
    pub fn add_edge(
        &mut self,
        entity: &str,
        id: &str,
        link: &str,
        fid: &str,
        columns: Map<String, Value>,
    ) {
        let Some(LinkKind::ManyToMany { key, forward, .. }) = defs().link_kind(entity, link) else {
            return;
        };
        let (a, b) = if forward { (id, fid) } else { (fid, id) };
        let edges = self.edges.entry(key).or_default();
        match edges.iter_mut().find(|e| e.a == a && e.b == b) {
            Some(e) => e.columns.extend(columns),
            None => edges.push(Edge {
                a: a.into(),
                b: b.into(),
                columns,
            }),
        }
    }

    /// Remove a many-to-many edge; whether one was there.
    pub fn remove_edge(&mut self, entity: &str, id: &str, link: &str, fid: &str) -> bool {
        let Some(LinkKind::ManyToMany { key, forward, .. }) = defs().link_kind(entity, link) else {
            return false;
        };
        let (a, b) = if forward { (id, fid) } else { (fid, id) };
        let edges = self.edges.entry(key).or_default();
        let before = edges.len();
        edges.retain(|e| !(e.a == a && e.b == b));
        before != edges.len()
    }

    /// Ids on the far side of a link, with the relationship columns of many-to-many edges.
    pub fn related(&self, entity: &str, id: &str, link: &str) -> Vec<(String, Map<String, Value>)> {
        let Some(kind) = defs().link_kind(entity, link) else {
            return Vec::new();
        };
        let ids = |it: Box<dyn Iterator<Item = &Rec> + '_>| -> Vec<(String, Map<String, Value>)> {
            it.filter_map(|r| r.get("id").and_then(Value::as_str))
                .map(|s| (s.to_owned(), Map::new()))
                .collect()
        };
        match kind {
            LinkKind::BelongsTo { target, attr } => self
                .find(entity, id)
                .and_then(|r| r.get(&attr))
                .and_then(Value::as_str)
                .filter(|fid| self.find(&target, fid).is_some())
                .map(|fid| vec![(fid.to_owned(), Map::new())])
                .unwrap_or_default(),
            LinkKind::OneToMany {
                target,
                foreign_attr,
            } => ids(Box::new(self.live(&target).filter(move |r| {
                r.get(&foreign_attr).and_then(Value::as_str) == Some(id)
            }))),
            LinkKind::Children { target } => ids(Box::new(self.live(&target).filter(move |r| {
                r.get("parentType").and_then(Value::as_str) == Some(entity)
                    && r.get("parentId").and_then(Value::as_str) == Some(id)
            }))),
            LinkKind::ManyToMany {
                target,
                key,
                forward,
            } => self
                .edges
                .get(&key)
                .into_iter()
                .flatten()
                .filter_map(|e| {
                    let (here, there) = if forward { (&e.a, &e.b) } else { (&e.b, &e.a) };
                    (here == id && self.find(&target, there).is_some())
                        .then(|| (there.clone(), e.columns.clone()))
                })
                .collect(),
        }
    }

    /// Add a stream note (`type`, parent, data, …); returns its id.
    pub fn add_note(&mut self, mut note: Rec, by: &str, at: Option<&str>) -> String {
        let id = self.new_id();
        self.number += 1;
        let now = at.map(str::to_owned).unwrap_or_else(time::now);
        note.insert("id".into(), json!(id));
        note.insert("number".into(), json!(self.number));
        note.insert("deleted".into(), json!(false));
        note.entry("post").or_insert(Value::Null);
        note.entry("data").or_insert(json!({}));
        note.insert("createdAt".into(), json!(now));
        note.insert("modifiedAt".into(), json!(now));
        note.insert("createdById".into(), json!(by));
        // notes about a record also reach the stream of its account
        let parent = (
            note.get("parentType")
                .and_then(Value::as_str)
                .map(str::to_owned),
            note.get("parentId")
                .and_then(Value::as_str)
                .map(str::to_owned),
        );
        if let (Some(pt), Some(pid)) = parent
            && pt != "Account"
            && let Some(account) = self
                .find(&pt, &pid)
                .and_then(|r| r.get("accountId"))
                .and_then(Value::as_str)
        {
            note.insert("superParentType".into(), json!("Account"));
            note.insert("superParentId".into(), json!(account));
        }
        self.records.entry("Note".into()).or_default().push(note);
        id
    }
}

/// `firstName [middleName] lastName`.
pub fn person_name(r: &Rec) -> String {
    ["firstName", "middleName", "lastName"]
        .iter()
        .filter_map(|k| r.get(*k).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
