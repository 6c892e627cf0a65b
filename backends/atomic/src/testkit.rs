//! Test support: a throw-away PostgreSQL database with Atomic CRM's schema (the project's own
//! SQL in `tests/sql/`: roles, tables, views, triggers, grants, RLS policies, and seed data for
//! two users), and tokens minted for those users with a test secret.
//!
//! Where PostgreSQL is: `CRMGATE_TEST_PG_ADMIN_URL` (a superuser URL), default
//! `postgresql://postgres@127.0.0.1:5432/postgres`. When it is unreachable, [`PgTestDb::create`]
//! says so loudly on stderr and returns `None` (the test skips) — except under CI (`CI=true`),
//! where a missing PostgreSQL is a failure. Each database has a unique name and is dropped
//! (`WITH (FORCE)`) when the value is dropped, even after a failed assertion.

use crate::config::{AtomicConfig, Credential, Transport, Verification};
use crate::jwt::{sign_hs256, user_claims};
use secrecy::SecretString;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio_postgres::NoTls;

/// The roles every test database needs (cluster-wide, idempotent).
pub const ROLES_SQL: &str = include_str!("../tests/sql/roles.sql");
/// Atomic CRM's schema as the tests use it.
pub const SCHEMA_SQL: &str = include_str!("../tests/sql/schema.sql");
/// Two users and a small CRM.
pub const SEED_SQL: &str = include_str!("../tests/sql/seed.sql");

/// The HS256 secret test tokens are signed with.
pub const TEST_JWT_SECRET: &str = "crmgate-atomic-test-secret-0123456789abcdef";
/// The issuer of test tokens.
pub const TEST_ISSUER: &str = "http://supabase.test/auth/v1";

/// A seeded user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestUser {
    /// alice@example.com: signed up first, so an administrator (sales id 1).
    Alice,
    /// bob@example.com: a plain user (sales id 2).
    Bob,
}

impl TestUser {
    /// The auth user id (`sub`).
    pub fn id(self) -> &'static str {
        match self {
            TestUser::Alice => "11111111-1111-4111-8111-111111111111",
            TestUser::Bob => "22222222-2222-4222-8222-222222222222",
        }
    }

    /// The email.
    pub fn email(self) -> &'static str {
        match self {
            TestUser::Alice => "alice@example.com",
            TestUser::Bob => "bob@example.com",
        }
    }

    /// An access token valid for `lifetime_s` seconds (negative: already expired).
    pub fn token(self, lifetime_s: i64) -> SecretString {
        let claims = user_claims(TEST_ISSUER, self.id(), self.email(), lifetime_s);
        SecretString::from(
            sign_hs256(&SecretString::from(TEST_JWT_SECRET), &claims).unwrap_or_default(),
        )
    }
}

/// The admin URL used to create test databases.
pub fn admin_url() -> String {
    std::env::var("CRMGATE_TEST_PG_ADMIN_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/postgres".into())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A fresh database, dropped with the value.
#[derive(Debug)]
pub struct PgTestDb {
    admin: tokio_postgres::Config,
    /// The database's name.
    pub name: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

async fn connect(
    config: &tokio_postgres::Config,
) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

impl PgTestDb {
    /// Create a database with the schema and seed; `None` (after a loud notice) when no
    /// PostgreSQL is reachable outside CI. Panics under CI, or when the schema fails to apply.
    pub async fn create(label: &str) -> Option<PgTestDb> {
        let url = admin_url();
        let admin: tokio_postgres::Config = url
            .parse()
            .expect("CRMGATE_TEST_PG_ADMIN_URL is not a PostgreSQL URL");
        let mut admin_connect = admin.clone();
        admin_connect.connect_timeout(Duration::from_secs(5));
        let client = match connect(&admin_connect).await {
            Ok(client) => client,
            Err(e) => {
                if in_ci() {
                    panic!(
                        "PostgreSQL is required under CI and is not reachable ({e}); .ci/run starts it"
                    );
                }
                eprintln!(
                    "\n*** SKIPPED (Atomic CRM on real PostgreSQL): no PostgreSQL reachable as the \
                     test admin ({e}). Start PostgreSQL or set CRMGATE_TEST_PG_ADMIN_URL. ***\n"
                );
                return None;
            }
        };
        let label: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(24)
            .collect();
        let name = format!(
            "crmgate_atomic_{label}_{}_{}_{:04x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand::random::<u16>()
        );
        // roles are shared by the cluster: one writer at a time
        client
            .batch_execute(&format!(
                "select pg_advisory_lock(724391); {ROLES_SQL}; select pg_advisory_unlock(724391);"
            ))
            .await
            .expect("create the test roles");
        client
            .batch_execute(&format!("create database \"{name}\""))
            .await
            .expect("create the test database");
        let db = PgTestDb { admin, name };
        let setup = db.admin_client().await;
        setup
            .batch_execute(SCHEMA_SQL)
            .await
            .expect("apply tests/sql/schema.sql");
        setup
            .batch_execute(SEED_SQL)
            .await
            .expect("apply tests/sql/seed.sql");
        Some(db)
    }

    /// A superuser connection to this database.
    pub async fn admin_client(&self) -> tokio_postgres::Client {
        let mut config = self.admin.clone();
        config.dbname(&self.name);
        connect(&config)
            .await
            .expect("connect to the test database as admin")
    }

    /// A connection URL for `role` (password = role name's test password).
    pub fn url_as(&self, role: &str, password: &str) -> SecretString {
        let host = match self.admin.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            _ => "127.0.0.1".into(),
        };
        let port = self.admin.get_ports().first().copied().unwrap_or(5432);
        SecretString::from(format!(
            "postgresql://{role}:{password}@{host}:{port}/{}?sslmode=disable",
            self.name
        ))
    }

    /// The URL of the gateway's login role (`authenticator`: NOINHERIT, member of anon and
    /// authenticated only).
    pub fn gateway_url(&self) -> SecretString {
        self.url_as("authenticator", "authenticator")
    }

    /// A postgres-transport configuration acting through `url`, verifying test tokens, with
    /// `credential` as the stdio identity.
    pub fn config(&self, url: SecretString, credential: Credential) -> AtomicConfig {
        let mut config = AtomicConfig::new(Transport::Postgres);
        config.database_url = Some(url);
        config.verification = Some(Verification::Hs256(SecretString::from(TEST_JWT_SECRET)));
        config.issuer = Some(TEST_ISSUER.into());
        config.credential = credential;
        config.app_url = Some("https://crm.example.test".into());
        config
    }
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = self.name.clone();
        // a runtime of its own on a thread of its own: Drop cannot await, and may run inside
        // (or outside) the test's runtime
        let dropper = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(client) = connect(&admin).await {
                    let _ = client
                        .batch_execute(&format!("drop database if exists \"{name}\" with (force)"))
                        .await;
                }
            });
        });
        let _ = dropper.join();
    }
}
