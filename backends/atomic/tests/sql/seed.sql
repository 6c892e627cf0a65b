-- Test data: two users (Alice signs up first and becomes administrator, then Bob), and a small
-- deterministic CRM: 8 companies, 30 contacts, 12 deals, tasks, notes and tags. Timestamps are
-- whole seconds in UTC so that filters on them are exact.
insert into auth.users (id, aud, role, email, raw_user_meta_data) values
  ('11111111-1111-4111-8111-111111111111', 'authenticated', 'authenticated', 'alice@example.com',
   '{"first_name": "Alice", "last_name": "Admin"}'),
  ('22222222-2222-4222-8222-222222222222', 'authenticated', 'authenticated', 'bob@example.com',
   '{"first_name": "Bob", "last_name": "Seller"}');

insert into public.tags (name, color) values
  ('football-fan', '#eddcd2'), ('holiday-card', '#fff1e6'), ('influencer', '#fde2e4'),
  ('manager', '#fad2e1'), ('musician', '#c5dedd'), ('vip', '#dbe7e4');

insert into public.companies (created_at, name, sector, size, website, phone_number, city, country, sales_id, description)
select timestamptz '2026-01-01 09:00:00+00' + (n || ' days')::interval,
       (array['Acme Corp', 'Globex', 'Initech', 'Umbrella Health', 'Stark Materials', 'Wayne Energy', 'Hooli', 'Vandelay Imports'])[n],
       (array['industrials', 'information-technology', 'information-technology', 'health-care', 'materials', 'energy', 'communication-services', 'consumer-staples'])[n],
       (array[50, 250, 10, 500, 250, 500, 1, 10])[n],
       'https://www.' || lower(replace((array['Acme Corp', 'Globex', 'Initech', 'Umbrella Health', 'Stark Materials', 'Wayne Energy', 'Hooli', 'Vandelay Imports'])[n], ' ', '')) || '.example',
       '+1 555 01' || lpad(n::text, 2, '0'),
       (array['Springfield', 'Cypress Creek', 'Austin', 'Raccoon City', 'Malibu', 'Gotham', 'Palo Alto', 'New York'])[n],
       'US', 1 + (n % 2),
       'Company number ' || n
from generate_series(1, 8) n;

insert into public.contacts (first_name, last_name, gender, title, background, first_seen, last_seen,
  has_newsletter, status, tags, company_id, sales_id, email_jsonb, phone_jsonb)
select (array['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Ken', 'Dennis', 'Margaret', 'Linus'])[1 + (n - 1) % 10],
       (array['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Thompson', 'Ritchie', 'Hamilton', 'Torvalds'])[1 + (n * 3) % 10] || ' ' || n,
       (array['female', 'female', 'male', 'male', 'female', 'male', 'male', 'male', 'female', 'male'])[1 + (n - 1) % 10],
       (array['CEO', 'CTO', 'Engineer', 'Buyer', 'Manager'])[1 + n % 5],
       'Met at conference ' || n,
       timestamptz '2026-02-01 10:00:00+00' + (n || ' days')::interval,
       timestamptz '2026-03-01 10:00:00+00' + (n || ' hours')::interval,
       n % 3 = 0,
       (array['cold', 'warm', 'hot', 'in-contract'])[1 + n % 4],
       case when n % 4 = 0 then array[1, 6]::bigint[] when n % 5 = 0 then array[3]::bigint[] else null end,
       1 + (n % 8), 1 + (n % 2),
       jsonb_build_array(jsonb_build_object('email', 'Person' || n || '@Example.com', 'type', 'Work')),
       jsonb_build_array(jsonb_build_object('number', '+1 555 10' || lpad(n::text, 2, '0'), 'type', 'Work'))
from generate_series(1, 30) n;

insert into public.deals (name, company_id, contact_ids, category, stage, description, amount,
  created_at, updated_at, expected_closing_date, sales_id, index)
select 'Deal ' || n || ' ' || (array['website', 'redesign', 'print run', 'ui kit'])[1 + n % 4],
       1 + (n % 8), array[1 + (n % 30), 1 + ((n + 7) % 30)]::bigint[],
       (array['website-design', 'ui-design', 'print-project', 'copywriting', 'other'])[1 + n % 5],
       (array['opportunity', 'proposal-sent', 'in-negociation', 'won', 'lost', 'delayed'])[1 + n % 6],
       'Deal description ' || n, n * 1000,
       timestamptz '2026-01-15 12:00:00+00' + (n || ' days')::interval,
       timestamptz '2026-01-15 12:00:00+00' + (n || ' days')::interval,
       date '2026-06-01' + n, 1 + (n % 2), n % 3
from generate_series(1, 12) n;

insert into public.tasks (contact_id, type, text, due_date, done_date, sales_id)
select 1 + (n % 10), (array['call', 'email', 'meeting', 'follow-up'])[1 + n % 4], 'Task ' || n,
       timestamptz '2026-04-01 09:00:00+00' + (n || ' days')::interval,
       case when n % 3 = 0 then timestamptz '2026-04-02 09:00:00+00' else null end, 1 + (n % 2)
from generate_series(1, 15) n;

insert into public.contact_notes (contact_id, text, date, sales_id, status)
select 1 + (n % 5), 'Note ' || n || ' about the contact', timestamptz '2026-03-10 08:00:00+00' + (n || ' hours')::interval,
       1 + (n % 2), (array['cold', 'warm', 'hot'])[1 + n % 3]
from generate_series(1, 10) n;

insert into public.deal_notes (deal_id, type, text, date, sales_id)
select 1 + (n % 4), 'Email', 'Deal note ' || n, timestamptz '2026-03-12 08:00:00+00' + (n || ' hours')::interval, 1 + (n % 2)
from generate_series(1, 6) n;
