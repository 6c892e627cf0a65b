//! Hosted mode through the built binary: `crmgate serve --http 127.0.0.1:0` on a config file,
//! its address read from the start-up line on stderr, an rmcp client over streamable HTTP with
//! a bearer token. The child is killed when dropped.

use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};

/// A running `crmgate serve --http`, killed on drop.
pub struct Hosted {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    _home: tempfile::TempDir,
}

impl Hosted {
    /// Spawn on `config` (written to a file in a temporary home) with `env` set.
    pub fn spawn(config: &str, env: &[(&str, &str)]) -> Hosted {
        let home = tempfile::tempdir().unwrap();
        let path = home.path().join("crmgate.toml");
        std::fs::write(&path, config).unwrap();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_crmgate"));
        cmd.arg("--config")
            .arg(&path)
            .args(["serve", "--http", "127.0.0.1:0"])
            .env_remove("CRMGATE_CONFIG")
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        for (key, value) in env {
            cmd.env(key, value);
        }
        let mut child = cmd.spawn().expect("spawn crmgate serve --http");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let address = lines.by_ref().map_while(Result::ok).find_map(|line| {
            line.split("serving MCP at http://")
                .nth(1)
                .and_then(|rest| rest.split('/').next())
                .map(str::to_owned)
        });
        let Some(address) = address else {
            let _ = child.kill();
            panic!("crmgate serve --http exited before printing its address");
        };
        // keep draining stderr so the child never blocks on a full pipe
        std::thread::spawn(move || lines.for_each(drop));
        Hosted {
            child,
            base: format!("http://{address}"),
            _home: home,
        }
    }

    /// An MCP client for `/mcp` acting as `token`.
    pub async fn client(&self, token: &str) -> super::Client {
        let config = StreamableHttpClientTransportConfig::with_uri(format!("{}/mcp", self.base))
            .auth_header(token);
        ().serve(StreamableHttpClientTransport::from_config(config))
            .await
            .expect("initialize over HTTP")
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Hosted {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A 2026-07-28 style stateless tools/call; returns the HTTP status and the body.
pub async fn call(base: &str, token: &str, tool: &str, args: Value) -> (u16, Value) {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": tool, "arguments": args,
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "hosted-scale", "version": "1"}
        }
    }});
    let response = reqwest::Client::new()
        .post(format!("{base}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(json!({"raw": text})),
    )
}

/// The error code of a tool result, `None` for a success.
pub fn error_code(body: &Value) -> Option<String> {
    let result = &body["result"];
    if result["isError"] == true {
        Some(
            result["_meta"]["crmgate"]["error"]["code"]
                .as_str()
                .unwrap_or("?")
                .to_owned(),
        )
    } else if result.is_null() {
        Some(format!("no result: {body}"))
    } else {
        None
    }
}

/// The `/metrics` text of the server at `base`.
pub async fn metrics(base: &str) -> String {
    reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}
