-- Invitations are one-way: accepted, revoked and expired are final; admins
-- only revoke pending invitations or bring their expiry forward; only owners touch admin-role
-- invitations; a used or revoked invitation keeps no token. The attack this file exists for: an
-- admin reopens their own accepted invitation, is removed, and lets themselves back in.
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

-- the attack: a removed admin lets herself back in ------------------------------------------
-- Nina was invited as an admin: as an admin (not the owner) she may not touch admin-role
-- invitations at all.
set local role authenticated;
set local request.jwt.claims = :'alice';
insert into workspace_invitations (workspace_id, email, role, invited_by) values (:'alice_ws', 'nina@example.com', 'admin', :'alice_id');
reset role;
select token as nina_token, id as nina_invitation from workspace_invitations where email = 'nina@example.com' \gset
set local role authenticated;
set local request.jwt.claims = :'nina';
select is((select (accept_workspace_invitation(:'nina_token')).role::text), 'admin', 'Nina accepts Alice''s invitation and becomes an admin');
reset role;
select is((select token from workspace_invitations where id = :'nina_invitation'), null, 'Accepting an invitation clears its token');
set local role authenticated;
set local request.jwt.claims = :'nina';
with changed as (
  update workspace_invitations set status = 'pending', expires_at = '2099-01-01' where id = :'nina_invitation' returning 1
) select is(count(*)::int, 0, 'Nina, an admin, cannot set her accepted admin invitation back to pending with a far expiry') from changed;
reset role;
select is((select (status::text, token) from workspace_invitations where id = :'nina_invitation'), ('accepted'::text, null::text),
  'Nina''s invitation stays accepted, with no token');
set local role authenticated;
set local request.jwt.claims = :'alice';
with gone as (delete from workspace_members where workspace_id = :'alice_ws' and user_id = :'nina_id' returning 1)
select is(count(*)::int, 1, 'Alice removes Nina from Alice Realty') from gone;
set local request.jwt.claims = :'nina';
select throws_ok(format('select accept_workspace_invitation(%L)', :'nina_token'), '22023', null,
  'Removed, Nina cannot use her old invitation to come back');
select is((select count(*)::int from workspace_members where workspace_id = :'alice_ws' and user_id = :'nina_id'), 0,
  'Nina is not a member of Alice Realty');

-- Otto joined through a member invitation and was promoted to admin later: his invitation is one
-- an admin may update, so only its being final stops him.
set local request.jwt.claims = :'wanda';
insert into workspace_invitations (workspace_id, email, role, invited_by) values (:'alice_ws', 'otto@example.com', 'member', :'wanda_id');
reset role;
select token as otto_member_token, id as otto_member_invitation from workspace_invitations where email = 'otto@example.com' \gset
set local role authenticated;
set local request.jwt.claims = :'otto';
select is((select (accept_workspace_invitation(:'otto_member_token')).role::text), 'member', 'Otto joins as a member');
set local request.jwt.claims = :'alice';
update workspace_members set role = 'admin' where workspace_id = :'alice_ws' and user_id = :'otto_id';
set local request.jwt.claims = :'otto';
select throws_ok(format('update workspace_invitations set status = %L, expires_at = %L where id = %L', 'pending', '2099-01-01', :'otto_member_invitation'),
  '42501', null, 'Otto, now an admin, cannot set his accepted invitation back to pending with a far expiry');
select throws_ok(format('update workspace_invitations set status = %L where id = %L', 'pending', :'otto_member_invitation'),
  '42501', null, 'Otto cannot reopen it even without touching its expiry');
set local request.jwt.claims = :'alice';
delete from workspace_members where workspace_id = :'alice_ws' and user_id = :'otto_id';
set local request.jwt.claims = :'otto';
select throws_ok(format('select accept_workspace_invitation(%L)', :'otto_member_token'), '22023', null,
  'Removed, Otto cannot come back with his old invitation');
reset role;
select is((select (status::text, token) from workspace_invitations where id = :'otto_member_invitation'), ('accepted'::text, null::text),
  'Otto''s invitation stays accepted, with no token');
delete from workspace_invitations where id = :'otto_member_invitation';

-- final states stay final, for everyone ----------------------------------------------------------
reset role;
insert into workspace_invitations (workspace_id, email, role, invited_by, status) values
  (:'alice_ws', 'revoked@example.com', 'member', :'wanda_id', 'revoked'),
  (:'alice_ws', 'lapsed@example.com', 'member', :'wanda_id', 'expired');
select is((select count(*)::int from workspace_invitations where email in ('revoked@example.com', 'lapsed@example.com') and token is null), 2,
  'An invitation stored revoked or expired holds no token');
set local role authenticated;
set local request.jwt.claims = :'alice';
select throws_ok($$update workspace_invitations set status = 'pending' where email = 'revoked@example.com'$$,
  '42501', null, 'Alice, the owner, cannot reopen a revoked invitation');
select throws_ok($$update workspace_invitations set status = 'pending' where email = 'lapsed@example.com'$$,
  '42501', null, 'Alice cannot reopen an expired invitation');
select throws_ok($$update workspace_invitations set expires_at = now() + interval '1 day' where email = 'revoked@example.com'$$,
  '42501', null, 'Alice cannot change the expiry of a revoked invitation');
set local role service_role;
set local request.jwt.claims = '{"role": "service_role"}';
select throws_ok($$update workspace_invitations set status = 'pending' where email = 'revoked@example.com'$$,
  '42501', null, 'Not even the service role reopens a revoked invitation');
select throws_ok(format('update workspace_invitations set status = %L where id = %L', 'revoked', :'nina_invitation'),
  '42501', null, 'An accepted invitation cannot be turned into a revoked one');

-- what admins may still do with pending invitations -----------------------------------------
set local role authenticated;
set local request.jwt.claims = :'wanda';
insert into workspace_invitations (workspace_id, email, role, invited_by) values (:'alice_ws', 'zoe@example.com', 'member', :'wanda_id');
reset role;
select expires_at as zoe_expiry, id as zoe_invitation from workspace_invitations where email = 'zoe@example.com' \gset
set local role authenticated;
set local request.jwt.claims = :'wanda';
select throws_ok(format('update workspace_invitations set expires_at = %L::timestamptz + interval %L where id = %L', :'zoe_expiry', '1 day', :'zoe_invitation'),
  '42501', null, 'Wanda, an admin, cannot extend a pending invitation');
with changed as (update workspace_invitations set expires_at = now() + interval '1 day' where id = :'zoe_invitation' returning 1)
select is(count(*)::int, 1, 'Wanda can bring a pending invitation''s expiry forward') from changed;
select throws_ok(format('update workspace_invitations set status = %L where id = %L', 'accepted', :'zoe_invitation'),
  '42501', null, 'Wanda cannot mark an invitation accepted on the invitee''s behalf');
select throws_ok(format('update workspace_invitations set status = %L where id = %L', 'expired', :'zoe_invitation'),
  '42501', null, 'Wanda cannot set an invitation to expired; she revokes it');
with changed as (update workspace_invitations set status = 'revoked' where id = :'zoe_invitation' returning 1)
select is(count(*)::int, 1, 'Wanda can revoke a pending member invitation') from changed;
reset role;
select is((select token from workspace_invitations where id = :'zoe_invitation'), null, 'Revoking an invitation clears its token');

-- invitations are short-lived, and nobody invites themselves --------------------------------------
set local role authenticated;
set local request.jwt.claims = :'wanda';
select throws_ok(format('insert into workspace_invitations (workspace_id, email, role, invited_by, expires_at) values (%L, %L, %L, %L, now() + interval %L)',
  :'alice_ws', 'later@example.com', 'member', :'wanda_id', '1 year'),
  '22023', null, 'Wanda cannot send an invitation that stays open for a year');
select lives_ok(format('insert into workspace_invitations (workspace_id, email, role, invited_by, expires_at) values (%L, %L, %L, %L, now() + interval %L)',
  :'alice_ws', 'month@example.com', 'member', :'wanda_id', '30 days'),
  'Wanda can send an invitation that stays open for thirty days');
select throws_ok(format('insert into workspace_invitations (workspace_id, email, role, invited_by) values (%L, %L, %L, %L)',
  :'alice_ws', 'WANDA@example.com', 'member', :'wanda_id'),
  '22023', null, 'Wanda cannot leave herself a spare invitation to come back with');

-- admin-role invitations belong to owners ------------------------------------------------------------
set local request.jwt.claims = :'alice';
insert into workspace_invitations (workspace_id, email, role, invited_by) values (:'alice_ws', 'otto@example.com', 'admin', :'alice_id');
reset role;
select id as otto_invitation, token as otto_token from workspace_invitations where email = 'otto@example.com' \gset
set local role authenticated;
set local request.jwt.claims = :'wanda';
with changed as (update workspace_invitations set status = 'revoked' where id = :'otto_invitation' returning 1)
select is(count(*)::int, 0, 'Wanda, an admin, cannot revoke the admin invitation Alice sent') from changed;
with changed as (update workspace_invitations set expires_at = now() where id = :'otto_invitation' returning 1)
select is(count(*)::int, 0, 'Wanda cannot shorten the admin invitation Alice sent') from changed;
with gone as (delete from workspace_invitations where id = :'otto_invitation' returning 1)
select is(count(*)::int, 0, 'Wanda cannot delete the admin invitation Alice sent') from gone;
select is((select count(*)::int from workspace_invitations where id = :'otto_invitation'), 1, 'Wanda still sees the admin invitation');
set local request.jwt.claims = :'otto';
select is((select (accept_workspace_invitation(:'otto_token')).role::text), 'admin', 'Otto accepts Alice''s admin invitation');
set local request.jwt.claims = :'wanda';
with changed as (
  update workspace_invitations set status = 'pending', expires_at = '2099-01-01' where id = :'otto_invitation' returning 1
) select is(count(*)::int, 0, 'Wanda cannot reopen Otto''s accepted admin invitation either') from changed;
set local request.jwt.claims = :'alice';
select throws_ok(format('update workspace_invitations set status = %L where id = %L', 'pending', :'otto_invitation'),
  '42501', null, 'Nor can Alice, the owner: an accepted invitation is final');
set local request.jwt.claims = :'alice';
with gone as (delete from workspace_invitations where id = :'otto_invitation' returning 1)
select is(count(*)::int, 1, 'Alice, the owner, can delete an admin invitation') from gone;

select * from finish();
rollback;
