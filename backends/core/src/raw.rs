//! Raw vendor methods (crm_call) as typed values.
//!
//! The agent's method text is hostile until a grammar accepts it. Each backend owns the grammar
//! of its raw methods and parses the text into a [`RawMethod`] — the normalised name that is
//! actually sent, and its [`RawClass`] — before anything else happens. The allow-list, the tier
//! check, the confirm token and the request itself all work on that value, never on the text:
//! what was checked is exactly what is sent.

use crate::gateway::Tier;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// How much a raw method can change, decided by the vendor's grammar (deny by default: a method
/// the vendor cannot place is at least a write).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RawClass {
    /// Only reads.
    Read,
    /// Creates or changes data (or anything not known to only read).
    Write,
    /// Deletes, or is documented as destructive: needs the destructive tier and a confirm token.
    Destructive,
}

impl RawClass {
    /// The least tier that may run a method of this class.
    pub fn tier(self) -> Tier {
        match self {
            RawClass::Read => Tier::Read,
            RawClass::Write => Tier::Write,
            RawClass::Destructive => Tier::Destructive,
        }
    }

    /// A few words for messages.
    pub fn describe(self) -> &'static str {
        match self {
            RawClass::Read => "it only reads",
            RawClass::Write => "it can change data",
            RawClass::Destructive => "it deletes, or the vendor documents it as destructive",
        }
    }
}

/// A raw method accepted by a vendor's grammar: the normalised name that is sent, and its class.
///
/// Built only by a backend's `raw_method` parser; a backend re-parses `name` with the same
/// grammar when it builds the request, so a hand-made value cannot smuggle anything past it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMethod {
    name: String,
    class: RawClass,
}

impl RawMethod {
    /// A parsed method (for backends' parsers).
    pub fn new(name: impl Into<String>, class: RawClass) -> Self {
        RawMethod {
            name: name.into(),
            class,
        }
    }

    /// The normalised name, exactly as it is sent (e.g. `crm.item.list`, `GET:/Account`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it can change.
    pub fn class(&self) -> RawClass {
        self.class
    }
}

/// The record a destructive raw call acts on, read before the preview (and again before the
/// confirmed call, so the token binds its version).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RawTarget {
    /// Where it was read, as a raw method with its parameters (e.g. `crm.item.get
    /// {"entityTypeId":2,"id":5}` or `GET:/Account/6b01…`).
    pub read: String,
    /// The record as the CRM returned it. Its text was written by outsiders.
    pub record: Value,
}

/// Whether `name` (already normalised by the vendor's grammar) is on the allow-list: an entry
/// is an exact name, or a prefix ending in `*`. Entries are compared as written, so an entry
/// that is not in normalised form matches nothing (the config loader normalises them).
pub fn allowed(patterns: &[String], name: &str) -> bool {
    patterns.iter().any(|pattern| {
        let pattern = pattern.trim();
        match pattern.strip_suffix('*') {
            Some(prefix) => !prefix.is_empty() && name.starts_with(prefix),
            None => pattern == name,
        }
    })
}

/// JSON with object keys sorted at every level: the same parameters always give the same text,
/// whatever order they were written in.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// A short hex SHA-256 of `text` (for binding tokens to parameters and record versions).
pub fn digest(text: &str) -> String {
    crmgate_shared::hex(&Sha256::digest(text.as_bytes()))
}

/// The agent's text as it may appear in a message: debug-quoted (control characters escaped)
/// and cut to 80 characters.
pub fn shown(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        return format!("{text:?}");
    }
    let cut: String = text.chars().take(MAX).collect();
    format!("{cut:?}… ({} characters)", text.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn allow_list_entries_are_exact_names_or_prefixes() {
        let allow = vec!["crm.item.list".to_owned(), "crm.status.*".to_owned()];
        assert!(allowed(&allow, "crm.item.list"));
        assert!(allowed(&allow, "crm.status.list"));
        assert!(!allowed(&allow, "crm.item.listx"));
        assert!(!allowed(&allow, "crm.item.delete"));
        assert!(!allowed(&allow, "crm.statu"));
        assert!(
            !allowed(&["*".to_owned()], "anything"),
            "a bare * is no prefix"
        );
        assert!(!allowed(&[], "crm.item.list"));
    }

    #[test]
    fn canonical_json_ignores_key_order_only() {
        let a = json!({"b": 1, "a": {"y": [1, {"k": "v", "j": null}], "x": "é\""}});
        let b = json!({"a": {"x": "é\"", "y": [1, {"j": null, "k": "v"}]}, "b": 1});
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"x":"é\"","y":[1,{"j":null,"k":"v"}]},"b":1}"#
        );
        assert_ne!(
            canonical_json(&json!([1, 2])),
            canonical_json(&json!([2, 1]))
        );
        assert_ne!(
            canonical_json(&json!({"id": 1})),
            canonical_json(&json!({"id": "1"}))
        );
    }

    #[test]
    fn shown_text_is_quoted_escaped_and_cut_on_characters() {
        assert_eq!(shown("a\u{0}b"), "\"a\\0b\"");
        let long = "é".repeat(500);
        let s = shown(&long);
        assert!(
            s.ends_with("(500 characters)") && s.chars().count() < 120,
            "{s}"
        );
    }

    #[test]
    fn classes_map_to_tiers() {
        assert_eq!(RawClass::Read.tier(), Tier::Read);
        assert_eq!(RawClass::Write.tier(), Tier::Write);
        assert_eq!(RawClass::Destructive.tier(), Tier::Destructive);
        assert_eq!(
            serde_json::to_value(RawClass::Destructive).unwrap(),
            "destructive"
        );
    }
}
