//! Redis for the tests that share state through it: the machine's (skipped loudly when
//! unreachable, a failure under `CI=true`), unique key prefixes, and a private `redis-server`
//! a test may kill and restart. Speaks just enough RESP (PING) to need no client crate.

#[path = "../../backends/shared/tests/common/private_redis.rs"]
mod private_redis;
#[allow(unused_imports)] // not every test binary restarts a Redis
pub use private_redis::PrivateRedis;
use private_redis::answers_ping as ping;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Skip loudly, or fail under `CI=true` (where .ci/run has started Redis).
pub fn unavailable<T>(why: &str) -> Option<T> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}: CI=true requires it (.ci/run starts redis-server)");
    }
    eprintln!("SKIPPED (not a pass): {why}; start redis-server to run this test");
    None
}

/// The machine's Redis at 127.0.0.1:6379, as a URL.
pub fn machine_redis() -> Option<String> {
    if ping("127.0.0.1:6379") {
        Some("redis://127.0.0.1:6379".to_owned())
    } else {
        unavailable("Redis at 127.0.0.1:6379 is unreachable")
    }
}

/// A key prefix no other test (or run) uses.
pub fn unique_prefix(test: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "crmgate-test:{test}:{}-{nanos}-{}:",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
