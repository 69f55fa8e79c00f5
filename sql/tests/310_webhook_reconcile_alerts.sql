-- Stripe reconcile runs (0033) and webhook alerts (0034): who may call what, the reconcile window,
-- a page fed through the intake, alerts once per given-up event, at most so many an hour, and a
-- backlog alert at most hourly.
\ir support/people.psql
begin;
select * from no_plan();

create temporary table outcomes (label text primary key, result jsonb) on commit drop;
grant select, insert on outcomes to webhook_ingest, maintenance;

-- who may call ------------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'alice';
select throws_ok($$select start_webhook_reconcile_run('stripe', 'request')$$, '42501', null, 'A signed-in user cannot start a reconcile run');
select throws_ok($$select receive_webhook_events('stripe', '[]')$$, '42501', null, 'A signed-in user cannot feed events to the intake');
select throws_ok($$select claim_webhook_alerts(10, 10)$$, '42501', null, 'A signed-in user cannot claim alerts');
select throws_ok($$select * from system_webhook_alerts$$, '42501', null, 'A signed-in user cannot read alerts');
set local role anon;
set local request.jwt.claims = '{"role": "anon"}';
select throws_ok($$select receive_webhook_events('stripe', '[]')$$, '42501', null, 'An anonymous caller cannot feed events to the intake');
select throws_ok($$select record_webhook_alert(gen_random_uuid(), true)$$, '42501', null, 'An anonymous caller cannot record alerts');
set local role webhook_ingest;
set local request.jwt.claims = :'webhooks';
select throws_ok($$select start_webhook_reconcile_run('stripe', 'cron')$$, '42501', null, 'The intake role cannot open reconcile runs');
select throws_ok($$select claim_webhook_alerts(10, 10)$$, '42501', null, 'The intake role cannot claim alerts');
select throws_ok($$select * from system_webhook_reconcile_runs$$, '42501', null, 'The intake role cannot read reconcile runs');
set local role maintenance;
set local request.jwt.claims = :'maint';
select throws_ok($$select receive_webhook_events('stripe', '[]')$$, '42501', null, 'The maintenance role cannot feed events to the intake');
select throws_ok($$select * from system_webhook_alerts$$, '42501', null, 'The maintenance role cannot read alerts directly');

-- reconcile -----------------------------------------------------------------------------------------
insert into outcomes values ('run 1', start_webhook_reconcile_run('stripe', 'cron'));
select ok((select (result ->> 'since')::bigint between extract(epoch from now() - interval '30 days')::bigint - 1
                                               and extract(epoch from now() - interval '30 days')::bigint + 1
           from outcomes where label = 'run 1'), 'The first run looks back 30 days');
select throws_ok($$select start_webhook_reconcile_run('resend', 'cron')$$, '22023', null, 'Only Stripe is reconciled');
set local role webhook_ingest;
set local request.jwt.claims = :'webhooks';
insert into outcomes values ('page', receive_webhook_events('stripe', jsonb_build_array(
  jsonb_build_object('event_id', 'evt_rec_1', 'event_type', 'ping.unknown', 'payload', '{"id": "evt_rec_1", "created": 1700000000}'::jsonb),
  jsonb_build_object('event_id', 'evt_rec_1', 'event_type', 'ping.unknown', 'payload', '{"id": "evt_rec_1", "created": 1700000000}'::jsonb),
  jsonb_build_object('event_id', '', 'event_type', 'ping.unknown', 'payload', '{}'::jsonb))));
select is((select jsonb_agg(e ->> 'status') from outcomes, jsonb_array_elements(result) e where label = 'page'),
  '["ignored", "duplicate", "refused"]'::jsonb, 'A page goes through the intake event by event: new, duplicate, refused');
set local role maintenance;
set local request.jwt.claims = :'maint';
select lives_ok(format($$select finish_webhook_reconcile_run(%L, '{"pulled": 3}')$$, (select result ->> 'run' from outcomes where label = 'run 1')),
  'The maintenance role closes its run');
select throws_ok(format($$select finish_webhook_reconcile_run(%L, '{}')$$, (select result ->> 'run' from outcomes where label = 'run 1')),
  '22023', null, 'A run is closed once');
insert into outcomes values ('run 2', start_webhook_reconcile_run('stripe', 'request', '{"credential": "secret_key"}'));
reset role;
select is((select window_start from system_webhook_reconcile_runs where id = (select (result ->> 'run')::uuid from outcomes where label = 'run 2')),
  (select started_at - interval '1 hour' from system_webhook_reconcile_runs where id = (select (result ->> 'run')::uuid from outcomes where label = 'run 1')),
  'The next run starts an hour before the last good one');
select is((select count(*)::int from system_webhook_operator_actions where action = 'reconcile'), 1, 'An operator''s reconcile run is audited');

-- alerts ----------------------------------------------------------------------------------------------
insert into system_webhook_events (provider, event_id, event_type, payload, status, attempts, last_error, next_attempt_at)
select 'stripe', 'evt_given_up_' || i, 'invoice.paid', '{"secret": "payload"}', 'failed', 8, 'P0001: no user is linked', null
from generate_series(1, 3) i;
insert into system_webhook_events (provider, event_id, event_type, payload, status, attempts, next_attempt_at)
select 'stripe', 'evt_failing_' || i, 'invoice.paid', '{}', 'failed', 1, now() + interval '1 minute' from generate_series(1, 4) i;
set local role maintenance;
set local request.jwt.claims = :'maint';
insert into outcomes values ('alerts 1', claim_webhook_alerts(100, 2));
select is((select jsonb_array_length(result) from outcomes where label = 'alerts 1'), 2, 'At most max_per_hour alerts are created in an hour');
select ok((select bool_and(a ->> 'kind' = 'given_up' and a -> 'details' ->> 'last_error' like 'P0001%' and not (a::text like '%secret%'))
           from outcomes, jsonb_array_elements(result) a where label = 'alerts 1'),
  'A given-up alert carries the error, never the payload');
select lives_ok(format($$select record_webhook_alert(%L, true)$$, a ->> 'id'), 'The alert run records a post')
from outcomes, jsonb_array_elements(result) a where label = 'alerts 1';
insert into outcomes values ('alerts 2', claim_webhook_alerts(100, 2));
select is((select jsonb_array_length(result) from outcomes where label = 'alerts 2'), 0, 'The third given-up event waits for the next hour');
insert into outcomes values ('alerts 3', claim_webhook_alerts(5, 1000));
select is((select jsonb_agg(a ->> 'kind' order by a ->> 'kind') from outcomes, jsonb_array_elements(result) a where label = 'alerts 3'),
  '["backlog", "given_up"]'::jsonb, 'With room again: the last given-up event, and the backlog over its threshold');
select lives_ok(format($$select record_webhook_alert(%L, false, 'the alert URL answered 500')$$, a ->> 'id'), 'A failed post is recorded')
from outcomes, jsonb_array_elements(result) a where label = 'alerts 3';
insert into outcomes values ('alerts 4', claim_webhook_alerts(5, 1000));
select is((select jsonb_agg(a ->> 'kind' order by a ->> 'kind') from outcomes, jsonb_array_elements(result) a where label = 'alerts 4'),
  '["backlog", "given_up"]'::jsonb, 'Alerts whose post failed are claimed again, and no new ones are made for the same events');
select lives_ok(format($$select record_webhook_alert(%L, true)$$, a ->> 'id'), 'They go out the second time')
from outcomes, jsonb_array_elements(result) a where label = 'alerts 4';
insert into outcomes values ('alerts 5', claim_webhook_alerts(5, 1000));
select is((select jsonb_array_length(result) from outcomes where label = 'alerts 5'), 0,
  'Once sent, nothing more: one alert per event, one backlog alert an hour');
reset role;
select is((select count(*)::int from system_webhook_alerts where kind = 'given_up' and status = 'sent'), 3, 'Each given-up event was alerted once');
set local role service_role;
select is((select count(*)::int from system_webhook_alerts), 4, 'The service role reads the alerts');

-- retention (0035) -----------------------------------------------------------------------------------
reset role;
insert into system_webhook_events (provider, event_id, event_type, payload, status, resolved_at, resolution)
values ('stripe', 'evt_resolved_old', 'invoice.paid', '{}', 'resolved', now() - interval '40 days', 'fixed by hand'),
       ('stripe', 'evt_resolved_new', 'invoice.paid', '{}', 'resolved', now() - interval '1 day', 'fixed by hand');
set local role maintenance;
set local request.jwt.claims = :'maint';
select lives_ok($$select cleanup_webhook_events(1000, 30)$$, 'The retention job runs');
reset role;
select is((select array_agg(event_id order by event_id) from system_webhook_events where event_id like 'evt_resolved_%'),
  array['evt_resolved_new'], 'A resolved event past the retention is deleted; a recent one is kept');
select is((select count(*)::int from system_webhook_events where event_id like 'evt_given_up_%'), 3,
  'Failed events are never deleted by the retention job');

select * from finish();
rollback;
