//! The first of crm_query's defences: a lexical check of the caller's SQL before it reaches the
//! database. It tokenises the text as PostgreSQL does (comments, `'…'`, `E'…'`, `$tag$…$tag$`,
//! `"…"`), then refuses several statements, anything but `SELECT` / `WITH … SELECT`, data-changing
//! keywords, and the functions that change session state or run SQL held in a string
//! (`set_config`, `query_to_xml`, `ts_stat`, `dblink`, session advisory locks, …) — in code or
//! inside string literals. It is not the security boundary: the transaction is READ ONLY, runs
//! as `authenticated` from a login role that can become nothing privileged, and the role and
//! claims are checked again after the statement. It gives clear errors early.

use crmgate_core::{Error, Result};

/// Words that make a statement write or change the database.
const WRITING: &[&str] = &[
    "insert", "update", "delete", "merge", "truncate", "copy", "create", "alter", "drop", "grant",
    "revoke", "into",
];

/// Functions crm_query refuses: they change the session's role, claims or settings, run SQL
/// given as text, hold locks past the statement, or touch files and other sessions.
const FORBIDDEN_FUNCTIONS: &[&str] = &[
    "set_config",
    "query_to_xml",
    "query_to_xmlschema",
    "query_to_xml_and_xmlschema",
    "cursor_to_xml",
    "cursor_to_xmlschema",
    "ts_stat",
    "ts_rewrite",
    "dblink",
    "pg_advisory_lock",
    "pg_advisory_lock_shared",
    "pg_try_advisory_lock",
    "pg_try_advisory_lock_shared",
    "lo_import",
    "lo_export",
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_dir",
    "pg_stat_file",
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_reload_conf",
    "pg_notify",
];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    QuotedIdent(String),
    Str(String),
    Semicolon,
    Other,
}

/// Check one statement; returns it without trailing semicolons and whitespace.
pub fn check(sql: &str) -> Result<&str> {
    let tokens = lex(sql)?;
    // a statement may end with semicolons, never continue after one
    let mut end = sql.len();
    let mut seen_semicolon = false;
    for (token, at) in &tokens {
        match token {
            Token::Semicolon => {
                if !seen_semicolon {
                    end = *at;
                }
                seen_semicolon = true;
            }
            _ if seen_semicolon => {
                return Err(refuse(
                    "crm_query runs exactly one statement; this text holds several",
                ));
            }
            _ => {}
        }
    }
    let statement = sql[..end].trim();
    let first = tokens
        .iter()
        .map(|(t, _)| t)
        .find(|t| **t != Token::Semicolon);
    match first {
        None => {
            return Err(Error::validation(
                "sql holds no statement",
                "pass one SELECT statement",
            ));
        }
        Some(Token::Word(w)) if w == "select" || w == "with" => {}
        Some(_) => {
            return Err(refuse(
                "crm_query takes one SELECT (or WITH … SELECT) statement and nothing else",
            ));
        }
    }
    for (token, _) in &tokens {
        match token {
            Token::Word(w) if WRITING.contains(&w.as_str()) => {
                return Err(refuse(&format!(
                    "crm_query only reads; {:?} is not allowed",
                    w.to_uppercase()
                )));
            }
            Token::Word(w) | Token::QuotedIdent(w) if forbidden(w) => {
                return Err(refuse(&format!(
                    "crm_query does not allow the function {w}()"
                )));
            }
            Token::Str(s) => {
                if let Some(name) = FORBIDDEN_FUNCTIONS.iter().find(|f| s.contains(*f)) {
                    return Err(refuse(&format!(
                        "crm_query does not allow {name} (not even inside a string)"
                    )));
                }
            }
            _ => {}
        }
    }
    Ok(statement)
}

fn forbidden(word: &str) -> bool {
    FORBIDDEN_FUNCTIONS.contains(&word) || word.starts_with("dblink")
}

fn refuse(message: &str) -> Error {
    Error::not_allowed(
        message,
        "crm_query runs one read-only SELECT under your own row-level security; to change \
         records use crm_create, crm_update or crm_delete",
    )
}

fn unterminated(what: &str) -> Error {
    Error::validation(
        format!("the SQL has an unterminated {what}"),
        "close it, or remove it",
    )
}

/// Tokens with their byte offsets; string and identifier contents lower-cased.
fn lex(sql: &str) -> Result<Vec<(Token, usize)>> {
    let chars: Vec<(usize, char)> = sql.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let peek = |i: usize| chars.get(i).map(|(_, c)| *c);
    while i < chars.len() {
        let (at, c) = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '-' if peek(i + 1) == Some('-') => {
                while i < chars.len() && chars[i].1 != '\n' {
                    i += 1;
                }
            }
            '/' if peek(i + 1) == Some('*') => {
                let mut depth = 1;
                i += 2;
                while depth > 0 {
                    match (peek(i), peek(i + 1)) {
                        (None, _) => return Err(unterminated("comment")),
                        (Some('/'), Some('*')) => {
                            depth += 1;
                            i += 2;
                        }
                        (Some('*'), Some('/')) => {
                            depth -= 1;
                            i += 2;
                        }
                        _ => i += 1,
                    }
                }
            }
            '\'' => {
                let (s, next) = string(&chars, i + 1, false)?;
                out.push((Token::Str(s), at));
                i = next;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match (peek(i), peek(i + 1)) {
                        (None, _) => return Err(unterminated("quoted identifier")),
                        (Some('"'), Some('"')) => {
                            s.push('"');
                            i += 2;
                        }
                        (Some('"'), _) => {
                            i += 1;
                            break;
                        }
                        (Some(c), _) => {
                            s.push(c);
                            i += 1;
                        }
                    }
                }
                out.push((Token::QuotedIdent(s.to_lowercase()), at));
            }
            '$' if peek(i + 1).is_some_and(|c| c.is_ascii_digit()) => {
                i += 1;
                while peek(i).is_some_and(|c| c.is_ascii_digit()) {
                    i += 1;
                }
                out.push((Token::Other, at));
            }
            '$' => {
                // $tag$ … $tag$ (tag may be empty)
                let mut j = i + 1;
                while peek(j).is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    j += 1;
                }
                if peek(j) != Some('$') {
                    out.push((Token::Other, at));
                    i += 1;
                    continue;
                }
                let tag: String = chars[i..=j].iter().map(|(_, c)| *c).collect();
                let body_start = chars.get(j + 1).map(|(b, _)| *b).unwrap_or(sql.len());
                let Some(len) = sql[body_start..].find(&tag) else {
                    return Err(unterminated("dollar-quoted string"));
                };
                out.push((
                    Token::Str(sql[body_start..body_start + len].to_lowercase()),
                    at,
                ));
                let resume = body_start + len + tag.len();
                i = chars
                    .iter()
                    .position(|(b, _)| *b >= resume)
                    .unwrap_or(chars.len());
            }
            ';' => {
                out.push((Token::Semicolon, at));
                i += 1;
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut j = i;
                while peek(j).is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                    j += 1;
                }
                let word: String = chars[i..j]
                    .iter()
                    .map(|(_, c)| c.to_ascii_lowercase())
                    .collect();
                if word == "u" && peek(j) == Some('&') {
                    return Err(refuse(
                        "crm_query does not accept Unicode-escaped (U&) strings or identifiers",
                    ));
                }
                if peek(j) == Some('\'') && matches!(word.as_str(), "e" | "b" | "x" | "n") {
                    let (s, next) = string(&chars, j + 1, word == "e")?;
                    out.push((Token::Str(s), at));
                    i = next;
                } else {
                    out.push((Token::Word(word), at));
                    i = j;
                }
            }
            _ => {
                out.push((Token::Other, at));
                i += 1;
            }
        }
    }
    Ok(out)
}

/// A `'…'` literal from just after the opening quote; backslash escapes when `escapes`.
fn string(chars: &[(usize, char)], mut i: usize, escapes: bool) -> Result<(String, usize)> {
    let mut s = String::new();
    loop {
        let c = chars.get(i).map(|(_, c)| *c);
        let next = chars.get(i + 1).map(|(_, c)| *c);
        match (c, next) {
            (None, _) => return Err(unterminated("string")),
            (Some('\\'), Some(n)) if escapes => {
                s.push(n);
                i += 2;
            }
            (Some('\''), Some('\'')) => {
                s.push('\'');
                i += 2;
            }
            (Some('\''), _) => return Ok((s.to_lowercase(), i + 1)),
            (Some(c), _) => {
                s.push(c);
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crmgate_core::ErrorCode;

    fn refused(sql: &str) -> String {
        let e = check(sql).unwrap_err();
        assert!(
            matches!(e.code, ErrorCode::NotAllowed | ErrorCode::Validation),
            "{sql}: {e}"
        );
        e.message
    }

    #[test]
    fn one_select_passes_trimmed() {
        assert_eq!(check("  select 1 ;; ").unwrap(), "select 1");
        assert_eq!(
            check("WITH x AS (SELECT 1) SELECT * FROM x").unwrap(),
            "WITH x AS (SELECT 1) SELECT * FROM x"
        );
        // keywords inside strings, comments and quoted names are data
        assert!(check("select 'a; delete from x' as s -- ; drop table y").is_ok());
        assert!(check("select \"update\" from t /* ; insert */").is_ok());
        assert!(check("select $$;$$, $t$ ; $t$, $1").is_ok());
        assert!(check("select e'it\\'s; fine'").is_ok());
    }

    #[test]
    fn several_statements_and_non_selects_are_refused() {
        assert!(refused("select 1; select 2").contains("several"));
        assert!(refused("select 1; delete from contacts").contains("several"));
        assert!(refused("select 1;\n-- c\n commit").contains("several"));
        for sql in [
            "SET ROLE postgres",
            "RESET ROLE",
            "set local role service_role",
            "update contacts set title = 'x'",
            "values (1)",
            "explain select 1",
            "(select 1)",
            "do $$ begin perform 1; end $$",
        ] {
            assert!(refused(sql).contains("SELECT"), "{sql}");
        }
        assert!(refused("").contains("no statement"));
        assert!(refused(" ;; ").contains("no statement"));
    }

    #[test]
    fn writes_hidden_in_a_select_are_refused() {
        assert!(
            refused("with d as (delete from contacts returning *) select * from d")
                .contains("DELETE")
        );
        assert!(refused("select * into t2 from contacts").contains("INTO"));
        assert!(refused("select * from contacts for update").contains("UPDATE"));
    }

    #[test]
    fn the_set_config_escape_and_its_variants_are_refused() {
        for sql in [
            "select set_config('role', 'postgres', true)",
            "SELECT pg_catalog.SET_CONFIG('role','postgres',true), query_to_xml('select 1',true,false,'')",
            "select \"set_config\"('request.jwt.claims', '{}', true)",
            "select query_to_xml('select 1', true, false, '')",
            "select query_to_xml($q$select set_config('role','postgres',true)$q$, true, false, '')",
            "select ts_stat('select 1')",
            "select dblink_exec('x')",
            "select pg_advisory_lock(1)",
            "select 'set_config' as hidden",
            "select u&\"\\0073et_config\"('role', 'postgres', true)",
        ] {
            let m = refused(sql);
            assert!(m.contains("does not"), "{sql}: {m}");
        }
    }

    #[test]
    fn malformed_text_is_refused_not_passed_on() {
        assert!(refused("select 'open").contains("unterminated"));
        assert!(refused("select /* open").contains("unterminated"));
        assert!(refused("select $x$ open").contains("unterminated"));
        assert!(refused("select \"open").contains("unterminated"));
    }
}
