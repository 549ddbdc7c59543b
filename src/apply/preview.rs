//! What a fix (or a rollback) would do, before anything runs: the
//! [`Preview`] the GUI's Apply… dialog and `pgsafeguard fix --dry-run` show,
//! built from a fresh scan, the prepared steps and the guards.

use super::changelog::{Action, ChangeLogEntry, ConfigFileRecord, Evidence, StepKind};
use super::config_file;
use super::guards::{self, Refusal, SessionContext};
use super::prepare::{self, PlannedStep};
use super::{in_place, run, ApplyError};
use crate::model::finding::{ApplyClass, ConfigEdit, Finding, FixPlan, Status};
use crate::model::redact::MASK;
use crate::model::snapshot::Snapshot;
use crate::model::statement::Statement;
use crate::model::untrusted;
use std::collections::BTreeMap;
use std::path::Path;

/// A config-file edit as the preview shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFilePreview {
    /// `hba_file` or `ident_file`.
    pub file: String,
    /// The file's path on the server (`SHOW hba_file`).
    pub path: String,
    /// The complete new file. A restored backup may hold secret option
    /// values: show [`ConfigFilePreview::shown_lines`] instead.
    pub lines: Vec<String>,
    /// Why pgSafeguard cannot write it here (not on the database host, no
    /// write access, incomplete proposal); `None` when it can.
    pub not_writable_reason: Option<String>,
    /// How the server validates it once saved.
    pub validate: String,
    /// For a rollback: the backup being put back.
    pub restore_from: Option<String>,
    /// The change as a unified diff when the file is edited in place
    /// (comments, blank lines, order and includes kept); secrets redacted.
    pub diff: Option<String>,
    /// Why the file is not edited in place: `lines` is then a complete
    /// proposed file without the current file's comments.
    pub not_in_place_reason: Option<String>,
    /// SHA-256 of the file an in-place edit started from: applying refuses
    /// when the file changed since.
    pub edited_sha256: Option<String>,
}

/// Exactly what applying would do; nothing has run yet.
#[derive(Debug, Clone)]
pub struct Preview {
    pub action: Action,
    pub check_id: String,
    pub title: String,
    /// The check's state now (from the preview's own scan).
    pub before: Evidence,
    /// The check's plan as built from that scan (needs, note, classes).
    pub plan: FixPlan,
    /// The statements in the order they will run.
    pub steps: Vec<PlannedStep>,
    /// What will undo it (captured from the server now); empty when it
    /// cannot be undone.
    pub rollback: Vec<Statement>,
    pub config_file: Option<ConfigFilePreview>,
    /// Non-empty: type [`Preview::database`] to confirm.
    pub high_impact: Vec<String>,
    /// Non-empty: it cannot be applied.
    pub refusals: Vec<Refusal>,
    pub irreversible: bool,
    /// The database name to type for high-impact fixes.
    pub database: String,
    pub added_libraries: Vec<String>,
    pub notes: Vec<String>,
    /// For a rollback: the entry it undoes.
    pub original: Option<Box<ChangeLogEntry>>,
    /// Declared prerequisites that are not in place yet (check ids): the
    /// server would refuse this fix until they are.
    pub needs_first: Vec<String>,
    /// Those prerequisites take effect only after a restart.
    pub restart_between: bool,
    pub(super) snapshot: Snapshot,
    pub(super) context: SessionContext,
    pub(super) compensation: BTreeMap<String, Statement>,
    pub(super) configured_libraries: Option<Vec<String>>,
}

impl ConfigFilePreview {
    /// The lines to show: secret option values (ldapbindpasswd,
    /// radiussecrets) replaced by a marker.
    pub fn shown_lines(&self) -> Vec<String> {
        config_file::redact_secrets(&self.lines, MASK)
    }
}

impl Preview {
    /// True when the guards allow applying it.
    pub fn can_apply(&self) -> bool {
        self.refusals.is_empty()
    }

    /// "needs TLS-001 first", or `None` when nothing is missing.
    pub fn prerequisites_text(&self) -> Option<String> {
        if self.needs_first.is_empty() {
            return None;
        }
        Some(format!(
            "needs {} first{}",
            self.needs_first.join(" and "),
            if self.restart_between {
                ", and a server restart after it"
            } else {
                ""
            }
        ))
    }

    /// True when the DBA must type the database name.
    pub fn needs_typed_database(&self) -> bool {
        !self.high_impact.is_empty()
    }

    /// The statements that run now (deferred ones excluded).
    pub fn statements(&self) -> Vec<&Statement> {
        self.steps
            .iter()
            .filter(|s| s.kind != StepKind::AfterRestart)
            .map(|s| &s.sql)
            .collect()
    }

    /// How the fix takes effect, in a sentence or two.
    pub fn effect_text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(cfg) = &self.config_file {
            parts.push(format!(
                "config-file edit of {}: checked by the server ({}) before the reload; \
                 pgSafeguard writes it with a backup copy{}",
                cfg.path,
                if cfg.file == "ident_file" {
                    "pg_ident_file_mappings"
                } else {
                    "pg_hba_file_rules"
                },
                match &cfg.not_writable_reason {
                    Some(reason) => format!(" only on the database host ({reason})"),
                    None => " or you save it yourself".into(),
                }
            ));
        }
        let restart: Vec<&str> = self
            .steps
            .iter()
            .filter(|s| s.restart)
            .filter_map(|s| s.parameter.as_deref())
            .collect();
        if !restart.is_empty() || self.plan.apply.contains(&ApplyClass::Restart) {
            parts.push(format!(
                "needs a server restart{}: shows as pending restart until then",
                if restart.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", restart.join(", "))
                }
            ));
        }
        if self.steps.iter().any(|s| s.kind == StepKind::AlterSystem) {
            parts.push("the server re-reads its configuration right after (pg_reload_conf)".into());
        }
        if self.steps.iter().any(|s| s.kind == StepKind::Transaction) {
            parts.push("takes effect when its transaction commits".into());
        }
        let deferred: Vec<String> = self
            .steps
            .iter()
            .filter(|s| s.kind == StepKind::AfterRestart)
            .map(|s| s.sql.to_string())
            .collect();
        if !deferred.is_empty() {
            parts.push(format!(
                "after the restart, apply {} again to run: {}",
                self.check_id,
                deferred.join("; ")
            ));
        }
        if parts.is_empty() {
            "nothing runs".into()
        } else {
            parts.join("; ")
        }
    }

    /// The preview as text (the CLI prints it; the GUI may show it as is).
    pub fn render_text(&self) -> String {
        let verb = match self.action {
            Action::Apply => "Fix",
            Action::Rollback => "Rollback of",
        };
        // Server strings (evidence, names inside statements, paths, messages)
        // are shown through `untrusted`: one line each, nothing that drives a terminal.
        let mut text = format!("{verb} {} — {}\n", self.check_id, self.title);
        text.push_str(&format!(
            "Now: {}: {}\n",
            self.before.status,
            untrusted::text(&self.before.evidence)
        ));
        if let Some(original) = &self.original {
            text.push_str(&format!("Undoes: {}\n", original.summary()));
        }
        if let Some(needs) = self.prerequisites_text() {
            text.push_str(&format!(
                "Prerequisites: {needs} (apply them first, or add --with-prerequisites)\n"
            ));
        }
        if !self.steps.is_empty() {
            text.push_str("Statements, in the order they run:\n");
            for step in &self.steps {
                text.push_str(&format!(
                    "  {};{}\n",
                    untrusted::text(&step.sql.to_string()),
                    step_comment(step)
                ));
            }
        }
        if let Some(cfg) = &self.config_file {
            match &cfg.diff {
                Some(diff) => {
                    text.push_str(&format!(
                        "Changes to {} ({}), edited in place: comments, blank lines and order \
                         are kept:\n",
                        untrusted::name(&cfg.path),
                        cfg.file
                    ));
                    for line in diff.lines() {
                        text.push_str(&format!("  {}\n", untrusted::text(line)));
                    }
                }
                None => {
                    text.push_str(&format!(
                        "New {} ({}):\n",
                        untrusted::name(&cfg.path),
                        cfg.file
                    ));
                    for line in cfg.shown_lines() {
                        text.push_str(&format!("  {}\n", untrusted::text(&line)));
                    }
                    if let Some(reason) = cfg
                        .not_in_place_reason
                        .as_ref()
                        .filter(|_| cfg.file == "hba_file" && cfg.restore_from.is_none())
                    {
                        text.push_str(&format!(
                            "Comments and blank lines of the current file could not be kept \
                             ({}): review before saving\n",
                            untrusted::text(reason)
                        ));
                    }
                }
            }
            text.push_str(&format!("Validation: {}\n", untrusted::text(&cfg.validate)));
        }
        text.push_str(&format!("Effect: {}\n", self.effect_text()));
        if self.action == Action::Apply {
            if self.rollback.is_empty() && self.config_file.is_none() {
                text.push_str("Rollback: none — this fix cannot be undone\n");
            } else if self.config_file.is_some() {
                text.push_str("Rollback: put the backup copy back and reload\n");
            } else {
                text.push_str("Rollback:\n");
                for statement in &self.rollback {
                    text.push_str(&format!("  {};\n", untrusted::text(&statement.to_string())));
                }
            }
        }
        if !self.plan.needs.is_empty() {
            text.push_str(&format!("Needs: {}\n", untrusted::text(&self.plan.needs)));
        }
        if !self.plan.note.is_empty() {
            text.push_str(&format!("Note: {}\n", untrusted::text(&self.plan.note)));
        }
        for note in &self.notes {
            text.push_str(&format!("Note: {}\n", untrusted::text(note)));
        }
        if self.irreversible {
            text.push_str("IRREVERSIBLE: this fix cannot be fully undone\n");
        }
        for reason in &self.high_impact {
            text.push_str(&format!("High impact: {}\n", untrusted::text(reason)));
        }
        for refusal in &self.refusals {
            text.push_str(&format!("Refused: {}\n", untrusted::text(&refusal.message)));
        }
        text
    }
}

fn step_comment(step: &PlannedStep) -> &'static str {
    match step.kind {
        StepKind::Load => "  -- makes the library's settings known to this session",
        StepKind::AlterSystem if step.restart => "  -- outside a transaction; needs a restart",
        StepKind::AlterSystem => "  -- outside a transaction",
        StepKind::Reload => "",
        StepKind::Transaction => "  -- in the fix's transaction",
        StepKind::AfterRestart => "  -- NOT run now: after the restart",
    }
}

pub(super) fn already(status: Status) -> String {
    match status {
        Status::Pass => "already passes".into(),
        Status::NotApplicable => "does not apply to this server".into(),
        Status::Attested => "is attested".into(),
        other => format!("is {other}"),
    }
}

pub(super) fn today(snapshot: &Snapshot) -> String {
    snapshot.collected_at.get(..10).unwrap_or("").to_string()
}

pub(super) fn evidence_of(finding: &Finding, snapshot: &Snapshot) -> Evidence {
    Evidence {
        status: finding.status,
        evidence: finding.evidence.clone(),
        collected_at: snapshot.collected_at.clone(),
    }
}

pub(super) fn empty_preview(
    action: Action,
    finding: &Finding,
    snapshot: Snapshot,
    context: SessionContext,
) -> Preview {
    Preview {
        action,
        check_id: finding.id.clone(),
        title: finding.title.clone(),
        before: evidence_of(finding, &snapshot),
        plan: FixPlan::default(),
        steps: Vec::new(),
        rollback: Vec::new(),
        config_file: None,
        high_impact: Vec::new(),
        refusals: Vec::new(),
        irreversible: false,
        database: context.facts.database.clone(),
        added_libraries: Vec::new(),
        notes: Vec::new(),
        original: None,
        needs_first: Vec::new(),
        restart_between: false,
        snapshot,
        context,
        compensation: BTreeMap::new(),
        configured_libraries: None,
    }
}

/// Guards, high-impact reasons and the prepared steps into the preview.
pub(super) fn finish_preview(preview: &mut Preview, prepared: prepare::Prepared) {
    let statements: Vec<Statement> = prepared.steps.iter().map(|s| s.sql.clone()).collect();
    preview.refusals.extend(prepared.refusals);
    preview.refusals.extend(guards::role_refusals(
        &preview.snapshot,
        &preview.context,
        &statements,
        &today(&preview.snapshot),
    ));
    if let Some(cfg) = &preview.config_file {
        if cfg.file == "hba_file" {
            preview.refusals.extend(proposed_hba_refusal(preview, cfg));
        }
    }
    let mut restart = prepared.restart_settings.clone();
    if restart.is_empty() && preview.plan.apply.contains(&ApplyClass::Restart) {
        restart.push("see the plan".into());
    }
    preview.high_impact = guards::high_impact_reasons(
        &preview.context,
        &statements,
        &restart,
        preview.config_file.as_ref().map(|c| c.file.as_str()),
    );
    let mut steps = prepared.steps;
    let reloads =
        steps.iter().any(|s| s.kind == StepKind::AlterSystem) || preview.config_file.is_some();
    if reloads {
        let at = steps
            .iter()
            .position(|s| s.kind == StepKind::AfterRestart)
            .unwrap_or(steps.len());
        steps.insert(
            at,
            PlannedStep {
                sql: Statement::other(run::RELOAD_SQL),
                kind: StepKind::Reload,
                parameter: None,
                restart: false,
            },
        );
    }
    preview.steps = steps;
    preview.compensation = prepared.compensation;
    preview.added_libraries = prepared.added_libraries;
    preview.configured_libraries = prepared.configured_libraries;
    preview.notes.extend(prepared.notes);
}

/// The lockout guard on the proposed lines, as far as they can be read
/// here (the server's reading after saving is checked again).
fn proposed_hba_refusal(preview: &Preview, cfg: &ConfigFilePreview) -> Option<Refusal> {
    // The complete proposal holds the same rules as an in-place edit, in a
    // form that reads back without include directives or continuations.
    let lines = match &preview.plan.config_edit {
        Some(edit) if preview.action == Action::Apply => &edit.lines,
        _ => &cfg.lines,
    };
    let after = config_file::parse_hba_lines(lines)?;
    let before = preview.snapshot.hba_rules.as_deref()?;
    guards::hba_refusal(&preview.snapshot, &preview.context, before, &after)
}

pub(super) fn config_preview(snapshot: &Snapshot, edit: &ConfigEdit) -> ConfigFilePreview {
    let path = snapshot
        .setting(&edit.file)
        .and_then(|s| s.setting.clone())
        .unwrap_or_default();
    let (lines, diff, edited_sha256, not_in_place_reason) =
        match edit_where_it_stands(snapshot, &path, edit) {
            Ok(InPlace {
                lines,
                diff,
                sha256,
            }) => (lines, Some(diff), Some(sha256), None),
            Err(reason) => (edit.lines.clone(), None, None, Some(reason)),
        };
    let incomplete = config_file::incomplete_lines(&lines, MASK);
    let not_writable_reason = if path.is_empty() {
        Some(format!("the scan could not read {}", edit.file))
    } else if snapshot.host.is_none() {
        Some("pgSafeguard does not run on the database host".into())
    } else if !incomplete.is_empty() {
        Some(format!(
            "the proposal has lines to complete by hand: {}",
            incomplete.join(" | ")
        ))
    } else {
        config_file::not_writable_reason(Path::new(&path))
    };
    ConfigFilePreview {
        file: edit.file.clone(),
        path,
        lines,
        not_writable_reason,
        validate: edit.validate.clone(),
        restore_from: None,
        diff,
        not_in_place_reason,
        edited_sha256,
    }
}

struct InPlace {
    lines: Vec<String>,
    diff: String,
    sha256: String,
}

/// The pg_hba.conf on this machine with the fix's rule edits applied in
/// place, or why not.
fn edit_where_it_stands(
    snapshot: &Snapshot,
    path: &str,
    edit: &ConfigEdit,
) -> Result<InPlace, String> {
    if edit.file != "hba_file" || edit.rule_edits.is_empty() {
        return Err("only pg_hba.conf rule edits are made in place".into());
    }
    if path.is_empty() {
        return Err(format!("the scan could not read {}", edit.file));
    }
    if snapshot.host.is_none() {
        return Err("pgSafeguard does not run on the database host".into());
    }
    let unreadable = snapshot
        .hba_rules
        .as_deref()
        .unwrap_or(&[])
        .iter()
        .filter(|r| r.error.is_some())
        .count();
    if unreadable > 0 {
        // The complete proposal comments those lines out; in place they would stay.
        return Err(format!(
            "the server could not read {unreadable} line(s) of it (AUTH-009)"
        ));
    }
    let current = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let lines = in_place::edit_in_place(&current, path, &edit.rule_edits)?;
    let shown = |text: &str| {
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        config_file::text_of(&config_file::redact_secrets(&lines, MASK))
    };
    let diff = in_place::unified_diff(
        path,
        &shown(&current),
        &shown(&config_file::text_of(&lines)),
    );
    Ok(InPlace {
        lines,
        diff,
        sha256: config_file::sha256_hex(current.as_bytes()),
    })
}

pub(super) fn restore_preview(
    snapshot: &Snapshot,
    record: &ConfigFileRecord,
) -> Result<ConfigFilePreview, ApplyError> {
    let not_rollbackable = |why: String| ApplyError::NotRollbackable {
        id: record.path.clone(),
        why,
    };
    let Some(backup) = &record.backup_path else {
        return Err(not_rollbackable(
            "you saved that file yourself: put your copy back and reload".into(),
        ));
    };
    let lines = config_file::read_lines(Path::new(backup))
        .map_err(|e| not_rollbackable(format!("the backup copy is gone ({e})")))?;
    let not_writable_reason = if snapshot.host.is_none() {
        Some("pgSafeguard does not run on the database host".into())
    } else {
        config_file::not_writable_reason(Path::new(&record.path))
    };
    Ok(ConfigFilePreview {
        file: record.file.clone(),
        path: record.path.clone(),
        lines,
        not_writable_reason,
        validate: "the server reads the restored file back before the reload".into(),
        restore_from: Some(backup.clone()),
        diff: None,
        not_in_place_reason: None,
        edited_sha256: None,
    })
}
