//! Structured data embedded in web pages: JSON-LD scripts, microdata and RDFa Lite.
//!
//! Pure functions over a page's text, in three layers that callers combine:
//! - [`outline()`] scans the page's tags once, without building a tree, for the JSON-LD
//!   scripts, the `<base>` and `rel=next` links, and whether any microdata or RDFa on the
//!   page may hold a review (so the caller can skip building a tree when none can);
//! - [`json_ld`] reads each script leniently (real pages carry broken JSON-LD) and says
//!   what it repaired and what it could not read;
//! - [`items`] reads microdata and RDFa Lite from a `scraper` tree into a small item
//!   tree, which [`items::Item::to_json_ld`] turns into the same shape as JSON-LD, so one
//!   reader of schema.org terms serves all three syntaxes.

pub mod items;
pub mod json_ld;
pub mod outline;

pub use items::{Item, PropertyValue, Syntax};
pub use json_ld::{read_block, JsonLdBlock, Repair};
pub use outline::{outline, skeleton, PageOutline};
