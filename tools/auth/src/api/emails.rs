//! The emails GoTrue sends (signup confirmation, password recovery, email change), prepared
//! inside the request's transaction (the code's hash is stored) and delivered to the local
//! mailbox after it commits. Links point at `<issuer>/verify?token=<hash>&type=<type>&redirect_to=...`
//! like GoTrue's `{{ .ConfirmationURL }}`.

use chrono::{DateTime, Utc};
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::Call;
use crate::error::{AuthError, AuthResult};
use crate::mailbox::Mail;
use crate::ratelimit::Limit;
use crate::store::{self, TokenKind};
use crate::{secrets, Auth};

/// An email ready to go once the transaction that stored its code has committed.
pub struct Outgoing {
    to: String,
    kind: &'static str,
    subject: &'static str,
    link: String,
    otp: String,
    token_hash: String,
}

impl Outgoing {
    pub async fn deliver(self, auth: &Auth) -> AuthResult<()> {
        let mail = Mail {
            to: &self.to,
            kind: self.kind,
            subject: self.subject,
            link: &self.link,
            otp: &self.otp,
            token_hash: &self.token_hash,
        };
        auth.mailbox
            .deliver(mail)
            .await
            .map_err(|e| AuthError::internal("Error sending email", e))
    }
}

pub async fn deliver_all(auth: &Auth, mails: Vec<Outgoing>) -> AuthResult<()> {
    for mail in mails {
        mail.deliver(auth).await?;
    }
    Ok(())
}

/// Where a link sends the user after verifying: `redirect_to` (query) or the Referer when it is
/// an allowed URL, otherwise the site URL (GoTrue's `GetReferrer`).
pub fn redirect_target(auth: &Auth, call: &Call) -> String {
    let settings = &auth.settings;
    let allowed = |url: &str| {
        is_allowed_redirect(url, &settings.site_url, &settings.additional_redirect_urls)
    };
    call.query("redirect_to")
        .filter(|url| allowed(url))
        .or_else(|| call.header("referer").filter(|url| allowed(url)))
        .unwrap_or(&settings.site_url)
        .to_string()
}

/// `scheme://host[:port]` of a URL, lower-cased; `None` when it has no such part.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    (!scheme.is_empty() && !authority.is_empty() && !authority.contains('@'))
        .then(|| format!("{scheme}://{authority}").to_lowercase())
}

/// As GoTrue decides it: any URL on the site URL's host, or one under an allowed URL (the
/// allowed URL followed by the end, `/`, `?` or `#`, so `https://app.test` never admits
/// `https://app.test.evil.example`).
fn is_allowed_redirect(url: &str, site_url: &str, allowed: &[String]) -> bool {
    if origin_of(url).is_some_and(|origin| Some(origin) == origin_of(site_url)) {
        return true;
    }
    allowed.iter().any(|prefix| {
        url.strip_prefix(prefix.as_str()).is_some_and(|rest| {
            prefix.ends_with('/') || rest.is_empty() || rest.starts_with(['/', '?', '#'])
        })
    })
}

fn link(auth: &Auth, hash: &str, kind: &str, redirect_to: &str) -> String {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("token", hash)
        .append_pair("type", kind)
        .append_pair("redirect_to", redirect_to)
        .finish();
    format!("{}/verify?{query}", auth.settings.issuer)
}

/// GoTrue's SMTP max frequency: one email of a kind per user per period.
fn check_frequency(auth: &Auth, last_sent: Option<DateTime<Utc>>) -> AuthResult<()> {
    let period = auth.settings.email_max_frequency_seconds as i64;
    if let Some(sent) = last_sent {
        let wait = (sent + chrono::Duration::seconds(period) - Utc::now()).num_seconds();
        if wait > 0 {
            return Err(AuthError::too_many_requests(
                "over_email_send_rate_limit",
                format!("For security purposes, you can only request this after {wait} seconds."),
            ));
        }
    }
    Ok(())
}

fn prepare(
    auth: &Auth,
    to: &str,
    kind: &'static str,
    subject: &'static str,
    redirect_to: &str,
) -> (Outgoing, String) {
    let otp = secrets::email_otp();
    let token_hash = secrets::token_hash(to, &otp);
    let mail = Outgoing {
        to: to.to_string(),
        kind,
        subject,
        link: link(auth, &token_hash, kind, redirect_to),
        otp,
        token_hash: token_hash.clone(),
    };
    (mail, token_hash)
}

/// The signup confirmation (`TokenKind::Confirmation`) or password recovery
/// (`TokenKind::Recovery`) email, GoTrue's `sendConfirmation` and `sendPasswordRecovery`.
pub async fn one_time_link(
    auth: &Auth,
    call: &Call,
    tx: &Transaction<'_>,
    user_id: Uuid,
    email: &str,
    kind: TokenKind,
    last_sent: Option<DateTime<Utc>>,
) -> AuthResult<Outgoing> {
    check_frequency(auth, last_sent)?;
    call.rate_limit(auth, Limit::EmailSent)?;
    let (link_type, subject) = match kind {
        TokenKind::Confirmation => ("signup", "Confirm Your Signup"),
        TokenKind::Recovery => ("recovery", "Reset Your Password"),
        TokenKind::EmailChange => unreachable!("email changes send two links: use email_change"),
    };
    let (mail, hash) = prepare(
        auth,
        email,
        link_type,
        subject,
        &redirect_target(auth, call),
    );
    store::set_sent_token(tx, user_id, kind, &hash).await?;
    Ok(mail)
}

/// The email change emails (GoTrue's `sendEmailChange` with secure email change on): one to the
/// new address and, when the user has one, one to the current address.
pub async fn email_change(
    auth: &Auth,
    call: &Call,
    tx: &Transaction<'_>,
    user_id: Uuid,
    current: &str,
    new: &str,
    last_sent: Option<DateTime<Utc>>,
) -> AuthResult<Vec<Outgoing>> {
    check_frequency(auth, last_sent)?;
    call.rate_limit(auth, Limit::EmailSent)?;
    let redirect_to = redirect_target(auth, call);
    let (to_new, hash_new) = prepare(
        auth,
        new,
        "email_change",
        "Confirm Email Change",
        &redirect_to,
    );
    let mut mails = vec![to_new];
    let mut hash_current = String::new();
    if !current.is_empty() {
        let (to_current, hash) = prepare(
            auth,
            current,
            "email_change",
            "Confirm Email Change",
            &redirect_to,
        );
        hash_current = hash;
        mails.push(to_current);
    }
    store::set_email_change(tx, user_id, new, &hash_new, &hash_current).await?;
    Ok(mails)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_on_the_site_or_under_an_allowed_url() {
        let allowed = vec![
            "myapp://callback".to_string(),
            "https://preview.example/app/".to_string(),
        ];
        let ok = |url: &str| is_allowed_redirect(url, "http://127.0.0.1:3000", &allowed);
        assert!(ok("http://127.0.0.1:3000/welcome?x=1"));
        assert!(ok("HTTP://127.0.0.1:3000"));
        assert!(ok("myapp://callback"));
        assert!(ok("myapp://callback?code=1"));
        assert!(ok("https://preview.example/app/page"));
        assert!(!ok("http://127.0.0.1:3000.evil.example/"));
        assert!(!ok("http://127.0.0.1:3001/"));
        assert!(!ok("http://127.0.0.1:3000@evil.example/"));
        assert!(!ok("myapp://callbackevil"));
        assert!(!ok("https://evil.example/?next=http://127.0.0.1:3000"));
    }
}
