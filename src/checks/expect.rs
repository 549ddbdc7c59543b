//! Judging several settings at once against what a check expects of each,
//! and the matching `ALTER SYSTEM` fix: the shared machinery of checks such
//! as GEN-003, AUD-007, AUD-010 and BAK-001.
//!
//! A setting this server's major does not have is left out and said so
//! (not applicable for it alone); a hidden one makes the verdict `unknown`
//! unless a visible one already fails. A setting that roles, databases or
//! functions can override is judged in every scope that sets it
//! ([`login_settings`]): each failing scope is a bad entry of its own, and
//! its fix resets that override. Imports `facts` and `login_settings` only;
//! must not import `db`, `ui`, `report` or a section file.

use super::facts::{describe, is_not_applicable, need_setting, value};
use super::login_settings::{self, base_setting, is_settable, SCOPE_NOTE};
use super::Verdict;
use crate::model::finding::{ApplyClass, FixPlan};
use crate::model::snapshot::Snapshot;
use crate::model::statement::{alter_system_set, restore_parameter, Statement};

/// A setting, what a good value looks like, and what the fix sets.
#[derive(Clone, Copy)]
pub struct Expect {
    pub name: &'static str,
    /// Shown in evidence next to a bad value, e.g. "on".
    pub wanted: &'static str,
    pub ok: fn(&str) -> bool,
    pub fix_value: &'static str,
}

/// The outcome of judging several settings.
pub struct Judged {
    /// `describe()` of every visible setting, and a note for each setting
    /// this major does not have, in rule order.
    pub seen: Vec<String>,
    /// What is not as wanted: the object (the setting's name for its
    /// server-wide value, [`login_settings::Override::object`] for an
    /// override) and its wording.
    pub bad: Vec<(String, String)>,
    /// The `unknown` verdict for the first setting that could not be read.
    pub hidden: Option<Verdict>,
    /// How many rules were judged on a value.
    pub judged: usize,
}

/// Judge each rule's setting; hidden settings are remembered, not guessed,
/// and settings this major lacks are noted and skipped.
pub fn judge_settings(s: &Snapshot, rules: &[Expect]) -> Judged {
    let mut judged = Judged {
        seen: Vec::new(),
        bad: Vec::new(),
        hidden: None,
        judged: 0,
    };
    let mut overridable = false;
    for rule in rules {
        let base = if is_settable(rule.name) {
            base_setting(s, rule.name)
        } else {
            need_setting(s, rule.name)
        };
        match base {
            Ok(setting) => {
                let seen = describe(rule.name, setting);
                if !(rule.ok)(value(setting)) {
                    judged.bad.push((
                        rule.name.to_string(),
                        format!("{seen}, wanted {}", rule.wanted),
                    ));
                }
                judged.seen.push(seen);
                judged.judged += 1;
            }
            Err(absent) if is_not_applicable(&absent) => {
                judged.seen.push(absent.evidence);
                continue;
            }
            Err(unknown) => {
                judged.hidden.get_or_insert(unknown);
            }
        }
        if !is_settable(rule.name) {
            continue;
        }
        overridable = true;
        match login_settings::failing(s, rule.name, &|v| (rule.ok)(v)) {
            Ok(bad) => judged.bad.extend(bad.iter().map(|o| {
                let object = o.object();
                let wording = format!("{object}, wanted {}", rule.wanted);
                (object, wording)
            })),
            Err(unknown) => {
                judged.hidden.get_or_insert(unknown);
            }
        }
    }
    if overridable {
        judged.seen.push(SCOPE_NOTE.to_string());
    }
    judged
}

/// Pass when every setting is as wanted; fail (listing every bad one, named
/// in `objects`) when any visible one is not; otherwise unknown. When no
/// rule's setting exists on this major, not applicable.
pub fn expect_all(s: &Snapshot, rules: &[Expect]) -> Verdict {
    let judged = judge_settings(s, rules);
    if !judged.bad.is_empty() {
        let objects = judged.bad.iter().map(|(o, _)| o.clone());
        let wording: Vec<&str> = judged.bad.iter().map(|(_, w)| w.as_str()).collect();
        let names = rules
            .iter()
            .filter(|r| wording.iter().any(|w| mentions(w, r.name)))
            .count();
        return Verdict::fail(format!(
            "{names} of {} setting(s) not as required: {}",
            rules.len(),
            wording.join("; ")
        ))
        .with_objects(objects);
    }
    match judged.hidden {
        Some(unknown) => unknown,
        None if judged.judged == 0 => Verdict::not_applicable(judged.seen.join("; ")),
        None => Verdict::pass(judged.seen.join("; ")),
    }
}

/// Whether a bad entry's wording is about `name` (`name = …` for the
/// server-wide value, ` name=…` for an override).
fn mentions(wording: &str, name: &str) -> bool {
    wording.starts_with(&format!("{name} = ")) || wording.contains(&format!(" {name}="))
}

/// `ALTER SYSTEM SET` for the rules named in the verdict's objects (all
/// rules when it names none), each with a rollback to what the snapshot saw,
/// and a RESET for each override the objects list. Rules whose setting this
/// major lacks are left out.
pub fn fix_settings(
    s: &Snapshot,
    verdict: &Verdict,
    rules: &[Expect],
    apply: &[ApplyClass],
    advice: &str,
) -> FixPlan {
    let chosen: Vec<&Expect> = rules
        .iter()
        .filter(|r| super::facts::absent_on_this_version(s, r.name).is_none())
        .collect();
    let names: Vec<&str> = rules.iter().map(|r| r.name).collect();
    let resets = login_settings::reset_listed(s, &verdict.objects, &names);
    let reset_note = resets.note();
    let mut notes: Vec<&str> = vec![advice, &reset_note];
    if apply.contains(&ApplyClass::Restart) {
        notes.push("takes effect only after a server restart");
    }
    notes.retain(|n| !n.is_empty());
    let note = notes.join("; ");
    let base_fixed =
        |r: &&&Expect| verdict.objects.is_empty() || verdict.objects.iter().any(|o| o == r.name);
    let mut statements: Vec<Statement> = chosen
        .iter()
        .filter(base_fixed)
        .map(|r| alter_system_set(r.name, r.fix_value))
        .collect();
    let mut rollback: Vec<Statement> = chosen
        .iter()
        .filter(base_fixed)
        .map(|r| restore_parameter(s, r.name))
        .collect();
    statements.extend(resets.statements);
    rollback.extend(resets.rollback);
    FixPlan {
        apply: apply.to_vec(),
        statements,
        rollback,
        needs: "superuser (ALTER SYSTEM)".into(),
        note,
        ..FixPlan::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::facts::is_on;
    use crate::checks::testkit::with_settings;
    use crate::model::finding::Status;

    const RULES: &[Expect] = &[
        Expect {
            name: "log_connections",
            wanted: "on",
            ok: is_on,
            fix_value: "on",
        },
        Expect {
            name: "idle_session_timeout",
            wanted: "> 0",
            ok: |v| v != "0",
            fix_value: "15min",
        },
    ];

    #[test]
    fn a_setting_the_major_lacks_is_skipped_not_unknown() {
        let mut s = with_settings(&[("log_connections", "on")]);
        s.target.server_version_num = Some(130_020);
        let v = expect_all(&s, RULES);
        assert_eq!(v.status, Status::Pass, "{}", v.evidence);
        assert!(v
            .evidence
            .contains("idle_session_timeout does not exist before PostgreSQL 14"));
        let plan = fix_settings(&s, &Verdict::fail("x"), RULES, &[ApplyClass::Reload], "");
        assert_eq!(
            plan.statements,
            vec!["ALTER SYSTEM SET \"log_connections\" = 'on'"]
        );
        // On 15 the same absence means the scanner cannot see it.
        s.target.server_version_num = Some(150_018);
        assert_eq!(expect_all(&s, RULES).status, Status::Unknown);
    }

    #[test]
    fn only_missing_settings_make_it_not_applicable() {
        let mut s = with_settings(&[]);
        s.target.server_version_num = Some(130_020);
        let v = expect_all(&s, &RULES[1..]);
        assert_eq!(v.status, Status::NotApplicable);
    }
}
