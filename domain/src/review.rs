//! Reviews for marketing: which mentions become review candidates, the auto-approve
//! rule a brand may have, the decisions a review can take, excerpts, and the plain text
//! the public feed serves. All pure: the store applies these when it saves sentiments
//! and when someone decides a review.
//!
//! Lifecycle (anything else is refused):
//!
//! | from \ action | approve  | reject   |
//! |---------------|----------|----------|
//! | pending       | approved | rejected |
//! | approved      | —        | rejected |
//! | rejected      | —        | —        |
//!
//! An approved review can still be withdrawn from the website (rejected): a customer
//! may ask for it, or the product may change. A rejected review stays rejected: the
//! reason may be one nobody should override by accident (the author asked not to be
//! quoted), and the review text is never edited, so there is nothing to fix and approve.
//! An approved review's excerpt is chosen once, at approval.

use crate::{Actor, InvalidValue, Label, Mention, Sentiment, Timestamp};
use serde::Serialize;

/// A stored review's id. Ids grow as reviews are created, so they double as a
/// pagination cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ReviewId(pub i64);

/// Where a review is in its lifecycle (see the module docs for the transitions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewStatus {
    Pending,
    Approved,
    Rejected,
}

impl ReviewStatus {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "pending" => Ok(Self::Pending),
            "approved" => Ok(Self::Approved),
            "rejected" => Ok(Self::Rejected),
            other => Err(InvalidValue::new(format!(
                "status {other:?} must be pending, approved or rejected"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }
}

impl std::fmt::Display for ReviewStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A decision someone asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewAction {
    Approve,
    Reject,
}

impl ReviewAction {
    /// The status the review has afterwards.
    pub fn target(self) -> ReviewStatus {
        match self {
            Self::Approve => ReviewStatus::Approved,
            Self::Reject => ReviewStatus::Rejected,
        }
    }

    /// The statuses this action may start from.
    pub fn allowed_from(self) -> &'static [ReviewStatus] {
        match self {
            Self::Approve => &[ReviewStatus::Pending],
            Self::Reject => &[ReviewStatus::Pending, ReviewStatus::Approved],
        }
    }

    /// The status after this action from `from`, or why it is not allowed.
    pub fn apply(self, from: ReviewStatus) -> Result<ReviewStatus, InvalidReviewAction> {
        if self.allowed_from().contains(&from) {
            Ok(self.target())
        } else {
            Err(InvalidReviewAction { from, action: self })
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Reject => "reject",
        }
    }
}

/// An action the lifecycle does not allow; the message says why, in words a client can
/// show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.explain())]
pub struct InvalidReviewAction {
    pub from: ReviewStatus,
    pub action: ReviewAction,
}

impl InvalidReviewAction {
    fn explain(&self) -> String {
        match (self.from, self.action) {
            (from, action) if from == action.target() => format!("the review is already {from}"),
            (ReviewStatus::Rejected, _) => {
                "the review was rejected, which is final: a rejected review cannot be approved"
                    .to_owned()
            }
            (from, action) => format!("a {from} review cannot be {}", action.target()),
        }
    }
}

/// A brand's rule for approving review candidates without a person: every bound it
/// names must be met, and the candidate's final label must be positive. Bounds are
/// 0 to 1: `min_rating` against the star rating normalised to 0..1 (4 of 5 stars is
/// 0.75), `min_positive` against P(positive). A rule with a `min_rating` never approves
/// a candidate that has no rating.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AutoApprove {
    min_rating: Option<f64>,
    min_positive: Option<f64>,
}

// Both bounds are finite numbers (checked in `new`), for which `==` is an equivalence.
impl Eq for AutoApprove {}

impl AutoApprove {
    /// Who is recorded as having decided an auto-approved review.
    pub const ACTOR: &'static str = "auto-approve rule";

    /// A rule with at least one bound, each from 0 to 1.
    pub fn new(min_rating: Option<f64>, min_positive: Option<f64>) -> Result<Self, InvalidValue> {
        for (name, v) in [("min_rating", min_rating), ("min_positive", min_positive)] {
            if let Some(v) = v {
                if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                    return Err(InvalidValue::new(format!(
                        "auto_approve.{name} = {v} must be from 0 to 1"
                    )));
                }
            }
        }
        if min_rating.is_none() && min_positive.is_none() {
            return Err(InvalidValue::new(
                "auto_approve needs min_rating and/or min_positive (each from 0 to 1); \
                 leave auto_approve out to approve every review by hand",
            ));
        }
        Ok(Self {
            min_rating,
            min_positive,
        })
    }

    pub fn min_rating(&self) -> Option<f64> {
        self.min_rating
    }

    pub fn min_positive(&self) -> Option<f64> {
        self.min_positive
    }

    /// Whether a candidate with this sentiment and rating is approved by the rule.
    pub fn approves(&self, sentiment: &Sentiment, rating: Option<f64>) -> bool {
        sentiment.label == Label::Positive
            && self
                .min_rating
                .is_none_or(|min| rating.is_some_and(|r| r >= min))
            && self
                .min_positive
                .is_none_or(|min| sentiment.probabilities[2] >= min as f32)
    }

    /// The actor recorded for the rule's decisions.
    pub fn actor() -> Actor {
        Actor {
            key_id: None,
            name: Self::ACTOR.to_owned(),
        }
    }
}

/// The review a freshly classified mention gets, if it is a candidate: mentions whose
/// final label is positive, and mentions that carry a star rating (whatever their
/// label, so that marketing sees rated reviews the text classifier doubted). A mention
/// the mixed head flags (praise and complaint at once) is neither, and is never a
/// candidate. A candidate is approved at once when its brand's auto-approve rule approves
/// it, else pending.
pub fn review_for(
    sentiment: &Sentiment,
    rating: Option<f64>,
    rule: Option<&AutoApprove>,
) -> Option<ReviewStatus> {
    if sentiment.signals.mixed() || (sentiment.label != Label::Positive && rating.is_none()) {
        return None;
    }
    Some(match rule {
        Some(rule) if rule.approves(sentiment, rating) => ReviewStatus::Approved,
        _ => ReviewStatus::Pending,
    })
}

/// A shorter part of a review chosen for the website: a contiguous piece of the review
/// text, never an edit of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Excerpt(String);

impl Excerpt {
    /// An excerpt of `text`: non-empty (white space around it is ignored) and found in
    /// `text` exactly as given. The error says which rule it broke.
    pub fn parse(raw: &str, text: &str) -> Result<Self, InvalidValue> {
        let t = raw.trim();
        if t.is_empty() {
            return Err(InvalidValue::new(
                "an excerpt must not be empty; leave it out to publish the whole review",
            ));
        }
        if !text.contains(t) {
            return Err(InvalidValue::new(format!(
                "the excerpt {:?} is not a contiguous part of the review text: copy a piece \
                 of the text exactly as it is (the review text is never edited)",
                shorten(t, 80)
            )));
        }
        Ok(Self(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// A stored review candidate, with the mention it is (text, author, rating, source and
/// link, sentiment).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    pub id: ReviewId,
    pub status: ReviewStatus,
    /// The part of the mention's snippet chosen for publication; `None` for all of it.
    pub excerpt: Option<String>,
    /// Why it was rejected.
    pub reason: Option<String>,
    /// Who approved or rejected it last (a key, or the auto-approve rule).
    pub decided_by: Option<Actor>,
    pub decided_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub mention: Mention,
}

impl Review {
    /// The text to publish: the excerpt if one was chosen, else the whole snippet.
    pub fn published_text(&self) -> &str {
        self.excerpt.as_deref().unwrap_or(&self.mention.snippet)
    }
}

/// `text` as plain text for the public: anything shaped like an HTML tag (`<a …>`,
/// `</p>`, `<!-- … -->`, `<?…>`) removed, and runs of white space collapsed to one
/// space. Stored snippets are text already (the crawler reduces HTML to text); this is
/// the defence for text that arrived some other way. Character references are left as
/// they are: in text they are just characters.
pub fn plain_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let starts_tag = after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?'));
        match after.find('>') {
            Some(end) if starts_tag => {
                out.push(' ');
                rest = &after[end + 1..];
            }
            // A '<' that does not open a tag ("I <3 it", "a < b"), or an unclosed one
            // at the end, which no browser would render as an element.
            _ if starts_tag => {
                rest = "";
            }
            _ => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentiment(label: Label, p_positive: f32) -> Sentiment {
        let rest = (1.0 - p_positive) / 2.0;
        Sentiment {
            label,
            model_label: label,
            probabilities: [rest, rest, p_positive],
            score: p_positive - rest,
            language: Some("en".into()),
            model: "m@1".into(),
            embedding: vec![],
            signals: Default::default(),
        }
    }

    #[test]
    fn a_mention_flagged_mixed_is_not_a_candidate_even_with_stars() {
        let mut mixed = sentiment(Label::Positive, 0.8);
        mixed.signals.mixed = Some(crate::Signal {
            probability: 0.8,
            flagged: true,
        });
        assert_eq!(review_for(&mixed, None, None), None);
        assert_eq!(review_for(&mixed, Some(1.0), None), None);
        mixed.signals.mixed = Some(crate::Signal {
            probability: 0.3,
            flagged: false,
        });
        assert_eq!(review_for(&mixed, None, None), Some(ReviewStatus::Pending));
    }

    #[test]
    fn candidates_are_positive_mentions_and_rated_ones() {
        let pos = sentiment(Label::Positive, 0.8);
        let neg = sentiment(Label::Negative, 0.1);
        assert_eq!(review_for(&pos, None, None), Some(ReviewStatus::Pending));
        assert_eq!(review_for(&neg, None, None), None);
        assert_eq!(
            review_for(&neg, Some(0.0), None),
            Some(ReviewStatus::Pending)
        );
        let neutral = sentiment(Label::Neutral, 0.3);
        assert_eq!(review_for(&neutral, None, None), None);
    }

    #[test]
    fn the_auto_approve_rule_needs_every_bound_it_names_and_a_positive_label() {
        let both = AutoApprove::new(Some(0.75), Some(0.9)).unwrap();
        let sure = sentiment(Label::Positive, 0.95);
        assert!(both.approves(&sure, Some(1.0)));
        assert!(!both.approves(&sure, Some(0.5)));
        assert!(!both.approves(&sure, None), "a rating bound needs a rating");
        assert!(!both.approves(&sentiment(Label::Positive, 0.85), Some(1.0)));
        assert!(!both.approves(&sentiment(Label::Negative, 0.95), Some(1.0)));
        let text_only = AutoApprove::new(None, Some(0.9)).unwrap();
        assert!(text_only.approves(&sure, None));
        assert_eq!(
            review_for(&sure, None, Some(&text_only)),
            Some(ReviewStatus::Approved)
        );
        assert_eq!(
            review_for(&sentiment(Label::Positive, 0.6), None, Some(&text_only)),
            Some(ReviewStatus::Pending)
        );
    }

    #[test]
    fn auto_approve_bounds_are_checked() {
        assert!(AutoApprove::new(None, None)
            .unwrap_err()
            .0
            .contains("min_rating and/or min_positive"));
        assert!(AutoApprove::new(Some(1.5), None).is_err());
        assert!(AutoApprove::new(None, Some(f64::NAN)).is_err());
    }

    #[test]
    fn the_lifecycle_allows_only_its_table() {
        use ReviewAction::*;
        use ReviewStatus::*;
        let table = [
            (Pending, Approve, Some(Approved)),
            (Pending, Reject, Some(Rejected)),
            (Approved, Approve, None),
            (Approved, Reject, Some(Rejected)),
            (Rejected, Approve, None),
            (Rejected, Reject, None),
        ];
        for (from, action, to) in table {
            assert_eq!(
                action.apply(from).ok(),
                to,
                "{from} --{}-->",
                action.as_str()
            );
        }
        let msg = |from, a: ReviewAction| a.apply(from).unwrap_err().to_string();
        assert_eq!(msg(Approved, Approve), "the review is already approved");
        assert!(msg(Rejected, Approve).contains("final"));
    }

    #[test]
    fn an_excerpt_is_a_contiguous_part_of_the_text() {
        let text = "The kettle boils fast. Support was kind. Would buy again.";
        assert_eq!(
            Excerpt::parse("  Support was kind. ", text)
                .unwrap()
                .as_str(),
            "Support was kind."
        );
        assert!(
            Excerpt::parse("The kettle boils fast. Would buy again.", text)
                .unwrap_err()
                .0
                .contains("not a contiguous part")
        );
        assert!(Excerpt::parse("support was kind", text).is_err(), "exact");
        assert!(Excerpt::parse(" ", text).is_err());
    }

    #[test]
    fn plain_text_drops_tags_and_keeps_other_angle_brackets() {
        assert_eq!(
            plain_text(
                "Great <b>kettle</b>!<script>alert(1)</script> <img src=x onerror=alert(2)>"
            ),
            "Great kettle ! alert(1)"
        );
        assert_eq!(plain_text("I <3 it, a < b"), "I <3 it, a < b");
        assert_eq!(plain_text("ok <!-- hidden --> fine"), "ok fine");
        assert_eq!(plain_text("cut <img src=x onerror=alert(1)"), "cut");
        assert_eq!(plain_text("  two\n\nlines "), "two lines");
    }
}
