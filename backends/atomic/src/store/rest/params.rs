//! The condition tree as PostgREST query parameters: simple conditions as `column=op.value`,
//! anything with OR, AND or emptiness as a logic tree (`or=(a.is.null,b.ilike."x%")`) whose
//! values are always double-quoted, as PostgREST requires for reserved characters. Pure.

use crate::store::{Cond, Order};

/// `(key, value)` pairs for the query string.
pub fn filters(conds: &[Cond]) -> Vec<(String, String)> {
    conds.iter().map(top_level).collect()
}

fn top_level(cond: &Cond) -> (String, String) {
    match cond {
        Cond::Or(items) => ("or".into(), group(items)),
        Cond::And(items) => ("and".into(), group(items)),
        Cond::Not(inner) => match &**inner {
            Cond::Or(items) => ("not.or".into(), group(items)),
            Cond::And(items) => ("not.and".into(), group(items)),
            simple => {
                let (column, op, value) = parts(simple, false);
                (column, format!("not.{op}.{value}"))
            }
        },
        simple => {
            let (column, op, value) = parts(simple, false);
            (column, format!("{op}.{value}"))
        }
    }
}

fn group(items: &[Cond]) -> String {
    let inner: Vec<String> = items.iter().map(in_tree).collect();
    format!("({})", inner.join(","))
}

fn in_tree(cond: &Cond) -> String {
    match cond {
        Cond::Or(items) => format!("or{}", group(items)),
        Cond::And(items) => format!("and{}", group(items)),
        Cond::Not(inner) => match &**inner {
            Cond::Or(items) => format!("not.or{}", group(items)),
            Cond::And(items) => format!("not.and{}", group(items)),
            simple => {
                let (column, op, value) = parts(simple, true);
                format!("{column}.not.{op}.{value}")
            }
        },
        simple => {
            let (column, op, value) = parts(simple, true);
            format!("{column}.{op}.{value}")
        }
    }
}

/// Column, operator and operand of a simple condition; `quoted` inside logic trees.
fn parts(cond: &Cond, quoted: bool) -> (String, &'static str, String) {
    let scalar = |v: &str| if quoted { quote(v) } else { v.to_owned() };
    match cond {
        Cond::Cmp {
            column, op, value, ..
        } => (column.clone(), op.rest(), scalar(value)),
        Cond::Distinct { column, value, .. } => (column.clone(), "isdistinct", scalar(value)),
        Cond::In { column, values, .. } => {
            let items: Vec<String> = values.iter().map(|v| quote(v)).collect();
            (column.clone(), "in", format!("({})", items.join(",")))
        }
        // PostgREST turns every `*` into `%`; a literal `*` can only be matched as `_`
        Cond::ILike { column, pattern } => {
            (column.clone(), "ilike", scalar(&pattern.replace('*', "_")))
        }
        Cond::IsNull(column) => (column.clone(), "is", "null".into()),
        Cond::ArrayHas { column, value } => (column.clone(), "cs", format!("{{{value}}}")),
        Cond::ArrayOverlaps { column, values } => {
            (column.clone(), "ov", format!("{{{}}}", values.join(",")))
        }
        Cond::ArrayEmpty(column) => (column.clone(), "eq", "{}".into()),
        // trees are handled by the callers
        Cond::Not(_) | Cond::Or(_) | Cond::And(_) => (String::new(), "eq", String::new()),
    }
}

/// A double-quoted operand, `\` and `"` escaped.
fn quote(v: &str) -> String {
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `order=a.desc.nullslast,id.asc`.
pub fn order(order: &[Order]) -> String {
    let mut keys: Vec<String> = order
        .iter()
        .map(|o| {
            format!(
                "{}.{}.nullslast",
                o.column,
                if o.desc { "desc" } else { "asc" }
            )
        })
        .collect();
    if !order.iter().any(|o| o.column == "id") {
        keys.push("id.asc".into());
    }
    keys.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Cast, CmpOp};

    #[test]
    fn simple_conditions_are_columns_and_trees_are_quoted() {
        let conds = vec![
            Cond::id_eq("company_id", 3),
            Cond::IsNull("archived_at".into()).not(),
            Cond::In {
                column: "stage".into(),
                values: vec!["won".into(), "a,b".into()],
                cast: Cast::Text,
            },
            Cond::Or(vec![
                Cond::IsNull("title".into()),
                Cond::ILike {
                    column: "title".into(),
                    pattern: "ce\\_o (x)*".into(),
                }
                .not(),
                Cond::And(vec![
                    Cond::Cmp {
                        column: "title".into(),
                        op: CmpOp::Neq,
                        value: String::new(),
                        cast: Cast::Text,
                    },
                    Cond::ArrayHas {
                        column: "tags".into(),
                        value: "6".into(),
                    },
                ]),
            ]),
            Cond::And(vec![Cond::IsNull("a".into()), Cond::ArrayEmpty("b".into())]).not(),
        ];
        let pairs = filters(&conds);
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("company_id", "eq.3"),
                ("archived_at", "not.is.null"),
                ("stage", "in.(\"won\",\"a,b\")"),
                (
                    "or",
                    "(title.is.null,title.not.ilike.\"ce\\\\_o (x)_\",and(title.neq.\"\",tags.cs.{6}))"
                ),
                ("not.and", "(a.is.null,b.eq.{})"),
            ]
        );
        assert_eq!(
            order(&[Order {
                column: "last_seen".into(),
                desc: true
            }]),
            "last_seen.desc.nullslast,id.asc"
        );
    }
}
