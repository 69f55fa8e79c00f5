-- The soak's instrumentation, installed by tools/scripts/soak.sh into its own throwaway database
-- only (never a migration): one row per change to the rows webhook events act on, with the
-- transaction that made it, so tools/soak/checks.mjs can count effects per event in Postgres.

create schema if not exists soak_audit;

create table if not exists soak_audit.changes (
  id bigserial primary key,
  transaction_id bigint not null default txid_current(),
  table_name text not null,
  operation text not null,
  row_key text not null,
  changed_at timestamptz not null default clock_timestamp()
);

-- The key column is the trigger's argument. Security definer: the intake's functions write these
-- tables as their owner, and the narrow roles must not need rights on the audit table.
create or replace function soak_audit.record_change() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into soak_audit.changes (table_name, operation, row_key)
  values (tg_table_name, tg_op, to_jsonb(new) ->> tg_argv[0]);
  return null;
end
$$;

create or replace trigger soak_audit_changes after insert or update on public.user_subscriptions
  for each row execute function soak_audit.record_change('stripe_subscription_id');
create or replace trigger soak_audit_changes after insert or update on public.comms_email_logs
  for each row execute function soak_audit.record_change('provider_message_id');
create or replace trigger soak_audit_changes after insert on public.billing_subscription_events
  for each row execute function soak_audit.record_change('stripe_event_id');
create or replace trigger soak_audit_changes after insert or update on public.billing_stripe_customers
  for each row execute function soak_audit.record_change('stripe_customer_id');
