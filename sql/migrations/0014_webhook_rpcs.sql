-- 0014 webhook RPCs
--
-- receive_webhook_event(provider text, event_id text, event_type text, payload jsonb)
--   returns jsonb {"status": "processed"|"ignored"|"failed"|"duplicate", "event": uuid,
--                  "error": text|null, "reason": text|null}
--   Executable by webhook_ingest (and service_role). The edge calls it once per verified
--   delivery. It stores the event in system_webhook_events (unique per provider + event_id),
--   then applies its effects inside a sub-transaction:
--     processed  effects applied
--     ignored    recorded, nothing changed; reason 'unknown_type' or 'stale' (older, by the
--                provider's own timestamp, than what is already applied to the same object)
--     failed     applying raised an error: the inbox row keeps status failed, last_error,
--                attempts + 1 and next_attempt_at (exponential backoff); the call itself still
--                succeeds, so the edge answers 2xx and the cleanup job retries
--     duplicate  this (provider, event_id) was stored before: nothing changes, `event` is the
--                stored row's id. Concurrent deliveries of one event serialise on the unique
--                key: exactly one applies it, the rest return duplicate.
--   Errors: 22023 (400) for an unknown provider or a blank event_id / event_type.
--
-- retry_webhook_event(event uuid) returns jsonb (same shape)
--   Executable by maintenance (and service_role). Re-applies a `failed` event with the same
--   logic; any other status is returned unchanged with reason 'not_failed'.
--
-- retry_due_webhook_events(batch_size int default 50, max_attempts int default 8) returns jsonb
--   {"retried", "processed", "ignored", "failed", "gave_up"}: maintenance. Retries failed
--   events whose next_attempt_at has come, oldest first, at most batch_size, skipping rows
--   another run holds. An event that fails its max_attempts-th attempt is given up:
--   next_attempt_at is cleared (status stays failed) and a warning goes to system_logs.
--
-- list_webhook_events_due_for_retry(batch_size int default 50, max_attempts int default 8)
--   returns setof system_webhook_events: maintenance; what retry_due_webhook_events would take.
--
-- Effects (issue 7):
--   stripe  checkout.session.completed       link customer -> user (client_reference_id or
--                                            metadata.user_id) and optional
--                                            metadata.workspace_id in billing_stripe_customers
--           customer.subscription.created/   upsert user_subscriptions and the user's
--             updated/deleted                user_plans (plan = metadata.plan, else the price's
--                                            lookup_key, metadata.plan, nickname or id; 'free'
--                                            unless status is active, trialing or past_due)
--           invoice.paid / payment_failed    a billing_subscription_events row
--           The user of a subscription or invoice is metadata.user_id or the linked customer;
--           none yet -> failed (retried: the checkout event may still be on its way).
--   resend  email.sent, delivered,           comms_email_logs by data.email_id (row created
--           delivery_delayed, bounced,       when unknown): status and its timestamp
--           complained, opened, clicked
--           A hard bounce (bounce.type Permanent/hard) or a complaint turns marketing_emails
--           off for every profile with the recipient's address. That suppression is applied
--           even when the event is stale for the email log: it can only ever turn mail off.
-- Ordering key: Stripe `created` (unix seconds), Resend `created_at`; objects remember the
-- newest applied time in last_event_at. An event with the same time as the stored one applies.
-- Backoff: next_attempt_at = now + 1 minute * 2^(attempts - 1), at most 6 hours.
--
-- All SECURITY DEFINER (the effects cross users' rows that no narrow role may touch directly);
-- the helpers (apply_*, process_webhook_event...) live in schema private, out of PostgREST's
-- reach, and are executable by no API role.

-- helpers ------------------------------------------------------------------------------------

-- The provider's own event time, or null when the payload has none that parses.
create or replace function private.webhook_event_time(provider public.webhook_provider, payload jsonb)
returns timestamptz
language plpgsql stable
set search_path = ''
as $$
begin
  if provider = 'stripe' then
    return to_timestamp((payload ->> 'created')::double precision);
  end if;
  return (payload ->> 'created_at')::timestamptz;
exception when others then
  return null;
end
$$;

-- A uuid from text, or null when it is not one.
create or replace function private.try_uuid(value text) returns uuid
language plpgsql immutable
set search_path = ''
as $$
begin
  return value::uuid;
exception when invalid_text_representation then
  return null;
end
$$;

-- Unix seconds (as Stripe sends them) to timestamptz; null stays null.
create or replace function private.unix_to_timestamptz(value text) returns timestamptz
language sql immutable
set search_path = ''
as $$
  select case when value is null then null else to_timestamp(value::double precision) end
$$;

revoke execute on function private.webhook_event_time(public.webhook_provider, jsonb) from public, anon, authenticated;
revoke execute on function private.try_uuid(text) from public, anon, authenticated;
revoke execute on function private.unix_to_timestamptz(text) from public, anon, authenticated;

-- stripe -------------------------------------------------------------------------------------

-- The user a Stripe object belongs to: metadata.user_id when it names a profile, else the user
-- linked to its customer.
create or replace function private.stripe_object_user(stripe_object jsonb) returns uuid
language sql stable security definer
set search_path = ''
as $$
  select coalesce(
    (select p.id from public.user_profiles p
     where p.id = private.try_uuid(stripe_object -> 'metadata' ->> 'user_id')),
    (select c.user_id from public.billing_stripe_customers c
     where c.stripe_customer_id = stripe_object ->> 'customer')
  )
$$;

create or replace function private.apply_stripe_checkout_completed(session jsonb, event_at timestamptz)
returns text
language plpgsql security definer
set search_path = ''
as $$
declare
  customer_id text := session ->> 'customer';
  buyer uuid;
  workspace uuid;
  touched integer;
begin
  if customer_id is null then
    -- A payment without a Stripe customer: nothing to link.
    return 'processed';
  end if;

  select p.id into buyer from public.user_profiles p
  where p.id = private.try_uuid(coalesce(session ->> 'client_reference_id', session -> 'metadata' ->> 'user_id'));
  if buyer is null then
    raise exception 'checkout session % names no known user (client_reference_id or metadata.user_id)',
      session ->> 'id';
  end if;

  select m.workspace_id into workspace from public.workspace_members m
  where m.workspace_id = private.try_uuid(session -> 'metadata' ->> 'workspace_id') and m.user_id = buyer;

  insert into public.billing_stripe_customers as b
    (user_id, workspace_id, stripe_customer_id, email, last_event_at)
  values (buyer, workspace, customer_id, session -> 'customer_details' ->> 'email', event_at)
  on conflict on constraint billing_stripe_customers_user_id_key do update
    set stripe_customer_id = excluded.stripe_customer_id,
        workspace_id = coalesce(excluded.workspace_id, b.workspace_id),
        email = coalesce(excluded.email, b.email),
        last_event_at = excluded.last_event_at
    where b.last_event_at is null or b.last_event_at <= excluded.last_event_at;
  get diagnostics touched = row_count;
  if touched = 0 then
    return 'stale';
  end if;

  insert into public.user_plans as p (user_id, stripe_customer_id)
  values (buyer, customer_id)
  on conflict on constraint user_plans_user_id_key do update
    set stripe_customer_id = excluded.stripe_customer_id;
  return 'processed';
end
$$;

create or replace function private.apply_stripe_subscription_change(
  event_type text,
  subscription jsonb,
  event_at timestamptz
) returns text
language plpgsql security definer
set search_path = ''
as $$
declare
  subscription_id text := subscription ->> 'id';
  customer_id text := subscription ->> 'customer';
  first_item jsonb := subscription -> 'items' -> 'data' -> 0;
  subscriber uuid := private.stripe_object_user(subscription);
  new_status public.subscription_status;
  plan text;
  entitled boolean;
  touched integer;
begin
  if subscription_id is null or customer_id is null then
    raise exception 'subscription event without id or customer';
  end if;
  if subscriber is null then
    raise exception 'no user is linked to Stripe customer % yet', customer_id;
  end if;

  new_status := case
    when event_type = 'customer.subscription.deleted' then 'canceled'
    else (subscription ->> 'status')::public.subscription_status
  end;
  entitled := new_status in ('active', 'trialing', 'past_due');
  plan := coalesce(
    subscription -> 'metadata' ->> 'plan',
    first_item -> 'price' ->> 'lookup_key',
    first_item -> 'price' -> 'metadata' ->> 'plan',
    first_item -> 'price' ->> 'nickname',
    first_item -> 'price' ->> 'id',
    'paid'
  );

  insert into public.user_subscriptions as s (
    user_id, stripe_subscription_id, stripe_customer_id, stripe_price_id, plan_name, status,
    current_period_start, current_period_end, cancel_at_period_end, canceled_at, last_event_at
  ) values (
    subscriber, subscription_id, customer_id, first_item -> 'price' ->> 'id', plan, new_status,
    -- Newer Stripe API versions moved the period onto the subscription item.
    private.unix_to_timestamptz(coalesce(subscription ->> 'current_period_start', first_item ->> 'current_period_start')),
    private.unix_to_timestamptz(coalesce(subscription ->> 'current_period_end', first_item ->> 'current_period_end')),
    coalesce((subscription ->> 'cancel_at_period_end')::boolean, false),
    private.unix_to_timestamptz(subscription ->> 'canceled_at'),
    event_at
  )
  on conflict on constraint user_subscriptions_stripe_subscription_id_key do update
    set user_id = excluded.user_id,
        stripe_customer_id = excluded.stripe_customer_id,
        stripe_price_id = excluded.stripe_price_id,
        plan_name = excluded.plan_name,
        status = excluded.status,
        current_period_start = excluded.current_period_start,
        current_period_end = excluded.current_period_end,
        cancel_at_period_end = excluded.cancel_at_period_end,
        canceled_at = excluded.canceled_at,
        last_event_at = excluded.last_event_at
    where s.last_event_at <= excluded.last_event_at;
  get diagnostics touched = row_count;
  if touched = 0 then
    return 'stale';
  end if;

  -- The plan follows the newest event; a subscription ending only downgrades the plan when it is
  -- the subscription the plan came from.
  insert into public.user_plans as p (
    user_id, plan_name, status, stripe_customer_id, stripe_subscription_id,
    current_period_start, current_period_end, cancel_at_period_end, last_event_at
  )
  select subscriber, case when entitled then plan else 'free' end, new_status, customer_id,
         subscription_id, s.current_period_start, s.current_period_end, s.cancel_at_period_end,
         event_at
  from public.user_subscriptions s
  where s.stripe_subscription_id = subscription_id
  on conflict on constraint user_plans_user_id_key do update
    set plan_name = excluded.plan_name,
        status = excluded.status,
        stripe_customer_id = excluded.stripe_customer_id,
        stripe_subscription_id = excluded.stripe_subscription_id,
        current_period_start = excluded.current_period_start,
        current_period_end = excluded.current_period_end,
        cancel_at_period_end = excluded.cancel_at_period_end,
        last_event_at = excluded.last_event_at
    where (p.last_event_at is null or p.last_event_at <= excluded.last_event_at)
      and (entitled or p.stripe_subscription_id is null or p.stripe_subscription_id = excluded.stripe_subscription_id);
  return 'processed';
end
$$;

create or replace function private.apply_stripe_invoice_event(
  event public.system_webhook_events,
  invoice jsonb,
  event_at timestamptz
) returns text
language plpgsql security definer
set search_path = ''
as $$
declare
  invoice_id text := invoice ->> 'id';
  payer uuid := private.stripe_object_user(invoice);
begin
  if invoice_id is null then
    raise exception 'invoice event without an invoice id';
  end if;
  if payer is null then
    raise exception 'no user is linked to Stripe customer % yet', invoice ->> 'customer';
  end if;
  if exists (
    select 1 from public.billing_subscription_events e
    where e.stripe_invoice_id = invoice_id and e.occurred_at > event_at
  ) then
    return 'stale';
  end if;

  insert into public.billing_subscription_events (
    user_id, stripe_event_id, event_type, stripe_customer_id, stripe_subscription_id,
    stripe_invoice_id, amount_cents, currency, status, occurred_at, details
  ) values (
    payer, event.event_id, event.event_type, invoice ->> 'customer',
    coalesce(invoice ->> 'subscription', invoice -> 'parent' -> 'subscription_details' ->> 'subscription'),
    invoice_id,
    case when event.event_type = 'invoice.paid' then (invoice ->> 'amount_paid')::bigint
         else (invoice ->> 'amount_due')::bigint end,
    invoice ->> 'currency',
    invoice ->> 'status',
    event_at,
    jsonb_strip_nulls(jsonb_build_object(
      'billing_reason', invoice ->> 'billing_reason',
      'attempt_count', invoice -> 'attempt_count',
      'next_payment_attempt', invoice -> 'next_payment_attempt'
    ))
  )
  on conflict on constraint billing_subscription_events_stripe_event_id_key do nothing;
  return 'processed';
end
$$;

create or replace function private.apply_stripe_event(event public.system_webhook_events)
returns text
language plpgsql security definer
set search_path = ''
as $$
declare
  stripe_object jsonb := event.payload -> 'data' -> 'object';
  event_at timestamptz := coalesce(event.event_created_at, event.received_at);
begin
  case event.event_type
    when 'checkout.session.completed' then
      return private.apply_stripe_checkout_completed(stripe_object, event_at);
    when 'customer.subscription.created', 'customer.subscription.updated', 'customer.subscription.deleted' then
      return private.apply_stripe_subscription_change(event.event_type, stripe_object, event_at);
    when 'invoice.paid', 'invoice.payment_failed' then
      return private.apply_stripe_invoice_event(event, stripe_object, event_at);
    else
      return 'unknown_type';
  end case;
end
$$;

-- resend -------------------------------------------------------------------------------------

create or replace function private.apply_resend_event(event public.system_webhook_events)
returns text
language plpgsql security definer
set search_path = ''
as $$
declare
  data jsonb := event.payload -> 'data';
  event_at timestamptz := coalesce(event.event_created_at, event.received_at);
  message_id text := data ->> 'email_id';
  recipient text := case jsonb_typeof(data -> 'to')
                      when 'array' then data -> 'to' ->> 0
                      else data ->> 'to'
                    end;
  new_status public.email_status;
  hard_bounce boolean;
  touched integer;
begin
  if event.event_type not in ('email.sent', 'email.delivered', 'email.delivery_delayed',
                              'email.bounced', 'email.complained', 'email.opened', 'email.clicked') then
    return 'unknown_type';
  end if;
  if message_id is null then
    raise exception 'resend event without data.email_id';
  end if;
  new_status := substr(event.event_type, 7)::public.email_status;
  hard_bounce := event.event_type = 'email.bounced'
    and lower(coalesce(data -> 'bounce' ->> 'type', '')) in ('permanent', 'hard', 'hard_bounce', 'hardbounce');

  if recipient is not null then
    insert into public.comms_email_logs (user_id, provider, provider_message_id, to_email, from_email, subject)
    select (select p.id from public.user_profiles p where lower(p.email) = lower(recipient)),
           'resend', message_id, recipient, data ->> 'from', data ->> 'subject'
    on conflict on constraint comms_email_logs_provider_message_key do nothing;
  end if;

  update public.comms_email_logs l
  set status = new_status,
      last_event_at = event_at,
      sent_at = case when new_status = 'sent' then coalesce(l.sent_at, event_at) else l.sent_at end,
      delivered_at = case when new_status = 'delivered' then coalesce(l.delivered_at, event_at) else l.delivered_at end,
      opened_at = case when new_status = 'opened' then coalesce(l.opened_at, event_at) else l.opened_at end,
      clicked_at = case when new_status = 'clicked' then coalesce(l.clicked_at, event_at) else l.clicked_at end,
      bounced_at = case when new_status = 'bounced' then coalesce(l.bounced_at, event_at) else l.bounced_at end,
      complained_at = case when new_status = 'complained' then coalesce(l.complained_at, event_at) else l.complained_at end,
      bounce_type = case when new_status = 'bounced' then data -> 'bounce' ->> 'type' else l.bounce_type end
  where l.provider = 'resend' and l.provider_message_id = message_id
    and (l.last_event_at is null or l.last_event_at <= event_at);
  get diagnostics touched = row_count;

  if touched = 0 and not exists (
    select 1 from public.comms_email_logs l where l.provider = 'resend' and l.provider_message_id = message_id
  ) then
    raise exception 'resend event for unknown email % without a recipient', message_id;
  end if;

  if hard_bounce or new_status = 'complained' then
    update public.user_email_preferences pref
    set marketing_emails = false,
        suppressed_at = coalesce(pref.suppressed_at, event_at),
        suppressed_reason = case when hard_bounce then 'hard_bounce' else 'complaint' end
    where pref.user_id in (
      select p.id from public.user_profiles p
      where lower(p.email) = lower(coalesce(
        recipient,
        (select l.to_email from public.comms_email_logs l
         where l.provider = 'resend' and l.provider_message_id = message_id)
      ))
    );
  end if;

  return case when touched = 0 then 'stale' else 'processed' end;
end
$$;

-- processing ---------------------------------------------------------------------------------

-- Applies one stored event in a sub-transaction and records the outcome on its inbox row.
create or replace function private.process_webhook_event(event public.system_webhook_events)
returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  outcome text;
  error_text text;
  error_state text;
begin
  begin
    outcome := case event.provider
      when 'stripe' then private.apply_stripe_event(event)
      when 'resend' then private.apply_resend_event(event)
    end;

    update public.system_webhook_events e
    set status = case when outcome = 'processed' then 'processed' else 'ignored' end::public.webhook_event_status,
        attempts = e.attempts + 1,
        processed_at = now(),
        next_attempt_at = null,
        last_error = null
    where e.id = event.id;

    return jsonb_build_object(
      'status', case when outcome = 'processed' then 'processed' else 'ignored' end,
      'event', event.id,
      'error', null,
      'reason', case when outcome = 'processed' then null else outcome end
    );
  exception when others then
    get stacked diagnostics error_text = message_text, error_state = returned_sqlstate;
  end;

  update public.system_webhook_events e
  set status = 'failed',
      attempts = e.attempts + 1,
      last_error = left(error_state || ': ' || error_text, 2000),
      next_attempt_at = now() + least(interval '1 minute' * power(2, e.attempts), interval '6 hours'),
      processed_at = null
  where e.id = event.id;

  return jsonb_build_object(
    'status', 'failed',
    'event', event.id,
    'error', error_state || ': ' || error_text,
    'reason', null
  );
end
$$;

revoke execute on function private.stripe_object_user(jsonb) from public, anon, authenticated;
revoke execute on function private.apply_stripe_checkout_completed(jsonb, timestamptz) from public, anon, authenticated;
revoke execute on function private.apply_stripe_subscription_change(text, jsonb, timestamptz) from public, anon, authenticated;
revoke execute on function private.apply_stripe_invoice_event(public.system_webhook_events, jsonb, timestamptz) from public, anon, authenticated;
revoke execute on function private.apply_stripe_event(public.system_webhook_events) from public, anon, authenticated;
revoke execute on function private.apply_resend_event(public.system_webhook_events) from public, anon, authenticated;
revoke execute on function private.process_webhook_event(public.system_webhook_events) from public, anon, authenticated;

-- receive_webhook_event ----------------------------------------------------------------------

create or replace function public.receive_webhook_event(
  provider text,
  event_id text,
  event_type text,
  payload jsonb
) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  known_provider public.webhook_provider;
  stored public.system_webhook_events;
begin
  if receive_webhook_event.provider is null
     or receive_webhook_event.provider not in ('stripe', 'resend') then
    raise exception 'unknown webhook provider %', receive_webhook_event.provider
      using errcode = '22023', hint = 'Expected stripe or resend.';
  end if;
  known_provider := receive_webhook_event.provider::public.webhook_provider;
  if coalesce(btrim(receive_webhook_event.event_id), '') = '' or char_length(receive_webhook_event.event_id) > 255 then
    raise exception 'event_id must be 1 to 255 characters' using errcode = '22023';
  end if;
  if coalesce(btrim(receive_webhook_event.event_type), '') = '' then
    raise exception 'event_type is required' using errcode = '22023';
  end if;
  if receive_webhook_event.payload is null or jsonb_typeof(receive_webhook_event.payload) <> 'object' then
    raise exception 'payload must be a JSON object' using errcode = '22023';
  end if;

  -- A concurrent delivery of the same event waits here for the first one's commit, then
  -- conflicts and leaves as a duplicate.
  insert into public.system_webhook_events (provider, event_id, event_type, payload, event_created_at)
  values (
    known_provider,
    receive_webhook_event.event_id,
    receive_webhook_event.event_type,
    receive_webhook_event.payload,
    private.webhook_event_time(known_provider, receive_webhook_event.payload)
  )
  on conflict on constraint system_webhook_events_provider_event_id_key do nothing
  returning * into stored;

  if stored.id is null then
    select * into stored from public.system_webhook_events e
    where e.provider = known_provider and e.event_id = receive_webhook_event.event_id;
    return jsonb_build_object('status', 'duplicate', 'event', stored.id, 'error', null, 'reason', null);
  end if;

  return private.process_webhook_event(stored);
end
$$;

revoke execute on function public.receive_webhook_event(text, text, text, jsonb) from public, anon, authenticated;
grant execute on function public.receive_webhook_event(text, text, text, jsonb) to webhook_ingest, service_role;

-- retries ------------------------------------------------------------------------------------

create or replace function public.retry_webhook_event(event uuid) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  stored public.system_webhook_events;
begin
  select * into stored from public.system_webhook_events e
  where e.id = retry_webhook_event.event
  for update;
  if stored.id is null then
    raise exception 'no webhook event %', retry_webhook_event.event using errcode = '22023';
  end if;
  if stored.status <> 'failed' then
    return jsonb_build_object('status', stored.status, 'event', stored.id, 'error', null, 'reason', 'not_failed');
  end if;
  return private.process_webhook_event(stored);
end
$$;

revoke execute on function public.retry_webhook_event(uuid) from public, anon, authenticated;
grant execute on function public.retry_webhook_event(uuid) to maintenance, service_role;

create or replace function public.list_webhook_events_due_for_retry(
  batch_size integer default 50,
  max_attempts integer default 8
) returns setof public.system_webhook_events
language sql stable
set search_path = ''
as $$
  select * from public.system_webhook_events e
  where e.status = 'failed'
    and e.next_attempt_at <= now()
    and e.attempts < max_attempts
  order by e.next_attempt_at
  limit greatest(batch_size, 0)
$$;

revoke execute on function public.list_webhook_events_due_for_retry(integer, integer) from public, anon, authenticated;
grant execute on function public.list_webhook_events_due_for_retry(integer, integer) to maintenance, service_role;

create or replace function public.retry_due_webhook_events(
  batch_size integer default 50,
  max_attempts integer default 8
) returns jsonb
language plpgsql volatile security definer
set search_path = ''
as $$
declare
  due public.system_webhook_events;
  result jsonb;
  counts jsonb := '{"retried": 0, "processed": 0, "ignored": 0, "failed": 0, "gave_up": 0}';
begin
  if batch_size is null or batch_size < 1 or batch_size > 10000 then
    raise exception 'batch_size must be between 1 and 10000' using errcode = '22023';
  end if;
  for due in
    select * from public.system_webhook_events e
    where e.status = 'failed' and e.next_attempt_at <= now() and e.attempts < max_attempts
    order by e.next_attempt_at
    limit batch_size
    for update skip locked
  loop
    result := private.process_webhook_event(due);
    counts := counts
      || jsonb_build_object('retried', (counts ->> 'retried')::integer + 1)
      || jsonb_build_object(result ->> 'status', (counts ->> (result ->> 'status'))::integer + 1);
    if result ->> 'status' = 'failed' and due.attempts + 1 >= max_attempts then
      update public.system_webhook_events e set next_attempt_at = null where e.id = due.id;
      counts := counts || jsonb_build_object('gave_up', (counts ->> 'gave_up')::integer + 1);
      perform public.write_system_log(
        'warning', 'webhooks', 'gave up retrying a webhook event',
        jsonb_build_object('event', due.id, 'provider', due.provider, 'event_type', due.event_type,
                           'attempts', due.attempts + 1, 'error', result ->> 'error')
      );
    end if;
  end loop;
  return counts;
end
$$;

revoke execute on function public.retry_due_webhook_events(integer, integer) from public, anon, authenticated;
grant execute on function public.retry_due_webhook_events(integer, integer) to maintenance, service_role;
