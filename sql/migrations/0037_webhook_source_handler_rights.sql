-- 0037 webhook source handlers run with their own owner's rights, never the processing owner's
--
-- 0031 let a source's handler be any (jsonb) -> text function webhook_ingest may execute, and ran
-- it inside the SECURITY DEFINER processing function. A SECURITY INVOKER handler therefore ran
-- with the rights of that function's owner (the database owner), whoever wrote the handler: a
-- role allowed to create functions and register sources (service_role, which Supabase lets
-- create functions in public) could run any statement as the database owner by registering an
-- invoker function and sending itself one signed delivery. Postgres cannot switch to
-- webhook_ingest inside a SECURITY DEFINER function, so the rights a handler runs with must be
-- its own author's:
--   a handler must be SECURITY DEFINER (it runs as its owner, who wrote it); the registry
--   refuses any other function, and the registering role must itself be able to execute it;
--   private.apply_source_event checks again on every call, so a handler switched to SECURITY
--   INVOKER after registration is not run (the event stays failed and is retried, with the
--   reason as its last error, until the handler is fixed).

create or replace function private.check_webhook_source_handler() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not exists (
    select 1 from pg_catalog.pg_proc p
    where p.oid = new.handler
      and p.prorettype = 'text'::regtype
      and p.pronargs = 1 and p.proargtypes[0] = 'jsonb'::regtype
  ) then
    raise exception 'the handler of webhook source % must take (jsonb) and return text', new.name
      using errcode = '22023';
  end if;
  if not (select p.prosecdef from pg_catalog.pg_proc p where p.oid = new.handler) then
    raise exception 'the handler of webhook source % must be SECURITY DEFINER', new.name
      using errcode = '22023',
            hint = 'It runs with its owner''s rights: declare it security definer with set search_path = ''''.';
  end if;
  if not pg_catalog.has_function_privilege(current_user, new.handler, 'execute') then
    raise exception 'the handler of webhook source % is not executable by %', new.name, current_user
      using errcode = '42501';
  end if;
  if not pg_catalog.has_function_privilege('webhook_ingest', new.handler, 'execute') then
    raise exception 'the handler of webhook source % is not executable by webhook_ingest', new.name
      using errcode = '22023', hint = format('grant execute on function %s to webhook_ingest', new.handler);
  end if;
  return new;
end
$$;

revoke execute on function private.check_webhook_source_handler() from public, anon, authenticated;

create or replace function private.apply_source_event(event public.system_webhook_events)
returns text
language plpgsql security definer
set search_path = ''
as $$
declare
  handler regprocedure;
  runs_as_owner boolean;
  outcome text;
begin
  select s.handler, p.prosecdef into handler, runs_as_owner
  from public.system_webhook_sources s
  left join pg_catalog.pg_proc p on p.oid = s.handler
  where s.name = event.source;
  if handler is null then
    -- Not a refusal: the source may be registered again; retried with backoff.
    raise exception 'webhook source % has no registered handler', event.source;
  end if;
  if not coalesce(runs_as_owner, false) then
    -- Retried like any failure, so the event is applied once the handler is fixed.
    raise exception 'the handler of webhook source % is no longer SECURITY DEFINER; not run', event.source;
  end if;
  execute format('select %s($1)', handler::oid::regproc)
    into outcome
    using jsonb_build_object('source', event.source, 'event_id', event.event_id,
                             'type', event.event_type, 'payload', event.payload);
  return coalesce(outcome, 'processed');
end
$$;

revoke execute on function private.apply_source_event(public.system_webhook_events) from public, anon, authenticated;
