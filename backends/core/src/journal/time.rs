//! [`Timestamp`]: when a journal entry was made — milliseconds since the Unix epoch, written as
//! RFC 3339 in UTC (`2026-12-05T16:28:16.123Z`), and the `since` grammar of `crm_history` and
//! `crmgate journal export` (an RFC 3339 date-time, a date, or an age like `24h`).
//!
//! The civil-date arithmetic is [`crate::time`]'s, the calendar every crate shares.

use crate::time::{civil_from_days, days_from_civil, days_in_month};
use crate::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MS_PER_DAY: i64 = 86_400_000;

/// A moment, to the millisecond, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// Now (the Unix epoch if the clock is before it).
    pub fn now() -> Self {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Timestamp(ms)
    }

    /// From milliseconds since the Unix epoch.
    pub fn from_unix_ms(ms: i64) -> Self {
        Timestamp(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_ms(self) -> i64 {
        self.0
    }

    /// This moment minus `age` (saturating).
    pub fn minus(self, age: Duration) -> Self {
        let ms = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_sub(ms))
    }

    /// A strict RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (`T`/`t`, `Z`/`z`
    /// as RFC 3339 allows; fractions beyond milliseconds are cut). `None` for anything else.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        if b.len() < 20 {
            return None;
        }
        let days = parse_date(b.get(..10)?)?;
        if !matches!(b[10], b'T' | b't') {
            return None;
        }
        let hour = digits(b, 11, 2)?;
        let minute = digits(b, 14, 2)?;
        let second = digits(b, 17, 2)?;
        if b[13] != b':' || b[16] != b':' || hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let mut at = 19;
        let mut millis = 0;
        if b[at] == b'.' {
            at += 1;
            let start = at;
            while at < b.len() && b[at].is_ascii_digit() {
                if at - start < 3 {
                    millis = millis * 10 + i64::from(b[at] - b'0');
                }
                at += 1;
            }
            let written = at - start;
            if written == 0 {
                return None;
            }
            for _ in written..3 {
                millis *= 10;
            }
        }
        let offset_min = match b.get(at..)? {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let h = digits(&[*h1, *h2], 0, 2)?;
                let m = digits(&[*m1, *m2], 0, 2)?;
                if h > 23 || m > 59 {
                    return None;
                }
                let minutes = h * 60 + m;
                if *sign == b'-' { -minutes } else { minutes }
            }
            _ => return None,
        };
        let second = second.min(59); // a leap second reads as :59
        let ms = days * MS_PER_DAY
            + ((hour * 3600 + minute * 60 + second - offset_min * 60) * 1000)
            + millis;
        Some(Timestamp(ms))
    }

    /// The `since` grammar: an RFC 3339 date-time, a date `YYYY-MM-DD` (midnight UTC), or an
    /// age before `now` — a whole number and a unit, `s`, `m`, `h`, `d` or `w` (`90m`, `24h`,
    /// `7d`). Anything else is `VALIDATION` saying what is accepted.
    pub fn parse_since(text: &str, now: Timestamp) -> Result<Self> {
        let text = text.trim();
        if let Some(at) = Timestamp::parse_rfc3339(text) {
            return Ok(at);
        }
        if text.len() == 10
            && let Some(days) = parse_date(text.as_bytes())
        {
            return Ok(Timestamp(days * MS_PER_DAY));
        }
        if let Some(age) = parse_age(text) {
            return Ok(now.minus(age));
        }
        Err(Error::validation(
            format!("since {text:?} is not a time"),
            "give an RFC 3339 time (2026-01-31T09:00:00Z), a date (2026-01-31) or an age (90m, 24h, 7d, 2w)",
        ))
    }
}

/// `24h`, `7d`, …: a whole number (at most 9 digits) and one of `s m h d w`.
fn parse_age(text: &str) -> Option<Duration> {
    let unit = text.chars().last()?;
    let number = &text[..text.len() - unit.len_utf8()];
    if number.is_empty() || number.len() > 9 || !number.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: u64 = number.parse().ok()?;
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return None,
    };
    Some(Duration::from_secs(n * seconds))
}

/// `n` ASCII digits at `at`.
fn digits(b: &[u8], at: usize, n: usize) -> Option<i64> {
    let part = b.get(at..at + n)?;
    part.iter().try_fold(0i64, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

/// A strict `YYYY-MM-DD` of a real day, as days since 1970-01-01.
fn parse_date(b: &[u8]) -> Option<i64> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let (month, day) = (u32::try_from(month).ok()?, u32::try_from(day).ok()?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

impl fmt::Display for Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = civil_from_days(self.0.div_euclid(MS_PER_DAY));
        let in_day = self.0.rem_euclid(MS_PER_DAY);
        let (secs, ms) = (in_day / 1000, in_day % 1000);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&text)
            .ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 time"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        let at = Timestamp::from_unix_ms(1_796_488_096_123);
        assert_eq!(at.to_string(), "2026-12-05T16:28:16.123Z");
        assert_eq!(Timestamp::parse_rfc3339(&at.to_string()), Some(at));
        assert_eq!(
            Timestamp::from_unix_ms(0).to_string(),
            "1970-01-01T00:00:00.000Z"
        );
        // before the epoch, and a leap day
        let leap = Timestamp::parse_rfc3339("1968-02-29T23:59:59Z").unwrap();
        assert_eq!(leap.to_string(), "1968-02-29T23:59:59.000Z");
        assert!(leap.unix_ms() < 0);
        for ms in [-86_400_001, -1, 1, 951_782_400_000, 4_102_444_799_999] {
            let at = Timestamp::from_unix_ms(ms);
            assert_eq!(Timestamp::parse_rfc3339(&at.to_string()), Some(at), "{ms}");
        }
    }

    #[test]
    fn offsets_and_fractions_are_applied() {
        let utc = Timestamp::parse_rfc3339("2026-01-31T09:00:00Z").unwrap();
        let plus = Timestamp::parse_rfc3339("2026-01-31T10:30:00+01:30").unwrap();
        let minus = Timestamp::parse_rfc3339("2026-01-31T04:00:00-05:00").unwrap();
        assert_eq!(utc, plus);
        assert_eq!(utc, minus);
        let frac = Timestamp::parse_rfc3339("2026-01-31T09:00:00.5z").unwrap();
        assert_eq!(frac.unix_ms() - utc.unix_ms(), 500);
        let long = Timestamp::parse_rfc3339("2026-01-31T09:00:00.123456789Z").unwrap();
        assert_eq!(long.unix_ms() - utc.unix_ms(), 123);
    }

    #[test]
    fn refuses_what_is_not_rfc3339() {
        for bad in [
            "",
            "2026-01-31",
            "2026-01-31T09:00:00",
            "2026-02-30T09:00:00Z",
            "2026-01-31 09:00:00Z",
            "2026-01-31T24:00:00Z",
            "2026-01-31T09:00:00.Z",
            "2026-01-31T09:00:00+0100",
            "2026-01-31T09:00:00Z ",
            "２０２６-01-31T09:00:00Z",
            "2026-01-31T09:00:00+24:00",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn since_takes_times_dates_and_ages() {
        let now = Timestamp::parse_rfc3339("2026-01-31T09:00:00Z").unwrap();
        let at = |s: &str| Timestamp::parse_since(s, now).unwrap().to_string();
        assert_eq!(at("24h"), "2026-01-30T09:00:00.000Z");
        assert_eq!(at("90m"), "2026-01-31T07:30:00.000Z");
        assert_eq!(at("2w"), "2026-01-17T09:00:00.000Z");
        assert_eq!(at("30s"), "2026-01-31T08:59:30.000Z");
        assert_eq!(at("2026-01-01"), "2026-01-01T00:00:00.000Z");
        assert_eq!(at("2026-01-02T03:04:05Z"), "2026-01-02T03:04:05.000Z");
        for bad in [
            "",
            "h",
            "24",
            "-1d",
            "1.5h",
            "24 h",
            "1y",
            "9999999999d",
            "yesterday",
        ] {
            let e = Timestamp::parse_since(bad, now).unwrap_err();
            assert_eq!(e.code, crate::ErrorCode::Validation, "{bad:?}");
            assert!(e.suggestion.contains("24h"), "{}", e.suggestion);
        }
    }

    #[test]
    fn serde_uses_the_rfc3339_text() {
        let at = Timestamp::from_unix_ms(1_000);
        let v = serde_json::to_value(at).unwrap();
        assert_eq!(v, "1970-01-01T00:00:01.000Z");
        assert_eq!(serde_json::from_value::<Timestamp>(v).unwrap(), at);
        assert!(serde_json::from_value::<Timestamp>("yesterday".into()).is_err());
    }
}
