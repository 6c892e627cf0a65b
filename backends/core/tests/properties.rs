//! Property tests over every parser and check in core that agent or config text reaches:
//! dates and times (against `chrono`), write validation, filters, cursors, confirm tokens,
//! text helpers, base URLs and secret handling. Any input must give an answer, never a panic,
//! and the answers must keep their promises (round trips, no echoed secrets).
//! Cases: `PROPTEST_CASES` (256 by default).

use chrono::{Datelike, NaiveDate};
use crmgate_core::arb::{
    every_type_schema, field_names, fields_among, filter_among, hostile_string, json_value,
};
use crmgate_core::config::{EnvVarName, secret_shaped, shown};
use crmgate_core::confirm::{ConfirmSigner, Intent};
use crmgate_core::filter::FilterOp;
use crmgate_core::validate::{WriteKind, validate_write};
use crmgate_core::{base_url, cursor, text, time};
use proptest::prelude::*;

proptest! {
    #[test]
    fn civil_arithmetic_agrees_with_chrono(days in -3_000_000i64..3_000_000) {
        let (y, m, d) = time::civil_from_days(days);
        let reference = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + chrono::Days::new(0);
        let date = if days >= 0 {
            reference + chrono::Days::new(days as u64)
        } else {
            reference - chrono::Days::new(days.unsigned_abs())
        };
        prop_assert_eq!((y, m, d), (i64::from(date.year()), date.month(), date.day()));
        prop_assert_eq!(time::days_from_civil(y, m, d), days);
        prop_assert_eq!(
            time::days_in_month(y, m),
            date.with_day(1).unwrap().checked_add_months(chrono::Months::new(1)).unwrap()
                .signed_duration_since(date.with_day(1).unwrap()).num_days() as u32
        );
    }

    #[test]
    fn rfc3339_date_times_parse_like_chrono(
        secs in 0i64..253_402_300_799,
        offset_min in -1439i32..=1439,
        sep in prop::sample::select(vec!['T', 't', ' ']),
        fraction in proptest::option::of("[0-9]{1,9}"),
    ) {
        let zone = chrono::FixedOffset::east_opt(offset_min * 60).unwrap();
        let at = chrono::DateTime::from_timestamp(secs, 0).unwrap().with_timezone(&zone);
        let mut text = at.format("%Y-%m-%d").to_string();
        text.push(sep);
        text.push_str(&at.format("%H:%M:%S").to_string());
        if let Some(f) = &fraction {
            text.push('.');
            text.push_str(f);
        }
        text.push_str(&at.format("%:z").to_string());
        let parsed = time::parse_datetime(&text).unwrap();
        prop_assert_eq!(parsed.unix, secs);
        prop_assert_eq!(
            parsed.fraction,
            fraction.unwrap_or_default().trim_end_matches('0').to_owned()
        );
    }

    #[test]
    fn any_text_is_a_date_time_or_not_never_a_panic(text in hostile_string(), raw in any::<String>()) {
        for s in [&text, &raw, &format!("2026-01-01{text}"), &format!("2026-01-01T10:{text}")] {
            let parsed = time::parse_date_or_datetime(s);
            if let Some(p) = &parsed {
                // whatever parses is plain ASCII of the documented shape
                prop_assert!(s.is_ascii() && s.len() >= 10, "{s:?} → {p:?}");
            }
            prop_assert_eq!(time::is_date(s), time::parse_date(s).is_some());
        }
    }

    #[test]
    fn write_validation_answers_any_data(
        data in fields_among(field_names(&every_type_schema())),
        create in any::<bool>(),
    ) {
        let schema = every_type_schema();
        let kind = if create { WriteKind::Create } else { WriteKind::Update };
        if let Err(e) = validate_write(&schema, &data, kind) {
            prop_assert!(!e.message.is_empty() && !e.suggestion.is_empty());
        }
    }

    #[test]
    fn filters_check_and_match_any_input(
        filter in filter_among(field_names(&every_type_schema())),
        record in fields_among(field_names(&every_type_schema())),
        ops in prop::sample::subsequence(FilterOp::ALL.to_vec(), 0..=13),
    ) {
        let schema = every_type_schema();
        let _ = filter.check(&schema, &ops);
        let _ = filter.matches(&record);
    }

    #[test]
    fn cursors_round_trip_and_refuse_anything_else(token in any::<String>(), junk in any::<String>()) {
        let query = cursor::fingerprint(&["deals", &token]);
        let encoded = cursor::encode(query, &token);
        prop_assert_eq!(cursor::decode(query, &encoded).unwrap(), token);
        let other = cursor::fingerprint(&["contacts"]);
        prop_assert!(cursor::decode(other, &encoded).is_err());
        if let Ok(decoded) = cursor::decode(query, &junk) {
            prop_assert_eq!(cursor::encode(query, &decoded), junk.trim());
        }
    }

    #[test]
    fn confirm_tokens_bind_their_intent(
        id in hostile_string(),
        version in hostile_string(),
        forged in hostile_string(),
    ) {
        let signer = ConfirmSigner::new(b"0123456789abcdef0123456789abcdef");
        let intent = Intent {
            operation: "delete",
            entity: "Deal",
            id: &id,
            version: &version,
            caller: "caller:a",
        };
        let token = signer.issue(intent);
        prop_assert!(signer.verify(&token, intent).is_ok());
        prop_assert!(signer.verify(&forged, intent).is_err());
        let changed = format!("{version}x");
        let stale = Intent { version: &changed, ..intent };
        prop_assert!(signer.verify(&token, stale).is_err());
        let elsewhere = format!("{id}x");
        let other_record = Intent { id: &elsewhere, ..intent };
        prop_assert!(signer.verify(&token, other_record).is_err());
        let other_caller = Intent { caller: "caller:b", ..intent };
        prop_assert!(signer.verify(&token, other_caller).is_err());
    }

    #[test]
    fn truncation_cuts_on_characters(mut text in any::<String>(), max in 0usize..64) {
        let before = text.chars().count();
        let cut = text::truncate_in_place(&mut text, max);
        prop_assert_eq!(cut, before > max);
        prop_assert!(text.chars().count() <= before.max(max));
        if cut {
            prop_assert!(text.ends_with('…') && text.chars().count() == max.max(1));
        }
        let _ = text::did_you_mean(&text, ["email", "first_name", "é"]);
    }

    #[test]
    fn base_urls_normalise_idempotently_and_never_keep_credentials(raw in hostile_string(), host in "[a-z]{1,10}") {
        for candidate in [raw.clone(), format!("https://{host}.example/{raw}"), format!("https://u:{raw}@{host}.example")] {
            if let Ok(url) = base_url::normalise(&candidate, &["/api"]) {
                prop_assert!(url.starts_with("http://") || url.starts_with("https://"));
                let parsed = reqwest::Url::parse(&url).unwrap();
                prop_assert!(parsed.username().is_empty() && parsed.password().is_none());
                prop_assert!(parsed.query().is_none() && parsed.fragment().is_none());
                prop_assert_eq!(base_url::normalise(&url, &[]).unwrap(), url.clone());
            }
            let _ = base_url::origin(&candidate);
        }
    }

    #[test]
    fn a_refused_env_name_and_a_hidden_value_never_show_their_text(value in hostile_string(), raw in any::<String>()) {
        for v in [&value, &raw] {
            if let Err(message) = EnvVarName::new(v) {
                let trimmed = v.trim();
                prop_assert!(trimmed.len() < 3 || !message.contains(trimmed), "{message}");
            }
            let shown = shown(v);
            if secret_shaped(v) {
                prop_assert!(!shown.contains(v.as_str()), "{shown}");
            }
        }
    }

    #[test]
    fn json_of_any_shape_is_generated(value in json_value(4)) {
        // the generator itself: serialisable and re-readable (what the tool tests feed)
        let text = serde_json::to_string(&value).unwrap();
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back.is_object(), value.is_object());
    }
}
