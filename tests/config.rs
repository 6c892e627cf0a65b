//! The config loader on real files: discovery, selection, validation messages, secrets,
//! overrides. Every error is asserted as the one line a user would read.

use crmgate::backends;
use crmgate::config::{self, Kind, Located, Overrides, ResolvedCrm, Vendor, raw, secrets};
use crmgate_core::ErrorCode;
use crmgate_core::gateway::Tier;
use secrecy::ExposeSecret;
use std::path::{Path, PathBuf};
use std::time::Duration;

struct Tmp {
    dir: tempfile::TempDir,
}

impl Tmp {
    fn new() -> Self {
        Tmp {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn file(&self, text: &str) -> PathBuf {
        let path = self.dir.path().join("crmgate.toml");
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn load_with(text: &str, overrides: &Overrides) -> (PathBuf, Result<ResolvedCrm, String>, Tmp) {
    let tmp = Tmp::new();
    let path = tmp.file(text);
    let result = config::load_file(&path, overrides).map_err(|e| {
        assert_eq!(e.code, ErrorCode::Config, "{e}");
        assert!(!e.message.contains('\n'), "one line: {}", e.message);
        e.message
    });
    (path, result, tmp)
}

fn load(text: &str) -> ResolvedCrm {
    let (_, result, _tmp) = load_with(text, &Overrides::default());
    result.unwrap()
}

/// The error message, with the temp file's path replaced by FILE.
fn error(text: &str) -> String {
    error_with(text, &Overrides::default())
}

fn error_with(text: &str, overrides: &Overrides) -> String {
    let (path, result, _tmp) = load_with(text, overrides);
    let message = result.expect_err("config should be refused");
    message.replace(&path.display().to_string(), "FILE")
}

const TWO: &str = r#"
default = "b"
[crm.a]
kind = "demo"
tier = "read"
[crm.b]
kind = "demo"
"#;

#[test]
fn no_file_at_all_serves_the_demo_with_defaults() {
    let nowhere = Located {
        path: None,
        searched: vec![PathBuf::from("/nonexistent/crmgate/config.toml")],
    };
    let crm = config::load_located(&nowhere, &Overrides::default()).unwrap();
    assert_eq!((crm.name.as_str(), crm.kind.as_str()), ("demo", "demo"));
    assert_eq!(crm.settings.tier, Tier::Write);
    assert_eq!(crm.settings.limit_cap, 50);
    assert_eq!(crm.settings.default_limit, 20);
    assert_eq!(crm.settings.text_cap, 2000);
    assert!(crm.source.is_none() && crm.confirm_key.is_none());
    assert!(crm.identity_keys().is_empty());
    backends::app(crm).unwrap();

    let read = Overrides {
        tier: Some(Tier::Read),
        ..Overrides::default()
    };
    let crm = config::load_located(&nowhere, &read).unwrap();
    assert_eq!(crm.settings.tier, Tier::Read);

    let other = Overrides {
        crm: Some("acme".into()),
        ..Overrides::default()
    };
    let e = config::load_located(&nowhere, &other).unwrap_err();
    assert_eq!(e.code, ErrorCode::Config);
    assert!(
        e.message.starts_with("--crm acme: no config file found")
            && e.message.contains("/nonexistent/crmgate/config.toml"),
        "{}",
        e.message
    );
}

#[test]
fn an_explicit_file_that_does_not_exist_is_an_error() {
    let tmp = Tmp::new();
    let missing = tmp.dir.path().join("missing.toml");
    let e = config::find(Some(&missing)).unwrap_err();
    assert_eq!(e.code, ErrorCode::Config);
    assert_eq!(
        e.message,
        format!("config error: --config {}: no such file", missing.display())
    );
}

#[test]
fn the_crm_is_chosen_by_flag_then_default_then_the_only_one() {
    assert_eq!(load(TWO).name, "b");
    let (_, a, _t) = load_with(
        TWO,
        &Overrides {
            crm: Some("a".into()),
            ..Overrides::default()
        },
    );
    let a = a.unwrap();
    assert_eq!(a.name, "a");
    assert_eq!(a.settings.tier, Tier::Read);

    let only = load("[crm.solo]\nkind = \"demo\"\n");
    assert_eq!(only.name, "solo");
    assert!(only.source.as_deref().unwrap().ends_with("crmgate.toml"));

    assert_eq!(
        error_with(
            TWO,
            &Overrides {
                crm: Some("foo".into()),
                ..Overrides::default()
            }
        ),
        "--crm foo: no [crm.foo] in FILE (have: a, b)"
    );
    assert_eq!(
        error("default = \"x\"\n[crm.a]\nkind = \"demo\"\n"),
        "config error in FILE: default: no [crm.x] in FILE (have: a)"
    );
    assert_eq!(
        error("[crm.a]\nkind = \"demo\"\n[crm.b]\nkind = \"demo\"\n"),
        "config error in FILE: several CRMs are listed (a, b): set default = \"NAME\" or pass --crm NAME"
    );
}

#[test]
fn a_file_without_crm_sections_serves_the_demo() {
    let crm = load("# nothing but a comment\n");
    assert_eq!(crm.kind, Kind::Demo);
    assert!(crm.source.is_some());
}

#[test]
fn unknown_keys_suggest_the_nearest_known_key() {
    assert_eq!(
        error("defualt = \"a\"\n"),
        "config error in FILE: unknown key defualt (did you mean default?)"
    );
    assert_eq!(
        error("[crm.acme]\nkind = \"demo\"\n[crm.acme.rate_limit]\nper_secnd = 3\n"),
        "config error in FILE: unknown key crm.acme.rate_limit.per_secnd (did you mean per_second?)"
    );
    // vendor keys are the vendor crate's typed section: the demo takes none, and a typo of a
    // common key is suggested from both lists
    assert_eq!(
        error("[crm.acme]\nkind = \"demo\"\ntierr = \"read\"\n"),
        "config error in FILE: unknown key crm.acme.tierr (did you mean tier?)"
    );
    assert!(
        error("[crm.acme]\nkind = \"demo\"\nurl = \"https://x\"\n")
            .contains("unknown key crm.acme.url: kind \"demo\" takes none"),
    );
    assert_eq!(
        error("[crm.e]\nkind = \"espocrm\"\nurl = \"https://x.example\"\napi_kye_env = \"K\"\n"),
        "config error in FILE: unknown key crm.e.api_kye_env (did you mean api_key_env?)"
    );
    let e = error("[crm.e]\nkind = \"espocrm\"\nzzzzzzzz = 1\n");
    assert!(
        e.contains("kind \"espocrm\" takes url, api_key, api_key_env")
            && e.contains("and the common keys (kind, tier"),
        "{e}"
    );
    // a section that is not selected is checked too
    assert_eq!(
        error(
            "default = \"a\"\n[crm.a]\nkind = \"demo\"\n[crm.b]\nkind = \"bottlecrm\"\nurll = \"https://x\"\n"
        ),
        "config error in FILE: unknown key crm.b.urll (did you mean url?)"
    );
}

#[test]
fn bad_values_name_the_key_and_the_rule() {
    assert_eq!(
        error("[crm.acme]\nkind = \"demo\"\ntier = \"admin\"\n"),
        "config error in FILE: crm.acme.tier: unknown tier \"admin\": use read, write or destructive"
    );
    assert_eq!(
        error("[crm.acme]\nkind = \"demo\"\nlimit_cap = 501\n"),
        "config error in FILE: crm.acme.limit_cap: must be between 1 and 500"
    );
    assert_eq!(
        error("[crm.acme]\nkind = \"demo\"\nlimit_cap = 0\n"),
        "config error in FILE: crm.acme.limit_cap: must be between 1 and 500"
    );
    assert_eq!(
        error("[crm.acme]\nkind = \"demo\"\nlimit_cap = 10\ndefault_limit = 11\n"),
        "config error in FILE: crm.acme.default_limit: must be between 1 and limit_cap (10)"
    );
    assert_eq!(
        error("[crm.acme]\nkind = \"demo\"\nlimit_cap = \"many\"\n"),
        "config error in FILE: crm.acme.limit_cap: invalid type: string \"many\", expected an integer"
    );
    assert_eq!(
        error("[crm.acme]\nkind = \"demo\"\n[crm.acme.rate_limit]\nmax_concurrency = 0\n"),
        "config error in FILE: crm.acme.rate_limit.max_concurrency: must be between 1 and 1024"
    );
    assert_eq!(
        error("[crm.acme]\ntier = \"read\"\n"),
        "config error in FILE: crm.acme.kind: missing: set kind = \"demo\" (or espocrm, bitrix24, bottlecrm, atomic)"
    );
    assert_eq!(
        error("[crm.acme]\nkind = \"demo\"\nraw_call_allow = [\"crm.*.list\"]\n"),
        "config error in FILE: crm.acme.raw_call_allow[0]: \"crm.*.list\": '*' may only end a prefix, as in \"crm.deal.*\""
    );
    // a section that is not selected is still checked
    assert_eq!(
        error(
            "default = \"a\"\n[crm.a]\nkind = \"demo\"\n[crm.b]\nkind = \"demo\"\ntext_cap = 5\n"
        ),
        "config error in FILE: crm.b.text_cap: must be between 100 and 1000000"
    );
}

#[test]
fn kinds_are_an_enum_and_vendors_build_without_io() {
    let cache = crmgate_core::cache::MetadataCache::new(std::time::Duration::from_secs(60), 100);
    // a vendor backend builds without any I/O
    let crm = load("[crm.acme]\nkind = \"espocrm\"\nurl = \"https://crm.example.com\"\n");
    assert_eq!(crm.kind, Kind::Espocrm);
    assert!(matches!(crm.vendor, Vendor::Espocrm(_)));
    assert!(backends::build(&crm, &cache).is_ok());
    assert_eq!(
        error("[crm.acme]\nkind = \"salesforce\"\n"),
        "config error in FILE: crm.acme.kind: unknown kind \"salesforce\": use one of demo, espocrm, bitrix24, bottlecrm, atomic"
    );
    assert_eq!(
        error("[crm.acme]\nkind = \"espo\"\n"),
        "config error in FILE: crm.acme.kind: unknown kind \"espo\" (did you mean espocrm?): use one of demo, espocrm, bitrix24, bottlecrm, atomic"
    );
    assert_eq!(
        error("[crm.a]\nkind = \"atomic\"\ntransport = \"pg\"\n"),
        "config error in FILE: crm.a.transport: unknown transport \"pg\": use one of postgres, postgrest"
    );
    // a vendor's own checks name the key; values are not repeated
    let crm = load("[crm.b]\nkind = \"bottlecrm\"\n");
    let e = backends::build(&crm, &cache).err().unwrap();
    assert!(
        e.message.ends_with(
            "crm.b.url: missing: kind \"bottlecrm\" needs url = \"https://api.bottlecrm.io\""
        ),
        "{}",
        e.message
    );
    let crm = load("[crm.e]\nkind = \"espocrm\"\nurl = \"https://bot:pa55word@crm.example.com\"\n");
    let e = backends::build(&crm, &cache).err().unwrap();
    assert!(
        e.message
            .contains("crm.e.url: must not carry a user name or password")
            && !e.message.contains("pa55word"),
        "{}",
        e.message
    );
    assert_eq!(
        error("[crm.a]\nkind = \"atomic\"\npool_size = \"four\"\n"),
        "config error in FILE: crm.a.pool_size: invalid type: string \"four\", expected an integer"
    );
    let crm = load(
        "[crm.a]\nkind = \"atomic\"\nsupabase_url = \"https://x.supabase.co\"\nanon_key = \"anon\"\npool_size = 65\n",
    );
    let e = backends::build(&crm, &cache).err().unwrap();
    assert!(
        e.message
            .ends_with("crm.a.pool_size: must be between 1 and 64"),
        "{}",
        e.message
    );
}

#[test]
fn every_common_setting_is_applied() {
    let crm = load(
        r#"
[crm.acme]
kind = "demo"
tier = "destructive"
limit_cap = 100
default_limit = 7
text_cap = 500
cache_ttl_s = 60
timeout_s = 12
connect_timeout_s = 3
raw_call_allow = ["crm.deal.list", "Account*"]
[crm.acme.rate_limit]
per_second = 4
burst = 9
max_wait_ms = 250
max_concurrency = 2
"#,
    );
    let s = &crm.settings;
    assert_eq!(s.tier, Tier::Destructive);
    assert_eq!((s.limit_cap, s.default_limit, s.text_cap), (100, 7, 500));
    assert_eq!(s.raw_call_allow, vec!["crm.deal.list", "Account*"]);
    assert_eq!(crm.cache_ttl, Duration::from_secs(60));
    let u = &crm.upstream;
    assert_eq!(u.timeout, Duration::from_secs(12));
    assert_eq!(u.connect_timeout, Duration::from_secs(3));
    assert_eq!((u.rate_per_second, u.burst), (4, 9));
    assert_eq!(u.max_wait, Duration::from_millis(250));
    assert_eq!(u.max_concurrency, 2);

    // a small limit_cap pulls the default page size down with it
    let crm = load("[crm.acme]\nkind = \"demo\"\nlimit_cap = 5\n");
    assert_eq!(crm.settings.default_limit, 5);
}

#[test]
fn vendors_own_their_upstream_defaults() {
    let crm = load("[crm.b]\nkind = \"bitrix24\"\n");
    let u = &crm.upstream;
    assert_eq!((u.rate_per_second, u.burst, u.max_retries), (2, 50, 3));
    assert_eq!(u.base_backoff, Duration::from_millis(500));
    // the common keys adjust the vendor's defaults
    let crm = load("[crm.b]\nkind = \"bitrix24\"\n[crm.b.rate_limit]\nper_second = 5\n");
    assert_eq!((crm.upstream.rate_per_second, crm.upstream.burst), (5, 50));
    let crm = load("[crm.e]\nkind = \"espocrm\"\n");
    assert_eq!((crm.upstream.rate_per_second, crm.upstream.burst), (10, 20));
}

#[test]
fn the_tier_flag_overrides_the_file() {
    let (_, crm, _t) = load_with(
        TWO,
        &Overrides {
            crm: Some("a".into()),
            tier: Some(Tier::Destructive),
            ..Overrides::default()
        },
    );
    assert_eq!(crm.unwrap().settings.tier, Tier::Destructive);
}

const ESPO: &str = "[crm.acme]\nkind = \"espocrm\"\nurl = \"https://crm.example.com\"\n";

fn build(crm: &ResolvedCrm) -> Result<(), crmgate_core::Error> {
    let cache = crmgate_core::cache::MetadataCache::new(Duration::from_secs(60), 100);
    backends::build(crm, &cache).map(|_| ())
}

/// The EspoCRM section's API key, resolved.
fn espo_api_key(crm: &ResolvedCrm) -> String {
    let Vendor::Espocrm(section) = &crm.vendor else {
        panic!("not espocrm")
    };
    match section.resolve().unwrap().auth {
        crmgate_espocrm::Auth::ApiKey(key) => key.expose_secret().to_owned(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_missing_env_var_names_the_key_and_the_variable() {
    let var = "CRMGATE_TEST_VARIABLE_THAT_IS_NEVER_SET";
    assert!(std::env::var_os(var).is_none());
    let crm = load(&format!("{ESPO}api_key_env = \"{var}\"\n"));
    let e = build(&crm).unwrap_err();
    assert_eq!(e.code, ErrorCode::Config);
    assert!(
        e.message.contains(&format!(
            "crm.acme.api_key_env: environment variable {var} is not set"
        )),
        "{}",
        e.message
    );
    // a variable that is set is read (PATH is set wherever tests run)
    let crm = load(&format!("{ESPO}api_key_env = \"PATH\"\n"));
    assert_eq!(espo_api_key(&crm), std::env::var("PATH").unwrap());
    build(&crm).unwrap();
    // absent: an error naming what is needed
    let e = build(&load("[crm.b]\nkind = \"bitrix24\"\n")).unwrap_err();
    assert!(
        e.message.contains("crm.b.webhook_url_env: missing"),
        "{}",
        e.message
    );
    // the top-level confirm secret too
    assert_eq!(
        error(&format!("confirm_secret_env = \"{var}\"\n")),
        format!(
            "config error in FILE: confirm_secret_env: environment variable {var} is not set (export {var}=... before starting crmgate, or set it in the MCP client's \"env\")"
        )
    );
    assert_eq!(
        error("confirm_secret_env = \"PATH\"\nconfirm_secret = \"x\"\n"),
        "config error in FILE: confirm_secret: set either confirm_secret_env or confirm_secret, not both"
    );
}

/// Secrets pasted where a variable name belongs, or of the wrong type, or in a URL: refused,
/// and the value appears in no message (issue 10, item 4).
#[test]
fn a_secret_in_the_wrong_place_is_refused_without_being_shown() {
    let api_key = "7f3c9a1e5b2d4f6a8c0e1b3d5f7a9c2e";
    let webhook = "https://acme.bitrix24.com/rest/1/q8w7e6r5t4y3u2i1/";
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
    let cases = [
        (
            format!("{ESPO}api_key_env = \"{api_key}\"\n"),
            api_key,
            "crm.acme.api_key_env",
        ),
        (
            format!("{ESPO}hmac_secret_env = \"sk_live_51HxQv2ABCdef\"\n"),
            "sk_live_51HxQv2ABCdef",
            "crm.acme.hmac_secret_env",
        ),
        (
            format!("[crm.b]\nkind = \"bitrix24\"\nwebhook_url_env = \"{webhook}\"\n"),
            "q8w7e6r5t4y3u2i1",
            "crm.b.webhook_url_env",
        ),
        (
            format!("[crm.a]\nkind = \"atomic\"\naccess_token_env = \"{jwt}\"\n"),
            jwt,
            "crm.a.access_token_env",
        ),
        (
            format!("confirm_secret_env = \"{api_key}-x\"\n"),
            api_key,
            "confirm_secret_env",
        ),
        (
            format!("{ESPO}password_env = \"hunter 2 (my password)\"\n"),
            "hunter",
            "crm.acme.password_env",
        ),
    ];
    for (text, secret, key) in &cases {
        let message = error(text);
        assert!(
            message.contains(&format!("{key}: this is not an environment variable name"))
                && message.contains("looks like the secret itself"),
            "{message}"
        );
        assert!(!message.contains(secret), "{message}");
    }
    // wrong types: only the type is named
    for (text, secret) in [
        (
            format!("{ESPO}api_key = 20260417123456\n"),
            "20260417123456",
        ),
        (
            format!("{ESPO}api_key_env = 20260417123456\n"),
            "20260417123456",
        ),
        (
            format!("[crm.b]\nkind = \"bitrix24\"\nwebhook_url = [\"{webhook}\"]\n"),
            "q8w7e6r5t4y3u2i1",
        ),
        (
            format!("[crm.acme]\nkind = \"demo\"\nlimit_cap = \"{api_key}\"\n"),
            api_key,
        ),
        (format!("[crm.acme]\nkind = \"{api_key}\"\n"), api_key),
        (
            format!("[crm.acme]\nkind = \"demo\"\ntier = \"{api_key}\"\n"),
            api_key,
        ),
        (
            format!("[crm.acme]\nkind = \"demo\"\nraw_call_allow = [\"{api_key} x\"]\n"),
            api_key,
        ),
        (
            format!("[crm.a]\nkind = \"atomic\"\ntransport = \"{jwt}\"\n"),
            jwt,
        ),
        (format!("{ESPO}{api_key} = 1\n"), api_key),
        (format!("default = \"{api_key}\"\n{ESPO}"), api_key),
    ] {
        let message = error(&text);
        assert!(!message.contains(secret), "{message}");
    }
    // secrets in URLs: the webhook's shape is checked without echoing it, and a URL with
    // user:password@ is refused
    let crm = load(&format!(
        "[crm.b]\nkind = \"bitrix24\"\nwebhook_url = \"{}extra/path\"\n",
        webhook
    ));
    let e = build(&crm).unwrap_err();
    assert!(
        e.message
            .contains("crm.b.webhook_url_env: the webhook URL must look like"),
        "{}",
        e.message
    );
    assert!(!e.message.contains("q8w7e6r5t4y3u2i1"), "{}", e.message);
    let crm = load(
        "[crm.bc]\nkind = \"bottlecrm\"\nurl = \"https://api:q8w7e6r5t4y3@api.example.com\"\n",
    );
    let e = build(&crm).unwrap_err();
    assert!(!e.message.contains("q8w7e6r5t4y3"), "{}", e.message);
    let crm = load(
        "[crm.a]\nkind = \"atomic\"\nsupabase_url = \"https://u:q8w7e6r5t4y3@x.supabase.co\"\nanon_key = \"k\"\n",
    );
    let e = build(&crm).unwrap_err();
    assert!(
        e.message.contains("crm.a.supabase_url: must not carry")
            && !e.message.contains("q8w7e6r5t4y3"),
        "{}",
        e.message
    );
}

#[test]
fn inline_secrets_work_and_warn_when_the_file_is_readable_by_others() {
    let secret = "s3cr3t-inline-value-0123456789abcdef";
    let tmp = Tmp::new();
    let path = tmp.file(&format!(
        "confirm_secret = \"{secret}\"\n{ESPO}api_key = \"{secret}\"\n"
    ));
    set_mode(&path, 0o644);
    let crm = config::load_file(&path, &Overrides::default()).unwrap();
    assert_eq!(crm.confirm_key.as_ref().unwrap().expose_secret(), secret);
    assert_eq!(espo_api_key(&crm), secret);
    // never in Debug
    let debug = format!("{crm:?}");
    assert!(
        !debug.contains(secret) && debug.contains("api_key"),
        "{debug}"
    );

    if cfg!(unix) {
        let warning = secrets::inline_secret_warning(&path, "crm.acme.api_key", "api_key_env")
            .expect("0644 is readable by others");
        assert!(
            warning.contains("chmod 600") && warning.contains("api_key_env"),
            "{warning}"
        );
        assert!(!warning.contains(secret));
        set_mode(&path, 0o600);
        assert!(secrets::inline_secret_warning(&path, "crm.acme.api_key", "api_key_env").is_none());
    }
    assert!(secrets::readable_by_others(0o644));
    assert!(!secrets::readable_by_others(0o600));
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) {}

#[test]
fn a_short_confirm_secret_is_refused_without_echoing_it() {
    let message = error("confirm_secret = \"short\"\n");
    assert_eq!(
        message,
        "config error in FILE: confirm_secret: the confirm secret is shorter than 32 characters: use a long random value (openssl rand -hex 32)"
    );
    let message = error("confirm_secret = 1234567\n");
    assert_eq!(
        message,
        "config error in FILE: confirm_secret: must be a string, not an integer"
    );
}

#[test]
fn syntax_errors_give_line_and_column() {
    let message = error("default = \"a\"\n\n[crm.a\nkind = \"demo\"\n");
    assert!(
        message.starts_with("config error in FILE: line 3, column "),
        "{message}"
    );
    let message = error("[crm.a]\nkind = \"demo\"\nkind = \"demo\"\n");
    assert!(
        message.starts_with("config error in FILE: line 3, column 1: duplicate key"),
        "{message}"
    );
}

#[test]
fn prompts_dir_is_relative_to_the_file_and_must_exist() {
    let tmp = Tmp::new();
    std::fs::create_dir(tmp.dir.path().join("prompts")).unwrap();
    let path = tmp.file("prompts_dir = \"prompts\"\n");
    let crm = config::load_file(&path, &Overrides::default()).unwrap();
    assert_eq!(
        crm.prompts_dir.as_deref(),
        Some(tmp.dir.path().join("prompts").as_path())
    );
    let message = error("prompts_dir = \"nowhere\"\n");
    assert!(
        message.starts_with("config error in FILE: prompts_dir: ")
            && message.ends_with("nowhere is not a directory"),
        "{message}"
    );
}

#[test]
fn the_example_config_loads_and_documents_every_key() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
    let crm = config::load_file(&path, &Overrides::default()).unwrap();
    assert_eq!((crm.name.as_str(), crm.kind.as_str()), ("demo", "demo"));
    assert_eq!(crm.settings.tier, Tier::Write);
    backends::app(crm).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    for key in raw::TOP_KEYS
        .iter()
        .chain(raw::CRM_KEYS)
        .chain(raw::RATE_LIMIT_KEYS)
        .chain(crmgate::config::http::HTTP_KEYS)
        .chain(crmgate::config::redis::REDIS_KEYS)
    {
        let documented = match *key {
            "crm" => text.contains("[crm."),
            "rate_limit" => text.contains(".rate_limit]"),
            "http" => text.contains("[http]"),
            "journal" => text.contains("[journal]"),
            "redis" => text.contains("[redis]"),
            key => text.contains(&format!("{key} =")),
        };
        assert!(documented, "{key} undocumented");
    }
    // every vendor key, as its crate's section type declares it
    use crmgate_core::config::field_names;
    let vendor_keys = [
        field_names::<crmgate_espocrm::config::EspoSection>(),
        field_names::<crmgate_bitrix24::config::Bitrix24Section>(),
        field_names::<crmgate_bottlecrm::config::BottleSection>(),
        field_names::<crmgate_atomic::config::AtomicSection>(),
    ];
    for key in vendor_keys.iter().flatten() {
        assert!(
            text.contains(&format!("{key} =")),
            "vendor key {key} undocumented"
        );
    }
    assert!(vendor_keys.iter().all(|keys| keys.len() >= 4));
}

#[test]
fn http_section_is_validated_with_key_paths() {
    let crm = load(
        "[http]\npath = \"/crm/mcp\"\nallowed_hosts = [\"crm.example.com\"]\nper_caller_per_second = 5\nauthorization_servers = [\"https://auth.example.com\"]\nresource = \"https://crm.example.com/crm/mcp\"\n[crm.demo]\nkind = \"demo\"\nshared_identity = true\n",
    );
    assert_eq!(crm.http.path, "/crm/mcp");
    assert_eq!(crm.http.allowed_hosts, ["crm.example.com"]);
    assert_eq!(crm.http.per_caller_per_second, 5);
    assert!(crm.shared_identity);
    let e = error("[http]\npth = \"/x\"\n");
    assert!(
        e.contains("http.pth") && e.contains("did you mean path"),
        "{e}"
    );
    let e = error("[http]\nper_caller_burst = 0\n");
    assert!(
        e.contains("http.per_caller_burst: must be between 1 and"),
        "{e}"
    );
    let e = error("[http]\nauthorization_servers = [\"auth.example.com\"]\n");
    assert!(e.contains("http.authorization_servers"), "{e}");
    // the path becomes a route: only plain segments, a trailing slash dropped
    let crm = load("[http]\npath = \"/crm/mcp/\"\n[crm.demo]\nkind = \"demo\"\n");
    assert_eq!(crm.http.path, "/crm/mcp");
    for bad in [
        "mcp",
        "/",
        "//",
        "/mcp//x",
        "/{id}",
        "/mcp/{*rest}",
        "/a/../b",
        "/m cp",
        "/mcp?x=1",
    ] {
        let e = error(&format!("[http]\npath = {bad:?}\n"));
        assert!(e.contains("http.path: must be a path like"), "{bad}: {e}");
    }
}

#[test]
fn raw_call_allow_entries_are_normalised_by_the_vendor_grammar() {
    let crm = load(
        "[crm.b]\nkind = \"bitrix24\"\nraw_call_allow = [\"CRM.Status.List\", \"crm.Item.*\", \"crm.entity.mergeBatch\"]\n",
    );
    assert_eq!(
        crm.settings.raw_call_allow,
        ["crm.status.list", "crm.item.*", "crm.entity.mergebatch"]
    );
    let crm = load(
        "[crm.e]\nkind = \"espocrm\"\nurl = \"https://crm.example.com\"\nraw_call_allow = [\"get:*\", \"post:/Lead/action/convert\"]\n",
    );
    assert_eq!(
        crm.settings.raw_call_allow,
        ["GET:*", "POST:/Lead/action/convert"]
    );
    for (kind, entry, says) in [
        ("bitrix24", "crm.item.list?x=1", "carries a query"),
        ("bitrix24", "crm.item.delete.json", ".json"),
        ("bitrix24", "batch", "batch cannot"),
        ("bitrix24", "crm/item.*", "not a prefix"),
        ("bitrix24", "crmé.*", "not a prefix"),
        ("espocrm", "GET:/../Admin", "dot"),
        ("espocrm", "GET /Lead", "whitespace"),
        ("espocrm", "Lead", "no \"METHOD:\""),
        ("espocrm", "G*", "HTTP method"),
        ("espocrm", "GET:/Lead%2F*", "cannot match"),
    ] {
        let (url, fine) = if kind == "espocrm" {
            ("url = \"https://crm.example.com\"\n", "GET:/Lead")
        } else {
            ("", "crm.item.list")
        };
        let message = error(&format!(
            "[crm.x]\nkind = \"{kind}\"\n{url}raw_call_allow = [{fine:?}, {entry:?}]\n"
        ));
        assert!(
            message.starts_with("config error in FILE: crm.x.raw_call_allow[1]: ")
                && message.contains(says),
            "{kind} {entry:?}: {message}"
        );
    }
    // a multi-byte character before a '*' is refused, not a panic
    assert!(
        error("[crm.acme]\nkind = \"demo\"\nraw_call_allow = [\"é*é\"]\n")
            .contains("'*' may only end")
    );
}

#[test]
fn atomic_sql_allow_functions_is_a_checked_list() {
    let base = "[crm.a]\nkind = \"atomic\"\ntransport = \"postgres\"\n\
                database_url = \"postgresql://crmgate@db.example/postgres\"\njwt_secret = \"s\"\n";
    let good = load(&format!(
        "{base}sql_allow_functions = [\"auth.uid\", \"pg_sleep\"]\n"
    ));
    assert!(backends::app(good).is_ok());
    for (value, expected) in [
        ("[\"set_config\"]", "\"set_config\" can never be allowed"),
        ("[\"pg_catalog.current_setting\"]", "can never be allowed"),
        ("[\"Auth.Uid\"]", "is not a function name"),
        ("\"auth.uid\"", "must be a list of function names"),
        ("[1]", "must be a list of function names"),
    ] {
        // a wrong shape is refused when the file is read; a name the guard refuses when the
        // backend is built from the section
        let text = format!("{base}sql_allow_functions = {value}\n");
        let (_, loaded, _tmp) = load_with(&text, &Overrides::default());
        let message = match loaded {
            Err(message) => message,
            Ok(crm) => match backends::app(crm) {
                Err(e) => e.message,
                Ok(_) => panic!("{value} accepted"),
            },
        };
        assert!(
            message.contains("crm.a.sql_allow_functions") && message.contains(expected),
            "{value}: {message}"
        );
    }
}

#[test]
fn redis_needs_a_shared_confirm_secret_and_never_echoes_its_url() {
    let secret = "confirm_secret = \"0123456789abcdef0123456789abcdef\"\n";
    let url = "[redis]\nurl = \"redis://:hunter2-pa55@redis.internal:6379/0\"\nreplicas = 3\n";
    let e = error(url);
    assert!(
        e.starts_with("config error in FILE: confirm_secret_env: is required once [redis] is set"),
        "{e}"
    );
    assert!(!e.contains("hunter2"), "{e}");
    let crm = load(&format!("{secret}{url}"));
    let redis = crm.redis.expect("[redis] resolved");
    assert_eq!(redis.replicas, 3);
    assert!(
        !format!("{redis:?}").contains("hunter2"),
        "Debug hides the URL"
    );
    let e = error(&format!("{secret}[redis]\nurl = \"http://:hunter2@x\"\n"));
    assert!(e.contains("redis.url"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
    let e = error(&format!(
        "{secret}[redis]\nurl_env = \"CRMGATE_TEST_UNSET_REDIS\"\n"
    ));
    assert!(
        e.contains("redis.url_env: environment variable CRMGATE_TEST_UNSET_REDIS is not set"),
        "{e}"
    );
    let e = error(&format!(
        "{secret}[redis]\nurl = \"redis://x\"\nreplica = 2\n"
    ));
    assert!(
        e.contains("redis.replica") && e.contains("replicas"),
        "did you mean: {e}"
    );
    assert!(
        load(secret).redis.is_none(),
        "no [redis]: this process only"
    );
}

#[test]
fn connection_limits_are_read_and_checked() {
    let crm = load("[http]\nheader_read_timeout_s = 3\nmax_connections_per_address = 7\n");
    assert_eq!(
        crm.http.header_read_timeout,
        std::time::Duration::from_secs(3)
    );
    assert_eq!(crm.http.max_connections_per_address, 7);
    assert_eq!(
        error("[http]\nheader_read_timeout_s = 0\n"),
        "config error in FILE: http.header_read_timeout_s: must be between 1 and 600"
    );
    assert_eq!(
        error("[http]\nmax_connections_per_address = 0\n"),
        "config error in FILE: http.max_connections_per_address: must be between 1 and 1000000"
    );
}
