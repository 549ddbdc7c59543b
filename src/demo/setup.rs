//! initdb and the files of a hurried install: postgresql.conf lines,
//! pg_hba.conf, and a server certificate ready for when ssl is turned on.
//!
//! What is left insecure on purpose (each has a check and a fix in the
//! guide): ssl off, md5 password hashing, `trust` and `md5` lines, no
//! checksums, no archiving, no pgaudit, default logging, a world-open socket.
//! What is not: the server listens on its private socket only, and
//! pgSafeguard's own admin line comes first (scram, password only in memory),
//! so the guide's pg_hba fixes never lock the app out.

use super::binaries::SERVER_OS_USER;
use super::owner::server_owned;
use super::server::ServerSpec;
use super::DemoError;
use crate::db::conninfo::Password;
use std::fs;
use std::path::Path;
use std::process::Command;

/// Runs initdb as the server's OS user; the admin password passes through a
/// 0600 file inside the demo folder that is removed right after.
pub fn initdb(spec: &ServerSpec, password: &Password) -> Result<(), DemoError> {
    let pwfile = spec.folder.root.join("initdb-password");
    write_server_file(spec, &pwfile, password.expose(), 0o600)?;
    let mut initdb = spec.command("initdb");
    initdb
        .arg("-D")
        .arg(&spec.folder.data)
        .args(["-U", SERVER_OS_USER, "--auth=scram-sha-256", "--no-sync"])
        .args(["--encoding=UTF8", "--locale=C"])
        .arg(format!("--pwfile={}", pwfile.display()));
    // Checksums stay off (EAR-001 is part of the lesson); 18 turns them on by default.
    if spec.binaries.major().is_some_and(|major| major >= 18) {
        initdb.arg("--no-data-checksums");
    }
    let result = run("initdb", &mut initdb);
    let _ = fs::remove_file(&pwfile);
    result
}

/// Appends the demo's lines to initdb's postgresql.conf, writes pg_hba.conf
/// and a self-signed server certificate.
pub fn configure(spec: &ServerSpec, port: u16) -> Result<(), DemoError> {
    let data = &spec.folder.data;
    let conf_path = data.join("postgresql.conf");
    let mut conf = fs::read_to_string(&conf_path).map_err(|source| DemoError::Folder {
        path: conf_path.clone(),
        source,
    })?;
    let socket = spec.folder.socket.to_string_lossy().replace('\'', "''");
    conf.push_str(&format!(
        "\n# --- pgSafeguard demo: left the way a hurried install leaves it ---\n\
         port = {port}\n\
         # Only the private socket folder below: nothing on the network reaches the demo.\n\
         listen_addresses = ''\n\
         unix_socket_directories = '{socket}'\n\
         # server.crt and server.key are ready in the data directory.\n\
         ssl = off\n\
         password_encryption = md5\n"
    ));
    write_server_file(spec, &conf_path, &conf, 0o600)?;
    write_server_file(spec, &data.join("pg_hba.conf"), HBA, 0o600)?;
    let (cert, key) = self_signed_certificate()?;
    write_server_file(spec, &data.join("server.crt"), &cert, 0o644)?;
    write_server_file(spec, &data.join("server.key"), &key, 0o600)
}

const HBA: &str = "\
# pg_hba.conf of the pgSafeguard demo, left the way a hurried install leaves it.
# TYPE  DATABASE        USER            ADDRESS                 METHOD
# pgSafeguard's own login (its password lives only in the app's memory):
local   all             postgres                                scram-sha-256
local   all             all                                     trust
host    all             all             0.0.0.0/0               md5
host    all             all             ::/0                    md5
";

/// PEM certificate and key for `localhost`, self-signed (what a hurried
/// install makes; the demo scans over the socket, where TLS is not used).
fn self_signed_certificate() -> Result<(String, String), DemoError> {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let certified = rcgen::generate_simple_self_signed(names).map_err(|e| DemoError::Program {
        program: "certificate generation".into(),
        detail: e.to_string(),
    })?;
    Ok((certified.cert.pem(), certified.signing_key.serialize_pem()))
}

fn write_server_file(
    spec: &ServerSpec,
    path: &Path,
    contents: &str,
    mode: u32,
) -> Result<(), DemoError> {
    fs::write(path, contents).map_err(|source| DemoError::Folder {
        path: path.to_path_buf(),
        source,
    })?;
    server_owned(path, mode, &spec.user)
}

fn run(program: &str, command: &mut Command) -> Result<(), DemoError> {
    let failed = |detail: String| DemoError::Program {
        program: program.into(),
        detail,
    };
    let output = command
        .output()
        .map_err(|e| failed(format!("could not run it: {e}")))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message");
    Err(failed(format!("{} ({})", last.trim(), output.status)))
}
