//! Scheduling arithmetic: when a source is checked next, after a success or a failure.
//! Pure functions of the previous state and the clock; the store keeps the result.

use earshot_domain::{SourceState, Timestamp};
use std::time::Duration;

/// No source waits longer than this between checks, however often it failed.
pub const MAX_BACKOFF: Duration = Duration::from_secs(24 * 3600);

/// The state after a successful fetch (a 2xx or a 304). Validators the server sent
/// replace the old ones; a 304 that sent none keeps the old ones.
pub fn after_success(
    prev: &SourceState,
    now: Timestamp,
    every: Duration,
    etag: Option<String>,
    last_modified: Option<String>,
) -> SourceState {
    SourceState {
        next_check_at: Some(now.plus(every)),
        etag: etag.or_else(|| prev.etag.clone()),
        last_modified: last_modified.or_else(|| prev.last_modified.clone()),
        error_count: 0,
        last_error: None,
        last_success_at: Some(now),
    }
}

/// The state after a failure: one more consecutive error, and the next check pushed
/// out by [`backoff`], or further if the server asked (Retry-After), within
/// [`MAX_BACKOFF`]. Validators and `last_success_at` are kept.
pub fn after_failure(
    prev: &SourceState,
    now: Timestamp,
    every: Duration,
    error: String,
    retry_after: Option<Duration>,
) -> SourceState {
    let error_count = prev.error_count.saturating_add(1);
    let wait = backoff(every, error_count)
        .max(retry_after.unwrap_or(Duration::ZERO))
        .min(MAX_BACKOFF);
    SourceState {
        next_check_at: Some(now.plus(wait)),
        error_count,
        last_error: Some(error),
        ..prev.clone()
    }
}

/// The wait after `errors` consecutive failures: the source's interval, doubled for
/// each failure after the first, capped at [`MAX_BACKOFF`].
pub fn backoff(every: Duration, errors: i64) -> Duration {
    let doublings = u32::try_from(errors.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    every
        .checked_mul(1u32 << doublings)
        .unwrap_or(MAX_BACKOFF)
        .min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn backoff_doubles_per_failure_and_stops_at_a_day() {
        assert_eq!(backoff(30 * MIN, 1), 30 * MIN);
        assert_eq!(backoff(30 * MIN, 2), 60 * MIN);
        assert_eq!(backoff(30 * MIN, 3), 120 * MIN);
        assert_eq!(backoff(30 * MIN, 10), MAX_BACKOFF);
        assert_eq!(backoff(30 * MIN, i64::MAX), MAX_BACKOFF);
    }

    #[test]
    fn a_failure_keeps_validators_and_counts_up() {
        let now = Timestamp::from_millis(1_000_000);
        let prev = SourceState {
            etag: Some("\"a\"".into()),
            error_count: 2,
            ..Default::default()
        };
        let s = after_failure(&prev, now, 30 * MIN, "HTTP 500".into(), None);
        assert_eq!(s.error_count, 3);
        assert_eq!(s.etag.as_deref(), Some("\"a\""));
        assert_eq!(s.next_check_at, Some(now.plus(120 * MIN)));
        assert_eq!(s.last_error.as_deref(), Some("HTTP 500"));
    }

    #[test]
    fn retry_after_wins_when_longer_but_never_past_a_day() {
        let now = Timestamp::from_millis(0);
        let s = after_failure(
            &SourceState::default(),
            now,
            MIN,
            "429".into(),
            Some(600 * MIN),
        );
        assert_eq!(s.next_check_at, Some(now.plus(600 * MIN)));
        let s = after_failure(
            &SourceState::default(),
            now,
            MIN,
            "429".into(),
            Some(MAX_BACKOFF * 3),
        );
        assert_eq!(s.next_check_at, Some(now.plus(MAX_BACKOFF)));
    }

    #[test]
    fn success_resets_errors_and_a_bare_304_keeps_old_validators() {
        let now = Timestamp::from_millis(5);
        let prev = SourceState {
            etag: Some("\"a\"".into()),
            last_modified: Some("x".into()),
            error_count: 4,
            last_error: Some("boom".into()),
            ..Default::default()
        };
        let s = after_success(&prev, now, MIN, None, None);
        assert_eq!(s.error_count, 0);
        assert_eq!(s.last_error, None);
        assert_eq!(s.etag.as_deref(), Some("\"a\""));
        assert_eq!(s.last_success_at, Some(now));
        assert_eq!(s.next_check_at, Some(now.plus(MIN)));
    }
}
