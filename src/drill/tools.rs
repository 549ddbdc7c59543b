//! Running the drill's helper programs (pg_waldump, pg_controldata,
//! pg_checksums, tar, pgbackrest): as the server's OS user, dying with the
//! app (the demo's [`ServerSpec::command_for`]), stopped at once when the
//! drill is cancelled, their output captured in files of the throwaway
//! folder (no pipe to drain, so a chatty tool cannot block).

use super::{Cancel, DrillError};
use crate::demo::server::ServerSpec;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

/// One program and the context to run it in.
#[derive(Debug, Clone)]
pub struct Tool {
    pub program: PathBuf,
    /// Run as this process's user instead of the server's (tar over a
    /// backup only we can read; the copy is handed over afterwards).
    pub as_self: bool,
    spec: ServerSpec,
    cancel: Cancel,
}

/// What a finished tool printed.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Tool {
    /// A program of the server's bindir.
    pub fn server(spec: &ServerSpec, cancel: &Cancel, name: &str) -> Tool {
        Tool::at(spec, cancel, spec.binaries.program(name))
    }

    /// A program found elsewhere (tar, pgbackrest).
    pub fn at(spec: &ServerSpec, cancel: &Cancel, program: PathBuf) -> Tool {
        Tool {
            program,
            as_self: false,
            spec: spec.clone(),
            cancel: cancel.clone(),
        }
    }

    fn command(&self) -> Command {
        if self.as_self {
            // Same hygiene as the server's commands, without the user switch.
            let mut spec = self.spec.clone();
            spec.user.run_as = None;
            return spec.command_for(&self.program);
        }
        self.spec.command_for(&self.program)
    }

    fn name(&self) -> String {
        self.program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// Runs `tool` with `args` and waits, polling for cancellation.
pub fn run_tool<S: AsRef<std::ffi::OsStr>>(
    tool: &Tool,
    args: &[S],
) -> Result<ToolOutput, DrillError> {
    run_tool_in(tool, args, None)
}

/// [`run_tool`] with a working folder.
pub fn run_tool_in<S: AsRef<std::ffi::OsStr>>(
    tool: &Tool,
    args: &[S],
    dir: Option<&Path>,
) -> Result<ToolOutput, DrillError> {
    let name = tool.name();
    let scratch = &tool.spec.folder.root;
    let out_path = scratch.join(format!("{name}.out"));
    let err_path = scratch.join(format!("{name}.err"));
    let failed = |e: std::io::Error| DrillError::Tool {
        program: name.clone(),
        detail: e.to_string(),
    };
    let out = File::create(&out_path).map_err(failed)?;
    let err = File::create(&err_path).map_err(failed)?;
    let mut command = tool.command();
    command
        .args(args)
        .stdout(out)
        .stderr(err)
        .stdin(Stdio::null());
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let mut child = command.spawn().map_err(failed)?;
    let status = loop {
        if tool.cancel.is_cancelled() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(DrillError::Cancelled);
        }
        match child.try_wait().map_err(failed)? {
            Some(status) => break status,
            None => thread::sleep(Duration::from_millis(10)),
        }
    };
    let read = |path: &Path| {
        let bytes = fs::read(path).unwrap_or_default();
        let _ = fs::remove_file(path);
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Ok(ToolOutput {
        success: status.success(),
        stdout: read(&out_path),
        stderr: read(&err_path),
    })
}
