//! The walk over PostgreSQL's raw parse tree. Deny by default: only the node kinds listed in
//! [`Walk::node`] may appear, and each is taken apart with an exhaustive pattern (no `..`), so
//! that every child is visited and a field added by a newer parser fails to compile instead of
//! going unchecked. Along the way the walk rewrites unqualified table names to `public.`
//! (the statement runs with `search_path` pinned to `pg_catalog`).

use super::allow::{AllowList, never};
use crmgate_core::{Error, Result};
use pg_query::NodeEnum as N;
use pg_query::protobuf::{
    self, ColumnDef, CommonTableExpr, CteCycleClause, CteSearchClause, FuncCall, Node, RangeVar,
    SelectStmt, TypeName, WindowDef, WithClause,
};
use std::collections::HashSet;

/// Walks one statement's tree, checking and rewriting it.
pub(super) struct Walk<'a> {
    pub allow: &'a AllowList,
    /// Names of every CTE in the statement: a table reference with such a name may be one.
    pub ctes: HashSet<String>,
}

type Step = Result<()>;

impl Walk<'_> {
    /// A `SELECT` (or `VALUES`, or a set operation of them) anywhere in the statement.
    pub fn select(&mut self, s: &mut SelectStmt) -> Step {
        let SelectStmt {
            distinct_clause,
            into_clause,
            target_list,
            from_clause,
            where_clause,
            group_clause,
            group_distinct: _,
            having_clause,
            window_clause,
            values_lists,
            sort_clause,
            limit_offset,
            limit_count,
            limit_option: _,
            locking_clause,
            with_clause,
            op: _,
            all: _,
            larg,
            rarg,
        } = s;
        if into_clause.is_some() {
            return Err(refuse(
                "SELECT … INTO creates a table; crm_query only reads (drop the INTO clause)",
            ));
        }
        if !locking_clause.is_empty() {
            return Err(refuse(
                "FOR UPDATE / FOR SHARE lock rows; crm_query only reads (drop the locking clause)",
            ));
        }
        if let Some(with) = with_clause {
            self.with(with)?;
        }
        for list in [
            distinct_clause,
            target_list,
            from_clause,
            group_clause,
            window_clause,
            values_lists,
            sort_clause,
        ] {
            self.nodes(list)?;
        }
        for one in [where_clause, having_clause, limit_offset, limit_count] {
            self.opt(one)?;
        }
        for side in [larg, rarg].into_iter().flatten() {
            self.select(side)?;
        }
        Ok(())
    }

    fn with(&mut self, w: &mut WithClause) -> Step {
        let WithClause {
            ctes,
            recursive: _,
            location: _,
        } = w;
        self.nodes(ctes)
    }

    fn cte(&mut self, c: &mut CommonTableExpr) -> Step {
        let CommonTableExpr {
            ctename: _,
            aliascolnames,
            ctematerialized: _,
            ctequery,
            search_clause,
            cycle_clause,
            location: _,
            cterecursive: _,
            cterefcount: _,
            ctecolnames,
            ctecoltypes,
            ctecoltypmods,
            ctecolcollations,
        } = c;
        match ctequery.as_deref_mut().and_then(|n| n.node.as_mut()) {
            Some(N::SelectStmt(s)) => self.select(s)?,
            Some(other) => {
                return Err(refuse(&format!(
                    "a WITH query holds {}: crm_query only reads, and a data-changing WITH \
                     query would run",
                    describe(other)
                )));
            }
            None => return Err(refuse("a WITH query without a statement")),
        }
        for list in [
            aliascolnames,
            ctecolnames,
            ctecoltypes,
            ctecoltypmods,
            ctecolcollations,
        ] {
            self.nodes(list)?;
        }
        if let Some(CteSearchClause {
            search_col_list,
            search_breadth_first: _,
            search_seq_column: _,
            location: _,
        }) = search_clause
        {
            self.nodes(search_col_list)?;
        }
        if let Some(cycle) = cycle_clause.as_deref_mut() {
            let CteCycleClause {
                cycle_col_list,
                cycle_mark_column: _,
                cycle_mark_value,
                cycle_mark_default,
                cycle_path_column: _,
                location: _,
                cycle_mark_type: _,
                cycle_mark_typmod: _,
                cycle_mark_collation: _,
                cycle_mark_neop: _,
            } = cycle;
            self.nodes(cycle_col_list)?;
            self.opt(cycle_mark_value)?;
            self.opt(cycle_mark_default)?;
        }
        Ok(())
    }

    fn nodes(&mut self, list: &mut [Node]) -> Step {
        list.iter_mut().try_for_each(|n| self.one(n))
    }

    fn opt(&mut self, node: &mut Option<Box<Node>>) -> Step {
        match node {
            Some(n) => self.one(n),
            None => Ok(()),
        }
    }

    fn one(&mut self, node: &mut Node) -> Step {
        match node.node.as_mut() {
            Some(n) => self.node(n),
            None => Ok(()),
        }
    }

    /// One node: the allowed kinds, each with every child visited.
    fn node(&mut self, node: &mut N) -> Step {
        match node {
            N::SelectStmt(s) => self.select(s),
            N::CommonTableExpr(c) => self.cte(c),
            N::RangeVar(r) => {
                self.relation(r);
                Ok(())
            }
            N::RangeSubselect(r) => {
                let protobuf::RangeSubselect {
                    lateral: _,
                    subquery,
                    alias: _,
                } = r.as_mut();
                self.subquery(subquery)
            }
            N::RangeFunction(r) => {
                let protobuf::RangeFunction {
                    lateral: _,
                    ordinality: _,
                    is_rowsfrom: _,
                    functions,
                    alias: _,
                    coldeflist,
                } = r;
                self.nodes(functions)?;
                self.nodes(coldeflist)
            }
            N::RangeTableSample(r) => {
                let protobuf::RangeTableSample {
                    relation,
                    method,
                    args,
                    repeatable,
                    location: _,
                } = r.as_mut();
                let sample = |m: &str| matches!(m, "bernoulli" | "system");
                let known = match names(method)?.as_slice() {
                    [m] => sample(m),
                    [schema, m] => schema == "pg_catalog" && sample(m),
                    _ => false,
                };
                if !known {
                    return Err(refuse(
                        "TABLESAMPLE takes the built-in methods BERNOULLI and SYSTEM only",
                    ));
                }
                self.opt(relation)?;
                self.nodes(args)?;
                self.opt(repeatable)
            }
            N::JoinExpr(j) => {
                let protobuf::JoinExpr {
                    jointype: _,
                    is_natural: _,
                    larg,
                    rarg,
                    using_clause,
                    join_using_alias: _,
                    quals,
                    alias: _,
                    rtindex: _,
                } = j.as_mut();
                self.opt(larg)?;
                self.opt(rarg)?;
                self.nodes(using_clause)?;
                self.opt(quals)
            }
            N::ResTarget(r) => {
                let protobuf::ResTarget {
                    name: _,
                    indirection,
                    val,
                    location: _,
                } = r.as_mut();
                self.nodes(indirection)?;
                self.opt(val)
            }
            N::ColumnRef(c) => {
                let protobuf::ColumnRef {
                    fields,
                    location: _,
                } = c;
                self.nodes(fields)
            }
            N::ParamRef(p) => Err(Error::validation(
                format!(
                    "crm_query takes no parameters, but the statement has a placeholder (${})",
                    p.number
                ),
                "write the values into the statement itself, e.g. where id = 12",
            )),
            N::AConst(_)
            | N::String(_)
            | N::Integer(_)
            | N::Float(_)
            | N::Boolean(_)
            | N::BitString(_)
            | N::AStar(_)
            | N::SqlvalueFunction(_) => Ok(()),
            N::List(l) => {
                let protobuf::List { items } = l;
                self.nodes(items)
            }
            N::AExpr(e) => {
                let protobuf::AExpr {
                    kind: _,
                    name,
                    lexpr,
                    rexpr,
                    rexpr_list_start: _,
                    rexpr_list_end: _,
                    location: _,
                } = e.as_mut();
                operator(name)?;
                self.opt(lexpr)?;
                self.opt(rexpr)
            }
            N::BoolExpr(b) => {
                let protobuf::BoolExpr {
                    xpr,
                    boolop: _,
                    args,
                    location: _,
                } = b.as_mut();
                self.opt(xpr)?;
                self.nodes(args)
            }
            N::NullTest(t) => {
                let protobuf::NullTest {
                    xpr,
                    arg,
                    nulltesttype: _,
                    argisrow: _,
                    location: _,
                } = t.as_mut();
                self.opt(xpr)?;
                self.opt(arg)
            }
            N::BooleanTest(t) => {
                let protobuf::BooleanTest {
                    xpr,
                    arg,
                    booltesttype: _,
                    location: _,
                } = t.as_mut();
                self.opt(xpr)?;
                self.opt(arg)
            }
            N::FuncCall(f) => self.call(f),
            N::NamedArgExpr(a) => {
                let protobuf::NamedArgExpr {
                    xpr,
                    arg,
                    name: _,
                    argnumber: _,
                    location: _,
                } = a.as_mut();
                self.opt(xpr)?;
                self.opt(arg)
            }
            N::TypeCast(c) => {
                let protobuf::TypeCast {
                    arg,
                    type_name,
                    location: _,
                } = c.as_mut();
                self.opt(arg)?;
                match type_name {
                    Some(t) => self.type_name(t),
                    None => Ok(()),
                }
            }
            N::TypeName(t) => self.type_name(t),
            N::CollateClause(c) => {
                let protobuf::CollateClause {
                    arg,
                    collname,
                    location: _,
                } = c.as_mut();
                builtin_name(collname, "collation")?;
                self.opt(arg)
            }
            N::CaseExpr(c) => {
                let protobuf::CaseExpr {
                    xpr,
                    casetype: _,
                    casecollid: _,
                    arg,
                    args,
                    defresult,
                    location: _,
                } = c.as_mut();
                self.opt(xpr)?;
                self.opt(arg)?;
                self.nodes(args)?;
                self.opt(defresult)
            }
            N::CaseWhen(w) => {
                let protobuf::CaseWhen {
                    xpr,
                    expr,
                    result,
                    location: _,
                } = w.as_mut();
                self.opt(xpr)?;
                self.opt(expr)?;
                self.opt(result)
            }
            N::CoalesceExpr(c) => {
                let protobuf::CoalesceExpr {
                    xpr,
                    coalescetype: _,
                    coalescecollid: _,
                    args,
                    location: _,
                } = c.as_mut();
                self.opt(xpr)?;
                self.nodes(args)
            }
            N::MinMaxExpr(m) => {
                let protobuf::MinMaxExpr {
                    xpr,
                    minmaxtype: _,
                    minmaxcollid: _,
                    inputcollid: _,
                    op: _,
                    args,
                    location: _,
                } = m.as_mut();
                self.opt(xpr)?;
                self.nodes(args)
            }
            N::SubLink(s) => {
                let protobuf::SubLink {
                    xpr,
                    sub_link_type: _,
                    sub_link_id: _,
                    testexpr,
                    oper_name,
                    subselect,
                    location: _,
                } = s.as_mut();
                operator(oper_name)?;
                self.opt(xpr)?;
                self.opt(testexpr)?;
                self.subquery(subselect)
            }
            N::RowExpr(r) => {
                let protobuf::RowExpr {
                    xpr,
                    args,
                    row_typeid: _,
                    row_format: _,
                    colnames,
                    location: _,
                } = r.as_mut();
                self.opt(xpr)?;
                self.nodes(args)?;
                self.nodes(colnames)
            }
            N::AArrayExpr(a) => {
                let protobuf::AArrayExpr {
                    elements,
                    list_start: _,
                    list_end: _,
                    location: _,
                } = a;
                self.nodes(elements)
            }
            N::AIndirection(i) => {
                let protobuf::AIndirection { arg, indirection } = i.as_mut();
                self.opt(arg)?;
                self.nodes(indirection)
            }
            N::AIndices(i) => {
                let protobuf::AIndices {
                    is_slice: _,
                    lidx,
                    uidx,
                } = i.as_mut();
                self.opt(lidx)?;
                self.opt(uidx)
            }
            N::GroupingSet(g) => {
                let protobuf::GroupingSet {
                    kind: _,
                    content,
                    location: _,
                } = g;
                self.nodes(content)
            }
            N::GroupingFunc(g) => {
                let protobuf::GroupingFunc {
                    xpr,
                    args,
                    refs,
                    agglevelsup: _,
                    location: _,
                } = g.as_mut();
                self.opt(xpr)?;
                self.nodes(args)?;
                self.nodes(refs)
            }
            N::SortBy(s) => {
                let protobuf::SortBy {
                    node,
                    sortby_dir: _,
                    sortby_nulls: _,
                    use_op,
                    location: _,
                } = s.as_mut();
                operator(use_op)?;
                self.opt(node)
            }
            N::WindowDef(w) => self.window(w),
            N::ColumnDef(c) => self.column_def(c),
            other => Err(refuse(&format!(
                "crm_query does not run {}; it takes one SELECT of columns, expressions and \
                 built-in functions",
                describe(other)
            ))),
        }
    }

    fn subquery(&mut self, node: &mut Option<Box<Node>>) -> Step {
        match node.as_deref_mut().and_then(|n| n.node.as_mut()) {
            Some(N::SelectStmt(s)) => self.select(s),
            Some(other) => Err(refuse(&format!(
                "a subquery holds {}: crm_query only reads",
                describe(other)
            ))),
            None => Ok(()),
        }
    }

    /// A function call: its name on the allow-list, then its arguments, order, filter and
    /// window.
    fn call(&mut self, f: &mut FuncCall) -> Step {
        let FuncCall {
            funcname,
            args,
            agg_order,
            agg_filter,
            over,
            agg_within_group: _,
            agg_star: _,
            agg_distinct: _,
            func_variadic: _,
            funcformat: _,
            location: _,
        } = f;
        let name = names(funcname)?;
        let (schema, function) = match name.as_slice() {
            [function] => (None, function.as_str()),
            [schema, function] => (Some(schema.as_str()), function.as_str()),
            _ => {
                return Err(off_the_list(
                    &name.join("."),
                    "a function is name or schema.name",
                ));
            }
        };
        if !self.allow.allows(schema, function) {
            let written = name.join(".");
            return Err(match never(function) {
                Some(why) => refuse(&format!(
                    "crm_query does not allow the function {written}(): {why}"
                )),
                None => off_the_list(
                    &written,
                    "only built-in functions without side effects are on its allow-list",
                ),
            });
        }
        self.nodes(args)?;
        self.nodes(agg_order)?;
        self.opt(agg_filter)?;
        if let Some(w) = over {
            self.window(w)?;
        }
        Ok(())
    }

    fn window(&mut self, w: &mut WindowDef) -> Step {
        let WindowDef {
            name: _,
            refname: _,
            partition_clause,
            order_clause,
            frame_options: _,
            start_offset,
            end_offset,
            location: _,
        } = w;
        self.nodes(partition_clause)?;
        self.nodes(order_clause)?;
        self.opt(start_offset)?;
        self.opt(end_offset)
    }

    /// A type in a cast or a column definition list: built-in (resolved in `pg_catalog`).
    fn type_name(&mut self, t: &mut TypeName) -> Step {
        let TypeName {
            names: type_names,
            type_oid: _,
            setof: _,
            pct_type,
            typmods,
            typemod: _,
            array_bounds,
            location: _,
        } = t;
        if *pct_type {
            return Err(refuse("crm_query does not take %TYPE references"));
        }
        builtin_name(type_names, "type")?;
        self.nodes(typmods)?;
        self.nodes(array_bounds)
    }

    /// A column of a column definition list (`json_to_record(x) as t(a int, b text)`): a
    /// name and a built-in type, nothing more.
    fn column_def(&mut self, c: &mut ColumnDef) -> Step {
        let ColumnDef {
            colname: _,
            type_name,
            compression,
            inhcount: _,
            is_local: _,
            is_not_null: _,
            is_from_type: _,
            storage: _,
            storage_name,
            raw_default,
            cooked_default,
            identity,
            identity_sequence,
            generated,
            coll_clause,
            coll_oid: _,
            constraints,
            fdwoptions,
            location: _,
        } = c;
        if !compression.is_empty()
            || !storage_name.is_empty()
            || raw_default.is_some()
            || cooked_default.is_some()
            || !identity.is_empty()
            || identity_sequence.is_some()
            || !generated.is_empty()
            || !constraints.is_empty()
            || !fdwoptions.is_empty()
        {
            return Err(refuse(
                "a column definition list takes names and types only",
            ));
        }
        if let Some(t) = type_name {
            self.type_name(t)?;
        }
        if let Some(collate) = coll_clause {
            let protobuf::CollateClause {
                arg,
                collname,
                location: _,
            } = collate.as_mut();
            builtin_name(collname, "collation")?;
            self.opt(arg)?;
        }
        Ok(())
    }

    /// A table reference without a schema becomes `public.name`, unless it may name a CTE or
    /// is a catalog relation (`pg_…`).
    fn relation(&mut self, r: &mut RangeVar) {
        if r.schemaname.is_empty()
            && r.catalogname.is_empty()
            && !self.ctes.contains(&r.relname)
            && !r.relname.starts_with("pg_")
        {
            r.schemaname = "public".into();
        }
    }
}

/// The parts of a dotted name (function, type, operator), all string nodes.
fn names(list: &[Node]) -> Result<Vec<String>> {
    list.iter()
        .map(|n| match &n.node {
            Some(N::String(s)) => Ok(s.sval.clone()),
            _ => Err(refuse("a name that is not a plain identifier")),
        })
        .collect()
}

/// A type or collation name: unqualified (resolved in `pg_catalog`) or `pg_catalog.name`.
fn builtin_name(list: &[Node], what: &str) -> Step {
    let parts = names(list)?;
    match parts.as_slice() {
        [_] => Ok(()),
        [schema, _] if schema == "pg_catalog" => Ok(()),
        _ => Err(refuse(&format!(
            "crm_query takes built-in {what}s only: {} is not in pg_catalog",
            parts.join(".")
        ))),
    }
}

/// An operator name: a symbol (resolved in `pg_catalog`), or `OPERATOR(pg_catalog.sym)`.
fn operator(list: &[Node]) -> Step {
    let parts = names(list)?;
    match parts.as_slice() {
        [] | [_] => Ok(()),
        [schema, _] if schema == "pg_catalog" => Ok(()),
        _ => Err(refuse(&format!(
            "crm_query takes built-in operators only: OPERATOR({}) is not in pg_catalog",
            parts.join(".")
        ))),
    }
}

/// A short name for a node kind in an error message.
pub(super) fn describe(node: &N) -> String {
    let plain = |s: &str| s.to_owned();
    match node {
        N::InsertStmt(_) => plain("INSERT"),
        N::UpdateStmt(_) => plain("UPDATE"),
        N::DeleteStmt(_) => plain("DELETE"),
        N::MergeStmt(_) => plain("MERGE"),
        N::CopyStmt(_) => plain("COPY"),
        N::LoadStmt(_) => plain("LOAD"),
        N::DoStmt(_) => plain("DO"),
        N::CallStmt(_) => plain("CALL"),
        N::VariableSetStmt(_) => plain("SET"),
        N::VariableShowStmt(_) => plain("SHOW"),
        N::TransactionStmt(_) => plain("a transaction command"),
        N::ExplainStmt(_) => plain("EXPLAIN"),
        N::PrepareStmt(_) | N::ExecuteStmt(_) => plain("PREPARE / EXECUTE"),
        N::NotifyStmt(_) | N::ListenStmt(_) => plain("NOTIFY / LISTEN"),
        N::LockStmt(_) => plain("LOCK"),
        N::TruncateStmt(_) => plain("TRUNCATE"),
        N::GrantStmt(_) | N::GrantRoleStmt(_) => plain("GRANT / REVOKE"),
        N::XmlExpr(_) | N::XmlSerialize(_) | N::RangeTableFunc(_) => plain("XML functions"),
        other => {
            // the variant name, e.g. CreateStmt
            let debug = format!("{other:?}");
            let name: String = debug
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            match name.strip_suffix("Stmt") {
                Some(statement) => format!("a {statement} statement"),
                None => format!("the construct {name}"),
            }
        }
    }
}

fn refuse(message: &str) -> Error {
    super::refuse(message)
}

fn off_the_list(written: &str, why: &str) -> Error {
    Error::not_allowed(
        format!("crm_query does not allow the function {written}(): {why}"),
        "use built-in functions (string, date, math, json, aggregates); the operator can allow \
         more with sql_allow_functions in the Atomic config",
    )
}
