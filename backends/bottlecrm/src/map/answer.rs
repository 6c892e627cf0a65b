//! What BottleCRM answers to writes and actions: create (with or without an id), lead
//! conversion, invoice send and cancel. Success is the status; the body is
//! `{"error": false, "message": …}` plus whatever the view adds.

use crmgate_core::{Error, Result};
use serde_json::{Value, json};

/// The `message` of a success answer.
pub fn message(answer: &Value) -> Option<&str> {
    answer.get("message").and_then(Value::as_str)
}

/// The `id` a create answer carries (contacts, accounts, opportunities, cases).
pub fn created_id(answer: &Value) -> Result<String> {
    answer
        .get("id")
        .and_then(Value::as_str)
        .and_then(crate::ids::canonical)
        .ok_or_else(|| {
            Error::upstream_protocol("BottleCRM answered the create without a usable new id")
        })
}

/// Whether an answer is a lead conversion (`account_id` next to the message).
pub fn is_conversion(answer: &Value) -> bool {
    answer.get("account_id").is_some()
}

/// The result of a lead conversion: the ids of what it created or reused.
pub fn conversion(lead_id: &str, answer: &Value) -> Value {
    // ids in canonical form, like every id crmgate returns
    let id = |k: &str| match answer.get(k) {
        Some(Value::String(s)) => Value::String(crate::ids::tidy(s)),
        Some(other) => other.clone(),
        None => Value::Null,
    };
    let lead_id = crate::ids::tidy(lead_id);
    json!({
        "converted": true,
        "lead_id": lead_id,
        "message": message(answer),
        "account_id": id("account_id"),
        "contact_id": id("contact_id"),
        "opportunity_id": id("opportunity_id"),
        "created": [
            {"entity": "companies", "id": id("account_id")},
            {"entity": "contacts", "id": id("contact_id")},
            {"entity": "deals", "id": id("opportunity_id")},
        ],
    })
}
