-- 0007 real estate, deals and assistant jobs
--
-- The tables seed 001 defines column by column, under seed 000's names, with the seed's RLS
-- intentions:
--   re_properties, re_documents, deals    owned by one user: the owner has full access,
--                                         platform admins read
--   re_property_documents, deal_events,   access through the parent's ownership (property,
--   assistant_jobs                        deal)
--   re_lead_documents                     access through the parent lead (workspace roles, 0006)
--   re_lead_properties                    links a workspace's lead to a user's property: visible
--                                         to either side, created by the property owner who is
--                                         at least a member of the lead's workspace
-- Deviation from seed 001, on purpose: money is integer cents (purchase_price_cents, arv_cents,
-- estimated_value_cents) instead of NUMERIC(12,2).

-- re_properties --------------------------------------------------------------------------------

create table if not exists public.re_properties (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.user_profiles (id) on delete cascade,
  address_line_1 text not null,
  address_line_2 text,
  city text not null,
  state text not null,
  zip text not null,
  bedrooms integer,
  bathrooms numeric(3, 1),
  square_feet integer,
  lot_size integer,
  year_built integer,
  purchase_price_cents bigint,
  arv_cents bigint,
  status text not null default 'active',
  property_type text,
  mls_id text,
  notes text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint re_properties_bedrooms_check check (bedrooms is null or bedrooms >= 0),
  constraint re_properties_bathrooms_check check (bathrooms is null or bathrooms >= 0),
  constraint re_properties_square_feet_check check (square_feet is null or square_feet > 0),
  constraint re_properties_lot_size_check check (lot_size is null or lot_size > 0),
  -- Not immutable (the bound moves with the clock), but it only ever widens, so rows that
  -- passed once always pass again (safe for dump/restore).
  constraint re_properties_year_built_check
    check (year_built is null or year_built between 1800 and date_part('year', now())::integer + 5),
  constraint re_properties_purchase_price_check check (purchase_price_cents is null or purchase_price_cents >= 0),
  constraint re_properties_arv_check check (arv_cents is null or arv_cents >= 0)
);

create index if not exists idx_re_properties_user_id on public.re_properties (user_id);
create index if not exists idx_re_properties_status on public.re_properties (status);
create index if not exists idx_re_properties_city_state on public.re_properties (city, state);
create index if not exists idx_re_properties_zip on public.re_properties (zip);
create index if not exists idx_re_properties_location on public.re_properties (city, state, zip);
create index if not exists idx_re_properties_user_status on public.re_properties (user_id, status);
create index if not exists idx_re_properties_active on public.re_properties (user_id, created_at desc)
  where status = 'active';

create or replace trigger re_properties_set_updated_at
  before update on public.re_properties
  for each row execute function private.set_updated_at();

alter table public.re_properties enable row level security;

drop policy if exists "Users can view their own properties" on public.re_properties;
create policy "Users can view their own properties" on public.re_properties
  for select to authenticated
  using (user_id = (select auth.uid()) or (select public.is_admin()));

drop policy if exists "Users can add their own properties" on public.re_properties;
create policy "Users can add their own properties" on public.re_properties
  for insert to authenticated
  with check (user_id = (select auth.uid()));

drop policy if exists "Users can update their own properties" on public.re_properties;
create policy "Users can update their own properties" on public.re_properties
  for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));

drop policy if exists "Users can delete their own properties" on public.re_properties;
create policy "Users can delete their own properties" on public.re_properties
  for delete to authenticated
  using (user_id = (select auth.uid()));

revoke all on public.re_properties from anon, authenticated;
grant select, insert, update, delete on public.re_properties to authenticated;
grant all on public.re_properties to service_role;

-- deals ----------------------------------------------------------------------------------------

create table if not exists public.deals (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.user_profiles (id) on delete cascade,
  lead_id uuid references public.crm_leads (id) on delete set null,
  property_id uuid references public.re_properties (id) on delete set null,
  status public.deal_status not null default 'active',
  stage text not null default 'initial_contact',
  title text not null,
  estimated_value_cents bigint,
  probability integer,
  expected_close_date date,
  next_action text,
  next_action_due timestamptz,
  notes text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint deals_probability_check check (probability is null or probability between 0 and 100),
  constraint deals_estimated_value_check check (estimated_value_cents is null or estimated_value_cents >= 0)
);

create index if not exists idx_deals_user_id on public.deals (user_id);
create index if not exists idx_deals_status on public.deals (status);
create index if not exists idx_deals_stage on public.deals (stage);
create index if not exists idx_deals_next_action_due on public.deals (next_action_due)
  where next_action_due is not null;
create index if not exists idx_deals_lead_id on public.deals (lead_id) where lead_id is not null;
create index if not exists idx_deals_property_id on public.deals (property_id) where property_id is not null;
create index if not exists idx_deals_user_status on public.deals (user_id, status);
create index if not exists idx_deals_user_stage on public.deals (user_id, stage);
create index if not exists idx_deals_user_created on public.deals (user_id, created_at desc);
create index if not exists idx_deals_active_next_action on public.deals (user_id, next_action_due)
  where status = 'active' and next_action_due is not null;
create unique index if not exists idx_deals_property_active_unique on public.deals (property_id)
  where status = 'active' and property_id is not null;
create index if not exists idx_deals_user_status_covering on public.deals (user_id, status)
  include (title, estimated_value_cents, next_action_due, created_at);

create or replace trigger deals_set_updated_at
  before update on public.deals
  for each row execute function private.set_updated_at();

alter table public.deals enable row level security;

drop policy if exists "Users can view their own deals" on public.deals;
create policy "Users can view their own deals" on public.deals
  for select to authenticated
  using (user_id = (select auth.uid()) or (select public.is_admin()));

-- A deal may point only at a lead the owner can see and a property the owner owns.
drop policy if exists "Users can add their own deals" on public.deals;
create policy "Users can add their own deals" on public.deals
  for insert to authenticated
  with check (
    user_id = (select auth.uid())
    and (lead_id is null or (select public.can_access_lead(lead_id)))
    and (property_id is null or exists (
      select 1 from public.re_properties p where p.id = property_id and p.user_id = (select auth.uid())
    ))
  );

drop policy if exists "Users can update their own deals" on public.deals;
create policy "Users can update their own deals" on public.deals
  for update to authenticated
  using (user_id = (select auth.uid()))
  with check (
    user_id = (select auth.uid())
    and (lead_id is null or (select public.can_access_lead(lead_id)))
    and (property_id is null or exists (
      select 1 from public.re_properties p where p.id = property_id and p.user_id = (select auth.uid())
    ))
  );

drop policy if exists "Users can delete their own deals" on public.deals;
create policy "Users can delete their own deals" on public.deals
  for delete to authenticated
  using (user_id = (select auth.uid()));

revoke all on public.deals from anon, authenticated;
grant select, insert, update, delete on public.deals to authenticated;
grant all on public.deals to service_role;

-- re_documents ---------------------------------------------------------------------------------

create table if not exists public.re_documents (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.user_profiles (id) on delete cascade,
  property_id uuid references public.re_properties (id) on delete set null,
  deal_id uuid references public.deals (id) on delete set null,
  title text not null,
  type public.document_type not null,
  file_url text not null,
  file_size integer,
  content_type varchar(100),
  uploaded_by uuid references public.user_profiles (id) on delete set null,
  metadata jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint re_documents_file_size_check check (file_size is null or file_size > 0)
);

create index if not exists idx_re_documents_user_id on public.re_documents (user_id);
create index if not exists idx_re_documents_property_id on public.re_documents (property_id);
create index if not exists idx_re_documents_deal_id on public.re_documents (deal_id);
create index if not exists idx_re_documents_type on public.re_documents (type);
create index if not exists idx_re_documents_created_at on public.re_documents (created_at desc);
create index if not exists idx_re_documents_user_type on public.re_documents (user_id, type);
create index if not exists idx_re_documents_property_created on public.re_documents (property_id, created_at desc)
  where property_id is not null;
create index if not exists idx_re_documents_metadata_gin on public.re_documents using gin (metadata);

create or replace trigger re_documents_set_updated_at
  before update on public.re_documents
  for each row execute function private.set_updated_at();

alter table public.re_documents enable row level security;

drop policy if exists "Users can view their own documents" on public.re_documents;
create policy "Users can view their own documents" on public.re_documents
  for select to authenticated
  using (user_id = (select auth.uid()) or (select public.is_admin()));

drop policy if exists "Users can add their own documents" on public.re_documents;
create policy "Users can add their own documents" on public.re_documents
  for insert to authenticated
  with check (user_id = (select auth.uid()));

drop policy if exists "Users can update their own documents" on public.re_documents;
create policy "Users can update their own documents" on public.re_documents
  for update to authenticated
  using (user_id = (select auth.uid()))
  with check (user_id = (select auth.uid()));

drop policy if exists "Users can delete their own documents" on public.re_documents;
create policy "Users can delete their own documents" on public.re_documents
  for delete to authenticated
  using (user_id = (select auth.uid()));

revoke all on public.re_documents from anon, authenticated;
grant select, insert, update, delete on public.re_documents to authenticated;
grant all on public.re_documents to service_role;

-- re_lead_documents ----------------------------------------------------------------------------

create table if not exists public.re_lead_documents (
  id uuid primary key default gen_random_uuid(),
  lead_id uuid not null references public.crm_leads (id) on delete cascade,
  title text not null,
  type public.lead_document_type not null,
  file_url text not null,
  file_size integer,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint re_lead_documents_file_size_check check (file_size is null or file_size > 0)
);

create index if not exists idx_re_lead_documents_lead_id on public.re_lead_documents (lead_id);
create index if not exists idx_re_lead_documents_type on public.re_lead_documents (type);

create or replace trigger re_lead_documents_set_updated_at
  before update on public.re_lead_documents
  for each row execute function private.set_updated_at();

alter table public.re_lead_documents enable row level security;

drop policy if exists "Workspace members can view lead documents" on public.re_lead_documents;
create policy "Workspace members can view lead documents" on public.re_lead_documents
  for select to authenticated
  using ((select public.can_access_lead(lead_id)));

drop policy if exists "Members can add lead documents" on public.re_lead_documents;
create policy "Members can add lead documents" on public.re_lead_documents
  for insert to authenticated
  with check ((select public.can_access_lead(lead_id, 'member')));

drop policy if exists "Members can update lead documents" on public.re_lead_documents;
create policy "Members can update lead documents" on public.re_lead_documents
  for update to authenticated
  using ((select public.can_access_lead(lead_id, 'member')))
  with check ((select public.can_access_lead(lead_id, 'member')));

drop policy if exists "Members can delete lead documents" on public.re_lead_documents;
create policy "Members can delete lead documents" on public.re_lead_documents
  for delete to authenticated
  using ((select public.can_access_lead(lead_id, 'member')));

revoke all on public.re_lead_documents from anon, authenticated;
grant select, insert, update, delete on public.re_lead_documents to authenticated;
grant all on public.re_lead_documents to service_role;

-- re_property_documents ------------------------------------------------------------------------

create table if not exists public.re_property_documents (
  property_id uuid not null references public.re_properties (id) on delete cascade,
  document_id uuid not null references public.re_documents (id) on delete cascade,
  is_primary boolean not null default false,
  created_at timestamptz not null default now(),
  primary key (property_id, document_id)
);

create index if not exists idx_re_property_documents_property on public.re_property_documents (property_id);
create index if not exists idx_re_property_documents_document on public.re_property_documents (document_id);

alter table public.re_property_documents enable row level security;

drop policy if exists "Users can view links of their own properties" on public.re_property_documents;
create policy "Users can view links of their own properties" on public.re_property_documents
  for select to authenticated
  using (
    exists (select 1 from public.re_properties p where p.id = property_id and p.user_id = (select auth.uid()))
    or (select public.is_admin())
  );

drop policy if exists "Users can link their own documents to their own properties" on public.re_property_documents;
create policy "Users can link their own documents to their own properties" on public.re_property_documents
  for insert to authenticated
  with check (
    exists (select 1 from public.re_properties p where p.id = property_id and p.user_id = (select auth.uid()))
    and exists (select 1 from public.re_documents d where d.id = document_id and d.user_id = (select auth.uid()))
  );

drop policy if exists "Users can unlink documents from their own properties" on public.re_property_documents;
create policy "Users can unlink documents from their own properties" on public.re_property_documents
  for delete to authenticated
  using (exists (select 1 from public.re_properties p where p.id = property_id and p.user_id = (select auth.uid())));

revoke all on public.re_property_documents from anon, authenticated;
grant select, insert, delete on public.re_property_documents to authenticated;
grant all on public.re_property_documents to service_role;

-- re_lead_properties ---------------------------------------------------------------------------

create table if not exists public.re_lead_properties (
  id uuid primary key default gen_random_uuid(),
  lead_id uuid not null references public.crm_leads (id) on delete cascade,
  property_id uuid not null references public.re_properties (id) on delete cascade,
  relationship text not null default 'subject',
  is_primary boolean not null default false,
  created_at timestamptz not null default now(),
  constraint re_lead_properties_lead_property_key unique (lead_id, property_id)
);

create index if not exists idx_re_lead_properties_lead_id on public.re_lead_properties (lead_id);
create index if not exists idx_re_lead_properties_property_id on public.re_lead_properties (property_id);

alter table public.re_lead_properties enable row level security;

drop policy if exists "Property owners and lead members can view lead properties" on public.re_lead_properties;
create policy "Property owners and lead members can view lead properties" on public.re_lead_properties
  for select to authenticated
  using (
    exists (select 1 from public.re_properties p where p.id = property_id and p.user_id = (select auth.uid()))
    or (select public.can_access_lead(lead_id))
    or (select public.is_admin())
  );

drop policy if exists "Property owners can link their properties to leads" on public.re_lead_properties;
create policy "Property owners can link their properties to leads" on public.re_lead_properties
  for insert to authenticated
  with check (
    exists (select 1 from public.re_properties p where p.id = property_id and p.user_id = (select auth.uid()))
    and (select public.can_access_lead(lead_id, 'member'))
  );

drop policy if exists "Property owners can update lead property links" on public.re_lead_properties;
create policy "Property owners can update lead property links" on public.re_lead_properties
  for update to authenticated
  using (exists (select 1 from public.re_properties p where p.id = property_id and p.user_id = (select auth.uid())))
  with check (exists (select 1 from public.re_properties p where p.id = property_id and p.user_id = (select auth.uid())));

drop policy if exists "Property owners and lead admins can unlink" on public.re_lead_properties;
create policy "Property owners and lead admins can unlink" on public.re_lead_properties
  for delete to authenticated
  using (
    exists (select 1 from public.re_properties p where p.id = property_id and p.user_id = (select auth.uid()))
    or (select public.can_access_lead(lead_id, 'admin'))
  );

revoke all on public.re_lead_properties from anon, authenticated;
grant select, delete on public.re_lead_properties to authenticated;
grant insert (id, lead_id, property_id, relationship, is_primary) on public.re_lead_properties to authenticated;
grant update (relationship, is_primary) on public.re_lead_properties to authenticated;
grant all on public.re_lead_properties to service_role;

-- deal_events ----------------------------------------------------------------------------------

create table if not exists public.deal_events (
  id uuid primary key default gen_random_uuid(),
  deal_id uuid not null references public.deals (id) on delete cascade,
  event_type text not null,
  description text,
  metadata jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  created_by uuid references public.user_profiles (id) on delete set null
);

create index if not exists idx_deal_events_deal_id on public.deal_events (deal_id);
create index if not exists idx_deal_events_created_at on public.deal_events (created_at desc);
create index if not exists idx_deal_events_metadata_gin on public.deal_events using gin (metadata);

alter table public.deal_events enable row level security;

drop policy if exists "Users can view events of their own deals" on public.deal_events;
create policy "Users can view events of their own deals" on public.deal_events
  for select to authenticated
  using (
    exists (select 1 from public.deals d where d.id = deal_id and d.user_id = (select auth.uid()))
    or (select public.is_admin())
  );

-- History is append-only: events are added by the deal's owner, never edited or removed.
drop policy if exists "Users can record events on their own deals" on public.deal_events;
create policy "Users can record events on their own deals" on public.deal_events
  for insert to authenticated
  with check (
    created_by = (select auth.uid())
    and exists (select 1 from public.deals d where d.id = deal_id and d.user_id = (select auth.uid()))
  );

revoke all on public.deal_events from anon, authenticated;
grant select on public.deal_events to authenticated;
grant insert (id, deal_id, event_type, description, metadata, created_by) on public.deal_events to authenticated;
grant all on public.deal_events to service_role;

-- assistant_jobs -------------------------------------------------------------------------------

create table if not exists public.assistant_jobs (
  id uuid primary key default gen_random_uuid(),
  deal_id uuid references public.deals (id) on delete cascade,
  job_type text not null,
  status public.job_status not null default 'queued',
  input_data jsonb,
  output_data jsonb,
  error_message text,
  attempts integer not null default 0,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  completed_at timestamptz,
  constraint assistant_jobs_attempts_check check (attempts >= 0)
);

create index if not exists idx_assistant_jobs_deal_id on public.assistant_jobs (deal_id);
create index if not exists idx_assistant_jobs_status on public.assistant_jobs (status);
create index if not exists idx_assistant_jobs_created_at on public.assistant_jobs (created_at desc);
create index if not exists idx_assistant_jobs_pending on public.assistant_jobs (created_at desc)
  where status in ('queued', 'failed');

alter table public.assistant_jobs enable row level security;

drop policy if exists "Users can view jobs of their own deals" on public.assistant_jobs;
create policy "Users can view jobs of their own deals" on public.assistant_jobs
  for select to authenticated
  using (
    exists (select 1 from public.deals d where d.id = deal_id and d.user_id = (select auth.uid()))
    or (select public.is_admin())
  );

-- Users queue jobs and may cancel them; workers (service_role) run them and write results.
drop policy if exists "Users can queue jobs on their own deals" on public.assistant_jobs;
create policy "Users can queue jobs on their own deals" on public.assistant_jobs
  for insert to authenticated
  with check (
    status = 'queued'
    and exists (select 1 from public.deals d where d.id = deal_id and d.user_id = (select auth.uid()))
  );

drop policy if exists "Users can cancel jobs on their own deals" on public.assistant_jobs;
create policy "Users can cancel jobs on their own deals" on public.assistant_jobs
  for update to authenticated
  using (exists (select 1 from public.deals d where d.id = deal_id and d.user_id = (select auth.uid())))
  with check (
    status = 'cancelled'
    and exists (select 1 from public.deals d where d.id = deal_id and d.user_id = (select auth.uid()))
  );

revoke all on public.assistant_jobs from anon, authenticated;
grant select on public.assistant_jobs to authenticated;
grant insert (id, deal_id, job_type, status, input_data) on public.assistant_jobs to authenticated;
grant update (status) on public.assistant_jobs to authenticated;
grant all on public.assistant_jobs to service_role;
