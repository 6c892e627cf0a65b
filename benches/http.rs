//! Load benchmark of hosted mode (`cargo bench --bench http`): the crmgate binary serving the
//! demo CRM over streamable HTTP on loopback, driven by 1, 10 and 100 concurrent clients, each
//! with its own bearer identity, over keep-alive connections. A fixed number of calls per
//! level (bounded in count, loopback only); prints throughput and p50/p99 latency.
//!
//! `CRMGATE_BENCH_QUICK=1` runs fewer calls (CI smoke run).

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(config: &std::path::Path) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crmgate"))
        .args([
            "--config",
            config.to_str().unwrap(),
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
    std::thread::spawn(move || lines.for_each(drop));
    (Server(child), format!("http://{addr}/mcp"))
}

fn body() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "crm_get", "arguments": {"entity": "deals", "id": "dl-0001"},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "1"}
        }
    }})
}

async fn one_call(client: &reqwest::Client, url: &str, token: &str, payload: &[u8]) {
    let response = client
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "crm_get")
        .body(payload.to_vec())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("body");
    assert!(text.contains("\"isError\":false"), "call failed: {text}");
}

async fn level(url: &str, clients: usize, calls: usize) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    let payload: Arc<[u8]> = serde_json::to_vec(&body()).unwrap().into();
    // warm up: every client's identity gets its CRM seeded and its connection opened
    let warm: Vec<_> = (0..clients)
        .map(|i| {
            let (http, url, payload) = (http.clone(), url.to_owned(), payload.clone());
            tokio::spawn(
                async move { one_call(&http, &url, &format!("client-{i}"), &payload).await },
            )
        })
        .collect();
    for w in warm {
        w.await.unwrap();
    }
    let per_client = calls / clients;
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            let (http, url, payload) = (http.clone(), url.to_owned(), payload.clone());
            tokio::spawn(async move {
                let token = format!("client-{i}");
                let mut samples = Vec::with_capacity(per_client);
                for _ in 0..per_client {
                    let t = Instant::now();
                    one_call(&http, &url, &token, &payload).await;
                    samples.push(t.elapsed());
                }
                samples
            })
        })
        .collect();
    let mut samples: Vec<Duration> = Vec::with_capacity(calls);
    for t in tasks {
        samples.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    samples.sort();
    let pct =
        |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0;
    println!(
        "{clients:>4} clients  {:>6} calls  {:>8.0} calls/s  p50 {:.2} ms  p99 {:.2} ms",
        samples.len(),
        samples.len() as f64 / elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99)
    );
}

fn main() {
    let quick = std::env::var_os("CRMGATE_BENCH_QUICK").is_some();
    let dir = std::env::temp_dir().join(format!("crmgate-http-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("crmgate.toml");
    std::fs::write(&config, "[http]\nper_caller_per_second = 100000\nper_caller_burst = 100000\n[crm.demo]\nkind = \"demo\"\n").unwrap();
    let (_server, url) = start(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "crmgate hosted-mode load ({} mode): crm_get over streamable HTTP, one identity per client",
        if quick { "quick" } else { "full" }
    );
    runtime.block_on(async {
        for (clients, calls) in [(1, 2_000), (10, 10_000), (100, 20_000)] {
            let calls = if quick { calls / 10 } else { calls };
            level(&url, clients, calls).await;
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}
