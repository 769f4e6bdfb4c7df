//! Scheduling arithmetic: when a source is checked next, after a success or a failure.
//! Pure functions of the previous state and the clock; the store keeps the result.
//!
//! After a success the wait is [`next_interval`]: the source's `every` (or, in adaptive
//! mode, an interval that shrinks while the source has new items and grows while it has
//! none, between [`ADAPTIVE_MIN`] and [`ADAPTIVE_MAX`]), never shorter than the server
//! said its answer stays fresh (`Cache-Control: max-age`, `Expires`, RSS `<ttl>`), and
//! stretched by a per-source [`jitter_factor`] of ±10%, so sources added together drift
//! apart instead of being fetched in the same second forever.

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

/// The shortest interval adaptive mode sets, however busy a source is.
pub const ADAPTIVE_MIN: Duration = Duration::from_secs(5 * 60);

/// The longest interval adaptive mode sets, however quiet a source is.
pub const ADAPTIVE_MAX: Duration = MAX_BACKOFF;

/// How far [`jitter_factor`] moves an interval, either way: 10%.
pub const JITTER: f64 = 0.10;

/// What a successful crawl saw, for adaptive scheduling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Items published since the previous successful crawl.
    Busy,
    /// Nothing new: a 304, or every dated item older than the previous success.
    Quiet,
    /// Cannot tell (the first crawl, or items without dates): the interval stays.
    Unknown,
}

impl Activity {
    /// The activity of a crawl that read items published at `published` (`None`: undated),
    /// or answered 304 (`not_modified`), after the success at `last_success`.
    pub fn of(
        not_modified: bool,
        last_success: Option<Timestamp>,
        published: impl IntoIterator<Item = Option<Timestamp>>,
    ) -> Activity {
        if not_modified {
            return Activity::Quiet;
        }
        let Some(since) = last_success else {
            return Activity::Unknown;
        };
        let mut dated = false;
        for at in published.into_iter().flatten() {
            if at > since {
                return Activity::Busy;
            }
            dated = true;
        }
        if dated {
            Activity::Quiet
        } else {
            Activity::Unknown
        }
    }
}

/// How the next check is chosen after a success.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// Adapt the interval to the source's [`Activity`] (`[crawler] adaptive`).
    pub adaptive: bool,
}

/// A factor in `[1 - JITTER, 1 + JITTER]` that is the same for the same source name, on
/// every machine and in every version (an FNV-1a hash of the name, mixed, not Rust's
/// randomly seeded hasher), so that every worker schedules a source alike.
pub fn jitter_factor(name: &str) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    // FNV alone leaves the high bits of names that differ in their last characters
    // (feed-1, feed-2, ...) close together; this finaliser (MurmurHash3's) spreads them.
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^= hash >> 33;
    // The top 53 bits as a fraction in [0, 1).
    let unit = (hash >> 11) as f64 / (1u64 << 53) as f64;
    1.0 - JITTER + 2.0 * JITTER * unit
}

/// The interval adaptive mode moves from: the wait the previous success set (read back
/// from its state, with the source's jitter taken out), or `every` when the previous
/// crawl failed or there was none.
pub fn current_interval(prev: &SourceState, every: Duration, name: &str) -> Duration {
    match (prev.error_count, prev.last_success_at, prev.next_check_at) {
        (0, Some(success), Some(next)) if next > success => {
            let waited = Duration::from_millis(
                u64::try_from(next.as_millis() - success.as_millis()).unwrap_or(0),
            );
            waited.div_f64(jitter_factor(name))
        }
        _ => every,
    }
}

/// Adaptive mode's step: a busy source is checked twice as often, a quiet one half as
/// often again, within [`ADAPTIVE_MIN`]..=[`ADAPTIVE_MAX`]; an unknown activity keeps
/// the interval (clamped likewise).
pub fn adapt(current: Duration, activity: Activity) -> Duration {
    let next = match activity {
        Activity::Busy => current / 2,
        Activity::Quiet => current.saturating_add(current / 2),
        Activity::Unknown => current,
    };
    next.clamp(ADAPTIVE_MIN, ADAPTIVE_MAX)
}

/// The wait after a successful crawl of the source `name`, checked every `every`: see
/// the module docs. `fresh_for` is how long the server said its answer stays fresh; a
/// hint over [`MAX_BACKOFF`] counts as [`MAX_BACKOFF`]. The result is at most
/// `MAX_BACKOFF` plus the jitter.
pub fn next_interval(
    prev: &SourceState,
    every: Duration,
    name: &str,
    policy: Policy,
    activity: Activity,
    fresh_for: Option<Duration>,
) -> Duration {
    let base = if policy.adaptive {
        adapt(current_interval(prev, every, name), activity)
    } else {
        every
    };
    let base = base.max(fresh_for.unwrap_or(Duration::ZERO).min(MAX_BACKOFF));
    base.mul_f64(jitter_factor(name))
}

/// How long an answer stays fresh by its headers: `Cache-Control: max-age` (which wins,
/// as in HTTP caching), else `Expires` against `now` (the server's clock is not trusted
/// beyond that). `no-store`, `no-cache` and a zero max-age give no hint, nor does a date
/// that cannot be read.
pub fn cache_lifetime(
    cache_control: Option<&str>,
    expires: Option<&str>,
    now: std::time::SystemTime,
) -> Option<Duration> {
    if let Some(cc) = cache_control {
        let mut max_age = None;
        for directive in cc.split(',') {
            let directive = directive.trim().to_ascii_lowercase();
            if directive == "no-store" || directive == "no-cache" {
                return None;
            }
            if let Some(v) = directive.strip_prefix("max-age=") {
                max_age = v.trim_matches('"').parse::<u64>().ok();
            }
        }
        if let Some(secs) = max_age {
            return (secs > 0).then(|| Duration::from_secs(secs));
        }
    }
    let at = httpdate::parse_http_date(expires?.trim()).ok()?;
    at.duration_since(now).ok().filter(|d| !d.is_zero())
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

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn jitter_is_the_same_for_a_name_and_within_ten_percent() {
        assert_eq!(jitter_factor("forum"), jitter_factor("forum"));
        let factors: Vec<f64> = (0..1000)
            .map(|i| jitter_factor(&format!("feed-{i}")))
            .collect();
        assert!(factors.iter().all(|f| (0.9..=1.1).contains(f)));
        let below = factors.iter().filter(|f| **f < 1.0).count();
        assert!(
            (400..600).contains(&below),
            "spread both ways: {below} below 1"
        );
        // Sources added together with one interval are due at different times.
        let mut waits: Vec<u128> = (0..100)
            .map(|i| {
                next_interval(
                    &SourceState::default(),
                    HOUR,
                    &format!("feed-{i}"),
                    Policy::default(),
                    Activity::Unknown,
                    None,
                )
                .as_secs()
                .into()
            })
            .collect();
        waits.sort_unstable();
        waits.dedup();
        assert!(waits.len() > 90, "{} distinct waits of 100", waits.len());
        assert!(waits.iter().all(|w| (3240..=3960).contains(w)));
    }

    #[test]
    fn adaptive_mode_checks_busy_sources_more_often_and_quiet_ones_less_within_bounds() {
        assert_eq!(adapt(HOUR, Activity::Busy), 30 * MIN);
        assert_eq!(adapt(HOUR, Activity::Quiet), 90 * MIN);
        assert_eq!(adapt(HOUR, Activity::Unknown), HOUR);
        assert_eq!(adapt(6 * MIN, Activity::Busy), ADAPTIVE_MIN);
        assert_eq!(adapt(20 * HOUR, Activity::Quiet), ADAPTIVE_MAX);
        assert_eq!(adapt(MIN, Activity::Unknown), ADAPTIVE_MIN);
    }

    #[test]
    fn adaptive_mode_moves_from_the_interval_the_last_success_set() {
        let name = "forum";
        let policy = Policy { adaptive: true };
        let mut state = SourceState::default();
        let mut now = Timestamp::from_millis(1_700_000_000_000);
        // Busy three times from 1h: 30m, 15m, 7.5m (each jittered alike).
        for expected in [30 * MIN, 15 * MIN, 450 * Duration::from_secs(1)] {
            let wait = next_interval(&state, HOUR, name, policy, Activity::Busy, None);
            let unjittered = wait.div_f64(jitter_factor(name));
            assert!(
                unjittered.abs_diff(expected) < Duration::from_secs(1),
                "{unjittered:?} vs {expected:?}"
            );
            state = after_success(&state, now, wait, None, None);
            now = now.plus(wait);
        }
        // Then quiet: 7.5m x 1.5.
        let wait = next_interval(&state, HOUR, name, policy, Activity::Quiet, None);
        assert!(
            wait.div_f64(jitter_factor(name))
                .abs_diff(675 * Duration::from_secs(1))
                < Duration::from_secs(1)
        );
        // A failure in between starts again from `every`.
        let failed = after_failure(&state, now, HOUR, "HTTP 500".into(), None);
        assert_eq!(current_interval(&failed, HOUR, name), HOUR);
        // Without adaptive mode the interval is `every` whatever happened.
        let fixed = next_interval(&state, HOUR, name, Policy::default(), Activity::Busy, None);
        assert_eq!(fixed, HOUR.mul_f64(jitter_factor(name)));
    }

    #[test]
    fn activity_is_busy_only_with_items_newer_than_the_last_success() {
        let t = Timestamp::from_millis(10_000);
        let (old, new) = (
            Some(Timestamp::from_millis(5_000)),
            Some(Timestamp::from_millis(20_000)),
        );
        assert_eq!(Activity::of(false, Some(t), [old, new]), Activity::Busy);
        assert_eq!(Activity::of(false, Some(t), [old, None]), Activity::Quiet);
        assert_eq!(Activity::of(true, Some(t), [new]), Activity::Quiet);
        assert_eq!(
            Activity::of(false, Some(t), [None, None]),
            Activity::Unknown
        );
        assert_eq!(Activity::of(false, None, [new]), Activity::Unknown);
    }

    #[test]
    fn the_server_freshness_hint_is_a_floor_on_the_interval() {
        let name = "news";
        let j = jitter_factor(name);
        let policy = Policy::default();
        let s = SourceState::default();
        let wait = next_interval(&s, 10 * MIN, name, policy, Activity::Unknown, Some(HOUR));
        assert_eq!(wait, HOUR.mul_f64(j));
        let wait = next_interval(&s, 2 * HOUR, name, policy, Activity::Unknown, Some(HOUR));
        assert_eq!(wait, (2 * HOUR).mul_f64(j));
        let wait = next_interval(
            &s,
            MIN,
            name,
            policy,
            Activity::Unknown,
            Some(90 * 24 * HOUR),
        );
        assert_eq!(wait, MAX_BACKOFF.mul_f64(j));
    }

    #[test]
    fn cache_lifetime_reads_max_age_then_expires() {
        use std::time::UNIX_EPOCH;
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let in_2h = httpdate::fmt_http_date(now + 2 * HOUR);
        let past = httpdate::fmt_http_date(now - HOUR);
        assert_eq!(
            cache_lifetime(Some("public, max-age=600"), None, now),
            Some(10 * MIN)
        );
        assert_eq!(
            cache_lifetime(Some("max-age=600"), Some(&in_2h), now),
            Some(10 * MIN)
        );
        assert_eq!(
            cache_lifetime(Some("public"), Some(&in_2h), now),
            Some(2 * HOUR)
        );
        assert_eq!(cache_lifetime(None, Some(&in_2h), now), Some(2 * HOUR));
        assert_eq!(cache_lifetime(None, Some(&past), now), None);
        assert_eq!(cache_lifetime(None, Some("0"), now), None);
        assert_eq!(
            cache_lifetime(Some("no-cache, max-age=600"), None, now),
            None
        );
        assert_eq!(cache_lifetime(Some("max-age=0"), Some(&in_2h), now), None);
        assert_eq!(cache_lifetime(Some("max-age=soon"), None, now), None);
        assert_eq!(cache_lifetime(None, None, now), None);
    }
}
