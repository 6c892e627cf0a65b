-- Canaries and traps for crm_query's escape tests, applied after schema.sql and seed.sql by the
-- tests that need them. Each proves through the database that an escape did not run.

-- A table every signed-in user may change, and a sequence they may advance: only the guard and
-- the read-only transaction stand between crm_query and them.
create table public.canary (id integer primary key, note text not null);
insert into public.canary values (1, 'untouched');
alter table public.canary enable row level security;
create policy canary_all on public.canary for all to authenticated using (true) with check (true);
grant select, insert, update, delete on public.canary to authenticated;
create sequence public.canary_seq;
grant usage, select, update on sequence public.canary_seq to authenticated;

-- Owner-only rows: Alice's private note must never reach Bob.
create table public.private_notes (id integer primary key, owner uuid not null, body text not null);
alter table public.private_notes enable row level security;
create policy owner_only on public.private_notes for all to authenticated
  using (owner = auth.uid()) with check (owner = auth.uid());
grant select on public.private_notes to authenticated;
insert into public.private_notes values
  (1, '11111111-1111-4111-8111-111111111111', 'ALICE-SECRET'),
  (2, '22222222-2222-4222-8222-222222222222', 'bob-note');

-- Traps: objects outside pg_catalog named like built-ins, each a better match than the built-in
-- under the default search_path ("$user", public), as someone allowed to create objects in
-- public could plant them. Calling one raises TRAP HIT.
create function public.crmgate_trap() returns boolean language plpgsql
  as $$ begin raise exception 'TRAP HIT: a planted function ran'; end $$;
create function public.lower(character varying) returns text language plpgsql
  as $$ begin raise exception 'TRAP HIT: public.lower(varchar) ran'; end $$;
create function public.length(character varying) returns integer language plpgsql
  as $$ begin raise exception 'TRAP HIT: public.length(varchar) ran'; end $$;
create function public.upper(name) returns text language plpgsql
  as $$ begin raise exception 'TRAP HIT: public.upper(name) ran'; end $$;
create function public.crmgate_trap_eq(character varying, character varying) returns boolean
  language plpgsql as $$ begin raise exception 'TRAP HIT: public.=(varchar, varchar) ran'; end $$;
create operator public.= (leftarg = character varying, rightarg = character varying,
  function = public.crmgate_trap_eq);
create function public.crmgate_trap_concat(text, character varying) returns text
  language plpgsql as $$ begin raise exception 'TRAP HIT: public.||(text, varchar) ran'; end $$;
create operator public.|| (leftarg = text, rightarg = character varying,
  function = public.crmgate_trap_concat);
create domain public.trapped as text check (public.crmgate_trap());
