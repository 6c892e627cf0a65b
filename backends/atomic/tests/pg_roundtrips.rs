//! Round trips to the database per call, counted on the wire: the backend connects through a
//! TCP proxy that counts how often the client starts talking again after the server answered
//! (one "turn" = one round trip). Once a connection is warm (role vetted, model loaded,
//! fixed statements prepared), every operation costs exactly one round trip: the transaction,
//! the caller's session settings, the statements and the commit or rollback go out as one
//! pipelined batch.
//!
//! `CRMGATE_TEST_PROXY_DELAY_MS` (default 0) delays each client turn by that much, to see what
//! the round trips cost on a real network; per-call times are printed, never asserted.

use crmgate_atomic::testkit::{PgTestDb, TestUser};
use crmgate_atomic::{AtomicBackend, Credential};
use crmgate_core::cache::MetadataCache;
use crmgate_core::filter::Filter;
use crmgate_core::model::{FieldSelection, PageRequest, SearchRequest};
use crmgate_core::{Backend, CallContext};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Counts client turns on every connection it forwards.
struct TurnCounter {
    turns: AtomicU64,
}

impl TurnCounter {
    fn get(&self) -> u64 {
        self.turns.load(Ordering::SeqCst)
    }
}

/// A proxy to `upstream` on 127.0.0.1; its port and counter.
async fn proxy(upstream: (String, u16)) -> (u16, Arc<TurnCounter>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let counter = Arc::new(TurnCounter {
        turns: AtomicU64::new(0),
    });
    let shared = counter.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = TcpStream::connect((upstream.0.as_str(), upstream.1))
                .await
                .unwrap();
            // forward at once, as the client and server themselves write
            client.set_nodelay(true).unwrap();
            server.set_nodelay(true).unwrap();
            forward(client, server, shared.clone());
        }
    });
    (port, counter)
}

/// Copy both ways; a client write that follows server output (or opens the connection) is a
/// new turn.
fn forward(client: TcpStream, server: TcpStream, counter: Arc<TurnCounter>) {
    let delay = std::env::var("CRMGATE_TEST_PROXY_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or_default();
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // true when the server spoke last
    let server_last = Arc::new(AtomicBool::new(true));
    let up_flag = server_last.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if up_flag.swap(false, Ordering::SeqCst) {
                counter.turns.fetch_add(1, Ordering::SeqCst);
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
            }
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    });
    tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            server_last.store(true, Ordering::SeqCst);
            if client_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    });
}

/// The gateway's URL, rewritten to go through the proxy.
fn through(url: &SecretString, port: u16) -> SecretString {
    let url = url.expose_secret();
    let (head, tail) = url.split_once('@').unwrap();
    let (_, rest) = tail.split_once('/').unwrap();
    SecretString::from(format!("{head}@127.0.0.1:{port}/{rest}"))
}

fn upstream_of(db: &PgTestDb) -> (String, u16) {
    let admin: tokio_postgres::Config = crmgate_atomic::testkit::admin_url().parse().unwrap();
    let host = match admin.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".into(),
    };
    let _ = db;
    (host, admin.get_ports().first().copied().unwrap_or(5432))
}

/// Round trips (and wall time, reported only) of `n` runs of `op` on a warm connection.
async fn measure<F, Fut>(counter: &TurnCounter, n: u64, mut op: F) -> (f64, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    op().await; // warm: statements of this operation prepared on the connection
    let before = counter.get();
    let started = Instant::now();
    for _ in 0..n {
        op().await;
    }
    let elapsed = started.elapsed() / n as u32;
    ((counter.get() - before) as f64 / n as f64, elapsed)
}

#[tokio::test]
async fn every_call_costs_one_round_trip_on_a_warm_connection() {
    let Some(db) = PgTestDb::create("roundtrips").await else {
        return;
    };
    let (port, counter) = proxy(upstream_of(&db)).await;
    let mut config = db.config(
        through(&db.gateway_url(), port),
        Credential::AccessToken(TestUser::Bob.token(3600)),
    );
    config.pool_size = 1;
    config
        .sql_allow_functions
        .extend(["auth.uid".to_owned(), "pg_catalog.length".to_owned()]);
    let b = AtomicBackend::new(config, MetadataCache::new(Duration::from_secs(600), 100)).unwrap();
    let cx = CallContext::configured();
    // cold: vetting, the model, preparing
    let catalog = b.entities(&cx).await.unwrap();
    let contacts = catalog.get("contacts").unwrap().clone();
    let tasks = catalog.get("tasks").unwrap().clone();
    let schema = b.describe(&cx, &contacts).await.unwrap();

    let get = measure(&counter, 20, || async {
        let r = b
            .get(&cx, &contacts, &["4".into()], &FieldSelection::All)
            .await
            .unwrap();
        assert_eq!(r.len(), 1);
    })
    .await;
    let search = measure(&counter, 20, || async {
        let request = SearchRequest {
            entity: contacts.clone(),
            schema: schema.clone(),
            filter: Filter::default(),
            sort: Vec::new(),
            fields: FieldSelection::All,
            page: PageRequest {
                limit: 5,
                cursor: None,
            },
        };
        let page = b.search(&cx, &request).await.unwrap();
        assert_eq!(page.records.len(), 5);
    })
    .await;
    let data = json!({"contact_id": "4", "type": "call", "text": "ring back"})
        .as_object()
        .unwrap()
        .clone();
    let create = measure(&counter, 10, || async {
        b.create(&cx, &tasks, &data, Default::default())
            .await
            .unwrap();
    })
    .await;
    let patch = json!({"text": "ring back tomorrow"})
        .as_object()
        .unwrap()
        .clone();
    let update = measure(&counter, 10, || async {
        b.update(&cx, &tasks, "1", &patch).await.unwrap();
    })
    .await;
    let query = measure(&counter, 20, || async {
        let r = b
            .sql(
                &cx,
                "select id, length(first_name) from contacts where id < 4 order by id",
                10,
            )
            .await
            .unwrap();
        assert_eq!(r.rows.len(), 3);
    })
    .await;
    for (name, (trips, latency)) in [
        ("crm_get", get),
        ("crm_search", search),
        ("crm_create", create),
        ("crm_update", update),
        ("crm_query", query),
    ] {
        eprintln!("{name}: {trips} round trips per call, {latency:?} per call (not asserted)");
        assert_eq!(trips, 1.0, "{name}");
    }
}
