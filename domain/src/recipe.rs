//! How to read posts off a forum or review page that has no feed: a forum engine's
//! preset, CSS selectors, or both (a selector given overrides the preset's).
//!
//! This is the raw, as-configured form. The crawler compiles it (and so checks every
//! selector) before a source with it is accepted.

use crate::InvalidValue;
use serde::{Deserialize, Serialize};

/// A forum engine whose markup Earshot knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    Discourse,
    Phpbb,
    Xenforo,
    Vbulletin,
}

impl Preset {
    /// Every preset, as written in config.
    pub const ALL: &'static [&'static str] = &["discourse", "phpbb", "xenforo", "vbulletin"];

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw {
            "discourse" => Ok(Self::Discourse),
            "phpbb" => Ok(Self::Phpbb),
            "xenforo" => Ok(Self::Xenforo),
            "vbulletin" => Ok(Self::Vbulletin),
            other => Err(InvalidValue::new(format!(
                "unknown forum preset {other:?}; this version knows: {}",
                Self::ALL.join(", ")
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Discourse => "discourse",
            Self::Phpbb => "phpbb",
            Self::Xenforo => "xenforo",
            Self::Vbulletin => "vbulletin",
        }
    }
}

/// Where the posts (or reviews) are on a page, and how far to follow it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// A forum engine whose selectors are the defaults for every field below.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    /// One post: every other selector is applied inside each element it selects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post: Option<String>,
    /// The post's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// The post's date: a `datetime`, `title` or `data-time` attribute, else its text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// A link (`href`) to the post itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permalink: Option<String>,
    /// The link (`href`, on the whole page) to the next page of posts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page: Option<String>,
    /// At most this many pages are read per crawl, following `next_page`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_pages: Option<u32>,
    /// Links (`href`, on a listing page) to threads to read too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_links: Option<String>,
    /// How many levels of `thread_links` are followed from the source's URL (0: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_depth: Option<u32>,
}

impl Recipe {
    /// Pages read per crawl when `max_pages` is not set.
    pub const DEFAULT_MAX_PAGES: u32 = 5;
    /// The most pages a recipe may ask for per crawl.
    pub const MAX_PAGES: u32 = 100;
    /// The deepest `thread_links` may be followed.
    pub const MAX_DEPTH: u32 = 3;

    /// Pages to read per crawl.
    pub fn max_pages(&self) -> u32 {
        self.max_pages.unwrap_or(Self::DEFAULT_MAX_PAGES)
    }

    /// Levels of thread links to follow: 1 when `thread_links` is set without a depth.
    pub fn max_depth(&self) -> u32 {
        self.max_depth
            .unwrap_or(u32::from(self.thread_links.is_some()))
    }

    /// Checks the limits (the selectors are checked by the crawler, which compiles them).
    pub fn check_limits(&self) -> Result<(), InvalidValue> {
        if let Some(n) = self.max_pages {
            if !(1..=Self::MAX_PAGES).contains(&n) {
                return Err(InvalidValue::new(format!(
                    "max_pages = {n} must be from 1 to {}",
                    Self::MAX_PAGES
                )));
            }
        }
        if let Some(d) = self.max_depth {
            if d > Self::MAX_DEPTH {
                return Err(InvalidValue::new(format!(
                    "max_depth = {d} must be from 0 to {}",
                    Self::MAX_DEPTH
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_and_unknown_ones_list_the_known() {
        assert_eq!(Preset::parse("phpbb"), Ok(Preset::Phpbb));
        let e = Preset::parse("ipb").unwrap_err();
        assert!(e.0.contains("discourse, phpbb, xenforo, vbulletin"), "{e}");
    }

    #[test]
    fn limits_are_bounded_and_defaulted() {
        let r = Recipe::default();
        assert_eq!((r.max_pages(), r.max_depth()), (5, 0));
        let r = Recipe {
            thread_links: Some("a.topic".into()),
            ..Recipe::default()
        };
        assert_eq!(r.max_depth(), 1);
        for bad in [
            Recipe {
                max_pages: Some(0),
                ..Recipe::default()
            },
            Recipe {
                max_pages: Some(101),
                ..Recipe::default()
            },
            Recipe {
                max_depth: Some(4),
                ..Recipe::default()
            },
        ] {
            assert!(bad.check_limits().is_err(), "{bad:?}");
        }
    }
}
