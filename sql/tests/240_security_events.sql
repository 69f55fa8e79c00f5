-- security events (0024): only the narrow security_recorder role (and service_role) writes
-- them, through RPCs that validate every field; users read their own, platform admins all;
-- nobody can forge an event about someone else; a refused cross-tenant attempt is recorded for
-- the workspace's owner and never readable by the attacker; retention follows the log levels.
\ir support/people.psql
begin;
select * from no_plan();
select tests.create_cast();
grant usage on schema extensions, tests to security_recorder;

\set recorder '{"role": "security_recorder", "sub": "api-keys"}'
\set bob_lead 'b0b00000-0000-4000-8000-00000000b001'
insert into crm_leads (id, workspace_id, user_id, name) values (:'bob_lead', :'bob_ws', :'bob_id', 'Bob''s lead');
select id as alice_lead from crm_leads where workspace_id = :'alice_ws' limit 1 \gset

-- writing: only security_recorder ---------------------------------------------------------------
set local role security_recorder;
set local request.jwt.claims = :'recorder';
select is(record_security_events(format(
  '[{"event_type": "api_key.stored", "user_id": "%s", "details": {"service": "openai", "key_version": 2}, "ip_address": "203.0.113.7", "user_agent": "curl/8"},
    {"event_type": "privileged.called", "details": {"endpoint": "api-keys/rotate"}}]', :'alice_id')::jsonb), 2,
  'The security recorder writes a batch of events and is told how many');
select throws_ok($$select * from security_event_logs$$, '42501', null, 'The security recorder cannot read the event log');
select throws_ok(format('insert into security_event_logs (user_id, event_type) values (%L, %L)', :'bob_id', 'forged.event'),
  '42501', null, 'The security recorder cannot insert rows directly, only through the RPC');
select throws_ok($$select record_security_events('[{"event_type": "Not A Type"}]')$$, '22023', null, 'An event type that is not a dotted lower-case name is refused');
select throws_ok($$select record_security_events('[{"event_type": "a.b", "severity": "apocalyptic"}]')$$, '22023', null, 'An unknown severity is refused');
select throws_ok($$select record_security_events('[{"event_type": "a.b", "user_id": "not-a-uuid"}]')$$, '22023', null, 'A malformed user id is refused');
select throws_ok($$select record_security_events('[{"event_type": "a.b", "ip_address": "999.1.1.1"}]')$$, '22023', null, 'A malformed IP address is refused');
select throws_ok(format($$select record_security_events('[{"event_type": "a.b", "details": {"blob": "%s"}}]')$$, repeat('x', 5000)),
  '22023', null, 'Details over 4096 bytes are refused');
select throws_ok($$select record_security_events('[]')$$, '22023', null, 'An empty batch is refused');
select throws_ok($$select record_security_events('[{"event_type": "a.b"}, {"event_type": "BAD"}]')$$, '22023', null,
  'One bad event refuses the whole batch');
select is(record_security_events('[{"event_type": "privileged.refused", "user_id": "0f0f0f0f-0000-4000-8000-000000000000"}]'), 1,
  'An event about a user without a profile is still written');
reset role;
select is((select count(*)::int from security_event_logs where event_type in ('a.b', 'forged.event')), 0, 'Nothing of a refused batch was written');
select is((select (user_id, details ->> 'user_id') from security_event_logs where event_type = 'privileged.refused'),
  (null::uuid, '0f0f0f0f-0000-4000-8000-000000000000'::text), 'A user without a profile is kept in the details');
select is((select (ip_address, user_agent, severity::text) from security_event_logs where event_type = 'api_key.stored'),
  ('203.0.113.7'::inet, 'curl/8'::text, 'info'::text), 'The client''s address, user agent and the default severity are stored');

-- nobody else writes -------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'alice';
select throws_ok(format($$select record_security_events('[{"event_type": "api_key.deleted", "user_id": "%s"}]')$$, :'bob_id'),
  '42501', null, 'Alice cannot write an event about Bob through the RPC');
select throws_ok(format($$select record_security_events('[{"event_type": "api_key.deleted", "user_id": "%s"}]')$$, :'alice_id'),
  '42501', null, 'Alice cannot write an event about herself either');
select throws_ok(format('insert into security_event_logs (user_id, event_type) values (%L, %L)', :'alice_id', 'forged.event'),
  '42501', null, 'Alice cannot insert into the event log');
select throws_ok(format($$select record_refused_access(%L, 'lead', array[%L]::uuid[], 'lead-scoring')$$, :'alice_id', :'bob_lead'),
  '42501', null, 'Alice cannot report refused access herself');
select throws_ok($$select cleanup_security_events()$$, '42501', null, 'Alice cannot purge the event log');
reset role;

do $$
declare
  narrow text;
begin
  foreach narrow in array array['anon', 'webhook_ingest', 'maintenance', 'rate_limiter'] loop
    if has_function_privilege(narrow, 'public.record_security_events(jsonb)', 'execute')
       or has_function_privilege(narrow, 'public.record_refused_access(uuid, text, uuid[], text, text, text)', 'execute') then
      raise exception '% may record security events', narrow;
    end if;
  end loop;
end
$$;
select pass('No role but security_recorder and service_role may record security events');
select is(
  (select count(*)::int from information_schema.role_table_grants where grantee = 'security_recorder'), 0,
  'security_recorder holds no privilege on any table');
select is(
  (select array_agg(p.proname::text order by p.proname) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'public' and has_function_privilege('security_recorder', p.oid, 'execute')
     and not has_function_privilege('public', p.oid, 'execute')),
  array['record_refused_access', 'record_security_events'],
  'security_recorder may execute exactly the two recording RPCs');

-- reading ----------------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'alice';
select is((select array_agg(event_type order by event_type) from security_event_logs), array['api_key.stored'],
  'Alice reads her own events and nothing else');
set local request.jwt.claims = :'bob';
select is((select count(*)::int from security_event_logs), 0, 'Bob reads none of Alice''s events');
select throws_ok($$update security_event_logs set event_type = 'tampered.event'$$, '42501', null, 'Bob cannot change events');
select throws_ok($$delete from security_event_logs$$, '42501', null, 'Bob cannot delete events');
set local request.jwt.claims = :'pat';
select is((select count(*)::int from security_event_logs), 3, 'Pat, a platform admin, reads every event');
set local role anon;
set local request.jwt.claims = '{"role": "anon"}';
select throws_ok($$select * from security_event_logs$$, '42501', null, 'Anonymous callers cannot read the event log');
reset role;

-- refused cross-tenant access ----------------------------------------------------------------------
set local role security_recorder;
set local request.jwt.claims = :'recorder';
select is(record_refused_access(:'alice_id', 'lead', array[:'bob_lead', gen_random_uuid()]::uuid[], 'lead-scoring', '198.51.100.4', 'ua'), 1,
  'Alice asking for Bob''s lead is recorded; an id that exists nowhere is not a cross-tenant attempt');
select is(record_refused_access(:'alice_id', 'workspace', array[:'bob_ws']::uuid[], 'lead-scoring'), 1,
  'Alice asking for Bob''s workspace is recorded');
select is(record_refused_access(:'alice_id', 'lead', array[:'alice_lead']::uuid[], 'lead-scoring'), 0,
  'A lead in Alice''s own workspace is not a cross-tenant attempt');
select is(record_refused_access(:'vera_id', 'workspace', array[:'alice_ws']::uuid[], 'lead-scoring'), 0,
  'A member refused for her role (Vera, a viewer) is not a cross-tenant attempt');
select throws_ok(format($$select record_refused_access(%L, 'invoice', array[%L]::uuid[], 'lead-scoring')$$, :'alice_id', :'bob_lead'),
  '22023', null, 'Only leads and workspaces are known resources');
select throws_ok(format($$select record_refused_access(%L, 'lead', array[%L]::uuid[], 'lead-scoring', 'not-an-ip')$$, :'alice_id', :'bob_lead'),
  '22023', null, 'A malformed IP address is refused');
reset role;
select is((select count(*)::int from security_event_logs where event_type = 'access.cross_tenant_refused' and user_id = :'bob_id'), 2,
  'Both attempts are recorded for Bob, the owner of what was asked for');
select is((select details - 'resource_id' from security_event_logs where event_type = 'access.cross_tenant_refused' and details ->> 'resource' = 'lead'),
  jsonb_build_object('resource', 'lead', 'workspace_id', :'bob_ws', 'actor_user_id', :'alice_id', 'function', 'lead-scoring'),
  'The event names the resource, its workspace, the actor and the function');
set local role authenticated;
set local request.jwt.claims = :'alice';
select is((select count(*)::int from security_event_logs where event_type = 'access.cross_tenant_refused'), 0,
  'Alice cannot read the record of her attempt, so it cannot tell her that Bob''s lead exists');
set local request.jwt.claims = :'bob';
select is((select count(*)::int from security_event_logs where event_type = 'access.cross_tenant_refused'), 2,
  'Bob reads the attempts on his workspace');
reset role;

-- retention --------------------------------------------------------------------------------------
insert into security_event_logs (user_id, event_type, severity, created_at) values
  (:'alice_id', 'old.info', 'info', now() - interval '31 days'),
  (:'alice_id', 'recent.info', 'info', now() - interval '29 days'),
  (:'alice_id', 'old.warning', 'warning', now() - interval '91 days'),
  (:'alice_id', 'recent.warning', 'warning', now() - interval '89 days'),
  (:'alice_id', 'kept.critical', 'critical', now() - interval '200 days');
set local role maintenance;
set local request.jwt.claims = :'maint';
select is(cleanup_security_events(), '{"deleted": 2, "by_severity": {"info": 1, "warning": 1}}'::jsonb,
  'The maintenance job removes events past their severity''s retention (info 30, warning 90, critical 365 days)');
select is(cleanup_security_events(), '{"deleted": 0, "by_severity": {}}'::jsonb, 'A second run finds nothing');
select throws_ok($$select cleanup_security_events(0)$$, '22023', null, 'The batch size is checked');
reset role;
select is((select array_agg(event_type order by event_type) from security_event_logs where event_type like '%.info' or event_type like '%.warning' or event_type like '%.critical'),
  array['kept.critical', 'recent.info', 'recent.warning'], 'Events within their retention are kept');

select * from finish();
rollback;
