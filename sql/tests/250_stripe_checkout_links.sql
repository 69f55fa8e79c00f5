-- Stripe checkout links (0025): a completed checkout links a customer only to the user named
-- in server-set metadata, never to client_reference_id (which a Payment Link buyer sets), and
-- never moves an existing link; a refused event stays failed with a reason, is not retried,
-- and the user whose link was at stake gets a security event.
\ir support/people.psql
begin;
select * from no_plan();
select tests.create_cast();

create temporary table outcomes (label text primary key, result jsonb) on commit drop;
grant select, insert on outcomes to webhook_ingest, maintenance;

-- Delivers a checkout.session.completed event as the webhook intake does.
create function pg_temp.checkout(label text, event_id text, created bigint, session jsonb) returns jsonb
language sql as $$
  insert into outcomes values (label, receive_webhook_event('stripe', event_id, 'checkout.session.completed',
    jsonb_build_object('id', event_id, 'created', created, 'type', 'checkout.session.completed', 'data', jsonb_build_object('object', session))))
  returning result
$$;

set local role webhook_ingest;
set local request.jwt.claims = :'webhooks';

-- Alice pays; the server that created her session put her id in metadata.
select is(pg_temp.checkout('alice pays', 'evt_alice_pays', 1700000000,
  format('{"id": "cs_alice", "customer": "cus_alice", "metadata": {"user_id": "%s"}, "customer_details": {"email": "alice@example.com"}}', :'alice_id')::jsonb) ->> 'status',
  'processed', 'A checkout whose metadata names Alice links her customer');
reset role;
select is((select stripe_customer_id from billing_stripe_customers where user_id = :'alice_id'), 'cus_alice', 'Alice is linked to cus_alice');
set local role webhook_ingest;

-- Attack 1: Mallory pays through a Payment Link with ?client_reference_id=<Alice's id>.
select is(pg_temp.checkout('payment link', 'evt_mallory_link', 1700000100,
  format('{"id": "cs_mallory", "customer": "cus_mallory", "client_reference_id": "%s", "metadata": {}}', :'alice_id')::jsonb) - 'event',
  '{"status": "failed", "reason": "no_trusted_user", "error": "checkout session cs_mallory has no metadata.user_id; client_reference_id is not trusted, anyone can set it on a Payment Link"}'::jsonb,
  'A checkout naming Alice only in client_reference_id is refused: no_trusted_user');
reset role;
select is((select stripe_customer_id from billing_stripe_customers where user_id = :'alice_id'), 'cus_alice', 'Alice stays linked to cus_alice');
select is((select count(*)::int from billing_stripe_customers where stripe_customer_id = 'cus_mallory'), 0, 'Mallory''s customer is linked to nobody');
select is((select (status::text, attempts, next_attempt_at, last_error like 'refused (no_trusted_user): %') from system_webhook_events where event_id = 'evt_mallory_link'),
  ('failed'::text, 1, null::timestamptz, true), 'The event is kept as failed with its reason and no next attempt');
set local role webhook_ingest;

-- What the relink would have led to: Mallory's subscription cancelled on her customer must not
-- touch Alice's plan.
insert into outcomes values ('alice subscribes', receive_webhook_event('stripe', 'evt_alice_sub', 'customer.subscription.created',
  '{"created": 1700000200, "data": {"object": {"id": "sub_alice", "customer": "cus_alice", "status": "active", "items": {"data": [{"price": {"id": "price_pro", "lookup_key": "pro"}}]}}}}'));
insert into outcomes values ('mallory cancels', receive_webhook_event('stripe', 'evt_mallory_cancel', 'customer.subscription.deleted',
  '{"created": 1700000300, "data": {"object": {"id": "sub_mallory", "customer": "cus_mallory", "status": "canceled", "items": {"data": [{"price": {"id": "price_pro", "lookup_key": "pro"}}]}}}}'));
reset role;
select is((select (plan_name, status::text) from user_plans where user_id = :'alice_id'), ('pro'::text, 'active'::text),
  'Mallory cancelling her own subscription leaves Alice on pro');
select is((select result ->> 'status' from outcomes where label = 'mallory cancels'), 'failed', 'Mallory''s subscription belongs to nobody');
set local role webhook_ingest;

-- Attack 2: a session whose metadata names Alice but carries another customer.
select is(pg_temp.checkout('second customer', 'evt_alice_other', 1700000400,
  format('{"id": "cs_other", "customer": "cus_other", "metadata": {"user_id": "%s"}}', :'alice_id')::jsonb) ->> 'reason',
  'customer_link_conflict', 'A checkout that would move Alice to another customer is refused: customer_link_conflict');
-- Attack 3: a session naming Bob for Alice's customer.
select is(pg_temp.checkout('steal customer', 'evt_bob_takes', 1700000500,
  format('{"id": "cs_bob", "customer": "cus_alice", "metadata": {"user_id": "%s"}}', :'bob_id')::jsonb) ->> 'reason',
  'customer_linked_to_another_user', 'A checkout that would give Alice''s customer to Bob is refused: customer_linked_to_another_user');
reset role;
select is((select array_agg((user_id, stripe_customer_id)::text order by stripe_customer_id) from billing_stripe_customers),
  array[format('(%s,cus_alice)', :'alice_id')], 'The only link is still Alice''s to cus_alice');
select is((select stripe_customer_id from user_plans where user_id = :'alice_id'), 'cus_alice', 'Alice''s plan still names cus_alice');
select is((select count(*)::int from user_plans where user_id = :'bob_id' and stripe_customer_id is not null), 0, 'Bob''s plan names no customer');

-- The user whose link was at stake sees the attempt.
select is((select array_agg(details ->> 'reason' order by details ->> 'reason') from security_event_logs
           where event_type = 'billing.customer_relink_refused' and user_id = :'alice_id'),
  array['customer_link_conflict', 'customer_linked_to_another_user', 'no_trusted_user'], 'Alice has a security event for each attempt on her link');
select is((select details ->> 'provider_event_id' from security_event_logs where details ->> 'reason' = 'customer_link_conflict'),
  'evt_alice_other', 'The security event names the webhook event');
set local role authenticated;
set local request.jwt.claims = :'alice';
select is((select count(*)::int from security_event_logs where event_type = 'billing.customer_relink_refused'), 3, 'Alice can read them');
set local request.jwt.claims = :'bob';
select is((select count(*)::int from security_event_logs), 0, 'Bob cannot');
reset role;

-- Refusals are not retried (an ordinary failure that is due is); the same customer again
-- still refreshes the link.
update system_webhook_events set next_attempt_at = now() - interval '1 second' where event_id = 'evt_mallory_cancel';
set local role maintenance;
set local request.jwt.claims = :'maint';
select is((retry_due_webhook_events() ->> 'retried')::int, 1, 'The retry job takes the due failure and no refused event');
reset role;
set local role webhook_ingest;
set local request.jwt.claims = :'webhooks';
select is(pg_temp.checkout('alice again', 'evt_alice_again', 1700000600,
  format('{"id": "cs_alice_2", "customer": "cus_alice", "metadata": {"user_id": "%s"}, "customer_details": {"email": "alice@new.example"}}', :'alice_id')::jsonb) ->> 'status',
  'processed', 'A later checkout for Alice''s own customer is processed');
select is(pg_temp.checkout('alice old', 'evt_alice_old', 1699999999,
  format('{"id": "cs_alice_0", "customer": "cus_alice", "metadata": {"user_id": "%s"}}', :'alice_id')::jsonb) - 'event',
  '{"status": "ignored", "reason": "stale", "error": null}'::jsonb, 'An older checkout for her own customer is stale, not refused');
select is(pg_temp.checkout('nobody', 'evt_nobody', 1700000700,
  '{"id": "cs_ghost", "customer": "cus_ghost", "metadata": {"user_id": "0f0f0f0f-0000-4000-8000-000000000000"}}'::jsonb) ->> 'reason',
  null, 'Metadata naming no known user is an ordinary failure, retried later (the profile may be on its way)');
reset role;
select is((select email from billing_stripe_customers where user_id = :'alice_id'), 'alice@new.example', 'Alice''s link was refreshed');
select ok((select next_attempt_at is not null from system_webhook_events where event_id = 'evt_nobody'), 'That failure has a next attempt');

select * from finish();
rollback;
