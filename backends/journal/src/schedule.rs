//! When a store prunes: on its first append, then every [`PRUNE_EVERY`] appended entries or
//! once an hour has passed — never per write. The prune runs right after the append that made
//! it due (in the same blocking task or connection), so it needs no timer task and a short
//! command-line run prunes too.

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

impl Default for Schedule {
    fn default() -> Self {
        Schedule::new(PRUNE_EVERY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
