//! Guide section 1: HIPAA safeguards mapped to database controls: the
//! administrative and physical safeguards a person attests (ADM-*), then the
//! platform and integrity checks (GEN-*).
//!
//! Imports the snapshot, the policy, `facts`, `expect` (which judges the
//! role- and database-settable GEN-003 parameters in every scope), `redact`
//! and the bundled release table in `versions`; never `db`, `ui` or another
//! section file.

use super::expect::{expect_all, fix_settings, Expect};
use super::facts::{
    attestation_required, connect_grant, describe, is_off, is_on, parse_mode, part_missing,
    scanner_role, settings_grant, value,
};
use super::redact::redact_command;
use super::versions::{self, MajorRelease};
use super::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::{Extension, Snapshot};
use crate::model::statement::Statement;
use crate::policy::Policy;
use postgres_protocol::escape::{escape_identifier, escape_literal};

pub static CHECKS: &[&Check] = &[
    &RISK_ANALYSIS,
    &BUSINESS_ASSOCIATES,
    &ACCESS_REVIEW,
    &SECURITY_POLICIES,
    &PHI_MINIMIZED,
    &NETWORK_SEPARATION,
    &KEY_MANAGEMENT,
    &MONITORING_AND_RESPONSE,
    &PHYSICAL_ACCESS,
    &OFFSITE_BACKUPS,
    &SUPPORTED_VERSION,
    &APPROVED_EXTENSIONS,
    &INTEGRITY_SETTINGS,
    &SOCKET_PERMISSIONS,
    &FIPS_MODE,
    &SETTINGS_APPLIED,
    &NO_PLAINTEXT_PASSWORDS_ON_HOST,
];

// ---------------------------------------------------------------------------
// ADM: attestations

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

// ---------------------------------------------------------------------------
// GEN-001

pub static SUPPORTED_VERSION: Check = Check {
    id: "GEN-001",
    section: Section::Safeguards,
    title: "PostgreSQL is a supported major on a current minor release",
    severity: Severity::High,
    hipaa: &["164.308(a)(1)(ii)(B)"],
    cis: Some("1.5"),
    rationale: "Minor releases carry the security fixes; a major past its final release \
        gets none. Judged offline against the bundled release table (see \
        checks::versions, refreshed quarterly) on the scan date: a major at or past its \
        final release, a pre-release build, or a minor four or more releases behind the \
        newest known (about a year of missed security fixes) fails; one to three behind \
        warns, as does a major within 180 days of its final release. The table's newest \
        minors are lower bounds, so a server newer than the table passes. A major newer \
        than the table is unknown until the table is refreshed. High.",
    reproduce_sql:
        "SELECT current_setting('server_version'), current_setting('server_version_num')::int;",
    evaluate: supported_version,
    fix: Fix::Instructions {
        apply: &[ApplyClass::Os, ApplyClass::Restart],
        note: "install the newest minor release of this major from your distribution or the \
            PGDG repository and restart (no dump/restore needed); for a major near or past \
            its final release, plan a pg_upgrade to a supported major",
    },
};

/// Minors this far behind the newest known fail; fewer warn.
const MINORS_BEHIND_TO_FAIL: u32 = 4;
/// Days before the final release at which an otherwise current server warns.
const EOL_WARNING_DAYS: i64 = 180;

fn supported_version(s: &Snapshot, _: &Policy) -> Verdict {
    let Some(num) = s.target.server_version_num else {
        return Verdict::unknown("the server version was not read", None);
    };
    let shown = s
        .target
        .server_version
        .clone()
        .unwrap_or_else(|| num.to_string());
    let (major, minor) = versions::split_version_num(num);
    let seen = format!(
        "server_version {shown} (server_version_num {num}); release table of {}",
        versions::TABLE_UPDATED
    );
    if is_prerelease(&shown) {
        return Verdict::fail(format!(
            "{seen}: a pre-release build gets no security releases"
        ));
    }
    if major > versions::newest_major() {
        return Verdict::unknown(
            format!(
                "{seen}: major {major} is newer than the bundled table knows; update pgSafeguard"
            ),
            None,
        );
    }
    let Some(release) = versions::lookup(major) else {
        return Verdict::fail(format!(
            "{seen}: major {major} is long past its end of life"
        ));
    };
    let Some(today) = s.collected_at.get(..10).filter(|d| is_iso_date(d)) else {
        return Verdict::unknown(
            format!("{seen}: the scan date is missing, so end of life cannot be judged"),
            None,
        );
    };
    judge_release(release, minor, today, &seen)
}

fn judge_release(release: &MajorRelease, minor: u32, today: &str, seen: &str) -> Verdict {
    let major = release.major;
    if release.is_end_of_life_on(today) {
        return Verdict::fail(format!(
            "{seen}: PostgreSQL {major} reached end of life on {} and gets no more fixes",
            release.final_release
        ));
    }
    let latest = release.latest_label();
    let behind = release.latest_minor.saturating_sub(minor);
    let support = format!(
        "PostgreSQL {major} is supported until {}",
        release.final_release
    );
    if behind >= MINORS_BEHIND_TO_FAIL {
        return Verdict::fail(format!(
            "{seen}: {support}, but {major}.{minor} is {behind} minor releases behind {latest}"
        ));
    }
    if behind > 0 {
        return Verdict::warn(format!(
            "{seen}: {support}; {major}.{minor} is {behind} minor release(s) behind {latest}"
        ));
    }
    match days_between(today, release.final_release) {
        Some(days) if days <= EOL_WARNING_DAYS => Verdict::warn(format!(
            "{seen}: {major}.{minor} is current ({latest}), but support ends in {days} days \
             ({}): plan the major upgrade",
            release.final_release
        )),
        _ => Verdict::pass(format!(
            "{seen}: {support}; {major}.{minor} is current (newest known: {latest})"
        )),
    }
}

fn is_prerelease(version: &str) -> bool {
    let v = version.to_ascii_lowercase();
    ["devel", "beta", "rc", "alpha"]
        .iter()
        .any(|tag| v.contains(tag))
}

fn parse_date(text: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format).ok()
}

fn is_iso_date(text: &str) -> bool {
    parse_date(text).is_some()
}

fn days_between(from: &str, to: &str) -> Option<i64> {
    Some((parse_date(to)? - parse_date(from)?).whole_days())
}

// ---------------------------------------------------------------------------
// GEN-002

pub static APPROVED_EXTENSIONS: Check = Check {
    id: "GEN-002",
    section: Section::Safeguards,
    title: "Only approved extensions are installed",
    severity: Severity::Medium,
    hipaa: &["164.308(a)(1)(ii)(B)"],
    cis: None,
    rationale: "Every extension is code running inside the server with its privileges; \
        some (dblink, file_fdw, adminpack) reach the network or the file system. The \
        policy's approved_extensions decides: anything else fails. Without that list the \
        inventory is shown for a person to approve (manual), never passed silently; \
        plpgsql, installed in every database by default, is always accepted. Every \
        collected database is checked. Medium.",
    reproduce_sql:
        "SELECT extname, extversion, extnamespace::regnamespace FROM pg_extension ORDER BY 1;",
    evaluate: approved_extensions,
    fix: Fix::Build(drop_unapproved_extensions),
};

/// Installed in every database by default; approving it adds nothing.
const BUILT_IN_EXTENSIONS: &[&str] = &["plpgsql"];

/// `database:extension` labels of every non-built-in extension, or unknown
/// when the connected database's extensions were not collected.
fn extension_inventory(s: &Snapshot) -> Result<Vec<(String, &Extension)>, Verdict> {
    let Some(primary) = s.primary_database() else {
        return Err(part_missing(
            s,
            "extensions",
            connect_grant(s, &s.target.dbname),
        ));
    };
    if primary.extensions.is_none() {
        return Err(part_missing(
            s,
            "extensions",
            connect_grant(s, &primary.name),
        ));
    }
    Ok(s.databases
        .iter()
        .flat_map(|db| {
            db.extensions
                .iter()
                .flatten()
                .filter(|e| !BUILT_IN_EXTENSIONS.contains(&e.name.as_str()))
                .map(move |e| (format!("{}:{}", db.name, e.name), e))
        })
        .collect())
}

fn approved_extensions(s: &Snapshot, policy: &Policy) -> Verdict {
    let inventory = match extension_inventory(s) {
        Ok(found) => found,
        Err(unknown) => return unknown,
    };
    let labels: Vec<String> = inventory.iter().map(|(label, _)| label.clone()).collect();
    if labels.is_empty() {
        return Verdict::pass("no extensions besides plpgsql are installed");
    }
    let Some(approved) = &policy.approved_extensions else {
        return Verdict::manual(format!(
            "no approved_extensions in the policy; approve or remove these {}: {}",
            labels.len(),
            labels.join(", ")
        ))
        .with_objects(labels);
    };
    let unapproved: Vec<String> = inventory
        .iter()
        .filter(|(_, e)| !approved.iter().any(|a| a == &e.name))
        .map(|(label, _)| label.clone())
        .collect();
    if unapproved.is_empty() {
        Verdict::pass(format!(
            "all {} installed extension(s) are approved: {}",
            labels.len(),
            labels.join(", ")
        ))
    } else {
        Verdict::fail(format!(
            "{} extension(s) not in the policy's approved_extensions: {}",
            unapproved.len(),
            unapproved.join(", ")
        ))
        .with_objects(unapproved)
    }
}

/// DROP EXTENSION for the listed extensions of the connected database.
fn drop_unapproved_extensions(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let primary = s.primary_database();
    let prefix = primary.map(|d| format!("{}:", d.name)).unwrap_or_default();
    let here: Vec<&Extension> = primary
        .and_then(|d| d.extensions.as_deref())
        .unwrap_or_default()
        .iter()
        .filter(|e| verdict.objects.contains(&format!("{prefix}{}", e.name)))
        .collect();
    let elsewhere: Vec<&str> = verdict
        .objects
        .iter()
        .filter(|o| !o.starts_with(&prefix))
        .map(String::as_str)
        .collect();
    let mut note = String::from(
        "DROP EXTENSION discards objects the extension owns and fails while other objects \
         depend on it (no CASCADE on purpose); the rollback recreates the extension but not \
         data it held",
    );
    if !elsewhere.is_empty() {
        note.push_str(&format!(
            "; connect to each other database and drop there too: {}",
            elsewhere.join(", ")
        ));
    }
    FixPlan {
        apply: vec![ApplyClass::Immediate],
        statements: here
            .iter()
            .map(|e| Statement::other(format!("DROP EXTENSION {}", escape_identifier(&e.name))))
            .collect(),
        rollback: here
            .iter()
            .map(|e| {
                Statement::other(format!(
                    "CREATE EXTENSION {} WITH SCHEMA {} VERSION {}",
                    escape_identifier(&e.name),
                    escape_identifier(&e.schema),
                    escape_literal(&e.version)
                ))
            })
            .collect(),
        needs: "superuser or the extension owner".into(),
        note,
        irreversible: !here.is_empty(),
        ..FixPlan::default()
    }
}

// ---------------------------------------------------------------------------
// GEN-003

pub static INTEGRITY_SETTINGS: Check = Check {
    id: "GEN-003",
    section: Section::Safeguards,
    title: "Crash-safety and catalog-integrity settings are at their safe values",
    severity: Severity::High,
    hipaa: &["164.312(c)(1)"],
    cis: Some("6.2"),
    rationale: "fsync and full_page_writes off trade crash safety for speed: a power loss \
        can corrupt PHI beyond repair. zero_damaged_pages silently destroys damaged rows; \
        allow_system_table_mods lets DDL corrupt the catalogs; ignore_system_indexes is a \
        recovery-only switch. lo_compat_privileges on switches off the privilege checks on \
        large objects, so every role reads (and writes) every large object whatever its ACL: \
        scanned documents and images stored that way are PHI open to all. Each bad one is \
        listed, and the evidence counts the large objects of each scanned database by owner \
        so that PHI kept in them is visible. High: integrity and confidentiality of stored \
        PHI.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings WHERE name IN \
        ('fsync', 'full_page_writes', 'zero_damaged_pages', 'allow_system_table_mods', \
        'ignore_system_indexes', 'lo_compat_privileges');\nSELECT pg_get_userbyid(lomowner), \
        count(*) FROM pg_largeobject_metadata GROUP BY 1;",
    evaluate: integrity_settings,
    fix: Fix::Build(fix_integrity_settings),
};

const INTEGRITY_RULES: &[Expect] = &[
    Expect {
        name: "fsync",
        wanted: "on",
        ok: is_on,
        fix_value: "on",
    },
    Expect {
        name: "full_page_writes",
        wanted: "on",
        ok: is_on,
        fix_value: "on",
    },
    Expect {
        name: "zero_damaged_pages",
        wanted: "off",
        ok: is_off,
        fix_value: "off",
    },
    Expect {
        name: "allow_system_table_mods",
        wanted: "off",
        ok: is_off,
        fix_value: "off",
    },
    Expect {
        name: "ignore_system_indexes",
        wanted: "off",
        ok: is_off,
        fix_value: "off",
    },
    Expect {
        name: "lo_compat_privileges",
        wanted: "off",
        ok: is_off,
        fix_value: "off",
    },
];

fn integrity_settings(s: &Snapshot, _: &Policy) -> Verdict {
    let mut verdict = expect_all(s, INTEGRITY_RULES);
    verdict.evidence.push_str(&large_objects_note(s));
    verdict
}

/// `; large objects: clinic: 3 (app 2, postgres 1); archive: none`: the
/// count by owner in each scanned database, so that PHI kept in large
/// objects (which lo_compat_privileges opens to everyone) is visible.
fn large_objects_note(s: &Snapshot) -> String {
    let per_database: Vec<String> = s
        .databases
        .iter()
        .map(|db| match db.large_objects.as_deref() {
            None => format!("{}: not collected", db.name),
            Some([]) => format!("{}: none", db.name),
            Some(owners) => {
                let total: i64 = owners.iter().map(|o| o.count).sum();
                let by_owner: Vec<String> = owners
                    .iter()
                    .map(|o| format!("{} {}", o.owner, o.count))
                    .collect();
                format!("{}: {total} ({})", db.name, by_owner.join(", "))
            }
        })
        .collect();
    if per_database.is_empty() {
        String::new()
    } else {
        format!("; large objects: {}", per_database.join("; "))
    }
}

fn fix_integrity_settings(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    fix_settings(
        s,
        verdict,
        INTEGRITY_RULES,
        &[ApplyClass::Reload],
        "ignore_system_indexes applies to new sessions only; if fsync was off, check the \
         cluster for corruption (amcheck, pg_checksums) after the next crash-free restart",
    )
}

// ---------------------------------------------------------------------------
// GEN-004

pub static SOCKET_PERMISSIONS: Check = Check {
    id: "GEN-004",
    section: Section::Safeguards,
    title: "The Unix socket is not open to every local user",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "unix_socket_permissions is a bit mask; the default 0777 lets every local \
        account reach the socket, so peer and trust lines for local connections become \
        reachable to any shell user. No bit outside 0770 may be set (0707 fails as much as \
        0777). Not applicable when no socket directory is configured. Medium: needs a \
        local account first.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings \
        WHERE name IN ('unix_socket_permissions', 'unix_socket_directories');",
    evaluate: socket_permissions,
    fix: Fix::SetParameter {
        name: "unix_socket_permissions",
        value: "0770",
        apply: &[ApplyClass::Restart],
        note: "set unix_socket_group to the group of local clients that need the socket",
    },
};

fn socket_mode_ok(v: &str) -> bool {
    parse_mode(v).is_some_and(|mode| mode & !0o770 == 0)
}

fn socket_permissions(s: &Snapshot, _: &Policy) -> Verdict {
    if let Some(dirs) = s.setting("unix_socket_directories") {
        if value(dirs).trim().is_empty() {
            return Verdict::not_applicable(format!(
                "{}: the server creates no Unix socket",
                describe("unix_socket_directories", dirs)
            ));
        }
    }
    expect_all(
        s,
        &[Expect {
            name: "unix_socket_permissions",
            wanted: "no bits outside 0770",
            ok: socket_mode_ok,
            fix_value: "0770",
        }],
    )
}

// ---------------------------------------------------------------------------
// GEN-005

pub static FIPS_MODE: Check = Check {
    id: "GEN-005",
    section: Section::Safeguards,
    title: "FIPS-validated cryptography is used where required",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(2)(iv)"],
    cis: Some("6.7"),
    rationale: "Some covered entities (federal contracts, state rules) must use FIPS 140 \
        validated cryptography. FIPS mode is a property of the host's OpenSSL, which SQL \
        cannot read; PostgreSQL 18's pgcrypto fips_mode() reports it but is not collected \
        by this scan. So a person attests it. Medium: required only where the contract or \
        policy says so.",
    reproduce_sql: "SELECT name, setting FROM pg_settings WHERE name = 'ssl_library';\n\
        -- PostgreSQL 18+ with pgcrypto: SELECT fips_mode();",
    evaluate: fips_mode,
    fix: Fix::Instructions {
        apply: &[ApplyClass::Os],
        note: "enable the OS FIPS mode (e.g. `fips-mode-setup --enable` on RHEL, Ubuntu Pro \
            FIPS packages), reboot, confirm with `cat /proc/sys/crypto/fips_enabled`, then \
            attest",
    },
};

fn fips_mode(s: &Snapshot, _: &Policy) -> Verdict {
    let library = s
        .setting("ssl_library")
        .map(|l| format!("; {}", describe("ssl_library", l)))
        .unwrap_or_default();
    attestation_required(&format!(
        "the host's OpenSSL runs in FIPS mode where your contracts or policy require it \
         (not readable over SQL{library})"
    ))
}

// ---------------------------------------------------------------------------
// GEN-006

pub static SETTINGS_APPLIED: Check = Check {
    id: "GEN-006",
    section: Section::Safeguards,
    title: "The configuration files are valid and every change is applied",
    severity: Severity::Medium,
    hipaa: &["164.312(c)(1)"],
    cis: None,
    rationale: "A setting waiting for a restart, or a configuration line with an error, \
        means the running server is not what the files say, so a reviewed file proves \
        nothing. pending_restart rows and pg_file_settings errors fail. A file row that is \
        merely superseded by a later line (e.g. postgresql.auto.conf overriding \
        postgresql.conf) is normal and only counted. Medium.",
    reproduce_sql: "SELECT name, setting FROM pg_settings WHERE pending_restart;\n\
        SELECT sourcefile, sourceline, name, applied, error FROM pg_file_settings \
        WHERE error IS NOT NULL OR NOT applied;",
    evaluate: settings_applied,
    fix: Fix::Instructions {
        apply: &[ApplyClass::Os, ApplyClass::Restart],
        note: "correct the listed lines in the configuration files, run SELECT \
            pg_reload_conf() and check pg_file_settings shows no error; restart the server \
            in a maintenance window for pending_restart settings",
    },
};

fn file_settings_grant(s: &Snapshot) -> String {
    let role = escape_identifier(&scanner_role(s));
    format!(
        "GRANT SELECT ON pg_file_settings TO {role}; \
         GRANT EXECUTE ON FUNCTION pg_show_all_file_settings() TO {role}"
    )
}

fn settings_applied(s: &Snapshot, _: &Policy) -> Verdict {
    let Some(settings) = &s.settings else {
        return part_missing(s, "settings", settings_grant(s));
    };
    let mut problems: Vec<String> = settings
        .iter()
        .filter(|(_, setting)| setting.pending_restart)
        .map(|(name, _)| format!("{name} (pending restart)"))
        .collect();
    let Some(file_rows) = &s.file_setting_problems else {
        if problems.is_empty() {
            return part_missing(s, "file_setting_problems", file_settings_grant(s));
        }
        return Verdict::fail(format!(
            "{} setting(s) wait for a restart: {} (pg_file_settings not readable)",
            problems.len(),
            problems.join(", ")
        ))
        .with_objects(problems);
    };
    let superseded = file_rows.iter().filter(|r| r.error.is_none()).count();
    problems.extend(file_rows.iter().filter_map(|row| {
        let error = row.error.as_deref()?;
        Some(format!(
            "{}:{} {}: {}",
            row.sourcefile.as_deref().unwrap_or("?"),
            row.sourceline.map_or("?".to_string(), |l| l.to_string()),
            row.name.as_deref().unwrap_or("(no name)"),
            redact_command(error)
        ))
    }));
    let superseded_note = format!("{superseded} superseded configuration line(s), which is normal");
    if problems.is_empty() {
        Verdict::pass(format!(
            "no setting waits for a restart and no configuration line has an error; \
             {superseded_note}"
        ))
    } else {
        Verdict::fail(format!(
            "{} problem(s): {}; {superseded_note}",
            problems.len(),
            problems.join("; ")
        ))
        .with_objects(problems)
    }
}

// ---------------------------------------------------------------------------
// GEN-007

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

// ---------------------------------------------------------------------------
// Tests

#[cfg(test)]
pub fn cases() -> Vec<super::testkit::Case> {
    use super::testkit::{base, db, set, with_settings, Case};

    let mut cases: Vec<Case> = [
        "ADM-001", "ADM-002", "ADM-003", "ADM-004", "ADM-005", "ADM-006", "ADM-007", "ADM-008",
        "ADM-009", "ADM-010", "GEN-005", "GEN-007",
    ]
    .into_iter()
    .map(|id| Case::attestation(id, base(), base()))
    .collect();

    let mut current = base();
    current.target.server_version = Some("15.19".into());
    current.target.server_version_num = Some(150019);
    let mut end_of_life = base();
    end_of_life.target.server_version = Some("13.23".into());
    end_of_life.target.server_version_num = Some(130023);

    let mut with_dblink = base();
    db(&mut with_dblink).extensions = Some(vec![Extension {
        name: "dblink".into(),
        version: "1.2".into(),
        schema: "public".into(),
    }]);
    let approving = Policy {
        approved_extensions: Some(vec!["pgcrypto".into()]),
        ..Policy::default()
    };

    let mut pending = base();
    set(&mut pending, "shared_buffers", "16384");
    if let Some(s) = pending
        .settings
        .as_mut()
        .and_then(|m| m.get_mut("shared_buffers"))
    {
        s.pending_restart = true;
    }

    cases.extend([
        Case::new("GEN-001", current, end_of_life),
        Case::new("GEN-002", base(), with_dblink).with_policy(approving),
        Case::new(
            "GEN-003",
            with_settings(&[
                ("fsync", "on"),
                ("full_page_writes", "on"),
                ("zero_damaged_pages", "off"),
                ("allow_system_table_mods", "off"),
                ("ignore_system_indexes", "off"),
                ("lo_compat_privileges", "off"),
            ]),
            with_settings(&[
                ("fsync", "off"),
                ("full_page_writes", "on"),
                ("zero_damaged_pages", "off"),
                ("allow_system_table_mods", "off"),
                ("ignore_system_indexes", "off"),
                ("lo_compat_privileges", "off"),
            ]),
        ),
        Case::new(
            "GEN-004",
            with_settings(&[("unix_socket_permissions", "0770")]),
            with_settings(&[("unix_socket_permissions", "0777")]),
        ),
        Case::new("GEN-006", base(), pending),
    ]);
    cases
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{base, db, set, with_settings};
    use super::*;
    use crate::model::finding::Status;
    use crate::model::snapshot::FileSettingProblem;

    fn eval(check: &Check, s: &Snapshot) -> Verdict {
        (check.evaluate)(s, &Policy::default())
    }

    fn on_version(version: &str, num: u32, date: &str) -> Snapshot {
        let mut s = base();
        s.target.server_version = Some(version.into());
        s.target.server_version_num = Some(num);
        s.collected_at = format!("{date}T10:00:00Z");
        s
    }

    #[test]
    fn version_rules() {
        let cases = [
            ("15.19", 150019, "2026-11-27", Status::Pass),
            ("15.20", 150020, "2026-11-27", Status::Pass),
            ("15.18", 150018, "2026-11-27", Status::Warn),
            ("15.16", 150016, "2026-11-27", Status::Warn),
            ("15.15", 150015, "2026-11-27", Status::Fail),
            ("14.24", 140024, "2026-11-11", Status::Warn),
            ("14.24", 140024, "2026-11-12", Status::Fail),
            ("15.19", 150019, "2027-06-01", Status::Warn),
            ("13.23", 130023, "2026-11-27", Status::Fail),
            ("9.6.24", 90624, "2026-11-27", Status::Fail),
            ("19beta1", 190000, "2026-11-27", Status::Fail),
            ("19.1", 190001, "2026-11-27", Status::Unknown),
            ("18.5", 180005, "", Status::Unknown),
        ];
        for (version, num, date, want) in cases {
            let mut s = on_version(version, num, date);
            if date.is_empty() {
                s.collected_at.clear();
            }
            let v = eval(&SUPPORTED_VERSION, &s);
            assert_eq!(v.status, want, "{version} on {date}: {}", v.evidence);
        }
        let mut s = base();
        s.target.server_version_num = None;
        assert_eq!(eval(&SUPPORTED_VERSION, &s).status, Status::Unknown);
    }

    #[test]
    fn extensions_without_a_policy_are_manual_with_the_inventory() {
        let mut s = base();
        db(&mut s).extensions = Some(vec![
            Extension {
                name: "plpgsql".into(),
                version: "1.0".into(),
                schema: "pg_catalog".into(),
            },
            Extension {
                name: "pgcrypto".into(),
                version: "1.3".into(),
                schema: "public".into(),
            },
        ]);
        let v = eval(&APPROVED_EXTENSIONS, &s);
        assert_eq!(v.status, Status::Manual);
        assert_eq!(v.objects, vec!["clinic:pgcrypto"]);
        let policy = Policy {
            approved_extensions: Some(vec!["pgcrypto".into()]),
            ..Policy::default()
        };
        assert_eq!(
            (APPROVED_EXTENSIONS.evaluate)(&s, &policy).status,
            Status::Pass
        );
        db(&mut s).extensions = None;
        assert_eq!(eval(&APPROVED_EXTENSIONS, &s).status, Status::Unknown);
    }

    #[test]
    fn extension_drop_fix_quotes_hostile_names() {
        for hostile in ["a\"; DROP ROLE x; --", "new\nline", "ünïcødé"] {
            let mut s = base();
            db(&mut s).extensions = Some(vec![Extension {
                name: hostile.into(),
                version: "1'0".into(),
                schema: hostile.into(),
            }]);
            let policy = Policy {
                approved_extensions: Some(Vec::new()),
                ..Policy::default()
            };
            let v = (APPROVED_EXTENSIONS.evaluate)(&s, &policy);
            assert_eq!(v.status, Status::Fail);
            let plan = APPROVED_EXTENSIONS.plan(&s, &v);
            let ident = escape_identifier(hostile);
            assert_eq!(plan.statements, vec![format!("DROP EXTENSION {ident}")]);
            assert_eq!(
                plan.rollback,
                vec![format!(
                    "CREATE EXTENSION {ident} WITH SCHEMA {ident} VERSION '1''0'"
                )]
            );
            assert!(plan.irreversible);
        }
    }

    #[test]
    fn socket_modes_are_bit_masks() {
        for (mode, ok) in [
            ("0770", true),
            ("0700", true),
            ("0750", true),
            ("0", true),
            ("0777", false),
            ("0707", false),
            ("0771", false),
            ("511", false),
            ("448", true),
            ("junk", false),
        ] {
            assert_eq!(socket_mode_ok(mode), ok, "{mode}");
        }
        let s = with_settings(&[
            ("unix_socket_directories", ""),
            ("unix_socket_permissions", "0777"),
        ]);
        assert_eq!(eval(&SOCKET_PERMISSIONS, &s).status, Status::NotApplicable);
    }

    #[test]
    fn integrity_lists_every_bad_setting() {
        let s = with_settings(&[
            ("fsync", "off"),
            ("full_page_writes", "off"),
            ("zero_damaged_pages", "on"),
            ("allow_system_table_mods", "off"),
        ]);
        let v = eval(&INTEGRITY_SETTINGS, &s);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(
            v.objects,
            vec!["fsync", "full_page_writes", "zero_damaged_pages"]
        );
        let s = with_settings(&[
            ("fsync", "on"),
            ("full_page_writes", "on"),
            ("zero_damaged_pages", "off"),
            ("allow_system_table_mods", "off"),
        ]);
        assert_eq!(eval(&INTEGRITY_SETTINGS, &s).status, Status::Unknown);
    }

    #[test]
    fn superseded_file_lines_are_normal_but_errors_fail() {
        let mut s = base();
        s.file_setting_problems = Some(vec![FileSettingProblem {
            sourcefile: Some("/etc/postgresql/15/main/postgresql.conf".into()),
            sourceline: Some(816),
            name: Some("ssl".into()),
            applied: false,
            error: None,
        }]);
        let v = eval(&SETTINGS_APPLIED, &s);
        assert_eq!(v.status, Status::Pass, "{}", v.evidence);
        assert!(v.evidence.contains("1 superseded"));
        if let Some(rows) = s.file_setting_problems.as_mut() {
            rows.push(FileSettingProblem {
                sourcefile: Some("/d/postgresql.conf".into()),
                sourceline: Some(3),
                name: Some("archive_command".into()),
                applied: false,
                error: Some("invalid value: PGPASSWORD=hunter2 cp".into()),
            });
        }
        let v = eval(&SETTINGS_APPLIED, &s);
        assert_eq!(v.status, Status::Fail);
        assert!(!v.evidence.contains("hunter2"));
        s.file_setting_problems = None;
        assert_eq!(eval(&SETTINGS_APPLIED, &s).status, Status::Unknown);
        set(&mut s, "wal_level", "replica");
        if let Some(w) = s.settings.as_mut().and_then(|m| m.get_mut("wal_level")) {
            w.pending_restart = true;
        }
        assert_eq!(eval(&SETTINGS_APPLIED, &s).status, Status::Fail);
    }
}
