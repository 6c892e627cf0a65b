//! In-flight caps per caller: at most `cap` requests of one scope at a time, so one caller's
//! slow requests cannot occupy every upstream slot. In-process only (in-flight requests belong
//! to a process). Memory is bounded by the scopes with requests in flight or waiting: an idle
//! scope's semaphore is dropped at the next sweep.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Scopes kept before the first sweep of idle ones.
const SWEEP_FLOOR: usize = 256;

/// A semaphore per scope, created on first use.
#[derive(Debug)]
pub struct InflightCaps {
    cap: u32,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    scopes: HashMap<String, Arc<Semaphore>>,
    sweep_at: usize,
}

/// One request in flight; the slot is freed on drop.
#[derive(Debug)]
pub struct InflightPermit {
    _permit: OwnedSemaphorePermit,
}

/// The scope has `cap` requests in flight and none ended within the wait allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    /// The cap that was reached.
    pub cap: u32,
}

impl InflightCaps {
    /// At most `cap` (at least 1) requests in flight per scope.
    pub fn new(cap: u32) -> Self {
        InflightCaps {
            cap: cap.max(1),
            state: Mutex::new(State {
                scopes: HashMap::new(),
                sweep_at: SWEEP_FLOOR,
            }),
        }
    }

    /// The semaphore of `scope`, cloned under the lock (so an idle one, with no clone held
    /// elsewhere, can be told apart and dropped).
    fn semaphore(&self, scope: &str) -> Arc<Semaphore> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.scopes.len() >= state.sweep_at {
            state.scopes.retain(|_, s| Arc::strong_count(s) > 1);
            state.sweep_at = (state.scopes.len() * 2).max(SWEEP_FLOOR);
        }
        if let Some(s) = state.scopes.get(scope) {
            return s.clone();
        }
        let s = Arc::new(Semaphore::new(self.cap as usize));
        state.scopes.insert(scope.to_owned(), s.clone());
        s
    }

    /// A slot for `scope` now, or `None` when it has `cap` requests in flight.
    pub fn try_acquire(&self, scope: &str) -> Option<InflightPermit> {
        self.semaphore(scope)
            .try_acquire_owned()
            .ok()
            .map(|p| InflightPermit { _permit: p })
    }

    /// A slot for `scope`, waiting up to `max_wait` (first come, first served within a scope).
    pub async fn acquire(&self, scope: &str, max_wait: Duration) -> Result<InflightPermit, Busy> {
        let semaphore = self.semaphore(scope);
        match tokio::time::timeout(max_wait, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(InflightPermit { _permit: permit }),
            // the semaphore is never closed; a timeout is the only way here
            _ => Err(Busy { cap: self.cap }),
        }
    }

    /// Scopes currently held (idle ones included until the next sweep).
    pub fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .scopes
            .len()
    }

    /// Whether no scope is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_scope_has_its_own_cap() {
        let caps = InflightCaps::new(2);
        let a1 = caps.try_acquire("a").unwrap();
        let _a2 = caps.try_acquire("a").unwrap();
        assert!(caps.try_acquire("a").is_none(), "a is at its cap");
        assert!(caps.try_acquire("b").is_some(), "b is not affected");
        drop(a1);
        assert!(caps.try_acquire("a").is_some(), "a slot came back");
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_gets_the_freed_slot_or_busy() {
        let caps = Arc::new(InflightCaps::new(1));
        let held = caps.try_acquire("a").unwrap();
        let e = caps
            .acquire("a", Duration::from_millis(50))
            .await
            .unwrap_err();
        assert_eq!(e, Busy { cap: 1 });
        let waiter = {
            let caps = caps.clone();
            tokio::spawn(async move { caps.acquire("a", Duration::from_secs(5)).await.is_ok() })
        };
        tokio::task::yield_now().await;
        drop(held);
        assert!(waiter.await.unwrap());
    }

    #[test]
    fn idle_scopes_are_forgotten() {
        let caps = InflightCaps::new(1);
        let held = caps.try_acquire("busy").unwrap();
        for i in 0..(SWEEP_FLOOR * 3) {
            drop(caps.try_acquire(&format!("caller-{i}")));
        }
        assert!(
            caps.len() <= SWEEP_FLOOR,
            "idle scopes are swept: {}",
            caps.len()
        );
        // the scope with a request in flight survived every sweep: still at its cap
        assert!(caps.try_acquire("busy").is_none());
        drop(held);
        assert!(caps.try_acquire("busy").is_some());
    }
}
