-- billing_* and comms_email_logs: written only by the webhook intake and the service role;
-- each user reads their own rows, platform admins read all, workspace colleagues read none.
\ir support/people.psql
begin;
select * from no_plan();
select tests.create_cast();
insert into billing_stripe_customers (user_id, stripe_customer_id) values
  (:'alice_id', 'cus_alice'), (:'bob_id', 'cus_bob');
insert into billing_subscription_events (user_id, stripe_event_id, event_type, stripe_invoice_id, amount_cents, occurred_at) values
  (:'alice_id', 'evt_a', 'invoice.paid', 'in_a', 1900, now()),
  (:'bob_id', 'evt_b', 'invoice.payment_failed', 'in_b', 900, now());
insert into comms_email_logs (user_id, provider_message_id, to_email, subject, status) values
  (:'alice_id', 'em_a', 'alice@example.com', 'Welcome', 'delivered'),
  (:'bob_id', 'em_b', 'bob@example.com', 'Welcome', 'sent');

set local role authenticated;
set local request.jwt.claims = :'alice';

select is((select stripe_customer_id from billing_stripe_customers), 'cus_alice', 'Alice sees her own Stripe customer and no other');
select is((select stripe_event_id from billing_subscription_events), 'evt_a', 'Alice sees her own billing events and no other');
select is((select provider_message_id from comms_email_logs), 'em_a', 'Alice sees the mail sent to her and no other');

select throws_ok(format('insert into %I default values', t), '42501', null, format('Alice cannot add rows to %s', t))
from unnest(array['billing_stripe_customers', 'billing_subscription_events', 'comms_email_logs']) t;
select throws_ok(format('update %I set created_at = now()', t), '42501', null, format('Alice cannot edit %s', t))
from unnest(array['billing_stripe_customers', 'billing_subscription_events', 'comms_email_logs']) t;
select throws_ok(format('delete from %I', t), '42501', null, format('Alice cannot delete from %s', t))
from unnest(array['billing_stripe_customers', 'billing_subscription_events', 'comms_email_logs']) t;

set local request.jwt.claims = :'bob';
select is((select stripe_customer_id from billing_stripe_customers), 'cus_bob', 'Bob sees his own Stripe customer, not Alice''s');
select is((select stripe_event_id from billing_subscription_events), 'evt_b', 'Bob sees his own billing events, not Alice''s');
select is((select provider_message_id from comms_email_logs), 'em_b', 'Bob sees his own mail, not Alice''s');

set local request.jwt.claims = :'wanda';
select is((select count(*)::int from billing_stripe_customers) + (select count(*)::int from billing_subscription_events)
          + (select count(*)::int from comms_email_logs), 0,
  'Wanda, Alice''s workspace admin, sees none of Alice''s billing or mail');

set local request.jwt.claims = :'pat';
select is((select count(*)::int from billing_stripe_customers), 2, 'Pat, a platform admin, sees every Stripe customer');
select is((select count(*)::int from billing_subscription_events), 2, 'Pat, a platform admin, sees every billing event');
select is((select count(*)::int from comms_email_logs), 2, 'Pat, a platform admin, sees every email log');

select * from finish();
rollback;
