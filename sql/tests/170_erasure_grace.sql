-- An erasure request keeps a grace period. The attack: a stolen one-hour
-- access token calls request_account_deletion(delay_days => 0) and the next cleanup run, at
-- most fifteen minutes later, deletes everything. The grace period is at least
-- system_settings 'account_deletion.minimum_delay_days' (7 by default); shorter only with a
-- second factor (aal2) or a sign-in (an amr timestamp) within 'account_deletion.recent_sign_in_minutes'
-- (5 by default). Every request leaves a comms_notifications row for the app to send.
\ir support/people.psql
begin;
select * from no_plan();
select tests.create_cast();

select extract(epoch from now())::bigint - 7200 as two_hours_ago,
       extract(epoch from now())::bigint - 60 as a_minute_ago,
       extract(epoch from now())::bigint - 600 as ten_minutes_ago \gset
\set vera_stolen '{"sub": "aaaa0000-0000-4000-8000-000000000005", "role": "authenticated", "email": "vera@example.com", "aal": "aal1", "amr": [{"method": "password", "timestamp": ' :two_hours_ago '}]}'
\set vera_fresh '{"sub": "aaaa0000-0000-4000-8000-000000000005", "role": "authenticated", "email": "vera@example.com", "aal": "aal1", "amr": [{"method": "password", "timestamp": ' :a_minute_ago '}]}'
\set vera_ten_minutes '{"sub": "aaaa0000-0000-4000-8000-000000000005", "role": "authenticated", "email": "vera@example.com", "aal": "aal1", "amr": [{"method": "totp", "timestamp": ' :ten_minutes_ago '}, {"method": "password", "timestamp": ' :two_hours_ago '}]}'
\set vera_rfc_amr '{"sub": "aaaa0000-0000-4000-8000-000000000005", "role": "authenticated", "email": "vera@example.com", "aal": "aal1", "amr": ["password"]}'
\set mike_aal2 '{"sub": "aaaa0000-0000-4000-8000-000000000004", "role": "authenticated", "email": "mike@example.com", "aal": "aal2", "amr": [{"method": "totp", "timestamp": ' :two_hours_ago '}]}'

-- the attack -----------------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'vera_stolen';
select throws_ok('select request_account_deletion(null, 0)', '42501', null,
  'A token from a sign-in two hours ago cannot schedule an immediate erasure');
set local role maintenance;
set local request.jwt.claims = :'maint';
select is(cleanup_due_erasures(10), '{"erased": 0, "failed": 0}'::jsonb, 'The next cleanup run finds nobody to erase');
reset role;
select is((select count(*)::int from user_profiles where id = :'vera_id'), 1, 'Vera is still here');
select is((select count(*)::int from system_scheduled_deletions where user_id = :'vera_id'), 0, 'No erasure of Vera was scheduled');
set local role authenticated;
set local request.jwt.claims = :'vera_stolen';
select throws_ok('select request_account_deletion(null, 6)', '42501', null,
  'Nor one six days out: the grace period is at least seven days');

-- what the same token may do ---------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'vera_stolen';
select ok((select scheduled_for between now() + interval '7 days' - interval '1 second' and now() + interval '7 days' + interval '1 second'
           from request_account_deletion('leaving', 7)), 'Seven days out is allowed with any token');
select throws_ok('select request_account_deletion(null, 1)', '42501', null,
  'A pending erasure cannot be brought forward below the minimum either');
select ok((select scheduled_for > now() + interval '29 days' from request_account_deletion()), 'The default is still thirty days');
select is((select count(*)::int from comms_notifications where user_id = :'vera_id' and kind = 'account_deletion_scheduled'), 2,
  'Every accepted request leaves a notification for Vera, two so far');
select is((select (to_email, payload ->> 'reason', (payload ->> 'scheduled_for')::timestamptz > now() + interval '29 days')
           from comms_notifications where user_id = :'vera_id' order by created_at desc, (payload ->> 'scheduled_for') desc limit 1),
  ('vera@example.com'::text, null::text, true), 'The notification says where to write and when the erasure is due, not why');
select is(cancel_account_deletion(), true, 'Vera can cancel with any token');

-- shorter, with proof of a fresh sign-in or a second factor ------------------------------------------
set local request.jwt.claims = :'vera_fresh';
select ok((select scheduled_for <= now() from request_account_deletion(null, 0)),
  'Signed in a minute ago, Vera can ask to be erased at once');
select is(cancel_account_deletion(), true, 'and cancel again');
set local request.jwt.claims = :'vera_ten_minutes';
select throws_ok('select request_account_deletion(null, 0)', '42501', null, 'Ten minutes after her last sign-in that is no longer possible');
set local request.jwt.claims = :'vera_rfc_amr';
select throws_ok('select request_account_deletion(null, 0)', '42501', null, 'amr without timestamps proves no recent sign-in');
set local request.jwt.claims = :'vera';
select throws_ok('select request_account_deletion(null, 0)', '42501', null, 'A token with neither aal nor amr proves nothing either');
set local request.jwt.claims = :'mike_aal2';
select ok((select scheduled_for <= now() + interval '1 day' from request_account_deletion(null, 1)),
  'Mike, signed in with a second factor (aal2), can choose a one-day grace period');
select is(cancel_account_deletion(), true, 'Mike cancels');

-- the setting ------------------------------------------------------------------------------------------
reset role;
update system_settings set value = '14' where key = 'account_deletion.minimum_delay_days';
update system_settings set value = '15' where key = 'account_deletion.recent_sign_in_minutes';
set local role authenticated;
set local request.jwt.claims = :'vera_stolen';
select throws_ok('select request_account_deletion(null, 10)', '42501', null, 'With the minimum set to 14 days, 10 days is refused');
select lives_ok('select request_account_deletion(null, 14)', '14 days is accepted');
set local request.jwt.claims = :'vera_ten_minutes';
select lives_ok('select request_account_deletion(null, 0)', 'With a 15-minute window, a sign-in ten minutes ago is recent');
select throws_ok('select request_account_deletion(null, -1)', '22023', null, 'A negative delay is still refused');

-- who sees the notifications ----------------------------------------------------------------------
set local request.jwt.claims = :'bob';
select is((select count(*)::int from comms_notifications), 0, 'Bob sees none of Vera''s notifications');
set local request.jwt.claims = :'vera';
select ok((select count(*)::int from comms_notifications) >= 4, 'Vera sees hers');
select throws_ok(format('insert into comms_notifications (user_id, kind) values (%L, %L)', :'vera_id', 'account_deletion_scheduled'),
  '42501', null, 'Vera cannot write notifications');
select throws_ok('update comms_notifications set sent_at = now()', '42501', null, 'Vera cannot mark them sent');
select throws_ok('delete from comms_notifications', '42501', null, 'Vera cannot delete them');
set local role service_role;
set local request.jwt.claims = '{"role": "service_role"}';
with sent as (update comms_notifications set sent_at = now() where user_id = :'vera_id' and sent_at is null returning 1)
select ok(count(*) >= 4, 'The app''s sender (service role) marks them sent') from sent;

select * from finish();
rollback;
