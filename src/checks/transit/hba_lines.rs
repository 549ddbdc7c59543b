//! Verdicts and fix plans over single pg_hba lines, shared by TLS-004, TLS-008
//! and AUTH-003 … AUTH-007: which lines a connection can still reach, the
//! verdict that lists them, and plans that change a line's method or say what
//! to write. Imports the shared check modules ([`crate::checks::hba`],
//! [`crate::checks::facts`]) and the model, never a check file.

use crate::checks::facts::listing;
use crate::checks::hba::{self, Who};
use crate::checks::Verdict;
use crate::model::finding::{ApplyClass, FixPlan};
use crate::model::snapshot::{HbaRule, PasswordKind, Snapshot};
use std::collections::BTreeSet;

/// Rule indexes whose display is among the verdict's objects.
pub(super) fn flagged_rules(rules: &[HbaRule], verdict: &Verdict) -> BTreeSet<usize> {
    (0..rules.len())
        .filter(|&i| verdict.objects.contains(&hba::display(&rules[i])))
        .collect()
}

/// Loaded, admitting rules that `pick` selects and that some connection can
/// still reach (not behind an earlier reject).
pub(super) fn reachable_rules(rules: &[HbaRule], pick: impl Fn(&HbaRule) -> bool) -> Vec<usize> {
    (0..rules.len())
        .filter(|&i| {
            let rule = &rules[i];
            hba::admits(rule)
                && pick(rule)
                && !hba::shadowed(rules, i, hba::kinds(rule), &Who::Anyone)
        })
        .collect()
}

/// Fail listing the picked rules, or pass.
pub(super) fn rule_verdict(rules: &[HbaRule], picked: &[usize], what: &str) -> Verdict {
    let shown: Vec<String> = picked.iter().map(|&i| hba::display(&rules[i])).collect();
    if shown.is_empty() {
        Verdict::pass(format!("{} pg_hba rule(s) read; none {what}", rules.len()))
    } else {
        Verdict::fail(format!(
            "{} pg_hba rule(s) {what}: {}",
            shown.len(),
            listing(&shown)
        ))
        .with_objects(shown)
    }
}

/// A copy of `rule` using `method`, keeping only options every method accepts.
fn with_method(rule: &HbaRule, method: &str) -> HbaRule {
    let mut new = rule.clone();
    new.auth_method = Some(method.into());
    new.options.retain(|o| o.starts_with("clientcert="));
    new
}

/// A proposal that changes the method of the flagged rules.
pub(super) fn method_plan(
    s: &Snapshot,
    verdict: &Verdict,
    check_id: &str,
    new_method: fn(&HbaRule) -> &'static str,
    advice: &str,
) -> FixPlan {
    let rules = s.hba_rules.as_deref().unwrap_or(&[]);
    let flagged = flagged_rules(rules, verdict);
    let proposal = hba::propose(s, check_id, |i, rule| {
        if flagged.contains(&i) {
            hba::changed(check_id, rule, with_method(rule, new_method(rule)))
        } else {
            hba::keep(rule)
        }
    });
    let mut advice = advice.to_string();
    if let Some(locked) = md5_locked_out(s) {
        advice.push_str(&locked);
    }
    hba::plan(s, proposal, &advice)
}

/// A warning naming roles whose md5 or missing verifier SCRAM cannot use.
fn md5_locked_out(s: &Snapshot) -> Option<String> {
    let kinds = s.password_kinds.as_ref()?;
    let md5: Vec<String> = kinds
        .iter()
        .filter(|(_, k)| matches!(k, PasswordKind::Md5 | PasswordKind::Plain))
        .map(|(r, _)| r.clone())
        .collect();
    (!md5.is_empty()).then(|| {
        format!(
            "; roles with md5 verifiers cannot log in under scram-sha-256 until their \
             passwords are set again (AUTH-002): {}",
            listing(&md5)
        )
    })
}

pub(super) fn scram(_: &HbaRule) -> &'static str {
    "scram-sha-256"
}

/// A plan that only says what to write: the right value is the organisation's.
pub(super) fn hba_advice_plan(s: &Snapshot, verdict: &Verdict, advice: String) -> FixPlan {
    let path = s
        .setting("hba_file")
        .and_then(|x| x.setting.clone())
        .unwrap_or_else(|| "pg_hba.conf".into());
    FixPlan {
        apply: vec![ApplyClass::ConfigFile],
        needs: "write access to pg_hba.conf and superuser or EXECUTE on pg_reload_conf()".into(),
        note: format!(
            "{advice} in {path} for: {}; then {}",
            listing(&verdict.objects),
            hba::VALIDATE
        ),
        ..FixPlan::default()
    }
}
