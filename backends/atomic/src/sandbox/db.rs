//! The sandbox's database: tables of JSON rows with PostgreSQL's behaviour where the gateway
//! depends on it — type coercion and its errors (22P02, 22007), NOT NULL (23502), foreign keys
//! with the key hidden as under RLS (23503), cascading deletes, the triggers (sales_id default,
//! lower-cased emails, last_seen on notes), the summary views, and Atomic CRM's policies
//! (users read-only, configuration writable by administrators only).

use super::schema::{self, Col, Default};
use super::values::{coerce, fts, lowercase_emails};
use crate::timefmt::now_timestamp;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// A row.
pub type Row = Map<String, Value>;

/// An error as PostgREST reports it: status and `{code, message, details, hint}`.
#[derive(Debug, Clone, PartialEq)]
pub struct PgError {
    /// HTTP status.
    pub status: u16,
    /// SQLSTATE or PGRST code.
    pub code: String,
    /// Message.
    pub message: String,
    /// Details.
    pub details: Option<String>,
    /// Hint.
    pub hint: Option<String>,
}

impl PgError {
    /// An error with no details or hint.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        PgError {
            status,
            code: code.into(),
            message: message.into(),
            details: None,
            hint: None,
        }
    }

    /// Add details.
    pub fn details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({"code": self.code, "message": self.message, "details": self.details, "hint": self.hint})
    }
}

/// Who acts: the seed (no policies) or a signed-in user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// Seeding: no policies, no triggers that need a user.
    Owner,
    /// A signed-in user (`authenticated`).
    User {
        /// Their sales id, if they have a sales row.
        sales_id: Option<i64>,
        /// Whether they are an administrator.
        admin: bool,
    },
}

#[derive(Debug, Clone)]
struct Table {
    rows: BTreeMap<i64, Row>,
    next_id: i64,
}

/// Every table.
#[derive(Debug, Clone)]
pub struct Db {
    tables: BTreeMap<&'static str, Table>,
}

impl std::default::Default for Db {
    fn default() -> Self {
        Db::new()
    }
}

impl Db {
    /// Empty tables and the configuration row.
    pub fn new() -> Self {
        let mut tables = BTreeMap::new();
        for t in schema::TABLES {
            tables.insert(
                *t,
                Table {
                    rows: BTreeMap::new(),
                    next_id: 1,
                },
            );
        }
        let mut db = Db { tables };
        let config = json!({"id": 1, "config": {}});
        db.insert(
            Actor::Owner,
            "configuration",
            config.as_object().unwrap_or(&Map::new()),
        )
        .ok();
        db
    }

    /// The columns of a table or view, or PGRST205.
    pub fn relation_columns(relation: &str) -> Result<Vec<Col>, PgError> {
        if let Some(cols) = schema::columns(relation) {
            return Ok(cols.to_vec());
        }
        if let Some(base) = schema::view_base(relation) {
            let mut cols = schema::columns(base).unwrap_or(&[]).to_vec();
            cols.extend_from_slice(schema::view_columns(relation));
            return Ok(cols);
        }
        Err(PgError::new(
            404,
            "PGRST205",
            format!("Could not find the table 'public.{relation}' in the schema cache"),
        ))
    }

    /// The rows of a table or view.
    pub fn rows(&self, relation: &str) -> Result<Vec<Row>, PgError> {
        Self::relation_columns(relation)?;
        if let Some(base) = schema::view_base(relation) {
            return Ok(self
                .table(base)
                .rows
                .values()
                .map(|r| self.summary(relation, r))
                .collect());
        }
        Ok(self.table(relation).rows.values().cloned().collect())
    }

    fn table(&self, name: &str) -> &Table {
        static EMPTY: std::sync::OnceLock<Table> = std::sync::OnceLock::new();
        self.tables.get(name).unwrap_or_else(|| {
            EMPTY.get_or_init(|| Table {
                rows: BTreeMap::new(),
                next_id: 1,
            })
        })
    }

    /// A row of a table by id.
    pub fn get(&self, table: &str, id: i64) -> Option<&Row> {
        self.tables.get(table)?.rows.get(&id)
    }

    fn summary(&self, view: &str, row: &Row) -> Row {
        let mut out = row.clone();
        let id = row.get("id").and_then(Value::as_i64).unwrap_or(0);
        let count = |table: &str, column: &str, extra: &dyn Fn(&Row) -> bool| {
            self.table(table)
                .rows
                .values()
                .filter(|r| r.get(column).and_then(Value::as_i64) == Some(id) && extra(r))
                .count()
        };
        if view == "contacts_summary" {
            out.insert("email_fts".into(), fts(row.get("email_jsonb"), "email"));
            out.insert("phone_fts".into(), fts(row.get("phone_jsonb"), "number"));
            let company = row
                .get("company_id")
                .and_then(Value::as_i64)
                .and_then(|c| self.get("companies", c))
                .and_then(|c| c.get("name").cloned())
                .unwrap_or(Value::Null);
            out.insert("company_name".into(), company);
            let open = count("tasks", "contact_id", &|t| {
                t.get("done_date").is_none_or(Value::is_null)
            });
            out.insert("nb_tasks".into(), json!(open));
        } else {
            out.insert(
                "nb_deals".into(),
                json!(count("deals", "company_id", &|_| true)),
            );
            out.insert(
                "nb_contacts".into(),
                json!(count("contacts", "company_id", &|_| true)),
            );
        }
        out
    }

    /// The sales row of an auth user.
    pub fn sales_of(&self, user_id: &str) -> Option<(i64, bool)> {
        self.table("sales").rows.values().find_map(|r| {
            (r.get("user_id").and_then(Value::as_str) == Some(user_id)).then(|| {
                (
                    r.get("id").and_then(Value::as_i64).unwrap_or(0),
                    r.get("administrator")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                )
            })
        })
    }

    /// Insert a row.
    pub fn insert(&mut self, actor: Actor, table: &str, body: &Row) -> Result<Row, PgError> {
        let cols = writable_columns(table)?;
        if let Actor::User { admin, .. } = actor {
            let refused = match table {
                "sales" => true,
                "configuration" => !admin,
                _ => false,
            };
            if refused {
                return Err(PgError::new(
                    403,
                    "42501",
                    format!("new row violates row-level security policy for table \"{table}\""),
                ));
            }
        }
        let mut row = Row::new();
        for col in cols {
            let value = match body.get(col.name) {
                Some(v) => coerce(col, v)?,
                None => match col.default {
                    Default::Null | Default::Identity => Value::Null,
                    Default::Now => json!(now_timestamp()),
                    Default::Text(t) => coerce(col, &json!(t))?,
                    Default::False => json!(false),
                    Default::EmptyObject => json!({}),
                },
            };
            row.insert(col.name.into(), value);
        }
        unknown_keys(table, cols, body)?;
        let t = self
            .tables
            .get_mut(table)
            .ok_or_else(|| not_a_table(table))?;
        let id = match row.get("id").and_then(Value::as_i64) {
            Some(id) => {
                if t.rows.contains_key(&id) {
                    return Err(PgError::new(
                        409,
                        "23505",
                        format!("duplicate key value violates unique constraint \"{table}_pkey\""),
                    ));
                }
                t.next_id = t.next_id.max(id + 1);
                id
            }
            None => {
                let id = t.next_id;
                t.next_id += 1;
                id
            }
        };
        row.insert("id".into(), json!(id));
        if let Actor::User {
            sales_id: Some(sales),
            ..
        } = actor
            && schema::has_sales_id_default(table)
            && row.get("sales_id").is_none_or(Value::is_null)
        {
            row.insert("sales_id".into(), json!(sales));
        }
        if table == "contacts" {
            lowercase_emails(&mut row);
        }
        self.check(table, cols, &row)?;
        if table == "contact_notes" {
            self.bump_last_seen(&row);
        }
        self.tables
            .get_mut(table)
            .ok_or_else(|| not_a_table(table))?
            .rows
            .insert(id, row.clone());
        Ok(row)
    }

    /// Update rows by id; rows the policies hide are skipped. Returns the rows as stored.
    pub fn update(
        &mut self,
        actor: Actor,
        table: &str,
        ids: &[i64],
        patch: &Row,
    ) -> Result<Vec<Row>, PgError> {
        let cols = writable_columns(table)?;
        unknown_keys(table, cols, patch)?;
        if let Actor::User { admin, .. } = actor
            && (table == "sales" || (table == "configuration" && !admin))
        {
            return Ok(Vec::new());
        }
        let mut changed = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(mut row) = self.get(table, *id).cloned() else {
                continue;
            };
            for col in cols {
                if let Some(v) = patch.get(col.name) {
                    row.insert(col.name.into(), coerce(col, v)?);
                }
            }
            if table == "contacts" {
                lowercase_emails(&mut row);
            }
            self.check(table, cols, &row)?;
            changed.push(row);
        }
        let t = self
            .tables
            .get_mut(table)
            .ok_or_else(|| not_a_table(table))?;
        for row in &changed {
            if let Some(id) = row.get("id").and_then(Value::as_i64) {
                t.rows.insert(id, row.clone());
            }
        }
        Ok(changed)
    }

    /// Delete rows by id, cascading. Returns the deleted rows of `table`.
    pub fn delete(&mut self, actor: Actor, table: &str, ids: &[i64]) -> Result<Vec<Row>, PgError> {
        writable_columns(table)?;
        if let Actor::User { .. } = actor {
            match table {
                "sales" => return Ok(Vec::new()),
                "configuration" => {
                    return Err(PgError::new(
                        401,
                        "42501",
                        "permission denied for table configuration",
                    ));
                }
                _ => {}
            }
        }
        let mut deleted = Vec::new();
        for id in ids {
            if let Some(row) = self.tables.get_mut(table).and_then(|t| t.rows.remove(id)) {
                deleted.push(row);
                for (child, column) in schema::cascades(table) {
                    let children: Vec<i64> = self
                        .table(child)
                        .rows
                        .values()
                        .filter(|r| r.get(*column).and_then(Value::as_i64) == Some(*id))
                        .filter_map(|r| r.get("id").and_then(Value::as_i64))
                        .collect();
                    self.delete(Actor::Owner, child, &children)?;
                }
            }
        }
        Ok(deleted)
    }

    /// NOT NULL and foreign keys.
    fn check(&self, table: &str, cols: &[Col], row: &Row) -> Result<(), PgError> {
        for col in cols {
            let value = row.get(col.name).unwrap_or(&Value::Null);
            if col.not_null && value.is_null() {
                return Err(PgError::new(
                    400,
                    "23502",
                    format!(
                        "null value in column \"{}\" of relation \"{table}\" violates not-null constraint",
                        col.name
                    ),
                ));
            }
            if let (Some(target), Some(id)) = (col.references, value.as_i64())
                && self.get(target, id).is_none()
            {
                // with RLS on the referenced table PostgreSQL does not show the key
                return Err(PgError::new(
                    409,
                    "23503",
                    format!(
                        "insert or update on table \"{table}\" violates foreign key constraint \"{table}_{}_fkey\"",
                        col.name
                    ),
                )
                .details(format!("Key is not present in table \"{target}\".")));
            }
        }
        Ok(())
    }

    fn bump_last_seen(&mut self, note: &Row) {
        let (Some(contact), Some(date)) = (
            note.get("contact_id").and_then(Value::as_i64),
            note.get("date").and_then(Value::as_str).map(str::to_owned),
        ) else {
            return;
        };
        if let Some(row) = self
            .tables
            .get_mut("contacts")
            .and_then(|t| t.rows.get_mut(&contact))
        {
            let later = row
                .get("last_seen")
                .and_then(Value::as_str)
                .is_none_or(|seen| {
                    crate::timefmt::parse_timestamp(seen) < crate::timefmt::parse_timestamp(&date)
                });
            if later {
                row.insert("last_seen".into(), json!(date));
            }
        }
    }
}

fn writable_columns(table: &str) -> Result<&'static [Col], PgError> {
    if let Some(cols) = schema::columns(table) {
        return Ok(cols);
    }
    Db::relation_columns(table)?;
    Err(
        PgError::new(400, "55000", format!("cannot insert into view \"{table}\"")).details(
            "Views that do not select from a single table or view are not automatically updatable.",
        ),
    )
}

fn not_a_table(table: &str) -> PgError {
    PgError::new(
        404,
        "PGRST205",
        format!("Could not find the table 'public.{table}' in the schema cache"),
    )
}

fn unknown_keys(table: &str, cols: &[Col], body: &Row) -> Result<(), PgError> {
    match body
        .keys()
        .find(|k| !cols.iter().any(|c| c.name == k.as_str()))
    {
        Some(key) => Err(PgError::new(
            400,
            "PGRST204",
            format!("Could not find the '{key}' column of '{table}' in the schema cache"),
        )),
        None => Ok(()),
    }
}
