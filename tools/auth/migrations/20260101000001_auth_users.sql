-- Local Auth 1: auth.users shaped like Supabase Auth's (GoTrue's) own table.
--
-- The local Auth server (tools/auth) reads and writes these columns under the names and types
-- GoTrue gives them. Applied before sql/: on a fresh database it creates the whole table; on one
-- where sql/migrations/0001 already made its minimal stand-in (id, aud, role, email, metadata,
-- is_anonymous, timestamps) it adds only the columns that are missing, so existing rows stay.
-- On a hosted Supabase project the platform owns auth.*: this folder is never applied there.
-- Re-runnable: every step checks what exists first.

do $$
begin
  if not exists (select 1 from pg_namespace where nspname = 'auth') then
    create schema auth;
  end if;
end
$$;

-- The defaults on aud, role, the metadata and the timestamps are the minimal stand-in's, so rows
-- inserted by hand (tests, seed) look the same whichever migration created the table first.
create table if not exists auth.users (
  instance_id uuid,
  id uuid primary key,
  aud varchar(255) default 'authenticated',
  role varchar(255) default 'authenticated',
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  invited_at timestamptz,
  confirmation_token varchar(255),
  confirmation_sent_at timestamptz,
  recovery_token varchar(255),
  recovery_sent_at timestamptz,
  email_change_token_new varchar(255),
  email_change varchar(255),
  email_change_sent_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb default '{}'::jsonb,
  raw_user_meta_data jsonb default '{}'::jsonb,
  is_super_admin boolean,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  phone text unique default null,
  phone_confirmed_at timestamptz,
  phone_change text default '',
  phone_change_token varchar(255) default '',
  phone_change_sent_at timestamptz,
  confirmed_at timestamptz generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
  email_change_token_current varchar(255) default '',
  email_change_confirm_status smallint default 0
    check (email_change_confirm_status >= 0 and email_change_confirm_status <= 2),
  banned_until timestamptz,
  reauthentication_token varchar(255) default '',
  reauthentication_sent_at timestamptz,
  is_sso_user boolean not null default false,
  deleted_at timestamptz,
  is_anonymous boolean not null default false
);

-- The minimal stand-in of sql/migrations/0001 lacks most of GoTrue's columns: add each one that
-- is missing, with GoTrue's type and default.
do $$
declare
  missing record;
begin
  for missing in
    select * from (values
      ('instance_id', 'uuid'),
      ('encrypted_password', 'varchar(255)'),
      ('email_confirmed_at', 'timestamptz'),
      ('invited_at', 'timestamptz'),
      ('confirmation_token', 'varchar(255)'),
      ('confirmation_sent_at', 'timestamptz'),
      ('recovery_token', 'varchar(255)'),
      ('recovery_sent_at', 'timestamptz'),
      ('email_change_token_new', 'varchar(255)'),
      ('email_change', 'varchar(255)'),
      ('email_change_sent_at', 'timestamptz'),
      ('last_sign_in_at', 'timestamptz'),
      ('is_super_admin', 'boolean'),
      ('phone', 'text unique default null'),
      ('phone_confirmed_at', 'timestamptz'),
      ('phone_change', 'text default '''''),
      ('phone_change_token', 'varchar(255) default '''''),
      ('phone_change_sent_at', 'timestamptz'),
      ('confirmed_at', 'timestamptz generated always as (least(email_confirmed_at, phone_confirmed_at)) stored'),
      ('email_change_token_current', 'varchar(255) default '''''),
      ('email_change_confirm_status', 'smallint default 0 check (email_change_confirm_status >= 0 and email_change_confirm_status <= 2)'),
      ('banned_until', 'timestamptz'),
      ('reauthentication_token', 'varchar(255) default '''''),
      ('reauthentication_sent_at', 'timestamptz'),
      ('is_sso_user', 'boolean not null default false'),
      ('deleted_at', 'timestamptz'),
      ('is_anonymous', 'boolean not null default false')
    ) as wanted(name, definition)
    where not exists (
      select 1 from information_schema.columns c
      where c.table_schema = 'auth' and c.table_name = 'users' and c.column_name = wanted.name
    )
  loop
    execute format('alter table auth.users add column %I %s', missing.name, missing.definition);
  end loop;
end
$$;

-- GoTrue stores addresses lower-cased and keeps them unique among non-SSO users with a unique
-- index (users_email_partial_key). Here the index is not unique: sql/'s tests insert users by
-- hand, including two with one address (an impostor's token), as the minimal stand-in allows.
-- The Auth server itself never creates a second user with an address: it serializes every check
-- on an address with a transaction-scoped advisory lock (tools/auth/src/store.rs, lock_email).
create index if not exists users_email_partial_idx on auth.users (email) where (is_sso_user = false);
create index if not exists users_instance_id_email_idx on auth.users (instance_id, lower((email)::text));
create index if not exists users_instance_id_idx on auth.users (instance_id);
create index if not exists users_is_anonymous_idx on auth.users (is_anonymous);
-- One-time tokens are looked up by their hash; an empty or all-digit value is no token.
create unique index if not exists confirmation_token_idx on auth.users (confirmation_token)
  where confirmation_token !~ '^[0-9 ]*$';
create unique index if not exists recovery_token_idx on auth.users (recovery_token)
  where recovery_token !~ '^[0-9 ]*$';
create unique index if not exists email_change_token_current_idx on auth.users (email_change_token_current)
  where email_change_token_current !~ '^[0-9 ]*$';
create unique index if not exists email_change_token_new_idx on auth.users (email_change_token_new)
  where email_change_token_new !~ '^[0-9 ]*$';

-- Only the Auth server (the table owner) reads or writes users: no API role is granted anything,
-- and row level security stays on so a later grant alone would still show nothing.
alter table auth.users enable row level security;
revoke all on auth.users from public;
