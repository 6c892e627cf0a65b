//! PostgREST's query language, as the sandbox understands it: `column=[not.]op.value` filters,
//! `or=(…)` / `and=(…)` / `not.or=(…)` logic trees (nested, with double-quoted values),
//! `select`, `order` (`col.desc.nullslast`), `limit` and `offset`. Parsing only; `eval`
//! applies them to rows.

use super::db::PgError;

/// A filter operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Like,
    ILike,
    In,
    Is,
    IsDistinct,
    Cs,
    Cd,
    Ov,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "eq" => Op::Eq,
            "neq" => Op::Neq,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "like" => Op::Like,
            "ilike" => Op::ILike,
            "in" => Op::In,
            "is" => Op::Is,
            "isdistinct" => Op::IsDistinct,
            "cs" => Op::Cs,
            "cd" => Op::Cd,
            "ov" => Op::Ov,
            _ => return None,
        })
    }
}

/// A filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `column.[not.]op.value`.
    Leaf {
        column: String,
        negated: bool,
        op: Op,
        values: Vec<String>,
    },
    Or(Vec<Filter>),
    And(Vec<Filter>),
    Not(Box<Filter>),
}

/// A parsed request.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Columns to return (`None`: all).
    pub select: Option<Vec<String>>,
    /// Filters, all of which must hold.
    pub filters: Vec<Filter>,
    /// Sort keys: column, descending, nulls first.
    pub order: Vec<(String, bool, bool)>,
    /// `limit`.
    pub limit: Option<usize>,
    /// `offset`.
    pub offset: usize,
}

fn bad(message: impl Into<String>) -> PgError {
    PgError::new(400, "PGRST100", message)
}

/// Parse the query string pairs.
pub fn parse(pairs: &[(String, String)]) -> Result<Query, PgError> {
    let mut q = Query::default();
    for (key, value) in pairs {
        match key.as_str() {
            "select" => {
                if value.contains('(') {
                    return Err(bad("the sandbox does not embed resources"));
                }
                let cols: Vec<String> = value.split(',').map(|c| c.trim().to_owned()).collect();
                if !cols.iter().any(|c| c == "*") {
                    q.select = Some(cols);
                }
            }
            "order" => {
                for key in value.split(',') {
                    let mut parts = key.split('.');
                    let column = parts.next().unwrap_or("").to_owned();
                    let mut desc = false;
                    let mut nulls_first = None;
                    for p in parts {
                        match p {
                            "asc" => desc = false,
                            "desc" => desc = true,
                            "nullsfirst" => nulls_first = Some(true),
                            "nullslast" => nulls_first = Some(false),
                            other => return Err(bad(format!("failed to parse order ({other})"))),
                        }
                    }
                    q.order.push((column, desc, nulls_first.unwrap_or(desc)));
                }
            }
            "limit" => q.limit = Some(value.parse().map_err(|_| bad("failed to parse limit"))?),
            "offset" => q.offset = value.parse().map_err(|_| bad("failed to parse offset"))?,
            "columns" | "on_conflict" => {}
            "or" | "and" | "not.or" | "not.and" => {
                let items = group(value)?;
                let tree = if key.ends_with("or") {
                    Filter::Or(items)
                } else {
                    Filter::And(items)
                };
                q.filters.push(if key.starts_with("not.") {
                    Filter::Not(Box::new(tree))
                } else {
                    tree
                });
            }
            column => q.filters.push(leaf(column, value, false)?),
        }
    }
    Ok(q)
}

/// `op.value` or `not.op.value` for a column; in trees values may be double-quoted.
fn leaf(column: &str, rest: &str, in_tree: bool) -> Result<Filter, PgError> {
    let (negated, rest) = match rest.strip_prefix("not.") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let (op, value) = rest
        .split_once('.')
        .ok_or_else(|| bad(format!("failed to parse filter ({column}={rest})")))?;
    let op = Op::parse(op).ok_or_else(|| bad(format!("unknown operator {op}")))?;
    let values = if op == Op::In {
        let inner = value
            .strip_prefix('(')
            .and_then(|v| v.strip_suffix(')'))
            .ok_or_else(|| bad("in needs a list: in.(a,b)"))?;
        split(inner)?.into_iter().map(|v| unquote(&v)).collect()
    } else if in_tree {
        vec![unquote(value)]
    } else {
        vec![value.to_owned()]
    };
    Ok(Filter::Leaf {
        column: column.to_owned(),
        negated,
        op,
        values,
    })
}

/// The items of `(a,b,or(c,d))`.
fn group(value: &str) -> Result<Vec<Filter>, PgError> {
    let inner = value
        .strip_prefix('(')
        .and_then(|v| v.strip_suffix(')'))
        .ok_or_else(|| bad("logic trees are written (a,b)"))?;
    split(inner)?.iter().map(|item| tree_item(item)).collect()
}

fn tree_item(item: &str) -> Result<Filter, PgError> {
    for (prefix, negate, or) in [
        ("not.or(", true, true),
        ("not.and(", true, false),
        ("or(", false, true),
        ("and(", false, false),
    ] {
        if let Some(rest) = item.strip_prefix(prefix) {
            let items = group(&format!("({rest}"))?;
            let tree = if or {
                Filter::Or(items)
            } else {
                Filter::And(items)
            };
            return Ok(if negate {
                Filter::Not(Box::new(tree))
            } else {
                tree
            });
        }
    }
    let (column, rest) = item
        .split_once('.')
        .ok_or_else(|| bad(format!("failed to parse logic tree ({item})")))?;
    leaf(column, rest, true)
}

/// Split on top-level commas, keeping (), {} and "…" together.
fn split(s: &str) -> Result<Vec<String>, PgError> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted => {
                current.push(c);
                if let Some(n) = chars.next() {
                    current.push(n);
                }
            }
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            '(' | '{' if !quoted => {
                depth += 1;
                current.push(c);
            }
            ')' | '}' if !quoted => {
                depth -= 1;
                current.push(c);
            }
            ',' if !quoted && depth == 0 => out.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    if quoted || depth != 0 {
        return Err(bad("unbalanced quotes or parentheses"));
    }
    out.push(current);
    Ok(out)
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
        None => v.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn parses_filters_trees_and_order() {
        let q = parse(&pairs(&[
            ("select", "*"),
            ("stage", "in.(\"won\",\"a,b\")"),
            (
                "or",
                "(title.is.null,title.not.ilike.\"x\\\"y,z\",and(tags.cs.{1,6},id.gt.3))",
            ),
            ("order", "last_seen.desc.nullslast,id.asc"),
            ("limit", "7"),
            ("offset", "14"),
        ]))
        .unwrap();
        assert!(q.select.is_none());
        assert_eq!(q.filters.len(), 2);
        assert_eq!(
            q.filters[0],
            Filter::Leaf {
                column: "stage".into(),
                negated: false,
                op: Op::In,
                values: vec!["won".into(), "a,b".into()]
            }
        );
        let Filter::Or(items) = &q.filters[1] else {
            panic!()
        };
        assert_eq!(items.len(), 3);
        assert_eq!(
            items[1],
            Filter::Leaf {
                column: "title".into(),
                negated: true,
                op: Op::ILike,
                values: vec!["x\"y,z".into()]
            }
        );
        assert_eq!(
            q.order,
            [
                ("last_seen".to_owned(), true, false),
                ("id".to_owned(), false, false)
            ]
        );
        assert_eq!((q.limit, q.offset), (Some(7), 14));
        assert!(parse(&pairs(&[("or", "(a.eq.1")])).is_err());
        assert!(parse(&pairs(&[("name", "like")])).is_err());
    }
}
