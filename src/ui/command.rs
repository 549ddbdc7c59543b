//! The command vocabulary: what a widget asks the App to do.
//!
//! Drawing code pushes [`Command`]s into the frame's list instead of changing
//! state; `App::execute` runs them after the frame, in order, and is the one
//! place that acts on them. May import the model, `policy`, the store's
//! target identity, `jobs` (for [`CertSlot`]) and `prove`; never drawing code
//! or the App.

use super::jobs::CertSlot;
use super::prove::ProveScope;
use crate::model::finding::{Attestation, Section};
use crate::policy::PolicyAcceptedRisk;
use crate::store::target::TargetIdentity;

/// What a widget asks for. Executed after the frame, in order.
#[must_use]
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    GoToStart,
    ShowOverview,
    ShowSection(Section),
    SelectCheck(String),
    /// Move the selection in the current section's list (arrow keys).
    MoveSelection(isize),
    Connect,
    /// Start (or rescan) the live demo; the offline sample without PostgreSQL.
    TryDemo,
    /// Stop, delete and rebuild the demo, then scan it.
    ResetDemo,
    CancelScan,
    /// Rescan the live server; `Some` returns to that section afterwards.
    Rescan(Option<Section>),
    UseProfile(String),
    SaveProfile,
    DeleteProfile(String),
    PickCertificate(CertSlot),
    Attest {
        id: String,
        attestation: Attestation,
    },
    WithdrawAttestation(String),
    /// Open the "Accept risk…" form of a failing check.
    OpenAcceptForm(String),
    CloseAcceptForm(String),
    /// Write this acceptance into the policy file, then re-evaluate.
    AcceptRisk(PolicyAcceptedRisk),
    /// Show what probing would do ("Prove it", "Prove this section").
    Prove(ProveScope),
    /// Run the probes the prompt shows; `insecure` overrides a refusal.
    ConfirmProve {
        insecure: bool,
    },
    CancelProve,
    SetNote {
        id: String,
        text: String,
    },
    /// Put text on the clipboard; `what` names it in the confirmation.
    Copy {
        what: String,
        text: String,
    },
    SaveFixSql(String),
    SaveSession,
    SaveSessionAs,
    OpenSession,
    /// Open the export dialog (its options, then the file dialog).
    Export,
    /// Export with the dialog's options.
    ConfirmExport,
    CancelExport,
    ToggleTheme,
    /// Switch training mode (remembered in the preferences).
    ToggleTraining,
    DismissNotice,
    /// Preview a check's fix on the server, then open the confirmation.
    PreviewApply(String),
    /// Preview the undo of a change-log entry (by entry id).
    PreviewRollback(String),
    /// Apply what the open confirmation shows.
    ConfirmApply,
    CloseApplyDialog,
    ShowChangeLog,
    /// Plan the fixes of a section's failing checks (`None`: every section).
    OpenPlan(Option<Section>),
    TogglePlanStep(String),
    /// Apply the ticked steps of the open plan.
    ApplyPlan,
    /// Continue the plan after the restart it stopped for.
    ResumePlan,
    /// Stop the running plan before its next step.
    CancelPlan,
    ClosePlan,
    /// The History page of the evidence store.
    ShowHistory,
    /// Read the store again (another program may have recorded since).
    ReloadHistory,
    /// Show another target's history.
    ChooseHistoryTarget(TargetIdentity),
    /// Open recorded scan `seq` read-only.
    OpenRecordedScan(u64),
    /// Close the recorded scan and return to what was open before.
    BackToLive,
    /// Check the evidence store's hash chain.
    VerifyChain,
    /// The Fleet page (many servers from an inventory).
    ShowFleet,
    /// Ask for an inventory or service file and scan every target.
    OpenFleetInventory,
    /// Ask where to save the finished fleet run's signed PDF, and write it.
    ExportFleetReport,
    /// Open a scanned target of the fleet, at a section (`None`: its overview).
    OpenFleetTarget {
        name: String,
        section: Option<Section>,
    },
    /// Run the restore drill the backup section's form describes.
    StartDrill,
    CancelDrill,
}

impl Command {
    /// Whether the command changes the open results or the server, or
    /// writes them out: refused while a recorded scan is shown read-only.
    pub fn changes_results(&self) -> bool {
        matches!(
            self,
            Command::Rescan(_)
                | Command::ResetDemo
                | Command::Attest { .. }
                | Command::WithdrawAttestation(_)
                | Command::OpenAcceptForm(_)
                | Command::AcceptRisk(_)
                | Command::Prove(_)
                | Command::ConfirmProve { .. }
                | Command::SetNote { .. }
                | Command::SaveSession
                | Command::SaveSessionAs
                | Command::Export
                | Command::ConfirmExport
                | Command::PreviewApply(_)
                | Command::PreviewRollback(_)
                | Command::ConfirmApply
                | Command::OpenPlan(_)
                | Command::ApplyPlan
                | Command::ResumePlan
        )
    }
}
