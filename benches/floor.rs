//! crmgate against the floor: a bare rmcp server built with the same rmcp, in the same run
//! (`cargo bench --bench floor`).
//!
//! This binary is both the bench and the floor: run with `CRMGATE_FLOOR_ECHO=1` it is a bare
//! rmcp stdio server with one `echo` tool and nothing else. The bench spawns
//! - that echo server,
//! - `crmgate serve` on the embedded demo CRM,
//! - `crmgate serve` with a BottleCRM config, against the BottleCRM sandbox (in this process),
//!
//! and reports, as figures and as ratios to the echo server:
//! - cold start: spawn → `initialize` answered (wall-clock p50 over many starts);
//! - peak RSS (VmHWM) of a stdio session after its calls;
//! - per-call round trips: echo, demo `crm_get`, BottleCRM `crm_get` and a 10-record `crm_search`,
//!   and a keep-alive HTTP request straight to the sandbox for the same records (what crmgate adds
//!   over the CRM itself);
//! - with valgrind on the PATH (`CRMGATE_BENCH_CALLGRIND=0` turns it off): instruction counts
//!   from callgrind, which are stable on a loaded machine: start-up (a session that only
//!   initializes) and per call ((session with N calls − session with none) / N).
//!
//! Figures are printed, never asserted. `CRMGATE_BENCH_QUICK=1` runs fewer iterations and no
//! callgrind (the CI smoke run). `CRMGATE_BENCH_CRMGATE=PATH` measures that crmgate binary
//! instead of the one cargo built with this bench (e.g. the static release binary of
//! `cargo build-static` against an echo server built the default way).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use crmgate_bottlecrm::sandbox::{ADMIN_A, Sandbox};

const INITIALIZE: &str = r#"{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}"#;

fn main() {
    if std::env::var_os("CRMGATE_FLOOR_ECHO").is_some() {
        echo::serve();
        return;
    }
    let quick = std::env::var_os("CRMGATE_BENCH_QUICK").is_some();
    let (starts, calls) = if quick { (5, 100) } else { (40, 2000) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sandbox = runtime
        .block_on(Sandbox::start())
        .expect("BottleCRM sandbox");
    let home = std::env::temp_dir().join(format!("crmgate-floor-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let bottle_config = home.join("bottle.toml");
    std::fs::write(
        &bottle_config,
        format!(
            "[crm.bottle]\nkind = \"bottlecrm\"\nurl = \"{}\"\ntoken_env = \"FLOOR_BCRM_TOKEN\"\n\
             app_url = \"https://app.bottlecrm.example\"\n\
             # the shipped 10 requests/s would make this a bench of the limiter\n\
             [crm.bottle.rate_limit]\nper_second = 10000\nburst = 10000\n",
            sandbox.url()
        ),
    )
    .unwrap();

    let servers = [
        Target::Echo,
        Target::Demo,
        Target::Bottle(bottle_config.clone()),
    ];
    println!(
        "crmgate floor benchmarks ({} mode; load average {}; crmgate: {})",
        if quick { "quick" } else { "full" },
        load_average(),
        crmgate_binary().display()
    );

    // Cold start, wall clock.
    let mut start_p50 = Vec::new();
    for target in &servers {
        let mut samples = Vec::with_capacity(starts);
        for _ in 0..starts {
            let started = Instant::now();
            let mut server = Server::spawn(target, &home, None);
            server.initialize();
            samples.push(started.elapsed());
        }
        samples.sort();
        start_p50.push(samples[samples.len() / 2]);
    }
    for (target, p50) in servers.iter().zip(&start_p50) {
        println!(
            "cold start → initialize  {:<8} p50 {}  ({:.2}× echo)",
            target.name(),
            ms(*p50),
            p50.as_secs_f64() / start_p50[0].as_secs_f64()
        );
    }

    // Per call, wall clock, and peak RSS after the calls.
    let mut bottle_ids = Vec::new();
    let mut echo_p50 = None;
    for target in &servers {
        let mut server = Server::spawn(target, &home, None);
        server.initialize();
        for (name, params) in target.calls(&mut server, &mut bottle_ids) {
            let mut samples = Vec::with_capacity(calls);
            for _ in 0..calls {
                let started = Instant::now();
                let reply = server.request("tools/call", &params);
                samples.push(started.elapsed());
                assert!(!reply.contains(r#""isError":true"#), "{name}: {reply}");
            }
            samples.sort();
            let p50 = samples[samples.len() / 2];
            let p99 = samples[(samples.len() - 1) * 99 / 100];
            let base = *echo_p50.get_or_insert(p50);
            println!(
                "{name:<32} p50 {}  p99 {}  ({:.2}× echo)",
                ms(p50),
                ms(p99),
                p50.as_secs_f64() / base.as_secs_f64()
            );
        }
        match server.peak_rss_kib() {
            Some(kib) => println!(
                "peak RSS {:<8} {:.1} MiB",
                target.name(),
                kib as f64 / 1024.0
            ),
            None => println!("peak RSS: /proc not available"),
        }
    }
    direct_requests(&runtime, &sandbox, &bottle_ids, calls);

    let callgrind = std::env::var("CRMGATE_BENCH_CALLGRIND").map_or(!quick, |v| v != "0");
    if callgrind && Command::new("valgrind").arg("--version").output().is_ok() {
        instruction_counts(&servers, &home, &mut bottle_ids);
    } else {
        println!("instruction counts: skipped (quick mode, or valgrind not on the PATH)");
    }
    let _ = std::fs::remove_dir_all(&home);
}

/// A keep-alive HTTP client straight at the sandbox: the CRM's own cost, for the overhead figure.
fn direct_requests(runtime: &tokio::runtime::Runtime, sandbox: &Sandbox, ids: &[String], n: usize) {
    let client = reqwest::Client::new();
    let base = sandbox.url();
    let get = format!("{base}/api/leads/{}/", ids[0]);
    let list = format!("{base}/api/leads/?limit=10&offset=0");
    for (name, url) in [("direct GET lead", get), ("direct GET 10 leads", list)] {
        let samples = runtime.block_on(async {
            let mut samples = Vec::with_capacity(n);
            for _ in 0..n {
                let started = Instant::now();
                let reply = client
                    .get(&url)
                    .bearer_auth(ADMIN_A)
                    .send()
                    .await
                    .expect("sandbox answers");
                assert!(reply.status().is_success(), "{name}: {}", reply.status());
                reply.bytes().await.unwrap();
                samples.push(started.elapsed());
            }
            samples
        });
        let mut samples = samples;
        samples.sort();
        println!(
            "{name:<32} p50 {}  p99 {}",
            ms(samples[samples.len() / 2]),
            ms(samples[(samples.len() - 1) * 99 / 100])
        );
    }
}

/// Start-up and per-call instructions under callgrind, as ratios to the echo server.
fn instruction_counts(servers: &[Target], home: &Path, bottle_ids: &mut Vec<String>) {
    const N: usize = 50;
    let mut echo = None;
    for target in servers {
        let out = home.join(format!("cg-{}-0.out", target.name()));
        let mut server = Server::spawn(target, home, Some(&out));
        server.initialize();
        let start = server.finish_callgrind(&out);
        let (echo_start, echo_call) = *echo.get_or_insert((start, 0u64));
        println!(
            "instructions: start-up {:<8} {:>6.2}M  ({:.2}× echo)",
            target.name(),
            start as f64 / 1e6,
            start as f64 / echo_start as f64
        );
        let mut probe = Server::spawn(target, home, None);
        probe.initialize();
        let calls = target.calls(&mut probe, bottle_ids);
        drop(probe);
        for (name, params) in calls {
            let out = home.join(format!("cg-{}-n.out", target.name()));
            let mut server = Server::spawn(target, home, Some(&out));
            server.initialize();
            // first call outside the count's average: it loads schemas and warms caches
            server.request("tools/call", &params);
            let warm = server.finish_callgrind_keep(&out);
            let out_n = home.join(format!("cg-{}-m.out", target.name()));
            let mut server = Server::spawn(target, home, Some(&out_n));
            server.initialize();
            for _ in 0..=N {
                server.request("tools/call", &params);
            }
            let total = server.finish_callgrind(&out_n);
            let per_call = total.saturating_sub(warm) / N as u64;
            let base = if echo_call == 0 {
                echo = Some((echo_start, per_call));
                per_call
            } else {
                echo_call
            };
            println!(
                "instructions: {name:<32} {:>8.3}M per call  ({:.2}× echo call)",
                per_call as f64 / 1e6,
                per_call as f64 / base as f64
            );
        }
    }
}

/// What the bench runs.
enum Target {
    Echo,
    Demo,
    Bottle(PathBuf),
}

/// The crmgate binary under test: `CRMGATE_BENCH_CRMGATE`, else the one built with this bench.
fn crmgate_binary() -> PathBuf {
    std::env::var_os("CRMGATE_BENCH_CRMGATE").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_crmgate")),
        PathBuf::from,
    )
}

impl Target {
    fn name(&self) -> &'static str {
        match self {
            Target::Echo => "echo",
            Target::Demo => "demo",
            Target::Bottle(_) => "bottle",
        }
    }

    fn command(&self, callgrind: Option<&Path>) -> Command {
        let program = match self {
            Target::Echo => std::env::current_exe().unwrap(),
            _ => crmgate_binary(),
        };
        let mut command = match callgrind {
            Some(out) => {
                let mut c = Command::new("valgrind");
                c.arg("--tool=callgrind")
                    .arg(format!("--callgrind-out-file={}", out.display()))
                    .arg(program);
                c
            }
            None => Command::new(program),
        };
        match self {
            Target::Echo => {
                command.env("CRMGATE_FLOOR_ECHO", "1");
            }
            Target::Demo => {
                command.args(["serve", "--tier", "write"]);
            }
            Target::Bottle(config) => {
                command
                    .arg("--config")
                    .arg(config)
                    .args(["serve", "--tier", "write"])
                    .env("FLOOR_BCRM_TOKEN", ADMIN_A);
            }
        }
        command
    }

    /// The tool calls measured on this target (named), found with a first search.
    fn calls(&self, server: &mut Server, bottle_ids: &mut Vec<String>) -> Vec<(String, String)> {
        match self {
            Target::Echo => vec![(
                "echo call".into(),
                r#"{"name":"echo","arguments":{"entity":"deals","id":"d-1"}}"#.into(),
            )],
            Target::Demo => {
                let search = r#"{"name":"crm_search","arguments":{"entity":"deals","limit":1}}"#;
                let id = first_id(&server.request("tools/call", search));
                vec![(
                    "demo crm_get".into(),
                    format!(r#"{{"name":"crm_get","arguments":{{"entity":"deals","id":"{id}"}}}}"#),
                )]
            }
            Target::Bottle(_) => {
                let search = r#"{"name":"crm_search","arguments":{"entity":"leads","limit":10}}"#;
                let reply = server.request("tools/call", search);
                if bottle_ids.is_empty() {
                    bottle_ids.push(first_id(&reply));
                }
                let id = &bottle_ids[0];
                vec![
                    (
                        "bottle crm_get".into(),
                        format!(
                            r#"{{"name":"crm_get","arguments":{{"entity":"leads","id":"{id}"}}}}"#
                        ),
                    ),
                    ("bottle crm_search (10 leads)".into(), search.into()),
                ]
            }
        }
    }
}

fn first_id(reply: &str) -> String {
    let at = reply.find(r#""id":""#).expect("a record id in the result") + 6;
    reply[at..].chars().take_while(|c| *c != '"').collect()
}

/// One stdio session driven with raw JSON-RPC lines.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
}

impl Server {
    fn spawn(target: &Target, home: &Path, callgrind: Option<&Path>) -> Server {
        let mut child = target
            .command(callgrind)
            .env_remove("CRMGATE_CONFIG")
            .env_remove("RUST_LOG")
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home)
            .env("XDG_DATA_HOME", home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the server");
        let stdin = child.stdin.take();
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
        let stdin = self.stdin.as_mut().expect("session open");
        writeln!(
            stdin,
            r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{params}}}"#
        )
        .unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        let wanted = format!(r#""id":{id}"#);
        loop {
            line.clear();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "server closed stdout"
            );
            if line.contains(&wanted) {
                return line;
            }
        }
    }

    fn initialize(&mut self) {
        self.request("initialize", INITIALIZE);
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(
            stdin,
            r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#
        )
        .unwrap();
        stdin.flush().unwrap();
    }

    /// Close stdin, wait for the exit, and read the instruction total callgrind wrote.
    fn finish_callgrind(mut self, out: &Path) -> u64 {
        self.stdin.take();
        let _ = self.child.wait();
        let total = callgrind_total(out);
        let _ = std::fs::remove_file(out);
        total
    }

    fn finish_callgrind_keep(self, out: &Path) -> u64 {
        self.finish_callgrind(out)
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

/// The `summary:` (or `totals:`) line of a callgrind output file: instructions executed.
fn callgrind_total(out: &Path) -> u64 {
    let text = std::fs::read_to_string(out).expect("callgrind output");
    text.lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("an instruction total in the callgrind output")
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// The floor: a bare rmcp server over stdio with one tool that echoes its arguments.
mod echo {
    use rmcp::model::*;
    use rmcp::service::RequestContext;
    use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
    use std::sync::Arc;

    #[derive(Clone)]
    struct Echo;

    impl ServerHandler for Echo {
        fn get_info(&self) -> ServerConfig {
            ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
                .with_server_info(Implementation::new("echo", "0"))
        }

        async fn list_tools(
            &self,
            _request: Option<PaginatedRequestParams>,
            _context: RequestContext<RoleServer>,
        ) -> Result<ListToolsResult, ErrorData> {
            let schema = serde_json::json!({"type": "object"});
            let serde_json::Value::Object(schema) = schema else {
                unreachable!()
            };
            Ok(ListToolsResult::with_all_items(vec![Tool::new(
                "echo",
                "echo the arguments",
                Arc::new(schema),
            )]))
        }

        async fn call_tool(
            &self,
            request: CallToolRequestParams,
            _context: RequestContext<RoleServer>,
        ) -> Result<CallToolResponse, ErrorData> {
            let text = serde_json::to_string(&request.arguments).unwrap_or_default();
            Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
        }
    }

    /// Serve until stdin closes, on the same runtime shape as `crmgate serve`.
    pub fn serve() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let service = Echo.serve(rmcp::transport::stdio()).await.expect("serve");
            let _ = service.waiting().await;
        });
    }
}
