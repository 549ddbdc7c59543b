//! GEN-007: an attestation that no database password lies in plain text in
//! profiles, service files or history on the database and client hosts.

use crate::checks::facts::attestation_required;
use crate::checks::{Check, Fix};
use crate::model::finding::{ApplyClass, Section, Severity};

pub static NO_PLAINTEXT_PASSWORDS_ON_HOST: Check = Check {
    id: "GEN-007",
    section: Section::Safeguards,
    title: "No database passwords lie in plain text on hosts",
    severity: Severity::High,
    hipaa: &["164.308(a)(5)(ii)(D)"],
    cis: Some("1.6–1.7"),
    rationale: "PGPASSWORD in shell profiles or process environments, passwords in \
        pg_service.conf and psql history files give a password to anyone who reads the \
        file or /proc. These live on client and server hosts, outside SQL, so a person \
        checks and attests. High: a leaked administrator password opens every PHI table.",
    reproduce_sql: "-- on each host: grep -l PGPASSWORD ~/.bashrc ~/.profile /etc/environment; \
        grep -l password ~/.pg_service.conf; ls -l ~/.pgpass ~/.psql_history",
    evaluate: |_, _| {
        attestation_required(
            "no PGPASSWORD in profiles or service environments, no passwords in \
             pg_service.conf or psql history, and ~/.pgpass files are mode 0600 on the \
             database and client hosts",
        )
    },
    fix: Fix::Instructions {
        apply: &[ApplyClass::Os],
        note: "remove PGPASSWORD from profiles and unit files, move passwords to ~/.pgpass \
            (mode 0600) or a secrets manager, clear psql history that holds ALTER ROLE … \
            PASSWORD, then attest",
    },
};

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{base, Case};

    vec![Case::attestation("GEN-007", base(), base())]
}
