-- 0025 Stripe checkout links
--
-- checkout.session.completed links a Stripe customer to a user (0014). Two holes closed here:
--
-- 1. The user came from `client_reference_id` first. On a Payment Link anyone can set it (it
--    is a URL parameter), so a stranger could pay and have their customer linked to someone
--    else. Now only `metadata.user_id` counts: metadata is set by the server that creates the
--    Checkout Session (or by the merchant on the Payment Link), never by the buyer.
-- 2. A user's existing link to a different customer was silently replaced, and with it the
--    plan and the invoices that follow it. Now a link is never moved: a checkout naming a user
--    already linked to another customer, or a customer already linked to another user, is
--    refused.
--
-- A refused event is stored as `failed` with a reason and is not retried (next_attempt_at is
-- null): retrying cannot change the answer. receive_webhook_event answers
-- {"status": "failed", "reason": <reason>, "error": <why>}; the edge still acknowledges it
-- (2xx), so the provider does not resend it. An operator who resolves the conflict can apply it
-- with retry_webhook_event. Reasons:
--   no_trusted_user                  the session has no metadata.user_id
--   customer_link_conflict           the user is linked to another Stripe customer
--   customer_linked_to_another_user  the customer is linked to another user
-- The user whose link was at stake (the one client_reference_id names, the user already
-- linked, the owner of the customer) gets a `billing.customer_relink_refused` security event
-- (0024), so they and the operators can see the attempt.
--
-- How a refusal travels: an apply_* helper raises SQLSTATE WR001 with the reason as HINT and,
-- as DETAIL, the security event to record ({"event_type", "severity", "user_id", "details"})
-- or '{}'. process_webhook_event catches it, keeps the event failed for good and records the
-- security event outside the rolled-back sub-transaction.

create or replace function private.apply_stripe_checkout_completed(session jsonb, event_at timestamptz)
returns text
language plpgsql security definer
set search_path = ''
as $$
declare
  customer_id text := session ->> 'customer';
  claimed_user text := session -> 'metadata' ->> 'user_id';
  named_user uuid;
  buyer uuid;
  workspace uuid;
  linked_customer text;
  linked_user uuid;
  touched integer;
begin
  if customer_id is null then
    -- A payment without a Stripe customer: nothing to link.
    return 'processed';
  end if;

  if claimed_user is null then
    -- Whoever client_reference_id names (if anyone) is told that a checkout tried to use them.
    select p.id into named_user from public.user_profiles p where p.id = private.try_uuid(session ->> 'client_reference_id');
    raise exception 'checkout session % has no metadata.user_id; client_reference_id is not trusted, anyone can set it on a Payment Link',
      session ->> 'id'
      using errcode = 'WR001', hint = 'no_trusted_user',
            detail = case when named_user is null then '{}' else jsonb_build_object(
              'event_type', 'billing.customer_relink_refused', 'severity', 'warning', 'user_id', named_user,
              'details', jsonb_build_object('reason', 'no_trusted_user', 'stripe_customer_id', customer_id,
                                            'checkout_session', session ->> 'id'))::text end;
  end if;
  select p.id into buyer from public.user_profiles p where p.id = private.try_uuid(claimed_user);
  if buyer is null then
    -- Not a refusal: the profile may still be on its way. Retried with backoff.
    raise exception 'checkout session % names no known user in metadata.user_id', session ->> 'id';
  end if;

  select c.user_id into linked_user from public.billing_stripe_customers c
  where c.stripe_customer_id = customer_id and c.user_id <> buyer;
  if linked_user is not null then
    raise exception 'Stripe customer % is already linked to another user; checkout session % may not move it',
      customer_id, session ->> 'id'
      using errcode = 'WR001', hint = 'customer_linked_to_another_user',
            detail = jsonb_build_object(
              'event_type', 'billing.customer_relink_refused', 'severity', 'warning', 'user_id', linked_user,
              'details', jsonb_build_object('reason', 'customer_linked_to_another_user', 'stripe_customer_id', customer_id,
                                            'checkout_session', session ->> 'id', 'claimed_user_id', buyer))::text;
  end if;

  select m.workspace_id into workspace from public.workspace_members m
  where m.workspace_id = private.try_uuid(session -> 'metadata' ->> 'workspace_id') and m.user_id = buyer;

  begin
    insert into public.billing_stripe_customers as b
      (user_id, workspace_id, stripe_customer_id, email, last_event_at)
    values (buyer, workspace, customer_id, session -> 'customer_details' ->> 'email', event_at)
    on conflict on constraint billing_stripe_customers_user_id_key do update
      set workspace_id = coalesce(excluded.workspace_id, b.workspace_id),
          email = coalesce(excluded.email, b.email),
          last_event_at = excluded.last_event_at
      -- The link itself never changes here: only the same customer is refreshed.
      where b.stripe_customer_id = excluded.stripe_customer_id
        and (b.last_event_at is null or b.last_event_at <= excluded.last_event_at);
  exception when unique_violation then
    -- Another checkout linked this customer to someone else since the check above.
    raise exception 'Stripe customer % is already linked to another user; checkout session % may not move it',
      customer_id, session ->> 'id'
      using errcode = 'WR001', hint = 'customer_linked_to_another_user', detail = '{}';
  end;
  get diagnostics touched = row_count;
  if touched = 0 then
    select c.stripe_customer_id into linked_customer from public.billing_stripe_customers c where c.user_id = buyer;
    if linked_customer is distinct from customer_id then
      raise exception 'user % is linked to another Stripe customer; checkout session % (customer %) may not replace that link',
        buyer, session ->> 'id', customer_id
        using errcode = 'WR001', hint = 'customer_link_conflict',
              detail = jsonb_build_object(
                'event_type', 'billing.customer_relink_refused', 'severity', 'warning', 'user_id', buyer,
                'details', jsonb_build_object('reason', 'customer_link_conflict', 'stripe_customer_id', customer_id,
                                              'linked_customer_id', linked_customer, 'checkout_session', session ->> 'id'))::text;
    end if;
    return 'stale';
  end if;

  insert into public.user_plans as p (user_id, stripe_customer_id)
  values (buyer, customer_id)
  on conflict on constraint user_plans_user_id_key do update
    set stripe_customer_id = excluded.stripe_customer_id;
  return 'processed';
end
$$;

revoke execute on function private.apply_stripe_checkout_completed(jsonb, timestamptz) from public, anon, authenticated;

-- process_webhook_event: 0014's, plus refusals (WR001) kept failed for good with their reason.
create or replace function private.process_webhook_event(event public.system_webhook_events)
returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  outcome text;
  error_text text;
  error_state text;
  refusal_reason text;
  refusal_detail text;
  refusal_event jsonb;
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
    get stacked diagnostics error_text = message_text, error_state = returned_sqlstate,
                            refusal_reason = pg_exception_hint, refusal_detail = pg_exception_detail;
  end;

  if error_state = 'WR001' then
    refusal_event := nullif(refusal_detail, '')::jsonb;
    update public.system_webhook_events e
    set status = 'failed',
        attempts = e.attempts + 1,
        last_error = left('refused (' || refusal_reason || '): ' || error_text, 2000),
        next_attempt_at = null,
        processed_at = null
    where e.id = event.id;
    if coalesce(refusal_event ? 'event_type', false) then
      perform private.record_security_event(
        refusal_event ->> 'event_type',
        (refusal_event ->> 'severity')::public.security_event_severity,
        (refusal_event ->> 'user_id')::uuid,
        coalesce(refusal_event -> 'details', '{}'::jsonb)
          || jsonb_build_object('webhook_event', event.id, 'provider', event.provider, 'provider_event_id', event.event_id)
      );
    end if;
    return jsonb_build_object('status', 'failed', 'event', event.id, 'error', error_text, 'reason', refusal_reason);
  end if;

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

revoke execute on function private.process_webhook_event(public.system_webhook_events) from public, anon, authenticated;
