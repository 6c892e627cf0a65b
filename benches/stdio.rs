//! Benchmarks of `crmgate serve` over stdio (`cargo bench`).
//!
//! Measures, with raw JSON-RPC over pipes so the client adds next to nothing:
//! - cold start on the embedded demo CRM: spawn → initialize response, and → tools/list
//!   response;
//! - per-call round trip p50/p99 for crm_search and crm_get on the demo;
//! - peak RSS of the server (VmHWM) after the calls;
//! - tools/list size at each tier;
//! - peak RSS of a session of ten 10-record searches on each vendor, against its sandbox
//!   (`support/vendor_sessions.rs`; Atomic CRM over PostgreSQL too when one is reachable).
//!
//! Figures are printed, never asserted: timing belongs in reports, not in tests.
//! `CRMGATE_BENCH_QUICK=1` runs fewer iterations (CI smoke run).

#[path = "support/vendor_sessions.rs"]
mod vendor_sessions;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
}

impl Server {
    fn spawn(home: &std::path::Path, tier: &str) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_crmgate"));
        command.args(["serve", "--tier", tier]);
        Server::start(command, home)
    }

    /// `crmgate --config CONFIG serve` with `env` (a vendor session).
    fn spawn_vendor(home: &std::path::Path, session: &vendor_sessions::Session) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_crmgate"));
        command
            .arg("--config")
            .arg(&session.config)
            .arg("serve")
            .envs(session.env.iter().map(|(k, v)| (k, v)));
        Server::start(command, home)
    }

    fn start(mut command: Command, home: &std::path::Path) -> Server {
        let mut child = command
            .env_remove("CRMGATE_CONFIG")
            .env_remove("RUST_LOG")
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn crmgate");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Server {
            child,
            stdin,
            stdout,
            next_id: 1,
        }
    }

    fn request(&mut self, method: &str, params: &str) -> String {
        let id = self.next_id;
        self.next_id += 1;
        writeln!(
            self.stdin,
            r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{params}}}"#
        )
        .unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "server closed stdout"
            );
            if line.contains(&format!(r#""id":{id}"#)) {
                return line;
            }
        }
    }

    fn initialize(&mut self) -> String {
        let reply = self.request(
            "initialize",
            r#"{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}"#,
        );
        writeln!(
            self.stdin,
            r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#
        )
        .unwrap();
        reply
    }

    fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:<28} n={:<5} min {}  p50 {}  p99 {}  max {}",
        samples.len(),
        ms(samples[0]),
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.99)),
        ms(*samples.last().unwrap())
    );
}

fn main() {
    let quick = std::env::var_os("CRMGATE_BENCH_QUICK").is_some();
    let (starts, calls) = if quick { (10, 200) } else { (50, 2000) };
    let home = std::env::temp_dir().join(format!("crmgate-bench-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();

    let mut to_init = Vec::new();
    let mut to_list = Vec::new();
    for _ in 0..starts {
        let started = Instant::now();
        let mut server = Server::spawn(&home, "write");
        server.initialize();
        to_init.push(started.elapsed());
        server.request("tools/list", "{}");
        to_list.push(started.elapsed());
    }
    println!(
        "crmgate stdio benchmarks ({} mode)",
        if quick { "quick" } else { "full" }
    );
    report("cold start → initialize", to_init);
    report("cold start → tools/list", to_list);

    for tier in ["read", "write", "destructive"] {
        let mut server = Server::spawn(&home, tier);
        server.initialize();
        let list = server.request("tools/list", "{}");
        println!("tools/list at tier {tier:<12} {} bytes", list.len());
    }

    let mut server = Server::spawn(&home, "write");
    server.initialize();
    let search = r#"{"name":"crm_search","arguments":{"entity":"deals","where":[{"field":"amount","op":"gte","value":10000}],"sort":"-amount","limit":10}}"#;
    let first = server.request("tools/call", search);
    let id_start = first
        .find(r#""id":"d-"#)
        .or_else(|| first.find(r#""id":""#))
        .expect("a record id in the search result");
    let id: String = first[id_start + 6..]
        .chars()
        .take_while(|c| *c != '"')
        .collect();
    let get = format!(r#"{{"name":"crm_get","arguments":{{"entity":"deals","id":"{id}"}}}}"#);
    for (name, params) in [
        ("crm_search (10 deals)", search.to_owned()),
        ("crm_get (1 deal)", get),
    ] {
        let mut samples = Vec::with_capacity(calls);
        for _ in 0..calls {
            let started = Instant::now();
            let reply = server.request("tools/call", &params);
            samples.push(started.elapsed());
            assert!(
                !reply.contains(r#""isError":true"#),
                "{name} failed: {reply}"
            );
        }
        report(name, samples);
    }
    match server.peak_rss_kib() {
        Some(kib) => println!(
            "peak RSS after {} calls         {:.1} MiB",
            2 * calls,
            kib as f64 / 1024.0
        ),
        None => println!("peak RSS: /proc not available"),
    }
    drop(server);
    vendor_rss(&home);
    let _ = std::fs::remove_dir_all(&home);
}

/// Peak RSS of a session of searches on each vendor, against its sandbox.
fn vendor_rss(home: &std::path::Path) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (_upstreams, sessions) = runtime.block_on(vendor_sessions::start(home));
    for session in &sessions {
        let mut server = Server::spawn_vendor(home, session);
        server.initialize();
        server.request("tools/list", "{}");
        for call in vendor_sessions::searches(session.entity) {
            let reply = server.request("tools/call", &call);
            assert!(
                !reply.contains(r#""isError":true"#),
                "{}: {reply}",
                session.name
            );
        }
        match server.peak_rss_kib() {
            Some(kib) => println!(
                "peak RSS {:<20} {:.1} MiB (10 searches)",
                session.name,
                kib as f64 / 1024.0
            ),
            None => println!("peak RSS: /proc not available"),
        }
    }
}
