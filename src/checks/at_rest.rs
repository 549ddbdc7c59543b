//! Guide section 2: encryption at rest and integrity of stored data (EAR-*).
//!
//! Owns the declarations of EAR-001 … EAR-010, their evaluate functions and
//! fix builders. Which tables and columns hold PHI comes from [`super::phi`];
//! evidence helpers from [`super::facts`]. Must not import `db`, `ui`,
//! `report` or another section file.

use super::facts::{
    describe, excess_bits, listing, major_version, missing_part, need_setting, parse_mode, settle,
    value,
};
use super::phi;
use super::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::{Column, DatabaseFacts, FileFact, HostFacts, Relation, Snapshot};
use crate::model::statement::Statement;
use crate::policy::Policy;
use postgres_protocol::escape::escape_identifier;

pub static CHECKS: &[&Check] = &[
    &DATA_CHECKSUMS,
    &NO_CHECKSUM_FAILURES,
    &PGCRYPTO_AVAILABLE,
    &PHI_COLUMNS_ENCRYPTED,
    &NO_PLAINTEXT_SSNS,
    &NO_LITERAL_KEYS,
    &DATA_DIRECTORY_MODE,
    &CONFIG_FILE_MODES,
    &VOLUMES_ENCRYPTED,
    &LOG_FILE_MODE,
];

// ---------------------------------------------------------------------------
// Helpers

/// The per-database facts, or `unknown` when none were collected.
fn databases(s: &Snapshot) -> Result<&[DatabaseFacts], Verdict> {
    if s.databases.is_empty() {
        Err(Verdict::unknown(
            "no per-database facts were collected",
            None,
        ))
    } else {
        Ok(&s.databases)
    }
}

/// An object name, prefixed with its database when several were scanned.
fn in_database(s: &Snapshot, db: &DatabaseFacts, name: &str) -> String {
    if s.databases.len() > 1 {
        format!("{}: {name}", db.name)
    } else {
        name.to_string()
    }
}

/// Relations that store rows themselves (tables, partitioned parents,
/// materialized views); partitions are represented by their parent.
fn stores_rows(rel: &Relation) -> bool {
    matches!(rel.kind.as_str(), "r" | "p" | "m") && !rel.is_partition
}

/// Whether a sorted list holds an entry starting with `prefix`.
fn has_prefix(sorted: &[String], prefix: &str) -> bool {
    let at = sorted.partition_point(|o| o.as_str() < prefix);
    sorted.get(at).is_some_and(|o| o.starts_with(prefix))
}

fn column_name(rel: &Relation, col: &Column) -> String {
    format!("{}.{}", rel.qualified_name(), col.name)
}

/// `unknown` naming the databases whose part was not collected.
fn not_collected(part: &str, names: &[String]) -> Verdict {
    Verdict::unknown(
        format!(
            "{part} were not collected for database(s): {}",
            names.join(", ")
        ),
        None,
    )
}

// ---------------------------------------------------------------------------
// EAR-001

pub static DATA_CHECKSUMS: Check = Check {
    id: "EAR-001",
    section: Section::AtRest,
    title: "Data checksums detect silent corruption",
    severity: Severity::Medium,
    hipaa: &["164.312(c)(1)", "164.312(c)(2)"],
    cis: None,
    rationale: "Without page checksums, storage faults corrupt PHI silently and the damage \
        spreads into backups before anyone notices. Integrity control, not confidentiality, \
        so medium. initdb enables them by default only from PostgreSQL 18; older clusters \
        (and clusters upgraded from them with pg_upgrade) have them only if asked for. \
        Managed services that check pages in their storage layer (Aurora, Cloud SQL) are not \
        applicable.",
    reproduce_sql: "SELECT name, setting FROM pg_settings WHERE name = 'data_checksums';",
    evaluate: data_checksums,
    fix: Fix::Instructions {
        apply: &[ApplyClass::Offline, ApplyClass::Os],
        note: "stop the cluster, run `pg_checksums --enable -D $PGDATA` as the postgres OS user \
            (PostgreSQL 12+), start it again; time grows with the data size",
    },
};

fn data_checksums(s: &Snapshot, _: &Policy) -> Verdict {
    let setting = match need_setting(s, "data_checksums") {
        Ok(v) => v,
        Err(unknown) => return unknown,
    };
    let seen = describe("data_checksums", setting);
    if value(setting) == "on" {
        Verdict::pass(seen)
    } else if major_version(s).is_some_and(|m| m >= 18) {
        Verdict::fail(format!(
            "{seen}; initdb turns checksums on by default from PostgreSQL 18, so this cluster \
             was created with --no-data-checksums or upgraded from an older major"
        ))
    } else {
        Verdict::fail(seen)
    }
}

// ---------------------------------------------------------------------------
// EAR-002

pub static NO_CHECKSUM_FAILURES: Check = Check {
    id: "EAR-002",
    section: Section::AtRest,
    title: "No data checksum failures have been recorded",
    severity: Severity::High,
    hipaa: &["164.312(c)(1)"],
    cis: None,
    rationale: "A checksum failure means a page of stored data changed without PostgreSQL \
        writing it: PHI is already damaged and the storage is suspect, so high. Counted in \
        pg_stat_database only when data checksums are on (PostgreSQL 12+); without them the \
        counter is empty and the check is not applicable (EAR-001 fails instead).",
    reproduce_sql: "SELECT coalesce(datname, '(shared objects)') AS datname, checksum_failures, \
        checksum_last_failure FROM pg_stat_database WHERE checksum_failures > 0;",
    evaluate: |s, p| settle(no_checksum_failures(s, p)),
    fix: Fix::Instructions {
        apply: &[ApplyClass::Manual],
        note: "find the damaged relations (pg_amcheck, server log), check the storage and \
            memory, restore damaged data from a backup taken before the first failure",
    },
};

fn no_checksum_failures(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let stats = s
        .database_stats
        .as_deref()
        .ok_or_else(|| missing_part(s, "database_stats"))?;
    let failing: Vec<String> = stats
        .iter()
        .filter(|d| d.checksum_failures.unwrap_or(0) > 0)
        .map(|d| {
            let name = if d.datname.is_empty() {
                "(shared objects)"
            } else {
                d.datname.as_str()
            };
            let last = d
                .checksum_last_failure
                .as_deref()
                .map(|t| format!(", last at {t}"))
                .unwrap_or_default();
            format!(
                "{name}: {} failure(s){last}",
                d.checksum_failures.unwrap_or(0)
            )
        })
        .collect();
    if !failing.is_empty() {
        return Ok(Verdict::fail(format!(
            "pg_stat_database records checksum failures in {} database(s): {}",
            failing.len(),
            listing(&failing)
        ))
        .with_objects(failing));
    }
    let counted = stats
        .iter()
        .filter(|d| d.checksum_failures.is_some())
        .count();
    Ok(if counted == 0 {
        Verdict::not_applicable(
            "pg_stat_database counts no checksum failures because data checksums are off \
             (EAR-001) or the server predates PostgreSQL 12",
        )
    } else {
        Verdict::pass(format!(
            "pg_stat_database: 0 checksum failures in {counted} database(s)"
        ))
    })
}

// ---------------------------------------------------------------------------
// EAR-003

pub static PGCRYPTO_AVAILABLE: Check = Check {
    id: "EAR-003",
    section: Section::AtRest,
    title: "pgcrypto is installed where PHI tables live",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(2)(iv)"],
    cis: Some("6.11"),
    rationale: "Column-level encryption inside the database needs pgcrypto in each database \
        that holds PHI tables (found by column names or listed in the policy). Having it \
        installed encrypts nothing by itself (EAR-004 judges the columns), so medium. A \
        scan that found no PHI table is not applicable; with --all-databases every \
        database is judged, otherwise only the connected one.",
    reproduce_sql: "SELECT extname, extversion FROM pg_extension WHERE extname = 'pgcrypto';",
    evaluate: |s, p| settle(pgcrypto_available(s, p)),
    fix: Fix::Build(pgcrypto_plan),
};

fn phi_table_count(rels: &[Relation], policy: &Policy) -> usize {
    rels.iter()
        .filter(|r| stores_rows(r) && phi::is_phi_table(r, policy))
        .count()
}

fn pgcrypto_available(s: &Snapshot, policy: &Policy) -> Result<Verdict, Verdict> {
    let mut missing = Vec::new();
    let mut shown = Vec::new();
    let mut uncollected = Vec::new();
    let mut with_phi = Vec::new();
    for db in databases(s)? {
        let Some(relations) = &db.relations else {
            uncollected.push(db.name.clone());
            continue;
        };
        let tables = phi_table_count(relations, policy);
        if tables == 0 {
            continue;
        }
        with_phi.push(format!("{} ({tables} PHI table(s))", db.name));
        match &db.extensions {
            None => uncollected.push(db.name.clone()),
            Some(ext) if !ext.iter().any(|e| e.name == "pgcrypto") => {
                missing.push(db.name.clone());
                shown.push(format!("{} ({tables} PHI table(s))", db.name));
            }
            Some(_) => {}
        }
    }
    if !missing.is_empty() {
        return Ok(Verdict::fail(format!(
            "pgcrypto is missing in {} database(s) with PHI tables: {}",
            missing.len(),
            listing(&shown)
        ))
        .with_objects(missing));
    }
    if !uncollected.is_empty() {
        return Err(not_collected("relations or extensions", &uncollected));
    }
    let scanned: Vec<&str> = s.databases.iter().map(|d| d.name.as_str()).collect();
    Ok(if with_phi.is_empty() {
        Verdict::not_applicable(format!(
            "no PHI table found by column names or the policy in: {}",
            scanned.join(", ")
        ))
    } else {
        Verdict::pass(format!("pgcrypto is installed in {}", with_phi.join(", ")))
    })
}

fn pgcrypto_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let primary = s.primary_database().map(|d| d.name.as_str());
    let here = primary.is_some_and(|p| verdict.objects.iter().any(|o| o == p));
    let elsewhere: Vec<String> = verdict
        .objects
        .iter()
        .filter(|o| Some(o.as_str()) != primary)
        .map(|o| escape_identifier(o))
        .collect();
    let mut note = String::from("pgcrypto is a trusted extension: CREATE on the database suffices");
    if !elsewhere.is_empty() {
        note.push_str(&format!(
            "; connect to each of these databases and run the same statement: {}",
            elsewhere.join(", ")
        ));
    }
    FixPlan {
        apply: vec![ApplyClass::Immediate],
        statements: if here {
            vec![Statement::CreateExtension {
                name: "pgcrypto".into(),
            }]
        } else {
            Vec::new()
        },
        rollback: if here {
            vec![Statement::other("DROP EXTENSION IF EXISTS pgcrypto")]
        } else {
            Vec::new()
        },
        needs: "CREATE on the database".into(),
        note,
        ..FixPlan::default()
    }
}

// ---------------------------------------------------------------------------
// EAR-004

pub static PHI_COLUMNS_ENCRYPTED: Check = Check {
    id: "EAR-004",
    section: Section::AtRest,
    title: "PHI columns are stored encrypted",
    severity: Severity::High,
    hipaa: &["164.312(a)(2)(iv)"],
    cis: None,
    rationale: "Identifiers and diagnoses stored as plain text are readable by anyone who \
        gets the table, a dump or a backup, whatever the disk encryption below. Columns \
        whose names mark PHI (ssn, mrn, dob, diagnosis …) in PHI tables should hold pgcrypto \
        ciphertext (bytea). Exposure of PHI, so high. Tables in not_phi_tables are skipped; \
        single columns can be accepted in the policy (object schema.table.column, prefixed \
        with `database: ` when several databases were scanned). Integer or uuid keys named \
        like patient_id / patient_uuid are left out: they link rows to a patient, the \
        identifiers themselves live in the patients table, and ciphertext would break \
        the join; the table still counts as PHI for the access checks.",
    reproduce_sql: "SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod) \
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
        JOIN pg_namespace n ON n.oid = c.relnamespace \
        WHERE c.relkind IN ('r', 'p', 'm') AND a.attnum > 0 AND NOT a.attisdropped \
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
        AND a.attname ~* '(ssn|mrn|dob|birth|diagnos|icd|npi|insurance|member_id|medicare|medicaid|patient)' \
        AND a.atttypid <> 'bytea'::regtype \
        AND NOT (a.attname ~* 'patient_?(id|uuid|key)$' \
        AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'uuid'::regtype)) \
        ORDER BY 1, 2, 3;",
    evaluate: |s, p| settle(phi_columns_encrypted(s, p)),
    fix: Fix::Build(encrypt_columns_plan),
};

fn phi_columns_encrypted(s: &Snapshot, policy: &Policy) -> Result<Verdict, Verdict> {
    let mut plaintext = Vec::new();
    let mut uncollected = Vec::new();
    for db in databases(s)? {
        let Some(relations) = &db.relations else {
            uncollected.push(db.name.clone());
            continue;
        };
        for rel in relations
            .iter()
            .filter(|r| stores_rows(r) && phi::is_phi_table(r, policy))
        {
            for col in phi::plaintext_candidates(rel) {
                if !phi::is_encrypted_column(col) {
                    plaintext.push(in_database(s, db, &column_name(rel, col)));
                }
            }
        }
    }
    if !plaintext.is_empty() {
        return Ok(Verdict::fail(format!(
            "{} PHI column(s) stored as plain text: {}",
            plaintext.len(),
            listing(&plaintext)
        ))
        .with_objects(plaintext));
    }
    if !uncollected.is_empty() {
        return Err(not_collected("tables and columns", &uncollected));
    }
    Ok(Verdict::pass(format!(
        "no plain-text PHI column in: {}",
        s.databases
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// Statements that move one column of `table` (an escaped `"schema"."name"`)
/// to pgcrypto ciphertext. The key is read from the session (`app.phi_key`),
/// never written into the statement. Built by concatenation: a plan can hold
/// thousands of these.
fn encrypt_column(table: &str, col: &Column) -> [String; 3] {
    let plain = escape_identifier(&col.name);
    let cipher = escape_identifier(&[col.name.as_str(), "_encrypted"].concat());
    [
        ["ALTER TABLE ", table, " ADD COLUMN ", &cipher, " bytea"].concat(),
        [
            "UPDATE ",
            table,
            " SET ",
            &cipher,
            " = pgp_sym_encrypt(",
            &plain,
            "::text, current_setting('app.phi_key')) WHERE ",
            &plain,
            " IS NOT NULL",
        ]
        .concat(),
        ["ALTER TABLE ", table, " DROP COLUMN ", &plain].concat(),
    ]
}

/// The migration for the columns named in the verdict (shared by EAR-004
/// and EAR-005, whose objects use the same `schema.table.column` names).
fn encrypt_columns_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let objects = &verdict.objects;
    let mut statements = Vec::new();
    // `objects` is sorted (Verdict::with_objects): columns are looked up by
    // binary search, and the index found marks the object as handled here.
    let mut handled = vec![false; objects.len()];
    let mut views = Vec::new();
    if let (Some(db), false) = (s.primary_database(), objects.is_empty()) {
        // One buffer for every `[db: ]schema.table.column` key (see `in_database`).
        let mut key = String::new();
        for rel in db.relations.as_deref().unwrap_or(&[]) {
            if !stores_rows(rel) {
                continue;
            }
            key.clear();
            if s.databases.len() > 1 {
                key.push_str(&db.name);
                key.push_str(": ");
            }
            key.push_str(&rel.schema);
            key.push('.');
            key.push_str(&rel.name);
            key.push('.');
            // Skip tables none of whose columns are listed, without naming every column.
            if !has_prefix(objects, &key) {
                continue;
            }
            let stem = key.len();
            let table = format!(
                "{}.{}",
                escape_identifier(&rel.schema),
                escape_identifier(&rel.name)
            );
            for col in &rel.columns {
                key.truncate(stem);
                key.push_str(&col.name);
                let Ok(at) = objects.binary_search_by(|o| o.as_str().cmp(&key)) else {
                    continue;
                };
                if rel.kind == "m" {
                    views.push(key.clone());
                } else {
                    statements.extend(encrypt_column(&table, col).map(Statement::other));
                }
                handled[at] = true;
            }
        }
    }
    let elsewhere: Vec<String> = objects
        .iter()
        .zip(&handled)
        .filter(|(_, done)| !**done)
        .map(|(o, _)| o.clone())
        .collect();
    let mut note = String::from(
        "pgcrypto must be installed (EAR-003); supply the key only for this session as a \
         startup option (PGOPTIONS='-c app.phi_key=…') from your key store, never in a logged \
         SET or in a script; each column is copied into <name>_encrypted, encrypted with \
         pgp_sym_encrypt, and the plain column dropped; applications read it back with \
         pgp_sym_decrypt(<name>_encrypted, current_setting('app.phi_key')); the UPDATE \
         rewrites and locks each table; views, policies, indexes and constraints on the \
         column must be rebuilt; take a backup first. Cannot be undone: the plain-text \
         column is dropped",
    );
    if !views.is_empty() {
        note.push_str(&format!(
            "; materialized views must be redefined over the encrypted columns: {}",
            listing(&views)
        ));
    }
    if !elsewhere.is_empty() {
        note.push_str(&format!(
            "; connect to the other databases to migrate: {}",
            listing(&elsewhere)
        ));
    }
    FixPlan {
        apply: vec![ApplyClass::Immediate],
        statements,
        rollback: Vec::new(),
        needs: "the table owner, in a maintenance window".into(),
        note,
        irreversible: true,
        config_edit: None,
    }
}

// ---------------------------------------------------------------------------
// EAR-005

pub static NO_PLAINTEXT_SSNS: Check = Check {
    id: "EAR-005",
    section: Section::AtRest,
    title: "Sampled text columns hold no SSN-shaped values",
    severity: Severity::High,
    hipaa: &["164.312(a)(2)(iv)", "164.308(a)(1)(ii)(A)"],
    cis: None,
    rationale: "Names do not tell everything: a free-text `notes` column full of social \
        security numbers is plain-text PHI that EAR-004 cannot see. With --sample-phi the \
        scan reads a small TABLESAMPLE of text columns and counts SSN-shaped values (counts \
        only, never values). Found PHI in plain text, so high. Sampling reads PHI and is \
        off by default: without it the check is manual (a data-discovery review can be \
        attested); a sample that read 0 rows proves nothing and is unknown. A sample that \
        did not cover every text column (the collector withheld it because some columns \
        were unreadable or the statement failed, or it stopped at the 200-column cap per \
        scan) is unknown, quoting the collector's reason and grant: a clean result on the \
        columns read says nothing of the ones left out. We chose unknown over warn for the \
        cap because nothing was found that needs fixing; the open question is coverage, \
        which a data-discovery review of the remaining columns answers.",
    reproduce_sql: "-- per text column, e.g.\n\
        SELECT count(*) FILTER (WHERE col ~ '\\m\\d{3}-\\d{2}-\\d{4}\\M') AS ssn_like, count(*) AS rows_read \
        FROM schema.table TABLESAMPLE SYSTEM (1);",
    evaluate: |s, p| settle(no_plaintext_ssns(s, p)),
    fix: Fix::Build(encrypt_columns_plan),
};

fn no_plaintext_ssns(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let dbs = databases(s)?;
    let mut hits = Vec::new();
    let mut not_sampled = Vec::new();
    let mut empty = Vec::new();
    let mut read = Vec::new();
    for db in dbs {
        match &db.phi_sample {
            None => not_sampled.push(db.name.clone()),
            Some(sample) if sample.ssn_like_hits > 0 => hits.extend(
                sample
                    .columns_with_hits
                    .iter()
                    .map(|c| in_database(s, db, c)),
            ),
            Some(sample) if sample.columns_sampled == 0 => {
                read.push(format!("{}: no text columns", db.name))
            }
            Some(sample) if sample.rows_read == 0 => empty.push(db.name.clone()),
            Some(sample) => read.push(format!(
                "{}: {} row(s) of {} text column(s), 0 SSN-shaped",
                db.name, sample.rows_read, sample.columns_sampled
            )),
        }
    }
    if !hits.is_empty() {
        return Ok(Verdict::fail(format!(
            "SSN-shaped values found in {} text column(s): {}",
            hits.len(),
            listing(&hits)
        ))
        .with_objects(hits));
    }
    // Sampling ran but did not cover every text column (withheld, failed,
    // unreadable columns, or the per-scan cap): never a pass.
    sample_gaps(s)?;
    if not_sampled.len() == dbs.len() {
        return Ok(Verdict::manual(
            "value sampling is off (it reads PHI, so it is opt-in): run `pgsafeguard scan \
             --sample-phi`, or attest a data-discovery review of free-text columns",
        ));
    }
    if !not_sampled.is_empty() {
        return Err(Verdict::unknown(
            format!(
                "database(s) not sampled: {}; sampled: {}",
                not_sampled.join(", "),
                read.join("; ")
            ),
            None,
        ));
    }
    if !empty.is_empty() {
        return Err(Verdict::unknown(
            format!(
                "the sample read 0 rows in: {} (empty tables, or the 1% block sample missed \
                 them); a sample that read nothing proves nothing",
                empty.join(", ")
            ),
            None,
        ));
    }
    Ok(Verdict::pass(format!("sampled {}", read.join("; "))))
}

/// `unknown` when the collector recorded `phi_sample` gaps: the sample was
/// withheld or incomplete, so a clean result would speak for columns that
/// were not read. Quotes every such gap and the first grant offered.
fn sample_gaps(s: &Snapshot) -> Result<(), Verdict> {
    let gaps: Vec<_> = s.gaps.iter().filter(|g| g.part == "phi_sample").collect();
    if gaps.is_empty() {
        return Ok(());
    }
    let reasons: Vec<String> = gaps
        .iter()
        .map(|g| match &g.sqlstate {
            Some(state) => format!("{} (SQLSTATE {state})", g.message),
            None => g.message.clone(),
        })
        .collect();
    Err(Verdict::unknown(
        format!(
            "--sample-phi ran but did not cover every text column: {}; with no SSN-shaped \
             value in what was read, the rest is undecided",
            reasons.join("; ")
        ),
        gaps.iter().find_map(|g| g.grant.clone()),
    ))
}

// ---------------------------------------------------------------------------
// EAR-006

pub static NO_LITERAL_KEYS: Check = Check {
    id: "EAR-006",
    section: Section::AtRest,
    title: "No encryption key is written into functions or views",
    severity: Severity::High,
    hipaa: &["164.312(a)(2)(iv)"],
    cis: None,
    rationale: "A pgp_sym_encrypt/decrypt call with the key as a literal puts the key in \
        pg_proc.prosrc or the view definition, which every role that can connect may read, \
        and into every dump and backup: the encrypted PHI is then as good as plain text, so \
        high. The key must come from the application or a key store at run time. Function \
        bodies are matched by the collector; they are never copied into evidence.",
    reproduce_sql:
        "SELECT n.nspname, p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
        WHERE p.prosrc ~* 'pgp_(sym|pub)_(en|de)crypt(_bytea)?\\s*\\([^,]+,\\s*(E?''|\\$)'; \
        SELECT schemaname, viewname FROM pg_views \
        WHERE definition ~* 'pgp_(sym|pub)_(en|de)crypt(_bytea)?\\s*\\([^,]+,\\s*''';",
    evaluate: |s, p| settle(no_literal_keys(s, p)),
    fix: Fix::Instructions {
        apply: &[ApplyClass::Immediate],
        note: "rewrite each listed function or view to take the key from the caller (a \
            parameter, or current_setting('app.phi_key') set by the application from its key \
            store) with CREATE OR REPLACE; then rotate the key: the old one has been readable \
            in the catalog and in every dump, so re-encrypt the data under a new key",
    },
};

fn no_literal_keys(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let mut found = Vec::new();
    let mut uncollected = Vec::new();
    let mut functions_read = 0;
    for db in databases(s)? {
        match (&db.functions, &db.views_with_literal_keys) {
            (Some(functions), Some(views)) => {
                functions_read += functions.len();
                found.extend(functions.iter().filter(|f| f.literal_key_in_body).map(|f| {
                    in_database(s, db, &format!("function {}.{}", f.schema, f.signature))
                }));
                found.extend(
                    views
                        .iter()
                        .map(|v| in_database(s, db, &format!("view {v}"))),
                );
            }
            _ => uncollected.push(db.name.clone()),
        }
    }
    if !found.is_empty() {
        return Ok(Verdict::fail(format!(
            "{} function(s) or view(s) call pgcrypto with a literal key: {}",
            found.len(),
            listing(&found)
        ))
        .with_objects(found));
    }
    if !uncollected.is_empty() {
        return Err(not_collected("functions or views", &uncollected));
    }
    Ok(Verdict::pass(format!(
        "{functions_read} function(s) and the views read; none calls pgcrypto with a literal key"
    )))
}

// ---------------------------------------------------------------------------
// EAR-007

pub static DATA_DIRECTORY_MODE: Check = Check {
    id: "EAR-007",
    section: Section::AtRest,
    title: "The data directory is private to the server account",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "With group access (0750, initdb --allow-group-read) every member of the \
        server's OS group can read all table files, PHI included, without any database \
        permission. PostgreSQL allows only 0700 or 0750, so 0700 passes and 0750 gives \
        `warn` (a documented choice for backup agents that must be justified). Before \
        PostgreSQL 11 the server refuses to start unless the directory is 0700. OS-level \
        access control under the database's own, so medium.",
    reproduce_sql: "SELECT name, setting FROM pg_settings WHERE name IN ('data_directory_mode', 'data_directory');",
    evaluate: |s, p| settle(data_directory_mode(s, p)),
    fix: Fix::Instructions {
        apply: &[ApplyClass::Os, ApplyClass::Restart],
        note: "as the postgres OS user: chmod 0700 \"$PGDATA\" and chmod -R g-rwx \"$PGDATA\"; \
            restart so that new files are created without group access",
    },
};

fn data_directory_mode(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    if s.settings.is_some() && s.setting("data_directory_mode").is_none() {
        if let Some(major) = major_version(s).filter(|m| *m < 11) {
            return Ok(Verdict::pass(format!(
                "PostgreSQL {major} refuses to start unless the data directory is 0700"
            )));
        }
    }
    let setting = need_setting(s, "data_directory_mode")?;
    let seen = describe("data_directory_mode", setting);
    let Some(mode) = parse_mode(value(setting)) else {
        return Err(Verdict::unknown(format!("{seen}: not a file mode"), None));
    };
    Ok(if excess_bits(mode, 0o700) == 0 {
        Verdict::pass(seen)
    } else if excess_bits(mode, 0o750) == 0 {
        Verdict::warn(format!(
            "{seen}; the server's OS group can read every data file"
        ))
    } else {
        Verdict::fail(format!("{seen}; other accounts can reach the data files"))
    })
}

// ---------------------------------------------------------------------------
// EAR-008

pub static CONFIG_FILE_MODES: Check = Check {
    id: "EAR-008",
    section: Section::AtRest,
    title: "Configuration and key files are private to the server account",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(1)"],
    cis: None,
    rationale: "postgresql.conf, pg_hba.conf and pg_ident.conf reveal and control access; the \
        TLS private key lets anyone impersonate the server. They must be owned by the \
        server account (or root) with no bits outside 0640, the key 0600 (0640 when owned \
        by root, as PostgreSQL itself accepts). Modes are compared as bit masks. SQL cannot \
        see file modes: the check needs pgSafeguard running on the database host, \
        otherwise it is manual. OS-level protection of configuration, so medium.",
    reproduce_sql: "SELECT name, setting FROM pg_settings WHERE name IN \
        ('config_file', 'hba_file', 'ident_file', 'ssl_key_file'); \
        -- then on the host: stat -c '%a %U %n' <each file>",
    evaluate: |s, p| settle(config_file_modes(s, p)),
    fix: Fix::Build(config_file_modes_plan),
};

/// Files judged, with the mode bits they may have.
const PRIVATE_FILES: &[(&str, u32)] = &[
    ("config_file", 0o640),
    ("hba_file", 0o640),
    ("ident_file", 0o640),
    ("ssl_key_file", 0o600),
];

/// The server's OS account: the owner of the data directory (PostgreSQL
/// refuses to start otherwise), else `postgres`.
fn server_account(host: &HostFacts) -> &str {
    host.files
        .iter()
        .find(|f| f.role == "data_directory")
        .and_then(|f| f.owner.as_deref())
        .unwrap_or("postgres")
}

/// One file's problem, when it has one: the object, the chmod/chown to run.
struct FileProblem<'a> {
    fact: &'a FileFact,
    object: String,
    mode: Option<u32>,
    owner: bool,
}

/// Problems of the judged files, and the files whose facts could not be read.
fn file_problems<'a>(host: &'a HostFacts) -> (Vec<FileProblem<'a>>, Vec<String>) {
    let account = server_account(host);
    let mut problems = Vec::new();
    let mut unreadable = Vec::new();
    for (role, max) in PRIVATE_FILES {
        for fact in host.files.iter().filter(|f| f.role == *role) {
            let (Some(mode), Some(owner), None) = (fact.mode, fact.owner.as_deref(), &fact.error)
            else {
                unreadable.push(format!(
                    "{role} {}: {}",
                    fact.path,
                    fact.error.as_deref().unwrap_or("mode or owner not read")
                ));
                continue;
            };
            let allowed = if *role == "ssl_key_file" && owner == "root" {
                0o640
            } else {
                *max
            };
            let bad_mode = excess_bits(mode, allowed) != 0;
            let bad_owner = owner != account && owner != "root";
            if !bad_mode && !bad_owner {
                continue;
            }
            let mut why = Vec::new();
            if bad_mode {
                why.push(format!("mode {:04o} exceeds {allowed:04o}", mode & 0o7777));
            }
            if bad_owner {
                why.push(format!("owned by {owner}, not {account}"));
            }
            problems.push(FileProblem {
                fact,
                object: format!("{role} {}: {}", fact.path, why.join(", ")),
                mode: bad_mode.then_some(allowed),
                owner: bad_owner,
            });
        }
    }
    (problems, unreadable)
}

fn config_file_modes(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let Some(host) = &s.host else {
        return Ok(Verdict::manual(
            "file modes cannot be read over SQL: run pgSafeguard on the database host, or \
             attest that configuration files are 0640 or stricter and the TLS key 0600, owned \
             by the server account",
        ));
    };
    let (problems, unreadable) = file_problems(host);
    if !problems.is_empty() {
        let objects: Vec<String> = problems.into_iter().map(|p| p.object).collect();
        return Ok(Verdict::fail(format!(
            "{} file(s) too open: {}",
            objects.len(),
            listing(&objects)
        ))
        .with_objects(objects));
    }
    if !unreadable.is_empty() {
        return Err(Verdict::unknown(
            format!("could not read: {}", listing(&unreadable)),
            None,
        ));
    }
    let judged: Vec<String> = host
        .files
        .iter()
        .filter(|f| PRIVATE_FILES.iter().any(|(r, _)| *r == f.role))
        .map(|f| {
            format!(
                "{} {:04o} {}",
                f.path,
                f.mode.unwrap_or(0) & 0o7777,
                f.owner.as_deref().unwrap_or("?")
            )
        })
        .collect();
    if judged.is_empty() {
        return Err(Verdict::unknown(
            "no configuration or key file was inspected on the host",
            None,
        ));
    }
    Ok(Verdict::pass(format!(
        "on the host, owned by {}: {}",
        server_account(host),
        listing(&judged)
    )))
}

/// A path quoted for a POSIX shell.
fn shell_quote(path: &str) -> String {
    format!("'{}'", path.replace('\'', "'\\''"))
}

fn config_file_modes_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let mut commands = Vec::new();
    if let Some(host) = &s.host {
        let account = server_account(host);
        for problem in file_problems(host).0 {
            if !verdict.objects.contains(&problem.object) {
                continue;
            }
            let path = shell_quote(&problem.fact.path);
            if problem.owner {
                commands.push(format!("chown {} {path}", shell_quote(account)));
            }
            if let Some(mode) = problem.mode {
                commands.push(format!("chmod {mode:04o} {path}"));
            }
        }
    }
    FixPlan {
        apply: vec![ApplyClass::Os],
        needs: "root or the file owner on the database host".into(),
        note: if commands.is_empty() {
            "run pgSafeguard on the database host to get the exact commands".into()
        } else {
            format!("on the database host: {}", commands.join("; "))
        },
        ..FixPlan::default()
    }
}

// ---------------------------------------------------------------------------
// EAR-009

pub static VOLUMES_ENCRYPTED: Check = Check {
    id: "EAR-009",
    section: Section::AtRest,
    title: "Volumes holding data, WAL, logs and tablespaces are encrypted",
    severity: Severity::High,
    hipaa: &["164.312(a)(2)(iv)"],
    cis: None,
    rationale: "Full-volume encryption (LUKS, cloud KMS-backed disks) protects every PHI \
        byte on a lost disk, a discarded snapshot or a stolen backup of the volume; it is \
        the baseline encryption-at-rest safeguard, so high. It cannot be seen over SQL: a \
        person attests it for the volumes holding the data directory, pg_wal, tablespaces \
        and the log directory.",
    reproduce_sql:
        "SELECT name, setting FROM pg_settings WHERE name IN ('data_directory', 'log_directory'); \
        SELECT spcname, pg_tablespace_location(oid) FROM pg_tablespace;",
    evaluate: volumes_encrypted,
    fix: Fix::Instructions {
        apply: &[ApplyClass::Os, ApplyClass::Manual],
        note: "encrypt each volume (LUKS/dm-crypt, or the cloud provider's KMS-backed disk \
            encryption) and record the attestation with the key custodian",
    },
};

fn volumes_encrypted(s: &Snapshot, _: &Policy) -> Verdict {
    let places: Vec<String> = ["data_directory", "log_directory"]
        .iter()
        .filter_map(|n| s.setting(n).map(|x| format!("{n} = {}", value(x))))
        .collect();
    let places = if places.is_empty() {
        "the data directory, pg_wal, tablespaces and the log directory".to_string()
    } else {
        format!("{}, pg_wal, tablespaces", places.join(", "))
    };
    Verdict::manual(format!(
        "volume encryption cannot be seen over SQL; attest that the volumes holding {places} \
         are encrypted"
    ))
}

// ---------------------------------------------------------------------------
// EAR-010

pub static LOG_FILE_MODE: Check = Check {
    id: "EAR-010",
    section: Section::AtRest,
    title: "Server log files are readable only by the server account",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(1)", "164.312(b)"],
    cis: Some("3.1.6"),
    rationale: "Server logs carry statements, parameters and error details that can contain \
        PHI, and they are the audit trail: log_file_mode must give no bits outside 0600 \
        (compared as a bit mask). It governs files the logging collector writes; it is \
        judged even when the collector is off, since it applies as soon as it is on. \
        Exposure limited to host accounts, so medium.",
    reproduce_sql: "SELECT name, setting, source, sourcefile FROM pg_settings \
        WHERE name IN ('log_file_mode', 'logging_collector');",
    evaluate: |s, p| settle(log_file_mode(s, p)),
    fix: Fix::SetParameter {
        name: "log_file_mode",
        value: "0600",
        apply: &[ApplyClass::Reload],
        note: "files already written keep their mode: chmod 0600 them on the host",
    },
};

fn log_file_mode(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let setting = need_setting(s, "log_file_mode")?;
    let seen = describe("log_file_mode", setting);
    let Some(mode) = parse_mode(value(setting)) else {
        return Err(Verdict::unknown(format!("{seen}: not a file mode"), None));
    };
    Ok(if excess_bits(mode, 0o600) == 0 {
        Verdict::pass(seen)
    } else {
        Verdict::fail(format!(
            "{seen}; bits {:04o} go beyond 0600",
            excess_bits(mode, 0o600)
        ))
    })
}

// ---------------------------------------------------------------------------

#[cfg(test)]
mod fixtures {
    //! Snapshot builders for this section's cases and tests.
    use crate::checks::testkit::{base, db, table};
    use crate::model::snapshot::*;

    pub fn with_tables(tables: Vec<Relation>) -> Snapshot {
        let mut s = base();
        db(&mut s).relations = Some(tables);
        s
    }

    pub fn patients(ssn_type: &str) -> Relation {
        table(
            "patients",
            "phi_owner",
            &[("id", "integer"), ("ssn", ssn_type), ("note", "text")],
        )
    }

    pub fn with_pgcrypto(mut s: Snapshot) -> Snapshot {
        db(&mut s).extensions = Some(vec![Extension {
            name: "pgcrypto".into(),
            version: "1.3".into(),
            schema: "public".into(),
        }]);
        s
    }

    pub fn sampled(hits: &[&str], rows: u64) -> Snapshot {
        let mut s = base();
        db(&mut s).phi_sample = Some(PhiSample {
            columns_sampled: 4,
            rows_read: rows,
            ssn_like_hits: hits.len() as u64 * 3,
            columns_with_hits: hits.iter().map(|h| (*h).to_string()).collect(),
        });
        s
    }

    pub fn function(signature: &str, literal: bool) -> Function {
        Function {
            schema: "public".into(),
            signature: signature.into(),
            owner: "phi_owner".into(),
            language: "plpgsql".into(),
            literal_key_in_body: literal,
            ..Function::default()
        }
    }

    pub fn file(role: &str, path: &str, mode: u32, owner: &str) -> FileFact {
        FileFact {
            role: role.into(),
            path: path.into(),
            mode: Some(mode),
            owner: Some(owner.into()),
            error: None,
        }
    }

    pub fn on_host(files: Vec<FileFact>) -> Snapshot {
        let mut s = base();
        let mut all = vec![file(
            "data_directory",
            "/var/lib/postgresql/15/main",
            0o40700,
            "postgres",
        )];
        all.extend(files);
        s.host = Some(HostFacts {
            data_directory: "/var/lib/postgresql/15/main".into(),
            files: all,
        });
        s
    }

    pub fn config_files(hba_mode: u32) -> Vec<FileFact> {
        vec![
            file(
                "config_file",
                "/etc/postgresql/15/main/postgresql.conf",
                0o100644 & !0o004,
                "postgres",
            ),
            file(
                "hba_file",
                "/etc/postgresql/15/main/pg_hba.conf",
                0o100000 | hba_mode,
                "postgres",
            ),
            file(
                "ssl_key_file",
                "/etc/ssl/private/server.key",
                0o100600,
                "postgres",
            ),
        ]
    }
}

#[cfg(test)]
pub fn cases() -> Vec<super::testkit::Case> {
    use super::testkit::{base, db, with_settings, Case};
    use fixtures::*;

    let mut failures = base();
    if let Some(stats) = failures.database_stats.as_mut() {
        stats[0].checksum_failures = Some(3);
        stats[0].checksum_last_failure = Some("2026-11-20T03:00:00Z".into());
    }

    let mut literal = base();
    db(&mut literal).functions = Some(vec![
        function("decrypt_ssn(bytea)", true),
        function("audit_stamp()", false),
    ]);
    let mut clean = base();
    db(&mut clean).functions = Some(vec![function("audit_stamp()", false)]);

    let mut cases = vec![
        Case::new(
            "EAR-001",
            with_settings(&[("data_checksums", "on")]),
            with_settings(&[("data_checksums", "off")]),
        ),
        Case::new("EAR-002", base(), failures),
        Case::new(
            "EAR-003",
            with_pgcrypto(with_tables(vec![patients("bytea")])),
            with_tables(vec![patients("bytea")]),
        ),
        Case::new(
            "EAR-004",
            with_tables(vec![patients("bytea")]),
            with_tables(vec![patients("text")]),
        ),
        Case::new(
            "EAR-005",
            sampled(&[], 1200),
            sampled(&["public.visits.notes"], 1200),
        ),
        Case::new("EAR-006", clean, literal),
        Case::new(
            "EAR-007",
            with_settings(&[("data_directory_mode", "0700")]),
            with_settings(&[("data_directory_mode", "0755")]),
        ),
        Case::new(
            "EAR-008",
            on_host(config_files(0o640)),
            on_host(config_files(0o644)),
        ),
        Case::new(
            "EAR-010",
            with_settings(&[("log_file_mode", "0600")]),
            with_settings(&[("log_file_mode", "0640")]),
        ),
    ];
    // EAR-009 is an attestation: attested with one, manual without.
    cases.push(Case::attestation("EAR-009", base(), base()));
    cases
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::checks::testkit::{base, db, table, with_settings};
    use crate::model::finding::Status;
    use crate::model::snapshot::DatabaseFacts;
    use crate::policy::PolicyAcceptedRisk;

    fn run(check: &Check, s: &Snapshot) -> Verdict {
        (check.evaluate)(s, &Policy::default())
    }

    #[test]
    fn missing_parts_are_unknown_or_manual_never_pass() {
        let mut s = base();
        s.database_stats = None;
        let d = db(&mut s);
        d.relations = None;
        d.extensions = None;
        d.functions = None;
        d.views_with_literal_keys = None;
        for check in CHECKS {
            assert_ne!(run(check, &s).status, Status::Pass, "{}", check.id);
        }
        for check in [
            &NO_CHECKSUM_FAILURES,
            &PGCRYPTO_AVAILABLE,
            &PHI_COLUMNS_ENCRYPTED,
            &NO_LITERAL_KEYS,
        ] {
            assert_eq!(run(check, &s).status, Status::Unknown, "{}", check.id);
        }
        assert_eq!(run(&CONFIG_FILE_MODES, &s).status, Status::Manual);
        assert_eq!(run(&NO_PLAINTEXT_SSNS, &s).status, Status::Manual);
        let mut none = base();
        none.databases.clear();
        assert_eq!(run(&PHI_COLUMNS_ENCRYPTED, &none).status, Status::Unknown);
    }

    #[test]
    fn checksums_off_leaves_failures_not_applicable() {
        let mut s = base();
        if let Some(stats) = s.database_stats.as_mut() {
            stats[0].checksum_failures = None;
        }
        assert_eq!(run(&NO_CHECKSUM_FAILURES, &s).status, Status::NotApplicable);
    }

    #[test]
    fn no_phi_tables_means_pgcrypto_is_not_applicable() {
        let s = with_tables(vec![table("settings", "app", &[("key", "text")])]);
        assert_eq!(run(&PGCRYPTO_AVAILABLE, &s).status, Status::NotApplicable);
        let policy = Policy {
            phi_tables: vec!["public.settings".into()],
            ..Policy::default()
        };
        assert_eq!(
            (PGCRYPTO_AVAILABLE.evaluate)(&s, &policy).status,
            Status::Fail
        );
    }

    #[test]
    fn not_phi_tables_and_per_column_acceptance() {
        let s = with_tables(vec![patients("text")]);
        let listed = Policy {
            not_phi_tables: vec!["public.patients".into()],
            ..Policy::default()
        };
        assert_eq!(
            (PHI_COLUMNS_ENCRYPTED.evaluate)(&s, &listed).status,
            Status::Pass
        );
        let accepted = Policy {
            accepted_risks: vec![PolicyAcceptedRisk {
                id: "EAR-004".into(),
                object: Some("public.patients.ssn".into()),
                by: "CISO".into(),
                reason: "tokenized upstream".into(),
                expires: "2027-01-01".into(),
            }],
            ..Policy::default()
        };
        let finding =
            crate::checks::evaluate_one(&PHI_COLUMNS_ENCRYPTED, &s, &accepted, &Default::default());
        assert_eq!(finding.status, Status::Accepted);
        assert!(finding.objects.is_empty());
        assert!(finding
            .evidence
            .contains("accepted in the policy: public.patients.ssn (by CISO until 2027-01-01)"));
        // A second plain-text column keeps the finding failing; only it is fixed.
        let mut two = patients("text");
        two.columns.push(crate::model::snapshot::Column {
            name: "mrn".into(),
            type_name: "text".into(),
            acl: Vec::new(),
        });
        let s = with_tables(vec![two]);
        let finding =
            crate::checks::evaluate_one(&PHI_COLUMNS_ENCRYPTED, &s, &accepted, &Default::default());
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(finding.objects, vec!["public.patients.mrn".to_string()]);
        assert!(finding
            .evidence
            .contains("accepted in the policy: public.patients.ssn"));
        let plan = finding.fix.unwrap_or_default();
        assert!(plan
            .statements
            .iter()
            .all(|st| !st.to_string().contains("\"ssn\"")));
        assert!(plan
            .statements
            .iter()
            .any(|st| st.to_string().contains("\"mrn\"")));
    }

    #[test]
    fn partitions_count_once_through_their_parent() {
        let mut part = patients("text");
        part.name = "patients_2026".into();
        part.is_partition = true;
        part.parent = Some("public.patients".into());
        let mut parent = patients("text");
        parent.kind = "p".into();
        let v = run(&PHI_COLUMNS_ENCRYPTED, &with_tables(vec![parent, part]));
        assert_eq!(v.objects, vec!["public.patients.ssn".to_string()]);
    }

    #[test]
    fn several_databases_prefix_objects_and_plan_only_the_connected_one() {
        let mut s = with_tables(vec![patients("text")]);
        let mut other = DatabaseFacts {
            name: "billing".into(),
            relations: Some(vec![patients("text")]),
            ..DatabaseFacts::default()
        };
        other.extensions = Some(Vec::new());
        s.databases.push(other);
        let v = run(&PHI_COLUMNS_ENCRYPTED, &s);
        assert_eq!(
            v.objects,
            vec![
                "billing: public.patients.ssn".to_string(),
                "clinic: public.patients.ssn".to_string()
            ]
        );
        let plan = PHI_COLUMNS_ENCRYPTED.plan(&s, &v);
        assert_eq!(plan.statements.len(), 3);
        assert!(plan.note.contains("billing: public.patients.ssn"));
    }

    #[test]
    fn encryption_plan_reads_the_key_from_the_session_and_is_irreversible() {
        let s = with_tables(vec![patients("text")]);
        let v = run(&PHI_COLUMNS_ENCRYPTED, &s);
        let plan = PHI_COLUMNS_ENCRYPTED.plan(&s, &v);
        assert!(plan.irreversible);
        assert!(plan.rollback.is_empty());
        assert_eq!(
            plan.statements,
            vec![
                "ALTER TABLE \"public\".\"patients\" ADD COLUMN \"ssn_encrypted\" bytea",
                "UPDATE \"public\".\"patients\" SET \"ssn_encrypted\" = pgp_sym_encrypt(\"ssn\"::text, \
                 current_setting('app.phi_key')) WHERE \"ssn\" IS NOT NULL",
                "ALTER TABLE \"public\".\"patients\" DROP COLUMN \"ssn\"",
            ]
        );
    }

    #[test]
    fn encryption_plan_quotes_hostile_names() {
        for name in ["a\"; DROP TABLE x; --", "new\nline", "zoë'; --"] {
            let mut rel = table(name, "o", &[("ssn", "text")]);
            rel.schema = name.into();
            rel.columns.push(crate::model::snapshot::Column {
                name: format!("{name}_ssn"),
                type_name: "text".into(),
                acl: Vec::new(),
            });
            let s = with_tables(vec![rel]);
            let v = run(&PHI_COLUMNS_ENCRYPTED, &s);
            assert_eq!(v.objects.len(), 2, "{name:?}");
            let plan = PHI_COLUMNS_ENCRYPTED.plan(&s, &v);
            assert_eq!(plan.statements.len(), 6);
            for statement in &plan.statements {
                let text = statement.to_string();
                assert!(text.contains(&escape_identifier(name)), "{statement}");
                let bare: String = crate::checks::testkit::outside_quotes(&text);
                assert!(!bare.contains(';') && !bare.contains('\n'), "{statement:?}");
            }
        }
    }

    #[test]
    fn sample_that_read_nothing_is_unknown() {
        assert_eq!(
            run(&NO_PLAINTEXT_SSNS, &sampled(&[], 0)).status,
            Status::Unknown
        );
        let v = run(&NO_PLAINTEXT_SSNS, &sampled(&["public.visits.notes"], 10));
        let plan = NO_PLAINTEXT_SSNS.plan(
            &with_tables(vec![table("visits", "o", &[("notes", "text")])]),
            &v,
        );
        assert_eq!(plan.statements.len(), 3);
        assert!(plan.statements[0]
            .to_string()
            .contains("\"notes_encrypted\""));
    }

    #[test]
    fn integer_patient_keys_are_not_plaintext_phi() {
        let s = with_tables(vec![table(
            "visits",
            "o",
            &[
                ("patient_id", "integer"),
                ("patient_uuid", "uuid"),
                ("visit_date", "date"),
            ],
        )]);
        assert_eq!(run(&PHI_COLUMNS_ENCRYPTED, &s).status, Status::Pass);
        let s = with_tables(vec![table(
            "visits",
            "o",
            &[("patient_id", "integer"), ("mrn", "text")],
        )]);
        let v = run(&PHI_COLUMNS_ENCRYPTED, &s);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.objects, vec!["public.visits.mrn".to_string()]);
    }

    fn phi_sample_gap(message: &str, grant: Option<&str>) -> crate::model::snapshot::Gap {
        crate::model::snapshot::Gap {
            part: "phi_sample".into(),
            sqlstate: grant.map(|_| "42501".to_string()),
            message: message.into(),
            grant: grant.map(str::to_string),
        }
    }

    #[test]
    fn withheld_sample_is_unknown_with_the_collector_reason_and_grant() {
        let mut s = base();
        s.gaps.push(phi_sample_gap(
            "the scanner may not read 3 text columns in 1 tables, so they were not sampled",
            Some("GRANT pg_read_all_data TO \"scanner\""),
        ));
        let v = run(&NO_PLAINTEXT_SSNS, &s);
        assert_eq!(v.status, Status::Unknown, "{v:?}");
        assert!(v.evidence.contains("may not read 3 text columns"), "{v:?}");
        assert!(!v.evidence.contains("sampling is off"), "{v:?}");
        assert_eq!(
            v.grant.as_deref(),
            Some("GRANT pg_read_all_data TO \"scanner\"")
        );
    }

    #[test]
    fn sample_stopped_at_the_column_cap_does_not_pass() {
        let mut s = sampled(&[], 1200);
        s.gaps.push(phi_sample_gap(
            "sampled 200 of 450 readable text columns (the cap per scan); the others were not read",
            None,
        ));
        let v = run(&NO_PLAINTEXT_SSNS, &s);
        assert_eq!(v.status, Status::Unknown, "{v:?}");
        assert!(v.evidence.contains("200 of 450"), "{v:?}");
        // A hit is a finding whatever was left out.
        let mut s = sampled(&["public.visits.notes"], 1200);
        s.gaps.push(phi_sample_gap("sampled 200 of 450", None));
        assert_eq!(run(&NO_PLAINTEXT_SSNS, &s).status, Status::Fail);
    }

    #[test]
    fn literal_keys_in_views_count_too() {
        let mut s = base();
        db(&mut s).views_with_literal_keys = Some(vec!["public.patient_view".into()]);
        let v = run(&NO_LITERAL_KEYS, &s);
        assert_eq!(v.status, Status::Fail);
        assert_eq!(v.objects, vec!["view public.patient_view".to_string()]);
    }

    #[test]
    fn modes_are_bit_masks_not_numbers() {
        // 0407 is numerically below 0640 but gives "other" read access.
        let s = on_host(vec![file(
            "hba_file",
            "/etc/pg_hba.conf",
            0o100407,
            "postgres",
        )]);
        let v = run(&CONFIG_FILE_MODES, &s);
        assert_eq!(v.status, Status::Fail);
        assert!(v.evidence.contains("0407 exceeds 0640"));
        let key = on_host(vec![file("ssl_key_file", "/k.key", 0o100500, "postgres")]);
        assert_eq!(run(&CONFIG_FILE_MODES, &key).status, Status::Fail);
        assert_eq!(
            run(&LOG_FILE_MODE, &with_settings(&[("log_file_mode", "0604")])).status,
            Status::Fail
        );
        assert_eq!(
            run(&LOG_FILE_MODE, &with_settings(&[("log_file_mode", "384")])).status,
            Status::Pass
        );
        assert_eq!(
            run(&LOG_FILE_MODE, &with_settings(&[("log_file_mode", "0400")])).status,
            Status::Pass
        );
    }

    #[test]
    fn root_owned_key_may_be_group_readable() {
        let s = on_host(vec![file(
            "ssl_key_file",
            "/etc/ssl/private/ssl-cert-snakeoil.key",
            0o100640,
            "root",
        )]);
        assert_eq!(run(&CONFIG_FILE_MODES, &s).status, Status::Pass);
        let wrong = on_host(vec![file(
            "hba_file",
            "/etc/pg_hba.conf",
            0o100640,
            "www-data",
        )]);
        assert_eq!(run(&CONFIG_FILE_MODES, &wrong).status, Status::Fail);
    }

    #[test]
    fn unreadable_file_facts_are_unknown() {
        let mut broken = file("hba_file", "/etc/pg_hba.conf", 0, "postgres");
        broken.mode = None;
        broken.error = Some("permission denied".into());
        assert_eq!(
            run(&CONFIG_FILE_MODES, &on_host(vec![broken])).status,
            Status::Unknown
        );
        assert_eq!(
            run(&CONFIG_FILE_MODES, &on_host(Vec::new())).status,
            Status::Unknown
        );
    }

    #[test]
    fn file_plan_quotes_paths_for_the_shell() {
        let s = on_host(vec![file(
            "hba_file",
            "/etc/it's; rm -rf ~/pg_hba.conf",
            0o100666,
            "alice",
        )]);
        let v = run(&CONFIG_FILE_MODES, &s);
        let plan = CONFIG_FILE_MODES.plan(&s, &v);
        assert!(plan
            .note
            .contains("chmod 0640 '/etc/it'\\''s; rm -rf ~/pg_hba.conf'"));
        assert!(plan.note.contains("chown 'postgres' '/etc/it'\\''s"));
        assert_eq!(plan.apply, vec![ApplyClass::Os]);
    }

    #[test]
    fn group_readable_data_directory_warns_and_old_servers_pass() {
        assert_eq!(
            run(
                &DATA_DIRECTORY_MODE,
                &with_settings(&[("data_directory_mode", "0750")])
            )
            .status,
            Status::Warn
        );
        let mut pg10 = with_settings(&[("ssl", "on")]);
        pg10.target.server_version_num = Some(100_023);
        assert_eq!(run(&DATA_DIRECTORY_MODE, &pg10).status, Status::Pass);
        let mut pg15 = with_settings(&[("ssl", "on")]);
        pg15.target.server_version_num = Some(150_018);
        assert_eq!(run(&DATA_DIRECTORY_MODE, &pg15).status, Status::Unknown);
    }

    #[test]
    fn pgcrypto_plan_runs_here_and_names_other_databases() {
        let mut s = with_tables(vec![patients("bytea")]);
        s.databases.push(DatabaseFacts {
            name: "bil\"ling".into(),
            relations: Some(vec![patients("bytea")]),
            extensions: Some(Vec::new()),
            ..DatabaseFacts::default()
        });
        let v = run(&PGCRYPTO_AVAILABLE, &s);
        assert_eq!(v.status, Status::Fail);
        let plan = PGCRYPTO_AVAILABLE.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["CREATE EXTENSION IF NOT EXISTS pgcrypto"]
        );
        assert!(plan.note.contains("\"bil\"\"ling\""));
    }
}
