-- personal API keys (0040): users create, list and revoke their own keys and never read a hash;
-- nobody reads or revokes another's; only the narrow personal_key_resolver role resolves a hash,
-- and only to a live key; a token minted for a key cannot make keys, and a workspace-scoped key
-- sees only its workspace.
\ir support/people.psql
begin;
select * from no_plan();
grant usage on schema extensions to personal_key_resolver;

\set resolver '{"role": "personal_key_resolver", "sub": "personal-keys"}'
\set alice_hash '''aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'''
\set alice_ws_hash '''abababababababababababababababababababababababababababababababab'''
\set bob_hash '''bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'''

-- creating ---------------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'alice';
select is((create_personal_api_key('ci script', 'rlse_pk_Alice001', :alice_hash, 'read', array['crm_leads'], null, array['lead-scoring'])
           - array['id', 'created_at']),
  jsonb_build_object('user_id', :'alice_id', 'workspace_id', null, 'name', 'ci script', 'key_prefix', 'rlse_pk_Alice001',
                     'access', 'read', 'tables', jsonb_build_array('crm_leads'), 'rpcs', null,
                     'functions', jsonb_build_array('lead-scoring'), 'expires_at', null, 'last_used_at', null, 'revoked_at', null),
  'Alice creates a key and gets its metadata back, without the hash');
select lives_ok(format($$select create_personal_api_key('workspace key', 'rlse_pk_Alice002', %L, 'write', null, null, null, %L)$$,
  :alice_ws_hash, :'alice_ws'), 'Alice creates a key scoped to her own workspace');
select throws_ok(format($$select create_personal_api_key('sneaky', 'rlse_pk_Alice003', %L, 'read', null, null, null, %L)$$,
  repeat('c', 64), :'bob_ws'), '42501', null, 'Alice cannot scope a key to Bob''s workspace');
select throws_ok(format($$select create_personal_api_key('dup', 'rlse_pk_Alice004', %L)$$, :alice_hash), '23505', null,
  'A hash already stored is refused');
select throws_ok($$select create_personal_api_key('bad', 'rlse_pk_Alice005', 'not-a-hash')$$, '22023', null,
  'A value that is not a SHA-256 in hex is refused');
select throws_ok(format($$select create_personal_api_key('bad', 'sk_live_123', %L)$$, repeat('d', 64)), '22023', null,
  'A display prefix not of the rlse_pk_ shape is refused');
select throws_ok(format($$select create_personal_api_key('bad', 'rlse_pk_Alice006', %L, 'admin')$$, repeat('d', 64)), '22023', null,
  'An access level other than read or write is refused');
select throws_ok(format($$select create_personal_api_key('bad', 'rlse_pk_Alice007', %L, 'read', array['crm_leads; drop table x'])$$, repeat('d', 64)),
  '22023', null, 'A table name that is not an identifier is refused');
select throws_ok(format($$select create_personal_api_key('old', 'rlse_pk_Alice008', %L, 'read', null, null, null, null, now() - interval '1 day')$$, repeat('d', 64)),
  '22023', null, 'An expiry in the past is refused');
select throws_ok(format($$select create_personal_api_key('  ', 'rlse_pk_Alice009', %L)$$, repeat('d', 64)), '22023', null,
  'A blank name is refused');
set local request.jwt.claims = :'bob';
select lives_ok(format($$select create_personal_api_key('bob key', 'rlse_pk_Bob00001', %L, 'write')$$, :bob_hash),
  'Bob creates a key of his own');
reset role;
select id as alice_key from security_personal_api_keys where key_hash = :alice_hash \gset

-- reading ------------------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'alice';
select is((select array_agg(name order by name) from security_personal_api_keys), array['ci script', 'workspace key'],
  'Alice lists her own keys and not Bob''s');
select throws_ok($$select key_hash from security_personal_api_keys$$, '42501', null, 'Alice cannot read the hash of her own keys');
select throws_ok($$select * from security_personal_api_keys$$, '42501', null, 'Not even through select *');
select throws_ok(format($$insert into security_personal_api_keys (user_id, name, key_prefix, key_hash) values (%L, 'x', 'rlse_pk_Forged01', %L)$$,
  :'bob_id', repeat('e', 64)), '42501', null, 'Alice cannot insert a key directly (for Bob or anyone)');
select throws_ok($$update security_personal_api_keys set revoked_at = null$$, '42501', null, 'Alice cannot update keys directly (no un-revoking)');
select throws_ok($$delete from security_personal_api_keys$$, '42501', null, 'Alice cannot delete keys directly');
reset role;
set local role anon;
select throws_ok($$select id from security_personal_api_keys$$, '42501', null, 'Anonymous callers cannot see keys');
select throws_ok(format($$select create_personal_api_key('anon', 'rlse_pk_Anon0001', %L)$$, repeat('f', 64)), '42501', null,
  'Anonymous callers cannot create keys');
reset role;

-- resolving: only the narrow role --------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'alice';
select throws_ok(format('select resolve_personal_api_key(%L)', :bob_hash), '42501', null,
  'Alice cannot resolve a hash (say, one she guessed) to its owner');
reset role;
set local role personal_key_resolver;
set local request.jwt.claims = :'resolver';
select is(resolve_personal_api_key(:alice_hash) - 'id',
  jsonb_build_object('user_id', :'alice_id', 'email', 'alice@example.com', 'workspace_id', null, 'access', 'read',
                     'tables', jsonb_build_array('crm_leads'), 'rpcs', null, 'functions', jsonb_build_array('lead-scoring'),
                     'expires_at', null),
  'The resolver turns a live key''s hash into its owner and scopes');
select is(resolve_personal_api_key(repeat('0', 64)), null, 'An unknown hash resolves to nothing');
select throws_ok($$select key_hash from security_personal_api_keys$$, '42501', null, 'The resolver cannot read the table, so cannot list hashes');
select throws_ok($$select id from security_personal_api_keys$$, '42501', null, 'Nor any column of it');
select throws_ok(format('select revoke_personal_api_key(%L)', gen_random_uuid()), '42501', null, 'The resolver cannot revoke keys');
select throws_ok($$select * from user_profiles$$, '42501', null, 'The resolver cannot read profiles');
reset role;
select isnt((select last_used_at from security_personal_api_keys where key_hash = :alice_hash), null,
  'Resolving records when the key was last used');

-- a key's own token cannot manage keys ----------------------------------------------------------------
set local role authenticated;
select set_config('request.jwt.claims', format('{"sub": "%s", "role": "authenticated", "api_key_id": "%s", "scopes": {"access": "write"}}',
  :'alice_id', :'alice_key'), true);
select throws_ok(format($$select create_personal_api_key('minted', 'rlse_pk_Alice010', %L, 'write')$$, repeat('9', 64)), '42501', null,
  'A token minted for a personal key cannot create another key (a leaked key cannot mint itself a successor)');
select throws_ok(format('select revoke_personal_api_key(%L)', (select id from security_personal_api_keys where name = 'workspace key')),
  '42501', null, 'Nor revoke keys');
reset role;

-- workspace-scoped tokens ---------------------------------------------------------------------------
insert into workspaces (id, name, owner_id) values ('a11ce000-0000-4000-8000-0000000000ab', 'Alice second', :'alice_id');
set local role authenticated;
select set_config('request.jwt.claims', format('{"sub": "%s", "role": "authenticated", "api_key_id": "%s", "scopes": {"access": "write", "workspace_id": "%s"}}',
  :'alice_id', gen_random_uuid(), :'alice_ws'), true);
select is(is_workspace_member(:'alice_ws'), true, 'A workspace-scoped key''s token is a member of its workspace');
select is(is_workspace_member('a11ce000-0000-4000-8000-0000000000ab'), false, 'but not of the owner''s other workspaces');
select is((select array_agg(id) from workspaces), array[:'alice_ws'::uuid], 'so RLS shows it only its own workspace');
select is((select count(*)::int from workspace_members where workspace_id <> :'alice_ws'), 0, 'and only its own workspace''s members');
select throws_ok($$insert into crm_leads (workspace_id, user_id, name) values ('a11ce000-0000-4000-8000-0000000000ab', 'a11ce000-0000-4000-8000-000000000001', 'x')$$,
  '42501', null, 'It cannot add a lead to the owner''s other workspace');
select lives_ok(format($$insert into crm_leads (workspace_id, user_id, name) values (%L, %L, 'in scope')$$, :'alice_ws', :'alice_id'),
  'but it can add one to its own');
set local request.jwt.claims = :'alice';
select is((select count(*)::int from workspaces where id in (:'alice_ws', 'a11ce000-0000-4000-8000-0000000000ab')), 2,
  'Alice''s own session still sees both of her workspaces');
reset role;

-- revoking ----------------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'bob';
select throws_ok(format('select revoke_personal_api_key(%L)', (select id from security_personal_api_keys where key_prefix = 'rlse_pk_Alice001')),
  'PT404', null, 'Bob cannot revoke Alice''s key (and is not told it exists)');
set local request.jwt.claims = :'alice';
select isnt(revoke_personal_api_key((select id from security_personal_api_keys where name = 'ci script')) ->> 'revoked_at', null,
  'Alice revokes her key');
select is((revoke_personal_api_key((select id from security_personal_api_keys where name = 'ci script')) ->> 'revoked_at')::timestamptz,
  (select revoked_at from security_personal_api_keys where name = 'ci script'), 'Revoking again keeps the first time');
reset role;
set local role personal_key_resolver;
set local request.jwt.claims = :'resolver';
select is(resolve_personal_api_key(:alice_hash), null, 'A revoked key resolves to nothing');
select isnt(resolve_personal_api_key(:bob_hash), null, 'Bob''s key still resolves');
reset role;

-- expiry, membership and the owner's erasure ------------------------------------------------------------
update security_personal_api_keys set created_at = now() - interval '2 days', expires_at = now() - interval '1 second' where key_hash = :bob_hash;
delete from workspace_members where workspace_id = :'alice_ws' and user_id = :'alice_id';
set local role personal_key_resolver;
set local request.jwt.claims = :'resolver';
select is(resolve_personal_api_key(:bob_hash), null, 'An expired key resolves to nothing');
select is(resolve_personal_api_key(:alice_ws_hash), null, 'A workspace key whose owner left the workspace resolves to nothing');
reset role;

-- at most 50 active keys --------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'bob';
select is((select count(*)::int from generate_series(1, 50) g,
           lateral create_personal_api_key('bulk ' || g, 'rlse_pk_Bulk' || lpad(g::text, 4, '0'), encode(sha256(g::text::bytea), 'hex'))),
  50, 'Bob makes 50 active keys (his expired one does not count)');
select throws_ok(format($$select create_personal_api_key('one too many', 'rlse_pk_Bulk0051', %L)$$, repeat('5', 64)), 'P0001', null,
  'The 51st active key is refused');
reset role;

select * from finish();
rollback;
