-- 0006 crm
--
-- Leads, contacts, their links and notes, and the lead-scoring rules a workspace tunes.
-- Everything here belongs to a workspace. Rights follow the caller's workspace role:
--   viewer  reads
--   member  reads, adds and edits leads, contacts, links and notes; deletes what they created
--   admin   also deletes anything and writes the scoring rules and settings
--   owner   as admin
-- Platform admins read all leads (seed 001). `maintenance` reads leads and rules and may write
-- only score, score_breakdown and scored_at (re-scoring job).
--
-- Deviation from seed 001, on purpose: the unique email/phone indexes are per workspace (the
-- seed had one tenant per user; here two workspaces may both know the same person).

-- crm_leads ------------------------------------------------------------------------------------

create table if not exists public.crm_leads (
  id uuid primary key default gen_random_uuid(),
  workspace_id uuid not null references public.workspaces (id) on delete cascade,
  -- The member who created the lead. Erasure reassigns leads in shared workspaces first.
  user_id uuid not null references public.user_profiles (id) on delete cascade,
  name text not null,
  phone text,
  email text,
  company text,
  source text,
  status public.lead_status not null default 'new',
  score integer,
  score_breakdown jsonb,
  scored_at timestamptz,
  tags text[] not null default '{}',
  opt_status public.opt_status not null default 'pending',
  is_deleted boolean not null default false,
  last_contacted_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint crm_leads_name_length check (char_length(btrim(name)) between 1 and 200),
  constraint crm_leads_score_range check (score is null or score between 0 and 100),
  constraint crm_leads_score_breakdown_object check (score_breakdown is null or jsonb_typeof(score_breakdown) = 'object')
);

create index if not exists idx_crm_leads_user_id on public.crm_leads (user_id);
create index if not exists idx_crm_leads_workspace_id on public.crm_leads (workspace_id);
create index if not exists idx_crm_leads_status on public.crm_leads (status);
create index if not exists idx_crm_leads_email on public.crm_leads (email);
create index if not exists idx_crm_leads_phone on public.crm_leads (phone);
create index if not exists idx_crm_leads_user_status on public.crm_leads (user_id, status);
create index if not exists idx_crm_leads_user_created on public.crm_leads (user_id, created_at desc);
create index if not exists idx_crm_leads_workspace_created on public.crm_leads (workspace_id, created_at desc);
create index if not exists idx_crm_leads_active on public.crm_leads (user_id, created_at desc)
  where status in ('active', 'qualified') and is_deleted = false;
create index if not exists idx_crm_leads_tags_gin on public.crm_leads using gin (tags);
create index if not exists idx_crm_leads_email_lower on public.crm_leads (lower(email));
create index if not exists idx_crm_leads_name_lower on public.crm_leads (lower(name));
create unique index if not exists idx_crm_leads_email_unique
  on public.crm_leads (workspace_id, lower(email)) where email is not null and is_deleted = false;
create unique index if not exists idx_crm_leads_phone_unique
  on public.crm_leads (workspace_id, phone) where phone is not null and is_deleted = false;
create index if not exists idx_crm_leads_user_status_covering
  on public.crm_leads (user_id, status) include (name, email, phone, score, created_at);
-- The re-scoring job takes the stalest scores first.
create index if not exists idx_crm_leads_scored_at
  on public.crm_leads (scored_at nulls first) where is_deleted = false;

create or replace trigger crm_leads_set_updated_at
  before update on public.crm_leads
  for each row execute function private.set_updated_at();

-- True when the caller may act on `lead` with at least `minimum_role` in its workspace. Used by
-- the policies of tables that hang off a lead; SECURITY DEFINER to read membership directly.
create or replace function public.can_access_lead(
  lead uuid,
  minimum_role public.workspace_role default 'viewer'
) returns boolean
language sql stable security definer
set search_path = ''
as $$
  select exists (
    select 1
    from public.crm_leads l
    join public.workspace_members m on m.workspace_id = l.workspace_id
    where l.id = lead
      and m.user_id = auth.uid()
      and m.role >= minimum_role
  )
$$;

revoke execute on function public.can_access_lead(uuid, public.workspace_role) from public, anon;
grant execute on function public.can_access_lead(uuid, public.workspace_role) to authenticated, service_role;

alter table public.crm_leads enable row level security;

drop policy if exists "Workspace members can view leads" on public.crm_leads;
create policy "Workspace members can view leads" on public.crm_leads
  for select to authenticated
  using ((select public.is_workspace_member(workspace_id)) or (select public.is_admin()));

drop policy if exists "Members can add leads" on public.crm_leads;
create policy "Members can add leads" on public.crm_leads
  for insert to authenticated
  with check (
    user_id = (select auth.uid())
    and (select public.is_workspace_member(workspace_id, 'member'))
  );

drop policy if exists "Members can update leads" on public.crm_leads;
create policy "Members can update leads" on public.crm_leads
  for update to authenticated
  using ((select public.is_workspace_member(workspace_id, 'member')))
  with check ((select public.is_workspace_member(workspace_id, 'member')));

drop policy if exists "Admins and creators can delete leads" on public.crm_leads;
create policy "Admins and creators can delete leads" on public.crm_leads
  for delete to authenticated
  using (
    (select public.is_workspace_member(workspace_id, 'admin'))
    or (user_id = (select auth.uid()) and (select public.is_workspace_member(workspace_id, 'member')))
  );

drop policy if exists "Maintenance can read leads for re-scoring" on public.crm_leads;
create policy "Maintenance can read leads for re-scoring" on public.crm_leads
  for select to maintenance
  using (true);

drop policy if exists "Maintenance can write lead scores" on public.crm_leads;
create policy "Maintenance can write lead scores" on public.crm_leads
  for update to maintenance
  using (true)
  with check (true);

revoke all on public.crm_leads from anon, authenticated, maintenance;
grant select, delete on public.crm_leads to authenticated;
grant insert (id, workspace_id, user_id, name, phone, email, company, source, status, score,
              score_breakdown, scored_at, tags, opt_status, is_deleted, last_contacted_at)
  on public.crm_leads to authenticated;
grant update (name, phone, email, company, source, status, score, score_breakdown, scored_at,
              tags, opt_status, is_deleted, last_contacted_at)
  on public.crm_leads to authenticated;
grant select on public.crm_leads to maintenance;
grant update (score, score_breakdown, scored_at) on public.crm_leads to maintenance;
grant all on public.crm_leads to service_role;

-- crm_contacts ---------------------------------------------------------------------------------

create table if not exists public.crm_contacts (
  id uuid primary key default gen_random_uuid(),
  workspace_id uuid not null references public.workspaces (id) on delete cascade,
  user_id uuid not null references public.user_profiles (id) on delete cascade,
  first_name text,
  last_name text,
  email text,
  phone text,
  company text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint crm_contacts_identifiable check (coalesce(first_name, last_name, email, phone) is not null)
);

create index if not exists idx_crm_contacts_workspace_id on public.crm_contacts (workspace_id);
create index if not exists idx_crm_contacts_user_id on public.crm_contacts (user_id);
create index if not exists idx_crm_contacts_email_lower on public.crm_contacts (lower(email));

create or replace trigger crm_contacts_set_updated_at
  before update on public.crm_contacts
  for each row execute function private.set_updated_at();

alter table public.crm_contacts enable row level security;

drop policy if exists "Workspace members can view contacts" on public.crm_contacts;
create policy "Workspace members can view contacts" on public.crm_contacts
  for select to authenticated
  using ((select public.is_workspace_member(workspace_id)) or (select public.is_admin()));

drop policy if exists "Members can add contacts" on public.crm_contacts;
create policy "Members can add contacts" on public.crm_contacts
  for insert to authenticated
  with check (
    user_id = (select auth.uid())
    and (select public.is_workspace_member(workspace_id, 'member'))
  );

drop policy if exists "Members can update contacts" on public.crm_contacts;
create policy "Members can update contacts" on public.crm_contacts
  for update to authenticated
  using ((select public.is_workspace_member(workspace_id, 'member')))
  with check ((select public.is_workspace_member(workspace_id, 'member')));

drop policy if exists "Admins and creators can delete contacts" on public.crm_contacts;
create policy "Admins and creators can delete contacts" on public.crm_contacts
  for delete to authenticated
  using (
    (select public.is_workspace_member(workspace_id, 'admin'))
    or (user_id = (select auth.uid()) and (select public.is_workspace_member(workspace_id, 'member')))
  );

revoke all on public.crm_contacts from anon, authenticated;
grant select, delete on public.crm_contacts to authenticated;
grant insert (id, workspace_id, user_id, first_name, last_name, email, phone, company)
  on public.crm_contacts to authenticated;
grant update (first_name, last_name, email, phone, company) on public.crm_contacts to authenticated;
grant all on public.crm_contacts to service_role;

-- crm_lead_contacts ----------------------------------------------------------------------------

create table if not exists public.crm_lead_contacts (
  lead_id uuid not null references public.crm_leads (id) on delete cascade,
  contact_id uuid not null references public.crm_contacts (id) on delete cascade,
  relationship text,
  is_primary boolean not null default false,
  created_at timestamptz not null default now(),
  primary key (lead_id, contact_id)
);

create index if not exists idx_crm_lead_contacts_contact_id on public.crm_lead_contacts (contact_id);

alter table public.crm_lead_contacts enable row level security;

drop policy if exists "Workspace members can view lead contacts" on public.crm_lead_contacts;
create policy "Workspace members can view lead contacts" on public.crm_lead_contacts
  for select to authenticated
  using ((select public.can_access_lead(lead_id)));

-- Both ends must live in the same workspace, where the caller is at least a member.
drop policy if exists "Members can link contacts to leads" on public.crm_lead_contacts;
create policy "Members can link contacts to leads" on public.crm_lead_contacts
  for insert to authenticated
  with check (
    (select public.can_access_lead(lead_id, 'member'))
    and exists (
      select 1 from public.crm_contacts c
      join public.crm_leads l on l.workspace_id = c.workspace_id
      where c.id = contact_id and l.id = lead_id
    )
  );

drop policy if exists "Members can update lead contacts" on public.crm_lead_contacts;
create policy "Members can update lead contacts" on public.crm_lead_contacts
  for update to authenticated
  using ((select public.can_access_lead(lead_id, 'member')))
  with check ((select public.can_access_lead(lead_id, 'member')));

drop policy if exists "Members can unlink contacts" on public.crm_lead_contacts;
create policy "Members can unlink contacts" on public.crm_lead_contacts
  for delete to authenticated
  using ((select public.can_access_lead(lead_id, 'member')));

revoke all on public.crm_lead_contacts from anon, authenticated;
grant select, delete on public.crm_lead_contacts to authenticated;
grant insert (lead_id, contact_id, relationship, is_primary) on public.crm_lead_contacts to authenticated;
grant update (relationship, is_primary) on public.crm_lead_contacts to authenticated;
grant all on public.crm_lead_contacts to service_role;

-- crm_lead_notes -------------------------------------------------------------------------------

create table if not exists public.crm_lead_notes (
  id uuid primary key default gen_random_uuid(),
  lead_id uuid not null references public.crm_leads (id) on delete cascade,
  user_id uuid not null references public.user_profiles (id) on delete cascade,
  body text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint crm_lead_notes_body_length check (char_length(body) between 1 and 10000)
);

create index if not exists idx_crm_lead_notes_lead_created on public.crm_lead_notes (lead_id, created_at desc);
create index if not exists idx_crm_lead_notes_user_id on public.crm_lead_notes (user_id);

create or replace trigger crm_lead_notes_set_updated_at
  before update on public.crm_lead_notes
  for each row execute function private.set_updated_at();

alter table public.crm_lead_notes enable row level security;

drop policy if exists "Workspace members can view lead notes" on public.crm_lead_notes;
create policy "Workspace members can view lead notes" on public.crm_lead_notes
  for select to authenticated
  using ((select public.can_access_lead(lead_id)));

drop policy if exists "Members can add notes as themselves" on public.crm_lead_notes;
create policy "Members can add notes as themselves" on public.crm_lead_notes
  for insert to authenticated
  with check (user_id = (select auth.uid()) and (select public.can_access_lead(lead_id, 'member')));

drop policy if exists "Authors can edit their notes" on public.crm_lead_notes;
create policy "Authors can edit their notes" on public.crm_lead_notes
  for update to authenticated
  using (user_id = (select auth.uid()) and (select public.can_access_lead(lead_id, 'member')))
  with check (user_id = (select auth.uid()) and (select public.can_access_lead(lead_id, 'member')));

drop policy if exists "Authors and admins can delete notes" on public.crm_lead_notes;
create policy "Authors and admins can delete notes" on public.crm_lead_notes
  for delete to authenticated
  using (
    (user_id = (select auth.uid()) and (select public.can_access_lead(lead_id, 'member')))
    or (select public.can_access_lead(lead_id, 'admin'))
  );

revoke all on public.crm_lead_notes from anon, authenticated;
grant select, delete on public.crm_lead_notes to authenticated;
grant insert (id, lead_id, user_id, body) on public.crm_lead_notes to authenticated;
grant update (body) on public.crm_lead_notes to authenticated;
grant all on public.crm_lead_notes to service_role;

-- crm_lead_scoring_rules -----------------------------------------------------------------------

create table if not exists public.crm_lead_scoring_rules (
  id uuid primary key default gen_random_uuid(),
  workspace_id uuid not null references public.workspaces (id) on delete cascade,
  rule_key text not null,
  rule_group public.lead_scoring_rule_group not null,
  -- Interpreted by the lead-scoring engine, which validates fields and operators.
  condition jsonb not null,
  points integer not null,
  enabled boolean not null default true,
  sort_order integer not null default 0,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint crm_lead_scoring_rules_workspace_rule_key_key unique (workspace_id, rule_key),
  constraint crm_lead_scoring_rules_rule_key_format check (rule_key ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
  constraint crm_lead_scoring_rules_condition_object check (jsonb_typeof(condition) = 'object'),
  constraint crm_lead_scoring_rules_points_range check (points between -100 and 100)
);

create index if not exists idx_crm_lead_scoring_rules_workspace_order
  on public.crm_lead_scoring_rules (workspace_id, sort_order);

create or replace trigger crm_lead_scoring_rules_set_updated_at
  before update on public.crm_lead_scoring_rules
  for each row execute function private.set_updated_at();

alter table public.crm_lead_scoring_rules enable row level security;

drop policy if exists "Workspace members can view scoring rules" on public.crm_lead_scoring_rules;
create policy "Workspace members can view scoring rules" on public.crm_lead_scoring_rules
  for select to authenticated
  using ((select public.is_workspace_member(workspace_id)));

drop policy if exists "Admins can add scoring rules" on public.crm_lead_scoring_rules;
create policy "Admins can add scoring rules" on public.crm_lead_scoring_rules
  for insert to authenticated
  with check ((select public.is_workspace_member(workspace_id, 'admin')));

drop policy if exists "Admins can update scoring rules" on public.crm_lead_scoring_rules;
create policy "Admins can update scoring rules" on public.crm_lead_scoring_rules
  for update to authenticated
  using ((select public.is_workspace_member(workspace_id, 'admin')))
  with check ((select public.is_workspace_member(workspace_id, 'admin')));

drop policy if exists "Admins can delete scoring rules" on public.crm_lead_scoring_rules;
create policy "Admins can delete scoring rules" on public.crm_lead_scoring_rules
  for delete to authenticated
  using ((select public.is_workspace_member(workspace_id, 'admin')));

drop policy if exists "Maintenance can read scoring rules" on public.crm_lead_scoring_rules;
create policy "Maintenance can read scoring rules" on public.crm_lead_scoring_rules
  for select to maintenance
  using (true);

revoke all on public.crm_lead_scoring_rules from anon, authenticated, maintenance;
grant select, delete on public.crm_lead_scoring_rules to authenticated;
grant insert (id, workspace_id, rule_key, rule_group, condition, points, enabled, sort_order)
  on public.crm_lead_scoring_rules to authenticated;
grant update (rule_group, condition, points, enabled, sort_order)
  on public.crm_lead_scoring_rules to authenticated;
grant select on public.crm_lead_scoring_rules to maintenance;
grant all on public.crm_lead_scoring_rules to service_role;

-- crm_lead_scoring_settings --------------------------------------------------------------------

-- One row per workspace that tunes scoring beyond its rules. No row = engine defaults.
create table if not exists public.crm_lead_scoring_settings (
  workspace_id uuid primary key references public.workspaces (id) on delete cascade,
  -- Engagement points halve every this many days since the lead's last touch; null = no decay.
  engagement_half_life_days integer,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint crm_lead_scoring_settings_half_life_range
    check (engagement_half_life_days is null or engagement_half_life_days between 1 and 3650)
);

create or replace trigger crm_lead_scoring_settings_set_updated_at
  before update on public.crm_lead_scoring_settings
  for each row execute function private.set_updated_at();

alter table public.crm_lead_scoring_settings enable row level security;

drop policy if exists "Workspace members can view scoring settings" on public.crm_lead_scoring_settings;
create policy "Workspace members can view scoring settings" on public.crm_lead_scoring_settings
  for select to authenticated
  using ((select public.is_workspace_member(workspace_id)));

drop policy if exists "Admins can add scoring settings" on public.crm_lead_scoring_settings;
create policy "Admins can add scoring settings" on public.crm_lead_scoring_settings
  for insert to authenticated
  with check ((select public.is_workspace_member(workspace_id, 'admin')));

drop policy if exists "Admins can update scoring settings" on public.crm_lead_scoring_settings;
create policy "Admins can update scoring settings" on public.crm_lead_scoring_settings
  for update to authenticated
  using ((select public.is_workspace_member(workspace_id, 'admin')))
  with check ((select public.is_workspace_member(workspace_id, 'admin')));

drop policy if exists "Admins can delete scoring settings" on public.crm_lead_scoring_settings;
create policy "Admins can delete scoring settings" on public.crm_lead_scoring_settings
  for delete to authenticated
  using ((select public.is_workspace_member(workspace_id, 'admin')));

drop policy if exists "Maintenance can read scoring settings" on public.crm_lead_scoring_settings;
create policy "Maintenance can read scoring settings" on public.crm_lead_scoring_settings
  for select to maintenance
  using (true);

revoke all on public.crm_lead_scoring_settings from anon, authenticated, maintenance;
grant select, delete on public.crm_lead_scoring_settings to authenticated;
grant insert (workspace_id, engagement_half_life_days) on public.crm_lead_scoring_settings to authenticated;
-- workspace_id too, so a PostgREST upsert (on_conflict=workspace_id) can set its conflict target.
grant update (workspace_id, engagement_half_life_days) on public.crm_lead_scoring_settings to authenticated;
grant select on public.crm_lead_scoring_settings to maintenance;
grant all on public.crm_lead_scoring_settings to service_role;
