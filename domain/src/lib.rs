//! Earshot's domain: the typed values that the rest of the system passes around.
//!
//! Everything here is pure. Raw input (config files, crawled pages, HTTP requests) is
//! parsed into these types at the edge, so that past that point no bare `String` stands
//! in for a brand slug, a source name or a URL.

mod access;
mod alert;
mod brand;
mod csv;
mod mention;
mod notification;
mod origin;
mod recipe;
mod review;
mod sentiment;
mod source;
mod spike;
mod text;
mod time;
mod user;

pub use access::{Actor, ApiKey, ApiKeyId, ApiSecret, KeyHash, KeyName, Permission, Role};
pub use alert::{
    alert_for, Alert, AlertAction, AlertEvent, AlertId, AlertKind, AlertRule, AlertRuleId,
    AlertRuleSpec, AlertStatus, AlertSubject, Assignee, InvalidTransition, LanguageCode, Note,
    Severity, SourceAlert, SpikeAlert, Threshold, Transition,
};
pub use brand::{Brand, BrandSlug, BrandTerm};
pub use csv::{csv_field, csv_line, mention_record, MENTION_CSV_HEADER};
pub use mention::{content_hash, Correction, DedupKey, Mention, MentionId, NewMention};
pub use notification::{
    idempotency_key, ChannelName, Notification, NotificationId, NotificationStatus, RetryPolicy,
};
pub use origin::Origin;
pub use recipe::{Preset, Recipe};
pub use review::{
    plain_text, review_for, AutoApprove, Excerpt, InvalidReviewAction, Review, ReviewAction,
    ReviewId, ReviewStatus,
};
pub use sentiment::{label_with_rating, Label, Sentiment, Signal, Signals, STRONG_TEXT};
pub use source::{
    Source, SourceHealth, SourceId, SourceKind, SourceName, SourceState, SourceUrl, UnhealthyAfter,
};
pub use spike::{hour_of, Baseline, Spike, SpikeRule, HOUR_MS, MIN_HISTORY_HOURS, WINDOW_HOURS};
pub use text::{fold, fold_char};
pub use time::Timestamp;
pub use user::{
    Password, Session, SessionHash, SessionOwner, SessionToken, User, UserId, Username,
};

/// Why a raw value could not become a domain value. The message says what was wrong
/// and what is accepted, so it can be shown to a user as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

impl InvalidValue {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
