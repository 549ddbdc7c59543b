//! The text of a fix: its statements as lines of a script, and the whole
//! .sql file that "Copy fix" and "Save as .sql" produce (a commented header,
//! the statements, proposed config lines and the rollback as comments).
//! Pure; shared by the detail pane and the App. Imports only the model,
//! `untrusted` and `wording`.

use super::wording::apply_class_word;
use crate::model::finding::{ApplyClass, Finding, FixPlan};
use crate::model::statement::Statement;
use crate::model::untrusted;

/// A statement as one line of a script: trailing space cut, a `;` at the end.
pub fn with_semicolon(statement: &Statement) -> String {
    let text = statement.to_string();
    let trimmed = text.trim_end();
    if trimmed.ends_with(';') {
        trimmed.to_string()
    } else {
        format!("{trimmed};")
    }
}

/// The fix statements as a script, with `pg_reload_conf()` for the reload
/// class. `None` when the fix has no SQL.
pub fn fix_statements(plan: &FixPlan) -> Option<String> {
    let count = fix_statement_line_count(plan);
    (count > 0).then(|| {
        (0..count)
            .map(|i| fix_statement_line(plan, i))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// The number of lines of [`fix_statements`]; with [`fix_statement_line`] a
/// long fix is shown without building every line each frame.
pub fn fix_statement_line_count(plan: &FixPlan) -> usize {
    let reload = !plan.statements.is_empty() && plan.apply.contains(&ApplyClass::Reload);
    plan.statements.len() + usize::from(reload)
}

/// Line `i` of [`fix_statements`].
pub fn fix_statement_line(plan: &FixPlan, i: usize) -> String {
    plan.statements
        .get(i)
        .map_or_else(|| "SELECT pg_reload_conf();".to_string(), with_semicolon)
}

/// Whether [`fix_script`] has something to copy or save, without building it.
pub fn has_fix_script(plan: &FixPlan) -> bool {
    !plan.statements.is_empty() || plan.config_edit.is_some()
}

/// The whole .sql file for "Save as .sql" and Copy: a commented header, the
/// statements, proposed config lines and the rollback as comments.
pub fn fix_script(finding: &Finding) -> Option<String> {
    let plan = finding.fix.as_ref()?;
    let statements = fix_statements(plan);
    if statements.is_none() && plan.config_edit.is_none() {
        return None;
    }
    let mut out = vec![
        format!("-- pgSafeguard fix for {}: {}", finding.id, finding.title),
        format!("-- Evidence: {}", untrusted::one_line(&finding.evidence)),
        format!("-- Apply: {}", apply_words(plan)),
    ];
    if !plan.needs.is_empty() {
        out.push(format!("-- Needs: {}", plan.needs));
    }
    if !plan.note.is_empty() {
        out.push(format!("-- Note: {}", untrusted::one_line(&plan.note)));
    }
    if let Some(statements) = statements {
        out.push(String::new());
        out.push(statements);
    }
    if let Some(edit) = &plan.config_edit {
        out.push(String::new());
        out.push(format!(
            "-- Proposed content of {}:",
            untrusted::name(&edit.file)
        ));
        out.extend(
            edit.lines
                .iter()
                .map(|l| format!("--   {}", untrusted::text(l))),
        );
        if !edit.validate.is_empty() {
            out.push(format!(
                "-- Validate before reloading: {}",
                untrusted::one_line(&edit.validate)
            ));
        }
    }
    out.push(String::new());
    if plan.rollback.is_empty() {
        out.push("-- Rollback: none recorded.".to_string());
    } else {
        out.push("-- Rollback (run to undo):".to_string());
        out.extend(
            plan.rollback
                .iter()
                // Escaped: a newline inside a quoted name must not end the comment.
                .map(|s| format!("-- {}", untrusted::text(&with_semicolon(s)))),
        );
    }
    out.push(String::new());
    Some(out.join("\n"))
}

fn apply_words(plan: &FixPlan) -> String {
    if plan.apply.is_empty() {
        return "not stated".to_string();
    }
    plan.apply
        .iter()
        .map(|c| apply_class_word(*c))
        .collect::<Vec<_>>()
        .join(" + ")
}
