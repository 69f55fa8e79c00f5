-- Erasure touches only the webhook events that name the erased user. The
-- attack (or accident): erasing al@x.io also deleted hal@x.io's events, because the address was
-- matched as a substring of the payload text, including failed events still due for retry.
-- Now an event names a user when one of its JSON strings holds their address or id as a whole
-- (any case, with or without a display name); processed and ignored events that do are deleted,
-- pending and failed ones are kept with the address and id replaced by '[erased]', so their
-- retries still run.
\ir support/people.psql
begin;
select * from no_plan();
\set al_id 'eeee0000-0000-4000-8000-0000000000a1'
\set hal_id 'eeee0000-0000-4000-8000-0000000000a2'
select tests.create_user(:'al_id', 'al@x.io', 'Al Erased');
select tests.create_user(:'hal_id', 'hal@x.io', 'Hal Kept');
insert into system_webhook_events (provider, event_id, event_type, payload, status, processed_at, attempts, next_attempt_at) values
  -- hal's: nothing here names al
  ('resend', 'hal_delivered', 'email.delivered', '{"data": {"email_id": "m1", "to": ["hal@x.io"], "subject": "Hi hal@x.io"}}', 'processed', now(), 1, null),
  ('resend', 'hal_retry', 'email.bounced', '{"data": {"email_id": "m2", "to": ["Hal <hal@x.io>"], "bounce": {"type": "Permanent"}}}', 'failed', null, 1, now() + interval '5 minutes'),
  ('stripe', 'hal_checkout', 'checkout.session.completed', '{"data": {"object": {"customer_email": "hal@x.io.example", "customer_details": {"email": "shal@x.io"}, "metadata": {"note": "al@x.iox"}}}}', 'failed', null, 2, now() + interval '5 minutes'),
  -- al's
  ('resend', 'al_delivered', 'email.delivered', '{"data": {"email_id": "m3", "to": ["AL@X.IO"]}}', 'processed', now(), 1, null),
  ('stripe', 'al_ignored', 'customer.created', '{"data": {"object": {"metadata": {"user_id": "eeee0000-0000-4000-8000-0000000000a1"}}}}', 'ignored', now(), 1, null),
  ('resend', 'al_retry', 'email.bounced', '{"data": {"email_id": "m4", "to": ["Al <al@x.io>", "hal@x.io"], "subject": "Bounced: mail for al@x.io."}}', 'failed', null, 3, now() + interval '5 minutes'),
  ('stripe', 'al_pending', 'invoice.paid', '{"data": {"object": {"customer": "cus_al", "customer_email": "al@x.io", "metadata": {"user_id": "EEEE0000-0000-4000-8000-0000000000A1"}}}}', 'pending', null, 0, null);
insert into system_scheduled_deletions (user_id, scheduled_for) values (:'al_id', now() - interval '1 minute');

create temporary table hal_before on commit drop as
  select * from system_webhook_events where event_id like 'hal\_%';

set local role maintenance;
set local request.jwt.claims = :'maint';
select is(cleanup_due_erasures(10), '{"erased": 1, "failed": 0}'::jsonb, 'Al is erased');
reset role;

select is((select count(*)::int from system_webhook_events e join hal_before b using (id) where to_jsonb(e) = to_jsonb(b)), 3,
  'Every event about hal@x.io, including the two failed ones waiting for a retry, is untouched');
select is((select array_agg(event_id order by event_id) from system_webhook_events where event_id in ('al_delivered', 'al_ignored')), null,
  'Al''s processed and ignored events are deleted');
select is((select (status::text, attempts, next_attempt_at is not null) from system_webhook_events where event_id = 'al_retry'),
  ('failed'::text, 3, true), 'Al''s failed event is kept, still due for its retry');
select is((select payload -> 'data' from system_webhook_events where event_id = 'al_retry'),
  '{"email_id": "m4", "to": ["[erased]", "hal@x.io"], "subject": "[erased]"}'::jsonb,
  '...with every string naming Al, display name and all, replaced, and hal''s left alone');
select is((select payload -> 'data' -> 'object' from system_webhook_events where event_id = 'al_pending'),
  '{"customer": "cus_al", "customer_email": "[erased]", "metadata": {"user_id": "[erased]"}}'::jsonb,
  'Al''s pending event keeps its place with his address and id replaced');
select is((select count(*)::int from system_webhook_events
           where payload::text ~* 'al@x\.io' and payload::text !~* '(hal|shal)@x\.io'), 0, 'No payload names al@x.io any more');
select is((select row_counts -> 'system_webhook_events' from system_deletion_audits where subject_hash = encode(sha256(convert_to(:'al_id', 'UTF8')), 'hex')),
  '2'::jsonb, 'The audit counts the two deleted events');
select is((select row_counts -> 'system_webhook_events_anonymised' from system_deletion_audits where subject_hash = encode(sha256(convert_to(:'al_id', 'UTF8')), 'hex')),
  '2'::jsonb, 'and the two anonymised ones');

-- The kept failed event is still retried, and applying it cannot bring Al back.
set local role maintenance;
set local request.jwt.claims = :'maint';
select is((retry_webhook_event((select id from system_webhook_events where event_id = 'al_retry'))) ->> 'status', 'processed',
  'The anonymised event is retried and applied');
reset role;
select is((select count(*)::int from comms_email_logs where lower(to_email) = 'al@x.io'), 0, 'Its effects name nobody');
select is((select count(*)::int from user_profiles where id = :'hal_id'), 1, 'Hal is still here');

select * from finish();
rollback;
