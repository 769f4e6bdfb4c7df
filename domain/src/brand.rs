//! Brands and the terms that name them.

use crate::InvalidValue;
use serde::Serialize;

/// A brand's stable identifier: 1–64 characters of `a-z`, `0-9` and `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct BrandSlug(String);

impl BrandSlug {
    /// Parses a slug; the error says which characters are allowed.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidValue::new(format!(
                "brand slug {raw:?} must be 1-64 characters of a-z, 0-9 and '-'"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BrandSlug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phrase that names a brand (or, in an exclusion list, a phrase that does not).
/// Non-empty after trimming, at most 200 characters, containing at least one letter or digit.
///
/// A term ending in `*` is a *prefix term*: it matches any word that starts with the part
/// before the `*` (its [stem](BrandTerm::stem)), so `Люмор*` matches `Люмора`, `Люмори` and
/// `Люморою` — the inflected forms that Ukrainian, Russian or Azerbaijani text uses. The
/// stem must have at least 2 letters or digits and end in one; `*` anywhere else is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct BrandTerm(String);

impl BrandTerm {
    /// Parses a term, trimming white space around it. The error says what was wrong.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let t = raw.trim();
        if t.chars().count() > 200 {
            return Err(InvalidValue::new(format!(
                "brand term {t:?} is longer than 200 characters"
            )));
        }
        if !t.chars().any(char::is_alphanumeric) {
            return Err(InvalidValue::new(format!(
                "brand term {raw:?} must contain at least one letter or digit"
            )));
        }
        let stem = t.strip_suffix('*').unwrap_or(t);
        if stem.contains('*') {
            return Err(InvalidValue::new(format!(
                "brand term {t:?} may contain '*' only at its very end, to match words \
                 starting with what comes before it (e.g. \"Люмор*\")"
            )));
        }
        if stem.len() < t.len() {
            if stem.chars().filter(|c| c.is_alphanumeric()).count() < 2 {
                return Err(InvalidValue::new(format!(
                    "prefix term {t:?} needs at least 2 letters or digits before the '*', \
                     so that it cannot match a large part of all text"
                )));
            }
            if !stem.ends_with(char::is_alphanumeric) {
                return Err(InvalidValue::new(format!(
                    "prefix term {t:?} must have a letter or digit directly before the '*'"
                )));
            }
        }
        Ok(Self(t.to_owned()))
    }

    /// The term as configured, including a trailing `*` if it has one.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a prefix term (it ends in `*`): it matches any word starting with
    /// its [stem](BrandTerm::stem), not only the stem as a whole word.
    pub fn is_prefix(&self) -> bool {
        self.0.ends_with('*')
    }

    /// The text to look for: the term without its trailing `*` (the whole term otherwise).
    pub fn stem(&self) -> &str {
        self.0.strip_suffix('*').unwrap_or(&self.0)
    }
}

/// A monitored brand: its slug, display name, the terms that name it in any script,
/// and phrases inside which a term does not count as a mention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Brand {
    pub slug: BrandSlug,
    pub name: String,
    /// At least one term.
    pub terms: Vec<BrandTerm>,
    pub exclude: Vec<BrandTerm>,
    /// The rule that approves this brand's review candidates without a person; `None`
    /// (the default) leaves every one to marketing.
    pub auto_approve: Option<crate::AutoApprove>,
}

impl Brand {
    /// Builds a brand without an auto-approve rule; it must have at least one term.
    pub fn new(
        slug: BrandSlug,
        name: String,
        terms: Vec<BrandTerm>,
        exclude: Vec<BrandTerm>,
    ) -> Result<Self, InvalidValue> {
        if terms.is_empty() {
            return Err(InvalidValue::new(format!(
                "brand {slug} needs at least one term"
            )));
        }
        Ok(Self {
            slug,
            name,
            terms,
            exclude,
            auto_approve: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_ascii() {
        assert!(BrandSlug::parse("acme-2").is_ok());
        assert!(BrandSlug::parse("Acme").is_err());
        assert!(BrandSlug::parse("").is_err());
    }

    #[test]
    fn terms_need_a_letter_or_digit() {
        assert_eq!(BrandTerm::parse("  Акме ").unwrap().as_str(), "Акме");
        assert!(BrandTerm::parse(" - ").is_err());
    }

    #[test]
    fn plain_terms_are_their_own_stem() {
        let t = BrandTerm::parse(" Acme Corp ").unwrap();
        assert!(!t.is_prefix());
        assert_eq!(t.stem(), "Acme Corp");
    }

    #[test]
    fn a_trailing_star_makes_a_prefix_term() {
        let t = BrandTerm::parse(" Люмор* ").unwrap();
        assert!(t.is_prefix());
        assert_eq!(t.as_str(), "Люмор*");
        assert_eq!(t.stem(), "Люмор");
        let t = BrandTerm::parse("Lumora Str*").unwrap();
        assert_eq!((t.is_prefix(), t.stem()), (true, "Lumora Str"));
        assert_eq!(BrandTerm::parse("Ağ*").unwrap().stem(), "Ağ");
        assert_eq!(BrandTerm::parse("4g*").unwrap().stem(), "4g");
    }

    #[test]
    fn prefix_terms_need_two_letters_or_digits_before_the_star() {
        for short in ["a*", "*", "Я*", "-a*", "a-*"] {
            let err = BrandTerm::parse(short).unwrap_err().0;
            assert!(err.contains("at least"), "{short}: {err}");
        }
        let err = BrandTerm::parse("a*").unwrap_err().0;
        assert!(err.contains("at least 2 letters or digits"), "{err}");
    }

    #[test]
    fn the_star_must_directly_follow_a_letter_or_digit() {
        for bad in ["Acme *", "Acme.*", "Acme-*"] {
            let err = BrandTerm::parse(bad).unwrap_err().0;
            assert!(err.contains("directly before"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_star_anywhere_but_at_the_end_is_invalid() {
        for bad in ["E*Trade", "*Acme", "Acme**", "Ac*me*"] {
            let err = BrandTerm::parse(bad).unwrap_err().0;
            assert!(err.contains("only at its very end"), "{bad}: {err}");
        }
    }
}
