//! Load benchmark of hosted mode (`cargo bench --bench http`) with the **shipped defaults** (no
//! limit raised): the crmgate binary serving over streamable HTTP on loopback, driven by 1, 10,
//! 100 and 1,000 concurrent clients, each with its own bearer identity, over keep-alive
//! connections. The clients are lean (`support/load.rs`: a request built once, answers read by
//! hand, as wrk does), so that the machine's cores go to the server under test. Scenarios:
//!
//! 1. the demo CRM; then the same with the per-caller call budget raised out of the way (the
//!    server's own throughput and CPU time per call);
//! 2. the BottleCRM sandbox answering every request after 100 ms (a CRM across a WAN);
//! 3. two replicas sharing Redis (the machine's, at 127.0.0.1:6379; skipped without it), the
//!    clients spread over both.
//!
//! Each level makes a fixed number of calls (bounded in count) and prints the calls served per
//! second (ok) and refused by a limit (`RATE_LIMITED` — the defaults at work), p50, p99, p99.9
//! and slowest latency of all calls, the server's CPU time per call (user + system, from `/proc`), its resident
//! memory (now and peak), the connections the clients had to reopen, if any, and the machine's
//! TCP trouble during the level, if any (listen-queue overflows and retransmitted segments, from
//! `/proc/net`: a dropped handshake or segment costs its call a second or more). `CRMGATE_BENCH_QUICK=1` runs a small version (CI smoke run);
//! `CRMGATE_BENCH_ONLY=defaults|raised|bottle|replicas` runs one scenario;
//! `CRMGATE_BENCH_CLIENTS=100` one level (to profile the server under it).

#[path = "support/load.rs"]
mod load;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Server {
    /// CPU time the server process has used so far (user + system), from `/proc` (Linux;
    /// zero elsewhere).
    fn cpu(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.0.id())).unwrap_or_default();
        // the fields after the command name, which is in parentheses and may hold spaces
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // utime and stime are fields 14 and 15 of the line: 12 and 13 after the name; the
        // kernel counts them in USER_HZ, 100 per second on Linux
        Duration::from_millis((ticks(11) + ticks(12)) * 10)
    }

    /// Resident memory now and at its peak, MiB (Linux; zeros elsewhere).
    fn rss_mib(&self) -> (f64, f64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.0.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
                .map_or(0.0, |kib| kib / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

fn start(config: &str, dir: &std::path::Path, name: &str) -> (Server, String) {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, config).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_crmgate"))
        .args([
            "--config",
            path.to_str().unwrap(),
            "serve",
            "--http",
            "127.0.0.1:0",
        ])
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn crmgate");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            line.split("serving MCP at http://")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .map(str::to_owned)
        })
        .expect("crmgate printed its address");
    // the server's warnings (a refused connection, say) explain a failed call
    std::thread::spawn(move || {
        for line in lines
            .map_while(Result::ok)
            .filter(|l| l.contains("WARN"))
            .take(3)
        {
            eprintln!("   server: {line}");
        }
    });
    (Server(child), format!("http://{addr}/mcp"))
}

/// The call each client makes.
#[derive(Clone, Copy)]
enum Call {
    /// `crm_get` of one demo deal.
    DemoGet,
    /// `crm_search` of one BottleCRM lead.
    Search,
}

fn body(call: Call) -> (Value, &'static str) {
    let (name, arguments) = match call {
        Call::DemoGet => ("crm_get", json!({"entity": "deals", "id": "dl-0001"})),
        Call::Search => ("crm_search", json!({"entity": "leads", "limit": 1})),
    };
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": name, "arguments": arguments,
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"}
        }
    }});
    (body, name)
}

/// What one call came to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    Limited,
    Failed,
}

/// One call on `connection`, judged by its answer.
async fn one_call(connection: &mut load::Connection) -> Outcome {
    let answer = match connection.call().await {
        Ok(answer) => answer,
        Err(e) => {
            note_failure(&format!("request: {e}"));
            return Outcome::Failed;
        }
    };
    let text = String::from_utf8_lossy(&answer.body);
    if answer.status == 200 && text.contains("\"isError\":false") {
        Outcome::Ok
    } else if text.contains("RATE_LIMITED") {
        Outcome::Limited
    } else {
        note_failure(&format!(
            "HTTP {}: {}",
            answer.status,
            text.chars().take(300).collect::<String>()
        ));
        Outcome::Failed
    }
}

/// Print the first few failures (neither served nor refused by a limit), to say what they were.
fn note_failure(what: &str) {
    static SHOWN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    if SHOWN.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < 3 {
        eprintln!("   a call failed: {what}");
    }
}

/// `clients` clients, each with its own token (`tokens[i]`), on the servers `urls` (client `i`
/// uses `urls[i % len]`), `calls` calls in all.
async fn level(
    servers: &[&Server],
    urls: &[String],
    tokens: &[String],
    clients: usize,
    calls: usize,
    call: Call,
) {
    let (body, tool) = body(call);
    let payload = serde_json::to_vec(&body).unwrap();
    let connection = |i: usize| {
        let headers = [
            format!("authorization: Bearer {}", tokens[i]),
            "content-type: application/json".to_owned(),
            "accept: application/json, text/event-stream".to_owned(),
            "mcp-protocol-version: 2026-07-28".to_owned(),
            "mcp-method: tools/call".to_owned(),
            format!("mcp-name: {tool}"),
        ];
        load::Connection::new(
            &urls[i % urls.len()],
            &headers,
            &payload,
            Duration::from_secs(120),
        )
    };
    // warm up: every client's token is checked, its CRM or metadata loaded, connection opened
    let warm: Vec<_> = (0..clients)
        .map(|i| {
            let mut connection = connection(i);
            tokio::spawn(async move {
                one_call(&mut connection).await;
                connection
            })
        })
        .collect();
    let mut connections = Vec::with_capacity(clients);
    for w in warm {
        connections.push(w.await.unwrap());
    }
    let per_client = (calls / clients).max(1);
    let tcp_before = TcpTrouble::now();
    let cpu_before: Duration = servers.iter().map(|s| s.cpu()).sum();
    let started = Instant::now();
    let tasks: Vec<_> = connections
        .into_iter()
        .map(|mut connection| {
            tokio::spawn(async move {
                let mut samples = Vec::with_capacity(per_client);
                let opened = connection.opened;
                for _ in 0..per_client {
                    let t = Instant::now();
                    let outcome = one_call(&mut connection).await;
                    samples.push((t.elapsed(), outcome));
                }
                (samples, connection.opened - opened)
            })
        })
        .collect();
    let mut samples: Vec<(Duration, Outcome)> = Vec::with_capacity(per_client * clients);
    let mut reopened = 0;
    for t in tasks {
        let (some, opened) = t.await.unwrap();
        samples.extend(some);
        reopened += opened;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu: Duration = servers.iter().map(|s| s.cpu()).sum::<Duration>() - cpu_before;
    let tcp = TcpTrouble::now().since(&tcp_before);
    let count = |o: Outcome| samples.iter().filter(|(_, x)| *x == o).count();
    let (ok, limited, failed) = (
        count(Outcome::Ok),
        count(Outcome::Limited),
        count(Outcome::Failed),
    );
    let mut latencies: Vec<Duration> = samples.iter().map(|(d, _)| *d).collect();
    latencies.sort();
    let pct = |p: f64| {
        latencies[((latencies.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0
    };
    let rss: Vec<String> = servers
        .iter()
        .map(|s| {
            let (now, peak) = s.rss_mib();
            format!("{now:.0}/{peak:.0}")
        })
        .collect();
    println!(
        "{clients:>5} clients {:>6} calls  ok {:>7.0}/s  limited {:>7.0}/s{}  p50 {:>7.2} ms  p99 {:>8.2} ms  p99.9 {:>8.2} ms  max {:>8.2} ms  server CPU {:>5.1} µs/call  RSS MiB now/peak {}{tcp}",
        samples.len(),
        ok as f64 / elapsed,
        limited as f64 / elapsed,
        match (failed, reopened) {
            (0, 0) => String::new(),
            (0, r) => format!("  reconnected {r}"),
            (f, r) => format!("  FAILED {f}, reconnected {r}"),
        },
        pct(0.5),
        pct(0.99),
        pct(0.999),
        pct(1.0),
        cpu.as_secs_f64() * 1e6 / samples.len() as f64,
        rss.join(" + ")
    );
}

/// The machine's TCP counters that explain a slow tail (Linux; zeros elsewhere): handshakes
/// dropped because a listen queue was full, and segments sent again.
#[derive(Default)]
struct TcpTrouble {
    listen_overflows: u64,
    retransmitted: u64,
}

impl TcpTrouble {
    fn now() -> TcpTrouble {
        // each file is pairs of lines: `Group: names...` then `Group: values...`
        let counter = |file: &str, group: &str, name: &str| -> u64 {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            lines
                .chunks(2)
                .filter(|pair| pair.len() == 2 && pair[0].starts_with(group))
                .find_map(|pair| {
                    let at = pair[0].split_whitespace().position(|n| n == name)?;
                    pair[1].split_whitespace().nth(at)?.parse().ok()
                })
                .unwrap_or(0)
        };
        TcpTrouble {
            listen_overflows: counter("/proc/net/netstat", "TcpExt:", "ListenOverflows"),
            retransmitted: counter("/proc/net/snmp", "Tcp:", "RetransSegs"),
        }
    }

    /// What happened since `before`, as a suffix for the level's line (empty when nothing).
    fn since(&self, before: &TcpTrouble) -> String {
        let overflows = self
            .listen_overflows
            .saturating_sub(before.listen_overflows);
        let retransmitted = self.retransmitted.saturating_sub(before.retransmitted);
        if overflows + retransmitted == 0 {
            return String::new();
        }
        format!("  TCP: {overflows} listen overflows, {retransmitted} segments resent")
    }
}

/// Whether the machine's Redis answers PING.
fn redis_up() -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect_timeout(
        &"127.0.0.1:6379".parse().unwrap(),
        Duration::from_secs(1),
    ) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let mut answer = [0u8; 7];
    s.write_all(b"*1\r\n$4\r\nPING\r\n").is_ok()
        && s.read_exact(&mut answer).is_ok()
        && &answer == b"+PONG\r\n"
}

fn main() {
    let quick = std::env::var_os("CRMGATE_BENCH_QUICK").is_some();
    let dir = std::env::temp_dir().join(format!("crmgate-http-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // the clients' runtime tuned for fairness: with tokio's defaults a few of 1,000 client
    // tasks could wait most of a second to be polled, and the tail measured the load generator
    // (the shared queue looked at every other task, the sockets polled every 1,023 tasks)
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .global_queue_interval(2)
        .event_interval(1023)
        .build()
        .unwrap();
    let levels: &[(usize, usize)] = if quick {
        &[(1, 100), (10, 200), (100, 200)]
    } else {
        &[(1, 2_000), (10, 10_000), (100, 20_000), (1_000, 20_000)]
    };
    // `CRMGATE_BENCH_CLIENTS=100` runs that level only (e.g. to profile the server under it)
    let only_clients: Option<usize> = std::env::var("CRMGATE_BENCH_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok());
    let levels: Vec<(usize, usize)> = levels
        .iter()
        .copied()
        .filter(|&(clients, _)| only_clients.is_none_or(|only| only == clients))
        .collect();
    let levels = levels.as_slice();
    let demo_tokens: Vec<String> = (0..1_000).map(|i| format!("client-{i}")).collect();
    println!(
        "crmgate hosted-mode load ({} mode), shipped defaults, one identity per client",
        if quick { "quick" } else { "full" }
    );
    // `CRMGATE_BENCH_ONLY=raised` (or defaults, bottle, replicas) runs one scenario
    let only = std::env::var("CRMGATE_BENCH_ONLY").ok();
    let run = |name: &str| only.as_deref().is_none_or(|o| o == name);
    runtime.block_on(async {
        if run("defaults") {
        println!("-- demo CRM: crm_get");
        let (server, url) = start("", &dir, "demo");
        for &(clients, calls) in levels {
            level(&[&server], std::slice::from_ref(&url), &demo_tokens, clients, calls, Call::DemoGet).await;
        }
        drop(server);
        }

        // the server's own cost: the per-caller call budget raised out of the way
        if run("raised") {
        println!("-- demo CRM, limits raised (per caller 100,000 calls/s, connections per address 100,000): crm_get");
        let raised = "[http]\nper_caller_per_second = 100000\nper_caller_burst = 100000\n\
                      max_connections_per_address = 100000\n";
        let (server, url) = start(raised, &dir, "demo-raised");
        for &(clients, calls) in levels {
            level(&[&server], std::slice::from_ref(&url), &demo_tokens, clients, calls, Call::DemoGet).await;
        }
        drop(server);
        }

        if run("bottle") {
        println!("-- BottleCRM sandbox, every answer after 100 ms: crm_search");
        use crmgate_bottlecrm::sandbox::{Fault, Sandbox};
        let sandbox = Sandbox::start().await.unwrap();
        sandbox.inject(Fault::delay(Duration::from_millis(100)).times(usize::MAX));
        let bottle_tokens: Vec<String> = (0..1_000)
            .map(|_| sandbox.mint_token("admin@acme.test", &[]).unwrap())
            .collect();
        let config = format!("[crm.bottle]\nkind = \"bottlecrm\"\nurl = \"{}\"\n", sandbox.url());
        let (server, url) = start(&config, &dir, "bottle");
        let sandbox_levels: &[(usize, usize)] = if quick {
            &[(1, 5), (10, 20)]
        } else {
            &[(1, 50), (10, 500), (100, 2_000), (1_000, 5_000)]
        };
        for &(clients, calls) in sandbox_levels {
            level(&[&server], std::slice::from_ref(&url), &bottle_tokens, clients, calls, Call::Search).await;
        }
        drop(server);
        }

        if !run("replicas") {
            return;
        }
        println!("-- two replicas sharing Redis, demo CRM: crm_get");
        if !redis_up() {
            println!("   skipped: Redis at 127.0.0.1:6379 is unreachable");
            return;
        }
        let config = format!(
            "confirm_secret = \"bench-confirm-secret-0123456789abcdef\"\n\
             [redis]\nurl = \"redis://127.0.0.1:6379\"\nkey_prefix = \"crmgate-bench:{}:\"\nreplicas = 2\n",
            std::process::id()
        );
        let (one, url_one) = start(&config, &dir, "replica-1");
        let (two, url_two) = start(&config, &dir, "replica-2");
        let urls = [url_one, url_two];
        let replica_levels: &[(usize, usize)] = if quick {
            &[(10, 200)]
        } else {
            &[(10, 10_000), (100, 20_000)]
        };
        for &(clients, calls) in replica_levels {
            level(&[&one, &two], &urls, &demo_tokens, clients, calls, Call::DemoGet).await;
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}
