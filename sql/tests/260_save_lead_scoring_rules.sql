-- save_lead_scoring_rules (0026) saves a workspace's rules and engagement half-life in one
-- transaction as the caller: owners and admins may, members, viewers, outsiders and anonymous
-- visitors may not, and a refused half-life leaves the rules as they were (and the reverse).
\ir support/people.psql
begin;
select * from no_plan();
select tests.create_cast();
\set one_rule '[{"rule_key": "probate", "rule_group": "motivation", "condition": {"field": "tags", "op": "contains_tag", "value": ["probate"]}, "points": 40}]'

create view tests.alice_rules as
  select coalesce(array_agg(rule_key order by sort_order, rule_key), '{}') as keys
  from crm_lead_scoring_rules where workspace_id = 'a11ce000-0000-4000-8000-0000000000aa';
create view tests.alice_half_life as
  select engagement_half_life_days as days
  from crm_lead_scoring_settings where workspace_id = 'a11ce000-0000-4000-8000-0000000000aa';
-- Owned by the superuser running the suite: they show what is stored whatever the caller may see.
grant select on tests.alice_rules, tests.alice_half_life to authenticated, anon, service_role;

-- who may call it -------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'wanda';
select is((select array_agg(rule_key) from save_lead_scoring_rules(:'alice_ws', :'one_rule', true, 30)), array['probate'],
  'Wanda, an admin, saves the rules and gets them back');
select is((select days from tests.alice_half_life), 30, 'and the half-life with them');
select is((select count(*)::int from save_lead_scoring_rules(:'alice_ws', :'one_rule')), 1,
  'Without set_half_life she saves the rules only');
select is((select days from tests.alice_half_life), 30, 'and the half-life stays as it was');
select is((select count(*)::int from save_lead_scoring_rules(:'alice_ws', :'one_rule', true, null)), 1,
  'She can turn decay off while saving the rules');
select is((select days from tests.alice_half_life), null, 'Decay is off');

set local request.jwt.claims = :'mike';
select throws_ok(format('select save_lead_scoring_rules(%L, %L, true, 7)', :'alice_ws', '[]'), '42501', null,
  'Mike, a member, cannot save the rules');
set local request.jwt.claims = :'vera';
select throws_ok(format('select save_lead_scoring_rules(%L, %L, true, 7)', :'alice_ws', '[]'), '42501', null,
  'Vera, a viewer, cannot save the rules');
set local request.jwt.claims = :'bob';
select throws_ok(format('select save_lead_scoring_rules(%L, %L, true, 7)', :'alice_ws', '[]'), '42501', null,
  'Bob, an outsider, cannot save Alice Realty''s rules');
select throws_ok(format('select save_lead_scoring_rules(%L, %L, true, 7)', :'alice_ws', :'one_rule'), '42501', null,
  'nor with a rule list that would otherwise be saved');
set local request.jwt.claims = :'alice';
select is((select keys from tests.alice_rules), array['probate'], 'After every refused caller Alice''s rules are unchanged');
select is((select days from tests.alice_half_life), null, 'and so is her half-life');
set local role anon;
set local request.jwt.claims = '{"role": "anon"}';
select throws_ok(format('select save_lead_scoring_rules(%L, %L)', :'alice_ws', '[]'), '42501', null,
  'An anonymous visitor cannot call it');

-- all or nothing ----------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'alice';
select throws_ok(format('select save_lead_scoring_rules(%L, %L, true, 0)', :'alice_ws', '[]'), '23514', null,
  'Alice, the owner, cannot set a half-life of 0 days');
select is((select keys from tests.alice_rules), array['probate'], 'so the rules she sent with it (none) were not saved either');
select throws_ok(format('select save_lead_scoring_rules(%L, %L, true, 3651)', :'alice_ws', '[]'), '23514', null,
  'A half-life above 3650 days is refused too');
select is((select keys from tests.alice_rules), array['probate'], 'and again the rules are untouched');
select throws_ok(format('select save_lead_scoring_rules(%L, %L, true, 21)', :'alice_ws',
  '[{"rule_key": "a", "rule_group": "fit", "condition": {"field": "pool", "op": "exists"}, "points": 5}]'), '23514', null,
  'A rule the engine would refuse is refused');
select is((select days from tests.alice_half_life), null, 'so the half-life sent with it was not saved');
select throws_ok(format('select save_lead_scoring_rules(%L, %L, true, 21)', :'alice_ws', '{}'), '22023', null,
  'Rules that are not a list are refused, and nothing is saved');
select is((select days from tests.alice_half_life), null, 'The half-life is still off');
select is((select count(*)::int from save_lead_scoring_rules(:'alice_ws', '[]', true, 21)), 0,
  'Alice can go back to the built-in rules and set a half-life at once');
select is((select keys from tests.alice_rules), '{}'::text[], 'No saved rules remain');
select is((select days from tests.alice_half_life), 21, 'and the half-life is 21 days');

-- a workspace without a settings row gets one ----------------------------------------------------
reset role;
delete from crm_lead_scoring_settings where workspace_id = :'bob_ws';
set local role authenticated;
set local request.jwt.claims = :'bob';
select is((select count(*)::int from save_lead_scoring_rules(:'bob_ws', :'one_rule', true, 5)), 1,
  'Bob saves his rules with a half-life');
select is((select engagement_half_life_days from crm_lead_scoring_settings where workspace_id = :'bob_ws'), 5,
  'A settings row is created when there was none');

set local role service_role;
set local request.jwt.claims = '{"role": "service_role"}';
select is((select count(*)::int from save_lead_scoring_rules(:'alice_ws', :'one_rule', true, 60)), 1,
  'The service role can save any workspace''s rules');

select * from finish();
rollback;
