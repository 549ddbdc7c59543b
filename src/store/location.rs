//! Which store a command writes to: `--store PATH`, `--store CONNINFO` (a
//! team store on a PostgreSQL server, in the schema `--store-schema NAME`,
//! by default [`DEFAULT_TEAM_SCHEMA`]), `--no-store`, or the default file in
//! the platform data folder.

use super::{EvidenceStore, StoreError};
use std::path::PathBuf;

/// The default store's file name inside the data folder.
pub const DEFAULT_FILE: &str = "evidence.sqlite";

/// The schema of a team store when `--store-schema` names none.
pub const DEFAULT_TEAM_SCHEMA: &str = "pgsafeguard";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreChoice {
    /// The SQLite file in the platform data folder. When it cannot be opened
    /// the command still runs and warns once.
    Default,
    /// `--store PATH`: an error when it cannot be opened.
    File(PathBuf),
    /// `--store postgresql://…` or key=value conninfo: a team store, in
    /// `schema` of that database.
    Server { conninfo: String, schema: String },
    /// `--no-store`.
    Off,
}

impl StoreChoice {
    pub fn from_flags(store: Option<&str>, no_store: bool) -> StoreChoice {
        match store {
            _ if no_store => StoreChoice::Off,
            None => StoreChoice::Default,
            Some(text) if looks_like_conninfo(text) => StoreChoice::Server {
                conninfo: text.to_string(),
                schema: DEFAULT_TEAM_SCHEMA.to_string(),
            },
            Some(path) => StoreChoice::File(PathBuf::from(path)),
        }
    }

    /// `--store-schema NAME`: the schema of a team store. Naming one for a
    /// store file is an error (the flag would otherwise be silently ignored);
    /// with `--no-store` nothing is recorded anyway.
    pub fn with_schema(self, schema: Option<&str>) -> Result<StoreChoice, StoreError> {
        match (self, schema) {
            (choice, None) => Ok(choice),
            (StoreChoice::Server { conninfo, .. }, Some(schema)) => Ok(StoreChoice::Server {
                conninfo,
                schema: schema.to_string(),
            }),
            (StoreChoice::Off, Some(_)) => Ok(StoreChoice::Off),
            (file, Some(_)) => Err(StoreError::Open {
                location: match file {
                    StoreChoice::File(path) => path.display().to_string(),
                    _ => DEFAULT_FILE.to_string(),
                },
                message: "--store-schema is for a team store on a PostgreSQL server \
                          (--store postgresql://…); a store file has no schema"
                    .into(),
            }),
        }
    }

    /// Whether the user named the store (then failing to open it is an error).
    pub fn is_explicit(&self) -> bool {
        matches!(self, StoreChoice::File(_) | StoreChoice::Server { .. })
    }

    /// Open the chosen store; `None` for `--no-store`.
    pub fn open(&self) -> Result<Option<EvidenceStore>, StoreError> {
        match self {
            StoreChoice::Off => Ok(None),
            StoreChoice::Default => {
                let path = default_path().ok_or_else(|| StoreError::Open {
                    location: DEFAULT_FILE.into(),
                    message: "this system has no data folder for pgSafeguard (no home folder)"
                        .into(),
                })?;
                EvidenceStore::open_file(&path).map(Some)
            }
            StoreChoice::File(path) => EvidenceStore::open_file(path).map(Some),
            StoreChoice::Server { conninfo, schema } => {
                super::postgres::open(conninfo, schema).map(Some)
            }
        }
    }
}

/// The default store: `evidence.sqlite` in the data folder
/// (e.g. `~/.local/share/pgsafeguard/` on Linux).
pub fn default_path() -> Option<PathBuf> {
    crate::platform_dirs::data_dir().map(|dir| dir.join(DEFAULT_FILE))
}

/// A URI with a PostgreSQL scheme, or libpq key=value pairs; anything else is
/// a file path (a path may contain `=`, so key=value needs a known key first).
fn looks_like_conninfo(text: &str) -> bool {
    let text = text.trim_start();
    if text.starts_with("postgresql://") || text.starts_with("postgres://") {
        return true;
    }
    const KEYS: [&str; 6] = [
        "host=",
        "hostaddr=",
        "dbname=",
        "user=",
        "port=",
        "service=",
    ];
    KEYS.iter().any(|k| text.starts_with(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_choose_the_store() {
        assert_eq!(StoreChoice::from_flags(None, false), StoreChoice::Default);
        assert_eq!(
            StoreChoice::from_flags(Some("x.sqlite"), true),
            StoreChoice::Off
        );
        assert_eq!(
            StoreChoice::from_flags(Some("./a=b.sqlite"), false),
            StoreChoice::File("./a=b.sqlite".into())
        );
        for server in [
            "postgresql://team@db/evidence",
            "postgres://db/evidence",
            "host=db dbname=evidence",
            "dbname=evidence",
        ] {
            assert_eq!(
                StoreChoice::from_flags(Some(server), false),
                StoreChoice::Server {
                    conninfo: server.into(),
                    schema: DEFAULT_TEAM_SCHEMA.into()
                },
                "{server}"
            );
        }
        assert!(!StoreChoice::Default.is_explicit());
        assert!(StoreChoice::File("x".into()).is_explicit());
    }

    #[test]
    fn a_schema_is_for_a_team_store_only() {
        let team = StoreChoice::from_flags(Some("dbname=evidence"), false);
        assert_eq!(
            team.clone().with_schema(Some("audit")).unwrap(),
            StoreChoice::Server {
                conninfo: "dbname=evidence".into(),
                schema: "audit".into()
            }
        );
        assert_eq!(team.clone().with_schema(None).unwrap(), team);
        assert_eq!(
            StoreChoice::Off.with_schema(Some("audit")).unwrap(),
            StoreChoice::Off
        );
        for file in [StoreChoice::Default, StoreChoice::File("x.sqlite".into())] {
            let err = file.with_schema(Some("audit")).unwrap_err().to_string();
            assert!(err.contains("--store-schema is for a team store"), "{err}");
        }
    }
}
