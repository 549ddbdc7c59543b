//! The plan window's jobs: build a plan (a fresh scan with the apply
//! credentials), and run it step by step through
//! [`crate::apply::plan::PlanRun`], reporting progress and each change-log
//! entry as [`PlanEvent`]s. On the live demo, and only there, the job
//! restarts the server when the plan stops for the restart and resumes it.
//!
//! An `impl Jobs` block of its own; imports `jobs` and `plan_window`.

use super::jobs::{JobEvent, Jobs};
use super::plan_window::PlanEvent;
use crate::apply::plan::{self, PlanFiles, PlanRun, RunEnd, RunEvent, Selection};
use crate::apply::{Applier, ChangeLog};
use crate::demo::DemoCluster;
use crate::model::plan::PlanRecord;
use crate::model::untrusted;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

impl Jobs {
    /// Build the plan for `selection` on the runtime.
    pub fn build_plan(&self, applier: Applier, selection: Selection) -> Result<(), String> {
        let runtime = self.runtime_handle()?;
        let out = self.event_sender();
        runtime.spawn(async move {
            let result = plan::prepare(&applier, &selection)
                .await
                .map(Box::new)
                .map_err(|e| untrusted::one_line(&e.to_string()));
            out.send(JobEvent::Plan(PlanEvent::Built(result)));
        });
        Ok(())
    }

    /// Run (or resume) `record`, logging into the change log at `log` and
    /// keeping the plan file beside it. `demo`: the live demo, restarted
    /// when the plan stops for the restart.
    pub fn run_plan(
        &self,
        applier: Applier,
        mut record: PlanRecord,
        log: PathBuf,
        cancel: Arc<AtomicBool>,
        demo: Option<Arc<DemoCluster>>,
    ) -> Result<(), String> {
        let runtime = self.runtime_handle()?;
        let out = self.event_sender();
        runtime.spawn(async move {
            let log = ChangeLog::at(log);
            let files = PlanFiles::beside(log.path());
            let progress = out.clone();
            let mut events = move |event: RunEvent<'_>| {
                let event = match event {
                    RunEvent::Progress(line) => PlanEvent::Progress(untrusted::one_line(&line)),
                    RunEvent::Entry(entry) => PlanEvent::Entry(Box::new(entry.clone())),
                };
                progress.send(JobEvent::Plan(event));
            };
            let mut result = match files.save(&record) {
                Ok(_) => Ok(RunEnd::Finished),
                Err(e) => Err(e.to_string()),
            };
            if result.is_ok() {
                let mut run = PlanRun {
                    applier: &applier,
                    log: &log,
                    files: &files,
                    cancel: Some(&cancel),
                    events: &mut events,
                };
                result = run.run(&mut record).await.map_err(|e| e.to_string());
                if let (Ok(RunEnd::WaitingForRestart { .. }), Some(demo)) = (&result, &demo) {
                    (run.events)(RunEvent::Progress(
                        "restarting the demo server for the plan's restart".into(),
                    ));
                    result = match demo.restart_async().await {
                        Ok(()) => run.run(&mut record).await.map_err(|e| e.to_string()),
                        Err(e) => Err(format!("the demo did not restart: {e}")),
                    };
                }
            }
            out.send(JobEvent::Plan(PlanEvent::Ended {
                record: Box::new(record),
                result: result.map_err(|e| untrusted::one_line(&e)),
            }));
        });
        Ok(())
    }
}
