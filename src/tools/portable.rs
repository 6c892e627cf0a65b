//! The portability rules every tool schema must pass, so that every host and model API
//! accepts the whole tool list. One refused schema can fail a host's entire request (OpenAI
//! refuses the request; Gemini clients drop the tool), so the rules are the intersection of
//! what the major APIs publish:
//!
//! - **OpenAI function calling** (incl. strict mode): `parameters` is an object schema; every
//!   array has `items`; no `$ref`-only tricks; strict mode supports `type`, `properties`,
//!   `required`, `items`, `enum`, `anyOf` (not at the root), `description`, and requires every
//!   object closed — a strict converter (OpenAI Agents SDK `ensure_strict_json_schema`) closes
//!   objects that do not say otherwise, and refuses (falls back to non-strict) where
//!   `additionalProperties: true` says the object is open.
//! - **Gemini's OpenAPI 3.0 subset** (`Schema`): one `type` per node (no type lists), `items` on
//!   every array, `enum` on strings only, no `$ref`/`$defs`/`$schema`, `const`, `oneOf`, `allOf`,
//!   `not`, no `title`-only nodes; property names `[A-Za-z_][A-Za-z0-9_]{0,63}`.
//! - **Anthropic / Claude Code**: no `anyOf`/`oneOf`/`allOf` at the root.
//! - **The official SDKs' validators** (TypeScript SDK 1.x: Ajv; Python SDK: `jsonschema`) —
//!   run for real by `tests/hosts.rs`.
//!
//! The one documented exception: an open object (`data`, `params`: field names vary per
//! entity) carries `additionalProperties: true` and no `properties`.

use serde_json::Value;

/// The keywords an input schema node may use.
const ALLOWED: &[&str] = &[
    "type",
    "description",
    "enum",
    "items",
    "properties",
    "required",
    "anyOf",
    "additionalProperties",
];

const TYPES: &[&str] = &["string", "number", "integer", "boolean", "array", "object"];

/// Everything wrong with an input schema, each as `path: problem`. Empty when portable.
pub fn lint_input(schema: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if schema.get("type") != Some(&Value::from("object")) {
        problems.push("$: the root must be type object".to_owned());
    }
    if !schema.get("properties").is_some_and(Value::is_object) {
        problems.push("$: the root must declare properties (even {})".to_owned());
    }
    if schema.get("additionalProperties").is_some() {
        problems.push("$: the root must not set additionalProperties".to_owned());
    }
    for key in ["anyOf", "oneOf", "allOf", "enum", "not"] {
        if schema.get(key).is_some() {
            problems.push(format!("$: {key} at the root"));
        }
    }
    node(schema, "$", true, &mut problems);
    problems
}

fn node(schema: &Value, path: &str, is_property: bool, problems: &mut Vec<String>) {
    let Some(map) = schema.as_object() else {
        problems.push(format!("{path}: a schema must be an object, not {schema}"));
        return;
    };
    for key in map.keys() {
        if !ALLOWED.contains(&key.as_str()) {
            problems.push(format!("{path}: keyword {key} is not portable"));
        }
    }
    // the groups of crm_search's `any` repeat `where`'s items, described there
    let repeated = path.contains("[][].");
    if is_property && path != "$" && !repeated {
        let described = map
            .get("description")
            .and_then(Value::as_str)
            .is_some_and(|d| !d.trim().is_empty());
        if !described {
            problems.push(format!("{path}: a property needs a description"));
        }
    }
    if let Some(Value::String(d)) = map.get("description")
        && d.contains(['{', '}'])
        && (d.contains("{default_limit}")
            || d.contains("{limit_cap}")
            || d.contains("{max_get_ids}"))
    {
        problems.push(format!("{path}: unfilled placeholder in {d:?}"));
    }
    match (map.get("type"), map.get("anyOf")) {
        (Some(_), Some(_)) => problems.push(format!("{path}: both type and anyOf")),
        (None, None) => problems.push(format!("{path}: no type")),
        (None, Some(Value::Array(options))) if !options.is_empty() => {
            for (i, option) in options.iter().enumerate() {
                node(option, &format!("{path}.anyOf[{i}]"), false, problems);
            }
        }
        (None, Some(_)) => problems.push(format!("{path}: anyOf must be a non-empty list")),
        (Some(Value::String(ty)), None) if TYPES.contains(&ty.as_str()) => {
            typed(map, ty, path, problems);
        }
        (Some(other), None) => problems.push(format!("{path}: type {other} is not one type")),
    }
}

fn typed(map: &serde_json::Map<String, Value>, ty: &str, path: &str, problems: &mut Vec<String>) {
    if ty != "array" && map.contains_key("items") {
        problems.push(format!("{path}: items on a {ty}"));
    }
    if ty != "object" {
        for key in ["properties", "required", "additionalProperties"] {
            if map.contains_key(key) {
                problems.push(format!("{path}: {key} on a {ty}"));
            }
        }
    }
    if let Some(values) = map.get("enum") {
        let strings = values
            .as_array()
            .is_some_and(|v| !v.is_empty() && v.iter().all(Value::is_string));
        if ty != "string" || !strings {
            problems.push(format!(
                "{path}: enum must be a non-empty list of strings on a string"
            ));
        }
    }
    match ty {
        "array" => match map.get("items") {
            Some(items) => node(items, &format!("{path}[]"), false, problems),
            None => problems.push(format!("{path}: an array needs items")),
        },
        "object" => object(map, path, problems),
        _ => {}
    }
}

fn object(map: &serde_json::Map<String, Value>, path: &str, problems: &mut Vec<String>) {
    let properties = map.get("properties").and_then(Value::as_object);
    match map.get("additionalProperties") {
        None => {}
        Some(Value::Bool(true)) if properties.is_none_or(|p| p.is_empty()) => {}
        Some(other) => problems.push(format!(
            "{path}: additionalProperties {other} (only true, on an open object without properties)"
        )),
    }
    if let Some(props) = properties {
        for (name, prop) in props {
            if !property_name_ok(name) {
                problems.push(format!("{path}.{name}: property name is not portable"));
            }
            node(prop, &format!("{path}.{name}"), true, problems);
        }
    }
    if let Some(required) = map.get("required") {
        match required.as_array() {
            Some(names) => {
                for name in names {
                    let known = name
                        .as_str()
                        .is_some_and(|n| properties.is_some_and(|p| p.contains_key(n)));
                    if !known {
                        problems.push(format!("{path}: required {name} is not a property"));
                    }
                }
            }
            None => problems.push(format!("{path}: required must be a list")),
        }
    }
}

/// Gemini's rule for parameter names (OpenAI's is looser).
fn property_name_ok(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A tool name every API accepts: `[A-Za-z0-9_-]{1,64}`.
pub fn tool_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// What an OpenAI strict-mode converter does with `schema`: `Ok(strict)` — every object closed
/// and every property required, as the converter sends it — or `Err(paths)` naming the open
/// objects that make it refuse strict mode (the host then sends the tool non-strict).
pub fn to_strict(schema: &Value) -> Result<Value, Vec<String>> {
    let mut strict = schema.clone();
    let mut open = Vec::new();
    close(&mut strict, "$", &mut open);
    if open.is_empty() {
        Ok(strict)
    } else {
        Err(open)
    }
}

fn close(schema: &mut Value, path: &str, open: &mut Vec<String>) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    if map.get("type") == Some(&Value::from("object")) {
        match map.get("additionalProperties") {
            None => {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            Some(Value::Bool(false)) => {}
            Some(_) => open.push(path.to_owned()),
        }
        let names: Vec<Value> = map
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().map(Value::String).collect())
            .unwrap_or_default();
        map.insert("required".into(), Value::Array(names));
        map.entry("properties")
            .or_insert_with(|| Value::Object(Default::default()));
    }
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        for (name, prop) in props.iter_mut() {
            close(prop, &format!("{path}.{name}"), open);
        }
    }
    if let Some(items) = map.get_mut("items") {
        close(items, &format!("{path}[]"), open);
    }
    if let Some(Value::Array(options)) = map.get_mut("anyOf") {
        for (i, option) in options.iter_mut().enumerate() {
            close(option, &format!("{path}.anyOf[{i}]"), open);
        }
    }
}

/// Everything wrong with an output schema (the shape of `structuredContent`): a typed object
/// root, typed nodes, arrays with items, nothing a validator could resolve differently.
pub fn lint_output(schema: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if schema.get("type") != Some(&Value::from("object")) {
        problems.push("$: the root must be type object".to_owned());
    }
    output_node(schema, "$", &mut problems);
    problems
}

fn output_node(schema: &Value, path: &str, problems: &mut Vec<String>) {
    let Some(map) = schema.as_object() else {
        problems.push(format!("{path}: not a schema object"));
        return;
    };
    for key in [
        "$ref", "$defs", "$schema", "oneOf", "allOf", "anyOf", "format",
    ] {
        if map.contains_key(key) {
            problems.push(format!("{path}: {key}"));
        }
    }
    if map.is_empty() && path.ends_with("[]") {
        return; // items of a list of arbitrary JSON values
    }
    match map.get("type").and_then(Value::as_str) {
        Some(ty) if TYPES.contains(&ty) => {
            if ty == "array" {
                match map.get("items") {
                    Some(items) => output_node(items, &format!("{path}[]"), problems),
                    None => problems.push(format!("{path}: an array needs items")),
                }
            }
        }
        _ => problems.push(format!("{path}: needs one type")),
    }
    if let Some(props) = map.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            output_node(prop, &format!("{path}.{name}"), problems);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_lint_catches_what_hosts_refuse() {
        let bad = json!({"type": "object", "properties": {
            "any": {"type": "array", "items": {"type": "array"}, "description": "x"},
            "sort": {"description": "no type"},
            "to": {"type": ["string", "array"], "description": "x"},
            "op": {"enum": ["eq"], "description": "x"},
            "n": {"type": "integer", "format": "uint32", "description": "x"},
            "r": {"$ref": "#/$defs/R", "description": "x"},
            "bare": {"type": "string"}
        }});
        let problems = lint_input(&bad).join("\n");
        for expected in [
            "$.any[]: an array needs items",
            "$.sort: no type",
            "$.to: type [\"string\",\"array\"] is not one type",
            "$.op: no type",
            "$.n: keyword format is not portable",
            "$.r: keyword $ref is not portable",
            "$.bare: a property needs a description",
        ] {
            assert!(problems.contains(expected), "{expected} not in\n{problems}");
        }
        let good = json!({"type": "object", "properties": {
            "entity": {"type": "string", "description": "e"},
            "data": {"type": "object", "additionalProperties": true, "description": "d"},
            "value": {"description": "v", "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "number"}}]}
        }, "required": ["entity"]});
        assert_eq!(lint_input(&good), Vec::<String>::new());
        assert!(
            !lint_input(&json!({"type": "object", "properties": {}, "required": ["x"]})).is_empty()
        );
    }

    #[test]
    fn strict_conversion_closes_known_objects_and_refuses_open_ones() {
        let closed = json!({"type": "object", "properties": {
            "where": {"type": "array", "items": {"type": "object", "properties": {"f": {"type": "string"}}}}
        }});
        let strict = to_strict(&closed).unwrap();
        assert_eq!(strict["additionalProperties"], false);
        assert_eq!(strict["required"], json!(["where"]));
        assert_eq!(
            strict["properties"]["where"]["items"]["additionalProperties"],
            false
        );
        let open = json!({"type": "object", "properties": {
            "data": {"type": "object", "additionalProperties": true}
        }});
        assert_eq!(to_strict(&open).unwrap_err(), vec!["$.data"]);
    }

    #[test]
    fn names() {
        assert!(tool_name_ok("crm_search"));
        assert!(!tool_name_ok("crm search"));
        assert!(property_name_ok("confirm_token"));
        assert!(!property_name_ok("1st"));
        assert!(!property_name_ok("a-b"));
    }
}
