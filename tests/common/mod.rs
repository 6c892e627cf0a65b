//! The harness the end-to-end tests share: spawn the built `crmgate serve` over stdio with an
//! isolated home (so no user config is picked up) and an optional config file, then drive it
//! with rmcp's client. Logs are on at debug level (they must never disturb stdout) but hidden.
#![allow(dead_code)] // each test file uses the part it needs

pub mod hosted;
pub mod redis;

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::TokioChildProcess;
use serde_json::Value;
use tokio::process::Command;

/// An MCP client connected to a spawned crmgate.
pub type Client = RunningService<RoleClient, ()>;

/// Spawn `crmgate serve` with `args`; `config` (when given) is written to a file in the
/// temporary home and passed as `--config`; `env` is set for the child. Keep the returned
/// directory alive as long as the client.
pub async fn serve(
    config: Option<&str>,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Client, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crmgate"));
    cmd.arg("serve");
    if let Some(text) = config {
        let path = home.path().join("crmgate.toml");
        std::fs::write(&path, text).unwrap();
        cmd.arg("--config").arg(path);
    }
    cmd.args(args)
        .env_remove("CRMGATE_CONFIG")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .env("RUST_LOG", "debug");
    for (key, value) in env {
        cmd.env(key, value);
    }
    let (transport, _) = TokioChildProcess::builder(cmd)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn crmgate");
    let client = ().serve(transport).await.expect("initialize");
    (client, home)
}

/// Call a tool; a protocol error fails the test.
pub async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
    let params = CallToolRequestParams::new(tool.to_owned())
        .with_arguments(args.as_object().cloned().unwrap_or_default());
    client
        .call_tool(params)
        .await
        .unwrap_or_else(|e| panic!("{tool}: protocol error {e}"))
}

/// Call and expect success, with `_meta.crmgate` and a text rendering; returns
/// structuredContent.
pub async fn ok(client: &Client, tool: &str, args: Value) -> Value {
    let r = call(client, tool, args.clone()).await;
    assert_ne!(
        r.is_error,
        Some(true),
        "{tool} {args} failed: {:?}",
        r.structured_content
    );
    assert!(
        r.meta.as_ref().is_some_and(|m| m.0.contains_key("crmgate")),
        "{tool}: no _meta.crmgate"
    );
    assert!(!text(&r).is_empty(), "{tool}: no text content");
    r.structured_content.expect("structuredContent")
}

/// The error object of a failed call: in `_meta.crmgate.error` (an error result carries no
/// structuredContent, which hosts would validate against the tool's output schema).
pub fn error_of(r: &CallToolResult) -> Value {
    let meta = r.meta.as_ref().expect("_meta on an error");
    meta.0["crmgate"]["error"].clone()
}

/// Call and expect an error result with this code and a suggestion; returns the error object.
pub async fn err(client: &Client, tool: &str, args: Value, code: &str) -> Value {
    let r = call(client, tool, args.clone()).await;
    assert_eq!(
        r.is_error,
        Some(true),
        "{tool} {args} should fail with {code}: {:?}",
        r.structured_content
    );
    assert!(
        r.structured_content.is_none(),
        "{tool}: an error result carries no structuredContent"
    );
    let error = error_of(&r);
    assert_eq!(error["code"], code, "{tool} {args}: {error}");
    assert!(
        error["suggestion"].as_str().is_some_and(|s| !s.is_empty()),
        "no suggestion: {error}"
    );
    assert!(text(&r).contains(code), "the text names the code");
    error
}

/// The text content of a result.
pub fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}
