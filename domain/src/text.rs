//! Text folding shared by brand matching and content hashing.

use unicode_normalization::char::{decompose_canonical, is_combining_mark};

/// Folds one character for matching: lowercased, with combining marks (accents) removed.
///
/// Calls `emit` once per folded character; a character may fold to zero (a lone combining
/// mark) or several characters (some lowercase mappings). The mapping is the same for
/// brand terms and for crawled text, which is all matching needs.
pub fn fold_char(c: char, mut emit: impl FnMut(char)) {
    decompose_canonical(c, |d| {
        if is_combining_mark(d) {
            return;
        }
        for l in d.to_lowercase() {
            emit(l);
        }
    });
}

/// Folds a whole string: case- and accent-insensitive form ("Café" and "cafe" fold alike;
/// "Київстар" and "КИЇВСТАР" fold alike).
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        fold_char(c, |f| out.push(f));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_and_accents_in_any_script() {
        assert_eq!(fold("Café NESTLÉ"), "cafe nestle");
        assert_eq!(fold("КИЇВСТАР"), fold("київстар"));
        assert_eq!(fold("Ağ Şirkət"), "ag sirkət");
    }
}
