//! Security on real PostgreSQL: crm_query cannot escape the caller's role, claims or read-only
//! transaction (the set_config escape of the reference servers and its variants), limits hold,
//! forged and expired tokens are refused, and privileged connection roles are refused.

use crmgate_atomic::model::Kind;
use crmgate_atomic::testkit::{PgTestDb, TestUser};
use crmgate_atomic::{AtomicBackend, Credential};
use crmgate_core::cache::MetadataCache;
use crmgate_core::model::SqlResult;
use crmgate_core::{Backend, CallContext, ErrorCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::time::Duration;

fn backend(db: &PgTestDb, url: SecretString, user: TestUser) -> AtomicBackend {
    let mut config = db.config(url, Credential::AccessToken(user.token(3600)));
    config.statement_timeout = Duration::from_millis(300);
    config.query_max_bytes = 20_000;
    AtomicBackend::new(config, MetadataCache::new(Duration::from_secs(60), 100)).unwrap()
}

async fn query(b: &AtomicBackend, sql: &str) -> crmgate_core::Result<SqlResult> {
    b.sql(&CallContext::configured(), sql, 50).await
}

async fn scalar(b: &AtomicBackend, sql: &str) -> Value {
    let r = query(b, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    r.rows[0][0].clone()
}

#[tokio::test]
async fn crm_query_runs_as_the_caller_under_rls() {
    let Some(db) = PgTestDb::create("query_rls").await else {
        return;
    };
    let bob = backend(&db, db.gateway_url(), TestUser::Bob);
    let alice = backend(&db, db.gateway_url(), TestUser::Alice);
    assert_eq!(
        scalar(&bob, "select auth.uid()").await,
        json!(TestUser::Bob.id())
    );
    assert_eq!(
        scalar(&bob, "select current_user").await,
        json!("authenticated")
    );
    let r = query(
        &bob,
        "select id, first_name, tags from contacts where id in (4, 5) order by id",
    )
    .await
    .unwrap();
    assert_eq!(r.columns, ["id", "first_name", "tags"]);
    assert_eq!(r.rows[0], [json!(4), json!("Edsger"), json!([1, 6])]);
    assert!(!r.truncated);
    // Atomic CRM's own policies share every contact...
    assert_eq!(scalar(&bob, "select count(*) from tasks").await, json!(15));
    // ...so a project's own restrictive policy shows that RLS is what decides
    db.admin_client()
        .await
        .batch_execute(
            "create policy own_tasks on public.tasks as restrictive for select to authenticated \
             using (sales_id = (select id from public.sales where user_id = auth.uid()))",
        )
        .await
        .unwrap();
    let bobs = scalar(&bob, "select count(*) from tasks").await;
    let alices = scalar(&alice, "select count(*) from tasks").await;
    assert_eq!((bobs.as_i64().unwrap(), alices.as_i64().unwrap()), (8, 7));
    // auth.users is not readable by signed-in users
    let e = query(&bob, "select email from auth.users")
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::PermissionDenied, "{e}");
}

#[tokio::test]
async fn the_set_config_escape_and_its_variants_fail() {
    let Some(db) = PgTestDb::create("query_escape").await else {
        return;
    };
    let bob = backend(&db, db.gateway_url(), TestUser::Bob);
    let escapes = [
        "SET ROLE postgres",
        "RESET ROLE",
        "SET LOCAL ROLE service_role",
        "select set_config('role', 'postgres', true), (select count(*) from auth.users)",
        "SELECT pg_catalog.set_config('role', 'service_role', true)",
        "select set_config('role', 'none', true)",
        "select set_config('request.jwt.claims', '{\"sub\":\"11111111-1111-4111-8111-111111111111\",\"role\":\"authenticated\"}', true), auth.uid()",
        "select set_config('request.jwt.claim.sub', '11111111-1111-4111-8111-111111111111', false)",
        "select query_to_xml('select set_config(''role'',''postgres'',true)', true, false, '')",
        "select 1; delete from contacts",
        "select 1; commit; delete from contacts",
        "with d as (delete from contacts returning id) select count(*) from d",
        "select * from contacts for update",
        "update contacts set title = 'pwned'",
    ];
    for sql in escapes {
        let e = query(&bob, sql).await.expect_err(sql);
        assert!(
            matches!(e.code, ErrorCode::NotAllowed | ErrorCode::PermissionDenied),
            "{sql}: {e}"
        );
    }
    // a function that writes: not refused by name, refused by the read-only transaction
    let e = query(&bob, "select merge_contacts(1, 2)")
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotAllowed, "{e}");
    assert!(e.message.contains("only reads"), "{e}");
    let e = query(&bob, "select nextval('contacts_id_seq')")
        .await
        .unwrap_err();
    assert!(
        matches!(e.code, ErrorCode::NotAllowed | ErrorCode::PermissionDenied),
        "{e}"
    );
    // nothing changed, and the session is still Bob's afterwards
    assert_eq!(
        scalar(&bob, "select count(*) from contacts").await,
        json!(30)
    );
    assert_eq!(
        scalar(&bob, "select count(*) from contacts where title = 'pwned'").await,
        json!(0)
    );
    assert_eq!(
        scalar(&bob, "select auth.uid()").await,
        json!(TestUser::Bob.id())
    );
    assert_eq!(
        scalar(&bob, "select current_user").await,
        json!("authenticated")
    );
}

#[tokio::test]
async fn limits_hold_timeout_rows_and_bytes() {
    let Some(db) = PgTestDb::create("query_limits").await else {
        return;
    };
    let bob = backend(&db, db.gateway_url(), TestUser::Bob);
    let e = query(&bob, "select pg_sleep(5)").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::UpstreamTimeout, "{e}");
    let r = bob
        .sql(
            &CallContext::configured(),
            "select g from generate_series(1, 1000) g",
            10,
        )
        .await
        .unwrap();
    assert_eq!((r.rows.len(), r.truncated), (10, true));
    assert_eq!(r.rows[9], [json!(10)]);
    let r = query(&bob, "select repeat('x', 1000) from generate_series(1, 40)")
        .await
        .unwrap();
    assert!(
        r.truncated && r.rows.len() < 40 && r.rows.len() >= 15,
        "{}",
        r.rows.len()
    );
    // a single huge value never crosses the wire: the row is dropped, the answer says so
    let r = query(&bob, "select 1 as small, repeat('x', 5000000) as huge")
        .await
        .unwrap();
    assert!(r.truncated && r.rows.is_empty());
    // the statement's own order is kept
    let r = bob
        .sql(
            &CallContext::configured(),
            "select g from generate_series(1, 1000) g order by g desc",
            3,
        )
        .await
        .unwrap();
    assert_eq!(r.rows, [[json!(1000)], [json!(999)], [json!(998)]]);
    // every type comes back as JSON
    let r = query(
        &bob,
        "select 1.5::numeric as n, now() > '2020-01-01' as b, '2026-01-02'::date as d, \
         array[1,2] as a, '{\"k\": 1}'::jsonb as j, null::text as z, gen_random_uuid() is not null as u",
    )
    .await
    .unwrap();
    assert_eq!(
        r.rows[0],
        [
            json!(1.5),
            json!(true),
            json!("2026-01-02"),
            json!([1, 2]),
            json!({"k": 1}),
            Value::Null,
            json!(true)
        ]
    );
    let e = query(&bob, "select from contacts").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    let e = query(&bob, "select nope from contacts").await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(e.message.contains("nope"), "{e}");
}

#[tokio::test]
async fn forged_and_expired_tokens_are_refused_before_any_sql() {
    let Some(db) = PgTestDb::create("tokens").await else {
        return;
    };
    let config = db.config(db.gateway_url(), Credential::None);
    let b = AtomicBackend::new(config, MetadataCache::new(Duration::from_secs(60), 100)).unwrap();
    let forged = {
        let claims = crmgate_atomic::jwt::user_claims(
            crmgate_atomic::testkit::TEST_ISSUER,
            TestUser::Alice.id(),
            TestUser::Alice.email(),
            3600,
        );
        crmgate_atomic::jwt::sign_hs256(
            &SecretString::from("not-the-project-secret-at-all-000"),
            &claims,
        )
        .unwrap()
    };
    let cases = [
        ("forged", SecretString::from(forged)),
        ("expired", TestUser::Alice.token(-600)),
        ("garbage", SecretString::from("eyJhbGciOiJIUzI1NiJ9.e30.x")),
    ];
    for (what, token) in cases {
        let cx = CallContext::bearer(token);
        let e = b.sql(&cx, "select 1", 1).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::AuthFailed, "{what}: {e}");
        let e = b.entities(&cx).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::AuthFailed, "{what}: {e}");
        let entity = Kind::Contacts.info();
        let e = b
            .get(
                &cx,
                &entity,
                &["1".into()],
                &crmgate_core::model::FieldSelection::All,
            )
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::AuthFailed, "{what}: {e}");
    }
    // no configured identity: stdio calls are refused, a valid bearer works
    let e = b
        .sql(&CallContext::configured(), "select 1", 1)
        .await
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::AuthFailed);
    let ok = b
        .sql(
            &CallContext::bearer(TestUser::Bob.token(60)),
            "select auth.uid()",
            1,
        )
        .await
        .unwrap();
    assert_eq!(ok.rows[0][0], json!(TestUser::Bob.id()));
}

#[tokio::test]
async fn privileged_connection_roles_are_refused() {
    let Some(db) = PgTestDb::create("roles").await else {
        return;
    };
    let admin = crmgate_atomic::testkit::admin_url();
    let superuser = {
        let cfg: tokio_postgres::Config = admin.parse().unwrap();
        let user = cfg.get_user().unwrap_or("postgres").to_owned();
        db.url_as(&user, "x")
    };
    let cases = [
        (superuser, "superuser"),
        (
            db.url_as("crmgate_refused_bypassrls", "refused"),
            "BYPASSRLS",
        ),
        (
            db.url_as("crmgate_refused_escalating", "refused"),
            "can become \"service_role\"",
        ),
        (db.url_as("crmgate_refused_inherit", "refused"), "NOINHERIT"),
        (
            db.url_as("crmgate_refused_outsider", "refused"),
            "cannot become \"authenticated\"",
        ),
    ];
    for (url, why) in cases {
        let b = backend(&db, url, TestUser::Alice);
        let e = query(&b, "select 1").await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Config, "{why}: {e}");
        assert!(e.message.contains(why), "{why}: {}", e.message);
        assert!(e.suggestion.contains("NOINHERIT"), "{}", e.suggestion);
        // every operation is refused, not just crm_query
        let e = b.entities(&CallContext::configured()).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Config);
        let e = b
            .describe(&CallContext::configured(), &Kind::Companies.info())
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Config);
    }
    // the owner of the tables (a superuser here) is refused; the proper role works
    let good = backend(&db, db.gateway_url(), TestUser::Alice);
    assert_eq!(scalar(&good, "select 1").await, json!(1));
}
