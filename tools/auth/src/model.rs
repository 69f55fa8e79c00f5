//! Users and identities as read from `auth.*`, and their JSON as Supabase Auth returns it
//! (GoTrue's `models.User` / `models.Identity`: optional timestamps left out when unset,
//! `email`/`phone` as "" when absent, `new_email` for a pending change).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use tokio_postgres::Row;
use uuid::Uuid;

/// Columns read for a user, in the order [`UserRow::from_row`] expects.
pub const USER_COLUMNS: &str = "id, coalesce(aud, '') as aud, coalesce(role, '') as role, email, encrypted_password, \
    email_confirmed_at, invited_at, phone, phone_confirmed_at, confirmation_token, confirmation_sent_at, confirmed_at, \
    recovery_token, recovery_sent_at, email_change, email_change_sent_at, coalesce(email_change_token_current, '') as email_change_token_current, \
    coalesce(email_change_token_new, '') as email_change_token_new, coalesce(email_change_confirm_status, 0::smallint) as email_change_confirm_status, \
    last_sign_in_at, coalesce(raw_app_meta_data, '{}'::jsonb) as raw_app_meta_data, \
    coalesce(raw_user_meta_data, '{}'::jsonb) as raw_user_meta_data, created_at, updated_at, banned_until, deleted_at, is_anonymous";

#[derive(Clone, Debug)]
pub struct UserRow {
    pub id: Uuid,
    pub aud: String,
    pub role: String,
    pub email: Option<String>,
    pub encrypted_password: Option<String>,
    pub email_confirmed_at: Option<DateTime<Utc>>,
    pub invited_at: Option<DateTime<Utc>>,
    pub phone: Option<String>,
    pub phone_confirmed_at: Option<DateTime<Utc>>,
    pub confirmation_token: Option<String>,
    pub confirmation_sent_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub recovery_token: Option<String>,
    pub recovery_sent_at: Option<DateTime<Utc>>,
    pub email_change: Option<String>,
    pub email_change_sent_at: Option<DateTime<Utc>>,
    pub email_change_token_current: String,
    pub email_change_token_new: String,
    pub email_change_confirm_status: i16,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub app_metadata: Value,
    pub user_metadata: Value,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub banned_until: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub is_anonymous: bool,
}

impl UserRow {
    pub fn from_row(row: &Row) -> Self {
        UserRow {
            id: row.get("id"),
            aud: row.get("aud"),
            role: row.get("role"),
            email: row.get("email"),
            encrypted_password: row.get("encrypted_password"),
            email_confirmed_at: row.get("email_confirmed_at"),
            invited_at: row.get("invited_at"),
            phone: row.get("phone"),
            phone_confirmed_at: row.get("phone_confirmed_at"),
            confirmation_token: row.get("confirmation_token"),
            confirmation_sent_at: row.get("confirmation_sent_at"),
            confirmed_at: row.get("confirmed_at"),
            recovery_token: row.get("recovery_token"),
            recovery_sent_at: row.get("recovery_sent_at"),
            email_change: row.get("email_change"),
            email_change_sent_at: row.get("email_change_sent_at"),
            email_change_token_current: row.get("email_change_token_current"),
            email_change_token_new: row.get("email_change_token_new"),
            email_change_confirm_status: row.get("email_change_confirm_status"),
            last_sign_in_at: row.get("last_sign_in_at"),
            app_metadata: row.get("raw_app_meta_data"),
            user_metadata: row.get("raw_user_meta_data"),
            created_at: row.get("created_at"),
            updated_at: row.get("updated_at"),
            banned_until: row.get("banned_until"),
            deleted_at: row.get("deleted_at"),
            is_anonymous: row.get("is_anonymous"),
        }
    }

    pub fn email(&self) -> &str {
        self.email.as_deref().unwrap_or("")
    }

    pub fn phone(&self) -> &str {
        self.phone.as_deref().unwrap_or("")
    }

    pub fn has_password(&self) -> bool {
        self.encrypted_password
            .as_deref()
            .is_some_and(|p| !p.is_empty())
    }

    pub fn is_banned(&self, now: DateTime<Utc>) -> bool {
        self.banned_until.is_some_and(|until| until > now)
    }
}

#[derive(Clone, Debug)]
pub struct IdentityRow {
    pub id: Uuid,
    pub provider_id: String,
    pub user_id: Uuid,
    pub identity_data: Value,
    pub provider: String,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub email: Option<String>,
}

impl IdentityRow {
    pub fn from_row(row: &Row) -> Self {
        IdentityRow {
            id: row.get("id"),
            provider_id: row.get("provider_id"),
            user_id: row.get("user_id"),
            identity_data: row.get("identity_data"),
            provider: row.get("provider"),
            last_sign_in_at: row.get("last_sign_in_at"),
            created_at: row.get("created_at"),
            updated_at: row.get("updated_at"),
            email: row.get("email"),
        }
    }
}

/// Go's `time.Time` JSON: RFC 3339 in UTC with the fraction it has.
pub fn timestamp(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn put_time(object: &mut Map<String, Value>, name: &str, time: &Option<DateTime<Utc>>) {
    if let Some(time) = time {
        object.insert(name.to_string(), Value::String(timestamp(time)));
    }
}

/// Go's zero time, which GoTrue prints for a created/updated time it never set.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn time_or_zero(time: &Option<DateTime<Utc>>) -> Value {
    Value::String(
        time.as_ref()
            .map(timestamp)
            .unwrap_or_else(|| ZERO_TIME.to_string()),
    )
}

pub fn identity_json(identity: &IdentityRow) -> Value {
    let mut object = Map::new();
    object.insert("identity_id".into(), json!(identity.id));
    object.insert("id".into(), json!(identity.provider_id));
    object.insert("user_id".into(), json!(identity.user_id));
    if identity
        .identity_data
        .as_object()
        .is_some_and(|o| !o.is_empty())
    {
        object.insert("identity_data".into(), identity.identity_data.clone());
    }
    object.insert("provider".into(), json!(identity.provider));
    put_time(&mut object, "last_sign_in_at", &identity.last_sign_in_at);
    object.insert("created_at".into(), time_or_zero(&identity.created_at));
    object.insert("updated_at".into(), time_or_zero(&identity.updated_at));
    if let Some(email) = identity.email.as_deref().filter(|e| !e.is_empty()) {
        object.insert("email".into(), json!(email));
    }
    Value::Object(object)
}

pub fn user_json(user: &UserRow, identities: &[IdentityRow]) -> Value {
    let mut object = Map::new();
    object.insert("id".into(), json!(user.id));
    object.insert("aud".into(), json!(user.aud));
    object.insert("role".into(), json!(user.role));
    object.insert("email".into(), json!(user.email()));
    put_time(&mut object, "email_confirmed_at", &user.email_confirmed_at);
    put_time(&mut object, "invited_at", &user.invited_at);
    object.insert("phone".into(), json!(user.phone()));
    put_time(&mut object, "phone_confirmed_at", &user.phone_confirmed_at);
    put_time(
        &mut object,
        "confirmation_sent_at",
        &user.confirmation_sent_at,
    );
    put_time(&mut object, "confirmed_at", &user.confirmed_at);
    put_time(&mut object, "recovery_sent_at", &user.recovery_sent_at);
    if let Some(new_email) = user.email_change.as_deref().filter(|e| !e.is_empty()) {
        object.insert("new_email".into(), json!(new_email));
    }
    put_time(
        &mut object,
        "email_change_sent_at",
        &user.email_change_sent_at,
    );
    put_time(&mut object, "last_sign_in_at", &user.last_sign_in_at);
    object.insert("app_metadata".into(), user.app_metadata.clone());
    object.insert("user_metadata".into(), user.user_metadata.clone());
    object.insert(
        "identities".into(),
        Value::Array(identities.iter().map(identity_json).collect()),
    );
    object.insert("created_at".into(), time_or_zero(&user.created_at));
    object.insert("updated_at".into(), time_or_zero(&user.updated_at));
    put_time(&mut object, "banned_until", &user.banned_until);
    put_time(&mut object, "deleted_at", &user.deleted_at);
    object.insert("is_anonymous".into(), json!(user.is_anonymous));
    Value::Object(object)
}

/// Applies GoTrue's metadata update rule: each key is set to its new value, and a `null` value
/// removes the key.
pub fn merge_metadata(current: &Value, updates: &Map<String, Value>) -> Value {
    let mut merged = current.as_object().cloned().unwrap_or_default();
    for (key, value) in updates {
        if value.is_null() {
            merged.remove(key);
        } else {
            merged.insert(key.clone(), value.clone());
        }
    }
    Value::Object(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_removes_a_metadata_key_and_other_keys_stay() {
        let current = json!({"a": 1, "b": 2});
        let updates = json!({"b": null, "c": 3}).as_object().unwrap().clone();
        assert_eq!(merge_metadata(&current, &updates), json!({"a": 1, "c": 3}));
    }

    #[test]
    fn timestamps_print_like_go_times_in_utc() {
        let time = DateTime::parse_from_rfc3339("2024-05-07T17:35:52.772763+02:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(timestamp(&time), "2024-05-07T15:35:52.772763Z");
    }
}
