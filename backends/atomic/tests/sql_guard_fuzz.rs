//! A differential property test of crm_query's guard against real PostgreSQL. Statements are
//! generated from a small SQL grammar seeded with escapes (settings functions in many
//! spellings, functions with side effects, planted look-alikes, writes, several statements)
//! and then mutated with the characters that decide where text ends (comments, dollar quotes,
//! quotes, escapes, semicolons, Unicode). For each one:
//!
//! 1. **Statement boundaries agree.** PostgreSQL parses the raw text (extended-protocol Parse:
//!    nothing runs). If the guard accepted it, PostgreSQL does not see several statements; if
//!    the guard's parser sees several statements, PostgreSQL does not see one.
//! 2. **What the guard accepts has no effect, even without the other defences.** The text the
//!    guard would run is executed as Bob in a READ-WRITE transaction (so the read-only mode is
//!    not what stops it) with crm_query's `search_path`: no setting changes (all of
//!    `pg_settings` is compared), no transaction id is assigned (nothing was written), no
//!    sequence advances, no advisory lock is taken, no planted function runs, and Alice's
//!    private row never comes back.
//! 3. **Through the backend**, an accepted statement returns a result or a database error —
//!    never a trap, never another user's row — and refused ones leave the canaries untouched.
//!
//! Bounded: `PROPTEST_CASES` cases (default 384), deterministic seed (`CRMGATE_FUZZ_SEED=<n>`
//! explores another sequence); runs in `cargo test`.

use crmgate_atomic::sql_guard::SqlGuard;
use crmgate_atomic::testkit::{PgTestDb, TestUser};
use crmgate_atomic::{AtomicBackend, Credential};
use crmgate_core::cache::MetadataCache;
use crmgate_core::{Backend, CallContext, ErrorCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use secrecy::ExposeSecret;
use std::time::Duration;
use tokio_postgres::NoTls;

const TRAPS_SQL: &str = include_str!("sql/traps.sql");
const ALICE: &str = "11111111-1111-4111-8111-111111111111";
const BOB: &str = "22222222-2222-4222-8222-222222222222";

// ---- the grammar --------------------------------------------------------------------------

const COLUMNS: &[&str] = &[
    "id",
    "first_name",
    "body",
    "note",
    "\"first_name\"",
    "c.id",
    "*",
    "1",
    "null",
    "'a;b'",
    "'it''s'",
    "e'\\''",
    "E'\\\\'",
    "$$x;y$$",
    "$t$ ; $t$",
    "U&'\\0041'",
    "'ünï©ødé ✓'",
    "first_name::varchar",
    "'x'::trapped",
    "'x'::public.trapped",
    "'contacts'::regclass",
    "now()",
    "auth.uid()",
    "current_user",
];

const SAFE_CALLS: &[&str] = &[
    "lower(first_name::varchar)",
    "length('a'::varchar)",
    "upper(relname)",
    "count(*)",
    "string_agg(body, ',')",
    "coalesce(null, 'x')",
    "jsonb_build_object('a', 1)",
    "pg_catalog.lower('A')",
    "date_trunc('day', now())",
    "extract(year from now())",
    "array_length(array[1, 2], 1)",
    "'a' || 'b'::varchar",
];

const ESCAPE_CALLS: &[&str] = &[
    "set_config('role', 'postgres', true)",
    "set_config('request.jwt.claims', '{\"sub\":\"11111111-1111-4111-8111-111111111111\",\"role\":\"authenticated\"}', true)",
    "set_config('request.jwt.claim.sub', '11111111-1111-4111-8111-111111111111', true)",
    "SET_CONFIG('a.b', 'c', false)",
    "pg_catalog.set_config('role', 'service_role', true)",
    "\"set_config\"('role', 'none', true)",
    "U&\"\\0073et_config\"('a.b', 'c', true)",
    "current_setting('request.jwt.claims')",
    "pg_catalog.current_setting('role')",
    "nextval('canary_seq')",
    "setval('public.canary_seq', 5)",
    "pg_advisory_lock(77)",
    "pg_try_advisory_lock(78)",
    "pg_sleep(0)",
    "txid_current()",
    "lo_create(0)",
    "pg_notify('c', 'x')",
    "query_to_xml('delete from canary', true, false, '')",
    "public.lower('A'::varchar)",
    "crmgate_trap()",
    "public.crmgate_trap()",
    "merge_contacts(1, 2)",
    "public.merge_contacts(1, 2)",
    "pg_read_file('/etc/hostname')",
];

const OPERATORS: &[&str] = &[
    " = ",
    " || ",
    " + ",
    " < ",
    " operator(public.=) ",
    " operator(pg_catalog.=) ",
    "::varchar = ",
    " is distinct from ",
];

const FROMS: &[&str] = &[
    "",
    " from contacts",
    " from private_notes",
    " from canary",
    " from pg_class",
    " from contacts c join companies co on co.id = c.company_id",
    " from (select 1 as x) s",
    " from generate_series(1, 3) g",
    " from set_config('a.b', 'c', true) s",
    " from private_notes, lateral (select set_config('request.jwt.claims', '{}', true)) s",
    " from canary tablesample bernoulli (50)",
];

const TAILS: &[&str] = &[
    "",
    " limit 1",
    " order by 1",
    " for update",
    " for share",
    " into canary2",
    "; delete from canary",
    "; select set_config('role', 'postgres', false)",
    " -- ; delete from canary",
    " /* ; delete from canary */",
    " /* /* */ ; delete from canary */",
    "; select 1",
    ";;",
];

const OTHERS: &[&str] = &[
    "set role postgres",
    "reset role",
    "set request.jwt.claims = '{}'",
    "delete from canary",
    "update canary set note = 'x'",
    "insert into canary values (9, 'x')",
    "copy canary to stdout",
    "do $$ begin delete from public.canary; end $$",
    "call merge_contacts(1, 2)",
    "explain analyze delete from canary",
    "with d as (delete from canary returning *) select * from d",
    "values (1), (2)",
    "table canary",
];

/// Characters and tokens that decide where text ends, for mutations.
const TRICKY: &[&str] = &[
    "--",
    "/*",
    "*/",
    "$$",
    "$a$",
    "'",
    "''",
    "\"",
    ";",
    "\\",
    "E'",
    "U&",
    "\n",
    "é",
    "\u{2028}",
    "\u{feff}",
    "::",
    "(",
    ")",
    " ",
    "$1",
    "/* ; */",
    "; delete from canary",
    "set_config",
    "'; select set_config('role','postgres',false); --",
];

fn pick(list: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(list).prop_map(str::to_owned)
}

fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![4 => pick(COLUMNS), 3 => pick(SAFE_CALLS), 1 => pick(ESCAPE_CALLS)];
    leaf.prop_recursive(2, 8, 2, |inner| {
        prop_oneof![
            (inner.clone(), pick(OPERATORS), inner.clone())
                .prop_map(|(a, op, b)| format!("{a}{op}{b}")),
            inner.clone().prop_map(|e| format!("({e})")),
            inner.clone().prop_map(|e| format!("lower(({e})::text)")),
            (inner.clone(), pick(FROMS)).prop_map(|(e, f)| format!("(select {e}{f} limit 1)")),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| format!("case when {a} is null then {b} end")),
            inner.prop_map(|e| format!("coalesce({e}, null)")),
        ]
    })
}

fn select() -> impl Strategy<Value = String> {
    (
        prop::sample::select(
            &[
                "select ",
                "SELECT ",
                "SeLeCt ",
                "/*x*/select ",
                "select/**/",
            ][..],
        ),
        prop::collection::vec(expression(), 1..3),
        pick(FROMS),
        prop::option::weighted(0.3, expression()),
        prop_oneof![3 => Just(String::new()), 1 => pick(TAILS)],
    )
        .prop_map(|(kw, items, from, filter, tail)| {
            let filter = filter.map(|f| format!(" where {f}")).unwrap_or_default();
            format!("{kw}{}{from}{filter}{tail}", items.join(", "))
        })
}

fn statement() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(),
        1 => (select(), select()).prop_map(|(a, b)| format!("{a} union all {b}")),
        1 => select().prop_map(|s| format!("with x as ({s}) select * from x")),
        1 => pick(OTHERS),
    ]
}

/// A statement with up to four edits: insert a tricky token, delete a range, flip case.
fn mutated() -> impl Strategy<Value = String> {
    (
        statement(),
        prop::collection::vec((0u8..3, any::<u16>(), 0..TRICKY.len(), 1u8..6), 1..5),
    )
        .prop_map(|(text, edits)| {
            let mut chars: Vec<char> = text.chars().collect();
            for (kind, at, token, len) in edits {
                let at = at as usize % (chars.len() + 1);
                match kind {
                    0 => {
                        let insert: Vec<char> = TRICKY[token].chars().collect();
                        chars.splice(at..at, insert);
                    }
                    1 => {
                        let end = (at + len as usize).min(chars.len());
                        chars.drain(at..end);
                    }
                    _ => {
                        let end = (at + len as usize).min(chars.len());
                        for c in &mut chars[at..end] {
                            *c = if c.is_lowercase() {
                                c.to_uppercase().next().unwrap_or(*c)
                            } else {
                                c.to_lowercase().next().unwrap_or(*c)
                            };
                        }
                    }
                }
            }
            chars.into_iter().collect()
        })
}

// ---- the oracle ---------------------------------------------------------------------------

struct Fixture {
    db: PgTestDb,
    guard: SqlGuard,
    backend: AtomicBackend,
    /// Parses raw text as PostgreSQL (never executes it).
    parser: tokio_postgres::Client,
    /// Runs what the guard accepted, read-write, as Bob.
    observer: tokio_postgres::Client,
    admin: tokio_postgres::Client,
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

impl Fixture {
    async fn new() -> Option<Fixture> {
        let db = PgTestDb::create("guard_fuzz").await?;
        db.admin_client()
            .await
            .batch_execute(TRAPS_SQL)
            .await
            .expect("apply tests/sql/traps.sql");
        let allow = vec!["auth.uid".to_owned()];
        let mut config = db.config(
            db.gateway_url(),
            Credential::AccessToken(TestUser::Bob.token(3600)),
        );
        config.statement_timeout = Duration::from_millis(500);
        config.sql_allow_functions = allow.clone();
        config.pool_size = 1;
        let backend =
            AtomicBackend::new(config, MetadataCache::new(Duration::from_secs(600), 100)).unwrap();
        let url = db.gateway_url().expose_secret().to_owned();
        Some(Fixture {
            guard: SqlGuard::new(&allow).unwrap(),
            backend,
            parser: connect(&url).await,
            observer: connect(&url).await,
            admin: db.admin_client().await,
            db,
        })
    }

    async fn check(&self, sql: &str) -> Result<(), String> {
        let verdict = self.guard.check(sql);
        // 1. statement boundaries
        let guard_count = pg_query::parse(sql, 0).map(|p| p.protobuf.stmts.len()).ok();
        match self.parser.prepare(sql).await {
            Err(e) if several(&e) => {
                if verdict.is_ok() {
                    return Err(format!(
                        "accepted, but PostgreSQL sees several statements: {sql:?}"
                    ));
                }
                if guard_count == Some(1) {
                    return Err(format!(
                        "the guard sees one statement, PostgreSQL several: {sql:?}"
                    ));
                }
            }
            Ok(_) if guard_count.is_some_and(|n| n > 1) => {
                return Err(format!(
                    "the guard sees several statements, PostgreSQL one: {sql:?}"
                ));
            }
            _ => {}
        }
        // 2. what the guard accepts has no effect, even read-write
        if let Ok(checked) = &verdict {
            self.observe(&checked.sql).await?;
        }
        // 3. through the backend
        match self.backend.sql(&CallContext::configured(), sql, 20).await {
            Ok(result) => {
                if verdict.is_err() {
                    return Err(format!("the backend ran what the guard refused: {sql:?}"));
                }
                let text = serde_json::to_string(&result.rows).unwrap_or_default();
                if text.contains("ALICE-SECRET") {
                    return Err(format!("Alice's row came back: {sql:?}"));
                }
            }
            Err(e) => {
                if e.message.contains("TRAP HIT") || e.message.contains("changed the session") {
                    return Err(format!("{sql:?}: {e}"));
                }
                if verdict.is_err() && e.code == ErrorCode::UpstreamUnavailable {
                    return Err(format!(
                        "a refusal reported as a connection failure: {sql:?}"
                    ));
                }
            }
        }
        self.canaries(sql).await
    }

    /// Run accepted text as Bob, read-write, with crm_query's search_path: nothing changes.
    async fn observe(&self, sql: &str) -> Result<(), String> {
        let o = &self.observer;
        // pg_settings does not list custom (placeholder) settings: name those the grammar sets
        let settings = "select pg_catalog.md5(pg_catalog.string_agg(name || '=' || \
                        coalesce(setting, ''), ',' order by name)) || \
                        coalesce(pg_catalog.current_setting('request.jwt.claims', true), '-') || \
                        coalesce(pg_catalog.current_setting('request.jwt.claim.sub', true), '-') || \
                        coalesce(pg_catalog.current_setting('request.jwt.claim.role', true), '-') || \
                        coalesce(pg_catalog.current_setting('a.b', true), '-') || \
                        current_user::text || pg_catalog.current_setting('role') \
                        from pg_catalog.pg_settings";
        o.batch_execute("begin").await.map_err(|e| e.to_string())?;
        o.execute(
            "select pg_catalog.set_config('role', 'authenticated', true), \
                    pg_catalog.set_config('request.jwt.claims', $1, true), \
                    pg_catalog.set_config('request.jwt.claim.sub', $2, true), \
                    pg_catalog.set_config('statement_timeout', '500', true), \
                    pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true)",
            &[
                &format!("{{\"sub\":\"{BOB}\",\"role\":\"authenticated\"}}"),
                &BOB.to_owned(),
            ],
        )
        .await
        .map_err(|e| e.to_string())?;
        let before: String = o
            .query_one(settings, &[])
            .await
            .map_err(|e| e.to_string())?
            .get(0);
        let outcome = match o.simple_query(sql).await {
            Ok(messages) => {
                let after: String = o
                    .query_one(settings, &[])
                    .await
                    .map_err(|e| e.to_string())?
                    .get(0);
                let xid = o
                    .query_one("select pg_catalog.txid_current_if_assigned() is null", &[])
                    .await
                    .map_err(|e| e.to_string())?;
                let rows = format!("{messages:?}");
                if after != before {
                    Err(format!("the accepted statement changed a setting: {sql:?}"))
                } else if !xid.get::<_, bool>(0) {
                    Err(format!("the accepted statement wrote something: {sql:?}"))
                } else if rows.contains("ALICE-SECRET") {
                    Err(format!("the accepted statement read Alice's row: {sql:?}"))
                } else {
                    Ok(())
                }
            }
            Err(e) => {
                let text = format!("{e:?}");
                if text.contains("TRAP HIT") {
                    Err(format!("a planted function ran: {sql:?}"))
                } else {
                    Ok(())
                }
            }
        };
        o.batch_execute("rollback; select pg_catalog.pg_advisory_unlock_all()")
            .await
            .map_err(|e| e.to_string())?;
        outcome
    }

    /// Non-transactional effects: the sequence, advisory locks; and the table, for the record.
    async fn canaries(&self, sql: &str) -> Result<(), String> {
        let row = self
            .admin
            .query_one(
                "select (select is_called from public.canary_seq), \
                        (select count(*) from pg_locks where locktype = 'advisory' \
                         and database = (select oid from pg_database where datname = current_database())), \
                        (select string_agg(id || ':' || note, ',') from public.canary)",
                &[],
            )
            .await
            .map_err(|e| e.to_string())?;
        let (called, locks, canary): (bool, i64, String) = (row.get(0), row.get(1), row.get(2));
        if called || locks != 0 || canary != "1:untouched" {
            return Err(format!(
                "after {sql:?}: sequence advanced {called}, advisory locks {locks}, canary {canary}"
            ));
        }
        Ok(())
    }
}

fn several(e: &tokio_postgres::Error) -> bool {
    e.as_db_error()
        .is_some_and(|db| db.message().contains("cannot insert multiple commands"))
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(384)
}

#[test]
fn the_guard_and_postgresql_agree_and_nothing_accepted_has_an_effect() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let Some(fixture) = rt.block_on(Fixture::new()) else {
        return;
    };
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    };
    let rng = match std::env::var("CRMGATE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
    {
        Some(seed) => {
            let mut bytes = [0u8; 32];
            bytes[..8].copy_from_slice(&seed.to_le_bytes());
            TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
        }
        None => TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    };
    let mut runner = TestRunner::new_with_rng(config, rng);
    let strategy = prop_oneof![2 => statement(), 1 => mutated()];
    let accepted = std::sync::atomic::AtomicU32::new(0);
    let result = runner.run(&strategy, |sql| {
        if fixture.guard.check(&sql).is_ok() {
            accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        rt.block_on(fixture.check(&sql))
            .map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // the grammar reaches both sides of the guard
    let accepted = accepted.into_inner();
    eprintln!("{accepted} of {} generated statements accepted", cases());
    assert!(
        accepted > 0,
        "nothing generated was accepted: the test would prove nothing"
    );
    drop(fixture.db);
}

/// The seeds of the grammar, each checked once (the hand-picked corners of every class).
#[test]
fn every_seed_of_the_grammar_is_checked() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let Some(fixture) = rt.block_on(Fixture::new()) else {
        return;
    };
    let mut seeds: Vec<String> = OTHERS.iter().map(|s| (*s).to_owned()).collect();
    for item in COLUMNS.iter().chain(SAFE_CALLS).chain(ESCAPE_CALLS) {
        for from in FROMS {
            seeds.push(format!("select {item}{from}"));
        }
    }
    for tail in TAILS {
        seeds.push(format!("select 1 as x{tail}"));
    }
    for op in OPERATORS {
        seeds.push(format!("select first_name{op}'Ada' from contacts"));
    }
    for sql in &seeds {
        if let Err(e) = rt.block_on(fixture.check(sql)) {
            panic!("{e}");
        }
    }
    let alice_rows = rt.block_on(async {
        fixture
            .admin
            .query_one(
                "select count(*) from public.private_notes where owner = $1::text::uuid",
                &[&ALICE],
            )
            .await
            .unwrap()
            .get::<_, i64>(0)
    });
    assert_eq!(alice_rows, 1, "Alice's row is there to be protected");
}
