-- Local Auth 2: auth.identities, one row per way a user signs in (email here), as GoTrue has it.
-- provider_id is the provider's id for the user (the user id itself for email); email is derived
-- from identity_data. Rows go with their user (on delete cascade), as on Supabase.

create table if not exists auth.identities (
  provider_id text not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  identity_data jsonb not null,
  provider text not null,
  last_sign_in_at timestamptz,
  created_at timestamptz,
  updated_at timestamptz,
  email text generated always as (lower(identity_data ->> 'email')) stored,
  id uuid not null default gen_random_uuid() primary key,
  constraint identities_provider_id_provider_unique unique (provider_id, provider)
);

create index if not exists identities_user_id_idx on auth.identities (user_id);
create index if not exists identities_email_idx on auth.identities (email text_pattern_ops);

alter table auth.identities enable row level security;
revoke all on auth.identities from public;
