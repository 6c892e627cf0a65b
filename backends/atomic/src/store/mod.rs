//! The two transports behind one small interface. [`Store`] is what the backend needs from
//! Atomic CRM's database: select rows of a relation under a neutral condition tree ([`Cond`]),
//! insert, update and delete rows of a table, read the catalog and the configuration row, and
//! (postgres only) run a read-only SQL statement. [`pg::PgStore`] renders it as SQL in a
//! transaction that sets the caller's role and claims; [`rest::RestStore`] renders it as
//! PostgREST requests carrying the caller's token. Rows come back as JSON objects either way
//! (PostgreSQL's own JSON rendering), so the mappers do not know which transport ran.

pub mod pg;
pub mod rest;

use crate::jwt::Claims;
use async_trait::async_trait;
use crmgate_core::model::SqlResult;
use crmgate_core::{Error, Result};
use secrecy::SecretString;
use serde_json::{Map, Value};

/// One row, as a JSON object.
pub type Row = Map<String, Value>;

/// A verified caller: the token to present (postgrest) and its claims (postgres).
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user's access token.
    pub token: SecretString,
    /// Its verified claims.
    pub claims: Claims,
}

/// How a condition's text value is read by the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cast {
    /// `bigint` (ids, references, integers).
    BigInt,
    /// `numeric`.
    Numeric,
    /// `boolean`.
    Boolean,
    /// `date`.
    Date,
    /// `timestamptz`.
    Timestamptz,
    /// `text`.
    Text,
    /// `bigint[]` (an array literal such as `{1,2}`).
    BigIntArray,
}

impl Cast {
    /// The SQL type name.
    pub fn sql(self) -> &'static str {
        match self {
            Cast::BigInt => "bigint",
            Cast::Numeric => "numeric",
            Cast::Boolean => "boolean",
            Cast::Date => "date",
            Cast::Timestamptz => "timestamptz",
            Cast::Text => "text",
            Cast::BigIntArray => "bigint[]",
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>`
    Neq,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `<`
    Lt,
    /// `<=`
    Lte,
}

impl CmpOp {
    /// The SQL operator.
    pub fn sql(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Neq => "<>",
            CmpOp::Gt => ">",
            CmpOp::Gte => ">=",
            CmpOp::Lt => "<",
            CmpOp::Lte => "<=",
        }
    }

    /// The PostgREST operator.
    pub fn rest(self) -> &'static str {
        match self {
            CmpOp::Eq => "eq",
            CmpOp::Neq => "neq",
            CmpOp::Gt => "gt",
            CmpOp::Gte => "gte",
            CmpOp::Lt => "lt",
            CmpOp::Lte => "lte",
        }
    }
}

/// A condition on one relation's columns. Values are text; the database casts them.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// `column op value`.
    Cmp {
        /// Column.
        column: String,
        /// Operator.
        op: CmpOp,
        /// Value.
        value: String,
        /// Its type.
        cast: Cast,
    },
    /// `column IS DISTINCT FROM value` (true for NULL columns).
    Distinct {
        /// Column.
        column: String,
        /// Value.
        value: String,
        /// Its type.
        cast: Cast,
    },
    /// `column IN (values)`.
    In {
        /// Column.
        column: String,
        /// Values.
        values: Vec<String>,
        /// Their type.
        cast: Cast,
    },
    /// `column ILIKE pattern` (`%`, `_` wildcards; `\` escapes).
    ILike {
        /// Column.
        column: String,
        /// Pattern.
        pattern: String,
    },
    /// `column IS NULL`.
    IsNull(String),
    /// The bigint array column contains the id: `column @> ARRAY[id]`.
    ArrayHas {
        /// Column.
        column: String,
        /// Id.
        value: String,
    },
    /// The bigint array column shares an id with `values`: `column && ARRAY[...]`.
    ArrayOverlaps {
        /// Column.
        column: String,
        /// Ids.
        values: Vec<String>,
    },
    /// The array column is empty: `column = '{}'`.
    ArrayEmpty(String),
    /// Negation.
    Not(Box<Cond>),
    /// Any holds.
    Or(Vec<Cond>),
    /// All hold.
    And(Vec<Cond>),
}

impl Cond {
    /// `column = value` on an id or reference column.
    pub fn id_eq(column: &str, id: i64) -> Cond {
        Cond::Cmp {
            column: column.into(),
            op: CmpOp::Eq,
            value: id.to_string(),
            cast: Cast::BigInt,
        }
    }

    /// `column IN (ids)` on an id or reference column.
    pub fn id_in(column: &str, ids: &[i64]) -> Cond {
        Cond::In {
            column: column.into(),
            values: ids.iter().map(i64::to_string).collect(),
            cast: Cast::BigInt,
        }
    }

    /// The negation.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Cond {
        match self {
            Cond::Not(inner) => *inner,
            other => Cond::Not(Box::new(other)),
        }
    }
}

/// One sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Column.
    pub column: String,
    /// Descending.
    pub desc: bool,
}

/// A read of one relation.
#[derive(Debug, Clone)]
pub struct Select<'a> {
    /// Table or view.
    pub relation: &'a str,
    /// Conditions that must all hold.
    pub filter: &'a [Cond],
    /// Sort keys (the store adds `id` last, for a stable order).
    pub order: &'a [Order],
    /// Rows wanted.
    pub limit: usize,
    /// Rows skipped.
    pub offset: usize,
    /// Also count every matching row.
    pub count: bool,
}

/// Rows read, and the count when asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    /// The rows.
    pub rows: Vec<Row>,
    /// Matching rows in total.
    pub total: Option<u64>,
}

/// One column in the live catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Relation (table or view).
    pub relation: String,
    /// Column name.
    pub name: String,
    /// `information_schema.columns.data_type` (`bigint`, `ARRAY`, `USER-DEFINED`, …).
    pub data_type: String,
    /// `udt_name` (`int8`, `_int8`, `citext`, …).
    pub udt: String,
    /// Accepts NULL.
    pub nullable: bool,
    /// Has a default, or is an identity or generated column.
    pub has_default: bool,
}

/// The database operations the backend needs.
#[async_trait]
pub trait Store: Send + Sync {
    /// Rows of a table or view.
    async fn select(&self, caller: &Caller, select: &Select<'_>) -> Result<Rows>;

    /// Insert one row; the row as stored (defaults and triggers applied).
    async fn insert(&self, caller: &Caller, table: &str, row: &Row) -> Result<Row>;

    /// Update the rows matching `filter`; the rows as stored after the change.
    async fn update(
        &self,
        caller: &Caller,
        table: &str,
        filter: &[Cond],
        row: &Row,
    ) -> Result<Vec<Row>>;

    /// Delete the rows matching `filter`; how many went.
    async fn delete(&self, caller: &Caller, table: &str, filter: &[Cond]) -> Result<u64>;

    /// The columns of these relations the caller can see, or `None` when the transport cannot
    /// read the catalog (then the built-in model describes the schema).
    async fn catalog(&self, caller: &Caller, relations: &[&str]) -> Result<Option<Vec<Column>>>;

    /// The `config` of the `configuration` row, if there is one the caller can read.
    async fn configuration(&self, caller: &Caller) -> Result<Option<Value>>;

    /// One read-only SQL statement under the caller's row-level security.
    async fn sql(&self, _caller: &Caller, _sql: &str, _limit: usize) -> Result<SqlResult> {
        Err(Error::not_allowed(
            "crm_query needs the postgres transport",
            "use crm_search, or configure transport = \"postgres\" with a database_url",
        ))
    }
}
