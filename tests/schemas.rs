//! The public tool surface, checked: `tools/list` of every backend at every tier equals its
//! committed snapshot (a change to the surface is a reviewed diff), passes the portability lint
//! (OpenAI incl. strict mode, Gemini's OpenAPI subset, Claude), stays within its byte budget,
//! and tells the truth (the operator enum is what the gateway implements; a delete described
//! as soft or permanent is what the backend reports; empty optional arguments are absent).
//!
//! Regenerate the snapshots after an intended change with
//! `UPDATE_SNAPSHOTS=1 cargo test --test schemas`, then review `git diff tests/snapshots`.

use crmgate::tools;
use crmgate_core::filter::FilterOp;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The budget of tools/list at the destructive tier (issue 13), in bytes of the JSON-RPC
/// response line, on the backend with the most tools.
const BUDGET: usize = 8_000;

const TIERS: [&str; 3] = ["read", "write", "destructive"];

/// One backend as a config file and the environment it needs; `_sandbox` keeps its vendor
/// sandbox (if any) alive.
struct Setup {
    name: &'static str,
    kind: &'static str,
    config: String,
    env: Vec<(String, String)>,
    _sandbox: Box<dyn std::any::Any>,
}

async fn setups() -> Vec<Setup> {
    let espo = crmgate_espocrm::sandbox::Sandbox::start().await.unwrap();
    let b24 = crmgate_bitrix24::sandbox::Sandbox::start(Default::default())
        .await
        .unwrap();
    let bottle = crmgate_bottlecrm::sandbox::Sandbox::start().await.unwrap();
    let atomic = crmgate_atomic::sandbox::Sandbox::start().await.unwrap();
    let atomic_env = vec![
        (
            "T_ANON".into(),
            atomic.anon_key().expose_secret().to_owned(),
        ),
        (
            "T_PASSWORD".into(),
            crmgate_atomic::sandbox::ALICE_PASSWORD.to_owned(),
        ),
        (
            "T_JWT".into(),
            atomic.jwt_secret().expose_secret().to_owned(),
        ),
    ];
    vec![
        Setup {
            name: "demo",
            kind: "demo",
            config: "[crm.demo]\nkind = \"demo\"\n".into(),
            env: vec![],
            _sandbox: Box::new(()),
        },
        Setup {
            name: "espocrm",
            kind: "espocrm",
            config: format!(
                "[crm.x]\nkind = \"espocrm\"\nurl = \"{}\"\napi_key_env = \"T_KEY\"\nraw_call_allow = [\"GET:*\"]\n",
                espo.url()
            ),
            env: vec![(
                "T_KEY".into(),
                crmgate_espocrm::sandbox::credentials::API_KEY.into(),
            )],
            _sandbox: Box::new(espo),
        },
        Setup {
            name: "bitrix24",
            kind: "bitrix24",
            config: "[crm.x]\nkind = \"bitrix24\"\nwebhook_url_env = \"T_HOOK\"\nraw_call_allow = [\"crm.status.list\"]\n".into(),
            env: vec![("T_HOOK".into(), b24.webhook_url())],
            _sandbox: Box::new(b24),
        },
        Setup {
            name: "bottlecrm",
            kind: "bottlecrm",
            config: format!(
                "[crm.x]\nkind = \"bottlecrm\"\nurl = \"{}\"\ntoken_env = \"T_TOKEN\"\napp_url = \"https://app.bottlecrm.example\"\n",
                bottle.url()
            ),
            env: vec![("T_TOKEN".into(), crmgate_bottlecrm::sandbox::ADMIN_A.into())],
            _sandbox: Box::new(bottle),
        },
        Setup {
            name: "atomic",
            kind: "atomic",
            config: format!(
                "[crm.x]\nkind = \"atomic\"\ntransport = \"postgrest\"\nsupabase_url = \"{}\"\nanon_key_env = \"T_ANON\"\n\
                 email = \"{}\"\npassword_env = \"T_PASSWORD\"\njwt_secret_env = \"T_JWT\"\napp_url = \"https://crm.example.test\"\n",
                atomic.url(),
                crmgate_atomic::testkit::TestUser::Alice.email()
            ),
            env: atomic_env,
            _sandbox: Box::new(atomic),
        },
        Setup {
            // the postgres transport adds crm_query; listing tools opens no connection
            name: "atomic-postgres",
            kind: "atomic",
            config: "[crm.x]\nkind = \"atomic\"\ntransport = \"postgres\"\ndatabase_url_env = \"T_DB\"\n\
                     access_token_env = \"T_TOKEN\"\njwt_secret_env = \"T_JWT\"\n"
                .into(),
            env: vec![
                ("T_DB".into(), "postgresql://nobody@127.0.0.1:9/none".into()),
                ("T_TOKEN".into(), "x.y.z".into()),
                ("T_JWT".into(), "0123456789abcdef0123456789abcdef".into()),
            ],
            _sandbox: Box::new(()),
        },
    ]
}

/// Run the built crmgate on `setup`'s config; stdout parsed as JSON.
fn crmgate(setup: &Setup, args: &[&str]) -> Value {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("crmgate.toml");
    std::fs::write(&config, &setup.config).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crmgate"));
    cmd.arg("--config")
        .arg(&config)
        .args(args)
        .env_remove("CRMGATE_CONFIG")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path());
    for (k, v) in &setup.env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        setup.name,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{} {args:?}: not JSON ({e})", setup.name);
    })
}

fn snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots")
}

/// Compare `value` with the committed snapshot `file`, or (with `UPDATE_SNAPSHOTS=1`) write
/// it. Returns a problem to report instead of panicking at once, so every diff shows.
fn check_snapshot(file: &str, value: &Value) -> Option<String> {
    let path = snapshot_dir().join(file);
    let mut text = serde_json::to_string_pretty(value).unwrap();
    text.push('\n');
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        return None;
    }
    match std::fs::read_to_string(&path) {
        Ok(committed) if committed == text => None,
        Ok(_) => Some(format!(
            "{file} differs from what is served now; if the change is intended run \
             UPDATE_SNAPSHOTS=1 cargo test --test schemas and review the diff"
        )),
        Err(_) => Some(format!(
            "{file} is missing: run UPDATE_SNAPSHOTS=1 cargo test --test schemas"
        )),
    }
}

/// Every portability rule on one listed tool.
fn lint_tool(where_: &str, tool: &Value) -> Vec<String> {
    let name = tool["name"].as_str().unwrap_or_default();
    let mut problems = Vec::new();
    if !tools::tool_name_ok(name) {
        problems.push(format!("{where_}: tool name {name:?}"));
    }
    let description = tool["description"].as_str().unwrap_or_default();
    if description.is_empty() || description.contains('{') {
        problems.push(format!("{where_} {name}: description {description:?}"));
    }
    if !description.contains("outsiders")
        && [
            "crm_search",
            "crm_get",
            "crm_related",
            "crm_timeline",
            "crm_query",
        ]
        .contains(&name)
    {
        problems.push(format!(
            "{where_} {name}: must say its text is by outsiders"
        ));
    }
    let schema = &tool["inputSchema"];
    for p in tools::lint_input(schema) {
        problems.push(format!("{where_} {name}: {p}"));
    }
    // strict converters: closed where the shape is known; refused (non-strict) only on the
    // declared open objects
    if let Err(open) = tools::to_strict(schema) {
        for path in open {
            if path != "$.data" && path != "$.params" {
                problems.push(format!("{where_} {name}: {path} is open"));
            }
        }
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_list_matches_its_snapshots_passes_the_lint_and_fits_the_budget() {
    let setups = setups().await;
    let mut problems = Vec::new();
    let mut largest = (0, String::new());
    for setup in &setups {
        let mut per_tier = serde_json::Map::new();
        for tier in TIERS {
            let listed = crmgate(setup, &["--tier", tier, "tools", "--json"]);
            let tools = listed["tools"].as_array().expect("tools");
            assert!(!tools.is_empty());
            for tool in tools {
                problems.extend(lint_tool(&format!("{}/{tier}", setup.name), tool));
            }
            // what goes over the wire: one JSON-RPC response line
            let line = json!({"jsonrpc": "2.0", "id": 2, "result": listed}).to_string();
            println!(
                "tools/list {:<16} {tier:<12} {:>5} bytes, {} tools",
                setup.name,
                line.len(),
                tools.len()
            );
            if tier == "destructive" && line.len() > largest.0 {
                largest = (line.len(), setup.name.to_owned());
            }
            per_tier.insert(tier.into(), listed);
        }
        problems.extend(check_snapshot(
            &format!("tools/{}.json", setup.name),
            &Value::Object(per_tier),
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        largest.0 <= BUDGET,
        "tools/list at the destructive tier on {} is {} bytes, over the {BUDGET}-byte budget",
        largest.1,
        largest.0
    );
}

#[test]
fn output_schemas_are_generated_from_the_result_types_and_match_their_snapshot() {
    let mut all = serde_json::Map::new();
    let mut problems = Vec::new();
    for spec in tools::TOOLS.iter() {
        let schema = tools::output_schema(spec.kind);
        for p in tools::lint_output(&schema) {
            problems.push(format!("{}: {p}", spec.name));
        }
        all.insert(spec.name.into(), schema);
    }
    problems.extend(check_snapshot(
        "tools/output-schemas.json",
        &Value::Object(all),
    ));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_operator_enum_is_exactly_what_the_gateway_implements() {
    let facts = tools::Facts {
        default_limit: 20,
        limit_cap: 50,
        max_get_ids: 100,
        delete: "permanent",
        tier: crmgate_core::gateway::Tier::Read,
    };
    let schema = tools::input_schema(tools::ToolKind::Search, &facts);
    let listed: Vec<&str> = schema["properties"]["where"]["items"]["properties"]["op"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let implemented: Vec<&str> = FilterOp::ALL.iter().map(|op| op.as_str()).collect();
    assert_eq!(listed, implemented);
    for name in &listed {
        assert_eq!(FilterOp::parse(name).unwrap().as_str(), *name);
    }
}

#[tokio::test]
async fn every_listed_operator_runs_on_the_demo() {
    let app = crmgate::backends::app(crmgate::config::ResolvedCrm::demo()).unwrap();
    let cx = crmgate_core::CallContext::configured();
    for op in FilterOp::ALL {
        let value = match op {
            FilterOp::In | FilterOp::NotIn => json!(["won", "lost"]),
            FilterOp::Between => json!([1000, 50000]),
            FilterOp::IsNull | FilterOp::IsNotNull => Value::Null,
            FilterOp::Gt | FilterOp::Gte | FilterOp::Lt | FilterOp::Lte => json!(10000),
            _ => json!("qual"),
        };
        let field = match op {
            FilterOp::Between | FilterOp::Gt | FilterOp::Gte | FilterOp::Lt | FilterOp::Lte => {
                "amount"
            }
            FilterOp::Contains | FilterOp::StartsWith => "name",
            _ => "stage",
        };
        let args = json!({"entity": "deals", "where": [{"field": field, "op": op.as_str(), "value": value}], "limit": 1});
        let out = tools::call(&app, &cx, "crm_search", args).await;
        assert!(!out.is_error, "{}: {}", op.as_str(), out.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_described_as_soft_or_permanent_is_what_each_backend_reports() {
    for setup in setups().await {
        let expected = if tools::delete_kind(setup.kind).starts_with("soft") {
            "soft"
        } else {
            "hard"
        };
        if setup.name == "atomic-postgres" {
            continue; // no database here; the postgrest setup covers the kind
        }
        let out = crmgate(&setup, &["call", "crm_entities"]);
        let deletable: Vec<&Value> = out["entities"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                e["operations"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("delete"))
            })
            .collect();
        assert!(!deletable.is_empty(), "{}: nothing deletable", setup.name);
        for e in deletable {
            assert_eq!(e["delete"], expected, "{}: {}", setup.name, e["name"]);
        }
    }
}

#[tokio::test]
async fn empty_optional_arguments_mean_absent_as_strict_clients_send_them() {
    let mut crm = crmgate::config::ResolvedCrm::demo();
    crm.settings.tier = crmgate_core::gateway::Tier::Destructive;
    let app = crmgate::backends::app(crm).unwrap();
    let cx = crmgate_core::CallContext::configured();
    // a good call per tool; every optional argument it leaves out is then sent empty
    let calls = [
        ("crm_describe", json!({"entity": "deals"})),
        ("crm_search", json!({"entity": "deals", "limit": 2})),
        ("crm_get", json!({"entity": "deals", "id": "dl-0001"})),
        (
            "crm_related",
            json!({"entity": "companies", "id": "co-0001", "link": "contacts"}),
        ),
        ("crm_timeline", json!({"entity": "deals", "id": "dl-0001"})),
        (
            "crm_update",
            json!({"entity": "deals", "id": "dl-0002", "data": {"amount": 5}}),
        ),
        ("crm_delete", json!({"entity": "deals", "id": "dl-0003"})),
        (
            "crm_draft_email",
            json!({"to": ["a@example.com"], "subject": "s", "body": "b"}),
        ),
    ];
    let facts = tools::facts(&app);
    for (tool, args) in calls {
        let spec = tools::find(tool).unwrap();
        let schema = tools::input_schema(spec.kind, &facts);
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for empty in [json!(null), json!(""), json!([])] {
            let mut strict = args.clone();
            for (name, prop) in schema["properties"].as_object().unwrap() {
                if required.contains(&name.as_str()) || args.get(name).is_some() {
                    continue;
                }
                // a boolean cannot be empty: strict clients send false
                let value = if prop["type"] == "boolean" {
                    json!(false)
                } else {
                    empty.clone()
                };
                strict[name] = value;
            }
            let plain = tools::call(&app, &cx, tool, args.clone()).await;
            let padded = tools::call(&app, &cx, tool, strict.clone()).await;
            assert!(!plain.is_error, "{tool}: {}", plain.text);
            assert!(!padded.is_error, "{tool} {strict}: {}", padded.text);
        }
    }
    // an unknown argument stays an error even when empty
    let typo = tools::call(
        &app,
        &cx,
        "crm_search",
        json!({"entity": "deals", "wher": []}),
    )
    .await;
    assert!(
        typo.is_error && typo.text.contains("VALIDATION"),
        "{}",
        typo.text
    );
}
