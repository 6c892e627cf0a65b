//! Pruning: *when* a store prunes ([`Schedule`]) and *what* it removes ([`Totals`],
//! [`SizeScan`]), shared by both stores.
//!
//! A store prunes on its first append, then every [`PRUNE_EVERY`] appended entries or once an
//! hour has passed — never per write. The prune runs right after the append that made it due,
//! so it needs no timer task and a short command-line run prunes too.
//!
//! A prune costs what it removes, not the journal's size: entries past the age bound go by the
//! `at_ms` index; the totals come from a small covering index on `bytes`; and the count and
//! size bounds are met by walking from the *oldest* entry only as far as needed.

use crmgate_core::journal::Bounds;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Appended entries between two prunes.
pub const PRUNE_EVERY: u64 = 256;
/// Longest time between two prunes of a store that is appended to.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

/// A store's prune cadence.
#[derive(Debug)]
pub struct Schedule {
    every: u64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    since_last: u64,
    last: Option<Instant>,
}

impl Schedule {
    /// Prune every `every` appended entries (at least 1).
    pub fn new(every: u64) -> Self {
        Schedule {
            every: every.max(1),
            state: Mutex::new(State::default()),
        }
    }

    /// Count `appended` entries; `true` when a prune is due now (then the count restarts).
    pub fn due(&self, appended: usize) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.since_last += appended as u64;
        let due = match state.last {
            None => true,
            Some(last) => state.since_last >= self.every || last.elapsed() >= PRUNE_INTERVAL,
        };
        if due {
            state.since_last = 0;
            state.last = Some(Instant::now());
        }
        due
    }
}

/// The journal's size now: `count(*)` and `sum(bytes)` ([`crate::sql::TOTALS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Entries.
    pub count: i64,
    /// Bytes of entries.
    pub bytes: i64,
}

impl Totals {
    /// For the count bound: the offset of the newest entry to remove among the oldest
    /// ([`crate::sql::NTH_OLDEST`]), `None` when within the bound.
    pub fn count_cut(&self, bounds: &Bounds) -> Option<i64> {
        let max = i64::try_from(bounds.max_entries?).unwrap_or(i64::MAX);
        (self.count > max).then(|| self.count - max - 1)
    }

    /// For the size bound: a scan that finds how many of the oldest entries must go, `None`
    /// when within the bound.
    pub fn size_scan(&self, bounds: &Bounds) -> Option<SizeScan> {
        let max = i64::try_from(bounds.max_bytes?).unwrap_or(i64::MAX);
        (self.bytes > max).then_some(SizeScan {
            to_free: self.bytes - max,
            freed: 0,
            last: 0,
        })
    }
}

/// Walks `(seq, bytes)` of the oldest entries ([`crate::sql::OLDEST_SIZES`], page after page
/// from [`SizeScan::after`]) until enough bytes would be freed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeScan {
    to_free: i64,
    freed: i64,
    last: i64,
}

/// Rows of [`crate::sql::OLDEST_SIZES`] per page.
pub const SCAN_PAGE: i64 = 256;

impl SizeScan {
    /// Where the next page starts (`seq >` this).
    pub fn after(&self) -> i64 {
        self.last
    }

    /// Feed one page; `Some(seq)`: remove every entry up to and including `seq`. An empty page
    /// (the journal ran out) cuts at the last entry seen.
    pub fn feed(&mut self, page: &[(i64, i64)]) -> Option<i64> {
        if page.is_empty() {
            return (self.last > 0).then_some(self.last);
        }
        for &(seq, bytes) in page {
            self.freed += bytes;
            self.last = seq;
            if self.freed >= self.to_free {
                return Some(seq);
            }
        }
        None
    }
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule::new(PRUNE_EVERY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(entries: Option<u64>, bytes: Option<u64>) -> Bounds {
        Bounds {
            max_age: None,
            max_entries: entries,
            max_bytes: bytes,
        }
    }

    #[test]
    fn count_cut_is_the_offset_of_the_last_entry_to_go() {
        let totals = Totals {
            count: 110,
            bytes: 0,
        };
        // 10 too many: offsets 0..=9 go
        assert_eq!(totals.count_cut(&bounds(Some(100), None)), Some(9));
        assert_eq!(totals.count_cut(&bounds(Some(110), None)), None);
        assert_eq!(totals.count_cut(&bounds(None, None)), None);
    }

    #[test]
    fn size_scan_stops_as_soon_as_enough_is_freed() {
        let totals = Totals {
            count: 5,
            bytes: 500,
        };
        assert_eq!(totals.size_scan(&bounds(None, Some(500))), None);
        let mut scan = totals.size_scan(&bounds(None, Some(250))).unwrap();
        assert_eq!(scan.after(), 0);
        assert_eq!(scan.feed(&[(3, 100), (4, 100)]), None);
        assert_eq!(scan.after(), 4);
        assert_eq!(scan.feed(&[(7, 100), (9, 100)]), Some(7));
        let mut short = totals.size_scan(&bounds(None, Some(1))).unwrap();
        assert_eq!(short.feed(&[(1, 100)]), None);
        assert_eq!(short.feed(&[]), Some(1));
    }

    #[test]
    fn first_append_then_every_n_entries() {
        let s = Schedule::new(3);
        assert!(s.due(1));
        assert!(!s.due(1));
        assert!(!s.due(1));
        assert!(s.due(1));
        assert!(s.due(5));
        assert!(!s.due(0));
    }
}
