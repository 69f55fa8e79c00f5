-- The schema keeps its promises: every table in an exposed schema has RLS and a policy, every
-- SECURITY DEFINER function pins its search_path, nothing in public is executable by PUBLIC,
-- and the roles PostgREST switches between have the attributes they need.
\ir support/people.psql
begin;
select * from no_plan();

-- RLS everywhere -----------------------------------------------------------------------------

select ok(
  c.relrowsecurity,
  format('Nobody reaches public.%I without row level security', c.relname)
)
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'public' and c.relkind in ('r', 'p')
order by c.relname;

select ok(
  exists (select 1 from pg_policy p where p.polrelid = c.oid),
  format('public.%I says in a policy who may use it', c.relname)
)
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'public' and c.relkind in ('r', 'p')
order by c.relname;

select is(
  (select count(*)::int from pg_class c join pg_namespace n on n.oid = c.relnamespace
   where n.nspname = 'public' and c.relkind in ('r', 'p')),
  43,
  'The schema has the 43 tables sql/README.md maps'
);

-- functions ----------------------------------------------------------------------------------

select ok(
  exists (select 1 from unnest(p.proconfig) setting where setting like 'search_path=%'),
  format('SECURITY DEFINER function public.%s pins its search_path', p.oid::regprocedure)
)
from pg_proc p
join pg_namespace n on n.oid = p.pronamespace
where n.nspname = 'public' and p.prosecdef
order by p.oid::regprocedure::text;

select ok(
  not has_function_privilege('public', p.oid, 'EXECUTE'),
  format('Not every role may run public.%s: EXECUTE is revoked from PUBLIC', p.oid::regprocedure)
)
from pg_proc p
join pg_namespace n on n.oid = p.pronamespace
where n.nspname = 'public'
order by p.oid::regprocedure::text;

select ok(
  not has_function_privilege('anon', p.oid, 'EXECUTE'),
  format('An anonymous visitor cannot run public.%s', p.oid::regprocedure)
)
from pg_proc p
join pg_namespace n on n.oid = p.pronamespace
where n.nspname = 'public'
order by p.oid::regprocedure::text;

select ok(
  exists (select 1 from unnest(p.proconfig) setting where setting like 'search_path=%'),
  format('Internal SECURITY DEFINER function %s pins its search_path', p.oid::regprocedure)
)
from pg_proc p
join pg_namespace n on n.oid = p.pronamespace
where n.nspname = 'private' and p.prosecdef
order by p.oid::regprocedure::text;

select ok(not has_schema_privilege(r, 'private', 'USAGE'), format('%s cannot reach the private schema', r))
from unnest(array['anon', 'authenticated', 'webhook_ingest', 'maintenance', 'rate_limiter']) r;

-- roles --------------------------------------------------------------------------------------

select ok((select rolbypassrls from pg_roles where rolname = 'service_role'),
  'The service role bypasses RLS');
select ok((select rolcanlogin and not rolinherit from pg_roles where rolname = 'authenticator'),
  'The authenticator logs in and inherits nothing');
select ok(
  (select bool_and(not rolcanlogin) from pg_roles
   where rolname in ('anon', 'authenticated', 'service_role', 'webhook_ingest', 'maintenance', 'rate_limiter')),
  'No API role can log in by itself');
select ok(
  (select bool_and(not rolbypassrls) from pg_roles
   where rolname in ('anon', 'authenticated', 'webhook_ingest', 'maintenance', 'rate_limiter')),
  'Only the service role bypasses RLS');
select ok(pg_has_role('authenticator', r, 'MEMBER'), format('The authenticator may switch to %s', r))
from unnest(array['anon', 'authenticated', 'service_role', 'webhook_ingest', 'maintenance', 'rate_limiter']) r;

-- auth shim ----------------------------------------------------------------------------------

set local request.jwt.claims = :'alice';
select is(auth.uid(), :'alice_id'::uuid, 'auth.uid() is the token''s sub');
select is(auth.role(), 'authenticated', 'auth.role() is the token''s role');
select is(auth.jwt() ->> 'email', 'alice@example.com', 'auth.jwt() is the token''s claims');
set local request.jwt.claims = '';
select is(auth.uid(), null, 'Without a token there is no auth.uid()');

select * from finish();
rollback;
