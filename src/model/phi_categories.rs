//! PHI discovery's vocabulary: the categories (HIPAA's 18 Safe Harbor
//! identifiers, 45 CFR 164.514(b)(2), plus clinical data), the encryption
//! tier of each, the richer name rule discovery uses (many spellings:
//! `social_security_number`, `socsec`, `ss_num`, `subscriber_id`,
//! `birthdate`, `pt_dob` …), and how name, comment, neighbouring columns and
//! validator counts combine into a confidence.
//!
//! This rule proposes candidates for a person to confirm; the checks keep
//! the narrower `phi_names::is_phi_name` for names nobody has reviewed, and
//! follow confirmed and rejected columns from the policy. Pure; imports
//! `model::phi_names` (word splitting) and `model::phi_validators`.

use crate::model::phi_names::words;
use crate::model::phi_validators::{Kind, Tally};
use serde::{Deserialize, Serialize};

/// What kind of PHI a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Name,
    Address,
    Zip,
    BirthDate,
    Date,
    Phone,
    Fax,
    Email,
    Ssn,
    Mrn,
    HealthPlanId,
    AccountNumber,
    LicenseNumber,
    VehicleId,
    DeviceId,
    Url,
    IpAddress,
    Biometric,
    Photo,
    OtherId,
    ProviderId,
    Diagnosis,
    Medication,
    Procedure,
    ClinicalNotes,
}

/// Every category, in declaration order.
pub const CATEGORIES: [Category; 25] = [
    Category::Name,
    Category::Address,
    Category::Zip,
    Category::BirthDate,
    Category::Date,
    Category::Phone,
    Category::Fax,
    Category::Email,
    Category::Ssn,
    Category::Mrn,
    Category::HealthPlanId,
    Category::AccountNumber,
    Category::LicenseNumber,
    Category::VehicleId,
    Category::DeviceId,
    Category::Url,
    Category::IpAddress,
    Category::Biometric,
    Category::Photo,
    Category::OtherId,
    Category::ProviderId,
    Category::Diagnosis,
    Category::Medication,
    Category::Procedure,
    Category::ClinicalNotes,
];

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Name => "name",
            Category::Address => "address",
            Category::Zip => "zip",
            Category::BirthDate => "birth_date",
            Category::Date => "date",
            Category::Phone => "phone",
            Category::Fax => "fax",
            Category::Email => "email",
            Category::Ssn => "ssn",
            Category::Mrn => "mrn",
            Category::HealthPlanId => "health_plan_id",
            Category::AccountNumber => "account_number",
            Category::LicenseNumber => "license_number",
            Category::VehicleId => "vehicle_id",
            Category::DeviceId => "device_id",
            Category::Url => "url",
            Category::IpAddress => "ip_address",
            Category::Biometric => "biometric",
            Category::Photo => "photo",
            Category::OtherId => "other_id",
            Category::ProviderId => "provider_id",
            Category::Diagnosis => "diagnosis",
            Category::Medication => "medication",
            Category::Procedure => "procedure",
            Category::ClinicalNotes => "clinical_notes",
        }
    }

    /// The category spelled `text` (as [`Category::as_str`] gives it).
    pub fn parse(text: &str) -> Option<Category> {
        CATEGORIES.into_iter().find(|c| c.as_str() == text)
    }

    /// The encryption tier (EAR-004).
    pub fn tier(self) -> Tier {
        match self {
            Category::Ssn
            | Category::Mrn
            | Category::HealthPlanId
            | Category::AccountNumber
            | Category::LicenseNumber
            | Category::Biometric => Tier::Direct,
            _ => Tier::Other,
        }
    }

    /// The category a validator's hits point to.
    pub fn of_kind(kind: Kind) -> Category {
        match kind {
            Kind::Ssn | Kind::SsnTestData => Category::Ssn,
            Kind::Npi => Category::ProviderId,
            Kind::Dea => Category::LicenseNumber,
            Kind::Mbi => Category::HealthPlanId,
            Kind::Icd10Cm => Category::Diagnosis,
            Kind::BirthDate => Category::BirthDate,
            Kind::Phone => Category::Phone,
            Kind::Email => Category::Email,
            Kind::Zip => Category::Zip,
        }
    }
}

/// How strongly a column must be protected at rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Direct identifiers of the highest risk (SSN, MRN, member and account
    /// numbers, licence numbers, biometric ids): clear text fails EAR-004.
    Direct,
    /// Other PHI (names, dates, diagnoses …): clear text is a warning unless
    /// the policy asks for encryption of the category.
    Other,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Direct => "direct identifier",
            Tier::Other => "other PHI",
        }
    }
}

/// How sure discovery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// A name match: the category and whether the spelling is unambiguous
/// (`ssn`) or needs context (`notes`, `dx`, `ip`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameMatch {
    pub category: Category,
    pub strong: bool,
}

/// Single words that name a category on their own.
const WORDS: &[(&str, Category, bool)] = &[
    ("ssn", Category::Ssn, true),
    ("socsec", Category::Ssn, true),
    ("ssnum", Category::Ssn, true),
    ("socialsecurity", Category::Ssn, true),
    ("socialsecuritynumber", Category::Ssn, true),
    ("dob", Category::BirthDate, true),
    ("birthdate", Category::BirthDate, true),
    ("birthday", Category::BirthDate, true),
    ("dateofbirth", Category::BirthDate, true),
    ("bdate", Category::BirthDate, false),
    ("mrn", Category::Mrn, true),
    ("medrec", Category::Mrn, true),
    ("medicare", Category::HealthPlanId, true),
    ("medicaid", Category::HealthPlanId, true),
    ("mbi", Category::HealthPlanId, true),
    ("hicn", Category::HealthPlanId, true),
    ("iban", Category::AccountNumber, true),
    ("npi", Category::ProviderId, true),
    ("dea", Category::LicenseNumber, false),
    ("firstname", Category::Name, true),
    ("lastname", Category::Name, true),
    ("fullname", Category::Name, true),
    ("surname", Category::Name, true),
    ("fname", Category::Name, false),
    ("lname", Category::Name, false),
    ("address", Category::Address, true),
    ("addr", Category::Address, false),
    ("street", Category::Address, true),
    ("city", Category::Address, false),
    ("zip", Category::Zip, true),
    ("zipcode", Category::Zip, true),
    ("postcode", Category::Zip, true),
    ("postal", Category::Zip, false),
    ("phone", Category::Phone, true),
    ("telephone", Category::Phone, true),
    ("mobile", Category::Phone, false),
    ("cell", Category::Phone, false),
    ("fax", Category::Fax, true),
    ("email", Category::Email, true),
    ("vin", Category::VehicleId, true),
    ("udi", Category::DeviceId, true),
    ("imei", Category::DeviceId, true),
    ("url", Category::Url, false),
    ("website", Category::Url, false),
    ("ip", Category::IpAddress, false),
    ("fingerprint", Category::Biometric, true),
    ("biometric", Category::Biometric, true),
    ("retina", Category::Biometric, true),
    ("iris", Category::Biometric, false),
    ("voiceprint", Category::Biometric, true),
    ("faceprint", Category::Biometric, true),
    ("photo", Category::Photo, true),
    ("photograph", Category::Photo, true),
    ("headshot", Category::Photo, true),
    ("diagnosis", Category::Diagnosis, true),
    ("diagnoses", Category::Diagnosis, true),
    ("icd", Category::Diagnosis, true),
    ("icd10", Category::Diagnosis, true),
    ("dx", Category::Diagnosis, false),
    ("medication", Category::Medication, true),
    ("medications", Category::Medication, true),
    ("prescription", Category::Medication, true),
    ("rx", Category::Medication, false),
    ("ndc", Category::Medication, false),
    ("drug", Category::Medication, false),
    ("procedure", Category::Procedure, false),
    ("cpt", Category::Procedure, false),
    ("notes", Category::ClinicalNotes, false),
    ("note", Category::ClinicalNotes, false),
    ("narrative", Category::ClinicalNotes, false),
    ("soap", Category::ClinicalNotes, false),
];

/// Number words: `ss_num`, `member_no`, `account_nbr`.
const NUMBER: &[&str] = &["id", "num", "number", "no", "nbr", "nr", "ident"];

/// Two-word spellings: a first word, then any of the second words.
const PAIRS: &[(&[&str], &[&str], Category, bool)] = &[
    (&["social"], &["security", "sec"], Category::Ssn, true),
    (&["soc"], &["sec"], Category::Ssn, true),
    (&["ss"], NUMBER, Category::Ssn, true),
    (
        &["birth", "b"],
        &["date", "dt", "day"],
        Category::BirthDate,
        true,
    ),
    (&["medical", "med"], &["record", "rec"], Category::Mrn, true),
    (&["chart"], NUMBER, Category::Mrn, true),
    (
        &["patient", "pt"],
        &["num", "number", "no", "nbr"],
        Category::Mrn,
        true,
    ),
    (
        &[
            "member",
            "subscriber",
            "beneficiary",
            "insurance",
            "insured",
            "policy",
            "enrollee",
            "plan",
        ],
        NUMBER,
        Category::HealthPlanId,
        true,
    ),
    (&["account", "acct"], NUMBER, Category::AccountNumber, true),
    (
        &["card"],
        &["number", "num", "no"],
        Category::AccountNumber,
        true,
    ),
    (
        &[
            "license",
            "licence",
            "driver",
            "drivers",
            "dl",
            "certificate",
            "passport",
        ],
        NUMBER,
        Category::LicenseNumber,
        true,
    ),
    (&["dea"], NUMBER, Category::LicenseNumber, true),
    (
        &[
            "first", "last", "middle", "given", "family", "maiden", "patient", "pt", "full",
        ],
        &["name", "nm"],
        Category::Name,
        true,
    ),
    (&["e"], &["mail"], Category::Email, true),
    (&["zip"], &["code"], Category::Zip, true),
    (&["postal"], &["code"], Category::Zip, true),
    (
        &["phone", "tel", "mobile", "cell"],
        NUMBER,
        Category::Phone,
        true,
    ),
    (
        &[
            "admission",
            "admit",
            "discharge",
            "death",
            "visit",
            "service",
            "encounter",
            "surgery",
        ],
        &["date", "dt", "time", "at", "on"],
        Category::Date,
        true,
    ),
    (&["license"], &["plate"], Category::VehicleId, true),
    (
        &["device", "implant"],
        &["serial", "id", "udi", "number"],
        Category::DeviceId,
        true,
    ),
    (&["ip"], &["address", "addr"], Category::IpAddress, true),
    (
        &[
            "clinical",
            "progress",
            "doctor",
            "nurse",
            "nursing",
            "visit",
            "encounter",
            "physician",
            "provider",
            "discharge",
        ],
        &["note", "notes", "summary", "narrative"],
        Category::ClinicalNotes,
        true,
    ),
    (&["chief"], &["complaint"], Category::ClinicalNotes, true),
    (
        &["diag", "diagnostic"],
        &["code", "cd"],
        Category::Diagnosis,
        true,
    ),
    (&["icd"], &["code", "cd"], Category::Diagnosis, true),
    (
        &["drug", "med"],
        &["name", "code"],
        Category::Medication,
        true,
    ),
    (
        &["procedure", "cpt"],
        &["code", "cd"],
        Category::Procedure,
        true,
    ),
];

/// Words that say a table or its neighbours are about people as patients.
const CONTEXT: &[&str] = &[
    "patient",
    "patients",
    "pt",
    "member",
    "members",
    "subscriber",
    "beneficiary",
    "enrollee",
    "person",
    "persons",
    "people",
    "client",
    "clients",
    "mrn",
    "clinical",
    "health",
    "medical",
    "encounter",
    "encounters",
    "visit",
    "visits",
    "claim",
    "claims",
    "diagnosis",
    "chart",
    "phi",
    "admission",
    "admissions",
];

fn lower_words(text: &str) -> Vec<String> {
    words(text).map(str::to_ascii_lowercase).collect()
}

/// The category a name (or a comment's words) spells, if any: the first
/// strong match, else the first weak one.
pub fn name_category(name: &str) -> Option<NameMatch> {
    let ws = lower_words(name);
    let squashed: String = ws.concat();
    let mut weak = None;
    let mut consider = |m: NameMatch| -> Option<NameMatch> {
        if m.strong {
            return Some(m);
        }
        weak.get_or_insert(m);
        None
    };
    for (i, w) in ws.iter().enumerate() {
        if w.starts_with("diagnos") {
            return Some(NameMatch {
                category: Category::Diagnosis,
                strong: true,
            });
        }
        if let Some(next) = ws.get(i + 1) {
            for (first, second, category, strong) in PAIRS {
                if first.contains(&w.as_str()) && second.contains(&next.as_str()) {
                    if let Some(m) = consider(NameMatch {
                        category: *category,
                        strong: *strong,
                    }) {
                        return Some(m);
                    }
                }
            }
        }
        if let Some((_, category, strong)) = WORDS.iter().find(|(word, ..)| word == w) {
            if let Some(m) = consider(NameMatch {
                category: *category,
                strong: *strong,
            }) {
                return Some(m);
            }
        }
    }
    // `socialsecuritynumber`, `dateofbirth` written as one word.
    for (joined, category) in [
        ("socialsecurity", Category::Ssn),
        ("dateofbirth", Category::BirthDate),
        ("birthdate", Category::BirthDate),
        ("medicalrecord", Category::Mrn),
        ("memberid", Category::HealthPlanId),
        ("subscriberid", Category::HealthPlanId),
    ] {
        if squashed.contains(joined) {
            return Some(NameMatch {
                category,
                strong: true,
            });
        }
    }
    // `date_of_birth` as three words.
    if ws
        .windows(3)
        .any(|w| w[0] == "date" && w[1] == "of" && w[2] == "birth")
    {
        return Some(NameMatch {
            category: Category::BirthDate,
            strong: true,
        });
    }
    weak
}

/// Whether a text mentions people as patients (or members, subscribers …).
pub fn has_context(text: &str) -> bool {
    lower_words(text)
        .iter()
        .any(|w| CONTEXT.contains(&w.as_str()))
}

/// Why a column is a candidate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reasons {
    /// The column's name spells the category.
    pub name: bool,
    /// The column's comment spells a category.
    pub comment: bool,
    /// The table, its comment, its schema or a neighbouring column speaks
    /// of patients.
    pub context: bool,
    /// Validator hits among the sampled values (counts only).
    pub validator_hits: Tally,
}

/// The verdict of discovery on one column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessment {
    pub category: Category,
    pub confidence: Confidence,
    pub tier: Tier,
}

/// Combine what discovery saw of a column. `None`: nothing points to PHI.
///
/// - Name or comment strong, with patient context or validator hits: high;
///   strong alone: medium; weak alone: low, medium with context.
/// - Validator hits on at least half the non-null sampled values: high with
///   a name match or context, medium alone (a column of e-mail addresses of
///   staff is not PHI; a person decides). Fewer hits (free text): medium
///   with context, low without.
pub fn assess(
    name: Option<NameMatch>,
    comment: Option<NameMatch>,
    context: bool,
    tally: &Tally,
) -> Option<Assessment> {
    let by_words = name.or(comment);
    let dominant = tally.dominant();
    let test_data_only = dominant.is_none() && tally.hits.contains_key(&Kind::SsnTestData);
    let mostly = dominant.is_some_and(|(_, n)| tally.values > 0 && n * 2 >= tally.values);
    let category = by_words
        .map(|m| m.category)
        .or(dominant.map(|(k, _)| Category::of_kind(k)))
        .or(test_data_only.then_some(Category::Ssn))?;
    let words_strong = by_words.is_some_and(|m| m.strong);
    let confidence = match (
        by_words.is_some(),
        words_strong,
        dominant.is_some(),
        mostly,
        context,
    ) {
        (true, true, _, _, true) | (true, true, true, _, _) => Confidence::High,
        (true, _, true, true, _) | (false, _, true, true, true) => Confidence::High,
        (true, true, ..) => Confidence::Medium,
        (true, false, _, _, true) => Confidence::Medium,
        (false, _, true, true, false) | (false, _, true, false, true) => Confidence::Medium,
        _ => Confidence::Low,
    };
    Some(Assessment {
        category,
        confidence,
        tier: category.tier(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(name: &str) -> Option<Category> {
        name_category(name).map(|m| m.category)
    }

    #[test]
    fn spellings_the_old_rule_missed() {
        for (name, want) in [
            ("social_security_number", Category::Ssn),
            ("SocialSecurityNumber", Category::Ssn),
            ("socsec", Category::Ssn),
            ("ss_num", Category::Ssn),
            ("ssn_last4", Category::Ssn),
            ("subscriber_id", Category::HealthPlanId),
            ("SubscriberID", Category::HealthPlanId),
            ("member_no", Category::HealthPlanId),
            ("birthdate", Category::BirthDate),
            ("pt_dob", Category::BirthDate),
            ("date_of_birth", Category::BirthDate),
            ("dateofbirth", Category::BirthDate),
            ("medical_record_number", Category::Mrn),
            ("chart_no", Category::Mrn),
            ("acct_num", Category::AccountNumber),
            ("drivers_license_number", Category::LicenseNumber),
            ("last_name", Category::Name),
            ("email_address", Category::Email),
            ("e_mail", Category::Email),
            ("primary_diagnosis", Category::Diagnosis),
            ("icd10_code", Category::Diagnosis),
            ("progress_notes", Category::ClinicalNotes),
            ("admit_date", Category::Date),
            ("fingerprint_hash", Category::Biometric),
        ] {
            assert_eq!(cat(name), Some(want), "{name}");
        }
        for not in [
            "created_at",
            "adobe_id",
            "lessnum",
            "status",
            "id",
            "amount",
        ] {
            assert_eq!(cat(not), None, "{not}");
        }
        assert!(!name_category("notes").unwrap().strong);
    }

    #[test]
    fn tiers() {
        for c in [
            Category::Ssn,
            Category::Mrn,
            Category::HealthPlanId,
            Category::AccountNumber,
            Category::LicenseNumber,
            Category::Biometric,
        ] {
            assert_eq!(c.tier(), Tier::Direct, "{c:?}");
        }
        for c in [
            Category::Name,
            Category::BirthDate,
            Category::Diagnosis,
            Category::Email,
        ] {
            assert_eq!(c.tier(), Tier::Other, "{c:?}");
        }
        for c in CATEGORIES {
            assert_eq!(Category::parse(c.as_str()), Some(c));
        }
    }

    #[test]
    fn confidence_from_context_and_hits() {
        let none = Tally::default();
        let strong = name_category("ssn");
        let weak = name_category("notes");
        assert_eq!(
            assess(strong, None, true, &none).unwrap().confidence,
            Confidence::High
        );
        assert_eq!(
            assess(strong, None, false, &none).unwrap().confidence,
            Confidence::Medium
        );
        assert_eq!(
            assess(weak, None, false, &none).unwrap().confidence,
            Confidence::Low
        );
        assert_eq!(
            assess(weak, None, true, &none).unwrap().confidence,
            Confidence::Medium
        );
        assert_eq!(assess(None, None, true, &none), None);
        let hits = Tally {
            values: 10,
            hits: [(Kind::Ssn, 9)].into(),
            ..Tally::default()
        };
        let a = assess(None, None, false, &hits).unwrap();
        assert_eq!(
            (a.category, a.confidence, a.tier),
            (Category::Ssn, Confidence::Medium, Tier::Direct)
        );
        assert_eq!(
            assess(None, None, true, &hits).unwrap().confidence,
            Confidence::High
        );
        let test_data = Tally {
            values: 3,
            hits: [(Kind::SsnTestData, 3)].into(),
            ..Tally::default()
        };
        assert_eq!(
            assess(None, None, false, &test_data).unwrap().confidence,
            Confidence::Low
        );
    }
}
