//! The field-level diff `crm_history` shows for an entry: what each field was before the write
//! and what it was after.

use serde::Serialize;
use serde_json::{Map, Value};

/// One field that differs between an entry's `before` and `after`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldDiff {
    /// The field's native name; empty when the states are not field objects and were compared
    /// whole.
    pub field: String,
    /// Its value before the write (`null`: absent or empty).
    pub before: Value,
    /// Its value after the write (`null`: absent or empty).
    pub after: Value,
}

/// The fields whose values differ between `before` and `after`, sorted by field name.
///
/// Both states are a record's fields (a JSON object of field → value) or `None` (no record:
/// before a create, after a delete). A field absent on one side counts as `null` there, so a
/// create lists every non-null field it set and a delete every non-null field it removed.
/// Values are compared whole (a changed address object is one change). States that are not
/// objects (a raw call's answer) are compared whole and reported as one change with an empty
/// field name.
pub fn diff(before: Option<&Value>, after: Option<&Value>) -> Vec<FieldDiff> {
    let empty = Map::new();
    let as_fields = |state: Option<&Value>| -> Option<Map<String, Value>> {
        match state {
            None | Some(Value::Null) => Some(empty.clone()),
            Some(Value::Object(fields)) => Some(fields.clone()),
            Some(_) => None,
        }
    };
    let (Some(old), Some(new)) = (as_fields(before), as_fields(after)) else {
        let before = before.cloned().unwrap_or(Value::Null);
        let after = after.cloned().unwrap_or(Value::Null);
        return if before == after {
            Vec::new()
        } else {
            vec![FieldDiff {
                field: String::new(),
                before,
                after,
            }]
        };
    };
    let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let was = old.get(name).unwrap_or(&Value::Null);
            let is = new.get(name).unwrap_or(&Value::Null);
            (was != is).then(|| FieldDiff {
                field: name.clone(),
                before: was.clone(),
                after: is.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(changes: &[FieldDiff]) -> Vec<&str> {
        changes.iter().map(|c| c.field.as_str()).collect()
    }

    #[test]
    fn update_lists_only_changed_fields() {
        let before = json!({"name": "Acme deal", "stage": "open", "amount": 100, "tags": ["a"]});
        let after = json!({"name": "Acme deal", "stage": "won", "amount": 100, "tags": ["a", "b"]});
        let changes = diff(Some(&before), Some(&after));
        assert_eq!(fields(&changes), ["stage", "tags"]);
        assert_eq!(changes[0].before, "open");
        assert_eq!(changes[0].after, "won");
        assert_eq!(changes[1].after, json!(["a", "b"]));
    }

    #[test]
    fn create_and_delete_list_every_non_null_field() {
        let record = json!({"first_name": "Ada", "email": "ada@example.com", "phone": null});
        let created = diff(None, Some(&record));
        assert_eq!(fields(&created), ["email", "first_name"]);
        assert!(created.iter().all(|c| c.before.is_null()));
        let deleted = diff(Some(&record), None);
        assert_eq!(fields(&deleted), ["email", "first_name"]);
        assert!(deleted.iter().all(|c| c.after.is_null()));
        assert_eq!(diff(Some(&Value::Null), None), []);
    }

    #[test]
    fn absent_and_null_are_the_same_and_added_fields_show() {
        let before = json!({"a": null, "b": 1});
        let after = json!({"b": 1, "c": "new"});
        let changes = diff(Some(&before), Some(&after));
        assert_eq!(fields(&changes), ["c"]);
        assert_eq!(changes[0].before, Value::Null);
    }

    #[test]
    fn nested_values_compare_whole() {
        let before = json!({"address": {"city": "Berlin", "zip": "10115"}});
        let after = json!({"address": {"city": "Bonn", "zip": "10115"}});
        let changes = diff(Some(&before), Some(&after));
        assert_eq!(fields(&changes), ["address"]);
        assert_eq!(changes[0].after["city"], "Bonn");
    }

    #[test]
    fn states_that_are_not_records_compare_whole() {
        let answer = json!([1, 2]);
        let changes = diff(None, Some(&answer));
        assert_eq!(fields(&changes), [""]);
        assert_eq!(changes[0].after, answer);
        assert_eq!(diff(Some(&json!("x")), Some(&json!("x"))), []);
    }
}
