-- 0035 retention of resolved webhook events
--
-- cleanup_webhook_events (0015) deletes processed and ignored events past their retention; an
-- event an operator resolved by hand (0032) is just as finished, and is now deleted the same way,
-- counted from when it was resolved. Same signature and answer, {"deleted": n}; maintenance.

create or replace function public.cleanup_webhook_events(
  batch_size integer default 1000,
  retention_days integer default 30
) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  n integer;
  cutoff timestamptz;
begin
  if batch_size is null or batch_size < 1 or batch_size > 100000 then
    raise exception 'batch_size must be between 1 and 100000' using errcode = '22023';
  end if;
  if retention_days is null or retention_days < 1 then
    raise exception 'retention_days must be at least 1' using errcode = '22023';
  end if;
  cutoff := now() - make_interval(days => retention_days);

  with gone as (
    delete from public.system_webhook_events e
    where e.id in (
      select x.id from public.system_webhook_events x
      where (x.status in ('processed', 'ignored') and x.processed_at < cutoff)
         or (x.status = 'resolved' and x.resolved_at < cutoff)
      order by coalesce(x.processed_at, x.resolved_at)
      limit batch_size
      for update skip locked
    )
    returning 1
  ) select count(*) into n from gone;

  return jsonb_build_object('deleted', n);
end
$$;

revoke execute on function public.cleanup_webhook_events(integer, integer) from public, anon, authenticated;
grant execute on function public.cleanup_webhook_events(integer, integer) to maintenance, service_role;
