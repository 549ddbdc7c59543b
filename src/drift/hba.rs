//! pg_hba lines, compared by content in file order.
//!
//! The first matching line decides a connection, so order matters, but line numbers
//! do not: inserting one line renumbers every later one. The two rule lists are
//! aligned on a longest common subsequence of their contents (Myers' shortest edit
//! script, after trimming the common head and tail), so an inserted line is one
//! appeared line and a moved one a disappeared and an appeared line. Past
//! [`MAX_EDITS`] differences the alignment gives way to matching equal lines by count,
//! which ignores order but stays linear.

use super::names::{hba_list, hba_token};
use super::objects::Found;
use super::{Appearance, ObjectKind};
use crate::model::redact;
use crate::model::snapshot::HbaRule;
use rustc_hash::FxHashMap;
use std::fmt::Write as _;

/// The most differences aligned in order; the trace kept for it grows with its square.
const MAX_EDITS: usize = 1_000;

pub(super) fn compare(old: &[HbaRule], new: &[HbaRule], found: &mut Found) {
    let old_lines: Vec<String> = old.iter().map(content).collect();
    let new_lines: Vec<String> = new.iter().map(content).collect();
    let (gone, added) = unmatched(&old_lines, &new_lines);
    for i in gone {
        let at = location(&old[i]);
        found.push(
            ObjectKind::HbaLine,
            &old_lines[i],
            Appearance::Disappeared,
            Some(&at),
            None,
        );
    }
    for j in added {
        let at = location(&new[j]);
        found.push(
            ObjectKind::HbaLine,
            &new_lines[j],
            Appearance::Appeared,
            None,
            Some(&at),
        );
    }
}

/// The rule as pg_hba.conf spells it: type, databases, users, address, netmask,
/// method, options (an LDAP bind password or RADIUS secret as `[redacted]`: the diff
/// is stored and shown); a line the server could not read also shows its error.
fn content(rule: &HbaRule) -> String {
    let mut text = rule.conn_type.as_deref().map(hba_token).unwrap_or_default();
    let mut field = |value: &str| {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(value);
    };
    if rule.conn_type.is_some() {
        field(&hba_list(&rule.database));
        field(&hba_list(&rule.user_name));
    }
    for value in [&rule.address, &rule.netmask, &rule.auth_method]
        .into_iter()
        .flatten()
    {
        field(&hba_token(value));
    }
    for option in &rule.options {
        field(&hba_token(&redact::hba_option(option)));
    }
    if let Some(error) = &rule.error {
        let _ = write!(
            text,
            "{}(error: {error})",
            if text.is_empty() { "" } else { " " }
        );
    }
    text
}

/// `line 7`, or `line 7 of /etc/postgresql/16/main/pg_hba.conf` when the server
/// names the file.
fn location(rule: &HbaRule) -> String {
    match &rule.file_name {
        Some(file) => format!("line {} of {file}", rule.line_number),
        None => format!("line {}", rule.line_number),
    }
}

/// Indices of `old` and of `new` that the alignment leaves unmatched, ascending.
fn unmatched(old: &[String], new: &[String]) -> (Vec<usize>, Vec<usize>) {
    let head = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let tail = old[head..]
        .iter()
        .rev()
        .zip(new[head..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let a = &old[head..old.len() - tail];
    let b = &new[head..new.len() - tail];
    let (gone, added) = shortest_edit(a, b, MAX_EDITS).unwrap_or_else(|| by_count(a, b));
    let shift = |v: Vec<usize>| v.into_iter().map(|i| i + head).collect();
    (shift(gone), shift(added))
}

/// Myers' greedy shortest edit script from `a` to `b`: the indices deleted from `a`
/// and inserted from `b`, ascending. `None` when it takes more than `max_edits`.
fn shortest_edit(a: &[String], b: &[String], max_edits: usize) -> Option<(Vec<usize>, Vec<usize>)> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let limit = (n + m).min(max_edits as isize);
    // v[k + offset]: the furthest x reached on diagonal k = x - y.
    let offset = n + m + 1;
    let mut v = vec![0isize; (2 * offset + 1) as usize];
    // trace[d]: v on diagonals -d-1 ..= d+1 before step d, to walk back.
    let mut trace: Vec<Vec<isize>> = Vec::new();
    for d in 0..=limit {
        trace.push(v[(offset - d - 1) as usize..=(offset + d + 1) as usize].to_vec());
        for k in (-d..=d).step_by(2) {
            let at = |k: isize| (k + offset) as usize;
            let mut x = if k == -d || (k != d && v[at(k - 1)] < v[at(k + 1)]) {
                v[at(k + 1)]
            } else {
                v[at(k - 1)] + 1
            };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                x += 1;
                y += 1;
            }
            v[at(k)] = x;
            if x >= n && y >= m {
                return Some(walk_back(&trace, n, m));
            }
        }
    }
    None
}

/// The edits of the path that reached (n, m) at step `trace.len() - 1`.
fn walk_back(trace: &[Vec<isize>], n: isize, m: isize) -> (Vec<usize>, Vec<usize>) {
    let (mut gone, mut added) = (Vec::new(), Vec::new());
    let (mut x, mut y) = (n, m);
    for (d, v) in trace.iter().enumerate().rev() {
        let d = d as isize;
        let at = |k: isize| (k + d + 1) as usize;
        let k = x - y;
        let prev_k = if k == -d || (k != d && v[at(k - 1)] < v[at(k + 1)]) {
            k + 1
        } else {
            k - 1
        };
        let prev_x = v[at(prev_k)];
        let prev_y = prev_x - prev_k;
        // From (prev_x, prev_y) one edit, then equal lines up to (x, y).
        if d > 0 {
            if prev_k == k + 1 {
                added.push(prev_y as usize);
            } else {
                gone.push(prev_x as usize);
            }
        }
        x = prev_x;
        y = prev_y;
    }
    gone.reverse();
    added.reverse();
    (gone, added)
}

/// Equal lines matched by count, ignoring order: the later copies of a line that
/// one side has more often are unmatched.
fn by_count(a: &[String], b: &[String]) -> (Vec<usize>, Vec<usize>) {
    fn extra(side: &[String], other: &[String]) -> Vec<usize> {
        let mut available: FxHashMap<&str, usize> = FxHashMap::default();
        for line in other {
            *available.entry(line.as_str()).or_default() += 1;
        }
        let mut left = Vec::new();
        for (i, line) in side.iter().enumerate() {
            match available.get_mut(line.as_str()) {
                Some(count) if *count > 0 => *count -= 1,
                _ => left.push(i),
            }
        }
        left
    }
    (extra(a, b), extra(b, a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::tests::{changes_of, snapshot};
    use crate::model::snapshot::hba_rule;
    use proptest::prelude::*;

    fn rules() -> Vec<HbaRule> {
        vec![
            hba_rule(1, "local", "all", "postgres", None, "peer"),
            hba_rule(
                2,
                "hostssl",
                "clinic",
                "all",
                Some(("10.0.0.0", "255.255.255.0")),
                "scram-sha-256",
            ),
            hba_rule(
                3,
                "hostssl",
                "all",
                "all",
                Some(("10.0.1.0", "255.255.255.0")),
                "scram-sha-256",
            ),
            hba_rule(
                4,
                "host",
                "all",
                "all",
                Some(("0.0.0.0", "0.0.0.0")),
                "reject",
            ),
        ]
    }

    /// `rules()` with `rule` inserted before index `at`, numbered as the file would be.
    fn with_inserted(at: usize, rule: HbaRule) -> Vec<HbaRule> {
        let mut v = rules();
        v.insert(at, rule);
        for (i, r) in v.iter_mut().enumerate() {
            r.line_number = i as i32 + 1;
        }
        v
    }

    #[test]
    fn an_inserted_line_is_exactly_one_appeared_line() {
        let mut old = snapshot();
        let mut new = snapshot();
        old.hba_rules = Some(rules());
        let trust = hba_rule(
            0,
            "host",
            "all",
            "all",
            Some(("0.0.0.0", "0.0.0.0")),
            "trust",
        );
        new.hba_rules = Some(with_inserted(1, trust));
        assert_eq!(
            changes_of(&old, &new, ObjectKind::HbaLine),
            [(
                "host all all 0.0.0.0 0.0.0.0 trust",
                Appearance::Appeared,
                None,
                Some("line 2")
            )]
        );
    }

    #[test]
    fn removed_and_moved_lines_show_their_line_numbers() {
        let mut old = snapshot();
        let mut new = snapshot();
        old.hba_rules = Some(rules());
        // The reject line moved to the top (it now shadows every other line), the
        // clinic line was removed.
        let mut moved = rules();
        let reject = moved.remove(3);
        moved.remove(1);
        moved.insert(0, reject);
        for (i, r) in moved.iter_mut().enumerate() {
            r.line_number = i as i32 + 1;
            r.file_name = Some("/etc/pg_hba.conf".into());
        }
        new.hba_rules = Some(moved);
        let changes = changes_of(&old, &new, ObjectKind::HbaLine);
        assert_eq!(
            changes,
            [
                (
                    "host all all 0.0.0.0 0.0.0.0 reject",
                    Appearance::Appeared,
                    None,
                    Some("line 1 of /etc/pg_hba.conf")
                ),
                (
                    "host all all 0.0.0.0 0.0.0.0 reject",
                    Appearance::Disappeared,
                    Some("line 4"),
                    None
                ),
                (
                    "hostssl clinic all 10.0.0.0 255.255.255.0 scram-sha-256",
                    Appearance::Disappeared,
                    Some("line 2"),
                    None
                ),
            ]
        );
    }

    #[test]
    fn a_changed_line_is_one_gone_and_one_new_quoted_and_without_secrets() {
        let mut old = snapshot();
        let mut new = snapshot();
        old.hba_rules = Some(rules());
        let mut changed = rules();
        changed[2].user_name = vec!["a b".into(), "c".into()];
        changed[2].options = vec![
            "clientcert=verify-full".into(),
            "ldapbindpasswd=hunter2".into(),
        ];
        new.hba_rules = Some(changed);
        let names: Vec<(String, Appearance)> = changes_of(&old, &new, ObjectKind::HbaLine)
            .into_iter()
            .map(|row| (row.name, row.change))
            .collect();
        assert_eq!(
            names,
            [
                (
                    "hostssl all \"a b\",c 10.0.1.0 255.255.255.0 scram-sha-256 clientcert=verify-full ldapbindpasswd=[redacted]".to_string(),
                    Appearance::Appeared
                ),
                (
                    "hostssl all all 10.0.1.0 255.255.255.0 scram-sha-256".to_string(),
                    Appearance::Disappeared
                ),
            ]
        );
    }

    #[test]
    fn an_unreadable_line_shows_its_error() {
        let rule = HbaRule {
            line_number: 9,
            error: Some("invalid authentication method \"trsut\"".into()),
            ..HbaRule::default()
        };
        assert_eq!(
            content(&rule),
            "(error: invalid authentication method \"trsut\")"
        );
    }

    #[test]
    fn past_the_edit_limit_lines_are_matched_by_count() {
        let lines = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let a = lines(&["x", "y", "z", "y"]);
        let b = lines(&["y", "w", "x", "z"]);
        assert_eq!(shortest_edit(&a, &b, 1), None);
        assert_eq!(by_count(&a, &b), (vec![3], vec![1]));
    }

    /// The length of a longest common subsequence, the slow way.
    fn lcs(a: &[String], b: &[String]) -> usize {
        let mut row = vec![0usize; b.len() + 1];
        for x in a {
            let mut diagonal = 0;
            for (j, y) in b.iter().enumerate() {
                let up = row[j + 1];
                row[j + 1] = if x == y { diagonal + 1 } else { up.max(row[j]) };
                diagonal = up;
            }
        }
        row[b.len()]
    }

    fn kept(side: &[String], dropped: &[usize]) -> Vec<String> {
        side.iter()
            .enumerate()
            .filter(|(i, _)| !dropped.contains(i))
            .map(|(_, s)| s.clone())
            .collect()
    }

    proptest! {
        /// The alignment keeps a longest common subsequence: what is left of both
        /// sides is the same sequence, and no longer one exists.
        #[test]
        fn the_alignment_is_a_longest_common_subsequence(
            a in proptest::collection::vec("[abc]", 0..14),
            b in proptest::collection::vec("[abc]", 0..14),
        ) {
            let (gone, added) = unmatched(&a, &b);
            let (left, right) = (kept(&a, &gone), kept(&b, &added));
            prop_assert_eq!(&left, &right);
            prop_assert_eq!(left.len(), lcs(&a, &b));
        }
    }
}
