//! A stdio session on each vendor, for its peak RSS: `crmgate serve` with that vendor's config,
//! against its sandbox in this process (Atomic CRM also over PostgreSQL, in a throw-away
//! database, when one is reachable); the bench sends `initialize`, `tools/list`, then ten
//! 10-record `crm_search` calls ([`searches`]).

use crmgate_atomic::testkit::{PgTestDb, TEST_ISSUER, TEST_JWT_SECRET, TestUser};
use secrecy::ExposeSecret;
use std::path::{Path, PathBuf};

/// One vendor session to measure.
pub struct Session {
    /// What the line is called in the report.
    pub name: &'static str,
    /// The config file (one section, no secrets).
    pub config: PathBuf,
    /// The secrets the config names (`*_env`).
    pub env: Vec<(&'static str, String)>,
    /// The entity searched.
    pub entity: &'static str,
}

/// Sandboxes (and the database) the sessions talk to; they stop when this is dropped.
pub struct Upstreams {
    _bottlecrm: crmgate_bottlecrm::sandbox::Sandbox,
    _espocrm: crmgate_espocrm::sandbox::Sandbox,
    _bitrix24: crmgate_bitrix24::sandbox::Sandbox,
    _atomic: crmgate_atomic::sandbox::Sandbox,
    _database: Option<PgTestDb>,
}

/// Start the sandboxes and write one config per session into `home`.
pub async fn start(home: &Path) -> (Upstreams, Vec<Session>) {
    let bottlecrm = crmgate_bottlecrm::sandbox::Sandbox::start()
        .await
        .expect("BottleCRM sandbox");
    let espocrm = crmgate_espocrm::sandbox::Sandbox::start()
        .await
        .expect("EspoCRM sandbox");
    let bitrix24 = crmgate_bitrix24::sandbox::Sandbox::start(Default::default())
        .await
        .expect("Bitrix24 sandbox");
    let atomic = crmgate_atomic::sandbox::Sandbox::start()
        .await
        .expect("Atomic CRM sandbox");
    let database = PgTestDb::create("floor").await;
    let write = |name: &str, section: String| {
        let path = home.join(format!("{name}.toml"));
        std::fs::write(&path, format!("[crm.{name}]\n{section}")).unwrap();
        path
    };
    let mut sessions = vec![
        Session {
            name: "bottlecrm",
            config: write(
                "bottlecrm",
                format!(
                    "kind = \"bottlecrm\"\nurl = \"{}\"\ntoken_env = \"BENCH_SECRET\"\n",
                    bottlecrm.url()
                ),
            ),
            env: vec![("BENCH_SECRET", crmgate_bottlecrm::sandbox::ADMIN_A.into())],
            entity: "leads",
        },
        Session {
            name: "espocrm",
            config: write(
                "espocrm",
                format!(
                    "kind = \"espocrm\"\nurl = \"{}\"\napi_key_env = \"BENCH_SECRET\"\n",
                    espocrm.url()
                ),
            ),
            env: vec![(
                "BENCH_SECRET",
                crmgate_espocrm::sandbox::credentials::API_KEY.into(),
            )],
            entity: "contacts",
        },
        Session {
            name: "bitrix24",
            config: write(
                "bitrix24",
                "kind = \"bitrix24\"\nwebhook_url_env = \"BENCH_SECRET\"\n".into(),
            ),
            env: vec![("BENCH_SECRET", bitrix24.webhook_url())],
            entity: "leads",
        },
        Session {
            name: "atomic (PostgREST)",
            config: write(
                "atomic",
                format!(
                    "kind = \"atomic\"\ntransport = \"postgrest\"\nsupabase_url = \"{}\"\n\
                     anon_key_env = \"BENCH_ANON\"\nemail = \"alice@example.com\"\n\
                     password_env = \"BENCH_SECRET\"\njwt_secret_env = \"BENCH_JWT\"\n",
                    atomic.url()
                ),
            ),
            env: vec![
                ("BENCH_ANON", atomic.anon_key().expose_secret().into()),
                ("BENCH_SECRET", "alice-password".into()),
                ("BENCH_JWT", atomic.jwt_secret().expose_secret().into()),
            ],
            entity: "contacts",
        },
    ];
    if let Some(db) = &database {
        sessions.push(Session {
            name: "atomic (PostgreSQL)",
            config: write(
                "atomicpg",
                format!(
                    "kind = \"atomic\"\ntransport = \"postgres\"\n\
                     database_url_env = \"BENCH_DB\"\naccess_token_env = \"BENCH_SECRET\"\n\
                     jwt_secret_env = \"BENCH_JWT\"\nissuer = \"{TEST_ISSUER}\"\n"
                ),
            ),
            env: vec![
                ("BENCH_DB", db.gateway_url().expose_secret().into()),
                (
                    "BENCH_SECRET",
                    TestUser::Bob.token(3600).expose_secret().into(),
                ),
                ("BENCH_JWT", TEST_JWT_SECRET.into()),
            ],
            entity: "contacts",
        });
    }
    let upstreams = Upstreams {
        _bottlecrm: bottlecrm,
        _espocrm: espocrm,
        _bitrix24: bitrix24,
        _atomic: atomic,
        _database: database,
    };
    (upstreams, sessions)
}

/// The calls of a measured session, after `tools/list`.
pub fn searches(entity: &str) -> Vec<String> {
    let search =
        format!(r#"{{"name":"crm_search","arguments":{{"entity":"{entity}","limit":10}}}}"#);
    vec![search; 10]
}
