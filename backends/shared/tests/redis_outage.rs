//! Redis going away and coming back, on private `redis-server` processes: local limits scaled
//! to the replica count, one transition each way, recovery to shared mode.

mod common;

use common::{PrivateRedis, settings, unique_prefix};
use crmgate_shared::{Decision, FailureKind, Mode, Rate, SharedState, keys};
use std::time::Duration;

/// Poll until the state reaches `mode`; fail after 30 s.
async fn wait_for_mode(shared: &SharedState, mode: Mode) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while shared.health().mode != mode {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {:?}, expected {mode:?}",
            shared.health()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn granted(shared: &SharedState, key: &str, rate: Rate, n: usize) -> usize {
    let budget = shared.budget();
    let mut granted = 0;
    for _ in 0..n {
        if budget.take(key, rate, Duration::ZERO).await.is_granted() {
            granted += 1;
        }
    }
    granted
}

#[tokio::test]
async fn killed_mid_run_falls_back_to_scaled_local_limits_and_recovers() {
    let Some(mut server) = PrivateRedis::start() else {
        return;
    };
    let url = server.url();
    let shared = SharedState::redis(&settings(&url, &unique_prefix("outage"), 2, 100)).unwrap();
    let key = keys::instance("b24");
    // burst 10, and no refill within the test
    let rate = Rate::every(Duration::from_secs(3600), 10).unwrap();

    assert_eq!(granted(&shared, &key, rate, 4).await, 4);
    assert_eq!(shared.health().mode, Mode::Shared);

    server.kill();
    // the first call after the kill finds out and falls back; every call is answered locally
    // with 1/2 of the budget (two replicas): a burst of 5
    assert_eq!(granted(&shared, &key, rate, 12).await, 5);
    let health = shared.health();
    assert_eq!(health.mode, Mode::LocalFallback);
    assert_eq!(health.transitions, 1, "one transition, logged once");
    assert!(
        matches!(
            health.last_error,
            Some(FailureKind::Io | FailureKind::Refused | FailureKind::Timeout)
        ),
        "{health:?}"
    );
    assert_eq!(health.fallback_ops, 12);
    assert!(health.local_keys >= 1);
    // a vendor block set during the outage holds locally
    shared
        .blocks()
        .block("b24", "crm.deal.list", Duration::from_secs(60))
        .await;
    assert!(
        shared
            .blocks()
            .blocked_for("b24", "crm.deal.list")
            .await
            .is_some()
    );
    assert_eq!(shared.health().transitions, 1, "still one transition");

    server.restart();
    wait_for_mode(&shared, Mode::Shared).await;
    let health = shared.health();
    assert_eq!(health.transitions, 2);
    // shared again: the (new, empty) Redis holds the bucket, with its full burst of 10
    assert_eq!(granted(&shared, &key, rate, 12).await, 10);
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let stored: Vec<String> = redis::cmd("KEYS")
        .arg("*rate:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(shared.health().shared_ops > health.shared_ops);
    // the block set during the outage still holds (local copy)
    assert!(
        shared
            .blocks()
            .blocked_for("b24", "crm.deal.list")
            .await
            .is_some()
    );
}

/// Log lines written while the guard lives (this thread only).
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn unreachable_from_the_start_serves_locally_logs_once_and_never_the_password() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // a port nothing listens on, and a URL with a password in it
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://:s3cret-pw@127.0.0.1:{port}");
    let shared = SharedState::redis(&settings(&url, "crmgate-test:", 4, 50)).unwrap();
    let rate = Rate::every(Duration::from_secs(3600), 8).unwrap();
    // 1/4 of a burst of 8
    assert_eq!(granted(&shared, &keys::instance("x"), rate, 5).await, 2);
    assert_eq!(granted(&shared, &keys::instance("y"), rate, 50).await, 2);
    let health = shared.health();
    assert_eq!(health.mode, Mode::LocalFallback);
    assert_eq!(health.transitions, 1);
    assert!(health.last_error.is_some());
    assert_eq!(health.replicas, 4);
    let mut text = String::new();
    health.write_prometheus(&mut text);
    assert!(text.contains("crmgate_shared_state_mode{mode=\"local-fallback\"} 1"));
    let logged = logs.text();
    assert_eq!(
        logged.matches("Redis is unavailable").count(),
        1,
        "one line per transition, not per call: {logged}"
    );
    assert!(!logged.contains("s3cret"), "{logged}");
    assert!(!format!("{shared:?}").contains("s3cret"));
}

#[tokio::test]
async fn a_stalled_redis_costs_a_call_at_most_the_operation_timeout() {
    let Some(server) = PrivateRedis::start() else {
        return;
    };
    let url = server.url();
    let shared = SharedState::redis(&settings(&url, &unique_prefix("stall"), 1, 100)).unwrap();
    let key = keys::instance("espo");
    let rate = Rate::every(Duration::from_secs(3600), 3).unwrap();
    assert!(
        shared
            .budget()
            .take(&key, rate, Duration::ZERO)
            .await
            .is_granted()
    );
    // stall every client of this private server for 5 s
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(5000)
        .arg("ALL")
        .query_async(&mut admin)
        .await
        .unwrap();
    let paused_at = std::time::Instant::now();
    let decision = shared.budget().take(&key, rate, Duration::ZERO).await;
    // answered locally while Redis is still paused, not after the pause
    assert!(paused_at.elapsed() < Duration::from_secs(4));
    assert_eq!(
        decision,
        Decision::Granted {
            wait: Duration::ZERO
        }
    );
    let health = shared.health();
    assert_eq!(health.mode, Mode::LocalFallback);
    assert_eq!(health.last_error, Some(FailureKind::Timeout));
    // when the pause ends the probe brings it back
    wait_for_mode(&shared, Mode::Shared).await;
    assert_eq!(shared.health().transitions, 2);
}
