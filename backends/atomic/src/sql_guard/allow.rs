//! Which functions a crm_query statement may call: a deny-by-default allow-list of built-in
//! (`pg_catalog`) functions that compute a value from their arguments and read nothing but the
//! clock, plus what the operator adds in config (`sql_allow_functions`). A short list of
//! functions can never be allowed, whatever the config says: they read or write settings (the
//! caller's role and claims live there), run SQL held in a string, hold locks past the
//! transaction, or reach files, other sessions or other servers.

use crmgate_core::{Error, Result};
use std::collections::{BTreeSet, HashSet};
use std::sync::LazyLock;

/// Built-in functions a statement may call without configuration. Every one is a pure
/// function of its arguments (or of the clock, or a random source) with no effect outside the
/// statement. Names are matched unqualified or qualified with `pg_catalog`.
pub const DEFAULT_FUNCTIONS: &[&str] = &[
    // aggregates
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "array_agg",
    "string_agg",
    "json_agg",
    "jsonb_agg",
    "json_agg_strict",
    "jsonb_agg_strict",
    "json_object_agg",
    "jsonb_object_agg",
    "json_object_agg_strict",
    "jsonb_object_agg_strict",
    "json_object_agg_unique",
    "jsonb_object_agg_unique",
    "bool_and",
    "bool_or",
    "every",
    "bit_and",
    "bit_or",
    "bit_xor",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "variance",
    "var_pop",
    "var_samp",
    "corr",
    "covar_pop",
    "covar_samp",
    "regr_avgx",
    "regr_avgy",
    "regr_count",
    "regr_intercept",
    "regr_r2",
    "regr_slope",
    "regr_sxx",
    "regr_sxy",
    "regr_syy",
    "percentile_cont",
    "percentile_disc",
    "mode",
    "any_value",
    "range_agg",
    "range_intersect_agg",
    // window functions
    "row_number",
    "rank",
    "dense_rank",
    "percent_rank",
    "cume_dist",
    "ntile",
    "lag",
    "lead",
    "first_value",
    "last_value",
    "nth_value",
    // comparison and conditionals (COALESCE, NULLIF, GREATEST, LEAST are syntax)
    "num_nulls",
    "num_nonnulls",
    // strings
    "length",
    "char_length",
    "character_length",
    "octet_length",
    "bit_length",
    "lower",
    "upper",
    "initcap",
    "btrim",
    "ltrim",
    "rtrim",
    "substr",
    "substring",
    "left",
    "right",
    "lpad",
    "rpad",
    "repeat",
    "replace",
    "reverse",
    "split_part",
    "strpos",
    "position",
    "overlay",
    "concat",
    "concat_ws",
    "format",
    "translate",
    "ascii",
    "chr",
    "starts_with",
    "string_to_array",
    "string_to_table",
    "array_to_string",
    "regexp_replace",
    "regexp_match",
    "regexp_matches",
    "regexp_split_to_array",
    "regexp_split_to_table",
    "regexp_like",
    "regexp_count",
    "regexp_instr",
    "regexp_substr",
    "similar_to_escape",
    "like_escape",
    "quote_ident",
    "quote_literal",
    "quote_nullable",
    "normalize",
    "is_normalized",
    "unistr",
    "casefold",
    "to_hex",
    "to_bin",
    "to_oct",
    "md5",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "encode",
    "decode",
    "convert_from",
    "convert_to",
    "to_ascii",
    "text",
    "pg_collation_for",
    // numbers
    "abs",
    "ceil",
    "ceiling",
    "floor",
    "round",
    "trunc",
    "sign",
    "sqrt",
    "cbrt",
    "power",
    "pow",
    "exp",
    "ln",
    "log",
    "log10",
    "mod",
    "div",
    "gcd",
    "lcm",
    "factorial",
    "pi",
    "degrees",
    "radians",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "atan2",
    "sind",
    "cosd",
    "tand",
    "asind",
    "acosd",
    "atand",
    "atan2d",
    "sinh",
    "cosh",
    "tanh",
    "asinh",
    "acosh",
    "atanh",
    "width_bucket",
    "scale",
    "min_scale",
    "trim_scale",
    "random",
    "random_normal",
    "numeric",
    "int4",
    "int8",
    "float8",
    "to_number",
    // dates and times
    "now",
    "current_date",
    "current_time",
    "current_timestamp",
    "localtime",
    "localtimestamp",
    "clock_timestamp",
    "statement_timestamp",
    "transaction_timestamp",
    "timeofday",
    "date_trunc",
    "date_part",
    "extract",
    "date_bin",
    "age",
    "make_date",
    "make_time",
    "make_timestamp",
    "make_timestamptz",
    "make_interval",
    "justify_days",
    "justify_hours",
    "justify_interval",
    "isfinite",
    "to_char",
    "to_date",
    "to_timestamp",
    "timezone",
    "date",
    "date_add",
    "date_subtract",
    "overlaps",
    "generate_series",
    // json and jsonb
    "to_json",
    "to_jsonb",
    "row_to_json",
    "array_to_json",
    "json_build_object",
    "jsonb_build_object",
    "json_build_array",
    "jsonb_build_array",
    "json_object",
    "jsonb_object",
    "json_array_length",
    "jsonb_array_length",
    "json_each",
    "jsonb_each",
    "json_each_text",
    "jsonb_each_text",
    "json_array_elements",
    "jsonb_array_elements",
    "json_array_elements_text",
    "jsonb_array_elements_text",
    "json_object_keys",
    "jsonb_object_keys",
    "json_extract_path",
    "jsonb_extract_path",
    "json_extract_path_text",
    "jsonb_extract_path_text",
    "json_typeof",
    "jsonb_typeof",
    "json_strip_nulls",
    "jsonb_strip_nulls",
    "jsonb_pretty",
    "jsonb_set",
    "jsonb_set_lax",
    "jsonb_insert",
    "jsonb_concat",
    "jsonb_path_exists",
    "jsonb_path_match",
    "jsonb_path_query",
    "jsonb_path_query_array",
    "jsonb_path_query_first",
    "jsonb_path_exists_tz",
    "jsonb_path_match_tz",
    "jsonb_path_query_tz",
    "jsonb_path_query_array_tz",
    "jsonb_path_query_first_tz",
    "json_to_record",
    "jsonb_to_record",
    "json_to_recordset",
    "jsonb_to_recordset",
    "to_tsvector",
    "json_scalar",
    // arrays
    "array_length",
    "cardinality",
    "unnest",
    "array_append",
    "array_prepend",
    "array_cat",
    "array_position",
    "array_positions",
    "array_remove",
    "array_replace",
    "array_lower",
    "array_upper",
    "array_dims",
    "array_ndims",
    "array_fill",
    "trim_array",
    "array_reverse",
    "array_sort",
    "array_shuffle",
    "array_sample",
    "generate_subscripts",
    // text search
    "to_tsquery",
    "plainto_tsquery",
    "phraseto_tsquery",
    "websearch_to_tsquery",
    "ts_rank",
    "ts_rank_cd",
    "ts_headline",
    "ts_lexize",
    "setweight",
    "strip",
    "numnode",
    "querytree",
    "tsvector_to_array",
    "array_to_tsvector",
    "ts_delete",
    "ts_filter",
    // uuids, ranges, misc
    "gen_random_uuid",
    "uuidv4",
    "uuidv7",
    "uuid_extract_timestamp",
    "uuid_extract_version",
    "lower_inc",
    "upper_inc",
    "lower_inf",
    "upper_inf",
    "isempty",
    "range_merge",
    "int4range",
    "int8range",
    "numrange",
    "daterange",
    "tsrange",
    "tstzrange",
    "pg_typeof",
];

/// Functions that can never be allowed, as name prefixes (so that a whole family goes, and no
/// spelling, schema or quoting lets one through), with the reason.
const NEVER: &[(&str, &str)] = &[
    (
        "set_config",
        "it changes settings, and the caller's role and claims are settings",
    ),
    (
        "current_setting",
        "it reads settings, the caller's claims among them",
    ),
    ("pg_show_all_settings", "it reads settings"),
    ("query_to_xml", "it runs SQL held in a string"),
    ("cursor_to_xml", "it reads a cursor by name"),
    ("table_to_xml", "it runs SQL built from a string"),
    ("schema_to_xml", "it runs SQL built from a string"),
    ("database_to_xml", "it runs SQL built from a string"),
    ("ts_stat", "it runs SQL held in a string"),
    ("ts_rewrite", "it can run SQL held in a string"),
    ("dblink", "it runs SQL over another connection"),
    ("pg_advisory", "advisory locks can outlive the transaction"),
    (
        "pg_try_advisory",
        "advisory locks can outlive the transaction",
    ),
    ("lo_", "large objects are server-side files"),
    ("pg_read_", "it reads server files"),
    ("pg_ls_", "it lists server files"),
    ("pg_stat_file", "it reads server files"),
    ("pg_file_", "it writes server files"),
    ("pg_terminate_backend", "it ends other sessions"),
    ("pg_cancel_backend", "it cancels other sessions"),
    ("pg_reload_conf", "it reloads the server configuration"),
    ("pg_notify", "it signals other sessions"),
    ("nextval", "it advances a sequence"),
    ("setval", "it changes a sequence"),
    ("setseed", "it changes the session's random seed"),
];

/// Why a function called `name` (unqualified) can never be allowed, if it cannot.
pub fn never(name: &str) -> Option<&'static str> {
    NEVER
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|(_, why)| *why)
}

/// [`DEFAULT_FUNCTIONS`] as a set, built at the first statement checked (not at start-up:
/// building it at every config check was a quarter of an Atomic server's start).
static DEFAULTS: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| DEFAULT_FUNCTIONS.iter().copied().collect());

/// The functions a statement may call: [`DEFAULT_FUNCTIONS`] and what config adds.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    /// Built-in names config adds (callable unqualified or as `pg_catalog.name`).
    builtin: BTreeSet<String>,
    /// `schema.name` entries from config: callable only written with that schema.
    qualified: BTreeSet<String>,
}

impl AllowList {
    /// The default list extended with `extra` (`sql_allow_functions`): `name` or
    /// `pg_catalog.name` adds a built-in; `schema.name` allows that function, called with its
    /// schema. Refuses malformed entries and the functions that can never be allowed.
    pub fn with(extra: &[String]) -> Result<Self> {
        let mut list = AllowList::default();
        for entry in extra {
            let bad = |why: &str| {
                Error::config(format!(
                    "kind \"atomic\": sql_allow_functions: {entry:?} {why}"
                ))
            };
            let parts: Vec<&str> = entry.split('.').collect();
            if parts.is_empty() || parts.len() > 2 || !parts.iter().all(|p| is_identifier(p)) {
                return Err(bad(
                    "is not a function name: write name or schema.name in lower case (e.g. \
                     \"auth.uid\")",
                ));
            }
            let name = parts[parts.len() - 1];
            if let Some(why) = never(name) {
                return Err(bad(&format!("can never be allowed: {why}")));
            }
            match parts.as_slice() {
                [name] | ["pg_catalog", name] => {
                    list.builtin.insert((*name).to_owned());
                }
                [schema, name] => {
                    list.qualified.insert(format!("{schema}.{name}"));
                }
                _ => unreachable!("one or two parts"),
            }
        }
        Ok(list)
    }

    /// Whether a call of `name`, written with `schema` (none, `pg_catalog` or another), is
    /// allowed.
    pub fn allows(&self, schema: Option<&str>, name: &str) -> bool {
        if never(name).is_some() {
            return false;
        }
        match schema {
            None | Some("pg_catalog") => DEFAULTS.contains(name) || self.builtin.contains(name),
            Some(schema) => self.qualified.contains(&format!("{schema}.{name}")),
        }
    }
}

/// A lower-case SQL identifier as an unquoted name is written.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_hold_no_forbidden_function() {
        for name in DEFAULT_FUNCTIONS {
            assert!(never(name).is_none(), "{name}");
        }
        let unique: BTreeSet<&&str> = DEFAULT_FUNCTIONS.iter().collect();
        assert_eq!(unique.len(), DEFAULT_FUNCTIONS.len(), "no duplicates");
    }

    #[test]
    fn config_extends_but_never_with_the_forbidden() {
        let list = AllowList::with(&[
            "auth.uid".into(),
            "pg_sleep".into(),
            "pg_catalog.pg_backend_pid".into(),
        ])
        .unwrap();
        assert!(list.allows(Some("auth"), "uid"));
        assert!(!list.allows(None, "uid"), "only with its schema");
        assert!(!list.allows(Some("public"), "uid"));
        assert!(list.allows(None, "pg_sleep") && list.allows(Some("pg_catalog"), "pg_sleep"));
        assert!(list.allows(None, "pg_backend_pid"));
        assert!(list.allows(None, "lower") && list.allows(Some("pg_catalog"), "lower"));
        assert!(!list.allows(Some("public"), "lower"));
        let defaults = AllowList::default();
        assert!(defaults.allows(None, "jsonb_agg") && defaults.allows(Some("pg_catalog"), "now"));
        assert!(!defaults.allows(None, "pg_sleep") && !defaults.allows(None, "pg_backend_pid"));
        assert!(!defaults.allows(Some("auth"), "uid"));
        for bad in [
            "set_config",
            "pg_catalog.current_setting",
            "public.set_config",
            "lo_import",
            "pg_advisory_lock",
            "dblink_exec",
            "Auth.Uid",
            "a.b.c",
            "",
            "x y",
            "\"quoted\"",
        ] {
            let e = AllowList::with(&[bad.into()]).unwrap_err();
            assert!(e.message.contains("sql_allow_functions"), "{bad}: {e}");
        }
    }
}
