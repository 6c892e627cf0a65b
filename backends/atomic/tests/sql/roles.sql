-- Cluster-wide roles for the Atomic CRM test databases (roles are shared by every database of
-- a cluster, so every statement is guarded and the file can run any number of times).
--
-- The Supabase API roles, as Supabase creates them (NOLOGIN NOINHERIT; service_role BYPASSRLS),
-- and `authenticator`: the gateway's login role in the tests. It is NOINHERIT and a member of
-- anon and authenticated only, so it can become `authenticated` and nothing privileged.
-- The crmgate_refused_* roles exist so that tests can show the gateway refusing them.
do $$ begin
  if not exists (select from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit password 'authenticator';
  end if;
  if not exists (select from pg_roles where rolname = 'crmgate_refused_bypassrls') then
    create role crmgate_refused_bypassrls login noinherit bypassrls password 'refused';
  end if;
  if not exists (select from pg_roles where rolname = 'crmgate_refused_escalating') then
    create role crmgate_refused_escalating login noinherit password 'refused';
  end if;
  if not exists (select from pg_roles where rolname = 'crmgate_refused_inherit') then
    create role crmgate_refused_inherit login inherit password 'refused';
  end if;
  if not exists (select from pg_roles where rolname = 'crmgate_refused_outsider') then
    create role crmgate_refused_outsider login noinherit password 'refused';
  end if;
  if not exists (select from pg_roles where rolname = 'crmgate_refused_readall') then
    create role crmgate_refused_readall login noinherit password 'refused';
  end if;
  if not exists (select from pg_roles where rolname = 'crmgate_refused_files_group') then
    create role crmgate_refused_files_group nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'crmgate_refused_files') then
    create role crmgate_refused_files login noinherit password 'refused';
  end if;
end $$;

grant anon, authenticated to authenticator;
grant authenticated to crmgate_refused_bypassrls;
-- like hosted Supabase's own `authenticator`: it may also become service_role (BYPASSRLS)
grant anon, authenticated, service_role to crmgate_refused_escalating;
grant authenticated to crmgate_refused_inherit;
-- members of predefined roles that read or write everything, or reach server files
grant authenticated, pg_read_all_data to crmgate_refused_readall;
grant pg_read_server_files to crmgate_refused_files_group;
grant authenticated, crmgate_refused_files_group to crmgate_refused_files;
