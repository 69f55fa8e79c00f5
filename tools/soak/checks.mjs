// What the soak checks in Postgres once the traffic has stopped and every delivery has been
// acknowledged: nothing acknowledged was lost, nothing took effect twice, and the rows that
// webhook events act on ended as their newest event says. Effects are counted through the
// triggers of tools/soak/audit.sql, which record every change to those rows.
import { rows } from "../../tests/e2e/lib.mjs";

/** Per key: how many events took effect (status processed) and how many changes the rows saw. */
function effects({ events, changes }) {
  const tally = rows(`
    with events as (${events}), changes as (${changes})
    select key, coalesce(events.applied, 0) as applied, coalesce(changes.changes, 0) as changes
    from events full join changes using (key)`);
  const extra = tally.reduce((sum, row) => sum + Math.max(0, row.changes - row.applied), 0);
  const missing = tally.reduce((sum, row) => sum + Math.max(0, row.applied - row.changes), 0);
  const samples = tally.filter((row) => row.changes !== row.applied).slice(0, 5);
  return { keys: tally.length, applied: tally.reduce((sum, row) => sum + row.applied, 0), extra, missing, samples };
}

const applied = (filter, key) => `
  select ${key} as key, count(*) filter (where status = 'processed')::int as applied
  from public.system_webhook_events where ${filter} group by 1`;
const changed = (table, operations) => `
  select row_key as key, count(*)::int as changes from soak_audit.changes
  where table_name = '${table}' and operation in (${operations.map((operation) => `'${operation}'`).join(", ")}) group by 1`;

export function checkWebhooks(sender) {
  const stored = new Map(
    rows(`select provider, event_id, status, attempts, last_error from public.system_webhook_events
          where event_id like 'evt_soak_%' or event_id like 'msg_soak_%'`).map((row) => [`${row.provider}:${row.event_id}`, row]),
  );
  const events = [...sender.events.entries()];
  const acknowledged = events.filter(([, event]) => event.acknowledged);
  const storedRows = [...stored.values()];
  const countOf = (status) => storedRows.filter((row) => row.status === status).length;
  return {
    events: events.length,
    acknowledged: acknowledged.length,
    stored: stored.size,
    acknowledged_not_stored: acknowledged.filter(([key]) => !stored.has(key)).length,
    stored_not_acknowledged: events.filter(([key, event]) => !event.acknowledged && stored.has(key)).length,
    never_acknowledged: events.length - acknowledged.length,
    stored_by_status: { processed: countOf("processed"), ignored: countOf("ignored"), failed: countOf("failed"), pending: countOf("pending") },
    applied_more_than_once: storedRows.filter((row) => row.attempts > 1 && row.status !== "failed").length,
    failed_samples: storedRows.filter((row) => row.status === "failed").slice(0, 5).map((row) => ({ event_id: row.event_id, last_error: row.last_error })),
    deliveries: sender.counts.deliveries,
    duplicates_sent_later: sender.counts.duplicates_sent,
    sent_twice_at_once: sender.counts.sent_at_once,
    answers: sender.counts.answers,
  };
}

/**
 * Effects counted per event: one change to the subscription per applied subscription event,
 * one status change to the email log per applied Resend event, one billing row per applied
 * invoice event, one customer-link write per applied checkout; one profile and one personal
 * workspace per user however often `POST signup` was called.
 */
export function checkDuplicateEffects() {
  const subscriptions = effects({
    events: applied("provider = 'stripe' and event_type like 'customer.subscription.%'", "payload -> 'data' -> 'object' ->> 'id'"),
    changes: changed("user_subscriptions", ["INSERT", "UPDATE"]),
  });
  const emails = effects({
    events: applied("provider = 'resend'", "payload -> 'data' ->> 'email_id'"),
    changes: changed("comms_email_logs", ["UPDATE"]),
  });
  const invoices = effects({
    events: applied("provider = 'stripe' and event_type like 'invoice.%'", "event_id"),
    changes: changed("billing_subscription_events", ["INSERT"]),
  });
  const customers = effects({
    events: applied("provider = 'stripe' and event_type = 'checkout.session.completed'", "payload -> 'data' -> 'object' ->> 'customer'"),
    changes: changed("billing_stripe_customers", ["INSERT", "UPDATE"]),
  });
  const [people] = rows(`
    select (select count(*) from (select id from public.user_profiles group by id having count(*) > 1) twice)::int as profiles,
           (select count(*) from (select owner_id from public.workspaces where is_personal group by owner_id having count(*) > 1) twice)::int
             as personal_workspaces`);
  const total = subscriptions.extra + emails.extra + invoices.extra + customers.extra + people.profiles + people.personal_workspaces;
  return {
    total,
    subscription_changes: subscriptions,
    email_status_changes: emails,
    invoice_rows: invoices,
    customer_links: customers,
    users_with_two_profiles: people.profiles,
    users_with_two_personal_workspaces: people.personal_workspaces,
  };
}

/** Each subscription and email as its newest event says, however the deliveries were ordered. */
export function checkFinalStates(sender) {
  const newest = (events, time) => events.reduce((latest, event) => (time(event) > time(latest) ? event : latest));
  const subscriptions = new Map(
    rows("select stripe_subscription_id as id, status from public.user_subscriptions where stripe_subscription_id like 'sub_soak_%'").map(
      (row) => [row.id, row.status],
    ),
  );
  const emails = new Map(
    rows("select provider_message_id as id, status from public.comms_email_logs where provider_message_id like 'em_soak_%'").map(
      (row) => [row.id, row.status],
    ),
  );
  const compare = (made, found, time) => {
    const wrong = [];
    for (const [id, events] of made) {
      const expected = newest(events, time).status;
      if (found.get(id) !== expected) wrong.push({ id, expected, found: found.get(id) ?? null });
    }
    return { checked: made.size, wrong: wrong.length, samples: wrong.slice(0, 5) };
  };
  return {
    subscriptions: compare(sender.subscriptions, subscriptions, (event) => event.created),
    emails: compare(sender.emails, emails, (event) => event.createdAt),
  };
}
