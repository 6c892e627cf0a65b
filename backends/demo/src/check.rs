//! Input checks the demo CRM makes itself, like a real CRM's API would: field names, read-only
//! fields, required fields, value types, enum values (listing the allowed values with labels),
//! text lengths, and action parameters. The gateway validates writes too; these checks keep the
//! store consistent when the backend is called directly.

use crate::clock::{is_date, is_datetime};
use crmgate_core::model::{ActionInfo, Fields};
use crmgate_core::schema::{EntitySchema, EnumOption, FieldAccess, FieldType};
use crmgate_core::{Error, Result};
use serde_json::{Value, json};

/// Whether a value counts as empty (null, empty or blank string, empty array).
pub(crate) fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// `data` as stored: blank strings become null, so "" clears a field of any type.
pub(crate) fn normalize(data: &Fields) -> Fields {
    data.iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) if s.trim().is_empty() => Value::Null,
                other => other.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

/// Check `data` for a create (`creating`) or an update of a record of `schema`.
pub(crate) fn check_write(schema: &EntitySchema, data: &Fields, creating: bool) -> Result<()> {
    let entity = &schema.entity;
    if !creating && data.is_empty() {
        return Err(Error::validation(
            format!("nothing to update on {entity}: data is empty"),
            "pass the fields to change in data, e.g. {\"field\": \"new value\"}",
        ));
    }
    for (name, value) in data {
        let field = schema.require_field(name)?;
        if field.is_read_only() {
            return Err(Error::validation(
                format!("{entity}.{name} is read-only"),
                format!("leave {name} out; the CRM sets it"),
            ));
        }
        if !creating && field.access == FieldAccess::CreateOnly {
            return Err(Error::validation(
                format!("{entity}.{name} can only be set when the record is created"),
                format!("leave {name} out of the update"),
            ));
        }
        if is_blank(value) {
            if field.required {
                return Err(Error::validation(
                    format!("{entity}.{name} is required and cannot be empty"),
                    format!("give {name} a value"),
                ));
            }
            // null, "" and [] clear an optional field (see `normalize`)
            continue;
        }
        check_value(
            entity,
            name,
            field.field_type,
            &field.options,
            field.max_length,
            value,
        )?;
    }
    if creating {
        let missing: Vec<&str> = schema
            .fields
            .iter()
            .filter(|f| f.required && data.get(&f.name).is_none_or(is_blank))
            .map(|f| f.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(Error::validation(
                format!(
                    "missing required field(s) on {entity}: {}",
                    missing.join(", ")
                ),
                format!(
                    "add {} to data; crm_describe {entity} lists every field",
                    missing.join(", ")
                ),
            )
            .with_details(json!({ "missing": missing })));
        }
    }
    Ok(())
}

/// Check one value against a field's type, options and maximum length.
pub(crate) fn check_value(
    entity: &str,
    name: &str,
    field_type: FieldType,
    options: &[EnumOption],
    max_length: Option<usize>,
    value: &Value,
) -> Result<()> {
    let wrong = |expected: &str| {
        Err(Error::validation(
            format!(
                "{entity}.{name} must be {expected}, got {}",
                describe(value)
            ),
            format!("send {name} as {expected}"),
        ))
    };
    match field_type {
        FieldType::Json => Ok(()),
        FieldType::Integer => match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(()),
            Value::Number(n) if n.as_f64().is_some_and(|x| x.fract() == 0.0) => Ok(()),
            _ => wrong("a whole number"),
        },
        FieldType::Number | FieldType::Money => match value {
            Value::Number(_) => Ok(()),
            _ => wrong("a number"),
        },
        FieldType::Boolean => match value {
            Value::Bool(_) => Ok(()),
            _ => wrong("true or false"),
        },
        FieldType::Enum => match value.as_str() {
            Some(s) if options.iter().any(|o| o.value == s) => Ok(()),
            Some(s) => Err(enum_error(entity, name, s, options)),
            None => wrong("one of the allowed values (a string)"),
        },
        FieldType::MultiEnum => match value.as_array() {
            Some(items) => {
                for item in items {
                    check_value(entity, name, FieldType::Enum, options, None, item)?;
                }
                Ok(())
            }
            None => wrong("an array of allowed values"),
        },
        FieldType::References => match value.as_array() {
            Some(items)
                if items
                    .iter()
                    .all(|i| i.as_str().is_some_and(|s| !s.is_empty())) =>
            {
                Ok(())
            }
            _ => wrong("an array of record ids"),
        },
        _ => {
            let Some(s) = value.as_str() else {
                return wrong(match field_type {
                    FieldType::Date => "a date YYYY-MM-DD",
                    FieldType::DateTime => "an ISO 8601 date-time",
                    FieldType::Reference | FieldType::Id => "a record id (a string)",
                    _ => "a string",
                });
            };
            if let Some(max) = max_length {
                let len = s.chars().count();
                if len > max {
                    return Err(Error::validation(
                        format!(
                            "{entity}.{name} is {len} characters long; at most {max} are accepted"
                        ),
                        format!("shorten {name} to {max} characters"),
                    ));
                }
            }
            match field_type {
                FieldType::Date if !is_date(s) => wrong("a date YYYY-MM-DD"),
                FieldType::DateTime if !is_datetime(s) => {
                    wrong("an ISO 8601 date-time (YYYY-MM-DDTHH:MM:SSZ)")
                }
                FieldType::Email if !looks_like_email(s) => wrong("an email address"),
                _ => Ok(()),
            }
        }
    }
}

/// Whether `s` looks like one email address.
pub(crate) fn looks_like_email(s: &str) -> bool {
    let s = s.trim();
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !s.contains(char::is_whitespace)
        }
        None => false,
    }
}

/// `VALIDATION` for a value that is not one of an enum's options, listing them with labels.
pub(crate) fn enum_error(entity: &str, name: &str, value: &str, options: &[EnumOption]) -> Error {
    let listed: Vec<String> = options
        .iter()
        .map(|o| format!("{} ({})", o.value, o.label))
        .collect();
    let hint = crmgate_core::text::did_you_mean(value, options.iter().map(|o| o.value.as_str()))
        .map(|b| format!("did you mean {b:?}? "))
        .unwrap_or_default();
    Error::validation(
        format!("{value:?} is not an allowed value of {entity}.{name}"),
        format!("{hint}allowed values: {}", listed.join(", ")),
    )
    .with_details(json!({
        "field": name,
        "allowed": options.iter().map(|o| json!({"value": o.value, "label": o.label})).collect::<Vec<_>>(),
    }))
}

/// Check an action's parameters: no unknown names, required ones present, types and enums.
pub(crate) fn check_params(entity: &str, action: &ActionInfo, params: &Fields) -> Result<()> {
    let owner = format!("{entity}.{} params", action.name);
    let names = || action.params.iter().map(|p| p.name.as_str());
    for (name, value) in params {
        let Some(param) = action.params.iter().find(|p| &p.name == name) else {
            let known: Vec<&str> = names().collect();
            let hint = crmgate_core::text::did_you_mean(name, names())
                .map(|b| format!("did you mean {b:?}? "))
                .unwrap_or_default();
            return Err(Error::validation(
                format!("action {} has no parameter {name:?}", action.name),
                if known.is_empty() {
                    format!("{hint}this action takes no parameters")
                } else {
                    format!("{hint}parameters: {}", known.join(", "))
                },
            ));
        };
        if value.is_null() && !param.required {
            continue;
        }
        check_value(&owner, name, param.param_type, &param.options, None, value)?;
    }
    for param in action.params.iter().filter(|p| p.required) {
        if params.get(&param.name).is_none_or(is_blank) {
            let allowed = if param.options.is_empty() {
                String::new()
            } else {
                let listed: Vec<String> = param
                    .options
                    .iter()
                    .map(|o| format!("{} ({})", o.value, o.label))
                    .collect();
                format!("; allowed values: {}", listed.join(", "))
            };
            return Err(Error::validation(
                format!(
                    "action {} needs the parameter {:?}",
                    action.name, param.name
                ),
                format!("pass params: {{\"{}\": …}}{allowed}", param.name),
            ));
        }
    }
    Ok(())
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let mut s = format!("{s:?}");
            crmgate_core::text::truncate_in_place(&mut s, 40);
            s
        }
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}
