-- 0024 security events
--
-- Who writes security_event_logs (0005), which nothing wrote before, and how long rows stay.
--
-- security_recorder  a narrow role: the edge acts as it through a one-minute token it mints
--                    (shared/src/security_events.rs) and it may only call the two RPCs below.
--                    Users cannot write events at all, so nobody can forge one about anybody.
-- SQL functions      call private.record_security_event (e.g. the Stripe checkout refusal, 0025).
--
-- record_security_events(events jsonb) returns integer
--   security_recorder, service_role. `events` is a JSON array of 1 to 500 objects
--   {"event_type", "severity"?, "user_id"?, "details"?, "ip_address"?, "user_agent"?}:
--   event_type  lower-case dotted name, e.g. api_key.stored (at most 64 characters)
--   severity    info (default), warning or critical
--   user_id     whom the event concerns: they read it under RLS. A user without a profile
--               (the foreign key) is kept as details.user_id with user_id null.
--   details     a JSON object of at most 4096 bytes; never keys, tokens or bodies
--   ip_address  the client's address as the edge saw it; user_agent, cut at 512 characters
--   Returns how many rows were written. 22023 (400) for anything malformed; nothing is written
--   then (one statement).
--
-- record_refused_access(actor uuid, resource text, resource_ids uuid[], function_name text,
--                       ip_address text default null, user_agent text default null)
--   returns integer
--   security_recorder, service_role. The edge calls it when a caller asked for leads or a
--   workspace that RLS hid from them (1 to 1000 ids). Only cross-tenant attempts are recorded:
--   the resource exists and the actor is no member of its workspace. Each row concerns the
--   workspace's owner (the affected user, who reads it), never the actor: a row the actor could
--   read would tell them that the id exists. Returns how many rows were written.
--   resource: 'lead' | 'workspace'.
--
-- cleanup_security_events(batch_size int default 5000) returns jsonb
--   {"deleted", "by_severity": {...}}: maintenance. Rows older than the retention_days of the
--   system_logs_settings level named like their severity (info 30, warning 90, critical 365
--   days by default), oldest first.
--
-- Readers are 0005's policies: each user their own rows, platform admins every row,
-- service_role everything.

-- the role -----------------------------------------------------------------------------------

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'security_recorder') then
    create role security_recorder nologin noinherit;
  end if;
  if not exists (
    select 1 from pg_auth_members m
    where m.roleid = 'security_recorder'::regrole and m.member = 'authenticator'::regrole
  ) then
    grant security_recorder to authenticator;
  end if;
end
$$;

grant usage on schema public to security_recorder;

-- writing ------------------------------------------------------------------------------------

create or replace function private.record_security_event(
  event_type text,
  severity public.security_event_severity,
  user_id uuid,
  details jsonb,
  ip_address inet default null,
  user_agent text default null
) returns uuid
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  subject uuid := record_security_event.user_id;
  facts jsonb := coalesce(record_security_event.details, '{}'::jsonb);
  event_id uuid;
begin
  if record_security_event.event_type is null
     or char_length(record_security_event.event_type) > 64
     or record_security_event.event_type !~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$' then
    raise exception 'event_type must be a lower-case dotted name of at most 64 characters' using errcode = '22023';
  end if;
  if jsonb_typeof(facts) <> 'object' or octet_length(facts::text) > 4096 then
    raise exception 'details must be a JSON object of at most 4096 bytes' using errcode = '22023';
  end if;
  if subject is not null and not exists (select 1 from public.user_profiles p where p.id = subject) then
    facts := facts || jsonb_build_object('user_id', subject);
    subject := null;
  end if;

  insert into public.security_event_logs (user_id, event_type, severity, ip_address, user_agent, details)
  values (subject, record_security_event.event_type, coalesce(record_security_event.severity, 'info'),
          record_security_event.ip_address, left(record_security_event.user_agent, 512), facts)
  returning id into event_id;
  return event_id;
end
$$;

revoke execute on function private.record_security_event(text, public.security_event_severity, uuid, jsonb, inet, text)
  from public, anon, authenticated;

create or replace function public.record_security_events(events jsonb) returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  event jsonb;
  written integer := 0;
begin
  if events is null or jsonb_typeof(events) <> 'array' or jsonb_array_length(events) not between 1 and 500 then
    raise exception 'events must be a JSON array of 1 to 500 events' using errcode = '22023';
  end if;
  for event in select value from jsonb_array_elements(events) loop
    if jsonb_typeof(event) <> 'object' then
      raise exception 'each event must be a JSON object' using errcode = '22023';
    end if;
    begin
      perform private.record_security_event(
        event ->> 'event_type',
        coalesce(event ->> 'severity', 'info')::public.security_event_severity,
        (event ->> 'user_id')::uuid,
        coalesce(event -> 'details', '{}'::jsonb),
        (event ->> 'ip_address')::inet,
        event ->> 'user_agent'
      );
    exception
      when invalid_text_representation then
        raise exception 'severity, user_id or ip_address of event % is malformed', written + 1 using errcode = '22023';
    end;
    written := written + 1;
  end loop;
  return written;
end
$$;

revoke execute on function public.record_security_events(jsonb) from public, anon, authenticated;
grant execute on function public.record_security_events(jsonb) to security_recorder, service_role;

create or replace function public.record_refused_access(
  actor uuid,
  resource text,
  resource_ids uuid[],
  function_name text,
  ip_address text default null,
  user_agent text default null
) returns integer
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  address inet;
  attempt record;
  written integer := 0;
begin
  if actor is null or resource_ids is null or cardinality(resource_ids) not between 1 and 1000 then
    raise exception 'actor and 1 to 1000 resource_ids are required' using errcode = '22023';
  end if;
  if coalesce(btrim(function_name), '') = '' or char_length(function_name) > 64 then
    raise exception 'function_name must be 1 to 64 characters' using errcode = '22023';
  end if;
  if resource not in ('lead', 'workspace') or resource is null then
    raise exception 'resource must be lead or workspace' using errcode = '22023';
  end if;
  begin
    address := record_refused_access.ip_address::inet;
  exception when invalid_text_representation then
    raise exception 'ip_address is malformed' using errcode = '22023';
  end;

  for attempt in
    select distinct asked.id as resource_id, w.id as workspace_id, w.owner_id
    from unnest(resource_ids) as asked(id)
    join public.workspaces w on w.id = case resource
      when 'lead' then (select l.workspace_id from public.crm_leads l where l.id = asked.id)
      else asked.id
    end
    where not exists (
      select 1 from public.workspace_members m where m.workspace_id = w.id and m.user_id = actor
    )
  loop
    perform private.record_security_event(
      'access.cross_tenant_refused', 'warning', attempt.owner_id,
      jsonb_build_object('resource', resource, 'resource_id', attempt.resource_id, 'workspace_id', attempt.workspace_id,
                         'actor_user_id', actor, 'function', function_name),
      address,
      record_refused_access.user_agent
    );
    written := written + 1;
  end loop;
  return written;
end
$$;

revoke execute on function public.record_refused_access(uuid, text, uuid[], text, text, text) from public, anon, authenticated;
grant execute on function public.record_refused_access(uuid, text, uuid[], text, text, text) to security_recorder, service_role;

-- retention ----------------------------------------------------------------------------------

create or replace function public.cleanup_security_events(batch_size integer default 5000) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  setting record;
  budget integer := batch_size;
  n integer;
  by_severity jsonb := '{}'::jsonb;
begin
  if batch_size is null or batch_size < 1 or batch_size > 100000 then
    raise exception 'batch_size must be between 1 and 100000' using errcode = '22023';
  end if;

  for setting in
    select s.level::text as severity, s.retention_days
    from public.system_logs_settings s
    where s.level::text in ('info', 'warning', 'critical')
    order by s.level
  loop
    exit when budget <= 0;
    with gone as (
      delete from public.security_event_logs e
      where e.id in (
        select old.id from public.security_event_logs old
        where old.severity::text = setting.severity
          and old.created_at < now() - make_interval(days => setting.retention_days)
        order by old.created_at
        limit budget
      )
      returning 1
    )
    select count(*) into n from gone;
    budget := budget - n;
    if n > 0 then
      by_severity := by_severity || jsonb_build_object(setting.severity, n);
    end if;
  end loop;
  return jsonb_build_object('deleted', batch_size - budget, 'by_severity', by_severity);
end
$$;

revoke execute on function public.cleanup_security_events(integer) from public, anon, authenticated;
grant execute on function public.cleanup_security_events(integer) to maintenance, service_role;

create index if not exists idx_security_event_logs_severity_created
  on public.security_event_logs (severity, created_at);
