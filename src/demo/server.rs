//! The demo's server process: started directly (not via pg_ctl) by one
//! long-lived supervisor thread, which also stops and restarts it.
//!
//! Why a thread of its own: the server gets `PR_SET_PDEATHSIG = SIGQUIT`,
//! and Linux sends that signal when the *thread* that spawned the child
//! exits. A tokio blocking thread may exit whenever it idles, which would
//! stop the demo; this thread lives exactly as long as the demo. If the app
//! dies, every thread dies, and the server shuts down at once.
//!
//! This is the only place in the crate with `unsafe`: the `pre_exec` hook
//! that sets the death signal, allowed on that one function with its SAFETY
//! reason. The system calls themselves go through `rustix`.

use super::binaries::{PgBinaries, ServerUser};
use super::owner::DemoFolder;
use super::DemoError;
use rustix::io::Errno;
use rustix::process::{self, Pid};
use std::fs::{self, OpenOptions};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

pub use rustix::process::Signal;

/// How long the demo server may take to accept connections.
pub const START_LIMIT: Duration = Duration::from_secs(60);
/// How long a fast shutdown may take before an immediate one.
const STOP_LIMIT: Duration = Duration::from_secs(30);

/// Sends `signal` to `pid`; false when there is no such process.
pub fn send_signal(pid: u32, signal: Signal) -> bool {
    let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return false;
    };
    process::kill_process(pid, signal).is_ok()
}

/// Makes the child receive SIGQUIT when the spawning thread exits.
#[allow(unsafe_code)] // the crate's one `unsafe`: see the SAFETY note
fn die_with_parent(command: &mut Command) {
    let parent = process::getpid();
    // SAFETY: the hook runs in the forked child before exec (after std's
    // setgid/setuid, which would clear the death signal if they came later)
    // and makes only two system calls (prctl, getppid), which are
    // async-signal-safe; it allocates nothing (an `Errno` converts to
    // `io::Error` without allocating).
    unsafe {
        command.pre_exec(move || {
            process::set_parent_process_death_signal(Some(Signal::QUIT))?;
            // The app may have died between fork and prctl.
            if process::getppid() != Some(parent) {
                return Err(Errno::SRCH.into());
            }
            Ok(())
        });
    }
}

/// What the server needs to run.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    pub binaries: PgBinaries,
    pub user: ServerUser,
    pub folder: DemoFolder,
    /// How long the server may take to accept connections ([`START_LIMIT`]
    /// for the demo; a restore drill waits for recovery, which takes longer).
    pub start_limit: Duration,
}

impl ServerSpec {
    /// A server program, run as the server's OS user from the demo folder,
    /// without the developer's PG* variables, dying with its spawning thread.
    pub fn command(&self, program: &str) -> Command {
        self.command_for(&self.binaries.program(program))
    }

    /// [`ServerSpec::command`] for a program outside the server's bindir
    /// (the restore drill's `tar` and `pgbackrest`).
    pub fn command_for(&self, program: &std::path::Path) -> Command {
        let mut command = Command::new(program);
        if self.user.is_switched() {
            command.uid(self.user.uid).gid(self.user.gid);
        }
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("PG") {
                command.env_remove(name);
            }
        }
        command.current_dir(&self.folder.root).stdin(Stdio::null());
        die_with_parent(&mut command);
        command
    }

    /// The last lines of the server log that say what went wrong, on one line.
    pub fn log_tail(&self) -> String {
        let log = fs::read_to_string(&self.folder.server_log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
        let telling: Vec<&str> = lines
            .iter()
            .rev()
            .filter(|l| l.contains("FATAL") || l.contains("ERROR") || l.contains("PANIC"))
            .take(2)
            .copied()
            .collect();
        let chosen = if telling.is_empty() {
            lines.iter().rev().take(2).copied().collect()
        } else {
            telling
        };
        let mut chosen: Vec<&str> = chosen.into_iter().map(str::trim).collect();
        chosen.reverse();
        format!(
            "{} (log: {})",
            chosen.join(" / "),
            self.folder.server_log.display()
        )
    }
}

/// A running postmaster, a child of the supervisor thread.
struct Server {
    child: Child,
}

impl Server {
    fn start(spec: &ServerSpec) -> Result<Server, DemoError> {
        let failed = |detail: String| DemoError::Start { detail };
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.folder.server_log)
            .map_err(|e| failed(format!("cannot write the server log: {e}")))?;
        let log_err = log
            .try_clone()
            .map_err(|e| failed(format!("cannot write the server log: {e}")))?;
        let mut postgres = spec.command("postgres");
        postgres.arg("-D").arg(&spec.folder.data);
        postgres.stdout(log).stderr(log_err);
        let child = postgres
            .spawn()
            .map_err(|e| failed(format!("cannot run postgres: {e}")))?;
        let mut server = Server { child };
        server.wait_ready(spec)?;
        Ok(server)
    }

    /// Polls postmaster.pid until this child says "ready" (PG 10+).
    fn wait_ready(&mut self, spec: &ServerSpec) -> Result<(), DemoError> {
        let deadline = Instant::now() + spec.start_limit;
        let pid = self.child.id().to_string();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(DemoError::Start {
                    detail: format!("postgres exited ({status}): {}", spec.log_tail()),
                });
            }
            let pid_file =
                fs::read_to_string(spec.folder.data.join("postmaster.pid")).unwrap_or_default();
            let lines: Vec<&str> = pid_file.lines().map(str::trim).collect();
            if lines.first() == Some(&pid.as_str()) && lines.get(7) == Some(&"ready") {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.stop();
                return Err(DemoError::Start {
                    detail: format!(
                        "not ready after {:?}: {}",
                        spec.start_limit,
                        spec.log_tail()
                    ),
                });
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Fast shutdown; immediate, then SIGKILL, if it hangs. Reaps the child.
    fn stop(&mut self) {
        self.stop_with(&[
            (Signal::INT, STOP_LIMIT),
            (Signal::QUIT, Duration::from_secs(5)),
        ]);
    }

    /// Immediate shutdown (no checkpoint), then SIGKILL. Reaps the child.
    fn stop_immediately(&mut self) {
        self.stop_with(&[(Signal::QUIT, Duration::from_secs(5))]);
    }

    fn stop_with(&mut self, signals: &[(Signal, Duration)]) {
        for &(signal, limit) in signals {
            send_signal(self.child.id(), signal);
            let deadline = Instant::now() + limit;
            while Instant::now() < deadline {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    return;
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Reply = Box<dyn FnOnce(Result<(), DemoError>) + Send>;

enum Control {
    Restart(Reply),
    Stop(Reply),
    /// Stop without a checkpoint: the data directory is thrown away next.
    Discard(Reply),
}

/// The handle of a supervisor thread and its server.
pub struct Supervisor {
    commands: mpsc::Sender<Control>,
    thread: JoinHandle<()>,
}

impl Supervisor {
    /// Starts the thread and the server; returns once it accepts connections.
    pub fn spawn(spec: ServerSpec) -> Result<Supervisor, DemoError> {
        let (commands, inbox) = mpsc::channel();
        let (started_tx, started) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("pgsafeguard-demo".into())
            .spawn(move || supervise(&spec, started_tx, inbox))
            .map_err(|e| DemoError::Start {
                detail: format!("cannot start the supervisor thread: {e}"),
            })?;
        let first = started.recv().unwrap_or(Err(DemoError::Stopped));
        match first {
            Ok(()) => Ok(Supervisor { commands, thread }),
            Err(e) => {
                let _ = thread.join();
                Err(e)
            }
        }
    }

    /// Stops and starts the server again; blocks until it is ready.
    pub fn restart(&self) -> Result<(), DemoError> {
        let (tx, rx) = mpsc::channel();
        self.send(Control::Restart(Box::new(move |r| {
            let _ = tx.send(r);
        })))?;
        rx.recv().unwrap_or(Err(DemoError::Stopped))
    }

    /// Asks for a restart; the answer arrives on the returned channel (for
    /// async callers, who must not block).
    pub fn request_restart(
        &self,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<(), DemoError>>, DemoError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(Control::Restart(Box::new(move |r| {
            let _ = tx.send(r);
        })))?;
        Ok(rx)
    }

    /// Stops the server and ends the thread.
    pub fn stop(self) {
        self.end(Control::Stop);
    }

    /// Stops the server at once, without the shutdown checkpoint, and ends
    /// the thread: for a copy whose data directory is removed next (the
    /// restore drill), where writing back every dirty page is wasted time.
    pub fn discard(self) {
        self.end(Control::Discard);
    }

    fn end(self, control: fn(Reply) -> Control) {
        let (tx, rx) = mpsc::channel();
        if self
            .send(control(Box::new(move |r| {
                let _ = tx.send(r);
            })))
            .is_ok()
        {
            let _ = rx.recv();
        }
        let _ = self.thread.join();
    }

    fn send(&self, control: Control) -> Result<(), DemoError> {
        self.commands.send(control).map_err(|_| DemoError::Stopped)
    }
}

fn supervise(
    spec: &ServerSpec,
    started: mpsc::Sender<Result<(), DemoError>>,
    inbox: mpsc::Receiver<Control>,
) {
    let mut server = match Server::start(spec) {
        Ok(server) => Some(server),
        Err(e) => {
            let _ = started.send(Err(e));
            return;
        }
    };
    let _ = started.send(Ok(()));
    loop {
        // Every message, and a closed channel (the handle was dropped), first
        // stops the running server.
        let control = inbox.recv();
        if let Some(mut running) = server.take() {
            match control {
                Ok(Control::Discard(_)) => running.stop_immediately(),
                _ => running.stop(),
            }
        }
        match control {
            Ok(Control::Restart(reply)) => match Server::start(spec) {
                Ok(restarted) => {
                    server = Some(restarted);
                    reply(Ok(()));
                }
                Err(e) => reply(Err(e)),
            },
            Ok(Control::Stop(reply)) | Ok(Control::Discard(reply)) => {
                reply(Ok(()));
                return;
            }
            Err(_) => return,
        }
    }
}
