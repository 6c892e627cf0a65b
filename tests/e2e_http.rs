//! Hosted mode end to end: real HTTP clients (reqwest, and rmcp's client over streamable HTTP)
//! against the hosted router on a loopback port, serving the demo CRM — which keeps a separate
//! CRM per bearer identity, so isolation between users is observable.

use crmgate::config::http::HttpSettings;
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

/// Serve the demo CRM in hosted mode on 127.0.0.1:0; returns the base URL.
async fn start(settings: HttpSettings) -> (String, CancellationToken) {
    start_crm(crmgate::config::ResolvedCrm::demo(), settings).await
}

/// Serve `crm` in hosted mode on 127.0.0.1:0; returns the base URL.
async fn start_crm(
    crm: crmgate::config::ResolvedCrm,
    settings: HttpSettings,
) -> (String, CancellationToken) {
    let app = crmgate::backends::app(crm).unwrap();
    let shutdown = CancellationToken::new();
    let router = crmgate::http::router(app, &settings, false, shutdown.child_token());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
            .unwrap();
    });
    (format!("http://{addr}"), shutdown)
}

/// A 2026-07-28 style stateless request: no initialize, protocol in a header and `_meta`.
fn stateless(method: &str, mut params: Value) -> Value {
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "e2e", "version": "1"}
    });
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
}

/// POST one 2026-07-28 message, with the SEP-2243 routing headers such a client sends.
async fn post(base: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", body["method"].as_str().unwrap())
        .json(body);
    if let Some(name) = body["params"]["name"].as_str() {
        request = request.header("mcp-name", name);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// A stateless tools/call; returns the JSON-RPC result.
async fn call(base: &str, token: &str, tool: &str, args: Value) -> Value {
    let response = post(
        base,
        Some(token),
        &stateless("tools/call", json!({"name": tool, "arguments": args})),
    )
    .await;
    let status = response.status();
    if status != 200 {
        panic!(
            "{tool}: HTTP {status}: {}",
            response.text().await.unwrap_or_default()
        );
    }
    let body: Value = response.json().await.unwrap();
    body["result"].clone()
}

#[tokio::test]
async fn no_or_malformed_bearer_is_401_before_mcp() {
    let (base, _stop) = start(HttpSettings::default()).await;
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}}});
    for (token, invalid) in [(None, false), (Some("two words"), true)] {
        let mut request = reqwest::Client::new()
            .post(format!("{base}/mcp"))
            .header("accept", "application/json, text/event-stream")
            .json(&initialize);
        if let Some(t) = token {
            request = request.header("authorization", format!("Bearer {t}"));
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.starts_with("Bearer realm=\"crmgate\""),
            "{challenge}"
        );
        assert_eq!(
            challenge.contains("error=\"invalid_token\""),
            invalid,
            "{challenge}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "AUTH_FAILED");
    }
    let list = post(&base, None, &stateless("tools/list", json!({}))).await;
    assert_eq!(list.status(), 401, "tools/list too");
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("crmgate_http_unauthorized_total 3"),
        "{metrics}"
    );
}

/// Hosts configured with `…/mcp/` reach the endpoint too, behind the same bearer check; other
/// paths are not the endpoint.
#[tokio::test]
async fn the_endpoint_answers_with_a_trailing_slash_too_and_only_under_its_path() {
    let (base, _stop) = start(HttpSettings::default()).await;
    let send = |path: &str, token: Option<&str>| {
        let mut request = reqwest::Client::new()
            .post(format!("{base}{path}"))
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/list")
            .json(&stateless("tools/list", json!({})));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let listed = send("/mcp/", Some("alice")).await.unwrap();
    assert_eq!(listed.status(), 200);
    let body: Value = listed.json().await.unwrap();
    assert!(
        body["result"]["tools"]
            .as_array()
            .is_some_and(|tools| tools.iter().any(|t| t["name"] == "crm_get")),
        "{body}"
    );
    assert_eq!(send("/mcp/", None).await.unwrap().status(), 401);
    assert_eq!(send("/mcpx", Some("alice")).await.unwrap().status(), 404);
    assert_eq!(send("/other", Some("alice")).await.unwrap().status(), 404);
}

#[tokio::test]
async fn a_wrong_host_is_refused() {
    let (base, _stop) = start(HttpSettings::default()).await;
    let response = reqwest::Client::new()
        .post(format!("{base}/mcp"))
        .header("host", "attacker.example")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/list")
        .bearer_auth("alice")
        .json(&stateless("tools/list", json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let health = reqwest::Client::new()
        .get(format!("{base}/healthz"))
        .header("host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 403, "every route checks Host");
    assert_eq!(
        reqwest::get(format!("{base}/healthz"))
            .await
            .unwrap()
            .status(),
        200
    );
}

/// POST `body` (raw bytes) to /mcp as alice, with optional Origin and Host headers.
async fn post_raw(
    base: &str,
    body: &[u8],
    origin: Option<&str>,
    host: Option<&str>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .bearer_auth("alice")
        .body(body.to_vec());
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    if let Some(host) = host {
        request = request.header("host", host);
    }
    request.send().await.unwrap()
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}"#;

#[tokio::test]
async fn the_servers_own_loopback_origin_is_accepted_and_others_refused_in_json() {
    let (base, _stop) = start(HttpSettings::default()).await;
    let own = base.trim_start_matches("http://").to_owned();
    let ok = post_raw(&base, INITIALIZE.as_bytes(), Some(&base), None).await;
    assert_eq!(ok.status(), 200, "{}", ok.text().await.unwrap());
    let localhost = format!("localhost:{}", own.rsplit(':').next().unwrap());
    let ok = post_raw(
        &base,
        INITIALIZE.as_bytes(),
        Some(&format!("http://{localhost}")),
        Some(&localhost),
    )
    .await;
    assert_eq!(ok.status(), 200, "localhost is loopback too");
    for origin in ["http://evil.example", "http://127.0.0.1:1", "null"] {
        let refused = post_raw(&base, INITIALIZE.as_bytes(), Some(origin), None).await;
        assert_eq!(refused.status(), 403, "{origin}");
        let body: Value = refused.json().await.expect("a JSON body");
        assert_eq!(body["error"]["code"], "NOT_ALLOWED", "{body}");
        assert!(
            body["error"]["suggestion"]
                .as_str()
                .unwrap()
                .contains("allowed_origins")
        );
    }
    // a DNS-rebinding page: its own name as Host and Origin
    let rebinding = post_raw(
        &base,
        INITIALIZE.as_bytes(),
        Some("http://evil.example:80"),
        Some("evil.example"),
    )
    .await;
    assert_eq!(rebinding.status(), 403);
    assert!(rebinding.json::<Value>().await.unwrap()["error"]["code"].is_string());
    // a listed origin passes
    let settings = HttpSettings {
        allowed_origins: vec!["https://app.example.com".into()],
        ..HttpSettings::default()
    };
    let (base, _stop2) = start(settings).await;
    let ok = post_raw(
        &base,
        INITIALIZE.as_bytes(),
        Some("https://app.example.com"),
        None,
    )
    .await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn unusable_bodies_get_json_rpc_errors_over_http_too() {
    let (base, _stop) = start(HttpSettings::default()).await;
    for body in [
        b"{not json".to_vec(),
        b"\xff\xfe\x80".to_vec(),
        br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"\ud800"}}"#.to_vec(),
        format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
    ] {
        let r = post_raw(&base, &body, None, None).await;
        assert_eq!(r.status(), 400);
        let reply: Value = r.json().await.unwrap();
        assert_eq!(reply["error"]["code"], -32700, "{reply}");
        assert!(reply["id"].is_null());
    }
    let call = |args: &str| {
        format!(
            r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{{"name":"crm_search"{args}}}}}"#
        )
    };
    for args in [r#","arguments":[1]"#, r#","arguments":"x""#, ""] {
        let r = post_raw(&base, call(args).as_bytes(), None, None).await;
        let reply: Value = r.json().await.unwrap();
        assert_eq!(reply["error"]["code"], -32602, "{args}: {reply}");
        assert_eq!(reply["id"], 7);
    }
    // the same on a 2026-07-28 stateless call, which rmcp routes differently: params that do
    // not fit tools/call are -32602 naming the problem, never "method not found"
    let meta = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"e2e","version":"1"}}"#;
    let stateless = |args: &str| {
        format!(
            r#"{{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{{"name":"crm_search"{args},{meta}}}}}"#
        )
    };
    for args in [r#","arguments":[1]"#, r#","arguments":"x""#] {
        let r = reqwest::Client::new()
            .post(format!("{base}/mcp"))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "crm_search")
            .bearer_auth("alice")
            .body(stateless(args))
            .send()
            .await
            .unwrap();
        let reply: Value = r.json().await.unwrap();
        assert_eq!(reply["error"]["code"], -32602, "{args}: {reply}");
        let message = reply["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("Invalid params for tools/call: "),
            "{reply}"
        );
        assert_eq!(reply["id"], 8);
    }
    // a body that is not JSON under a wrong content type: the body's own -32700, not rmcp's
    // plain-text 415
    let r = reqwest::Client::new()
        .post(format!("{base}/mcp"))
        .header("content-type", "text/plain")
        .header("accept", "application/json, text/event-stream")
        .bearer_auth("alice")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let reply: Value = r.json().await.unwrap();
    assert_eq!(reply["error"]["code"], -32700, "{reply}");
    // and a good request still works on the same server
    let r = post_raw(&base, INITIALIZE.as_bytes(), None, None).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_2025_11_25_client_initializes_and_a_2026_07_28_call_is_stateless() {
    let (base, _stop) = start(HttpSettings::default()).await;
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp"))
        .auth_header("alice-token");
    let client =
        ().serve(StreamableHttpClientTransport::from_config(config))
            .await
            .expect("initialize over HTTP");
    let info = client.peer_info().unwrap();
    assert_eq!(info.protocol_version.to_string(), "2025-11-25");
    let tools = client.list_all_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "crm_search"));
    let args = json!({"entity": "deals", "limit": 2})
        .as_object()
        .cloned()
        .unwrap();
    let result = client
        .call_tool(CallToolRequestParams::new("crm_search").with_arguments(args))
        .await
        .unwrap();
    assert_eq!(
        result.structured_content.unwrap()["records"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    client.cancel().await.unwrap();

    let result = call(
        &base,
        "alice-token",
        "crm_get",
        json!({"entity": "deals", "id": "dl-0001"}),
    )
    .await;
    assert_eq!(result["structuredContent"]["record"]["id"], "dl-0001");
    assert_eq!(result["resultType"], "complete");
}

#[tokio::test]
async fn two_users_at_once_each_see_only_their_own_data() {
    let (base, _stop) = start(HttpSettings::default()).await;
    let create = |token: &'static str, name: &'static str| {
        let base = base.clone();
        async move {
            call(
                &base,
                token,
                "crm_create",
                json!({"entity": "companies", "data": {"name": name}}),
            )
            .await
        }
    };
    let (a, b) = tokio::join!(
        create("alice-token", "Alice Only Ltd"),
        create("bob-token", "Bob Only Ltd")
    );
    assert_eq!(a["isError"], false, "{a}");
    assert_eq!(b["isError"], false, "{b}");
    let find = |token: &'static str, name: &'static str| {
        let base = base.clone();
        async move {
            let r = call(&base, token, "crm_search", json!({"entity": "companies", "where": [{"field": "name", "op": "eq", "value": name}]})).await;
            r["structuredContent"]["records"].as_array().unwrap().len()
        }
    };
    let (alice_sees_own, alice_sees_bob, bob_sees_own, bob_sees_alice) = tokio::join!(
        find("alice-token", "Alice Only Ltd"),
        find("alice-token", "Bob Only Ltd"),
        find("bob-token", "Bob Only Ltd"),
        find("bob-token", "Alice Only Ltd")
    );
    assert_eq!((alice_sees_own, alice_sees_bob), (1, 0));
    assert_eq!((bob_sees_own, bob_sees_alice), (1, 0));
    let alice_id = a["structuredContent"]["record"]["id"].as_str().unwrap();
    let by_id = call(
        &base,
        "bob-token",
        "crm_get",
        json!({"entity": "companies", "ids": [alice_id]}),
    )
    .await;
    let records = by_id["structuredContent"]["records"].as_array().unwrap();
    assert!(
        records.iter().all(|r| r["title"] != "Alice Only Ltd"),
        "bob cannot read alice's record by id"
    );
}

#[tokio::test]
async fn a_confirm_token_is_refused_for_another_callers_delete() {
    let mut crm = crmgate::config::ResolvedCrm::demo();
    crm.settings.tier = crmgate_core::gateway::Tier::Destructive;
    let (base, _stop) = start_crm(crm, HttpSettings::default()).await;
    let target = json!({"entity": "contacts", "id": "ct-0001"});
    let preview = call(&base, "alice-token", "crm_delete", target.clone()).await;
    assert_eq!(preview["isError"], false, "{preview}");
    let token = preview["structuredContent"]["confirm_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // bob's own demo CRM holds the same seeded record: only the caller differs
    let mut stolen = target.clone();
    stolen["confirm_token"] = json!(token);
    let refused = call(&base, "bob-token", "crm_delete", stolen.clone()).await;
    assert_eq!(refused["isError"], true, "{refused}");
    assert_eq!(
        refused["_meta"]["crmgate"]["error"]["code"], "STALE_CONFIRMATION",
        "{refused}"
    );
    let still = call(&base, "bob-token", "crm_get", target.clone()).await;
    assert_eq!(
        still["isError"], false,
        "bob's record is still there: {still}"
    );
    let done = call(&base, "alice-token", "crm_delete", stolen).await;
    assert_eq!(done["structuredContent"]["deleted"], true, "{done}");
}

#[tokio::test]
async fn a_caller_over_budget_is_rate_limited_and_others_are_not() {
    let settings = HttpSettings {
        per_caller_per_second: 1,
        per_caller_burst: 3,
        ..HttpSettings::default()
    };
    let (base, _stop) = start(settings).await;
    for _ in 0..3 {
        let r = call(&base, "greedy", "crm_entities", json!({})).await;
        assert_eq!(r["isError"], false);
    }
    let limited = call(&base, "greedy", "crm_entities", json!({})).await;
    assert_eq!(limited["isError"], true);
    // an error result carries no structuredContent (TS SDK 1.x hosts validate it against the
    // output schema); the error object is in _meta.crmgate.error, its code in the text
    assert!(limited.get("structuredContent").is_none(), "{limited}");
    assert!(
        limited["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("RATE_LIMITED")
    );
    assert_eq!(limited["_meta"]["crmgate"]["error"]["code"], "RATE_LIMITED");
    assert!(
        limited["_meta"]["crmgate"]["error"]["retry_after_s"]
            .as_u64()
            .is_some_and(|s| s >= 1)
    );
    let other = call(&base, "patient", "crm_entities", json!({})).await;
    assert_eq!(other["isError"], false, "another caller is unaffected");
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .contains("crmgate_tool_calls_total{tool=\"crm_entities\",outcome=\"RATE_LIMITED\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("crmgate_tool_calls_total{tool=\"crm_entities\",outcome=\"ok\"} 4"),
        "{metrics}"
    );
}

#[tokio::test]
async fn protected_resource_metadata_is_served_and_named_in_challenges() {
    let settings = HttpSettings {
        authorization_servers: vec!["https://auth.example.com/auth/v1".into()],
        resource: Some("https://crm.example.com/mcp".into()),
        ..HttpSettings::default()
    };
    let (base, _stop) = start(settings).await;
    let metadata: Value = reqwest::get(format!("{base}/.well-known/oauth-protected-resource"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["resource"], "https://crm.example.com/mcp");
    assert_eq!(
        metadata["authorization_servers"],
        json!(["https://auth.example.com/auth/v1"])
    );
    let suffixed = reqwest::get(format!("{base}/.well-known/oauth-protected-resource/mcp"))
        .await
        .unwrap();
    assert_eq!(suffixed.status(), 200);
    let denied = post(&base, None, &stateless("tools/list", json!({}))).await;
    let challenge = denied.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains(
            "resource_metadata=\"https://crm.example.com/.well-known/oauth-protected-resource/mcp\""
        ),
        "{challenge}"
    );
}

/// A spawned `crmgate serve --http`, killed when dropped (so a failing test leaks nothing).
struct Served(std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `crmgate serve --http 127.0.0.1:0`: the child and the base URL it printed on stderr.
fn spawn_binary(config: &std::path::Path) -> (Served, String) {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_crmgate"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "serve",
            "--http",
            "127.0.0.1:0",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let served = Served(child);
    let url = lines
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
    (served, format!("http://{url}"))
}

#[tokio::test]
async fn the_binary_serves_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("crmgate.toml");
    std::fs::write(&config, "[crm.demo]\nkind = \"demo\"\n").unwrap();
    let (mut served, base) = spawn_binary(&config);
    let r = call(
        &base,
        "someone",
        "crm_search",
        json!({"entity": "contacts", "limit": 1}),
    )
    .await;
    assert_eq!(r["isError"], false);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &served.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = served.0.wait().unwrap();
    assert!(exit.success(), "graceful exit, got {exit:?}");
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "no longer accepting connections"
    );
}

#[test]
fn a_configured_credential_is_refused_in_hosted_mode_unless_shared_on_purpose() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("crmgate.toml");
    std::fs::write(&config, "[crm.acme]\nkind = \"espocrm\"\nurl = \"http://127.0.0.1:9\"\napi_key_env = \"ACME_KEY\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_crmgate"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "serve",
            "--http",
            "127.0.0.1:0",
        ])
        .env("ACME_KEY", "not-a-real-key")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("crm.acme.api_key_env") && stderr.contains("shared_identity"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("not-a-real-key"),
        "the secret never appears"
    );
}

#[tokio::test]
async fn without_a_public_url_the_challenge_points_at_this_host() {
    let settings = HttpSettings {
        authorization_servers: vec!["https://auth.example.com/auth/v1".into()],
        ..HttpSettings::default()
    };
    let (base, _stop) = start(settings).await;
    let denied = post(&base, None, &stateless("tools/list", json!({}))).await;
    let challenge = denied.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let host = base.trim_start_matches("http://");
    assert!(
        challenge.contains(&format!(
            "resource_metadata=\"http://{host}/.well-known/oauth-protected-resource/mcp\""
        )),
        "{challenge}"
    );
    let metadata: Value = reqwest::get(format!("{base}/.well-known/oauth-protected-resource/mcp"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(metadata["resource"], format!("http://{host}/mcp"));
}

#[tokio::test]
async fn an_atomic_server_names_supabase_auth_as_its_authorization_server() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("crmgate.toml");
    std::fs::write(
        &config,
        "[crm.atomic]\nkind = \"atomic\"\nsupabase_url = \"http://127.0.0.1:9\"\nanon_key = \"public-anon-key\"\njwt_secret = \"a-test-secret-of-enough-length-for-hs256\"\n",
    )
    .unwrap();
    let (_served, base) = spawn_binary(&config);
    let metadata: Value = reqwest::get(format!("{base}/.well-known/oauth-protected-resource/mcp"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        metadata["authorization_servers"],
        json!(["http://127.0.0.1:9/auth/v1"])
    );
    // a token that is not a valid JWT for this project is refused before MCP
    let denied = post(
        &base,
        Some("not.a.jwt"),
        &stateless("tools/list", json!({})),
    )
    .await;
    assert_eq!(denied.status(), 401);
    assert!(
        denied.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("resource_metadata=")
    );
}

#[test]
fn hosted_calls_end_before_the_request_timeout() {
    let app = crmgate::backends::app(crmgate::config::ResolvedCrm::demo()).unwrap();
    assert_eq!(
        app.gateway.settings().call_time_limit,
        None,
        "stdio: no limit"
    );
    for (request_timeout, call_limit) in [(1, 900), (60, 58_000)] {
        let settings = HttpSettings {
            request_timeout: std::time::Duration::from_secs(request_timeout),
            ..HttpSettings::default()
        };
        let (app, _) = crmgate::http::hosted(app.clone(), &settings);
        assert_eq!(
            app.gateway.settings().call_time_limit,
            Some(std::time::Duration::from_millis(call_limit))
        );
    }
}
