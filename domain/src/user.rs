//! People who sign in to the web console: users (a username, a role and a password hash
//! kept by the store) and the sessions they get.
//!
//! A session is named by a random token in a cookie. As with API keys, only the token's
//! SHA-256 is stored, so a copy of the database signs nobody in. Each session also has a
//! CSRF token, which the console puts in every form and checks on every POST: a page on
//! another site can make the browser send the cookie, but cannot read the token.

use crate::{InvalidValue, Role, Timestamp};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// A stored user's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct UserId(pub i64);

/// A console username: 1–64 characters, lowercase ASCII letters, digits, `.`, `_` and
/// `-`, starting with a letter or digit. Usernames are compared as given, so `Olena` is
/// refused rather than silently folded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let t = raw.trim();
        let ok = (1..=64).contains(&t.len())
            && t.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && t.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            });
        if ok {
            Ok(Self(t.to_owned()))
        } else {
            Err(InvalidValue::new(format!(
                "username {raw:?} must be 1-64 lowercase letters, digits, '.', '_' or '-', \
                 starting with a letter or digit"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Username {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new password as a person typed it: at least 10 and at most 1024 characters (the
/// upper bound keeps hashing cheap to refuse). `Debug` hides it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_BYTES: usize = 1024;

    /// A password for a new or changed account; the error says which rule it broke.
    pub fn parse_new(raw: &str) -> Result<Self, InvalidValue> {
        if raw.chars().count() < Self::MIN_CHARS {
            return Err(InvalidValue::new(format!(
                "a password needs at least {} characters",
                Self::MIN_CHARS
            )));
        }
        Self::given(raw).ok_or_else(|| {
            InvalidValue::new(format!(
                "a password may have at most {} bytes",
                Self::MAX_BYTES
            ))
        })
    }

    /// A password typed at sign-in, to be checked; `None` when it is too long to be
    /// anyone's (it is then refused like a wrong one, without hashing).
    pub fn given(raw: &str) -> Option<Self> {
        (raw.len() <= Self::MAX_BYTES).then(|| Self(raw.to_owned()))
    }

    /// The password itself, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A stored console user, without the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    pub role: Role,
    pub created_at: Timestamp,
    /// Set once the user is disabled; a disabled user cannot sign in and their sessions
    /// end.
    pub disabled_at: Option<Timestamp>,
}

/// The secret in a console session cookie: 64 lowercase hex digits (256 random bits).
/// `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    /// A token from 32 random bytes, which the caller takes from the OS's generator.
    pub fn from_random(bytes: [u8; 32]) -> Self {
        Self(crate::mention::to_hex(&bytes))
    }

    /// A token as a browser sent it back; anything not shaped like one is refused
    /// before any lookup.
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| Self(raw.to_owned()))
    }

    /// The hash that is stored and looked up.
    pub fn hash(&self) -> SessionHash {
        SessionHash(crate::mention::to_hex(&Sha256::digest(self.0.as_bytes())))
    }

    /// The token itself, for the cookie.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(***)")
    }
}

/// Hex SHA-256 of a [`SessionToken`]: what the database holds instead of the token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionHash(String);

impl SessionHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whom a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionOwner {
    /// A user who signed in with a password.
    User(UserId),
    /// Someone who signed in with an API key.
    Key(crate::ApiKeyId),
}

/// A live console session: who it is for, with the role they have now (read at every
/// request, so a changed role or a disabled user or revoked key takes effect at once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub owner: SessionOwner,
    /// The username, or the key's name.
    pub name: String,
    pub role: Role,
    /// The token every state-changing request must carry.
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

impl Session {
    /// Who to record in alert history and corrections.
    pub fn actor(&self) -> crate::Actor {
        match self.owner {
            SessionOwner::Key(id) => crate::Actor {
                key_id: Some(id),
                name: self.name.clone(),
            },
            SessionOwner::User(_) => crate::Actor {
                key_id: None,
                name: self.name.clone(),
            },
        }
    }

    /// Whether `sent` is this session's CSRF token. The comparison takes the same time
    /// wherever the first difference is.
    pub fn csrf_matches(&self, sent: &str) -> bool {
        let (a, b) = (self.csrf_token.as_bytes(), sent.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_plain_lowercase_names() {
        assert_eq!(Username::parse(" olena.k ").unwrap().as_str(), "olena.k");
        for bad in ["", "Olena", "-x", "a b", "é", &"a".repeat(65), "x<y"] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_have_a_floor_and_a_ceiling_and_hide_in_debug() {
        assert!(Password::parse_new("short").is_err());
        assert!(Password::parse_new(&"x".repeat(1025)).is_err());
        let p = Password::parse_new("correct horse battery").unwrap();
        assert_eq!(format!("{p:?}"), "Password(***)");
        assert!(Password::given(&"x".repeat(2000)).is_none());
    }

    #[test]
    fn session_tokens_are_hex_and_hash_stably() {
        let t = SessionToken::from_random([0xab; 32]);
        assert_eq!(t.expose().len(), 64);
        assert_eq!(SessionToken::parse(t.expose()).unwrap().hash(), t.hash());
        assert_ne!(t.hash().as_str(), t.expose());
        assert!(SessionToken::parse("zz").is_none());
        assert!(SessionToken::parse(&t.expose().to_uppercase()).is_none());
        assert_eq!(format!("{t:?}"), "SessionToken(***)");
    }

    #[test]
    fn the_csrf_token_must_match_exactly() {
        let s = Session {
            owner: SessionOwner::User(UserId(1)),
            name: "olena".into(),
            role: Role::Pr,
            csrf_token: "abc123".into(),
            expires_at: Timestamp::from_millis(0),
        };
        assert!(s.csrf_matches("abc123"));
        assert!(!s.csrf_matches("abc124"));
        assert!(!s.csrf_matches(""));
        assert!(!s.csrf_matches("abc1234"));
        assert_eq!(s.actor().key_id, None);
    }
}
