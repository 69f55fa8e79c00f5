-- crm_*: everything belongs to a workspace. Viewers read; members add and edit, and delete what
-- they created; admins and owners also delete anything and write scoring rules and settings;
-- outsiders see nothing; platform admins read leads and contacts; the maintenance job reads
-- leads and rules and writes scores only.
\ir support/people.psql
begin;
select * from no_plan();
select tests.create_cast();
\set margaret 'a11ce000-0000-4000-8000-00000000100a'
\set dennis 'a11ce000-0000-4000-8000-00000000100b'
\set grace 'b0b00000-0000-4000-8000-00000000200a'

-- crm_leads ------------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'vera';
select is((select count(*)::int from crm_leads), 6, 'Vera, a viewer, sees Alice Realty''s six leads');
select throws_ok(format('insert into crm_leads (workspace_id, user_id, name) values (%L, %L, %L)', :'alice_ws', :'vera_id', 'Viewer Lead'),
  '42501', null, 'Vera, a viewer, cannot add a lead');
with changed as (update crm_leads set status = 'closed' where id = :'margaret' returning 1)
select is(count(*)::int, 0, 'Vera, a viewer, cannot edit a lead') from changed;
with gone as (delete from crm_leads where id = :'margaret' returning 1)
select is(count(*)::int, 0, 'Vera, a viewer, cannot delete a lead') from gone;

set local request.jwt.claims = :'bob';
select is((select count(*)::int from crm_leads where workspace_id = :'alice_ws'), 0, 'Bob sees none of Alice Realty''s leads');
select is((select count(*)::int from crm_leads), 6, 'Bob sees his own six leads');
select throws_ok(format('insert into crm_leads (workspace_id, user_id, name) values (%L, %L, %L)', :'alice_ws', :'bob_id', 'Planted'),
  '42501', null, 'Bob cannot add a lead to Alice Realty');
with changed as (update crm_leads set status = 'closed' where id = :'margaret' returning 1)
select is(count(*)::int, 0, 'Bob cannot edit Alice Realty''s leads') from changed;
with gone as (delete from crm_leads where id = :'margaret' returning 1)
select is(count(*)::int, 0, 'Bob cannot delete Alice Realty''s leads') from gone;
select lives_ok(format('insert into crm_leads (workspace_id, user_id, name, email) values (%L, %L, %L, %L)', :'bob_ws', :'bob_id', 'Margaret H.', 'MARGARET.HOLLOWAY@example.net'),
  'Bob can add a lead whose email Alice Realty also has (uniqueness is per workspace)');

set local request.jwt.claims = :'pat';
select ok((select count(*)::int from crm_leads) >= 13, 'Pat, a platform admin, sees the leads of every workspace');

set local request.jwt.claims = :'mike';
select lives_ok(format('insert into crm_leads (id, workspace_id, user_id, name, tags) values (%L, %L, %L, %L, %L)',
  'aaaa0000-0000-4000-8000-00000000f00d', :'alice_ws', :'mike_id', 'Mike''s Lead', '{vacant}'), 'Mike, a member, can add a lead');
select throws_ok(format('insert into crm_leads (workspace_id, user_id, name) values (%L, %L, %L)', :'alice_ws', :'alice_id', 'In Alice''s name'),
  '42501', null, 'Mike cannot add a lead in Alice''s name');
select throws_ok(format('insert into crm_leads (workspace_id, user_id, name, email) values (%L, %L, %L, %L)', :'alice_ws', :'mike_id', 'Dup', 'Margaret.Holloway@example.net'),
  '23505', null, 'Mike cannot add a second lead with an email the workspace already has');
select throws_ok(format('insert into crm_leads (workspace_id, user_id, name, score) values (%L, %L, %L, 101)', :'alice_ws', :'mike_id', 'Too hot'),
  '23514', null, 'A lead''s score cannot exceed 100');
with changed as (update crm_leads set status = 'qualified' where id = :'margaret' returning 1)
select is(count(*)::int, 1, 'Mike, a member, can edit Alice''s lead') from changed;
select throws_ok(format('update crm_leads set workspace_id = %L where id = %L', :'bob_ws', :'margaret'),
  '42501', null, 'Mike cannot move a lead to another workspace');
select throws_ok(format('update crm_leads set user_id = %L where id = %L', :'mike_id', :'margaret'),
  '42501', null, 'Mike cannot take over a lead by rewriting its creator');
with gone as (delete from crm_leads where id = :'margaret' returning 1)
select is(count(*)::int, 0, 'Mike, a member, cannot delete a lead Alice created') from gone;
with gone as (delete from crm_leads where id = 'aaaa0000-0000-4000-8000-00000000f00d' returning 1)
select is(count(*)::int, 1, 'Mike can delete the lead he created') from gone;

set local request.jwt.claims = :'wanda';
with gone as (delete from crm_leads where id = :'dennis' returning 1)
select is(count(*)::int, 1, 'Wanda, an admin, can delete any lead of the workspace') from gone;

set local role maintenance;
set local request.jwt.claims = :'maint';
select ok((select count(*)::int from crm_leads) >= 12, 'The maintenance job reads every workspace''s leads');
with changed as (update crm_leads set score = 55, score_breakdown = '{"total": 55}', scored_at = now() where id = :'grace' returning 1)
select is(count(*)::int, 1, 'The maintenance job can write a lead''s score') from changed;
select throws_ok(format('update crm_leads set name = %L where id = %L', 'Renamed', :'grace'),
  '42501', null, 'The maintenance job cannot edit anything but scores');

-- crm_contacts ---------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'mike';
select lives_ok(format('insert into crm_contacts (id, workspace_id, user_id, first_name, email) values (%L, %L, %L, %L, %L)',
  'aaaa0000-0000-4000-8000-0000000c0001', :'alice_ws', :'mike_id', 'Ruth', 'ruth@example.com'), 'Mike, a member, can add a contact');
set local request.jwt.claims = :'vera';
select throws_ok(format('insert into crm_contacts (workspace_id, user_id, first_name) values (%L, %L, %L)', :'alice_ws', :'vera_id', 'Viewer'),
  '42501', null, 'Vera, a viewer, cannot add a contact');
select is((select count(*)::int from crm_contacts), 1, 'Vera, a viewer, sees the workspace''s contact');
with changed as (update crm_contacts set last_name = 'X' returning 1)
select is(count(*)::int, 0, 'Vera, a viewer, cannot edit a contact') from changed;
set local request.jwt.claims = :'bob';
select lives_ok(format('insert into crm_contacts (id, workspace_id, user_id, first_name) values (%L, %L, %L, %L)',
  'b0b00000-0000-4000-8000-0000000c0002', :'bob_ws', :'bob_id', 'Bob''s contact'), 'Bob can add a contact to his own workspace');
select is((select count(*)::int from crm_contacts where workspace_id = :'alice_ws'), 0, 'Bob sees none of Alice Realty''s contacts');
with changed as (update crm_contacts set last_name = 'X' where workspace_id = :'alice_ws' returning 1)
select is(count(*)::int, 0, 'Bob cannot edit Alice Realty''s contacts') from changed;
with gone as (delete from crm_contacts where workspace_id = :'alice_ws' returning 1)
select is(count(*)::int, 0, 'Bob cannot delete Alice Realty''s contacts') from gone;
set local request.jwt.claims = :'mike';
with changed as (update crm_contacts set last_name = 'Stone' where id = 'aaaa0000-0000-4000-8000-0000000c0001' returning 1)
select is(count(*)::int, 1, 'Mike, a member, can edit a contact') from changed;

-- crm_lead_contacts ----------------------------------------------------------------------------
select lives_ok(format('insert into crm_lead_contacts (lead_id, contact_id, relationship) values (%L, %L, %L)', :'margaret', 'aaaa0000-0000-4000-8000-0000000c0001', 'executor'),
  'Mike, a member, can link a contact to a lead of the same workspace');
select throws_ok(format('insert into crm_lead_contacts (lead_id, contact_id) values (%L, %L)', 'a11ce000-0000-4000-8000-00000000100c', 'b0b00000-0000-4000-8000-0000000c0002'),
  '42501', null, 'Mike cannot link Bob''s contact to Alice Realty''s lead');
set local request.jwt.claims = :'vera';
select is((select count(*)::int from crm_lead_contacts), 1, 'Vera, a viewer, sees the link');
select throws_ok(format('insert into crm_lead_contacts (lead_id, contact_id) values (%L, %L)', 'a11ce000-0000-4000-8000-00000000100c', 'aaaa0000-0000-4000-8000-0000000c0001'),
  '42501', null, 'Vera, a viewer, cannot link contacts');
with changed as (update crm_lead_contacts set is_primary = true returning 1)
select is(count(*)::int, 0, 'Vera, a viewer, cannot edit a link') from changed;
with gone as (delete from crm_lead_contacts returning 1)
select is(count(*)::int, 0, 'Vera, a viewer, cannot unlink') from gone;
set local request.jwt.claims = :'bob';
select is((select count(*)::int from crm_lead_contacts), 0, 'Bob sees none of Alice Realty''s links');
set local request.jwt.claims = :'mike';
with changed as (update crm_lead_contacts set is_primary = true returning 1)
select is(count(*)::int, 1, 'Mike, a member, can mark the primary contact') from changed;
with gone as (delete from crm_lead_contacts returning 1)
select is(count(*)::int, 1, 'Mike, a member, can unlink a contact') from gone;
set local request.jwt.claims = :'wanda';
with gone as (delete from crm_contacts where id = 'aaaa0000-0000-4000-8000-0000000c0001' returning 1)
select is(count(*)::int, 1, 'Wanda, an admin, can delete a contact Mike created') from gone;

-- crm_lead_notes -------------------------------------------------------------------------------
set local request.jwt.claims = :'mike';
select lives_ok(format('insert into crm_lead_notes (id, lead_id, user_id, body) values (%L, %L, %L, %L)', 'aaaa0000-0000-4000-8000-0000000e0001', :'margaret', :'mike_id', 'Called, left a message.'),
  'Mike, a member, can add a note as himself');
select throws_ok(format('insert into crm_lead_notes (lead_id, user_id, body) values (%L, %L, %L)', :'margaret', :'alice_id', 'Forged'),
  '42501', null, 'Mike cannot write a note in Alice''s name');
with changed as (update crm_lead_notes set body = 'Called twice.' where id = 'aaaa0000-0000-4000-8000-0000000e0001' returning 1)
select is(count(*)::int, 1, 'Mike can edit his own note') from changed;
with changed as (update crm_lead_notes set body = 'Edited by Mike' where user_id = :'alice_id' returning 1)
select is(count(*)::int, 0, 'Mike cannot edit Alice''s notes') from changed;
with gone as (delete from crm_lead_notes where user_id = :'alice_id' returning 1)
select is(count(*)::int, 0, 'Mike cannot delete Alice''s notes') from gone;
set local request.jwt.claims = :'vera';
select is((select count(*)::int from crm_lead_notes), 3, 'Vera, a viewer, reads every note of the workspace');
select throws_ok(format('insert into crm_lead_notes (lead_id, user_id, body) values (%L, %L, %L)', :'margaret', :'vera_id', 'Viewer note'),
  '42501', null, 'Vera, a viewer, cannot add notes');
set local request.jwt.claims = :'bob';
select is((select count(*)::int from crm_lead_notes where lead_id = :'margaret'), 0, 'Bob cannot read notes on Alice Realty''s leads');
select throws_ok(format('insert into crm_lead_notes (lead_id, user_id, body) values (%L, %L, %L)', :'margaret', :'bob_id', 'Outsider'),
  '42501', null, 'Bob cannot add notes to Alice Realty''s leads');
set local request.jwt.claims = :'wanda';
with gone as (delete from crm_lead_notes where user_id = :'alice_id' and lead_id = :'margaret' returning 1)
select is(count(*)::int, 1, 'Wanda, an admin, can delete Alice''s note') from gone;
set local request.jwt.claims = :'mike';
with gone as (delete from crm_lead_notes where id = 'aaaa0000-0000-4000-8000-0000000e0001' returning 1)
select is(count(*)::int, 1, 'Mike can delete his own note') from gone;

-- crm_lead_scoring_rules -----------------------------------------------------------------------
set local request.jwt.claims = :'vera';
select is((select count(*)::int from crm_lead_scoring_rules), 6, 'Vera, a viewer, reads the workspace''s six scoring rules');
set local request.jwt.claims = :'mike';
select throws_ok(format('insert into crm_lead_scoring_rules (workspace_id, rule_key, rule_group, condition, points) values (%L, %L, %L, %L, 5)', :'alice_ws', 'mike_rule', 'fit', '{"field": "company", "op": "exists"}'),
  '42501', null, 'Mike, a member, cannot add a scoring rule');
with changed as (update crm_lead_scoring_rules set points = 50 where workspace_id = :'alice_ws' returning 1)
select is(count(*)::int, 0, 'Mike, a member, cannot change scoring rules') from changed;
with gone as (delete from crm_lead_scoring_rules where workspace_id = :'alice_ws' returning 1)
select is(count(*)::int, 0, 'Mike, a member, cannot delete scoring rules') from gone;
set local request.jwt.claims = :'bob';
select is((select count(*)::int from crm_lead_scoring_rules where workspace_id = :'alice_ws'), 0, 'Bob cannot read Alice Realty''s scoring rules');
with changed as (update crm_lead_scoring_rules set points = 50 where workspace_id = :'alice_ws' returning 1)
select is(count(*)::int, 0, 'Bob cannot change Alice Realty''s scoring rules') from changed;
set local request.jwt.claims = :'wanda';
select lives_ok(format('insert into crm_lead_scoring_rules (workspace_id, rule_key, rule_group, condition, points) values (%L, %L, %L, %L, 5)', :'alice_ws', 'fit_company', 'fit', '{"field": "company", "op": "exists"}'),
  'Wanda, an admin, can add a scoring rule');
select throws_ok(format('insert into crm_lead_scoring_rules (workspace_id, rule_key, rule_group, condition, points) values (%L, %L, %L, %L, 101)', :'alice_ws', 'too_much', 'fit', '{"field": "company", "op": "exists"}'),
  '23514', null, 'A scoring rule cannot be worth more than 100 points');
select throws_ok(format('insert into crm_lead_scoring_rules (workspace_id, rule_key, rule_group, condition, points) values (%L, %L, %L, %L, 5)', :'alice_ws', 'fit_company', 'fit', '{"field": "company", "op": "exists"}'),
  '23505', null, 'A workspace cannot have two rules with the same key');
with changed as (update crm_lead_scoring_rules set points = 8 where rule_key = 'fit_company' returning 1)
select is(count(*)::int, 1, 'Wanda, an admin, can change a scoring rule') from changed;
set local request.jwt.claims = :'alice';
with gone as (delete from crm_lead_scoring_rules where rule_key = 'fit_company' returning 1)
select is(count(*)::int, 1, 'Alice, the owner, can delete a scoring rule') from gone;
set local role maintenance;
set local request.jwt.claims = :'maint';
select is((select count(*)::int from crm_lead_scoring_rules), 10, 'The maintenance job reads every workspace''s scoring rules');
select is((select count(*)::int from crm_lead_scoring_settings), 2, 'The maintenance job reads every workspace''s scoring settings');

-- crm_lead_scoring_settings --------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'vera';
select is((select engagement_half_life_days from crm_lead_scoring_settings), 14, 'Vera, a viewer, reads the workspace''s half-life');
set local request.jwt.claims = :'mike';
with changed as (update crm_lead_scoring_settings set engagement_half_life_days = 3 returning 1)
select is(count(*)::int, 0, 'Mike, a member, cannot change the half-life') from changed;
set local request.jwt.claims = :'wanda';
select lives_ok(format('insert into crm_lead_scoring_settings as s (workspace_id, engagement_half_life_days) values (%L, 21) on conflict (workspace_id) do update set workspace_id = excluded.workspace_id, engagement_half_life_days = excluded.engagement_half_life_days', :'alice_ws'),
  'Wanda, an admin, can upsert the half-life as PostgREST sends it');
select is((select engagement_half_life_days from crm_lead_scoring_settings), 21, 'The half-life is now 21 days');
select throws_ok(format('insert into crm_lead_scoring_settings (workspace_id, engagement_half_life_days) values (%L, 5) on conflict (workspace_id) do update set engagement_half_life_days = 5', :'bob_ws'),
  '42501', null, 'Wanda cannot change Bob Homes'' half-life');
set local request.jwt.claims = :'bob';
select is((select count(*)::int from crm_lead_scoring_settings where workspace_id = :'alice_ws'), 0, 'Bob cannot read Alice Realty''s settings');
with gone as (delete from crm_lead_scoring_settings where workspace_id = :'alice_ws' returning 1)
select is(count(*)::int, 0, 'Bob cannot delete Alice Realty''s settings') from gone;
set local request.jwt.claims = :'alice';
with gone as (delete from crm_lead_scoring_settings where workspace_id = :'alice_ws' returning 1)
select is(count(*)::int, 1, 'Alice, the owner, can delete the settings (back to engine defaults)') from gone;

select * from finish();
rollback;
