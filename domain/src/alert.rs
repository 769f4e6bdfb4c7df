//! Alerts for the PR team: the rules that open them, their severity, and the lifecycle
//! an alert moves through. All pure: the store applies these when it saves sentiments
//! and when someone acts on an alert.
//!
//! Lifecycle (anything else is refused):
//!
//! | from \ action  | acknowledge  | resolve  | dismiss   |
//! |----------------|--------------|----------|-----------|
//! | open           | acknowledged | resolved | dismissed |
//! | acknowledged   | —            | resolved | dismissed |
//! | resolved       | —            | —        | —         |
//! | dismissed      | —            | —        | —         |

use crate::{
    Actor, BrandSlug, ChannelName, InvalidValue, Label, Mention, Origin, Sentiment, SourceName,
    Timestamp,
};
use serde::Serialize;

/// A stored alert's id. Ids grow as alerts open, so they double as a pagination cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AlertId(pub i64);

/// A stored alert rule's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AlertRuleId(pub i64);

/// Where an alert is in its lifecycle (see the module docs for the transitions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Open,
    Acknowledged,
    Resolved,
    Dismissed,
}

impl AlertStatus {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "open" => Ok(Self::Open),
            "acknowledged" => Ok(Self::Acknowledged),
            "resolved" => Ok(Self::Resolved),
            "dismissed" => Ok(Self::Dismissed),
            other => Err(InvalidValue::new(format!(
                "status {other:?} must be open, acknowledged, resolved or dismissed"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Resolved => "resolved",
            Self::Dismissed => "dismissed",
        }
    }

    /// Resolved and dismissed alerts are closed for good.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Resolved | Self::Dismissed)
    }
}

impl std::fmt::Display for AlertStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How bad a negative mention is. From its negative probability: `high` at 0.9 or more,
/// `medium` at 0.8 or more, `low` below (but at or above its rule's threshold). A mention
/// the hate head flags as hateful or abusive is one level higher (`low` becomes
/// `medium`, `medium` becomes `high`): abuse spreads faster and needs an answer sooner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    /// The severity of a mention whose P(negative) is `p_negative`, raised one level when
    /// `hateful`.
    pub fn of(p_negative: f32, hateful: bool) -> Self {
        let base = if p_negative >= 0.9 {
            Self::High
        } else if p_negative >= 0.8 {
            Self::Medium
        } else {
            Self::Low
        };
        match (base, hateful) {
            (Self::Low, true) => Self::Medium,
            (_, true) => Self::High,
            (base, false) => base,
        }
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "low" => Ok(Self::Low),
            "medium" => Ok(Self::Medium),
            "high" => Ok(Self::High),
            other => Err(InvalidValue::new(format!(
                "severity {other:?} must be low, medium or high"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// A move through the lifecycle that someone asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transition {
    Acknowledge,
    Resolve,
    Dismiss,
}

impl Transition {
    /// The status the alert has afterwards.
    pub fn target(self) -> AlertStatus {
        match self {
            Self::Acknowledge => AlertStatus::Acknowledged,
            Self::Resolve => AlertStatus::Resolved,
            Self::Dismiss => AlertStatus::Dismissed,
        }
    }

    /// The statuses this transition may start from.
    pub fn allowed_from(self) -> &'static [AlertStatus] {
        match self {
            Self::Acknowledge => &[AlertStatus::Open],
            Self::Resolve | Self::Dismiss => &[AlertStatus::Open, AlertStatus::Acknowledged],
        }
    }

    /// The status after this transition from `from`, or why it is not allowed.
    pub fn apply(self, from: AlertStatus) -> Result<AlertStatus, InvalidTransition> {
        if self.allowed_from().contains(&from) {
            Ok(self.target())
        } else {
            Err(InvalidTransition {
                from,
                transition: self,
            })
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledge",
            Self::Resolve => "resolve",
            Self::Dismiss => "dismiss",
        }
    }
}

/// A transition the lifecycle does not allow; the message says why, in words a client
/// can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.explain())]
pub struct InvalidTransition {
    pub from: AlertStatus,
    pub transition: Transition,
}

impl InvalidTransition {
    fn explain(&self) -> String {
        let (from, to) = (self.from, self.transition.target());
        if from == to {
            format!("the alert is already {from}")
        } else if from.is_final() {
            format!("the alert is {from}, which is final: a {from} alert cannot be {to}")
        } else {
            format!("a {from} alert cannot be {to}")
        }
    }
}

/// The negative probability at or above which a rule opens an alert: 0 to 1.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Threshold(f64);

impl Threshold {
    /// The default when a rule does not say.
    pub const DEFAULT: Threshold = Threshold(0.7);

    pub fn new(value: f64) -> Result<Self, InvalidValue> {
        if value.is_finite() && (0.0..=1.0).contains(&value) {
            Ok(Self(value))
        } else {
            Err(InvalidValue::new(format!(
                "threshold {value} must be a probability from 0 to 1"
            )))
        }
    }

    pub fn value(self) -> f64 {
        self.0
    }

    /// Whether `p` reaches this threshold. Compared in f32, the precision probabilities
    /// are computed in, so that a configured 0.7 is reached by a probability of 0.7.
    pub fn reached_by(self, p: f32) -> bool {
        p >= self.0 as f32
    }
}

/// An ISO 639-1 language code as the language detector reports it: two lowercase letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct LanguageCode(String);

impl LanguageCode {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let t = raw.trim().to_ascii_lowercase();
        if t.len() == 2 && t.bytes().all(|b| b.is_ascii_lowercase()) {
            Ok(Self(t))
        } else {
            Err(InvalidValue::new(format!(
                "language {raw:?} must be a two-letter ISO 639-1 code such as en, uk or az"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What an alert rule matches: one brand's negative mentions whose P(negative) reaches
/// the threshold, optionally only from some sources or in some languages.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRuleSpec {
    pub brand: BrandSlug,
    pub threshold: Threshold,
    /// Only mentions from these sources; `None` for any source. Never an empty list.
    pub sources: Option<Vec<SourceName>>,
    /// Only mentions in these languages; `None` for any language. A mention whose
    /// language could not be told never matches a rule that names languages.
    pub languages: Option<Vec<LanguageCode>>,
    /// The channels told about each alert the rule opens (see [`crate::Notification`]),
    /// each once, in the order given; empty for none. What an alert opens does not
    /// depend on them.
    pub channels: Vec<ChannelName>,
}

impl AlertRuleSpec {
    /// Builds a rule. An empty list is refused: it would match nothing, and "any" is
    /// written by leaving the list out.
    pub fn new(
        brand: BrandSlug,
        threshold: Threshold,
        sources: Option<Vec<SourceName>>,
        languages: Option<Vec<LanguageCode>>,
    ) -> Result<Self, InvalidValue> {
        if sources.as_ref().is_some_and(Vec::is_empty) {
            return Err(InvalidValue::new(
                "sources must name at least one source; leave it out to match every source",
            ));
        }
        if languages.as_ref().is_some_and(Vec::is_empty) {
            return Err(InvalidValue::new(
                "languages must name at least one language; leave it out to match every language",
            ));
        }
        Ok(Self {
            brand,
            threshold,
            sources,
            languages,
            channels: Vec::new(),
        })
    }

    /// The same rule, telling these channels about its alerts (a name given twice is
    /// kept once).
    pub fn with_channels(self, channels: Vec<ChannelName>) -> Self {
        let mut unique: Vec<ChannelName> = Vec::with_capacity(channels.len());
        for c in channels {
            if !unique.contains(&c) {
                unique.push(c);
            }
        }
        Self {
            channels: unique,
            ..self
        }
    }

    /// Whether a mention of `brand` from `source` with this sentiment should open an
    /// alert under this rule: its final label is negative and P(negative) reaches the
    /// threshold, and it is from a named source and language if the rule names any.
    pub fn matches(&self, brand: &BrandSlug, source: &SourceName, sentiment: &Sentiment) -> bool {
        sentiment.label == Label::Negative
            && self.threshold.reached_by(sentiment.probabilities[0])
            && self.brand == *brand
            && self.sources.as_ref().is_none_or(|s| s.contains(source))
            && self.languages.as_ref().is_none_or(|langs| {
                sentiment
                    .language
                    .as_deref()
                    .is_some_and(|l| langs.iter().any(|c| c.as_str() == l))
            })
    }
}

/// A stored alert rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRule {
    pub id: AlertRuleId,
    #[serde(flatten)]
    pub spec: AlertRuleSpec,
    pub origin: Origin,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The rule that opens an alert for this mention, if any, and the alert's severity.
/// When several rules match, the oldest (lowest id) is named.
pub fn alert_for(
    rules: &[AlertRule],
    brand: &BrandSlug,
    source: &SourceName,
    sentiment: &Sentiment,
) -> Option<(AlertRuleId, Severity)> {
    rules
        .iter()
        .filter(|r| r.spec.matches(brand, source, sentiment))
        .min_by_key(|r| r.id)
        .map(|r| {
            let severity = Severity::of(sentiment.probabilities[0], sentiment.signals.hateful());
            (r.id, severity)
        })
}

/// A person the alert is assigned to, as the team writes it: 1–100 characters, no
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Assignee(String);

impl Assignee {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let t = raw.trim();
        if t.is_empty() || t.chars().count() > 100 || t.chars().any(char::is_control) {
            return Err(InvalidValue::new(format!(
                "assignee {raw:?} must be 1-100 characters without control characters"
            )));
        }
        Ok(Self(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text about an alert: 1–10,000 characters after trimming, and no NUL, which
/// Postgres cannot store in text (it would fail the write, not the request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Note(String);

impl Note {
    pub const MAX_CHARS: usize = 10_000;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let t = raw.trim();
        if t.is_empty() || t.chars().count() > Self::MAX_CHARS || t.contains('\0') {
            return Err(InvalidValue::new(format!(
                "a note must be 1-{} characters, without NUL",
                Self::MAX_CHARS
            )));
        }
        Ok(Self(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stored alert: its lifecycle fields, and what it is about ([`AlertSubject`], which
/// serialises as a `kind` field beside the subject's own fields).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub id: AlertId,
    pub status: AlertStatus,
    /// For a mention alert, from P(negative) when it opened (the mention's current
    /// sentiment is in `mention.sentiment`); spike alerts are `high`, source alerts
    /// `medium`.
    pub severity: Severity,
    pub assignee: Option<String>,
    pub notes: Option<String>,
    pub opened_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(flatten)]
    pub subject: AlertSubject,
}

impl Alert {
    /// What kind of alert this is.
    pub fn kind(&self) -> AlertKind {
        self.subject.kind()
    }

    /// The mention a mention alert is about; `None` for other kinds.
    pub fn mention(&self) -> Option<&Mention> {
        match &self.subject {
            AlertSubject::Mention { mention, .. } => Some(&**mention),
            _ => None,
        }
    }
}

/// What an alert is about. Serialised with a `kind` tag: `mention` (with `rule_id` and
/// `mention`), `spike` (with `brand` and `spike`) or `source` (with `source`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum AlertSubject {
    /// A negative mention that an alert rule matched.
    Mention {
        /// The rule that opened it.
        rule_id: AlertRuleId,
        /// The mention: snippet, source and link, author, language, label and
        /// probabilities, published and discovered times.
        mention: Box<Mention>,
    },
    /// A jump in a brand's hourly negative mentions.
    Spike { brand: BrandSlug, spike: SpikeAlert },
    /// A source that kept failing (an operator alert).
    Source { source: SourceAlert },
}

impl AlertSubject {
    pub fn kind(&self) -> AlertKind {
        match self {
            Self::Mention { .. } => AlertKind::Mention,
            Self::Spike { .. } => AlertKind::Spike,
            Self::Source { .. } => AlertKind::Source,
        }
    }
}

/// The kinds of alert, as stored and as the API filters them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertKind {
    Mention,
    Spike,
    Source,
}

impl AlertKind {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "mention" => Ok(Self::Mention),
            "spike" => Ok(Self::Spike),
            "source" => Ok(Self::Source),
            other => Err(InvalidValue::new(format!(
                "kind {other:?} must be mention, spike or source"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mention => "mention",
            Self::Spike => "spike",
            Self::Source => "source",
        }
    }
}

/// A spike alert's numbers, as they were when it opened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpikeAlert {
    /// The start of the hour that jumped (UTC, on the hour).
    pub hour: Timestamp,
    /// Negative mentions in that hour when the alert opened.
    pub count: u32,
    /// The baseline: mean and standard deviation per hour over the hours before.
    pub mean: f64,
    pub stddev: f64,
    /// `mean + k·stddev`, which `count` was above.
    pub threshold: f64,
    pub k: f64,
    /// How many hours the baseline covered (24 to 168).
    pub history_hours: u32,
    /// The negative mentions of that hour, oldest first: at most
    /// [`SpikeAlert::MAX_MENTION_IDS`] of them (`count` says how many there were).
    pub mention_ids: Vec<crate::MentionId>,
}

impl SpikeAlert {
    /// The most mention ids a spike alert lists.
    pub const MAX_MENTION_IDS: usize = 200;
}

/// A source alert's facts: which source, since when it is unhealthy, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceAlert {
    pub name: SourceName,
    /// When the crawl that made it unhealthy finished.
    pub unhealthy_since: Timestamp,
    /// Its consecutive failed crawls then.
    pub failures: u32,
    /// The last failure's reason then.
    pub last_error: Option<String>,
}

/// What happened to an alert, in its history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertAction {
    /// A rule, spike detection or a source's health opened it.
    Open,
    Acknowledge,
    Resolve,
    Dismiss,
    /// The assignee was set or cleared.
    Assign,
    /// The notes were set or cleared.
    Note,
}

impl AlertAction {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw {
            "open" => Ok(Self::Open),
            "acknowledge" => Ok(Self::Acknowledge),
            "resolve" => Ok(Self::Resolve),
            "dismiss" => Ok(Self::Dismiss),
            "assign" => Ok(Self::Assign),
            "note" => Ok(Self::Note),
            other => Err(InvalidValue::new(format!(
                "alert action {other:?} is unknown"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledge => "acknowledge",
            Self::Resolve => "resolve",
            Self::Dismiss => "dismiss",
            Self::Assign => "assign",
            Self::Note => "note",
        }
    }
}

impl From<Transition> for AlertAction {
    fn from(t: Transition) -> Self {
        match t {
            Transition::Acknowledge => Self::Acknowledge,
            Transition::Resolve => Self::Resolve,
            Transition::Dismiss => Self::Dismiss,
        }
    }
}

/// One line of an alert's history: who did what, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertEvent {
    pub at: Timestamp,
    pub by: Actor,
    pub action: AlertAction,
    /// The status before and after, for lifecycle actions.
    pub from: Option<AlertStatus>,
    pub to: Option<AlertStatus>,
    /// The new assignee, for `assign` (`None` when cleared).
    pub assignee: Option<String>,
    /// The note given with the action, or the new notes for `note`.
    pub note: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn neg(p: f32, language: Option<&str>) -> Sentiment {
        let rest = (1.0 - p) / 2.0;
        Sentiment {
            label: Label::Negative,
            model_label: Label::Negative,
            probabilities: [p, rest, rest],
            score: rest - p,
            language: language.map(Into::into),
            model: "m@1".into(),
            embedding: vec![],
            signals: Default::default(),
        }
    }

    fn rule(
        id: i64,
        threshold: f64,
        sources: Option<&[&str]>,
        langs: Option<&[&str]>,
    ) -> AlertRule {
        AlertRule {
            id: AlertRuleId(id),
            spec: AlertRuleSpec::new(
                BrandSlug::parse("acme").unwrap(),
                Threshold::new(threshold).unwrap(),
                sources.map(|s| s.iter().map(|n| SourceName::parse(n).unwrap()).collect()),
                langs.map(|l| l.iter().map(|c| LanguageCode::parse(c).unwrap()).collect()),
            )
            .unwrap(),
            origin: Origin::Config,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn severity_follows_the_negative_probability() {
        assert_eq!(Severity::of(0.95, false), Severity::High);
        assert_eq!(Severity::of(0.9, false), Severity::High);
        assert_eq!(Severity::of(0.85, false), Severity::Medium);
        assert_eq!(Severity::of(0.8, false), Severity::Medium);
        assert_eq!(Severity::of(0.7, false), Severity::Low);
    }

    #[test]
    fn hateful_language_raises_severity_one_level() {
        assert_eq!(Severity::of(0.7, true), Severity::Medium);
        assert_eq!(Severity::of(0.85, true), Severity::High);
        assert_eq!(Severity::of(0.95, true), Severity::High);
    }

    #[test]
    fn the_alert_of_a_hateful_mention_is_more_urgent() {
        let rules = [rule(1, 0.6, None, None)];
        let (brand, source) = (
            BrandSlug::parse("acme").unwrap(),
            SourceName::parse("forum").unwrap(),
        );
        let mut mention = neg(0.7, None);
        assert_eq!(
            alert_for(&rules, &brand, &source, &mention),
            Some((AlertRuleId(1), Severity::Low))
        );
        mention.signals.hate = Some(crate::Signal {
            probability: 0.6,
            flagged: true,
        });
        assert_eq!(
            alert_for(&rules, &brand, &source, &mention),
            Some((AlertRuleId(1), Severity::Medium))
        );
    }

    #[test]
    fn a_rule_matches_negative_mentions_at_or_above_its_threshold() {
        let (acme, forum) = (
            BrandSlug::parse("acme").unwrap(),
            SourceName::parse("forum").unwrap(),
        );
        let r = rule(1, 0.7, None, None);
        assert!(
            r.spec.matches(&acme, &forum, &neg(0.7, None)),
            "0.7 reaches 0.7"
        );
        assert!(!r.spec.matches(&acme, &forum, &neg(0.69, None)));
        let mut positive = neg(0.95, None);
        positive.label = Label::Positive; // a rating overruled the text
        assert!(!r.spec.matches(&acme, &forum, &positive));
        let other = BrandSlug::parse("globex").unwrap();
        assert!(!r.spec.matches(&other, &forum, &neg(0.95, None)));
    }

    #[test]
    fn rules_can_be_narrowed_by_source_and_language() {
        let acme = BrandSlug::parse("acme").unwrap();
        let (forum, news) = (
            SourceName::parse("forum").unwrap(),
            SourceName::parse("news").unwrap(),
        );
        let r = rule(1, 0.5, Some(&["forum"]), Some(&["uk", "ru"]));
        assert!(r.spec.matches(&acme, &forum, &neg(0.9, Some("uk"))));
        assert!(!r.spec.matches(&acme, &news, &neg(0.9, Some("uk"))));
        assert!(!r.spec.matches(&acme, &forum, &neg(0.9, Some("en"))));
        assert!(!r.spec.matches(&acme, &forum, &neg(0.9, None)));
    }

    #[test]
    fn the_oldest_matching_rule_opens_the_alert() {
        let acme = BrandSlug::parse("acme").unwrap();
        let forum = SourceName::parse("forum").unwrap();
        let rules = [
            rule(7, 0.5, None, None),
            rule(3, 0.8, None, None),
            rule(9, 0.99, None, None),
        ];
        assert_eq!(
            alert_for(&rules, &acme, &forum, &neg(0.85, None)),
            Some((AlertRuleId(3), Severity::Medium))
        );
        assert_eq!(
            alert_for(&rules, &acme, &forum, &neg(0.6, None)),
            Some((AlertRuleId(7), Severity::Low))
        );
        assert_eq!(alert_for(&rules[1..], &acme, &forum, &neg(0.6, None)), None);
    }

    #[test]
    fn the_lifecycle_allows_only_its_table() {
        use AlertStatus::*;
        use Transition::*;
        let table = [
            (Open, Acknowledge, Some(Acknowledged)),
            (Open, Resolve, Some(Resolved)),
            (Open, Dismiss, Some(Dismissed)),
            (Acknowledged, Acknowledge, None),
            (Acknowledged, Resolve, Some(Resolved)),
            (Acknowledged, Dismiss, Some(Dismissed)),
            (Resolved, Acknowledge, None),
            (Resolved, Resolve, None),
            (Resolved, Dismiss, None),
            (Dismissed, Acknowledge, None),
            (Dismissed, Resolve, None),
            (Dismissed, Dismiss, None),
        ];
        for (from, t, to) in table {
            assert_eq!(t.apply(from).ok(), to, "{from} --{}-->", t.as_str());
        }
    }

    #[test]
    fn refused_transitions_say_why() {
        let msg = |from, t: Transition| t.apply(from).unwrap_err().to_string();
        assert_eq!(
            msg(AlertStatus::Dismissed, Transition::Resolve),
            "the alert is dismissed, which is final: a dismissed alert cannot be resolved"
        );
        assert_eq!(
            msg(AlertStatus::Acknowledged, Transition::Acknowledge),
            "the alert is already acknowledged"
        );
        assert_eq!(
            msg(AlertStatus::Resolved, Transition::Resolve),
            "the alert is already resolved"
        );
    }

    #[test]
    fn rule_values_are_checked() {
        assert!(Threshold::new(1.5).is_err() && Threshold::new(f64::NAN).is_err());
        assert!(LanguageCode::parse("UK").is_ok() && LanguageCode::parse("ukr").is_err());
        let acme = BrandSlug::parse("acme").unwrap();
        assert!(AlertRuleSpec::new(acme.clone(), Threshold::DEFAULT, Some(vec![]), None).is_err());
        assert!(AlertRuleSpec::new(acme, Threshold::DEFAULT, None, Some(vec![])).is_err());
        assert!(Note::parse("  ").is_err() && Assignee::parse("Olena").is_ok());
        assert!(Note::parse("a\0b").is_err() && Note::parse("line\nline").is_ok());
    }
}
