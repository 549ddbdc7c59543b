//! The PHI name rule: which column names look like protected health
//! information, and which tables an organisation's `phi_tables` /
//! `not_phi_tables` lists name.
//!
//! Pure functions of names and types, kept on the ground floor because the
//! checks, the drift comparison and the active probes all ask the same
//! question and none of them may import the others. The policy-aware
//! wrappers live in `checks::phi`.
//!
//! Names are matched word by word, so `dob` matches `patient_dob` and
//! `DateOfBirth` but not `adobe_id`, and `ssn` matches `ssn_last4` but not
//! `lessnum`. Matching allocates nothing: it runs over every column of every
//! table for several checks.
//!
//! Link keys: an integer or uuid column named like `patient_id` /
//! `patient_uuid` joins a row to its patient; it is not itself a value to
//! encrypt (the identifiers it points at live in the patients table, and
//! ciphertext would break the join). [`plaintext_candidates`] leaves such
//! keys out, so EAR-004 does not ask to encrypt them. They still count for
//! [`phi_columns`]: a table whose only match is an integer `patient_id`
//! (say `visits(patient_id, visit_date, notes)`) holds rows about an
//! identified patient, which is PHI, so the access checks still guard it.
//! Name-matched text columns (mrn, ssn, member_id or insurance_id as text,
//! a text patient_id) and every other matched name whatever its type (an
//! integer mrn is still the record number) stay candidates.
//!
//! Imports only `model::snapshot`.

use crate::model::snapshot::{Column, Relation};

/// What one word of a name can contribute to a PHI match.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Word {
    /// PHI on its own: ssn, mrn, dob, npi, icd, medicare, medicaid,
    /// birthdate, dateofbirth, diagnos… (diagnosis, diagnoses, diagnostic).
    Phi,
    Date,
    Of,
    Birth,
    Social,
    Security,
    Medical,
    Record,
    Insurance,
    Member,
    Id,
    Patient,
    /// count/total: `patient_count` is a statistic, not PHI.
    Tally,
    Other,
}

/// Longest word worth classifying; longer words can only be `diagnos…`.
const LONGEST_WORD: usize = 16;

/// Classify a word case-insensitively without allocating.
fn classify(word: &str) -> Word {
    let bytes = word.as_bytes();
    let mut buf = [0u8; LONGEST_WORD];
    let len = bytes.len().min(LONGEST_WORD);
    for (dst, src) in buf.iter_mut().zip(&bytes[..len]) {
        *dst = src.to_ascii_lowercase();
    }
    if buf[..len].starts_with(b"diagnos") {
        return Word::Phi;
    }
    if bytes.len() > LONGEST_WORD {
        return Word::Other;
    }
    match &buf[..len] {
        b"ssn" | b"mrn" | b"dob" | b"npi" | b"icd" | b"medicare" | b"medicaid" | b"birthdate"
        | b"dateofbirth" => Word::Phi,
        b"date" => Word::Date,
        b"of" => Word::Of,
        b"birth" => Word::Birth,
        b"social" => Word::Social,
        b"security" => Word::Security,
        b"medical" => Word::Medical,
        b"record" => Word::Record,
        b"insurance" => Word::Insurance,
        b"member" => Word::Member,
        b"id" => Word::Id,
        b"patient" => Word::Patient,
        b"count" | b"counts" | b"total" | b"totals" => Word::Tally,
        _ => Word::Other,
    }
}

/// Whether `word`, after `prev` and `prev2`, completes a PHI name:
/// a PHI word, date_of_birth, birth_date, social_security, medical_record,
/// insurance_id, member_id, or patient_<anything but a tally>.
fn completes_phi(prev2: Word, prev: Word, word: Word) -> bool {
    match (prev2, prev, word) {
        (_, _, Word::Phi) => true,
        (Word::Date, Word::Of, Word::Birth) => true,
        (_, Word::Birth, Word::Date) => true,
        (_, Word::Social, Word::Security) => true,
        (_, Word::Medical, Word::Record) => true,
        (_, Word::Insurance | Word::Member, Word::Id) => true,
        (_, Word::Patient, w) => w != Word::Tally,
        _ => false,
    }
}

/// Columns of `rel` whose names look like PHI.
pub fn phi_columns(rel: &Relation) -> Vec<&Column> {
    rel.columns
        .iter()
        .filter(|c| is_phi_name(&c.name))
        .collect()
}

/// PHI-named columns whose plain-text storage is a finding: [`phi_columns`]
/// minus integer/uuid patient link keys (see the module docs).
pub fn plaintext_candidates(rel: &Relation) -> Vec<&Column> {
    rel.columns
        .iter()
        .filter(|c| is_phi_name(&c.name) && !is_patient_link_key(c))
        .collect()
}

/// An integer or uuid column whose name ends in `patient_id`, `patient_uuid`
/// or `patient_key` (any case or separator): a key that links rows to a
/// patient, not a PHI value.
pub fn is_patient_link_key(col: &Column) -> bool {
    let mut last_two = [""; 2];
    for word in words(&col.name) {
        last_two = [last_two[1], word];
    }
    let [patient, key] = last_two;
    patient.eq_ignore_ascii_case("patient")
        && ["id", "uuid", "key"]
            .iter()
            .any(|k| key.eq_ignore_ascii_case(k))
        && is_key_type(&col.type_name)
}

/// Integer and uuid types, as `format_type` spells them (and their aliases).
fn is_key_type(type_name: &str) -> bool {
    let t = type_name.trim();
    [
        "smallint", "integer", "bigint", "int", "int2", "int4", "int8", "uuid",
    ]
    .iter()
    .any(|k| t.eq_ignore_ascii_case(k))
}

/// Letter sets that every PHI match contains (ssn, mrn, dob, npi, icd,
/// medica… for medicare/medicaid/medical, birth, diagnos, social,
/// insurance, member, patient), each within one run of ASCII letters: a
/// name none of whose runs holds one of them cannot match, which settles
/// most names with one pass over their bytes. Per run, not per name, so that
/// `clinic_id` (c, i in one run, d in the other) is settled here too.
const ANCHORS: [u32; 12] = [
    letters(b"ssn"),
    letters(b"mrn"),
    letters(b"dob"),
    letters(b"npi"),
    letters(b"icd"),
    letters(b"medica"),
    letters(b"birth"),
    letters(b"diagnos"),
    letters(b"social"),
    letters(b"insurance"),
    letters(b"member"),
    letters(b"patient"),
];

/// The set of ASCII letters in `text`, case-insensitive, as a bit mask.
const fn letters(text: &[u8]) -> u32 {
    let mut mask = 0u32;
    let mut i = 0;
    while i < text.len() {
        let b = text[i].to_ascii_lowercase();
        if b.is_ascii_lowercase() {
            mask |= 1 << (b - b'a');
        }
        i += 1;
    }
    mask
}

/// Each byte's letter bit (upper and lower case alike), 0 for non-letters.
const LETTER_BITS: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut b = 0usize;
    while b < 256 {
        table[b] = letters(&[b as u8]);
        b += 1;
    }
    table
};

/// Sound because every word that completes a PHI match (see
/// [`completes_phi`]) spells its anchor in consecutive ASCII letters, and a
/// word never spans a non-letter byte.
fn might_be_phi(name: &str) -> bool {
    let anchored = |run: u32| ANCHORS.iter().any(|a| run & a == *a);
    let mut run = 0u32;
    for b in name.bytes() {
        match LETTER_BITS[usize::from(b)] {
            0 if run != 0 => {
                if anchored(run) {
                    return true;
                }
                run = 0;
            }
            0 => {}
            letter => run |= letter,
        }
    }
    run != 0 && anchored(run)
}

/// Whether a column name looks like PHI.
pub fn is_phi_name(name: &str) -> bool {
    might_be_phi(name) && words_complete_phi(name)
}

/// The word-by-word match behind [`is_phi_name`], without the prefilter.
fn words_complete_phi(name: &str) -> bool {
    let (mut prev2, mut prev) = (Word::Other, Word::Other);
    for word in words(name) {
        let class = classify(word);
        if completes_phi(prev2, prev, class) {
            return true;
        }
        (prev2, prev) = (prev, class);
    }
    false
}

/// Whether a column stores ciphertext rather than plaintext (pgcrypto output is bytea).
pub fn is_encrypted_column(col: &Column) -> bool {
    col.type_name.trim().eq_ignore_ascii_case("bytea")
}

/// Whether `entries` (`schema.table`, or `table` for `public.table`) name
/// the relation or its parent: a partition or inheritance child holds its
/// parent's rows.
pub fn table_listed(rel: &Relation, entries: &[String]) -> bool {
    entries.iter().any(|entry| {
        names_relation(entry, &rel.schema, &rel.name)
            || rel.parent.as_deref().is_some_and(|p| {
                let (schema, name) = p.split_once('.').unwrap_or(("public", p));
                names_relation(entry, schema, name)
            })
    })
}

fn names_relation(entry: &str, schema: &str, name: &str) -> bool {
    match entry.split_once('.') {
        Some((s, n)) => s == schema && n == name,
        None => schema == "public" && entry == name,
    }
}

/// Split a name into words at separators, letter/digit changes and
/// lower→upper case changes (`patientDOB2` → patient, DOB, 2).
pub fn words(name: &str) -> Words<'_> {
    Words { name, pos: 0 }
}

/// The iterator behind [`words`]: slices of the name, no allocation.
pub struct Words<'a> {
    name: &'a str,
    pos: usize,
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.name.as_bytes();
        let mut i = self.pos;
        while i < bytes.len() && class(bytes[i]) == SEPARATOR {
            i += 1;
        }
        if i == bytes.len() {
            self.pos = i;
            return None;
        }
        let start = i;
        let mut prev = class(bytes[i]);
        i += 1;
        while i < bytes.len() {
            let here = class(bytes[i]);
            if here == SEPARATOR || boundary(prev, here) {
                break;
            }
            prev = here;
            i += 1;
        }
        self.pos = i;
        // Words end at ASCII bytes or at the end, so these are char boundaries.
        self.name.get(start..i)
    }
}

const SEPARATOR: u8 = 0;
const LOWER: u8 = 1;
const UPPER: u8 = 2;
const DIGIT: u8 = 3;
/// Non-ASCII bytes count as letters so that names in other scripts stay whole.
const OTHER_SCRIPT: u8 = 4;

/// Byte classes by table lookup: this runs over every column name.
const CLASSES: [u8; 256] = {
    let mut table = [SEPARATOR; 256];
    let mut b = 0usize;
    while b < 256 {
        table[b] = match b as u8 {
            b'a'..=b'z' => LOWER,
            b'A'..=b'Z' => UPPER,
            b'0'..=b'9' => DIGIT,
            128..=255 => OTHER_SCRIPT,
            _ => SEPARATOR,
        };
        b += 1;
    }
    table
};

fn class(b: u8) -> u8 {
    CLASSES[usize::from(b)]
}

/// A word ends between an ASCII letter and a digit (either way) and
/// between a lower-case and an upper-case letter.
fn boundary(prev: u8, here: u8) -> bool {
    let ascii = |c: u8| matches!(c, LOWER | UPPER | DIGIT);
    (ascii(prev) && ascii(here) && (prev == DIGIT) != (here == DIGIT))
        || (prev == LOWER && here == UPPER)
}

/// The columns to treat as PHI under the organisation's lists, in one pass:
/// none when `not_phi_tables` names the table, all of them when
/// `phi_tables` does (the policy says the table holds PHI its names do not
/// reveal), otherwise those whose names look like PHI.
pub fn phi_columns_listed<'r>(
    rel: &'r Relation,
    phi_tables: &[String],
    not_phi_tables: &[String],
) -> Vec<&'r Column> {
    if table_listed(rel, not_phi_tables) {
        Vec::new()
    } else if table_listed(rel, phi_tables) {
        rel.columns.iter().collect()
    } else {
        phi_columns(rel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_at_separators_digits_and_case() {
        let got: Vec<&str> = words("patientDOB2_ssn-last4").collect();
        assert_eq!(got, vec!["patient", "DOB", "2", "ssn", "last", "4"]);
        assert_eq!(words("__").count(), 0);
        assert_eq!(
            words("ünïcode_ssn").collect::<Vec<_>>(),
            vec!["ünïcode", "ssn"]
        );
    }

    #[test]
    fn phi_names_match_with_prefixes_and_suffixes() {
        for name in [
            "ssn",
            "patient_ssn",
            "SSN_last4",
            "mrn",
            "dob",
            "patient_dob",
            "DateOfBirth",
            "date_of_birth",
            "birth_date",
            "birthdate",
            "npi",
            "provider_npi",
            "diagnosis",
            "primary_diagnoses",
            "icd10_code",
            "icd_code",
            "insurance_id",
            "member_id",
            "medicare_number",
            "medicaid_id",
            "patient_name",
            "social_security_number",
            "medical_record_number",
        ] {
            assert!(is_phi_name(name), "{name} should be PHI");
        }
    }

    proptest::proptest! {
        /// The prefilter never drops a name the word match accepts: names built
        /// from PHI words, look-alikes, separators, digits and case changes.
        #[test]
        fn prefilter_never_hides_a_match(
            parts in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "ssn", "mrn", "dob", "npi", "icd", "medicare", "medicaid", "medical",
                        "record", "birth", "date", "of", "birthdate", "dateofbirth",
                        "diagnosis", "social", "security", "insurance", "member", "id",
                        "patient", "count", "name", "clinic", "x", "é", "ss", "n",
                    ]),
                    proptest::sample::select(vec!["", "_", "-", " ", "9", "É", "."]),
                    proptest::bool::ANY,
                ),
                0..5,
            )
        ) {
            let name: String = parts
                .iter()
                .map(|(word, sep, upper)| {
                    let word = if *upper { word.to_uppercase() } else { (*word).to_string() };
                    format!("{word}{sep}")
                })
                .collect();
            if words_complete_phi(&name) {
                proptest::prop_assert!(might_be_phi(&name), "{name:?}");
            }
            proptest::prop_assert_eq!(is_phi_name(&name), words_complete_phi(&name));
        }
    }

    #[test]
    fn look_alike_names_are_not_phi() {
        for name in [
            "adobe_id",
            "lessnum",
            "snapinfo",
            "id",
            "created_at",
            "member",
            "insurance",
            "patient",
            "patient_count",
            "birth",
            "medical",
            "dicom",
            "",
        ] {
            assert!(!is_phi_name(name), "{name} should not be PHI");
        }
        // Settled by the prefilter alone: no letter run holds an anchor.
        for name in ["clinic_id", "created_at", "ic_d", "dI_ob"] {
            assert!(!might_be_phi(name), "{name}");
        }
        assert!(might_be_phi("icd_code") && might_be_phi("patientDOB"));
    }
}
