//! Redis for the tests that share state through it: the machine's (skipped loudly when
//! unreachable, a failure under `CI=true`), unique key prefixes, and a private `redis-server`
//! a test may kill and restart. Speaks just enough RESP (PING) to need no client crate.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `PING` at `host:port`: whether `+PONG` came back.
fn ping(addr: &str) -> bool {
    let Ok(addr) = addr.parse() else {
        return false;
    };
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut answer = [0u8; 7];
    stream.write_all(b"*1\r\n$4\r\nPING\r\n").is_ok()
        && stream.read_exact(&mut answer).is_ok()
        && &answer == b"+PONG\r\n"
}

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

/// A `redis-server` of this test's own, on a fixed port so it can be restarted in place.
pub struct PrivateRedis {
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Start one on a free port; `None` (skipped) when `redis-server` is not installed.
    pub fn start() -> Option<PrivateRedis> {
        if Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            return unavailable("redis-server is not installed");
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = PrivateRedis { port, child: None };
        redis.restart();
        Some(redis)
    }

    /// `redis://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// (Re)start the server on the same port and wait until it answers.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "still running");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--loglevel", "warning"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ping(&format!("127.0.0.1:{}", self.port)) {
            assert!(
                Instant::now() < deadline,
                "private redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kill the server (SIGKILL: no goodbye to clients) and wait until it is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}
