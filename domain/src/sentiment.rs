//! Sentiment: the three labels, a classifier's result for one mention, and the rules that
//! combine a review's star rating with what its text says.

use crate::InvalidValue;
use serde::Serialize;

/// The three sentiment classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    Negative,
    Neutral,
    Positive,
}

impl Label {
    /// In probability order: index 0 is negative, 1 neutral, 2 positive.
    pub const ALL: [Label; 3] = [Label::Negative, Label::Neutral, Label::Positive];

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "negative" => Ok(Self::Negative),
            "neutral" => Ok(Self::Neutral),
            "positive" => Ok(Self::Positive),
            other => Err(InvalidValue::new(format!(
                "sentiment {other:?} must be negative, neutral or positive"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Negative => "negative",
            Self::Neutral => "neutral",
            Self::Positive => "positive",
        }
    }

    /// The most probable label of `[p_negative, p_neutral, p_positive]`.
    pub fn argmax(p: [f32; 3]) -> Self {
        let mut best = 0;
        for i in 1..3 {
            if p[i] > p[best] {
                best = i;
            }
        }
        Self::ALL[best]
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mention's sentiment as classified: the final label, the model's own view, and
/// what it was computed with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sentiment {
    /// The label after the rating rules (see [`label_with_rating`]).
    pub label: Label,
    /// The model's own most probable label.
    pub model_label: Label,
    /// `[p_negative, p_neutral, p_positive]`, summing to 1.
    pub probabilities: [f32; 3],
    /// P(positive) − P(negative), from −1 to 1.
    pub score: f32,
    /// ISO 639-1 code of the text's language, when it could be told.
    pub language: Option<String>,
    /// Model id and version, e.g. `earshot/e5-small-sentiment@1`.
    pub model: String,
    /// The text's embedding (L2-normalised for the default model); empty when the model
    /// gives none.
    #[serde(skip)]
    pub embedding: Vec<f32>,
    /// What the auxiliary heads say about the text, where the model has them.
    pub signals: Signals,
}

/// What the encoder's auxiliary heads say about a text, beside its sentiment. Each is
/// absent when the model directory has no such head (a custom model, or an older build).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Signals {
    /// Hateful or abusive language. A flagged negative mention is more urgent: its alert
    /// is one severity level higher (see [`crate::Severity::of`]).
    pub hate: Option<Signal>,
    /// Mixed praise and complaint. A flagged mention is neither, and never becomes a review
    /// candidate (see [`crate::review_for`]).
    pub mixed: Option<Signal>,
}

impl Signals {
    /// Whether the hate head flagged the text.
    pub fn hateful(&self) -> bool {
        self.hate.is_some_and(|s| s.flagged)
    }

    /// Whether the mixed head flagged the text.
    pub fn mixed(&self) -> bool {
        self.mixed.is_some_and(|s| s.flagged)
    }
}

/// One auxiliary head's verdict on one text.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Signal {
    /// The head's probability, 0..1.
    pub probability: f32,
    /// Whether the probability reached the head's decision threshold (which comes with the
    /// head: the threshold its authors recommend).
    pub flagged: bool,
}

/// How sure the text must be to overrule a star rating.
pub const STRONG_TEXT: f32 = 0.8;

/// The final label of a mention from its text's probabilities and, for a review, its
/// star rating normalised to 0..1 (1 star of 5 is 0.0, 3 stars 0.5, 5 stars 1.0).
///
/// The rules:
/// - no rating: the text decides (the most probable label);
/// - a low rating (≤ 0.25, that is 1–2 stars of 5) is negative, unless the text is
///   strongly positive (P(positive) ≥ [`STRONG_TEXT`]), when the text wins;
/// - a high rating (≥ 0.75, 4–5 stars of 5) is positive, unless the text is strongly
///   negative, when the text wins (a 5-star rant placed on the wrong product);
/// - a middle rating (3 stars of 5) leaves it to the text.
pub fn label_with_rating(p: [f32; 3], rating: Option<f64>) -> Label {
    let text = Label::argmax(p);
    match rating {
        Some(r) if r <= 0.25 => {
            if p[2] >= STRONG_TEXT {
                Label::Positive
            } else {
                Label::Negative
            }
        }
        Some(r) if r >= 0.75 => {
            if p[0] >= STRONG_TEXT {
                Label::Negative
            } else {
                Label::Positive
            }
        }
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNSURE_NEG: [f32; 3] = [0.5, 0.3, 0.2];
    const SURE_POS: [f32; 3] = [0.05, 0.1, 0.85];
    const SURE_NEG: [f32; 3] = [0.9, 0.05, 0.05];
    const MILD_POS: [f32; 3] = [0.2, 0.3, 0.5];

    #[test]
    fn without_a_rating_the_text_decides() {
        assert_eq!(label_with_rating(UNSURE_NEG, None), Label::Negative);
        assert_eq!(label_with_rating(MILD_POS, None), Label::Positive);
    }

    #[test]
    fn one_or_two_stars_are_negative_unless_the_text_is_strongly_positive() {
        assert_eq!(label_with_rating(MILD_POS, Some(0.0)), Label::Negative);
        assert_eq!(label_with_rating(MILD_POS, Some(0.25)), Label::Negative);
        assert_eq!(label_with_rating(SURE_POS, Some(0.0)), Label::Positive);
    }

    #[test]
    fn four_or_five_stars_are_positive_unless_the_text_is_strongly_negative() {
        assert_eq!(label_with_rating(UNSURE_NEG, Some(0.75)), Label::Positive);
        assert_eq!(label_with_rating(UNSURE_NEG, Some(1.0)), Label::Positive);
        assert_eq!(label_with_rating(SURE_NEG, Some(1.0)), Label::Negative);
    }

    #[test]
    fn three_stars_leave_it_to_the_text() {
        assert_eq!(label_with_rating(UNSURE_NEG, Some(0.5)), Label::Negative);
        assert_eq!(label_with_rating(MILD_POS, Some(0.5)), Label::Positive);
    }

    #[test]
    fn labels_parse_and_print() {
        assert_eq!(Label::parse(" Positive ").unwrap(), Label::Positive);
        assert!(Label::parse("meh").is_err());
        assert_eq!(Label::argmax([0.1, 0.7, 0.2]), Label::Neutral);
    }
}
