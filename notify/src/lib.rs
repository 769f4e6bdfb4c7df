//! Earshot's notifications: tells people, on the channels they chose, that an alert
//! opened.
//!
//! Alerts queue their notifications in the database (the outbox, written in the same
//! transaction as the alert; see the store). This crate is the other half: the
//! [`Channel`]s a config defines, the messages sent on them ([`message`], pure), how
//! each kind is sent ([`send`]), and the [`Notifier`] loop that leases due rows, sends
//! them and records what happened, with retries and backoff. It depends on the store,
//! never the other way round, so the crawler, the classifier and the API need not know
//! it exists.

mod channel;
pub mod message;
mod outbox;
pub mod send;

pub use channel::{Channel, ChannelKind, Secret, SmtpTarget};
pub use outbox::{Notifier, NotifierOptions};

/// Whether `raw` is an email address as a channel's `from` or `to` takes it
/// (`Name <user@host>` or `user@host`); the error says what is wrong.
pub fn check_mailbox(raw: &str) -> Result<(), String> {
    raw.trim()
        .parse::<lettre::message::Mailbox>()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// What can go wrong delivering a notification. Each is recorded on the notification's
/// row (its `last_error`) and retried; none stops the loop.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("the receiver answered HTTP {status}: {body}")]
    Rejected { status: u16, body: String },
    #[error("could not reach the receiver: {}", with_causes(.0))]
    Http(#[from] reqwest::Error),
    #[error("no answer within {0:?}")]
    Timeout(std::time::Duration),
    #[error("the mail server refused it: {}", with_causes(.0))]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("the email could not be built: {0}")]
    Email(String),
    #[error("alert {0} is not in the database")]
    MissingAlert(i64),
    #[error("storage: {0}")]
    Store(#[from] earshot_store::StoreError),
}

/// An error and its causes on one line, for the `last_error` people read.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}
