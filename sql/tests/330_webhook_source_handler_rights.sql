-- A webhook source's handler runs with its own author's rights (0037). The attack: a role that
-- may create functions and register sources registers a SECURITY INVOKER function, which 0031
-- ran with the processing function owner's rights, and sends one delivery to run any statement
-- as the database owner. Now such a handler is refused at registration, and one switched to
-- invoker after registration is never run.
\ir support/people.psql
begin;
select * from no_plan();

create table public.test_handler_runs (ran_as text not null);
grant insert on public.test_handler_runs to public;
create function public.test_invoker_handler(event jsonb) returns text
language plpgsql set search_path = '' as $$
begin
  insert into public.test_handler_runs values (current_user);
  return 'processed';
end $$;
create function public.test_definer_handler(event jsonb) returns text
language plpgsql security definer set search_path = '' as $$
begin
  insert into public.test_handler_runs values (current_user);
  return 'processed';
end $$;
grant execute on function public.test_invoker_handler(jsonb), public.test_definer_handler(jsonb) to webhook_ingest, service_role;

select throws_ok($$insert into system_webhook_sources (name, handler) values ('sneaky', 'public.test_invoker_handler(jsonb)')$$,
  '22023', 'the handler of webhook source sneaky must be SECURITY DEFINER',
  'A SECURITY INVOKER handler is refused: it would run with the processing function owner''s rights');

revoke execute on function public.test_definer_handler(jsonb) from service_role, public;
set local role service_role;
select throws_ok($$insert into system_webhook_sources (name, handler) values ('borrowed', 'public.test_definer_handler(jsonb)')$$,
  '42501', null, 'The service role cannot register a handler it could not execute itself');
reset role;
grant execute on function public.test_definer_handler(jsonb) to service_role;

set local role service_role;
select lives_ok($$insert into system_webhook_sources (name, handler) values ('honest', 'public.test_definer_handler(jsonb)')$$,
  'A SECURITY DEFINER handler is registered');
reset role;

set local role webhook_ingest;
set local request.jwt.claims = :'webhooks';
select is(receive_source_webhook_event('honest', 'msg_1', 'x.created', '{"type": "x.created"}') ->> 'status', 'processed',
  'Its events are applied');
reset role;
select is((select array_agg(ran_as) from public.test_handler_runs), array[current_user::text],
  '...with the rights of the handler''s owner');

-- Switched to invoker after registration: never run, kept failed for its retry.
alter function public.test_definer_handler(jsonb) security invoker;
delete from public.test_handler_runs;
set local role webhook_ingest;
set local request.jwt.claims = :'webhooks';
select is(receive_source_webhook_event('honest', 'msg_2', 'x.created', '{"type": "x.created"}') ->> 'status', 'failed',
  'An event for a handler switched to SECURITY INVOKER is not applied');
reset role;
select is((select count(*)::int from public.test_handler_runs), 0, 'The handler did not run');
select matches((select last_error from system_webhook_events where provider = 'standard' and event_id = 'msg_2'),
  'no longer SECURITY DEFINER', 'The event says why, for the operator');

alter function public.test_definer_handler(jsonb) security definer;
set local role maintenance;
set local request.jwt.claims = :'maint';
select is(retry_webhook_event((select id from system_webhook_events where provider = 'standard' and event_id = 'msg_2')) ->> 'status',
  'processed', 'Once the handler is fixed, the retry applies the event');
reset role;

select * from finish();
rollback;
