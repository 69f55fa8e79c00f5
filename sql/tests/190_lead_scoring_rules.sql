-- Lead-scoring rules the engine cannot use never reach the table, and leads that cannot be
-- scored leave the re-scoring queue with a reason. The attack: an admin
-- writes a rule the engine does not compile straight through PostgREST; the decay job then
-- skips that workspace's leads, which stay first in the queue every run, so the job stops
-- before any other tenant's leads. The SQL validator accepts exactly the conditions
-- functions/lead-scoring/src/condition_json.rs accepts (tests/e2e/lead-scoring-rules.test.mjs
-- compares the two on a shared corpus and on random conditions); condition is capped at 128 KiB
-- and score_breakdown at 64 KiB of JSON text.
\ir support/people.psql
begin;
select * from no_plan();
select tests.create_cast();

-- the attack: a broken rule written straight into the table -----------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'wanda';
select throws_ok(format('insert into crm_lead_scoring_rules (workspace_id, rule_key, rule_group, condition, points) values (%L, %L, %L, %L, 5)',
  :'alice_ws', 'broken', 'fit', '{"field": "pool", "op": "exists"}'),
  '23514', null, 'Wanda, an admin, cannot insert a rule whose condition the engine would refuse');
select throws_ok(format('update crm_lead_scoring_rules set condition = %L where workspace_id = %L and rule_key = %L',
  '{"field": "status", "op": "like", "value": "new"}', :'alice_ws', 'fit_valid_phone'),
  '23514', null, 'Wanda cannot break an existing rule''s condition');
select throws_ok(format('insert into crm_lead_scoring_rules (workspace_id, rule_key, rule_group, condition, points) values (%L, %L, %L, %L, 5)',
  :'alice_ws', 'big', 'fit', '{"field": "tags", "op": "contains_tag", "value": "' || repeat('x', 140000) || '"}'),
  '23514', null, 'Wanda cannot store a 140 KB condition');
select lives_ok(format('insert into crm_lead_scoring_rules (workspace_id, rule_key, rule_group, condition, points) values (%L, %L, %L, %L, 5)',
  :'alice_ws', 'fit_company', 'fit', '{"field": "company", "op": "exists"}'),
  'Wanda can still insert a valid rule');
select throws_ok(format($$select replace_lead_scoring_rules(%L, '[{"rule_key": "a", "rule_group": "fit", "condition": {"field": "mood", "op": "exists"}, "points": 5}]')$$, :'alice_ws'),
  '23514', null, 'The replace RPC refuses an invalid condition too');
select throws_ok(format('select replace_lead_scoring_rules(%L, %L)', :'alice_ws',
  (select jsonb_agg(jsonb_build_object('rule_key', 'r' || n, 'rule_group', 'fit', 'condition', '{"field": "status", "op": "exists"}'::jsonb, 'points', 1))
   from generate_series(1, 201) n)),
  '23514', null, 'A workspace cannot have more than 200 rules');
select is((select count(*)::int from replace_lead_scoring_rules(:'alice_ws',
  (select jsonb_agg(jsonb_build_object('rule_key', 'r' || n, 'rule_group', 'fit', 'condition', '{"field": "status", "op": "exists"}'::jsonb, 'points', 1))
   from generate_series(1, 200) n))), 200, 'Two hundred rules are fine');
select throws_ok(format('insert into crm_lead_scoring_rules (workspace_id, rule_key, rule_group, condition, points) values (%L, %L, %L, %L, 5)',
  :'alice_ws', 'one_more', 'fit', '{"field": "status", "op": "exists"}'),
  '23514', null, 'A 201st rule cannot be added one at a time either');

-- score_breakdown is capped ------------------------------------------------------------------------------------
set local request.jwt.claims = :'mike';
select throws_ok(format('update crm_leads set score_breakdown = %L where id = %L',
  jsonb_build_object('fired', (select jsonb_agg(repeat('x', 1000)) from generate_series(1, 70))), 'a11ce000-0000-4000-8000-00000000100a'),
  '23514', null, 'Mike, a member, cannot store a 70 KB score breakdown');
select throws_ok(format($$select apply_lead_scores('[{"id": "%s", "score": 1, "score_breakdown": %s}]')$$, 'a11ce000-0000-4000-8000-00000000100a',
  jsonb_build_object('fired', (select jsonb_agg(repeat('x', 1000)) from generate_series(1, 70)))),
  '23514', null, 'nor through apply_lead_scores');

reset role;

create temporary table attempts (condition jsonb, refusal text) on commit drop;
insert into attempts values
  ('"status = new"', 'must be a JSON object'),
  ('{}', 'a condition is'),
  ('{"all": []}', 'non-empty array'),
  ('{"any": {"field": "status", "op": "exists"}}', 'non-empty array'),
  ('{"all": [{"field": "status", "op": "exists"}], "field": "status"}', 'exactly one key'),
  ('{"not": [{"field": "status", "op": "exists"}]}', 'must be a JSON object'),
  ('{"field": "status"}', 'condition.op: is required'),
  ('{"op": "exists"}', 'condition.field: is required'),
  ('{"field": 3, "op": "exists"}', 'must be a string'),
  ('{"field": "pool", "op": "exists"}', 'unknown field "pool"'),
  ('{"field": "status", "op": "like", "value": "new"}', 'unknown operator "like"'),
  ('{"field": "tags", "op": "equals", "value": "x"}', 'does not apply to field "tags"'),
  ('{"field": "status", "op": "equals"}', 'condition.value: is required'),
  ('{"field": "status", "op": "equals", "value": "hot"}', 'unknown status "hot"'),
  ('{"field": "status", "op": "equals", "value": null}', 'must be a string'),
  ('{"field": "opt_status", "op": "in", "value": ["opted_in", "maybe"]}', 'condition.value[1]: unknown opt_status'),
  ('{"field": "status", "op": "in", "value": []}', 'non-empty array'),
  ('{"field": "status", "op": "exists", "value": true}', 'exists takes no value'),
  ('{"field": "status", "op": "exists", "valeu": true}', 'unexpected key "valeu"'),
  ('{"field": "notes_count", "op": "between", "value": 3}', 'not value'),
  ('{"field": "notes_count", "op": "between"}', 'needs min, max or both'),
  ('{"field": "notes_count", "op": "between", "min": 5, "max": 2}', 'greater than max'),
  ('{"field": "notes_count", "op": "between", "min": -1}', 'condition.min: must be a whole number'),
  ('{"field": "notes_count", "op": "equals", "value": 1, "max": 2}', 'belong to the between'),
  ('{"field": "notes_count", "op": "equals", "value": 1.5}', 'whole number'),
  ('{"field": "notes_count", "op": "equals", "value": 2.0}', 'whole number'),
  ('{"field": "notes_count", "op": "in", "value": [1, 4294967296]}', 'condition.value[1]: must be a whole number'),
  ('{"field": "tags", "op": "contains_tag", "value": "--"}', 'no letters or digits'),
  ('{"field": "tags", "op": "contains_tag", "value": "🙂"}', 'no letters or digits'),
  ('{"field": "tags", "op": "contains_tag", "value": [1]}', 'condition.value[0]: must be a string'),
  ('{"field": "phone_valid", "op": "equals", "value": "yes"}', 'true or false'),
  ('{"field": "created_at", "op": "older_than_days", "value": -1}', 'number of days'),
  ('{"field": "created_at", "op": "older_than_days", "value": "7"}', 'number of days'),
  ('{"field": "created_at", "op": "newer_than_days", "value": 36501}', 'number of days'),
  ('{"field": "created_at", "op": "newer_than_days", "value": 36500.001}', 'number of days'),
  ('{"field": "created_at", "op": "newer_than_days", "value": -4.9406564584124654e-324}', 'number of days'),
  ('{"field": "created_at", "op": "newer_than_days", "value": 1e400}', 'number of days'),
  ('{"field": "notes_count", "op": "equals", "value": 1e400}', 'whole number'),
  ('{"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"field": "status", "op": "exists"}}}}}}}}}', 'at most 8 levels'),
  (('{"field": "tags", "op": "contains_tag", "value": ' || (select jsonb_agg('tag' || n) from generate_series(1, 256) n)::text || '}')::jsonb, 'at most 256'),
  (('{"field": "tags", "op": "contains_tag", "value": ' || (select jsonb_agg(repeat('x', 100) || n) from generate_series(1, 41) n)::text || '}')::jsonb, 'at most 4096 characters'),
  (('{"field": "tags", "op": "contains_tag", "value": "' || repeat('x', 140000) || '"}')::jsonb, 'at most 131072 bytes');

create temporary table accepted (condition jsonb) on commit drop;
insert into accepted values
  ('{"field": "status", "op": "exists"}'),
  ('{"field": "status", "op": "in", "value": ["new", "active", "qualified", "unqualified", "closed"]}'),
  ('{"field": "opt_status", "op": "equals", "value": "opted_out"}'),
  ('{"field": "tags", "op": "contains_tag", "value": "Óbidos"}'),
  ('{"field": "tags", "op": "contains_tag", "value": ["日本", "- x -", "٣"]}'),
  ('{"field": "tags", "op": "exists"}'),
  ('{"field": "company", "op": "in", "value": ["Acme", "acme llc"]}'),
  ('{"field": "is_deleted", "op": "equals", "value": false}'),
  ('{"field": "notes_count", "op": "between", "min": 0}'),
  ('{"field": "notes_count", "op": "between", "min": 3, "max": 3}'),
  ('{"field": "notes_count", "op": "in", "value": [0, 4294967295]}'),
  ('{"field": "last_contacted_at", "op": "newer_than_days", "value": 0.5}'),
  ('{"field": "updated_at", "op": "older_than_days", "value": 36500}'),
  -- Numbers as the engine reads them, as f64: these round to 36500, 0 and -0.0 (all accepted)
  -- and to the smallest subnormal (accepted; its negative is refused above).
  ('{"field": "updated_at", "op": "older_than_days", "value": 36500.0000000000001}'),
  ('{"field": "updated_at", "op": "older_than_days", "value": 1e-400}'),
  ('{"field": "updated_at", "op": "older_than_days", "value": -1e-400}'),
  ('{"field": "updated_at", "op": "older_than_days", "value": 4.9406564584124654e-324}'),
  ('{"field": "created_at", "op": "exists"}'),
  ('{"any": [{"all": [{"field": "status", "op": "exists"}]}, {"not": {"field": "email_valid", "op": "equals", "value": true}}]}'),
  ('{"not": {"not": {"not": {"not": {"not": {"not": {"not": {"field": "status", "op": "exists"}}}}}}}}'),
  (('{"field": "tags", "op": "contains_tag", "value": ' || (select jsonb_agg('tag' || n) from generate_series(1, 255) n)::text || '}')::jsonb),
  (('{"field": "tags", "op": "contains_tag", "value": ' || (select jsonb_agg(repeat('x', 96)) from generate_series(1, 42) n)::text || '}')::jsonb);

-- the validator itself ---------------------------------------------------------------------------------
select ok(private.lead_scoring_condition_problem(condition) like '%' || refusal || '%',
  format('The validator refuses %s: %s', left(condition::text, 80), private.lead_scoring_condition_problem(condition)))
from attempts;
select is(private.lead_scoring_condition_problem(condition), null, format('The validator accepts %s', left(condition::text, 80)))
from accepted;

-- The largest conditions the engine accepts fit the size cap (128 KiB of JSON text): one made of
-- the biggest leaves (255 under one "all", each with the longest number the engine writes, a
-- subnormal f64 that Postgres spells out in 342 digits), one made of text (4096 four-byte
-- characters in 255 tags). Any valid condition is at most their sum: 256 nodes and values, none
-- bigger than the biggest leaf, plus at most 4096 characters of text.
create temporary table biggest on commit drop as select
  ('{"all": ' || (select jsonb_agg('{"field": "last_contacted_at", "op": "newer_than_days", "value": 4.9406564584124654e-324}'::jsonb)
                  from generate_series(1, 255))::text || '}')::jsonb as leaves,
  ('{"field": "tags", "op": "contains_tag", "value": ' || (select jsonb_agg(repeat('𝒳', case when n = 1 then 32 else 16 end))
                  from generate_series(1, 255) n)::text || '}')::jsonb as text;
select is((select (private.lead_scoring_condition_problem(leaves), private.lead_scoring_condition_problem(text)) from biggest),
  (null::text, null::text), 'The biggest conditions of each kind are valid');
select ok((select octet_length(leaves::text) + octet_length(text::text) from biggest) < 131072,
  'Together they stay under the 128 KiB cap');

-- unscorable leads leave the queue with a reason -------------------------------------------------------
-- Rules stored before validation existed (triggers off, as on a database migrated from 0017).
reset role;
set local session_replication_role = replica;
update crm_lead_scoring_rules set condition = '{"field": "pool", "op": "exists"}' where workspace_id = :'bob_ws' and rule_key = 'fit_valid_phone';
set local session_replication_role = origin;
update crm_leads set scored_at = null;
update crm_leads set scored_at = now() - interval '30 days' where workspace_id = :'alice_ws';
set local role maintenance;
set local request.jwt.claims = :'maint';
select is((select array_agg(distinct l ->> 'workspace_id') from list_leads_due_for_rescoring(6, 7) l), array[:'bob_ws'],
  'Bob''s never-scored leads are first in the queue');
select is(mark_leads_unscorable((select jsonb_agg(jsonb_build_object('id', l ->> 'id', 'reason', 'rule "fit_valid_phone", condition.field: unknown field "pool"'))
                                 from list_leads_due_for_rescoring(6, 7) l)), 6,
  'The decay job marks the six leads it cannot score');
select is((select count(*)::int from list_leads_due_for_rescoring(100, 7) l where l ->> 'workspace_id' = :'bob_ws'), 0,
  'Marked leads leave the queue');
select is((select count(*)::int from list_leads_due_for_rescoring(100, 7) l where l ->> 'workspace_id' = :'alice_ws'),
  (select count(*)::int from crm_leads where workspace_id = :'alice_ws' and not is_deleted), 'Alice Realty''s stale leads come next');
select is((select array_agg(distinct scoring_problem) from crm_leads where workspace_id = :'bob_ws' and not is_deleted),
  array['rule "fit_valid_phone", condition.field: unknown field "pool"'], 'Each marked lead says why');
set local role authenticated;
set local request.jwt.claims = :'bob';
select is((select count(*)::int from crm_leads where scoring_problem is not null), 6, 'Bob sees why his leads were not re-scored');
select throws_ok($$select mark_leads_unscorable('[]')$$, '42501', null, 'Bob cannot mark leads unscorable');
select throws_ok($$update crm_leads set scoring_problem = null$$, '42501', null, 'nor clear the mark himself');
select lives_ok(format('update crm_lead_scoring_rules set condition = %L where workspace_id = %L and rule_key = %L',
  '{"field": "phone_valid", "op": "equals", "value": true}', :'bob_ws', 'fit_valid_phone'), 'Bob repairs the rule');
select is((select count(*)::int from crm_leads where scoring_problem is not null), 0, 'Changing the rules clears the marks');
set local role maintenance;
set local request.jwt.claims = :'maint';
select is((select count(*)::int from list_leads_due_for_rescoring(100, 7) l where l ->> 'workspace_id' = :'bob_ws'), 6,
  'and Bob''s leads are back in the queue');
select throws_ok($$select mark_leads_unscorable('{}')$$, '22023', null, 'Marks come as an array');

select * from finish();
rollback;
