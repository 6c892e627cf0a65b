//! `batch` commands as values: a [`Command`] carries literal parameters (data — never read as
//! a back-reference) and, separately, the deliberate [`Reference`]s crmgate places in it
//! (`$result[c00][items][49][id]`). [`encode`] writes a command line only when no literal value
//! would be read by the portal as a reference ([`crate::php::has_reference`]); otherwise the
//! client runs the commands one by one and resolves the references itself
//! ([`Reference::resolve`], the portal's own walk), so a value such as `$result[x][0]` typed by
//! an agent is searched for as text, never substituted.
//!
//! [`BatchOutcome`] reads the answer (`result`, `result_error`, `result_total`,
//! `result_next`, each possibly PHP's `[]`), taking ownership of the parsed JSON.
//!
//! Pure functions, no I/O.

use crate::error::VendorError;
use crate::{php, wire};
use crmgate_core::{Error, Result};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Most commands in one `batch`.
pub const MAX_BATCH: usize = 50;

/// A back-reference to an earlier command's result: `$result[command][path…]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The earlier command's name.
    pub command: String,
    /// Keys into its result.
    pub path: Vec<String>,
}

impl Reference {
    /// `$result[command][path…]`.
    pub fn new(command: impl Into<String>, path: &[&str]) -> Self {
        Reference {
            command: command.into(),
            path: path.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    /// The text the portal resolves: `$result[c00][items][49][id]`.
    pub fn text(&self) -> String {
        let mut out = format!("$result[{}]", self.command);
        for key in &self.path {
            out.push('[');
            out.push_str(key);
            out.push(']');
        }
        out
    }

    /// The value it names among earlier results, when every key exists (the portal would
    /// substitute a partial walk; crmgate does not send such a command at all).
    pub fn resolve<'a>(&self, results: &'a Map<String, Value>) -> Option<&'a Value> {
        let mut current = results.get(&self.command)?;
        for key in &self.path {
            current = match current {
                Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
                Value::Object(map) => map.get(key)?,
                _ => return None,
            };
        }
        Some(current)
    }
}

/// One command of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// Its key in `cmd` (what `$result[name]` references name).
    pub name: String,
    /// The REST method.
    pub method: String,
    /// Its literal parameters (encoded PHP-style into the command string).
    pub params: Value,
    /// References placed at a key path of `params` when the command is sent.
    pub references: Vec<(Vec<String>, Reference)>,
}

impl Command {
    /// A command with literal parameters.
    pub fn new(name: impl Into<String>, method: &str, params: Value) -> Self {
        Command {
            name: name.into(),
            method: method.to_owned(),
            params,
            references: Vec::new(),
        }
    }

    /// Place `reference` at `slot` (object keys from the top of `params`).
    pub fn refer(mut self, slot: &[&str], reference: Reference) -> Self {
        self.references
            .push((slot.iter().map(|s| (*s).to_owned()).collect(), reference));
        self
    }

    /// Whether a literal value would be read as a back-reference inside `batch`.
    pub fn needs_literal_call(&self) -> bool {
        php::has_reference(&self.params)
    }

    /// The parameters with each reference written as the portal resolves it (for `batch`).
    pub fn with_reference_text(&self) -> Value {
        let mut params = self.params.clone();
        for (slot, reference) in &self.references {
            place(&mut params, slot, Value::String(reference.text()));
        }
        params
    }

    /// The parameters with each reference resolved against earlier results (for a call of its
    /// own); `None` when one does not resolve.
    pub fn with_references_resolved(&self, results: &Map<String, Value>) -> Option<Value> {
        let mut params = self.params.clone();
        for (slot, reference) in &self.references {
            place(&mut params, slot, reference.resolve(results)?.clone());
        }
        Some(params)
    }
}

fn place(root: &mut Value, slot: &[String], value: Value) {
    let mut current = root;
    for key in slot {
        if !current.is_object() {
            *current = Value::Object(Map::new());
        }
        let Value::Object(map) = current else {
            return;
        };
        current = map.entry(key.clone()).or_insert(Value::Null);
    }
    *current = value;
}

/// The `cmd` object of a batch request: `name → method?query`; `None` when a literal value of
/// some command would be read as a back-reference (send those one by one instead).
pub fn encode(commands: &[Command]) -> Option<Map<String, Value>> {
    if commands.iter().any(Command::needs_literal_call) {
        return None;
    }
    Some(
        commands
            .iter()
            .map(|c| {
                let query = php::build_query(&c.with_reference_text());
                let line = if query.is_empty() {
                    c.method.clone()
                } else {
                    format!("{}?{query}", c.method)
                };
                (c.name.clone(), Value::String(line))
            })
            .collect(),
    )
}

/// What a batch returned, per command name.
#[derive(Debug, Clone, Default)]
pub struct BatchOutcome {
    /// `result` per command.
    pub results: Map<String, Value>,
    /// `result_error` per command.
    pub errors: HashMap<String, VendorError>,
    /// `result_total` per command.
    pub totals: HashMap<String, i64>,
    /// `result_next` per command.
    pub nexts: HashMap<String, i64>,
    /// Commands sent one by one that failed short of a Bitrix24 answer (the connection, a
    /// locally blocked method) or were not sent after such a failure.
    pub failed: HashMap<String, Error>,
}

impl BatchOutcome {
    /// Read the inner `{result, result_error, result_total, result_next}`, tolerating `[]`.
    pub fn parse(result: Value) -> BatchOutcome {
        let Value::Object(mut parts) = result else {
            return BatchOutcome::default();
        };
        let mut part = |key: &str| keyed(parts.remove(key).unwrap_or(Value::Null));
        let numbers = |map: Map<String, Value>| -> HashMap<String, i64> {
            map.into_iter()
                .filter_map(|(k, v)| wire::int(&v).map(|n| (k, n)))
                .collect()
        };
        BatchOutcome {
            results: part("result"),
            errors: part("result_error")
                .into_iter()
                .filter_map(|(k, v)| VendorError::parse(None, &v).map(|e| (k, e)))
                .collect(),
            totals: numbers(part("result_total")),
            nexts: numbers(part("result_next")),
            failed: HashMap::new(),
        }
    }

    /// The result of one command, or its error mapped for `method`.
    pub fn take(&mut self, name: &str, method: &str) -> Result<Value> {
        if let Some(error) = self.failed.get(name) {
            return Err(error.clone());
        }
        if let Some(error) = self.errors.get(name) {
            return Err(error.to_error(method));
        }
        self.results.remove(name).ok_or_else(|| {
            Error::upstream_protocol(format!("Bitrix24's batch answer has no result for {name}"))
        })
    }
}

/// A map from an object, or from a list (PHP turns keys 0..n into a list); `[]` and `null`
/// are empty.
fn keyed(value: Value) -> Map<String, Value> {
    match value {
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crmgate_core::ErrorCode;
    use serde_json::json;

    #[test]
    fn batch_answers_tolerate_php_empty_arrays() {
        let mut outcome = BatchOutcome::parse(json!({
            "result": {"a": {"items": []}, "b": [1]},
            "result_error": [],
            "result_total": {"a": "120"},
            "result_next": [],
            "result_time": []
        }));
        assert_eq!(outcome.totals["a"], 120);
        assert!(outcome.errors.is_empty() && outcome.nexts.is_empty());
        assert_eq!(
            outcome.take("a", "crm.item.list").unwrap(),
            json!({"items": []})
        );
        assert!(outcome.take("zz", "crm.item.list").is_err());
        let mut failed = BatchOutcome::parse(json!({
            "result": [],
            "result_error": {"x": {"error": "NOT_FOUND", "error_description": "Item not found"}}
        }));
        assert_eq!(
            failed.take("x", "crm.item.get").unwrap_err().code,
            ErrorCode::NotFound
        );
        let listed = BatchOutcome::parse(json!({"result": [{"id": 1}, {"id": 2}]}));
        assert_eq!(listed.results.len(), 2);
        assert!(BatchOutcome::parse(json!([])).results.is_empty());
    }

    #[test]
    fn references_are_written_or_resolved_at_their_slot() {
        let c = Command::new("c01", "crm.item.list", json!({"filter": {"%title": "a"}})).refer(
            &["filter", "0", ">id"],
            Reference::new("c00", &["items", "1", "id"]),
        );
        assert_eq!(
            c.with_reference_text()["filter"]["0"][">id"],
            "$result[c00][items][1][id]"
        );
        let mut results = Map::new();
        results.insert("c00".into(), json!({"items": [{"id": 4}, {"id": 9}]}));
        let resolved = c.with_references_resolved(&results).unwrap();
        assert_eq!(resolved["filter"]["0"][">id"], 9);
        assert_eq!(resolved["filter"]["%title"], "a");
        results.insert("c00".into(), json!({"items": [{"id": 4}]}));
        assert!(c.with_references_resolved(&results).is_none(), "short page");
    }

    #[test]
    fn a_literal_that_reads_as_a_reference_is_never_encoded() {
        let safe = Command::new(
            "c00",
            "crm.item.list",
            json!({"filter": {"%title": "50% off_"}}),
        )
        .refer(&["filter", ">id"], Reference::new("x", &["0"]));
        assert!(encode(std::slice::from_ref(&safe)).is_some());
        for hostile in [
            "$result[c00][items][0][title]",
            "price $RESULT[a]",
            "$result_next[c00]",
            "$next[c00]",
            "x$error[c01][error]y",
        ] {
            let c = Command::new(
                "c00",
                "crm.item.list",
                json!({"filter": {"%title": hostile}}),
            );
            assert!(c.needs_literal_call(), "{hostile}");
            assert!(encode(&[safe.clone(), c]).is_none(), "{hostile}");
        }
        for harmless in [
            "$result",
            "$result []",
            "$5 [a]",
            "cost: $total",
            "$resul[t]",
        ] {
            let c = Command::new(
                "c00",
                "crm.item.list",
                json!({"filter": {"%title": harmless}}),
            );
            assert!(!c.needs_literal_call(), "{harmless}");
        }
    }
}
