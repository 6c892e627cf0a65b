//! WAL checkpoints off the write path.
//!
//! In WAL mode a commit only appends to the `-wal` file (no fsync with `synchronous = normal`);
//! the expensive part — copying the WAL back into the database and syncing it — is the
//! checkpoint, which SQLite by default runs inside whichever commit crosses 1000 WAL pages.
//! That write then takes milliseconds instead of tens of microseconds. Instead, the store's
//! connection has automatic checkpoints off and a thread with a connection of its own runs a
//! `PASSIVE` checkpoint (which never blocks writers) every [`EVERY`] commits. The thread ends
//! with the store.

use rusqlite::Connection;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

/// Commits between two checkpoints (a journaled write is two commits of a few pages each).
pub const EVERY: u32 = 64;

/// The handle the store keeps: dropping it ends the thread.
#[derive(Debug)]
pub struct Checkpointer {
    nudge: SyncSender<()>,
    commits: AtomicU32,
}

impl Checkpointer {
    /// Start the thread with its own connection to `path`; `None` if that fails (the caller
    /// then leaves SQLite's automatic checkpoints on).
    pub fn start(path: &Path) -> Option<Self> {
        let conn = Connection::open(path).ok()?;
        conn.busy_timeout(super::BUSY_WAIT).ok()?;
        let (nudge, nudged) = sync_channel(1);
        std::thread::Builder::new()
            .name("crmgate-journal-checkpoint".into())
            .spawn(move || run(conn, nudged))
            .ok()?;
        Some(Checkpointer {
            nudge,
            commits: AtomicU32::new(0),
        })
    }

    /// Count one commit; every [`EVERY`] commits, wake the thread (never waits for it).
    pub fn committed(&self) {
        if self.commits.fetch_add(1, Ordering::Relaxed) % EVERY == EVERY - 1 {
            match self.nudge.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) => {}
                Err(TrySendError::Disconnected(())) => {
                    tracing::warn!("journal: the checkpoint thread stopped");
                }
            }
        }
    }
}

fn run(conn: Connection, nudged: Receiver<()>) {
    while nudged.recv().is_ok() {
        if let Err(e) = conn.query_row("pragma wal_checkpoint(passive)", [], |_| Ok(())) {
            tracing::debug!("journal: checkpoint: {e}");
        }
    }
}
