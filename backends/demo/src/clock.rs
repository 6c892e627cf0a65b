//! Timestamps: ISO 8601 formatting in the demo's one fixed width, and a clock that never goes
//! backwards, so `updated_at` always changes on a write. The calendar is
//! [`crmgate_core::time`]'s.

const MS_PER_DAY: i64 = 86_400_000;

/// The moment the seed data was "taken": 2026-04-01T09:00:00Z. Every seeded timestamp is
/// earlier; every write is later.
pub(crate) const SEED_NOW_MS: i64 = 20_544 * MS_PER_DAY + 9 * 3_600_000;

pub(crate) use crmgate_core::time::{days_from_civil, format_date, is_date, is_datetime};

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of milliseconds since the epoch. One fixed width, so timestamps
/// order correctly as strings.
pub(crate) fn format_ms(ms: i64) -> String {
    let days = ms.div_euclid(MS_PER_DAY);
    let rest = ms.rem_euclid(MS_PER_DAY);
    let (h, min, s, milli) = (
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000,
    );
    format!("{}T{h:02}:{min:02}:{s:02}.{milli:03}Z", format_date(days))
}

/// Milliseconds since the epoch of a day count.
pub(crate) fn day_ms(days: i64) -> i64 {
    days * MS_PER_DAY
}

/// A clock that never repeats or goes backwards, starting after the seed.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    last_ms: i64,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            last_ms: SEED_NOW_MS,
        }
    }
}

impl Clock {
    /// The next timestamp: wall time, but strictly later than the previous one.
    pub(crate) fn tick(&mut self) -> String {
        let wall = crmgate_core::time::unix_now_ms().min(i64::MAX / 2);
        self.last_ms = wall.max(self.last_ms + 1);
        format_ms(self.last_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2026, 4, 1), 20_544);
        assert_eq!(format_ms(SEED_NOW_MS), "2026-04-01T09:00:00.000Z");
    }

    #[test]
    fn validates_dates() {
        assert!(is_date("2024-02-29"));
        assert!(!is_date("2025-02-29"));
        assert!(!is_date("2025-13-01"));
        assert!(!is_date("2025-1-01"));
        assert!(is_datetime("2026-04-01T09:00:00Z"));
        assert!(!is_datetime("2026-04-01"));
    }

    #[test]
    fn clock_is_strictly_increasing() {
        let mut clock = Clock::default();
        let a = clock.tick();
        let b = clock.tick();
        assert!(b > a && a.as_str() > "2026-04-01T09:00:00.000Z");
    }
}
