-- 0016 lead-scoring RPCs
--
-- Both SECURITY INVOKER: they run with the caller's rights, so RLS alone decides what they may
-- touch (members write scores of their workspace's leads, admins write rules, maintenance
-- writes scores through its column grant).
--
-- apply_lead_scores(scores jsonb) returns integer
--   scores: [{"id": uuid, "score": 0..100, "score_breakdown": {...}, "scored_at": timestamptz}]
--   (scored_at optional, default now()). Writes score, score_breakdown and scored_at of every
--   listed lead the caller may update and returns how many rows changed; leads the caller
--   cannot see or update are skipped silently (count them against the input to find them).
--   Executable by authenticated, maintenance, service_role. Errors: 22023 (400) when scores is
--   not an array; 23514 (400) for a score outside 0..100; 22P02 (400) for a malformed id.
--
-- replace_lead_scoring_rules(workspace_id uuid, rules jsonb) returns setof crm_lead_scoring_rules
--   rules: [{"rule_key", "rule_group": fit|engagement|motivation, "condition": {...},
--            "points": -100..100, "enabled": bool (default true), "sort_order": int
--            (default: position in the array)}]
--   Atomically replaces the workspace's whole rule set and returns it ordered by sort_order.
--   Owners and admins only (members read rules with a plain select). Executable by
--   authenticated and service_role. Errors: 42501 (403) when the caller is not an owner/admin
--   of the workspace; 22023 (400) for a rules value that is not an array or a rule missing
--   rule_key/rule_group/condition/points; 23505 (409) for a repeated rule_key; 23514 (400) for
--   points out of range, a malformed rule_key or a condition that is not an object; 22P02 (400)
--   for an unknown rule_group.
--   The per-workspace engagement half-life lives in crm_lead_scoring_settings (0006), written
--   with a plain upsert by the same owners/admins.

create or replace function public.apply_lead_scores(scores jsonb) returns integer
language plpgsql volatile security invoker
set search_path = ''
as $$
declare
  changed integer;
begin
  if scores is null or jsonb_typeof(scores) <> 'array' then
    raise exception 'scores must be a JSON array' using errcode = '22023';
  end if;

  update public.crm_leads l
  set score = s.score,
      score_breakdown = s.score_breakdown,
      scored_at = coalesce(s.scored_at, now())
  from jsonb_to_recordset(scores) as s(id uuid, score integer, score_breakdown jsonb, scored_at timestamptz)
  where l.id = s.id;
  get diagnostics changed = row_count;
  return changed;
end
$$;

revoke execute on function public.apply_lead_scores(jsonb) from public, anon, authenticated;
grant execute on function public.apply_lead_scores(jsonb) to authenticated, maintenance, service_role;

create or replace function public.replace_lead_scoring_rules(workspace_id uuid, rules jsonb)
returns setof public.crm_lead_scoring_rules
language plpgsql volatile security invoker
set search_path = ''
as $$
declare
  bypasses_rls boolean;
begin
  if rules is null or jsonb_typeof(rules) <> 'array' then
    raise exception 'rules must be a JSON array' using errcode = '22023';
  end if;
  select r.rolbypassrls into bypasses_rls from pg_catalog.pg_roles r where r.rolname = current_user;
  if not coalesce(bypasses_rls, false)
     and not public.is_workspace_member(replace_lead_scoring_rules.workspace_id, 'admin') then
    raise exception 'only owners and admins of the workspace can change its scoring rules'
      using errcode = '42501';
  end if;
  if exists (
    select 1 from jsonb_array_elements(rules) as r(rule)
    where jsonb_typeof(r.rule) <> 'object'
       or r.rule ->> 'rule_key' is null
       or r.rule ->> 'rule_group' is null
       or r.rule -> 'condition' is null
       or r.rule ->> 'points' is null
  ) then
    raise exception 'every rule needs rule_key, rule_group, condition and points'
      using errcode = '22023';
  end if;

  delete from public.crm_lead_scoring_rules r
  where r.workspace_id = replace_lead_scoring_rules.workspace_id;

  insert into public.crm_lead_scoring_rules
    (workspace_id, rule_key, rule_group, condition, points, enabled, sort_order)
  select replace_lead_scoring_rules.workspace_id,
         r.rule ->> 'rule_key',
         (r.rule ->> 'rule_group')::public.lead_scoring_rule_group,
         r.rule -> 'condition',
         (r.rule ->> 'points')::integer,
         coalesce((r.rule ->> 'enabled')::boolean, true),
         coalesce((r.rule ->> 'sort_order')::integer, (r.position - 1)::integer)
  from jsonb_array_elements(rules) with ordinality as r(rule, position);

  return query
  select * from public.crm_lead_scoring_rules r
  where r.workspace_id = replace_lead_scoring_rules.workspace_id
  order by r.sort_order, r.rule_key;
end
$$;

revoke execute on function public.replace_lead_scoring_rules(uuid, jsonb) from public, anon, authenticated;
grant execute on function public.replace_lead_scoring_rules(uuid, jsonb) to authenticated, service_role;
