//! The HIPAA Security Rule paragraphs the catalogue cites, with the names
//! the regulation gives them. Shared by the GUI and the PDF report.

/// The regulation's name for a cited paragraph of 45 CFR Part 164, if known.
pub fn citation_name(citation: &str) -> Option<&'static str> {
    Some(match citation {
        "164.308(a)(1)(ii)(A)" => "Risk analysis",
        "164.308(a)(1)(ii)(B)" => "Risk management",
        "164.308(a)(1)(ii)(D)" => "Information system activity review",
        "164.308(a)(3)(ii)(B)" => "Workforce clearance procedure",
        "164.308(a)(3)(ii)(C)" => "Termination procedures",
        "164.308(a)(4)(i)" => "Information access management",
        "164.308(a)(4)(ii)(B)" => "Access authorization",
        "164.308(a)(4)(ii)(C)" => "Access establishment and modification",
        "164.308(a)(5)(ii)(C)" => "Log-in monitoring",
        "164.308(a)(5)(ii)(D)" => "Password management",
        "164.308(a)(6)(ii)" => "Security incident response and reporting",
        "164.308(a)(7)(i)" => "Contingency plan",
        "164.308(a)(7)(ii)(A)" => "Data backup plan",
        "164.308(a)(7)(ii)(B)" => "Disaster recovery plan",
        "164.308(a)(7)(ii)(D)" => "Testing and revision procedures",
        "164.308(b)(1)" => "Business associate contracts",
        "164.310(a)(1)" => "Facility access controls",
        "164.310(d)(1)" => "Device and media controls",
        "164.310(d)(2)(iv)" => "Data backup and storage",
        "164.312(a)(1)" => "Access control",
        "164.312(a)(2)(i)" => "Unique user identification",
        "164.312(a)(2)(ii)" => "Emergency access procedure",
        "164.312(a)(2)(iii)" => "Automatic logoff",
        "164.312(a)(2)(iv)" => "Encryption and decryption",
        "164.312(b)" => "Audit controls",
        "164.312(c)(1)" => "Integrity",
        "164.312(c)(2)" => "Mechanism to authenticate ePHI",
        "164.312(d)" => "Person or entity authentication",
        "164.312(e)(1)" => "Transmission security",
        "164.312(e)(2)(i)" => "Integrity controls",
        "164.312(e)(2)(ii)" => "Encryption (in transmission)",
        "164.316(a)" => "Policies and procedures",
        "164.316(b)(1)" => "Documentation",
        "164.316(b)(2)(i)" => "Documentation time limit (retention)",
        "164.502(b)" => "Minimum necessary",
        "164.514" => "De-identification and minimum necessary",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_citation_has_a_name() {
        for check in crate::checks::registry() {
            for c in check.hipaa {
                assert!(
                    citation_name(c).is_some(),
                    "{} cites {c} without a name",
                    check.id
                );
            }
        }
    }
}
