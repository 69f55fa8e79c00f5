-- receive_webhook_event / retry_webhook_event / retry_due_webhook_events: every verified event
-- is stored once; effects apply in one transaction; duplicates and stale (older) events change
-- nothing; failures are kept for retry with backoff and the call still succeeds.
\ir support/people.psql
begin;
select * from no_plan();

create temporary table outcomes (label text primary key, result jsonb) on commit drop;
grant select, insert on outcomes to webhook_ingest, maintenance;

set local role webhook_ingest;
set local request.jwt.claims = :'webhooks';

-- Stripe: checkout links the customer ------------------------------------------------------------
insert into outcomes values ('checkout', receive_webhook_event('stripe', 'evt_checkout_alice', 'checkout.session.completed', format(
  '{"id": "evt_checkout_alice", "created": 1700000000, "type": "checkout.session.completed", "data": {"object": {"id": "cs_1", "customer": "cus_alice", "metadata": {"user_id": "%s", "workspace_id": "%s"}, "customer_details": {"email": "alice@example.com"}}}}',
  :'alice_id', :'alice_ws')::jsonb));
select is((select result ->> 'status' from outcomes where label = 'checkout'), 'processed', 'A checkout completion is processed');
reset role;
select is((select (user_id, workspace_id) from billing_stripe_customers where stripe_customer_id = 'cus_alice'), (:'alice_id'::uuid, :'alice_ws'::uuid),
  'The checkout links Stripe customer cus_alice to Alice and her workspace');
select is((select stripe_customer_id from user_plans where user_id = :'alice_id'), 'cus_alice', 'Alice''s plan knows her Stripe customer');
set local role webhook_ingest;

insert into outcomes values ('checkout again', receive_webhook_event('stripe', 'evt_checkout_alice', 'checkout.session.completed', '{"created": 1700009999}'));
select is((select result ->> 'status' from outcomes where label = 'checkout again'), 'duplicate', 'A second delivery of the same event is a duplicate');
select is((select result ->> 'event' from outcomes where label = 'checkout again'), (select result ->> 'event' from outcomes where label = 'checkout'),
  'A duplicate points at the stored event');
reset role;
select is((select count(*)::int from system_webhook_events where event_id = 'evt_checkout_alice'), 1, 'A duplicate is stored only once');
set local role webhook_ingest;

-- Stripe: subscriptions, in and out of order -------------------------------------------------------
insert into outcomes values ('sub created', receive_webhook_event('stripe', 'evt_sub_1', 'customer.subscription.created',
  '{"created": 1700000100, "data": {"object": {"id": "sub_alice", "customer": "cus_alice", "status": "active", "cancel_at_period_end": false, "items": {"data": [{"price": {"id": "price_pro_m", "lookup_key": "pro"}, "current_period_start": 1700000100, "current_period_end": 1702592100}]}}}}'));
select is((select result ->> 'status' from outcomes where label = 'sub created'), 'processed', 'A new subscription is processed');
reset role;
select is((select (status::text, plan_name, current_period_end) from user_subscriptions where stripe_subscription_id = 'sub_alice'),
  ('active'::text, 'pro'::text, to_timestamp(1702592100)), 'Alice''s subscription is active on pro, with its period');
select is((select (plan_name, status::text) from user_plans where user_id = :'alice_id'), ('pro'::text, 'active'::text), 'Alice''s plan is pro and active');
set local role webhook_ingest;

insert into outcomes values ('sub past_due', receive_webhook_event('stripe', 'evt_sub_3', 'customer.subscription.updated',
  '{"created": 1700000300, "data": {"object": {"id": "sub_alice", "customer": "cus_alice", "status": "past_due", "cancel_at_period_end": true, "items": {"data": [{"price": {"id": "price_pro_m", "lookup_key": "pro"}}]}}}}'));
insert into outcomes values ('sub stale', receive_webhook_event('stripe', 'evt_sub_2', 'customer.subscription.updated',
  '{"created": 1700000200, "data": {"object": {"id": "sub_alice", "customer": "cus_alice", "status": "active", "items": {"data": [{"price": {"id": "price_pro_m", "lookup_key": "pro"}}]}}}}'));
select is((select result ->> 'status' from outcomes where label = 'sub past_due'), 'processed', 'A newer subscription update is processed');
select is((select (result ->> 'status', result ->> 'reason') from outcomes where label = 'sub stale'), ('ignored'::text, 'stale'::text),
  'An update older than the one applied is recorded as ignored (stale)');
reset role;
select is((select (status::text, cancel_at_period_end) from user_subscriptions where stripe_subscription_id = 'sub_alice'), ('past_due'::text, true),
  'The stale update changed nothing: Alice''s subscription stays past_due');
select is((select status::text from system_webhook_events where event_id = 'evt_sub_2'), 'ignored', 'The stale event is kept in the inbox as ignored');
select is((select plan_name from user_plans where user_id = :'alice_id'), 'pro', 'Past due still keeps Alice on pro');
set local role webhook_ingest;

insert into outcomes values ('sub deleted', receive_webhook_event('stripe', 'evt_sub_4', 'customer.subscription.deleted',
  '{"created": 1700000400, "data": {"object": {"id": "sub_alice", "customer": "cus_alice", "status": "canceled", "canceled_at": 1700000400, "items": {"data": [{"price": {"id": "price_pro_m", "lookup_key": "pro"}}]}}}}'));
reset role;
select is((select status::text from user_subscriptions where stripe_subscription_id = 'sub_alice'), 'canceled', 'A deleted subscription is canceled');
select is((select (plan_name, status::text) from user_plans where user_id = :'alice_id'), ('free'::text, 'canceled'::text), 'Alice falls back to the free plan');
set local role webhook_ingest;

-- Stripe: invoices ---------------------------------------------------------------------------------
insert into outcomes values ('invoice paid', receive_webhook_event('stripe', 'evt_inv_paid', 'invoice.paid',
  '{"created": 1700000500, "data": {"object": {"id": "in_1", "customer": "cus_alice", "subscription": "sub_alice", "amount_paid": 1900, "amount_due": 1900, "currency": "usd", "status": "paid"}}}'));
insert into outcomes values ('invoice stale', receive_webhook_event('stripe', 'evt_inv_failed_old', 'invoice.payment_failed',
  '{"created": 1700000450, "data": {"object": {"id": "in_1", "customer": "cus_alice", "amount_due": 1900, "currency": "usd", "status": "open"}}}'));
reset role;
select is((select (user_id, amount_cents, currency, stripe_subscription_id) from billing_subscription_events where stripe_event_id = 'evt_inv_paid'),
  (:'alice_id'::uuid, 1900::bigint, 'usd'::text, 'sub_alice'::text), 'A paid invoice is recorded for Alice in cents');
select is((select (result ->> 'status', result ->> 'reason') from outcomes where label = 'invoice stale'), ('ignored'::text, 'stale'::text),
  'A payment failure older than the invoice''s recorded payment is ignored as stale');
select is((select count(*)::int from billing_subscription_events where stripe_invoice_id = 'in_1'), 1, 'The stale invoice event adds no ledger row');
set local role webhook_ingest;

-- unknown types ------------------------------------------------------------------------------------
insert into outcomes values ('unknown', receive_webhook_event('stripe', 'evt_refund', 'charge.refunded', '{"created": 1700000600, "data": {"object": {}}}'));
select is((select (result ->> 'status', result ->> 'reason') from outcomes where label = 'unknown'), ('ignored'::text, 'unknown_type'::text),
  'An event type we do not handle is stored as ignored');

-- failure, backoff and retry -----------------------------------------------------------------------
insert into outcomes values ('early sub', receive_webhook_event('stripe', 'evt_bob_sub', 'customer.subscription.created',
  '{"created": 1700001000, "data": {"object": {"id": "sub_bob", "customer": "cus_bob", "status": "trialing", "items": {"data": [{"price": {"id": "price_team", "nickname": "team"}}]}}}}'));
select is((select result ->> 'status' from outcomes where label = 'early sub'), 'failed',
  'A subscription for a customer nobody is linked to yet fails, and the call still succeeds');
select matches((select result ->> 'error' from outcomes where label = 'early sub'), 'no user is linked to Stripe customer cus_bob',
  'The failure says why');
reset role;
select is((select (status::text, attempts) from system_webhook_events where event_id = 'evt_bob_sub'), ('failed'::text, 1),
  'The failed event is kept as failed after one attempt');
select ok((select next_attempt_at between now() + interval '59 seconds' and now() + interval '61 seconds' from system_webhook_events where event_id = 'evt_bob_sub'),
  'The first retry is due a minute later');
set local role webhook_ingest;
select throws_ok(format('select retry_webhook_event(%L)', (select result ->> 'event' from outcomes where label = 'early sub')),
  '42501', null, 'The webhook intake cannot trigger retries');

insert into outcomes values ('bob checkout', receive_webhook_event('stripe', 'evt_checkout_bob', 'checkout.session.completed', format(
  '{"created": 1700000900, "data": {"object": {"id": "cs_2", "customer": "cus_bob", "metadata": {"user_id": "%s"}}}}', :'bob_id')::jsonb));

set local role maintenance;
set local request.jwt.claims = :'maint';
select throws_ok($$select receive_webhook_event('stripe', 'evt_x', 'invoice.paid', '{}')$$, '42501', null,
  'The maintenance job cannot inject webhook events');
insert into outcomes values ('retry', retry_webhook_event((select (result ->> 'event')::uuid from outcomes where label = 'early sub')));
select is((select result ->> 'status' from outcomes where label = 'retry'), 'processed',
  'Once Bob''s checkout has linked his customer, the maintenance job''s retry applies the event');
select is((select (status::text, attempts, next_attempt_at, last_error) from system_webhook_events where event_id = 'evt_bob_sub'),
  ('processed'::text, 2, null::timestamptz, null::text), 'The retried event is processed after two attempts, its error cleared');
insert into outcomes values ('retry processed', retry_webhook_event((select (result ->> 'event')::uuid from outcomes where label = 'retry')));
select is((select (result ->> 'status', result ->> 'reason') from outcomes where label = 'retry processed'), ('processed'::text, 'not_failed'::text),
  'Retrying an event that is not failed changes nothing');
reset role;
select is((select (plan_name, status::text) from user_plans where user_id = :'bob_id'), ('team'::text, 'trialing'::text), 'Bob is trialing the team plan');

-- retry_due_webhook_events and giving up
insert into system_webhook_events (provider, event_id, event_type, payload, status, attempts, next_attempt_at, last_error)
values
  ('stripe', 'evt_doomed', 'invoice.paid', '{"created": 1700002000, "data": {"object": {"id": "in_9", "customer": "cus_nobody"}}}', 'failed', 2, now() - interval '1 minute', 'earlier'),
  ('stripe', 'evt_later', 'invoice.paid', '{"created": 1700002000, "data": {"object": {"id": "in_8", "customer": "cus_nobody"}}}', 'failed', 1, now() + interval '1 hour', 'earlier');
set local role maintenance;
select is((select array_agg(event_id) from list_webhook_events_due_for_retry(10, 8)), array['evt_doomed'],
  'Only failed events whose next attempt has come are due');
insert into outcomes values ('due', retry_due_webhook_events(10, 3));
select is((select result from outcomes where label = 'due'), '{"retried": 1, "processed": 0, "ignored": 0, "failed": 1, "gave_up": 1}'::jsonb,
  'A due event failing its third and last attempt is given up');
select is((select (status::text, attempts, next_attempt_at) from system_webhook_events where event_id = 'evt_doomed'),
  ('failed'::text, 3, null::timestamptz), 'A given-up event stays failed with no next attempt');
select is((select count(*)::int from list_webhook_events_due_for_retry(10, 8)), 0, 'A given-up event is no longer due');
select is((select count(*)::int from system_logs where source = 'webhooks' and level = 'warning'), 1, 'Giving up leaves a warning in system_logs');

-- Resend ---------------------------------------------------------------------------------------------
set local role webhook_ingest;
set local request.jwt.claims = :'webhooks';
insert into outcomes values ('sent', receive_webhook_event('resend', 'msg_sent_1', 'email.sent',
  '{"type": "email.sent", "created_at": "2026-01-01T10:00:00Z", "data": {"email_id": "em_1", "from": "hi@rls-edge.dev", "to": ["alice@example.com"], "subject": "Welcome"}}'));
insert into outcomes values ('delivered', receive_webhook_event('resend', 'msg_delivered_1', 'email.delivered',
  '{"type": "email.delivered", "created_at": "2026-01-01T10:00:05Z", "data": {"email_id": "em_1", "to": ["alice@example.com"]}}'));
insert into outcomes values ('sent late', receive_webhook_event('resend', 'msg_sent_1b', 'email.sent',
  '{"type": "email.sent", "created_at": "2026-01-01T10:00:01Z", "data": {"email_id": "em_1", "to": ["alice@example.com"]}}'));
reset role;
select is((select (user_id, status::text, subject) from comms_email_logs where provider_message_id = 'em_1'),
  (:'alice_id'::uuid, 'delivered'::text, 'Welcome'::text), 'Resend events build Alice''s email log up to delivered');
select is((select (result ->> 'status', result ->> 'reason') from outcomes where label = 'sent late'), ('ignored'::text, 'stale'::text),
  'A Resend event older than the last one applied to the email is ignored');
select ok((select sent_at = '2026-01-01T10:00:00Z' and delivered_at = '2026-01-01T10:00:05Z' from comms_email_logs where provider_message_id = 'em_1'),
  'The email log keeps when it was sent and delivered');
set local role webhook_ingest;

insert into outcomes values ('soft bounce', receive_webhook_event('resend', 'msg_soft', 'email.bounced',
  '{"created_at": "2026-01-02T10:00:00Z", "data": {"email_id": "em_2", "to": ["alice@example.com"], "bounce": {"type": "Transient", "message": "Mailbox full"}}}'));
reset role;
select is((select marketing_emails from user_email_preferences where user_id = :'alice_id'), true, 'A soft bounce leaves Alice''s marketing mail on');
set local role webhook_ingest;
insert into outcomes values ('hard bounce', receive_webhook_event('resend', 'msg_hard', 'email.bounced',
  '{"created_at": "2026-01-02T11:00:00Z", "data": {"email_id": "em_3", "to": ["Bob@Example.com"], "bounce": {"type": "Permanent", "message": "No such user"}}}'));
reset role;
update user_email_preferences set marketing_emails = true where user_id = :'bob_id';
set local role webhook_ingest;
insert into outcomes values ('hard bounce again', receive_webhook_event('resend', 'msg_hard', 'email.bounced', '{}'));
reset role;
select is((select (status::text, bounce_type) from comms_email_logs where provider_message_id = 'em_3'), ('bounced'::text, 'Permanent'::text), 'The hard bounce is logged');
select is((select result ->> 'status' from outcomes where label = 'hard bounce again'), 'duplicate', 'A redelivered bounce is a duplicate');
select is((select marketing_emails from user_email_preferences where user_id = :'bob_id'), true, 'A duplicate bounce does not apply again');
update user_email_preferences set marketing_emails = true where user_id = :'bob_id';
set local role webhook_ingest;
insert into outcomes values ('hard bounce 2', receive_webhook_event('resend', 'msg_hard_2', 'email.bounced',
  '{"created_at": "2026-01-02T12:00:00Z", "data": {"email_id": "em_4", "to": ["bob@example.com"], "bounce": {"type": "Permanent"}}}'));
reset role;
select is((select (marketing_emails, suppressed_reason) from user_email_preferences where user_id = :'bob_id'), (false, 'hard_bounce'::text),
  'A hard bounce turns Bob''s marketing mail off');
set local role webhook_ingest;
insert into outcomes values ('clicked', receive_webhook_event('resend', 'msg_click', 'email.clicked',
  '{"created_at": "2026-01-03T10:00:10Z", "data": {"email_id": "em_5", "to": ["alice@example.com"], "click": {"link": "https://x"}}}'));
insert into outcomes values ('complained late', receive_webhook_event('resend', 'msg_complaint', 'email.complained',
  '{"created_at": "2026-01-03T10:00:05Z", "data": {"email_id": "em_5", "to": ["alice@example.com"]}}'));
reset role;
select is((select (result ->> 'status', result ->> 'reason') from outcomes where label = 'complained late'), ('ignored'::text, 'stale'::text),
  'A complaint older than the click already applied leaves the email log alone');
select is((select status::text from comms_email_logs where provider_message_id = 'em_5'), 'clicked', 'The email log stays at clicked');
select is((select (marketing_emails, suppressed_reason) from user_email_preferences where user_id = :'alice_id'), (false, 'complaint'::text),
  'Even so, Alice''s complaint turns her marketing mail off');
set local role webhook_ingest;
insert into outcomes values ('resend unknown', receive_webhook_event('resend', 'msg_contact', 'contact.created', '{"data": {}}'));
select is((select (result ->> 'status', result ->> 'reason') from outcomes where label = 'resend unknown'), ('ignored'::text, 'unknown_type'::text),
  'A Resend event type we do not handle is stored as ignored');
insert into outcomes values ('resend broken', receive_webhook_event('resend', 'msg_broken', 'email.delivered', '{"data": {"to": ["x@example.com"]}}'));
select is((select result ->> 'status' from outcomes where label = 'resend broken'), 'failed', 'A Resend event without an email id fails and is kept');

-- bad input and other roles --------------------------------------------------------------------------
select throws_ok($$select receive_webhook_event('paypal', 'e1', 'x', '{}')$$, '22023', null, 'An unknown provider is refused (400)');
select throws_ok($$select receive_webhook_event('stripe', '', 'x', '{}')$$, '22023', null, 'A blank event id is refused (400)');
select throws_ok($$select receive_webhook_event('stripe', 'e1', '', '{}')$$, '22023', null, 'A blank event type is refused (400)');
select throws_ok($$select receive_webhook_event('stripe', 'e1', 'x', '[]')$$, '22023', null, 'A payload that is not an object is refused (400)');
set local role authenticated;
set local request.jwt.claims = :'alice';
select throws_ok($$select receive_webhook_event('stripe', 'evt_forged', 'invoice.paid', '{}')$$, '42501', null,
  'A signed-in user cannot inject webhook events');
set local role anon;
set local request.jwt.claims = '{"role": "anon"}';
select throws_ok($$select receive_webhook_event('stripe', 'evt_forged', 'invoice.paid', '{}')$$, '42501', null,
  'An anonymous caller cannot inject webhook events');

-- twenty concurrent deliveries of one event (parallel committed sessions) ----------------------------
reset role;
select format('msg_race_%s', gen_random_uuid()) as race_event \gset
select dblink_connect('delivery_' || i, current_setting('rls_edge.test_conninfo')) from generate_series(1, 20) i;
select dblink_exec('delivery_' || i, 'set role webhook_ingest') from generate_series(1, 20) i;
select dblink_send_query('delivery_' || i, format(
  $$select receive_webhook_event('resend', %L, 'email.sent', '{"created_at": "2026-02-01T00:00:00Z", "data": {"email_id": "%s", "to": ["racer-mail@example.com"]}}') ->> 'status'$$,
  :'race_event', :'race_event'))
from generate_series(1, 20) i;
create temporary table deliveries on commit drop as
  select r.status from generate_series(1, 20) i, lateral dblink_get_result('delivery_' || i) as r(status text);
select is((select count(*)::int from deliveries where status = 'processed'), 1, 'Of twenty concurrent deliveries of one event, exactly one applies it');
select is((select count(*)::int from deliveries where status = 'duplicate'), 19, 'The other nineteen are answered as duplicates');
select is((select count(*)::int from comms_email_logs where provider_message_id = :'race_event'), 1, 'Twenty concurrent deliveries leave one email log');
select dblink_disconnect('delivery_' || i) from generate_series(1, 20) i;
select dblink_connect('delivery_cleanup', current_setting('rls_edge.test_conninfo'));
select dblink_exec('delivery_cleanup', format('delete from comms_email_logs where provider_message_id = %L', :'race_event'));
select dblink_exec('delivery_cleanup', format('delete from system_webhook_events where event_id = %L', :'race_event'));
select dblink_disconnect('delivery_cleanup');

select * from finish();
rollback;
