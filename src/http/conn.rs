//! Connection-level limits of hosted mode, before any request is read: a header-read timeout
//! (a client that does not finish a request head within `header_read_timeout_s` — a slow-loris
//! — is disconnected; it also bounds how long an idle keep-alive connection is held) and a cap
//! on concurrent connections per client address (`max_connections_per_address`; one more is
//! closed at once). hyper serves each connection (HTTP/1.1 and h2c); shutdown is graceful.

use crate::metrics::Metrics;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

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
