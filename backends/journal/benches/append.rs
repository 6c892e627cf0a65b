//! The journal's local cost per write (`cargo bench -p crmgate-journal`).
//!
//! A journaled write costs the gateway two store calls: `append` of the pending entry before
//! the write is sent, `complete` after the CRM answered. Measured on the SQLite store in a
//! temporary folder, through the async API on a tokio runtime (so the blocking-pool hop is
//! included), for an update of a 20-field record, on an empty journal and on one holding
//! 50 000 entries; plus a bulk append of 30 entries (one batch), and `list` of one page.
//! PostgreSQL is measured too when reachable (`CRMGATE_TEST_PG_ADMIN_URL`; the figure is
//! dominated by the round trips).
//!
//! Figures are printed, never asserted. `CRMGATE_BENCH_QUICK=1` runs fewer iterations.

use crmgate_core::journal::{
    Bounds, Change, EntityRef, HistoryQuery, JournalEntry, JournalStore, Owner, new_batch_id,
};
use crmgate_journal::{PgStore, SqliteStore};
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};

fn record(i: usize) -> Value {
    let mut fields = Map::new();
    for f in 0..20 {
        fields.insert(
            format!("field_{f}"),
            json!(format!("value {f} of record {i}")),
        );
    }
    fields.insert("stage".into(), json!("open"));
    Value::Object(fields)
}

fn entry(owner: &Owner, i: usize) -> JournalEntry {
    JournalEntry::pending(
        owner,
        "crm_update",
        &json!({"entity": "deals", "id": i.to_string(), "data": {"stage": "won"}}),
        EntityRef {
            name: "deals".into(),
            native: "Opportunity".into(),
        },
        Some(&i.to_string()),
        Change::Update {
            fields: vec!["stage".into()],
        },
        Some(record(i)),
    )
}

fn done(entry: JournalEntry) -> JournalEntry {
    let mut after = entry.before.clone().unwrap();
    after["stage"] = json!("won");
    entry.applied(None, Some(after))
}

struct Figures(Vec<Duration>);

impl Figures {
    fn show(mut self, what: &str) {
        self.0.sort();
        let n = self.0.len();
        let mean = self.0.iter().sum::<Duration>() / n as u32;
        let at = |q: f64| self.0[((n as f64 * q) as usize).min(n - 1)];
        println!(
            "{what:<44} n={n:<6} mean {:>8.1} µs   p50 {:>8.1} µs   p99 {:>8.1} µs",
            mean.as_secs_f64() * 1e6,
            at(0.50).as_secs_f64() * 1e6,
            at(0.99).as_secs_f64() * 1e6
        );
    }
}

async fn measure(store: &dyn JournalStore, owner: &Owner, label: &str, n: usize, offset: usize) {
    let mut append = Vec::with_capacity(n);
    let mut complete = Vec::with_capacity(n);
    let mut write = Vec::with_capacity(n);
    for i in 0..n {
        let pending = entry(owner, offset + i);
        let started = Instant::now();
        store.append(std::slice::from_ref(&pending)).await.unwrap();
        let appended = Instant::now();
        store.complete(&[done(pending)]).await.unwrap();
        let completed = Instant::now();
        append.push(appended - started);
        complete.push(completed - appended);
        write.push(completed - started);
    }
    Figures(append).show(&format!("{label}: append (before the write)"));
    Figures(complete).show(&format!("{label}: complete (after the write)"));
    Figures(write).show(&format!("{label}: per journaled write"));

    let mut bulk = Vec::new();
    for round in 0..(n / 30).max(3) {
        let batch = new_batch_id();
        let entries: Vec<_> = (0..30)
            .map(|i| entry(owner, offset + n + round * 30 + i).in_batch(&batch))
            .collect();
        let started = Instant::now();
        store.append(&entries).await.unwrap();
        bulk.push(started.elapsed());
    }
    Figures(bulk).show(&format!("{label}: append of a 30-entry batch"));

    let mut list = Vec::new();
    for _ in 0..(n / 10).max(10) {
        let started = Instant::now();
        let page = store.list(owner, &HistoryQuery::default()).await.unwrap();
        list.push(started.elapsed());
        assert_eq!(page.entries.len(), 20);
    }
    Figures(list).show(&format!("{label}: list one page of 20"));
}

fn unbounded() -> Bounds {
    Bounds {
        max_age: None,
        max_entries: None,
        max_bytes: None,
    }
}

fn main() {
    let quick = std::env::var_os("CRMGATE_BENCH_QUICK").is_some();
    let n = if quick { 300 } else { 3000 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let owner = Owner {
            crm: "bench".into(),
            scope: "caller:bench".into(),
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.sqlite3");
        // the default bounds are in force (and the scheduled prune runs) as in production
        let bounds = crmgate_journal::JournalSettings::default().bounds;
        let store = SqliteStore::new(Some(path.clone()), bounds);
        // first use opens the file and creates the schema: not part of a write's cost
        store.list(&owner, &HistoryQuery::default()).await.unwrap();
        measure(&store, &owner, "sqlite, empty", n, 0).await;

        let fill = if quick { 5_000 } else { 50_000 };
        for chunk in 0..fill / 500 {
            let entries: Vec<_> = (0..500)
                .map(|i| done(entry(&owner, 1_000_000 + chunk * 500 + i)))
                .collect();
            store.append(&entries).await.unwrap();
        }
        measure(
            &store,
            &owner,
            &format!("sqlite, {fill} entries"),
            n,
            2_000_000,
        )
        .await;
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!(
            "sqlite file: {:.1} MB for ~{} entries of a 20-field record",
            size as f64 / 1e6,
            fill + 2 * n + 2 * (n / 30).max(3) * 30
        );

        match pg_url().await {
            Some((url, cleanup)) => {
                let store = PgStore::new(&url, unbounded()).unwrap();
                store.list(&owner, &HistoryQuery::default()).await.unwrap();
                measure(&store, &owner, "postgresql, local", n / 3, 0).await;
                drop(store);
                cleanup.await;
            }
            None => println!("postgresql: not reachable, not measured"),
        }
    });
}

/// A throw-away database on the test PostgreSQL, and how to drop it.
async fn pg_url() -> Option<(secrecy::SecretString, impl Future<Output = ()>)> {
    let admin = std::env::var("CRMGATE_TEST_PG_ADMIN_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/postgres".into());
    let config: tokio_postgres::Config = admin.parse().ok()?;
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.ok()?;
    tokio::spawn(connection);
    let name = format!("crmgate_journal_bench_{}", std::process::id());
    client
        .batch_execute(&format!("create database \"{name}\""))
        .await
        .ok()?;
    let url = admin
        .rsplit_once('/')
        .map(|(base, _)| format!("{base}/{name}?sslmode=disable"))?;
    let cleanup = async move {
        let _ = client
            .batch_execute(&format!("drop database if exists \"{name}\" with (force)"))
            .await;
    };
    Some((secrecy::SecretString::from(url), cleanup))
}
