//! What EspoCRM checks in a write: which attributes may be written (others are ignored, not
//! refused), field validation in definition order (the first failure is the answer, with the
//! recorded `Field validation failure; …` reason), phone and datetime normalisation, and the
//! rule that an API user may assign only itself unless its role can read users.
//!
//! Phone numbers follow 9.1.7 with its default `phoneNumberInternational: true`: a number
//! starting with `+` is parsed and stored in E.164 (`+1 555 0101` → `+15550101`); anything else
//! is kept as sent and then refused as `valid`, since a number without a country code cannot
//! be parsed; the characters must match `phoneNumberLoose`, and the number must be a possible
//! one (approximated here as 8 to 15 digits after a country code not starting with 0, where
//! EspoCRM asks libphonenumber); at most 36 characters (`maxLength`).

use super::super::defs::defs;
use super::super::respond::Answer;
use super::super::state::{Rec, User};
use crate::time;
use serde_json::{Map, Value, json};

/// Attributes a client may write on `entity`.
fn writable(entity: &str) -> Vec<String> {
    let d = defs();
    let mut out = Vec::new();
    for (name, def) in d.fields(entity) {
        let ro = def["readOnly"].as_bool().unwrap_or(false);
        let kind = def["type"].as_str().unwrap_or("varchar");
        if ro
            || matches!(
                kind,
                "personName" | "foreign" | "autoincrement" | "currencyConverted" | "address"
            )
        {
            continue;
        }
        match kind {
            "link" => out.push(format!("{name}Id")),
            "linkParent" => {
                out.push(format!("{name}Id"));
                out.push(format!("{name}Type"));
            }
            "linkMultiple" | "attachmentMultiple" => {
                out.push(format!("{name}Ids"));
                out.push(format!("{name}Columns"));
            }
            "email" | "phone" => {
                out.push(name.clone());
                out.push(format!("{name}Data"));
            }
            "datetimeOptional" => {
                out.push(name.clone());
                out.push(format!("{name}Date"));
            }
            _ => out.push(name.clone()),
        }
    }
    out
}

fn empty(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

/// `app.regExpPatterns.phoneNumberLoose`: `[0-9A-Za-z_@:#\+\(\)\-\. ]+`.
fn loose_phone(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '@' | ':' | '#' | '+' | '(' | ')' | '-' | '.' | ' ')
        })
}

/// What 9.1.7's phone sanitizer stores: E.164 for a `+` number it can parse, else the
/// trimmed text unchanged.
pub(super) fn sanitize_phone(raw: &str) -> String {
    let s = raw.trim();
    match s.strip_prefix('+') {
        Some(rest)
            if rest
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')'))
                && rest.chars().any(|c| c.is_ascii_digit()) =>
        {
            format!(
                "+{}",
                rest.chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
            )
        }
        _ => s.to_owned(),
    }
}

/// 9.1.7's `valid` rule for a (sanitized) phone number.
fn valid_phone(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false; // no country code: libphonenumber cannot parse it
    };
    loose_phone(s)
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0')
        && (8..=15).contains(&digits.len())
}

fn plausible_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !s.contains(char::is_whitespace)
}

/// Validate the merged record; `changed` holds what the request sent. The first failure, in
/// field order, is the answer.
pub(super) fn validate(
    entity: &str,
    merged: &Rec,
    changed: &Rec,
    create: bool,
) -> Result<(), Answer> {
    let d = defs();
    for (name, def) in d.fields(entity) {
        let kind = def["type"].as_str().unwrap_or("varchar");
        if def["readOnly"].as_bool().unwrap_or(false) {
            continue;
        }
        let attr = match kind {
            "link" | "linkParent" | "file" | "image" => format!("{name}Id"),
            "linkMultiple" => format!("{name}Ids"),
            _ => name.clone(),
        };
        let touched = create || changed.contains_key(&attr);
        let value = merged.get(&attr);
        let fail = |rule: &str| Err(Answer::validation(entity, name, rule));
        if def["required"].as_bool().unwrap_or(false) && touched && empty(value) {
            return fail("required");
        }
        if kind == "phone"
            && let Some(Value::Array(items)) = changed.get(&format!("{name}Data"))
        {
            let types = def["typeList"].as_array();
            for item in items {
                let number = item["phoneNumber"].as_str().filter(|n| !n.is_empty());
                if !number.is_some_and(valid_phone) {
                    return fail("valid");
                }
                if let Some(t) = item.get("type").filter(|t| !t.is_null())
                    && types.is_some_and(|list| !list.contains(t))
                {
                    return fail("valid");
                }
            }
        }
        if !changed.contains_key(&attr) || empty(value) {
            continue;
        }
        let value = value.unwrap_or(&Value::Null);
        match kind {
            "enum" => {
                if let Some(options) = d.options(entity, name).filter(|o| !o.is_empty())
                    && !value
                        .as_str()
                        .is_some_and(|v| options.iter().any(|o| o == v))
                {
                    return fail("valid");
                }
            }
            "multiEnum" | "array" | "checklist" if !value.is_array() => return fail("valid"),
            "varchar" | "text" | "wysiwyg" | "url" => {
                let Some(s) = value.as_str() else {
                    return fail("valid");
                };
                let max = def["maxLength"]
                    .as_u64()
                    .or((kind == "varchar").then_some(255));
                if max.is_some_and(|m| s.chars().count() as u64 > m) {
                    return fail("maxLength");
                }
            }
            "email" if !value.as_str().is_some_and(plausible_email) => {
                return fail("emailAddress");
            }
            "phone" => {
                let Some(number) = value.as_str() else {
                    return fail("valid");
                };
                if !valid_phone(number) {
                    return fail("valid");
                }
                if number.chars().count() > 36 {
                    return fail("maxLength");
                }
            }
            "int" | "float" | "currency" | "decimal" => {
                let Some(n) = value.as_f64() else {
                    return fail("valid");
                };
                if def["min"].as_f64().is_some_and(|m| n < m) {
                    return fail("min");
                }
                if def["max"].as_f64().is_some_and(|m| n > m) {
                    return fail("max");
                }
            }
            "bool" if !value.is_boolean() => return fail("valid"),
            "date"
                if !value
                    .as_str()
                    .is_some_and(|s| s.len() == 10 && time::epoch_of(s).is_some()) =>
            {
                return fail("valid");
            }
            "datetime" | "datetimeOptional"
                if value.as_str().and_then(time::to_espo_datetime).is_none() =>
            {
                return fail("valid");
            }
            _ => {}
        }
    }
    Ok(())
}

/// Keep the writable attributes of a request body; normalise phones and datetimes.
pub(super) fn sanitize(entity: &str, body: &Map<String, Value>) -> Rec {
    let allowed = writable(entity);
    let mut out = Rec::new();
    for (k, v) in body {
        if !allowed.contains(k) {
            continue; // unknown and read-only attributes are ignored, as EspoCRM does
        }
        let v = match (defs().field_type(entity, k), v) {
            (Some("phone"), Value::String(s)) => json!(sanitize_phone(s)),
            (Some("datetime" | "datetimeOptional"), Value::String(s)) => {
                time::to_espo_datetime(s).map_or_else(|| v.clone(), Value::String)
            }
            _ => v.clone(),
        };
        out.insert(k.clone(), v);
    }
    if let Some(Value::Array(data)) = out.get("emailAddressData").cloned() {
        let primary = data
            .iter()
            .find(|d| d["primary"] == json!(true))
            .or(data.first())
            .and_then(|d| d["emailAddress"].as_str());
        out.insert("emailAddress".into(), json!(primary));
    } else if out.contains_key("emailAddress") {
        out.remove("emailAddressData");
    }
    if out.contains_key("phoneNumber") && !body.contains_key("phoneNumberData") {
        out.remove("phoneNumberData");
    }
    for (name, def) in defs().fields(entity) {
        if def["type"].as_str() != Some("phone") {
            continue;
        }
        if let Some(Value::Array(items)) = out.get_mut(&format!("{name}Data")) {
            for item in items.iter_mut() {
                if let Some(n) = item.get("phoneNumber").and_then(Value::as_str) {
                    item["phoneNumber"] = json!(sanitize_phone(n));
                }
            }
        }
    }
    out
}

/// An API user may assign only itself unless its role can read all users.
pub(super) fn check_assignment(user: &User, entity: &str, changed: &Rec) -> Result<(), Answer> {
    let Some(assignee) = changed.get("assignedUserId").and_then(Value::as_str) else {
        return Ok(());
    };
    if user.admin || assignee == user.id || user.level("User", "read") == "all" {
        return Ok(());
    }
    Err(Answer::error(
        403,
        format!("No foreign record access for link operation ({entity}:assignedUser)."),
    )
    .with_body(json!({"messageTranslation": {"label": "cannotRelateForbidden", "scope": null, "data": {"foreignEntityType": "User", "action": "read"}}})))
}
