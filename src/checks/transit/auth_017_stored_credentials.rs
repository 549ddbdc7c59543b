//! AUTH-017: credentials stored in catalogs for outbound connections.
//!
//! A password in a user mapping, a foreign server's options or a
//! subscription's connection string sits in the catalogs (and in every
//! backup and dump of them) in clear text, readable by superusers and, for
//! user mappings, by the mapped role and the server's owner. The collector
//! returns only *that* a credential option exists (its name, or a yes/no
//! for a connection string), never its value; this check reports where.

use crate::checks::facts::{listing, part_missing};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::{DatabaseFacts, ForeignServer, Snapshot, Subscription, UserMapping};
use crate::model::statement::{Grantee, OptionsOf, Statement};
use crate::policy::Policy;

pub static STORED_CREDENTIALS: Check = Check {
    id: "AUTH-017",
    section: Section::Transit,
    title: "No password is stored in catalogs for outbound connections",
    severity: Severity::High,
    hipaa: &["164.312(d)", "164.312(a)(2)(iv)"],
    cis: None,
    rationale: "User mappings (postgres_fdw, dblink_fdw), foreign-server options and \
        subscription connection strings can hold a password for another server. It is \
        stored in clear text in the catalogs, copied into every dump and base backup, and \
        readable by superusers and, for a user mapping, by the mapped role and the server's \
        owner: a credential to another database of PHI that no rotation policy sees. High. \
        The scan reports that a credential is stored, for which server and role, never its \
        value (it is tested on the server). Options the scanner may not read (another \
        role's user mapping, pg_subscription.subconninfo) make the check unknown, never \
        pass.",
    reproduce_sql: "SELECT srvname, usename, (SELECT array_agg(option_name) FROM \
        pg_options_to_table(umoptions) WHERE option_name ~* 'pass|pwd|secret|token') FROM \
        pg_user_mappings;\nSELECT srvname, (SELECT array_agg(option_name) FROM \
        pg_options_to_table(srvoptions) WHERE option_name ~* 'pass|pwd|secret|token') FROM \
        pg_foreign_server;\nSELECT subname, subconninfo ~* 'password' FROM pg_subscription;",
    evaluate: stored_credentials,
    fix: Fix::Build(drop_stored_credentials),
};

/// What cannot be seen: a reason and the grant that would show it.
struct Blind {
    reasons: Vec<String>,
    grant: Option<String>,
}

const HIDDEN_MAPPING_GRANT: &str = "scan as a superuser: PostgreSQL shows a user mapping's \
    options only to superusers, the mapped role and members of the server's owner";

fn stored_credentials(s: &Snapshot, _: &Policy) -> Verdict {
    let mut found: Vec<String> = Vec::new();
    let mut blind = Blind {
        reasons: Vec::new(),
        grant: None,
    };
    let mut counts = (0usize, 0usize);
    for db in &s.databases {
        match &db.user_mappings {
            Some(mappings) => {
                counts.0 += mappings.len();
                for m in mappings {
                    match &m.credential_options {
                        Some(names) if !names.is_empty() => found.push(mapping_key(db, m)),
                        Some(_) => {}
                        None => {
                            blind.reasons.push(format!(
                                "the options of {} are hidden from the scanner",
                                mapping_label(db, m)
                            ));
                            blind.grant.get_or_insert(HIDDEN_MAPPING_GRANT.into());
                        }
                    }
                }
            }
            None => blind.missing(s, "user_mappings", &db.name),
        }
        match &db.foreign_servers {
            Some(servers) => {
                counts.1 += servers.len();
                found.extend(
                    servers
                        .iter()
                        .filter(|f| !f.credential_options.is_empty())
                        .map(|f| server_key(db, f)),
                );
            }
            None => blind.missing(s, "foreign_servers", &db.name),
        }
    }
    let subscriptions = match &s.subscriptions {
        Some(list) => {
            found.extend(
                list.iter()
                    .filter(|sub| sub.stores_password)
                    .map(subscription_key),
            );
            list.len().to_string()
        }
        None => {
            blind.missing(s, "subscriptions", "the cluster");
            "unknown".into()
        }
    };
    if s.databases.is_empty() {
        blind.missing(s, "user_mappings", "any database");
    }
    found.sort();
    let seen = format!(
        "{} user mapping(s) and {} foreign server(s) in {} database(s), {subscriptions} \
         subscription(s)",
        counts.0,
        counts.1,
        s.databases.len()
    );
    let blind_note = if blind.reasons.is_empty() {
        String::new()
    } else {
        format!("; not decided: {}", listing(&blind.reasons))
    };
    if !found.is_empty() {
        return Verdict::fail(format!(
            "{} stored credential(s) (values never read): {}; {seen}{blind_note}",
            found.len(),
            listing(&found)
        ))
        .with_objects(found);
    }
    if !blind.reasons.is_empty() {
        let mut verdict = Verdict::unknown(
            format!("no stored password seen, but {}", listing(&blind.reasons)),
            blind.grant,
        );
        verdict.evidence = format!("{}; {seen}", verdict.evidence);
        return verdict;
    }
    Verdict::pass(format!(
        "no user mapping, foreign server or subscription stores a password; {seen}"
    ))
}

impl Blind {
    /// A part that was not collected (older snapshot or a gap).
    fn missing(&mut self, s: &Snapshot, part: &str, scope: &str) {
        let verdict = part_missing(s, part, String::new());
        self.reasons
            .push(format!("{part} in {scope}: {}", verdict.evidence));
        if self.grant.is_none() {
            self.grant = verdict.grant.filter(|g| !g.is_empty());
        }
    }
}

fn role_label(m: &UserMapping) -> &str {
    m.role.as_deref().unwrap_or("PUBLIC")
}

fn mapping_label(db: &DatabaseFacts, m: &UserMapping) -> String {
    format!(
        "user mapping for {} on server {} (database {})",
        role_label(m),
        m.server,
        db.name
    )
}

/// Object keys: rebuilt by the fix builder with the same functions.
fn mapping_key(db: &DatabaseFacts, m: &UserMapping) -> String {
    let names = m.credential_options.as_deref().unwrap_or(&[]);
    format!("{}: option {}", mapping_label(db, m), names.join(", "))
}

fn server_key(db: &DatabaseFacts, f: &ForeignServer) -> String {
    format!(
        "foreign server {} ({}, owner {}, database {}): option {}",
        f.name,
        f.wrapper,
        f.owner,
        db.name,
        f.credential_options.join(", ")
    )
}

fn subscription_key(sub: &Subscription) -> String {
    format!(
        "subscription {} (owner {}, database {}): password in the connection string",
        sub.name, sub.owner, sub.database
    )
}

/// Drops the listed options in the connected database. The secret is never
/// known to pgSafeguard, so there is no rollback: the fix is irreversible
/// and says to put the replacement credential in place first.
fn drop_stored_credentials(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let listed: std::collections::BTreeSet<&str> =
        verdict.objects.iter().map(String::as_str).collect();
    let mut statements = Vec::new();
    if let Some(db) = s.databases.first() {
        for m in db.user_mappings.as_deref().unwrap_or(&[]) {
            if listed.contains(mapping_key(db, m).as_str()) {
                let user = m.role.clone().map_or(Grantee::Public, Grantee::Role);
                statements.push(Statement::DropOptions {
                    of: OptionsOf::UserMapping {
                        user,
                        server: m.server.clone(),
                    },
                    options: m.credential_options.clone().unwrap_or_default(),
                });
            }
        }
        for f in db.foreign_servers.as_deref().unwrap_or(&[]) {
            if listed.contains(server_key(db, f).as_str()) {
                statements.push(Statement::DropOptions {
                    of: OptionsOf::Server(f.name.clone()),
                    options: f.credential_options.clone(),
                });
            }
        }
    }
    let mut note = String::from(
        "first give the outbound connection another credential: a client certificate \
         (sslcert/sslkey options) or a password file readable only by the server's operating \
         system user (passfile, .pgpass), or a remote role without password login; \
         postgres_fdw refuses a non-superuser's mapping without a password unless a superuser \
         sets password_required 'false' on it. The stored value is never read by pgSafeguard, \
         so it cannot be put back: there is no rollback",
    );
    if verdict
        .objects
        .iter()
        .any(|o| o.starts_with("subscription "))
    {
        note.push_str(
            "; for a subscription, ALTER SUBSCRIPTION … CONNECTION with a connection string \
             without password (sslcert/sslkey, or a .pgpass of the subscriber's operating \
             system user)",
        );
    }
    if s.databases.len() > 1 {
        note.push_str(
            "; statements cover the connected database only: run the fix connected to each \
             other listed database",
        );
    }
    FixPlan {
        apply: vec![ApplyClass::Immediate],
        statements,
        rollback: Vec::new(),
        needs: "superuser, or the foreign server's owner".into(),
        note,
        irreversible: true,
        ..FixPlan::default()
    }
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{base, db, Case};
    let with = |options: Vec<String>| {
        let mut s = base();
        s.subscriptions = Some(Vec::new());
        let facts = db(&mut s);
        facts.foreign_servers = Some(vec![ForeignServer {
            name: "billing".into(),
            owner: "postgres".into(),
            wrapper: "postgres_fdw".into(),
            credential_options: Vec::new(),
        }]);
        facts.user_mappings = Some(vec![UserMapping {
            server: "billing".into(),
            role: Some("clinic_app".into()),
            credential_options: Some(options),
        }]);
        s
    };
    vec![Case::new(
        "AUTH-017",
        with(Vec::new()),
        with(vec!["password".into()]),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::{db, judge, outside_quotes};
    use crate::model::finding::Status;

    fn bad() -> Snapshot {
        cases().remove(0).bad
    }

    #[test]
    fn names_server_and_role_and_drops_the_option() {
        let f = judge("AUTH-017", &bad());
        assert_eq!(f.status, Status::Fail);
        assert_eq!(
            f.objects,
            vec![
                "user mapping for clinic_app on server billing (database clinic): option password"
                    .to_string()
            ]
        );
        let plan = f.fix.unwrap_or_default();
        assert_eq!(
            plan.statements,
            vec!["ALTER USER MAPPING FOR \"clinic_app\" SERVER \"billing\" OPTIONS (DROP \"password\")"]
        );
        assert!(plan.rollback.is_empty() && plan.irreversible);
    }

    #[test]
    fn servers_public_mappings_and_subscriptions() {
        let mut s = bad();
        let facts = db(&mut s);
        if let Some(m) = facts.user_mappings.as_mut() {
            m[0].role = None;
        }
        if let Some(f) = facts.foreign_servers.as_mut() {
            f[0].credential_options = vec!["password".into(), "secret_token".into()];
        }
        s.subscriptions = Some(vec![Subscription {
            name: "from_lab".into(),
            database: "clinic".into(),
            owner: "postgres".into(),
            stores_password: true,
        }]);
        let f = judge("AUTH-017", &s);
        assert_eq!(f.objects.len(), 3, "{:?}", f.objects);
        let plan = f.fix.unwrap_or_default();
        assert_eq!(
            plan.statements,
            vec![
                "ALTER USER MAPPING FOR PUBLIC SERVER \"billing\" OPTIONS (DROP \"password\")",
                "ALTER SERVER \"billing\" OPTIONS (DROP \"password\", DROP \"secret_token\")",
            ]
        );
        assert!(plan.note.contains("ALTER SUBSCRIPTION"));
    }

    #[test]
    fn hidden_options_and_older_snapshots_are_unknown() {
        let mut s = cases().remove(0).good;
        if let Some(m) = db(&mut s).user_mappings.as_mut() {
            m[0].credential_options = None;
        }
        let f = judge("AUTH-017", &s);
        assert_eq!(f.status, Status::Unknown, "{}", f.evidence);
        assert!(f.grant.unwrap_or_default().contains("superuser"));
        let mut old = crate::checks::testkit::base();
        old.subscriptions = None;
        assert_eq!(judge("AUTH-017", &old).status, Status::Unknown);
        // A stored password elsewhere still fails.
        let mut mixed = bad();
        mixed.subscriptions = None;
        assert_eq!(judge("AUTH-017", &mixed).status, Status::Fail);
    }

    #[test]
    fn hostile_names_stay_quoted() {
        for name in ["a\"; DROP ROLE x; --", "line\nbreak", "ünï"] {
            let mut s = bad();
            if let Some(m) = db(&mut s).user_mappings.as_mut() {
                m[0].server = name.into();
                m[0].role = Some(name.into());
            }
            let f = judge("AUTH-017", &s);
            for statement in f.fix.unwrap_or_default().statements {
                let bare = outside_quotes(&statement.to_string());
                assert!(!bare.contains(';') && !bare.contains('\n'), "{statement:?}");
            }
        }
    }
}
