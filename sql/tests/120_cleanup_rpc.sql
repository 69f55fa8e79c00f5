-- Cleanup jobs as the maintenance role: GDPR erasure (complete, per user all-or-nothing, with an
-- audit row that holds no personal data), expired tokens and invitations, log retention per
-- level, old limiter counters, processed webhook events, leads due for re-scoring; and the
-- user-facing request/cancel of one's own erasure.
\ir support/people.psql
begin;
select * from no_plan();
select tests.create_cast();
\set erin_id 'eeee0000-0000-4000-8000-00000000000e'
\set erin_ws 'eeee0000-0000-4000-8000-0000000000e1'
\set shared_ws 'eeee0000-0000-4000-8000-0000000000e2'
\set fay_id 'eeee0000-0000-4000-8000-00000000000f'
\set margaret 'a11ce000-0000-4000-8000-00000000100a'

-- Erin has data everywhere -----------------------------------------------------------------------
select tests.create_user(:'erin_id', 'erin@example.com', 'Erin Erased');
insert into workspaces (id, name, owner_id, is_personal) values
  (:'erin_ws', 'Erin Solo', :'erin_id', true),
  (:'shared_ws', 'Erin & Mike', :'erin_id', false);
insert into workspace_members (workspace_id, user_id, role) values
  (:'shared_ws', :'mike_id', 'member'), (:'alice_ws', :'erin_id', 'member');
insert into crm_leads (id, workspace_id, user_id, name, email) values
  ('eeee0000-0000-4000-8000-0000000000a1', :'erin_ws', :'erin_id', 'Solo lead', 'solo@example.net'),
  ('eeee0000-0000-4000-8000-0000000000a2', :'shared_ws', :'erin_id', 'Shared lead', null),
  ('eeee0000-0000-4000-8000-0000000000a3', :'alice_ws', :'erin_id', 'Erin''s lead at Alice Realty', null);
insert into crm_contacts (workspace_id, user_id, first_name) values (:'erin_ws', :'erin_id', 'Solo contact'), (:'shared_ws', :'erin_id', 'Shared contact');
insert into crm_lead_notes (lead_id, user_id, body) values (:'margaret', :'erin_id', 'Erin was here');
insert into crm_lead_scoring_rules (workspace_id, rule_key, rule_group, condition, points) values (:'erin_ws', 'r', 'fit', '{"field": "status", "op": "exists"}', 1);
insert into security_api_keys (user_id, service, key_ciphertext, nonce, salt) values (:'erin_id', 'openai', 'c', 'n', 's');
insert into security_event_logs (user_id, event_type) values (:'erin_id', 'login');
insert into security_reset_tokens (user_id, token_hash, expires_at) values (:'erin_id', 'erin-hash', now() + interval '1 hour');
insert into user_plans (user_id, plan_name) values (:'erin_id', 'pro');
insert into user_subscriptions (user_id, stripe_subscription_id, stripe_customer_id, status, last_event_at) values (:'erin_id', 'sub_erin', 'cus_erin', 'active', now());
insert into billing_stripe_customers (user_id, stripe_customer_id) values (:'erin_id', 'cus_erin');
insert into billing_subscription_events (user_id, stripe_event_id, event_type, occurred_at) values (:'erin_id', 'evt_erin', 'invoice.paid', now());
insert into comms_email_logs (user_id, provider_message_id, to_email) values (:'erin_id', 'em_erin', 'erin@example.com'), (null, 'em_erin_2', 'ERIN@example.com');
insert into workspace_invitations (workspace_id, email, invited_by) values (:'alice_ws', 'erin@example.com', :'alice_id');
insert into re_properties (id, user_id, address_line_1, city, state, zip) values ('eeee0000-0000-4000-8000-0000000000b1', :'erin_id', '1 Erin Way', 'X', 'OH', '1');
insert into deals (id, user_id, property_id, title) values ('eeee0000-0000-4000-8000-0000000000c1', :'erin_id', 'eeee0000-0000-4000-8000-0000000000b1', 'Erin''s deal');
insert into re_documents (user_id, title, type, file_url) values (:'erin_id', 'Erin doc', 'other', 'https://x');
insert into deals (id, user_id, title) values ('a11ce000-0000-4000-8000-0000000000c2', :'alice_id', 'Alice''s deal');
insert into deal_events (deal_id, event_type, created_by) values ('a11ce000-0000-4000-8000-0000000000c2', 'note', :'erin_id');
insert into re_documents (user_id, title, type, file_url, uploaded_by) values (:'alice_id', 'Uploaded by Erin', 'other', 'https://x', :'erin_id');
insert into system_rate_limit_counters (identifier, endpoint, theoretical_arrival_at) values ('user:' || :'erin_id', 'signup', now() + interval '1 minute');
insert into system_webhook_events (provider, event_id, event_type, payload, status) values
  ('stripe', 'evt_erin_checkout', 'checkout.session.completed', '{"data": {"object": {"customer_details": {"email": "erin@example.com"}}}}', 'processed');
insert into system_scheduled_deletions (user_id, requested_by, scheduled_for, status) values
  (:'erin_id', :'erin_id', now() - interval '60 days', 'cancelled'),
  (:'vera_id', :'erin_id', now() + interval '60 days', 'cancelled');
insert into system_scheduled_deletions (id, user_id, scheduled_for) values
  ('eeee0000-0000-4000-8000-0000000000d1', :'erin_id', now() - interval '1 minute'),
  ('b0b00000-0000-4000-8000-0000000000d2', :'bob_id', now() + interval '1 day');

create temporary table before_counts on commit drop as
  select (select count(*) from crm_leads where workspace_id = :'alice_ws') as alice_realty_leads,
         (select count(*) from crm_leads where workspace_id = :'bob_ws') as bob_leads;

-- the erasure ----------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'alice';
select throws_ok('select cleanup_due_erasures(10)', '42501', null, 'A signed-in user cannot run the erasure job');

set local role maintenance;
set local request.jwt.claims = :'maint';
select is(cleanup_due_erasures(10), '{"erased": 1, "failed": 0}'::jsonb, 'The erasure job erases the one user who is due');
select is(cleanup_due_erasures(10), '{"erased": 0, "failed": 0}'::jsonb, 'A second run finds nothing left to do');
reset role;

create temporary table erin_references on commit drop as
select c.conrelid::regclass::text as table_name, a.attname::text as column_name
from pg_constraint c
join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
where c.contype = 'f'
  and c.confrelid in ('public.user_profiles'::regclass, 'auth.users'::regclass)
  and array_length(c.conkey, 1) = 1;
select ok((select count(*) from erin_references) >= 20, 'Every column that references a user is checked below');

create or replace function pg_temp.rows_pointing_at(table_name text, column_name text, person uuid) returns bigint
language plpgsql as $$
declare n bigint;
begin
  execute format('select count(*) from %s where %I = $1', table_name, column_name) into n using person;
  return n;
end $$;

select is(pg_temp.rows_pointing_at(table_name, column_name, :'erin_id'), 0::bigint,
  format('No row of %s.%s still points at Erin', table_name, column_name))
from erin_references order by table_name, column_name;
select is((select count(*)::int from auth.users where id = :'erin_id'), 0, 'Erin is gone from auth.users');
select is((select count(*)::int from comms_email_logs where lower(to_email) = 'erin@example.com'), 0, 'No mail sent to Erin''s address is logged any more');
select is((select count(*)::int from workspace_invitations where email = 'erin@example.com'), 0, 'No invitation to Erin''s address remains');
select is((select count(*)::int from system_webhook_events where payload::text like '%erin@example.com%'), 0, 'No webhook payload with Erin''s address remains');
select is((select count(*)::int from system_rate_limit_counters where identifier like '%' || :'erin_id' || '%'), 0, 'No limiter counter keyed by Erin remains');
select is((select count(*)::int from system_scheduled_deletions where user_id = :'erin_id' or requested_by = :'erin_id'), 0,
  'No deletion request names Erin any more, not even her earlier cancelled one');
select is((select count(*)::int from workspaces where id = :'erin_ws'), 0, 'The workspace only Erin belonged to is deleted');
select is((select count(*)::int from crm_leads where id = 'eeee0000-0000-4000-8000-0000000000a1'), 0, '...with its leads');

select is((select (owner_id, is_personal) from workspaces where id = :'shared_ws'), (:'mike_id'::uuid, false),
  'The workspace Erin shared with Mike now belongs to Mike');
select is((select role::text from workspace_members where workspace_id = :'shared_ws' and user_id = :'mike_id'), 'owner', 'Mike is its owner member');
select is((select user_id from crm_leads where id = 'eeee0000-0000-4000-8000-0000000000a2'), :'mike_id'::uuid, 'Erin''s lead there is now Mike''s');
select is((select user_id from crm_leads where id = 'eeee0000-0000-4000-8000-0000000000a3'), :'alice_id'::uuid, 'Erin''s lead at Alice Realty now belongs to its owner, Alice');
select is((select count(*)::int from crm_leads where workspace_id = :'alice_ws'), (select alice_realty_leads::int from before_counts),
  'Alice Realty keeps every lead');
select is((select count(*)::int from crm_leads where workspace_id = :'bob_ws'), (select bob_leads::int from before_counts),
  'Bob''s leads are untouched');
select is((select count(*)::int from deal_events where deal_id = 'a11ce000-0000-4000-8000-0000000000c2'), 1, 'Alice keeps the deal event Erin recorded, unattributed');
select is((select count(*)::int from re_documents where title = 'Uploaded by Erin'), 1, 'Alice keeps the document Erin uploaded, unattributed');
select is((select count(*)::int from user_profiles where id = :'bob_id'), 1, 'Bob, not due yet, is untouched');
select is((select status::text from system_scheduled_deletions where user_id = :'bob_id'), 'pending', 'Bob''s erasure is still pending');

select is((select (status::text, user_id) from system_scheduled_deletions where id = 'eeee0000-0000-4000-8000-0000000000d1'),
  ('completed'::text, null::uuid), 'Erin''s deletion request is completed and no longer names her');
select is((select subject_hash from system_deletion_audits where deletion_id = 'eeee0000-0000-4000-8000-0000000000d1'),
  encode(sha256(convert_to(:'erin_id', 'UTF8')), 'hex'), 'An audit row records the erasure under a hash of Erin''s id');
select ok((select categories @> array['user_profiles', 'crm_lead_notes', 'security_api_keys', 'comms_email_logs'] from system_deletion_audits
           where deletion_id = 'eeee0000-0000-4000-8000-0000000000d1'), 'The audit row names the categories erased');
select is((select (row_counts ->> 'comms_email_logs')::int from system_deletion_audits where deletion_id = 'eeee0000-0000-4000-8000-0000000000d1'), 2,
  'The audit row counts what was erased');
select ok((select position(:'erin_id' in t::text) = 0 and position('erin@' in lower(t::text)) = 0 from system_deletion_audits t
           where deletion_id = 'eeee0000-0000-4000-8000-0000000000d1'), 'The audit row holds neither Erin''s id nor her address');

-- a failing erasure is all-or-nothing and retried ------------------------------------------------
select tests.create_user(:'fay_id', 'fay@example.com', 'Fay Failing');
insert into crm_leads (workspace_id, user_id, name) values (:'alice_ws', :'fay_id', 'Fay''s lead');
insert into security_api_keys (user_id, service, key_ciphertext, nonce, salt) values (:'fay_id', 'stripe', 'c', 'n', 's');
insert into system_scheduled_deletions (id, user_id, scheduled_for) values ('eeee0000-0000-4000-8000-0000000000d3', :'fay_id', now() - interval '1 minute');
create function pg_temp.refuse_key_deletion() returns trigger language plpgsql as $$
begin raise exception 'simulated outage while deleting keys'; end $$;
create trigger refuse_key_deletion before delete on security_api_keys for each row execute function pg_temp.refuse_key_deletion();

set local role maintenance;
select is(cleanup_due_erasures(10), '{"erased": 0, "failed": 1}'::jsonb, 'An erasure that fails is reported as failed');
reset role;
select is((select count(*)::int from user_profiles where id = :'fay_id'), 1, 'A failed erasure leaves Fay''s profile');
select is((select user_id from crm_leads where name = 'Fay''s lead'), :'fay_id'::uuid, 'A failed erasure leaves no half-done reassignment');
select is((select (status::text, attempts, last_error) from system_scheduled_deletions where id = 'eeee0000-0000-4000-8000-0000000000d3'),
  ('pending'::text, 1, 'simulated outage while deleting keys'::text), 'A failed erasure stays pending with its error for the next run');
drop trigger refuse_key_deletion on security_api_keys;
set local role maintenance;
select is(cleanup_due_erasures(10), '{"erased": 1, "failed": 0}'::jsonb, 'The next run completes Fay''s erasure');
reset role;
select is((select count(*)::int from user_profiles where id = :'fay_id'), 0, 'Fay is erased on the retry');

-- requesting one's own erasure -----------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'vera';
select ok((select scheduled_for between now() + interval '29 days' and now() + interval '31 days' from request_account_deletion('leaving')),
  'Vera can schedule her own erasure, thirty days out by default');
select format('{"sub": "%s", "role": "authenticated", "email": "vera@example.com", "amr": [{"method": "password", "timestamp": %s}]}',
              :'vera_id', extract(epoch from now())::bigint) as vera_just_signed_in \gset
set local request.jwt.claims = :'vera_just_signed_in';
select ok((select scheduled_for <= now() from request_account_deletion(null, 0)),
  'Vera, just signed in, can bring it forward (170_erasure_grace.sql covers who may not)');
select is(cancel_account_deletion(), true, 'Vera can cancel her pending erasure');
select is(cancel_account_deletion(), false, 'Cancelling again finds nothing pending');
reset role;
select is((select count(*)::int from system_scheduled_deletions where user_id = :'vera_id' and requested_by = :'vera_id'), 1, 'Vera''s requests made one row');
set local role anon;
set local request.jwt.claims = '{"role": "anon"}';
select throws_ok('select request_account_deletion()', '42501', null, 'An anonymous visitor cannot schedule an erasure');

-- tokens and invitations -----------------------------------------------------------------------
reset role;
insert into security_reset_tokens (user_id, token_hash, expires_at, used_at) values
  (:'alice_id', 'expired', now() - interval '1 minute', null),
  (:'alice_id', 'used', now() + interval '1 hour', now()),
  (:'alice_id', 'valid', now() + interval '1 hour', null);
delete from workspace_invitations;
insert into workspace_invitations (workspace_id, email, status, expires_at) values
  (:'alice_ws', 'a@example.com', 'pending', now() - interval '1 minute'),
  (:'alice_ws', 'b@example.com', 'pending', now() + interval '1 day'),
  (:'alice_ws', 'c@example.com', 'revoked', now() + interval '1 day'),
  (:'alice_ws', 'd@example.com', 'accepted', now() - interval '1 day');
set local role maintenance;
select is(cleanup_expired_tokens(1), '{"reset_tokens": 1, "invitations": 1}'::jsonb, 'The token job stops at its batch size');
select is(cleanup_expired_tokens(100), '{"reset_tokens": 1, "invitations": 1}'::jsonb, 'The next run takes the rest');
select is(cleanup_expired_tokens(100), '{"reset_tokens": 0, "invitations": 0}'::jsonb, 'Then nothing is left');
reset role;
select is((select array_agg(token_hash) from security_reset_tokens where user_id = :'alice_id'), array['valid'], 'Only the valid reset token survives');
select is((select array_agg(email order by email) from workspace_invitations), array['b@example.com', 'd@example.com'],
  'Valid and accepted invitations survive; expired and revoked ones are gone');

-- log retention --------------------------------------------------------------------------------
delete from system_logs;
insert into system_logs (level, source, message, created_at) values
  ('debug', 't', 'old debug', now() - interval '8 days'),
  ('debug', 't', 'new debug', now() - interval '1 day'),
  ('info', 't', 'old info', now() - interval '31 days'),
  ('error', 't', 'month-old error', now() - interval '31 days');
set local role maintenance;
select is(cleanup_system_logs(100), '{"deleted": 2, "by_level": {"debug": 1, "info": 1, "warning": 0, "error": 0, "critical": 0}}'::jsonb,
  'Logs older than their level''s retention are deleted');
select is((select array_agg(message order by message) from system_logs), array['month-old error', 'new debug'],
  'Younger logs and long-retention errors are kept');

-- limiter counters and webhook retention -------------------------------------------------------
reset role;
delete from system_rate_limit_counters;
insert into system_rate_limit_counters (identifier, endpoint, theoretical_arrival_at) values
  ('user:a', 'e', now() - interval '1 second'), ('user:b', 'e', now() + interval '1 minute');
delete from system_webhook_events;
insert into system_webhook_events (provider, event_id, event_type, payload, status, processed_at) values
  ('stripe', 'old_done', 'x', '{}', 'processed', now() - interval '40 days'),
  ('stripe', 'old_ignored', 'x', '{}', 'ignored', now() - interval '40 days'),
  ('stripe', 'new_done', 'x', '{}', 'processed', now() - interval '1 day'),
  ('stripe', 'old_failed', 'x', '{}', 'failed', null);
set local role maintenance;
select is(cleanup_rate_limit_counters(100), '{"deleted": 1}'::jsonb, 'Counters whose arrival time has passed are deleted');
select is((select count(*)::int from system_webhook_events), 4, 'The maintenance job sees the inbox before retention');
select is(cleanup_webhook_events(100, 30) -> 'by_table' -> 'system_webhook_events', '2'::jsonb, 'Processed and ignored events past the retention are deleted');
select is((select array_agg(event_id order by event_id) from system_webhook_events), array['new_done', 'old_failed'],
  'Recent and failed events are kept');
select throws_ok('select cleanup_webhook_events(100, 0)', '22023', null, 'A zero-day retention is refused');

-- leads due for re-scoring ---------------------------------------------------------------------
reset role;
update crm_leads set scored_at = now() where id = :'margaret';
update crm_leads set scored_at = now() - interval '10 days' where id = 'a11ce000-0000-4000-8000-00000000100b';
set local role maintenance;
select is((select count(*)::int from list_leads_due_for_rescoring(100, 7)),
  (select count(*)::int from crm_leads where not is_deleted and id <> :'margaret'),
  'Every non-deleted lead not scored in the last seven days is due');
select is((select count(*)::int from list_leads_due_for_rescoring(100, 7) l where l ->> 'id' = :'margaret'), 0, 'A freshly scored lead is not due');
select is((select count(*)::int from list_leads_due_for_rescoring(100, 7) l where (l ->> 'is_deleted')::boolean), 0, 'Deleted leads are never due');
select is((select (l ->> 'notes_count')::int from list_leads_due_for_rescoring(100, 7) l where l ->> 'id' = 'a11ce000-0000-4000-8000-00000000100d'), 1,
  'Each due lead comes with its notes count');
select is((select count(*)::int from list_leads_due_for_rescoring(3, 7)), 3, 'The listing stops at its batch size');
select is(apply_lead_scores((select jsonb_agg(jsonb_build_object('id', l ->> 'id', 'score', 40, 'score_breakdown', '{"total": 40}'::jsonb))
                             from list_leads_due_for_rescoring(100, 7) l)),
  (select count(*)::int from list_leads_due_for_rescoring(100, 7)), 'The maintenance job writes back every due lead''s score');
select is((select count(*)::int from list_leads_due_for_rescoring(100, 7)), 0, 'Once re-scored, no lead is due');

-- run summaries --------------------------------------------------------------------------------
select ok(write_system_log('info', 'cleanup', 'run finished', '{"erased": 1}') is not null, 'The maintenance job can write its run summary');
select is((select count(*)::int from system_logs where source = 'cleanup'), 1, 'The run summary is in system_logs');
select throws_ok($$select write_system_log('loud', 'cleanup', 'x')$$, '22P02', null, 'An unknown log level is refused');
set local role authenticated;
set local request.jwt.claims = :'alice';
select throws_ok($$select write_system_log('info', 'me', 'x')$$, '42501', null, 'A signed-in user cannot write system logs');

select * from finish();
rollback;
