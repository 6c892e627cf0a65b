//! One round trip per call. A call is one transaction: `BEGIN`, the caller's session
//! settings (role, claims, timeout), the call's statements, then `COMMIT` or `ROLLBACK`.
//! tokio-postgres writes a request to the connection when its future is first polled and
//! reads the answers in order, so polling every future once, in order, before waiting for
//! any answer sends the whole transaction as one batch; the server runs it in that order and
//! the answers come back together. Each statement carries its own Sync: after a failure the
//! rest fail with "transaction aborted" and the final `COMMIT` rolls back, so nothing of a
//! failed call is applied — exactly as if the statements had been sent one by one.
//!
//! Dropping the call's future after it was first polled (a timeout, a cancelled request)
//! leaves nothing open: the `COMMIT`/`ROLLBACK` is already on the wire, and the connection
//! runs it before anything the next user of the pooled connection sends.

use futures::FutureExt;
use futures::future::{BoxFuture, MaybeDone, maybe_done};
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use tokio_postgres::{Client, Error, Row, Statement};

/// What one step of a batch gives back.
pub(super) enum Out {
    /// The rows of a query.
    Rows(Vec<Row>),
    /// A statement described (prepared) without running it: its columns.
    Described(Statement),
    /// A command (`BEGIN`, `COMMIT`, …).
    Done,
}

/// One request of a batch.
pub(super) type Step<'c> = BoxFuture<'c, Result<Out, Error>>;

/// A simple-protocol command step (transaction control).
pub(super) fn command<'c>(client: &'c Client, sql: &'static str) -> Step<'c> {
    client
        .batch_execute(sql)
        .map(|r| r.map(|()| Out::Done))
        .boxed()
}

/// How the transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// Keep the changes (writes).
    Commit,
    /// Discard everything (reads, crm_query).
    Rollback,
}

/// The answers of a batch, in the order the steps were given.
pub(super) struct Answers {
    /// `BEGIN`, then the session settings.
    pub opening: Vec<Result<Out, Error>>,
    /// The call's own steps.
    pub steps: Vec<Result<Out, Error>>,
    /// `COMMIT` / `ROLLBACK`.
    pub end: Result<Out, Error>,
}

impl Answers {
    /// Every step's output, or the error that stopped the transaction: the opening's, else
    /// the first failing step's (later steps only report the aborted transaction), else the
    /// end's.
    pub fn outputs(mut self) -> Result<Vec<Out>, Error> {
        self.opened()?;
        let outputs = self.steps.into_iter().collect::<Result<Vec<_>, _>>()?;
        self.end?;
        Ok(outputs)
    }

    /// The opening's first error, if `BEGIN` or the session settings failed.
    pub fn opened(&mut self) -> Result<(), Error> {
        for answer in &mut self.opening {
            if answer.is_err() {
                return std::mem::replace(answer, Ok(Out::Done)).map(|_| ());
            }
        }
        Ok(())
    }
}

impl Out {
    /// The rows, if this was a query.
    pub fn rows(self) -> Vec<Row> {
        match self {
            Out::Rows(rows) => rows,
            _ => Vec::new(),
        }
    }
}

/// Send `BEGIN [READ ONLY]`, `session`, `steps`, and `end` as one batch; all answers.
pub(super) async fn transaction<'c>(
    client: &'c Client,
    read_only: bool,
    session: Step<'c>,
    steps: Vec<Step<'c>>,
    end: End,
) -> Answers {
    let begin = command(
        client,
        if read_only {
            "BEGIN READ ONLY"
        } else {
            "BEGIN"
        },
    );
    let finish = command(
        client,
        match end {
            End::Commit => "COMMIT",
            End::Rollback => "ROLLBACK",
        },
    );
    let n = steps.len();
    let mut all = Vec::with_capacity(n + 3);
    all.push(begin);
    all.push(session);
    all.extend(steps);
    all.push(finish);
    let mut answers = in_order(all).await;
    let end = answers.pop().unwrap_or(Ok(Out::Done));
    let steps = answers.split_off(2);
    Answers {
        opening: answers,
        steps,
        end,
    }
}

/// Run futures concurrently, polling each once in the given order before any is polled
/// again (so their requests are written in that order); their outputs in the same order.
pub(super) async fn in_order<T>(futures: Vec<BoxFuture<'_, T>>) -> Vec<T> {
    let mut slots: Vec<MaybeDone<BoxFuture<'_, T>>> = futures.into_iter().map(maybe_done).collect();
    poll_fn(|cx| {
        let mut pending = false;
        for slot in slots.iter_mut() {
            if Pin::new(slot).poll(cx).is_pending() {
                pending = true;
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    slots
        .into_iter()
        .filter_map(|mut slot| Pin::new(&mut slot).take_output())
        .collect()
}
