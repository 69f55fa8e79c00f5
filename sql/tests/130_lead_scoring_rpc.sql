-- apply_lead_scores and replace_lead_scoring_rules run as the caller, so RLS decides: members
-- score their workspace's leads, viewers and outsiders change nothing; only owners and admins
-- replace a workspace's rules, atomically.
\ir support/people.psql
begin;
select * from no_plan();
select tests.create_cast();
\set margaret 'a11ce000-0000-4000-8000-00000000100a'
\set dennis 'a11ce000-0000-4000-8000-00000000100b'
\set grace 'b0b00000-0000-4000-8000-00000000200a'

-- apply_lead_scores ----------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'mike';
select is(apply_lead_scores(format('[{"id": "%s", "score": 80, "score_breakdown": {"total": 80}, "scored_at": "2026-03-01T00:00:00Z"},
                                    {"id": "%s", "score": 35, "score_breakdown": {"total": 35}},
                                    {"id": "%s", "score": 99, "score_breakdown": {"total": 99}}]', :'margaret', :'dennis', :'grace')::jsonb),
  2, 'Mike, a member, scores the two Alice Realty leads and is silently refused Bob''s');
select is((select (score, scored_at) from crm_leads where id = :'margaret'), (80, '2026-03-01T00:00:00Z'::timestamptz),
  'Margaret''s score and the given scoring time are stored');
select ok((select scored_at > now() - interval '1 minute' from crm_leads where id = :'dennis'), 'Without a scoring time, now is used');
select is((select score_breakdown from crm_leads where id = :'dennis'), '{"total": 35}'::jsonb, 'The breakdown is stored');
set local request.jwt.claims = :'bob';
select is((select score from crm_leads where id = :'grace'), null, 'Bob''s lead was not scored by Mike');
select is(apply_lead_scores(format('[{"id": "%s", "score": 1, "score_breakdown": {}}]', :'margaret')::jsonb), 0,
  'Bob cannot score Alice Realty''s leads');
select is(apply_lead_scores(format('[{"id": "%s", "score": 61, "score_breakdown": {}}]', :'grace')::jsonb), 1, 'Bob can score his own lead');
set local request.jwt.claims = :'vera';
select is(apply_lead_scores(format('[{"id": "%s", "score": 1, "score_breakdown": {}}]', :'margaret')::jsonb), 0,
  'Vera, a viewer, cannot score leads');
select is((select score from crm_leads where id = :'margaret'), 80, 'Margaret keeps Mike''s score');
set local request.jwt.claims = :'mike';
select throws_ok(format($$select apply_lead_scores('[{"id": "%s", "score": 150, "score_breakdown": {}}]')$$, :'margaret'),
  '23514', null, 'A score above 100 is refused');
select throws_ok($$select apply_lead_scores('{"id": "x"}')$$, '22023', null, 'Scores must come as an array');
select throws_ok($$select apply_lead_scores('[{"id": "not-a-uuid", "score": 1}]')$$, '22P02', null, 'A malformed lead id is refused');
set local role anon;
set local request.jwt.claims = '{"role": "anon"}';
select throws_ok($$select apply_lead_scores('[]')$$, '42501', null, 'An anonymous visitor cannot write scores');

-- replace_lead_scoring_rules -------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'wanda';
create temporary table replaced on commit drop as
  select * from replace_lead_scoring_rules(:'alice_ws', '[
    {"rule_key": "probate", "rule_group": "motivation", "condition": {"field": "tags", "op": "contains_tag", "value": ["probate"]}, "points": 40},
    {"rule_key": "valid_phone", "rule_group": "fit", "condition": {"field": "phone_valid", "op": "equals", "value": true}, "points": 10, "enabled": false}
  ]');
select is((select array_agg(rule_key order by sort_order) from replaced), array['probate', 'valid_phone'],
  'Wanda, an admin, replaces the rules and gets the new set back in order');
select is((select array_agg(sort_order order by sort_order) from replaced), array[0, 1], 'Without a sort order, rules keep their array position');
select is((select enabled from replaced where rule_key = 'valid_phone'), false, 'A rule can be stored disabled');
select is((select count(*)::int from crm_lead_scoring_rules where workspace_id = :'alice_ws'), 2, 'The old six rules are gone');

set local request.jwt.claims = :'mike';
select throws_ok(format($$select replace_lead_scoring_rules(%L, '[]')$$, :'alice_ws'), '42501', null,
  'Mike, a member, cannot replace the rules');
set local request.jwt.claims = :'vera';
select throws_ok(format($$select replace_lead_scoring_rules(%L, '[]')$$, :'alice_ws'), '42501', null,
  'Vera, a viewer, cannot replace the rules');
select is((select count(*)::int from crm_lead_scoring_rules), 2, 'Vera, a viewer, reads the new rules');
set local request.jwt.claims = :'bob';
select throws_ok(format($$select replace_lead_scoring_rules(%L, '[]')$$, :'alice_ws'), '42501', null,
  'Bob cannot replace Alice Realty''s rules');

set local request.jwt.claims = :'alice';
select throws_ok(format($$select replace_lead_scoring_rules(%L, '[{"rule_key": "a", "rule_group": "fit", "condition": {"field": "status", "op": "exists"}, "points": 5},
  {"rule_key": "b", "rule_group": "fit", "condition": {"field": "status", "op": "exists"}, "points": 150}]')$$, :'alice_ws'),
  '23514', null, 'A rule worth more than 100 points is refused');
select throws_ok(format($$select replace_lead_scoring_rules(%L, '[{"rule_key": "a", "rule_group": "fit", "condition": {"field": "status", "op": "exists"}, "points": 5},
  {"rule_key": "a", "rule_group": "fit", "condition": {"field": "status", "op": "exists"}, "points": 6}]')$$, :'alice_ws'),
  '23505', null, 'Two rules with one key are refused');
select throws_ok(format($$select replace_lead_scoring_rules(%L, '[{"rule_key": "a", "rule_group": "vibes", "condition": {"field": "status", "op": "exists"}, "points": 5}]')$$, :'alice_ws'),
  '22P02', null, 'An unknown rule group is refused');
select throws_ok(format($$select replace_lead_scoring_rules(%L, '[{"rule_key": "a", "rule_group": "fit", "condition": [], "points": 5}]')$$, :'alice_ws'),
  '23514', null, 'A condition must be an object');
select throws_ok(format($$select replace_lead_scoring_rules(%L, '[{"rule_key": "a", "rule_group": "fit"}]')$$, :'alice_ws'),
  '22023', null, 'A rule without condition or points is refused');
select throws_ok(format($$select replace_lead_scoring_rules(%L, '{}')$$, :'alice_ws'), '22023', null, 'Rules must come as an array');
select is((select array_agg(rule_key order by sort_order) from crm_lead_scoring_rules), array['probate', 'valid_phone'],
  'After every refused replacement the previous rules are intact');
select is((select count(*)::int from replace_lead_scoring_rules(:'alice_ws', '[]')), 0, 'Alice, the owner, can clear the rules (engine defaults apply)');

set local role service_role;
set local request.jwt.claims = '{"role": "service_role"}';
select is((select count(*)::int from replace_lead_scoring_rules(:'bob_ws',
  '[{"rule_key": "x", "rule_group": "engagement", "condition": {"field": "status", "op": "equals", "value": "active"}, "points": -5}]')), 1,
  'The service role can replace any workspace''s rules');

select * from finish();
rollback;
