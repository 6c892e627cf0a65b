//! The wire itself, without an SDK client: both protocol generations over stdio, garbage on
//! stdin (every unusable line answered, the server serving on), and stdout carrying nothing
//! but JSON-RPC (logs go to stderr, even at debug level).

use serde_json::Value;
use std::io::Write as _;
use std::process::{Command, Stdio};

/// Feed `lines` to `crmgate serve` on the demo CRM and return every stdout line, parsed.
fn exchange(lines: &[String]) -> Vec<Value> {
    let raw: Vec<Vec<u8>> = lines.iter().map(|l| l.as_bytes().to_vec()).collect();
    exchange_bytes(&raw)
}

/// [`exchange`] with lines as raw bytes (not necessarily UTF-8).
fn exchange_bytes(lines: &[Vec<u8>]) -> Vec<Value> {
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
        stdin.write_all(line).unwrap();
        stdin.write_all(b"\n").unwrap();
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

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

#[test]
fn initialize_2025_11_25_and_garbage_lines_do_not_stop_the_server() {
    let replies = exchange(&[
        INIT.into(),
        INITIALIZED.into(),
        "{this is not json".into(),
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"crm_get","arguments":{"entity":"deals","id":true}}}"#.into(),
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"crm_search","arguments":{"entity":"deals","limit":2}}}"#.into(),
    ]);
    assert_eq!(
        by_id(&replies, 1)["result"]["protocolVersion"],
        "2025-11-25"
    );
    let parse_errors: Vec<&Value> = replies.iter().filter(|r| r["id"].is_null()).collect();
    assert_eq!(parse_errors.len(), 1, "{replies:?}");
    assert_eq!(parse_errors[0]["error"]["code"], -32700);
    let bad_args = &by_id(&replies, 2)["result"];
    assert_eq!(bad_args["isError"], true);
    assert!(bad_args.get("structuredContent").is_none(), "{bad_args}");
    assert_eq!(bad_args["_meta"]["crmgate"]["error"]["code"], "VALIDATION");
    assert!(
        bad_args["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Error VALIDATION")
    );
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
fn every_unusable_line_gets_its_json_rpc_error_and_the_server_serves_on() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let lines: Vec<Vec<u8>> = vec![
        INIT.into(),
        INITIALIZED.into(),
        b"\xff\xfe\x80 not utf-8".to_vec(),
        br#"{"jsonrpc":"2.0","id":90,"method":"ping","params":{"x":"\ud800"}}"#.to_vec(),
        deep.into_bytes(),
        br#"{"jsonrpc":"2.0","id":91,"method":"tools/list""#.to_vec(),
        br#"[{"jsonrpc":"2.0","id":92,"method":"ping"}]"#.to_vec(),
        br#"{"id":93,"method":"ping"}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"crm_search","arguments":[1,2]}}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"crm_search","arguments":"entity=deals"}}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"crm_search"}}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"crm_entities"}}"#.to_vec(),
        br#"{"jsonrpc":"2.0","method":"notifications/not_a_thing"}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"crm_search","arguments":{"entity":"deals","limit":1,"query":"","cursor":null,"where":[],"sort":[]}}}"#.to_vec(),
    ];
    let replies = exchange_bytes(&lines);
    // not UTF-8, a lone surrogate, nesting past the parser's limit, a cut line: -32700, id null
    let parse_errors: Vec<&Value> = replies
        .iter()
        .filter(|r| r["error"]["code"] == -32700)
        .collect();
    assert_eq!(parse_errors.len(), 4, "{replies:#?}");
    assert!(parse_errors.iter().all(|r| r["id"].is_null()));
    // a batch has no usable id; a message without "jsonrpc" keeps its id
    let invalid: Vec<&Value> = replies
        .iter()
        .filter(|r| r["error"]["code"] == -32600)
        .collect();
    assert_eq!(invalid.len(), 2, "{replies:#?}");
    assert!(invalid.iter().any(|r| r["id"] == 93));
    // arguments that are not an object, or missing where the tool needs some: -32602
    for id in [4, 5, 6] {
        assert_eq!(by_id(&replies, id)["error"]["code"], -32602, "id {id}");
    }
    assert!(
        by_id(&replies, 6)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("entity"),
        "names what is required"
    );
    // a tool that needs no arguments may be called without them
    assert_eq!(by_id(&replies, 7)["result"]["isError"], false);
    // strict-mode empties are absent, and the server is still serving
    let search = &by_id(&replies, 8)["result"];
    assert_eq!(search["isError"], false, "{search}");
    assert_eq!(
        search["structuredContent"]["records"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        replies.len(),
        1 + 4 + 2 + 3 + 2,
        "one answer per request, none for notifications"
    );
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
