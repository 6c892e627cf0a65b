//! A fuzz run over every tool: the built binary, on every backend's sandbox and the demo (and
//! Atomic on real PostgreSQL when one is reachable), over stdio and over hosted HTTP, called with
//! generated hostile arguments — any Unicode, path segments, quotes, comments, huge numbers,
//! wrong types, deep nesting — mixed with plausible ones (real entity names, field names and
//! ids, learned from the CRM first) so calls also get past the first check.
//!
//! Asserted: no call takes longer than a bound (no hang); every answer is a tool result or a
//! JSON-RPC error, never a broken connection (no process exit); no result is `INTERNAL` (a
//! panic caught at the call boundary is still a bug); the server still answers afterwards.
//!
//! Seeded and bounded: `CRMGATE_FUZZ_CALLS` calls per backend and transport (default 120),
//! seed `CRMGATE_FUZZ_SEED` (default fixed), so a failure can be replayed.

use crmgate_core::arb::{NASTY, hostile_string, json_value};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rmcp::model::CallToolRequestParams;
use rmcp::service::ServiceError;
use secrecy::ExposeSecret;
use serde_json::{Map, Value, json};
use std::time::Duration;

mod common;
use common::hosted::Hosted;
use common::{Client, serve};

/// Longest any one call may take before it counts as a hang (generous: debug build, retries
/// with backoff against a sandbox that may answer 429).
const CALL_BOUND: Duration = Duration::from_secs(45);

/// Settings every fuzzed section shares: everything listed, nothing throttled client-side.
const COMMON: &str = "tier = \"destructive\"\ntimeout_s = 10\n";
const UNTHROTTLED: &str = "per_second = 10000\nburst = 10000\nmax_wait_ms = 500\n";
const HTTP: &str = "[http]\nper_caller_per_second = 100000\nper_caller_burst = 100000\n";

fn calls() -> usize {
    std::env::var("CRMGATE_FUZZ_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

fn seed() -> u64 {
    std::env::var("CRMGATE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5afe_c0de)
}

/// A `[crm.NAME]` section for `kind` with `keys`, unthrottled, at the destructive tier.
fn section(name: &str, kind: &str, keys: &str) -> String {
    format!(
        "default = \"{name}\"\n{HTTP}\n[crm.{name}]\nkind = \"{kind}\"\n{COMMON}{keys}\n[crm.{name}.rate_limit]\n{UNTHROTTLED}"
    )
}

/// What the fuzzer knows about the CRM, to aim past the first check.
#[derive(Default)]
struct Known {
    entities: Vec<String>,
    fields: Vec<String>,
    ids: Vec<String>,
}

/// Hostile and plausible arguments, from a seeded generator.
struct Gen {
    rng: StdRng,
    runner: TestRunner,
    /// Chance that an argument is wild rather than plausible, set per call.
    wildness: f64,
    /// Chance that a string is a known one rather than hostile, set per call.
    known_bias: f64,
}

impl Gen {
    fn new(seed: u64) -> Self {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        Gen {
            rng: StdRng::seed_from_u64(seed),
            runner: TestRunner::new_with_rng(
                Config::default(),
                TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
            ),
            wildness: 0.3,
            known_bias: 0.5,
        }
    }

    fn sample<T: std::fmt::Debug>(&mut self, strategy: impl Strategy<Value = T>) -> T {
        strategy.new_tree(&mut self.runner).unwrap().current()
    }

    fn pick<'a>(&mut self, items: &'a [String]) -> Option<&'a String> {
        (!items.is_empty()).then(|| &items[self.rng.random_range(0..items.len())])
    }

    /// A string: known (entity, field, id) half the time, else hostile.
    fn string(&mut self, known: &[String]) -> String {
        if self.rng.random_bool(self.known_bias)
            && let Some(k) = self.pick(known)
        {
            let k = k.clone();
            // sometimes a near miss of a known value
            return match self.rng.random_range(0..6) {
                0 => format!("{k}{}", NASTY[self.rng.random_range(0..NASTY.len())]),
                1 => k.to_uppercase(),
                _ => k,
            };
        }
        self.sample(hostile_string())
    }

    /// Something that is not what was asked for: any JSON, a huge value, deep nesting.
    fn wild(&mut self) -> Value {
        match self.rng.random_range(0..10) {
            0 => json!(u64::MAX),
            1 => json!(-1e308),
            2 => json!(i64::MIN),
            3 => Value::String("é".repeat(self.rng.random_range(1..50_000))),
            4 => nested(self.rng.random_range(20..100)),
            _ => self.sample(json_value(3)),
        }
    }

    /// A value for argument `name` of a tool, given its JSON schema.
    fn value(&mut self, name: &str, schema: &Value, known: &Known) -> Value {
        if self.rng.random_bool(self.wildness) {
            return self.wild();
        }
        match name {
            "entity" | "target_entity" => json!(self.string(&known.entities)),
            "id" | "target_id" | "record_id" => json!(self.string(&known.ids)),
            "ids" => json!(
                (0..self.rng.random_range(0..4))
                    .map(|_| self.string(&known.ids))
                    .collect::<Vec<_>>()
            ),
            "fields" => json!(
                (0..self.rng.random_range(0..4))
                    .map(|_| self.string(&known.fields))
                    .collect::<Vec<_>>()
            ),
            "sort" => json!(format!(
                "{}{}",
                if self.rng.random_bool(0.5) { "-" } else { "" },
                self.string(&known.fields)
            )),
            "where" => json!(
                (0..self.rng.random_range(0..3))
                    .map(|_| self.condition(known))
                    .collect::<Vec<_>>()
            ),
            "any" => json!(vec![
                (0..self.rng.random_range(0..3))
                    .map(|_| self.condition(known))
                    .collect::<Vec<_>>()
            ]),
            "data" | "params" => Value::Object(self.object(known)),
            _ => match schema.get("type").and_then(Value::as_str) {
                Some("integer") | Some("number") => match self.rng.random_range(0..5) {
                    0 => json!(0),
                    1 => json!(-5),
                    2 => json!(1_000_000_000_000u64),
                    _ => json!(self.rng.random_range(1..60)),
                },
                Some("boolean") => json!(self.rng.random_bool(0.5)),
                Some("array") => json!(vec![self.string(&known.fields)]),
                Some("object") => Value::Object(self.object(known)),
                _ => json!(self.string(&known.fields)),
            },
        }
    }

    fn condition(&mut self, known: &Known) -> Value {
        let ops = [
            "eq",
            "ne",
            "lt",
            "lte",
            "gt",
            "gte",
            "in",
            "not_in",
            "contains",
            "starts_with",
            "is_null",
            "is_not_null",
            "between",
        ];
        let op = if self.rng.random_bool(0.9) {
            ops[self.rng.random_range(0..ops.len())].to_owned()
        } else {
            self.sample(hostile_string())
        };
        let value = if self.rng.random_bool(0.5) {
            json!(self.string(&known.ids))
        } else {
            self.wild()
        };
        json!({"field": self.string(&known.fields), "op": op, "value": value})
    }

    fn object(&mut self, known: &Known) -> Map<String, Value> {
        (0..self.rng.random_range(0..5))
            .map(|_| {
                let value = if self.rng.random_bool(0.5) {
                    json!(self.string(&known.ids))
                } else {
                    self.wild()
                };
                (self.string(&known.fields), value)
            })
            .collect()
    }

    /// Arguments for a tool. A third of the calls are plausible but for one argument made
    /// hostile (to reach deep with one bad value), a third plausible with a sprinkling of
    /// hostile strings, a third hostile throughout (with unknown argument names too).
    fn arguments(
        &mut self,
        input_schema: &Map<String, Value>,
        known: &Known,
    ) -> Map<String, Value> {
        let mode = self.rng.random_range(0..3);
        (self.wildness, self.known_bias) = match mode {
            0 => (0.0, 0.95),
            1 => (0.03, 0.8),
            _ => (0.35, 0.4),
        };
        let required: Vec<&str> = input_schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut args = Map::new();
        if let Some(Value::Object(properties)) = input_schema.get("properties") {
            for (name, schema) in properties {
                let include =
                    required.contains(&name.as_str()) && mode < 2 || self.rng.random_bool(0.5);
                if include {
                    args.insert(name.clone(), self.value(name, schema, known));
                }
            }
        }
        match mode {
            0 if !args.is_empty() => {
                let keys: Vec<String> = args.keys().cloned().collect();
                let target = keys[self.rng.random_range(0..keys.len())].clone();
                let hostile = if self.rng.random_bool(0.7) {
                    json!(self.sample(hostile_string()))
                } else {
                    self.wild()
                };
                args.insert(target, hostile);
            }
            2 => {
                for _ in 0..self.rng.random_range(0..2) {
                    args.insert(self.sample(hostile_string()), self.wild());
                }
            }
            _ => {}
        }
        args
    }
}

/// `[[[…]]]` or `{"a":{"a":…}}`, `depth` levels deep (below serde_json's limit of 128).
fn nested(depth: usize) -> Value {
    (0..depth).fold(json!("bottom"), |inner, i| {
        if i % 2 == 0 {
            json!([inner])
        } else {
            json!({ "a": inner })
        }
    })
}

/// Tallies of one run, for the report line.
#[derive(Default, Debug)]
struct Tally {
    ok: usize,
    tool_errors: usize,
    protocol_errors: usize,
    codes: std::collections::BTreeMap<String, usize>,
}

/// One call, bounded; panics on a hang, a broken connection or an `INTERNAL` result.
async fn fuzz_call(
    client: &Client,
    tool: &str,
    args: Map<String, Value>,
    tally: &mut Tally,
) -> Option<Value> {
    let shown = serde_json::to_string(&args).unwrap_or_default();
    let shown: String = shown.chars().take(600).collect();
    let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(args);
    let answer = tokio::time::timeout(CALL_BOUND, client.call_tool(params))
        .await
        .unwrap_or_else(|_| panic!("HANG: {tool} did not answer within {CALL_BOUND:?}: {shown}"));
    match answer {
        Ok(result) => {
            let structured = result.structured_content.clone().unwrap_or(Value::Null);
            if result.is_error == Some(true) {
                tally.tool_errors += 1;
                let error = common::error_of(&result);
                let code = error["code"].as_str().unwrap_or_default();
                assert!(
                    !code.is_empty(),
                    "{tool}: an error result without a code: {error}"
                );
                assert_ne!(code, "INTERNAL", "{tool} panicked inside crmgate: {shown}");
                *tally.codes.entry(code.to_owned()).or_default() += 1;
                if std::env::var_os("FUZZ_DEBUG").is_some() {
                    eprintln!(
                        "{tool} {code}: {} <- {shown}",
                        structured["error"]["message"]
                    );
                }
                None
            } else {
                tally.ok += 1;
                Some(structured)
            }
        }
        Err(ServiceError::McpError(_)) => {
            tally.protocol_errors += 1;
            None
        }
        Err(other) => {
            panic!("{tool}: the connection broke (did the server exit?): {other}: {shown}")
        }
    }
}

/// Learn entity names, field names and ids with a few well-formed calls.
async fn learn(client: &Client) -> Known {
    let mut known = Known::default();
    let mut tally = Tally::default();
    if let Some(out) = fuzz_call(client, "crm_entities", Map::new(), &mut tally).await {
        known.entities = out["entities"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["name"].as_str().map(str::to_owned))
            .collect();
    }
    for entity in known.entities.clone().iter().take(6) {
        let args = json!({"entity": entity}).as_object().cloned().unwrap();
        if let Some(out) = fuzz_call(client, "crm_describe", args, &mut tally).await {
            known.fields.extend(
                out["fields"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f["name"].as_str().map(str::to_owned)),
            );
        }
        let args = json!({"entity": entity, "limit": 3})
            .as_object()
            .cloned()
            .unwrap();
        if let Some(out) = fuzz_call(client, "crm_search", args, &mut tally).await {
            known.ids.extend(
                out["records"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r["id"].as_str().map(str::to_owned)),
            );
        }
    }
    known.fields.sort();
    known.fields.dedup();
    known
}

/// The fuzz run on one connected client: every listed tool, `calls()` times in all.
async fn run(label: &str, client: &Client, seed: u64) {
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(!tools.is_empty(), "{label}: no tools listed");
    let known = learn(client).await;
    let mut generator = Gen::new(seed);
    let mut tally = Tally::default();
    for i in 0..calls() {
        // every tool in turn, so each gets its share
        let tool = &tools[i % tools.len()];
        let args = generator.arguments(&tool.input_schema, &known);
        fuzz_call(client, &tool.name, args, &mut tally).await;
    }
    // still serving, and still right
    let again = client
        .list_all_tools()
        .await
        .expect("tools/list after the fuzz run");
    assert_eq!(again.len(), tools.len(), "{label}: the tool list changed");
    let mut after = Tally::default();
    fuzz_call(client, "crm_entities", Map::new(), &mut after).await;
    assert_eq!(after.ok, 1, "{label}: crm_entities fails after the run");
    eprintln!(
        "fuzz {label}: {} calls over {} tools ({} entities known): {} ok, {} tool errors {:?}, {} JSON-RPC errors",
        calls(),
        tools.len(),
        known.entities.len(),
        tally.ok,
        tally.tool_errors,
        tally.codes,
        tally.protocol_errors
    );
    assert!(
        tally.ok > 0,
        "{label}: no call succeeded: the generator aims badly"
    );
}

/// The stdio run, then the hosted run, for one backend.
async fn both_transports(
    label: &str,
    stdio_config: Option<&str>,
    hosted_config: &str,
    env: &[(&str, &str)],
    bearer: &str,
) {
    let (client, _home) = serve(stdio_config, &["--tier", "destructive"], env).await;
    run(&format!("{label} over stdio"), &client, seed()).await;
    client
        .cancel()
        .await
        .expect("the stdio server was still running");

    let mut hosted = Hosted::spawn(hosted_config, env);
    let client = hosted.client(bearer).await;
    run(&format!("{label} over HTTP"), &client, seed() ^ 1).await;
    assert!(hosted.is_running(), "{label}: the hosted server exited");
    let health = reqwest::get(format!("{}/healthz", hosted.base))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let _ = client.cancel().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_the_demo() {
    let config = section("demo", "demo", "");
    both_transports("demo", None, &config, &[], "fuzz-user").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_espocrm() {
    use crmgate_espocrm::sandbox::{Sandbox, credentials};
    let sandbox = Sandbox::start().await.unwrap();
    let url = format!("url = \"{}\"\n", sandbox.url());
    let stdio = section(
        "espo",
        "espocrm",
        &format!(
            "{url}api_key_env = \"FUZZ_ESPO_KEY\"\nraw_call_allow = [\"GET:*\", \"POST:/Lead/action/convert\"]\n"
        ),
    );
    let hosted = section(
        "espo",
        "espocrm",
        &format!("{url}raw_call_allow = [\"GET:*\"]\n"),
    );
    let env = [("FUZZ_ESPO_KEY", credentials::API_KEY)];
    both_transports("espocrm", Some(&stdio), &hosted, &env, credentials::API_KEY).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_bitrix24() {
    use crmgate_bitrix24::sandbox::{ACCESS_TOKEN, Sandbox, SandboxOptions};
    let sandbox = Sandbox::start(SandboxOptions {
        bucket_threshold: 100_000.0,
        bucket_drain: 10_000.0,
        ..SandboxOptions::default()
    })
    .await
    .unwrap();
    let raw = "raw_call_allow = [\"crm.status.list\", \"crm.item.*\"]\n";
    let stdio = section(
        "b24",
        "bitrix24",
        &format!("webhook_url_env = \"FUZZ_B24_WEBHOOK\"\n{raw}"),
    );
    let hosted = section(
        "b24",
        "bitrix24",
        &format!("portal = \"{}\"\n{raw}", sandbox.url()),
    );
    let webhook = sandbox.webhook_url();
    let env = [("FUZZ_B24_WEBHOOK", webhook.as_str())];
    both_transports("bitrix24", Some(&stdio), &hosted, &env, ACCESS_TOKEN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_bottlecrm() {
    use crmgate_bottlecrm::sandbox::{ADMIN_A, Sandbox};
    let sandbox = Sandbox::start().await.unwrap();
    let url = format!("url = \"{}\"\n", sandbox.url());
    let stdio = section(
        "bottle",
        "bottlecrm",
        &format!("{url}token_env = \"FUZZ_BCRM_TOKEN\"\n"),
    );
    let hosted = section("bottle", "bottlecrm", &url);
    let env = [("FUZZ_BCRM_TOKEN", ADMIN_A)];
    both_transports("bottlecrm", Some(&stdio), &hosted, &env, ADMIN_A).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_atomic_over_postgrest() {
    use crmgate_atomic::sandbox::{ALICE_PASSWORD, Sandbox};
    use crmgate_atomic::testkit::TestUser;
    let sandbox = Sandbox::start().await.unwrap();
    let base = format!(
        "supabase_url = \"{}\"\nanon_key_env = \"FUZZ_ATOMIC_ANON\"\njwt_secret_env = \"FUZZ_ATOMIC_JWT\"\n",
        sandbox.url()
    );
    let stdio = section(
        "atomic",
        "atomic",
        &format!(
            "{base}email = \"{}\"\npassword_env = \"FUZZ_ATOMIC_PASSWORD\"\n",
            TestUser::Alice.email()
        ),
    );
    let hosted = section("atomic", "atomic", &base);
    let anon = sandbox.anon_key().expose_secret().to_owned();
    let jwt = sandbox.jwt_secret().expose_secret().to_owned();
    let env = [
        ("FUZZ_ATOMIC_ANON", anon.as_str()),
        ("FUZZ_ATOMIC_JWT", jwt.as_str()),
        ("FUZZ_ATOMIC_PASSWORD", ALICE_PASSWORD),
    ];
    let bearer = sandbox.token(TestUser::Alice, 3600);
    both_transports(
        "atomic (postgrest)",
        Some(&stdio),
        &hosted,
        &env,
        bearer.expose_secret(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzz_atomic_over_postgres() {
    use crmgate_atomic::testkit::{PgTestDb, TEST_ISSUER, TEST_JWT_SECRET, TestUser};
    let Some(db) = PgTestDb::create("fuzz").await else {
        return;
    };
    let base = format!(
        "transport = \"postgres\"\ndatabase_url_env = \"FUZZ_ATOMIC_DB\"\njwt_secret_env = \"FUZZ_ATOMIC_JWT\"\nissuer = \"{TEST_ISSUER}\"\nstatement_timeout_ms = 1000\n"
    );
    let stdio = section(
        "atomic",
        "atomic",
        &format!("{base}access_token_env = \"FUZZ_ATOMIC_TOKEN\"\n"),
    );
    let hosted = section("atomic", "atomic", &base);
    let url = db.gateway_url().expose_secret().to_owned();
    let token = TestUser::Bob.token(3600).expose_secret().to_owned();
    let env = [
        ("FUZZ_ATOMIC_DB", url.as_str()),
        ("FUZZ_ATOMIC_JWT", TEST_JWT_SECRET),
        ("FUZZ_ATOMIC_TOKEN", token.as_str()),
    ];
    both_transports("atomic (postgres)", Some(&stdio), &hosted, &env, &token).await;
}
