//! Which server a record is about. A standby shares its primary's system
//! identifier, so the identity is the system identifier together with the
//! host, port and database the scan connected to.

use crate::model::snapshot::Target;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TargetIdentity {
    pub system_identifier: Option<String>,
    pub host: String,
    pub port: u16,
    pub dbname: String,
}

impl TargetIdentity {
    pub fn of(target: &Target) -> TargetIdentity {
        TargetIdentity {
            system_identifier: target.system_identifier.clone(),
            host: target.host.clone(),
            port: target.port,
            dbname: target.dbname.clone(),
        }
    }

    /// The stable key records are filed under.
    pub fn key(&self) -> String {
        format!(
            "{}/{}:{}/{}",
            self.system_identifier
                .as_deref()
                .unwrap_or("unknown-system"),
            self.host,
            self.port,
            self.dbname
        )
    }

    /// How people name it: `clinic on db1:5432`.
    pub fn label(&self) -> String {
        format!("{} on {}:{}", self.dbname, self.host, self.port)
    }

    /// Whether a user's TARGET argument names this server: the key, `host:port/db`,
    /// `host/db`, the database name, the host, or the system identifier.
    pub fn matches(&self, selector: &str) -> bool {
        let selector = selector.trim();
        selector == self.key()
            || selector == format!("{}:{}/{}", self.host, self.port, self.dbname)
            || selector == format!("{}/{}", self.host, self.dbname)
            || selector == self.dbname
            || selector == self.host
            || self.system_identifier.as_deref() == Some(selector)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clinic() -> TargetIdentity {
        TargetIdentity {
            system_identifier: Some("7312".into()),
            host: "db1".into(),
            port: 5432,
            dbname: "clinic".into(),
        }
    }

    #[test]
    fn a_standby_is_a_different_target_with_the_same_system() {
        let standby = TargetIdentity {
            host: "db2".into(),
            ..clinic()
        };
        assert_ne!(standby.key(), clinic().key());
        assert!(standby.matches("7312") && clinic().matches("7312"));
    }

    #[test]
    fn selectors() {
        let t = clinic();
        for s in [
            "7312/db1:5432/clinic",
            "db1:5432/clinic",
            "db1/clinic",
            "clinic",
            "db1",
        ] {
            assert!(t.matches(s), "{s}");
        }
        assert!(!t.matches("billing"));
        assert!(!t.matches("db1:5433/clinic"));
    }
}
