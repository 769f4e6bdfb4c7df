//! Who may call the API: roles, what each role may do, API keys and who did what.
//!
//! A key is `ek_` followed by 64 hex digits (256 random bits). Only its SHA-256 is
//! stored, so a copy of the database gives nobody a working key. Looking a key up by its
//! hash leaks nothing useful through timing: an attacker would have to guess hashes of
//! 256-bit secrets.

use crate::{InvalidValue, Timestamp};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What a key may do. Each role is a fixed set of [`Permission`]s ([`Role::can`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything: keys, alert rules, and what every other role may do.
    Admin,
    /// The PR team: works the alert queue, reads mentions, corrects sentiment.
    Pr,
    /// Marketing: moderates review candidates, reads mentions, corrects sentiment.
    Marketing,
    /// Read-only: mentions.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Pr, Role::Marketing, Role::Viewer];

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Self::Admin),
            "pr" => Ok(Self::Pr),
            "marketing" => Ok(Self::Marketing),
            "viewer" => Ok(Self::Viewer),
            other => Err(InvalidValue::new(format!(
                "role {other:?} must be admin, pr, marketing or viewer"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Pr => "pr",
            Self::Marketing => "marketing",
            Self::Viewer => "viewer",
        }
    }

    /// The one table of who may do what. The README's role table mirrors it.
    pub fn can(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Self::Admin => true,
            Self::Pr => matches!(
                permission,
                ReadMentions | ReadSetup | CorrectSentiment | WorkAlerts
            ),
            Self::Marketing => {
                matches!(
                    permission,
                    ReadMentions | ReadSetup | CorrectSentiment | ModerateReviews
                )
            }
            Self::Viewer => matches!(permission, ReadMentions | ReadSetup),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something an API route does, as far as access is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// List mentions.
    ReadMentions,
    /// Record a human's sentiment label for a mention.
    CorrectSentiment,
    /// Read, acknowledge, resolve, dismiss, assign and annotate alerts.
    WorkAlerts,
    /// List review candidates, approve them (with an excerpt) and reject them.
    ModerateReviews,
    /// List the brands and sources, with each source's health, and read `/metrics`.
    ReadSetup,
    /// Create, change and retire brands and sources.
    ManageSetup,
    /// Create, change and delete alert rules.
    ManageAlertRules,
    /// Create, list and revoke API keys.
    ManageKeys,
}

impl Permission {
    /// What it allows, as a phrase for error messages ("may not {describe}").
    pub fn describe(self) -> &'static str {
        match self {
            Self::ReadMentions => "read mentions",
            Self::CorrectSentiment => "correct sentiment",
            Self::WorkAlerts => "read or act on alerts",
            Self::ModerateReviews => "read or moderate reviews",
            Self::ReadSetup => "read brands, sources and metrics",
            Self::ManageSetup => "manage brands and sources",
            Self::ManageAlertRules => "manage alert rules",
            Self::ManageKeys => "manage API keys",
        }
    }
}

/// A stored API key's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ApiKeyId(pub i64);

/// A key's human name, such as "PR desk": 1–100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct KeyName(String);

impl KeyName {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let t = raw.trim();
        if t.is_empty() || t.chars().count() > 100 || t.chars().any(char::is_control) {
            return Err(InvalidValue::new(format!(
                "key name {raw:?} must be 1-100 characters without control characters"
            )));
        }
        Ok(Self(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for KeyName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stored API key, without its secret (which is never stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: String,
    pub role: Role,
    pub created_at: Timestamp,
    /// When the key last authenticated a request, to within a minute.
    pub last_used_at: Option<Timestamp>,
    /// Set once the key is revoked; a revoked key authenticates nothing.
    pub revoked_at: Option<Timestamp>,
}

/// The secret a client sends: `ek_` and 64 lowercase hex digits. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiSecret(String);

impl ApiSecret {
    /// Every key starts with this, so a leaked one is easy to recognise (and to scan for).
    pub const PREFIX: &'static str = "ek_";

    /// A key from 32 random bytes. The caller supplies them from the OS's generator:
    /// this crate does no I/O.
    pub fn from_random(bytes: [u8; 32]) -> Self {
        Self(format!(
            "{}{}",
            Self::PREFIX,
            crate::mention::to_hex(&bytes)
        ))
    }

    /// A key as a client sent it. Anything not shaped like a key is refused here, before
    /// any database lookup.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let ok = raw.strip_prefix(Self::PREFIX).is_some_and(|hex| {
            hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidValue::new(
                "an API key is \"ek_\" followed by 64 hex digits",
            ))
        }
    }

    /// The hash that is stored and looked up.
    pub fn hash(&self) -> KeyHash {
        KeyHash(crate::mention::to_hex(&Sha256::digest(self.0.as_bytes())))
    }

    /// The secret itself, to show the user once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiSecret(***)")
    }
}

/// Hex SHA-256 of an [`ApiSecret`]: what the database holds instead of the key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyHash(String);

impl KeyHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who did something, for alert history and sentiment corrections: an API key (its id
/// and its name at the time) or Earshot itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// The key that made the request; `None` for Earshot's own actions.
    pub key_id: Option<ApiKeyId>,
    pub name: String,
}

impl Actor {
    /// The holder of `key`.
    pub fn key(key: &ApiKey) -> Self {
        Self {
            key_id: Some(key.id),
            name: key.name.clone(),
        }
    }

    /// Earshot itself (an alert opened by a rule).
    pub fn earshot() -> Self {
        Self {
            key_id: None,
            name: "earshot".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_hex_and_hash_stably() {
        let k = ApiSecret::from_random([0xab; 32]);
        assert!(k.expose().starts_with("ek_abab"));
        assert_eq!(k.expose().len(), 3 + 64);
        let again = ApiSecret::parse(k.expose()).unwrap();
        assert_eq!(again.hash(), k.hash());
        assert_eq!(k.hash().as_str().len(), 64);
        assert_ne!(k.hash().as_str(), &k.expose()[3..]);
        assert_eq!(format!("{k:?}"), "ApiSecret(***)");
    }

    #[test]
    fn malformed_keys_are_refused_before_any_lookup() {
        let good = ApiSecret::from_random([1; 32]);
        for bad in [
            "",
            "ek_",
            "sk_0101",
            &good.expose()[..40],
            &good.expose().to_uppercase(),
            &format!("{}0", good.expose()),
        ] {
            assert!(ApiSecret::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_role_has_exactly_its_permissions() {
        use Permission::*;
        let all = [
            ReadMentions,
            CorrectSentiment,
            WorkAlerts,
            ModerateReviews,
            ReadSetup,
            ManageSetup,
            ManageAlertRules,
            ManageKeys,
        ];
        let allowed = |r: Role| all.iter().filter(|p| r.can(**p)).count();
        assert_eq!(allowed(Role::Admin), 8);
        assert_eq!(allowed(Role::Pr), 4);
        assert!(Role::Viewer.can(ReadSetup) && !Role::Pr.can(ManageSetup));
        assert!(Role::Pr.can(WorkAlerts) && !Role::Pr.can(ManageKeys));
        assert!(Role::Marketing.can(CorrectSentiment) && !Role::Marketing.can(WorkAlerts));
        assert!(Role::Marketing.can(ModerateReviews) && !Role::Pr.can(ModerateReviews));
        assert_eq!(allowed(Role::Marketing), 4);
        assert!(Role::Viewer.can(ReadMentions) && !Role::Viewer.can(CorrectSentiment));
        assert_eq!(allowed(Role::Viewer), 2);
    }

    #[test]
    fn roles_and_names_parse() {
        assert_eq!(Role::parse(" PR ").unwrap(), Role::Pr);
        assert!(Role::parse("root").unwrap_err().0.contains("admin, pr"));
        assert_eq!(KeyName::parse("  PR desk ").unwrap().as_str(), "PR desk");
        assert!(KeyName::parse(" ").is_err());
        assert!(KeyName::parse("a\nb").is_err());
    }
}
