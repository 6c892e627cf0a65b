//! A throw-away PostgreSQL database per test.
//!
//! Where PostgreSQL is: `CRMGATE_TEST_PG_ADMIN_URL` (a superuser URL), default
//! `postgresql://postgres@127.0.0.1:5432/postgres`. When it is unreachable the test says so
//! loudly on stderr and skips — except under CI (`CI=true`), where that is a failure. Each
//! database has a unique name and is dropped (`WITH (FORCE)`) when the value is dropped, even
//! after a failed assertion.

use secrecy::SecretString;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio_postgres::NoTls;

fn admin_url() -> String {
    std::env::var("CRMGATE_TEST_PG_ADMIN_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/postgres".into())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
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

/// An empty database, dropped with the value.
pub struct TestDb {
    admin: tokio_postgres::Config,
    name: String,
}

impl TestDb {
    /// A fresh database, or `None` (after a loud notice) when PostgreSQL is unreachable
    /// outside CI.
    pub async fn create(label: &str) -> Option<TestDb> {
        let admin: tokio_postgres::Config = admin_url()
            .parse()
            .expect("CRMGATE_TEST_PG_ADMIN_URL is not a PostgreSQL URL");
        let mut quick = admin.clone();
        quick.connect_timeout(Duration::from_secs(5));
        let client = match connect(&quick).await {
            Ok(client) => client,
            Err(e) => {
                if in_ci() {
                    panic!(
                        "PostgreSQL is required under CI and is not reachable ({e}); .ci/run starts it"
                    );
                }
                eprintln!(
                    "\n*** SKIPPED (journal on PostgreSQL): no PostgreSQL reachable as the test admin \
                     ({e}). Start PostgreSQL or set CRMGATE_TEST_PG_ADMIN_URL. ***\n"
                );
                return None;
            }
        };
        let name = format!(
            "crmgate_undo_{label}_{}_{}_{:04x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand::random::<u16>()
        );
        client
            .batch_execute(&format!("create database \"{name}\""))
            .await
            .expect("create the test database");
        Some(TestDb { admin, name })
    }

    /// The database's URL (no TLS: a local test server).
    pub fn url(&self) -> SecretString {
        let host = match self.admin.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            _ => "127.0.0.1".into(),
        };
        let port = self.admin.get_ports().first().copied().unwrap_or(5432);
        let user = self.admin.get_user().unwrap_or("postgres");
        let password = self
            .admin
            .get_password()
            .map(|p| format!(":{}", String::from_utf8_lossy(p)))
            .unwrap_or_default();
        SecretString::from(format!(
            "postgresql://{user}{password}@{host}:{port}/{}?sslmode=disable",
            self.name
        ))
    }

    /// A superuser connection to this database.
    pub async fn admin_client(&self) -> tokio_postgres::Client {
        let mut config = self.admin.clone();
        config.dbname(&self.name);
        connect(&config)
            .await
            .expect("connect to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = self.name.clone();
        // a runtime of its own on a thread of its own: Drop cannot await
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
