//! HIPAA Security Rule citations to NIST SP 800-53 Rev. 5 controls, for the
//! `tags.nist` of Heimdall (HDF) controls.
//!
//! Source: NIST SP 800-66 Rev. 2, "Implementing the HIPAA Security Rule: A
//! Cybersecurity Resource Guide" (February 2024), which relates each Security
//! Rule standard and implementation specification to SP 800-53r5 controls
//! (its crosswalk is published as an informative reference in NIST's
//! Cybersecurity and Privacy Reference Tool). Only the paragraphs our
//! catalogue cites are listed, each with the base controls (no enhancements)
//! most directly related. This is our own selection, guided by the guide: it
//! has NOT been compared line by line with NIST's published crosswalk, which
//! lists more controls per paragraph. Review it against the publication
//! before relying on it for an authorisation package (the README says so).
//!
//! 164.502(b) and 164.514 belong to the Privacy Rule, which SP 800-66r2 does
//! not cover; they map to nothing here rather than to a guess.
//!
//! Pure data; imports nothing.

/// The SP 800-53r5 controls related to one HIPAA citation (empty when the
/// crosswalk has none).
pub fn controls(citation: &str) -> &'static [&'static str] {
    match citation {
        "164.308(a)(1)(ii)(A)" => &["RA-2", "RA-3"],
        "164.308(a)(1)(ii)(B)" => &["PL-2", "PM-9", "RA-7"],
        "164.308(a)(1)(ii)(D)" => &["AU-6", "AU-7", "CA-7", "SI-4"],
        "164.308(a)(3)(ii)(B)" => &["PS-2", "PS-3"],
        "164.308(a)(3)(ii)(C)" => &["AC-2", "PS-4"],
        "164.308(a)(4)(i)" => &["AC-1", "AC-2", "AC-3"],
        "164.308(a)(4)(ii)(B)" => &["AC-2", "AC-3", "AC-6"],
        "164.308(a)(4)(ii)(C)" => &["AC-2", "AC-6", "PS-5"],
        "164.308(a)(5)(ii)(C)" => &["AC-7", "AU-2", "AU-6"],
        "164.308(a)(5)(ii)(D)" => &["IA-5"],
        "164.308(a)(6)(ii)" => &["IR-4", "IR-5", "IR-6"],
        "164.308(a)(7)(i)" => &["CP-1", "CP-2"],
        "164.308(a)(7)(ii)(A)" => &["CP-9"],
        "164.308(a)(7)(ii)(B)" => &["CP-2", "CP-10"],
        "164.308(a)(7)(ii)(D)" => &["CP-4"],
        "164.308(b)(1)" => &["SA-4", "SA-9"],
        "164.310(a)(1)" => &["PE-2", "PE-3"],
        "164.310(d)(1)" => &["CM-8", "MP-2", "MP-6"],
        "164.310(d)(2)(iv)" => &["CP-9", "MP-4"],
        "164.312(a)(1)" => &["AC-2", "AC-3", "AC-6"],
        "164.312(a)(2)(i)" => &["IA-2", "IA-4"],
        "164.312(a)(2)(ii)" => &["AC-2", "CP-2"],
        "164.312(a)(2)(iii)" => &["AC-11", "AC-12", "SC-10"],
        "164.312(a)(2)(iv)" => &["SC-12", "SC-13", "SC-28"],
        "164.312(b)" => &["AU-2", "AU-3", "AU-12"],
        "164.312(c)(1)" => &["SC-28", "SI-7"],
        "164.312(c)(2)" => &["SC-8", "SI-7"],
        "164.312(d)" => &["IA-2", "IA-3", "IA-5"],
        "164.312(e)(1)" => &["SC-7", "SC-8"],
        "164.312(e)(2)(i)" => &["SC-8", "SI-7"],
        "164.312(e)(2)(ii)" => &["SC-8", "SC-12", "SC-13"],
        "164.316(a)" => &["PL-1", "PM-1"],
        "164.316(b)(1)" => &["PL-2", "SA-5"],
        "164.316(b)(2)(i)" => &["AU-11", "SI-12"],
        _ => &[],
    }
}

/// The controls of several citations, sorted and without repeats.
pub fn controls_of<'a>(citations: impl IntoIterator<Item = &'a String>) -> Vec<&'static str> {
    let mut all: Vec<&'static str> = citations
        .into_iter()
        .flat_map(|c| controls(c).iter().copied())
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_security_rule_citation_of_the_catalogue_maps_to_controls() {
        for check in crate::checks::registry() {
            for c in check.hipaa {
                let privacy_rule = c.starts_with("164.5");
                assert_eq!(
                    controls(c).is_empty(),
                    privacy_rule,
                    "{} cites {c}",
                    check.id
                );
            }
        }
    }

    #[test]
    fn controls_are_well_formed_sp_800_53_ids() {
        for check in crate::checks::registry() {
            for control in controls_of(
                &check
                    .hipaa
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>(),
            ) {
                let (family, number) = control.split_once('-').unwrap();
                assert!(family.len() == 2 && family.chars().all(|c| c.is_ascii_uppercase()));
                assert!(number.parse::<u8>().is_ok(), "{control}");
            }
        }
    }
}
