//! What the journal adds to a write through the gateway (`cargo bench -p crmgate-journal
//! --bench gateway_write`): the same writes on the in-memory demo CRM with the journal off and
//! on (SQLite in a temporary folder). The demo answers in microseconds, so the difference is
//! crmgate's own cost: building the entry, `append` before the write, `complete` after — and,
//! for a single crm_update, the read that supplies `before` (a request on a real CRM; the
//! bench counts it separately: the note path has no such read).
//!
//! Figures are printed, never asserted. `CRMGATE_BENCH_QUICK=1` runs fewer iterations.

use crmgate_core::CallContext;
use crmgate_core::confirm::ConfirmSigner;
use crmgate_core::gateway::{Gateway, GatewaySettings, Journal, NoteArgs, UpdateArgs};
use crmgate_core::journal::{Bounds, OnFailure};
use crmgate_journal::SqliteStore;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn gateway(journal: Option<&std::path::Path>) -> Gateway {
    let gateway = Gateway::new(
        Arc::new(crmgate_demo::DemoBackend::new()),
        GatewaySettings::default(),
        ConfirmSigner::new(b"bench"),
    );
    match journal {
        None => gateway,
        Some(path) => gateway.with_journal(Journal {
            store: Arc::new(SqliteStore::new(
                Some(path.to_owned()),
                Bounds {
                    max_age: None,
                    max_entries: None,
                    max_bytes: None,
                },
            )),
            crm: "bench".into(),
            on_failure: OnFailure::Refuse,
        }),
    }
}

fn show(what: &str, mut v: Vec<Duration>) -> f64 {
    v.sort();
    let n = v.len();
    let mean = v.iter().sum::<Duration>() / n as u32;
    let p50 = v[n / 2];
    let p99 = v[(n * 99 / 100).min(n - 1)];
    println!(
        "{what:<40} n={n:<5} mean {:>7.1} µs  p50 {:>7.1} µs  p99 {:>7.1} µs",
        mean.as_secs_f64() * 1e6,
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
    p50.as_secs_f64() * 1e6
}

async fn run(g: &Gateway, label: &str, n: usize) -> (f64, f64) {
    let cx = CallContext::configured();
    let id = "deal-001".to_owned();
    let first = g
        .search(
            &cx,
            serde_json::from_value(json!({"entity": "deals", "limit": 1})).unwrap(),
        )
        .await
        .unwrap();
    let id = first.records.first().map_or(id, |r| r.id.clone());
    // warm up (schema load, file creation)
    for i in 0..20 {
        let data = serde_json::from_value(json!({"probability": i % 100})).unwrap();
        g.update(
            &cx,
            UpdateArgs {
                entity: "deals".into(),
                id: id.clone(),
                data,
                preview: false,
            },
        )
        .await
        .unwrap();
    }
    let mut updates = Vec::with_capacity(n);
    let mut notes = Vec::with_capacity(n);
    for i in 0..n {
        let data = serde_json::from_value(json!({"probability": i % 100})).unwrap();
        let started = Instant::now();
        g.update(
            &cx,
            UpdateArgs {
                entity: "deals".into(),
                id: id.clone(),
                data,
                preview: false,
            },
        )
        .await
        .unwrap();
        updates.push(started.elapsed());
        let started = Instant::now();
        g.note(
            &cx,
            NoteArgs {
                entity: "deals".into(),
                id: id.clone(),
                text: format!("note {i}"),
            },
        )
        .await
        .unwrap();
        notes.push(started.elapsed());
    }
    (
        show(&format!("{label}: crm_update"), updates),
        show(&format!("{label}: crm_note"), notes),
    )
}

fn main() {
    let n = if std::env::var("CRMGATE_BENCH_QUICK").is_ok() {
        200
    } else {
        2000
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("crmgate-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (update_off, note_off) = run(&gateway(None), "journal off", n).await;
        let on = gateway(Some(&dir.join("journal.sqlite3")));
        let (update_on, note_on) = run(&on, "journal on (SQLite)", n).await;
        println!(
            "added per write (p50): crm_note {:.1} µs, crm_update {:.1} µs (incl. the before read)",
            note_on - note_off,
            update_on - update_off
        );
        let _ = std::fs::remove_dir_all(&dir);
    });
}
