-- 0002 enums and the updated_at trigger
--
-- Every enum the tables use, named after seed 001 where it defines them, and the one trigger
-- function that keeps `updated_at` honest. Enum values are only ever added (ALTER TYPE ... ADD
-- VALUE IF NOT EXISTS), never renamed, so re-running this file is safe.

do $$
begin
  -- users
  create type public.user_role as enum ('user', 'admin', 'support', 'standard');
exception when duplicate_object then null;
end
$$;

do $$
begin
  -- Declared from least to most privileged so `role >= 'admin'` reads as "admin or owner".
  create type public.workspace_role as enum ('viewer', 'member', 'admin', 'owner');
exception when duplicate_object then null;
end
$$;

do $$
begin
  create type public.invitation_status as enum ('pending', 'accepted', 'revoked', 'expired');
exception when duplicate_object then null;
end
$$;

do $$
begin
  -- Stripe's subscription statuses, verbatim.
  create type public.subscription_status as enum (
    'incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled', 'unpaid',
    'paused'
  );
exception when duplicate_object then null;
end
$$;

do $$
begin
  create type public.api_key_status as enum ('active', 'healthy', 'unhealthy', 'inactive');
exception when duplicate_object then null;
end
$$;

do $$
begin
  create type public.security_event_severity as enum ('info', 'warning', 'critical');
exception when duplicate_object then null;
end
$$;

do $$
begin
  -- crm
  create type public.lead_status as enum ('new', 'active', 'qualified', 'unqualified', 'closed');
exception when duplicate_object then null;
end
$$;

do $$
begin
  create type public.opt_status as enum ('opted_in', 'opted_out', 'pending');
exception when duplicate_object then null;
end
$$;

do $$
begin
  create type public.lead_scoring_rule_group as enum ('fit', 'engagement', 'motivation');
exception when duplicate_object then null;
end
$$;

do $$
begin
  -- real estate and deals
  create type public.deal_status as enum ('active', 'won', 'lost', 'archived');
exception when duplicate_object then null;
end
$$;

do $$
begin
  create type public.document_type as enum (
    'inspection', 'appraisal', 'title_search', 'survey', 'photo', 'comp',
    'offer', 'counter_offer', 'purchase_agreement', 'addendum',
    'closing_statement', 'hud1', 'deed', 'contract',
    'receipt', 'other'
  );
exception when duplicate_object then null;
end
$$;

do $$
begin
  create type public.lead_document_type as enum (
    'id', 'tax_return', 'bank_statement', 'w9', 'death_cert', 'poa', 'other'
  );
exception when duplicate_object then null;
end
$$;

do $$
begin
  create type public.job_status as enum ('queued', 'running', 'succeeded', 'failed', 'cancelled');
exception when duplicate_object then null;
end
$$;

do $$
begin
  -- comms
  create type public.message_channel as enum ('sms', 'email', 'voice');
exception when duplicate_object then null;
end
$$;

do $$
begin
  create type public.message_direction as enum ('incoming', 'outgoing');
exception when duplicate_object then null;
end
$$;

do $$
begin
  create type public.message_status as enum ('sent', 'delivered', 'failed', 'pending', 'read');
exception when duplicate_object then null;
end
$$;

do $$
begin
  create type public.email_category as enum ('transactional', 'marketing');
exception when duplicate_object then null;
end
$$;

do $$
begin
  -- One value per Resend delivery event, plus `queued` before the provider has answered.
  create type public.email_status as enum (
    'queued', 'sent', 'delivered', 'delivery_delayed', 'bounced', 'complained', 'opened',
    'clicked', 'failed'
  );
exception when duplicate_object then null;
end
$$;

do $$
begin
  -- webhooks and system
  create type public.webhook_provider as enum ('stripe', 'resend');
exception when duplicate_object then null;
end
$$;

do $$
begin
  create type public.webhook_event_status as enum ('pending', 'processed', 'failed', 'ignored');
exception when duplicate_object then null;
end
$$;

do $$
begin
  create type public.log_level as enum ('debug', 'info', 'warning', 'error', 'critical');
exception when duplicate_object then null;
end
$$;

do $$
begin
  create type public.scheduled_deletion_status as enum ('pending', 'completed', 'cancelled');
exception when duplicate_object then null;
end
$$;

-- updated_at trigger ---------------------------------------------------------------------------

-- Sets updated_at on every UPDATE so no client can forge or forget it.
create or replace function private.set_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;

revoke execute on function private.set_updated_at() from public, anon, authenticated;
