//! The PostgreSQL store on a real PostgreSQL: the shared behaviour, plus two stores (two
//! hosted replicas) on one database seeing each other's entries and racing for undo claims.

mod common;

use common::pg::TestDb;
use common::*;
use crmgate_core::ErrorCode;
use crmgate_core::journal::{Bounds, HistoryQuery, JournalStore, Outcome};
use crmgate_journal::PgStore;
use std::sync::Arc;

fn no_bounds() -> Bounds {
    Bounds {
        max_age: None,
        max_entries: None,
        max_bytes: None,
    }
}

async fn store(label: &str) -> Option<(TestDb, PgStore)> {
    let db = TestDb::create(label).await?;
    let store = PgStore::new(&db.url(), no_bounds()).unwrap();
    Some((db, store))
}

#[tokio::test]
async fn write_ahead_lifecycle_on_postgres() {
    let Some((_db, store)) = store("lifecycle").await else {
        return;
    };
    write_ahead_lifecycle(&store).await;
}

#[tokio::test]
async fn scope_isolation_on_postgres() {
    let Some((_db, store)) = store("isolation").await else {
        return;
    };
    scope_isolation(&store).await;
}

#[tokio::test]
async fn undo_claims_on_postgres() {
    let Some((_db, store)) = store("claims").await else {
        return;
    };
    undo_claims_are_compare_and_set(&store).await;
}

#[tokio::test]
async fn cursor_paging_on_postgres() {
    let Some((_db, store)) = store("paging").await else {
        return;
    };
    cursor_paging_with_filters(&store).await;
}

#[tokio::test]
async fn export_on_postgres() {
    let Some((_db, store)) = store("export").await else {
        return;
    };
    export_pages_and_filters(&store).await;
}

#[tokio::test]
async fn bounds_on_postgres() {
    let Some((_db, store)) = store("bounds").await else {
        return;
    };
    bounds_prune_oldest_first(&store).await;
}

#[tokio::test]
async fn scheduled_prune_on_postgres() {
    let Some(db) = TestDb::create("schedule").await else {
        return;
    };
    let store = PgStore::with_prune_every(&db.url(), tight_bounds(), 10).unwrap();
    prunes_itself_on_schedule(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_journal_and_race_fairly_for_undo() {
    let Some(db) = TestDb::create("replicas").await else {
        return;
    };
    let a = Arc::new(PgStore::new(&db.url(), no_bounds()).unwrap());
    let b = Arc::new(PgStore::new(&db.url(), no_bounds()).unwrap());
    let me = owner("acme", "caller:shared");

    // both start at once: the schema is created once, under the advisory lock
    let first_a = applied(update(&me, "deals", "a0"));
    let first_b = applied(update(&me, "deals", "b0"));
    let (ra, rb) = tokio::join!(
        a.append(std::slice::from_ref(&first_a)),
        b.append(std::slice::from_ref(&first_b))
    );
    ra.unwrap();
    rb.unwrap();
    let schema_rows: i64 = db
        .admin_client()
        .await
        .query_one("select count(*) from crmgate_journal_schema", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(schema_rows, 1);

    // what one replica writes, the other reads
    let pending = update(&me, "deals", "7");
    a.append(std::slice::from_ref(&pending)).await.unwrap();
    assert_eq!(b.get(&me, &pending.entry_id).await.unwrap(), pending);
    b.complete(&[applied(pending.clone())]).await.unwrap();
    assert_eq!(
        a.get(&me, &pending.entry_id).await.unwrap().outcome,
        Outcome::Applied
    );
    let listed = a
        .list(
            &me,
            &HistoryQuery {
                limit: Some(10),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let ids: Vec<&str> = listed.entries.iter().map(|e| e.entry_id.as_str()).collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.contains(&first_a.entry_id.as_str()) && ids.contains(&first_b.entry_id.as_str()));

    // the same entries claimed by both replicas at the same moment: one claim wins each time,
    // the other is CONFLICT naming the winner
    let entries: Vec<_> = (0..15)
        .map(|i| applied(update(&me, "deals", &format!("race{i}"))))
        .collect();
    a.append(&entries).await.unwrap();
    for pair in entries.chunks(3) {
        let ids: Vec<String> = pair.iter().map(|e| e.entry_id.clone()).collect();
        let mut reversed = ids.clone();
        reversed.reverse();
        let (a2, b2, me2, me3) = (a.clone(), b.clone(), me.clone(), me.clone());
        let task_a = tokio::spawn(async move { a2.mark_undone(&me2, &ids, "j_by_a").await });
        let task_b = tokio::spawn(async move { b2.mark_undone(&me3, &reversed, "j_by_b").await });
        let (ra, rb) = (task_a.await.unwrap(), task_b.await.unwrap());
        assert!(ra.is_ok() != rb.is_ok(), "{ra:?} {rb:?}");
        let winner = if ra.is_ok() { "j_by_a" } else { "j_by_b" };
        let lost = ra.err().or(rb.err()).unwrap();
        assert_eq!(lost.code, ErrorCode::Conflict);
        assert_eq!(lost.details.as_ref().unwrap()["undone_by"], winner);
        for entry in pair {
            let read = b.get(&me, &entry.entry_id).await.unwrap();
            assert_eq!(
                read.undone_by.as_deref(),
                Some(winner),
                "all of a claim or none"
            );
        }
    }
    assert_unique(&entries);
}

#[tokio::test]
async fn an_unreachable_database_refuses_the_write_without_naming_it() {
    // nothing listens on port 1
    let url = secrecy::SecretString::from(
        "postgresql://journal:s3cr3t@127.0.0.1:1/crm?sslmode=disable&connect_timeout=2".to_owned(),
    );
    let store = PgStore::new(&url, no_bounds()).unwrap();
    assert_eq!(store.location(), "postgresql 127.0.0.1:1/crm");
    let e = store
        .append(&[update(&owner("acme", "configured"), "deals", "1")])
        .await
        .unwrap_err();
    assert_eq!(e.details.as_ref().unwrap()["journal"], "unavailable");
    let shown = format!("{e:?}");
    assert!(
        !shown.contains("s3cr3t") && !shown.contains("127.0.0.1"),
        "{shown}"
    );
}
