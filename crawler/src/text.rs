//! Reducing HTML to plain text, fast, for matching and for snippets.
//!
//! This is not an HTML parser and builds no tree: it is a single left-to-right pass that
//! keeps the text a reader would see. It sits on the hot path of ingest (every feed item's
//! title and body go through it), so it allocates the output once and scans with
//! `memchr` for the only two bytes that matter, `<` and `&`.
//!
//! What it keeps and drops:
//! - tags are dropped; inline tags (`<b>`, `<a>`, `<span>`) join their neighbours
//!   (`Ac<b>me</b>` is `Acme`), block-level tags (`<p>`, `<br>`, `<div>`, `<li>`, `<h1>`,
//!   `<td>`...) separate words;
//! - the contents of `script`, `style`, `noscript`, `template` and `iframe` are dropped;
//! - comments, doctypes and processing instructions are dropped; CDATA sections are text;
//! - character references are decoded: decimal and hexadecimal, and the HTML 4 named set
//!   plus the HTML 5 names that feeds commonly use. Unknown names stay as written.
//!
//! The result is one line: every run of white space (including line breaks, tabs and
//! no-break spaces) becomes one ASCII space, and there is none at either end. Matching and
//! snippets need words, not layout, and one line is what a snippet shows.
//!
//! Malformed input is read the way a browser would where that is cheap, and never panics:
//! a `<` not followed by a letter, `/`, `!` or `?` is text; an unterminated comment or
//! `<script>` runs to the end; a tag with no closing `>` is kept as text (in feeds this is
//! far more often an unescaped `<` in prose than markup). The pass is linear in the input.

use std::borrow::Cow;

/// Reduces an HTML fragment or page to one line of plain text (see the module docs for
/// what is kept). Never panics, whatever the input.
pub fn html_to_text(html: &str) -> String {
    let bytes = html.as_bytes();
    let mut out = Collapser::with_capacity(html.len());
    let mut reader = MarkupReader::new(html);
    let mut i = 0;
    while i < bytes.len() {
        let Some(offset) = memchr::memchr2(b'<', b'&', &bytes[i..]) else {
            out.push_text(&html[i..]);
            break;
        };
        let at = i + offset;
        out.push_text(&html[i..at]);
        i = if bytes[at] == b'&' {
            match decode_reference(&bytes[at..]) {
                Some((c, len)) => {
                    out.push_decoded(c);
                    at + len
                }
                None => {
                    out.push_text("&");
                    at + 1
                }
            }
        } else {
            reader.markup(at, &mut out)
        };
    }
    out.finish()
}

/// Collapses every run of white space in plain text to one ASCII space and trims both
/// ends, the same way [`html_to_text`] shapes its output. For text that is known not to be
/// HTML (JSON Feed's `content_text`, Atom `type="text"`), where `<` and `&` are literal.
pub fn collapse_whitespace(text: &str) -> String {
    let mut out = Collapser::with_capacity(text.len());
    out.push_text(text);
    out.finish()
}

/// The output buffer: appends words with single spaces between them, never at the ends.
struct Collapser {
    out: String,
    /// White space (or a block boundary) was seen since the last word.
    pending_space: bool,
}

impl Collapser {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            out: String::with_capacity(capacity),
            pending_space: false,
        }
    }

    fn push_text(&mut self, text: &str) {
        for (n, word) in text.split(char::is_whitespace).enumerate() {
            if n > 0 {
                self.pending_space = true;
            }
            if !word.is_empty() {
                self.push_word(word);
            }
        }
    }

    fn push_word(&mut self, word: &str) {
        if self.pending_space && !self.out.is_empty() {
            self.out.push(' ');
        }
        self.pending_space = false;
        self.out.push_str(word);
    }

    /// Appends a character that came from a reference. Invisible break hints (soft hyphen,
    /// zero-width space, BOM) are dropped so that `Ac&shy;me` still reads `Acme`.
    fn push_decoded(&mut self, c: char) {
        if c.is_whitespace() {
            self.pending_space = true;
        } else if !matches!(c, '\u{ad}' | '\u{200b}' | '\u{feff}') {
            let mut buf = [0; 4];
            self.push_word(c.encode_utf8(&mut buf));
        }
    }

    /// A block boundary: the next word starts after a space.
    fn break_words(&mut self) {
        self.pending_space = true;
    }

    fn finish(self) -> String {
        self.out
    }
}

/// Reads one piece of markup at a time. Holds the little state that keeps the whole pass
/// linear on hostile input.
struct MarkupReader<'a> {
    html: &'a str,
    /// Position of the last `>` in the input: a tag starting after it can never close.
    last_gt: Option<usize>,
    /// Set once a quoted attribute value ran to the end of the input; from then on quotes
    /// are ignored when looking for a tag's end, so no scan runs to the end twice.
    quotes_unreliable: bool,
}

impl<'a> MarkupReader<'a> {
    fn new(html: &'a str) -> Self {
        Self {
            html,
            last_gt: memchr::memrchr(b'>', html.as_bytes()),
            quotes_unreliable: false,
        }
    }

    /// Handles the markup starting with the `<` at `at`; returns where text resumes.
    fn markup(&mut self, at: usize, out: &mut Collapser) -> usize {
        let bytes = self.html.as_bytes();
        let rest = &bytes[at + 1..];
        match rest.first() {
            Some(b'!') if rest.starts_with(b"!--") => {
                // Search from the second dash so that `<!-->` closes at once, as in HTML.
                match memchr::memmem::find(&bytes[at + 2..], b"-->") {
                    Some(p) => at + 2 + p + 3,
                    None => bytes.len(),
                }
            }
            Some(b'!') if starts_with_ignore_case(rest, b"![CDATA[") => {
                let body = at + 9;
                match memchr::memmem::find(&bytes[body..], b"]]>") {
                    Some(p) => {
                        out.push_text(&self.html[body..body + p]);
                        body + p + 3
                    }
                    None => {
                        out.push_text(&self.html[body..]);
                        bytes.len()
                    }
                }
            }
            // Doctypes, processing instructions and other bogus comments end at the next `>`.
            Some(b'!' | b'?') => match memchr::memchr(b'>', &bytes[at..]) {
                Some(p) => at + p + 1,
                None => bytes.len(),
            },
            Some(b'/') => match rest.get(1) {
                Some(c) if c.is_ascii_alphabetic() => self.tag(at, at + 2, true, out),
                Some(b'>') => at + 3,
                _ => match memchr::memchr(b'>', &bytes[at..]) {
                    Some(p) => at + p + 1,
                    None => bytes.len(),
                },
            },
            Some(c) if c.is_ascii_alphabetic() => self.tag(at, at + 1, false, out),
            _ => {
                out.push_text("<");
                at + 1
            }
        }
    }

    /// Handles a start or end tag whose name begins at `name_start`.
    fn tag(&mut self, at: usize, name_start: usize, is_end: bool, out: &mut Collapser) -> usize {
        let bytes = self.html.as_bytes();
        let name_len = bytes[name_start..]
            .iter()
            .position(|&b| b.is_ascii_whitespace() || b == b'/' || b == b'>')
            .unwrap_or(bytes.len() - name_start);
        let Some(gt) = self.tag_end(name_start + name_len) else {
            // No closing `>`: most likely a bare `<` in prose. Keep it as text.
            out.push_text("<");
            return at + 1;
        };
        let kind = TagKind::of(&bytes[name_start..name_start + name_len]);
        if kind == TagKind::Block {
            out.break_words();
        }
        let self_closing = gt > 0 && bytes[gt - 1] == b'/';
        if kind == TagKind::RawText && !is_end && !self_closing {
            let name = &bytes[name_start..name_start + name_len];
            return skip_raw_text(bytes, gt + 1, name);
        }
        gt + 1
    }

    /// Index of the `>` that ends a tag whose attributes start at `from`. Quotes only
    /// open after `=`, as in HTML, so `<p title=it's>` still ends at its `>`.
    fn tag_end(&mut self, from: usize) -> Option<usize> {
        let bytes = self.html.as_bytes();
        if self.last_gt.is_none_or(|last| last < from) {
            return None;
        }
        if self.quotes_unreliable {
            return memchr::memchr(b'>', &bytes[from..]).map(|p| from + p);
        }
        let mut after_eq = false;
        let mut i = from;
        while i < bytes.len() {
            match bytes[i] {
                b'>' => return Some(i),
                b'=' => after_eq = true,
                q @ (b'"' | b'\'') if after_eq => {
                    match memchr::memchr(q, &bytes[i + 1..]) {
                        Some(p) => i += p + 1,
                        None => {
                            self.quotes_unreliable = true;
                            return memchr::memchr(b'>', &bytes[from..]).map(|p| from + p);
                        }
                    }
                    after_eq = false;
                }
                b if b.is_ascii_whitespace() => {}
                _ => after_eq = false,
            }
            i += 1;
        }
        None
    }
}

/// Index just past the end tag `</name ...>` that closes a raw-text element whose content
/// starts at `from`, or the end of input if it never closes (as in HTML).
fn skip_raw_text(bytes: &[u8], from: usize, name: &[u8]) -> usize {
    let mut i = from;
    while let Some(p) = memchr::memmem::find(&bytes[i..], b"</") {
        let name_start = i + p + 2;
        let name_end = name_start + name.len();
        let closes = bytes
            .get(name_start..name_end)
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
            && bytes
                .get(name_end)
                .is_none_or(|&b| b.is_ascii_whitespace() || b == b'/' || b == b'>');
        if closes {
            return match memchr::memchr(b'>', &bytes[name_end..]) {
                Some(gt) => name_end + gt + 1,
                None => bytes.len(),
            };
        }
        i = name_start;
    }
    bytes.len()
}

/// How a tag affects the text around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagKind {
    /// Text flows through it (`b`, `a`, `span`, unknown tags).
    Inline,
    /// Starts a new line in a browser; separates words.
    Block,
    /// Its content is not text a reader sees (`script`, `style`...).
    RawText,
}

impl TagKind {
    fn of(name: &[u8]) -> Self {
        let mut lower = [0u8; 12];
        let Some(buf) = lower.get_mut(..name.len()) else {
            return Self::Inline;
        };
        for (dst, src) in buf.iter_mut().zip(name) {
            *dst = src.to_ascii_lowercase();
        }
        match &*buf {
            b"script" | b"style" | b"noscript" | b"template" | b"iframe" => Self::RawText,
            b"p" | b"br" | b"div" | b"li" | b"ul" | b"ol" | b"dl" | b"dt" | b"dd" | b"h1"
            | b"h2" | b"h3" | b"h4" | b"h5" | b"h6" | b"blockquote" | b"pre" | b"hr" | b"table"
            | b"thead" | b"tbody" | b"tfoot" | b"tr" | b"td" | b"th" | b"caption" | b"section"
            | b"article" | b"aside" | b"header" | b"footer" | b"nav" | b"main" | b"figure"
            | b"figcaption" | b"address" | b"details" | b"summary" | b"dialog" | b"fieldset"
            | b"legend" | b"form" | b"option" | b"body" | b"head" | b"html" | b"title"
            | b"center" => Self::Block,
            _ => Self::Inline,
        }
    }
}

fn starts_with_ignore_case(haystack: &[u8], prefix: &[u8]) -> bool {
    haystack
        .get(..prefix.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
}

/// Decodes the character reference at the start of `bytes` (which starts with `&`).
/// Returns the character and how many bytes it took, or `None` if this `&` is literal.
fn decode_reference(bytes: &[u8]) -> Option<(char, usize)> {
    if bytes.get(1) == Some(&b'#') {
        let (radix, start) = match bytes.get(2) {
            Some(b'x' | b'X') => (16, 3),
            _ => (10, 2),
        };
        let digits = bytes[start..]
            .iter()
            .take_while(|b| (**b as char).is_digit(radix))
            .count();
        if digits == 0 {
            return None;
        }
        let value = bytes[start..start + digits].iter().fold(0u32, |acc, b| {
            let digit = (*b as char).to_digit(radix).unwrap_or(0);
            // Saturate well above the Unicode range: huge numbers become U+FFFD below.
            acc.saturating_mul(radix)
                .saturating_add(digit)
                .min(0x11_0000)
        });
        let mut end = start + digits;
        if bytes.get(end) == Some(&b';') {
            end += 1;
        }
        return Some((numeric_reference(value), end));
    }
    let name_len = bytes[1..]
        .iter()
        .take(MAX_ENTITY_NAME + 1)
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    if name_len == 0 || name_len > MAX_ENTITY_NAME {
        return None;
    }
    let name = &bytes[1..1 + name_len];
    match bytes.get(1 + name_len) {
        Some(b';') => named_reference(name).map(|c| (c, name_len + 2)),
        // A few legacy names are decoded without a semicolon, as browsers do in text.
        Some(b'=') => None,
        _ if matches!(
            name,
            b"amp" | b"lt" | b"gt" | b"quot" | b"nbsp" | b"copy" | b"reg"
        ) =>
        {
            named_reference(name).map(|c| (c, name_len + 1))
        }
        _ => None,
    }
}

/// The character for a numeric reference, with HTML's fix-ups: NUL, surrogates and
/// out-of-range values become U+FFFD, and 0x80–0x9F are read as windows-1252 (which is
/// what the authors of such references meant).
fn numeric_reference(value: u32) -> char {
    match value {
        0x80..=0x9F => {
            let byte = [value as u8];
            let decoded: Cow<'_, str> = encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(&byte)
                .0;
            decoded.chars().next().unwrap_or('\u{fffd}')
        }
        0 => '\u{fffd}',
        v => char::from_u32(v).unwrap_or('\u{fffd}'),
    }
}

/// The longest entity name in [`NAMED_REFERENCES`].
const MAX_ENTITY_NAME: usize = 14;

fn named_reference(name: &[u8]) -> Option<char> {
    NAMED_REFERENCES
        .binary_search_by(|(n, _)| n.as_bytes().cmp(name))
        .ok()
        .map(|i| NAMED_REFERENCES[i].1)
}

/// Named character references, sorted by name (bytewise) for binary search: the full
/// HTML 4 set, `apos`, and the HTML 5 names seen in real feeds. The names and code points
/// are those of the HTML standard.
#[rustfmt::skip]
static NAMED_REFERENCES: &[(&str, char)] = &[
    ("AElig", '\u{c6}'),
    ("AMP", '\u{26}'),
    ("Aacute", '\u{c1}'),
    ("Acirc", '\u{c2}'),
    ("Agrave", '\u{c0}'),
    ("Alpha", '\u{391}'),
    ("Aring", '\u{c5}'),
    ("Atilde", '\u{c3}'),
    ("Auml", '\u{c4}'),
    ("Beta", '\u{392}'),
    ("COPY", '\u{a9}'),
    ("Ccedil", '\u{c7}'),
    ("Chi", '\u{3a7}'),
    ("Dagger", '\u{2021}'),
    ("Delta", '\u{394}'),
    ("ETH", '\u{d0}'),
    ("Eacute", '\u{c9}'),
    ("Ecirc", '\u{ca}'),
    ("Egrave", '\u{c8}'),
    ("Epsilon", '\u{395}'),
    ("Eta", '\u{397}'),
    ("Euml", '\u{cb}'),
    ("GT", '\u{3e}'),
    ("Gamma", '\u{393}'),
    ("Iacute", '\u{cd}'),
    ("Icirc", '\u{ce}'),
    ("Igrave", '\u{cc}'),
    ("Iota", '\u{399}'),
    ("Iuml", '\u{cf}'),
    ("Kappa", '\u{39a}'),
    ("LT", '\u{3c}'),
    ("Lambda", '\u{39b}'),
    ("Mu", '\u{39c}'),
    ("NewLine", '\u{a}'),
    ("Ntilde", '\u{d1}'),
    ("Nu", '\u{39d}'),
    ("OElig", '\u{152}'),
    ("Oacute", '\u{d3}'),
    ("Ocirc", '\u{d4}'),
    ("Ograve", '\u{d2}'),
    ("Omega", '\u{3a9}'),
    ("Omicron", '\u{39f}'),
    ("Oslash", '\u{d8}'),
    ("Otilde", '\u{d5}'),
    ("Ouml", '\u{d6}'),
    ("Phi", '\u{3a6}'),
    ("Pi", '\u{3a0}'),
    ("Prime", '\u{2033}'),
    ("Psi", '\u{3a8}'),
    ("QUOT", '\u{22}'),
    ("REG", '\u{ae}'),
    ("Rho", '\u{3a1}'),
    ("Scaron", '\u{160}'),
    ("Sigma", '\u{3a3}'),
    ("THORN", '\u{de}'),
    ("TRADE", '\u{2122}'),
    ("Tab", '\u{9}'),
    ("Tau", '\u{3a4}'),
    ("Theta", '\u{398}'),
    ("Uacute", '\u{da}'),
    ("Ucirc", '\u{db}'),
    ("Ugrave", '\u{d9}'),
    ("Upsilon", '\u{3a5}'),
    ("Uuml", '\u{dc}'),
    ("Xi", '\u{39e}'),
    ("Yacute", '\u{dd}'),
    ("Yuml", '\u{178}'),
    ("ZeroWidthSpace", '\u{200b}'),
    ("Zeta", '\u{396}'),
    ("aacute", '\u{e1}'),
    ("acirc", '\u{e2}'),
    ("acute", '\u{b4}'),
    ("aelig", '\u{e6}'),
    ("agrave", '\u{e0}'),
    ("alefsym", '\u{2135}'),
    ("alpha", '\u{3b1}'),
    ("amp", '\u{26}'),
    ("and", '\u{2227}'),
    ("ang", '\u{2220}'),
    ("apos", '\u{27}'),
    ("aring", '\u{e5}'),
    ("ast", '\u{2a}'),
    ("asymp", '\u{2248}'),
    ("atilde", '\u{e3}'),
    ("auml", '\u{e4}'),
    ("bdquo", '\u{201e}'),
    ("beta", '\u{3b2}'),
    ("brvbar", '\u{a6}'),
    ("bsol", '\u{5c}'),
    ("bull", '\u{2022}'),
    ("cap", '\u{2229}'),
    ("ccedil", '\u{e7}'),
    ("cedil", '\u{b8}'),
    ("cent", '\u{a2}'),
    ("centerdot", '\u{b7}'),
    ("check", '\u{2713}'),
    ("chi", '\u{3c7}'),
    ("circ", '\u{2c6}'),
    ("clubs", '\u{2663}'),
    ("colon", '\u{3a}'),
    ("comma", '\u{2c}'),
    ("commat", '\u{40}'),
    ("cong", '\u{2245}'),
    ("copy", '\u{a9}'),
    ("crarr", '\u{21b5}'),
    ("cross", '\u{2717}'),
    ("cup", '\u{222a}'),
    ("curren", '\u{a4}'),
    ("dArr", '\u{21d3}'),
    ("dagger", '\u{2020}'),
    ("darr", '\u{2193}'),
    ("dash", '\u{2010}'),
    ("deg", '\u{b0}'),
    ("delta", '\u{3b4}'),
    ("diams", '\u{2666}'),
    ("divide", '\u{f7}'),
    ("dollar", '\u{24}'),
    ("eacute", '\u{e9}'),
    ("ecirc", '\u{ea}'),
    ("egrave", '\u{e8}'),
    ("empty", '\u{2205}'),
    ("emsp", '\u{2003}'),
    ("emsp13", '\u{2004}'),
    ("emsp14", '\u{2005}'),
    ("ensp", '\u{2002}'),
    ("epsilon", '\u{3b5}'),
    ("equals", '\u{3d}'),
    ("equiv", '\u{2261}'),
    ("eta", '\u{3b7}'),
    ("eth", '\u{f0}'),
    ("euml", '\u{eb}'),
    ("euro", '\u{20ac}'),
    ("excl", '\u{21}'),
    ("exist", '\u{2203}'),
    ("fnof", '\u{192}'),
    ("forall", '\u{2200}'),
    ("frac12", '\u{bd}'),
    ("frac14", '\u{bc}'),
    ("frac34", '\u{be}'),
    ("frasl", '\u{2044}'),
    ("gamma", '\u{3b3}'),
    ("ge", '\u{2265}'),
    ("grave", '\u{60}'),
    ("gt", '\u{3e}'),
    ("hArr", '\u{21d4}'),
    ("hairsp", '\u{200a}'),
    ("half", '\u{bd}'),
    ("harr", '\u{2194}'),
    ("hearts", '\u{2665}'),
    ("hellip", '\u{2026}'),
    ("hookleftarrow", '\u{21a9}'),
    ("horbar", '\u{2015}'),
    ("hyphen", '\u{2010}'),
    ("iacute", '\u{ed}'),
    ("icirc", '\u{ee}'),
    ("iexcl", '\u{a1}'),
    ("igrave", '\u{ec}'),
    ("image", '\u{2111}'),
    ("infin", '\u{221e}'),
    ("int", '\u{222b}'),
    ("iota", '\u{3b9}'),
    ("iquest", '\u{bf}'),
    ("isin", '\u{2208}'),
    ("iuml", '\u{ef}'),
    ("kappa", '\u{3ba}'),
    ("lArr", '\u{21d0}'),
    ("lambda", '\u{3bb}'),
    ("lang", '\u{27e8}'),
    ("laquo", '\u{ab}'),
    ("larr", '\u{2190}'),
    ("larrhk", '\u{21a9}'),
    ("lceil", '\u{2308}'),
    ("lcub", '\u{7b}'),
    ("ldquo", '\u{201c}'),
    ("ldquor", '\u{201e}'),
    ("le", '\u{2264}'),
    ("lfloor", '\u{230a}'),
    ("lowast", '\u{2217}'),
    ("lowbar", '\u{5f}'),
    ("loz", '\u{25ca}'),
    ("lpar", '\u{28}'),
    ("lrm", '\u{200e}'),
    ("lsaquo", '\u{2039}'),
    ("lsqb", '\u{5b}'),
    ("lsquo", '\u{2018}'),
    ("lsquor", '\u{201a}'),
    ("lt", '\u{3c}'),
    ("macr", '\u{af}'),
    ("mdash", '\u{2014}'),
    ("micro", '\u{b5}'),
    ("middot", '\u{b7}'),
    ("minus", '\u{2212}'),
    ("mu", '\u{3bc}'),
    ("nabla", '\u{2207}'),
    ("nbhy", '\u{2011}'),
    ("nbsp", '\u{a0}'),
    ("ndash", '\u{2013}'),
    ("ne", '\u{2260}'),
    ("ni", '\u{220b}'),
    ("not", '\u{ac}'),
    ("notin", '\u{2209}'),
    ("nsub", '\u{2284}'),
    ("ntilde", '\u{f1}'),
    ("nu", '\u{3bd}'),
    ("num", '\u{23}'),
    ("numsp", '\u{2007}'),
    ("oacute", '\u{f3}'),
    ("ocirc", '\u{f4}'),
    ("oelig", '\u{153}'),
    ("ograve", '\u{f2}'),
    ("oline", '\u{203e}'),
    ("omega", '\u{3c9}'),
    ("omicron", '\u{3bf}'),
    ("oplus", '\u{2295}'),
    ("or", '\u{2228}'),
    ("ordf", '\u{aa}'),
    ("ordm", '\u{ba}'),
    ("oslash", '\u{f8}'),
    ("otilde", '\u{f5}'),
    ("otimes", '\u{2297}'),
    ("ouml", '\u{f6}'),
    ("para", '\u{b6}'),
    ("part", '\u{2202}'),
    ("percnt", '\u{25}'),
    ("period", '\u{2e}'),
    ("permil", '\u{2030}'),
    ("perp", '\u{22a5}'),
    ("phi", '\u{3c6}'),
    ("pi", '\u{3c0}'),
    ("piv", '\u{3d6}'),
    ("plus", '\u{2b}'),
    ("plusmn", '\u{b1}'),
    ("pm", '\u{b1}'),
    ("pound", '\u{a3}'),
    ("prime", '\u{2032}'),
    ("prod", '\u{220f}'),
    ("prop", '\u{221d}'),
    ("psi", '\u{3c8}'),
    ("puncsp", '\u{2008}'),
    ("quest", '\u{3f}'),
    ("quot", '\u{22}'),
    ("rArr", '\u{21d2}'),
    ("radic", '\u{221a}'),
    ("rang", '\u{27e9}'),
    ("raquo", '\u{bb}'),
    ("rarr", '\u{2192}'),
    ("rarrw", '\u{219d}'),
    ("rceil", '\u{2309}'),
    ("rcub", '\u{7d}'),
    ("rdquo", '\u{201d}'),
    ("rdquor", '\u{201d}'),
    ("real", '\u{211c}'),
    ("reg", '\u{ae}'),
    ("rfloor", '\u{230b}'),
    ("rho", '\u{3c1}'),
    ("rlm", '\u{200f}'),
    ("rpar", '\u{29}'),
    ("rsaquo", '\u{203a}'),
    ("rsqb", '\u{5d}'),
    ("rsquo", '\u{2019}'),
    ("rsquor", '\u{2019}'),
    ("sbquo", '\u{201a}'),
    ("scaron", '\u{161}'),
    ("sdot", '\u{22c5}'),
    ("sect", '\u{a7}'),
    ("semi", '\u{3b}'),
    ("shy", '\u{ad}'),
    ("sigma", '\u{3c3}'),
    ("sigmaf", '\u{3c2}'),
    ("sim", '\u{223c}'),
    ("sol", '\u{2f}'),
    ("spades", '\u{2660}'),
    ("star", '\u{2606}'),
    ("starf", '\u{2605}'),
    ("sub", '\u{2282}'),
    ("sube", '\u{2286}'),
    ("sum", '\u{2211}'),
    ("sup", '\u{2283}'),
    ("sup1", '\u{b9}'),
    ("sup2", '\u{b2}'),
    ("sup3", '\u{b3}'),
    ("supe", '\u{2287}'),
    ("szlig", '\u{df}'),
    ("tau", '\u{3c4}'),
    ("there4", '\u{2234}'),
    ("theta", '\u{3b8}'),
    ("thetasym", '\u{3d1}'),
    ("thinsp", '\u{2009}'),
    ("thorn", '\u{fe}'),
    ("tilde", '\u{2dc}'),
    ("times", '\u{d7}'),
    ("trade", '\u{2122}'),
    ("uArr", '\u{21d1}'),
    ("uacute", '\u{fa}'),
    ("uarr", '\u{2191}'),
    ("ucirc", '\u{fb}'),
    ("ugrave", '\u{f9}'),
    ("uml", '\u{a8}'),
    ("upsih", '\u{3d2}'),
    ("upsilon", '\u{3c5}'),
    ("uuml", '\u{fc}'),
    ("verbar", '\u{7c}'),
    ("vert", '\u{7c}'),
    ("weierp", '\u{2118}'),
    ("xi", '\u{3be}'),
    ("yacute", '\u{fd}'),
    ("yen", '\u{a5}'),
    ("yuml", '\u{ff}'),
    ("zeta", '\u{3b6}'),
    ("zwj", '\u{200d}'),
    ("zwnj", '\u{200c}'),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_dropped_and_inline_tags_join_their_neighbours() {
        assert_eq!(html_to_text("<b>Acme</b> rocks"), "Acme rocks");
        assert_eq!(
            html_to_text("Ac<b>me</b> <a href=\"/x\">anvils</a>"),
            "Acme anvils"
        );
    }

    #[test]
    fn block_tags_separate_words() {
        assert_eq!(
            html_to_text("<p>one</p><p>two</p>three<br>four<br/>five"),
            "one two three four five"
        );
        assert_eq!(
            html_to_text("<ul><li>a</li><li>b</li></ul><h2>c</h2><td>d</td><TD>e"),
            "a b c d e"
        );
    }

    #[test]
    fn script_style_noscript_and_template_contents_are_dropped() {
        let html = "a<script>var x = '<p>no</p>';</script>b<style>p{}</style>c\
                    <noscript>no</noscript>d<template><p>no</p></template>e<SCRIPT type=x>no</Script >f";
        assert_eq!(html_to_text(html), "abcdef");
    }

    #[test]
    fn a_closing_tag_must_match_the_whole_raw_text_name() {
        assert_eq!(html_to_text("<script>a</scripts> b</script>c"), "c");
    }

    #[test]
    fn comments_doctypes_and_processing_instructions_are_dropped() {
        assert_eq!(
            html_to_text("<!DOCTYPE html><?php x ?>a<!-- <b>hidden</b> -->b<!-->c"),
            "abc"
        );
    }

    #[test]
    fn cdata_sections_are_text() {
        assert_eq!(html_to_text("x <![CDATA[a < b]]> y"), "x a < b y");
    }

    #[test]
    fn named_and_numeric_references_are_decoded() {
        assert_eq!(
            html_to_text("AT&amp;T &lt;3 &quot;q&quot; &apos;s&#39;"),
            "AT&T <3 \"q\" 's'"
        );
        assert_eq!(
            html_to_text("caf&eacute; &euro;5 &hellip; &mdash; &copy;"),
            "café €5 … — ©"
        );
        assert_eq!(html_to_text("&#1050;&#x438;&#X457;&#1074;"), "Київ");
        assert_eq!(html_to_text("&#150; &#x93;x&#x94;"), "– \u{201c}x\u{201d}");
    }

    #[test]
    fn broken_references_stay_as_written() {
        assert_eq!(
            html_to_text("AT&T & co &unknown; &#; &#x; &"),
            "AT&T & co &unknown; &#; &#x; &"
        );
        assert_eq!(html_to_text("a=1&copy=2"), "a=1&copy=2");
        assert_eq!(html_to_text("&amp &lt"), "& <");
    }

    #[test]
    fn out_of_range_numeric_references_become_replacement_characters() {
        assert_eq!(
            html_to_text("&#0;&#xD800;&#99999999999999999999;&#x110000;"),
            "\u{fffd}".repeat(4)
        );
    }

    #[test]
    fn white_space_collapses_to_single_spaces_on_one_line() {
        assert_eq!(html_to_text("  a \n\t b&nbsp;&nbsp;c\u{a0}d  "), "a b c d");
        assert_eq!(html_to_text("Ac&shy;me"), "Acme");
        assert_eq!(collapse_whitespace("  a <b> \n & c "), "a <b> & c");
    }

    #[test]
    fn a_bare_less_than_sign_is_text() {
        assert_eq!(html_to_text("1 < 2 and 3<4, a<b"), "1 < 2 and 3<4, a<b");
        assert_eq!(html_to_text("x</>y<"), "xy<");
    }

    #[test]
    fn quoted_attributes_may_contain_angle_brackets() {
        assert_eq!(
            html_to_text("<a title=\"1 > 0\" href='x>y'>link</a> <p title=it's>z</p>"),
            "link z"
        );
    }

    #[test]
    fn unterminated_markup_never_panics_and_keeps_text() {
        assert_eq!(html_to_text("text <!-- never closed"), "text");
        assert_eq!(html_to_text("text <script>never closed"), "text");
        assert_eq!(
            html_to_text("<a href=\"never closed>word</a> tail"),
            "word tail"
        );
        assert_eq!(html_to_text("<![CDATA[open"), "open");
        for input in [
            "<",
            "&",
            "<!",
            "<!-",
            "<!--",
            "</",
            "</a",
            "<a",
            "<a b='",
            "&#",
            "&#x",
            "<?",
            "<![CDATA",
            "é<é>é&é;",
        ] {
            let _ = html_to_text(input);
        }
    }

    #[test]
    fn multibyte_text_around_markup_is_preserved() {
        assert_eq!(
            html_to_text("<p>Акме&nbsp;— найкращий</p><p>Ağ Şirkət</p>"),
            "Акме — найкращий Ağ Şirkət"
        );
    }

    #[test]
    fn every_prefix_of_tricky_markup_is_handled_without_panicking() {
        let html =
            "<p class=\"a'b\">x&amp;y<!-- c --><script>s</script><![CDATA[d]]>é&#x1F600;</p>";
        for end in (0..=html.len()).filter(|&e| html.is_char_boundary(e)) {
            let _ = html_to_text(&html[..end]);
        }
    }

    #[test]
    fn random_soups_of_markup_fragments_never_panic_and_never_leave_a_tag() {
        let pieces = [
            "<",
            ">",
            "&",
            ";",
            "#",
            "x",
            "<!--",
            "-->",
            "<![CDATA[",
            "]]>",
            "<script>",
            "</script>",
            "<b>",
            "</b",
            "<p ",
            "'",
            "\"",
            "=",
            " ",
            "\n",
            "é",
            "Київ",
            "&amp",
            "&#",
            "&#x1F600;",
            "/",
            "<?",
            "?>",
            "<!",
            "a",
            "<style",
            "</",
            "\u{feff}",
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..3000 {
            let mut html = String::new();
            for _ in 0..(seed % 24) {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                html.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            let text = html_to_text(&html);
            assert!(
                !text.contains("<b>") && !text.contains("<script>"),
                "{html:?} -> {text:?}"
            );
            assert_eq!(text, text.trim(), "{html:?}");
            assert!(!text.contains("  "), "{html:?}");
        }
    }

    #[test]
    fn the_entity_table_is_sorted_and_its_longest_name_is_known() {
        assert!(NAMED_REFERENCES
            .windows(2)
            .all(|w| w[0].0.as_bytes() < w[1].0.as_bytes()));
        let longest = NAMED_REFERENCES.iter().map(|(n, _)| n.len()).max();
        assert_eq!(longest, Some(MAX_ENTITY_NAME));
    }
}
