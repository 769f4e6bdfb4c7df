//! Notifications: the pushes (webhook, Slack, email) that tell people an alert opened.
//!
//! Each (alert, channel) pair is one row of a stored outbox, written in the transaction
//! that opens the alert, so an alert is never committed without its notifications nor
//! the other way round. A delivery loop leases due rows, sends them and records the
//! outcome; the pure parts of that (statuses, the retry schedule, idempotency keys) live
//! here.

use crate::{AlertId, InvalidValue, Timestamp};
use serde::Serialize;
use std::time::Duration;

/// A channel's name, as `[[channels]]` defines it and alert rules name it: 1–100
/// characters of ASCII letters, digits, `.`, `_` and `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ChannelName(String);

impl ChannelName {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let ok = !raw.is_empty()
            && raw.len() <= 100
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidValue::new(format!(
                "channel name {raw:?} must be 1-100 characters of letters, digits, '.', '_' and '-'"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ChannelName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stored notification's id; ids grow, so they double as a pagination cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct NotificationId(pub i64);

/// Where a notification is: waiting to be sent (perhaps again, after a failed attempt),
/// sent, or given up on after its last allowed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NotificationStatus {
    Pending,
    Sent,
    Failed,
}

impl NotificationStatus {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "pending" => Ok(Self::Pending),
            "sent" => Ok(Self::Sent),
            "failed" => Ok(Self::Failed),
            other => Err(InvalidValue::new(format!(
                "notification status {other:?} must be pending, sent or failed"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }
}

impl std::fmt::Display for NotificationStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored notification: one alert to tell one channel about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    pub id: NotificationId,
    pub alert_id: AlertId,
    pub channel: ChannelName,
    pub status: NotificationStatus,
    /// Delivery attempts made so far, failed or not.
    pub attempts: u32,
    /// When a pending notification may next be tried.
    pub next_attempt_at: Timestamp,
    /// Why the latest attempt failed, if it did.
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

impl Notification {
    /// The key a receiver uses to drop a message it has already seen. It is the same on
    /// every attempt, so a retry after a send whose outcome was lost can be recognised.
    pub fn idempotency_key(&self) -> String {
        idempotency_key(std::slice::from_ref(&self.id))
    }
}

/// The idempotency key of one message carrying these notifications (one, or a digest's
/// several): `earshot-` and the ids, lowest first. A digest retried with the same rows
/// has the same key.
pub fn idempotency_key(ids: &[NotificationId]) -> String {
    let mut ids: Vec<i64> = ids.iter().map(|i| i.0).collect();
    ids.sort_unstable();
    ids.dedup();
    match ids.as_slice() {
        [one] => format!("earshot-notification-{one}"),
        many => {
            let joined: Vec<String> = many.iter().map(i64::to_string).collect();
            format!("earshot-digest-{}", joined.join("-"))
        }
    }
}

/// How failed deliveries are retried: the `n`th failed attempt waits `base × 2^(n-1)`
/// (capped at `max_delay`) before the next, and after `max_attempts` attempts the
/// notification is given up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// At least 1.
    pub max_attempts: u32,
    pub base: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The default: 8 attempts, 30 s doubling to at most an hour (about 1 h 4 min in all).
    pub const DEFAULT: RetryPolicy = RetryPolicy {
        max_attempts: 8,
        base: Duration::from_secs(30),
        max_delay: Duration::from_secs(3600),
    };

    /// After a failed attempt that was attempt number `attempt` (1 for the first), when
    /// to try again, or `None` to give up.
    pub fn retry_at(&self, attempt: u32, now: Timestamp) -> Option<Timestamp> {
        if attempt >= self.max_attempts {
            return None;
        }
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(31));
        let delay = self.base.saturating_mul(factor).min(self.max_delay);
        Some(now.plus(delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_then_give_up() {
        let policy = RetryPolicy {
            max_attempts: 4,
            base: Duration::from_secs(10),
            max_delay: Duration::from_secs(25),
        };
        let now = Timestamp::from_millis(1_000_000);
        let wait = |n| {
            policy
                .retry_at(n, now)
                .map(|t| t.as_millis() - now.as_millis())
        };
        assert_eq!(wait(1), Some(10_000));
        assert_eq!(wait(2), Some(20_000));
        assert_eq!(wait(3), Some(25_000), "capped at max_delay");
        assert_eq!(wait(4), None, "the fourth attempt was the last");
        assert!(RetryPolicy::DEFAULT.retry_at(40, now).is_none());
        let long = RetryPolicy {
            max_attempts: 100,
            ..RetryPolicy::DEFAULT
        };
        assert_eq!(
            long.retry_at(60, now)
                .map(|t| t.as_millis() - now.as_millis()),
            Some(3_600_000),
            "a huge attempt count does not overflow"
        );
    }

    #[test]
    fn idempotency_keys_are_stable_per_set_of_rows() {
        let ids = |xs: &[i64]| xs.iter().map(|&x| NotificationId(x)).collect::<Vec<_>>();
        assert_eq!(idempotency_key(&ids(&[7])), "earshot-notification-7");
        assert_eq!(
            idempotency_key(&ids(&[9, 3, 5])),
            idempotency_key(&ids(&[3, 5, 9]))
        );
        assert_eq!(idempotency_key(&ids(&[3, 5])), "earshot-digest-3-5");
    }

    #[test]
    fn names_and_statuses_parse() {
        assert!(ChannelName::parse("pr-slack").is_ok());
        assert!(ChannelName::parse("pr slack").is_err() && ChannelName::parse("").is_err());
        assert_eq!(
            NotificationStatus::parse("Sent").unwrap(),
            NotificationStatus::Sent
        );
        assert!(NotificationStatus::parse("lost").is_err());
    }
}
