//! libpq's connection service file (`pg_service.conf`): where it is, what it
//! says, and which service a connection string names.
//!
//! A service file is an INI-like list of named groups of connection options:
//!
//! ```text
//! # comment
//! [clinic-east]
//! host=db1.example.org
//! dbname=clinic
//! sslmode=verify-full
//! ```
//!
//! # libpq's rules, followed here
//!
//! - The service is `service=NAME` in the connection string, else `PGSERVICE`.
//! - The user's file is `servicefile=` in the connection string (libpq 18),
//!   else `PGSERVICEFILE`, else `~/.pg_service.conf`; a file that does not
//!   exist is passed over. When the user's file does not define the service,
//!   the system file `PGSYSCONFDIR/pg_service.conf` is read; without
//!   `PGSYSCONFDIR` that is Debian's `/etc/postgresql-common/pg_service.conf`
//!   ([`DEBIAN_SYSCONFDIR`]). Neither defining it is an error.
//! - Lines are trimmed at both ends; empty lines and lines starting with `#`
//!   are skipped; `[NAME]` starts a group; inside the group every line is
//!   `keyword=value`, the keyword exactly one of libpq's, the value the rest
//!   of the line (no quoting). The first group of a name wins.
//! - A service's options fill only what the connection string left unset;
//!   they win over the PG* environment variables (`db::conninfo` applies
//!   that order). `service` or `servicefile` inside a group is an error.
//!
//! Where libpq reads only the lines of the group it looks for, reading a file
//! as a fleet inventory ([`ServiceFile::services`]) checks every line, so that
//! a typo in any service is reported before a scan starts.
//!
//! Errors name the file and line and never echo a value (a group may hold a
//! password). Imports only `model`; reads files, never the network.

use crate::model::conninfo::keyword;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// libpq's system configuration folder on Debian and Ubuntu, used when
/// `PGSYSCONFDIR` is not set.
pub const DEBIAN_SYSCONFDIR: &str = "/etc/postgresql-common";
/// The user's service file, in the home folder.
pub const USER_FILE: &str = ".pg_service.conf";
/// The system service file, in the system configuration folder.
pub const SYSTEM_FILE: &str = "pg_service.conf";

/// Why a service could not be found or read. One lowercase line naming the
/// file and line; values are never echoed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("cannot read service file {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}, line {line}: {what}")]
    Syntax {
        path: String,
        line: usize,
        what: String,
    },
    #[error(
        "{path}, line {line}: service {name:?} is defined twice (first on line {first}): rename one"
    )]
    Duplicate {
        path: String,
        line: usize,
        first: usize,
        name: String,
    },
    #[error("definition of service {name:?} not found (looked in {looked})")]
    NotFound { name: String, looked: String },
}

/// One line of a service file, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Line {
    /// `[name]`; `None` when the closing `]` is missing.
    Group(Option<String>),
    Pair {
        key: String,
        value: String,
    },
    /// Text without `=`.
    NoEquals,
}

/// A service file, read whole.
#[derive(Debug, Clone)]
pub struct ServiceFile {
    path: PathBuf,
    /// Every meaningful line with its 1-based number.
    lines: Vec<(usize, Line)>,
}

/// One service of a file: its name, the line of its `[name]`, and its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub line: usize,
    /// Keyword → value, the first of a keyword winning as in libpq.
    pub options: BTreeMap<String, String>,
}

impl ServiceFile {
    /// Reads `path`. A missing or unreadable file is an error naming it.
    pub fn load(path: &Path) -> Result<ServiceFile, ServiceError> {
        let text = std::fs::read(path).map_err(|e| ServiceError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(ServiceFile::parse(&String::from_utf8_lossy(&text), path))
    }

    /// Reads the text of a service file (`path` names it in errors).
    pub fn parse(text: &str, path: &Path) -> ServiceFile {
        let lines = text
            .lines()
            .enumerate()
            .filter_map(|(index, raw)| {
                let line = raw.trim();
                if line.is_empty() || line.starts_with('#') {
                    return None;
                }
                let parsed = if let Some(rest) = line.strip_prefix('[') {
                    Line::Group(rest.split_once(']').map(|(name, _)| name.to_owned()))
                } else if let Some((key, value)) = line.split_once('=') {
                    Line::Pair {
                        key: key.to_owned(),
                        value: value.to_owned(),
                    }
                } else {
                    Line::NoEquals
                };
                Some((index + 1, parsed))
            })
            .collect();
        ServiceFile {
            path: path.to_path_buf(),
            lines,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn syntax(&self, line: usize, what: impl Into<String>) -> ServiceError {
        ServiceError::Syntax {
            path: self.path.display().to_string(),
            line,
            what: what.into(),
        }
    }

    /// The first group called `name`, its lines checked as libpq checks them;
    /// `None` when the file has no such group.
    pub fn service(&self, name: &str) -> Result<Option<Service>, ServiceError> {
        let Some(start) = self
            .lines
            .iter()
            .position(|(_, l)| *l == Line::Group(Some(name.to_owned())))
        else {
            return Ok(None);
        };
        self.group_at(start).map(Some)
    }

    /// Every service of the file, in file order, every line checked: the file
    /// as a fleet inventory. Text before the first group, a group without its
    /// `]` and a name defined twice are errors here (libpq would pass over them).
    pub fn services(&self) -> Result<Vec<Service>, ServiceError> {
        let mut services: Vec<Service> = Vec::new();
        let mut first_line: BTreeMap<String, usize> = BTreeMap::new();
        for (index, (line, parsed)) in self.lines.iter().enumerate() {
            match parsed {
                Line::Group(None) => {
                    return Err(self.syntax(*line, "a group name needs its closing \"]\""))
                }
                Line::Group(Some(name)) => {
                    if let Some(first) = first_line.get(name) {
                        return Err(ServiceError::Duplicate {
                            path: self.path.display().to_string(),
                            line: *line,
                            first: *first,
                            name: name.clone(),
                        });
                    }
                    first_line.insert(name.clone(), *line);
                    services.push(self.group_at(index)?);
                }
                Line::Pair { .. } | Line::NoEquals if services.is_empty() => {
                    return Err(self.syntax(
                        *line,
                        "an option before the first [service] group: start the file with [NAME]",
                    ))
                }
                _ => {}
            }
        }
        Ok(services)
    }

    /// The group whose header is `self.lines[start]`.
    fn group_at(&self, start: usize) -> Result<Service, ServiceError> {
        let (header_line, header) = &self.lines[start];
        let Line::Group(Some(name)) = header else {
            return Err(self.syntax(*header_line, "not a [service] group"));
        };
        let mut options = BTreeMap::new();
        for (line, parsed) in self.lines.iter().skip(start + 1) {
            match parsed {
                Line::Group(_) => break,
                Line::NoEquals => {
                    return Err(self.syntax(*line, "syntax error: write keyword=value"))
                }
                Line::Pair { key, .. } if key == "service" || key == "servicefile" => {
                    return Err(self.syntax(
                        *line,
                        format!("nested service specifications ({key}=) are not supported"),
                    ))
                }
                Line::Pair { key, value } => {
                    if keyword(key).is_none() {
                        return Err(self.syntax(
                            *line,
                            format!(
                                "invalid connection option {:?}: check its spelling against libpq's keywords (no spaces around \"=\")",
                                crate::model::untrusted::name(key)
                            ),
                        ));
                    }
                    options.entry(key.clone()).or_insert_with(|| value.clone());
                }
            }
        }
        Ok(Service {
            name: name.clone(),
            line: *header_line,
            options,
        })
    }
}

/// The files libpq reads for a service, in order: the user's file (if one
/// can be named) and the system file.
pub fn search_path(
    servicefile: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<PathBuf> {
    let non_empty = |name: &str| env(name).filter(|v| !v.is_empty());
    let user = servicefile
        .filter(|f| !f.is_empty())
        .map(PathBuf::from)
        .or_else(|| non_empty("PGSERVICEFILE").map(PathBuf::from))
        .or_else(|| non_empty("HOME").map(|home| Path::new(&home).join(USER_FILE)));
    let sysconfdir = non_empty("PGSYSCONFDIR").unwrap_or_else(|| DEBIAN_SYSCONFDIR.to_owned());
    user.into_iter()
        .chain(std::iter::once(Path::new(&sysconfdir).join(SYSTEM_FILE)))
        .collect()
}

/// The options of service `name`, found as libpq finds it: the first file of
/// [`search_path`] that exists and defines it. A file that exists but cannot
/// be read, or whose group has an error, stops the search with that error.
pub fn lookup(
    name: &str,
    servicefile: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Service, ServiceError> {
    let mut looked = Vec::new();
    for path in search_path(servicefile, env) {
        if !path.exists() {
            looked.push(format!("{} (missing)", path.display()));
            continue;
        }
        looked.push(path.display().to_string());
        if let Some(service) = ServiceFile::load(&path)?.service(name)? {
            return Ok(service);
        }
    }
    Err(ServiceError::NotFound {
        name: name.to_owned(),
        looked: looked.join(", "),
    })
}

/// Fills `raw` (a parsed connection string) from the service it names, if
/// any: `service` there, else `PGSERVICE`. Options already in `raw`, even
/// empty, are kept; `service` and `servicefile` are removed once used.
pub fn apply(
    raw: &mut BTreeMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ServiceError> {
    let name = raw
        .get("service")
        .cloned()
        .or_else(|| env("PGSERVICE"))
        .filter(|name| !name.is_empty());
    let servicefile = raw.remove("servicefile");
    raw.remove("service");
    let Some(name) = name else {
        return Ok(());
    };
    let service = lookup(&name, servicefile.as_deref(), env)?;
    for (key, value) in service.options {
        raw.entry(key).or_insert(value);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose
mod tests {
    use super::*;

    fn file(text: &str) -> ServiceFile {
        ServiceFile::parse(text, Path::new("/etc/pg_service.conf"))
    }

    fn env_of<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn groups_keywords_and_comments_are_read_like_libpq() {
        let f = file(
            "# fleet\n\n  [east]  \nhost=db1\n  dbname=clinic \n# note\nport=6543\nhost=ignored\n[west]\nhost=db2\n",
        );
        let east = f.service("east").unwrap().unwrap();
        assert_eq!(east.line, 3);
        assert_eq!(east.options["host"], "db1");
        assert_eq!(east.options["dbname"], "clinic");
        assert_eq!(east.options["port"], "6543");
        assert!(f.service("north").unwrap().is_none());
        let names: Vec<String> = f.services().unwrap().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["east", "west"]);
    }

    #[test]
    fn values_are_the_rest_of_the_line() {
        let f = file("[s]\noptions=-c search_path=a,b\npassword=p#w=x\n");
        let s = f.service("s").unwrap().unwrap();
        assert_eq!(s.options["options"], "-c search_path=a,b");
        assert_eq!(s.options["password"], "p#w=x");
    }

    #[test]
    fn errors_name_the_file_and_line_and_never_a_value() {
        let cases = [
            ("[s]\nhost db\n", 2, "keyword=value"),
            ("[s]\nhots=db\n", 2, "\"hots\""),
            ("[s]\nhost = db\n", 2, "no spaces"),
            ("[s]\nservice=other\n", 2, "nested"),
            ("[s]\nservicefile=/x\n", 2, "nested"),
        ];
        for (text, line, mention) in cases {
            let error = file(text).service("s").unwrap_err();
            let message = error.to_string();
            assert!(
                message.starts_with(&format!("/etc/pg_service.conf, line {line}:")),
                "{message}"
            );
            assert!(message.contains(mention), "{message}");
        }
        let error = file("[s]\npasswurd=Zq9secret\n").service("s").unwrap_err();
        assert!(!error.to_string().contains("Zq9secret"));
    }

    #[test]
    fn libpq_reads_only_the_group_it_needs_an_inventory_checks_all() {
        let f = file("stray=1\n[good]\nhost=h\n[bad]\nhots=x\n[good]\nhost=second\n");
        assert_eq!(
            f.service("good").unwrap().unwrap().options["host"],
            "h",
            "first group wins"
        );
        let error = f.services().unwrap_err().to_string();
        assert!(error.contains("line 1"), "{error}");
        let error = file("[a]\nhost=h\n[b]\nhots=x\n")
            .services()
            .unwrap_err()
            .to_string();
        assert!(error.contains("line 4"), "{error}");
        let error = file("[a]\n[b]\n[a]\n").services().unwrap_err().to_string();
        assert!(
            error.contains("line 3") && error.contains("first on line 1"),
            "{error}"
        );
        let error = file("[a\n").services().unwrap_err().to_string();
        assert!(error.contains("line 1") && error.contains("]"), "{error}");
    }

    #[test]
    fn search_path_follows_libpq_precedence() {
        let env = [
            ("HOME", "/home/u"),
            ("PGSERVICEFILE", "/env/services"),
            ("PGSYSCONFDIR", "/sys"),
        ];
        let paths = search_path(Some("/kw/services"), &env_of(&env));
        assert_eq!(
            paths,
            [
                PathBuf::from("/kw/services"),
                PathBuf::from("/sys/pg_service.conf")
            ]
        );
        assert_eq!(
            search_path(None, &env_of(&env))[0],
            PathBuf::from("/env/services")
        );
        assert_eq!(
            search_path(None, &env_of(&[("HOME", "/home/u")])),
            [
                PathBuf::from("/home/u/.pg_service.conf"),
                PathBuf::from("/etc/postgresql-common/pg_service.conf")
            ]
        );
    }

    #[test]
    fn lookup_falls_back_to_the_system_file_and_says_where_it_looked() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("user.conf");
        let sys = dir.path().join("sys");
        std::fs::create_dir(&sys).unwrap();
        std::fs::write(&user, "[both]\nhost=from-user\n").unwrap();
        std::fs::write(
            sys.join(SYSTEM_FILE),
            "[both]\nhost=from-system\n[system-only]\nhost=s\n",
        )
        .unwrap();
        let env = [
            ("PGSERVICEFILE", user.to_str().unwrap()),
            ("PGSYSCONFDIR", sys.to_str().unwrap()),
        ];
        let env = env_of(&env);
        assert_eq!(
            lookup("both", None, &env).unwrap().options["host"],
            "from-user"
        );
        assert_eq!(
            lookup("system-only", None, &env).unwrap().options["host"],
            "s"
        );
        let missing = dir.path().join("nope.conf");
        assert_eq!(
            lookup("both", missing.to_str(), &env).unwrap().options["host"],
            "from-system",
            "a missing user file is passed over"
        );
        let error = lookup("absent", None, &env).unwrap_err().to_string();
        assert!(error.contains("\"absent\" not found"), "{error}");
        assert!(error.contains(user.to_str().unwrap()), "{error}");
    }

    #[test]
    fn apply_fills_only_what_the_string_left_unset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.conf");
        std::fs::write(&path, "[clinic]\nhost=db1\nport=6000\ndbname=clinic\n").unwrap();
        let mut raw: BTreeMap<String, String> = [
            ("service", "clinic"),
            ("servicefile", path.to_str().unwrap()),
            ("port", ""),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        apply(&mut raw, &|_| None).unwrap();
        assert_eq!(raw.get("host").map(String::as_str), Some("db1"));
        assert_eq!(raw.get("port").map(String::as_str), Some(""));
        assert!(!raw.contains_key("service") && !raw.contains_key("servicefile"));

        let mut from_env = BTreeMap::new();
        let env = [
            ("PGSERVICE", "clinic"),
            ("PGSERVICEFILE", path.to_str().unwrap()),
        ];
        apply(&mut from_env, &env_of(&env)).unwrap();
        assert_eq!(from_env.get("dbname").map(String::as_str), Some("clinic"));
    }
}
