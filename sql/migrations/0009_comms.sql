-- 0009 comms
--
-- Outbound email and its delivery history as Resend reports it. Rows are written by the sender
-- (service_role) and updated by the webhook intake (0014); users read the mail sent to them,
-- platform admins read all.

create table if not exists public.comms_email_logs (
  id uuid primary key default gen_random_uuid(),
  user_id uuid references public.user_profiles (id) on delete cascade,
  workspace_id uuid references public.workspaces (id) on delete set null,
  provider text not null default 'resend',
  provider_message_id text,
  to_email text not null,
  from_email text,
  subject text,
  category public.email_category not null default 'transactional',
  status public.email_status not null default 'queued',
  bounce_type text,
  -- Provider time of the newest delivery event applied; older events change nothing.
  last_event_at timestamptz,
  sent_at timestamptz,
  delivered_at timestamptz,
  opened_at timestamptz,
  clicked_at timestamptz,
  bounced_at timestamptz,
  complained_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint comms_email_logs_provider_message_key unique (provider, provider_message_id)
);

create index if not exists idx_comms_email_logs_user_created on public.comms_email_logs (user_id, created_at desc);
create index if not exists idx_comms_email_logs_to_email_lower on public.comms_email_logs (lower(to_email));
create index if not exists idx_comms_email_logs_status on public.comms_email_logs (status);

create or replace trigger comms_email_logs_set_updated_at
  before update on public.comms_email_logs
  for each row execute function private.set_updated_at();

alter table public.comms_email_logs enable row level security;

drop policy if exists "Users can view their own email logs" on public.comms_email_logs;
create policy "Users can view their own email logs" on public.comms_email_logs
  for select to authenticated
  using (user_id = (select auth.uid()));

drop policy if exists "Admins can view all email logs" on public.comms_email_logs;
create policy "Admins can view all email logs" on public.comms_email_logs
  for select to authenticated
  using ((select public.is_admin()));

revoke all on public.comms_email_logs from anon, authenticated;
grant select on public.comms_email_logs to authenticated;
grant all on public.comms_email_logs to service_role;
