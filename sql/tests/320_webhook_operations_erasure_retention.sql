-- What the webhook operator tables hold about a person is erased with them, and the tables do not
-- grow without bound (0036). The leak this stops: after 0030-0034, erasing al@x.io left his
-- address in an operator's resolution reason, in a source function's last error and its alert,
-- in the operator audit, and left whole events an operator had resolved by hand. Hal, whose
-- address contains al's, keeps every row as it was.
\ir support/people.psql
begin;
select * from no_plan();
\set al_id 'eeee0000-0000-4000-8000-0000000000b1'
\set hal_id 'eeee0000-0000-4000-8000-0000000000b2'
select tests.create_user(:'al_id', 'al@x.io', 'Al Erased');
select tests.create_user(:'hal_id', 'hal@x.io', 'Hal Kept');

insert into system_webhook_events (provider, event_id, event_type, payload, status, processed_at, attempts, next_attempt_at, last_error, resolved_at, resolution) values
  ('stripe', 'al_resolved', 'invoice.paid', '{"data": {"object": {"customer_email": "al@x.io"}}}', 'resolved', null, 3, null, 'boom', now(), 'refunded by hand'),
  ('stripe', 'al_given_up', 'invoice.paid', '{"data": {"object": {"customer_email": "Al <al@x.io>"}}}', 'failed', null, 9, null, 'no customer for al@x.io', null, null),
  ('stripe', 'other_resolved', 'invoice.paid', '{"data": {"object": {"customer": "cus_1"}}}', 'resolved', null, 2, null, 'boom', now(), 'asked al@x.io, he paid by bank'),
  ('stripe', 'hal_resolved', 'invoice.paid', '{"data": {"object": {"customer_email": "hal@x.io"}}}', 'resolved', null, 2, null, 'no customer for hal@x.io', now(), 'hal@x.io paid twice');
insert into system_webhook_alerts (kind, event, details, status) values
  ('given_up', (select id from system_webhook_events where event_id = 'al_given_up'),
   '{"provider": "stripe", "event_id": "al_given_up", "last_error": "no customer for al@x.io"}', 'sent'),
  ('given_up', (select id from system_webhook_events where event_id = 'hal_resolved'),
   '{"provider": "stripe", "event_id": "hal_resolved", "last_error": "no customer for hal@x.io"}', 'sent');
insert into system_webhook_operator_actions (action, credential, filter, reason) values
  ('resolve', 'secret_key', '{}', 'asked al@x.io, he paid by bank'),
  ('list', 'secret_key', '{"type": "invoice.paid", "note": "AL@X.IO"}', null),
  ('resolve', 'secret_key', '{}', 'hal@x.io paid twice');
insert into system_scheduled_deletions (user_id, scheduled_for) values (:'al_id', now() - interval '1 minute');

create temporary table hal_before on commit drop as
  select to_jsonb(e) as row from system_webhook_events e where event_id = 'hal_resolved'
  union all select to_jsonb(a) - 'event' from system_webhook_alerts a where details ->> 'event_id' = 'hal_resolved'
  union all select to_jsonb(o) from system_webhook_operator_actions o where reason like 'hal%';

set local role maintenance;
set local request.jwt.claims = :'maint';
select is(cleanup_due_erasures(10), '{"erased": 1, "failed": 0}'::jsonb, 'Al is erased');
reset role;

select is((select count(*)::int from system_webhook_events where event_id = 'al_resolved'), 0,
  'The event an operator resolved, whose payload names Al, is deleted like a processed one');
select is((select (payload -> 'data' -> 'object' ->> 'customer_email', last_error) from system_webhook_events where event_id = 'al_given_up'),
  ('[erased]'::text, '[erased]'::text), 'The given-up event is kept for the operator, his address gone from payload and last error');
select is((select (resolution, last_error) from system_webhook_events where event_id = 'other_resolved'),
  ('[erased]'::text, 'boom'::text), 'A resolution reason naming Al is erased on an event that is not his');
select is((select details from system_webhook_alerts where details ->> 'event_id' = 'al_given_up'),
  '{"provider": "stripe", "event_id": "al_given_up"}'::jsonb, 'The alert about his event loses its last error');
select is((select array_agg(coalesce(reason, filter ->> 'note') order by created_at, reason) from system_webhook_operator_actions
           where reason = '[erased]' or filter ->> 'note' = '[erased]'),
  array['[erased]', '[erased]'], 'The operator audit keeps its rows, his address erased from reason and filter');
select is((select count(*)::int from (
             select to_jsonb(e) as row from system_webhook_events e where event_id = 'hal_resolved'
             union all select to_jsonb(a) - 'event' from system_webhook_alerts a where details ->> 'event_id' = 'hal_resolved'
             union all select to_jsonb(o) from system_webhook_operator_actions o where reason like 'hal%') now_rows
           join hal_before using (row)), 3, 'Every row about hal@x.io is exactly as it was');
select is((select count(*)::int from (
             select to_jsonb(e)::text as t from system_webhook_events e
             union all select to_jsonb(a)::text from system_webhook_alerts a
             union all select to_jsonb(o)::text from system_webhook_operator_actions o) everything
           where t ~* '(?<![a-z])al@x\.io'), 0, 'Nothing in the webhook tables names al@x.io any more');
select is((select (row_counts -> 'webhook_events_resolved_deleted', row_counts -> 'webhook_operations_anonymised')
           from system_deletion_audits where subject_hash = encode(sha256(convert_to(:'al_id', 'UTF8')), 'hex')),
  ('1'::jsonb, '5'::jsonb), 'The deletion audit counts them (1 deleted; 2 events, 1 alert, 2 audit rows anonymised)');

-- retention -----------------------------------------------------------------------------------
delete from system_webhook_alerts;
delete from system_webhook_operator_actions;
insert into system_webhook_alerts (kind, details, status, created_at) values
  ('backlog', '{"failed": 10}', 'sent', now() - interval '40 days'),
  ('backlog', '{"failed": 11}', 'failed', now() - interval '41 days'),
  ('backlog', '{"failed": 12}', 'pending', now() - interval '42 days'),
  ('backlog', '{"failed": 13}', 'sent', now() - interval '1 day');
insert into system_webhook_reconcile_runs (provider, run_trigger, window_start, started_at, finished_at, error) values
  ('stripe', 'cron', now() - interval '100 days', now() - interval '90 days', now() - interval '90 days', null),
  ('stripe', 'cron', now() - interval '90 days', now() - interval '60 days', now() - interval '60 days', null),
  ('stripe', 'cron', now() - interval '60 days', now() - interval '50 days', now() - interval '50 days', 'stripe 500'),
  ('stripe', 'request', now() - interval '2 days', now() - interval '1 day', null, null);
insert into system_webhook_operator_actions (action, credential, created_at) values
  ('list', 'secret_key', now() - interval '400 days'),
  ('list', 'secret_key', now() - interval '200 days');

set local role maintenance;
set local request.jwt.claims = :'maint';
select is(cleanup_webhook_events(1, 30) -> 'by_table',
  '{"system_webhook_events": 0, "system_webhook_alerts": 1, "system_webhook_reconcile_runs": 1, "system_webhook_operator_actions": 1}'::jsonb,
  'Each table gives up at most batch_size rows a call');
select is(cleanup_webhook_events(1000, 30), '{"deleted": 2, "by_table": {"system_webhook_events": 0, "system_webhook_alerts": 1, "system_webhook_reconcile_runs": 1, "system_webhook_operator_actions": 0}}'::jsonb,
  'and the next call takes the rest, `deleted` being the sum');
select is(cleanup_webhook_events(1000, 30) ->> 'deleted', '0', 'until nothing is left to delete');
reset role;
select is((select array_agg(details ->> 'failed' order by created_at) from system_webhook_alerts), array['12', '13'],
  'Sent and failed alerts past the retention go; a pending one and a recent one stay');
select is((select array_agg(started_at::date order by started_at) from system_webhook_reconcile_runs),
  array[(now() - interval '60 days')::date, (now() - interval '1 day')::date],
  'Old reconcile runs go, except the newest successful one, which the next window starts from');
select is((select count(*)::int from system_webhook_operator_actions), 1, 'The operator audit keeps a year');

set local role authenticated;
set local request.jwt.claims = :'alice';
select throws_ok('select cleanup_webhook_events(1000, 30)', '42501', null, 'A user cannot run the retention job');
select throws_ok(format('select private.erase_webhook_operations_data(%L)', :'hal_id'), '42501', null,
  'nor erase anyone''s webhook traces');
reset role;

select * from finish();
rollback;
