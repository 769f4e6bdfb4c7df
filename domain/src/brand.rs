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
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct BrandTerm(String);

impl BrandTerm {
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
        Ok(Self(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
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
}

impl Brand {
    /// Builds a brand; it must have at least one term.
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
}
