-- security_*: a user's API keys are theirs alone (platform admins only read them); the
-- maintenance job sees and rewrites only the key material rotation needs; the security event
-- log is read-only for its subject; reset tokens belong to the service role.
\ir support/people.psql
begin;
select * from no_plan();
select tests.create_cast();
insert into security_api_keys (user_id, service, key_ciphertext, nonce, salt, key_version, key_hint)
values (:'bob_id', 'stripe', 'ct-bob', 'n-bob', 's-bob', 1, '4242');
insert into security_event_logs (user_id, event_type, severity) values
  (:'alice_id', 'password_changed', 'info'), (:'bob_id', 'login_failed', 'warning');

-- security_api_keys ----------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'alice';
select lives_ok(format('insert into security_api_keys (user_id, service, key_ciphertext, nonce, salt, key_version, key_hint) values (%L, %L, %L, %L, %L, 1, %L)',
  :'alice_id', 'openai', 'ct-alice', 'n-alice', 's-alice', 'abcd'), 'Alice can store her own OpenAI key');
select throws_ok(format('insert into security_api_keys (user_id, service, key_ciphertext, nonce, salt) values (%L, %L, %L, %L, %L)',
  :'bob_id', 'openai', 'ct', 'n', 's'), '42501', null, 'Alice cannot store a key in Bob''s name');
select throws_ok(format('insert into security_api_keys (user_id, service, key_ciphertext, nonce, salt) values (%L, %L, %L, %L, %L)',
  :'alice_id', 'openai', 'ct2', 'n2', 's2'), '23505', null, 'Alice cannot hold two OpenAI keys');
select lives_ok(format('insert into security_api_keys as k (user_id, service, key_ciphertext, nonce, salt, key_version, key_hint) values (%L, %L, %L, %L, %L, 1, %L) on conflict (user_id, service) do update set user_id = excluded.user_id, service = excluded.service, key_ciphertext = excluded.key_ciphertext, nonce = excluded.nonce, salt = excluded.salt, key_hint = excluded.key_hint',
  :'alice_id', 'openai', 'ct-alice-2', 'n-alice-2', 's-alice-2', 'wxyz'), 'Alice can replace her key with an upsert, as PostgREST sends it');
select is((select key_hint from security_api_keys where service = 'openai'), 'wxyz', 'Alice''s upsert replaced her key');
select is((select count(*)::int from security_api_keys), 1, 'Alice sees her own key and not Bob''s');
with changed as (update security_api_keys set status = 'healthy', last_checked = now() where user_id = :'alice_id' returning 1)
select is(count(*)::int, 1, 'Alice can record a health check on her key') from changed;
with changed as (update security_api_keys set status = 'inactive' where user_id = :'bob_id' returning 1)
select is(count(*)::int, 0, 'Alice cannot touch Bob''s key') from changed;
with gone as (delete from security_api_keys where user_id = :'bob_id' returning 1)
select is(count(*)::int, 0, 'Alice cannot delete Bob''s key') from gone;

set local request.jwt.claims = :'wanda';
select is((select count(*)::int from security_api_keys), 0, 'Wanda, Alice''s workspace admin, cannot see Alice''s keys');

set local request.jwt.claims = :'pat';
select is((select count(*)::int from security_api_keys), 2, 'Pat, a platform admin, can read every key');
with changed as (update security_api_keys set status = 'inactive' where user_id = :'alice_id' returning 1)
select is(count(*)::int, 0, 'Pat, a platform admin, cannot change Alice''s key') from changed;
with gone as (delete from security_api_keys where user_id = :'alice_id' returning 1)
select is(count(*)::int, 0, 'Pat, a platform admin, cannot delete Alice''s key') from gone;

set local role maintenance;
set local request.jwt.claims = :'maint';
select is((select count(*)::int from (select id, user_id, service, key_ciphertext, nonce, salt, key_version from security_api_keys) k), 2,
  'The maintenance job can read every key''s material for rotation');
select throws_ok('select key_hint from security_api_keys', '42501', null, 'The maintenance job cannot read a key''s hint');
select throws_ok('select * from security_api_keys', '42501', null, 'The maintenance job cannot read whole key rows');
with rotated as (
  update security_api_keys set key_ciphertext = 'ct-v2', nonce = 'n-v2', salt = 's-v2', key_version = 2
  where key_version = 1 returning id
) select is(count(*)::int, 2, 'The maintenance job can re-encrypt every key') from rotated;
select throws_ok(format('update security_api_keys set status = %L', 'inactive'), '42501', null,
  'The maintenance job cannot change a key''s status');
select throws_ok(format('update security_api_keys set user_id = %L', :'bob_id'), '42501', null,
  'The maintenance job cannot move a key to another user');

set local role authenticated;
set local request.jwt.claims = :'alice';
select is((select key_version from security_api_keys), 2, 'Alice''s key now carries the new key version');
with gone as (delete from security_api_keys where user_id = :'alice_id' returning 1)
select is(count(*)::int, 1, 'Alice can delete her own key') from gone;

-- security_event_logs --------------------------------------------------------------------------
select is((select event_type from security_event_logs), 'password_changed', 'Alice sees her own security events only');
select throws_ok(format('insert into security_event_logs (user_id, event_type) values (%L, %L)', :'alice_id', 'forged'),
  '42501', null, 'Alice cannot write security events');
select throws_ok(format('update security_event_logs set event_type = %L', 'x'), '42501', null, 'Alice cannot edit security events');
select throws_ok('delete from security_event_logs', '42501', null, 'Alice cannot erase security events');
set local request.jwt.claims = :'bob';
select is((select event_type from security_event_logs), 'login_failed', 'Bob sees his own security events only');
set local request.jwt.claims = :'pat';
select is((select count(*)::int from security_event_logs), 2, 'Pat, a platform admin, sees every security event');

-- security_reset_tokens ------------------------------------------------------------------------
set local request.jwt.claims = :'alice';
select throws_ok('select * from security_reset_tokens', '42501', null, 'Alice cannot read reset tokens, not even her own');
set local role service_role;
set local request.jwt.claims = '{"role": "service_role"}';
select lives_ok(format('insert into security_reset_tokens (user_id, token_hash, expires_at) values (%L, %L, now() + interval %L)', :'alice_id', 'hash-1', '1 hour'),
  'The service role can issue a reset token');
select is((select count(*)::int from security_reset_tokens), 1, 'The service role can read reset tokens');

select * from finish();
rollback;
