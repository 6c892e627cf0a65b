//! Security on real PostgreSQL: crm_query cannot escape the caller's role, claims or read-only
//! transaction, whatever the spelling (the set_config escape of the reference servers, the
//! claims swap that read another user's rows, comments and quotes that end elsewhere than the
//! guard thought, functions with side effects, planted same-named functions and operators);
//! every refusal is proved through the database (canary table and sequence untouched, no lock
//! held, Alice's private row never returned, no planted function ran). Limits hold, forged and
//! expired tokens are refused, and privileged connection roles are refused.

use crmgate_atomic::model::Kind;
use crmgate_atomic::testkit::{PgTestDb, TestUser};
use crmgate_atomic::{AtomicBackend, Credential};
use crmgate_core::cache::MetadataCache;
use crmgate_core::model::SqlResult;
use crmgate_core::{Backend, CallContext, ErrorCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::time::Duration;

const TRAPS_SQL: &str = include_str!("sql/traps.sql");

fn backend(db: &PgTestDb, url: SecretString, user: TestUser) -> AtomicBackend {
    let mut config = db.config(url, Credential::AccessToken(user.token(3600)));
    config.statement_timeout = Duration::from_millis(300);
    config.query_max_bytes = 20_000;
    // the usual extension: "my" rows
    config.sql_allow_functions = vec!["auth.uid".into()];
    AtomicBackend::new(config, MetadataCache::new(Duration::from_secs(60), 100)).unwrap()
}

async fn query(b: &AtomicBackend, sql: &str) -> crmgate_core::Result<SqlResult> {
    b.sql(&CallContext::configured(), sql, 50).await
}

async fn scalar(b: &AtomicBackend, sql: &str) -> Value {
    let r = query(b, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    r.rows[0][0].clone()
}

/// A database with the canaries and traps.
async fn trapped_db(label: &str) -> Option<PgTestDb> {
    let db = PgTestDb::create(label).await?;
    db.admin_client()
        .await
        .batch_execute(TRAPS_SQL)
        .await
        .expect("apply tests/sql/traps.sql");
    Some(db)
}

/// Through the database: nothing was written, no sequence advanced, no lock is held, and the
/// session is still Bob's (he sees his private note, never Alice's).
async fn nothing_ran(db: &PgTestDb, bob: &AtomicBackend) {
    let admin = db.admin_client().await;
    let canary: Vec<(i32, String)> = admin
        .query("select id, note from public.canary order by id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        canary,
        [(1, "untouched".to_owned())],
        "the canary table changed"
    );
    let called: bool = admin
        .query_one("select is_called from public.canary_seq", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!called, "the canary sequence advanced");
    let locks: i64 = admin
        .query_one(
            "select count(*) from pg_locks where locktype = 'advisory' \
             and database = (select oid from pg_database where datname = current_database())",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(locks, 0, "an advisory lock is held");
    let untouched: i64 = admin
        .query_one(
            "select count(*) from public.contacts where title = 'pwned'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(untouched, 0);
    let r = query(bob, "select body, auth.uid() from private_notes")
        .await
        .unwrap();
    assert_eq!(r.rows, [[json!("bob-note"), json!(TestUser::Bob.id())]]);
    assert_eq!(
        scalar(bob, "select current_user").await,
        json!("authenticated")
    );
}

/// Refused, with a code that says so, and no result that carries Alice's secret.
async fn refused(b: &AtomicBackend, sql: &str) -> crmgate_core::Error {
    match query(b, sql).await {
        Ok(r) => panic!("ran {sql:?}: {:?}", r.rows),
        Err(e) => {
            assert!(
                matches!(
                    e.code,
                    ErrorCode::NotAllowed | ErrorCode::Validation | ErrorCode::PermissionDenied
                ),
                "{sql}: {e}"
            );
            assert!(!e.message.contains("TRAP HIT"), "{sql}: {e}");
            assert!(!e.message.contains("ALICE-SECRET"), "{sql}: {e}");
            e
        }
    }
}

#[tokio::test]
async fn crm_query_runs_as_the_caller_under_rls() {
    let Some(db) = trapped_db("query_rls").await else {
        return;
    };
    let bob = backend(&db, db.gateway_url(), TestUser::Bob);
    let alice = backend(&db, db.gateway_url(), TestUser::Alice);
    assert_eq!(
        scalar(&bob, "select auth.uid()").await,
        json!(TestUser::Bob.id())
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
    // owner-only rows: each sees their own
    assert_eq!(
        scalar(&alice, "select string_agg(body, ',') from private_notes").await,
        json!("ALICE-SECRET")
    );
    assert_eq!(
        scalar(&bob, "select string_agg(body, ',') from private_notes").await,
        json!("bob-note")
    );
    // Atomic CRM's own policies share every task...
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
    // columns of extension types (citext) come back as JSON too
    assert_eq!(
        scalar(&bob, "select website from companies where id = 1").await,
        json!("https://www.acmecorp.example")
    );
    // duplicate and unnamed columns keep their order
    let r = query(&bob, "select 1 as a, 2 as a, 'x' || 'y', null")
        .await
        .unwrap();
    assert_eq!(r.columns, ["a", "a", "?column?", "?column?"]);
    assert_eq!(r.rows[0], [json!(1), json!(2), json!("xy"), Value::Null]);
}

/// The escape of the issue: swap the claims for Alice's, read her rows, swap them back before
/// the statement ends (so a check after the statement sees nothing) — in many spellings.
#[tokio::test]
async fn the_claims_swap_and_every_settings_escape_fail() {
    let Some(db) = trapped_db("query_claims").await else {
        return;
    };
    let bob = backend(&db, db.gateway_url(), TestUser::Bob);
    let alice_claims = format!(
        "{{\"sub\":\"{}\",\"role\":\"authenticated\"}}",
        TestUser::Alice.id()
    );
    let swap = |set: &str| {
        format!(
            "select {set}('request.jwt.claims', '{alice_claims}', true), \
             (select string_agg(body, ',') from private_notes), \
             {set}('request.jwt.claims', current_setting('request.jwt.claims'), true)"
        )
    };
    let mut escapes: Vec<String> = [
        "set_config",
        "SET_CONFIG",
        "pg_catalog.set_config",
        "PG_CATALOG.Set_Config",
        "\"set_config\"",
        "\"pg_catalog\".\"set_config\"",
        "u&\"\\0073et_config\"",
        "U&\"\\0073\\0065t_config\"",
        "U&\"!0073et_config\" UESCAPE '!'",
        "/* c */ set_config /* c */",
        "public.set_config",
    ]
    .iter()
    .map(|s| swap(s))
    .collect();
    escapes.extend(
        [
            // the claims swap hidden in every clause
            "select body from private_notes where set_config('request.jwt.claim.sub', '11111111-1111-4111-8111-111111111111', true) is not null",
            "select (select body from private_notes) from (select set_config('request.jwt.claims', '{\"sub\":\"11111111-1111-4111-8111-111111111111\"}', true)) s",
            "with s as materialized (select set_config('request.jwt.claim.sub', '11111111-1111-4111-8111-111111111111', true)) select body from s, private_notes",
            "select body from private_notes, lateral (select set_config('request.jwt.claims', '{}', true)) s",
            "select body from private_notes order by set_config('request.jwt.claims', '{}', true)",
            "select count(*) filter (where set_config('role', 'postgres', true) = 'x') from contacts",
            "select sum(1) over (partition by set_config('role', 'postgres', true)) from contacts",
            "select * from set_config('role', 'postgres', true)",
            "values (set_config('role', 'service_role', true))",
            "select case when false then set_config('role', 'postgres', true) end",
            "select array[set_config('role', 'postgres', true)]",
            "select coalesce(null, set_config('role', 'postgres', true))",
            "select 1 limit (select length(set_config('role', 'postgres', true)))",
            "select set_config\n(\n'role'\n,\n'postgres'\n,\ntrue\n)",
            // reading settings
            "select current_setting('request.jwt.claims')",
            "select pg_catalog.current_setting('request.jwt.claim.sub', true)",
            "select \"current_setting\"('role')",
            "select U&\"\\0063urrent_setting\"('role')",
            // statements that assign settings
            "SET ROLE postgres",
            "RESET ROLE",
            "SET LOCAL ROLE service_role",
            "set request.jwt.claims = '{}'",
            "set local request.jwt.claim.sub to '11111111-1111-4111-8111-111111111111'",
            "select 1; set role postgres",
            "reset all",
            "set session authorization postgres",
            // SQL held in a string
            "select query_to_xml('select set_config(''role'',''postgres'',true)', true, false, '')",
            "select query_to_xml($q$select body from private_notes$q$, true, false, '')",
            "select ts_stat('select to_tsvector(body) from private_notes')",
        ]
        .iter()
        .map(|s| (*s).to_owned()),
    );
    for sql in &escapes {
        refused(&bob, sql).await;
    }
    nothing_ran(&db, &bob).await;
}

#[tokio::test]
async fn writes_locks_and_side_effects_fail_however_hidden() {
    let Some(db) = trapped_db("query_writes").await else {
        return;
    };
    let bob = backend(&db, db.gateway_url(), TestUser::Bob);
    for sql in [
        // several statements, where the guard and the server must agree where text ends
        "select 1; delete from canary",
        "select 1; commit; delete from canary",
        "select 1 /* ; */ ; delete from canary",
        "select 1 -- c\n; delete from canary",
        "select $$ ; $$; delete from canary",
        "select $a$ $b$ $a$; delete from canary",
        "select 'it''s'; delete from canary",
        "select e'\\''; delete from canary",
        "select \"a;b\" from (select 1 as \"a;b\") s; delete from canary",
        "select 1 /* /* nested */ ; */; delete from canary",
        "SELECT 1;\u{2028}DELETE FROM canary",
        // data-changing statements and clauses
        "delete from canary",
        "update canary set note = 'x'",
        "insert into canary values (2, 'x')",
        "merge into canary c using canary s on c.id = s.id when matched then delete",
        "with d as (delete from canary returning *) select * from d",
        "WITH u AS (UPDATE canary SET note = 'x' RETURNING id) SELECT count(*) FROM u",
        "select * from (with i as (insert into canary values (3, 'x') returning id) select * from i) s",
        "select * into canary2 from canary",
        "select * from canary for update",
        "select * from canary for share skip locked",
        "copy canary to stdout",
        "copy (select 1) to program 'touch /tmp/crmgate-pwned'",
        "do $$ begin delete from public.canary; end $$",
        "call merge_contacts(1, 2)",
        "select merge_contacts(1, 2)",
        "select public.merge_contacts(1, 2)",
        "truncate canary",
        "lock canary",
        "explain analyze delete from canary",
        "prepare p as delete from canary",
        "load 'plpgsql'",
        // functions with side effects
        "select nextval('canary_seq')",
        "select nextval('public.canary_seq'::regclass)",
        "select setval('canary_seq', 10)",
        "select pg_advisory_lock(4242)",
        "select pg_try_advisory_lock(4242)",
        "select pg_catalog.pg_advisory_lock_shared(1)",
        "select lo_create(0)",
        "select lo_import('/etc/passwd')",
        "select pg_read_file('/etc/passwd')",
        "select pg_notify('c', 'x')",
        "select txid_current()",
        "select pg_sleep(5)",
        "select * from dblink('dbname=postgres', 'delete from canary') as t(x int)",
        "select pg_terminate_backend(pg_backend_pid())",
        "select setseed(0)",
        // a placeholder is a validation error, not a connection failure
        "select * from canary where id = $1",
    ] {
        refused(&bob, sql).await;
    }
    let e = refused(&bob, "select * from canary where id = $1").await;
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(e.message.contains("placeholder"), "{e}");
    nothing_ran(&db, &bob).await;
}

/// Planted objects named like built-ins never run: crm_query pins `search_path` to
/// `pg_catalog`, so the same text that would call them under the default path calls the
/// built-ins, and schema-qualified names outside `pg_catalog` are refused.
#[tokio::test]
async fn planted_functions_operators_and_types_never_run() {
    let Some(db) = trapped_db("query_traps").await else {
        return;
    };
    let bob = backend(&db, db.gateway_url(), TestUser::Bob);
    // the traps work: under the default search_path the text calls them
    let admin = db.admin_client().await;
    for sql in [
        "select lower('ADA'::varchar)",
        "select length('ada'::varchar)",
        "select 'a'::varchar = 'a'::varchar",
        "select 'a' || 'b'::varchar",
        "select upper(relname) from pg_class limit 1",
        "select 'x'::trapped",
    ] {
        let e = admin
            .batch_execute(&format!("set role authenticated; {sql}"))
            .await
            .expect_err(sql);
        assert!(e.to_string().contains("TRAP HIT") || format!("{e:?}").contains("TRAP HIT"));
        admin.batch_execute("reset role").await.ok();
    }
    // through crm_query the same text calls the built-ins
    let r = query(
        &bob,
        "select lower(first_name::varchar), length(first_name::varchar), \
         first_name::varchar = 'Ada'::varchar, 'x' || first_name::varchar, \
         (select upper(relname) from pg_class where relname = 'pg_class') \
         from contacts where id = 1",
    )
    .await
    .unwrap();
    assert_eq!(
        r.rows[0],
        [
            json!("ada"),
            json!(3),
            json!(true),
            json!("xAda"),
            json!("PG_CLASS")
        ]
    );
    for sql in [
        "select 'x'::trapped",
        "select 'x'::public.trapped",
        "select cast('x' as public.trapped)",
        "select public.lower('A'::varchar)",
        "select public.crmgate_trap()",
        "select crmgate_trap()",
        "select 'a'::varchar operator(public.=) 'a'::varchar",
        "select 'a' operator(public.||) 'b'::varchar",
        "select * from contacts order by first_name::varchar using operator(public.=)",
        "select * from json_to_record('{\"a\": \"x\"}') as r(a public.trapped)",
        "select 'a' collate public.\"C\"",
    ] {
        refused(&bob, sql).await;
    }
    nothing_ran(&db, &bob).await;
}

#[tokio::test]
async fn limits_hold_timeout_rows_and_bytes() {
    let Some(db) = PgTestDb::create("query_limits").await else {
        return;
    };
    let bob = backend(&db, db.gateway_url(), TestUser::Bob);
    let e = query(&bob, "select count(*) from generate_series(1, 1000000000)")
        .await
        .unwrap_err();
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
    // one huge value names its column; the row and the other cells stay
    let r = query(
        &bob,
        "select 1 as small, repeat('x', 500000) as huge, 'z' as last",
    )
    .await
    .unwrap();
    assert!(r.truncated);
    assert_eq!(
        r.rows,
        [[
            json!(1),
            json!({"crmgate_omitted": {"column": "huge", "bytes": 500002, "max_bytes": 20000}}),
            json!("z")
        ]]
    );
    // a first row over the cap as a whole keeps its small cells
    let r = query(
        &bob,
        "select repeat('a', 12000) as a, repeat('b', 12000) as b, 'c' as c",
    )
    .await
    .unwrap();
    assert!(r.truncated);
    assert_eq!(r.rows[0][0]["crmgate_omitted"]["column"], "a");
    assert_eq!(r.rows[0][1]["crmgate_omitted"]["column"], "b");
    assert_eq!(r.rows[0][2], json!("c"));
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
    // the connection is fine after all of that
    assert_eq!(scalar(&bob, "select count(*) from tags").await, json!(6));
}

#[tokio::test]
async fn forged_and_expired_tokens_are_refused_before_any_sql() {
    let Some(db) = PgTestDb::create("tokens").await else {
        return;
    };
    let mut config = db.config(db.gateway_url(), Credential::None);
    config.sql_allow_functions = vec!["auth.uid".into()];
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
        (
            db.url_as("crmgate_refused_readall", "refused"),
            "can become \"pg_read_all_data\", which reads every table",
        ),
        // through another role
        (
            db.url_as("crmgate_refused_files", "refused"),
            "can become \"pg_read_server_files\", which reads files",
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
