-- 0026 save_lead_scoring_rules
--
-- `PUT /functions/v1/lead-scoring/rules` saves a workspace's rules and, when the body names it,
-- its engagement half-life. It made two requests (replace_lead_scoring_rules, then an upsert of
-- crm_lead_scoring_settings), so a refused half-life could leave the new rules saved with the
-- old half-life. Now both are one call and one transaction: all of it is saved or none.
--
-- save_lead_scoring_rules(workspace_id uuid, rules jsonb, set_half_life boolean default false,
--                         engagement_half_life_days integer default null)
--   returns setof crm_lead_scoring_rules
--   SECURITY INVOKER, so RLS and grants decide exactly as for the two writes it replaces:
--   rules as replace_lead_scoring_rules (0016, checks from 0022): owners and admins only
--   (42501), 23514 for a condition the engine would refuse or more than 200 rules, 22023 for a
--   malformed list. set_half_life false leaves the setting alone; true stores
--   engagement_half_life_days (null: no decay; 1 to 3650 days, else 23514). Returns the stored
--   rules in evaluation order. authenticated and service_role.

create or replace function public.save_lead_scoring_rules(
  workspace_id uuid,
  rules jsonb,
  set_half_life boolean default false,
  engagement_half_life_days integer default null
)
returns setof public.crm_lead_scoring_rules
language plpgsql volatile security invoker
set search_path = ''
as $$
begin
  -- return query only queues the rows: the function goes on, and a refused half-life below
  -- still rolls the whole call back.
  return query
  select * from public.replace_lead_scoring_rules(save_lead_scoring_rules.workspace_id, save_lead_scoring_rules.rules);

  if save_lead_scoring_rules.set_half_life then
    insert into public.crm_lead_scoring_settings (workspace_id, engagement_half_life_days)
    values (save_lead_scoring_rules.workspace_id, save_lead_scoring_rules.engagement_half_life_days)
    on conflict on constraint crm_lead_scoring_settings_pkey
    do update set engagement_half_life_days = excluded.engagement_half_life_days;
  end if;
end
$$;
revoke execute on function public.save_lead_scoring_rules(uuid, jsonb, boolean, integer) from public, anon, authenticated;
grant execute on function public.save_lead_scoring_rules(uuid, jsonb, boolean, integer) to authenticated, service_role;
