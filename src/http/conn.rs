//! Connection-level limits of hosted mode, before any request is read: a header-read timeout
//! (a client that does not finish a request head within `header_read_timeout_s` — a slow-loris
//! — is disconnected; it also bounds how long an idle keep-alive connection is held) and a cap
//! on concurrent connections per client address (`max_connections_per_address`; one more is
//! closed at once). hyper serves each connection (HTTP/1.1 and h2c); shutdown is graceful.
//! The listening socket has a deep accept queue ([`listen`]).
//!
//! One runtime per core ([`Shards`]): a connection is handed, round-robin, to one of N
//! single-threaded runtimes and served there start to finish (an HTTP/2 connection's streams
//! too: one HTTP/2 connection is served by one core). With one work-stealing runtime, each
//! request woke an idle worker for the tasks rmcp spawns per request, and 1,000 requests in
//! flight were polled in an order that served some clients twice before others once; the
//! figures are in docs/performance.md.

use crate::metrics::Metrics;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;

/// How many handshaken connections may wait to be accepted (the kernel caps it at
/// `net.core.somaxconn`, 4096 on Linux since 5.4). std's and tokio's `bind` ask for 128: a burst
/// of more new clients than that between two accepts overflowed the queue, the kernel dropped
/// their handshakes, and each waited a second or more for its SYN to be sent again (seen at 1,000
/// clients: ~1,500 listen overflows per run, a p99 of ~0.9 s in some runs).
pub const ACCEPT_BACKLOG: u32 = 4096;

/// A listener on `addr` with an accept queue of [`ACCEPT_BACKLOG`] (address reuse as std's
/// `bind` sets it, so a restart does not wait for the old connections' `TIME_WAIT`).
pub fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(ACCEPT_BACKLOG)
}

/// The limits applied to every connection.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Longest a client may take to send a request head.
    pub header_read_timeout: Duration,
    /// Connections one client address may hold open at once.
    pub max_connections_per_address: usize,
}

/// Open connections per client address.
#[derive(Debug, Default)]
struct Open(Mutex<HashMap<IpAddr, usize>>);

/// One counted connection; uncounted on drop.
struct Counted {
    open: Arc<Open>,
    ip: IpAddr,
}

impl Open {
    fn admit(self: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<Counted> {
        let mut open = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(ip).or_default();
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(Counted {
            open: self.clone(),
            ip,
        })
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut open = self.open.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Accept connections on `listener` until `shutdown` and hand each to a [`Shards`] runtime;
/// then stop accepting and wait for the open connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let open = Arc::new(Open::default());
    let mut shards = Shards::start(router, limits, shutdown.clone())?;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // out of file descriptors and the like: back off instead of spinning
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let Some(counted) = open.admit(peer.ip(), limits.max_connections_per_address) else {
            metrics.record_refused_connection();
            tracing::debug!(
                "connection refused: its address already has {} open",
                limits.max_connections_per_address
            );
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        // leaves this runtime's reactor for the shard's
        match stream.into_std() {
            Ok(stream) => shards.hand(stream, counted),
            Err(e) => tracing::debug!(error = %e, "could not hand a connection over"),
        }
    }
    drop(listener);
    shards.finish().await;
    Ok(())
}

/// A connection on its way to a shard, counted until it closes.
type Handed = (std::net::TcpStream, Counted);

/// N single-threaded runtimes (N = the cores available), each on its own thread, each serving
/// whole connections: an HTTP/2 connection's streams too (hyper spawns them on the runtime
/// serving it).
struct Shards {
    queues: Vec<tokio::sync::mpsc::UnboundedSender<Handed>>,
    next: usize,
    done: Vec<tokio::sync::oneshot::Receiver<()>>,
}

impl Shards {
    fn start(
        router: Router,
        limits: ConnLimits,
        shutdown: CancellationToken,
    ) -> std::io::Result<Shards> {
        let count = std::thread::available_parallelism().map_or(1, |n| n.get());
        let runtimes = (0..count)
            .map(|_| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        let (mut queues, mut done) = (vec![], vec![]);
        for (i, runtime) in runtimes.into_iter().enumerate() {
            let (queue, arrivals) = tokio::sync::mpsc::unbounded_channel();
            let (finished, finished_rx) = tokio::sync::oneshot::channel();
            let shard = shard(arrivals, router.clone(), limits, shutdown.clone());
            std::thread::Builder::new()
                .name(format!("crmgate-http-{i}"))
                .spawn(move || {
                    runtime.block_on(Box::pin(shard));
                    let _ = finished.send(());
                })?;
            queues.push(queue);
            done.push(finished_rx);
        }
        Ok(Shards {
            queues,
            next: 0,
            done,
        })
    }

    /// Give a connection to the next shard in turn.
    fn hand(&mut self, stream: std::net::TcpStream, counted: Counted) {
        let i = self.next % self.queues.len();
        self.next = self.next.wrapping_add(1);
        if self.queues[i].send((stream, counted)).is_err() {
            tracing::debug!("a shard has stopped; connection closed");
        }
    }

    /// Wait until every shard has finished its connections (after `shutdown`).
    async fn finish(self) {
        drop(self.queues);
        for finished in self.done {
            let _ = finished.await;
        }
    }
}

/// One shard's life: serve the connections handed to it until `shutdown`, then let them finish
/// their requests.
async fn shard(
    mut arrivals: tokio::sync::mpsc::UnboundedReceiver<Handed>,
    router: Router,
    limits: ConnLimits,
    shutdown: CancellationToken,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    loop {
        let (stream, counted) = tokio::select! {
            handed = arrivals.recv() => match handed {
                Some(handed) => handed,
                None => break,
            },
            () = shutdown.cancelled() => break,
        };
        let stream = match tokio::net::TcpStream::from_std(stream) {
            Ok(stream) => stream,
            Err(e) => {
                tracing::debug!(error = %e, "could not serve a connection");
                continue;
            }
        };
        let service = TowerToHyperService::new(router.clone());
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::trace!(error = %e, "connection ended");
            }
            drop(counted);
        });
    }
    graceful.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A burst of connections larger than std's 128 waits in the queue instead of being dropped:
    /// nothing accepts here, so with a short queue the 129th handshake would never complete.
    #[tokio::test]
    async fn a_burst_of_connections_waits_in_the_accept_queue() {
        let somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|v| v.trim().parse::<u32>().ok());
        let burst = match somaxconn {
            Some(max) if max >= 600 => 500,
            // the kernel caps the queue (or this is not Linux): nothing of ours to check
            other => {
                eprintln!("skipped: net.core.somaxconn is {other:?}");
                return;
            }
        };
        let listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let connected = tokio::task::spawn_blocking(move || {
            (0..burst)
                .map(|_| std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)))
                .collect::<std::io::Result<Vec<_>>>()
        })
        .await
        .unwrap();
        let streams = connected.expect("every handshake completed while nothing accepted");
        assert_eq!(streams.len(), burst);
        drop(listener);
    }

    /// Serve `router` with [`serve`] on a loopback port; the shutdown token and the serving task.
    async fn serving(
        router: Router,
    ) -> (
        String,
        CancellationToken,
        tokio::task::JoinHandle<std::io::Result<()>>,
    ) {
        let listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let limits = ConnLimits {
            header_read_timeout: Duration::from_secs(5),
            max_connections_per_address: 100,
        };
        let task = tokio::spawn(serve(
            listener,
            router,
            limits,
            Arc::new(Metrics::default()),
            shutdown.clone(),
        ));
        (base, shutdown, task)
    }

    /// Which thread served the request.
    fn thread_router() -> Router {
        Router::new().route(
            "/thread",
            axum::routing::get(|| async {
                std::thread::current()
                    .name()
                    .unwrap_or("unnamed")
                    .to_owned()
            }),
        )
    }

    #[tokio::test]
    async fn connections_are_handed_to_every_shard_in_turn() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (base, shutdown, task) = serving(thread_router()).await;
        // HTTP/1.1: one connection per client, handed round-robin
        let mut threads = std::collections::BTreeSet::new();
        for _ in 0..cores {
            let client = reqwest::Client::builder().http1_only().build().unwrap();
            for _ in 0..3 {
                let name = client.get(format!("{base}/thread")).send().await.unwrap();
                threads.insert(name.text().await.unwrap());
            }
        }
        assert!(
            threads.iter().all(|t| t.starts_with("crmgate-http-")),
            "{threads:?}"
        );
        assert_eq!(
            threads.len(),
            cores,
            "one connection per shard: {threads:?}"
        );
        // HTTP/2 (h2c): one connection, its concurrent streams served by its shard
        let client = reqwest::Client::builder()
            .http2_prior_knowledge()
            .build()
            .unwrap();
        let answers = futures::future::join_all((0..4 * cores).map(|_| async {
            let answer = client.get(format!("{base}/thread")).send().await.unwrap();
            assert_eq!(answer.version(), reqwest::Version::HTTP_2);
            answer.text().await.unwrap()
        }))
        .await;
        let streams: std::collections::BTreeSet<_> = answers.into_iter().collect();
        assert_eq!(streams.len(), 1, "one connection, one shard: {streams:?}");
        assert!(streams.iter().all(|t| t.starts_with("crmgate-http-")));
        shutdown.cancel();
        task.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn shutdown_lets_a_request_in_flight_finish_and_accepts_no_more() {
        let router = Router::new().route(
            "/slow",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                "done"
            }),
        );
        let (base, shutdown, task) = serving(router).await;
        let slow = tokio::spawn({
            let url = format!("{base}/slow");
            async move { reqwest::get(url).await.unwrap().text().await.unwrap() }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        shutdown.cancel();
        assert_eq!(slow.await.unwrap(), "done");
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("serve returns once its connections are done")
            .unwrap()
            .unwrap();
        assert!(reqwest::get(format!("{base}/slow")).await.is_err());
    }

    #[test]
    fn connections_are_counted_per_address() {
        let open = Arc::new(Open::default());
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let first = open.admit(a, 2).unwrap();
        let _second = open.admit(a, 2).unwrap();
        assert!(open.admit(a, 2).is_none(), "a is at its cap");
        assert!(open.admit(b, 2).is_some(), "b is not affected");
        drop(first);
        assert!(open.admit(a, 2).is_some(), "a closed one");
    }
}
