//! The `crmgate` binary, run as a user would: snippets, errors, tools, calls, exit codes.
//! Each run is isolated from the machine's own config (no CRMGATE_CONFIG, no user dir).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_crmgate"))
}

fn crmgate(args: &[&str]) -> Command {
    let mut cmd = Command::new(exe());
    cmd.args(args)
        .env_remove("CRMGATE_CONFIG")
        .env_remove("RUST_LOG")
        .env("HOME", "/nonexistent/crmgate-test-home")
        .env("XDG_CONFIG_HOME", "/nonexistent/crmgate-test-xdg")
        .stdin(Stdio::null());
    cmd
}

fn run(args: &[&str]) -> Output {
    crmgate(args).output().expect("crmgate runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn error_lines(o: &Output) -> Vec<String> {
    stderr(o)
        .lines()
        .filter(|l| l.starts_with("error:"))
        .map(str::to_owned)
        .collect()
}

fn example_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml")
}

/// The executable as the snippet names it (current_exe resolves symlinks).
fn same_exe(command: &str) -> bool {
    let named = Path::new(command);
    named.is_absolute() && std::fs::canonicalize(named).ok() == std::fs::canonicalize(exe()).ok()
}

#[test]
fn no_arguments_prints_help() {
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(2));
    let all = stdout(&o) + &stderr(&o);
    assert!(
        all.contains("Usage") && all.contains("client-config"),
        "{all}"
    );
}

#[test]
fn client_config_json_clients_name_the_exe_and_serve() {
    let config = example_config();
    let config_arg = config.to_str().unwrap();
    for (client, pointer) in [
        ("claude-desktop", "/mcpServers/crmgate"),
        ("cursor", "/mcpServers/crmgate"),
        ("windsurf", "/mcpServers/crmgate"),
        ("vscode", "/servers/crmgate"),
        ("zed", "/context_servers/crmgate"),
    ] {
        let o = run(&[
            "client-config",
            client,
            "--config",
            config_arg,
            "--crm",
            "demo",
        ]);
        assert!(o.status.success(), "{client}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o))
            .unwrap_or_else(|e| panic!("{client}: not JSON: {e}\n{}", stdout(&o)));
        let server = v
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{client}: {v}"));
        assert!(
            same_exe(server["command"].as_str().unwrap()),
            "{client}: {server}"
        );
        let args: Vec<&str> = server["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(
            args,
            ["serve", "--config", config_arg, "--crm", "demo"],
            "{client}"
        );
        assert!(stderr(&o).starts_with("# "), "{client}: header on stderr");
    }
    let o = run(&["client-config", "vscode"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["servers"]["crmgate"]["type"], "stdio");
    assert_eq!(
        v["servers"]["crmgate"]["args"],
        serde_json::json!(["serve"])
    );
}

#[test]
fn client_config_codex_is_toml() {
    let o = run(&["client-config", "codex", "--name", "my-crm"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t: toml::Table = stdout(&o).parse().expect("valid TOML");
    let server = &t["mcp_servers"]["my-crm"];
    assert!(same_exe(server["command"].as_str().unwrap()));
    assert_eq!(
        server["args"].as_array().unwrap()[0].as_str(),
        Some("serve")
    );
    assert!(stderr(&o).contains("~/.codex/config.toml"));
}

#[test]
fn client_config_claude_code_is_a_command_line() {
    let o = run(&["client-config", "claude-code", "--tier", "read"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let line = stdout(&o);
    assert!(line.starts_with("claude mcp add crmgate -- "), "{line}");
    assert!(line.trim_end().ends_with(" serve --tier read"), "{line}");
}

#[test]
fn client_config_rejects_an_unknown_client_listing_the_clients() {
    let o = run(&["client-config", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).is_empty());
    let err = stderr(&o);
    for client in [
        "claude-desktop",
        "claude-code",
        "cursor",
        "vscode",
        "codex",
        "zed",
        "windsurf",
    ] {
        assert!(err.contains(client), "{err}");
    }
    assert_eq!(error_lines(&o).len(), 1);
}

#[test]
fn a_missing_config_file_fails_with_config() {
    let o = run(&["--config", "/nonexistent/missing.toml", "check"]);
    assert_eq!(o.status.code(), Some(1));
    let lines = error_lines(&o);
    assert_eq!(lines.len(), 1, "{}", stderr(&o));
    assert!(lines[0].starts_with("error: CONFIG: "), "{}", lines[0]);
    assert!(lines[0].contains("missing.toml"));
    assert!(stderr(&o).contains("\nhint: "));
}

#[test]
fn a_bad_config_prints_exactly_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[crm.acme]\nkind = \"demo\"\ntier = \"admin\"\n").unwrap();
    for command in ["check", "tools", "serve"] {
        let o = run(&["--config", path.to_str().unwrap(), command]);
        assert_eq!(o.status.code(), Some(1), "{command}");
        assert!(stdout(&o).is_empty(), "{command}: stdout stays clean");
        let lines = error_lines(&o);
        assert_eq!(lines.len(), 1, "{command}: {}", stderr(&o));
        assert_eq!(
            lines[0],
            format!(
                "error: CONFIG: config error in {}: crm.acme.tier: unknown tier \"admin\": use read, write or destructive",
                path.display()
            )
        );
    }
}

#[test]
fn check_reports_the_demo() {
    let o = run(&["check"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("kind:     demo"), "{out}");
    assert!(out.contains("tier:     write"), "{out}");
    assert!(out.contains("contacts"), "{out}");
    assert!(
        out.contains("reached:  yes, the built-in demo CRM (in memory) as the demo user"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("ok"), "{out}");
}

#[test]
fn check_says_not_reached_when_nothing_listens() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("crmgate.toml");
    std::fs::write(
        &config,
        format!("[crm.bottle]\nkind = \"bottlecrm\"\nurl = \"{url}\"\ntoken_env = \"CRMGATE_TEST_BOTTLE_TOKEN\"\n"),
    )
    .unwrap();
    let o = crmgate(&["--config", config.to_str().unwrap(), "check"])
        .env("CRMGATE_TEST_BOTTLE_TOKEN", "bcrm_pat_x")
        .output()
        .unwrap();
    assert!(!o.status.success(), "{}", stdout(&o));
    let out = stdout(&o);
    assert!(out.contains("reached:  no"), "{out}");
    assert!(!out.contains("reached:  yes"), "{out}");
    assert!(
        error_lines(&o)
            .iter()
            .any(|l| l.contains("UPSTREAM_UNAVAILABLE")),
        "{}",
        stderr(&o)
    );
}

fn tool_names(o: &Output) -> Vec<String> {
    stdout(o)
        .lines()
        .filter(|l| !l.starts_with(' ')) // descriptions are indented under their tool
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn tools_lists_what_the_tier_allows() {
    let o = run(&["tools"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let names = tool_names(&o);
    assert!(names.iter().any(|n| n == "crm_search"), "{names:?}");
    assert!(names.iter().any(|n| n == "crm_create"), "{names:?}");
    assert!(!names.iter().any(|n| n == "crm_delete"), "{names:?}");
    let search = stdout(&o)
        .lines()
        .find(|l| l.starts_with("crm_search "))
        .unwrap()
        .to_owned();
    assert!(
        search.contains("read") && search.contains("read-only"),
        "{search}"
    );
    let out = stdout(&o);
    let after = out.split("crm_search ").nth(1).unwrap();
    let description = after.lines().nth(1).unwrap();
    assert!(
        description.starts_with("    Find records.") && description.contains("outsiders"),
        "each tool's description follows it: {description}"
    );

    let o = run(&["tools", "--tier", "destructive"]);
    assert!(tool_names(&o).iter().any(|n| n == "crm_delete"));
    let o = run(&["--tier", "read", "tools"]);
    let names = tool_names(&o);
    assert!(names.iter().any(|n| n == "crm_search"));
    assert!(!names.iter().any(|n| n == "crm_create"), "{names:?}");
}

#[test]
fn call_prints_structured_content() {
    let o = run(&["call", "crm_search", r#"{"entity":"contacts","limit":2}"#]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["records"].as_array().map(Vec::len), Some(2), "{v}");
}

#[test]
fn call_reads_arguments_from_stdin() {
    let mut child = crmgate(&["call", "crm_search", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"entity":"deals","limit":3}"#)
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["records"].as_array().map(Vec::len), Some(3), "{v}");
}

#[test]
fn a_failed_call_exits_1_with_the_error_in_json() {
    let o = run(&["call", "crm_get", r#"{"entity":"nope","id":"1"}"#]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["error"]["code"], "UNKNOWN_ENTITY", "{v}");
}

#[test]
fn malformed_json_arguments_exit_2() {
    let o = run(&["call", "crm_search", "{bad json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).is_empty());
    let lines = error_lines(&o);
    assert_eq!(lines.len(), 1, "{}", stderr(&o));
    assert!(lines[0].starts_with("error: VALIDATION: the tool arguments are not valid JSON"));
}

#[test]
fn bad_serve_and_sandbox_arguments_exit_2() {
    let o = run(&["serve", "--http", "not-an-address"]);
    assert_eq!(o.status.code(), Some(2), "clap refuses a malformed address");
    let o = run(&["sandbox", "nope", "--port", "0"]);
    assert_eq!(o.status.code(), Some(2));
    let line = &error_lines(&o)[0];
    assert!(line.contains("no sandbox for \"nope\""), "{line}");
}
