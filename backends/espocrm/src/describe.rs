//! Entity schemas from EspoCRM metadata: `entityDefs.{Entity}` (fields and links) plus the
//! labels of `I18n` — field labels, and the labels of enum options, with `optionsReference`
//! resolved to the options of the referenced field. Custom fields and custom entities are
//! described the same way as built-in ones.
//!
//! EspoCRM *fields* are expanded to the *attributes* records carry and filters use: a link
//! field `account` becomes `accountId` (a reference) and `accountName` (read-only); a
//! link-multiple `teams` becomes `teamsIds` and `teamsNames`; a parent link becomes
//! `parentType`, `parentId`, `parentName`; email and phone fields add their `…Data` arrays.
//! Pure functions here; [`crate::backend`] loads the metadata and caches the result.
//!
//! Per field, what EspoCRM runs: a stored attribute filters with every operator its type takes
//! ([`crate::filters`] maps them all) and sorts unless `orderDisabled`; a `notStorable` one
//! filters only with the operators its own `where` definition lists and sorts only with an
//! `order` definition; name lists (`…Names`), `…Data` arrays and a parent's name filter with
//! nothing; `readOnlyAfterCreate` makes a field create-only. Entities with
//! `optimisticConcurrencyControl` also show their records' read-only `versionNumber`.

use crate::names::canonical;
use crmgate_core::filter::FilterOp;
use crmgate_core::schema::{
    EntitySchema, EnumOption, FieldSchema, FieldType, LinkKind, LinkSchema,
};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Attributes in the compact default projection, when an entity has them.
const COMPACT: &[&str] = &[
    "name",
    "subject",
    "status",
    "stage",
    "type",
    "title",
    "emailAddress",
    "phoneNumber",
    "accountName",
    "amount",
    "amountCurrency",
    "closeDate",
    "dateStart",
    "dateEnd",
    "parentType",
    "parentName",
    "assignedUserName",
    "createdAt",
];

/// Field types that are never writable.
const READ_ONLY_TYPES: &[&str] = &[
    "foreign",
    "autoincrement",
    "number",
    "currencyConverted",
    "linkOne",
    "attachmentMultiple",
    "file",
    "image",
];

/// Field types that carry no attribute of their own (their parts are fields of their own) or
/// nothing an agent can use.
const SKIPPED_TYPES: &[&str] = &[
    "address",
    "map",
    "password",
    "rangeInt",
    "rangeFloat",
    "rangeCurrency",
];

/// `(entity, field)` pairs whose options an entity's enums borrow (`optionsReference`).
pub fn option_references(defs: &Value) -> Vec<(String, String)> {
    let mut refs = BTreeSet::new();
    if let Some(fields) = defs.get("fields").and_then(Value::as_object) {
        for def in fields.values() {
            if let Some((e, f)) = def
                .get("optionsReference")
                .and_then(Value::as_str)
                .and_then(|r| r.split_once('.'))
            {
                refs.insert((e.to_owned(), f.to_owned()));
            }
        }
    }
    refs.into_iter().collect()
}

/// Options of referenced fields, keyed by `Entity.field`.
pub type Referenced = BTreeMap<String, Vec<String>>;

struct Labels<'a> {
    i18n: &'a Value,
    native: &'a str,
}

impl Labels<'_> {
    fn lookup(&self, scope: &str, group: &str, key: &str) -> Option<String> {
        self.i18n
            .get(scope)?
            .get(group)?
            .get(key)?
            .as_str()
            .map(str::to_owned)
    }

    fn field(&self, name: &str) -> String {
        self.lookup(self.native, "fields", name)
            .or_else(|| self.lookup("Global", "fields", name))
            .unwrap_or_else(|| humanize(name))
    }

    fn scope(&self, native: &str) -> String {
        self.lookup("Global", "scopeNames", native)
            .unwrap_or_else(|| native.to_owned())
    }

    fn option(&self, scope: &str, field: &str, value: &str) -> String {
        let found = self
            .i18n
            .get(scope)
            .and_then(|s| s.get("options"))
            .and_then(|o| o.get(field))
            .and_then(|f| f.get(value))
            .and_then(Value::as_str)
            .or_else(|| {
                self.i18n
                    .get("Global")?
                    .get("options")?
                    .get(field)?
                    .get(value)?
                    .as_str()
            });
        match found {
            Some(label) if !label.is_empty() => label.to_owned(),
            _ if value.is_empty() => "(none)".to_owned(),
            _ => value.to_owned(),
        }
    }
}

/// `billingAddressCity` → `Billing address city`.
fn humanize(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if i == 0 {
            out.push(c.to_ascii_uppercase());
        } else if c.is_ascii_uppercase() {
            out.push(' ');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn flag(def: &Value, key: &str) -> bool {
    def.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| match x {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The schema of `native` from its `entityDefs` and the I18n tree.
pub fn schema(native: &str, defs: &Value, i18n: &Value, referenced: &Referenced) -> EntitySchema {
    let labels = Labels { i18n, native };
    let empty = Map::new();
    let fields = defs
        .get("fields")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let links = defs
        .get("links")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut out: BTreeMap<String, FieldSchema> = BTreeMap::new();
    out.insert(
        "id".into(),
        FieldSchema::new("id", FieldType::Id)
            .label("ID")
            .read_only(),
    );
    for (name, def) in fields {
        let kind = def.get("type").and_then(Value::as_str).unwrap_or("varchar");
        if flag(def, "disabled")
            || flag(def, "utility")
            || flag(def, "directAccessDisabled")
            || SKIPPED_TYPES.contains(&kind)
        {
            continue;
        }
        let read_only = flag(def, "readOnly")
            || READ_ONLY_TYPES.contains(&kind)
            || (flag(def, "notStorable") && flag(def, "orderDisabled"));
        let create_only = !read_only && flag(def, "readOnlyAfterCreate");
        let required = flag(def, "required") && !read_only;
        let query = Query::of(def);
        let label = labels.field(name);
        let target = links
            .get(name)
            .and_then(|l| l.get("entity"))
            .and_then(Value::as_str)
            .or_else(|| def.get("entity").and_then(Value::as_str))
            .map(canonical);
        let mut add = |f: FieldSchema| {
            let f = if read_only {
                f.read_only()
            } else if create_only {
                f.create_only()
            } else {
                f
            };
            out.entry(f.name.clone()).or_insert(f);
        };
        let base = |attr: &str, t: FieldType, l: &str| {
            let mut f = FieldSchema::new(attr, t).label(l);
            if required {
                f = f.required();
            }
            query.apply(f)
        };
        match kind {
            "link" | "linkOne" | "file" | "image" => {
                let mut id = base(
                    &format!("{name}Id"),
                    FieldType::Reference,
                    &format!("{label} (id)"),
                );
                if let Some(t) = &target {
                    id = id.links_to(t.clone());
                } else if matches!(kind, "file" | "image") {
                    id = id.links_to("Attachment");
                }
                add(id);
                if kind != "file" && kind != "image" {
                    add(FieldSchema::new(format!("{name}Name"), FieldType::Text)
                        .label(format!("{label} (name)"))
                        .read_only());
                }
            }
            "linkMultiple" | "attachmentMultiple" => {
                let mut ids = base(
                    &format!("{name}Ids"),
                    FieldType::References,
                    &format!("{label} (ids)"),
                );
                if let Some(t) = &target {
                    ids = ids.links_to(t.clone());
                }
                add(ids);
                add(unqueried(
                    FieldSchema::new(format!("{name}Names"), FieldType::Json)
                        .label(format!("{label} (names)"))
                        .read_only(),
                ));
                if def.get("columns").is_some() {
                    add(unqueried(
                        FieldSchema::new(format!("{name}Columns"), FieldType::Json)
                            .label(format!("{label} (relationship columns)")),
                    ));
                }
            }
            "linkParent" => {
                let entities = string_list(def.get("entityList"));
                let mut t = base(
                    &format!("{name}Type"),
                    if entities.is_empty() {
                        FieldType::Text
                    } else {
                        FieldType::Enum
                    },
                    &format!("{label} (type)"),
                );
                t = t.options(
                    entities
                        .iter()
                        .map(|e| EnumOption::new(e.clone(), labels.scope(e)))
                        .collect(),
                );
                add(t);
                add(base(
                    &format!("{name}Id"),
                    FieldType::Reference,
                    &format!("{label} (id)"),
                ));
                add(unqueried(
                    FieldSchema::new(format!("{name}Name"), FieldType::Text)
                        .label(format!("{label} (name)"))
                        .read_only(),
                ));
            }
            // the full name: EspoCRM matches and orders it through first and last name
            "personName" => add(FieldSchema::new(name.clone(), FieldType::Text)
                .label(label.clone())
                .read_only()
                .filter_ops(&[FilterOp::Eq, FilterOp::Contains, FilterOp::StartsWith])),
            "email" | "phone" => {
                let t = if kind == "email" {
                    FieldType::Email
                } else {
                    FieldType::Phone
                };
                add(base(name, t, &label));
                add(unqueried(
                    FieldSchema::new(format!("{name}Data"), FieldType::Json)
                        .label(format!("{label} (all, with primary/opt-out flags)")),
                ));
            }
            "enum" | "multiEnum" | "array" | "checklist" => {
                let values = match def.get("optionsReference").and_then(Value::as_str) {
                    Some(r) => referenced.get(r).cloned().unwrap_or_default(),
                    None => string_list(def.get("options")),
                };
                let (scope, of) = match def
                    .get("optionsReference")
                    .and_then(Value::as_str)
                    .and_then(|r| r.split_once('.'))
                {
                    Some((s, f)) => (s.to_owned(), f.to_owned()),
                    None => (native.to_owned(), name.clone()),
                };
                let options: Vec<EnumOption> = values
                    .iter()
                    .map(|v| EnumOption::new(v.clone(), labels.option(&scope, &of, v)))
                    .collect();
                let t = match (kind, options.is_empty()) {
                    ("enum", true) => FieldType::Text,
                    ("enum", false) => FieldType::Enum,
                    _ => FieldType::MultiEnum,
                };
                add(base(name, t, &label).options(options));
            }
            "datetimeOptional" => {
                add(base(name, FieldType::DateTime, &label));
                add(FieldSchema::new(format!("{name}Date"), FieldType::Date)
                    .label(format!("{label} (all-day date)")));
            }
            other => {
                let mut f = base(name, field_type(other), &label);
                if let Some(max) = def.get("maxLength").and_then(Value::as_u64) {
                    f = f.max_length(max as usize);
                }
                add(f);
            }
        }
    }
    // an ORM attribute, not a field: EspoCRM adds it to entities with optimistic concurrency
    if versioned(defs) {
        out.entry("versionNumber".into()).or_insert_with(|| {
            FieldSchema::new("versionNumber", FieldType::Integer)
                .label("Version number")
                .read_only()
        });
    }
    for f in out.values_mut() {
        f.compact = COMPACT.contains(&f.name.as_str());
    }
    let mut ordered: Vec<FieldSchema> = Vec::with_capacity(out.len());
    for first in ["id", "name"] {
        if let Some(f) = out.remove(first) {
            ordered.push(f);
        }
    }
    ordered.extend(out.into_values());
    EntitySchema {
        entity: canonical(native),
        native: native.to_owned(),
        fields: ordered,
        links: link_schemas(links),
    }
}

/// Whether records carry `versionNumber`: `optimisticConcurrencyControl` in `entityDefs`.
pub fn versioned(defs: &Value) -> bool {
    flag(defs, "optimisticConcurrencyControl")
}

/// Neither filtered nor sorted (EspoCRM has no query on it).
fn unqueried(f: FieldSchema) -> FieldSchema {
    f.filter_ops(&[]).sortable(false)
}

/// What EspoCRM can query on a field, from its definition.
struct Query {
    /// `notStorable`: only a `where` / `order` definition makes it queryable.
    stored: bool,
    /// The where types its own `where` definition lists (`=`, `LIKE`, `IS NULL`, …).
    where_types: Vec<String>,
    /// Sorts: stored or with an `order` definition, and not `orderDisabled`.
    sortable: bool,
}

impl Query {
    fn of(def: &Value) -> Query {
        let stored = !flag(def, "notStorable");
        Query {
            stored,
            where_types: def
                .get("where")
                .and_then(Value::as_object)
                .map(|w| w.keys().map(|k| k.to_ascii_uppercase()).collect())
                .unwrap_or_default(),
            sortable: !flag(def, "orderDisabled") && (stored || def.get("order").is_some()),
        }
    }

    /// Narrow a field's operators and sorting to what EspoCRM runs on it.
    fn apply(&self, f: FieldSchema) -> FieldSchema {
        let sortable = f.sortable && self.sortable;
        if self.stored {
            return f.sortable(sortable);
        }
        let has = |t: &str| self.where_types.iter().any(|w| w == t);
        let boolean = f.field_type == FieldType::Boolean;
        let textual = matches!(
            f.field_type,
            FieldType::Text | FieldType::LongText | FieldType::Enum | FieldType::Url
        );
        let ops: Vec<FilterOp> = f
            .filter_ops
            .iter()
            .copied()
            .filter(|op| match op {
                FilterOp::Eq if boolean => has("= TRUE") && has("= FALSE"),
                FilterOp::Ne if boolean => has("= TRUE") && has("= FALSE"),
                FilterOp::Eq => has("="),
                FilterOp::Ne => has("<>") && has("IS NULL"),
                FilterOp::In => has("IN"),
                FilterOp::NotIn => has("NOT IN") && has("IS NULL"),
                FilterOp::Contains | FilterOp::StartsWith => has("LIKE"),
                FilterOp::IsNull => has("IS NULL") && (!textual || has("=")),
                FilterOp::IsNotNull => has("IS NOT NULL") && (!textual || has("<>")),
                FilterOp::Gt => has(">"),
                FilterOp::Gte => has(">="),
                FilterOp::Lt => has("<"),
                FilterOp::Lte => has("<="),
                FilterOp::Between => has(">=") && has("<="),
            })
            .collect();
        f.filter_ops(&ops).sortable(sortable)
    }
}

/// The common type of a simple EspoCRM field type.
pub fn field_type(kind: &str) -> FieldType {
    match kind {
        "text" | "wysiwyg" => FieldType::LongText,
        "int" | "autoincrement" | "duration" | "enumInt" => FieldType::Integer,
        "float" | "decimal" | "enumFloat" => FieldType::Number,
        "currency" | "currencyConverted" => FieldType::Money,
        "bool" => FieldType::Boolean,
        "date" => FieldType::Date,
        "datetime" => FieldType::DateTime,
        "url" => FieldType::Url,
        "email" => FieldType::Email,
        "phone" => FieldType::Phone,
        "jsonArray" | "jsonObject" | "arrayInt" | "urlMultiple" => FieldType::Json,
        _ => FieldType::Text,
    }
}

fn link_schemas(links: &Map<String, Value>) -> Vec<LinkSchema> {
    links
        .iter()
        .filter_map(|(name, def)| {
            let kind = def.get("type").and_then(Value::as_str)?;
            if flag(def, "disabled") || flag(def, "utility") || kind == "belongsToParent" {
                return None;
            }
            let target = canonical(def.get("entity").and_then(Value::as_str)?);
            let (kind, writable) = match kind {
                "hasMany" | "hasChildren" => (LinkKind::Many, true),
                "belongsTo" | "hasOne" => (LinkKind::One, false),
                _ => return None,
            };
            Some(LinkSchema {
                name: name.clone(),
                target,
                kind,
                writable,
            })
        })
        .collect()
}
