//! The fleet inventory: which servers to scan, by what name, in which group,
//! with which tags and policy. Two kinds of file are read:
//!
//! - a **TOML inventory** (a file whose name ends in `.toml`):
//!
//!   ```toml
//!   [groups.east]
//!   policy = "east-policy.toml"      # relative to this file
//!
//!   [[target]]
//!   name = "clinic-east"
//!   conninfo = "host=db1.example.org dbname=clinic user=auditor sslmode=verify-full"
//!   group = "east"
//!   tags = ["prod", "phi"]
//!
//!   [[target]]
//!   name = "billing"
//!   service = "billing"              # from pg_service.conf, found as libpq finds it
//!
//!   [[services]]                     # every service of a file becomes a target
//!   file = "legacy.conf"
//!   group = "east"
//!   tags = ["legacy"]
//!   ```
//!
//! - any other file is read as a **libpq service file** (`pg_service.conf`):
//!   each `[service]` is a target of that name.
//!
//! Loading checks everything before anything is scanned: the syntax, unknown
//! keys, names (unique, usable as file names), groups, policy files, and that
//! every target's connection resolves (`db::conninfo`, including its service).
//! An error names the file and line. Passwords in connection strings stay in
//! memory: only [`Target::display`] (no password) is ever shown or written.
//!
//! Imports `db` (conninfo and service files), `policy` and `model`.

use crate::db::conninfo::{ConnInfoError, ConnParams};
use crate::db::service::{ServiceError, ServiceFile};
use crate::model::conninfo::render;
use crate::model::untrusted;
use crate::policy::Policy;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The longest target name (it becomes a file name).
const NAME_LIMIT: usize = 100;

/// Why an inventory cannot be used. One line naming the file and, where
/// there is one, the line.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("cannot read inventory {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}, line {line}: {message}")]
    At {
        path: String,
        line: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// One server (or one database) to scan.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub group: Option<String>,
    pub tags: Vec<String>,
    /// Resolved connection parameters (may hold a password: never shown).
    pub params: ConnParams,
    /// The policy of the target's group (or the default one).
    pub policy: Arc<Policy>,
    /// Where the target is declared, for messages.
    pub line: usize,
}

impl Target {
    /// `user@host:port/dbname (sslmode=…)`, never the password.
    pub fn display(&self) -> String {
        self.params.display_target()
    }
}

/// A loaded, checked inventory.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub path: PathBuf,
    /// SHA-256 of the file's bytes: shard summaries of one inventory share it.
    pub sha256: String,
    /// In file order.
    pub targets: Vec<Target>,
    /// Declared group names (a service-file inventory has none).
    pub groups: Vec<String>,
}

/// How the environment is read while resolving targets (tests pass their own).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

impl Inventory {
    /// Reads and checks `path` with this process's environment; targets
    /// without a group policy get `default_policy`.
    pub fn load(path: &Path, default_policy: Arc<Policy>) -> Result<Inventory, InventoryError> {
        Self::load_with_env(path, default_policy, &|name| std::env::var(name).ok())
    }

    pub fn load_with_env(
        path: &Path,
        default_policy: Arc<Policy>,
        env: Env<'_>,
    ) -> Result<Inventory, InventoryError> {
        let bytes = std::fs::read(path).map_err(|e| InventoryError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let text = String::from_utf8(bytes).map_err(|_| InventoryError::File {
            path: path.display().to_string(),
            message: "not UTF-8 text".into(),
        })?;
        let is_toml = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("toml"));
        let (targets, groups) = if is_toml {
            toml_inventory(path, &text, default_policy, env)?
        } else {
            let file = ServiceFile::parse(&text, path);
            let targets = service_targets(path, &file, None, &[], &default_policy, env, |l| l)?;
            (targets, Vec::new())
        };
        Ok(Inventory {
            path: path.to_path_buf(),
            sha256,
            targets,
            groups,
        })
    }

    /// The targets of `group` (all when `None`) that carry `tag` (any when `None`).
    /// An undeclared group is an error: a typo must not scan nothing quietly.
    pub fn select(
        &self,
        group: Option<&str>,
        tag: Option<&str>,
    ) -> Result<Vec<Target>, InventoryError> {
        if let Some(group) = group {
            let known = self.groups.iter().any(|g| g == group)
                || self
                    .targets
                    .iter()
                    .any(|t| t.group.as_deref() == Some(group));
            if !known {
                return Err(InventoryError::File {
                    path: self.path.display().to_string(),
                    message: format!(
                        "no group {:?} in this inventory (groups: {})",
                        untrusted::name(group),
                        if self.groups.is_empty() {
                            "none".to_string()
                        } else {
                            self.groups.join(", ")
                        }
                    ),
                });
            }
        }
        Ok(self
            .targets
            .iter()
            .filter(|t| group.is_none_or(|g| t.group.as_deref() == Some(g)))
            .filter(|t| tag.is_none_or(|tag| t.tags.iter().any(|t| t == tag)))
            .cloned()
            .collect())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlInventory {
    #[serde(default)]
    groups: BTreeMap<String, TomlGroup>,
    #[serde(default)]
    target: Vec<TomlTarget>,
    #[serde(default)]
    services: Vec<TomlServices>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlGroup {
    policy: Option<toml::Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlTarget {
    name: toml::Spanned<String>,
    conninfo: Option<String>,
    service: Option<String>,
    /// The service file to look `service` up in (relative to the inventory);
    /// without it libpq's search applies.
    servicefile: Option<String>,
    group: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlServices {
    file: toml::Spanned<String>,
    group: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

/// Line (1-based) of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |before| before.matches('\n').count() + 1)
}

fn at(path: &Path, line: usize, message: impl Into<String>) -> InventoryError {
    InventoryError::At {
        path: path.display().to_string(),
        line,
        message: message.into(),
    }
}

/// A path written in the inventory, relative to the inventory's folder.
fn relative_to(inventory: &Path, written: &str) -> PathBuf {
    let written = Path::new(written);
    if written.is_absolute() {
        return written.to_path_buf();
    }
    inventory
        .parent()
        .map_or_else(|| written.to_path_buf(), |dir| dir.join(written))
}

type Groups = BTreeMap<String, Arc<Policy>>;

fn toml_inventory(
    path: &Path,
    text: &str,
    default_policy: Arc<Policy>,
    env: Env<'_>,
) -> Result<(Vec<Target>, Vec<String>), InventoryError> {
    let parsed: TomlInventory = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |span| line_of(text, span.start));
        at(path, line, untrusted::one_line(e.message()))
    })?;
    let mut groups: Groups = BTreeMap::new();
    for (name, group) in &parsed.groups {
        let policy = match &group.policy {
            Some(file) => {
                let policy_path = relative_to(path, file.get_ref());
                let policy = Policy::load(&policy_path).map_err(|e| {
                    at(
                        path,
                        line_of(text, file.span().start),
                        format!("group {:?}: {e}", untrusted::name(name)),
                    )
                })?;
                Arc::new(policy)
            }
            None => Arc::clone(&default_policy),
        };
        groups.insert(name.clone(), policy);
    }
    let policy_of = |group: &Option<String>, line: usize| -> Result<Arc<Policy>, InventoryError> {
        match group {
            None => Ok(Arc::clone(&default_policy)),
            Some(name) => groups.get(name).cloned().ok_or_else(|| {
                at(
                    path,
                    line,
                    format!(
                        "group {:?} is not declared: add a [groups.{}] table",
                        untrusted::name(name),
                        untrusted::name(name)
                    ),
                )
            }),
        }
    };

    let mut targets = Vec::new();
    for target in &parsed.target {
        let line = line_of(text, target.name.span().start);
        let name = target.name.get_ref();
        let conninfo = match (&target.conninfo, &target.service) {
            (Some(conninfo), None) => {
                if target.servicefile.is_some() {
                    return Err(at(
                        path,
                        line,
                        "servicefile goes with service, not conninfo",
                    ));
                }
                conninfo.clone()
            }
            (None, Some(service)) => {
                let file = target
                    .servicefile
                    .as_deref()
                    .map(|f| relative_to(path, f).to_string_lossy().into_owned());
                let mut pairs = vec![("service", service.as_str())];
                if let Some(file) = &file {
                    pairs.push(("servicefile", file.as_str()));
                }
                render(pairs)
            }
            _ => {
                return Err(at(
                    path,
                    line,
                    format!(
                        "target {:?} needs exactly one of conninfo or service",
                        untrusted::name(name)
                    ),
                ))
            }
        };
        let policy = policy_of(&target.group, line)?;
        targets.push(resolve_target(
            path,
            line,
            name,
            &conninfo,
            target.group.clone(),
            target.tags.clone(),
            policy,
            env,
        )?);
    }
    for services in &parsed.services {
        let line = line_of(text, services.file.span().start);
        let file_path = relative_to(path, services.file.get_ref());
        let file = ServiceFile::load(&file_path).map_err(|e| at(path, line, e.to_string()))?;
        let policy = policy_of(&services.group, line)?;
        // Messages point at this `file =` line of the inventory.
        targets.extend(service_targets(
            path,
            &file,
            services.group.clone(),
            &services.tags,
            &policy,
            env,
            |_| line,
        )?);
    }
    check_unique(path, &targets)?;
    Ok((targets, parsed.groups.into_keys().collect()))
}

/// Every service of `file` as a target (`service=NAME servicefile=FILE`);
/// messages name `origin` at the line `line_map` gives for the service's line.
#[allow(clippy::too_many_arguments)] // the two inventory kinds differ only in these
fn service_targets(
    origin: &Path,
    file: &ServiceFile,
    group: Option<String>,
    tags: &[String],
    policy: &Arc<Policy>,
    env: Env<'_>,
    line_map: impl Fn(usize) -> usize,
) -> Result<Vec<Target>, InventoryError> {
    let services = file.services()?;
    let servicefile = file.path().to_string_lossy().into_owned();
    let mut targets = Vec::new();
    for service in services {
        let conninfo = render([
            ("service", service.name.as_str()),
            ("servicefile", servicefile.as_str()),
        ]);
        targets.push(resolve_target(
            origin,
            line_map(service.line),
            &service.name,
            &conninfo,
            group.clone(),
            tags.to_vec(),
            Arc::clone(policy),
            env,
        )?);
    }
    check_unique(origin, &targets)?;
    Ok(targets)
}

#[allow(clippy::too_many_arguments)] // one call per inventory kind; a struct would only rename them
fn resolve_target(
    path: &Path,
    line: usize,
    name: &str,
    conninfo: &str,
    group: Option<String>,
    tags: Vec<String>,
    policy: Arc<Policy>,
    env: Env<'_>,
) -> Result<Target, InventoryError> {
    check_name(name).map_err(|why| at(path, line, why))?;
    let params =
        ConnParams::from_conninfo_with_env(conninfo, env).map_err(|e: ConnInfoError| {
            at(
                path,
                line,
                format!("target {:?}: {e}", untrusted::name(name)),
            )
        })?;
    Ok(Target {
        name: name.to_owned(),
        group,
        tags,
        params,
        policy,
        line,
    })
}

/// A target name becomes a file name: letters, digits and `._@+-`, not
/// starting with `.` or `-`.
pub fn check_name(name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._@+-".contains(c);
    let ok = !name.is_empty()
        && name.len() <= NAME_LIMIT
        && name.chars().all(allowed)
        && !name.starts_with(['.', '-']);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "target name {:?} must be 1 to {NAME_LIMIT} letters, digits or ._@+- (not starting with . or -): it names the target's output file",
            untrusted::name(name)
        ))
    }
}

fn check_unique(path: &Path, targets: &[Target]) -> Result<(), InventoryError> {
    let mut first: BTreeMap<&str, usize> = BTreeMap::new();
    for target in targets {
        if let Some(line) = first.insert(&target.name, target.line) {
            return Err(at(
                path,
                target.line,
                format!(
                    "target {:?} is named twice (first on line {line}): names must be unique",
                    untrusted::name(&target.name)
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose
mod tests {
    use super::*;

    fn load(dir: &Path, name: &str, text: &str) -> Result<Inventory, InventoryError> {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        Inventory::load_with_env(&path, Arc::new(Policy::default()), &|_| None)
    }

    #[test]
    fn a_toml_inventory_with_groups_tags_and_services() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("legacy.conf"),
            "[old-1]\nhost=old1\n[old-2]\nhost=old2\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("east.toml"), "").unwrap();
        let inventory = load(
            dir.path(),
            "fleet.toml",
            r#"
[groups.east]
policy = "east.toml"
[groups.legacy]

[[target]]
name = "clinic-east"
conninfo = "host=db1 dbname=clinic password=Zq9secret"
group = "east"
tags = ["prod"]

[[target]]
name = "old-1-again"
service = "old-1"
servicefile = "legacy.conf"

[[services]]
file = "legacy.conf"
group = "legacy"
tags = ["legacy"]
"#,
        )
        .unwrap();
        let names: Vec<&str> = inventory.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["clinic-east", "old-1-again", "old-1", "old-2"]);
        assert_eq!(inventory.targets[1].params.host, "old1");
        assert_eq!(inventory.targets[0].line, 7);
        assert!(!inventory.targets[0].display().contains("Zq9secret"));
        assert_eq!(inventory.groups, ["east", "legacy"]);
        assert_eq!(inventory.select(Some("legacy"), None).unwrap().len(), 2);
        assert_eq!(inventory.select(None, Some("prod")).unwrap().len(), 1);
        assert!(inventory.select(Some("west"), None).is_err());
    }

    #[test]
    fn a_service_file_is_an_inventory() {
        let dir = tempfile::tempdir().unwrap();
        let inventory = load(
            dir.path(),
            "pg_service.conf",
            "[a]\nhost=h1\nport=6000\n[b]\nhost=h2\n",
        )
        .unwrap();
        assert_eq!(inventory.targets.len(), 2);
        assert_eq!(inventory.targets[0].params.port, 6000);
        assert_eq!(inventory.targets[1].line, 4);
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                "dup.toml",
                "[[target]]\nname = \"a\"\nconninfo = \"host=h\"\n\n[[target]]\nname = \"a\"\nconninfo = \"host=h\"\n",
                "line 6",
                "named twice",
            ),
            ("bad.toml", "[[target]\nname = 1\n", "line 1", ""),
            (
                "unknown-key.toml",
                "[[target]]\nname = \"a\"\nconnifo = \"host=h\"\n",
                "line 3",
                "connifo",
            ),
            (
                "unknown-service.toml",
                "[[target]]\nname = \"a\"\nservice = \"nowhere\"\n",
                "line 2",
                "not found",
            ),
            (
                "no-group.toml",
                "[[target]]\nname = \"a\"\nconninfo = \"host=h\"\ngroup = \"east\"\n",
                "line 2",
                "[groups.east]",
            ),
            (
                "bad-name.toml",
                "[[target]]\nname = \"../x\"\nconninfo = \"host=h\"\n",
                "line 2",
                "file",
            ),
            (
                "bad-conninfo.toml",
                "[[target]]\nname = \"a\"\nconninfo = \"hots=h\"\n",
                "line 2",
                "hots",
            ),
            (
                "both.toml",
                "[[target]]\nname = \"a\"\nconninfo = \"host=h\"\nservice = \"s\"\n",
                "line 2",
                "exactly one",
            ),
            (
                "missing-services.toml",
                "[[services]]\nfile = \"absent.conf\"\n",
                "line 2",
                "absent.conf",
            ),
            ("dup.conf", "[a]\nhost=h\n[a]\nhost=h\n", "line 3", "twice"),
        ];
        for (file, text, line, mention) in cases {
            let error = load(dir.path(), file, text).unwrap_err().to_string();
            assert!(error.contains(file), "{file}: {error}");
            assert!(error.contains(line), "{file}: {error}");
            assert!(error.contains(mention), "{file}: {error}");
            assert!(!error.contains('\n'), "{file}: {error}");
        }
        let missing = Inventory::load_with_env(
            &dir.path().join("absent.toml"),
            Arc::new(Policy::default()),
            &|_| None,
        )
        .unwrap_err()
        .to_string();
        assert!(missing.contains("absent.toml"), "{missing}");
    }
}
