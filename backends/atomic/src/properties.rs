//! Property tests over Atomic CRM's pure functions with hostile input (crmgate_core::arb): the
//! filter translator and sort on every entity's built-in schema, row mappers both ways, ids,
//! timestamps and LIKE escaping. Every input gets an answer, never a panic. Unit tests, since
//! these modules are private. Cases: `PROPTEST_CASES` (256 by default).

use crate::describe::builtin_schema;
use crate::model::Kind;
use crate::model::options::AllowedValues;
use crate::{filters, map, timefmt};
use crmgate_core::arb::{
    field_names, fields_among, filter_among, hostile_string, json_value, sort_among,
};
use crmgate_core::schema::EntitySchema;
use proptest::prelude::*;
use std::collections::HashMap;

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(Kind::ALL.to_vec())
}

fn schema(kind: Kind) -> EntitySchema {
    builtin_schema(kind, &AllowedValues::default())
}

fn every_field() -> Vec<String> {
    Kind::ALL
        .iter()
        .flat_map(|k| field_names(&schema(*k)))
        .collect()
}

proptest! {
    #[test]
    fn filters_and_sorts_translate_or_refuse(
        kind in kind(),
        filter in filter_among(every_field()),
        sort in sort_among(every_field()),
        with_view in any::<bool>(),
    ) {
        let _ = filters::conditions(&filter, &schema(kind), kind.search_columns(with_view));
        let _ = filters::order(&sort);
        if let Some(query) = &filter.query {
            let escaped = filters::escape_like(query);
            prop_assert!(escaped.chars().count() >= query.chars().count());
        }
    }

    #[test]
    fn rows_map_both_ways(
        kind in kind(),
        row in fields_among(every_field()),
        data in fields_among(every_field()),
        app_url in proptest::option::of(hostile_string()),
    ) {
        let schema = schema(kind);
        if let Ok(record) = map::record(kind, &schema, row.clone(), app_url.as_deref()) {
            prop_assert!(!record.id.is_empty());
        }
        let _ = map::title(kind, "1", &row);
        let _ = map::row_for_write(kind, &schema, &data);
        let _ = map::timeline_item(kind, &row, &HashMap::new());
        let _ = map::person_name(&row);
    }

    #[test]
    fn ids_and_timestamps_parse_or_refuse(text in hostile_string(), raw in any::<String>(), value in json_value(2)) {
        for s in [&text, &raw, &value.to_string()] {
            if let Some(id) = map::parse_id(s) {
                prop_assert!(id > 0);
            }
            if let Some((secs, fraction)) = timefmt::parse_timestamp(s) {
                prop_assert!(fraction.chars().all(|c| c.is_ascii_digit()));
                prop_assert_eq!(timefmt::parse_timestamp(&timefmt::format_unix(secs)).map(|p| p.0), Some(secs));
            }
            let _ = timefmt::normalize_timestamp(s);
            let _ = timefmt::normalize_date(s);
        }
    }
}
