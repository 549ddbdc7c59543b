//! ADM-001 … ADM-010: the administrative and physical safeguards no database
//! fact can show. Each one is a declaration only: a person attests it.

use crate::checks::facts::attestation_required;
use crate::checks::{Check, Fix};
use crate::model::finding::{ApplyClass, Section, Severity};

pub static RISK_ANALYSIS: Check = Check {
    id: "ADM-001",
    section: Section::Safeguards,
    title: "A risk analysis covers this database",
    severity: Severity::High,
    hipaa: &["164.308(a)(1)(ii)(A)"],
    cis: None,
    rationale: "The risk analysis is the foundation the Security Rule builds every other \
        safeguard on; a database holding PHI that it does not cover has no documented \
        basis for its controls. No database fact can show it, so a person attests the date \
        and owner. High: regulators cite a missing risk analysis first.",
    reproduce_sql: "-- organisational: record the analysis date and owner as an attestation",
    evaluate: |_, _| {
        attestation_required(
            "a risk analysis covering this database was completed: give its date and owner",
        )
    },
    fix: Fix::Instructions {
        apply: &[ApplyClass::Manual],
        note: "run or update the risk analysis with this server in scope (threats, \
            likelihood, impact, controls), then attest its date and owner",
    },
};

pub static BUSINESS_ASSOCIATES: Check = Check {
    id: "ADM-002",
    section: Section::Safeguards,
    title: "Business Associate Agreements cover the service providers",
    severity: Severity::High,
    hipaa: &["164.308(b)(1)"],
    cis: None,
    rationale: "Hosting, backup and monitoring providers that can reach PHI are business \
        associates and need a signed agreement before they touch it. A contract is outside \
        the database, so a person attests it. High: disclosure to a provider without a BAA \
        is itself a violation.",
    reproduce_sql:
        "-- organisational: list the providers and their BAA dates in the attestation note",
    evaluate: |_, _| {
        attestation_required(
            "Business Associate Agreements are signed with the hosting, backup and \
             monitoring providers of this server",
        )
    },
    fix: Fix::Instructions {
        apply: &[ApplyClass::Manual],
        note: "list every provider that stores, backs up or monitors this server, sign a BAA \
            with each, then attest with the list",
    },
};

pub static ACCESS_REVIEW: Check = Check {
    id: "ADM-003",
    section: Section::Safeguards,
    title: "Access to PHI tables is reviewed periodically",
    severity: Severity::Medium,
    hipaa: &["164.308(a)(3)(ii)(B)", "164.308(a)(4)(ii)(C)"],
    cis: None,
    rationale: "Grants accumulate: people change jobs and keep their roles. A periodic \
        review of who can read PHI (the PRIV section lists it) catches what no single \
        check can judge. The review is a human act, attested with its date. Medium.",
    reproduce_sql: "SELECT c.oid::regclass, a.grantee::regrole, a.privilege_type \
        FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a WHERE c.relkind IN ('r','p') ORDER BY 1, 2;",
    evaluate: |_, _| {
        attestation_required(
            "access to PHI tables was reviewed: give the date of the last review and who did it",
        )
    },
    fix: Fix::Instructions {
        apply: &[ApplyClass::Manual],
        note: "review the roles that can read PHI tables (see PRIV-017 and PRIV-014), revoke \
            what is no longer needed, then attest the review date",
    },
};

pub static SECURITY_POLICIES: Check = Check {
    id: "ADM-004",
    section: Section::Safeguards,
    title: "Security policies for this system are written and current",
    severity: Severity::Medium,
    hipaa: &["164.316(a)"],
    cis: None,
    rationale: "Configuration alone does not show intent: the Security Rule asks for \
        written policies and procedures behind the controls, kept current. A person \
        attests where they live and when they were last revised. Medium.",
    reproduce_sql: "-- organisational: cite the policy documents in the attestation note",
    evaluate: |_, _| {
        attestation_required(
            "security policies and procedures covering this system are written and were \
             reviewed within the last year",
        )
    },
    fix: Fix::Instructions {
        apply: &[ApplyClass::Manual],
        note: "write or update the database security procedures (access, logging, backup, \
            incident response), then attest with their location and revision date",
    },
};

pub static PHI_MINIMIZED: Check = Check {
    id: "ADM-005",
    section: Section::Safeguards,
    title: "PHI is scoped and minimized",
    severity: Severity::Medium,
    hipaa: &["164.502(b)", "164.514"],
    cis: None,
    rationale: "The minimum-necessary standard and de-identification rules ask whether the \
        PHI needs to be here at all: tokenized or de-identified data cannot leak what it \
        does not hold. Deciding that is a design review, attested. Medium.",
    reproduce_sql: "SELECT c.oid::regclass, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
        WHERE c.relkind IN ('r','p') AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2;",
    evaluate: |_, _| {
        attestation_required(
            "the PHI tables hold only the data their purpose needs, and de-identification or \
             tokenization was considered",
        )
    },
    fix: Fix::Instructions {
        apply: &[ApplyClass::Manual],
        note: "review each PHI table's columns against its purpose, drop or tokenize what is \
            not needed, then attest",
    },
};

pub static NETWORK_SEPARATION: Check = Check {
    id: "ADM-006",
    section: Section::Safeguards,
    title: "Environments are separated and network access is restricted",
    severity: Severity::High,
    hipaa: &["164.312(a)(1)", "164.312(e)(1)"],
    cis: None,
    rationale: "pg_hba.conf limits who may try to log in, but firewalls and subnets decide \
        who can reach the port at all, and test copies of production PHI are a common leak. \
        Both are outside the server, so a person attests them. High: network reach is the \
        first step of every remote attack.",
    reproduce_sql:
        "SELECT name, setting FROM pg_settings WHERE name IN ('listen_addresses', 'port');",
    evaluate: |_, _| {
        attestation_required(
            "production is separate from test and development, and the database port is \
             reachable only from application subnets and bastion hosts",
        )
    },
    fix: Fix::Instructions {
        apply: &[ApplyClass::Os, ApplyClass::Manual],
        note: "restrict the port with security groups or host firewall rules to application \
            subnets and bastions, keep PHI out of non-production copies, then attest",
    },
};

pub static KEY_MANAGEMENT: Check = Check {
    id: "ADM-007",
    section: Section::Safeguards,
    title: "Key management and rotation are documented",
    severity: Severity::High,
    hipaa: &["164.312(a)(2)(iv)"],
    cis: None,
    rationale: "Encryption is only as strong as the handling of its keys: where they live \
        (KMS, HSM, vault), who can use them and how often they rotate. That is outside the \
        database. High: a leaked key undoes every encrypted column and backup.",
    reproduce_sql: "SELECT name, setting FROM pg_settings WHERE name IN ('ssl_key_file', 'ssl_passphrase_command');",
    evaluate: |_, _| {
        attestation_required(
            "encryption keys (TLS, pgcrypto, backup) are held in a KMS, HSM or vault, and \
             their rotation schedule is documented",
        )
    },
    fix: Fix::Instructions {
        apply: &[ApplyClass::Manual],
        note: "document where each key lives, who can use it and its rotation interval, \
            move keys out of files and code into a KMS or vault, then attest",
    },
};

pub static MONITORING_AND_RESPONSE: Check = Check {
    id: "ADM-008",
    section: Section::Safeguards,
    title: "Anomalous access is monitored and incident response is tested",
    severity: Severity::Medium,
    hipaa: &["164.308(a)(6)(ii)"],
    cis: None,
    rationale: "Audit logs (AUD section) only help if someone watches them and knows what \
        to do when they show a breach. Alerting and a rehearsed response plan are \
        organisational, attested with the date of the last exercise. Medium.",
    reproduce_sql:
        "-- organisational: cite the alert rules and the last incident-response exercise",
    evaluate: |_, _| {
        attestation_required(
            "database logs feed alerts for anomalous access, and the incident response plan \
             was exercised: give the date",
        )
    },
    fix: Fix::Instructions {
        apply: &[ApplyClass::Manual],
        note: "ship the audit logs to a monitored system with alerts (mass reads, failed \
            log-ins, privilege changes), run a tabletop exercise, then attest",
    },
};

pub static PHYSICAL_ACCESS: Check = Check {
    id: "ADM-009",
    section: Section::Safeguards,
    title: "Physical access to servers and volumes is restricted",
    severity: Severity::Medium,
    hipaa: &["164.310(a)(1)", "164.310(d)(1)"],
    cis: None,
    rationale: "Whoever can touch the disk or its snapshots can read the data files and \
        keys. Facility controls, or the cloud provider's attested controls, are outside \
        the database. Medium: usually inherited from the hosting provider.",
    reproduce_sql: "-- physical: cite the data centre or cloud provider attestation",
    evaluate: |_, _| {
        attestation_required(
            "physical access to the server, its volumes and snapshots is restricted, and \
             keys are protected",
        )
    },
    fix: Fix::Instructions {
        apply: &[ApplyClass::Manual],
        note: "confirm facility access controls (or the cloud provider's SOC 2 / HITRUST \
            report) and media handling, then attest",
    },
};

pub static OFFSITE_BACKUPS: Check = Check {
    id: "ADM-010",
    section: Section::Safeguards,
    title: "Off-site backups are secured and encrypted",
    severity: Severity::High,
    hipaa: &["164.310(d)(2)(iv)", "164.312(a)(2)(iv)"],
    cis: None,
    rationale: "A backup copy held off-site protects against losing the site, but it is a \
        full copy of the PHI wherever it is stored. Its encryption and access control are \
        outside the database (see also BAK-007). High.",
    reproduce_sql:
        "SELECT name, setting FROM pg_settings WHERE name IN ('archive_mode', 'archive_library');",
    evaluate: |_, _| {
        attestation_required(
            "off-site backup copies exist, are encrypted, and only named people can reach them",
        )
    },
    fix: Fix::Instructions {
        apply: &[ApplyClass::Manual],
        note: "keep an encrypted backup copy in another location with restricted access \
            (e.g. a second pgBackRest repository in another region), then attest",
    },
};

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{base, Case};

    [
        "ADM-001", "ADM-002", "ADM-003", "ADM-004", "ADM-005", "ADM-006", "ADM-007", "ADM-008",
        "ADM-009", "ADM-010",
    ]
    .into_iter()
    .map(|id| Case::attestation(id, base(), base()))
    .collect()
}
