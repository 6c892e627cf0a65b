//! Helpers of the journal and undo tests: an app over a CRM with a SQLite journal in a
//! temporary folder, tool calls in process, and the record states they compare.
#![allow(dead_code)]

// the journal crate's throw-away PostgreSQL database, the same file
#[path = "../../backends/journal/tests/common/pg.rs"]
pub mod pg;

use crmgate::app::App;
use crmgate::config::{Overrides, parse};
use crmgate::tools;
use crmgate_core::CallContext;
use crmgate_core::gateway::Tier;
use secrecy::SecretString;
use serde_json::{Map, Value, json};

/// The demo CRM at the destructive tier, journaling to `dir/journal.sqlite3`; `journal_keys`
/// are more `[journal]` lines.
pub fn demo(dir: &tempfile::TempDir, journal_keys: &str) -> App {
    app("[crm.demo]\nkind = \"demo\"\n", dir, journal_keys)
}

/// An app over the CRM section `crm` (a whole `[crm.NAME]` section), journaling to
/// `dir/journal.sqlite3` unless `journal_keys` name a PostgreSQL `url`.
pub fn app(crm: &str, dir: &tempfile::TempDir, journal_keys: &str) -> App {
    let path = dir.path().join("journal.sqlite3");
    // a PostgreSQL journal names its url instead of a file
    let path = match journal_keys.contains("url =") {
        true => String::new(),
        false => format!("path = {}\n", Value::from(path.to_str().unwrap())),
    };
    let text = format!("{crm}\n[journal]\n{path}{journal_keys}");
    let overrides = Overrides {
        tier: Some(Tier::Destructive),
        ..Default::default()
    };
    let crm = parse(&text, None, &overrides).expect("config");
    crmgate::backends::app(crm).expect("app")
}

/// The configured caller.
pub fn me() -> CallContext {
    CallContext::configured()
}

/// Another caller (its own bearer identity).
pub fn someone_else() -> CallContext {
    CallContext::bearer(SecretString::from("another-callers-token-0001"))
}

/// Call a tool that must succeed; its structured result.
pub async fn ok(app: &App, cx: &CallContext, tool: &str, args: Value) -> Value {
    let out = Box::pin(tools::call(app, cx, tool, args.clone())).await;
    assert!(!out.is_error, "{tool} {args} failed: {}", out.text);
    out.structured
}

/// A write that previews first: call without a token, then again with the preview's
/// `confirm_token`; the confirmed result.
pub async fn confirmed(app: &App, cx: &CallContext, tool: &str, args: Value) -> Value {
    let preview = ok(app, cx, tool, args.clone()).await;
    let token = preview["confirm_token"]
        .as_str()
        .expect("a preview with a confirm_token");
    let mut args = args;
    args["confirm_token"] = token.into();
    ok(app, cx, tool, args).await
}

/// Call a tool that must fail; its error object.
pub async fn err(app: &App, cx: &CallContext, tool: &str, args: Value) -> Value {
    let out = Box::pin(tools::call(app, cx, tool, args.clone())).await;
    assert!(
        out.is_error,
        "{tool} {args} should have failed: {}",
        out.text
    );
    out.structured["error"].clone()
}

/// The first record's id of `entity`.
pub async fn any_id(app: &App, cx: &CallContext, entity: &str) -> String {
    let page = ok(app, cx, "crm_search", json!({"entity": entity, "limit": 1})).await;
    page["records"][0]["id"]
        .as_str()
        .expect("a record")
        .to_owned()
}

/// Every field of a record.
pub async fn full(app: &App, cx: &CallContext, entity: &str, id: &str) -> Value {
    let got = ok(
        app,
        cx,
        "crm_get",
        json!({"entity": entity, "id": id, "fields": ["*"]}),
    )
    .await;
    got["record"]["fields"].clone()
}

/// The fields of `fields` a caller can write (what the CRM maintains itself — modification
/// times, versions — left out).
pub async fn writable(app: &App, cx: &CallContext, entity: &str, fields: &Value) -> Value {
    let schema = ok(app, cx, "crm_describe", json!({"entity": entity})).await;
    let read_only: Vec<&str> = schema["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["access"] == "read_only")
        .filter_map(|f| f["name"].as_str())
        .collect();
    let kept: Map<String, Value> = fields
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| !read_only.contains(&k.as_str()) && k.as_str() != "id")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Object(kept)
}

/// The writable state of a record.
pub async fn state(app: &App, cx: &CallContext, entity: &str, id: &str) -> Value {
    let fields = full(app, cx, entity, id).await;
    writable(app, cx, entity, &fields).await
}

/// The newest journal entry's id.
pub async fn newest(app: &App, cx: &CallContext) -> String {
    let history = ok(app, cx, "crm_history", json!({"limit": 1})).await;
    history["entries"][0]["entry_id"]
        .as_str()
        .expect("an entry")
        .to_owned()
}

/// Undo (preview, then confirm) `target` (`{"entry_id": …}` or `{"batch_id": …}`).
pub async fn undo(app: &App, cx: &CallContext, target: Value) -> Value {
    let preview = ok(app, cx, "crm_undo", target.clone()).await;
    assert_eq!(preview["undone"], false);
    let mut args = target;
    args["confirm_token"] = preview["confirm_token"].clone();
    let done = ok(app, cx, "crm_undo", args).await;
    assert_eq!(done["undone"], true, "{done}");
    done
}

/// Undo the newest entry.
pub async fn undo_newest(app: &App, cx: &CallContext) -> Value {
    let entry = newest(app, cx).await;
    undo(app, cx, json!({"entry_id": entry})).await
}
