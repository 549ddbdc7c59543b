//! The apply/rollback confirmation as state: the preview it shows, what that
//! preview demands before "Apply" is enabled ([`ConfirmGate`], pure, so it is
//! tested without a server), what the DBA entered ([`ConfirmForm`]) and where
//! the dialog is ([`DialogStage`]).
//!
//! `apply_ui` draws it; the App opens it, moves its stage and hands the
//! confirmation to the applier. May import `apply`; never drawing code or
//! the App.

use crate::apply::{Action, ChangeLogEntry, ConfigFileAction, Confirmation, Preview};

/// What the DBA must do before "Apply" is enabled, taken from a preview.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfirmGate {
    /// Why the guards refuse it; non-empty means it cannot be applied.
    pub refusals: Vec<String>,
    /// The database name to type, for high-impact fixes.
    pub typed_database: Option<String>,
    /// The fix cannot be undone: an explicit checkbox.
    pub irreversible: bool,
    /// A config-file fix: the DBA chooses who writes the file.
    pub config_file: bool,
}

/// What the DBA entered in the modal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfirmForm {
    pub typed: String,
    pub accept_irreversible: bool,
    pub config_file: ConfigFileAction,
}

impl ConfirmGate {
    pub fn from_preview(preview: &Preview) -> ConfirmGate {
        ConfirmGate {
            refusals: preview.refusals.iter().map(|r| r.message.clone()).collect(),
            typed_database: preview
                .needs_typed_database()
                .then(|| preview.database.clone()),
            irreversible: preview.irreversible,
            config_file: preview.config_file.is_some() && preview.action == Action::Apply,
        }
    }

    /// True when the form satisfies every requirement.
    pub fn allows(&self, form: &ConfirmForm) -> bool {
        self.refusals.is_empty()
            && self
                .typed_database
                .as_deref()
                .is_none_or(|db| form.typed == db)
            && (!self.irreversible || form.accept_irreversible)
            && (!self.config_file || form.config_file != ConfigFileAction::NotChosen)
    }

    /// The confirmation handed to the applier (which checks it again).
    pub fn confirmation(&self, form: &ConfirmForm) -> Confirmation {
        let mut confirmation = Confirmation::yes().config_file(form.config_file);
        if self.typed_database.is_some() {
            confirmation = confirmation.typing_database(&form.typed);
        }
        if form.accept_irreversible {
            confirmation = confirmation.accepting_irreversible();
        }
        confirmation
    }
}

/// Where the modal is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogStage {
    /// Waiting for the DBA.
    Confirm,
    /// The apply runs on the runtime.
    Applying,
    /// Applied on the live demo; the app restarts the demo and verifies.
    Settling,
    /// Done: the entry's summary and evidence.
    Applied(Box<ChangeLogEntry>),
    /// The server's error (or why it was not applied), in one line.
    Failed(String),
}

impl DialogStage {
    /// Work is running: the dialog cannot be closed.
    pub fn is_running(&self) -> bool {
        matches!(self, DialogStage::Applying | DialogStage::Settling)
    }
}

/// The open confirmation modal.
pub struct ApplyDialog {
    pub preview: Box<Preview>,
    pub gate: ConfirmGate,
    pub form: ConfirmForm,
    pub stage: DialogStage,
}

impl ApplyDialog {
    pub fn new(preview: Preview) -> ApplyDialog {
        ApplyDialog {
            gate: ConfirmGate::from_preview(&preview),
            preview: Box::new(preview),
            form: ConfirmForm::default(),
            stage: DialogStage::Confirm,
        }
    }
}
