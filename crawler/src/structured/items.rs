//! Microdata and RDFa Lite read into one small item tree.
//!
//! Both syntaxes say the same thing with different attributes: an element opens an item
//! (`itemscope` / `typeof`) with types (`itemtype` / `typeof` under `vocab`), and elements
//! inside it name its properties (`itemprop` / `property`). The walk follows the HTML
//! microdata specification's algorithm for both (properties are found among the item's
//! descendants without crossing into nested items, plus the elements `itemref` names),
//! and property values follow the specification's table: `content` on `meta`, URLs from
//! `src`, `href` and `data` (resolved against the page), `value` on `data` and `meter`,
//! `datetime` on `time`, else the element's text. Like extruct and the schema.org
//! examples, a `content` attribute on any other element is its value too (RDFa makes
//! `content` win everywhere).
//!
//! Only the subset of RDFa that schema.org examples use is read (RDFa Lite: `vocab`,
//! `typeof`, `property`, `resource`, `content`); `prefix`, `rel`/`rev` chaining and
//! `about` subjects are not. Bounded: items nest at most [`MAX_DEPTH`] deep, and an
//! `itemref` cycle is cut where it closes.

use ego_tree::iter::Edge;
use ego_tree::NodeId;
use scraper::{ElementRef, Html};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use url::Url;

/// Items nested deeper than this are read as plain values (their text).
pub const MAX_DEPTH: usize = 32;

/// Which attributes an item was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// HTML microdata: `itemscope`, `itemtype`, `itemprop`, `itemid`, `itemref`.
    Microdata,
    /// RDFa Lite: `vocab`, `typeof`, `property`, `resource`.
    RdfaLite,
}

/// One item: its types, its global identifier and its properties in document order.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// As written: full URLs for microdata (`https://schema.org/Review`); for RDFa, each
    /// `typeof` term prefixed with the `vocab` in scope, if there is one.
    pub types: Vec<String>,
    /// `itemid` (microdata) or `resource` (RDFa), trimmed.
    pub id: Option<String>,
    /// (name, value) pairs in document order; a name can repeat. RDFa names lose the
    /// vocabulary (`https://schema.org/name` and `schema:name` are `name`).
    pub properties: Vec<(String, PropertyValue)>,
}

/// A property's value.
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyValue {
    /// Text: an attribute's value as written, or an element's text with white space
    /// collapsed (block-level elements separate words; script and style are left out).
    Text(String),
    /// A URL attribute, resolved against the page's base URL when there is one and the
    /// value is a valid relative reference; as written (trimmed) otherwise.
    Url(String),
    /// A nested item.
    Item(Item),
}

impl Item {
    /// The item as a JSON-LD-shaped object: `@type` (a string, or an array when there
    /// are several), `@id`, and each property as a value, or an array of values when the
    /// name repeats. Nested items become nested objects; text and URLs become strings.
    pub fn to_json_ld(&self) -> Value {
        let mut object = Map::new();
        match self.types.as_slice() {
            [] => {}
            [one] => {
                object.insert("@type".into(), Value::String(one.clone()));
            }
            many => {
                object.insert(
                    "@type".into(),
                    many.iter().cloned().map(Value::String).collect(),
                );
            }
        }
        if let Some(id) = &self.id {
            object.insert("@id".into(), Value::String(id.clone()));
        }
        for (name, value) in &self.properties {
            let value = match value {
                PropertyValue::Text(t) | PropertyValue::Url(t) => Value::String(t.clone()),
                PropertyValue::Item(item) => item.to_json_ld(),
            };
            match object.get_mut(name) {
                Some(Value::Array(values)) => values.push(value),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, value]);
                }
                None => {
                    object.insert(name.clone(), value);
                }
            }
        }
        Value::Object(object)
    }
}

/// The top-level items of a document in `syntax`, in document order: every item that is
/// not a property value of another item. `base` resolves relative URLs.
pub fn items(document: &Html, syntax: Syntax, base: Option<&Url>) -> Vec<Item> {
    let root = document.root_element();
    let mut reader = Reader {
        syntax,
        base,
        ids: None,
        document,
        emitted: HashSet::new(),
        open: Vec::new(),
    };
    let mut out = Vec::new();
    for element in root.descendent_elements() {
        if syntax.opens_item(element) && !reader.emitted.contains(&element.id()) {
            out.push(reader.item(element, 0));
        }
    }
    out
}

impl Syntax {
    fn opens_item(self, element: ElementRef<'_>) -> bool {
        match self {
            Syntax::Microdata => element.attr("itemscope").is_some(),
            Syntax::RdfaLite => element.attr("typeof").is_some(),
        }
    }

    fn property_names(self, element: ElementRef<'_>) -> Option<&str> {
        match self {
            Syntax::Microdata => element.attr("itemprop"),
            Syntax::RdfaLite => element.attr("property"),
        }
    }
}

struct Reader<'a, 'u> {
    syntax: Syntax,
    base: Option<&'u Url>,
    document: &'a Html,
    /// Elements by `id`, built on the first `itemref`.
    ids: Option<HashMap<&'a str, ElementRef<'a>>>,
    /// Items already read as some item's property value, or as a top-level item.
    emitted: HashSet<NodeId>,
    /// The items being read, innermost last, to cut `itemref` cycles.
    open: Vec<NodeId>,
}

impl<'a> Reader<'a, '_> {
    fn item(&mut self, element: ElementRef<'a>, depth: usize) -> Item {
        self.emitted.insert(element.id());
        self.open.push(element.id());
        let (types, id) = match self.syntax {
            Syntax::Microdata => (
                element
                    .attr("itemtype")
                    .map(|t| t.split_ascii_whitespace().map(str::to_owned).collect())
                    .unwrap_or_default(),
                element
                    .attr("itemid")
                    .map(|i| i.trim().to_owned())
                    .filter(|i| !i.is_empty()),
            ),
            Syntax::RdfaLite => {
                let vocab = vocabulary(element);
                let types = element
                    .attr("typeof")
                    .unwrap_or("")
                    .split_ascii_whitespace()
                    .map(|t| match vocab {
                        Some(v) if !t.contains(':') => format!("{v}{t}"),
                        _ => t.to_owned(),
                    })
                    .collect();
                let id = element
                    .attr("resource")
                    .map(|r| r.trim().to_owned())
                    .filter(|r| !r.is_empty());
                (types, id)
            }
        };
        let mut properties = Vec::new();
        let mut roots = vec![element];
        if self.syntax == Syntax::Microdata {
            if let Some(refs) = element.attr("itemref") {
                for id in refs.split_ascii_whitespace() {
                    if let Some(target) = self.element_by_id(id) {
                        roots.push(target);
                    }
                }
            }
        }
        for (n, root) in roots.into_iter().enumerate() {
            // The item's own element is searched below itself; a referenced element is a
            // candidate property itself.
            self.collect_properties(root, n > 0, depth, &mut properties);
        }
        self.open.pop();
        Item {
            types,
            id,
            properties,
        }
    }

    /// Appends the properties found under `root` (and on `root` itself when
    /// `include_root`), without descending into nested items.
    fn collect_properties(
        &mut self,
        root: ElementRef<'a>,
        include_root: bool,
        depth: usize,
        properties: &mut Vec<(String, PropertyValue)>,
    ) {
        let mut skip_until: Option<NodeId> = None;
        for edge in root.traverse() {
            match edge {
                Edge::Close(node) => {
                    if skip_until == Some(node.id()) {
                        skip_until = None;
                    }
                }
                Edge::Open(node) => {
                    if skip_until.is_some() {
                        continue;
                    }
                    let Some(element) = ElementRef::wrap(node) else {
                        continue;
                    };
                    let is_root = node.id() == root.id();
                    if is_root && !include_root {
                        continue;
                    }
                    if let Some(names) = self.syntax.property_names(element) {
                        let value = self.value(element, depth);
                        for name in names.split_ascii_whitespace() {
                            properties.push((self.property_name(name), value.clone()));
                        }
                    }
                    if self.syntax.opens_item(element) {
                        skip_until = Some(node.id());
                    }
                }
            }
        }
    }

    fn property_name(&self, name: &str) -> String {
        match self.syntax {
            Syntax::Microdata => name.to_owned(),
            Syntax::RdfaLite => local_rdfa_name(name).to_owned(),
        }
    }

    fn value(&mut self, element: ElementRef<'a>, depth: usize) -> PropertyValue {
        if self.syntax.opens_item(element)
            && depth < MAX_DEPTH
            && !self.open.contains(&element.id())
        {
            return PropertyValue::Item(self.item(element, depth + 1));
        }
        let attr = |name| element.attr(name);
        if self.syntax == Syntax::RdfaLite {
            if let Some(content) = attr("content") {
                return PropertyValue::Text(content.to_owned());
            }
        }
        let url_attribute = match element.value().name() {
            "meta" => return PropertyValue::Text(attr("content").unwrap_or("").to_owned()),
            "audio" | "embed" | "iframe" | "img" | "source" | "track" | "video" => Some("src"),
            "a" | "area" | "link" => Some("href"),
            "object" => Some("data"),
            "data" | "meter" => return PropertyValue::Text(attr("value").unwrap_or("").to_owned()),
            "time" => {
                if let Some(datetime) = attr("datetime") {
                    return PropertyValue::Text(datetime.to_owned());
                }
                None
            }
            _ => None,
        };
        if let Some(url_attribute) = url_attribute {
            let raw = attr(url_attribute)
                .filter(|u| !u.trim().is_empty())
                .or(attr("content"))
                .or(if self.syntax == Syntax::RdfaLite {
                    attr("resource")
                } else {
                    None
                })
                .unwrap_or("")
                .trim();
            return PropertyValue::Url(self.resolve(raw));
        }
        if let Some(content) = attr("content") {
            return PropertyValue::Text(content.to_owned());
        }
        PropertyValue::Text(text_content(element))
    }

    fn resolve(&self, raw: &str) -> String {
        match self.base {
            Some(base) if !raw.is_empty() => {
                base.join(raw).map_or_else(|_| raw.to_owned(), String::from)
            }
            _ => raw.to_owned(),
        }
    }

    fn element_by_id(&mut self, id: &str) -> Option<ElementRef<'a>> {
        let document = self.document;
        let ids = self.ids.get_or_insert_with(|| {
            let mut ids = HashMap::new();
            for element in document.root_element().descendent_elements() {
                if let Some(id) = element.value().id() {
                    ids.entry(id).or_insert(element);
                }
            }
            ids
        });
        ids.get(id).copied()
    }
}

/// The `vocab` in scope for an element: its own, else the nearest ancestor's.
fn vocabulary(element: ElementRef<'_>) -> Option<&str> {
    std::iter::once(element)
        .chain(element.ancestors().filter_map(ElementRef::wrap))
        .find_map(|e| e.attr("vocab"))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// An RDFa property term without its vocabulary: the part after the last `/` or `#` of
/// an absolute IRI, or after `schema:`; other prefixed terms (`og:title`) stay whole.
fn local_rdfa_name(term: &str) -> &str {
    if term.contains("://") {
        term.rsplit(['/', '#']).next().unwrap_or(term)
    } else if let Some(local) = term.strip_prefix("schema:") {
        local
    } else {
        term
    }
}

/// Elements whose boundaries separate words in the text.
const BLOCK_ELEMENTS: [&str; 38] = [
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "caption",
    "dd",
    "details",
    "dialog",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "td",
    "th",
    "tr",
    "ul",
];

/// Elements whose content is not text a reader sees.
const HIDDEN_ELEMENTS: [&str; 5] = ["script", "style", "template", "noscript", "head"];

/// An element's text as a reader sees it, on one line (see [`PropertyValue::Text`]).
pub fn text_content(element: ElementRef<'_>) -> String {
    let mut raw = String::new();
    let mut hidden: Option<NodeId> = None;
    for edge in element.traverse() {
        match edge {
            Edge::Open(node) => {
                if hidden.is_some() {
                    continue;
                }
                match node.value() {
                    scraper::Node::Text(text) => raw.push_str(text),
                    scraper::Node::Element(e) => {
                        if HIDDEN_ELEMENTS.contains(&e.name()) && node.id() != element.id() {
                            hidden = Some(node.id());
                        } else if BLOCK_ELEMENTS.contains(&e.name()) {
                            raw.push(' ');
                        }
                    }
                    _ => {}
                }
            }
            Edge::Close(node) => {
                if hidden == Some(node.id()) {
                    hidden = None;
                } else if hidden.is_none()
                    && node
                        .value()
                        .as_element()
                        .is_some_and(|e| BLOCK_ELEMENTS.contains(&e.name()))
                {
                    raw.push(' ');
                }
            }
        }
    }
    crate::text::collapse_whitespace(&raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(html: &str, syntax: Syntax) -> Vec<Value> {
        let base = Url::parse("https://shop.example/p/kettle").unwrap();
        items(&Html::parse_document(html), syntax, Some(&base))
            .iter()
            .map(Item::to_json_ld)
            .collect()
    }

    #[test]
    fn microdata_values_follow_the_element_that_carries_them() {
        let html = r#"<div itemscope itemtype="https://schema.org/Review" itemid="urn:r:1">
            <span itemprop="name">Great <b>kettle</b></span>
            <meta itemprop="datePublished" content="2026-11-02">
            <time itemprop="dateModified" datetime="2026-11-03">3 Nov</time>
            <a itemprop="url" href="../r/1">link</a>
            <div itemprop="reviewBody"><p>Boils fast.</p><p>Quiet.</p><script>x()</script></div>
            <div itemprop="reviewRating" itemscope itemtype="https://schema.org/Rating">
              <data itemprop="ratingValue" value="4">four</data>
            </div>
            <span itemprop="author keywords">Olena</span>
        </div>"#;
        assert_eq!(
            read(html, Syntax::Microdata),
            vec![json!({
                "@type": "https://schema.org/Review", "@id": "urn:r:1",
                "name": "Great kettle", "datePublished": "2026-11-02",
                "dateModified": "2026-11-03", "url": "https://shop.example/r/1",
                "reviewBody": "Boils fast. Quiet.",
                "reviewRating": {"@type": "https://schema.org/Rating", "ratingValue": "4"},
                "author": "Olena", "keywords": "Olena"
            })]
        );
    }

    #[test]
    fn itemref_pulls_properties_from_elsewhere_and_cycles_are_cut() {
        let html = r#"<div itemscope id="a" itemref="b"><span itemprop="name">A</span></div>
            <p id="b"><span itemprop="rating">5</span></p>
            <div itemscope itemprop="x" id="c" itemref="c"><span itemprop="y">1</span></div>"#;
        let items = read(html, Syntax::Microdata);
        assert_eq!(items[0], json!({"name": "A", "rating": "5"}));
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn rdfa_lite_reads_like_microdata() {
        let html = r#"<div vocab="https://schema.org/" typeof="Product">
            <span property="name">Kettle</span>
            <div property="aggregateRating" typeof="AggregateRating">
              <span property="ratingValue">4.5</span> from <span property="schema:reviewCount">12</span>
              <meta property="bestRating" content="5">
            </div>
            <meta property="og:title" content="ignored? no: kept as og:title">
        </div>"#;
        assert_eq!(
            read(html, Syntax::RdfaLite),
            vec![json!({
                "@type": "https://schema.org/Product", "name": "Kettle",
                "aggregateRating": {"@type": "https://schema.org/AggregateRating",
                    "ratingValue": "4.5", "reviewCount": "12", "bestRating": "5"},
                "og:title": "ignored? no: kept as og:title"
            })]
        );
        assert!(read(html, Syntax::Microdata).is_empty());
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let depth = 200;
        let html = format!(
            "{}x{}",
            "<div itemscope itemprop=\"p\">".repeat(depth),
            "</div>".repeat(depth)
        );
        let items = items(&Html::parse_document(&html), Syntax::Microdata, None);
        assert!(!items.is_empty());
    }
}
