//! Property tests over Bitrix24's pure functions with hostile input (crmgate_core::arb): the
//! filter translator and sort on the documented deal schema, item and value mappers both ways,
//! PHP-style query strings, wire readers, dictionaries, envelopes, vendor errors, cursors and
//! ids. Every input gets an answer, never a panic. Cases: `PROPTEST_CASES` (256 by default).

use crmgate_bitrix24::client::BatchOutcome;
use crmgate_bitrix24::error::VendorError;
use crmgate_bitrix24::map::dicts::{self, Dictionaries};
use crmgate_bitrix24::map::fields::{self, EntityMeta};
use crmgate_bitrix24::map::record::{read_value, to_record, to_wire, write_value};
use crmgate_bitrix24::paging::Cursor;
use crmgate_bitrix24::wire::{self, Envelope};
use crmgate_bitrix24::{filters, links, php};
use crmgate_core::arb::{
    field_names, fields_among, filter_among, hostile_string, json_value, sort_among,
};
use proptest::prelude::*;
use serde_json::Value;
use std::sync::LazyLock;

mod common;

/// The documented dictionaries and deal schema.
static DEALS: LazyLock<(Dictionaries, EntityMeta)> = LazyLock::new(|| {
    (
        common::documented_dictionaries(),
        common::documented_deals(),
    )
});

fn deal_fields() -> Vec<String> {
    field_names(&DEALS.1.schema)
}

proptest! {
    #[test]
    fn filters_and_sorts_translate_or_refuse(
        filter in filter_among(deal_fields()),
        sort in sort_among(deal_fields()),
    ) {
        let (dicts, meta) = &*DEALS;
        if let Ok(native) = filters::translate(&filter, meta, dicts) {
            // whatever is sent survives the trip through the query string
            let _ = php::build_query(&Value::Object(native));
        }
        if let Ok(order) = filters::order(&sort, meta) {
            let _ = filters::order_value(&order);
        }
    }

    #[test]
    fn items_and_values_map_both_ways(
        item in fields_among(deal_fields()),
        data in fields_among(deal_fields()),
        value in json_value(3),
        portal in hostile_string(),
    ) {
        let (dicts, meta) = &*DEALS;
        let record = to_record(Value::Object(item), meta, dicts, &portal);
        let _ = record.title;
        let _ = to_wire(&data, meta);
        for m in meta.fields.values() {
            let _ = read_value(m, value.clone());
            let _ = write_value(m, &value);
        }
    }

    #[test]
    fn query_strings_round_trip_without_panics(value in json_value(4), raw in hostile_string()) {
        let query = php::build_query(&value);
        let _ = php::parse_query(&query);
        let _ = php::parse_query(&raw);
        let _ = php::ordered_keys(&raw, "order");
        let _ = php::ordered_keys(&query, "filter");
    }

    #[test]
    fn wire_readers_dictionaries_and_envelopes_take_anything(value in json_value(4), status in proptest::option::of(100u16..600)) {
        let _ = (wire::int(&value), wire::float(&value), wire::flag(&value), wire::text(&value));
        let _ = wire::map(Some(&value));
        let _ = wire::list(Some(&value));
        let _ = wire::order_pairs(&value);
        let _ = wire::body_json(&value);
        let _ = Envelope::from_body(value.clone());
        let _ = wire::items(value.clone());
        let _ = BatchOutcome::parse(value.clone());
        if let Value::String(s) = &value {
            let _ = php::looks_like_reference(s);
        }
        let _ = php::has_reference(&value);
        let _ = dicts::parse_statuses(&value);
        let _ = dicts::parse_categories(&value);
        let _ = dicts::parse_currencies(&value);
        let _ = dicts::parse_users(&value);
        let _ = dicts::parse_types(&value);
        let _ = fields::parse_fields(&value);
        if let Some(vendor) = VendorError::parse(status, &value) {
            let error = vendor.to_error("crm.item.list");
            prop_assert!(!error.message.is_empty());
        }
    }

    /// What the portal would substitute inside `batch` is always recognised, in any case and
    /// amid any text, so it is never sent in a batch command.
    #[test]
    fn batch_references_are_recognised_amid_any_text(
        before in hostile_string(),
        after in hostile_string(),
        root in proptest::sample::select(vec!["result", "RESULT", "Next", "total", "tIme", "error"]),
        key in "[^\\]\\s]{1,12}",
    ) {
        let text = format!("{before}${root}[{key}]{after}");
        prop_assert!(php::looks_like_reference(&text), "{text:?}");
        let value = serde_json::json!({"filter": {"%title": text}});
        prop_assert!(php::has_reference(&value));
        // and text with no `$` never is
        let plain = format!("{before}{after}").replace('$', "");
        prop_assert!(!php::looks_like_reference(&plain));
    }

    #[test]
    fn cursors_and_ids_parse_or_refuse(text in hostile_string(), raw in any::<String>()) {
        for s in [&text, &raw] {
            if let Ok(cursor) = Cursor::parse(s) {
                prop_assert!(Cursor::parse(&cursor.token()).is_ok());
            }
            if let Ok(id) = links::parse_id(s) {
                prop_assert!(id > 0, "{s:?} -> {id}");
            }
            let _ = crmgate_bitrix24::error::scope_of(s);
        }
    }
}
