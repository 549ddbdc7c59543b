//! EAR-005: whether the opt-in value sample (--sample-phi) found SSN-shaped
//! values in text columns, and whether it covered all of them.

use super::column_encryption::{encrypt_columns_plan, KEY_INPUT};
use super::{databases, in_database};
use crate::checks::facts::{listing, settle};
use crate::checks::{Check, Fix, Prerequisites, Verdict};
use crate::model::finding::{Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::policy::Policy;

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
    fix: Fix::After(
        Prerequisites {
            needs_first: &["EAR-003"],
            restart_between: false,
            needs_input: Some(KEY_INPUT),
        },
        &Fix::Build(encrypt_columns_plan),
    ),
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

#[cfg(test)]
fn sampled(hits: &[&str], rows: u64) -> Snapshot {
    use crate::checks::testkit::{base, db};
    use crate::model::snapshot::PhiSample;

    let mut s = base();
    db(&mut s).phi_sample = Some(PhiSample {
        columns_sampled: 4,
        rows_read: rows,
        ssn_like_hits: hits.len() as u64 * 3,
        columns_with_hits: hits.iter().map(|h| (*h).to_string()).collect(),
    });
    s
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::Case;

    vec![Case::new(
        "EAR-005",
        sampled(&[], 1200),
        sampled(&["public.visits.notes"], 1200),
    )]
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{run, with_tables};
    use super::*;
    use crate::checks::testkit::{base, table};
    use crate::model::finding::Status;

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
}
