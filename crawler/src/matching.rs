//! Brand matching: finding which brands a document names, and where.
//!
//! Every brand's terms and exclusion phrases go into one Aho-Corasick automaton, so a
//! document is scanned once however many brands there are (1,000 terms cost one pass).
//! The search is overlapping: every occurrence of every pattern is reported, so one
//! brand's term can never hide another brand's (or its own exclusion) by overlapping it.
//!
//! Matching happens on a folded copy of the text (see [`earshot_domain::fold_char`]:
//! lowercase, accents removed, in any script), built with a map back to the original byte
//! offsets, so that the matched term and the snippet are cut from the text as written.
//! Runs of white space are folded to one space on both sides as well, so `Café Niño`
//! matches `cafe\n  nino`.
//!
//! A hit counts only if it is word-bounded (the folded characters just before and after
//! it are not alphanumeric, in any script, or it touches the start or end of the text)
//! and does not lie inside an occurrence of one of the same brand's exclusion phrases.
//! Scripts written without spaces between words (Chinese, Japanese, Thai) therefore only
//! match where the term stands apart, e.g. in Latin-script text or next to punctuation.
//!
//! Prefix terms and exclusions (`Люмор*`, see [`earshot_domain::BrandTerm::is_prefix`])
//! put their stem into the same automaton. Their hits need only the left boundary; each
//! then extends to the end of the word it starts (`Люморою`), so the matched term, the
//! snippet's hit and an exclusion's span are the whole inflected word as written.

use crate::dedup::dedup_key;
use crate::links::canonical_url;
use crate::Document;
use aho_corasick::{AhoCorasick, MatchKind};
use earshot_domain::{fold_char, Brand, BrandSlug, NewMention};
use std::collections::HashMap;
use std::ops::Range;

/// About how many characters of context a snippet holds, hit included.
const SNIPPET_CHARS: usize = 300;

/// How far (in characters) a snippet's edge may move to avoid cutting a word in half.
const WORD_SLACK: usize = 20;

/// Finds brand mentions in documents. Built once from the configured brands, then
/// shared: [`BrandMatcher::mentions`] takes `&self` and is safe to call from many threads.
#[derive(Debug, Clone)]
pub struct BrandMatcher {
    /// One automaton over every distinct folded term and exclusion phrase; `None` when
    /// there are no brands.
    automaton: Option<AhoCorasick>,
    /// For each pattern id, every brand that uses that pattern and in which role (two
    /// brands may share a term; a phrase may be one brand's term and another's exclusion).
    owners: Vec<Vec<Owner>>,
    /// Brand slugs, indexed like the `brands` slice given to [`BrandMatcher::new`].
    slugs: Vec<BrandSlug>,
}

/// One use of a pattern by a brand.
#[derive(Debug, Clone, Copy)]
struct Owner {
    /// Index into [`BrandMatcher::slugs`].
    brand: usize,
    /// An exclusion phrase rather than a term.
    exclusion: bool,
    /// A prefix term or exclusion: the pattern is its stem, which may go on into a longer
    /// word, and a hit covers that whole word.
    prefix: bool,
}

impl BrandMatcher {
    /// Builds the matcher for `brands`. Terms and exclusions (the stems of prefix ones)
    /// are folded exactly as document text will be.
    ///
    /// # Panics
    ///
    /// Only if the automaton would exceed `aho-corasick`'s size limits (billions of
    /// states), which terms of at most 200 characters cannot reach for any realistic
    /// number of brands.
    pub fn new(brands: &[Brand]) -> BrandMatcher {
        let mut ids: HashMap<String, usize> = HashMap::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut owners: Vec<Vec<Owner>> = Vec::new();
        for (brand, b) in brands.iter().enumerate() {
            let roles = b.terms.iter().map(|t| (t, false));
            for (term, exclusion) in roles.chain(b.exclude.iter().map(|t| (t, true))) {
                let folded = FoldedText::new(term.stem()).text.trim().to_owned();
                if folded.is_empty() {
                    continue;
                }
                let id = *ids.entry(folded).or_insert_with_key(|folded| {
                    patterns.push(folded.clone());
                    owners.push(Vec::new());
                    patterns.len() - 1
                });
                owners[id].push(Owner {
                    brand,
                    exclusion,
                    prefix: term.is_prefix(),
                });
            }
        }
        let automaton = (!patterns.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&patterns)
                .expect("brand terms are far below aho-corasick's size limits")
        });
        BrandMatcher {
            automaton,
            owners,
            slugs: brands.iter().map(|b| b.slug.clone()).collect(),
        }
    }

    /// The mentions of every brand in `doc`: at most one per brand, for its first valid
    /// hit in the title, else its first valid hit in the text (earliest start; the longest
    /// term when several start there). Mentions come in the order the brands were given.
    ///
    /// Each carries the document's dedup key ([`crate::dedup::dedup_key`]), its canonical
    /// URL, title, author and date, the term as written in the document (for a prefix term,
    /// the whole word it starts), and a snippet of about 300 characters centred on the hit
    /// (from the title followed by the start of the text when the hit is in the title),
    /// marked with `…` where it was cut.
    pub fn mentions(&self, doc: &Document) -> Vec<NewMention> {
        let Some(automaton) = &self.automaton else {
            return Vec::new();
        };
        let mut hits: Vec<(usize, Field, Range<usize>)> = Vec::new();
        if !doc.title_is_context {
            hits.extend(
                self.first_hits(automaton, &doc.title)
                    .into_iter()
                    .map(|(brand, range)| (brand, Field::Title, range)),
            );
        }
        hits.extend(
            self.first_hits(automaton, &doc.text)
                .into_iter()
                .map(|(brand, range)| (brand, Field::Text, range)),
        );
        if hits.is_empty() {
            return Vec::new();
        }
        // Stable: for each brand the title hit (pushed first) stays ahead of the text hit.
        hits.sort_by_key(|(brand, _, _)| *brand);
        hits.dedup_by_key(|(brand, _, _)| *brand);

        let key = dedup_key(doc);
        let url = doc.url.as_ref().map(|u| canonical_url(u).to_string());
        let mut title_context: Option<String> = None;
        hits.into_iter()
            .map(|(brand, field, range)| {
                let (matched_term, snippet) = match field {
                    Field::Title => (
                        doc.title[range.clone()].to_owned(),
                        snippet(
                            title_context.get_or_insert_with(|| title_and_text_start(doc)),
                            range,
                        ),
                    ),
                    Field::Text => (
                        doc.text[range.clone()].to_owned(),
                        snippet(&doc.text, range),
                    ),
                };
                NewMention {
                    brand: self.slugs[brand].clone(),
                    dedup_key: key.clone(),
                    url: url.clone(),
                    title: doc.title.clone(),
                    snippet,
                    matched_term,
                    author: doc.author.clone(),
                    published_at: doc.published_at,
                    rating: doc.rating,
                }
            })
            .collect()
    }

    /// For each brand with a valid hit in `text`, the original byte range of its first
    /// one, sorted by brand.
    fn first_hits(&self, automaton: &AhoCorasick, text: &str) -> Vec<(usize, Range<usize>)> {
        if text.is_empty() {
            return Vec::new();
        }
        let folded = FoldedText::new(text);
        let mut found: Vec<(usize, bool, Range<usize>)> = Vec::new();
        for m in automaton.find_overlapping_iter(&folded.text) {
            if !folded.starts_word(m.start()) {
                continue;
            }
            let ends_word = folded.ends_word(m.end());
            let mut word_end = None;
            for owner in &self.owners[m.pattern().as_usize()] {
                let range = if owner.prefix {
                    m.start()..*word_end.get_or_insert_with(|| folded.word_end(m.end()))
                } else if ends_word {
                    m.range()
                } else {
                    continue;
                };
                found.push((owner.brand, owner.exclusion, range));
            }
        }
        found.sort_by_key(|(brand, _, r)| (*brand, r.start, std::cmp::Reverse(r.end)));

        let mut hits = Vec::new();
        for group in found.chunk_by(|a, b| a.0 == b.0) {
            let inside_exclusion = |hit: &Range<usize>| {
                group.iter().any(|(_, exclusion, span)| {
                    *exclusion && span.start <= hit.start && hit.end <= span.end
                })
            };
            let first = group
                .iter()
                .find(|(_, exclusion, hit)| !exclusion && !inside_exclusion(hit));
            if let Some((brand, _, hit)) = first {
                hits.push((*brand, folded.original_range(text, hit.clone())));
            }
        }
        hits
    }
}

/// Which part of a document a hit is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Title,
    Text,
}

/// The text a title hit's snippet is cut from: the title, then the start of the text.
/// The title comes first, so title byte offsets are valid in it unchanged.
fn title_and_text_start(doc: &Document) -> String {
    if doc.text.is_empty() {
        return doc.title.clone();
    }
    // More text than a snippet can show is never needed; a longer text is still marked
    // as cut, because title + separator + this prefix exceeds the snippet length.
    let prefix_end = doc
        .text
        .char_indices()
        .nth(SNIPPET_CHARS)
        .map_or(doc.text.len(), |(i, _)| i);
    format!("{} — {}", doc.title, &doc.text[..prefix_end])
}

/// A folded copy of a text, with each folded byte's origin in the original.
struct FoldedText {
    /// Lowercase, accent-free, white space collapsed to single spaces.
    text: String,
    /// For each byte of `text`, the byte offset of the original character it came from.
    origin: Vec<usize>,
}

impl FoldedText {
    /// Folds `original` with [`fold_char`] (ASCII takes a shortcut that gives the same
    /// result), collapsing each run of white space to one space.
    fn new(original: &str) -> Self {
        let mut text = String::with_capacity(original.len());
        let mut origin = Vec::with_capacity(original.len());
        let mut after_space = false;
        for (pos, c) in original.char_indices() {
            if c.is_whitespace() {
                if !after_space {
                    text.push(' ');
                    origin.push(pos);
                    after_space = true;
                }
                continue;
            }
            after_space = false;
            if c.is_ascii() {
                text.push(c.to_ascii_lowercase());
                origin.push(pos);
            } else {
                fold_char(c, |f| {
                    text.push(f);
                    origin.resize(text.len(), pos);
                });
            }
        }
        Self { text, origin }
    }

    /// A hit starting at `start` does not start inside a word.
    fn starts_word(&self, start: usize) -> bool {
        !self.text[..start]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric)
    }

    /// A hit ending at `end` does not end inside a word.
    fn ends_word(&self, end: usize) -> bool {
        !self.text[end..]
            .chars()
            .next()
            .is_some_and(char::is_alphanumeric)
    }

    /// The end of the word that goes on at `from`: the offset of the first character from
    /// there that is not alphanumeric (or the end of the text). Folding has removed every
    /// combining mark, so none can split a word here; [`FoldedText::original_range`] takes
    /// the removed ones back in.
    fn word_end(&self, from: usize) -> usize {
        self.text[from..]
            .find(|c: char| !c.is_alphanumeric())
            .map_or(self.text.len(), |i| from + i)
    }

    /// The original byte range that folded to `hit` (which is non-empty).
    fn original_range(&self, original: &str, hit: Range<usize>) -> Range<usize> {
        let start = self.origin[hit.start];
        let last = self.origin[hit.end - 1];
        // End where the next folded character's source begins (this also takes in accents
        // that folding removed), unless that is still the same source character. At the end
        // of the folded text, all that follows `last` in the original folded to nothing
        // (accents again), so it is taken in too.
        let end = match self.origin.get(hit.end) {
            Some(&next) if next > last => next,
            Some(_) => last + original[last..].chars().next().map_or(0, char::len_utf8),
            None => original.len(),
        };
        start..end
    }
}

/// About [`SNIPPET_CHARS`] characters of `text` around `hit`, cut at character
/// boundaries, preferably between words, with `…` at each end that was cut.
fn snippet(text: &str, hit: Range<usize>) -> String {
    let hit_chars = text[hit.clone()].chars().count();
    let budget = SNIPPET_CHARS.saturating_sub(hit_chars);
    let (mut start, took_left) = walk_back(text, hit.start, budget / 2);
    let (mut end, took_right) = walk_forward(text, hit.end, budget - took_left);
    if took_left + took_right < budget {
        // The right side ran out of text: give what is left to the left side.
        start = walk_back(text, start, budget - took_left - took_right).0;
    }

    // Prefer not to cut a word in half, moving each edge towards the hit a little.
    if start > 0 && !text[..start].ends_with(char::is_whitespace) {
        let window = &text[start..hit.start];
        let limit = walk_forward(window, 0, WORD_SLACK).0;
        if let Some(space) = window[..limit].find(char::is_whitespace) {
            start += space;
        }
    }
    if end < text.len() && !text[end..].starts_with(char::is_whitespace) {
        let window = &text[hit.end..end];
        let limit = walk_back(window, window.len(), WORD_SLACK).0;
        if let Some(space) = window[limit..].rfind(char::is_whitespace) {
            end = hit.end + limit + space;
        }
    }

    let mut out = String::with_capacity(end - start + 8);
    if !text[..start].trim().is_empty() {
        out.push('…');
    }
    out.push_str(text[start..end].trim());
    if !text[end..].trim().is_empty() {
        out.push('…');
    }
    out
}

/// The byte offset `n` characters before `from` (or 0), and how many characters that is.
fn walk_back(text: &str, from: usize, n: usize) -> (usize, usize) {
    let mut taken = 0;
    let mut at = from;
    for (i, _) in text[..from].char_indices().rev().take(n) {
        at = i;
        taken += 1;
    }
    (at, taken)
}

/// The byte offset `n` characters after `from` (or the end), and how many characters
/// that is.
fn walk_forward(text: &str, from: usize, n: usize) -> (usize, usize) {
    let mut chars = text[from..].char_indices();
    match chars.nth(n) {
        Some((i, _)) => (from + i, n),
        None => (text.len(), text[from..].chars().count()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use earshot_domain::{fold, BrandTerm, Timestamp};

    fn brand(slug: &str, terms: &[&str], exclude: &[&str]) -> Brand {
        let parse = |ts: &[&str]| {
            ts.iter()
                .map(|t| BrandTerm::parse(t).expect("term"))
                .collect()
        };
        Brand::new(
            BrandSlug::parse(slug).expect("slug"),
            slug.to_owned(),
            parse(terms),
            parse(exclude),
        )
        .expect("brand")
    }

    fn doc(title: &str, text: &str) -> Document {
        Document {
            guid: None,
            url: Some(
                url::Url::parse("https://example.org/post?id=1&utm_source=feed#c").expect("url"),
            ),
            title: title.to_owned(),
            text: text.to_owned(),
            author: Some("Ann".to_owned()),
            published_at: Some(Timestamp::from_millis(1_700_000_000_000)),
            ..Document::default()
        }
    }

    fn terms_found(brands: &[Brand], title: &str, text: &str) -> Vec<(String, String)> {
        BrandMatcher::new(brands)
            .mentions(&doc(title, text))
            .into_iter()
            .map(|m| (m.brand.to_string(), m.matched_term))
            .collect()
    }

    fn found(term: &str, text: &str) -> Vec<String> {
        terms_found(&[brand("b", &[term], &[])], "", text)
            .into_iter()
            .map(|(_, t)| t)
            .collect()
    }

    #[test]
    fn english_matching_ignores_case_and_reports_the_term_as_written() {
        assert_eq!(found("Acme", "I love ACME anvils"), ["ACME"]);
    }

    #[test]
    fn a_term_inside_a_longer_word_is_not_a_mention() {
        assert!(found("Acme", "Acmeology is a field").is_empty());
        assert!(found("Acme", "the NotAcme brand").is_empty());
        assert!(found("Acme", "acme2 version").is_empty());
    }

    #[test]
    fn punctuation_is_a_word_boundary_and_terms_may_contain_it() {
        assert_eq!(found("acme.com", "visit acme.com today"), ["acme.com"]);
        assert_eq!(found("Acme", "(acme), acme's"), ["acme"]);
        assert_eq!(found("Acme", "Acme"), ["Acme"]);
    }

    #[test]
    fn ukrainian_terms_match_in_any_case_but_not_inside_longer_words() {
        assert_eq!(found("Акме", "Купив у акме, задоволений"), ["акме"]);
        assert!(found("Акме", "Пан Акмеєв розповів").is_empty());
        assert_eq!(
            found("Київстар", "КИЇВСТАР знову без зв'язку"),
            ["КИЇВСТАР"]
        );
    }

    #[test]
    fn russian_terms_match_with_yo_folded() {
        assert_eq!(found("Ёлка", "Магазин «ЕЛКА» открылся"), ["ЕЛКА"]);
        assert!(found("Ёлка", "ёлками торгуют").is_empty());
    }

    #[test]
    fn spanish_accents_are_ignored_both_ways() {
        assert_eq!(
            found("Café Niño", "fuimos al cafe nino ayer"),
            ["cafe nino"]
        );
        assert_eq!(found("cafe nino", "En el CAFÉ  NIÑO hay"), ["CAFÉ  NIÑO"]);
    }

    #[test]
    fn decomposed_accents_in_the_text_are_part_of_the_matched_term() {
        assert_eq!(found("Café", "un cafe\u{301} negro"), ["cafe\u{301}"]);
    }

    #[test]
    fn azerbaijani_letters_fold_and_schwa_is_kept() {
        assert_eq!(found("Ağ Şirkət", "AG SIRKƏT haqqında"), ["AG SIRKƏT"]);
        assert_eq!(found("Şirkət", "şirkət yaxşıdır"), ["şirkət"]);
        assert!(found("Şirkət", "sirket").is_empty());
    }

    #[test]
    fn an_exclusion_phrase_hides_only_the_hits_inside_it() {
        let acme = [brand("acme", &["Acme"], &["Acme Road Runner"])];
        assert!(terms_found(&acme, "", "Acme Road Runner is fun").is_empty());
        let found = BrandMatcher::new(&acme).mentions(&doc("", "Acme Road Runner and Acme anvils"));
        assert_eq!(found.len(), 1);
        assert!(found[0].snippet.contains("Acme anvils"));
    }

    #[test]
    fn exclusions_belong_to_their_own_brand() {
        let brands = [
            brand("acme", &["Acme"], &["Acme Road Runner"]),
            brand("acme-toys", &["Acme"], &[]),
        ];
        assert_eq!(
            terms_found(&brands, "", "Acme Road Runner"),
            [("acme-toys".to_owned(), "Acme".to_owned())]
        );
    }

    #[test]
    fn an_exclusion_must_itself_be_word_bounded() {
        let acme = [brand("acme", &["Acme"], &["Acme Road"])];
        assert_eq!(terms_found(&acme, "", "Acme Roadster").len(), 1);
    }

    #[test]
    fn one_mention_per_brand_however_often_it_appears() {
        let brands = [brand("acme", &["Acme", "Acme Corp"], &[])];
        let m =
            BrandMatcher::new(&brands).mentions(&doc("", "Acme Corp, acme, ACME and Acme again"));
        assert_eq!(m.len(), 1);
        assert_eq!(
            m[0].matched_term, "Acme Corp",
            "the longest term at the first position wins"
        );
    }

    #[test]
    fn several_brands_in_one_document_each_get_a_mention_in_brand_order() {
        let brands = [
            brand("globex", &["Globex"], &[]),
            brand("acme", &["Acme"], &[]),
            brand("initech", &["Initech"], &[]),
        ];
        assert_eq!(
            terms_found(&brands, "", "Acme beat Globex"),
            [
                ("globex".to_owned(), "Globex".to_owned()),
                ("acme".to_owned(), "Acme".to_owned())
            ]
        );
    }

    #[test]
    fn overlapping_terms_of_different_brands_are_all_found() {
        let brands = [
            brand("acme", &["Acme"], &[]),
            brand("acme-corp", &["Acme Corp"], &[]),
        ];
        assert_eq!(terms_found(&brands, "", "Acme Corp wins").len(), 2);
    }

    #[test]
    fn a_title_hit_wins_and_its_snippet_starts_with_the_title() {
        let brands = [brand("acme", &["Acme"], &[])];
        let m = BrandMatcher::new(&brands).mentions(&doc("ACME recall", "The acme company said"));
        assert_eq!(m[0].matched_term, "ACME");
        assert_eq!(m[0].snippet, "ACME recall — The acme company said");
    }

    #[test]
    fn a_title_that_is_only_context_is_shown_but_not_matched() {
        let brands = [brand("acme", &["Acme"], &[])];
        let matcher = BrandMatcher::new(&brands);
        let mut reply = doc("Acme anvils: thread", "Same here, mine broke too.");
        reply.title_is_context = true;
        assert!(matcher.mentions(&reply).is_empty());
        reply.text = "Mine broke too; Acme never answered.".into();
        let found = matcher.mentions(&reply);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].title, "Acme anvils: thread");
        assert_eq!(found[0].matched_term, "Acme");
    }

    #[test]
    fn mentions_carry_the_documents_key_canonical_url_and_metadata() {
        let brands = [brand("acme", &["Acme"], &[])];
        let d = doc("t", "Acme");
        let m = &BrandMatcher::new(&brands).mentions(&d)[0];
        assert_eq!(m.brand.as_str(), "acme");
        assert_eq!(m.dedup_key, dedup_key(&d));
        assert_eq!(m.url.as_deref(), Some("https://example.org/post?id=1"));
        assert_eq!((m.title.as_str(), m.author.as_deref()), ("t", Some("Ann")));
        assert_eq!(m.published_at, d.published_at);
    }

    #[test]
    fn long_texts_give_a_snippet_of_about_300_characters_centred_on_the_hit() {
        let before = "слово ".repeat(200);
        let after = " word".repeat(200);
        let text = format!("{before}Акме{after}");
        let m = &BrandMatcher::new(&[brand("acme", &["Акме"], &[])]).mentions(&doc("", &text))[0];
        let chars = m.snippet.chars().count();
        assert!((280..=302).contains(&chars), "{chars}: {}", m.snippet);
        assert!(m.snippet.starts_with('…') && m.snippet.ends_with('…'));
        assert!(
            m.snippet.starts_with("…слово") && m.snippet.ends_with("word…"),
            "cut between words: {}",
            m.snippet
        );
        let centre = m.snippet.chars().position(|c| c == 'А').unwrap_or(0);
        assert!((130..=170).contains(&centre), "{centre}");
    }

    #[test]
    fn a_hit_near_the_start_takes_its_context_from_after_it() {
        let text = format!("Acme {}", "x ".repeat(400));
        let m = &BrandMatcher::new(&[brand("acme", &["Acme"], &[])]).mentions(&doc("", &text))[0];
        assert!(m.snippet.starts_with("Acme x"), "{}", m.snippet);
        assert!(m.snippet.ends_with('…'));
        assert!(m.snippet.chars().count() >= 290);
    }

    #[test]
    fn no_brands_and_empty_documents_give_no_mentions() {
        assert!(BrandMatcher::new(&[])
            .mentions(&doc("Acme", "Acme"))
            .is_empty());
        assert!(found("Acme", "").is_empty());
    }

    #[test]
    fn matched_terms_and_snippets_are_cut_from_the_original_text_in_any_script() {
        let brands = [
            brand("acme", &["Acme", "Акме"], &["Acme Road"]),
            brand("cafe", &["Café Niño", "Ağ"], &[]),
            brand("prefixes", &["Nin*", "Ab*", "ACME*"], &["Acme Ro*"]),
        ];
        let matcher = BrandMatcher::new(&brands);
        let words = [
            "ACME",
            "акме",
            "Acme Road",
            "CAFÉ",
            "nino",
            "Niño",
            "ağ",
            "AĞ",
            "e\u{301}",
            "İ",
            "—",
            ".",
            " ",
            "\n",
            "Ab",
        ];
        let mut seed: u64 = 42;
        for _ in 0..3000 {
            let mut text = String::new();
            for _ in 0..(seed % 12) {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                text.push_str(words[(seed >> 33) as usize % words.len()]);
                if (seed >> 7) & 3 == 0 {
                    text.push(' ');
                }
            }
            for m in matcher.mentions(&doc("", &text)) {
                assert!(
                    text.contains(&m.matched_term),
                    "{text:?}: {:?}",
                    m.matched_term
                );
                assert!(
                    m.snippet.contains(m.matched_term.trim()),
                    "{text:?}: {:?}",
                    m.snippet
                );
                assert!(!fold(&m.matched_term).is_empty());
            }
        }
    }

    #[test]
    fn a_prefix_term_matches_inflected_forms_and_reports_the_whole_word() {
        assert_eq!(found("Люмор*", "Купила Люмори вчора"), ["Люмори"]);
        assert_eq!(found("Люмор*", "задоволена люморою!"), ["люморою"]);
        assert_eq!(found("Люмор*", "ЛЮМОРА"), ["ЛЮМОРА"]);
        assert_eq!(found("Люмор*", "Люмора, привіт"), ["Люмора"]);
        assert_eq!(found("Люмор*", "про «Люмору»"), ["Люмору"]);
        assert_eq!(found("Люмор*", "Люмор"), ["Люмор"]);
        assert_eq!(found("Lumor*", "Lumoras2024 rock"), ["Lumoras2024"]);
    }

    #[test]
    fn a_prefix_term_still_needs_the_left_boundary() {
        assert!(found("Люмор*", "колюмор і колюморою").is_empty());
        assert!(found("Люмор*", "Лю мора").is_empty());
        assert!(found("Люмор*", "Лю-мора").is_empty());
        assert!(found("Lumor*", "2lumora").is_empty());
    }

    #[test]
    fn prefix_terms_fold_like_other_terms() {
        assert_eq!(found("Ёлк*", "в ЕЛКЕ и ёлочке"), ["ЕЛКЕ"]);
        assert_eq!(found("Şirkət*", "SIRKƏTIN işi"), ["SIRKƏTIN"]);
        assert_eq!(found("Cafe*", "los CAFÉS"), ["CAFÉS"]);
        assert_eq!(found("Café Niñ*", "al cafe  ninos"), ["cafe  ninos"]);
    }

    #[test]
    fn accents_removed_by_folding_stay_in_the_matched_word() {
        assert_eq!(found("Люмор*", "купив Люмору\u{301}"), ["Люмору\u{301}"]);
        assert_eq!(found("Люмор*", "Люмору\u{301} і"), ["Люмору\u{301}"]);
        assert_eq!(found("Café", "un cafe\u{301}"), ["cafe\u{301}"]);
    }

    #[test]
    fn a_prefix_hit_is_the_whole_word_in_the_snippet() {
        let m = &BrandMatcher::new(&[brand("lumora", &["Люмор*"], &[])])
            .mentions(&doc("", "Ми замовили в Люморою доставку"))[0];
        assert_eq!(m.matched_term, "Люморою");
        assert_eq!(m.snippet, "Ми замовили в Люморою доставку");
    }

    #[test]
    fn a_prefix_exclusion_hides_the_terms_inside_the_words_it_starts() {
        let lumora = [brand("lumora", &["Lumora"], &["Lumora Str*"])];
        assert!(terms_found(&lumora, "", "walk down Lumora Street").is_empty());
        assert!(terms_found(&lumora, "", "Lumora Strasse 5").is_empty());
        assert!(terms_found(&lumora, "", "Lumora Str. 5").is_empty());
        assert_eq!(terms_found(&lumora, "", "Lumora St. 5").len(), 1);
        assert_eq!(
            terms_found(&lumora, "", "Lumora Strasse, then Lumora").len(),
            1
        );
        let both_prefix = [brand("lumora", &["Lumor*"], &["Lumoras Str*"])];
        assert!(terms_found(&both_prefix, "", "the Lumoras Straße").is_empty());
        assert_eq!(
            terms_found(&both_prefix, "", "Lumoras Straße and Lumoras"),
            [("lumora".to_owned(), "Lumoras".to_owned())]
        );
    }

    #[test]
    fn a_plain_and_a_prefix_term_of_one_brand_give_one_mention() {
        let brands = [
            brand("lumora", &["Lumora", "Люмор*", "Lumor*"], &[]),
            brand("other", &["Lumoras"], &[]),
        ];
        assert_eq!(
            terms_found(&brands, "", "Lumora, Люморою and Lumoras"),
            [
                ("lumora".to_owned(), "Lumora".to_owned()),
                ("other".to_owned(), "Lumoras".to_owned())
            ]
        );
        assert_eq!(
            terms_found(&brands, "Люмори", "Lumora"),
            [("lumora".to_owned(), "Люмори".to_owned())]
        );
    }

    #[test]
    fn one_stem_may_be_a_plain_term_of_one_brand_and_a_prefix_of_another() {
        let brands = [
            brand("plain", &["Lumora"], &[]),
            brand("prefix", &["Lumora*"], &[]),
        ];
        assert_eq!(
            terms_found(&brands, "", "Lumoras"),
            [("prefix".to_owned(), "Lumoras".to_owned())]
        );
        assert_eq!(terms_found(&brands, "", "Lumora").len(), 2);
    }

    #[test]
    fn a_prefix_term_works_among_a_thousand_terms() {
        let mut brands: Vec<Brand> = (0..999)
            .map(|i| brand(&format!("b{i}"), &[&format!("Brand{i}x")], &[]))
            .collect();
        brands.push(brand("lumora", &["Люмор*"], &["Люморове місто"]));
        let matcher = BrandMatcher::new(&brands);
        let text = "brand5x, Brand998x і Люморою; Люморове місто";
        let found: Vec<(String, String)> = matcher
            .mentions(&doc("", text))
            .into_iter()
            .map(|m| (m.brand.to_string(), m.matched_term))
            .collect();
        assert_eq!(
            found,
            [
                ("b5".to_owned(), "brand5x".to_owned()),
                ("b998".to_owned(), "Brand998x".to_owned()),
                ("lumora".to_owned(), "Люморою".to_owned())
            ]
        );
        assert!(matcher.mentions(&doc("", "Люморове місто")).is_empty());
    }

    #[test]
    fn ascii_shortcut_folds_exactly_like_fold_char() {
        for b in 0u8..128 {
            let c = b as char;
            if c.is_whitespace() {
                continue;
            }
            let mut slow = String::new();
            fold_char(c, |f| slow.push(f));
            assert_eq!(FoldedText::new(&c.to_string()).text, slow, "{c:?}");
        }
    }
}
