-- workspaces, workspace_members, workspace_invitations: members see their workspace and its
-- roster; admins manage members and invitations below admin, only owners grant admin; nobody
-- adds an owner, changes their own role or removes the owner; outsiders see nothing.
\ir support/people.psql
begin;
select * from no_plan();
select tests.create_cast();
select tests.create_user('cccc0000-0000-4000-8000-000000000007', 'nina@example.com', 'Nina New');
select tests.create_user('cccc0000-0000-4000-8000-000000000008', 'otto@example.com', 'Otto Other');
\set nina_id 'cccc0000-0000-4000-8000-000000000007'
\set otto_id 'cccc0000-0000-4000-8000-000000000008'
\set nina '{"sub": "cccc0000-0000-4000-8000-000000000007", "role": "authenticated", "email": "nina@example.com"}'
\set otto '{"sub": "cccc0000-0000-4000-8000-000000000008", "role": "authenticated", "email": "otto@example.com"}'

-- workspaces -----------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims = :'alice';
select is((select name from workspaces), 'Alice Realty', 'Alice sees her own workspace and no other');
set local request.jwt.claims = :'vera';
select is((select name from workspaces), 'Alice Realty', 'Vera, a viewer, sees the workspace she belongs to');
set local request.jwt.claims = :'bob';
select is((select count(*)::int from workspaces where id = :'alice_ws'), 0, 'Bob cannot see Alice Realty');
set local request.jwt.claims = :'pat';
select is((select count(*)::int from workspaces), 2, 'Pat, a platform admin, sees every workspace');

set local request.jwt.claims = :'alice';
select lives_ok(format('insert into workspaces (id, name, owner_id) values (%L, %L, %L)',
  'a11ce000-0000-4000-8000-0000000000ab', 'Alice Side Project', :'alice_id'), 'Alice can create a workspace she owns');
select is((select role::text from workspace_members where workspace_id = 'a11ce000-0000-4000-8000-0000000000ab'),
  'owner', 'Alice becomes the owner member of the workspace she created');
select throws_ok(format('insert into workspaces (name, owner_id) values (%L, %L)', 'Bob''s?', :'bob_id'),
  '42501', null, 'Alice cannot create a workspace in Bob''s name');
select throws_ok(format('update workspaces set owner_id = %L where id = %L', :'bob_id', :'alice_ws'),
  '42501', null, 'Alice cannot hand her workspace to someone by editing owner_id');

set local request.jwt.claims = :'wanda';
with changed as (update workspaces set name = 'Alice Realty Group' where id = :'alice_ws' returning 1)
select is(count(*)::int, 1, 'Wanda, an admin, can rename the workspace') from changed;
set local request.jwt.claims = :'mike';
with changed as (update workspaces set name = 'Mike''s now' where id = :'alice_ws' returning 1)
select is(count(*)::int, 0, 'Mike, a member, cannot rename the workspace') from changed;
set local request.jwt.claims = :'bob';
with changed as (update workspaces set name = 'Bob''s now' where id = :'alice_ws' returning 1)
select is(count(*)::int, 0, 'Bob cannot rename Alice''s workspace') from changed;

set local request.jwt.claims = :'wanda';
with gone as (delete from workspaces where id = :'alice_ws' returning 1)
select is(count(*)::int, 0, 'Wanda, an admin, cannot delete the workspace') from gone;
set local request.jwt.claims = :'alice';
with gone as (delete from workspaces where id = :'alice_ws' returning 1)
select is(count(*)::int, 0, 'Alice cannot delete her personal workspace') from gone;
with gone as (delete from workspaces where id = 'a11ce000-0000-4000-8000-0000000000ab' returning 1)
select is(count(*)::int, 1, 'Alice can delete a shared workspace she owns') from gone;

-- workspace_members ----------------------------------------------------------------------------
set local request.jwt.claims = :'mike';
select is((select count(*)::int from workspace_members where workspace_id = :'alice_ws'), 4,
  'Mike, a member, sees all four people in Alice Realty');
set local request.jwt.claims = :'bob';
select is((select count(*)::int from workspace_members where workspace_id = :'alice_ws'), 0,
  'Bob sees nobody in Alice Realty');
select is((select count(*)::int from workspace_members), 1, 'Bob sees only his own membership');

set local request.jwt.claims = :'wanda';
select lives_ok(format('insert into workspace_members (workspace_id, user_id, role) values (%L, %L, %L)', :'alice_ws', :'nina_id', 'member'),
  'Wanda, an admin, can add Nina as a member');
select throws_ok(format('insert into workspace_members (workspace_id, user_id, role) values (%L, %L, %L)', :'alice_ws', :'otto_id', 'admin'),
  '42501', null, 'Wanda, an admin, cannot add another admin');
set local request.jwt.claims = :'mike';
select throws_ok(format('insert into workspace_members (workspace_id, user_id, role) values (%L, %L, %L)', :'alice_ws', :'otto_id', 'viewer'),
  '42501', null, 'Mike, a member, cannot add anyone');
set local request.jwt.claims = :'bob';
select throws_ok(format('insert into workspace_members (workspace_id, user_id, role) values (%L, %L, %L)', :'alice_ws', :'bob_id', 'admin'),
  '42501', null, 'Bob cannot add himself to Alice Realty');
set local request.jwt.claims = :'alice';
select throws_ok(format('insert into workspace_members (workspace_id, user_id, role) values (%L, %L, %L)', :'alice_ws', :'otto_id', 'owner'),
  '42501', null, 'Alice cannot add a second owner');
select lives_ok(format('insert into workspace_members (workspace_id, user_id, role) values (%L, %L, %L)', :'alice_ws', :'otto_id', 'admin'),
  'Alice, the owner, can add Otto as an admin');

set local request.jwt.claims = :'wanda';
with changed as (update workspace_members set role = 'viewer' where workspace_id = :'alice_ws' and user_id = :'mike_id' returning 1)
select is(count(*)::int, 1, 'Wanda, an admin, can make Mike a viewer') from changed;
select throws_ok(format('update workspace_members set role = %L where workspace_id = %L and user_id = %L', 'admin', :'alice_ws', :'mike_id'),
  '42501', null, 'Wanda, an admin, cannot promote Mike to admin');
with changed as (update workspace_members set role = 'owner' where workspace_id = :'alice_ws' and user_id = :'wanda_id' returning 1)
select is(count(*)::int, 0, 'Wanda cannot change her own role') from changed;
with changed as (update workspace_members set role = 'viewer' where workspace_id = :'alice_ws' and user_id = :'alice_id' returning 1)
select is(count(*)::int, 0, 'Wanda cannot demote the owner') from changed;
with changed as (update workspace_members set role = 'viewer' where workspace_id = :'alice_ws' and user_id = :'otto_id' returning 1)
select is(count(*)::int, 0, 'Wanda cannot demote another admin') from changed;
set local request.jwt.claims = :'alice';
with changed as (update workspace_members set role = 'admin' where workspace_id = :'alice_ws' and user_id = :'mike_id' returning 1)
select is(count(*)::int, 1, 'Alice, the owner, can promote Mike to admin') from changed;
with changed as (update workspace_members set role = 'viewer' where workspace_id = :'alice_ws' and user_id = :'alice_id' returning 1)
select is(count(*)::int, 0, 'Alice cannot change her own owner role') from changed;
select throws_ok(format('update workspace_members set role = %L where workspace_id = %L and user_id = %L', 'owner', :'alice_ws', :'mike_id'),
  '42501', null, 'Alice cannot make Mike a second owner');
set local request.jwt.claims = :'bob';
with changed as (update workspace_members set role = 'viewer' where workspace_id = :'alice_ws' returning 1)
select is(count(*)::int, 0, 'Bob cannot change anyone''s role in Alice Realty') from changed;

with gone as (delete from workspace_members where workspace_id = :'alice_ws' returning 1)
select is(count(*)::int, 0, 'Bob cannot remove anyone from Alice Realty') from gone;
set local request.jwt.claims = :'vera';
with gone as (delete from workspace_members where workspace_id = :'alice_ws' and user_id = :'nina_id' returning 1)
select is(count(*)::int, 0, 'Vera, a viewer, cannot remove Nina') from gone;
with gone as (delete from workspace_members where workspace_id = :'alice_ws' and user_id = :'vera_id' returning 1)
select is(count(*)::int, 1, 'Vera can leave the workspace') from gone;
set local request.jwt.claims = :'wanda';
with gone as (delete from workspace_members where workspace_id = :'alice_ws' and user_id = :'nina_id' returning 1)
select is(count(*)::int, 1, 'Wanda, an admin, can remove Nina, a member') from gone;
with gone as (delete from workspace_members where workspace_id = :'alice_ws' and user_id = :'otto_id' returning 1)
select is(count(*)::int, 0, 'Wanda, an admin, cannot remove Otto, another admin') from gone;
set local request.jwt.claims = :'alice';
with gone as (delete from workspace_members where workspace_id = :'alice_ws' and user_id = :'alice_id' returning 1)
select is(count(*)::int, 0, 'Alice, the owner, cannot leave her workspace') from gone;
with gone as (delete from workspace_members where workspace_id = :'alice_ws' and user_id = :'otto_id' returning 1)
select is(count(*)::int, 1, 'Alice, the owner, can remove Otto, an admin') from gone;

-- workspace_invitations ------------------------------------------------------------------------
set local request.jwt.claims = :'wanda';
select lives_ok(format('insert into workspace_invitations (workspace_id, email, role, invited_by) values (%L, %L, %L, %L)', :'alice_ws', 'nina@example.com', 'member', :'wanda_id'),
  'Wanda, an admin, can invite Nina as a member');
select throws_ok(format('insert into workspace_invitations (workspace_id, email, role, invited_by) values (%L, %L, %L, %L)', :'alice_ws', 'zed@example.com', 'admin', :'wanda_id'),
  '42501', null, 'Wanda, an admin, cannot invite an admin');
select throws_ok(format('insert into workspace_invitations (workspace_id, email, role, invited_by) values (%L, %L, %L, %L)', :'alice_ws', 'zed@example.com', 'member', :'alice_id'),
  '42501', null, 'Wanda cannot send an invitation in Alice''s name');
set local request.jwt.claims = :'alice';
select lives_ok(format('insert into workspace_invitations (workspace_id, email, role, invited_by) values (%L, %L, %L, %L)', :'alice_ws', 'otto@example.com', 'admin', :'alice_id'),
  'Alice, the owner, can invite Otto as an admin');
select throws_ok(format('insert into workspace_invitations (workspace_id, email, role, invited_by) values (%L, %L, %L, %L)', :'alice_ws', 'zed@example.com', 'owner', :'alice_id'),
  '42501', null, 'Nobody can be invited as an owner');
set local request.jwt.claims = :'vera';
select throws_ok(format('insert into workspace_invitations (workspace_id, email, role, invited_by) values (%L, %L, %L, %L)', :'alice_ws', 'zed@example.com', 'viewer', :'vera_id'),
  '42501', null, 'Vera, no longer a member, cannot invite anyone');
set local request.jwt.claims = :'bob';
select throws_ok(format('insert into workspace_invitations (workspace_id, email, role, invited_by) values (%L, %L, %L, %L)', :'alice_ws', 'zed@example.com', 'viewer', :'bob_id'),
  '42501', null, 'Bob cannot invite people into Alice Realty');
select is((select count(*)::int from workspace_invitations), 0, 'Bob sees none of Alice Realty''s invitations');
set local request.jwt.claims = :'nina';
select is((select count(*)::int from workspace_invitations), 1, 'Nina sees the invitation addressed to her, and only that');
set local request.jwt.claims = :'wanda';
select is((select count(*)::int from workspace_invitations), 2, 'Wanda, an admin, sees the workspace''s invitations');

set local request.jwt.claims = :'bob';
with changed as (update workspace_invitations set status = 'revoked' where workspace_id = :'alice_ws' returning 1)
select is(count(*)::int, 0, 'Bob cannot revoke Alice Realty''s invitations') from changed;
with gone as (delete from workspace_invitations where workspace_id = :'alice_ws' returning 1)
select is(count(*)::int, 0, 'Bob cannot delete Alice Realty''s invitations') from gone;

-- accept_workspace_invitation
reset role;
select token as nina_token from workspace_invitations where email = 'nina@example.com' \gset
select token as otto_token from workspace_invitations where email = 'otto@example.com' \gset
set local role authenticated;
set local request.jwt.claims = :'otto';
select throws_ok(format('select accept_workspace_invitation(%L)', :'nina_token'),
  '22023', null, 'Otto cannot accept the invitation sent to Nina');
set local request.jwt.claims = :'nina';
select is((select (accept_workspace_invitation(:'nina_token')).role::text), 'member',
  'Nina accepts her invitation and joins as a member');
select is((select count(*)::int from workspace_members where workspace_id = :'alice_ws' and user_id = :'nina_id'), 1,
  'Nina is now in Alice Realty''s roster');
select throws_ok(format('select accept_workspace_invitation(%L)', :'nina_token'),
  '22023', null, 'Nina cannot accept the same invitation twice');
reset role;
update workspace_invitations set expires_at = now() - interval '1 minute' where email = 'otto@example.com';
set local role authenticated;
set local request.jwt.claims = :'otto';
select throws_ok(format('select accept_workspace_invitation(%L)', :'otto_token'),
  '22023', null, 'Otto cannot accept his invitation once it has expired');

set local request.jwt.claims = :'wanda';
with changed as (update workspace_invitations set status = 'revoked' where email = 'otto@example.com' returning 1)
select is(count(*)::int, 0, 'Wanda, an admin, cannot revoke the admin invitation Alice sent to Otto') from changed;
set local request.jwt.claims = :'alice';
with changed as (update workspace_invitations set status = 'revoked' where email = 'otto@example.com' returning 1)
select is(count(*)::int, 1, 'Alice, the owner, can revoke it') from changed;
with gone as (delete from workspace_invitations where email = 'otto@example.com' returning 1)
select is(count(*)::int, 1, 'Alice can delete an invitation') from gone;

select * from finish();
rollback;
