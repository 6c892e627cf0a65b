//! A fair queue in front of a scarce pool (Atomic's database connections): `capacity` permits
//! in all, at most `per_caller` held by one caller, and when a permit comes back it goes to the
//! next caller *in turn* (round-robin across callers with waiters), not to whoever queued the
//! most. A caller running slow queries so holds at most its cap and waits its turn; everyone
//! else keeps getting connections.
//!
//! Usage: take a [`FairPermit`] before taking a connection from a pool of `capacity`
//! connections, drop it after returning the connection. Put a timeout around [`FairQueue::acquire`]
//! to bound the wait; a cancelled waiter is skipped. In-process only.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::oneshot;

/// A fair, capped semaphore keyed by caller.
#[derive(Debug, Clone)]
pub struct FairQueue {
    shared: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    available: usize,
    per_caller: usize,
    max_waiting: usize,
    callers: HashMap<Arc<str>, Caller>,
    /// Callers with waiters, in the order they get their next turn.
    ring: VecDeque<Arc<str>>,
}

#[derive(Debug, Default)]
struct Caller {
    in_use: usize,
    waiters: VecDeque<oneshot::Sender<FairPermit>>,
    in_ring: bool,
}

/// Why [`FairQueue::acquire`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueError {
    /// This caller already has `max_waiting` requests waiting.
    Full,
    /// The queue was dropped while waiting.
    Closed,
}

/// One permit of a [`FairQueue`]; returned on drop (and handed to the next caller in turn).
#[derive(Debug)]
pub struct FairPermit {
    shared: Arc<Mutex<State>>,
    caller: Arc<str>,
    armed: bool,
}

impl FairPermit {
    /// The caller holding this permit.
    pub fn caller(&self) -> &str {
        &self.caller
    }
}

impl Drop for FairPermit {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let shared = self.shared.clone();
        let mut state = lock(&shared);
        if let Some(caller) = state.callers.get_mut(&self.caller) {
            caller.in_use = caller.in_use.saturating_sub(1);
        }
        state.available += 1;
        forget_if_idle(&mut state, &self.caller);
        dispatch(&mut state, &shared);
    }
}

fn lock(shared: &Mutex<State>) -> MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

fn forget_if_idle(state: &mut State, caller: &Arc<str>) {
    if state
        .callers
        .get(caller)
        .is_some_and(|c| c.in_use == 0 && c.waiters.is_empty() && !c.in_ring)
    {
        state.callers.remove(caller);
    }
}

/// Hand free permits to waiting callers in turn, skipping callers at their cap and waiters that
/// gave up.
fn dispatch(state: &mut State, shared: &Arc<Mutex<State>>) {
    let mut passed = 0;
    while state.available > 0 && passed < state.ring.len() {
        let Some(name) = state.ring.pop_front() else {
            break;
        };
        let per_caller = state.per_caller;
        let Some(caller) = state.callers.get_mut(&name) else {
            continue;
        };
        if caller.in_use >= per_caller {
            state.ring.push_back(name);
            passed += 1;
            continue;
        }
        let mut granted = false;
        while let Some(tx) = caller.waiters.pop_front() {
            if tx.is_closed() {
                continue;
            }
            let permit = FairPermit {
                shared: shared.clone(),
                caller: name.clone(),
                armed: true,
            };
            match tx.send(permit) {
                Ok(()) => {
                    caller.in_use += 1;
                    state.available -= 1;
                    granted = true;
                    break;
                }
                // the waiter went away just now: this permit was never handed out
                Err(mut permit) => permit.armed = false,
            }
        }
        if caller.waiters.is_empty() {
            caller.in_ring = false;
            forget_if_idle(state, &name);
        } else {
            state.ring.push_back(name);
        }
        if granted {
            passed = 0;
        }
    }
}

impl FairQueue {
    /// `capacity` permits in all (the pool's size), at most `per_caller` held by one caller, at
    /// most `max_waiting` requests of one caller waiting. Zeros count as one.
    pub fn new(capacity: usize, per_caller: usize, max_waiting: usize) -> Self {
        FairQueue {
            shared: Arc::new(Mutex::new(State {
                available: capacity.max(1),
                per_caller: per_caller.max(1),
                max_waiting: max_waiting.max(1),
                callers: HashMap::new(),
                ring: VecDeque::new(),
            })),
        }
    }

    /// A permit for `caller`: at once if one is free and the caller is under its cap, else in
    /// turn. Wrap in `tokio::time::timeout` to bound the wait.
    pub async fn acquire(&self, caller: &str) -> Result<FairPermit, QueueError> {
        let rx = {
            let mut state = lock(&self.shared);
            let name: Arc<str> = match state.callers.get_key_value(caller) {
                Some((name, _)) => name.clone(),
                None => Arc::from(caller),
            };
            let available = state.available;
            let per_caller = state.per_caller;
            let max_waiting = state.max_waiting;
            let entry = state.callers.entry(name.clone()).or_default();
            entry.waiters.retain(|tx| !tx.is_closed());
            if available > 0 && entry.in_use < per_caller && entry.waiters.is_empty() {
                entry.in_use += 1;
                state.available -= 1;
                return Ok(FairPermit {
                    shared: self.shared.clone(),
                    caller: name,
                    armed: true,
                });
            }
            if entry.waiters.len() >= max_waiting {
                forget_if_idle(&mut state, &name);
                return Err(QueueError::Full);
            }
            let (tx, rx) = oneshot::channel();
            entry.waiters.push_back(tx);
            if !entry.in_ring {
                entry.in_ring = true;
                state.ring.push_back(name);
            }
            rx
        };
        rx.await.map_err(|_| QueueError::Closed)
    }

    /// Permits free now.
    pub fn available(&self) -> usize {
        lock(&self.shared).available
    }

    /// Callers holding or waiting for permits.
    pub fn callers(&self) -> usize {
        lock(&self.shared).callers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Let spawned tasks run until they block.
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_caller_is_held_to_its_cap() {
        let q = FairQueue::new(4, 2, 8);
        let _a1 = q.acquire("a").await.unwrap();
        let _a2 = q.acquire("a").await.unwrap();
        let third = tokio::time::timeout(Duration::from_millis(20), q.acquire("a")).await;
        assert!(third.is_err(), "a waits although 2 permits are free");
        let b = q.acquire("b").await.unwrap();
        assert_eq!(b.caller(), "b");
        assert_eq!(q.available(), 1);
    }

    #[tokio::test]
    async fn freed_permits_go_round_robin_across_callers() {
        // one permit; a floods with 5 waiters, then b and c queue one each
        let q = FairQueue::new(1, 1, 16);
        let first = q.acquire("a").await.unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for caller in ["a", "a", "a", "a", "a", "b", "c"] {
            let q = q.clone();
            let order = order.clone();
            tasks.push(tokio::spawn(async move {
                let permit = q.acquire(caller).await.unwrap();
                order.lock().unwrap().push(caller);
                settle().await;
                drop(permit);
            }));
            settle().await;
        }
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        // b and c are served within the first round, not after a's backlog
        assert_eq!(&order[..3], &["a", "b", "c"], "{order:?}");
        assert_eq!(order.len(), 7);
        assert_eq!(q.callers(), 0, "idle callers are forgotten");
        assert_eq!(q.available(), 1);
    }

    #[tokio::test]
    async fn waiting_is_bounded_and_cancelled_waiters_are_skipped() {
        let q = FairQueue::new(1, 1, 2);
        let held = q.acquire("a").await.unwrap();
        // two waiters of b give up
        for _ in 0..2 {
            let gave_up = tokio::time::timeout(Duration::from_millis(5), q.acquire("b")).await;
            assert!(gave_up.is_err());
        }
        // b's abandoned waiters do not count against its limit
        let q2 = q.clone();
        let waiting =
            tokio::spawn(async move { q2.acquire("b").await.map(|p| p.caller().to_owned()) });
        settle().await;
        let q3 = q.clone();
        let also = tokio::spawn(async move { q3.acquire("b").await.is_ok() });
        settle().await;
        assert_eq!(q.acquire("b").await.unwrap_err(), QueueError::Full);
        drop(held);
        assert_eq!(waiting.await.unwrap().unwrap(), "b");
        assert!(also.await.unwrap());
        assert_eq!(q.available(), 1);
    }
}
