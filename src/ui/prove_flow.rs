//! "Prove it" as the App sees it: the confirmation that shows what the
//! probes leave behind on the server (and, on a connection that did not
//! verify the server, the refusal with its explicit "probe anyway"), then a
//! rescan of the live server with those probes as a background scan job,
//! whose findings carry the proofs.
//!
//! Only a live connection (a server or the live demo) can be probed: never a
//! recorded scan, a saved session or the offline sample.
//!
//! A part of the App kept in its own file (an `impl App` block): it imports
//! `app`, and nothing imports it.

use super::app::App;
use super::prove::{tally_text, ProvePrompt, ProveScope};
use super::state::ScanKind;
use super::theme::NoticeKind;
use crate::scan::{probe_refusal, ProbeOptions, ScanOptions};

impl App {
    /// True when "Prove it" can run: a live connection, no recorded scan on
    /// screen, no scan running.
    pub fn can_prove(&self) -> bool {
        self.can_apply() && self.scan.is_none()
    }

    /// The "Prove it" confirmation, if open.
    pub fn prove_prompt(&self) -> Option<&ProvePrompt> {
        self.prove_prompt.as_ref()
    }

    pub(super) fn prove(&mut self, scope: ProveScope) {
        let Some(params) = self.live.as_ref().filter(|_| self.can_prove()) else {
            self.notify(
                NoticeKind::Info,
                "proving needs a live connection: connect to the server first",
            );
            return;
        };
        let probes = scope.probes();
        if probes.is_empty() {
            return;
        }
        let asked = ScanOptions {
            prove: Some(ProbeOptions {
                probes: probes.clone(),
                ..ProbeOptions::default()
            }),
            ..ScanOptions::default()
        };
        let refusal = probe_refusal(params, &asked);
        self.prove_prompt = Some(ProvePrompt {
            scope,
            probes,
            refusal,
        });
    }

    pub(super) fn confirm_prove(&mut self, insecure: bool) {
        let Some(prompt) = self.prove_prompt.take() else {
            return;
        };
        // A refused connection goes on only when the user chose "anyway".
        if prompt.refusal.is_some() && !insecure {
            self.prove_prompt = Some(prompt);
            return;
        }
        let Some(params) = self.live.clone().filter(|_| self.can_prove()) else {
            return;
        };
        let options = ProbeOptions {
            probes: prompt.probes,
            insecure,
            phi_tables: self.policy.phi_tables.clone(),
            not_phi_tables: self.policy.not_phi_tables.clone(),
            ..ProbeOptions::default()
        };
        let section = prompt.scope.section();
        self.proving = Some(prompt.scope);
        self.start_scan_with(params, ScanKind::Prove(section), Some(options));
    }

    /// The probe scan's findings are in: say what the proofs showed.
    pub(super) fn on_proved(&mut self) {
        let Some(scope) = self.proving.take() else {
            return;
        };
        let shown: Vec<_> = self
            .findings()
            .iter()
            .filter(|f| match &scope {
                ProveScope::Check(id) => &f.id == id,
                ProveScope::Section(section) => f.section == *section,
            })
            .cloned()
            .collect();
        self.notify(NoticeKind::Success, tally_text(&scope, &shown));
        if let ProveScope::Check(id) = scope {
            self.selected = Some(id);
        }
    }
}
