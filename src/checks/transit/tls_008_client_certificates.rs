//! TLS-008: whether pg_hba lines that rely on client certificates verify them
//! fully (clientcert=verify-full) against a CA in ssl_ca_file.

use super::hba_lines::flagged_rules;
use crate::checks::facts::{describe, listing, need_setting, settle, value};
use crate::checks::hba;
use crate::checks::{Check, Fix, Prerequisites, Verdict};
use crate::model::finding::{FixPlan, Section, Severity};
use crate::model::snapshot::{HbaRule, Snapshot};
use crate::policy::Policy;

pub static CLIENT_CERTIFICATES: Check = Check {
    id: "TLS-008",
    section: Section::Transit,
    title: "Client certificates are fully verified",
    severity: Severity::Medium,
    hipaa: &["164.312(d)"],
    cis: None,
    rationale: "Where pg_hba relies on client certificates (method cert, or clientcert= on \
        another method), the certificate must chain to the CA in ssl_ca_file and its name \
        must match the role (clientcert=verify-full); verify-ca accepts any certificate the \
        CA ever issued for any person. A weaker person-authentication check, so medium. \
        Servers that use no client certificates are not applicable: authentication then \
        rests on the AUTH checks.",
    reproduce_sql: "SELECT line_number, type, database, user_name, address, auth_method, options \
        FROM pg_hba_file_rules WHERE auth_method = 'cert' OR array_to_string(options, ' ') LIKE '%clientcert%'; \
        SELECT name, setting FROM pg_settings WHERE name = 'ssl_ca_file';",
    evaluate: |s, p| settle(client_certificates(s, p)),
    fix: Fix::After(
        Prerequisites {
            needs_first: &["TLS-001"],
            restart_between: false,
            needs_input: None,
        },
        &Fix::Build(client_certificates_plan),
    ),
};

/// Whether a rule asks for a client certificate, and how strictly (true = verify-full).
fn client_cert_mode(rule: &HbaRule) -> Option<bool> {
    if hba::method(rule) == "cert" {
        return Some(true);
    }
    rule.options
        .iter()
        .find_map(|o| o.strip_prefix("clientcert="))
        .and_then(|mode| match mode {
            "verify-full" => Some(true),
            "verify-ca" | "1" => Some(false),
            _ => None,
        })
}

const MISSING_CA: &str = "ssl_ca_file (empty)";

fn client_certificates(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let rules = hba::rules(s)?;
    let uses: Vec<(&HbaRule, bool)> = rules
        .iter()
        .filter(|r| hba::admits(r))
        .filter_map(|r| client_cert_mode(r).map(|full| (r, full)))
        .collect();
    if uses.is_empty() {
        return Ok(Verdict::not_applicable(
            "no pg_hba rule uses client certificates (method cert or clientcert=)",
        ));
    }
    let ca = need_setting(s, "ssl_ca_file")?;
    let mut flagged: Vec<String> = uses
        .iter()
        .filter(|(_, full)| !full)
        .map(|(r, _)| hba::display(r))
        .collect();
    if value(ca).trim().is_empty() {
        flagged.push(MISSING_CA.to_string());
    }
    let seen = format!(
        "{} rule(s) use client certificates; {}",
        uses.len(),
        describe("ssl_ca_file", ca)
    );
    Ok(if flagged.is_empty() {
        Verdict::pass(format!("{seen}; all verify-full"))
    } else {
        Verdict::fail(format!("{seen}; weak: {}", listing(&flagged))).with_objects(flagged)
    })
}

fn client_certificates_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let rules = s.hba_rules.as_deref().unwrap_or(&[]);
    let flagged = flagged_rules(rules, verdict);
    let proposal = hba::propose(s, "TLS-008", |i, rule| {
        if !flagged.contains(&i) {
            return hba::keep(rule);
        }
        let mut new = rule.clone();
        new.options.retain(|o| !o.starts_with("clientcert="));
        new.options.push("clientcert=verify-full".into());
        hba::changed("TLS-008", rule, new)
    });
    let mut advice = String::from("sets clientcert=verify-full on the listed lines");
    if verdict.objects.iter().any(|o| o == MISSING_CA) {
        advice.push_str(
            "; also point ssl_ca_file at the CA that issues client certificates \
             (ALTER SYSTEM SET ssl_ca_file = '…') before reloading",
        );
    }
    hba::plan(s, proposal, &advice)
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::{rules, with_option, NET};
    use crate::checks::testkit::{hba, set, Case};
    let mut ca = rules(vec![hba(1, "hostssl", "all", "all", NET, "cert")]);
    set(&mut ca, "ssl_ca_file", "root.crt");
    let mut ca_weak = rules(vec![with_option(
        hba(1, "hostssl", "all", "all", NET, "scram-sha-256"),
        "clientcert=verify-ca",
    )]);
    set(&mut ca_weak, "ssl_ca_file", "root.crt");
    vec![Case::new("TLS-008", ca, ca_weak)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::{hba, set};
    use crate::checks::transit::fixtures::*;
    use crate::model::finding::Status;

    #[test]
    fn client_certificates_not_used_is_not_applicable() {
        let s = rules(hardened());
        assert_eq!(run(&CLIENT_CERTIFICATES, &s).status, Status::NotApplicable);
        let no_ca = rules(vec![hba(1, "hostssl", "all", "all", NET, "cert")]);
        let mut no_ca = no_ca;
        set(&mut no_ca, "ssl_ca_file", "");
        let v = run(&CLIENT_CERTIFICATES, &no_ca);
        assert_eq!(v.status, Status::Fail);
        assert!(CLIENT_CERTIFICATES
            .plan(&no_ca, &v)
            .note
            .contains("ssl_ca_file"));
    }
}
