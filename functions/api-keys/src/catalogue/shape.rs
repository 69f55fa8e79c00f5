//! What a well-formed key for a service looks like, checked before anything is encrypted so a
//! pasted typo or the wrong kind of key is refused with a message the user can act on.

use std::fmt;

/// How the parts of a key are arranged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyLayout {
    /// One opaque token.
    Token,
    /// Twilio's `AC<32 hex account SID>:<32 hex auth token>`, both needed for basic auth.
    TwilioAccountCredentials,
}

/// The shape rules for one service's keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyShape {
    pub min_len: usize,
    pub max_len: usize,
    /// The key must start with one of these; empty means any start.
    pub prefixes: &'static [&'static str],
    /// Starts that are recognisably the wrong kind of key, with the reason.
    pub refused_prefixes: &'static [(&'static str, &'static str)],
    pub layout: KeyLayout,
}

/// A key that passed its service's shape check. Only such a key yields a hint.
#[derive(Clone, Copy, Debug)]
pub struct ValidatedKey<'a>(&'a str);

impl<'a> ValidatedKey<'a> {
    pub fn as_str(&self) -> &'a str {
        self.0
    }

    /// The masked hint stored and listed beside the ciphertext: the last 4 characters only.
    /// Every shape is at least 16 characters long, so this never reveals more than a quarter.
    pub fn hint(&self) -> String {
        let start = self
            .0
            .char_indices()
            .rev()
            .nth(3)
            .map_or(0, |(index, _)| index);
        self.0[start..].to_string()
    }
}

impl KeyShape {
    pub fn validate<'a>(&self, key: &'a str) -> Result<ValidatedKey<'a>, KeyShapeError> {
        if let Some(character) = key.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(if character.is_whitespace() {
                KeyShapeError::Whitespace
            } else if character.is_control() {
                KeyShapeError::ControlCharacter
            } else {
                KeyShapeError::NotAscii
            });
        }
        if key.len() < self.min_len {
            return Err(KeyShapeError::TooShort {
                min_len: self.min_len,
            });
        }
        if key.len() > self.max_len {
            return Err(KeyShapeError::TooLong {
                max_len: self.max_len,
            });
        }
        if let Some((_, reason)) = self
            .refused_prefixes
            .iter()
            .find(|(p, _)| key.starts_with(p))
        {
            return Err(KeyShapeError::WrongKind { reason });
        }
        if !self.prefixes.is_empty() && !self.prefixes.iter().any(|p| key.starts_with(p)) {
            return Err(KeyShapeError::WrongPrefix {
                expected: self.prefixes,
            });
        }
        match self.layout {
            KeyLayout::Token => {}
            KeyLayout::TwilioAccountCredentials => check_twilio_credentials(key)?,
        }
        Ok(ValidatedKey(key))
    }
}

fn check_twilio_credentials(key: &str) -> Result<(), KeyShapeError> {
    let is_hex32 = |part: &str| part.len() == 32 && part.bytes().all(|b| b.is_ascii_hexdigit());
    match key.split_once(':') {
        Some((sid, token)) if sid.len() == 34 && is_hex32(&sid[2..]) && is_hex32(token) => Ok(()),
        _ => Err(KeyShapeError::TwilioLayout),
    }
}

/// Why a key was refused. Messages describe the rule, never the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyShapeError {
    Whitespace,
    ControlCharacter,
    NotAscii,
    TooShort { min_len: usize },
    TooLong { max_len: usize },
    WrongPrefix { expected: &'static [&'static str] },
    WrongKind { reason: &'static str },
    TwilioLayout,
}

impl fmt::Display for KeyShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Whitespace => {
                write!(
                    f,
                    "the key contains whitespace; paste it without spaces or line breaks"
                )
            }
            Self::ControlCharacter => write!(f, "the key contains a control character"),
            Self::NotAscii => write!(f, "the key contains characters outside printable ASCII"),
            Self::TooShort { min_len } => {
                write!(
                    f,
                    "the key is too short: at least {min_len} characters expected"
                )
            }
            Self::TooLong { max_len } => {
                write!(
                    f,
                    "the key is too long: at most {max_len} characters expected"
                )
            }
            Self::WrongPrefix { expected } => {
                write!(f, "the key must start with {}", expected.join(" or "))
            }
            Self::WrongKind { reason } => write!(f, "{reason}"),
            Self::TwilioLayout => write!(
                f,
                "a twilio key is `<account SID>:<auth token>`: AC followed by 32 hex digits, a \
                 colon, then the 32 hex digit auth token"
            ),
        }
    }
}

impl std::error::Error for KeyShapeError {}
