//! The wire itself, without an SDK client: both protocol generations over stdio, garbage on
//! stdin, and stdout carrying nothing but JSON-RPC (logs go to stderr, even at debug level).

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

/// Feed `lines` to `crmgate serve` on the demo CRM and return every stdout line, parsed.
fn exchange(lines: &[String]) -> Vec<Value> {
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_crmgate"))
        .arg("serve")
        .env_remove("CRMGATE_CONFIG")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .env("RUST_LOG", "trace")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin); // EOF: the server answers what it has and exits
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit status {:?}", out.status);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}"));
            assert_eq!(v["jsonrpc"], "2.0", "stdout line is not JSON-RPC: {l}");
            v
        })
        .collect()
}

fn by_id(replies: &[Value], id: u64) -> &Value {
    replies
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no reply to id {id}: {replies:?}"))
}

#[test]
fn initialize_2025_11_25_and_garbage_lines_do_not_stop_the_server() {
    let replies = exchange(&[
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#.into(),
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.into(),
        "{this is not json".into(),
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"crm_get","arguments":{"entity":"deals","id":true}}}"#.into(),
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"crm_search","arguments":{"entity":"deals","limit":2}}}"#.into(),
    ]);
    assert_eq!(
        by_id(&replies, 1)["result"]["protocolVersion"],
        "2025-11-25"
    );
    let bad_args = &by_id(&replies, 2)["result"];
    assert_eq!(bad_args["isError"], true);
    assert_eq!(bad_args["structuredContent"]["error"]["code"], "VALIDATION");
    let search = &by_id(&replies, 3)["result"];
    assert_eq!(
        search["structuredContent"]["records"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(search["_meta"]["crmgate"]["duration_ms"].is_number());
}

#[test]
fn a_2026_07_28_client_is_served_without_initialize() {
    let meta = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"}}"#;
    let replies = exchange(&[
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{{{meta}}}}}"#),
        format!(r#"{{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{{{meta}}}}}"#),
        format!(
            r#"{{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"name":"crm_search","arguments":{{"entity":"Deal","limit":1}},{meta}}}}}"#
        ),
    ]);
    let discover = &by_id(&replies, 1)["result"];
    assert!(
        discover["supportedVersions"]
            .as_array()
            .unwrap()
            .contains(&"2026-07-28".into()),
        "{discover}"
    );
    assert!(
        by_id(&replies, 2)["result"]["tools"]
            .as_array()
            .unwrap()
            .len()
            >= 6
    );
    let search = &by_id(&replies, 3)["result"];
    assert_eq!(search["resultType"], "complete");
    assert_eq!(
        search["structuredContent"]["records"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
