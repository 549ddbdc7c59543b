//! Value validators for PHI discovery: does one sampled value look like an
//! SSN, an NPI, a DEA number, a Medicare MBI, an ICD-10-CM code, a date of
//! birth, a NANP phone number, an e-mail address, a ZIP code, or one of the
//! organisation's own patterns (MRN and member-id formats have no public
//! check digit, so the policy file names them).
//!
//! Pure functions over `&str`: no I/O, no clock (the date of birth check
//! takes today's date). Values are looked at and counted, never kept: a
//! [`Tally`] holds counts per validator and nothing of the values, so it may
//! go into any output. Imports nothing of ours.

use serde::Serialize;
use std::collections::BTreeMap;
use time::Date;

/// What a validator recognised a value as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Ssn,
    /// SSN-shaped but with an area, group or serial the SSA never issues
    /// (000, 666, 9xx areas; group 00; serial 0000): test data, counted
    /// apart from real-looking SSNs and never silently dropped.
    SsnTestData,
    Npi,
    Dea,
    Mbi,
    Icd10Cm,
    BirthDate,
    Phone,
    Email,
    Zip,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Ssn => "ssn",
            Kind::SsnTestData => "ssn_test_data",
            Kind::Npi => "npi",
            Kind::Dea => "dea",
            Kind::Mbi => "mbi",
            Kind::Icd10Cm => "icd10cm",
            Kind::BirthDate => "birth_date",
            Kind::Phone => "phone",
            Kind::Email => "email",
            Kind::Zip => "zip",
        }
    }
}

/// How an SSN-shaped value reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsnCheck {
    Valid,
    TestData,
}

/// `123-45-6789` or `123456789`: valid when the area is not 000, 666 or
/// 900–999, the group not 00 and the serial not 0000; test data otherwise.
/// `None` when the value is not SSN-shaped at all.
pub fn ssn(value: &str) -> Option<SsnCheck> {
    let b = value.as_bytes();
    let digits: [u8; 9] = match b.len() {
        9 if b.iter().all(u8::is_ascii_digit) => b.try_into().ok()?,
        11 if b[3] == b'-' && b[6] == b'-' => {
            let mut d = [0u8; 9];
            for (slot, &c) in d
                .iter_mut()
                .zip(b[..3].iter().chain(&b[4..6]).chain(&b[7..]))
            {
                if !c.is_ascii_digit() {
                    return None;
                }
                *slot = c;
            }
            d
        }
        _ => return None,
    };
    let area = &digits[..3];
    let invalid = area == b"000"
        || area == b"666"
        || area[0] == b'9'
        || &digits[3..5] == b"00"
        || &digits[5..] == b"0000";
    Some(if invalid {
        SsnCheck::TestData
    } else {
        SsnCheck::Valid
    })
}

/// The Luhn check digit of `digits` (the digit to append).
fn luhn_check_digit(digits: impl DoubleEndedIterator<Item = u32>) -> u32 {
    let sum: u32 = digits
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                let twice = d * 2;
                twice / 10 + twice % 10
            } else {
                d
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

fn digit_values(text: &str) -> Option<Vec<u32>> {
    text.chars().map(|c| c.to_digit(10)).collect()
}

/// A National Provider Identifier: ten digits, the last the Luhn check
/// digit over `80840` followed by the first nine.
pub fn npi(value: &str) -> bool {
    if value.len() != 10 {
        return false;
    }
    let Some(d) = digit_values(value) else {
        return false;
    };
    let payload = [8, 0, 8, 4, 0].into_iter().chain(d[..9].iter().copied());
    let payload: Vec<u32> = payload.collect();
    luhn_check_digit(payload.into_iter()) == d[9]
}

/// A DEA registration number: a registrant-type letter, a letter (the
/// registrant's initial) or `9`, seven digits; the last digit is that of
/// (d1 + d3 + d5) + 2 × (d2 + d4 + d6).
pub fn dea(value: &str) -> bool {
    let b = value.as_bytes();
    if b.len() != 9 {
        return false;
    }
    let kind = b[0].to_ascii_uppercase();
    if !b"ABCDEFGHJKLMPRSTUX".contains(&kind) {
        return false;
    }
    if !(b[1].is_ascii_alphabetic() || b[1] == b'9') {
        return false;
    }
    let Some(d) = digit_values(&value[2..]) else {
        return false;
    };
    let sum = d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5]);
    sum % 10 == d[6]
}

/// A Medicare Beneficiary Identifier: 11 characters (dashes after the 4th
/// and 7th allowed), by position: 1–9, letter, letter or digit, digit,
/// letter, letter or digit, digit, letter, letter, digit, digit. Letters
/// exclude S, L, O, I, B and Z.
pub fn mbi(value: &str) -> bool {
    let compact: Vec<u8> = match value.len() {
        11 => value.bytes().collect(),
        13 if value.as_bytes()[4] == b'-' && value.as_bytes()[8] == b'-' => {
            value.bytes().filter(|&c| c != b'-').collect()
        }
        _ => return false,
    };
    if compact.len() != 11 {
        return false;
    }
    let letter = |c: u8| c.is_ascii_uppercase() && !b"SLOIBZ".contains(&c);
    let digit = |c: u8| c.is_ascii_digit();
    let either = |c: u8| letter(c) || digit(c);
    let c = &compact;
    matches!(c[0], b'1'..=b'9')
        && letter(c[1])
        && either(c[2])
        && digit(c[3])
        && letter(c[4])
        && either(c[5])
        && digit(c[6])
        && letter(c[7])
        && letter(c[8])
        && digit(c[9])
        && digit(c[10])
}

/// An ICD-10-CM code: a letter, a digit, a digit or letter, then
/// optionally a dot and one to four more characters (`E11.9`, `S72.001A`).
/// Without the dot only the three-character category or a full code of up
/// to seven characters.
pub fn icd10cm(value: &str) -> bool {
    let b = value.as_bytes();
    if b.len() < 3 || b.len() > 8 {
        return false;
    }
    let upper_alnum = |c: u8| c.is_ascii_digit() || c.is_ascii_uppercase();
    if !(b[0].is_ascii_uppercase() && b[1].is_ascii_digit() && upper_alnum(b[2])) {
        return false;
    }
    match &b[3..] {
        [] => true,
        [b'.', rest @ ..] => (1..=4).contains(&rest.len()) && rest.iter().all(|&c| upper_alnum(c)),
        rest => rest.len() <= 4 && rest.iter().all(|&c| upper_alnum(c)),
    }
}

/// A plausible date of birth: `YYYY-MM-DD`, `MM/DD/YYYY` or `YYYYMMDD`, a
/// real calendar date, not after `today` and at most 120 years before it.
pub fn birth_date(value: &str, today: Date) -> bool {
    let b = value.as_bytes();
    let num = |s: &str| s.parse::<u16>().ok();
    let parts = match b.len() {
        10 if b[4] == b'-' && b[7] == b'-' => {
            (num(&value[..4]), num(&value[5..7]), num(&value[8..]))
        }
        10 if b[2] == b'/' && b[5] == b'/' => {
            (num(&value[6..]), num(&value[..2]), num(&value[3..5]))
        }
        8 if b.iter().all(u8::is_ascii_digit) => {
            (num(&value[..4]), num(&value[4..6]), num(&value[6..]))
        }
        _ => return false,
    };
    let (Some(year), Some(month), Some(day)) = parts else {
        return false;
    };
    let Ok(month) = time::Month::try_from(u8::try_from(month).unwrap_or(0)) else {
        return false;
    };
    let Ok(date) = Date::from_calendar_date(i32::from(year), month, u8::try_from(day).unwrap_or(0))
    else {
        return false;
    };
    date <= today && today.year() - date.year() <= 120
}

/// A North American Numbering Plan number: optional `+1`/`1`, then area
/// code and exchange (each 2–9 then two digits, not N11) and four digits,
/// with the usual separators (`(555) 234-5678`, `555.234.5678`).
pub fn phone(value: &str) -> bool {
    if value.len() > 20
        || !value
            .bytes()
            .all(|c| c.is_ascii_digit() || b"+-(). ".contains(&c))
    {
        return false;
    }
    let digits: Vec<u8> = value.bytes().filter(u8::is_ascii_digit).collect();
    let ten = match digits.len() {
        10 => &digits[..],
        11 if digits[0] == b'1' => &digits[1..],
        _ => return false,
    };
    // Ten bare digits are as likely an account or an NPI: a phone number has
    // separators.
    if !value.bytes().any(|c| b"-(). ".contains(&c)) {
        return false;
    }
    let nxx = |d: &[u8]| d[0] >= b'2' && !(d[1] == b'1' && d[2] == b'1');
    nxx(&ten[..3]) && nxx(&ten[3..6])
}

/// An e-mail address: one `@`, a local part, and a dotted domain whose
/// last label is letters.
pub fn email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._%+-'".contains(&c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|c| c.is_ascii_alphabetic()));
    local_ok && domain_ok
}

/// A US ZIP code: five digits, or ZIP+4 (`12345-6789`).
pub fn zip(value: &str) -> bool {
    let b = value.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    match b.len() {
        5 => digits(b),
        10 => b[5] == b'-' && digits(&b[..5]) && digits(&b[6..]),
        _ => false,
    }
}

/// What one value is, by the built-in validators, most specific first. A
/// value is counted once, as the first kind that fits.
pub fn classify(value: &str, today: Date) -> Option<Kind> {
    let v = value.trim();
    if v.is_empty() || v.len() > 64 {
        return None;
    }
    if let Some(check) = ssn(v) {
        return Some(match check {
            SsnCheck::Valid => Kind::Ssn,
            SsnCheck::TestData => Kind::SsnTestData,
        });
    }
    if npi(v) {
        Some(Kind::Npi)
    } else if mbi(v) {
        Some(Kind::Mbi)
    } else if dea(v) {
        Some(Kind::Dea)
    } else if email(v) {
        Some(Kind::Email)
    } else if phone(v) {
        Some(Kind::Phone)
    } else if birth_date(v, today) {
        Some(Kind::BirthDate)
    } else if zip(v) {
        Some(Kind::Zip)
    } else if icd10cm(v) {
        Some(Kind::Icd10Cm)
    } else {
        None
    }
}

/// Kinds worth finding inside free text (a notes column), word by word:
/// those whose shape is distinctive enough on its own.
fn classify_word(word: &str) -> Option<Kind> {
    let w = word.trim_matches(|c: char| {
        matches!(
            c,
            ',' | ';' | ':' | '(' | ')' | '"' | '\'' | '<' | '>' | '[' | ']'
        )
    });
    let w = w.strip_suffix('.').unwrap_or(w);
    if w.len() == 11 {
        if let Some(check) = ssn(w) {
            return Some(match check {
                SsnCheck::Valid => Kind::Ssn,
                SsnCheck::TestData => Kind::SsnTestData,
            });
        }
    }
    if mbi(w) {
        Some(Kind::Mbi)
    } else if email(w) {
        Some(Kind::Email)
    } else {
        None
    }
}

/// An organisation-defined value pattern (from the policy file), compiled.
#[derive(Debug, Clone)]
pub struct CustomPattern {
    pub name: String,
    pub regex: regex::Regex,
}

impl CustomPattern {
    /// Compile `pattern`; the error says what is wrong with it (the pattern
    /// is the organisation's own text, not a sampled value).
    pub fn new(name: &str, pattern: &str) -> Result<CustomPattern, String> {
        regex::RegexBuilder::new(pattern)
            .size_limit(1 << 20)
            .build()
            .map(|regex| CustomPattern {
                name: name.to_string(),
                regex,
            })
            .map_err(|e| format!("pattern {name:?} is not a valid regular expression: {e}"))
    }
}

/// Counts of what the validators recognised among a column's values. Holds
/// numbers and validator names only, never a value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Non-null values looked at.
    pub values: u64,
    /// Per built-in kind, values (or words of free text) that matched.
    pub hits: BTreeMap<Kind, u64>,
    /// Per organisation-defined pattern name, values that matched.
    pub custom: BTreeMap<String, u64>,
}

impl Tally {
    /// Look at one value: counted, then forgotten.
    pub fn add(&mut self, value: &str, today: Date, custom: &[CustomPattern]) {
        self.values += 1;
        for pattern in custom {
            if pattern.regex.is_match(value) {
                *self.custom.entry(pattern.name.clone()).or_default() += 1;
            }
        }
        if let Some(kind) = classify(value, today) {
            *self.hits.entry(kind).or_default() += 1;
            return;
        }
        if value.contains(char::is_whitespace) {
            // Free text: at most one hit per kind per value.
            let mut seen: Vec<Kind> = Vec::new();
            for word in value.split_whitespace().take(4096) {
                if let Some(kind) = classify_word(word).filter(|k| !seen.contains(k)) {
                    seen.push(kind);
                    *self.hits.entry(kind).or_default() += 1;
                }
            }
        }
    }

    /// Whether any validator matched anything.
    pub fn any(&self) -> bool {
        !self.hits.is_empty() || !self.custom.is_empty()
    }

    /// The kind matching the most values, with its count (ties: the first
    /// kind in declaration order).
    pub fn dominant(&self) -> Option<(Kind, u64)> {
        self.hits
            .iter()
            .filter(|(k, _)| **k != Kind::SsnTestData)
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(k, n)| (*k, *n))
    }
}

/// Whether a text (a JSON key, a column name) is itself a value a validator
/// recognises, so that it must be masked before it is shown.
pub fn is_value_like(text: &str, today: Date, custom: &[CustomPattern]) -> bool {
    classify(text, today).is_some_and(|k| k != Kind::Zip && k != Kind::Icd10Cm)
        || custom.iter().any(|p| p.regex.is_match(text))
        || text.bytes().filter(u8::is_ascii_digit).count() >= 7
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 12 - 01);

    #[test]
    fn ssn_rules() {
        assert_eq!(ssn("123-45-6789"), Some(SsnCheck::Valid));
        assert_eq!(ssn("123456789"), Some(SsnCheck::Valid));
        for test_data in [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "987654321",
            "123-00-4567",
            "123-45-0000",
        ] {
            assert_eq!(ssn(test_data), Some(SsnCheck::TestData), "{test_data}");
        }
        for not in [
            "12-345-6789",
            "123-45-678",
            "1234567890",
            "abc-de-fghi",
            "123 45 6789",
            "",
        ] {
            assert_eq!(ssn(not), None, "{not}");
        }
        assert_eq!(classify("900-12-3456", TODAY), Some(Kind::SsnTestData));
    }

    #[test]
    fn npi_luhn_with_prefix() {
        assert!(npi("1234567893"));
        assert!(!npi("1234567890"));
        assert!(!npi("123456789"));
        assert!(!npi("12345678a3"));
        assert_eq!(classify("1234567893", TODAY), Some(Kind::Npi));
    }

    #[test]
    fn dea_check_digit() {
        assert!(dea("AB1234563"));
        assert!(dea("F91234563"));
        assert!(!dea("AB1234564"));
        assert!(!dea("QB1234563"), "Q is not a registrant type");
        assert!(!dea("AB123456"));
    }

    #[test]
    fn mbi_format() {
        assert!(mbi("1EG4TE5MK73"));
        assert!(mbi("1EG4-TE5-MK73"));
        assert!(!mbi("0EG4TE5MK73"), "position 1 is 1-9");
        assert!(!mbi("1SG4TE5MK73"), "S is excluded");
        assert!(!mbi("1EG4TE5MK7"));
        assert!(!mbi("1eg4te5mk73"));
    }

    #[test]
    fn icd10cm_format() {
        for code in ["E11", "E11.9", "S72.001A", "J45909", "Z79.4"] {
            assert!(icd10cm(code), "{code}");
        }
        for not in ["E1", "11.9", "E11.", "E11.12345", "e11.9", "EE1"] {
            assert!(!icd10cm(not), "{not}");
        }
    }

    #[test]
    fn birth_dates_are_plausible_past_dates() {
        assert!(birth_date("1980-02-29", TODAY));
        assert!(birth_date("02/28/1981", TODAY));
        assert!(birth_date("19800101", TODAY));
        assert!(!birth_date("1981-02-29", TODAY), "not a leap year");
        assert!(!birth_date("2027-01-01", TODAY), "future");
        assert!(!birth_date("1850-01-01", TODAY), "too old");
        assert!(!birth_date("1980-13-01", TODAY));
    }

    #[test]
    fn nanp_phones() {
        for p in [
            "(555) 234-5678",
            "555-234-5678",
            "+1 555 234 5678",
            "555.234.5678",
        ] {
            assert!(phone(p), "{p}");
        }
        for not in [
            "5552345678",
            "155-234-5678",
            "555-111-5678",
            "555-234-567",
            "call 555",
        ] {
            assert!(!phone(not), "{not}");
        }
    }

    #[test]
    fn emails_and_zips() {
        assert!(email("jane.doe+x@clinic.example.org"));
        assert!(!email("jane@localhost"));
        assert!(!email("@example.org"));
        assert!(!email("a b@example.org"));
        assert!(zip("02139") && zip("02139-4307"));
        assert!(!zip("2139") && !zip("02139-43") && !zip("0213a"));
    }

    #[test]
    fn tally_counts_free_text_and_custom_patterns_but_keeps_no_value() {
        let custom = [CustomPattern::new("mrn", "^MRN-[0-9]{6}$").unwrap()];
        let mut t = Tally::default();
        for v in [
            "123-45-6789",
            "900-11-2222",
            "MRN-123456",
            "called pt, SSN 123-45-6789, mail jane@example.org.",
            "nothing here",
        ] {
            t.add(v, TODAY, &custom);
        }
        assert_eq!(t.values, 5);
        assert_eq!(t.hits.get(&Kind::Ssn), Some(&2));
        assert_eq!(t.hits.get(&Kind::SsnTestData), Some(&1));
        assert_eq!(t.hits.get(&Kind::Email), Some(&1));
        assert_eq!(t.custom.get("mrn"), Some(&1));
        assert_eq!(t.dominant(), Some((Kind::Ssn, 2)));
        let json = serde_json::to_string(&t).unwrap();
        assert!(!json.contains("6789") && !json.contains("jane"), "{json}");
        assert!(CustomPattern::new("bad", "(").is_err());
    }

    #[test]
    fn value_like_keys_are_recognised() {
        assert!(is_value_like("123-45-6789", TODAY, &[]));
        assert!(is_value_like("jane@example.org", TODAY, &[]));
        assert!(is_value_like("acct 12345678", TODAY, &[]));
        assert!(!is_value_like("diagnosis", TODAY, &[]));
    }
}
