//! The grammar of an EspoCRM record id, checked before any id reaches a request path.
//!
//! EspoCRM generates 17 lower-case hex characters by default and a UUID v4 when
//! `app.recordId.type` is `uuid4` (`Core/Utils/Id/DefaultRecordIdGenerator`); the id column is
//! 24 characters by default, 36 for UUIDs (`app.recordId.length`, `dbType`). What it accepts as
//! an id anywhere is its own `app.regExpPatterns.id`, `[A-Za-z0-9_=\-.]+` — the pattern it
//! checks link ids against. An id outside that grammar, or longer than any id column, cannot
//! name a record, so it is `VALIDATION` before anything is sent: no slash, no dot-segment, no
//! query or fragment character, nothing non-ASCII, at most [`MAX_LEN`] characters.

use crmgate_core::{Error, Result};

/// Longest id accepted: the default column is 24 characters and a UUID 36; 64 leaves room for
/// a custom `app.recordId.length`.
pub const MAX_LEN: usize = 64;

fn id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '=' | '-' | '.')
}

/// Why `id` cannot be an EspoCRM id, if it cannot.
pub fn problem(id: &str) -> Option<&'static str> {
    if id.is_empty() {
        return Some("it is empty");
    }
    if id.len() > MAX_LEN {
        return Some("it is longer than any EspoCRM id");
    }
    if let Some(c) = id.chars().find(|c| !id_char(*c)) {
        return Some(match c {
            '/' | '\\' => "it contains a slash",
            '?' | '#' | '&' | '%' => "it contains a query, fragment or escape character",
            c if c.is_whitespace() || c.is_control() => "it contains whitespace",
            c if !c.is_ascii() => "it contains a non-ASCII character",
            _ => "it contains a character EspoCRM ids never have",
        });
    }
    if id.chars().all(|c| c == '.') {
        return Some("it is a dot-segment");
    }
    None
}

/// `id` when it can be an EspoCRM record id; `VALIDATION` naming `what` (`id`, `target_id`)
/// otherwise. Never repeats a long or unprintable id.
pub fn check<'a>(id: &'a str, what: &str) -> Result<&'a str> {
    match problem(id) {
        None => Ok(id),
        Some(why) => Err(Error::validation(
            format!("{what} {} is not an EspoCRM record id: {why}", shown(id)),
            format!(
                "pass the id as crm_search or crm_get returned it: EspoCRM ids are 17 hexadecimal \
                 characters (or a UUID), made of letters, digits, _ = - and ., at most {MAX_LEN}"
            ),
        )),
    }
}

/// Every id of a list (`VALIDATION` on the first that cannot be one).
pub fn check_all<'a>(ids: &'a [String], what: &str) -> Result<&'a [String]> {
    for id in ids {
        check(id, what)?;
    }
    Ok(ids)
}

/// The id as a message may show it: quoted when short and printable ASCII, else its length.
fn shown(id: &str) -> String {
    if id.len() <= MAX_LEN && id.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        format!("{id:?}")
    } else {
        format!("({} characters)", id.chars().count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_pass() {
        for id in [
            "6b012cf59353c4863",
            "5f1e2d3c4b5a69788",
            "0c6f7d9a-3b1e-4f6a-9c2d-8e7f6a5b4c3d",
            "system",
            "a_b=c-d.e",
        ] {
            assert_eq!(problem(id), None, "{id}");
        }
    }

    #[test]
    fn what_cannot_be_an_id_is_refused() {
        let long = "a".repeat(50_000);
        for id in [
            "",
            "a/b",
            "..",
            ".",
            "../Account",
            "x?y",
            "x#y",
            "x%2Fy",
            "a b",
            "ünïcode",
            "tab\there",
            &long,
        ] {
            assert!(problem(id).is_some(), "{id:.20}");
        }
        let e = check(&long, "id").unwrap_err();
        assert_eq!(e.code, crmgate_core::ErrorCode::Validation);
        assert!(e.message.contains("50000 characters"), "{}", e.message);
        assert!(e.message.len() < 200, "never repeats the id");
    }
}
