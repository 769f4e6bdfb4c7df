//! Reading one JSON-LD script leniently: strict JSON first, and when that fails, one
//! repair pass and then serde_json again.
//!
//! What the repair pass fixes is what real pages get wrong (the counts are from the 29
//! broken blocks of the recipe-scrapers corpus, whose SOURCE.txt lists them, and the
//! extruct samples): raw control characters and line breaks inside strings (the most
//! common), JavaScript `//` and `/* */` comments, HTML comments and CDATA wrappers around
//! or inside the block, trailing commas, several values in one block (run together, or
//! separated by commas or semicolons), a stray closing bracket after the value, escapes
//! JSON does not have (`\'`, `\x27`, a lone backslash), and blocks written HTML-escaped
//! (`{&quot;@type&quot;: ...}`). It is not a JSON parser: it only rewrites the text outside
//! and inside strings so that serde_json can read it, and it changes nothing in a block
//! that is already valid JSON (such blocks never reach it).
//!
//! What still cannot be read is reported with its position in the block as written, and
//! the values read before it are kept.

use serde_json::Value;

/// What [`read_block`] made of one script.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JsonLdBlock {
    /// Every top-level value read, in order (a block may hold several). `null` and other
    /// scalars are kept here; [`items`] drops them.
    pub values: Vec<Value>,
    /// The repairs that were needed; empty when the block was valid JSON.
    pub repairs: Vec<Repair>,
    /// Why (the rest of) the block could not be read, with the line and column in the
    /// block as written, e.g. `EOF while parsing a string at line 3 column 12`. Values read
    /// before the failure are in `values`.
    pub error: Option<String>,
}

impl JsonLdBlock {
    /// The block held nothing but white space (or comments and wrappers).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.error.is_none()
    }
}

/// One kind of fix the repair pass made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Repair {
    /// The whole block was HTML-escaped (`&quot;` for `"`) and was decoded.
    HtmlEscaped,
    /// A raw control character (line break, tab...) inside a string was escaped.
    ControlCharacter,
    /// A `//` or `/* */` comment was removed.
    ScriptComment,
    /// An HTML comment (`<!-- ... -->`) or its markers were removed.
    HtmlComment,
    /// A CDATA marker (`<![CDATA[`, `]]>`) was removed.
    CdataMarker,
    /// A comma before `}` or `]` was removed.
    TrailingComma,
    /// A comma or semicolon between top-level values was removed.
    ValueSeparator,
    /// A closing bracket with nothing to close was removed.
    StrayBracket,
    /// An escape JSON does not allow was rewritten (`\'` to `'`, `\xHH` to `\u00HH`,
    /// any other backslash kept as a literal backslash).
    InvalidEscape,
}

/// Reads the text of one JSON-LD script (see the module docs). Never panics.
pub fn read_block(script: &str) -> JsonLdBlock {
    let trimmed = script.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if trimmed.is_empty() {
        return JsonLdBlock::default();
    }
    if let Ok(value) = serde_json::from_str::<Value>(trimmed) {
        return JsonLdBlock {
            values: vec![value],
            ..JsonLdBlock::default()
        };
    }
    let lead = trimmed.as_ptr() as usize - script.as_ptr() as usize;
    let mut repairs = Vec::new();
    let decoded;
    let (source, source_offset) = if is_html_escaped(trimmed) {
        repairs.push(Repair::HtmlEscaped);
        decoded = crate::text::html_to_text(trimmed);
        // Positions in decoded text do not map back to the script; report them as they are.
        (decoded.as_str(), None)
    } else {
        (trimmed, Some(lead))
    };
    let repaired = repair(source, &mut repairs);
    repairs.sort_unstable();
    repairs.dedup();

    let mut values = Vec::new();
    let mut error = None;
    let mut stream = serde_json::Deserializer::from_str(&repaired.text).into_iter::<Value>();
    for next in stream.by_ref() {
        match next {
            Ok(value) => values.push(value),
            Err(e) => {
                let at = offset_of(&repaired.text, e.line(), e.column());
                let position = match source_offset {
                    Some(lead) => position(script, lead + repaired.original_offset(at)),
                    None => position(&repaired.text, at),
                };
                error = Some(format!("{} at {position}", without_position(&e)));
                break;
            }
        }
    }
    JsonLdBlock {
        values,
        repairs,
        error,
    }
}

/// The items of a page's JSON-LD: each top-level object, and each element of a top-level
/// array, that is a non-empty object (`null`, scalars and `{}` are not items). `@graph`
/// is left as written; readers that want its nodes walk into it.
pub fn items(blocks: &[JsonLdBlock]) -> Vec<&Value> {
    let mut out = Vec::new();
    for value in blocks.iter().flat_map(|b| &b.values) {
        match value {
            Value::Array(elements) => out.extend(elements.iter().filter(|v| is_item(v))),
            v if is_item(v) => out.push(v),
            _ => {}
        }
    }
    out
}

fn is_item(value: &Value) -> bool {
    value.as_object().is_some_and(|o| !o.is_empty())
}

/// A block written HTML-escaped has no double quote but `&quot;` (or its numeric forms).
fn is_html_escaped(text: &str) -> bool {
    !text.contains('"')
        && (text.contains("&quot;") || text.contains("&#34;") || text.contains("&#x22;"))
}

/// The repaired text, with the map back to the input's byte offsets.
struct Repaired {
    text: String,
    /// (offset in `text`, offset in the input) at every point where the two diverge;
    /// between checkpoints the text is copied byte for byte.
    checkpoints: Vec<(usize, usize)>,
}

impl Repaired {
    fn original_offset(&self, at: usize) -> usize {
        let i = self.checkpoints.partition_point(|&(out, _)| out <= at);
        match i.checked_sub(1).map(|i| self.checkpoints[i]) {
            Some((out, input)) => input + (at - out),
            None => at,
        }
    }
}

/// The repair pass: one left-to-right walk that knows whether it is inside a string and
/// how deep in brackets it is.
fn repair(input: &str, repairs: &mut Vec<Repair>) -> Repaired {
    let bytes = input.as_bytes();
    let mut out = Repaired {
        text: String::with_capacity(input.len() + 16),
        checkpoints: Vec::new(),
    };
    let mut depth = 0usize;
    let mut in_string = false;
    let mut i = 0;
    // Copies input[from..i] verbatim (no checkpoint needed).
    let mut copied = 0;
    macro_rules! edit {
        ($skip_to:expr, $replacement:expr, $kind:expr) => {{
            out.text.push_str(&input[copied..i]);
            out.text.push_str($replacement);
            i = $skip_to;
            copied = i;
            out.checkpoints.push((out.text.len(), i));
            repairs.push($kind);
            continue;
        }};
    }
    while i < bytes.len() {
        let c = bytes[i];
        if in_string {
            match c {
                b'"' => in_string = false,
                b'\\' => {
                    let next = bytes.get(i + 1).copied();
                    match next {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            i += 2;
                            continue;
                        }
                        Some(b'u') if hex_digits(bytes, i + 2, 4) => {
                            i += 6;
                            continue;
                        }
                        Some(b'x') if hex_digits(bytes, i + 2, 2) => {
                            let escape = format!("\\u00{}", &input[i + 2..i + 4]);
                            edit!(i + 4, &escape, Repair::InvalidEscape)
                        }
                        Some(b'\'') => edit!(i + 2, "'", Repair::InvalidEscape),
                        _ => edit!(i + 1, "\\\\", Repair::InvalidEscape),
                    }
                }
                0x00..=0x1f => {
                    let escape = match c {
                        b'\n' => "\\n".to_owned(),
                        b'\r' => "\\r".to_owned(),
                        b'\t' => "\\t".to_owned(),
                        _ => format!("\\u{c:04x}"),
                    };
                    edit!(i + 1, &escape, Repair::ControlCharacter)
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        let rest = &bytes[i..];
        match c {
            b'"' => in_string = true,
            b'/' if rest.starts_with(b"//") => {
                let end = memchr::memchr(b'\n', rest).map_or(bytes.len(), |p| i + p);
                edit!(end, "", Repair::ScriptComment)
            }
            b'/' if rest.starts_with(b"/*") => {
                let end =
                    memchr::memmem::find(&rest[2..], b"*/").map_or(bytes.len(), |p| i + 2 + p + 2);
                edit!(end, " ", Repair::ScriptComment)
            }
            b'<' if rest.starts_with(b"<!--") => {
                // A comment that closes on its own line is a comment; an opener alone is a
                // wrapper around the block, whose closer comes at the end.
                let line_end = memchr::memchr(b'\n', rest).map_or(rest.len(), |p| p);
                let end = match memchr::memmem::find(&rest[..line_end], b"-->") {
                    Some(p) => i + p + 3,
                    None => i + 4,
                };
                edit!(end, " ", Repair::HtmlComment)
            }
            b'-' if rest.starts_with(b"-->") => edit!(i + 3, " ", Repair::HtmlComment),
            b'<' if rest.starts_with(b"<![CDATA[") => edit!(i + 9, " ", Repair::CdataMarker),
            b']' if rest.starts_with(b"]]>") => edit!(i + 3, " ", Repair::CdataMarker),
            b',' | b';' if depth == 0 => edit!(i + 1, " ", Repair::ValueSeparator),
            b',' => {
                if matches!(next_significant(&rest[1..]), Some(b'}' | b']')) {
                    edit!(i + 1, "", Repair::TrailingComma)
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                if depth == 0 {
                    edit!(i + 1, " ", Repair::StrayBracket)
                }
                depth -= 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.text.push_str(&input[copied..]);
    out
}

/// The first byte of `rest` that is neither white space nor inside a `//` or `/* */`
/// comment.
fn next_significant(rest: &[u8]) -> Option<u8> {
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            c if c.is_ascii_whitespace() => i += 1,
            b'/' if rest[i..].starts_with(b"//") => {
                i = memchr::memchr(b'\n', &rest[i..]).map_or(rest.len(), |p| i + p);
            }
            b'/' if rest[i..].starts_with(b"/*") => {
                i = memchr::memmem::find(&rest[i + 2..], b"*/")
                    .map_or(rest.len(), |p| i + 2 + p + 2);
            }
            c => return Some(c),
        }
    }
    None
}

fn hex_digits(bytes: &[u8], from: usize, n: usize) -> bool {
    bytes
        .get(from..from + n)
        .is_some_and(|d| d.iter().all(u8::is_ascii_hexdigit))
}

/// The byte offset of serde_json's (1-based line, 1-based byte column) in `text`.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        memchr::memchr_iter(b'\n', text.as_bytes())
            .nth(line - 2)
            .map_or(text.len(), |p| p + 1)
    };
    (line_start + column.saturating_sub(1)).min(text.len())
}

/// "line L column C" of a byte offset, both 1-based, the column in characters.
fn position(text: &str, at: usize) -> String {
    let at = (0..=at.min(text.len()))
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line} column {column}")
}

/// serde_json's message without its own " at line L column C".
fn without_position(e: &serde_json::Error) -> String {
    let message = e.to_string();
    match message.rfind(" at line ") {
        Some(p) => message[..p].to_owned(),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(text: &str) -> JsonLdBlock {
        read_block(text)
    }

    #[test]
    fn valid_json_is_read_as_is_with_no_repairs() {
        let block = read(" {\"@type\": \"Review\", \"a\": [1, 2]} \n");
        assert_eq!(block.values, vec![json!({"@type": "Review", "a": [1, 2]})]);
        assert!(block.repairs.is_empty() && block.error.is_none());
    }

    #[test]
    fn raw_line_breaks_and_tabs_inside_strings_are_escaped() {
        let block = read("{\"body\": \"line 1\n\tline 2\"}");
        assert_eq!(block.values, vec![json!({"body": "line 1\n\tline 2"})]);
        assert_eq!(block.repairs, vec![Repair::ControlCharacter]);
    }

    #[test]
    fn comments_wrappers_and_trailing_commas_are_removed() {
        let block = read(
            "<!--\n// the page's data\n{\"a\": \"http://x.org/y\", /* note */ \"b\": [1, 2, // two\n],\n}\n-->",
        );
        assert_eq!(
            block.values,
            vec![json!({"a": "http://x.org/y", "b": [1, 2]})]
        );
        assert_eq!(
            block.repairs,
            vec![
                Repair::ScriptComment,
                Repair::HtmlComment,
                Repair::TrailingComma
            ]
        );
        let cdata = read("//<![CDATA[\n{\"a\": 1}\n//]]>");
        assert_eq!(cdata.values, vec![json!({"a": 1})]);
    }

    #[test]
    fn several_values_in_one_block_are_all_read() {
        let block = read("{\"a\": 1}{\"b\": 2}\n{\"c\": 3},\n{\"d\": 4};");
        assert_eq!(
            block.values,
            vec![
                json!({"a": 1}),
                json!({"b": 2}),
                json!({"c": 3}),
                json!({"d": 4})
            ]
        );
        let stray = read("{\"a\": {\"b\": 1}}}");
        assert_eq!(stray.values, vec![json!({"a": {"b": 1}})]);
        assert_eq!(stray.repairs, vec![Repair::StrayBracket]);
    }

    #[test]
    fn javascript_escapes_are_rewritten() {
        let block = read(r#"{"a": "it\'s \x41 C:\path"}"#);
        assert_eq!(block.values, vec![json!({"a": "it's A C:\\path"})]);
        assert_eq!(block.repairs, vec![Repair::InvalidEscape]);
    }

    #[test]
    fn an_html_escaped_block_is_decoded() {
        let block = read("{&quot;@type&quot;: &quot;Review&quot;, &quot;name&quot;: &quot;Tom &amp; Jerry&quot;}");
        assert_eq!(
            block.values,
            vec![json!({"@type": "Review", "name": "Tom & Jerry"})]
        );
        assert_eq!(block.repairs, vec![Repair::HtmlEscaped]);
    }

    #[test]
    fn what_cannot_be_read_is_reported_where_it_is_in_the_block_as_written() {
        let block = read("\n{\"a\": 1}\n{\"b\":\n \"unterminated}");
        assert_eq!(block.values, vec![json!({"a": 1})]);
        assert_eq!(
            block.error.as_deref(),
            Some("EOF while parsing a string at line 4 column 15")
        );
        // A repair before the failure does not shift the position reported.
        let after_repair = read("{\"a\": \"x\ny\", // note\n \"b\": tru }");
        assert_eq!(
            after_repair.error.as_deref(),
            Some("expected ident at line 3 column 10")
        );
    }

    #[test]
    fn empty_blocks_and_nulls_hold_no_items() {
        assert!(read("  \n ").is_empty());
        let blocks = [read("null"), read("[{}, {\"a\": 1}, 3]"), read("{}")];
        assert_eq!(items(&blocks), vec![&json!({"a": 1})]);
    }
}
