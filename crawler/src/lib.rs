//! Earshot's crawler: turns configured sources into stored mentions.
//!
//! The pure core (charset decoding, feed parsing, HTML-to-text, link canonicalisation,
//! brand matching, dedup keys, scheduling arithmetic) works on bytes and values only and
//! is tested on real saved inputs. The I/O shell (`fetch`, `crawl`) is thin: one shared
//! HTTP client, and the store as the only place state lives. Politeness decisions
//! (robots.txt, per-host timing and backoff, bot challenges) are pure too; the fetcher
//! only waits and sends.

pub mod article;
pub mod challenge;
pub mod charset;
pub mod crawl;
pub mod dates;
pub mod dedup;
pub mod discourse;
pub mod document;
pub mod feed;
pub mod fetch;
pub mod forum;
pub mod harvest;
pub mod links;
pub mod matching;
pub mod politeness;
pub mod reviews;
pub mod robots;
pub mod schedule;
pub mod structured;
pub mod text;

pub use document::Document;
