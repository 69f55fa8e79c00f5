//! Every SQL statement of the service, against GoTrue's `auth.*` tables. Handlers call these
//! inside one transaction per request; nothing else in the crate writes SQL.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio_postgres::{Error, Transaction};
use uuid::Uuid;

use crate::model::{IdentityRow, UserRow, USER_COLUMNS};
use crate::secrets;

/// Tables and columns the service needs; checked when it starts.
pub const REQUIRED_COLUMNS: [(&str, &str); 12] = [
    ("users", "encrypted_password"),
    ("users", "email_confirmed_at"),
    ("users", "confirmation_token"),
    ("users", "recovery_token"),
    ("users", "email_change_token_new"),
    ("users", "banned_until"),
    ("users", "is_anonymous"),
    ("identities", "identity_data"),
    ("sessions", "aal"),
    ("refresh_tokens", "parent"),
    ("refresh_tokens", "session_id"),
    ("mfa_amr_claims", "authentication_method"),
];

/// The `auth.table.column` names from [`REQUIRED_COLUMNS`] that the database lacks.
pub async fn missing_schema(client: &tokio_postgres::Client) -> Result<Vec<String>, Error> {
    let mut missing = Vec::new();
    for (table, column) in REQUIRED_COLUMNS {
        let found = client
            .query_opt(
                "select 1 from information_schema.columns where table_schema = 'auth' and table_name = $1 and column_name = $2",
                &[&table, &column],
            )
            .await?;
        if found.is_none() {
            missing.push(format!("auth.{table}.{column}"));
        }
    }
    Ok(missing)
}

// users ------------------------------------------------------------------------------------------

pub async fn user_by_id(
    tx: &Transaction<'_>,
    id: Uuid,
    lock: bool,
) -> Result<Option<UserRow>, Error> {
    let sql = format!(
        "select {USER_COLUMNS} from auth.users where id = $1{}",
        if lock { " for update" } else { "" }
    );
    Ok(tx
        .query_opt(&sql, &[&id])
        .await?
        .map(|row| UserRow::from_row(&row)))
}

/// GoTrue's `FindUserByEmailAndAudience`: SSO users are not found by address.
pub async fn user_by_email(
    tx: &Transaction<'_>,
    email: &str,
    aud: &str,
) -> Result<Option<UserRow>, Error> {
    let sql = format!(
        "select {USER_COLUMNS} from auth.users where lower(email) = lower($1) and aud = $2 and is_sso_user = false \
         order by created_at limit 1"
    );
    Ok(tx
        .query_opt(&sql, &[&email, &aud])
        .await?
        .map(|row| UserRow::from_row(&row)))
}

/// Serializes, until the transaction ends, every request that checks or claims `email`, so two
/// sign-ups (or a sign-up and an email change) cannot both find an address free and take it.
pub async fn lock_email(tx: &Transaction<'_>, email: &str) -> Result<(), Error> {
    tx.execute(
        "select pg_advisory_xact_lock(hashtextextended(lower($1), 0))",
        &[&email],
    )
    .await?;
    Ok(())
}

/// Which stored one-time token a link or code is checked against.
#[derive(Clone, Copy)]
pub enum TokenKind {
    Confirmation,
    Recovery,
    EmailChange,
}

pub async fn user_by_token(
    tx: &Transaction<'_>,
    kind: TokenKind,
    hash: &str,
) -> Result<Option<UserRow>, Error> {
    let condition = match kind {
        TokenKind::Confirmation => "confirmation_token = $1",
        TokenKind::Recovery => "recovery_token = $1",
        TokenKind::EmailChange => {
            "(email_change_token_current = $1 or email_change_token_new = $1)"
        }
    };
    let sql =
        format!("select {USER_COLUMNS} from auth.users where {condition} and $1 <> '' for update");
    Ok(tx
        .query_opt(&sql, &[&hash])
        .await?
        .map(|row| UserRow::from_row(&row)))
}

pub async fn identities(tx: &Transaction<'_>, user_id: Uuid) -> Result<Vec<IdentityRow>, Error> {
    let rows = tx
        .query(
            "select id, provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at, email \
             from auth.identities where user_id = $1 order by created_at, id",
            &[&user_id],
        )
        .await?;
    Ok(rows.iter().map(IdentityRow::from_row).collect())
}

pub struct NewUser<'a> {
    pub id: Uuid,
    pub aud: &'a str,
    pub role: &'a str,
    pub email: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub app_metadata: Value,
    pub user_metadata: Value,
    pub is_anonymous: bool,
}

/// Inserts a user; `false` when the id or address is taken (a concurrent sign-up won).
pub async fn insert_user(tx: &Transaction<'_>, user: &NewUser<'_>) -> Result<bool, Error> {
    let inserted = tx
        .execute(
            "insert into auth.users (instance_id, id, aud, role, email, encrypted_password, raw_app_meta_data, \
               raw_user_meta_data, is_anonymous, created_at, updated_at, confirmation_token, recovery_token, \
               email_change_token_new, email_change) \
             values ('00000000-0000-0000-0000-000000000000', $1, $2, $3, $4, $5, $6, $7, $8, now(), now(), '', '', '', '') \
             on conflict do nothing",
            &[&user.id, &user.aud, &user.role, &user.email, &user.password_hash.unwrap_or(""), &user.app_metadata, &user.user_metadata, &user.is_anonymous],
        )
        .await?;
    Ok(inserted == 1)
}

pub async fn insert_identity(
    tx: &Transaction<'_>,
    user_id: Uuid,
    provider: &str,
    provider_id: &str,
    data: &Value,
) -> Result<(), Error> {
    tx.execute(
        "insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at) \
         values ($1, $2, $3, $4, now(), now(), now())",
        &[&provider_id, &user_id, data, &provider],
    )
    .await?;
    Ok(())
}

/// Sets keys of one identity's `identity_data` (GoTrue's `UpdateIdentityData`).
pub async fn update_identity_data(
    tx: &Transaction<'_>,
    user_id: Uuid,
    provider: &str,
    updates: &Value,
) -> Result<u64, Error> {
    tx.execute(
        "update auth.identities set identity_data = identity_data || $3, updated_at = now() where user_id = $1 and provider = $2",
        &[&user_id, &provider, updates],
    )
    .await
}

/// GoTrue's `User.Confirm`: confirmed now, token spent, `email_verified` in user_metadata.
pub async fn confirm_email(tx: &Transaction<'_>, user_id: Uuid) -> Result<(), Error> {
    tx.execute(
        "update auth.users set email_confirmed_at = now(), confirmation_token = '', updated_at = now(), \
           raw_user_meta_data = coalesce(raw_user_meta_data, '{}'::jsonb) || '{\"email_verified\": true}'::jsonb \
         where id = $1",
        &[&user_id],
    )
    .await?;
    Ok(())
}

pub async fn set_user_metadata(
    tx: &Transaction<'_>,
    user_id: Uuid,
    metadata: &Value,
) -> Result<(), Error> {
    tx.execute(
        "update auth.users set raw_user_meta_data = $2, updated_at = now() where id = $1",
        &[&user_id, metadata],
    )
    .await?;
    Ok(())
}

pub async fn set_app_metadata(
    tx: &Transaction<'_>,
    user_id: Uuid,
    metadata: &Value,
) -> Result<(), Error> {
    tx.execute(
        "update auth.users set raw_app_meta_data = $2, updated_at = now() where id = $1",
        &[&user_id, metadata],
    )
    .await?;
    Ok(())
}

pub async fn set_role(tx: &Transaction<'_>, user_id: Uuid, role: &str) -> Result<(), Error> {
    tx.execute(
        "update auth.users set role = $2, updated_at = now() where id = $1",
        &[&user_id, &role],
    )
    .await?;
    Ok(())
}

pub async fn set_email(tx: &Transaction<'_>, user_id: Uuid, email: &str) -> Result<(), Error> {
    tx.execute(
        "update auth.users set email = $2, updated_at = now() where id = $1",
        &[&user_id, &email],
    )
    .await?;
    Ok(())
}

pub async fn set_not_anonymous(tx: &Transaction<'_>, user_id: Uuid) -> Result<(), Error> {
    tx.execute(
        "update auth.users set is_anonymous = false, updated_at = now() where id = $1",
        &[&user_id],
    )
    .await?;
    Ok(())
}

pub async fn set_banned_until(
    tx: &Transaction<'_>,
    user_id: Uuid,
    until: Option<DateTime<Utc>>,
) -> Result<(), Error> {
    tx.execute(
        "update auth.users set banned_until = $2, updated_at = now() where id = $1",
        &[&user_id, &until],
    )
    .await?;
    Ok(())
}

/// GoTrue's `UpdatePassword`: the new hash, every pending one-time token spent, and the user
/// signed out of every session but `keep_session`.
pub async fn set_password(
    tx: &Transaction<'_>,
    user_id: Uuid,
    hash: &str,
    keep_session: Option<Uuid>,
) -> Result<(), Error> {
    tx.execute(
        "update auth.users set encrypted_password = $2, confirmation_token = '', confirmation_sent_at = null, \
           recovery_token = '', recovery_sent_at = null, email_change_token_current = '', email_change_token_new = '', \
           email_change_sent_at = null, reauthentication_token = '', reauthentication_sent_at = null, updated_at = now() \
         where id = $1",
        &[&user_id, &hash],
    )
    .await?;
    delete_sessions(tx, user_id, keep_session).await
}

pub async fn set_last_sign_in(tx: &Transaction<'_>, user_id: Uuid) -> Result<(), Error> {
    tx.execute(
        "update auth.users set last_sign_in_at = now() where id = $1",
        &[&user_id],
    )
    .await?;
    Ok(())
}

/// Stores the hash of a code just emailed for a confirmation or a recovery.
pub async fn set_sent_token(
    tx: &Transaction<'_>,
    user_id: Uuid,
    kind: TokenKind,
    hash: &str,
) -> Result<(), Error> {
    let sql = match kind {
        TokenKind::Confirmation => "update auth.users set confirmation_token = $2, confirmation_sent_at = now() where id = $1",
        TokenKind::Recovery => "update auth.users set recovery_token = $2, recovery_sent_at = now() where id = $1",
        TokenKind::EmailChange => unreachable!("email changes store two tokens: use set_email_change"),
    };
    tx.execute(sql, &[&user_id, &hash]).await?;
    Ok(())
}

/// A pending email change: the new address and the hashes of the codes sent to each address.
pub async fn set_email_change(
    tx: &Transaction<'_>,
    user_id: Uuid,
    new_email: &str,
    token_new: &str,
    token_current: &str,
) -> Result<(), Error> {
    tx.execute(
        "update auth.users set email_change = $2, email_change_token_new = $3, email_change_token_current = $4, \
           email_change_confirm_status = 0, email_change_sent_at = now(), updated_at = now() where id = $1",
        &[&user_id, &new_email, &token_new, &token_current],
    )
    .await?;
    Ok(())
}

/// The first of two confirmations of a secure email change: that code is spent.
pub async fn accept_one_email_change_token(
    tx: &Transaction<'_>,
    user_id: Uuid,
    hash: &str,
) -> Result<(), Error> {
    tx.execute(
        "update auth.users set email_change_confirm_status = 1, \
           email_change_token_current = case when email_change_token_current = $2 then '' else email_change_token_current end, \
           email_change_token_new = case when email_change_token_new = $2 then '' else email_change_token_new end \
         where id = $1",
        &[&user_id, &hash],
    )
    .await?;
    Ok(())
}

/// GoTrue's `ConfirmEmailChange`: the new address becomes the address (confirmed), and the
/// email identity follows it.
pub async fn apply_email_change(tx: &Transaction<'_>, user_id: Uuid) -> Result<(), Error> {
    let row = tx
        .query_one(
            "update auth.users set email = email_change, email_change = '', email_change_token_current = '', \
               email_change_token_new = '', email_change_confirm_status = 0, updated_at = now() \
             where id = $1 returning email, email_confirmed_at is null as unconfirmed",
            &[&user_id],
        )
        .await?;
    let email: Option<String> = row.get("email");
    if row.get::<_, bool>("unconfirmed") {
        confirm_email(tx, user_id).await?;
    }
    update_identity_data(tx, user_id, "email", &json!({ "email": email })).await?;
    Ok(())
}

/// GoTrue's `User.Recover`: the recovery code is spent.
pub async fn spend_recovery_token(tx: &Transaction<'_>, user_id: Uuid) -> Result<(), Error> {
    tx.execute(
        "update auth.users set recovery_token = '' where id = $1",
        &[&user_id],
    )
    .await?;
    Ok(())
}

pub struct UserPage {
    pub users: Vec<UserRow>,
    pub total: i64,
}

/// The admin listing: newest first, optionally filtered by address or full name like GoTrue.
pub async fn list_users(
    tx: &Transaction<'_>,
    aud: &str,
    filter: Option<&str>,
    offset: i64,
    limit: i64,
) -> Result<UserPage, Error> {
    let pattern = filter.map(|f| {
        format!(
            "%{}%",
            f.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    let condition = "aud = $1 and ($2::text is null or email ilike $2 or raw_user_meta_data ->> 'full_name' ilike $2)";
    let total: i64 = tx
        .query_one(
            &format!("select count(*) from auth.users where {condition}"),
            &[&aud, &pattern],
        )
        .await?
        .get(0);
    let rows = tx
        .query(
            &format!("select {USER_COLUMNS} from auth.users where {condition} order by created_at desc, id offset $3 limit $4"),
            &[&aud, &pattern, &offset, &limit],
        )
        .await?;
    Ok(UserPage {
        users: rows.iter().map(UserRow::from_row).collect(),
        total,
    })
}

pub async fn delete_user(tx: &Transaction<'_>, user_id: Uuid) -> Result<(), Error> {
    tx.execute("delete from auth.users where id = $1", &[&user_id])
        .await?;
    Ok(())
}

/// GoTrue's soft delete: the row stays with its personal data scrambled, identities go, and the
/// user is signed out everywhere.
pub async fn soft_delete_user(tx: &Transaction<'_>, user_id: Uuid) -> Result<(), Error> {
    let obfuscated = format!("{}", Uuid::new_v4());
    tx.execute(
        "update auth.users set deleted_at = now(), email = null, phone = null, encrypted_password = '', \
           raw_app_meta_data = '{}'::jsonb, raw_user_meta_data = '{}'::jsonb, confirmation_token = $2, \
           recovery_token = '', email_change = '', email_change_token_current = '', email_change_token_new = '', \
           updated_at = now() where id = $1",
        &[&user_id, &format!("deleted-{obfuscated}")],
    )
    .await?;
    tx.execute(
        "delete from auth.identities where user_id = $1",
        &[&user_id],
    )
    .await?;
    delete_sessions(tx, user_id, None).await
}

// sessions and refresh tokens ---------------------------------------------------------------------

pub struct Session {
    pub id: Uuid,
    pub user_id: Uuid,
    pub aal: String,
}

pub async fn session(tx: &Transaction<'_>, id: Uuid) -> Result<Option<Session>, Error> {
    Ok(tx
        .query_opt("select id, user_id, coalesce(aal::text, 'aal1') as aal from auth.sessions where id = $1", &[&id])
        .await?
        .map(|row| Session { id: row.get("id"), user_id: row.get("user_id"), aal: row.get("aal") }))
}

/// Starts a session with its first refresh token and the method used to sign in; also GoTrue's
/// `UpdateLastSignInAt`. Returns (session id, refresh token).
pub async fn start_session(
    tx: &Transaction<'_>,
    user_id: Uuid,
    method: &str,
    user_agent: Option<&str>,
    ip: Option<IpAddr>,
) -> Result<(Uuid, String), Error> {
    let session_id = Uuid::new_v4();
    tx.execute(
        "insert into auth.sessions (id, user_id, created_at, updated_at, aal, user_agent, ip) \
         values ($1, $2, now(), now(), 'aal1', $3, $4)",
        &[&session_id, &user_id, &user_agent, &ip],
    )
    .await?;
    tx.execute(
        "insert into auth.mfa_amr_claims (id, session_id, created_at, updated_at, authentication_method) \
         values ($1, $2, now(), now(), $3) \
         on conflict (session_id, authentication_method) do update set updated_at = now()",
        &[&Uuid::new_v4(), &session_id, &method],
    )
    .await?;
    let token = insert_refresh_token(tx, user_id, session_id, None).await?;
    Ok((session_id, token))
}

async fn insert_refresh_token(
    tx: &Transaction<'_>,
    user_id: Uuid,
    session_id: Uuid,
    parent: Option<&str>,
) -> Result<String, Error> {
    let token = secrets::refresh_token();
    tx.execute(
        "insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, parent, session_id) \
         values ('00000000-0000-0000-0000-000000000000', $1, $2, false, now(), now(), $3, $4)",
        &[&token, &user_id.to_string(), &parent, &session_id],
    )
    .await?;
    set_last_sign_in(tx, user_id).await?;
    Ok(token)
}

/// The sign-in methods of a session with their times, oldest first (the `amr` claim).
pub async fn amr(tx: &Transaction<'_>, session_id: Uuid) -> Result<Vec<(String, i64)>, Error> {
    let rows = tx
        .query(
            "select authentication_method, extract(epoch from updated_at)::bigint as at \
             from auth.mfa_amr_claims where session_id = $1 order by updated_at, authentication_method",
            &[&session_id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| (row.get("authentication_method"), row.get("at")))
        .collect())
}

pub struct RefreshToken {
    pub id: i64,
    pub token: String,
    pub user_id: Option<String>,
    pub revoked: bool,
    pub updated_at: Option<DateTime<Utc>>,
    pub parent: Option<String>,
    pub session_id: Option<Uuid>,
}

fn refresh_token_from(row: &tokio_postgres::Row) -> RefreshToken {
    RefreshToken {
        id: row.get("id"),
        token: row.get("token"),
        user_id: row.get("user_id"),
        revoked: row.get::<_, Option<bool>>("revoked").unwrap_or(false),
        updated_at: row.get("updated_at"),
        parent: row.get("parent"),
        session_id: row.get("session_id"),
    }
}

const REFRESH_TOKEN_COLUMNS: &str = "id, token, user_id, revoked, updated_at, parent, session_id";

/// Finds a refresh token and locks its row, so two refreshes with one token run one after the
/// other.
pub async fn refresh_token_for_update(
    tx: &Transaction<'_>,
    token: &str,
) -> Result<Option<RefreshToken>, Error> {
    let sql = format!(
        "select {REFRESH_TOKEN_COLUMNS} from auth.refresh_tokens where token = $1 for update"
    );
    Ok(tx
        .query_opt(&sql, &[&token])
        .await?
        .as_ref()
        .map(refresh_token_from))
}

/// GoTrue's `FindCurrentlyActiveRefreshToken`: the newest unrevoked token of the session.
pub async fn active_refresh_token(
    tx: &Transaction<'_>,
    session_id: Uuid,
) -> Result<Option<RefreshToken>, Error> {
    let sql = format!(
        "select {REFRESH_TOKEN_COLUMNS} from auth.refresh_tokens where session_id = $1 and revoked is false order by id desc limit 1"
    );
    Ok(tx
        .query_opt(&sql, &[&session_id])
        .await?
        .as_ref()
        .map(refresh_token_from))
}

/// GoTrue's `GrantRefreshTokenSwap`: revokes `old` and issues its child in the same session.
pub async fn rotate_refresh_token(
    tx: &Transaction<'_>,
    user_id: Uuid,
    old: &RefreshToken,
    session_id: Uuid,
) -> Result<String, Error> {
    tx.execute(
        "update auth.refresh_tokens set revoked = true, updated_at = now() where id = $1",
        &[&old.id],
    )
    .await?;
    insert_refresh_token(tx, user_id, session_id, Some(&old.token)).await
}

/// GoTrue's `RevokeTokenFamily`: every live token of the session is revoked.
pub async fn revoke_token_family(tx: &Transaction<'_>, session_id: Uuid) -> Result<(), Error> {
    tx.execute(
        "update auth.refresh_tokens set revoked = true, updated_at = now() where session_id = $1 and revoked = false",
        &[&session_id],
    )
    .await?;
    Ok(())
}

/// Records a refresh on the session (GoTrue's `UpdateOnlyRefreshInfo`).
pub async fn touch_session(
    tx: &Transaction<'_>,
    session_id: Uuid,
    user_agent: Option<&str>,
    ip: Option<IpAddr>,
) -> Result<(), Error> {
    tx.execute(
        "update auth.sessions set refreshed_at = now() at time zone 'utc', user_agent = $2, ip = $3, updated_at = now() where id = $1",
        &[&session_id, &user_agent, &ip],
    )
    .await?;
    Ok(())
}

/// Deletes the user's sessions (their refresh tokens and amr claims go with them), all or all but one.
pub async fn delete_sessions(
    tx: &Transaction<'_>,
    user_id: Uuid,
    except: Option<Uuid>,
) -> Result<(), Error> {
    tx.execute(
        "delete from auth.sessions where user_id = $1 and ($2::uuid is null or id <> $2)",
        &[&user_id, &except],
    )
    .await?;
    Ok(())
}

pub async fn delete_session(tx: &Transaction<'_>, session_id: Uuid) -> Result<(), Error> {
    tx.execute("delete from auth.sessions where id = $1", &[&session_id])
        .await?;
    Ok(())
}
