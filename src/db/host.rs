//! File facts of the database host (EAR-007, EAR-008): modes and owners of
//! the data directory, the configuration files, the TLS key and the log
//! folder.
//!
//! SQL cannot see file modes, so these facts are read with `stat` — and only
//! when pgSafeguard runs on the database host itself. That is decided from
//! the files, not from the host name: the `data_directory` the server
//! reports must exist here and its `global/pg_control` must hold the
//! server's system identifier. A different cluster at the same path, a
//! container's path seen from outside, or a data directory this user cannot
//! read all give `None`, and the checks stay `manual`. (A physical replica
//! shares its primary's identifier, so a replica scanned from its primary's
//! host, with PGDATA at the same path, would be judged by the primary's files.)
//!
//! Reads local files only; must not import `checks` or `ui`, and never
//! talks to the server. Owner names come from `/etc/passwd` (no libc).

use crate::model::snapshot::{FileFact, HostFacts, Snapshot};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Settings naming files whose modes are judged, with the role each file
/// gets in [`FileFact::role`]. Relative paths are relative to the data
/// directory, as the server reads them.
const FILE_SETTINGS: &[&str] = &[
    "config_file",
    "hba_file",
    "ident_file",
    "ssl_key_file",
    "log_directory",
];

/// Where the password database lives.
const PASSWD: &str = "/etc/passwd";

/// The host's file facts, when the scanner runs on the database host (see
/// the module docs); `None` otherwise.
pub fn collect_host_facts(snapshot: &Snapshot) -> Option<HostFacts> {
    collect_with_passwd(snapshot, Path::new(PASSWD))
}

fn collect_with_passwd(snapshot: &Snapshot, passwd: &Path) -> Option<HostFacts> {
    let data_directory = setting_value(snapshot, "data_directory")?;
    let data_directory = PathBuf::from(data_directory);
    if !data_directory.is_absolute() {
        return None;
    }
    let expected: u64 = snapshot.target.system_identifier.as_deref()?.parse().ok()?;
    if read_system_identifier(&data_directory)? != expected {
        return None;
    }
    let owners = Owners::read(passwd);
    let mut files = vec![file_fact("data_directory", &data_directory, &owners)];
    for role in FILE_SETTINGS {
        let Some(value) = setting_value(snapshot, role) else {
            continue;
        };
        let path = data_directory.join(value);
        if !in_use(snapshot, role) && fs::symlink_metadata(&path).is_err() {
            continue;
        }
        files.push(file_fact(role, &path, &owners));
    }
    Some(HostFacts {
        data_directory: data_directory.to_string_lossy().into_owned(),
        files,
    })
}

/// A non-empty setting value.
fn setting_value<'a>(snapshot: &'a Snapshot, name: &str) -> Option<&'a str> {
    snapshot
        .setting(name)?
        .setting
        .as_deref()
        .filter(|value| !value.is_empty())
}

/// Whether the server uses the file: the TLS key only with `ssl = on`, the
/// log folder only with the logging collector. A file not in use is still
/// judged when it exists (a stray key is still a key).
fn in_use(snapshot: &Snapshot, role: &str) -> bool {
    match role {
        "ssl_key_file" => setting_value(snapshot, "ssl") == Some("on"),
        "log_directory" => setting_value(snapshot, "logging_collector") == Some("on"),
        _ => true,
    }
}

/// `ControlFileData.system_identifier`: the first 8 bytes of
/// `global/pg_control`, in the byte order of the host that wrote it (this
/// one, when the cluster is local).
fn read_system_identifier(data_directory: &Path) -> Option<u64> {
    use std::io::Read;
    let mut file = fs::File::open(data_directory.join("global").join("pg_control")).ok()?;
    let mut first = [0u8; 8];
    file.read_exact(&mut first).ok()?;
    Some(u64::from_ne_bytes(first))
}

/// `stat` of one file (following symlinks, as the server does).
fn file_fact(role: &str, path: &Path, owners: &Owners) -> FileFact {
    let mut fact = FileFact {
        role: role.to_string(),
        path: path.to_string_lossy().into_owned(),
        ..FileFact::default()
    };
    match fs::metadata(path) {
        Ok(metadata) => {
            fact.mode = Some(metadata.mode() & 0o7777);
            fact.owner = Some(owners.name(metadata.uid()));
        }
        Err(error) => fact.error = Some(format!("cannot stat {}: {error}", fact.path)),
    }
    fact
}

/// User names by uid, from a passwd file.
struct Owners(Vec<(u32, String)>);

impl Owners {
    /// An unreadable file gives no names: owners are then shown as uids.
    fn read(passwd: &Path) -> Self {
        let text = fs::read_to_string(passwd).unwrap_or_default();
        Owners(text.lines().filter_map(parse_passwd_line).collect())
    }

    /// The first name with this uid, or the uid as text.
    fn name(&self, uid: u32) -> String {
        self.0
            .iter()
            .find(|(id, _)| *id == uid)
            .map_or_else(|| uid.to_string(), |(_, name)| name.clone())
    }
}

/// `name:password:uid:gid:gecos:home:shell` → (uid, name).
fn parse_passwd_line(line: &str) -> Option<(u32, String)> {
    if line.starts_with('#') {
        return None;
    }
    let mut fields = line.split(':');
    let name = fields.next().filter(|name| !name.is_empty())?;
    let uid = fields.nth(1)?.parse().ok()?;
    Some((uid, name.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::snapshot::Setting;
    use std::collections::BTreeMap;
    use std::os::unix::fs::PermissionsExt;

    const ID: u64 = 7_301_234_567_890_123_456;

    /// A data directory with a pg_control holding `id`, config files with
    /// chosen modes, and a passwd file naming this process's uid.
    struct FakeHost {
        dir: tempfile::TempDir,
        passwd: PathBuf,
        uid: u32,
    }

    impl FakeHost {
        fn new(id: u64) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let data = dir.path().join("data");
            fs::create_dir_all(data.join("global")).unwrap();
            let mut control = id.to_ne_bytes().to_vec();
            control.extend_from_slice(&[0u8; 64]);
            fs::write(data.join("global/pg_control"), control).unwrap();
            set_mode(&data, 0o700);
            for (name, mode) in [
                ("postgresql.conf", 0o644),
                ("pg_hba.conf", 0o600),
                ("pg_ident.conf", 0o640),
                ("server.key", 0o600),
            ] {
                fs::write(data.join(name), "x").unwrap();
                set_mode(&data.join(name), mode);
            }
            fs::create_dir(data.join("log")).unwrap();
            set_mode(&data.join("log"), 0o700);
            let uid = fs::metadata(&data).unwrap().uid();
            let passwd = dir.path().join("passwd");
            fs::write(
                &passwd,
                format!("# comment\npgowner:x:{uid}:1::/h:/bin/sh\nroot:x:0:0::/root:/bin/sh\n"),
            )
            .unwrap();
            FakeHost { dir, passwd, uid }
        }

        fn data(&self) -> PathBuf {
            self.dir.path().join("data")
        }

        fn snapshot(&self, id: &str) -> Snapshot {
            let data = self.data();
            let mut settings = BTreeMap::new();
            let mut set = |name: &str, value: &str| {
                settings.insert(
                    name.to_string(),
                    Setting {
                        setting: Some(value.to_string()),
                        ..Setting::default()
                    },
                );
            };
            set("data_directory", &data.to_string_lossy());
            set(
                "config_file",
                &data.join("postgresql.conf").to_string_lossy(),
            );
            set("hba_file", &data.join("pg_hba.conf").to_string_lossy());
            set("ident_file", &data.join("pg_ident.conf").to_string_lossy());
            set("ssl", "on");
            set("ssl_key_file", "server.key");
            set("log_directory", "log");
            set("logging_collector", "on");
            let mut snapshot = Snapshot {
                settings: Some(settings),
                ..Snapshot::default()
            };
            snapshot.target.system_identifier = Some(id.to_string());
            snapshot
        }

        fn collect(&self, snapshot: &Snapshot) -> Option<HostFacts> {
            collect_with_passwd(snapshot, &self.passwd)
        }
    }

    fn set_mode(path: &Path, mode: u32) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    fn fact<'a>(facts: &'a HostFacts, role: &str) -> &'a FileFact {
        facts.files.iter().find(|f| f.role == role).unwrap()
    }

    #[test]
    fn matching_identifier_gives_modes_and_owners() {
        let host = FakeHost::new(ID);
        let facts = host.collect(&host.snapshot(&ID.to_string())).unwrap();
        assert_eq!(facts.data_directory, host.data().to_string_lossy());
        let roles: Vec<&str> = facts.files.iter().map(|f| f.role.as_str()).collect();
        assert_eq!(
            roles,
            [
                "data_directory",
                "config_file",
                "hba_file",
                "ident_file",
                "ssl_key_file",
                "log_directory"
            ]
        );
        assert_eq!(fact(&facts, "data_directory").mode, Some(0o700));
        assert_eq!(fact(&facts, "config_file").mode, Some(0o644));
        assert_eq!(fact(&facts, "hba_file").mode, Some(0o600));
        assert_eq!(fact(&facts, "ident_file").mode, Some(0o640));
        let key = fact(&facts, "ssl_key_file");
        assert_eq!(key.path, host.data().join("server.key").to_string_lossy());
        assert_eq!(key.mode, Some(0o600));
        assert_eq!(fact(&facts, "log_directory").mode, Some(0o700));
        for file in &facts.files {
            assert_eq!(file.owner.as_deref(), Some("pgowner"), "{file:?}");
            assert_eq!(file.error, None);
        }
    }

    #[test]
    fn another_cluster_at_the_same_path_is_not_this_server() {
        let host = FakeHost::new(ID);
        assert_eq!(host.collect(&host.snapshot(&(ID + 1).to_string())), None);
    }

    #[test]
    fn no_facts_without_the_data_directory_or_identifier() {
        let host = FakeHost::new(ID);
        let mut hidden = host.snapshot(&ID.to_string());
        hidden
            .settings
            .as_mut()
            .unwrap()
            .get_mut("data_directory")
            .unwrap()
            .setting = Some(String::new());
        assert_eq!(
            host.collect(&hidden),
            None,
            "setting blank without the grant"
        );
        let mut unknown = host.snapshot(&ID.to_string());
        unknown.target.system_identifier = None;
        assert_eq!(host.collect(&unknown), None);
        let mut elsewhere = host.snapshot(&ID.to_string());
        let missing = host
            .dir
            .path()
            .join("nowhere")
            .to_string_lossy()
            .into_owned();
        elsewhere.settings.as_mut().unwrap().insert(
            "data_directory".into(),
            Setting {
                setting: Some(missing),
                ..Setting::default()
            },
        );
        assert_eq!(host.collect(&elsewhere), None);
    }

    #[test]
    fn missing_file_is_an_error_fact() {
        let host = FakeHost::new(ID);
        fs::remove_file(host.data().join("pg_ident.conf")).unwrap();
        let facts = host.collect(&host.snapshot(&ID.to_string())).unwrap();
        let ident = fact(&facts, "ident_file");
        assert_eq!(ident.mode, None);
        assert!(ident.error.as_deref().unwrap().contains("pg_ident.conf"));
    }

    #[test]
    fn unused_absent_key_is_skipped() {
        let host = FakeHost::new(ID);
        fs::remove_file(host.data().join("server.key")).unwrap();
        let mut snapshot = host.snapshot(&ID.to_string());
        snapshot.settings.as_mut().unwrap().insert(
            "ssl".into(),
            Setting {
                setting: Some("off".into()),
                ..Setting::default()
            },
        );
        let facts = host.collect(&snapshot).unwrap();
        assert!(facts.files.iter().all(|f| f.role != "ssl_key_file"));
    }

    #[test]
    fn unknown_uid_is_shown_as_a_number() {
        let host = FakeHost::new(ID);
        fs::write(&host.passwd, "root:x:0:0::/root:/bin/sh\n").unwrap();
        let facts = host.collect(&host.snapshot(&ID.to_string())).unwrap();
        let expected = if host.uid == 0 {
            "root".to_string()
        } else {
            host.uid.to_string()
        };
        assert_eq!(
            fact(&facts, "hba_file").owner.as_deref(),
            Some(expected.as_str())
        );
    }

    #[test]
    fn passwd_lines() {
        assert_eq!(
            parse_passwd_line("postgres:x:110:118::/var/lib/postgresql:/bin/bash"),
            Some((110, "postgres".into()))
        );
        assert_eq!(parse_passwd_line("# postgres:x:1:1"), None);
        assert_eq!(parse_passwd_line("broken"), None);
        assert_eq!(parse_passwd_line("x:y:notanumber:1"), None);
    }
}
