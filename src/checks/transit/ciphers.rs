//! Reads an OpenSSL cipher expression (`ssl_ciphers`) the way OpenSSL does,
//! over a small set of representative weak cipher suites, and reports which
//! weak families the expression lets in (TLS-003).
//!
//! The expression is not a list to compare as text: `!X` removes X for good,
//! `-X` removes it until something adds it again, `+X` only moves what is
//! already there, `A+B` means suites in both A and B, and `DEFAULT` expands
//! to OpenSSL's default list. Families are classified as OpenSSL 1.1.1/3.x
//! does (3DES is MEDIUM, not HIGH); a family the local library was built
//! without is still reported, because the same setting would admit it on a
//! library that has it. Pure code; imports nothing from the crate.

use std::collections::BTreeMap;

/// A representative suite: its OpenSSL name, the aliases that select it,
/// and the weak families it belongs to.
struct Suite {
    name: &'static str,
    aliases: &'static [&'static str],
    families: &'static [&'static str],
}

/// Aliases every suite below answers to (they are all SSLv3/TLSv1.0 suites).
const COMMON: &[&str] = &["SSLv3", "TLSv1", "TLSv1.0"];

const SUITES: &[Suite] = &[
    Suite {
        name: "NULL-SHA",
        aliases: &[
            "eNULL",
            "NULL",
            "COMPLEMENTOFALL",
            "kRSA",
            "aRSA",
            "RSA",
            "SHA1",
            "SHA",
        ],
        families: &["NULL"],
    },
    Suite {
        name: "NULL-MD5",
        aliases: &[
            "eNULL",
            "NULL",
            "COMPLEMENTOFALL",
            "kRSA",
            "aRSA",
            "RSA",
            "MD5",
        ],
        families: &["NULL", "MD5"],
    },
    Suite {
        name: "ECDHE-RSA-NULL-SHA",
        aliases: &[
            "eNULL",
            "NULL",
            "COMPLEMENTOFALL",
            "ECDHE",
            "EECDH",
            "kECDHE",
            "kEECDH",
            "aRSA",
            "SHA1",
            "SHA",
        ],
        families: &["NULL"],
    },
    Suite {
        name: "ADH-AES256-SHA",
        aliases: &[
            "aNULL",
            "ADH",
            "kDHE",
            "kEDH",
            "DH",
            "AES",
            "AES256",
            "HIGH",
            "SHA1",
            "SHA",
            "COMPLEMENTOFDEFAULT",
        ],
        families: &["aNULL"],
    },
    Suite {
        name: "AECDH-AES128-SHA",
        aliases: &[
            "aNULL",
            "AECDH",
            "kECDHE",
            "kEECDH",
            "ECDH",
            "AES",
            "AES128",
            "HIGH",
            "SHA1",
            "SHA",
            "COMPLEMENTOFDEFAULT",
        ],
        families: &["aNULL"],
    },
    Suite {
        name: "ADH-RC4-MD5",
        aliases: &[
            "aNULL",
            "ADH",
            "kDHE",
            "kEDH",
            "DH",
            "RC4",
            "MEDIUM",
            "MD5",
            "COMPLEMENTOFDEFAULT",
        ],
        families: &["aNULL", "RC4", "MD5"],
    },
    Suite {
        name: "EXP-RC4-MD5",
        aliases: &[
            "EXP", "EXPORT", "EXPORT40", "kRSA", "aRSA", "RSA", "RC4", "MD5",
        ],
        families: &["EXPORT", "RC4", "MD5"],
    },
    Suite {
        name: "EXP-DES-CBC-SHA",
        aliases: &[
            "EXP", "EXPORT", "EXPORT40", "kRSA", "aRSA", "RSA", "DES", "SHA1", "SHA",
        ],
        families: &["EXPORT", "DES"],
    },
    Suite {
        name: "RC4-SHA",
        aliases: &["RC4", "MEDIUM", "kRSA", "aRSA", "RSA", "SHA1", "SHA"],
        families: &["RC4"],
    },
    Suite {
        name: "RC4-MD5",
        aliases: &["RC4", "MEDIUM", "kRSA", "aRSA", "RSA", "MD5"],
        families: &["RC4", "MD5"],
    },
    Suite {
        name: "ECDHE-RSA-RC4-SHA",
        aliases: &[
            "RC4", "MEDIUM", "ECDHE", "EECDH", "kECDHE", "kEECDH", "aRSA", "SHA1", "SHA",
        ],
        families: &["RC4"],
    },
    Suite {
        name: "ECDHE-ECDSA-RC4-SHA",
        aliases: &[
            "RC4", "MEDIUM", "ECDHE", "EECDH", "kECDHE", "kEECDH", "aECDSA", "ECDSA", "SHA1", "SHA",
        ],
        families: &["RC4"],
    },
    Suite {
        name: "DES-CBC3-SHA",
        aliases: &["3DES", "MEDIUM", "kRSA", "aRSA", "RSA", "SHA1", "SHA"],
        families: &["3DES"],
    },
    Suite {
        name: "ECDHE-RSA-DES-CBC3-SHA",
        aliases: &[
            "3DES", "MEDIUM", "ECDHE", "EECDH", "kECDHE", "kEECDH", "aRSA", "SHA1", "SHA",
        ],
        families: &["3DES"],
    },
    Suite {
        name: "ECDHE-ECDSA-DES-CBC3-SHA",
        aliases: &[
            "3DES", "MEDIUM", "ECDHE", "EECDH", "kECDHE", "kEECDH", "aECDSA", "ECDSA", "SHA1",
            "SHA",
        ],
        families: &["3DES"],
    },
    Suite {
        name: "EDH-RSA-DES-CBC3-SHA",
        aliases: &[
            "3DES", "MEDIUM", "DHE", "EDH", "kDHE", "kEDH", "DH", "aRSA", "SHA1", "SHA",
        ],
        families: &["3DES"],
    },
    Suite {
        name: "DES-CBC-SHA",
        aliases: &["DES", "LOW", "kRSA", "aRSA", "RSA", "SHA1", "SHA"],
        families: &["DES"],
    },
];

/// A weak family the expression admits, and the first term that added it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    pub family: &'static str,
    pub via: String,
}

/// Where a suite stands while the expression is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Out,
    In,
    /// Removed with `!`: nothing can add it again.
    Killed,
}

/// The weak families `expression` admits, sorted by family name.
pub fn weak_families(expression: &str) -> Vec<Admitted> {
    let mut state = vec![State::Out; SUITES.len()];
    let mut added_by: Vec<Option<String>> = vec![None; SUITES.len()];
    for term in expression
        .split([':', ',', ' '])
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        apply(term, &mut state, &mut added_by);
    }
    let mut families: BTreeMap<&'static str, String> = BTreeMap::new();
    for (i, suite) in SUITES.iter().enumerate() {
        if state[i] != State::In {
            continue;
        }
        let via = added_by[i].clone().unwrap_or_default();
        for family in suite.families {
            families.entry(family).or_insert_with(|| via.clone());
        }
    }
    families
        .into_iter()
        .map(|(family, via)| Admitted { family, via })
        .collect()
}

fn apply(term: &str, state: &mut [State], added_by: &mut [Option<String>]) {
    if term.starts_with('@') {
        // @STRENGTH sorts and @SECLEVEL depends on the build: neither is counted on.
        return;
    }
    let (op, body) = match term.chars().next() {
        Some(c @ ('!' | '-' | '+')) => (c, &term[1..]),
        _ => (' ', term),
    };
    if op == ' ' && body.eq_ignore_ascii_case("DEFAULT") {
        for expanded in ["ALL", "!COMPLEMENTOFDEFAULT", "!eNULL"] {
            apply(expanded, state, added_by);
        }
        return;
    }
    for (i, suite) in SUITES.iter().enumerate() {
        if !selects(body, suite) {
            continue;
        }
        match op {
            '!' => state[i] = State::Killed,
            '-' if state[i] == State::In => state[i] = State::Out,
            ' ' if state[i] == State::Out => {
                state[i] = State::In;
                added_by[i] = Some(term.to_string());
            }
            _ => {}
        }
    }
}

/// Whether every `+`-joined element of `body` selects `suite`.
fn selects(body: &str, suite: &Suite) -> bool {
    !body.is_empty()
        && body
            .split('+')
            .all(|element| element_selects(element, suite))
}

fn element_selects(element: &str, suite: &Suite) -> bool {
    let is_null = suite.aliases.contains(&"eNULL");
    let named = |alias: &str| alias.eq_ignore_ascii_case(element);
    if named("ALL") {
        return !is_null;
    }
    if named("DEFAULT") {
        return !is_null && !suite.aliases.contains(&"aNULL");
    }
    named(suite.name) || suite.aliases.iter().any(|a| named(a)) || COMMON.iter().any(|a| named(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn families(expr: &str) -> Vec<&'static str> {
        weak_families(expr).into_iter().map(|a| a.family).collect()
    }

    #[test]
    fn postgres_default_admits_3des_through_medium() {
        let got = weak_families("HIGH:MEDIUM:+3DES:!aNULL");
        let names: Vec<&str> = got.iter().map(|a| a.family).collect();
        assert_eq!(names, vec!["3DES", "MD5", "RC4"]);
        assert!(got.iter().all(|a| a.via == "MEDIUM"));
    }

    #[test]
    fn exclusions_are_honoured() {
        assert!(families("HIGH:!aNULL:!MD5:!3DES:!RC4").is_empty());
        assert!(families("HIGH:MEDIUM:!aNULL:!MEDIUM").is_empty());
        assert!(families("ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL").is_empty());
        assert!(families("TLSv1.2:!aNULL").is_empty());
    }

    #[test]
    fn kill_is_permanent_but_minus_is_not() {
        assert!(families("!3DES:MEDIUM:!RC4:!aNULL").is_empty());
        assert_eq!(families("-3DES:MEDIUM:!RC4:!aNULL"), vec!["3DES"]);
    }

    #[test]
    fn plus_prefix_moves_and_never_adds() {
        assert!(families("HIGH:+3DES:!aNULL").is_empty());
    }

    #[test]
    fn broad_keywords_and_anonymous_suites() {
        assert_eq!(families("HIGH"), vec!["aNULL"]);
        let all = families("ALL");
        assert!(all.contains(&"EXPORT") && all.contains(&"3DES") && !all.contains(&"NULL"));
        assert!(families("ALL:eNULL").contains(&"NULL"));
        let default = families("DEFAULT");
        assert!(!default.contains(&"aNULL") && default.contains(&"3DES"));
        assert!(families("").is_empty());
    }

    #[test]
    fn separators_and_intersections() {
        assert_eq!(families("HIGH, !aNULL RC4+SHA"), vec!["RC4"]);
        assert_eq!(families("ECDHE+3DES"), vec!["3DES"]);
        assert!(families("@STRENGTH:@SECLEVEL=2").is_empty());
    }
}
