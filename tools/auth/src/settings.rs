//! Every setting of the local Auth, validated once. The binary reads them from `AUTH_*`
//! variables ([`Settings::from_env`]); an embedding server (the origin) builds the struct itself.

use std::collections::HashMap;
use std::path::PathBuf;

/// Go's `bcrypt.DefaultCost`, which GoTrue hashes passwords with.
pub const GOTRUE_BCRYPT_COST: u32 = 10;

/// How access tokens are signed: Supabase's signing keys (the default) or the legacy secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyMode {
    /// ES256 with key 0 of the signing-keys file, `kid` in the header.
    Signing,
    /// HS256 with the legacy JWT secret, no `kid`.
    Legacy,
}

/// Request budgets per client IP (sign-ups, sign-ins, refreshes, verifications, anonymous
/// sign-ins) and per server (emails), with GoTrue's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Email sign-ups and password sign-ins per 5 minutes per IP (GoTrue: 30).
    pub sign_in_sign_ups: u32,
    /// Refresh-token grants per 5 minutes per IP (GoTrue: 150, bursts of 30).
    pub token_refresh: u32,
    /// Anonymous sign-ins per hour per IP (GoTrue: 30).
    pub anonymous_users: u32,
    /// `/verify` calls per 5 minutes per IP (GoTrue: 30).
    pub token_verifications: u32,
    /// Emails the server sends per hour, all users together (GoTrue: 30).
    pub email_sent: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            sign_in_sign_ups: 30,
            token_refresh: 150,
            anonymous_users: 30,
            token_verifications: 30,
            email_sent: 30,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Settings {
    /// Postgres URL of a role that owns the `auth.*` tables (the local superuser).
    pub database_url: String,
    /// The Supabase CLI's `signing_keys_path` file: a JSON array of private JWKs.
    pub signing_keys_file: Option<PathBuf>,
    /// The public URL of this service, e.g. `http://127.0.0.1:54321/auth/v1`: the `iss` of every
    /// access token and the base of the links in emails.
    pub issuer: String,
    pub key_mode: KeyMode,
    /// The legacy HS256 secret: signs tokens in legacy mode, and verifies HS256 tokens whenever set.
    pub jwt_secret: Option<String>,
    /// Access token lifetime in seconds (GoTrue: 3600).
    pub jwt_expiry_seconds: u64,
    /// Where links in emails send the user after verification when no allowed `redirect_to` is given.
    pub site_url: String,
    /// Further allowed redirect targets (prefixes of the URL).
    pub additional_redirect_urls: Vec<String>,
    /// Users must confirm their address before signing in (GoTrue's `MAILER_AUTOCONFIRM` off).
    pub email_confirmation: bool,
    /// Local mailbox: every email is appended here as one JSON line.
    pub mailbox_file: PathBuf,
    pub anonymous_sign_ins: bool,
    pub disable_signup: bool,
    pub password_min_length: usize,
    /// Seconds a rotated refresh token may still be used (GoTrue: 10).
    pub refresh_token_reuse_interval_seconds: u64,
    /// Minimum seconds between two emails of the same kind to one user (GoTrue SMTP max frequency: 60).
    pub email_max_frequency_seconds: u64,
    /// Seconds an emailed link or code stays valid (GoTrue: 86400).
    pub email_otp_expiry_seconds: u64,
    pub rate_limits: RateLimits,
    /// Header whose value identifies the client for rate limits (GoTrue's `RATE_LIMIT_HEADER`);
    /// otherwise the peer address is used.
    pub rate_limit_header: Option<String>,
    /// bcrypt cost (GoTrue: 10, Go's default).
    pub bcrypt_cost: u32,
}

impl Settings {
    /// Settings with GoTrue's defaults for everything but the three things only the caller knows.
    pub fn new(
        database_url: impl Into<String>,
        issuer: impl Into<String>,
        key_mode: KeyMode,
    ) -> Self {
        Settings {
            database_url: database_url.into(),
            signing_keys_file: None,
            issuer: issuer.into(),
            key_mode,
            jwt_secret: None,
            jwt_expiry_seconds: 3600,
            site_url: "http://127.0.0.1:3000".to_string(),
            additional_redirect_urls: Vec::new(),
            email_confirmation: false,
            mailbox_file: PathBuf::from(".local/auth-mailbox.jsonl"),
            anonymous_sign_ins: true,
            disable_signup: false,
            password_min_length: 6,
            refresh_token_reuse_interval_seconds: 10,
            email_max_frequency_seconds: 60,
            email_otp_expiry_seconds: 86400,
            rate_limits: RateLimits::default(),
            rate_limit_header: None,
            bcrypt_cost: GOTRUE_BCRYPT_COST,
        }
    }

    /// Reads `AUTH_*` variables (see README.md in this crate for the list).
    pub fn from_env() -> Result<Self, String> {
        let vars: HashMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("AUTH_"))
            .collect();
        Self::from_map(&vars)
    }

    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, String> {
        let get = |name: &str| {
            vars.get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let database_url =
            get("AUTH_DATABASE_URL").ok_or("AUTH_DATABASE_URL is required (a Postgres URL)")?;
        let issuer = get("AUTH_ISSUER")
            .ok_or("AUTH_ISSUER is required, e.g. http://127.0.0.1:54321/auth/v1")?;
        let key_mode = match get("AUTH_KEY_MODE").as_deref() {
            None | Some("signing") => KeyMode::Signing,
            Some("legacy") => KeyMode::Legacy,
            Some(other) => {
                return Err(format!(
                    "AUTH_KEY_MODE must be signing or legacy, not {other:?}"
                ))
            }
        };
        let mut settings = Settings::new(database_url, issuer.trim_end_matches('/'), key_mode);
        settings.signing_keys_file = get("AUTH_SIGNING_KEYS_FILE").map(PathBuf::from);
        settings.jwt_secret = get("AUTH_JWT_SECRET");
        if let Some(url) = get("AUTH_SITE_URL") {
            settings.site_url = url;
        }
        settings.additional_redirect_urls = get("AUTH_ADDITIONAL_REDIRECT_URLS")
            .map(|list| {
                list.split(',')
                    .map(|u| u.trim().to_string())
                    .filter(|u| !u.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(path) = get("AUTH_MAILBOX_FILE") {
            settings.mailbox_file = PathBuf::from(path);
        }
        settings.rate_limit_header = get("AUTH_RATE_LIMIT_HEADER");
        let flag = |name: &str, default: bool| -> Result<bool, String> {
            match get(name).as_deref() {
                None => Ok(default),
                Some("true" | "on" | "1") => Ok(true),
                Some("false" | "off" | "0") => Ok(false),
                Some(other) => Err(format!("{name} must be true or false, not {other:?}")),
            }
        };
        settings.email_confirmation = flag("AUTH_EMAIL_CONFIRMATION", false)?;
        settings.anonymous_sign_ins = flag("AUTH_ANONYMOUS_SIGN_INS", true)?;
        settings.disable_signup = flag("AUTH_DISABLE_SIGNUP", false)?;
        let number = |name: &str,
                      default: u64,
                      range: std::ops::RangeInclusive<u64>|
         -> Result<u64, String> {
            match get(name) {
                None => Ok(default),
                Some(text) => match text.parse::<u64>() {
                    Ok(n) if range.contains(&n) => Ok(n),
                    _ => Err(format!(
                        "{name} must be a whole number in {}..={}, not {text:?}",
                        range.start(),
                        range.end()
                    )),
                },
            }
        };
        settings.jwt_expiry_seconds = number("AUTH_JWT_EXPIRY", 3600, 30..=604_800)?;
        settings.password_min_length = number("AUTH_PASSWORD_MIN_LENGTH", 6, 6..=72)? as usize;
        settings.refresh_token_reuse_interval_seconds =
            number("AUTH_REFRESH_TOKEN_REUSE_INTERVAL", 10, 0..=3600)?;
        settings.email_max_frequency_seconds = number("AUTH_EMAIL_MAX_FREQUENCY", 60, 0..=86_400)?;
        settings.email_otp_expiry_seconds = number("AUTH_EMAIL_OTP_EXPIRY", 86_400, 60..=86_400)?;
        settings.bcrypt_cost =
            number("AUTH_BCRYPT_COST", u64::from(GOTRUE_BCRYPT_COST), 4..=31)? as u32;
        let limit = |name: &str, default: u32| {
            number(name, u64::from(default), 1..=1_000_000).map(|n| n as u32)
        };
        let defaults = RateLimits::default();
        settings.rate_limits = RateLimits {
            sign_in_sign_ups: limit(
                "AUTH_RATE_LIMIT_SIGN_IN_SIGN_UPS",
                defaults.sign_in_sign_ups,
            )?,
            token_refresh: limit("AUTH_RATE_LIMIT_TOKEN_REFRESH", defaults.token_refresh)?,
            anonymous_users: limit("AUTH_RATE_LIMIT_ANONYMOUS_USERS", defaults.anonymous_users)?,
            token_verifications: limit(
                "AUTH_RATE_LIMIT_TOKEN_VERIFICATIONS",
                defaults.token_verifications,
            )?,
            email_sent: limit("AUTH_RATE_LIMIT_EMAIL_SENT", defaults.email_sent)?,
        };
        settings.validate()?;
        Ok(settings)
    }

    /// What each key mode needs.
    pub fn validate(&self) -> Result<(), String> {
        match self.key_mode {
            KeyMode::Signing if self.signing_keys_file.is_none() => {
                Err("signing mode needs the signing-keys file (AUTH_SIGNING_KEYS_FILE)".to_string())
            }
            KeyMode::Legacy if self.jwt_secret.as_deref().is_none_or(|s| s.len() < 32) => Err(
                "legacy mode needs the JWT secret, at least 32 characters (AUTH_JWT_SECRET)"
                    .to_string(),
            ),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn signing_mode_is_the_default_and_needs_the_keys_file() {
        let base = [
            ("AUTH_DATABASE_URL", "postgres://x"),
            ("AUTH_ISSUER", "http://127.0.0.1:54321/auth/v1/"),
        ];
        let err = Settings::from_map(&vars(&base)).unwrap_err();
        assert!(err.contains("AUTH_SIGNING_KEYS_FILE"), "{err}");
        let mut with_file = base.to_vec();
        with_file.push(("AUTH_SIGNING_KEYS_FILE", "/tmp/keys.json"));
        let settings = Settings::from_map(&vars(&with_file)).unwrap();
        assert_eq!(settings.key_mode, KeyMode::Signing);
        assert_eq!(settings.issuer, "http://127.0.0.1:54321/auth/v1");
        assert_eq!(settings.rate_limits, RateLimits::default());
        assert!(!settings.email_confirmation);
    }

    #[test]
    fn legacy_mode_needs_a_long_secret_and_bad_values_are_named() {
        let base = [
            ("AUTH_DATABASE_URL", "postgres://x"),
            ("AUTH_ISSUER", "http://i"),
            ("AUTH_KEY_MODE", "legacy"),
        ];
        assert!(Settings::from_map(&vars(&base))
            .unwrap_err()
            .contains("AUTH_JWT_SECRET"));
        let mut ok = base.to_vec();
        ok.push((
            "AUTH_JWT_SECRET",
            "super-secret-jwt-token-with-at-least-32-characters-long",
        ));
        ok.push(("AUTH_RATE_LIMIT_TOKEN_REFRESH", "1000"));
        ok.push(("AUTH_EMAIL_CONFIRMATION", "on"));
        let settings = Settings::from_map(&vars(&ok)).unwrap();
        assert_eq!(settings.rate_limits.token_refresh, 1000);
        assert!(settings.email_confirmation);
        let mut bad = ok.clone();
        bad.push(("AUTH_RATE_LIMIT_EMAIL_SENT", "lots"));
        assert!(Settings::from_map(&vars(&bad))
            .unwrap_err()
            .contains("AUTH_RATE_LIMIT_EMAIL_SENT"));
    }
}
