//! Which language a text is written in, as an ISO 639-1 code.
//!
//! Detection is `whatlang` (trigram profiles, 70 languages, pure Rust, no model files), then
//! corrected where letters settle a confusion that matters to Earshot's users. Measured on
//! realistic review sentences, whatlang 0.18 called 7 of 25 Russian ones Bulgarian (one of them
//! "reliable") and some Ukrainian ones Bulgarian or Russian, so:
//!
//! - **Ukrainian or Russian.** `і ї є ґ` are Ukrainian letters that Russian, Bulgarian,
//!   Macedonian and Serbian do not use; `ы э ё` are Russian letters that Ukrainian and those three
//!   do not use. When whatlang says one of these five languages and the text has letters of only
//!   one side, the letters decide. (Belarusian shares `і` and `ы`; a Belarusian answer is left
//!   alone.)
//! - **Russian or Ukrainian mistaken for Bulgarian, Macedonian or Serbian.** When whatlang says
//!   one of those and the text has no sign of South Slavic (Serbian/Macedonian letters, `ъ` used
//!   as a vowel, or one of a few short words such as `е`, `се`, `са`, `беше`, `това` that Russian
//!   and Ukrainian do not have), whatlang is asked again, choosing only between Russian and
//!   Ukrainian.
//! - **Azerbaijani.** `ə` is used by Azerbaijani and by no other Latin-script language whatlang
//!   knows. A Latin-script text with `ə` is Azerbaijani whatever the trigrams say (they often
//!   say Turkish).
//!
//! Short texts are where whatlang guesses: when it marks its answer unreliable, the text has
//! fewer than [`SHORT_TEXT_LETTERS`] letters and no decisive letter (above) backs the answer,
//! there is no answer.

use std::sync::LazyLock;

use whatlang::{Detector, Lang, Script};

/// Below this many letters, an answer whatlang marks unreliable is dropped unless decisive
/// letters back it.
pub const SHORT_TEXT_LETTERS: usize = 40;

/// Letters of Ukrainian that Russian, Bulgarian, Macedonian and Serbian do not use.
const UKRAINIAN_LETTERS: &[char] = &['і', 'ї', 'є', 'ґ', 'І', 'Ї', 'Є', 'Ґ'];
/// Letters of Russian that Ukrainian, Bulgarian, Macedonian and Serbian do not use.
const RUSSIAN_LETTERS: &[char] = &['ы', 'э', 'ё', 'Ы', 'Э', 'Ё'];
/// Letters of Serbian and Macedonian Cyrillic that Russian and Ukrainian do not use.
const SOUTH_SLAVIC_LETTERS: &[char] = &[
    'ђ', 'ј', 'љ', 'њ', 'ћ', 'џ', 'ѓ', 'ќ', 'ѕ', 'Ђ', 'Ј', 'Љ', 'Њ', 'Ћ', 'Џ', 'Ѓ', 'Ќ', 'Ѕ',
];
/// Short, frequent Bulgarian/Macedonian/Serbian words that are not Russian or Ukrainian words.
#[rustfmt::skip]
const SOUTH_SLAVIC_WORDS: &[&str] = &[
    "е", "се", "са", "си", "сме", "сте", "съм", "ще", "го", "ги", "ми", "беше", "бяха", "това",
    "този", "тази", "тези", "който", "която", "което", "които", "във", "със", "към", "обаче",
    "защото", "тоа", "оваа", "овој",
];

/// Asked again when a Bulgarian, Macedonian or Serbian answer has no South Slavic sign.
static EAST_SLAVIC: LazyLock<Detector> =
    LazyLock::new(|| Detector::with_allowlist(vec![Lang::Rus, Lang::Ukr]));

/// The ISO 639-1 code of the language `text` is written in, or `None` when it cannot be told
/// (no letters, or short, unreliable and without decisive letters; see the module docs).
pub fn detect(text: &str) -> Option<&'static str> {
    let info = whatlang::detect(text)?;
    let (lang, decisive) = refine(text, info.lang(), info.script());
    if !info.is_reliable() && !decisive && letters(text) < SHORT_TEXT_LETTERS {
        return None;
    }
    Some(iso639_1(lang))
}

/// How many alphabetic characters `text` has.
fn letters(text: &str) -> usize {
    text.chars().filter(|c| c.is_alphabetic()).count()
}

/// Corrects whatlang's `lang` where the letters of `text` settle it (see the module docs).
/// Also says whether decisive letters back the answer.
fn refine(text: &str, lang: Lang, script: Script) -> (Lang, bool) {
    match (lang, script) {
        (Lang::Rus | Lang::Ukr | Lang::Bul | Lang::Mkd | Lang::Srp, _) => {
            let ukrainian = has_any(text, UKRAINIAN_LETTERS);
            let russian = has_any(text, RUSSIAN_LETTERS);
            match (ukrainian, russian) {
                (true, false) => (Lang::Ukr, true),
                (false, true) => (Lang::Rus, true),
                (false, false)
                    if matches!(lang, Lang::Bul | Lang::Mkd | Lang::Srp)
                        && !looks_south_slavic(text) =>
                {
                    (EAST_SLAVIC.detect_lang(text).unwrap_or(lang), false)
                }
                _ => (lang, false),
            }
        }
        (Lang::Aze, _) => (lang, has_any(text, &['ə', 'Ə'])),
        (_, Script::Latin) if has_any(text, &['ə', 'Ə']) => (Lang::Aze, true),
        _ => (lang, false),
    }
}

/// Whether `text` shows a sign of Bulgarian, Macedonian or Serbian: their own letters, `ъ` used
/// as a vowel (Russian writes `ъ` only before `е ё ю я`), or one of [`SOUTH_SLAVIC_WORDS`].
fn looks_south_slavic(text: &str) -> bool {
    if has_any(text, SOUTH_SLAVIC_LETTERS) {
        return true;
    }
    let lower = text.to_lowercase();
    let chars: Vec<char> = lower.chars().collect();
    let vowel_hard_sign = chars
        .iter()
        .enumerate()
        .any(|(i, &c)| c == 'ъ' && !matches!(chars.get(i + 1), Some('е' | 'ё' | 'ю' | 'я')));
    vowel_hard_sign
        || lower
            .split(|c: char| !c.is_alphabetic())
            .any(|word| SOUTH_SLAVIC_WORDS.contains(&word))
}

/// Whether `text` contains any of `chars`.
fn has_any(text: &str, chars: &[char]) -> bool {
    text.chars().any(|c| chars.contains(&c))
}

/// The ISO 639-1 code of every language whatlang detects. `Pes` (Western Persian) is `fa`,
/// `Cmn` (Mandarin) is `zh`, `Nob` (Bokmål) is `nb`.
fn iso639_1(lang: Lang) -> &'static str {
    match lang {
        Lang::Epo => "eo",
        Lang::Eng => "en",
        Lang::Rus => "ru",
        Lang::Cmn => "zh",
        Lang::Spa => "es",
        Lang::Por => "pt",
        Lang::Ita => "it",
        Lang::Ben => "bn",
        Lang::Fra => "fr",
        Lang::Deu => "de",
        Lang::Ukr => "uk",
        Lang::Kat => "ka",
        Lang::Ara => "ar",
        Lang::Hin => "hi",
        Lang::Jpn => "ja",
        Lang::Heb => "he",
        Lang::Yid => "yi",
        Lang::Pol => "pl",
        Lang::Amh => "am",
        Lang::Jav => "jv",
        Lang::Kor => "ko",
        Lang::Nob => "nb",
        Lang::Dan => "da",
        Lang::Swe => "sv",
        Lang::Fin => "fi",
        Lang::Tur => "tr",
        Lang::Nld => "nl",
        Lang::Hun => "hu",
        Lang::Ces => "cs",
        Lang::Ell => "el",
        Lang::Bul => "bg",
        Lang::Bel => "be",
        Lang::Mar => "mr",
        Lang::Kan => "kn",
        Lang::Ron => "ro",
        Lang::Slv => "sl",
        Lang::Hrv => "hr",
        Lang::Srp => "sr",
        Lang::Mkd => "mk",
        Lang::Lit => "lt",
        Lang::Lav => "lv",
        Lang::Est => "et",
        Lang::Tam => "ta",
        Lang::Vie => "vi",
        Lang::Urd => "ur",
        Lang::Tha => "th",
        Lang::Guj => "gu",
        Lang::Uzb => "uz",
        Lang::Pan => "pa",
        Lang::Aze => "az",
        Lang::Ind => "id",
        Lang::Tel => "te",
        Lang::Pes => "fa",
        Lang::Mal => "ml",
        Lang::Ori => "or",
        Lang::Mya => "my",
        Lang::Nep => "ne",
        Lang::Sin => "si",
        Lang::Khm => "km",
        Lang::Tuk => "tk",
        Lang::Aka => "ak",
        Lang::Zul => "zu",
        Lang::Sna => "sn",
        Lang::Afr => "af",
        Lang::Lat => "la",
        Lang::Slk => "sk",
        Lang::Cat => "ca",
        Lang::Tgl => "tl",
        Lang::Hye => "hy",
        Lang::Cym => "cy",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_all(expected: &str, sentences: &[&str]) {
        for sentence in sentences {
            assert_eq!(detect(sentence), Some(expected), "{sentence}");
        }
    }

    #[test]
    fn ukrainian_reviews_are_ukrainian() {
        assert_all(
            "uk",
            &[
                "Чайник закипає швидко, але кришка погано закривається і вода трохи тече.",
                "Купила цей чайник місяць тому, дуже задоволена, рекомендую всім знайомим!",
                "Жахлива якість: через тиждень зламалася кнопка, а служба підтримки мовчить.",
                "Доставка була швидка, проте коробка прийшла пом'ята.",
            ],
        );
    }

    #[test]
    fn russian_reviews_are_russian() {
        assert_all(
            "ru",
            &[
                "Чайник закипает быстро, но крышка плохо закрывается и вода немного течёт.",
                "Купила этот чайник месяц назад, очень довольна, советую всем знакомым!",
                "Ужасное качество: через неделю сломалась кнопка, а поддержка молчит.",
                "Доставка была быстрой, но коробка пришла помятой.",
            ],
        );
    }

    #[test]
    fn azerbaijani_reviews_are_azerbaijani() {
        assert_all(
            "az",
            &[
                "Çaydan çox tez qaynayır, amma qapağı yaxşı bağlanmır və su axır.",
                "Bu çaydanı bir ay əvvəl aldım, çox razıyam, hamıya tövsiyə edirəm!",
                "Keyfiyyət dəhşətlidir: bir həftə sonra düymə sındı, dəstək xidməti cavab vermir.",
            ],
        );
    }

    #[test]
    fn spanish_reviews_are_spanish() {
        assert_all(
            "es",
            &[
                "El hervidor calienta el agua muy rápido, pero la tapa no cierra bien.",
                "Compré este hervidor hace un mes y estoy encantada, lo recomiendo a todos.",
                "Calidad pésima: el botón se rompió a la semana y el servicio técnico no responde.",
            ],
        );
    }

    #[test]
    fn english_reviews_are_english() {
        assert_all(
            "en",
            &[
                "The kettle boils quickly, but the lid does not close properly and it leaks.",
                "I bought this kettle a month ago and I love it, would recommend to everyone!",
                "Terrible quality: the switch broke after a week and support never answered.",
            ],
        );
    }

    #[test]
    fn short_unreliable_texts_have_no_language() {
        assert_eq!(detect("ok"), None);
        assert_eq!(detect("lol 👍"), None);
        assert_eq!(detect(""), None);
        assert_eq!(detect("12345 !!!"), None);
    }

    #[test]
    fn russian_reviews_whatlang_calls_bulgarian_are_russian() {
        // Each of these came out Bulgarian from whatlang 0.18 alone.
        assert_all(
            "ru",
            &[
                "Курьер опоздал на три часа и даже не позвонил.",
                "Возврат оформили без проблем, деньги пришли на карту через три дня.",
                "Сервис доставки работает отлично, заказ привезли на следующий день.",
                "Купил телефон, камера снимает отлично даже ночью.",
                "Наушники звучат прекрасно, басы глубокие, сидят удобно.",
            ],
        );
    }

    #[test]
    fn bulgarian_stays_bulgarian() {
        assert_all(
            "bg",
            &[
                "Доставката беше бърза, но кутията пристигна смачкана.",
                "Обслужването беше отлично, благодаря на персонала.",
                "Куриерът закъсня с три часа и дори не се обади.",
            ],
        );
    }

    #[test]
    fn ukrainian_only_letters_decide_against_russian_and_bulgarian() {
        let text = "Ціна нормальна, все працює";
        assert_eq!(refine(text, Lang::Rus, Script::Cyrillic), (Lang::Ukr, true));
        assert_eq!(refine(text, Lang::Bul, Script::Cyrillic), (Lang::Ukr, true));
    }

    #[test]
    fn russian_only_letters_decide_against_ukrainian_and_bulgarian() {
        let text = "Цена нормальная, всё работает, мы довольны";
        assert_eq!(refine(text, Lang::Ukr, Script::Cyrillic), (Lang::Rus, true));
        assert_eq!(refine(text, Lang::Bul, Script::Cyrillic), (Lang::Rus, true));
    }

    #[test]
    fn letters_of_both_leave_whatlang_alone() {
        let text = "і ы";
        assert_eq!(
            refine(text, Lang::Rus, Script::Cyrillic),
            (Lang::Rus, false)
        );
        assert_eq!(
            refine(text, Lang::Ukr, Script::Cyrillic),
            (Lang::Ukr, false)
        );
    }

    #[test]
    fn belarusian_is_not_touched() {
        // Belarusian uses і and ы as well.
        let text = "Гэта вельмі добры чайнік";
        assert_eq!(
            refine(text, Lang::Bel, Script::Cyrillic),
            (Lang::Bel, false)
        );
    }

    #[test]
    fn south_slavic_signs_are_letters_vowel_hard_signs_and_short_words() {
        assert!(looks_south_slavic("Чајник је добар"));
        assert!(looks_south_slavic("Много съм доволна"));
        assert!(looks_south_slavic("Цената е нормална"));
        assert!(!looks_south_slavic("Объявление о подъезде"));
        assert!(!looks_south_slavic("Курьер опоздал на три часа"));
    }

    #[test]
    fn a_short_text_is_answered_when_its_letters_decide() {
        assert_eq!(detect("Дякую, все ідеально"), Some("uk"));
        assert_eq!(detect("Всё ок"), Some("ru"));
    }

    #[test]
    fn schwa_makes_latin_text_azerbaijani() {
        assert_eq!(
            refine("Məhsul yaxşıdır", Lang::Tur, Script::Latin),
            (Lang::Aze, true)
        );
        assert_eq!(
            refine("Ürün çok güzel", Lang::Tur, Script::Latin),
            (Lang::Tur, false)
        );
    }

    #[test]
    fn every_whatlang_language_has_a_two_letter_code() {
        for &lang in Lang::all() {
            let code = iso639_1(lang);
            assert_eq!(code.len(), 2, "{lang:?}");
            assert!(code.chars().all(|c| c.is_ascii_lowercase()), "{lang:?}");
        }
        let mut codes: Vec<&str> = Lang::all().iter().map(|&l| iso639_1(l)).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Lang::all().len(), "codes must be distinct");
    }
}
