//! Training mode's content and its one decision: what to do next.
//!
//! Each guide section has a short lesson — "Why this matters" and "Try it" —
//! written in our own words in `assets/training/`, compiled in so training
//! works offline. [`next_step`] reads the findings and names the failing
//! check the app can fix that the lesson reaches first (then the section's
//! display order), or else the next section that still has one, so the
//! suggestion and the lesson's "Try it" steps agree. Sections whose checks a
//! probe can prove over the demo's socket add "break it, then prove it"
//! steps ([`prove_steps`]). Pure: no drawing, no state; must not import
//! other ui modules.

use crate::model::finding::{Finding, Section, Status};
use crate::model::proof::Probe;

/// A section's lesson, as Markdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lesson {
    pub why: &'static str,
    pub try_it: &'static str,
}

const WHY: &str = "#### Why this matters";
const TRY_IT: &str = "#### Try it";

/// The lesson of a guide section.
pub fn lesson(section: Section) -> Lesson {
    let text = match section {
        Section::Safeguards => include_str!("../../assets/training/01-safeguards.md"),
        Section::AtRest => include_str!("../../assets/training/02-at-rest.md"),
        Section::Transit => include_str!("../../assets/training/03-transit.md"),
        Section::Access => include_str!("../../assets/training/04-access.md"),
        Section::Audit => include_str!("../../assets/training/05-audit.md"),
        Section::Backup => include_str!("../../assets/training/06-backup.md"),
    };
    split_lesson(text)
}

/// The probes that can try anything over the demo's Unix socket. The
/// transport probes need a TCP address, and the demo listens on none.
pub const SOCKET_PROBES: [Probe; 3] = [Probe::Auth, Probe::Rls, Probe::Audit];

/// The heading of a section's "break it, then prove it" steps. Test API.
pub const PROVE_HEADING: &str = "Break it, then prove it";

/// A section's "break it, then prove it" steps, for sections with a check
/// that a [`SOCKET_PROBES`] probe proves (Markdown, naming checks in bold).
/// They say what a probe shows rather than promise an outcome, so they stay
/// right whatever the probes find on a given demo.
pub fn prove_steps(section: Section) -> Option<&'static str> {
    match section {
        Section::Transit => Some(
            "1. Select **AUTH-003** and press **Prove it**. The authentication probe sends a \
             startup message over the demo's socket, without a password, and records the \
             server's first answer: under the `trust` line the server lets it in, and the \
             proof says broken.\n\
             2. Apply the AUTH-003 fix, then press **Prove it** again: now the server asks for \
             a password, the probe stops there, and the proof holds.\n\
             3. The transport probes (TLS) need a TCP address; the demo listens only on its \
             socket, so they have nothing to try here.",
        ),
        Section::Access => Some(
            "1. Select **PRIV-015** and press **Prove it**. The row-level security probe counts \
             the rows each login role can see, in a read-only transaction that is rolled back \
             (counts only, never values).\n\
             2. The demo's policies read `current_setting('app.clinic_id')`, which a probe \
             cannot stand in for, so expect inconclusive with that reason: a probe that \
             cannot decide says so rather than pass.",
        ),
        Section::Audit => Some(
            "1. Apply **AUD-001** to load pgAudit, then select **AUD-003** and press \
             **Prove it**. The audit probe reads a PHI table once (`SELECT … LIMIT 0`, tagged \
             with a random name) and looks for its audit line in the server log.\n\
             2. Until reads are audited, the tagged read never reaches the log and the check \
             fails with the transcript as evidence. When the log cannot be read, the probe \
             says unknown and names the grant it needs.",
        ),
        _ => None,
    }
}

/// The two parts under their headings (the headings are drawn by the UI).
fn split_lesson(text: &'static str) -> Lesson {
    let body = text.trim().strip_prefix(WHY).unwrap_or(text);
    match body.split_once(TRY_IT) {
        Some((why, try_it)) => Lesson {
            why: why.trim(),
            try_it: try_it.trim(),
        },
        None => Lesson {
            why: body.trim(),
            try_it: "",
        },
    }
}

/// The check ids a lesson's steps name in bold (e.g. `**TLS-001**`), in
/// the order the steps take them.
pub fn lesson_checks(text: &str) -> Vec<&str> {
    text.split("**")
        .skip(1)
        .step_by(2)
        .filter(|s| {
            s.contains('-')
                && s.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-')
        })
        .collect()
}

/// The first check of a section, lesson order first, that
/// [`needs_applicable_fix`].
fn first_fixable<'a>(section: Section, ordered: Vec<&'a Finding>) -> Option<&'a Finding> {
    let fixable = |f: &&'a Finding| needs_applicable_fix(f);
    lesson_checks(lesson(section).try_it)
        .into_iter()
        .find_map(|id| ordered.iter().copied().filter(fixable).find(|f| f.id == id))
        .or_else(|| ordered.iter().copied().find(fixable))
}

/// What the walkthrough suggests next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NextStep<'a> {
    /// A failing check of this section whose fix the app can apply.
    Fix(&'a Finding),
    /// This section has nothing left to apply; this one has.
    Section(Section),
    /// No section has a fix left to apply.
    Done,
}

/// True when the check needs work and the app can apply its fix (SQL or a
/// configuration-file edit), the same test that shows "Apply…".
pub fn needs_applicable_fix(finding: &Finding) -> bool {
    matches!(finding.status, Status::Fail | Status::Warn)
        && finding
            .fix
            .as_ref()
            .is_some_and(|plan| !plan.statements.is_empty() || plan.config_edit.is_some())
}

/// The next step from `current` (the overview starts at section 1): the
/// check of this section that [`needs_applicable_fix`], taken in the
/// lesson's order and then in display order, else the next section,
/// wrapping around, that has one. `ordered` lists a section's findings in display order.
pub fn next_step<'a>(
    current: Option<Section>,
    ordered: impl Fn(Section) -> Vec<&'a Finding>,
) -> NextStep<'a> {
    let start = current.map_or(0, |s| s.number() - 1);
    let sections = Section::ALL.len();
    for offset in 0..sections {
        let section = Section::ALL[(start + offset) % sections];
        match first_fixable(section, ordered(section)) {
            // On the overview the first fixable check is named directly.
            Some(finding) if current.is_none() || Some(section) == current => {
                return NextStep::Fix(finding)
            }
            Some(_) => return NextStep::Section(section),
            None => {}
        }
    }
    NextStep::Done
}

/// The suggestion in one line. Test API.
pub fn next_step_text(step: &NextStep<'_>) -> String {
    match step {
        NextStep::Fix(finding) => format!("Next: fix {} — {}", finding.id, finding.title),
        NextStep::Section(section) => format!(
            "Next: section {}, {} — nothing here is left for the app to apply",
            section.number(),
            section.title()
        ),
        NextStep::Done => "Every fix the app can apply is in place. What is left needs an \
                           attestation or work outside the database."
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::finding::{FixPlan, Severity};
    use crate::model::statement::Statement;

    fn finding(id: &str, section: Section, status: Status, fix: bool) -> Finding {
        Finding {
            id: id.to_string(),
            section,
            title: format!("title of {id}"),
            severity: Severity::High,
            status,
            hipaa: Vec::new(),
            cis: None,
            evidence: String::new(),
            objects: Vec::new(),
            reason: None,
            grant: None,
            attestation: None,
            accepted: None,
            fix: fix.then(|| FixPlan {
                apply: Vec::new(),
                statements: vec![Statement::other("ALTER SYSTEM SET ssl = on")],
                rollback: Vec::new(),
                needs: String::new(),
                note: String::new(),
                irreversible: false,
                config_edit: None,
            }),
            rationale: String::new(),
            reproduce_sql: String::new(),
            proofs: Vec::new(),
        }
    }

    fn step<'a>(findings: &'a [Finding], current: Option<Section>) -> NextStep<'a> {
        next_step(current, |section| {
            findings.iter().filter(|f| f.section == section).collect()
        })
    }

    #[test]
    fn every_section_has_a_short_lesson_in_two_parts_naming_a_check() {
        for section in Section::ALL {
            let lesson = lesson(section);
            let why = lesson.why.split_whitespace().count();
            let try_it = lesson.try_it.split_whitespace().count();
            assert!((25..=80).contains(&why), "{section:?}: why has {why} words");
            assert!(
                (25..=90).contains(&try_it),
                "{section:?}: try it has {try_it} words"
            );
            assert!(!lesson.why.contains("####") && !lesson.try_it.contains("####"));
            assert!(lesson.try_it.starts_with("1. "), "{section:?}: no steps");
            let named = lesson_checks(lesson.try_it);
            assert!(!named.is_empty(), "{section:?}: try it names no check");
            for id in named {
                let check = crate::checks::find(id).unwrap_or_else(|| panic!("{id} unknown"));
                assert_eq!(check.section, section, "{id} is named in {section:?}");
            }
        }
    }

    #[test]
    fn prove_steps_name_checks_of_their_section_that_a_socket_probe_proves() {
        let mut sections = 0;
        for section in Section::ALL {
            let Some(steps) = prove_steps(section) else {
                continue;
            };
            sections += 1;
            let named = lesson_checks(steps);
            assert!(!named.is_empty(), "{section:?}");
            let proven: Vec<&str> = named
                .into_iter()
                .filter(|id| Probe::for_check(id).is_some())
                .collect();
            assert!(!proven.is_empty(), "{section:?} proves nothing");
            for id in proven {
                let check = crate::checks::find(id).unwrap();
                assert_eq!(check.section, section, "{id}");
                let probe = Probe::for_check(id).unwrap();
                assert!(SOCKET_PROBES.contains(&probe), "{id}: {probe} needs TCP");
            }
        }
        assert_eq!(sections, 3);
    }

    #[test]
    fn the_next_step_is_the_first_fixable_failure_of_this_section() {
        let findings = vec![
            finding("TLS-006", Section::Transit, Status::Fail, false),
            finding("TLS-001", Section::Transit, Status::Fail, true),
            finding("AUD-007", Section::Audit, Status::Fail, true),
        ];
        assert_eq!(
            step(&findings, Some(Section::Transit)),
            NextStep::Fix(&findings[1])
        );
        assert_eq!(
            next_step_text(&step(&findings, Some(Section::Transit))),
            "Next: fix TLS-001 — title of TLS-001"
        );
    }

    #[test]
    fn the_lesson_order_comes_before_the_display_order() {
        // The transit lesson takes TLS-001 before AUTH-003; the list shows AUTH-003 first.
        let findings = vec![
            finding("AUTH-003", Section::Transit, Status::Fail, true),
            finding("TLS-001", Section::Transit, Status::Fail, true),
        ];
        assert_eq!(
            step(&findings, Some(Section::Transit)),
            NextStep::Fix(&findings[1])
        );
        // Once the lesson's check passes, the next one it names is suggested.
        let later = vec![
            finding("AUTH-003", Section::Transit, Status::Fail, true),
            finding("TLS-001", Section::Transit, Status::Pass, true),
        ];
        assert_eq!(
            step(&later, Some(Section::Transit)),
            NextStep::Fix(&later[0])
        );
    }

    #[test]
    fn a_clean_section_points_to_the_next_one_with_work_wrapping_around() {
        let findings = vec![
            finding("TLS-001", Section::Transit, Status::Pass, true),
            finding("GEN-004", Section::Safeguards, Status::Fail, true),
            finding("AUD-007", Section::Audit, Status::Fail, true),
        ];
        assert_eq!(
            step(&findings, Some(Section::Transit)),
            NextStep::Section(Section::Audit)
        );
        assert_eq!(
            step(&findings, Some(Section::Backup)),
            NextStep::Section(Section::Safeguards)
        );
        // The overview names the first fixable check from section 1 on.
        assert_eq!(step(&findings, None), NextStep::Fix(&findings[1]));
        let later = &findings[2..];
        assert_eq!(step(later, None), NextStep::Fix(&later[0]));
    }

    #[test]
    fn nothing_fixable_left_is_done() {
        let findings = vec![
            finding("TLS-001", Section::Transit, Status::Pass, true),
            finding("ADM-001", Section::Safeguards, Status::Manual, false),
            finding("TLS-006", Section::Transit, Status::Fail, false),
        ];
        assert_eq!(step(&findings, Some(Section::Transit)), NextStep::Done);
        assert_eq!(step(&findings, None), NextStep::Done);
    }
}
