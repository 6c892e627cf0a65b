//! Rendering the condition tree and reads/writes as SQL with text parameters: every value is
//! sent as `$n::text` and cast by PostgreSQL to the column's type, identifiers are always
//! quoted, and nothing the caller typed is ever spliced into the SQL text. Every function and
//! operator is written with its schema (`pg_catalog.to_jsonb`, `OPERATOR(pg_catalog.=)`), so
//! a same-named object someone created in `public` can never be picked instead.

use crate::store::{Cast, Cond, Order, Row, Select};

/// Positional parameters, all text.
#[derive(Debug, Default)]
pub struct Params(pub Vec<String>);

impl Params {
    /// Add a value; its placeholder as text.
    fn push(&mut self, value: impl Into<String>) -> String {
        self.0.push(value.into());
        format!("${}::text", self.0.len())
    }
}

/// A quoted identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `public."relation"`.
pub fn relation(name: &str) -> String {
    format!("public.{}", ident(name))
}

fn col(column: &str) -> String {
    format!("t.{}", ident(column))
}

fn typed(placeholder: String, cast: Cast) -> String {
    match cast {
        Cast::Text => placeholder,
        other => format!("({placeholder})::{}", other.sql()),
    }
}

/// An array literal (`{"a","b"}`) of text values.
fn array_literal(values: &[String]) -> String {
    let items: Vec<String> = values
        .iter()
        .map(|v| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", items.join(","))
}

/// A built-in operator, named with its schema.
fn builtin_op(op: &str) -> String {
    format!("operator(pg_catalog.{op})")
}

/// A condition as SQL over the alias `t`.
pub fn render(cond: &Cond, params: &mut Params) -> String {
    match cond {
        Cond::Cmp {
            column,
            op,
            value,
            cast,
        } => format!(
            "{} {} {}",
            col(column),
            builtin_op(op.sql()),
            typed(params.push(value.clone()), *cast)
        ),
        Cond::Distinct {
            column,
            value,
            cast,
        } => format!(
            // IS DISTINCT FROM, with the built-in `=` (the value is never null)
            "({} {} {}) is not true",
            col(column),
            builtin_op("="),
            typed(params.push(value.clone()), *cast)
        ),
        Cond::In {
            column,
            values,
            cast,
        } => format!(
            "{} {} any(({})::{}[])",
            col(column),
            builtin_op("="),
            params.push(array_literal(values)),
            cast.sql()
        ),
        Cond::ILike { column, pattern } => {
            format!(
                "{}::text {} {}",
                col(column),
                builtin_op("~~*"),
                params.push(pattern.clone())
            )
        }
        Cond::IsNull(column) => format!("{} is null", col(column)),
        Cond::ArrayHas { column, value } => format!(
            "{} {} array[({})::bigint]",
            col(column),
            builtin_op("@>"),
            params.push(value.clone())
        ),
        Cond::ArrayOverlaps { column, values } => format!(
            "{} {} ({})::bigint[]",
            col(column),
            builtin_op("&&"),
            params.push(array_literal(values))
        ),
        Cond::ArrayEmpty(column) => format!(
            "pg_catalog.cardinality({}) {} 0",
            col(column),
            builtin_op("=")
        ),
        Cond::Not(inner) => format!("not ({})", render(inner, params)),
        Cond::Or(items) if items.is_empty() => "false".into(),
        Cond::And(items) if items.is_empty() => "true".into(),
        Cond::Or(items) => join(items, " or ", params),
        Cond::And(items) => join(items, " and ", params),
    }
}

fn join(items: &[Cond], sep: &str, params: &mut Params) -> String {
    let parts: Vec<String> = items.iter().map(|c| render(c, params)).collect();
    format!("({})", parts.join(sep))
}

/// `where …` for a list of conditions (empty when there are none).
pub fn where_clause(filter: &[Cond], params: &mut Params) -> String {
    if filter.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = filter.iter().map(|c| render(c, params)).collect();
    format!(" where {}", parts.join(" and "))
}

fn order_clause(order: &[Order]) -> String {
    let mut keys: Vec<String> = order
        .iter()
        .map(|o| {
            format!(
                "{} {} nulls last",
                col(&o.column),
                if o.desc { "desc" } else { "asc" }
            )
        })
        .collect();
    if !order.iter().any(|o| o.column == "id") {
        keys.push("t.\"id\" asc".into());
    }
    format!(" order by {}", keys.join(", "))
}

/// The page query and, when counting, the count query (both over the same parameters).
pub fn select(select: &Select<'_>) -> (String, Option<String>, Params) {
    let mut params = Params::default();
    let from = format!("from {} as t", relation(select.relation));
    let filter = where_clause(select.filter, &mut params);
    let rows = format!(
        "select pg_catalog.to_jsonb(t) {from}{filter}{} limit {} offset {}",
        order_clause(select.order),
        select.limit,
        select.offset
    );
    let count = select
        .count
        .then(|| format!("select pg_catalog.count(*) {from}{filter}"));
    (rows, count, params)
}

/// Insert one row given as a JSON parameter; the column list comes from the row's keys.
pub fn insert(table: &str, row: &Row) -> String {
    let columns: Vec<String> = row.keys().map(|k| ident(k)).collect();
    let list = columns.join(", ");
    format!(
        "insert into {rel} as t ({list}) select {list} from \
         pg_catalog.jsonb_populate_record(null::{rel}, $1::jsonb) returning pg_catalog.to_jsonb(t)",
        rel = relation(table)
    )
}

/// Update the rows matching `filter` from a JSON parameter (`$1`); conditions follow.
pub fn update(table: &str, filter: &[Cond], row: &Row) -> (String, Params) {
    let mut params = Params::default();
    params.0.push(String::new()); // $1 is the row, bound separately as jsonb
    let sets: Vec<String> = row
        .keys()
        .map(|k| format!("{} = r.{}", ident(k), ident(k)))
        .collect();
    let filter = where_clause(filter, &mut params);
    let sql = format!(
        "update {rel} as t set {} from pg_catalog.jsonb_populate_record(null::{rel}, $1::jsonb) \
         as r{filter} returning pg_catalog.to_jsonb(t)",
        sets.join(", "),
        rel = relation(table)
    );
    (sql, params)
}

/// Delete the rows matching `filter`.
pub fn delete(table: &str, filter: &[Cond]) -> (String, Params) {
    let mut params = Params::default();
    let filter = where_clause(filter, &mut params);
    (
        format!(
            "delete from {} as t{filter} returning t.\"id\"",
            relation(table)
        ),
        params,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::CmpOp;
    use serde_json::json;

    #[test]
    fn conditions_render_with_text_parameters_only() {
        let cond = Cond::Or(vec![
            Cond::IsNull("name".into()),
            Cond::ILike {
                column: "na\"me".into(),
                pattern: "a%".into(),
            }
            .not(),
            Cond::Cmp {
                column: "amount".into(),
                op: CmpOp::Gte,
                value: "5".into(),
                cast: Cast::Numeric,
            },
            Cond::In {
                column: "id".into(),
                values: vec!["1".into(), "2\"".into()],
                cast: Cast::BigInt,
            },
            Cond::ArrayHas {
                column: "tags".into(),
                value: "3".into(),
            },
        ]);
        let mut p = Params::default();
        let sql = render(&cond, &mut p);
        assert_eq!(
            sql,
            "(t.\"name\" is null or not (t.\"na\"\"me\"::text operator(pg_catalog.~~*) $1::text) \
             or t.\"amount\" operator(pg_catalog.>=) ($2::text)::numeric \
             or t.\"id\" operator(pg_catalog.=) any(($3::text)::bigint[]) \
             or t.\"tags\" operator(pg_catalog.@>) array[($4::text)::bigint])"
        );
        assert_eq!(p.0, ["a%", "5", "{\"1\",\"2\\\"\"}", "3"]);
    }

    #[test]
    fn statements_quote_every_identifier() {
        let filter = [Cond::id_eq("id", 7)];
        let s = Select {
            relation: "contacts_summary",
            filter: &filter,
            order: &[Order {
                column: "last_seen".into(),
                desc: true,
            }],
            limit: 10,
            offset: 20,
            count: true,
        };
        let (rows, count, params) = select(&s);
        assert_eq!(
            rows,
            "select pg_catalog.to_jsonb(t) from public.\"contacts_summary\" as t \
             where t.\"id\" operator(pg_catalog.=) ($1::text)::bigint \
             order by t.\"last_seen\" desc nulls last, t.\"id\" asc limit 10 offset 20"
        );
        assert_eq!(
            count.unwrap(),
            "select pg_catalog.count(*) from public.\"contacts_summary\" as t \
             where t.\"id\" operator(pg_catalog.=) ($1::text)::bigint"
        );
        assert_eq!(params.0, ["7"]);
        let row = json!({"name": "x", "stage": "won"})
            .as_object()
            .unwrap()
            .clone();
        assert!(insert("deals", &row).starts_with(
            "insert into public.\"deals\" as t (\"name\", \"stage\") select \"name\", \"stage\" from pg_catalog.jsonb_populate_record"
        ));
        let (sql, params) = update("deals", &filter, &row);
        assert!(
            sql.contains("set \"name\" = r.\"name\", \"stage\" = r.\"stage\""),
            "{sql}"
        );
        assert!(
            sql.contains("where t.\"id\" operator(pg_catalog.=) ($2::text)::bigint"),
            "{sql}"
        );
        assert_eq!(params.0.len(), 2);
    }
}
