//! Which tables and columns hold PHI, shared by every section that asks.
//!
//! Owns the name heuristics and the policy overrides (`phi_tables`,
//! `not_phi_tables`) only; it reads [`Relation`]s and never computes
//! privileges or verdicts. Names are matched word by word, so `dob` matches
//! `patient_dob` and `DateOfBirth` but not `adobe_id`, and `ssn` matches
//! `ssn_last4` but not `lessnum`. Matching allocates nothing: it runs over
//! every column of every table for several checks.
//!
//! Link keys: an integer or uuid column named like `patient_id` /
//! `patient_uuid` joins a row to its patient; it is not itself a value to
//! encrypt (the identifiers it points at live in the patients table, and
//! ciphertext would break the join). [`plaintext_candidates`] leaves such
//! keys out, so EAR-004 does not ask to encrypt them. They still count for
//! [`is_phi_table`] and [`phi_columns`]: a table whose only match is an
//! integer `patient_id` (say `visits(patient_id, visit_date, notes)`) holds
//! rows about an identified patient, which is PHI, so the access checks
//! (PRIV-014, PRIV-017 …) still guard it. Name-matched text columns (mrn,
//! ssn, member_id or insurance_id as text, a text patient_id) and every
//! other matched name whatever its type (an integer mrn is still the
//! record number) stay candidates.

use crate::model::snapshot::{Column, Relation};
use crate::policy::Policy;

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

/// Whether the table holds PHI: listed in `policy.phi_tables`, or has PHI
/// columns, unless listed in `policy.not_phi_tables`. A partition or
/// inheritance child follows its parent's listing: it holds the same rows.
/// Entries are `schema.table`; an entry without a dot means `public.table`.
pub fn is_phi_table(rel: &Relation, policy: &Policy) -> bool {
    if listed(rel, &policy.not_phi_tables) {
        return false;
    }
    listed(rel, &policy.phi_tables) || rel.columns.iter().any(|c| is_phi_name(&c.name))
}

/// Whether a column stores ciphertext rather than plaintext (pgcrypto output is bytea).
pub fn is_encrypted_column(col: &Column) -> bool {
    col.type_name.trim().eq_ignore_ascii_case("bytea")
}

/// The PHI relations among `relations`, in their order.
pub fn phi_relations<'a>(
    relations: &'a [Relation],
    policy: &'a Policy,
) -> impl Iterator<Item = &'a Relation> + 'a {
    relations.iter().filter(move |r| is_phi_table(r, policy))
}

/// Whether `policy.phi_tables` names the relation (or its parent) and
/// `policy.not_phi_tables` does not: then every column counts as PHI,
/// because the policy says the table holds PHI that names do not reveal.
pub fn listed_as_phi(rel: &Relation, policy: &Policy) -> bool {
    listed(rel, &policy.phi_tables) && !listed(rel, &policy.not_phi_tables)
}

/// The columns to treat as PHI, in one pass: none when the policy's
/// not_phi_tables lists the table, all of them when its phi_tables does,
/// otherwise those whose names look like PHI. Non-empty exactly when
/// [`is_phi_table`] holds (for tables with at least one column).
pub fn phi_columns_under<'r>(rel: &'r Relation, policy: &Policy) -> Vec<&'r Column> {
    if listed(rel, &policy.not_phi_tables) {
        Vec::new()
    } else if listed(rel, &policy.phi_tables) {
        rel.columns.iter().collect()
    } else {
        phi_columns(rel)
    }
}

fn listed(rel: &Relation, entries: &[String]) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::snapshot::Column;

    fn rel(schema: &str, name: &str, cols: &[&str]) -> Relation {
        Relation {
            schema: schema.into(),
            name: name.into(),
            kind: "r".into(),
            columns: cols
                .iter()
                .map(|c| Column {
                    name: (*c).into(),
                    type_name: "text".into(),
                    acl: Vec::new(),
                })
                .collect(),
            ..Relation::default()
        }
    }

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

    #[test]
    fn policy_lists_override_names_and_follow_parents() {
        let policy = Policy {
            phi_tables: vec!["billing.claims".into()],
            not_phi_tables: vec!["public.patient_lookup".into()],
            ..Policy::default()
        };
        assert!(is_phi_table(
            &rel("billing", "claims", &["amount"]),
            &policy
        ));
        assert!(!is_phi_table(
            &rel("public", "patient_lookup", &["ssn"]),
            &policy
        ));
        assert!(is_phi_table(&rel("public", "people", &["dob"]), &policy));
        assert!(!is_phi_table(&rel("public", "people", &["name"]), &policy));
        let mut part = rel("billing", "claims_2026", &["amount"]);
        part.parent = Some("billing.claims".into());
        part.is_partition = true;
        assert!(is_phi_table(&part, &policy));
        let bare = Policy {
            phi_tables: vec!["visits".into()],
            ..Policy::default()
        };
        assert!(is_phi_table(&rel("public", "visits", &["x"]), &bare));
        assert!(!is_phi_table(&rel("other", "visits", &["x"]), &bare));
    }

    fn typed(schema: &str, name: &str, cols: &[(&str, &str)]) -> Relation {
        let mut r = rel(schema, name, &[]);
        r.columns = cols
            .iter()
            .map(|(n, t)| Column {
                name: (*n).into(),
                type_name: (*t).into(),
                acl: Vec::new(),
            })
            .collect();
        r
    }

    #[test]
    fn integer_and_uuid_patient_keys_are_not_plaintext_phi() {
        let visits = typed(
            "public",
            "visits",
            &[
                ("id", "integer"),
                ("patient_id", "integer"),
                ("PatientUUID", "uuid"),
                ("source_patient_id", "bigint"),
                ("diagnosis", "text"),
            ],
        );
        let names =
            |cols: Vec<&Column>| -> Vec<String> { cols.iter().map(|c| c.name.clone()).collect() };
        assert_eq!(names(plaintext_candidates(&visits)), vec!["diagnosis"]);
        // The table stays PHI for the access checks, key included.
        assert!(is_phi_table(&visits, &Policy::default()));
        assert_eq!(phi_columns_under(&visits, &Policy::default()).len(), 4);
        // Only an integer patient_id: still rows about a patient, so PHI,
        // but nothing to encrypt.
        let only_key = typed("public", "visits", &[("patient_id", "integer")]);
        assert!(is_phi_table(&only_key, &Policy::default()));
        assert!(plaintext_candidates(&only_key).is_empty());
        // Text keys and other identifiers stay candidates whatever their type.
        let texts = typed(
            "public",
            "claims",
            &[
                ("patient_id", "text"),
                ("mrn", "bigint"),
                ("member_id", "text"),
                ("insurance_id", "character varying(20)"),
                ("patient_number", "integer"),
            ],
        );
        assert_eq!(plaintext_candidates(&texts).len(), 5);
    }

    #[test]
    fn phi_columns_and_encryption() {
        let r = rel("public", "patients", &["id", "ssn", "dob", "note"]);
        let names: Vec<&str> = phi_columns(&r).iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["ssn", "dob"]);
        let mut c = r.columns[1].clone();
        assert!(!is_encrypted_column(&c));
        c.type_name = "bytea".into();
        assert!(is_encrypted_column(&c));
        assert_eq!(
            phi_relations(std::slice::from_ref(&r), &Policy::default()).count(),
            1
        );
    }
}
