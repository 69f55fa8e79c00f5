-- re_*, deals, deal_events, assistant_jobs (seed 001): properties, documents and deals are their
-- owner's, platform admins read them; junctions and child rows follow their parent's owner;
-- lead documents follow the lead's workspace roles.
\ir support/people.psql
begin;
select * from no_plan();
select tests.create_cast();
\set margaret 'a11ce000-0000-4000-8000-00000000100a'
\set grace 'b0b00000-0000-4000-8000-00000000200a'
\set alice_home 'a11ce000-0000-4000-8000-0000000f0001'
\set bob_home 'b0b00000-0000-4000-8000-0000000f0002'
\set alice_deal 'a11ce000-0000-4000-8000-0000000d0001'
\set alice_doc 'a11ce000-0000-4000-8000-0000000d0c01'
insert into re_properties (id, user_id, address_line_1, city, state, zip) values
  (:'bob_home', :'bob_id', '9 Elm St', 'Dayton', 'OH', '45402');

-- re_properties --------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'alice';
select lives_ok(format('insert into re_properties (id, user_id, address_line_1, city, state, zip, bedrooms, purchase_price_cents) values (%L, %L, %L, %L, %L, %L, 3, 18500000)',
  :'alice_home', :'alice_id', '12 Oak Ave', 'Columbus', 'OH', '43004'), 'Alice can add a property');
select throws_ok(format('insert into re_properties (user_id, address_line_1, city, state, zip) values (%L, %L, %L, %L, %L)', :'bob_id', '1 Fake St', 'X', 'OH', '00000'),
  '42501', null, 'Alice cannot add a property in Bob''s name');
select throws_ok(format('insert into re_properties (user_id, address_line_1, city, state, zip, year_built) values (%L, %L, %L, %L, %L, 1700)', :'alice_id', '1 Old St', 'X', 'OH', '00000'),
  '23514', null, 'A property cannot have been built before 1800');
select is((select count(*)::int from re_properties), 1, 'Alice sees her own property and not Bob''s');
with changed as (update re_properties set notes = 'Roof leaks' where id = :'alice_home' returning 1)
select is(count(*)::int, 1, 'Alice can edit her property') from changed;
with changed as (update re_properties set notes = 'Mine now' where id = :'bob_home' returning 1)
select is(count(*)::int, 0, 'Alice cannot edit Bob''s property') from changed;
with gone as (delete from re_properties where id = :'bob_home' returning 1)
select is(count(*)::int, 0, 'Alice cannot delete Bob''s property') from gone;
set local request.jwt.claims = :'wanda';
select is((select count(*)::int from re_properties), 0, 'Wanda, Alice''s workspace admin, does not see Alice''s own properties');
set local request.jwt.claims = :'pat';
select is((select count(*)::int from re_properties), 2, 'Pat, a platform admin, reads every property');
with changed as (update re_properties set notes = 'admin was here' returning 1)
select is(count(*)::int, 0, 'Pat, a platform admin, cannot edit properties') from changed;

-- deals ----------------------------------------------------------------------------------------
set local request.jwt.claims = :'alice';
select lives_ok(format('insert into deals (id, user_id, lead_id, property_id, title, estimated_value_cents, probability) values (%L, %L, %L, %L, %L, 2500000, 60)',
  :'alice_deal', :'alice_id', :'margaret', :'alice_home', 'Holloway estate'), 'Alice can open a deal on her lead and property');
select throws_ok(format('insert into deals (user_id, property_id, title) values (%L, %L, %L)', :'alice_id', :'bob_home', 'Bob''s house'),
  '42501', null, 'Alice cannot open a deal on Bob''s property');
select throws_ok(format('insert into deals (user_id, lead_id, title) values (%L, %L, %L)', :'alice_id', :'grace', 'Bob''s lead'),
  '42501', null, 'Alice cannot open a deal on a lead of Bob''s workspace');
select throws_ok(format('insert into deals (user_id, property_id, title) values (%L, %L, %L)', :'alice_id', :'alice_home', 'Second active deal'),
  '23505', null, 'A property has at most one active deal');
select throws_ok(format('insert into deals (user_id, title, probability) values (%L, %L, 120)', :'alice_id', 'Sure thing'),
  '23514', null, 'A deal''s probability cannot exceed 100');
with changed as (update deals set stage = 'negotiation' where id = :'alice_deal' returning 1)
select is(count(*)::int, 1, 'Alice can move her deal on') from changed;
set local request.jwt.claims = :'bob';
select is((select count(*)::int from deals), 0, 'Bob cannot see Alice''s deal');
with changed as (update deals set stage = 'lost' where id = :'alice_deal' returning 1)
select is(count(*)::int, 0, 'Bob cannot edit Alice''s deal') from changed;
with gone as (delete from deals where id = :'alice_deal' returning 1)
select is(count(*)::int, 0, 'Bob cannot delete Alice''s deal') from gone;
set local request.jwt.claims = :'pat';
select is((select count(*)::int from deals), 1, 'Pat, a platform admin, reads every deal');

-- re_documents ---------------------------------------------------------------------------------
set local request.jwt.claims = :'alice';
select lives_ok(format('insert into re_documents (id, user_id, property_id, deal_id, title, type, file_url, file_size, uploaded_by) values (%L, %L, %L, %L, %L, %L, %L, 2048, %L)',
  :'alice_doc', :'alice_id', :'alice_home', :'alice_deal', 'Inspection report', 'inspection', 'https://files.example.com/i.pdf', :'alice_id'), 'Alice can file a document');
select throws_ok(format('insert into re_documents (user_id, title, type, file_url) values (%L, %L, %L, %L)', :'bob_id', 'x', 'other', 'https://x'),
  '42501', null, 'Alice cannot file a document in Bob''s name');
select throws_ok(format('insert into re_documents (user_id, title, type, file_url, file_size) values (%L, %L, %L, %L, 0)', :'alice_id', 'Empty', 'other', 'https://x'),
  '23514', null, 'A document cannot be zero bytes');
set local request.jwt.claims = :'bob';
select is((select count(*)::int from re_documents), 0, 'Bob cannot see Alice''s documents');
with changed as (update re_documents set title = 'x' returning 1)
select is(count(*)::int, 0, 'Bob cannot edit Alice''s documents') from changed;
with gone as (delete from re_documents returning 1)
select is(count(*)::int, 0, 'Bob cannot delete Alice''s documents') from gone;
set local request.jwt.claims = :'pat';
select is((select count(*)::int from re_documents), 1, 'Pat, a platform admin, reads every document');

-- re_property_documents ------------------------------------------------------------------------
set local request.jwt.claims = :'alice';
select lives_ok(format('insert into re_property_documents (property_id, document_id, is_primary) values (%L, %L, true)', :'alice_home', :'alice_doc'),
  'Alice can attach her document to her property');
select throws_ok(format('insert into re_property_documents (property_id, document_id) values (%L, %L)', :'bob_home', :'alice_doc'),
  '42501', null, 'Alice cannot attach a document to Bob''s property');
set local request.jwt.claims = :'bob';
select is((select count(*)::int from re_property_documents), 0, 'Bob cannot see Alice''s attachments');
with gone as (delete from re_property_documents returning 1)
select is(count(*)::int, 0, 'Bob cannot detach Alice''s documents') from gone;
set local request.jwt.claims = :'alice';
select is((select count(*)::int from re_property_documents), 1, 'Alice sees her attachment');

-- re_lead_documents ----------------------------------------------------------------------------
set local request.jwt.claims = :'mike';
select lives_ok(format('insert into re_lead_documents (id, lead_id, title, type, file_url) values (%L, %L, %L, %L, %L)',
  'aaaa0000-0000-4000-8000-0000000d0c02', :'margaret', 'Death certificate', 'death_cert', 'https://files.example.com/dc.pdf'),
  'Mike, a member, can file a document on a workspace lead');
set local request.jwt.claims = :'vera';
select is((select count(*)::int from re_lead_documents), 1, 'Vera, a viewer, sees the lead''s document');
select throws_ok(format('insert into re_lead_documents (lead_id, title, type, file_url) values (%L, %L, %L, %L)', :'margaret', 'W9', 'w9', 'https://x'),
  '42501', null, 'Vera, a viewer, cannot file lead documents');
with changed as (update re_lead_documents set title = 'x' returning 1)
select is(count(*)::int, 0, 'Vera, a viewer, cannot edit lead documents') from changed;
with gone as (delete from re_lead_documents returning 1)
select is(count(*)::int, 0, 'Vera, a viewer, cannot delete lead documents') from gone;
set local request.jwt.claims = :'bob';
select is((select count(*)::int from re_lead_documents), 0, 'Bob cannot see Alice Realty''s lead documents');
select throws_ok(format('insert into re_lead_documents (lead_id, title, type, file_url) values (%L, %L, %L, %L)', :'margaret', 'ID', 'id', 'https://x'),
  '42501', null, 'Bob cannot file documents on Alice Realty''s leads');
set local request.jwt.claims = :'mike';
with changed as (update re_lead_documents set title = 'Death certificate (certified)' returning 1)
select is(count(*)::int, 1, 'Mike, a member, can edit a lead document') from changed;
with gone as (delete from re_lead_documents returning 1)
select is(count(*)::int, 1, 'Mike, a member, can delete a lead document') from gone;

-- re_lead_properties ---------------------------------------------------------------------------
set local request.jwt.claims = :'alice';
select lives_ok(format('insert into re_lead_properties (lead_id, property_id) values (%L, %L)', :'margaret', :'alice_home'),
  'Alice can tie her property to her workspace''s lead');
select throws_ok(format('insert into re_lead_properties (lead_id, property_id) values (%L, %L)', :'grace', :'alice_home'),
  '42501', null, 'Alice cannot tie her property to a lead of Bob''s workspace');
set local request.jwt.claims = :'bob';
select throws_ok(format('insert into re_lead_properties (lead_id, property_id) values (%L, %L)', :'margaret', :'bob_home'),
  '42501', null, 'Bob cannot tie his property to Alice Realty''s lead');
select is((select count(*)::int from re_lead_properties), 0, 'Bob cannot see the link');
set local request.jwt.claims = :'vera';
select is((select count(*)::int from re_lead_properties), 1, 'Vera, a viewer of the lead''s workspace, sees the link');
with gone as (delete from re_lead_properties returning 1)
select is(count(*)::int, 0, 'Vera, a viewer, cannot remove the link') from gone;
set local request.jwt.claims = :'mike';
with changed as (update re_lead_properties set is_primary = true returning 1)
select is(count(*)::int, 0, 'Mike, a member who does not own the property, cannot edit the link') from changed;
set local request.jwt.claims = :'alice';
with changed as (update re_lead_properties set is_primary = true returning 1)
select is(count(*)::int, 1, 'Alice, the property''s owner, can edit the link') from changed;
set local request.jwt.claims = :'wanda';
with gone as (delete from re_lead_properties returning 1)
select is(count(*)::int, 1, 'Wanda, an admin of the lead''s workspace, can remove the link') from gone;

-- deal_events ----------------------------------------------------------------------------------
set local request.jwt.claims = :'alice';
select lives_ok(format('insert into deal_events (deal_id, event_type, description, created_by) values (%L, %L, %L, %L)', :'alice_deal', 'stage_changed', 'to negotiation', :'alice_id'),
  'Alice can record an event on her deal');
select throws_ok(format('insert into deal_events (deal_id, event_type, created_by) values (%L, %L, %L)', :'alice_deal', 'note_added', :'bob_id'),
  '42501', null, 'Alice cannot record an event in Bob''s name');
select throws_ok(format('update deal_events set description = %L', 'rewritten'), '42501', null, 'Alice cannot rewrite deal history');
select throws_ok('delete from deal_events', '42501', null, 'Alice cannot erase deal history');
set local request.jwt.claims = :'bob';
select throws_ok(format('insert into deal_events (deal_id, event_type, created_by) values (%L, %L, %L)', :'alice_deal', 'note_added', :'bob_id'),
  '42501', null, 'Bob cannot record events on Alice''s deal');
select is((select count(*)::int from deal_events), 0, 'Bob cannot see Alice''s deal events');
set local request.jwt.claims = :'alice';
select is((select count(*)::int from deal_events), 1, 'Alice sees her deal''s events');

-- assistant_jobs -------------------------------------------------------------------------------
select lives_ok(format('insert into assistant_jobs (id, deal_id, job_type, input_data) values (%L, %L, %L, %L)', 'a11ce000-0000-4000-8000-0000000a0b01', :'alice_deal', 'document_analysis', '{}'),
  'Alice can queue an assistant job on her deal');
select throws_ok(format('insert into assistant_jobs (deal_id, job_type, status) values (%L, %L, %L)', :'alice_deal', 'valuation', 'succeeded'),
  '42501', null, 'Alice cannot insert a job that claims to be finished');
select throws_ok(format('update assistant_jobs set status = %L', 'succeeded'), '42501', null,
  'Alice cannot mark her job as succeeded');
with changed as (update assistant_jobs set status = 'cancelled' returning 1)
select is(count(*)::int, 1, 'Alice can cancel her job') from changed;
select throws_ok(format('update assistant_jobs set output_data = %L', '{}'), '42501', null, 'Alice cannot write a job''s output');
set local request.jwt.claims = :'bob';
select is((select count(*)::int from assistant_jobs), 0, 'Bob cannot see Alice''s jobs');
select throws_ok(format('insert into assistant_jobs (deal_id, job_type) values (%L, %L)', :'alice_deal', 'valuation'),
  '42501', null, 'Bob cannot queue jobs on Alice''s deal');
with changed as (update assistant_jobs set status = 'cancelled' returning 1)
select is(count(*)::int, 0, 'Bob cannot cancel Alice''s jobs') from changed;
set local request.jwt.claims = :'pat';
select is((select count(*)::int from assistant_jobs), 1, 'Pat, a platform admin, reads every job');

-- cascades -------------------------------------------------------------------------------------
set local request.jwt.claims = :'alice';
with gone as (delete from deals where id = :'alice_deal' returning 1)
select is(count(*)::int, 1, 'Alice can delete her deal') from gone;
reset role;
select is((select count(*)::int from deal_events where deal_id = :'alice_deal'), 0, 'Deleting a deal removes its events');
select is((select count(*)::int from assistant_jobs where deal_id = :'alice_deal'), 0, 'Deleting a deal removes its jobs');
select is((select deal_id from re_documents where id = :'alice_doc'), null, 'Deleting a deal keeps its documents, unlinked');
set local role authenticated;
set local request.jwt.claims = :'alice';
with gone as (delete from re_properties where id = :'alice_home' returning 1)
select is(count(*)::int, 1, 'Alice can delete her property') from gone;
reset role;
select is((select count(*)::int from re_property_documents where property_id = :'alice_home'), 0, 'Deleting a property removes its attachments');

select * from finish();
rollback;
