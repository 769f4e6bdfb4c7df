//! The channels a config defines (`[[channels]]`), as typed values. Parsing and
//! checking the file is the binary's job; past that point a channel is always whole.

use earshot_domain::ChannelName;
use std::time::Duration;
use url::Url;

/// A secret from the config: an HMAC key or an SMTP password. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for the one place that signs or logs in with it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"***\"")
    }
}

/// A place notifications go, and how often.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    pub name: ChannelName,
    pub kind: ChannelKind,
    /// Digest mode: at most one message per this window, summarising every alert
    /// queued for the channel since the last one. `None` sends one message per alert
    /// as soon as it is queued.
    pub digest: Option<Duration>,
}

/// How a channel is reached.
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelKind {
    /// A JSON POST to `url`, signed: the `X-Earshot-Signature` header is
    /// `sha256=` and the hex HMAC-SHA256 of the body under `secret`.
    Webhook { url: Url, secret: Secret },
    /// A Slack-compatible incoming webhook: a JSON POST of `{"text": ...}`.
    Slack { url: Url },
    /// An email over SMTP.
    Email(SmtpTarget),
}

impl ChannelKind {
    /// The word the config uses for this kind.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Webhook { .. } => "webhook",
            Self::Slack { .. } => "slack",
            Self::Email(_) => "email",
        }
    }
}

/// An SMTP server and the addresses an email channel uses.
#[derive(Debug, Clone, PartialEq)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    /// The sender, `Name <address>` or a bare address (already checked to parse).
    pub from: String,
    /// The recipients, at least one (already checked to parse).
    pub to: Vec<String>,
    /// Log in with this user name and password, when set.
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// Upgrade the connection with STARTTLS before anything else is said, and refuse to
    /// send if the server cannot; `false` speaks plain SMTP (a relay on the same host).
    pub starttls: bool,
}
