//! Turning fetched bytes into UTF-8 text, whatever charset the site used.
//!
//! Forums and older news sites still serve windows-1251, koi8-r or iso-8859-1, and they
//! say so in different places. We look where a browser looks, in a fixed order:
//!
//! 1. a byte-order mark (it cannot be there by accident);
//! 2. the `charset=` parameter of the HTTP `Content-Type` header;
//! 3. an XML declaration, `<?xml version="1.0" encoding="..."?>`;
//! 4. an HTML `<meta charset>` or `<meta http-equiv="Content-Type" content="...; charset=...">`
//!    in the first 2 KiB;
//! 5. otherwise UTF-8, with invalid sequences replaced by U+FFFD.
//!
//! Labels are resolved by `encoding_rs` (the WHATWG Encoding Standard), so aliases such as
//! `cp1251`, `latin1` or `x-mac-cyrillic` work, and `iso-8859-1` means windows-1252 as it
//! does in every browser. An unknown label is skipped and the next source is tried.
//! Decoding never fails: the worst case is replacement characters, not an error.

use encoding_rs::{Encoding, UTF_8};
use std::borrow::Cow;

/// How far into the body an XML declaration or HTML `<meta>` charset is looked for.
/// Browsers use 1024 bytes for `<meta>`; real pages put long `<head>` comments first, so
/// we look a little further.
const SNIFF_LIMIT: usize = 2048;

/// Decodes `bytes` to UTF-8 using, in order, a BOM, the `Content-Type` header's charset,
/// an XML declaration and an HTML `<meta>` charset (see the module docs), defaulting to
/// UTF-8. Never fails; bytes invalid in the chosen encoding become U+FFFD. The BOM, if
/// any, is not part of the result.
pub fn decode(bytes: &[u8], content_type: Option<&str>) -> String {
    let (encoding, body) = match Encoding::for_bom(bytes) {
        Some((encoding, bom_len)) => (encoding, &bytes[bom_len..]),
        None => (detect(bytes, content_type), bytes),
    };
    encoding.decode_without_bom_handling(body).0.into_owned()
}

/// The encoding declared for a BOM-less body: header, then XML declaration, then `<meta>`,
/// then UTF-8.
fn detect(bytes: &[u8], content_type: Option<&str>) -> &'static Encoding {
    if let Some(e) = content_type.and_then(charset_param).and_then(usable_label) {
        return e;
    }
    let head = &bytes[..bytes.len().min(SNIFF_LIMIT)];
    // A declaration read as ASCII cannot truthfully say UTF-16 (a UTF-16 body would not
    // have been readable as ASCII), so such a claim is treated as UTF-8, as browsers do.
    let ascii_compatible = |e: &'static Encoding| {
        if e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE {
            UTF_8
        } else {
            e
        }
    };
    if let Some(e) = xml_declared_encoding(head).and_then(usable_label) {
        return ascii_compatible(e);
    }
    if let Some(e) = meta_charset(head).and_then(usable_label) {
        return ascii_compatible(e);
    }
    UTF_8
}

/// Resolves a label, refusing the "replacement" encoding (which decodes everything to
/// U+FFFD and exists only to neutralise dangerous legacy labels): falling through to the
/// next source gives readable text more often.
fn usable_label(label: &[u8]) -> Option<&'static Encoding> {
    Encoding::for_label(label).filter(|e| *e != encoding_rs::REPLACEMENT)
}

/// The value of a `charset=` parameter in a `Content-Type` value, without quotes.
fn charset_param(content_type: &str) -> Option<&[u8]> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
        (!value.is_empty()).then_some(value.as_bytes())
    })
}

/// The `encoding` pseudo-attribute of an XML declaration at the start of `head`.
fn xml_declared_encoding(head: &[u8]) -> Option<&[u8]> {
    let (start, end) = xml_declaration_span(head)?;
    attribute_value(&head[start..end], b"encoding")
}

/// Byte range of an XML declaration (`<?xml ... ?>`, leading white space allowed) at the
/// start of `text`.
fn xml_declaration_span(text: &[u8]) -> Option<(usize, usize)> {
    let start = text.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &text[start..];
    if rest.len() < 6 || !rest[..5].eq_ignore_ascii_case(b"<?xml") || !rest[5].is_ascii_whitespace()
    {
        return None;
    }
    let close = find(rest, b"?>")?;
    Some((start, start + close + 2))
}

/// The charset named by the first `<meta>` tag in `head` that names one.
fn meta_charset(head: &[u8]) -> Option<&[u8]> {
    let mut from = 0;
    while let Some(pos) = find_ignore_case(&head[from..], b"<meta") {
        let tag_start = from + pos + 5;
        let tag_end = head[tag_start..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(head.len(), |p| tag_start + p);
        let tag = &head[tag_start..tag_end];
        // `charset=` covers both `<meta charset="x">` and the `content="text/html; charset=x"`
        // of the http-equiv form.
        if let Some(value) = attribute_value(tag, b"charset") {
            return Some(value);
        }
        from = tag_end;
    }
    None
}

/// The value after `name` `=` in `tag` (case-insensitive name, optional quotes, white
/// space around `=` allowed). The value ends at a quote, white space, `;`, `/`, `>` or
/// `?`.
fn attribute_value<'a>(tag: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    attribute_span(tag, name).map(|span| &tag[span.value.clone()])
}

/// Where an attribute sits in a tag: the start of its name and the range of its value.
struct AttributeSpan {
    name_start: usize,
    value: std::ops::Range<usize>,
}

/// Finds the first `name` `=` value in `tag`; see [`attribute_value`] for the syntax.
fn attribute_span(tag: &[u8], name: &[u8]) -> Option<AttributeSpan> {
    let mut from = 0;
    while let Some(pos) = find_ignore_case(&tag[from..], name) {
        let name_start = from + pos;
        let mut i = name_start + name.len();
        from = i;
        let glued = name_start
            .checked_sub(1)
            .is_some_and(|p| tag[p].is_ascii_alphanumeric() || matches!(tag[p], b'-' | b'_'));
        if glued {
            continue;
        }
        while tag.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        if tag.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while tag.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        if matches!(tag.get(i), Some(b'"' | b'\'')) {
            i += 1;
        }
        let len = tag[i..]
            .iter()
            .position(|b| {
                matches!(b, b'"' | b'\'' | b';' | b'/' | b'>' | b'?') || b.is_ascii_whitespace()
            })
            .unwrap_or(tag.len() - i);
        if len > 0 {
            return Some(AttributeSpan {
                name_start,
                value: i..i + len,
            });
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn find_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Removes the `encoding="..."` pseudo-attribute from an XML declaration at the start of
/// already-decoded text, so that an XML parser reading the UTF-8 result does not decode
/// it a second time according to a declaration that described the original bytes.
///
/// Text without a declaration, or whose declaration names no encoding, is returned as is
/// (borrowed). A leading U+FEFF is dropped along with the encoding, since the text is no
/// longer in the encoding that mark announced.
pub fn strip_xml_encoding_decl(xml: &str) -> Cow<'_, str> {
    let body = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    let Some((start, end)) = xml_declaration_span(body.as_bytes()) else {
        return Cow::Borrowed(body);
    };
    let decl = &body[start..end];
    let Some(span) = attribute_span(decl.as_bytes(), b"encoding") else {
        return Cow::Borrowed(body);
    };
    // Cut from the white space before `encoding` to the end of the value and its closing
    // quote. Every byte we cut at is ASCII, so the slices stay on char boundaries.
    let mut value_end = span.value.end;
    if matches!(decl.as_bytes().get(value_end), Some(b'"' | b'\'')) {
        value_end += 1;
    }
    let cut_start = decl[..span.name_start].trim_end().len();
    let mut out = String::with_capacity(body.len());
    out.push_str(&body[..start + cut_start]);
    out.push_str(&body[start + value_end..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UKRAINIAN: &str = "Київстар: відгуки клієнтів про зв'язок і тарифи";
    const RUSSIAN: &str = "Отзывы о компании \"Акме\": ёлки, щётки и съёмка";

    fn encode(text: &str, label: &str) -> Vec<u8> {
        let encoding = Encoding::for_label(label.as_bytes()).expect("known label");
        let (bytes, _, unmappable) = encoding.encode(text);
        assert!(!unmappable, "{label} cannot represent the test text");
        bytes.into_owned()
    }

    #[test]
    fn the_content_type_charset_decodes_windows_1251() {
        let bytes = encode(UKRAINIAN, "windows-1251");
        assert_eq!(
            decode(&bytes, Some("text/html; charset=windows-1251")),
            UKRAINIAN
        );
    }

    #[test]
    fn quoted_and_uppercase_charset_parameters_are_understood() {
        let bytes = encode(RUSSIAN, "koi8-r");
        assert_eq!(decode(&bytes, Some("text/xml;Charset=\"KOI8-R\"")), RUSSIAN);
    }

    #[test]
    fn an_xml_declaration_decodes_koi8_r() {
        let mut bytes = b"<?xml version=\"1.0\" encoding='koi8-r'?>\n<rss><title>".to_vec();
        bytes.extend(encode(RUSSIAN, "koi8-r"));
        bytes.extend_from_slice(b"</title></rss>");
        let text = decode(&bytes, None);
        assert!(text.contains(RUSSIAN), "{text}");
    }

    #[test]
    fn an_html_meta_charset_decodes_windows_1251() {
        let mut bytes = b"<!doctype html><html><head><meta charset=\"cp1251\"><title>".to_vec();
        bytes.extend(encode(UKRAINIAN, "windows-1251"));
        let text = decode(&bytes, Some("text/html"));
        assert!(text.ends_with(UKRAINIAN), "{text}");
    }

    #[test]
    fn an_http_equiv_meta_decodes_windows_1251() {
        let mut bytes = b"<html><head><META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; charset=windows-1251\">".to_vec();
        bytes.extend(encode(UKRAINIAN, "windows-1251"));
        assert!(decode(&bytes, None).ends_with(UKRAINIAN));
    }

    #[test]
    fn iso_8859_1_is_decoded_as_browsers_do() {
        let bytes = b"caf\xe9 \x93quoted\x94";
        assert_eq!(
            decode(bytes, Some("text/plain; charset=iso-8859-1")),
            "café \u{201c}quoted\u{201d}"
        );
    }

    #[test]
    fn the_header_wins_over_the_xml_declaration() {
        let mut bytes = b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><a>".to_vec();
        bytes.extend(encode(RUSSIAN, "windows-1251"));
        assert!(
            decode(&bytes, Some("application/rss+xml; charset=windows-1251")).contains(RUSSIAN)
        );
    }

    #[test]
    fn a_bom_wins_over_every_declaration() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice("<?xml version=\"1.0\" encoding=\"windows-1251\"?>Київ".as_bytes());
        let text = decode(&bytes, Some("text/xml; charset=koi8-r"));
        assert_eq!(
            text,
            "<?xml version=\"1.0\" encoding=\"windows-1251\"?>Київ"
        );
    }

    #[test]
    fn utf_16_with_a_bom_is_decoded() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in "Акме".encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(decode(&bytes, None), "Акме");
    }

    #[test]
    fn unknown_labels_fall_through_to_the_next_declaration() {
        let mut bytes = b"<?xml version=\"1.0\" encoding=\"koi8-r\"?>".to_vec();
        bytes.extend(encode(RUSSIAN, "koi8-r"));
        assert!(decode(&bytes, Some("text/xml; charset=bogus-9")).contains(RUSSIAN));
    }

    #[test]
    fn a_utf_16_declaration_on_ascii_bytes_means_utf_8() {
        let bytes = "<?xml version=\"1.0\" encoding=\"utf-16\"?><a>Київ</a>".as_bytes();
        assert!(decode(bytes, None).contains("Київ"));
    }

    #[test]
    fn undeclared_bytes_are_utf_8_with_invalid_sequences_replaced() {
        assert_eq!(decode("Київ".as_bytes(), None), "Київ");
        assert_eq!(decode(b"ok \xff\xfe end", None), "ok \u{fffd}\u{fffd} end");
        assert_eq!(decode(b"", Some("text/html; charset=")), "");
    }

    #[test]
    fn the_encoding_pseudo_attribute_is_stripped_and_nothing_else() {
        let xml = "<?xml version=\"1.0\" encoding=\"windows-1251\" standalone=\"yes\"?><rss/>";
        assert_eq!(
            strip_xml_encoding_decl(xml),
            "<?xml version=\"1.0\" standalone=\"yes\"?><rss/>"
        );
        let single = "\u{feff}  <?xml version='1.0' encoding = 'koi8-r'?>\n<feed/>";
        assert_eq!(
            strip_xml_encoding_decl(single),
            "  <?xml version='1.0'?>\n<feed/>"
        );
    }

    #[test]
    fn text_without_an_encoding_declaration_is_borrowed_unchanged() {
        for xml in [
            "<rss/>",
            "<?xml version=\"1.0\"?><rss/>",
            "",
            "<?xml",
            "{\"version\":1}",
        ] {
            assert!(matches!(strip_xml_encoding_decl(xml), Cow::Borrowed(s) if s == xml));
        }
    }

    #[test]
    fn a_declaration_mentioning_encoding_only_in_text_is_left_alone() {
        let xml = "<rss><title>encoding=\"koi8-r\"</title></rss>";
        assert_eq!(strip_xml_encoding_decl(xml), xml);
    }
}
