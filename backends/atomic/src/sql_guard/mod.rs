//! crm_query's guard: the decision is made on PostgreSQL's own parse tree (libpg_query, the
//! server's grammar and lexer compiled as a library), never on the text. So comments,
//! dollar quotes, `E''` escapes, `U&` identifiers and nested quotes end exactly where the
//! server would end them, and a name means what the server would read.
//!
//! A statement passes when it is exactly one `SELECT` (or `VALUES`, or a set operation of
//! them) with no `INTO`, no locking clause and no data-changing `WITH` query, built only from
//! the node kinds the walk knows ([`walk`]), where every function called is on the
//! [`AllowList`] and every type, collation and operator is a built-in one. A `$n` placeholder
//! is a VALIDATION error (crm_query takes no parameters).
//!
//! What runs is not the caller's text but PostgreSQL's deparse of the checked tree, with
//! unqualified table names written as `public.name`; the store runs it with `search_path`
//! pinned to `pg_catalog`, so every unqualified function, operator, type and cast resolves to
//! a built-in and a same-named object elsewhere can never be picked. The deparsed text is
//! parsed and checked again and must deparse to itself, so what runs is what was checked.
//!
//! The guard is the first of several defences: the transaction is also READ ONLY, runs as
//! `authenticated` from a login role that can become nothing privileged, under a statement
//! timeout, and the role and claims are checked again after the statement
//! (`store::pg::query`). See `docs/atomic-sql-guard.md`.

mod allow;
mod walk;

pub use allow::{AllowList, DEFAULT_FUNCTIONS};

use crmgate_core::{Error, Result};
use pg_query::NodeEnum;
use pg_query::protobuf::ParseResult;
use serde_json::Value;
use std::collections::HashSet;

/// The guard, with its allow-list.
#[derive(Debug, Clone, Default)]
pub struct SqlGuard {
    allow: AllowList,
}

/// A statement the guard accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The text to run: PostgreSQL's deparse of the checked tree (table names qualified).
    pub sql: String,
}

impl SqlGuard {
    /// The default allow-list extended with `sql_allow_functions` entries.
    pub fn new(extra_functions: &[String]) -> Result<Self> {
        Ok(SqlGuard {
            allow: AllowList::with(extra_functions)?,
        })
    }

    /// Check one statement; the text to run instead of it.
    pub fn check(&self, sql: &str) -> Result<Checked> {
        let mut tree = parse(sql)?;
        self.walk(&mut tree)?;
        let text = deparse(&tree)?;
        // what runs is what was checked: the text parses to a tree the guard accepts and
        // deparses to itself
        let unstable =
            || refuse("crm_query could not restate this statement unambiguously; simplify it");
        let mut again = parse(&text).map_err(|_| unstable())?;
        self.walk(&mut again).map_err(|_| unstable())?;
        if deparse(&again).map_err(|_| unstable())? != text {
            return Err(unstable());
        }
        Ok(Checked { sql: text })
    }

    /// Check and rewrite a parsed text: exactly one SELECT.
    fn walk(&self, tree: &mut ParseResult) -> Result<()> {
        let count = tree.stmts.len();
        if count == 0 {
            return Err(Error::validation(
                "sql holds no statement",
                "pass one SELECT statement",
            ));
        }
        if count > 1 {
            return Err(refuse(&format!(
                "crm_query runs exactly one statement; this text holds {count} (separated by ;)"
            )));
        }
        let ctes = cte_names(tree);
        let statement = tree.stmts[0]
            .stmt
            .as_deref_mut()
            .and_then(|n| n.node.as_mut());
        match statement {
            Some(NodeEnum::SelectStmt(select)) => walk::Walk {
                allow: &self.allow,
                ctes,
            }
            .select(select),
            Some(other) => Err(refuse(&format!(
                "crm_query takes one SELECT statement; this is {}",
                walk::describe(other)
            ))),
            None => Err(Error::validation(
                "sql holds no statement",
                "pass one SELECT statement",
            )),
        }
    }
}

/// PostgreSQL's parse of the text.
fn parse(sql: &str) -> Result<ParseResult> {
    if sql.contains('\0') {
        return Err(Error::validation(
            "the SQL contains a NUL character",
            "remove it; PostgreSQL does not accept NUL in statements",
        ));
    }
    match pg_query::parse(sql, pg_query::ParserOptions::DEFAULT) {
        Ok(parsed) => Ok(parsed.protobuf),
        Err(pg_query::Error::Parse(message)) => Err(Error::validation(
            format!("the SQL does not parse: {message}"),
            "fix the syntax: crm_query takes one PostgreSQL SELECT statement",
        )),
        Err(_) => Err(Error::validation(
            "the statement is nested too deeply to check",
            "simplify it: fewer nested expressions or subqueries",
        )),
    }
}

fn deparse(tree: &ParseResult) -> Result<String> {
    pg_query::deparse(tree, Default::default())
        .map_err(|_| refuse("crm_query could not restate this statement; simplify it"))
}

/// Every CTE name in the tree (a complete traversal through the tree's serialisation).
fn cte_names(tree: &ParseResult) -> HashSet<String> {
    fn collect(value: &Value, out: &mut HashSet<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(name)) = map.get("ctename") {
                    out.insert(name.clone());
                }
                map.values().for_each(|v| collect(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    let mut out = HashSet::new();
    if let Ok(value) = serde_json::to_value(tree) {
        collect(&value, &mut out);
    }
    out
}

fn refuse(message: &str) -> Error {
    Error::not_allowed(
        message,
        "crm_query runs one read-only SELECT under your own row-level security; to change \
         records use crm_create, crm_update or crm_delete",
    )
}

#[cfg(test)]
mod tests;
