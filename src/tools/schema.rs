//! The tools' JSON Schemas, generated from the argument and result types of
//! `crmgate_core::gateway::args` (one source of truth: the field names, types and doc comments
//! there are what hosts and models see) and reduced to the subset every host accepts.
//!
//! Input schemas keep descriptions and lose everything hosts stumble on: no `$schema`, `$ref`,
//! `format`, `title`, `default` or numeric/array bounds (bounds are stated in descriptions), no
//! `type` lists (an optional argument is its plain type; "absent" is not sent as null), no
//! `additionalProperties: false` (strict converters add it themselves). An open object (`data`,
//! `params`) keeps `additionalProperties: true`, so a strict-mode converter refuses to close it
//! instead of silently turning it into `{}`. See [`super::portable`] for the rules, checked by
//! tests on every tool at every tier.
//!
//! Output schemas are shallow: the top-level keys of `structuredContent` with their types
//! (records are `object`), no descriptions. They describe successful results only: an error
//! result carries no `structuredContent` (see `tools::call`).

use crmgate_core::gateway::Tier;
use schemars::JsonSchema;
use schemars::generate::Contract;
use serde_json::{Map, Value, json};

/// Deployment figures written into descriptions when the tools are listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// Page size when none is asked.
    pub default_limit: usize,
    /// Largest page.
    pub limit_cap: usize,
    /// Most ids in one crm_get.
    pub max_get_ids: usize,
    /// What crm_delete does on this backend, as the model should read it.
    pub delete: &'static str,
    /// The tier in force.
    pub tier: Tier,
}

impl Facts {
    /// Fill `{default_limit}`, `{limit_cap}`, `{max_get_ids}` and `{delete}` in `text`.
    pub fn fill(&self, text: &str) -> String {
        text.replace("{default_limit}", &self.default_limit.to_string())
            .replace("{limit_cap}", &self.limit_cap.to_string())
            .replace("{max_get_ids}", &self.max_get_ids.to_string())
            .replace("{delete}", self.delete)
    }
}

/// What a delete does on a backend kind, for the crm_delete description. Each backend also
/// reports it per entity (`EntityInfo::delete`); `tests/schemas.rs` checks they agree.
pub fn delete_kind(backend_kind: &str) -> &'static str {
    match backend_kind {
        "espocrm" | "bitrix24" => "soft: restorable in the CRM",
        _ => "permanent",
    }
}

/// The raw schema of `T` as schemars generates it (subschemas inline, no meta-schema), for
/// what the tool accepts (`Deserialize`) or what it returns (`Serialize`).
fn generate<T: JsonSchema>(contract: Contract) -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
            s.contract = contract;
        })
        .into_generator();
    generator.into_root_schema_for::<T>().to_value()
}

/// The input schema of a tool whose arguments are `T`, with the deployment's figures filled in.
pub fn input<T: JsonSchema>(facts: &Facts) -> Value {
    let mut schema = generate::<T>(Contract::Deserialize);
    portable(&mut schema, facts);
    if let Some(root) = schema.as_object_mut() {
        root.remove("description"); // the tool's description says it
        root.entry("properties").or_insert_with(|| json!({}));
    }
    if let Some(props) = schema["properties"].as_object_mut() {
        for prop in props.values_mut() {
            // the type's own doc comment (a `where` item's) is for Rust readers
            if let Some(items) = prop.get_mut("items").and_then(Value::as_object_mut) {
                items.remove("description");
            }
        }
        // the groups of `any` are lists of `where` items: say it once, on `where`
        if props.contains_key("where")
            && let Some(group_item) = props
                .get_mut("any")
                .and_then(|any| any.get_mut("items"))
                .and_then(|group| group.get_mut("items"))
        {
            strip_descriptions(group_item);
        }
    }
    schema
}

/// Descriptions, enums and `required` off: a repeat of a schema already stated in full.
fn strip_descriptions(node: &mut Value) {
    match node {
        Value::Object(map) => {
            map.remove("description");
            map.remove("enum");
            map.remove("required");
            if let Some(Value::Object(props)) = map.get_mut("properties") {
                props.values_mut().for_each(strip_descriptions);
            }
            for key in ["items", "anyOf"] {
                if let Some(sub) = map.get_mut(key) {
                    strip_descriptions(sub);
                }
            }
        }
        Value::Array(options) => options.iter_mut().for_each(strip_descriptions),
        _ => {}
    }
}

/// The shallow output schema of a tool whose result is `T`.
pub fn output<T: JsonSchema>() -> Value {
    let mut schema = generate::<T>(Contract::Serialize);
    portable(&mut schema, &Facts::placeholder());
    let root = merge_variants(schema);
    let mut properties = Map::new();
    let mut dropped = Vec::new();
    if let Some(props) = root.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            match shallow(prop) {
                Some(p) => {
                    properties.insert(name.clone(), p);
                }
                None => dropped.push(name.clone()),
            }
        }
    }
    let mut out = json!({"type": "object", "properties": properties});
    let required: Vec<Value> = root
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| r.as_str().is_some_and(|r| !dropped.iter().any(|d| d == r)))
        .cloned()
        .collect();
    if !required.is_empty() {
        out["required"] = Value::Array(required);
    }
    out
}

/// The output schema of a tool with two result shapes (one record or a bulk change): every
/// key of either, required only where both require it.
pub fn union(a: Value, b: Value) -> Value {
    merge_variants(json!({"anyOf": [a, b]}))
}

impl Facts {
    /// Facts for a schema whose descriptions do not matter.
    pub(crate) fn placeholder() -> Self {
        Facts {
            default_limit: 0,
            limit_cap: 0,
            max_get_ids: 0,
            delete: "",
            tier: Tier::Read,
        }
    }
}

/// Keywords no host needs, or some hosts refuse.
const DROPPED: &[&str] = &[
    "$schema",
    "$id",
    "title",
    "format",
    "default",
    "examples",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minLength",
    "maxLength",
];

/// Reduce a generated schema to the portable subset, in place, and fill in the facts.
fn portable(node: &mut Value, facts: &Facts) {
    let Value::Object(map) = node else {
        return;
    };
    // `anyOf: [X, {type: null}]` (an optional compound) is X
    if let Some(Value::Array(options)) = map.get("anyOf") {
        let kept: Vec<Value> = options
            .iter()
            .filter(|o| o.get("type") != Some(&json!("null")))
            .cloned()
            .collect();
        map.remove("anyOf");
        match <[Value; 1]>::try_from(kept) {
            Ok([Value::Object(inner)]) => {
                for (k, v) in inner {
                    map.entry(k).or_insert(v);
                }
            }
            Ok([other]) => {
                map.insert("anyOf".into(), Value::Array(vec![other]));
            }
            Err(kept) => {
                map.insert("anyOf".into(), Value::Array(kept));
            }
        }
    }
    for key in DROPPED {
        map.remove(*key);
    }
    // `["string", "null"]` (an Option) is just "string": absent means absent
    if let Some(Value::Array(types)) = map.get("type") {
        let types: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        if let Ok([one]) = <[Value; 1]>::try_from(types) {
            map.insert("type".into(), one);
        }
    }
    if map.get("additionalProperties") == Some(&Value::Bool(false)) {
        map.remove("additionalProperties");
    }
    if map
        .get("required")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
    {
        map.remove("required");
    }
    if let Some(Value::String(text)) = map.get_mut("description") {
        *text = facts.fill(text.trim_end_matches('.'));
    }
    // recurse into subschemas only (a property may well be called "title")
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        props.values_mut().for_each(|p| portable(p, facts));
    }
    if let Some(Value::Array(options)) = map.get_mut("anyOf") {
        options.iter_mut().for_each(|o| portable(o, facts));
    }
    for key in ["items", "additionalProperties"] {
        if let Some(sub @ Value::Object(_)) = map.get_mut(key) {
            portable(sub, facts);
        }
    }
}

/// An untagged enum of objects (`anyOf` at the root) as one object: every variant's keys,
/// required only when every variant requires them.
fn merge_variants(schema: Value) -> Value {
    let Some(variants) = schema.get("anyOf").and_then(Value::as_array) else {
        return schema;
    };
    let mut properties = Map::new();
    let mut required: Option<Vec<Value>> = None;
    for variant in variants {
        if let Some(props) = variant.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                properties.entry(k.clone()).or_insert(v.clone());
            }
        }
        let these: Vec<Value> = variant
            .get("required")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        required = Some(match required {
            None => these,
            Some(before) => before.into_iter().filter(|r| these.contains(r)).collect(),
        });
    }
    json!({"type": "object", "properties": properties, "required": required.unwrap_or_default()})
}

/// A property of an output schema, one level deep: its type, and for arrays the type of the
/// items. `None` for an untyped value (any JSON), which the schema then leaves open.
fn shallow(prop: &Value) -> Option<Value> {
    let ty = prop.get("type")?.as_str()?;
    Some(match ty {
        "array" => {
            let items = prop
                .get("items")
                .and_then(shallow)
                .unwrap_or_else(|| json!({}));
            json!({"type": "array", "items": items})
        }
        other => json!({ "type": other }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crmgate_core::gateway::*;

    fn facts() -> Facts {
        Facts {
            default_limit: 20,
            limit_cap: 50,
            max_get_ids: 100,
            delete: "permanent",
            tier: Tier::Destructive,
        }
    }

    #[test]
    fn optional_arguments_are_their_plain_type_and_facts_are_filled() {
        let s = input::<SearchArgs>(&facts());
        assert_eq!(s["type"], "object");
        assert_eq!(s["required"], json!(["entity"]));
        assert_eq!(s["properties"]["limit"]["type"], "integer");
        assert_eq!(s["properties"]["query"]["type"], "string");
        assert_eq!(s["properties"]["cursor"]["type"], "string");
        let limit = s["properties"]["limit"]["description"].as_str().unwrap();
        assert!(limit.contains("Max 50"), "{limit}");
        assert_eq!(s["properties"]["sort"]["items"]["type"], "string");
        let text = s.to_string();
        for noise in [
            "$schema",
            "format",
            "\"null\"",
            "$ref",
            "$defs",
            "title",
            "\"default\"",
        ] {
            assert!(!text.contains(noise), "{noise} in {text}");
        }
    }

    #[test]
    fn open_objects_say_so_and_known_ones_do_not() {
        let s = input::<CreateArgs>(&facts());
        assert_eq!(s["properties"]["data"]["type"], "object");
        assert_eq!(s["properties"]["data"]["additionalProperties"], true);
        assert!(s.get("additionalProperties").is_none());
        let c = input::<CallArgs>(&facts());
        assert_eq!(c["properties"]["params"]["additionalProperties"], true);
    }

    #[test]
    fn output_schemas_merge_variants_and_stay_shallow() {
        let d = output::<DeleteOutput>();
        assert_eq!(d["type"], "object");
        let props = d["properties"].as_object().unwrap();
        for key in [
            "preview",
            "confirm_token",
            "deleted",
            "delete",
            "entity",
            "id",
        ] {
            assert!(props.contains_key(key), "{key}: {d}");
        }
        assert_eq!(d["required"], json!(["delete", "deleted"]));
        let s = output::<SearchOutput>();
        assert_eq!(
            s["properties"]["records"],
            json!({"type": "array", "items": {"type": "object"}})
        );
        assert_eq!(s["properties"]["applied"], json!({"type": "object"}));
        // an untyped value (the vendor's answer) is left open rather than mistyped
        let c = output::<CallOutput>();
        assert!(c["properties"].get("result").is_none());
        assert_eq!(c["required"], json!(["method", "class"]));
    }
}
