-- Webhook operations (0031, 0032): configured Standard Webhooks sources and their handlers, and
-- the operator's list / replay / resolve, each audited. Who may call what: the operator path is
-- the maintenance role (the webhooks function's operator endpoints act as it) and service_role;
-- users, anon and the intake role are refused.
\ir support/people.psql
begin;
select * from no_plan();

-- a source whose handler fails until its table exists --------------------------------------------
create table public.test_source_effects (event_id text primary key, kind text not null);
create function public.test_apply_acme_event(event jsonb) returns text
language plpgsql security definer set search_path = '' as $$
begin
  if event ->> 'type' = 'acme.noise' then
    return 'not_interesting';
  end if;
  if not exists (select 1 from public.test_source_effects where event_id = 'switch-on') then
    raise exception 'acme effects are switched off';
  end if;
  insert into public.test_source_effects values (event ->> 'event_id', event -> 'payload' -> 'data' ->> 'kind')
  on conflict (event_id) do nothing;
  return 'processed';
end $$;
create function public.test_not_a_handler(event jsonb) returns integer language sql as $$ select 1 $$;
revoke execute on function public.test_apply_acme_event(jsonb) from public;

select throws_ok($$insert into system_webhook_sources (name, handler) values ('acme', 'public.test_apply_acme_event(jsonb)')$$,
  '22023', null, 'A handler the intake role cannot execute is refused');
grant execute on function public.test_apply_acme_event(jsonb) to webhook_ingest;
select throws_ok($$insert into system_webhook_sources (name, handler) values ('acme', 'public.test_not_a_handler(jsonb)')$$,
  '22023', null, 'A function that does not return text is refused as a handler');
select throws_ok($$insert into system_webhook_sources (name, handler) values ('stripe', 'public.test_apply_acme_event(jsonb)')$$,
  '23514', null, 'A source may not take a built-in provider''s name');
select lives_ok($$insert into system_webhook_sources (name, handler) values ('acme', 'public.test_apply_acme_event(jsonb)')$$,
  'The owner registers a source with its handler');

create temporary table outcomes (label text primary key, result jsonb) on commit drop;
grant select, insert on outcomes to webhook_ingest, maintenance, service_role;

set local role webhook_ingest;
set local request.jwt.claims = :'webhooks';
insert into outcomes values ('acme 1', receive_source_webhook_event('acme', 'msg_1', 'acme.created',
  '{"type": "acme.created", "timestamp": "2026-01-01T00:00:00Z", "data": {"kind": "first"}}'));
insert into outcomes values ('acme noise', receive_source_webhook_event('acme', 'msg_2', 'acme.noise',
  '{"type": "acme.noise", "timestamp": "2026-01-01T00:00:01Z", "data": {}}'));
insert into outcomes values ('acme 1 again', receive_source_webhook_event('acme', 'msg_1', 'acme.created', '{"type": "acme.created"}'));
select is((select result ->> 'status' from outcomes where label = 'acme 1'), 'failed', 'A source event whose handler raises is kept as failed');
select is((select (result ->> 'status', result ->> 'reason') from outcomes where label = 'acme noise'), ('ignored'::text, 'not_interesting'::text),
  'A handler''s own word other than processed records the event as ignored with that reason');
select is((select result ->> 'status' from outcomes where label = 'acme 1 again'), 'duplicate', 'A source event stored before is a duplicate');
select throws_ok($$select receive_source_webhook_event('nobody', 'msg_1', 'x', '{}')$$, '22023', null,
  'An unregistered source is refused');
reset role;
select is((select (source, event_created_at) from system_webhook_events where provider = 'standard' and event_id = 'msg_1'),
  ('acme'::text, '2026-01-01T00:00:00Z'::timestamptz), 'A source event is stored with its source and its own timestamp');

-- the same id at two sources and at a built-in provider are different events
insert into system_webhook_sources (name, handler) values ('acme-eu', 'public.test_apply_acme_event(jsonb)');
set local role webhook_ingest;
insert into outcomes values ('eu 1', receive_source_webhook_event('acme-eu', 'msg_1', 'acme.noise', '{"type": "acme.noise"}'));
select is((select result ->> 'status' from outcomes where label = 'eu 1'), 'ignored', 'Another source may use the same event id');

-- who may call the operator functions -------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'alice';
select throws_ok($$select operator_list_webhook_events('{}', true, '{"credential": "secret_key"}')$$, '42501', null,
  'A signed-in user cannot list webhook events');
select throws_ok($$select operator_replay_webhook_events('{}', '{"credential": "secret_key"}')$$, '42501', null,
  'A signed-in user cannot replay webhook events');
select throws_ok(format($$select operator_resolve_webhook_event(%L, 'x', '{"credential": "secret_key"}')$$, gen_random_uuid()), '42501', null,
  'A signed-in user cannot resolve webhook events');
select throws_ok($$select * from system_webhook_sources$$, '42501', null, 'A signed-in user cannot see the configured sources');
set local role anon;
set local request.jwt.claims = '{"role": "anon"}';
select throws_ok($$select operator_list_webhook_events('{}', true, '{"credential": "secret_key"}')$$, '42501', null,
  'An anonymous caller cannot list webhook events');
select throws_ok($$insert into system_webhook_sources (name, handler) values ('evil', 'public.test_apply_acme_event(jsonb)')$$, '42501', null,
  'An anonymous caller cannot register a source');
set local role webhook_ingest;
set local request.jwt.claims = :'webhooks';
select throws_ok($$select operator_replay_webhook_events('{}', '{"credential": "secret_key"}')$$, '42501', null,
  'The intake role cannot replay events');
select throws_ok($$insert into system_webhook_sources (name, handler) values ('evil', 'public.test_apply_acme_event(jsonb)')$$, '42501', null,
  'The intake role cannot register a source (and so cannot have any function run by the processor)');
select throws_ok($$select * from system_webhook_operator_actions$$, '42501', null, 'The intake role cannot read the operator audit');

-- the operator path: list, replay, resolve --------------------------------------------------------
set local role maintenance;
set local request.jwt.claims = :'maint';
select throws_ok($$select operator_list_webhook_events('{}', false, '{}')$$, '22023', null, 'An operator call without its actor is refused');
select throws_ok($$select operator_list_webhook_events('{"colour": "red"}', false, '{"credential": "secret_key"}')$$, '22023', null,
  'An unknown filter is refused');
select throws_ok($$select operator_list_webhook_events('{"status": "broken"}', false, '{"credential": "secret_key"}')$$, '22023', null,
  'An unknown status is refused');
select throws_ok($$select operator_list_webhook_events('{"limit": 501}', false, '{"credential": "secret_key"}')$$, '22023', null,
  'A limit over 500 is refused');

insert into outcomes values ('list failed', operator_list_webhook_events('{"provider": "acme", "status": "failed"}', false,
  '{"credential": "secret_key", "fingerprint": "f00d", "request_id": "req-1"}'));
select is((select jsonb_array_length(result -> 'events') from outcomes where label = 'list failed'), 1, 'The operator lists the failed acme event');
select is((select result -> 'events' -> 0 ->> 'event_id' from outcomes where label = 'list failed'), 'msg_1', 'The listed event is msg_1');
select is((select result -> 'events' -> 0 ->> 'attempts' from outcomes where label = 'list failed'), '1', 'The list shows the attempt count');
select ok((select result -> 'events' -> 0 ->> 'last_error' from outcomes where label = 'list failed') like '%switched off%', 'The list shows the last error');
select ok((select not (result -> 'events' -> 0 ? 'payload') from outcomes where label = 'list failed'), 'Payloads are left out unless asked for');
insert into outcomes values ('list payloads', operator_list_webhook_events('{"provider": "acme", "type": "acme.created"}', true, '{"credential": "service_role_token"}'));
select is((select result -> 'events' -> 0 -> 'payload' -> 'data' ->> 'kind' from outcomes where label = 'list payloads'), 'first', 'Payloads come on request');

insert into outcomes values ('replay broken', operator_replay_webhook_events('{"provider": "acme", "status": "failed"}', '{"credential": "secret_key"}'));
select is((select (result ->> 'replayed', result ->> 'failed') from outcomes where label = 'replay broken'), ('1'::text, '1'::text),
  'Replaying while the cause is not fixed fails again');
reset role;
insert into public.test_source_effects values ('switch-on', 'switch');
set local role maintenance;
set local request.jwt.claims = :'maint';
insert into outcomes values ('replay fixed', operator_replay_webhook_events('{"provider": "acme", "status": "failed"}', '{"credential": "secret_key"}'));
select is((select (result ->> 'replayed', result ->> 'processed') from outcomes where label = 'replay fixed'), ('1'::text, '1'::text),
  'Once the cause is fixed, the replay applies the event');
insert into outcomes values ('replay again', operator_replay_webhook_events(
  jsonb_build_object('event', (select id from system_webhook_events where source = 'acme' and event_id = 'msg_1')), '{"credential": "secret_key"}'));
select is((select (result ->> 'replayed', result ->> 'skipped', result -> 'events' -> 0 ->> 'reason') from outcomes where label = 'replay again'),
  ('0'::text, '1'::text, 'not_replayable'::text), 'Replaying a processed event skips it');
reset role;
select is((select count(*)::int from public.test_source_effects where event_id = 'msg_1'), 1, 'The effect was applied once');
select is((select attempts from system_webhook_events where source = 'acme' and event_id = 'msg_1'), 3, 'The skipped replay did not touch the event');

-- given up, then resolved by hand
update system_webhook_events set status = 'failed', next_attempt_at = null, last_error = 'gave up' where source = 'acme-eu';
set local role maintenance;
set local request.jwt.claims = :'maint';
insert into outcomes values ('given up', operator_list_webhook_events('{"status": "given_up"}', false, '{"credential": "secret_key"}'));
select is((select result -> 'events' -> 0 ->> 'provider' from outcomes where label = 'given up'), 'acme-eu', 'Given-up events are listed as given_up');
select throws_ok(format($$select operator_resolve_webhook_event(%L, '', '{"credential": "secret_key"}')$$,
  (select id from system_webhook_events where source = 'acme-eu')), '22023', null, 'Resolving needs a reason');
select throws_ok(format($$select operator_resolve_webhook_event(%L, 'done', '{"credential": "secret_key"}')$$,
  (select id from system_webhook_events where source = 'acme' and event_id = 'msg_1')), '22023', null, 'A processed event cannot be resolved');
insert into outcomes values ('resolve', operator_resolve_webhook_event((select id from system_webhook_events where source = 'acme-eu'),
  'duplicate of a manual fix in ticket 42', '{"credential": "secret_key", "fingerprint": "f00d"}'));
select is((select result ->> 'status' from outcomes where label = 'resolve'), 'resolved', 'An operator resolves a given-up event');
select throws_ok($$select * from system_webhook_operator_actions$$, '42501', null, 'The maintenance role cannot read the operator audit');
reset role;
select is((select (status::text, resolution) from system_webhook_events where source = 'acme-eu'),
  ('resolved'::text, 'duplicate of a manual fix in ticket 42'::text), 'The resolved event keeps its reason');
select is((select count(*)::int from list_webhook_events_due_for_retry(1000) where source = 'acme-eu'), 0, 'A resolved event is never retried');

-- the audit ---------------------------------------------------------------------------------------
select is((select array_agg(action order by created_at, action) from system_webhook_operator_actions),
  array['list', 'list', 'list', 'replay', 'replay', 'replay', 'resolve'], 'Every operator action is audited');
select is((select (credential, fingerprint, request_id) from system_webhook_operator_actions where request_id = 'req-1'),
  ('secret_key'::text, 'f00d'::text, 'req-1'::text), 'The audit says who (credential kind and fingerprint) and which request');
select is((select outcome ->> 'previous_status' from system_webhook_operator_actions where action = 'resolve'), 'given_up',
  'The audit of a resolution keeps the status it closed');
select ok(not exists (select 1 from system_webhook_operator_actions a where a::text like '%first%'),
  'No payload content reaches the audit');
reset role;
grant execute on function public.test_apply_acme_event(jsonb) to service_role;
set local role service_role;
select is((select count(*)::int from system_webhook_operator_actions), 7, 'The service role reads the operator audit');
select lives_ok($$insert into system_webhook_sources (name, handler) values ('svc', 'public.test_apply_acme_event(jsonb)')$$,
  'The service role may register a source');

select * from finish();
rollback;
