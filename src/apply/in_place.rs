//! pg_hba.conf edited where it stands, as the DBA wrote it: only the lines
//! of the rules a fix changes are replaced (each change carries the comment
//! naming its check that the fix wrote); comments, blank lines, order and
//! include directives stay. The preview shows the change as a unified diff.
//!
//! Works from the rule edits a fix plan carries
//! ([`crate::model::finding::RuleEdit`]: `pg_hba_file_rules` line numbers)
//! and refuses, with the reason, whenever the file does not hold those rules
//! where the server read them (changed since the scan, a rule in an included
//! file, a rule continued over several lines): the caller then falls back to
//! the complete proposed file. Pure text work; the write is
//! [`super::config_file`]'s.

use crate::model::finding::RuleEdit;

/// Connection types a pg_hba rule line starts with.
const RULE_TYPES: &[&str] = &[
    "local",
    "host",
    "hostssl",
    "hostnossl",
    "hostgssenc",
    "hostnogssenc",
];

/// The file `current` (at `path`) with `edits` applied in place, as lines;
/// or why that cannot be done safely.
pub fn edit_in_place(current: &str, path: &str, edits: &[RuleEdit]) -> Result<Vec<String>, String> {
    let mut lines: Vec<String> = current.lines().map(str::to_string).collect();
    let mut ordered: Vec<&RuleEdit> = edits.iter().collect();
    ordered.sort_by_key(|e| std::cmp::Reverse(e.line_number));
    let mut previous = None;
    for edit in ordered {
        if previous == Some(edit.line_number) {
            return Err(format!("two edits of line {}", edit.line_number));
        }
        previous = Some(edit.line_number);
        if let Some(file) = edit.file_name.as_deref().filter(|f| *f != path) {
            return Err(format!(
                "line {} is in the included file {file}",
                edit.line_number
            ));
        }
        let index = usize::try_from(edit.line_number - 1)
            .ok()
            .filter(|i| *i < lines.len())
            .ok_or_else(|| format!("the file has no line {} any more", edit.line_number))?;
        let original = lines[index].clone();
        let content = original.split('#').next().unwrap_or("").trim();
        if content.ends_with('\\') {
            return Err(format!(
                "the rule at line {} continues on the next line",
                edit.line_number
            ));
        }
        let first = content.split_whitespace().next().unwrap_or("");
        if !RULE_TYPES.contains(&first) {
            return Err(format!(
                "line {} no longer holds the rule the server read (the file changed since \
                 the scan)",
                edit.line_number
            ));
        }
        let replacement: Vec<String> = edit
            .lines
            .iter()
            .map(|line| line.clone().unwrap_or_else(|| original.clone()))
            .collect();
        lines.splice(index..=index, replacement);
    }
    Ok(lines)
}

/// A unified diff of `old` to `new` (the file's lines), three lines of
/// context, headed by the file's path.
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{path} (now)"), &format!("{path} (proposed)"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# Who may connect, and why.
# The app servers (ticket OPS-12).
host    clinic  app     10.0.0.0/8      md5

# Local maintenance.
local   all     postgres                peer
include_if_exists extra.conf
host    all     all     0.0.0.0/0       trust
";

    fn edit(line: i32, lines: &[Option<&str>]) -> RuleEdit {
        RuleEdit {
            line_number: line,
            file_name: Some("/etc/pg_hba.conf".into()),
            lines: lines.iter().map(|l| l.map(str::to_string)).collect(),
        }
    }

    #[test]
    fn only_the_changed_rules_change_and_comments_stay() {
        let edits = [
            edit(
                3,
                &[
                    Some("# TLS-004 changed line 3: host clinic app 10.0.0.0/8 md5"),
                    Some("hostssl clinic app 10.0.0.0/8 md5"),
                ],
            ),
            edit(
                8,
                &[
                    Some("# AUTH-008: superusers log in only locally"),
                    Some("host all postgres all reject"),
                    None,
                ],
            ),
        ];
        let lines = edit_in_place(FILE, "/etc/pg_hba.conf", &edits).unwrap();
        let text = lines.join("\n") + "\n";
        assert!(text.starts_with(
            "# Who may connect, and why.\n# The app servers (ticket OPS-12).\n# TLS-004"
        ));
        assert!(text.contains("\n\n# Local maintenance.\nlocal   all     postgres                peer\ninclude_if_exists extra.conf\n"));
        assert!(text.ends_with(
            "host all postgres all reject\nhost    all     all     0.0.0.0/0       trust\n"
        ));
        let diff = unified_diff("/etc/pg_hba.conf", FILE, &text);
        assert!(
            diff.contains("-host    clinic  app     10.0.0.0/8      md5"),
            "{diff}"
        );
        assert!(
            diff.contains("+hostssl clinic app 10.0.0.0/8 md5"),
            "{diff}"
        );
        assert!(!diff.contains("-# Who may connect"), "{diff}");
    }

    #[test]
    fn a_file_that_changed_since_the_scan_is_not_edited() {
        let moved = edit(4, &[Some("hostssl clinic app 10.0.0.0/8 md5")]);
        assert!(edit_in_place(FILE, "/etc/pg_hba.conf", &[moved]).is_err());
        let gone = edit(40, &[None]);
        assert!(edit_in_place(FILE, "/etc/pg_hba.conf", &[gone]).is_err());
        let included = RuleEdit {
            file_name: Some("/etc/extra.conf".into()),
            ..edit(3, &[None])
        };
        assert!(edit_in_place(FILE, "/etc/pg_hba.conf", &[included]).is_err());
        let continued = "host all all \\\n  10.0.0.0/8 md5\n";
        assert!(edit_in_place(continued, "/etc/pg_hba.conf", &[edit(1, &[None])]).is_err());
    }
}
