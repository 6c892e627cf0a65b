//! crm_call for Bitrix24: the grammar of a REST method name, its class, the record a delete acts
//! on, and the call.
//!
//! **Grammar.** A method is ASCII letters, digits and `_` in dot-separated segments
//! (`crm.item.list`), at most 100 characters, no empty segment (no leading, trailing or doubled
//! dot). Bitrix24 matches method names case-insensitively, so the name is normalised to lower
//! case — the form that is checked and sent. A final `.json` / `.xml` segment is refused (the
//! portal strips it as a transport suffix, so `crm.item.delete.json` *is* `crm.item.delete`).
//! Nothing else is accepted: no `/`, `?`, `#`, `%`, whitespace, control or non-ASCII character.
//! Parameters go in `params`, a JSON object sent as the request body; `auth` / `access_token`
//! may not be among them (crmgate supplies the credential).
//!
//! **`batch` is refused.** Its commands embed further method names with PHP-encoded query
//! strings (values encoded twice) and `$result[…]` back-references resolved on the portal at run
//! time, so neither the allow-list nor a confirm token could bind what would actually run. Call
//! the methods one at a time; crmgate already batches its own reads.
//!
//! **Class** (deny by default). Destructive: any segment containing `delete`, `remove`,
//! `unbind`, `merge`, `clear`, `purge`, `erase`, `destroy` or `truncate` (`crm.item.delete`,
//! `event.unbind`, `crm.entity.mergebatch`, `disk.file.markdeleted`). Read: a last segment that
//! only reads (`list`, `get`, `fields`, `search`, …), a few documented read methods (`profile`,
//! `scope`, `methods`, `crm.status.entity.items`, …) and `crm.enum.*`. Everything else — `add`,
//! `update`, `set`, and every verb not known to only read — is a write.

use crate::client::{Access, Client};
use crmgate_core::raw::{RawClass, RawMethod, RawTarget, canonical_json, shown};
use crmgate_core::{CallContext, Error, Result};
use serde_json::{Map, Value, json};

/// Longest method name accepted.
pub const MAX_NAME: usize = 100;

/// Segment fragments that make a method destructive, wherever they appear.
const DESTRUCTIVE: [&str; 9] = [
    "delete", "remove", "unbind", "merge", "clear", "purge", "erase", "destroy", "truncate",
];

/// Last segments that only read.
const READ_VERBS: [&str; 10] = [
    "list",
    "get",
    "fields",
    "getlist",
    "getfields",
    "search",
    "current",
    "info",
    "time",
    "findbycomm",
];

/// Whole methods documented as reads that end in no read verb.
const READ_METHODS: [&str; 5] = [
    "profile",
    "scope",
    "methods",
    "crm.status.entity.items",
    "crm.status.entity.types",
];

/// Families whose `.delete` has a `.get` taking the same identifying parameters.
const READABLE: [(&str, &[&str]); 15] = [
    ("crm.item", &["entitytypeid", "id"]),
    ("crm.item.productrow", &["id"]),
    ("crm.lead", &["id"]),
    ("crm.deal", &["id"]),
    ("crm.contact", &["id"]),
    ("crm.company", &["id"]),
    ("crm.quote", &["id"]),
    ("crm.invoice", &["id"]),
    ("crm.activity", &["id"]),
    ("crm.timeline.comment", &["id"]),
    ("crm.requisite", &["id"]),
    ("crm.status", &["id"]),
    ("crm.category", &["entitytypeid", "id"]),
    ("crm.type", &["id"]),
    ("tasks.task", &["taskid"]),
];

/// Parse `text` with the Bitrix24 grammar into the normalised method and its class.
pub fn parse(text: &str) -> Result<RawMethod> {
    let name = normalise(text).map_err(|why| {
        Error::validation(
            format!("{} is not a Bitrix24 method name: {why}", shown(text)),
            "write the method as Bitrix24 names it — letters, digits and _ in dot-separated \
             segments, e.g. \"crm.item.list\" — and put every parameter in params (a JSON \
             object), never in the name",
        )
    })?;
    if name == "batch" {
        return Err(Error::not_allowed(
            "batch cannot be called through crm_call: its commands embed further methods and \
             query strings (with $result[…] references resolved on the portal), so no allow-list \
             or confirm token could bind what would run",
            "call each method on its own with crm_call; crmgate batches its own reads already",
        ));
    }
    let class = classify(&name);
    Ok(RawMethod::new(name, class))
}

/// The normalised (lower-case) name, or why `text` is outside the grammar.
fn normalise(text: &str) -> std::result::Result<String, &'static str> {
    if text.is_empty() {
        return Err("it is empty");
    }
    if text.chars().count() > MAX_NAME {
        return Err("it is longer than 100 characters");
    }
    if let Some(bad) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '.'))
    {
        return Err(match bad {
            '/' | '\\' => "it contains a path separator",
            '?' | '#' | '&' | '=' | ';' => "it carries a query, fragment or parameter",
            '%' => "it contains a percent-escape",
            c if c.is_whitespace() || c.is_control() => {
                "it contains whitespace or a control character"
            }
            c if !c.is_ascii() => "it contains a non-ASCII character",
            _ => "it contains a character other than letters, digits, _ and .",
        });
    }
    let name = text.to_ascii_lowercase();
    if name.split('.').any(str::is_empty) {
        return Err("it has an empty segment (a leading, trailing or doubled dot)");
    }
    if name.contains('.') && matches!(name.rsplit('.').next(), Some("json" | "xml")) {
        return Err("it ends in .json or .xml, a transport suffix Bitrix24 strips from the name");
    }
    Ok(name)
}

/// The class of a normalised name.
fn classify(name: &str) -> RawClass {
    if name
        .split('.')
        .any(|segment| DESTRUCTIVE.iter().any(|root| segment.contains(root)))
    {
        return RawClass::Destructive;
    }
    let verb = name.rsplit('.').next().unwrap_or("");
    if READ_VERBS.contains(&verb) || READ_METHODS.contains(&name) || name.starts_with("crm.enum.") {
        RawClass::Read
    } else {
        RawClass::Write
    }
}

/// Normalise a `raw_call_allow` entry: an exact method name (parsed like a call) or a prefix
/// ending in `*` (its characters from the same alphabet). An entry that could match no method is
/// an error naming why.
pub fn allow_pattern(pattern: &str) -> std::result::Result<String, String> {
    let p = pattern.trim();
    let Some(prefix) = p.strip_suffix('*') else {
        return match parse(p) {
            Ok(method) => Ok(method.name().to_owned()),
            Err(e) => Err(e.message),
        };
    };
    let valid = !prefix.is_empty()
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !prefix.starts_with('.')
        && !prefix.contains("..");
    if !valid {
        return Err(format!(
            "{} is not a prefix of any Bitrix24 method name: use letters, digits, _ and dots, \
             e.g. \"crm.status.*\"",
            shown(p)
        ));
    }
    Ok(format!("{}*", prefix.to_ascii_lowercase()))
}

/// The parameters as sent: a JSON object (null = none) without credential keys.
fn check_params(params: &Value) -> Result<Value> {
    let map = match params {
        Value::Null => Map::new(),
        Value::Object(map) => map.clone(),
        _ => {
            return Err(Error::validation(
                "params must be a JSON object",
                "pass the method's parameters as an object, e.g. {\"entityTypeId\": 2, \"id\": 5}",
            ));
        }
    };
    if let Some(key) = map
        .keys()
        .find(|k| matches!(k.to_ascii_lowercase().as_str(), "auth" | "access_token"))
    {
        return Err(Error::validation(
            format!("params may not carry {key:?}"),
            "leave the credential out: crmgate signs every call with the configured or your own \
             credential",
        ));
    }
    Ok(Value::Object(map))
}

/// Re-parse a method (the request is built only from the grammar's own output).
fn reparse(method: &RawMethod) -> Result<RawMethod> {
    let parsed = parse(method.name())?;
    if &parsed != method {
        return Err(Error::validation(
            format!(
                "{} was not parsed by the Bitrix24 grammar",
                shown(method.name())
            ),
            "pass the method name to crm_call as text",
        ));
    }
    Ok(parsed)
}

/// The record a `….delete` of a known family acts on, read with the family's `.get`.
pub async fn target(
    client: &Client,
    cx: &CallContext,
    method: &RawMethod,
    params: &Value,
) -> Result<Option<RawTarget>> {
    let method = reparse(method)?;
    let params = check_params(params)?;
    let Some(family) = method.name().strip_suffix(".delete") else {
        return Ok(None);
    };
    let Some((_, keys)) = READABLE.iter().find(|(f, _)| *f == family) else {
        return Ok(None);
    };
    let mut read_params = Map::new();
    for (key, value) in params.as_object().into_iter().flatten() {
        if keys.contains(&key.to_ascii_lowercase().as_str()) {
            read_params.insert(key.clone(), value.clone());
        }
    }
    let has_id = read_params
        .keys()
        .any(|k| matches!(k.to_ascii_lowercase().as_str(), "id" | "taskid"));
    if !has_id {
        return Ok(None);
    }
    let read = format!("{family}.get");
    let read_params = Value::Object(read_params);
    let env = client
        .call(cx, &read, read_params.clone(), Access::Read)
        .await?;
    Ok(Some(RawTarget {
        read: format!("{read} {}", canonical_json(&read_params)),
        record: env.result,
    }))
}

/// Call the method; `{result, next?, total?}` as the portal answered.
pub async fn call(
    client: &Client,
    cx: &CallContext,
    method: &RawMethod,
    params: &Value,
) -> Result<Value> {
    let method = reparse(method)?;
    let params = check_params(params)?;
    let access = if method.class() == RawClass::Read {
        Access::Read
    } else {
        Access::Write
    };
    let env = client.call(cx, method.name(), params, access).await?;
    let mut out = json!({"result": env.result});
    if let Some(next) = env.next {
        out["next"] = json!(next);
    }
    if let Some(total) = env.total {
        out["total"] = json!(total);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crmgate_core::ErrorCode;

    fn class(text: &str) -> RawClass {
        parse(text).unwrap().class()
    }

    #[test]
    fn names_are_normalised_to_lower_case() {
        assert_eq!(parse("CRM.Item.List").unwrap().name(), "crm.item.list");
        assert_eq!(
            parse("tasks.task.getFields").unwrap().name(),
            "tasks.task.getfields"
        );
        assert_eq!(
            parse("crm.entity.mergeBatch").unwrap().name(),
            "crm.entity.mergebatch"
        );
        // parsing the normalised form again changes nothing
        for text in ["CRM.ITEM.DELETE", "user.get", "crm.enum.ownerType"] {
            let once = parse(text).unwrap();
            assert_eq!(parse(once.name()).unwrap(), once);
        }
    }

    #[test]
    fn everything_outside_the_grammar_is_validation() {
        let long = format!("crm.{}", "a".repeat(MAX_NAME));
        for bad in [
            "",
            ".",
            ".crm.item.list",
            "crm.item.list.",
            "crm..item.list",
            "crm.item.delete?x=.list",
            "crm.item.delete#.list",
            "crm.item.list/../crm.item.delete",
            "crm.item.list/..%2fcrm.item.delete",
            "crm.item.list%2F..%2Fcrm.item.delete",
            "crm.item.%64elete",
            "crm.item.%2564elete",
            "crm.item.list;crm.item.delete",
            "crm.item.list&id=1",
            " crm.item.list",
            "crm.item.list ",
            "crm.item.list\n",
            "crm.item.list\t",
            "crm.item.list\u{0}",
            "crm.item.list\u{7f}",
            "crm.item.lіst",        // Cyrillic і
            "crm.item.ｌist",       // full-width l
            "crm.item.\u{212a}ist", // Kelvin sign, lower-cases to k
            "crm.item.list\u{200b}",
            "crm.item.delete.json",
            "crm.item.delete.XML",
            "./crm.item.list",
            "crm.item.list\\..\\x",
            "crm:item.list",
            "crm-item.list",
            long.as_str(),
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::Validation, "{bad:?}");
            assert!(e.suggestion.contains("params"), "{bad:?}: {}", e.suggestion);
            assert!(
                e.message.chars().count() < 220,
                "{bad:?}: the message is cut"
            );
        }
    }

    #[test]
    fn batch_is_refused_in_any_case() {
        for text in ["batch", "BATCH", "Batch"] {
            assert_eq!(parse(text).unwrap_err().code, ErrorCode::NotAllowed);
        }
        assert!(allow_pattern("batch").is_err());
    }

    #[test]
    fn classes_by_verb_deny_by_default() {
        for m in [
            "crm.item.list",
            "crm.deal.get",
            "crm.item.fields",
            "user.get",
            "USER.GET",
            "crm.status.entity.items",
            "crm.duplicate.findbycomm",
            "tasks.task.getFields",
            "profile",
            "crm.enum.ownertype",
            "server.time",
        ] {
            assert_eq!(class(m), RawClass::Read, "{m}");
        }
        for m in [
            "crm.item.add",
            "crm.item.update",
            "crm.deal.contact.items.set",
            "crm.lead.productrows.set",
            "crm.activity.todo.add",
            "im.notify.system.add",
            "crm.item.lists",
            "crm.item.getx",
            "crm.item.export",
            "event.bind",
        ] {
            assert_eq!(class(m), RawClass::Write, "{m}");
        }
        for m in [
            "crm.item.delete",
            "CRM.ITEM.DELETE",
            "crm.lead.delete",
            "crm.deal.contact.delete",
            "crm.deal.contact.items.delete",
            "crm.timeline.comment.delete",
            "event.unbind",
            "placement.unbind",
            "crm.entity.mergebatch",
            "disk.file.markdeleted",
            "disk.folder.deletetree",
            "crm.item.delete.list",
            "tasks.task.remove",
            "crm.enum.delete",
        ] {
            assert_eq!(class(m), RawClass::Destructive, "{m}");
        }
    }

    #[test]
    fn allow_list_entries_are_normalised_or_refused() {
        assert_eq!(allow_pattern("CRM.Status.List").unwrap(), "crm.status.list");
        assert_eq!(allow_pattern(" crm.Item.* ").unwrap(), "crm.item.*");
        assert_eq!(allow_pattern("crm*").unwrap(), "crm*");
        for bad in [
            "crm.item.list?x",
            "crm/item.*",
            ".crm.*",
            "crm..*",
            "crm.%2e*",
            "crm.item.delete.json",
            "crmé.*",
            "*",
        ] {
            assert!(allow_pattern(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn credential_keys_are_refused_in_params() {
        for key in ["auth", "AUTH", "access_token", "Access_Token"] {
            let e = check_params(&json!({ key: "x" })).unwrap_err();
            assert_eq!(e.code, ErrorCode::Validation);
        }
        assert_eq!(check_params(&Value::Null).unwrap(), json!({}));
        assert!(check_params(&json!([1])).is_err());
        assert!(check_params(&json!("id=1")).is_err());
    }

    #[test]
    fn a_hand_made_method_outside_the_grammar_is_refused() {
        let forged = RawMethod::new("crm.item.delete?x=.list", RawClass::Read);
        assert_eq!(reparse(&forged).unwrap_err().code, ErrorCode::Validation);
        let misclassed = RawMethod::new("crm.item.delete", RawClass::Read);
        assert_eq!(
            reparse(&misclassed).unwrap_err().code,
            ErrorCode::Validation
        );
    }
}
