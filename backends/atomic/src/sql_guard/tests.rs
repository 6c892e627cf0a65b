use super::*;
use crmgate_core::ErrorCode;

fn guard() -> SqlGuard {
    SqlGuard::default()
}

fn accepted(sql: &str) -> String {
    guard()
        .check(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .sql
}

fn refused(sql: &str) -> Error {
    match guard().check(sql) {
        Ok(c) => panic!("accepted {sql:?} as {:?}", c.sql),
        Err(e) => {
            assert!(
                matches!(e.code, ErrorCode::NotAllowed | ErrorCode::Validation),
                "{sql}: {e}"
            );
            e
        }
    }
}

#[test]
fn one_select_passes_restated_with_public_tables() {
    assert_eq!(accepted("  select 1 ;; "), "SELECT 1");
    assert_eq!(
        accepted("select id, first_name from contacts where id < 4 order by id"),
        "SELECT id, first_name FROM public.contacts WHERE id < 4 ORDER BY id"
    );
    // CTE names stay unqualified; catalog relations too; qualified names are kept
    assert_eq!(
        accepted("WITH x AS (SELECT 1 AS a) SELECT * FROM x join contacts c on c.id = x.a"),
        "WITH x AS (SELECT 1 AS a) SELECT * FROM x JOIN public.contacts c ON c.id = x.a"
    );
    assert_eq!(
        accepted("select relname from pg_class, information_schema.tables limit 1"),
        "SELECT relname FROM pg_class, information_schema.tables LIMIT 1"
    );
    // keywords inside strings, comments and quoted names are data
    assert!(accepted("select 'a; delete from x' as s -- ; drop table y").contains("'a; delete"));
    assert_eq!(
        accepted("select \"update\" from t /* ; insert */"),
        "SELECT update FROM public.t"
    );
    assert!(accepted("select $$;$$, $t$ ; $t$").contains("';'"));
    assert!(accepted("select e'it\\'s; fine'").contains("it''s; fine"));
    // the everyday vocabulary
    for sql in [
        "select count(*), sum(amount), avg(amount)::numeric(10,2) from deals group by stage having count(*) > 1",
        "select stage, string_agg(name, ', ' order by name) from deals group by stage",
        "select date_trunc('month', created_at), count(*) from deals group by 1 order by 1 desc",
        "select extract(year from now()), now() - interval '7 days', current_date",
        "select lower(first_name) || ' ' || upper(last_name), coalesce(title, '-') from contacts",
        "select * from contacts where last_name ilike 'a%' and id between 1 and 10",
        "select id, row_number() over (partition by company_id order by id) from contacts",
        "select c.id, (select count(*) from tasks t where t.contact_id = c.id) from contacts c",
        "select jsonb_array_elements(email_jsonb)->>'email' from contacts",
        "select * from jsonb_to_record('{\"a\": 1}') as r(a int)",
        "select g from generate_series(1, 10) g",
        "select case when amount > 100 then 'big' else 'small' end from deals",
        "select distinct on (company_id) company_id, name from deals order by company_id, amount desc",
        "values (1, 'a'), (2, 'b')",
        "select 1 union all select 2 except select 3",
        "select * from deals tablesample bernoulli (50) repeatable (1)",
        "with recursive r(n) as (select 1 union all select n + 1 from r where n < 5) select n from r",
        "select array[1,2,3] @> array[2], (array[1,2])[1], '{\"a\":1}'::jsonb -> 'a'",
        "select greatest(1, 2), least(3, 4), nullif(1, 1), current_user, session_user",
        "select x from unnest(array['a','b']) with ordinality as u(x, n)",
        "select 1 where exists (select 1 from contacts) and 1 = any (select id from contacts)",
    ] {
        accepted(sql);
    }
}

#[test]
fn several_statements_and_non_selects_are_refused() {
    for sql in [
        "select 1; select 2",
        "select 1; delete from contacts",
        "select 1;\n-- c\n commit",
        "select 1 /* ; */ ; /* */ select 2",
        "select $$ $$; select 2",
        "select 'x'';'; select 2",
    ] {
        assert!(
            refused(sql).message.contains("exactly one statement"),
            "{sql}"
        );
    }
    for (sql, what) in [
        ("SET ROLE postgres", "SET"),
        ("RESET ROLE", "SET"),
        ("set local role service_role", "SET"),
        ("set request.jwt.claims = '{}'", "SET"),
        ("show request.jwt.claims", "SHOW"),
        ("update contacts set title = 'x'", "UPDATE"),
        ("insert into tags(name, color) values ('a', 'b')", "INSERT"),
        ("delete from contacts", "DELETE"),
        (
            "merge into tags t using tags s on t.id = s.id when matched then delete",
            "MERGE",
        ),
        ("copy contacts to stdout", "COPY"),
        ("copy (select 1) to program 'id'", "COPY"),
        ("load 'plpgsql'", "LOAD"),
        ("do $$ begin perform 1; end $$", "DO"),
        ("call merge_contacts(1, 2)", "CALL"),
        ("explain analyze delete from contacts", "EXPLAIN"),
        ("begin", "transaction"),
        ("commit", "transaction"),
        ("prepare p as select 1", "PREPARE"),
        ("execute p", "PREPARE"),
        ("notify x", "NOTIFY"),
        ("lock contacts", "LOCK"),
        ("truncate contacts", "TRUNCATE"),
        ("grant service_role to authenticated", "GRANT"),
        ("create table t (a int)", "Create"),
        ("drop table contacts", "Drop"),
    ] {
        let e = refused(sql);
        assert!(
            e.message.contains("takes one SELECT") && e.message.contains(what),
            "{sql}: {e}"
        );
    }
    assert!(refused("").message.contains("no statement"));
    assert!(refused(" ;; ").message.contains("no statement"));
    assert!(
        refused("-- only a comment")
            .message
            .contains("no statement")
    );
}

#[test]
fn writes_and_locks_hidden_in_a_select_are_refused() {
    for sql in [
        "with d as (delete from contacts returning *) select * from d",
        "WITH u AS (UPDATE contacts SET title = 'x' RETURNING id) SELECT count(*) FROM u",
        "with a as (select 1), i as (insert into tags(name, color) values ('a','b') returning id) select * from i",
        "select * from (with d as (delete from contacts returning id) select * from d) s",
        "select (with d as (delete from contacts returning id) select count(*) from d)",
    ] {
        let e = refused(sql);
        assert!(e.message.contains("data-changing WITH"), "{sql}: {e}");
    }
    for sql in [
        "select * into t2 from contacts",
        "select 1 as a into temp t3",
        "SELECT * INTO UNLOGGED t4 FROM contacts",
    ] {
        assert!(refused(sql).message.contains("INTO"), "{sql}");
    }
    for sql in [
        "select * from contacts for update",
        "select * from contacts for share",
        "select * from contacts for no key update nowait",
        "select * from contacts for key share skip locked",
        "select * from (select * from contacts for update) s",
        "select 1 union select id from (select id from contacts for update of contacts) s",
    ] {
        assert!(refused(sql).message.contains("FOR UPDATE"), "{sql}");
    }
}

#[test]
fn settings_and_their_functions_are_refused_however_spelled() {
    for sql in [
        "select set_config('role', 'postgres', true)",
        "SELECT SET_CONFIG('role','postgres',true)",
        "SELECT pg_catalog.set_config('role','postgres',true)",
        "SELECT PG_CATALOG.Set_Config('role','postgres',true)",
        "select \"set_config\"('request.jwt.claims', '{}', true)",
        "select \"pg_catalog\".\"set_config\"('role', 'x', true)",
        "select u&\"\\0073et_config\"('role', 'postgres', true)",
        "select U&\"!0073et_config\" UESCAPE '!' ('role', 'postgres', true)",
        "select public.set_config('role', 'postgres', true)",
        "select current_setting('request.jwt.claims')",
        "select current_setting('request.jwt.claim.sub', true)",
        "select pg_catalog.current_setting('role')",
        "select 1 from contacts where set_config('role', 'x', true) is not null",
        "select (select set_config('request.jwt.claims', '{}', true))",
        "select count(*) filter (where set_config('a.b', 'c', true) = 'c') from contacts",
        "select sum(1) over (order by set_config('a.b', 'c', true)) from contacts",
        "select * from contacts order by set_config('a.b', 'c', true)",
        "select lower(set_config('a.b', 'c', true))",
        "select * from set_config('a.b', 'c', true)",
        "select * from rows from (set_config('a.b', 'c', true))",
        "select case when true then set_config('a.b','c',true) end",
        "select array[set_config('a.b','c',true)]",
        "select 1 group by set_config('a.b','c',true)",
        "select coalesce(null, set_config('a.b','c',true))",
        "values (set_config('a.b', 'c', true))",
        "with x as (select set_config('a.b', 'c', true)) select * from x",
        "select 1 limit (select length(set_config('a.b', 'c', true)))",
        "/* set_config */ select current_setting /* x */ ('role')",
        "select set_config\n(\n'role'\n,\n'x'\n,\ntrue\n)",
        "select query_to_xml('select 1', true, false, '')",
        "select query_to_xml($q$select set_config('role','postgres',true)$q$, true, false, '')",
        "select cursor_to_xml('c', 1, true, false, '')",
        "select table_to_xml('contacts', true, false, '')",
        "select ts_stat('select to_tsvector(title) from contacts')",
        "select ts_rewrite('a'::tsquery, 'select 1')",
        "select dblink_exec('x')",
        "select * from dblink('host=x', 'select 1') as t(a int)",
        "select pg_advisory_lock(1)",
        "select pg_try_advisory_xact_lock(1)",
        "select lo_import('/etc/passwd')",
        "select lo_create(0)",
        "select pg_read_file('/etc/passwd')",
        "select pg_ls_dir('.')",
        "select pg_terminate_backend(1)",
        "select pg_notify('a', 'b')",
        "select nextval('contacts_id_seq')",
        "select setval('contacts_id_seq', 1)",
        "select setseed(0.5)",
    ] {
        let e = refused(sql);
        assert!(e.message.contains("does not allow"), "{sql}: {e}");
    }
}

#[test]
fn functions_off_the_allow_list_are_refused() {
    for sql in [
        "select pg_sleep(10)",
        "select pg_sleep_for('1 minute')",
        "select txid_current()",
        "select pg_current_xact_id()",
        "select version()",
        "select pg_backend_pid()",
        "select merge_contacts(1, 2)",
        "select public.merge_contacts(1, 2)",
        "select auth.uid()",
        "select is_admin()",
        "select xmlagg(xmlelement(name a))",
        "select has_table_privilege('contacts', 'select')",
        "select \"LOWER\"('A')",
        "select a.b.c(1)",
        "select * from pg_catalog.generate_series(1, 2) g, my_table_function(1)",
    ] {
        let e = refused(sql);
        assert!(e.message.contains("does not allow"), "{sql}: {e}");
        assert!(
            e.suggestion.contains("sql_allow_functions") || e.message.contains("XML"),
            "{sql}: {}",
            e.suggestion
        );
    }
    // the operator's own list
    let guard = SqlGuard::new(&["auth.uid".into(), "pg_sleep".into()]).unwrap();
    assert!(guard.check("select auth.uid()").is_ok());
    assert!(guard.check("select pg_catalog.pg_sleep(0)").is_ok());
    assert!(guard.check("select uid()").is_err(), "only with its schema");
    assert!(guard.check("select public.uid()").is_err());
}

#[test]
fn types_operators_collations_and_sampling_stay_built_in() {
    for sql in [
        "select '1'::public.my_domain",
        "select cast('1' as extensions.citext)",
        "select '{}'::jsonb::public.d",
        "select null::contacts.id%type",
        "select 1 operator(public.+) 2",
        "select 'a' operator(evil.=) 'b'",
        "select * from contacts order by id using operator(public.<)",
        "select 1 = any (select 1) and 1 operator(public.=) any (select 1)",
        "select 'a' collate public.evil",
        "select * from contacts tablesample system_rows(10)",
        "select * from contacts tablesample public.bernoulli(10)",
        "select * from json_to_record('{}') as r(a public.d)",
    ] {
        let e = refused(sql);
        assert!(
            e.message.contains("built-in") || e.message.contains("%TYPE"),
            "{sql}: {e}"
        );
    }
    for sql in [
        "select '1'::int, '1'::pg_catalog.int8, 'x'::text collate \"C\", 1 operator(pg_catalog.+) 2",
        "select * from contacts order by id using <",
        "select 'contacts'::regclass",
    ] {
        accepted(sql);
    }
}

#[test]
fn placeholders_are_a_validation_error() {
    for sql in [
        "select $1",
        "select * from contacts where id = $1",
        "select * from contacts where id = any($2::int[])",
        "select $1::text, 'no' where 1 = $3",
    ] {
        let e = refused(sql);
        assert_eq!(e.code, ErrorCode::Validation, "{sql}");
        assert!(e.message.contains("placeholder"), "{sql}: {e}");
        assert!(e.suggestion.contains("write the values"), "{sql}");
    }
}

#[test]
fn malformed_text_is_a_validation_error_naming_the_problem() {
    for sql in [
        "select 'open",
        "select /* open",
        "select /* nested /* still open */",
        "select $x$ open",
        "select \"open",
        "select e'\\'",
        "select from where",
        "selec 1",
        "select 1 +",
    ] {
        let e = refused(sql);
        assert_eq!(e.code, ErrorCode::Validation, "{sql}: {e}");
        assert!(e.message.contains("does not parse"), "{sql}: {e}");
    }
    let e = refused("select 1\0; delete from contacts");
    assert!(e.message.contains("NUL"));
    let deep = format!("select {}1{}", "abs(".repeat(2000), ")".repeat(2000));
    let e = refused(&deep);
    assert_eq!(e.code, ErrorCode::Validation);
}

#[test]
fn comments_and_quotes_end_where_postgresql_ends_them() {
    // nested block comments: the text after the inner */ is still comment
    assert_eq!(
        accepted("select 1 /* a /* b */ ; delete from contacts */"),
        "SELECT 1"
    );
    // a dollar tag is not closed by a different tag, and $1x is not a tag
    assert_eq!(
        accepted("select $a$ $b$ ; delete $b$ $a$"),
        "SELECT ' $b$ ; delete $b$ '"
    );
    // standard strings: backslash is data, '' is a quote
    assert_eq!(accepted("select '\\'"), "SELECT E'\\\\'");
    assert_eq!(accepted("select 'a'';select 2;'"), "SELECT 'a'';select 2;'");
    // E strings: \' escapes the quote
    assert_eq!(
        accepted("select e'\\'; select 2; '"),
        "SELECT '''; select 2; '"
    );
    // -- runs to the end of the line only
    assert!(
        refused("select 1 -- c\n; select 2")
            .message
            .contains("one statement")
    );
    // unicode escapes decode before the check
    assert!(
        refused("select U&\"\\0063urrent_setting\"('role')")
            .message
            .contains("current_setting")
    );
    // a comment cannot hide inside a quoted identifier
    assert_eq!(
        accepted("select 1 as \"/*\", 2 as \"*/\""),
        "SELECT 1 AS \"/*\", 2 AS \"*/\""
    );
    // unicode text and identifiers are data
    assert!(accepted("select 'héllo ✓ 世界' as \"名前\"").contains("世界"));
}

#[test]
fn the_documentation_lists_the_default_allow_list() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/atomic-sql-guard.md"
    );
    let doc = std::fs::read_to_string(path).expect("docs/atomic-sql-guard.md");
    for name in DEFAULT_FUNCTIONS {
        assert!(
            doc.contains(&format!("`{name}`")),
            "{name} is not documented"
        );
    }
}
