//! Connection-level limits of hosted mode, before any request is read: a header-read timeout
//! (a client that does not finish a request head within `header_read_timeout_s` — a slow-loris
//! — is disconnected; it also bounds how long an idle keep-alive connection is held) and a cap
//! on concurrent connections per client address (`max_connections_per_address`; one more is
//! closed at once). hyper serves each connection (HTTP/1.1 and h2c); shutdown is graceful.
//! The listening socket has a deep accept queue ([`listen`]).

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

/// Accept and serve connections on `listener` until `shutdown`, then stop accepting and wait
/// for the open connections to finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let graceful = GracefulShutdown::new();
    let open = Arc::new(Open::default());
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
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
    drop(listener);
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
