-- 0030 webhook operations: new enum values
--
-- In a file of their own because a value added to an enum cannot be used in the transaction
-- that adds it (each migration is one transaction); 0031 uses them.
--   webhook_provider 'standard'   an event from a configured Standard Webhooks source (its name
--                                 is in system_webhook_events.source)
--   webhook_event_status 'resolved'  an operator closed the event by hand, with a reason

alter type public.webhook_provider add value if not exists 'standard';
alter type public.webhook_event_status add value if not exists 'resolved';
