//! The command vocabulary: what a widget asks the App to do.
//!
//! Drawing code pushes [`Command`]s into the frame's list instead of changing
//! state; `App::execute` runs them after the frame, in order, and is the one
//! place that acts on them. May import the model and `jobs` (for
//! [`CertSlot`]); never drawing code or the App.

use super::jobs::CertSlot;
use crate::model::finding::{Attestation, Section};

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
    Export,
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
}
