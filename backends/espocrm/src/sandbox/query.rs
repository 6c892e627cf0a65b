//! Evaluating search parameters ([`super::params`]) as EspoCRM does: where items (with the
//! refusals of a 9.1.7 server for unknown types and attributes), the text filter, primary and
//! bool filters, ordering and `select`.

use super::defs::defs;
use super::params::{Params, bad};
use super::respond::Answer;
use super::state::{Rec, Store, User};
use crate::time;
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::BTreeSet;

const LOGICAL: &[&str] = &["and", "or", "not"];
const NO_ATTRIBUTE: &[&str] = &["bool", "primary", "textFilter"];
const KNOWN: &[&str] = &[
    "equals",
    "notEquals",
    "in",
    "notIn",
    "greaterThan",
    "lessThan",
    "greaterThanOrEquals",
    "lessThanOrEquals",
    "between",
    "like",
    "notLike",
    "contains",
    "notContains",
    "startsWith",
    "endsWith",
    "isNull",
    "isNotNull",
    "isTrue",
    "isFalse",
    "before",
    "after",
    "on",
    "notOn",
    "ever",
    "today",
    "past",
    "future",
    "lastSevenDays",
    "lastXDays",
    "nextXDays",
    "olderThanXDays",
    "afterXDays",
    "linkedWith",
    "notLinkedWith",
    "linkedWithAll",
    "isLinked",
    "isNotLinked",
    "arrayAnyOf",
    "arrayNoneOf",
    "arrayAllOf",
    "arrayIsEmpty",
    "arrayIsNotEmpty",
];
const LINK_TYPES: &[&str] = &[
    "linkedWith",
    "notLinkedWith",
    "linkedWithAll",
    "isLinked",
    "isNotLinked",
];

/// Check where items before running them: the same refusals EspoCRM gives.
pub fn check(items: &[Value], entity: &str, attrs: &BTreeSet<String>) -> Result<(), Answer> {
    for item in items {
        let kind = item.get("type").and_then(Value::as_str).unwrap_or_default();
        if LOGICAL.contains(&kind) {
            let inner = item
                .get("value")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            check(&inner, entity, attrs)?;
            continue;
        }
        if NO_ATTRIBUTE.contains(&kind) {
            continue;
        }
        if !KNOWN.contains(&kind) {
            return Err(bad(&format!("Unknown where item type '{kind}'.")));
        }
        let Some(attribute) = item.get("attribute").and_then(Value::as_str) else {
            // recorded: a where item without an attribute is a 500 with an empty body
            return Err(Answer::bare(500));
        };
        let known = if LINK_TYPES.contains(&kind) {
            defs().links(entity).contains_key(attribute)
        } else {
            attrs.contains(attribute)
        };
        if !known {
            return Err(bad(&format!(
                "Not existing attribute '{attribute}' in where."
            )));
        }
        if matches!(kind, "in" | "notIn") && !item.get("value").is_some_and(Value::is_array) {
            return Err(bad(&format!("Bad where item '{kind}'.")));
        }
    }
    Ok(())
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.to_lowercase()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.into()),
        _ => None,
    }
}

/// SQL-ish comparison: numbers as numbers, text case-insensitively (utf8mb4_unicode_ci); NULL
/// compares with nothing.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    if a.is_null() || b.is_null() {
        return None;
    }
    if let (Some(x), Some(y)) = (num(a), num(b))
        && (a.is_number() || b.is_number())
    {
        return x.partial_cmp(&y);
    }
    Some(text(a)?.cmp(&text(b)?))
}

fn eq(a: &Value, b: &Value) -> bool {
    compare(a, b) == Some(Ordering::Equal)
}

/// SQL LIKE, case-insensitive: `%` any run, `_` one character.
pub fn like(value: &str, pattern: &str) -> bool {
    fn go(v: &[char], p: &[char]) -> bool {
        match p.split_first() {
            None => v.is_empty(),
            Some(('%', rest)) => (0..=v.len()).any(|i| go(&v[i..], rest)),
            Some(('_', rest)) => !v.is_empty() && go(&v[1..], rest),
            Some((c, rest)) => v.first() == Some(c) && go(&v[1..], rest),
        }
    }
    let v: Vec<char> = value.to_lowercase().chars().collect();
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    go(&v, &p)
}

/// What a where item is evaluated against.
pub struct Subject<'a> {
    /// The store (for links).
    pub store: &'a Store,
    /// Entity type.
    pub entity: &'a str,
    /// The rendered record.
    pub rec: &'a Rec,
}

fn today_epoch() -> i64 {
    time::epoch_of(&time::today()).unwrap_or(0)
}

/// Whether a record satisfies one where item (already checked).
pub fn matches(item: &Value, s: &Subject<'_>) -> bool {
    let kind = item.get("type").and_then(Value::as_str).unwrap_or_default();
    let value = item.get("value").cloned().unwrap_or(Value::Null);
    let list = || {
        value
            .as_array()
            .cloned()
            .unwrap_or_else(|| vec![value.clone()])
    };
    match kind {
        "and" => return list().iter().all(|i| matches(i, s)),
        "or" => return list().iter().any(|i| matches(i, s)),
        "not" => return !list().iter().all(|i| matches(i, s)),
        "bool" | "primary" | "textFilter" => return true,
        _ => {}
    }
    let attribute = item
        .get("attribute")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if LINK_TYPES.contains(&kind) {
        let id = s.rec.get("id").and_then(Value::as_str).unwrap_or_default();
        let related: Vec<String> = s
            .store
            .related(s.entity, id, attribute)
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        let wanted: Vec<String> = list()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        return match kind {
            "linkedWith" => wanted.iter().any(|w| related.contains(w)),
            "notLinkedWith" => !wanted.iter().any(|w| related.contains(w)),
            "linkedWithAll" => wanted.iter().all(|w| related.contains(w)),
            "isLinked" => !related.is_empty(),
            _ => related.is_empty(),
        };
    }
    let actual = s.rec.get(attribute).cloned().unwrap_or(Value::Null);
    let actual_text = actual.as_str().unwrap_or_default().to_owned();
    let cmp = |v: &Value| compare(&actual, v);
    let day = |offset: i64| crmgate_core::time::format_date(today_epoch() / 86_400 + offset);
    let date_of = || actual.as_str().map(|a| a.get(..10).unwrap_or(a).to_owned());
    let days = num(&value).unwrap_or(0.0) as i64;
    let array = || actual.as_array().cloned().unwrap_or_default();
    match kind {
        "equals" => eq(&actual, &value),
        "notEquals" => !actual.is_null() && !eq(&actual, &value),
        "in" => list().iter().any(|v| eq(&actual, v)),
        "notIn" => !actual.is_null() && !list().iter().any(|v| eq(&actual, v)),
        "greaterThan" | "after" => cmp(&value) == Some(Ordering::Greater),
        "lessThan" | "before" => cmp(&value) == Some(Ordering::Less),
        "greaterThanOrEquals" => matches!(cmp(&value), Some(Ordering::Greater | Ordering::Equal)),
        "lessThanOrEquals" => matches!(cmp(&value), Some(Ordering::Less | Ordering::Equal)),
        "between" => {
            let b = list();
            b.len() == 2
                && matches!(cmp(&b[0]), Some(Ordering::Greater | Ordering::Equal))
                && matches!(cmp(&b[1]), Some(Ordering::Less | Ordering::Equal))
        }
        "like" => !actual.is_null() && like(&actual_text, value.as_str().unwrap_or_default()),
        "notLike" => !actual.is_null() && !like(&actual_text, value.as_str().unwrap_or_default()),
        "contains" => {
            !actual.is_null()
                && like(
                    &actual_text,
                    &format!("%{}%", value.as_str().unwrap_or_default()),
                )
        }
        "notContains" => {
            !actual.is_null()
                && !like(
                    &actual_text,
                    &format!("%{}%", value.as_str().unwrap_or_default()),
                )
        }
        "startsWith" => {
            !actual.is_null()
                && like(
                    &actual_text,
                    &format!("{}%", value.as_str().unwrap_or_default()),
                )
        }
        "endsWith" => {
            !actual.is_null()
                && like(
                    &actual_text,
                    &format!("%{}", value.as_str().unwrap_or_default()),
                )
        }
        "isNull" => actual.is_null(),
        "isNotNull" | "ever" => !actual.is_null(),
        "isTrue" => actual == Value::Bool(true),
        "isFalse" => actual == Value::Bool(false) || actual.is_null(),
        "on" => date_of().is_some_and(|d| Some(d.as_str()) == value.as_str()),
        "notOn" => date_of().is_some_and(|d| Some(d.as_str()) != value.as_str()),
        "today" => date_of() == Some(day(0)),
        "past" => date_of().is_some_and(|d| d < day(0)),
        "future" => date_of().is_some_and(|d| d > day(0)),
        "lastSevenDays" => date_of().is_some_and(|d| d >= day(-7) && d <= day(0)),
        "lastXDays" => date_of().is_some_and(|d| d >= day(-days) && d <= day(0)),
        "nextXDays" => date_of().is_some_and(|d| d >= day(0) && d <= day(days)),
        "olderThanXDays" => date_of().is_some_and(|d| d < day(-days)),
        "afterXDays" => date_of().is_some_and(|d| d > day(days)),
        "arrayAnyOf" => list().iter().any(|v| array().iter().any(|a| eq(a, v))),
        "arrayNoneOf" => !list().iter().any(|v| array().iter().any(|a| eq(a, v))),
        "arrayAllOf" => list().iter().all(|v| array().iter().any(|a| eq(a, v))),
        "arrayIsEmpty" => array().is_empty(),
        "arrayIsNotEmpty" => !array().is_empty(),
        _ => false,
    }
}

/// EspoCRM's text filter over the entity's `textFilterFields`: each value must start with the
/// text (`*` is a wildcard). Person names match on first name, last name or the whole name.
pub fn text_matches(entity: &str, rec: &Rec, text: &str) -> bool {
    let mut pattern = text.trim().replace('*', "%");
    if !pattern.ends_with('%') {
        pattern.push('%');
    }
    let fields: Vec<String> = defs()
        .collection(entity)
        .get("textFilterFields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_else(|| vec!["name".into()]);
    fields.iter().any(|f| {
        let mut candidates = vec![f.clone()];
        if defs().field_type(entity, f) == Some("personName") {
            candidates.extend(["firstName".into(), "lastName".into()]);
        }
        candidates.iter().any(|c| match rec.get(c) {
            Some(Value::String(v)) => like(v, &pattern),
            Some(Value::Number(n)) => like(&n.to_string(), &pattern),
            _ => false,
        })
    })
}

/// The primary filters of the sandbox's entities; `None` when the entity has no such filter.
pub fn primary(entity: &str, name: &str, rec: &Rec) -> Option<bool> {
    let field = |f: &str| {
        rec.get(f)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let not_in = |f: &str, list: &[&str]| !list.contains(&field(f).as_str());
    Some(match (entity, name) {
        ("Opportunity", "open") => not_in("stage", &["Closed Won", "Closed Lost"]),
        ("Opportunity", "won") => field("stage") == "Closed Won",
        ("Opportunity", "lost") => field("stage") == "Closed Lost",
        ("Lead", "actual") => not_in("status", &["Converted", "Recycled", "Dead"]),
        ("Lead", "converted") => field("status") == "Converted",
        ("Case", "open") => not_in("status", &["Closed", "Rejected", "Duplicate"]),
        ("Task", "actual") => not_in("status", &["Completed", "Canceled", "Deferred"]),
        ("Task", "completed") => field("status") == "Completed",
        ("Account", "customers") => field("type") == "Customer",
        ("Account", "partners") => field("type") == "Partner",
        ("Account", "resellers") => field("type") == "Reseller",
        _ => return None,
    })
}

/// Sort records by `order_by` (an attribute, or a link field by its name), NULLs first when
/// ascending, the id breaking ties.
pub fn sort(recs: &mut [Rec], order_by: &str, desc: bool) {
    recs.sort_by(|a, b| {
        let va = a.get(order_by).cloned().unwrap_or(Value::Null);
        let vb = b.get(order_by).cloned().unwrap_or(Value::Null);
        let primary = match (va.is_null(), vb.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => compare(&va, &vb).unwrap_or(Ordering::Equal),
        };
        let tie = || {
            let ia = a.get("id").and_then(Value::as_str).unwrap_or_default();
            let ib = b.get("id").and_then(Value::as_str).unwrap_or_default();
            ia.cmp(ib)
        };
        let o = primary.then_with(tie);
        if desc { o.reverse() } else { o }
    });
}

/// The attribute an `orderBy` names, or the 400 EspoCRM gives.
pub fn order_attribute(
    entity: &str,
    order_by: &str,
    attrs: &BTreeSet<String>,
) -> Result<String, Answer> {
    if attrs.contains(order_by) {
        return Ok(order_by.to_owned());
    }
    match defs().field_type(entity, order_by) {
        Some("link" | "linkParent") => Ok(format!("{order_by}Name")),
        _ => Err(bad(&format!("Order by non-existing field '{order_by}'."))),
    }
}

/// Keep `id`, the selected attributes and the ones EspoCRM always adds.
pub fn project(rec: &Rec, select: &[String]) -> Rec {
    const ALWAYS: &[&str] = &["id", "createdAt", "createdById", "assignedUserId"];
    rec.iter()
        .filter(|(k, _)| {
            ALWAYS.contains(&k.as_str())
                || select.iter().any(|s| {
                    s == *k
                        || format!("{s}Id") == **k
                        || format!("{s}Name") == **k
                        || k.strip_suffix("Name")
                            .is_some_and(|base| select.iter().any(|x| x == &format!("{base}Id")))
                })
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Whether the record passes the primary and bool filters of `p` for `user`.
pub fn passes_filters(p: &Params, entity: &str, rec: &Rec, user: &User, store: &Store) -> bool {
    if let Some(name) = &p.primary
        && primary(entity, name, rec) != Some(true)
    {
        return false;
    }
    p.bool_filters.iter().all(|f| match f.as_str() {
        "onlyMy" => rec.get("assignedUserId").and_then(Value::as_str) == Some(user.id.as_str()),
        "followed" => {
            let id = rec
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            store
                .follows
                .contains(&(user.id.clone(), entity.to_owned(), id))
        }
        _ => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_follows_sql() {
        assert!(like("Acme Corporation", "%corp%"));
        assert!(!like("Acme Corporation", "Corp"));
        assert!(like("Initech", "init_ch"));
    }
}
