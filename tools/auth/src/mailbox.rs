//! The local mailbox: every email the service sends is appended to one file as a JSON line
//! (`to`, `subject`, `type`, `link`, `otp`, `token_hash`, `sent_at`) instead of going to an SMTP
//! server, and `GET /auth/v1/mailbox` reads it back. A development stand-in for Supabase's
//! local Inbucket/Mailpit.

use std::io::Write;
use std::path::PathBuf;

use serde_json::{json, Value};
use tokio::sync::Mutex;

pub struct Mailbox {
    file: PathBuf,
    write_lock: Mutex<()>,
}

/// One email: what it is for, where it goes, the link and the code it carries.
pub struct Mail<'a> {
    pub to: &'a str,
    pub kind: &'a str,
    pub subject: &'a str,
    pub link: &'a str,
    pub otp: &'a str,
    pub token_hash: &'a str,
}

impl Mailbox {
    pub fn new(file: PathBuf) -> Self {
        Mailbox {
            file,
            write_lock: Mutex::new(()),
        }
    }

    pub fn file(&self) -> &PathBuf {
        &self.file
    }

    pub async fn deliver(&self, mail: Mail<'_>) -> std::io::Result<()> {
        let body = format!(
            "{}\n\nFollow this link: {}\n\nOr enter this code: {}\n",
            mail.subject, mail.link, mail.otp
        );
        let line = json!({
            "sent_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "to": mail.to, "subject": mail.subject, "type": mail.kind,
            "link": mail.link, "otp": mail.otp, "token_hash": mail.token_hash, "body": body,
        });
        let _guard = self.write_lock.lock().await;
        if let Some(parent) = self.file.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.file)?;
        writeln!(file, "{line}")?;
        eprintln!("auth: mail to {} ({}): {}", mail.to, mail.kind, mail.link);
        Ok(())
    }

    /// Every message so far, oldest first, optionally only those to one address.
    pub async fn messages(&self, to: Option<&str>) -> std::io::Result<Vec<Value>> {
        let _guard = self.write_lock.lock().await;
        let text = match std::fs::read_to_string(&self.file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let wanted = to.map(str::to_lowercase);
        Ok(text
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|m| {
                wanted
                    .as_deref()
                    .is_none_or(|w| m["to"].as_str() == Some(w))
            })
            .collect())
    }
}
