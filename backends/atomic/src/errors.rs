//! Database errors → crmgate errors. Both transports end in PostgreSQL: the postgres transport
//! reads the SQLSTATE from the driver, PostgREST puts it in its error body's `code`. One pure
//! mapping serves both, naming the field and saying what to do.

use crmgate_core::{Error, ErrorCode};
use serde_json::json;

/// A PostgreSQL error as either transport reports it.
#[derive(Debug, Clone, Copy)]
pub struct DbError<'a> {
    /// SQLSTATE (`23503`).
    pub code: &'a str,
    /// The server's message.
    pub message: &'a str,
    /// Its DETAIL, if any.
    pub detail: Option<&'a str>,
}

/// What was running when the error came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// A crmgate operation on records (SQL crmgate wrote).
    Records,
    /// The caller's own statement (crm_query).
    Query,
}

/// The crmgate error for a database error.
pub fn map_db_error(e: DbError<'_>, context: Context) -> Error {
    let code = e.code;
    let class = code.get(0..2).unwrap_or("");
    let msg = e.message;
    let detail = e.detail.unwrap_or("");
    let own = context == Context::Query;
    let at = |what: &str| format!("{what} ({code}: {msg})");
    match (code, class) {
        ("23505", _) => Error::new(
            ErrorCode::Duplicate,
            at("a record with the same unique value already exists"),
            "find the existing record with crm_search and update it instead",
        )
        .with_details(json!({"matches": detail})),
        ("23503", _) => foreign_key(msg, detail),
        ("23502", _) => {
            let column = quoted_after(msg, "column ").unwrap_or("a column");
            Error::validation(
                format!("{column} is required and cannot be empty"),
                format!("give {column:?} a value"),
            )
        }
        ("23514", _) | ("P0001", _) => Error::validation(
            at("the database rejected the values"),
            "fix the values and try again",
        ),
        ("25006", _) => Error::not_allowed(
            "crm_query only reads: the statement tried to write (the transaction is read-only)",
            "use crm_create, crm_update or crm_delete to change records",
        ),
        ("57014", _) => Error::new(
            ErrorCode::UpstreamTimeout,
            "the database cancelled the statement: it ran past the statement timeout",
            if own {
                "ask for less: add WHERE conditions or a LIMIT, or aggregate"
            } else {
                "try again later, or ask for fewer records"
            },
        ),
        ("40001" | "40P01", _) => Error::new(
            ErrorCode::Conflict,
            at("the database aborted the transaction because of a concurrent change"),
            "repeat the call",
        )
        .with_retry_after(1),
        ("42501", _) => permission(msg),
        ("42P01", _) if !own => Error::config(format!(
            "the database has no such table ({msg}): is this an Atomic CRM database, migrated to a \
             recent version?"
        )),
        ("42703", _) if !own => Error::validation(
            at("this database lacks a column crmgate expected"),
            "crm_describe lists the columns this database has; migrate Atomic CRM if one is missing",
        ),
        ("28000" | "28P01", _) => Error::config(
            "the database refused the gateway's login: check the user and password in database_url",
        ),
        (_, "22") => Error::validation(
            at("a value is not valid for its column"),
            "fix the value (dates as YYYY-MM-DD or ISO 8601, ids and amounts as whole numbers)",
        ),
        (_, "42") | (_, "0A") | (_, "54") | (_, "2B") => Error::validation(
            at("the statement is not valid here"),
            if own {
                "fix the SQL: one SELECT over the public tables and views (crm_describe lists \
                 them)"
            } else {
                "check the field names against crm_describe"
            },
        ),
        (_, "08") | (_, "53") | (_, "57") | (_, "58") | (_, "XX") => Error::new(
            ErrorCode::UpstreamUnavailable,
            at("the database is unavailable or overloaded"),
            "try again later",
        ),
        _ => Error::validation(
            at("the database refused the request"),
            "check the values against crm_describe",
        ),
    }
}

fn foreign_key(msg: &str, detail: &str) -> Error {
    // insert/update: Key (company_id)=(999) is not present in table "companies". With RLS on
    // the referenced table PostgreSQL hides the key: Key is not present in table "companies".
    if detail.contains("is not present") {
        let column = between(detail, "Key (", ")=").or_else(|| {
            // the constraint is named {table}_{column}_fkey
            let table = quoted_after(msg, "on table ")?;
            quoted_after(msg, "constraint ")?
                .strip_prefix(table)?
                .strip_prefix('_')?
                .strip_suffix("_fkey")
        });
        let column = column.unwrap_or("a reference");
        let value = between(detail, ")=(", ")")
            .map(|v| format!("with id {v}"))
            .unwrap_or_else(|| "it names".to_owned());
        let table = quoted_after(detail, "table ").unwrap_or("the linked table");
        let entity = crate::model::Kind::from_table(table)
            .map(|k| k.name())
            .unwrap_or(table);
        return Error::validation(
            format!("{column}: there is no {entity} record {value}"),
            format!("find the {entity} record with crm_search, then use its id"),
        )
        .with_details(json!({"field": column}));
    }
    // delete: Key (id)=(1) is still referenced from table "companies".
    let table = quoted_after(detail, "from table ").unwrap_or("another table");
    Error::new(
        ErrorCode::Conflict,
        format!("the record is still referenced from {table} ({msg})"),
        format!("change or delete the {table} records that point at it first"),
    )
}

fn permission(msg: &str) -> Error {
    let table = quoted_after(msg, "table ")
        .or_else(|| msg.rsplit(' ').next())
        .unwrap_or("this table");
    if msg.contains("row-level security") {
        let suggestion = match table {
            "sales" => {
                "users (sales) are read-only here: invite or change them in Atomic CRM's admin \
                 screens"
            }
            "configuration" => "only Atomic CRM administrators may change the configuration",
            _ => "the row-level security policies of this table refuse the change for this user",
        };
        return Error::new(
            ErrorCode::PermissionDenied,
            format!("row-level security refuses this change on {table}"),
            suggestion,
        );
    }
    Error::new(
        ErrorCode::PermissionDenied,
        format!("the signed-in user may not do this ({msg})"),
        "Atomic CRM grants the authenticated role access to its tables: ask the project owner \
         to apply the migrations (GRANT … TO authenticated), or use the tables crm_entities lists",
    )
}

/// The double-quoted name following `prefix` (`column "name"` → `name`).
fn quoted_after<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let start = text.find(prefix)? + prefix.len();
    let rest = text[start..].strip_prefix('"')?;
    rest.split('"').next()
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(code: &str, message: &str, detail: Option<&str>) -> Error {
        map_db_error(
            DbError {
                code,
                message,
                detail,
            },
            Context::Records,
        )
    }

    #[test]
    fn constraint_errors_name_the_field() {
        let e = map(
            "23503",
            "insert or update on table \"contacts\" violates foreign key constraint \"contacts_company_id_fkey\"",
            Some("Key (company_id)=(999) is not present in table \"companies\"."),
        );
        assert_eq!(e.code, ErrorCode::Validation);
        assert!(
            e.message
                .starts_with("company_id: there is no companies record with id 999")
        );
        // with RLS on the referenced table, PostgreSQL hides the key
        let e = map(
            "23503",
            "insert or update on table \"contacts\" violates foreign key constraint \"contacts_company_id_fkey\"",
            Some("Key is not present in table \"companies\"."),
        );
        assert!(
            e.message
                .starts_with("company_id: there is no companies record it names"),
            "{}",
            e.message
        );
        let e = map(
            "23502",
            "null value in column \"name\" of relation \"companies\" violates not-null constraint",
            None,
        );
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                ErrorCode::Validation,
                "name is required and cannot be empty"
            )
        );
        let e = map(
            "23505",
            "duplicate key value",
            Some("Key (user_id)=(x) already exists."),
        );
        assert_eq!(e.code, ErrorCode::Duplicate);
        assert!(e.details.is_some());
    }

    #[test]
    fn permissions_timeouts_and_read_only() {
        let e = map(
            "42501",
            "new row violates row-level security policy for table \"sales\"",
            None,
        );
        assert_eq!(e.code, ErrorCode::PermissionDenied);
        assert!(e.suggestion.contains("admin screens"));
        let e = map("42501", "permission denied for table users", None);
        assert_eq!(e.code, ErrorCode::PermissionDenied);
        assert_eq!(
            map(
                "57014",
                "canceling statement due to statement timeout",
                None
            )
            .code,
            ErrorCode::UpstreamTimeout
        );
        assert_eq!(
            map(
                "25006",
                "cannot execute UPDATE in a read-only transaction",
                None
            )
            .code,
            ErrorCode::NotAllowed
        );
        assert_eq!(
            map("22P02", "invalid input syntax for type bigint: \"x\"", None).code,
            ErrorCode::Validation
        );
        assert_eq!(
            map("42P01", "relation \"x\" does not exist", None).code,
            ErrorCode::Config
        );
        let q = map_db_error(
            DbError {
                code: "42P01",
                message: "relation \"x\" does not exist",
                detail: None,
            },
            Context::Query,
        );
        assert_eq!(q.code, ErrorCode::Validation);
        assert_eq!(
            map("08006", "connection failure", None).code,
            ErrorCode::UpstreamUnavailable
        );
        assert!(map("40001", "could not serialize", None).retryable);
    }
}
