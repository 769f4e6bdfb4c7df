//! Reading a post's date the way a forum or article page shows it.
//!
//! Pages give dates in every shape: machine attributes (`datetime="2026-11-23T14:05:00+0200"`,
//! `data-time="1795442700"`), mail-style dates, and text written for people in the
//! forum's own language and date order ("23.11.2026 14:05", "11-23-2026, 02:05 PM",
//! "23 листопада 2026", "23 de noviembre de 2026, 14:05").
//!
//! [`parse_post_date`] tries the strict machine formats first (RFC 3339 and its common
//! relaxations, RFC 2822, unix time), then reads the text as tokens: a year, a month (a
//! number or a month name in English, Ukrainian, Russian, Spanish, German, French or
//! Portuguese), a day, and optionally a time with `am`/`pm` and a zone offset. Words it
//! does not know ("Posted", "by", weekday names) are skipped, so a whole line such as
//! "by admin » Mon Nov 23, 2026 12:05 pm" still gives its date.
//!
//! What it does not guess:
//! - Relative dates ("2 hours ago", "вчора", "hace 2 días", "Today, 14:05") need the time
//!   of the crawl, which this pure function does not have: they give `None`.
//! - A date without a year ("Nov 23") gives `None`.
//! - Numeric dates are read as day.month.year with dots (the European and Slavic
//!   convention); with `/` or `-` and the year last, a first number above 12 means
//!   day/month, a second above 12 means month/day, and when both could be a month the US
//!   order month/day is used, because that is what phpBB's and vBulletin's default
//!   formats print. A date in neither order (`31/31/2026`) gives `None`.
//! - Times without a zone are taken as UTC.
//!
//! It never panics, whatever the input, and reads at most the first
//! [`MAX_DATE_CHARS`] characters.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use earshot_domain::Timestamp;

/// Longer text is cut to this many characters before it is read: a date never needs more,
/// and it bounds the work on hostile input.
pub const MAX_DATE_CHARS: usize = 200;

/// A post date from what a page shows: ISO-8601/RFC-3339 (also with a `+0200` offset or
/// no zone), RFC 2822, unix seconds or milliseconds (`data-time`), numeric dates in the
/// orders described in the module docs, and dates with month names in English,
/// Ukrainian, Russian, Spanish, German, French and Portuguese, with an optional time
/// (24-hour or `am`/`pm`) and zone. Relative dates and dates without a year return
/// `None`. Never panics.
pub fn parse_post_date(raw: &str) -> Option<Timestamp> {
    let raw = match raw.char_indices().nth(MAX_DATE_CHARS) {
        Some((cut, _)) => &raw[..cut],
        None => raw,
    };
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return None;
    }
    unix_time(trimmed)
        .or_else(|| machine_date(trimmed))
        .or_else(|| human_date(trimmed))
}

/// Seconds (9 to 11 digits) or milliseconds (12 to 14 digits) since the epoch.
fn unix_time(s: &str) -> Option<Timestamp> {
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = s.parse().ok()?;
    let millis = match s.len() {
        9..=11 => n.checked_mul(1000)?,
        12..=14 => n,
        _ => return None,
    };
    Some(Timestamp::from_millis(millis))
}

/// RFC 3339, RFC 2822, and ISO 8601 as pages write it without being strict about it.
fn machine_date(s: &str) -> Option<Timestamp> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(Timestamp::from(dt.with_timezone(&Utc)));
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(s) {
        return Some(Timestamp::from(dt.with_timezone(&Utc)));
    }
    const WITH_OFFSET: [&str; 4] = [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f %z",
    ];
    for format in WITH_OFFSET {
        if let Ok(dt) = DateTime::parse_from_str(s, format) {
            return Some(Timestamp::from(dt.with_timezone(&Utc)));
        }
    }
    const NAIVE: [&str; 4] = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ];
    for format in NAIVE {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, format) {
            return Some(Timestamp::from(dt.and_utc()));
        }
    }
    None
}

/// One piece of a date written for people.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A run of digits and the separators `.`, `/`, `-`, `:` between them ("23.11.2026",
    /// "14:05", "2026"), with separators at either end removed.
    Numeric(String),
    /// A run of letters, lower-cased ("noviembre", "листопада", "pm").
    Word(String),
    /// A zone offset written as `+hh:mm`, `+hhmm` or `+hh` (or with `-`), in seconds.
    Offset(i32),
}

fn tokens(s: &str) -> Vec<Token> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || (matches!(chars[i], '.' | '/' | '-' | ':')
                        && chars.get(i + 1).is_some_and(char::is_ascii_digit)))
            {
                i += 1;
            }
            out.push(Token::Numeric(chars[start..i].iter().collect()));
        } else if c.is_alphabetic() {
            let start = i;
            while i < chars.len() && (chars[i].is_alphabetic() || chars[i] == '\u{301}') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            out.push(Token::Word(word.to_lowercase()));
        } else if (c == '+' || c == '-' || c == '−')
            && chars.get(i + 1).is_some_and(char::is_ascii_digit)
            && out
                .iter()
                .any(|t| matches!(t, Token::Numeric(n) if n.contains(':')))
        {
            // A sign after a time starts a zone offset.
            let sign = if c == '+' { 1 } else { -1 };
            i += 1;
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == ':') {
                i += 1;
            }
            let digits: String = chars[start..i].iter().filter(|c| **c != ':').collect();
            if let Some(seconds) = offset_seconds(&digits) {
                out.push(Token::Offset(sign * seconds));
            }
        } else {
            i += 1;
        }
    }
    out
}

/// `hh`, `hhmm` or `h` as seconds east of UTC, up to 14 hours.
fn offset_seconds(digits: &str) -> Option<i32> {
    let (hours, minutes) = match digits.len() {
        1 | 2 => (digits.parse::<i32>().ok()?, 0),
        3 | 4 => {
            let split = digits.len() - 2;
            (
                digits[..split].parse::<i32>().ok()?,
                digits[split..].parse::<i32>().ok()?,
            )
        }
        _ => return None,
    };
    (hours <= 14 && minutes < 60).then_some(hours * 3600 + minutes * 60)
}

/// What has been read from the tokens so far.
#[derive(Default)]
struct Parts {
    year: Option<i32>,
    month: Option<u32>,
    day: Option<u32>,
    time: Option<NaiveTime>,
    offset_seconds: Option<i32>,
    /// `Some(true)` for pm, `Some(false)` for am.
    pm: Option<bool>,
}

fn human_date(s: &str) -> Option<Timestamp> {
    let tokens = tokens(s);
    let mut parts = Parts::default();
    let month_word = month_from_words(&tokens);
    // Plain numbers (not dates, not times), in order, for the day and the year.
    let mut loose_numbers: Vec<&str> = Vec::new();
    for (n, token) in tokens.iter().enumerate() {
        match token {
            Token::Numeric(text) if text.contains(':') => {
                if parts.time.is_none() {
                    // A time that is not a time makes the whole date suspect.
                    parts.time = Some(time_of_day(text)?);
                }
            }
            Token::Numeric(text) if text.contains(['.', '/', '-']) => {
                if parts.year.is_none() {
                    if let Some((y, m, d)) = numeric_date(text) {
                        (parts.year, parts.month, parts.day) = (Some(y), Some(m), Some(d));
                    }
                }
            }
            Token::Numeric(text) => loose_numbers.push(text),
            Token::Word(word) => match word.as_str() {
                // am/pm follow the time they qualify (German "am 23." is "on the 23rd").
                "am" | "a" if parts.time.is_some() && next_is_m(&tokens, n, word) => {
                    parts.pm = Some(false);
                }
                "pm" | "p" if parts.time.is_some() && next_is_m(&tokens, n, word) => {
                    parts.pm = Some(true);
                }
                "utc" | "gmt" | "z" => {
                    parts.offset_seconds.get_or_insert(0);
                }
                _ => {}
            },
            Token::Offset(seconds) => parts.offset_seconds = Some(*seconds),
        }
    }
    if parts.year.is_none() {
        let month = month_word?;
        parts.month = Some(month);
        let mut day = None;
        let mut year = None;
        for number in loose_numbers {
            let value: u32 = number.parse().ok()?;
            if number.len() == 4 && year.is_none() {
                year = i32::try_from(value).ok();
            } else if number.len() <= 2 && day.is_none() && (1..=31).contains(&value) {
                day = Some(value);
            } else if number.len() == 2 && year.is_none() && day.is_some() {
                year = Some(two_digit_year(value));
            }
        }
        parts.year = year;
        parts.day = day;
    }
    assemble(&parts)
}

/// `a`/`p` count as am/pm only when followed by `m` ("p. m.", "a.m."); `am`/`pm` always.
fn next_is_m(tokens: &[Token], n: usize, word: &str) -> bool {
    word.len() == 2 || matches!(tokens.get(n + 1), Some(Token::Word(w)) if w == "m")
}

fn assemble(parts: &Parts) -> Option<Timestamp> {
    let date = NaiveDate::from_ymd_opt(parts.year?, parts.month?, parts.day?)?;
    let mut time = parts.time.unwrap_or(NaiveTime::MIN);
    if let Some(pm) = parts.pm {
        use chrono::Timelike;
        let hour = time.hour();
        if !(1..=12).contains(&hour) {
            return None;
        }
        let hour24 = match (pm, hour) {
            (false, 12) => 0,
            (false, h) => h,
            (true, 12) => 12,
            (true, h) => h + 12,
        };
        time = time.with_hour(hour24)?;
    }
    let local = date.and_time(time);
    let offset = FixedOffset::east_opt(parts.offset_seconds.unwrap_or(0))?;
    let dt = offset.from_local_datetime(&local).single()?;
    Some(Timestamp::from(dt.with_timezone(&Utc)))
}

/// `14:05`, `2:05`, `14:05:33`, `14:05:33.250` (the fraction is dropped).
fn time_of_day(text: &str) -> Option<NaiveTime> {
    let whole_seconds = text.split('.').next()?;
    let mut fields = whole_seconds.split(':');
    let hour: u32 = fields.next()?.parse().ok()?;
    let minute: u32 = fields.next()?.parse().ok()?;
    let second: u32 = match fields.next() {
        Some(s) => s.parse().ok()?,
        None => 0,
    };
    if fields.next().is_some() {
        return None;
    }
    NaiveTime::from_hms_opt(hour, minute, second)
}

/// A numeric date with three fields, in the orders the module docs describe.
fn numeric_date(text: &str) -> Option<(i32, u32, u32)> {
    let separator = text.chars().find(|c| matches!(c, '.' | '/' | '-'))?;
    let fields: Vec<&str> = text.split(['.', '/', '-']).collect();
    let [a, b, c] = fields.as_slice() else {
        return None;
    };
    let (na, nb, nc): (u32, u32, u32) = (a.parse().ok()?, b.parse().ok()?, c.parse().ok()?);
    if a.len() == 4 {
        return Some((i32::try_from(na).ok()?, nb, nc));
    }
    let year = match c.len() {
        4 => i32::try_from(nc).ok()?,
        2 => two_digit_year(nc),
        _ => return None,
    };
    if separator == '.' {
        return Some((year, nb, na));
    }
    match (na > 12, nb > 12) {
        (true, false) => Some((year, nb, na)),
        (false, _) => Some((year, na, nb)),
        (true, true) => None,
    }
}

/// `26` is 2026 and `98` is 1998: forum dates are recent, and nothing was posted in 2069.
fn two_digit_year(value: u32) -> i32 {
    let value = i32::try_from(value % 100).unwrap_or(0);
    if value < 70 {
        2000 + value
    } else {
        1900 + value
    }
}

/// The month named in the text, if exactly one can be told apart.
///
/// Some month abbreviations are also weekday abbreviations (Spanish "mar" is both March
/// and Tuesday) or English words; when two different months are named, the one next to a
/// number wins.
fn month_from_words(tokens: &[Token]) -> Option<u32> {
    let mut found: Vec<(usize, u32)> = Vec::new();
    for (n, token) in tokens.iter().enumerate() {
        if let Token::Word(word) = token {
            if WEEKDAYS.contains(&word.as_str()) {
                continue;
            }
            if let Some(month) = month_of_word(word) {
                found.push((n, month));
            }
        }
    }
    let first = found.first()?.1;
    if found.iter().all(|(_, m)| *m == first) {
        return Some(first);
    }
    let near_number = |n: usize| {
        let is_number = |t: Option<&Token>| matches!(t, Some(Token::Numeric(_)));
        is_number(n.checked_sub(1).and_then(|p| tokens.get(p))) || is_number(tokens.get(n + 1))
    };
    found
        .iter()
        .filter(|(n, _)| near_number(*n))
        .map(|(_, m)| *m)
        .next_back()
}

/// The month a word names: its first letters must be one of the stems below, and the
/// rest letters only (so "noviembre", "ноября", "Nov" all give 11).
fn month_of_word(word: &str) -> Option<u32> {
    if word.chars().count() > 12 {
        return None;
    }
    MONTH_STEMS
        .iter()
        .filter(|(stem, _)| word.starts_with(stem))
        .max_by_key(|(stem, _)| stem.len())
        .map(|(_, month)| *month)
}

/// Month stems in the languages Earshot's users write. Ambiguous stems are resolved by
/// the longest match (French "juin"/"juil", Ukrainian "лип" is July and "лист" November).
const MONTH_STEMS: &[(&str, u32)] = &[
    // English, and the stems Spanish, German, French and Portuguese share with it.
    ("jan", 1),
    ("feb", 2),
    ("mar", 3),
    ("apr", 4),
    ("may", 5),
    ("jun", 6),
    ("jul", 7),
    ("aug", 8),
    ("sep", 9),
    ("oct", 10),
    ("nov", 11),
    ("dec", 12),
    // Spanish.
    ("ene", 1),
    ("abr", 4),
    ("ago", 8),
    ("set", 9),
    ("dic", 12),
    // German.
    ("jän", 1),
    ("mär", 3),
    ("mai", 5),
    ("okt", 10),
    ("dez", 12),
    // French.
    ("janv", 1),
    ("fév", 2),
    ("févr", 2),
    ("avr", 4),
    ("juin", 6),
    ("juil", 7),
    ("août", 8),
    ("aout", 8),
    ("déc", 12),
    // Portuguese.
    ("fev", 2),
    ("out", 10),
    // Ukrainian, nominative, genitive and three-letter abbreviations.
    ("бер", 3),
    ("кві", 4),
    ("тра", 5),
    ("чер", 6),
    ("сер", 8),
    ("вер", 9),
    ("жов", 10),
    ("лис", 11),
    ("гру", 12),
    ("січ", 1),
    ("лют", 2),
    ("берез", 3),
    ("квіт", 4),
    ("трав", 5),
    ("черв", 6),
    ("лип", 7),
    ("серп", 8),
    ("верес", 9),
    ("жовт", 10),
    ("листоп", 11),
    ("груд", 12),
    // Russian.
    ("янв", 1),
    ("фев", 2),
    ("мар", 3),
    ("апр", 4),
    ("мая", 5),
    ("май", 5),
    ("июн", 6),
    ("июл", 7),
    ("авг", 8),
    ("сен", 9),
    ("окт", 10),
    ("ноя", 11),
    ("дек", 12),
];

/// Weekday names and abbreviations, which are skipped (and some of which begin like a
/// month: Spanish "martes", French "mardi").
const WEEKDAYS: &[&str] = &[
    "mon",
    "monday",
    "tue",
    "tues",
    "tuesday",
    "wed",
    "wednesday",
    "thu",
    "thur",
    "thurs",
    "thursday",
    "fri",
    "friday",
    "sat",
    "saturday",
    "sun",
    "sunday",
    "lunes",
    "martes",
    "miércoles",
    "miercoles",
    "jueves",
    "viernes",
    "sábado",
    "sabado",
    "domingo",
    "lun",
    "mié",
    "mie",
    "jue",
    "vie",
    "sáb",
    "dom",
    "montag",
    "dienstag",
    "mittwoch",
    "donnerstag",
    "freitag",
    "samstag",
    "sonntag",
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
    "segunda",
    "terça",
    "quarta",
    "quinta",
    "sexta",
    "понеділок",
    "вівторок",
    "середа",
    "четвер",
    "пʼятниця",
    "субота",
    "неділя",
    "понедельник",
    "вторник",
    "среда",
    "четверг",
    "пятница",
    "суббота",
    "воскресенье",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(raw: &str) -> Option<String> {
        parse_post_date(raw).map(|t| t.to_rfc3339())
    }

    #[test]
    fn machine_formats_are_read_exactly() {
        assert_eq!(
            iso("2026-11-23T14:05:00+02:00").as_deref(),
            Some("2026-11-23T12:05:00.000Z")
        );
        assert_eq!(
            iso("Mon, 23 Nov 2026 14:05:00 +0000").as_deref(),
            Some("2026-11-23T14:05:00.000Z")
        );
        assert_eq!(
            iso("1795442700").as_deref(),
            Some("2026-11-23T14:05:00.000Z")
        );
        assert_eq!(
            iso("1795442700123").as_deref(),
            Some("2026-11-23T14:05:00.123Z")
        );
    }

    #[test]
    fn offsets_after_a_time_are_applied() {
        assert_eq!(
            iso("23.11.2026 14:05 +0200").as_deref(),
            Some("2026-11-23T12:05:00.000Z")
        );
        assert_eq!(
            iso("Nov 23, 2026 2:05 PM UTC").as_deref(),
            Some("2026-11-23T14:05:00.000Z")
        );
    }

    #[test]
    fn a_spanish_tuesday_is_not_march() {
        assert_eq!(
            iso("mar, 23 nov 2026").as_deref(),
            Some("2026-11-23T00:00:00.000Z")
        );
    }

    #[test]
    fn impossible_dates_and_hours_are_none() {
        for raw in [
            "31.02.2026",
            "13:99 23.11.2026",
            "31/31/2026",
            "Nov 2 2026 13:05 pm",
        ] {
            assert_eq!(iso(raw), None, "{raw}");
        }
    }

    #[test]
    fn a_table_of_formats_and_languages() {
        const Z: &str = "2026-11-23T00:00:00.000Z";
        const T: &str = "2026-11-23T14:05:00.000Z";
        let table: &[(&str, Option<&str>)] = &[
            // Machine formats.
            ("2026-11-23T14:05:00Z", Some(T)),
            ("2026-11-23T14:05:00.000Z", Some(T)),
            ("2026-11-23T15:05:00+0100", Some(T)),
            ("2026-11-23T14:05:00", Some(T)),
            ("2026-11-23 14:05:00", Some(T)),
            ("2026-11-23 14:05", Some(T)),
            ("2026-11-23T14:05", Some(T)),
            ("2026-11-23", Some(Z)),
            ("Mon, 23 Nov 2026 14:05:00 GMT", Some(T)),
            ("Mon, 23 Nov 2026 16:05:00 +0200", Some(T)),
            ("1795442700", Some(T)),
            // Numeric dates.
            ("23.11.2026 14:05", Some(T)),
            ("23.11.2026, 14:05", Some(T)),
            ("23.11.26 14:05", Some(T)),
            ("11/23/2026", Some(Z)),
            ("23/11/2026 14:05", Some(T)),
            ("11-23-2026, 02:05 PM", Some(T)),
            ("2026/11/23 14:05:00", Some(T)),
            ("2026-11-23 14:05:00.250", Some("2026-11-23T14:05:00.250Z")),
            // English.
            ("Nov 23, 2026, 2:05 PM", Some(T)),
            ("November 23, 2026, 2:05pm", Some(T)),
            ("23 November 2026 14:05", Some(T)),
            ("Monday, 23rd November 2026 at 2:05 p.m.", Some(T)),
            ("Mon Nov 23, 2026 2:05 pm", Some(T)),
            ("by admin » Mon Nov 23, 2026 2:05 pm", Some(T)),
            ("Nov 23, 2026 12:30 AM", Some("2026-11-23T00:30:00.000Z")),
            ("Nov 23, 2026 12:30 PM", Some("2026-11-23T12:30:00.000Z")),
            // Ukrainian.
            ("23 листопада 2026", Some(Z)),
            ("23 листопада 2026 р., 14:05", Some(T)),
            ("Пн лис 23, 2026 14:05", Some(T)),
            ("листопад 23, 2026", Some(Z)),
            // Russian.
            ("23 ноября 2026, 14:05", Some(T)),
            ("23 ноя 2026 14:05", Some(T)),
            ("понедельник, 23 ноября 2026 г.", Some(Z)),
            ("1 мая 2026", Some("2026-05-01T00:00:00.000Z")),
            // Spanish.
            ("23 de noviembre de 2026", Some(Z)),
            ("23 de noviembre de 2026 a las 14:05", Some(T)),
            ("lunes, 23 de noviembre de 2026, 14:05", Some(T)),
            ("23 nov. 2026 14:05", Some(T)),
            ("5 de mayo de 2026", Some("2026-05-05T00:00:00.000Z")),
            // German, French, Portuguese.
            ("am 23. November 2026 um 14:05 Uhr", Some(T)),
            ("23. März 2026", Some("2026-03-23T00:00:00.000Z")),
            ("23 novembre 2026 à 14:05", Some(T)),
            ("1er août 2026", Some("2026-08-01T00:00:00.000Z")),
            ("23 de março de 2026", Some("2026-03-23T00:00:00.000Z")),
            // Relative dates and dates without a year: unknown.
            ("вчора", None),
            ("Вчора, 18:40", None),
            ("вчера в 14:05", None),
            ("hace 2 días", None),
            ("2 hours ago", None),
            ("Today, 14:05", None),
            ("Yesterday at 2:05 PM", None),
            ("just now", None),
            ("Nov 23", None),
            ("23 листопада", None),
            // Garbage.
            ("", None),
            ("   ", None),
            ("not a date", None),
            ("2026", None),
            ("99999999999999999999999", None),
            ("-1", None),
            ("::::", None),
            ("31.31.2026", None),
            ("2026-13-45", None),
            ("29.02.2025", None),
            ("25:61 23.11.2026", None),
            ("+99999 14:05 23.11.2026", Some(T)),
            ("14:05 +99999 23.11.2026", Some(T)),
            ("\u{0}\u{ffff}\u{10ffff}", None),
            ("23 листопада 2026 \u{301}\u{301}", Some(Z)),
        ];
        let mut wrong = Vec::new();
        for (raw, expected) in table {
            let got = iso(raw);
            if got.as_deref() != *expected {
                wrong.push(format!("{raw:?}: got {got:?}, expected {expected:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn random_soups_of_date_pieces_never_panic() {
        let pieces = [
            "23",
            ".",
            "11",
            "/",
            "2026",
            "-",
            ":",
            "14",
            "05",
            " ",
            "+",
            "−",
            "pm",
            "a",
            "m",
            "листопада",
            "de",
            "noviembre",
            "Mar",
            "martes",
            "ago",
            "9999999999",
            "0",
            "utc",
            ",",
            "\u{301}",
            "日",
            "+0200",
            "99:99",
            "T",
            "Z",
            "1.2.3.4",
            "000000000000000",
        ];
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..5000 {
            let mut raw = String::new();
            for _ in 0..(seed % 12) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                raw.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            }
            let _ = parse_post_date(&raw);
        }
        let long = "23 ".repeat(10_000) + "листопада 2026";
        assert_eq!(
            parse_post_date(&long),
            None,
            "only the first characters are read"
        );
    }
}
