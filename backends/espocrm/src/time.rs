//! EspoCRM datetimes: always UTC, written `YYYY-MM-DD HH:mm:ss`. Agents tend to send ISO 8601
//! (`2026-12-01T17:00:00Z`, or with an offset); [`to_espo_datetime`] turns those into EspoCRM's
//! form, converting offsets to UTC. Also the clock of the sandbox.

use crmgate_core::time::{Civil, parse_date_or_datetime, parse_datetime, unix_now};

/// Seconds since the epoch as EspoCRM's `YYYY-MM-DD HH:mm:ss` (UTC).
pub fn format_epoch(secs: i64) -> String {
    let c = Civil::from_unix(secs);
    format!("{} {}", c.date(), c.time())
}

/// Now, as EspoCRM writes it.
pub fn now() -> String {
    format_epoch(unix_now())
}

/// A datetime in EspoCRM's form (UTC, `YYYY-MM-DD HH:mm:ss`), from either that form or ISO 8601
/// (`T` separator, optional fraction, `Z` or `±HH:MM` offset). `None` when it is neither (the
/// grammar is [`crmgate_core::time::parse_datetime`]'s).
pub fn to_espo_datetime(input: &str) -> Option<String> {
    parse_datetime(input.trim()).map(|p| format_epoch(p.unix))
}

/// An EspoCRM datetime (`YYYY-MM-DD HH:mm:ss`, UTC) as ISO 8601 (`YYYY-MM-DDTHH:mm:ssZ`).
pub fn espo_to_iso(value: &str) -> String {
    match parse_datetime(value.trim()) {
        Some(p) => {
            let c = Civil::from_unix(p.unix);
            format!("{}T{}Z", c.date(), c.time())
        }
        None => value.to_owned(),
    }
}

/// Seconds since the epoch of a datetime (EspoCRM or ISO form) or a date (`YYYY-MM-DD`, at
/// midnight UTC).
pub fn epoch_of(value: &str) -> Option<i64> {
    parse_date_or_datetime(value.trim()).map(|p| p.unix)
}

/// Today (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    Civil::from_unix(unix_now()).date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_and_offsets_become_utc_espo_form() {
        assert_eq!(
            to_espo_datetime("2026-12-01T17:00:00Z").as_deref(),
            Some("2026-12-01 17:00:00")
        );
        assert_eq!(
            to_espo_datetime("2026-12-01 17:00:00").as_deref(),
            Some("2026-12-01 17:00:00")
        );
        assert_eq!(
            to_espo_datetime("2026-12-01T01:30:00+02:00").as_deref(),
            Some("2026-11-30 23:30:00")
        );
        assert_eq!(
            to_espo_datetime("2026-12-31T23:30:00.123-01:00").as_deref(),
            Some("2027-01-01 00:30:00")
        );
        assert_eq!(
            to_espo_datetime("2026-12-01T17:00").as_deref(),
            Some("2026-12-01 17:00:00")
        );
        assert_eq!(to_espo_datetime("2026-12-01"), None);
        assert_eq!(to_espo_datetime("yesterday at noon"), None);
        assert_eq!(to_espo_datetime("2026-13-01T00:00:00Z"), None);
        assert_eq!(espo_to_iso("2026-11-21 05:34:21"), "2026-11-21T05:34:21Z");
        // a multi-byte character where the old parser sliced by byte index
        assert_eq!(to_espo_datetime("2026-12-01T17:0é"), None);
        assert_eq!(espo_to_iso("2026-12-01 17:00:0é"), "2026-12-01 17:00:0é");
    }

    #[test]
    fn epoch_formatting_round_trips() {
        assert_eq!(format_epoch(0), "1970-01-01 00:00:00");
        assert_eq!(format_epoch(1_795_000_000), "2026-11-18 11:06:40");
        assert_eq!(epoch_of("1970-01-02"), Some(86_400));
        assert_eq!(epoch_of("1970-01-01T00:01:00+00:00"), Some(60));
    }
}
