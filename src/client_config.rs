//! Ready-to-paste snippets that register crmgate with an MCP client.
//!
//! Pure functions: the caller passes the absolute path of the crmgate executable and the
//! arguments (`serve`, plus `--config ABS` / `--crm NAME` / `--tier T` when given). Each
//! snippet has a `header` (which file it goes in; printed on stderr) and a `body` (the JSON,
//! TOML or command line; printed on stdout so it can be piped or pasted as is).
//!
//! Hosts start servers with a minimal environment, so a snippet carries an `env` entry for
//! every environment variable the chosen CRM reads a secret from ([`secret_env_vars`]), with
//! a placeholder to replace — never a value.

use serde_json::{Map, Value, json};
use std::path::Path;

/// An MCP client crmgate can write a snippet for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// Claude Desktop (`claude_desktop_config.json`).
    ClaudeDesktop,
    /// Claude Code (`claude mcp add`).
    ClaudeCode,
    /// Cursor (`.cursor/mcp.json`).
    Cursor,
    /// VS Code (`.vscode/mcp.json`).
    VsCode,
    /// OpenAI Codex CLI (`~/.codex/config.toml`).
    Codex,
    /// Zed (`settings.json`, `context_servers`).
    Zed,
    /// Windsurf (`~/.codeium/windsurf/mcp_config.json`).
    Windsurf,
}

/// Every client, by its command-line name.
pub const CLIENTS: &[(&str, Client)] = &[
    ("claude-desktop", Client::ClaudeDesktop),
    ("claude-code", Client::ClaudeCode),
    ("cursor", Client::Cursor),
    ("vscode", Client::VsCode),
    ("codex", Client::Codex),
    ("zed", Client::Zed),
    ("windsurf", Client::Windsurf),
];

impl std::str::FromStr for Client {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let wanted = s.trim().to_ascii_lowercase();
        CLIENTS
            .iter()
            .find(|(name, _)| *name == wanted)
            .map(|(_, client)| *client)
            .ok_or_else(|| format!("unknown client {s:?}: use one of {}", client_names()))
    }
}

/// `claude-desktop, claude-code, …`
pub fn client_names() -> String {
    CLIENTS
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A snippet and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    /// Which file (or what to do), one line.
    pub header: String,
    /// The text to paste.
    pub body: String,
}

/// Check a server name: it becomes a JSON key, a TOML bare key and a shell word.
pub fn check_name(name: &str) -> Result<(), String> {
    if !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Ok(())
    } else {
        Err(format!(
            "server name {name:?} must be 1 to 64 letters, digits, '-' or '_'"
        ))
    }
}

/// The arguments crmgate is started with: `serve` plus the overrides given.
pub fn server_args(config: Option<&Path>, crm: Option<&str>, tier: Option<&str>) -> Vec<String> {
    let mut args = vec!["serve".to_owned()];
    if let Some(config) = config {
        args.push("--config".into());
        args.push(config.to_string_lossy().into_owned());
    }
    if let Some(crm) = crm {
        args.push("--crm".into());
        args.push(crm.to_owned());
    }
    if let Some(tier) = tier {
        args.push("--tier".into());
        args.push(tier.to_owned());
    }
    args
}

/// The environment variables the selected CRM of a config reads secrets from: the values of
/// the `*_env` keys of `[crm.NAME]` (`crm`, else `default`, else the only section) and the
/// top-level `confirm_secret_env`, in that order, without repeats. A value that is not a
/// variable name (it may be a secret pasted in the wrong place) is skipped, never shown.
pub fn secret_env_vars(config_text: &str, crm: Option<&str>) -> Result<Vec<String>, String> {
    let table: toml::Table = config_text
        .parse()
        .map_err(|e: toml::de::Error| format!("the config is not valid TOML: {}", e.message()))?;
    let sections = table.get("crm").and_then(toml::Value::as_table);
    let chosen = crm
        .map(str::to_owned)
        .or_else(|| {
            table
                .get("default")
                .and_then(|d| d.as_str())
                .map(str::to_owned)
        })
        .or_else(|| match sections {
            Some(s) if s.len() == 1 => s.keys().next().cloned(),
            _ => None,
        });
    let mut names = Vec::new();
    let mut add = |key: &str, value: &toml::Value| {
        if let Some(var) = value.as_str().map(str::trim)
            && key.ends_with("_env")
            && is_env_name(var)
            && !names.iter().any(|n| n == var)
        {
            names.push(var.to_owned());
        }
    };
    if let Some(section) = chosen
        .as_deref()
        .and_then(|c| sections?.get(c))
        .and_then(toml::Value::as_table)
    {
        for (key, value) in section {
            add(key, value);
        }
    }
    if let Some(value) = table.get("confirm_secret_env") {
        add("confirm_secret_env", value);
    }
    Ok(names)
}

/// `[A-Za-z_][A-Za-z0-9_]*`, at most 128 characters.
fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The placeholder written for variable `var`.
pub fn placeholder(var: &str) -> String {
    format!("<value of {var}>")
}

fn env_object(env: &[String]) -> Value {
    Value::Object(
        env.iter()
            .map(|var| (var.clone(), Value::String(placeholder(var))))
            .collect::<Map<String, Value>>(),
    )
}

/// The snippet registering server `name` = `exe args…` with `client`; `env` names the
/// variables the server needs (each gets a placeholder value).
pub fn snippet(client: Client, name: &str, exe: &Path, args: &[String], env: &[String]) -> Snippet {
    let command = exe.to_string_lossy().into_owned();
    let mut snippet = base_snippet(client, name, &command, args, env);
    if !env.is_empty() {
        snippet.header.push_str(&format!(
            "; replace each <value of …> with the secret (or the client's own reference to it): {}",
            env.join(", ")
        ));
    }
    snippet
}

fn base_snippet(
    client: Client,
    name: &str,
    command: &str,
    args: &[String],
    env: &[String],
) -> Snippet {
    let command = command.to_owned();
    match client {
        Client::ClaudeDesktop => Snippet {
            header: format!(
                "Claude Desktop: merge into {} (Settings > Developer > Edit Config), then restart Claude Desktop",
                claude_desktop_config_path()
            ),
            body: mcp_servers_json(name, &command, args, env),
        },
        Client::Cursor => Snippet {
            header: "Cursor: merge into .cursor/mcp.json in your project (or ~/.cursor/mcp.json for every project)".into(),
            body: mcp_servers_json(name, &command, args, env),
        },
        Client::Windsurf => Snippet {
            header: "Windsurf: merge into ~/.codeium/windsurf/mcp_config.json".into(),
            body: mcp_servers_json(name, &command, args, env),
        },
        Client::VsCode => {
            let mut server = json!({ "type": "stdio", "command": command, "args": args });
            if !env.is_empty() {
                server["env"] = env_object(env);
            }
            Snippet {
                header: "VS Code: merge into .vscode/mcp.json in your workspace (or run \"MCP: Open User Configuration\")".into(),
                body: pretty(&json!({ "servers": { name: server } })),
            }
        }
        Client::ClaudeCode => {
            let mut line = format!("claude mcp add {name}");
            for var in env {
                line.push_str(&format!(" -e {}", shell_quote(&format!("{var}={}", placeholder(var)))));
            }
            line.push_str(&format!(" -- {}", shell_quote(&command)));
            for arg in args {
                line.push(' ');
                line.push_str(&shell_quote(arg));
            }
            line.push('\n');
            Snippet {
                header: "Claude Code: run this command (add --scope user after `add` to use it in every project)".into(),
                body: line,
            }
        }
        Client::Codex => {
            let args_toml = toml::Value::Array(
                args.iter()
                    .map(|a| toml::Value::String(a.clone()))
                    .collect(),
            );
            let mut body = format!(
                "[mcp_servers.{name}]\ncommand = {}\nargs = {args_toml}\n",
                toml::Value::String(command)
            );
            if !env.is_empty() {
                body.push_str(&format!("\n[mcp_servers.{name}.env]\n"));
                for var in env {
                    body.push_str(&format!(
                        "{var} = {}\n",
                        toml::Value::String(placeholder(var))
                    ));
                }
            }
            Snippet {
                header: "Codex: append to ~/.codex/config.toml".into(),
                body,
            }
        }
        Client::Zed => Snippet {
            header: "Zed: merge into ~/.config/zed/settings.json (Zed > Settings > Open Settings)".into(),
            body: pretty(&json!({
                "context_servers": {
                    name: { "source": "custom", "command": command, "args": args, "env": env_object(env) }
                }
            })),
        },
    }
}

/// `{"mcpServers": {name: {"command": …, "args": […], "env"?: {…}}}}` (Claude Desktop, Cursor,
/// Windsurf).
fn mcp_servers_json(name: &str, command: &str, args: &[String], env: &[String]) -> String {
    let mut server = json!({ "command": command, "args": args });
    if !env.is_empty() {
        server["env"] = env_object(env);
    }
    pretty(&json!({ "mcpServers": { name: server } }))
}

fn pretty(value: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("JSON values serialise");
    text.push('\n');
    text
}

/// Where Claude Desktop keeps its config on this OS.
pub fn claude_desktop_config_path() -> &'static str {
    if cfg!(target_os = "macos") {
        "~/Library/Application Support/Claude/claude_desktop_config.json"
    } else if cfg!(windows) {
        "%APPDATA%\\Claude\\claude_desktop_config.json"
    } else {
        "~/.config/Claude/claude_desktop_config.json"
    }
}

/// Quote a word for a POSIX shell when it needs it.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn exe() -> PathBuf {
        PathBuf::from("/opt/my tools/crmgate")
    }

    fn args() -> Vec<String> {
        server_args(
            Some(Path::new("/etc/crm gate.toml")),
            Some("acme"),
            Some("read"),
        )
    }

    fn json_of(client: Client) -> serde_json::Value {
        serde_json::from_str(&snippet(client, "crmgate", &exe(), &args(), &[]).body).unwrap()
    }

    #[test]
    fn server_args_carry_the_overrides() {
        assert_eq!(server_args(None, None, None), vec!["serve"]);
        assert_eq!(
            args(),
            vec![
                "serve",
                "--config",
                "/etc/crm gate.toml",
                "--crm",
                "acme",
                "--tier",
                "read"
            ]
        );
    }

    #[test]
    fn claude_desktop_cursor_windsurf_use_mcp_servers() {
        for client in [Client::ClaudeDesktop, Client::Cursor, Client::Windsurf] {
            let v = json_of(client);
            let server = &v["mcpServers"]["crmgate"];
            assert_eq!(server["command"], "/opt/my tools/crmgate");
            assert_eq!(server["args"][0], "serve");
            assert_eq!(server["args"][2], "/etc/crm gate.toml");
        }
        let header = snippet(Client::ClaudeDesktop, "crmgate", &exe(), &args(), &[]).header;
        assert!(header.contains("claude_desktop_config.json"));
        let header = snippet(Client::Cursor, "crmgate", &exe(), &args(), &[]).header;
        assert!(header.contains(".cursor/mcp.json"));
        let header = snippet(Client::Windsurf, "crmgate", &exe(), &args(), &[]).header;
        assert!(header.contains("~/.codeium/windsurf/mcp_config.json"));
    }

    #[test]
    fn vscode_uses_servers_with_type_stdio() {
        let v = json_of(Client::VsCode);
        let server = &v["servers"]["crmgate"];
        assert_eq!(server["type"], "stdio");
        assert_eq!(server["command"], "/opt/my tools/crmgate");
        assert_eq!(server["args"][0], "serve");
        assert!(
            snippet(Client::VsCode, "x", &exe(), &args(), &[])
                .header
                .contains(".vscode/mcp.json")
        );
    }

    #[test]
    fn zed_uses_context_servers() {
        let v = json_of(Client::Zed);
        let server = &v["context_servers"]["crmgate"];
        assert_eq!(server["source"], "custom");
        assert_eq!(server["command"], "/opt/my tools/crmgate");
        assert_eq!(server["args"][0], "serve");
        assert!(server["env"].as_object().unwrap().is_empty());
    }

    #[test]
    fn codex_is_valid_toml() {
        let s = snippet(Client::Codex, "crm-x", &exe(), &args(), &[]);
        let t: toml::Table = s.body.parse().unwrap();
        let server = &t["mcp_servers"]["crm-x"];
        assert_eq!(server["command"].as_str(), Some("/opt/my tools/crmgate"));
        assert_eq!(
            server["args"].as_array().unwrap()[0].as_str(),
            Some("serve")
        );
        assert!(s.header.contains("~/.codex/config.toml"));
    }

    #[test]
    fn claude_code_is_a_quoted_command_line() {
        let s = snippet(Client::ClaudeCode, "crmgate", &exe(), &args(), &[]);
        assert_eq!(
            s.body,
            "claude mcp add crmgate -- '/opt/my tools/crmgate' serve --config '/etc/crm gate.toml' --crm acme --tier read\n"
        );
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn clients_parse_by_name() {
        for (name, client) in CLIENTS {
            assert_eq!(name.parse::<Client>().unwrap(), *client);
        }
        assert_eq!("VSCode".parse::<Client>().unwrap(), Client::VsCode);
        let e = "nope".parse::<Client>().unwrap_err();
        assert!(
            e.contains("claude-desktop") && e.contains("windsurf"),
            "{e}"
        );
    }

    const CONFIG: &str = r#"
default = "espo"
confirm_secret_env = "CRMGATE_CONFIRM_SECRET"
[crm.espo]
kind = "espocrm"
url = "https://crm.example.com"
api_key_env = "ESPOCRM_API_KEY"
hmac_secret_env = "sk-live-this-is-a-secret-not-a-name"
[crm.bitrix]
kind = "bitrix24"
webhook_url_env = "BITRIX24_WEBHOOK_URL"
"#;

    #[test]
    fn secrets_named_in_the_config_become_env_entries_and_secrets_are_never_shown() {
        assert_eq!(
            secret_env_vars(CONFIG, None).unwrap(),
            vec!["ESPOCRM_API_KEY", "CRMGATE_CONFIRM_SECRET"]
        );
        assert_eq!(
            secret_env_vars(CONFIG, Some("bitrix")).unwrap(),
            vec!["BITRIX24_WEBHOOK_URL", "CRMGATE_CONFIRM_SECRET"]
        );
        let only = "[crm.x]\nkind = \"bottlecrm\"\ntoken_env = \"BOTTLECRM_TOKEN\"\n";
        assert_eq!(
            secret_env_vars(only, None).unwrap(),
            vec!["BOTTLECRM_TOKEN"]
        );
        assert!(secret_env_vars("kind = [", None).is_err());

        let env = secret_env_vars(CONFIG, None).unwrap();
        for client in [Client::ClaudeDesktop, Client::Cursor, Client::Windsurf] {
            let s = snippet(client, "crmgate", &exe(), &args(), &env);
            let v: serde_json::Value = serde_json::from_str(&s.body).unwrap();
            let e = &v["mcpServers"]["crmgate"]["env"];
            assert_eq!(e["ESPOCRM_API_KEY"], "<value of ESPOCRM_API_KEY>");
            assert_eq!(
                e["CRMGATE_CONFIRM_SECRET"],
                "<value of CRMGATE_CONFIRM_SECRET>"
            );
            assert!(s.header.contains("ESPOCRM_API_KEY"), "{}", s.header);
            assert!(!s.body.contains("sk-live"), "a secret is never written");
        }
        let v: serde_json::Value =
            serde_json::from_str(&snippet(Client::VsCode, "crmgate", &exe(), &args(), &env).body)
                .unwrap();
        assert_eq!(
            v["servers"]["crmgate"]["env"]["ESPOCRM_API_KEY"],
            "<value of ESPOCRM_API_KEY>"
        );
        let v: serde_json::Value =
            serde_json::from_str(&snippet(Client::Zed, "crmgate", &exe(), &args(), &env).body)
                .unwrap();
        assert_eq!(
            v["context_servers"]["crmgate"]["env"]["ESPOCRM_API_KEY"],
            "<value of ESPOCRM_API_KEY>"
        );
        let codex = snippet(Client::Codex, "crmgate", &exe(), &args(), &env).body;
        let t: toml::Table = codex.parse().unwrap();
        assert_eq!(
            t["mcp_servers"]["crmgate"]["env"]["ESPOCRM_API_KEY"].as_str(),
            Some("<value of ESPOCRM_API_KEY>")
        );
        let line = snippet(Client::ClaudeCode, "crmgate", &exe(), &args(), &env).body;
        assert!(
            line.starts_with("claude mcp add crmgate -e 'ESPOCRM_API_KEY=<value of ESPOCRM_API_KEY>' -e 'CRMGATE_CONFIRM_SECRET=<value of CRMGATE_CONFIRM_SECRET>' -- "),
            "{line}"
        );
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("crmgate").is_ok());
        assert!(check_name("crm_gate-2").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("a b").is_err());
        assert!(check_name("a.b").is_err());
    }
}
