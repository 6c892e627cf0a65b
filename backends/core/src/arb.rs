//! Hostile inputs for property tests (feature `arb`): strings in any script with the characters
//! parsers trip on, JSON of every shape, filters, sorts and a schema with a field of every type.
//! Shared by every crate's `tests/properties.rs`, so each parser, validator, mapper and filter
//! translator meets the same adversary.
//!
//! Case counts follow proptest's `PROPTEST_CASES` (256 by default), so CI stays bounded.

use crate::filter::{Condition, Filter, FilterOp, SortKey};
use crate::model::Fields;
use crate::schema::{EntitySchema, EnumOption, FieldSchema, FieldType};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// Fragments that have broken parsers somewhere: path and query syntax, escapes, quotes,
/// comments, SQL and PHP-bracket syntax, batch references, multi-byte and invisible
/// characters, numbers at the edges.
pub const NASTY: &[&str] = &[
    "é",
    "𝄞",
    "ℵ",
    "ß",
    "İ",
    "\u{301}",
    "\u{200b}",
    "\u{202e}",
    "\u{feff}",
    "日本",
    "🦀",
    "\0",
    "\n",
    "\r\n",
    "\t",
    " ",
    "/",
    "..",
    "../",
    "%2e%2e",
    "%2F",
    "%",
    "%%",
    "%zz",
    "?",
    "#",
    "&",
    "=",
    "+",
    "\\",
    "'",
    "\"",
    "`",
    "--",
    "/*",
    "*/",
    ";",
    "$",
    "$$",
    "$tag$",
    "$result[",
    "[",
    "]",
    "[]",
    "{",
    "}",
    ":",
    "::",
    "*",
    "_",
    ",",
    "@",
    "0",
    "-1",
    "1e309",
    "NaN",
    "99999999999999999999",
    "-9223372036854775808",
    "2026-01-01",
    "T",
    "Z",
    "+02:00",
    "1.5",
    "null",
    "true",
    "urn:uuid:",
    "{f7414bc8-695f-4de0-9b7a-9ab286e22eef}",
    "co-0001",
    "1",
    "id",
    "name",
    "GET:/",
    "crm.deal.list",
    "https://",
    "http://127.0.0.1:1/",
    "select",
    "SET",
    "pg_sleep(10)",
    "<script>",
    "&amp;",
    "\u{7f}",
];

/// A string built from [`NASTY`] fragments, arbitrary characters and plain words.
pub fn hostile_string() -> BoxedStrategy<String> {
    let fragment = prop_oneof![
        3 => proptest::sample::select(NASTY).prop_map(str::to_owned),
        2 => any::<char>().prop_map(String::from),
        2 => "[a-zA-Z0-9_]{1,8}",
        1 => "[0-9]{1,4}-[0-9]{1,2}-[0-9]{1,2}([T ][0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)?",
    ];
    prop::collection::vec(fragment, 0..8)
        .prop_map(|parts| parts.concat())
        .boxed()
}

/// A short string: a [`hostile_string`], an arbitrary one, or one of `known` (field names,
/// ids, option values) so that inputs also reach past the first check.
pub fn string_among(known: Vec<String>) -> BoxedStrategy<String> {
    if known.is_empty() {
        return hostile_string();
    }
    prop_oneof![
        3 => proptest::sample::select(known),
        2 => hostile_string(),
        1 => any::<String>(),
    ]
    .boxed()
}

/// A JSON number at the edges as often as in the middle.
pub fn json_number() -> BoxedStrategy<Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop_oneof![
            Just(0i64),
            Just(-1),
            Just(1),
            Just(i64::MAX),
            Just(i64::MIN)
        ]
        .prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
    ]
    .boxed()
}

/// Any JSON value, nested up to `depth` levels, with hostile strings and keys.
pub fn json_value(depth: u32) -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        json_number(),
        hostile_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(depth, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(hostile_string(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// A JSON object whose keys are mostly `keys` (so values reach the per-field logic) and whose
/// values are anything.
pub fn fields_among(keys: Vec<String>) -> BoxedStrategy<Fields> {
    prop::collection::vec((string_among(keys), json_value(3)), 0..8)
        .prop_map(|pairs| pairs.into_iter().collect::<Map<String, Value>>())
        .boxed()
}

/// A filter over `fields` (plus strangers): every operator, any value, `any` groups, a query.
pub fn filter_among(fields: Vec<String>) -> BoxedStrategy<Filter> {
    let condition = (
        string_among(fields),
        proptest::sample::select(FilterOp::ALL.to_vec()),
        json_value(2),
    )
        .prop_map(|(field, op, value)| Condition { field, op, value });
    (
        prop::collection::vec(condition.clone(), 0..4),
        prop::collection::vec(prop::collection::vec(condition, 0..3), 0..3),
        proptest::option::of(hostile_string()),
    )
        .prop_map(|(all, any, query)| Filter { all, any, query })
        .boxed()
}

/// Sort keys over `fields` (plus strangers).
pub fn sort_among(fields: Vec<String>) -> BoxedStrategy<Vec<SortKey>> {
    prop::collection::vec(
        (string_among(fields), any::<bool>())
            .prop_map(|(field, descending)| SortKey { field, descending }),
        0..3,
    )
    .boxed()
}

/// A schema with one field of every type (`f_text`, `f_date`, …, an enum with options, a
/// required field), for validators and translators that take any schema.
pub fn every_type_schema() -> EntitySchema {
    use FieldType::*;
    let types = [
        ("id", Id),
        ("f_text", Text),
        ("f_long", LongText),
        ("f_int", Integer),
        ("f_number", Number),
        ("f_money", Money),
        ("f_bool", Boolean),
        ("f_date", Date),
        ("f_datetime", DateTime),
        ("f_enum", Enum),
        ("f_multi", MultiEnum),
        ("f_email", Email),
        ("f_phone", Phone),
        ("f_url", Url),
        ("f_ref", Reference),
        ("f_refs", References),
        ("f_json", Json),
    ];
    let options = vec![EnumOption::new("a", "A"), EnumOption::new("é", "É")];
    let fields = types
        .into_iter()
        .map(|(name, field_type)| {
            let field = FieldSchema::new(name, field_type);
            match field_type {
                Id => field.read_only(),
                Enum | MultiEnum => field.options(options.clone()),
                Reference | References => field.links_to("things"),
                Text => field.required().max_length(40),
                _ => field,
            }
        })
        .collect();
    EntitySchema {
        entity: "things".into(),
        native: "Thing".into(),
        fields,
        links: Vec::new(),
    }
}

/// The field names of a schema.
pub fn field_names(schema: &EntitySchema) -> Vec<String> {
    schema.fields.iter().map(|f| f.name.clone()).collect()
}
