//! [`DemoCluster`]: one demo from start to removal, and the registry of live
//! demos that the Ctrl+C / SIGTERM path stops.

use super::binaries::{Discovery, ServerUser, SERVER_OS_USER};
use super::owner::{self, DemoFolder};
use super::seed::{self, CLINIC_DB};
use super::server::{ServerSpec, Supervisor, START_LIMIT};
use super::setup;
use super::{DemoError, DemoStage};
use crate::db::conninfo::{ConnParams, Password, SslMode};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

/// An app-owned throwaway cluster; see the module docs of [`super`].
///
/// `Send + Sync`: share it in an `Arc` between the GUI and its jobs.
/// Dropping it (or [`DemoCluster::stop`]) stops the server and removes the
/// folder.
pub struct DemoCluster {
    inner: Arc<Running>,
}

/// What a demo owns; shared with the registry (weakly).
struct Running {
    folder: DemoFolder,
    port: u16,
    password: Password,
    /// A throwaway pgcrypto key the demo session carries (`app.phi_key`),
    /// so the encryption fix (EAR-004) can be tried.
    phi_key: Password,
    supervisor: Mutex<Option<Supervisor>>,
}

impl DemoCluster {
    /// Blocking (seconds): remove stale demos, initdb, configure, start,
    /// seed. Call it from a thread that may block, such as `spawn_blocking`
    /// (not from async code: it runs its own small runtime for the seeding).
    pub fn start(progress: &mut dyn FnMut(DemoStage)) -> Result<DemoCluster, DemoError> {
        DemoCluster::start_with(&Discovery::from_env(), progress)
    }

    /// [`DemoCluster::start`] with the binaries `discovery` finds (tests
    /// hide them this way).
    pub fn start_with(
        discovery: &Discovery,
        progress: &mut dyn FnMut(DemoStage),
    ) -> Result<DemoCluster, DemoError> {
        let binaries = discovery.find()?;
        let user = ServerUser::find()?;
        progress(DemoStage::CleaningUp);
        let base = owner::base_dir(&user)?;
        owner::remove_stale(&base);
        let folder = owner::claim(&base, &user)?;
        // From here on, an error drops `demo`, which removes the folder.
        let demo = DemoCluster::register(Running {
            folder: folder.clone(),
            port: free_port(),
            password: Password::new(random_secret()?),
            phi_key: Password::new(random_secret()?),
            supervisor: Mutex::new(None),
        });
        let spec = ServerSpec {
            binaries,
            user,
            folder,
            start_limit: START_LIMIT,
        };
        progress(DemoStage::InitDb);
        setup::initdb(&spec, &demo.inner.password)?;
        progress(DemoStage::Configuring);
        setup::configure(&spec, demo.port())?;
        progress(DemoStage::Starting);
        *demo.inner.supervisor() = Some(Supervisor::spawn(spec)?);
        progress(DemoStage::Seeding);
        let admin = ConnParams {
            dbname: "postgres".into(),
            ..demo.conn_params()
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| DemoError::Program {
                program: "the seeding runtime".into(),
                detail: e.to_string(),
            })?;
        runtime.block_on(seed::seed(&admin, &random_secret()?))?;
        progress(DemoStage::Ready);
        Ok(demo)
    }

    fn register(running: Running) -> DemoCluster {
        let inner = Arc::new(running);
        let mut live = registry();
        live.retain(|demo| demo.strong_count() > 0);
        live.push(Arc::downgrade(&inner));
        DemoCluster { inner }
    }

    /// The admin login: the bootstrap superuser over the unix socket, to the
    /// `clinic` database, with the password (and the demo's pgcrypto key
    /// as `app.phi_key`) held only in memory.
    pub fn conn_params(&self) -> ConnParams {
        ConnParams {
            host: self.inner.folder.socket.to_string_lossy().into_owned(),
            hostaddr: None,
            port: self.inner.port,
            user: SERVER_OS_USER.into(),
            dbname: CLINIC_DB.into(),
            password: Some(self.inner.password.clone()),
            sslmode: SslMode::Disable,
            sslrootcert: None,
            sslcert: None,
            sslkey: None,
            application_name: None,
            connect_timeout: Some(Duration::from_secs(10)),
            options: Some(format!("-c app.phi_key={}", self.inner.phi_key.expose())),
        }
    }

    /// Restarts this demo's server and waits until it accepts connections.
    /// Blocking; it never touches another server.
    pub fn restart(&self) -> Result<(), DemoError> {
        match self.inner.supervisor().as_ref() {
            Some(supervisor) => supervisor.restart(),
            None => Err(DemoError::Stopped),
        }
    }

    /// [`DemoCluster::restart`] for async code: waits without blocking the
    /// runtime (the supervisor thread does the work).
    pub async fn restart_async(&self) -> Result<(), DemoError> {
        // Send the request under the lock; await the answer without it.
        let pending = match self.inner.supervisor().as_ref() {
            Some(supervisor) => supervisor.request_restart(),
            None => return Err(DemoError::Stopped),
        };
        pending?.await.unwrap_or(Err(DemoError::Stopped))
    }

    /// Stops the server and removes the folder (the same as dropping it).
    pub fn stop(self) {
        self.inner.shut_down();
    }

    pub fn data_dir(&self) -> &Path {
        &self.inner.folder.data
    }

    /// The demo's folder (data, socket and server log below it).
    pub fn root_dir(&self) -> &Path {
        &self.inner.folder.root
    }

    /// The server log (stdout and stderr of postgres).
    pub fn server_log(&self) -> &Path {
        &self.inner.folder.server_log
    }

    pub fn port(&self) -> u16 {
        self.inner.port
    }

    /// The postmaster's pid while the server runs.
    pub fn postmaster_pid(&self) -> Option<u32> {
        owner::postmaster_of(&self.inner.folder.data)
    }
}

/// Shows where the demo is, never its password or key.
impl std::fmt::Debug for DemoCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoCluster")
            .field("root", &self.inner.folder.root)
            .field("port", &self.inner.port)
            .field("running", &self.inner.supervisor().is_some())
            .finish()
    }
}

impl Drop for DemoCluster {
    fn drop(&mut self) {
        self.inner.shut_down();
    }
}

impl Running {
    fn supervisor(&self) -> MutexGuard<'_, Option<Supervisor>> {
        self.supervisor
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Idempotent: stop the server (if any), then remove the folder.
    fn shut_down(&self) {
        let supervisor = self.supervisor().take();
        if let Some(supervisor) = supervisor {
            supervisor.stop();
        }
        let _ = std::fs::remove_dir_all(&self.folder.root);
    }
}

/// Stops every demo this process runs and removes their folders: for the
/// Ctrl+C / SIGTERM handler. Handles stay valid; they report
/// [`DemoError::Stopped`] from then on.
pub fn stop_all_running() {
    let live: Vec<Arc<Running>> = registry().iter().filter_map(Weak::upgrade).collect();
    for demo in live {
        demo.shut_down();
    }
}

fn registry() -> MutexGuard<'static, Vec<Weak<Running>>> {
    static LIVE: Mutex<Vec<Weak<Running>>> = Mutex::new(Vec::new());
    LIVE.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// A loopback port nobody listens on now. The demo listens on its private
/// socket only, where the port just names the socket file; a free one keeps
/// the door open for a DBA who turns TCP on.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or(5432)
}

/// 24 random bytes as hex (OpenSSL's generator).
fn random_secret() -> Result<String, DemoError> {
    let mut bytes = [0u8; 24];
    openssl::rand::rand_bytes(&mut bytes).map_err(|e| DemoError::Program {
        program: "the random number generator".into(),
        detail: e.to_string(),
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
