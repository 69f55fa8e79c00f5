-- Who may touch which table at all. Acting as each role that is not a signed-in user (anon and
-- the narrow roles), every select/insert/update/delete on every public table is refused with
-- 42501 except the few this file lists as their job; signed-in users are refused every
-- system_* table, the webhook inbox and the reset tokens. What the allowed ones may do row by
-- row is proven in the per-domain files.
\ir support/people.psql
begin;
select * from no_plan();

create temporary view table_operations as
select c.relname::text as table_name,
       (select a.attname::text from pg_attribute a where a.attrelid = c.oid and a.attnum = 1) as first_column,
       op
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
cross join unnest(array['select', 'insert', 'update', 'delete']) as op
where n.nspname = 'public' and c.relkind in ('r', 'p');
grant select on table_operations to anon, authenticated, service_role, webhook_ingest, maintenance, rate_limiter;

create temporary view attempts as
select table_name, op,
       case op
         when 'select' then format('select * from public.%I', table_name)
         when 'insert' then format('insert into public.%I default values', table_name)
         when 'update' then format('update public.%I set %I = %I where false', table_name, first_column, first_column)
         when 'delete' then format('delete from public.%I where false', table_name)
       end as statement
from table_operations;
grant select on attempts to anon, authenticated, service_role, webhook_ingest, maintenance, rate_limiter;

-- anon -----------------------------------------------------------------------------------------
set local role anon;
set local request.jwt.claims = '{"role": "anon"}';
select throws_ok(statement, '42501', null, format('An anonymous visitor cannot %s %s', op, table_name))
from attempts order by table_name, op;

-- webhook_ingest: every table refused, the inbox too (it stores deliveries through its RPC) --------
set local role webhook_ingest;
set local request.jwt.claims = :'webhooks';
select throws_ok(statement, '42501', null, format('The webhook intake cannot %s %s', op, table_name))
from attempts
order by table_name, op;

-- maintenance ----------------------------------------------------------------------------------
set local role maintenance;
set local request.jwt.claims = :'maint';
select throws_ok(statement, '42501', null, format('The maintenance job cannot %s %s', op, table_name))
from attempts
where (table_name, op) not in (values
  ('security_api_keys', 'select'), ('security_api_keys', 'update'),
  ('crm_leads', 'select'), ('crm_leads', 'update'),
  ('crm_lead_scoring_rules', 'select'), ('crm_lead_scoring_settings', 'select'),
  ('system_webhook_events', 'select'), ('system_scheduled_deletions', 'select'),
  ('system_deletion_audits', 'select'), ('system_logs', 'select'),
  ('system_logs_settings', 'select'), ('system_settings', 'select'))
order by table_name, op;
select lives_ok(format('select * from public.%I', t), format('The maintenance job can read %s', t))
from unnest(array['crm_leads', 'crm_lead_scoring_rules', 'crm_lead_scoring_settings',
                  'system_webhook_events', 'system_scheduled_deletions', 'system_deletion_audits',
                  'system_logs', 'system_logs_settings', 'system_settings']) t;

-- rate_limiter ---------------------------------------------------------------------------------
set local role rate_limiter;
set local request.jwt.claims = :'limiter';
select throws_ok(statement, '42501', null, format('The rate limiter cannot %s %s', op, table_name))
from attempts
where (table_name, op) not in (values ('system_rate_limits', 'select'))
order by table_name, op;
select is((select count(*)::int from public.system_rate_limits), 7,
  'The rate limiter reads every configured limit');

-- authenticated --------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'alice';
select throws_ok(statement, '42501', null, format('A signed-in user cannot %s %s', op, table_name))
from attempts
where table_name like 'system\_%' or table_name = 'security_reset_tokens'
order by table_name, op;

-- service_role ---------------------------------------------------------------------------------
set local role service_role;
set local request.jwt.claims = '{"role": "service_role"}';
select lives_ok(format('select * from public.%I', table_name), format('The service role can read %s', table_name))
from table_operations where op = 'select' order by table_name;

select * from finish();
rollback;
