//! What a capable host adds, end to end over stdio with rmcp's client: elicitation (a
//! destructive confirm asks the human directly; the model never holds a token) and log
//! messages (`notifications/message` for rate-limit waits and metadata loads, filtered by
//! `logging/setLevel`). Clients without elicitation keep the token flow (tests/e2e_stdio.rs).

#![allow(deprecated)] // rmcp marks logging deprecated for protocol 2026-07-28; we speak 2025-11-25

use rmcp::model::*;
use rmcp::service::{NotificationContext, RequestContext, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, ErrorData as McpError, RoleClient, ServiceExt};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio::process::Command;

/// One `notifications/progress` as received: progress and total.
type Progress = (f64, Option<f64>);

/// A host with a human who answers every confirmation the same way, and a log pane.
#[derive(Clone)]
struct Host {
    elicitation: bool,
    answer: ElicitationAction,
    confirm: bool,
    asked: Arc<Mutex<Vec<String>>>,
    logs: Arc<Mutex<Vec<(LoggingLevel, String)>>>,
    progress: Arc<Mutex<Vec<Progress>>>,
}

impl Host {
    fn new(elicitation: bool, answer: ElicitationAction, confirm: bool) -> Self {
        Host {
            elicitation,
            answer,
            confirm,
            asked: Arc::default(),
            logs: Arc::default(),
            progress: Arc::default(),
        }
    }
}

impl ClientHandler for Host {
    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, McpError> {
        let ElicitRequestParams::FormElicitationParams {
            message,
            requested_schema,
            ..
        } = request
        else {
            return Ok(ElicitResult::new(ElicitationAction::Decline));
        };
        let schema = serde_json::to_value(&requested_schema).unwrap();
        assert_eq!(
            schema["properties"]["confirm"]["type"], "boolean",
            "{schema}"
        );
        self.asked.lock().unwrap().push(message);
        let mut result = ElicitResult::new(self.answer.clone());
        if self.answer == ElicitationAction::Accept {
            result = result.with_content(json!({"confirm": self.confirm}));
        }
        Ok(result)
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress
            .lock()
            .unwrap()
            .push((params.progress, params.total));
    }

    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let text = params.data.as_str().unwrap_or_default().to_owned();
        self.logs.lock().unwrap().push((params.level, text));
    }

    fn get_info(&self) -> ClientConfig {
        let capabilities = if self.elicitation {
            json!({"elicitation": {"form": {}}})
        } else {
            json!({})
        };
        serde_json::from_value(json!({
            "protocolVersion": "2025-11-25",
            "capabilities": capabilities,
            "clientInfo": {"name": "e2e-host", "version": "1"}
        }))
        .unwrap()
    }
}

type Client = RunningService<RoleClient, Host>;

/// `crmgate serve` with `config` (none: the demo) and `env`, at the destructive tier.
async fn spawn(
    host: Host,
    config: Option<&str>,
    env: &[(&str, String)],
) -> (Client, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crmgate"));
    cmd.arg("serve").args(["--tier", "destructive"]);
    if let Some(text) = config {
        let path = home.path().join("crmgate.toml");
        std::fs::write(&path, text).unwrap();
        cmd.arg("--config").arg(path);
    }
    cmd.env_remove("CRMGATE_CONFIG")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (transport, _) = TokioChildProcess::builder(cmd)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    (host.serve(transport).await.expect("initialize"), home)
}

async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
    client
        .call_tool(
            CallToolRequestParams::new(tool.to_owned())
                .with_arguments(args.as_object().cloned().unwrap()),
        )
        .await
        .unwrap()
}

fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect()
}

#[tokio::test]
async fn a_delete_is_confirmed_by_the_human_when_the_host_can_ask() {
    let host = Host::new(true, ElicitationAction::Accept, true);
    let (client, _home) = spawn(host.clone(), None, &[]).await;
    let r = call(
        &client,
        "crm_delete",
        json!({"entity": "deals", "id": "dl-0004"}),
    )
    .await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    let out = r.structured_content.clone().unwrap();
    assert_eq!(out["deleted"], true, "deleted on the human's word: {out}");
    assert!(
        out.get("confirm_token").is_none(),
        "the model never sees a token"
    );
    assert!(text(&r).contains("confirmed by the user"), "{}", text(&r));
    let asked = host.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1);
    assert!(
        asked[0].starts_with("Delete this deals record?"),
        "{}",
        asked[0]
    );
    assert!(
        asked[0].contains("[dl-0004]"),
        "the preview is shown: {}",
        asked[0]
    );
    let gone = call(
        &client,
        "crm_get",
        json!({"entity": "deals", "id": "dl-0004"}),
    )
    .await;
    assert_eq!(gone.is_error, Some(true));

    // a destructive action too
    let r = call(
        &client,
        "crm_action",
        json!({"entity": "deals", "id": "dl-0005", "action": "send_quote"}),
    )
    .await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert!(text(&r).contains("confirmed by the user"), "{}", text(&r));
    assert_eq!(host.asked.lock().unwrap().len(), 2);
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_human_who_says_no_stops_the_delete_and_no_token_is_handed_out() {
    for (answer, confirm) in [
        (ElicitationAction::Decline, false),
        (ElicitationAction::Cancel, false),
        (ElicitationAction::Accept, false), // the box left unchecked
    ] {
        let host = Host::new(true, answer.clone(), confirm);
        let (client, _home) = spawn(host.clone(), None, &[]).await;
        let r = call(
            &client,
            "crm_delete",
            json!({"entity": "deals", "id": "dl-0006"}),
        )
        .await;
        assert_eq!(r.is_error, Some(true), "{answer:?}: {}", text(&r));
        assert!(text(&r).contains("NOT_ALLOWED"), "{}", text(&r));
        assert!(!text(&r).contains("confirm_token"), "{}", text(&r));
        let meta = r.meta.unwrap();
        assert_eq!(meta.0["crmgate"]["error"]["code"], "NOT_ALLOWED");
        let still = call(
            &client,
            "crm_get",
            json!({"entity": "deals", "id": "dl-0006"}),
        )
        .await;
        assert_ne!(
            still.is_error,
            Some(true),
            "{answer:?}: nothing was deleted"
        );
        assert_eq!(host.asked.lock().unwrap().len(), 1);
        client.cancel().await.unwrap();
    }
}

#[tokio::test]
async fn without_elicitation_the_token_flow_stays() {
    let host = Host::new(false, ElicitationAction::Accept, true);
    let (client, _home) = spawn(host.clone(), None, &[]).await;
    let r = call(
        &client,
        "crm_delete",
        json!({"entity": "deals", "id": "dl-0007"}),
    )
    .await;
    let out = r.structured_content.clone().unwrap();
    assert_eq!(out["deleted"], false);
    let token = out["confirm_token"].as_str().unwrap();
    assert!(text(&r).contains(token), "the text carries the token");
    assert!(host.asked.lock().unwrap().is_empty());
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_messages_report_waits_and_loads_at_the_level_the_client_set() {
    use crmgate_bitrix24::sandbox::{Sandbox, SandboxOptions};
    let sandbox = Sandbox::start(SandboxOptions::default()).await.unwrap();
    // one request per second, burst one: requests close together wait for the limiter
    let config = "[crm.portal]\nkind = \"bitrix24\"\nwebhook_url_env = \"T_HOOK\"\n\n\
                  [crm.portal.rate_limit]\nper_second = 1\nburst = 1\n";
    let host = Host::new(false, ElicitationAction::Decline, false);
    let (client, _home) = spawn(
        host.clone(),
        Some(config),
        &[("T_HOOK", sandbox.webhook_url())],
    )
    .await;

    client
        .set_level(SetLevelRequestParams::new(LoggingLevel::Debug))
        .await
        .unwrap();
    let r = call(
        &client,
        "crm_search",
        json!({"entity": "deals", "limit": 1}),
    )
    .await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    // three searches at once against a bucket of one: at least two wait, however slow the
    // machine is (one after another, a slow machine might never need to)
    let search = || {
        call(
            &client,
            "crm_search",
            json!({"entity": "deals", "limit": 1}),
        )
    };
    let (a, b, c) = tokio::join!(search(), search(), search());
    for r in [a, b, c] {
        assert_ne!(r.is_error, Some(true), "{}", text(&r));
    }
    let logs = host.logs.lock().unwrap().clone();
    assert!(
        logs.iter()
            .any(|(l, t)| *l == LoggingLevel::Debug && t.contains("loading metadata")),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .any(|(l, t)| *l == LoggingLevel::Info && t.contains("rate limit")),
        "{logs:?}"
    );
    assert!(
        logs.iter().all(|(_, t)| !t.contains("http")),
        "no URL (a webhook URL holds its secret) in a log message: {logs:?}"
    );

    // the client records notifications on tasks of its own: let the last ones of the searches
    // above land before clearing, so none of them is taken for one sent below the new level
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    host.logs.lock().unwrap().clear();
    client
        .set_level(SetLevelRequestParams::new(LoggingLevel::Warning))
        .await
        .unwrap();
    let r = call(
        &client,
        "crm_search",
        json!({"entity": "deals", "limit": 1}),
    )
    .await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    let logs = host.logs.lock().unwrap().clone();
    assert!(
        logs.iter()
            .all(|(l, _)| !matches!(l, LoggingLevel::Debug | LoggingLevel::Info)),
        "below the set level nothing is sent: {logs:?}"
    );
    client.cancel().await.unwrap();
}

/// A confirmed bulk change reports its progress to a client that sent a progressToken.
#[tokio::test]
async fn a_bulk_update_reports_progress_when_asked() {
    let host = Host::new(false, ElicitationAction::Accept, true);
    let progress = host.progress.clone();
    let (client, _home) = spawn(host, None, &[]).await;
    let page = call(
        &client,
        "crm_search",
        json!({"entity": "deals", "limit": 10}),
    )
    .await;
    let ids: Vec<Value> = page.structured_content.unwrap()["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    let args = json!({"entity": "deals", "ids": ids, "data": {"probability": 42}});
    let preview = call(&client, "crm_update", args.clone()).await;
    let token = preview.structured_content.unwrap()["confirm_token"].clone();
    let mut confirmed = args;
    confirmed["confirm_token"] = token;
    let mut meta = RequestMetaObject::default();
    meta.set_progress_token(ProgressToken(NumberOrString::String("bulk-1".into())));
    let mut request = CallToolRequestParams::new("crm_update")
        .with_arguments(confirmed.as_object().cloned().unwrap());
    request.meta = Some(meta);
    let done = client.call_tool(request).await.unwrap();
    assert_ne!(done.is_error, Some(true), "{}", text(&done));
    let seen = progress.lock().unwrap().clone();
    assert!(!seen.is_empty(), "no progress notification");
    assert_eq!(seen.last().unwrap(), &(10.0, Some(10.0)));
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "{seen:?}");
    client.cancel().await.unwrap();
}
