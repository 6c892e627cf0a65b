//! Write validation against an entity's schema, shared by every backend and run before any
//! upstream call: unknown field (with a "did you mean"), read-only field, create-only field in an
//! update, missing required field,
//! bad enum value (listing allowed values and labels), wrong type, text too long.
//!
//! Every problem in the payload is collected into `details.problems`, so an agent can fix them
//! all in one round; the error's code and message follow the first problem.

use crate::model::Fields;
use crate::schema::{EntitySchema, FieldAccess, FieldSchema, FieldType};
use crate::{Error, ErrorCode, Result};
use serde_json::{Value, json};

/// Whether a payload creates a record (required fields must be present) or patches one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// crm_create
    Create,
    /// crm_update
    Update,
}

struct Problem {
    code: ErrorCode,
    field: String,
    message: String,
    suggestion: String,
    details: Option<Value>,
}

/// Whole numbers given for id and reference fields, as the text every backend takes:
/// `"company_id": 3` → `"3"`, `"contact_ids": [1, 2]` → `["1", "2"]`. Other values are left for
/// [`validate_write`] to judge.
pub fn ids_as_text(schema: &EntitySchema, data: &mut Fields) {
    let whole = |v: &mut Value| {
        if let Value::Number(n) = v
            && (n.is_i64() || n.is_u64())
        {
            *v = Value::String(n.to_string());
        }
    };
    for (name, value) in data.iter_mut() {
        match schema.field(name).map(|f| f.field_type) {
            Some(FieldType::Id | FieldType::Reference) => whole(value),
            Some(FieldType::References) => {
                if let Value::Array(items) = value {
                    items.iter_mut().for_each(whole);
                }
            }
            _ => {}
        }
    }
}

/// Validate `data` for a write of the given kind. `Ok(())` means the payload can be sent.
pub fn validate_write(schema: &EntitySchema, data: &Fields, kind: WriteKind) -> Result<()> {
    let mut problems = Vec::new();
    if data.is_empty() {
        return Err(Error::validation(
            format!("no fields given for {} {}", kind_word(kind), schema.entity),
            format!(
                "pass data as an object of field → value; crm_describe {} lists the fields",
                schema.entity
            ),
        ));
    }
    for (name, value) in data {
        let Some(field) = schema.field(name) else {
            let unknown = Error::unknown_field(&schema.entity, name, schema.field_names());
            problems.push(Problem {
                code: ErrorCode::UnknownField,
                field: name.clone(),
                message: unknown.message,
                suggestion: unknown.suggestion,
                details: None,
            });
            continue;
        };
        if field.is_read_only() {
            problems.push(Problem {
                code: ErrorCode::Validation,
                field: name.clone(),
                message: format!("{}.{name} is read-only", schema.entity),
                suggestion: format!("remove {name:?} from data; the CRM sets it"),
                details: None,
            });
            continue;
        }
        if field.access == FieldAccess::CreateOnly && kind == WriteKind::Update {
            problems.push(Problem {
                code: ErrorCode::Validation,
                field: name.clone(),
                message: format!(
                    "{}.{name} can only be set when the record is created",
                    schema.entity
                ),
                suggestion: format!(
                    "remove {name:?} from data; to change it, create a new {} record",
                    schema.entity
                ),
                details: None,
            });
            continue;
        }
        if let Some(problem) = check_value(schema, field, value, kind) {
            problems.push(problem);
        }
    }
    if kind == WriteKind::Create {
        for field in schema
            .fields
            .iter()
            .filter(|f| f.required && !f.is_read_only())
        {
            if !data.contains_key(&field.name) {
                problems.push(Problem {
                    code: ErrorCode::Validation,
                    field: field.name.clone(),
                    message: format!("{}.{} is required", schema.entity, field.name),
                    suggestion: format!("add {:?} to data{}", field.name, allowed_hint(field)),
                    details: None,
                });
            }
        }
    }
    match problems.first() {
        None => Ok(()),
        Some(first) => {
            let list: Vec<Value> = problems
                .iter()
                .map(|p| {
                    let mut item = json!({"field": p.field, "code": p.code, "problem": p.message, "suggestion": p.suggestion});
                    if let Some(d) = &p.details {
                        item["allowed"] = d.clone();
                    }
                    item
                })
                .collect();
            let message = if problems.len() == 1 {
                first.message.clone()
            } else {
                format!(
                    "{} (and {} more problems)",
                    first.message,
                    problems.len() - 1
                )
            };
            Err(Error::new(first.code, message, first.suggestion.clone())
                .with_details(json!({ "problems": list })))
        }
    }
}

fn kind_word(kind: WriteKind) -> &'static str {
    match kind {
        WriteKind::Create => "create on",
        WriteKind::Update => "update of",
    }
}

fn allowed_hint(field: &FieldSchema) -> String {
    if field.options.is_empty() {
        String::new()
    } else {
        let values: Vec<&str> = field.options.iter().map(|o| o.value.as_str()).collect();
        format!(" (one of: {})", values.join(", "))
    }
}

fn options_json(field: &FieldSchema) -> Value {
    Value::Array(
        field
            .options
            .iter()
            .map(|o| json!({"value": o.value, "label": o.label}))
            .collect(),
    )
}

fn check_value(
    schema: &EntitySchema,
    field: &FieldSchema,
    value: &Value,
    kind: WriteKind,
) -> Option<Problem> {
    let problem = |message: String, suggestion: String| Problem {
        code: ErrorCode::Validation,
        field: field.name.clone(),
        message,
        suggestion,
        details: None,
    };
    let at = format!("{}.{}", schema.entity, field.name);
    if value.is_null()
        || value
            .as_str()
            .is_some_and(|s| s.trim().is_empty() && field.required)
    {
        if field.required {
            let action = if kind == WriteKind::Create {
                "give"
            } else {
                "keep"
            };
            return Some(problem(
                format!("{at} is required and cannot be empty"),
                format!("{action} {:?} a value{}", field.name, allowed_hint(field)),
            ));
        }
        return None;
    }
    let expected = match field.field_type {
        FieldType::Id
        | FieldType::Text
        | FieldType::LongText
        | FieldType::Phone
        | FieldType::Reference => value.is_string().then_some(()).ok_or("a string"),
        FieldType::Email => match value.as_str() {
            Some(s) if is_plausible_email(s) => Ok(()),
            Some(s) => {
                return Some(problem(
                    format!("{at}: {s:?} is not an email address"),
                    "give an address like name@example.com".into(),
                ));
            }
            None => Err("an email address string"),
        },
        FieldType::Url => value.is_string().then_some(()).ok_or("a URL string"),
        FieldType::Integer => (value.is_i64() || value.is_u64())
            .then_some(())
            .ok_or("a whole number"),
        FieldType::Number | FieldType::Money => value.is_number().then_some(()).ok_or("a number"),
        FieldType::Boolean => value.is_boolean().then_some(()).ok_or("true or false"),
        FieldType::Date => match value.as_str() {
            Some(s) if crate::time::is_date(s) => Ok(()),
            _ => Err("a date as \"YYYY-MM-DD\""),
        },
        FieldType::DateTime => match value.as_str() {
            Some(s) if crate::time::is_datetime(s) => Ok(()),
            _ => Err("a date-time as \"YYYY-MM-DDTHH:MM:SSZ\""),
        },
        FieldType::Enum => match value.as_str() {
            Some(s) if field.options.is_empty() || field.options.iter().any(|o| o.value == s) => {
                Ok(())
            }
            Some(s) => return Some(bad_enum(&at, field, s)),
            None => Err("one of the allowed values, as a string"),
        },
        FieldType::MultiEnum => match value.as_array() {
            Some(items) => {
                for item in items {
                    match item.as_str() {
                        Some(s)
                            if field.options.is_empty()
                                || field.options.iter().any(|o| o.value == s) => {}
                        Some(s) => return Some(bad_enum(&at, field, s)),
                        None => {
                            return Some(problem(
                                format!("{at}: every item must be a string"),
                                "send an array of allowed values".into(),
                            ));
                        }
                    }
                }
                Ok(())
            }
            None => Err("an array of allowed values"),
        },
        FieldType::References => match value.as_array() {
            Some(items) if items.iter().all(Value::is_string) => Ok(()),
            _ => Err("an array of record ids (strings)"),
        },
        FieldType::Json => Ok(()),
    };
    if let Err(expected) = expected {
        let got = describe_json_type(value);
        let hint = match (field.field_type, value) {
            (FieldType::Integer | FieldType::Number | FieldType::Money, Value::String(s))
                if s.trim().parse::<f64>().is_ok() =>
            {
                format!("send {} without quotes", s.trim())
            }
            (FieldType::Boolean, Value::String(s)) if matches!(s.as_str(), "true" | "false") => {
                format!("send {s} without quotes")
            }
            _ => format!("send {expected}"),
        };
        return Some(problem(format!("{at} must be {expected}, got {got}"), hint));
    }
    if let (Some(max), Some(s)) = (field.max_length, value.as_str()) {
        let len = s.chars().count();
        if len > max {
            return Some(problem(
                format!("{at} is {len} characters long; the most it takes is {max}"),
                format!("shorten {:?} to {max} characters", field.name),
            ));
        }
    }
    None
}

fn bad_enum(at: &str, field: &FieldSchema, given: &str) -> Problem {
    let values: Vec<&str> = field.options.iter().map(|o| o.value.as_str()).collect();
    let by_label = field
        .options
        .iter()
        .find(|o| o.label.eq_ignore_ascii_case(given));
    let suggestion = match by_label {
        Some(o) => format!(
            "{given:?} is the label of {:?}: send the value {:?}",
            o.value, o.value
        ),
        None => match crate::text::did_you_mean(given, values.iter().copied()) {
            Some(best) => format!("did you mean {best:?}? allowed: {}", values.join(", ")),
            None => format!("allowed: {}", values.join(", ")),
        },
    };
    Problem {
        code: ErrorCode::Validation,
        field: field.name.clone(),
        message: format!("{at}: {given:?} is not an allowed value"),
        suggestion,
        details: Some(options_json(field)),
    }
}

fn describe_json_type(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) if s.chars().count() > 40 => "a string".into(),
        Value::String(s) => format!("string {s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn is_plausible_email(s: &str) -> bool {
    let mut parts = s.split('@');
    matches!((parts.next(), parts.next(), parts.next()), (Some(local), Some(domain), None)
        if !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !s.contains(char::is_whitespace))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{EnumOption, FieldSchema};

    fn schema() -> EntitySchema {
        EntitySchema {
            entity: "deals".into(),
            native: "Deal".into(),
            fields: vec![
                FieldSchema::new("id", FieldType::Id).read_only(),
                FieldSchema::new("name", FieldType::Text)
                    .required()
                    .max_length(10),
                FieldSchema::new("amount", FieldType::Money),
                FieldSchema::new("stage", FieldType::Enum)
                    .required()
                    .options(vec![
                        EnumOption::new("prospecting", "Prospecting"),
                        EnumOption::new("closed_won", "Closed Won"),
                    ]),
                FieldSchema::new("close_date", FieldType::Date),
                FieldSchema::new("email", FieldType::Email),
                FieldSchema::new("pipeline", FieldType::Integer).create_only(),
            ],
            links: vec![],
        }
    }

    fn data(v: Value) -> Fields {
        v.as_object().unwrap().clone()
    }

    fn err(v: Value, kind: WriteKind) -> Error {
        validate_write(&schema(), &data(v), kind).unwrap_err()
    }

    #[test]
    fn accepts_a_valid_create_and_patch() {
        let ok = json!({"name": "Big", "stage": "prospecting", "amount": 10.5, "close_date": "2026-12-01"});
        assert!(validate_write(&schema(), &data(ok), WriteKind::Create).is_ok());
        assert!(validate_write(&schema(), &data(json!({"amount": 3})), WriteKind::Update).is_ok());
    }

    #[test]
    fn create_only_fields_are_set_on_create_and_refused_in_updates() {
        let create = json!({"name": "Big", "stage": "prospecting", "pipeline": 2});
        assert!(validate_write(&schema(), &data(create), WriteKind::Create).is_ok());
        let e = err(json!({"pipeline": 3, "amount": 1}), WriteKind::Update);
        assert_eq!(e.code, ErrorCode::Validation);
        assert!(
            e.message
                .contains("deals.pipeline can only be set when the record is created"),
            "{}",
            e.message
        );
        assert!(
            e.suggestion.contains("remove \"pipeline\""),
            "{}",
            e.suggestion
        );
    }

    #[test]
    fn unknown_field_suggests() {
        let e = err(json!({"amonut": 1}), WriteKind::Update);
        assert_eq!(e.code, ErrorCode::UnknownField);
        assert!(e.suggestion.contains("\"amount\""), "{}", e.suggestion);
    }

    #[test]
    fn whole_numbers_become_ids_and_nothing_else_changes() {
        let schema = EntitySchema {
            entity: "deals".into(),
            native: "deals".into(),
            fields: vec![
                FieldSchema::new("company_id", FieldType::Reference),
                FieldSchema::new("contact_ids", FieldType::References),
                FieldSchema::new("amount", FieldType::Money),
            ],
            links: vec![],
        };
        let mut data = json!({"company_id": 3, "contact_ids": [1, "2", 2.5], "amount": 5, "x": 1})
            .as_object()
            .unwrap()
            .clone();
        ids_as_text(&schema, &mut data);
        assert_eq!(
            Value::Object(data),
            json!({"company_id": "3", "contact_ids": ["1", "2", 2.5], "amount": 5, "x": 1})
        );
    }

    #[test]
    fn read_only_missing_required_and_types() {
        assert!(
            err(json!({"id": "x"}), WriteKind::Update)
                .message
                .contains("read-only")
        );
        let missing = err(json!({"name": "A"}), WriteKind::Create);
        assert!(
            missing.message.contains("deals.stage is required"),
            "{}",
            missing.message
        );
        assert!(missing.suggestion.contains("prospecting"));
        let typed = err(json!({"amount": "12"}), WriteKind::Update);
        assert!(
            typed.message.contains("must be a number"),
            "{}",
            typed.message
        );
        assert_eq!(typed.suggestion, "send 12 without quotes");
        assert!(
            err(json!({"close_date": "12/01/2026"}), WriteKind::Update)
                .message
                .contains("YYYY-MM-DD")
        );
        assert!(
            err(json!({"email": "not-an-email"}), WriteKind::Update)
                .message
                .contains("not an email")
        );
        assert!(
            err(json!({"name": "much too long a name"}), WriteKind::Update)
                .message
                .contains("most it takes is 10")
        );
        assert!(
            err(json!({"name": null}), WriteKind::Update)
                .message
                .contains("cannot be empty")
        );
        assert_eq!(
            err(json!({}), WriteKind::Update).code,
            ErrorCode::Validation
        );
    }

    #[test]
    fn bad_enum_lists_allowed_values_with_labels() {
        let e = err(json!({"stage": "won"}), WriteKind::Update);
        assert_eq!(e.code, ErrorCode::Validation);
        let allowed = &e.details.as_ref().unwrap()["problems"][0]["allowed"];
        assert_eq!(allowed[1]["label"], "Closed Won");
        let by_label = err(json!({"stage": "Closed Won"}), WriteKind::Update);
        assert!(
            by_label
                .suggestion
                .contains("send the value \"closed_won\""),
            "{}",
            by_label.suggestion
        );
    }

    #[test]
    fn collects_every_problem() {
        let e = err(
            json!({"amount": "x", "stage": "nope", "bogus": 1}),
            WriteKind::Create,
        );
        let problems = e.details.unwrap()["problems"].as_array().unwrap().len();
        assert_eq!(problems, 4, "amount, stage, bogus, missing name");
        assert!(e.message.contains("more problems"));
    }
}
