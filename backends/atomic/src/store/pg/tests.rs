//! Below the guard: with [`crate::sql_guard`] bypassed, the database itself refuses the
//! escapes, because of how every transaction is set up (READ ONLY, `authenticated` from a
//! NOINHERIT login role that can become nothing privileged, `search_path` pinned to
//! `pg_catalog`) and the check of the session after the statement. Real PostgreSQL; skipped
//! loudly when none is reachable outside CI.

use super::*;
use crate::jwt::JwtVerifier;
use crate::testkit::{PgTestDb, TEST_ISSUER, TEST_JWT_SECRET, TestUser};
use serde_json::json;

async fn setup(label: &str) -> Option<(PgTestDb, PgStore, Caller)> {
    let db = PgTestDb::create(label).await?;
    let store = PgStore::new(&db.gateway_url(), PgOptions::default()).unwrap();
    let verifier = JwtVerifier::hs256(
        &SecretString::from(TEST_JWT_SECRET),
        Some(TEST_ISSUER.into()),
        "authenticated",
    );
    let token = TestUser::Bob.token(600);
    let claims = verifier.verify(token.expose_secret()).await.unwrap();
    Some((db, store, Caller { token, claims }))
}

async fn unguarded(store: &PgStore, caller: &Caller, sql: &str) -> Result<SqlResult> {
    query::run(store, caller, sql, 50).await
}

#[tokio::test]
async fn the_database_refuses_what_the_guard_stops_first() {
    let Some((db, store, bob)) = setup("unguarded").await else {
        return;
    };
    let cases: [(&str, &[ErrorCode]); 10] = [
        (
            "select set_config('role', 'postgres', true)",
            &[ErrorCode::PermissionDenied],
        ),
        (
            "select set_config('role', 'service_role', true)",
            &[ErrorCode::PermissionDenied],
        ),
        (
            "select query_to_xml('select set_config(''role'',''postgres'',true)', true, false, '')",
            &[ErrorCode::PermissionDenied],
        ),
        // back to the login role: it holds no rights of its own, and the session check trips
        (
            "select set_config('role', 'none', true), (select count(*) from public.contacts)",
            &[ErrorCode::PermissionDenied, ErrorCode::NotAllowed],
        ),
        // another user's claims: the result is discarded
        (
            "select set_config('request.jwt.claims', '{\"sub\":\"11111111-1111-4111-8111-111111111111\",\"role\":\"authenticated\"}', true), auth.uid()",
            &[ErrorCode::NotAllowed],
        ),
        (
            "select set_config('request.jwt.claim.sub', 'x', true)",
            &[ErrorCode::NotAllowed],
        ),
        (
            "with d as (delete from contacts returning id) select count(*) from d",
            &[ErrorCode::Validation, ErrorCode::NotAllowed],
        ),
        (
            "select public.merge_contacts(1, 2)",
            &[ErrorCode::NotAllowed],
        ),
        // search_path is pinned: an unqualified name finds only built-ins
        ("select merge_contacts(1, 2)", &[ErrorCode::Validation]),
        ("select 1; delete from contacts", &[ErrorCode::Validation]),
    ];
    for (sql, codes) in cases {
        let e = unguarded(&store, &bob, sql).await.expect_err(sql);
        assert!(codes.contains(&e.code), "{sql}: {e}");
    }
    let e = unguarded(
        &store,
        &bob,
        "select set_config('transaction_read_only', 'off', true)",
    )
    .await
    .unwrap_err();
    assert!(
        e.message.contains("read-write") || e.code == ErrorCode::NotAllowed,
        "{e}"
    );
    // still there, still Bob
    let r = unguarded(
        &store,
        &bob,
        "select count(*), auth.uid()::text, current_user::text from public.contacts",
    )
    .await
    .unwrap();
    assert_eq!(
        r.rows[0],
        [json!(30), json!(TestUser::Bob.id()), json!("authenticated")]
    );
    drop(db);
}

#[tokio::test]
async fn session_state_does_not_leak_to_the_next_call() {
    let Some((db, store, bob)) = setup("leaks").await else {
        return;
    };
    // a session-level setting and a session advisory lock taken inside crm_query
    unguarded(
        &store,
        &bob,
        "select set_config('request.jwt.claim.sub', '', false) is null",
    )
    .await
    .ok();
    unguarded(&store, &bob, "select pg_advisory_lock(4242)")
        .await
        .unwrap();
    let admin = db.admin_client().await;
    let held: i64 = admin
        .query_one(
            "select count(*) from pg_locks where locktype = 'advisory' and objid = 4242",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(held, 0, "the advisory lock outlived the call");
    let r = unguarded(&store, &bob, "select auth.uid()::text")
        .await
        .unwrap();
    assert_eq!(r.rows[0][0], json!(TestUser::Bob.id()));
    // the pool's connection is still usable for records
    let rows = store
        .select(
            &bob,
            &Select {
                relation: "tags",
                filter: &[],
                order: &[],
                limit: 100,
                offset: 0,
                count: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(rows.total, Some(6));
}

#[test]
fn one_caller_holds_at_most_half_the_pool() {
    assert_eq!(per_caller_connections(1), 1);
    assert_eq!(per_caller_connections(4), 2);
    assert_eq!(per_caller_connections(8), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_running_slow_queries_does_not_hold_every_connection() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let Some(db) = PgTestDb::create("fair_pool").await else {
        return;
    };
    let options = PgOptions {
        pool_size: 4,
        ..PgOptions::default()
    };
    let store = Arc::new(PgStore::new(&db.gateway_url(), options).unwrap());
    let verifier = JwtVerifier::hs256(
        &SecretString::from(TEST_JWT_SECRET),
        Some(TEST_ISSUER.into()),
        "authenticated",
    );
    let caller = |user: TestUser| {
        let token = user.token(600);
        let verifier = &verifier;
        async move {
            let claims = verifier.verify(token.expose_secret()).await.unwrap();
            Caller { token, claims }
        }
    };
    let (alice, bob) = (
        Arc::new(caller(TestUser::Alice).await),
        caller(TestUser::Bob).await,
    );
    // vet the login role once, so that no first-use work skews what follows
    unguarded(&store, &bob, "select 1").await.unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let slow: Vec<_> = (0..4)
        .map(|_| {
            let (store, alice, done) = (store.clone(), alice.clone(), done.clone());
            tokio::spawn(async move {
                let r = unguarded(&store, &alice, "select pg_catalog.pg_sleep(1.5)").await;
                done.fetch_add(1, Ordering::SeqCst);
                r
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // alice holds two connections (her cap) and waits for the others; bob gets one at once
    unguarded(&store, &bob, "select 1").await.unwrap();
    assert_eq!(
        done.load(Ordering::SeqCst),
        0,
        "bob did not wait for alice's slow queries"
    );
    for s in slow {
        s.await.unwrap().unwrap();
    }
}
