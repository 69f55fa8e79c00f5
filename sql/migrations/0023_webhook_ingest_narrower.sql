-- 0023 webhook_ingest narrower
--
-- The webhook intake stores and applies deliveries through receive_webhook_event (0014,
-- SECURITY DEFINER); it never reads the inbox itself, yet 0010 let it read every stored payload
-- (names, addresses, amounts of every customer). A stolen intake token no longer can
-- (issue 14, item 7): webhook_ingest keeps only receive_webhook_event and write_system_log.

drop policy if exists "Webhook intake can read the inbox" on public.system_webhook_events;
revoke all on public.system_webhook_events from webhook_ingest;
