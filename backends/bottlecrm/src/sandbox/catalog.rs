//! The recorded OpenAPI document (trimmed to the eight create operations) and the choice lists
//! the sandbox validates against, read from its enum components.

use crate::describe::openapi::enum_labels;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The recorded exchange holding the document (`tests/fixtures/schema__json.json`).
const RECORDED: &str = include_str!("../../tests/fixtures/schema__json.json");

/// The OpenAPI document `GET /schema/?format=json` answers.
pub fn doc() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        serde_json::from_str::<Value>(RECORDED)
            .ok()
            .and_then(|v| v.pointer("/response/body").cloned())
            .unwrap_or(Value::Null)
    })
}

/// Every enum component of the document: name → `(value, label)` pairs, parsed once.
fn enums() -> &'static HashMap<String, Vec<(String, String)>> {
    static ENUMS: OnceLock<HashMap<String, Vec<(String, String)>>> = OnceLock::new();
    ENUMS.get_or_init(|| {
        let schemas = doc()
            .pointer("/components/schemas")
            .and_then(Value::as_object);
        schemas
            .into_iter()
            .flatten()
            .filter_map(|(name, c)| {
                let values = c.get("enum")?.as_array()?;
                let labels = c
                    .get("description")
                    .and_then(Value::as_str)
                    .map(enum_labels)
                    .unwrap_or_default();
                let pairs = values
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|v| {
                        let label = labels
                            .iter()
                            .find(|(x, _)| x == v)
                            .map_or(v, |(_, l)| l.as_str());
                        (v.to_owned(), label.to_owned())
                    })
                    .collect();
                Some((name.clone(), pairs))
            })
            .collect()
    })
}

/// `(value, label)` pairs of an enum component (`ClientCountryEnum`, `IndustryEnum`, …).
pub fn choices(component: &str) -> &'static [(String, String)] {
    enums().get(component).map(Vec::as_slice).unwrap_or(&[])
}

/// Whether `value` is one of an enum component's values.
pub fn is_choice(component: &str, value: &str) -> bool {
    choices(component).iter().any(|(v, _)| v == value)
}

/// `[[value, label], …]` for a catalogue, at most `n` entries (BottleCRM sends them all; the
/// recording trimmed long ones, and so does the sandbox).
pub fn pairs(component: &str, n: usize) -> Value {
    Value::Array(
        choices(component)
            .iter()
            .take(n)
            .map(|(v, l)| Value::Array(vec![v.as_str().into(), l.as_str().into()]))
            .collect(),
    )
}
