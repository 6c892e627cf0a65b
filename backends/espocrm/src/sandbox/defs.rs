//! The sandbox's metadata — `scopes` and `entityDefs` as a 9.1.7 instance serves them (trimmed
//! to the entities it fakes, plus a custom entity `CProject` and custom Account fields) — and
//! what the fake server derives from them: attributes, link kinds, validation rules.
//!
//! Each sandbox holds its own copy, so a test can add a field at run time
//! ([`super::Sandbox::add_field`]) without other sandboxes seeing it; [`defs`] gives the copy
//! of the sandbox answering the current request.

use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

const METADATA: &str = include_str!("data/metadata.json");
const I18N: &str = include_str!("data/i18n.json");

/// How the records on the two sides of a link are tied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkKind {
    /// This record holds `{attr}` (= `{link}Id`) pointing at `target`.
    BelongsTo { target: String, attr: String },
    /// Records of `target` hold `{foreign}Id` pointing here.
    OneToMany {
        target: String,
        foreign_attr: String,
    },
    /// Records of `target` have `parentType`/`parentId` pointing here.
    Children { target: String },
    /// Many-to-many, stored as edges under `key`; `forward` when this side is the key's side.
    ManyToMany {
        target: String,
        key: String,
        forward: bool,
    },
}

/// The parsed metadata.
#[derive(Clone)]
pub struct Defs {
    meta: Value,
    i18n: Value,
}

/// The metadata every sandbox starts with (parsed once per process).
pub fn base() -> Arc<Defs> {
    static DEFS: OnceLock<Arc<Defs>> = OnceLock::new();
    DEFS.get_or_init(|| {
        Arc::new(Defs {
            meta: serde_json::from_str(METADATA).unwrap_or(Value::Null),
            i18n: serde_json::from_str(I18N).unwrap_or(Value::Null),
        })
    })
    .clone()
}

thread_local! {
    /// The metadata of the sandbox whose request this thread is answering.
    static CURRENT: RefCell<Option<Arc<Defs>>> = const { RefCell::new(None) };
}

/// The metadata in force: the answering sandbox's own (fields added at run time included), or
/// the base metadata outside a request.
pub fn defs() -> Arc<Defs> {
    CURRENT
        .with(|current| current.borrow().clone())
        .unwrap_or_else(base)
}

/// Run `answer` (synchronous: the handlers never await) with `defs` in force.
pub fn within<T>(defs: Arc<Defs>, answer: impl FnOnce() -> T) -> T {
    struct Restore(Option<Arc<Defs>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|current| *current.borrow_mut() = previous);
        }
    }
    let _restore = Restore(CURRENT.with(|current| current.borrow_mut().replace(defs)));
    answer()
}

fn empty() -> &'static Map<String, Value> {
    static EMPTY: OnceLock<Map<String, Value>> = OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

impl Defs {
    /// The whole metadata tree.
    pub fn metadata(&self) -> &Value {
        &self.meta
    }

    /// These definitions with one more field on `entity` (an administrator adding a field in
    /// the Entity Manager), labelled `label` in I18n; `None` when `entity` has no definitions.
    pub fn with_field(&self, entity: &str, name: &str, def: Value, label: &str) -> Option<Defs> {
        let mut out = self.clone();
        out.meta["entityDefs"]
            .get_mut(entity)?
            .get_mut("fields")?
            .as_object_mut()?
            .insert(name.to_owned(), def);
        if let Some(fields) = out.i18n[entity]["fields"].as_object_mut() {
            fields.insert(name.to_owned(), Value::String(label.to_owned()));
        }
        Some(out)
    }

    /// The I18n tree.
    pub fn i18n(&self) -> &Value {
        &self.i18n
    }

    /// `scopes`.
    pub fn scopes(&self) -> &Map<String, Value> {
        self.meta["scopes"].as_object().unwrap_or_else(|| empty())
    }

    /// One scope.
    pub fn scope(&self, entity: &str) -> Option<&Value> {
        self.scopes().get(entity)
    }

    /// Whether an entity type exists (has definitions).
    pub fn has_entity(&self, entity: &str) -> bool {
        self.meta["entityDefs"].get(entity).is_some()
    }

    /// `entityDefs.{entity}.fields`.
    pub fn fields(&self, entity: &str) -> &Map<String, Value> {
        self.meta["entityDefs"][entity]["fields"]
            .as_object()
            .unwrap_or_else(|| empty())
    }

    /// `entityDefs.{entity}.links`.
    pub fn links(&self, entity: &str) -> &Map<String, Value> {
        self.meta["entityDefs"][entity]["links"]
            .as_object()
            .unwrap_or_else(|| empty())
    }

    /// One field's definition.
    pub fn field(&self, entity: &str, field: &str) -> Option<&Value> {
        self.fields(entity).get(field)
    }

    /// One field's type.
    pub fn field_type<'a>(&'a self, entity: &str, field: &str) -> Option<&'a str> {
        self.field(entity, field)?.get("type")?.as_str()
    }

    /// `entityDefs.{entity}.collection`.
    pub fn collection(&self, entity: &str) -> &Value {
        &self.meta["entityDefs"][entity]["collection"]
    }

    /// Whether records carry `versionNumber`.
    pub fn versioned(&self, entity: &str) -> bool {
        self.meta["entityDefs"][entity]["optimisticConcurrencyControl"] == Value::Bool(true)
    }

    /// The target entity of a link.
    pub fn link_target(&self, entity: &str, link: &str) -> Option<&str> {
        self.links(entity).get(link)?.get("entity")?.as_str()
    }

    /// How a link is stored.
    pub fn link_kind(&self, entity: &str, link: &str) -> Option<LinkKind> {
        let def = self.links(entity).get(link)?;
        let kind = def.get("type")?.as_str()?;
        let target = def.get("entity").and_then(Value::as_str).map(str::to_owned);
        match kind {
            "belongsTo" => Some(LinkKind::BelongsTo {
                target: target?,
                attr: format!("{link}Id"),
            }),
            "hasChildren" => Some(LinkKind::Children { target: target? }),
            "hasMany" => {
                let target = target?;
                let foreign = def.get("foreign").and_then(Value::as_str);
                let foreign_kind = foreign
                    .and_then(|f| self.links(&target).get(f))
                    .and_then(|d| d.get("type"))
                    .and_then(Value::as_str);
                match (foreign, foreign_kind) {
                    (Some(f), Some("belongsTo")) => Some(LinkKind::OneToMany {
                        target,
                        foreign_attr: format!("{f}Id"),
                    }),
                    (Some(f), _) => {
                        let here = format!("{entity}.{link}");
                        let there = format!("{target}.{f}");
                        let forward = here <= there;
                        Some(LinkKind::ManyToMany {
                            target,
                            key: if forward { here } else { there },
                            forward,
                        })
                    }
                    (None, _) => Some(LinkKind::ManyToMany {
                        target,
                        key: format!("{entity}.{link}"),
                        forward: true,
                    }),
                }
            }
            _ => None,
        }
    }

    /// The options of an enum field (following `optionsReference`).
    pub fn options(&self, entity: &str, field: &str) -> Option<Vec<String>> {
        let def = self.field(entity, field)?;
        if let Some((e, f)) = def
            .get("optionsReference")
            .and_then(Value::as_str)
            .and_then(|r| r.split_once('.'))
        {
            return self.options(e, f);
        }
        let options = def.get("options")?.as_array()?;
        Some(
            options
                .iter()
                .filter_map(|o| o.as_str().map(str::to_owned))
                .collect(),
        )
    }

    /// Every attribute records of `entity` have (what `where`, `select` and `orderBy` accept).
    pub fn attributes(&self, entity: &str) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = ["id".to_owned(), "deleted".to_owned()].into();
        for (name, def) in self.fields(entity) {
            let kind = def.get("type").and_then(Value::as_str).unwrap_or("varchar");
            match kind {
                "address" | "map" => {}
                "link" | "linkOne" => {
                    out.insert(format!("{name}Id"));
                    out.insert(format!("{name}Name"));
                }
                "file" | "image" => {
                    out.insert(format!("{name}Id"));
                    out.insert(format!("{name}Name"));
                }
                "linkParent" => {
                    out.insert(format!("{name}Id"));
                    out.insert(format!("{name}Type"));
                    out.insert(format!("{name}Name"));
                }
                "linkMultiple" | "attachmentMultiple" => {
                    out.insert(format!("{name}Ids"));
                    out.insert(format!("{name}Names"));
                    if def.get("columns").is_some() {
                        out.insert(format!("{name}Columns"));
                    }
                }
                "email" | "phone" => {
                    out.insert(name.clone());
                    out.insert(format!("{name}Data"));
                }
                "datetimeOptional" => {
                    out.insert(name.clone());
                    out.insert(format!("{name}Date"));
                }
                _ => {
                    out.insert(name.clone());
                }
            }
        }
        if self.versioned(entity) {
            out.insert("versionNumber".into());
        }
        out
    }

    /// The attributes of one field: those a write sets (EspoCRM's *actual* attributes) and
    /// all of them (with the derived names), as `FieldUtil` lists them.
    pub fn field_attributes(&self, entity: &str, field: &str) -> (Vec<String>, Vec<String>) {
        let kind = self.field_type(entity, field).unwrap_or("varchar");
        let a = |suffix: &str| format!("{field}{suffix}");
        let (actual, derived) = match kind {
            "link" | "file" | "image" => (vec![a("Id")], vec![a("Name")]),
            "linkOne" => (vec![], vec![a("Id"), a("Name")]),
            "linkParent" => (vec![a("Id"), a("Type")], vec![a("Name")]),
            "linkMultiple" | "attachmentMultiple" => {
                let mut actual = vec![a("Ids")];
                if self
                    .field(entity, field)
                    .is_some_and(|d| d.get("columns").is_some())
                {
                    actual.push(a("Columns"));
                }
                (actual, vec![a("Names")])
            }
            "email" | "phone" => (
                vec![field.to_owned(), a("Data")],
                vec![a("IsOptedOut"), a("IsInvalid")],
            ),
            "currency" => (vec![field.to_owned(), a("Currency")], vec![a("Converted")]),
            "datetimeOptional" => (vec![field.to_owned(), a("Date")], vec![]),
            "personName" | "address" | "map" => (vec![], vec![]),
            _ => (vec![field.to_owned()], vec![]),
        };
        let all = actual.iter().chain(&derived).cloned().collect();
        (actual, all)
    }

    /// Attributes that only a detail read returns (link-multiple ids and names, the email and
    /// phone data arrays).
    pub fn detail_only(&self, entity: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (name, def) in self.fields(entity) {
            match def.get("type").and_then(Value::as_str) {
                Some("linkMultiple" | "attachmentMultiple") => {
                    out.insert(format!("{name}Ids"));
                    out.insert(format!("{name}Names"));
                    out.insert(format!("{name}Columns"));
                }
                Some("email" | "phone") => {
                    out.insert(format!("{name}Data"));
                }
                _ => {}
            }
        }
        out
    }

    /// The field whose options are this entity's kanban columns.
    pub fn status_field(&self, entity: &str) -> Option<&str> {
        self.scope(entity)?.get("statusField")?.as_str()
    }
}
