//! Time in the forms Atomic CRM's database speaks: the Unix clock, and timestamps as PostgreSQL
//! prints `timestamptz` values in JSON (`2026-03-01T10:00:00+00:00`, UTC, fraction trimmed).
//! The calendar and the parser are [`crmgate_core::time`]'s.

use crmgate_core::time::{Civil, parse_date_or_datetime};

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    crmgate_core::time::unix_now().max(0) as u64
}

/// Now, as PostgreSQL renders a `timestamptz` in UTC.
pub fn now_timestamp() -> String {
    format_unix(unix_now() as i64)
}

/// A Unix time as `YYYY-MM-DDTHH:MM:SS+00:00`.
pub fn format_unix(secs: i64) -> String {
    let c = Civil::from_unix(secs);
    format!("{}T{}+00:00", c.date(), c.time())
}

/// Parse `YYYY-MM-DD`, `YYYY-MM-DD[T ]HH:MM[:SS[.f]]` with an optional `Z` or `±HH[:MM]`
/// offset (none means UTC) into (Unix seconds, fraction digits).
pub fn parse_timestamp(s: &str) -> Option<(i64, String)> {
    parse_date_or_datetime(s.trim()).map(|p| (p.unix, p.fraction))
}

/// A timestamp in PostgreSQL's UTC rendering, or `None` if it does not parse (the sandbox's).
#[cfg(any(test, feature = "sandbox"))]
pub fn normalize_timestamp(s: &str) -> Option<String> {
    let (secs, fraction) = parse_timestamp(s)?;
    let c = Civil::from_unix(secs);
    if fraction.is_empty() {
        Some(format!("{}T{}+00:00", c.date(), c.time()))
    } else {
        Some(format!("{}T{}.{fraction}+00:00", c.date(), c.time()))
    }
}

/// A date `YYYY-MM-DD`, or `None` (the sandbox's).
#[cfg(any(test, feature = "sandbox"))]
pub fn normalize_date(s: &str) -> Option<String> {
    let s = s.trim();
    crmgate_core::time::parse_date(s).map(|_| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_normalises_like_postgres() {
        assert_eq!(format_unix(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(
            normalize_timestamp("2026-03-01T10:00:00Z").unwrap(),
            "2026-03-01T10:00:00+00:00"
        );
        assert_eq!(
            normalize_timestamp("2026-03-01 12:30:00+02:00").unwrap(),
            "2026-03-01T10:30:00+00:00"
        );
        assert_eq!(
            normalize_timestamp("2024-02-29T23:59:59.120-01:00").unwrap(),
            "2024-03-01T00:59:59.12+00:00"
        );
        assert_eq!(
            normalize_timestamp("2026-06-01").unwrap(),
            "2026-06-01T00:00:00+00:00"
        );
        assert!(normalize_timestamp("2026-02-30").is_none());
        assert!(normalize_timestamp("yesterday").is_none());
        assert!(normalize_timestamp("2026-03-01T10:0é").is_none());
        assert_eq!(normalize_date("2026-06-01").as_deref(), Some("2026-06-01"));
        assert!(normalize_date("2026-06-01T00:00:00Z").is_none());
        let now = unix_now() as i64;
        assert_eq!(parse_timestamp(&format_unix(now)).unwrap().0, now);
    }
}
