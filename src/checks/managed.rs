//! Managed PostgreSQL services: recognising Amazon RDS, Amazon Aurora, Azure
//! Database for PostgreSQL (flexible server) and Google Cloud SQL from the
//! snapshot, and the declarative table of what each provider controls in
//! place of the customer.
//!
//! On a managed service the customer cannot edit pg_hba.conf, pg_ident.conf,
//! file modes, the Unix socket or the host; the provider offers an
//! equivalent control instead (a parameter such as `rds.force_ssl`, security
//! groups, the console). [`CONTROLS`] says, per check and provider, whether
//! the check is not applicable (and names the equivalent control), judged on
//! a provider setting, or judged as usual with the provider's fix procedure.
//! `checks::evaluate_one` and `Check::plan` consult it, so no section file
//! needs provider if-chains. The provider's own roles are listed here too, so
//! that the privilege checks leave them out. Where ALTER SYSTEM is not
//! allowed (a managed service, or `allow_alter_system = off`),
//! [`without_alter_system`] turns a plan's parameter statements into
//! instructions for where the parameters live.
//!
//! Pure functions over the snapshot; must not import `db`, `ui`, `report` or
//! a section file.

use super::facts::{describe, is_off, need_setting, value};
use super::{Check, Verdict};
use crate::model::finding::{ApplyClass, FixPlan};
use crate::model::snapshot::{Membership, Role, Snapshot};
use crate::model::statement::Statement;
use std::collections::BTreeSet;
use std::ops::Bound;

/// A managed PostgreSQL service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Provider {
    Rds,
    Aurora,
    Azure,
    CloudSql,
}

/// What one provider calls its pieces; the templates in [`CONTROLS`] use
/// these as `{provider}`, `{parameters}` and so on.
struct Vocabulary {
    name: &'static str,
    parameters: &'static str,
    network: &'static str,
    console: &'static str,
    logs: &'static str,
    backups: &'static str,
    compliance: &'static str,
    admin_group: &'static str,
    /// The provider's own superusers, never the customer's to change.
    superusers: &'static [&'static str],
    /// Setting-name prefixes only this provider's servers have.
    setting_prefixes: &'static [&'static str],
    /// Role names (exact) and prefixes of roles the provider creates.
    own_roles: &'static [&'static str],
    own_role_prefixes: &'static [&'static str],
}

const RDS_ROLES: &[&str] = &["rdsadmin", "rdsrepladmin", "rdstopmgr", "rdsproxyadmin"];

const RDS: Vocabulary = Vocabulary {
    name: "Amazon RDS for PostgreSQL",
    parameters: "the DB parameter group",
    network: "VPC security groups and private subnets",
    console: "the RDS console or `aws rds`",
    logs: "the CloudWatch Logs export",
    backups: "automated backups with a backup retention period",
    compliance: "AWS Artifact",
    admin_group: "rds_superuser",
    superusers: &["rdsadmin"],
    setting_prefixes: &["rds."],
    own_roles: RDS_ROLES,
    own_role_prefixes: &["rds_"],
};

const AURORA: Vocabulary = Vocabulary {
    name: "Amazon Aurora PostgreSQL",
    parameters: "the DB cluster parameter group",
    setting_prefixes: &["aurora", "apg_"],
    ..RDS
};

const AZURE: Vocabulary = Vocabulary {
    name: "Azure Database for PostgreSQL flexible server",
    parameters: "the server parameters",
    network: "firewall rules or private access (virtual network, Private Link)",
    console: "the Azure portal or `az postgres flexible-server`",
    logs: "diagnostic settings (Log Analytics)",
    backups: "automatic backups with a backup retention period",
    compliance: "the Microsoft Service Trust Portal",
    admin_group: "azure_pg_admin",
    superusers: &["azuresu", "azure_superuser"],
    setting_prefixes: &["azure."],
    own_roles: &["azuresu", "replication"],
    own_role_prefixes: &["azure_"],
};

const CLOUD_SQL: Vocabulary = Vocabulary {
    name: "Google Cloud SQL for PostgreSQL",
    parameters: "the database flags",
    network: "authorized networks or private IP",
    console: "the Google Cloud console or `gcloud sql`",
    logs: "Cloud Logging",
    backups: "automated backups with point-in-time recovery",
    compliance: "Google Cloud's compliance reports",
    admin_group: "cloudsqlsuperuser",
    superusers: &["cloudsqladmin"],
    setting_prefixes: &["cloudsql."],
    own_roles: &[],
    own_role_prefixes: &["cloudsql"],
};

impl Provider {
    /// Aurora first: its servers carry `rds.*` settings too.
    const ALL: [Provider; 4] = [
        Provider::Aurora,
        Provider::Rds,
        Provider::Azure,
        Provider::CloudSql,
    ];

    fn words(self) -> &'static Vocabulary {
        match self {
            Provider::Rds => &RDS,
            Provider::Aurora => &AURORA,
            Provider::Azure => &AZURE,
            Provider::CloudSql => &CLOUD_SQL,
        }
    }

    /// The service's name, e.g. "Amazon RDS for PostgreSQL".
    pub fn name(self) -> &'static str {
        self.words().name
    }

    /// Where its parameters are set: "the DB parameter group", "the server
    /// parameters", "the database flags".
    pub fn parameter_store(self) -> &'static str {
        self.words().parameters
    }

    /// The console or CLI that changes the instance.
    pub fn console(self) -> &'static str {
        self.words().console
    }

    /// The role the provider gives the customer's administrators
    /// (`rds_superuser`, `azure_pg_admin`, `cloudsqlsuperuser`). Not a
    /// superuser.
    pub fn admin_group(self) -> &'static str {
        self.words().admin_group
    }

    /// The provider's own superusers (`rdsadmin`, `azuresu`, …).
    pub fn superusers(self) -> &'static [&'static str] {
        self.words().superusers
    }

    /// Whether the provider created and runs `role` (its superusers, agents,
    /// replication and IAM roles, the administrator group itself).
    pub fn owns_role(self, role: &str) -> bool {
        let w = self.words();
        w.superusers.contains(&role)
            || w.own_roles.contains(&role)
            || w.own_role_prefixes.iter().any(|p| role.starts_with(p))
    }

    /// Fill `{provider}`, `{parameters}`, … in a template of [`CONTROLS`].
    fn fill(self, template: &str) -> String {
        let w = self.words();
        [
            ("{provider}", w.name),
            ("{parameters}", w.parameters),
            ("{network}", w.network),
            ("{console}", w.console),
            ("{logs}", w.logs),
            ("{backups}", w.backups),
            ("{compliance}", w.compliance),
            ("{admin_group}", w.admin_group),
        ]
        .iter()
        .fold(template.to_string(), |text, (key, word)| {
            text.replace(key, word)
        })
        .replace("{superusers}", &w.superusers.join(", "))
    }
}

// ---------------------------------------------------------------------------
// Detection

/// The provider of the scanned server, if it is a managed service: the
/// first provider whose settings show, else the first whose roles do (an
/// Aurora cluster's roles are RDS's, so roles alone say RDS).
///
/// Every check and every fix plan asks, so this looks settings up by prefix
/// in the sorted map and roles at superusers first (there are few).
pub fn detect(snapshot: &Snapshot) -> Option<Provider> {
    Provider::ALL
        .into_iter()
        .find(|p| has_setting_marker(snapshot, *p))
        .or_else(|| {
            Provider::ALL
                .into_iter()
                .filter(|p| *p != Provider::Aurora)
                .find(|p| role_marker(snapshot, *p).is_some())
        })
}

/// What in the snapshot shows that `provider` runs the server.
pub fn markers(snapshot: &Snapshot, provider: Provider) -> Vec<String> {
    let mut found = setting_markers(snapshot, provider);
    found.extend(role_marker(snapshot, provider));
    found
}

/// Whether a setting name starts with one of the provider's prefixes: the
/// first name at or after a prefix in the sorted map is the only candidate.
fn has_setting_marker(snapshot: &Snapshot, provider: Provider) -> bool {
    snapshot.settings.as_ref().is_some_and(|settings| {
        provider.words().setting_prefixes.iter().any(|prefix| {
            settings
                .range::<str, _>((Bound::Included(*prefix), Bound::Unbounded))
                .next()
                .is_some_and(|(name, _)| name.starts_with(prefix))
        })
    })
}

/// Up to two settings with the provider's prefixes.
fn setting_markers(snapshot: &Snapshot, provider: Provider) -> Vec<String> {
    let prefixes = provider.words().setting_prefixes;
    snapshot
        .settings
        .iter()
        .flat_map(|settings| settings.keys())
        .filter(|name| prefixes.iter().any(|p| name.starts_with(p)))
        .take(2)
        .map(|name| format!("setting {name}"))
        .collect()
}

/// The provider's administrator group together with its own superuser
/// holding SUPERUSER. A role name alone is not enough: a dump restored from
/// a managed service brings the names along, but not a superuser the
/// customer never had.
fn role_marker(snapshot: &Snapshot, provider: Provider) -> Option<String> {
    let w = provider.words();
    let roles = snapshot.roles.as_deref()?;
    let superuser = roles
        .iter()
        .find(|r| r.superuser && w.superusers.contains(&r.name.as_str()))?;
    roles.iter().find(|r| r.name == w.admin_group)?;
    Some(format!(
        "role {} with superuser {}",
        w.admin_group, superuser.name
    ))
}

// ---------------------------------------------------------------------------
// The provider's roles

/// The customer's first administrator on a managed service (the master or
/// server admin user created with the instance): the login member of the
/// provider's administrator group with the lowest oid, leaving out the
/// provider's own roles. It stands in for the bootstrap superuser, which
/// belongs to the provider there.
pub fn master_user<'a>(
    provider: Provider,
    roles: &'a [Role],
    memberships: Option<&[Membership]>,
) -> Option<&'a Role> {
    let members: BTreeSet<&str> = memberships
        .unwrap_or(&[])
        .iter()
        .filter(|m| m.role == provider.admin_group())
        .map(|m| m.member.as_str())
        .collect();
    roles
        .iter()
        .filter(|r| r.can_login && members.contains(r.name.as_str()))
        .filter(|r| !provider.owns_role(&r.name))
        .min_by_key(|r| r.oid)
}

// ---------------------------------------------------------------------------
// What the provider controls

/// How a check is treated on a managed service.
pub enum Handling {
    /// The provider owns the control: `not_applicable`, with the text naming
    /// the equivalent control.
    ProviderControls(&'static str),
    /// Judged on a provider setting when the scan sees it (pass when its
    /// value is one of `passes`); otherwise as `ProviderControls(note)`.
    ProviderSetting {
        name: &'static str,
        passes: &'static [&'static str],
        fix_value: &'static str,
        note: &'static str,
    },
    /// Judged as usual, but the fix is the provider's procedure.
    ProviderFix(&'static str),
}

/// One row of [`CONTROLS`].
pub struct Control {
    pub id: &'static str,
    pub on: &'static [Provider],
    pub how: Handling,
}

const EVERY: &[Provider] = &[
    Provider::Rds,
    Provider::Aurora,
    Provider::Azure,
    Provider::CloudSql,
];
const AWS: &[Provider] = &[Provider::Rds, Provider::Aurora];
const ONLY_AZURE: &[Provider] = &[Provider::Azure];
const ONLY_CLOUD_SQL: &[Provider] = &[Provider::CloudSql];
const AZURE_AND_GOOGLE: &[Provider] = &[Provider::Azure, Provider::CloudSql];

use Handling::{ProviderControls, ProviderFix, ProviderSetting};

/// Per check and provider, what stands in for the customer's control. The
/// first row naming both the check and the provider applies; checks not
/// listed are judged as usual (and their ALTER SYSTEM fixes re-routed to the
/// provider's parameters, see [`without_alter_system`]).
pub static CONTROLS: &[Control] = &[
    // --- pg_hba.conf and pg_ident.conf are the provider's.
    Control {
        id: "TLS-004",
        on: AWS,
        how: ProviderSetting {
            name: "rds.force_ssl",
            passes: &["1", "on", "true"],
            fix_value: "1",
            note: "{provider} writes pg_hba.conf itself: TLS is enforced with the parameter \
                rds.force_ssl = 1 in {parameters}, and who can connect is limited by {network}",
        },
    },
    Control {
        id: "TLS-004",
        on: ONLY_AZURE,
        how: ProviderSetting {
            name: "require_secure_transport",
            passes: &["on", "1", "true"],
            fix_value: "on",
            note: "{provider} writes pg_hba.conf itself: TLS is enforced with the server \
                parameter require_secure_transport = on, and who can connect is limited by \
                {network}",
        },
    },
    Control {
        id: "TLS-004",
        on: ONLY_CLOUD_SQL,
        how: ProviderControls(
            "{provider} writes pg_hba.conf itself: require TLS with the instance's SSL mode \
             ENCRYPTED_ONLY or TRUSTED_CLIENT_CERTIFICATE_REQUIRED (`gcloud sql instances patch \
             --ssl-mode=…`) and limit who can connect with {network}",
        ),
    },
    Control {
        id: "TLS-008",
        on: AWS,
        how: ProviderControls(
            "{provider} writes pg_hba.conf itself and offers no client-certificate \
             authentication; use IAM database authentication (rds_iam) or Kerberos where \
             logins need more than a password",
        ),
    },
    Control {
        id: "TLS-008",
        on: ONLY_AZURE,
        how: ProviderControls(
            "{provider} writes pg_hba.conf itself and offers no client-certificate \
             authentication; use Microsoft Entra ID authentication where logins need more than \
             a password",
        ),
    },
    Control {
        id: "TLS-008",
        on: ONLY_CLOUD_SQL,
        how: ProviderControls(
            "{provider} checks client certificates itself: require them with the SSL mode \
             TRUSTED_CLIENT_CERTIFICATE_REQUIRED, or connect through the Cloud SQL Auth Proxy \
             with IAM database authentication",
        ),
    },
    Control {
        id: "AUTH-003",
        on: EVERY,
        how: ProviderControls(
            "{provider} writes pg_hba.conf itself and has no trust line for customer \
             connections: every login authenticates with a password or the provider's IAM",
        ),
    },
    Control {
        id: "AUTH-004",
        on: AWS,
        how: ProviderSetting {
            name: "rds.accepted_password_auth_method",
            passes: &["scram"],
            fix_value: "scram",
            note: "{provider} writes pg_hba.conf itself (its lines say md5, which also accepts \
                SCRAM verifiers); refuse md5 verifiers with rds.accepted_password_auth_method = \
                scram in {parameters} (PostgreSQL 14+) after every password is SCRAM (AUTH-002)",
        },
    },
    Control {
        id: "AUTH-004",
        on: AZURE_AND_GOOGLE,
        how: ProviderControls(
            "{provider} writes pg_hba.conf itself; make SCRAM the only password method by \
             setting password_encryption = scram-sha-256 in {parameters} and setting every \
             password again (AUTH-001, AUTH-002)",
        ),
    },
    Control {
        id: "AUTH-005",
        on: EVERY,
        how: ProviderControls(
            "{provider} writes pg_hba.conf itself; its TLS lines authenticate with passwords \
             (SCRAM once password_encryption = scram-sha-256, AUTH-001) or the provider's IAM",
        ),
    },
    Control {
        id: "AUTH-006",
        on: EVERY,
        how: ProviderControls(
            "{provider} writes pg_hba.conf itself; which client addresses reach the server is \
             decided by {network}",
        ),
    },
    Control {
        id: "AUTH-007",
        on: EVERY,
        how: ProviderControls(
            "{provider} writes pg_hba.conf itself; limit databases per role with CONNECT \
             privileges (REVOKE CONNECT ON DATABASE … FROM PUBLIC, then GRANT per role) and \
             the network with {network}",
        ),
    },
    Control {
        id: "AUTH-008",
        on: EVERY,
        how: ProviderControls(
            "the superuser ({superusers}) belongs to {provider} and cannot log in from customer \
             networks; the customer's administrators are members of {admin_group}, judged in \
             PRIV-001",
        ),
    },
    Control {
        id: "AUTH-009",
        on: EVERY,
        how: ProviderControls("{provider} writes and validates pg_hba.conf itself"),
    },
    Control {
        id: "AUTH-010",
        on: EVERY,
        how: ProviderControls(
            "{provider} manages pg_ident.conf: no user-name map is the customer's to write",
        ),
    },
    Control {
        id: "AUTH-011",
        on: EVERY,
        how: ProviderControls(
            "{provider} writes pg_hba.conf itself and asks every login for a password or an \
             IAM token; a login role without a password can sign in only through the \
             provider's IAM authentication",
        ),
    },
    // --- Listening, replication and certificates.
    Control {
        id: "TLS-006",
        on: EVERY,
        how: ProviderFix(
            "{provider} issues and installs the server certificate: rotate it or choose its \
             certificate authority in {console}, and give clients the provider's CA bundle \
             with sslmode=verify-full",
        ),
    },
    Control {
        id: "TLS-007",
        on: EVERY,
        how: ProviderControls(
            "replication between {provider} instances (standbys, read replicas) is set up and \
             encrypted by the provider; primary_conninfo is not the customer's to write",
        ),
    },
    Control {
        id: "TLS-009",
        on: EVERY,
        how: ProviderControls(
            "{provider} chooses the addresses the server listens on; limit who can reach the \
             endpoint with {network}",
        ),
    },
    // --- Host, files and storage.
    Control {
        id: "EAR-001",
        on: &[Provider::Aurora, Provider::CloudSql],
        how: ProviderControls(
            "{provider} checks every page in its storage layer; data_checksums is not the \
             customer's to enable and integrity of stored pages is the provider's control",
        ),
    },
    Control {
        id: "EAR-001",
        on: &[Provider::Rds, Provider::Azure],
        how: ProviderFix(
            "{provider} fixes data checksums when it creates the cluster and customers cannot \
             run pg_checksums: record an accepted risk that relies on the provider's storage \
             integrity, or move the data to a new instance created with checksums where the \
             provider offers it",
        ),
    },
    Control {
        id: "EAR-007",
        on: EVERY,
        how: ProviderControls(
            "the data directory is on {provider}'s hosts, whose file permissions are the \
             provider's control (see {compliance})",
        ),
    },
    Control {
        id: "EAR-008",
        on: EVERY,
        how: ProviderControls(
            "configuration files and the TLS key are on {provider}'s hosts and managed by the \
             provider; customers configure the server through {parameters}",
        ),
    },
    Control {
        id: "EAR-009",
        on: AZURE_AND_GOOGLE,
        how: ProviderControls(
            "{provider} always encrypts data, WAL, logs and backups at rest; customer-managed \
             keys are optional (see {compliance})",
        ),
    },
    Control {
        id: "EAR-009",
        on: AWS,
        how: ProviderFix(
            "check that the instance's storage is encrypted (StorageEncrypted = true with a KMS \
             key, `aws rds describe-db-instances` or `describe-db-clusters`); encryption is \
             chosen when the instance is created, so move an unencrypted one through an \
             encrypted snapshot copy, then attest",
        ),
    },
    Control {
        id: "EAR-010",
        on: EVERY,
        how: ProviderControls(
            "server log files are on {provider}'s hosts; customers read them only through \
             {console} and {logs}, so access follows the cloud account's permissions, not file \
             modes",
        ),
    },
    Control {
        id: "GEN-003",
        on: &[Provider::Aurora],
        // lo_compat_privileges stays the customer's (parameter group): it is still judged.
        how: ProviderSetting {
            name: "lo_compat_privileges",
            passes: &["off", "0", "false"],
            fix_value: "0",
            note: "{provider}'s storage writes pages atomically and keeps six copies, so it \
                runs with full_page_writes off by design; fsync and the recovery-only switches \
                are fixed by the provider; lo_compat_privileges (every large object readable \
                by everyone when on) is set in {parameters}",
        },
    },
    Control {
        id: "GEN-004",
        on: EVERY,
        how: ProviderControls(
            "the Unix socket is on {provider}'s hosts and only the provider's processes use it; \
             customers connect over TCP",
        ),
    },
    Control {
        id: "GEN-005",
        on: EVERY,
        how: ProviderControls(
            "the cryptographic modules of the database hosts are {provider}'s; their FIPS 140 \
             validation status is documented in {compliance}",
        ),
    },
    Control {
        id: "GEN-006",
        on: EVERY,
        how: ProviderControls(
            "the configuration files are {provider}'s and validated by it; a parameter change \
             that waits for a reboot shows as pending-reboot in {console}",
        ),
    },
    Control {
        id: "GEN-001",
        on: EVERY,
        how: ProviderFix(
            "apply the newest minor version from {console} (or turn on automatic minor version \
             upgrades); plan a major version upgrade with the provider's upgrade procedure",
        ),
    },
    // --- Logs.
    Control {
        id: "AUD-001",
        on: ONLY_CLOUD_SQL,
        how: ProviderFix(
            "set the database flag cloudsql.enable_pgaudit = on, then run CREATE EXTENSION \
             pgaudit in each database",
        ),
    },
    Control {
        id: "AUD-005",
        on: EVERY,
        how: ProviderControls(
            "{provider} captures the server log itself; keep it by exporting it with {logs}",
        ),
    },
    Control {
        id: "AUD-006",
        on: AZURE_AND_GOOGLE,
        how: ProviderControls(
            "{provider} stores each server log entry as a structured record in {logs}",
        ),
    },
    Control {
        id: "AUD-012",
        on: EVERY,
        how: ProviderFix(
            "{provider} keeps its hosts' clocks synchronised; when skew shows, synchronise the \
             machine that runs the scan and scan again",
        ),
    },
    Control {
        id: "AUD-013",
        on: EVERY,
        how: ProviderControls(
            "{provider} stores and rotates the server logs outside the data directory; ship \
             them off-host with {logs} and keep them for the retention period in your policy",
        ),
    },
    // --- Backups.
    Control {
        id: "BAK-001",
        on: EVERY,
        how: ProviderFix(BACKUPS_BY_PROVIDER),
    },
    Control {
        id: "BAK-002",
        on: EVERY,
        how: ProviderFix(BACKUPS_BY_PROVIDER),
    },
    Control {
        id: "BAK-003",
        on: EVERY,
        how: ProviderFix(BACKUPS_BY_PROVIDER),
    },
    Control {
        id: "BAK-004",
        on: EVERY,
        how: ProviderFix(BACKUPS_BY_PROVIDER),
    },
    Control {
        id: "BAK-005",
        on: EVERY,
        how: ProviderFix(BACKUP_REVIEW),
    },
    Control {
        id: "BAK-006",
        on: EVERY,
        how: ProviderFix(BACKUP_REVIEW),
    },
    Control {
        id: "BAK-007",
        on: AZURE_AND_GOOGLE,
        how: ProviderControls("{provider} encrypts its automated backups at rest"),
    },
    Control {
        id: "BAK-007",
        on: AWS,
        how: ProviderFix(
            "automated backups and snapshots are encrypted when the instance's storage is \
             (EAR-009); copies to other regions or accounts need their own KMS key; then attest",
        ),
    },
];

const BACKUPS_BY_PROVIDER: &str = "WAL archiving belongs to {provider}'s point-in-time \
    recovery: turn on {backups} in {console} instead of setting archive parameters";

const BACKUP_REVIEW: &str = "{provider} takes the backups: check the newest one and the \
    retention of {backups} in {console}, then attest";

/// The row for `id` on `provider`, if the provider controls that check.
pub fn control(id: &str, provider: Provider) -> Option<&'static Control> {
    CONTROLS
        .iter()
        .find(|c| c.id == id && c.on.contains(&provider))
}

/// The verdict when the provider controls `check` on this server; `None`
/// when the check is judged as usual.
pub fn review(check: &Check, snapshot: &Snapshot) -> Option<Verdict> {
    let provider = detect(snapshot)?;
    let row = control(check.id, provider)?;
    match &row.how {
        ProviderControls(note) => Some(not_applicable(snapshot, provider, note)),
        ProviderSetting {
            name, passes, note, ..
        } => Some(match need_setting(snapshot, name) {
            Ok(setting) => {
                let seen = format!("{}: {}", provider.fill(note), describe(name, setting));
                let v = value(setting).trim().to_ascii_lowercase();
                if passes.contains(&v.as_str()) {
                    Verdict::pass(seen)
                } else {
                    Verdict::fail(seen)
                }
            }
            Err(_) => not_applicable(snapshot, provider, note),
        }),
        ProviderFix(_) => None,
    }
}

fn not_applicable(snapshot: &Snapshot, provider: Provider, note: &str) -> Verdict {
    Verdict::not_applicable(format!(
        "{} (recognised by {})",
        provider.fill(note),
        markers(snapshot, provider).join(", ")
    ))
}

/// The provider's fix when it replaces the check's own; `None` when the
/// check's plan stands (ALTER SYSTEM in it is re-routed separately).
pub fn provider_plan(check: &Check, snapshot: &Snapshot) -> Option<FixPlan> {
    let provider = detect(snapshot)?;
    let row = control(check.id, provider)?;
    let note = match &row.how {
        ProviderControls(_) => return None,
        ProviderSetting {
            name, fix_value, ..
        } => {
            let old = snapshot
                .setting(name)
                .map_or_else(|| "its default".to_string(), |s| value(s).to_string());
            format!(
                "set {name} = {fix_value} in {} ({}); to undo, set it back to {old}",
                provider.parameter_store(),
                provider.console()
            )
        }
        ProviderFix(text) => provider.fill(text),
    };
    Some(FixPlan {
        apply: vec![ApplyClass::Manual],
        needs: format!("access to {}", provider.console()),
        note,
        ..FixPlan::default()
    })
}

/// Whether `role` is one of the provider's own on this server.
pub fn owned_by_provider(provider: Option<Provider>, role: &str) -> bool {
    provider.is_some_and(|p| p.owns_role(role))
}

// ---------------------------------------------------------------------------
// Where ALTER SYSTEM cannot be used

/// Where parameter changes must be made when ALTER SYSTEM is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterHome {
    /// A managed service: its parameter group, server parameters or flags.
    Provider(Provider),
    /// PostgreSQL 17+ with `allow_alter_system = off`: postgresql.conf.
    ConfigFile,
}

/// `None` when ALTER SYSTEM works on this server; otherwise where its
/// parameters live instead.
pub fn alter_system_unavailable(snapshot: &Snapshot) -> Option<ParameterHome> {
    if let Some(provider) = detect(snapshot) {
        return Some(ParameterHome::Provider(provider));
    }
    snapshot
        .setting("allow_alter_system")
        .filter(|s| is_off(value(s)))
        .map(|_| ParameterHome::ConfigFile)
}

/// `name = value` as a person types it into a console or postgresql.conf.
fn shown_assignment(name: &str, values: &[String]) -> String {
    let value = values.join(",");
    if value.is_empty() {
        format!("{name} = ''")
    } else {
        format!("{name} = {value}")
    }
}

/// The plan with its `ALTER SYSTEM` statements turned into instructions for
/// where the parameters live on this server: no ALTER SYSTEM statement is
/// left in statements or rollback; other statements stay.
pub fn without_alter_system(
    snapshot: &Snapshot,
    mut plan: FixPlan,
    home: ParameterHome,
) -> FixPlan {
    let (changes, kept): (Vec<Statement>, Vec<Statement>) = plan
        .statements
        .drain(..)
        .partition(|st| st.system_parameter().is_some());
    plan.statements = kept;
    plan.rollback.retain(|st| st.system_parameter().is_none());
    if changes.is_empty() {
        return plan;
    }
    let wanted: Vec<String> = changes
        .iter()
        .filter_map(|change| match change {
            Statement::SetSystem { parameter, values } => {
                Some(format!("set {}", shown_assignment(parameter, values)))
            }
            Statement::ResetSystem { parameter } => {
                Some(format!("reset {parameter} to its default"))
            }
            _ => None,
        })
        .collect();
    let undo: Vec<String> = changes
        .iter()
        .filter_map(Statement::system_parameter)
        .map(|name| match snapshot.setting(name) {
            Some(old) => shown_assignment(name, &[value(old).to_string()]),
            None => format!("{name} to its default"),
        })
        .collect();
    let restart = plan.apply.contains(&ApplyClass::Restart);
    let instruction = match home {
        ParameterHome::Provider(provider) => {
            plan.apply.retain(|a| *a != ApplyClass::Reload);
            plan.apply.insert(0, ApplyClass::Manual);
            plan.needs = provider_needs(provider, !plan.statements.is_empty(), &plan.needs);
            format!(
                "{} does not allow ALTER SYSTEM: {} in {}{}; to undo, set {} there again",
                provider.name(),
                wanted.join(", "),
                provider.parameter_store(),
                if restart {
                    format!(
                        ", then reboot the instance ({}): static parameters apply only at start",
                        provider.console()
                    )
                } else {
                    String::new()
                },
                undo.join(", ")
            )
        }
        ParameterHome::ConfigFile => {
            plan.apply.insert(0, ApplyClass::Os);
            plan.needs = "write access to postgresql.conf on the database host, and superuser or \
                EXECUTE on pg_reload_conf()"
                .into();
            format!(
                "ALTER SYSTEM is disabled (allow_alter_system = off): {} in postgresql.conf, then {}; \
                 to undo, set {} there again",
                wanted.join(", "),
                if restart { "restart the server" } else { "run SELECT pg_reload_conf()" },
                undo.join(", ")
            )
        }
    };
    plan.note = if plan.note.is_empty() {
        instruction
    } else {
        format!("{instruction}; {}", plan.note)
    };
    plan
}

fn provider_needs(provider: Provider, statements_left: bool, before: &str) -> String {
    let store = format!(
        "permission to change {} ({})",
        provider.parameter_store(),
        provider.console()
    );
    if statements_left {
        format!(
            "{store}; the remaining statements need {} ({before})",
            provider.admin_group()
        )
    } else {
        store
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::{all_cases, judge, judge_with, managed, role, set, with_settings};
    use crate::checks::{evaluate_one, find, registry};
    use crate::model::finding::{Finding, Status};
    use crate::policy::Policy;

    const PROVIDERS: [Provider; 4] = Provider::ALL;

    fn alter_system_in(finding: &Finding) -> Vec<String> {
        finding
            .fix
            .iter()
            .flat_map(|plan| plan.statements.iter().chain(&plan.rollback))
            .filter(|st| st.system_parameter().is_some())
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn alter_system_disabled_sends_the_change_to_postgresql_conf() {
        let mut snap = with_settings(&[("allow_alter_system", "off"), ("log_statement", "none")]);
        let home = alter_system_unavailable(&snap);
        assert_eq!(home, Some(ParameterHome::ConfigFile));
        let plan = crate::checks::facts::set_parameter_plan(
            &snap,
            "log_statement",
            "ddl",
            &[ApplyClass::Reload],
            "",
        );
        let plan = without_alter_system(&snap, plan, ParameterHome::ConfigFile);
        assert!(plan.statements.is_empty() && plan.rollback.is_empty());
        assert_eq!(plan.apply, vec![ApplyClass::Os, ApplyClass::Reload]);
        assert!(
            plan.note.starts_with(
                "ALTER SYSTEM is disabled (allow_alter_system = off): set log_statement = ddl in \
             postgresql.conf, then run SELECT pg_reload_conf()"
            ),
            "{}",
            plan.note
        );
        snap = with_settings(&[("allow_alter_system", "on")]);
        assert_eq!(alter_system_unavailable(&snap), None);
    }

    #[test]
    fn each_provider_is_recognised_from_its_markers() {
        for provider in PROVIDERS {
            assert_eq!(detect(&managed(provider)), Some(provider), "{provider:?}");
        }
        assert_eq!(detect(&with_settings(&[("ssl", "on")])), None);
        // Roles alone: the administrator group with the provider's superuser.
        let mut by_roles = managed(Provider::CloudSql);
        by_roles.settings = Some(Default::default());
        assert_eq!(detect(&by_roles), Some(Provider::CloudSql));
        assert!(markers(&by_roles, Provider::CloudSql)[0].contains("cloudsqlsuperuser"));
        // A self-hosted server that restored an RDS dump has the role names
        // but no rdsadmin superuser: not managed.
        let mut restored = with_settings(&[("ssl", "on")]);
        if let Some(roles) = restored.roles.as_mut() {
            roles.push(role("rds_superuser", |_| {}));
            roles.push(role("rdsadmin", |r| r.can_login = true));
        }
        assert_eq!(detect(&restored), None);
    }

    #[test]
    fn aurora_still_judges_lo_compat_privileges() {
        let mut s = managed(Provider::Aurora);
        set(&mut s, "lo_compat_privileges", "on");
        let f = judge("GEN-003", &s);
        assert_eq!(f.status, Status::Fail, "{}", f.evidence);
        assert!(f
            .fix
            .unwrap_or_default()
            .note
            .contains("lo_compat_privileges = 0"));
        set(&mut s, "lo_compat_privileges", "off");
        assert_eq!(judge("GEN-003", &s).status, Status::Pass);
    }

    #[test]
    fn provider_controlled_checks_are_not_applicable_with_the_equivalent_control() {
        let expected = [
            (Provider::Rds, "TLS-009", "VPC security groups"),
            (
                Provider::Aurora,
                "EAR-001",
                "checks every page in its storage layer",
            ),
            (
                Provider::Aurora,
                "GEN-003",
                "full_page_writes off by design",
            ),
            (Provider::Azure, "AUTH-006", "firewall rules"),
            (Provider::CloudSql, "TLS-004", "ENCRYPTED_ONLY"),
            (Provider::CloudSql, "EAR-001", "storage layer"),
        ];
        for (provider, id, control) in expected {
            let f = judge(id, &managed(provider));
            assert_eq!(
                f.status,
                Status::NotApplicable,
                "{provider:?} {id}: {}",
                f.evidence
            );
            assert!(f.evidence.contains(provider.name()), "{}", f.evidence);
            assert!(f.evidence.contains(control), "{}", f.evidence);
            assert!(f.evidence.contains("recognised by"), "{}", f.evidence);
            assert!(f.fix.is_none());
        }
        for provider in PROVIDERS {
            for id in [
                "TLS-007", "TLS-008", "TLS-009", "AUTH-003", "AUTH-005", "AUTH-006", "AUTH-007",
                "AUTH-008", "AUTH-009", "AUTH-010", "AUTH-011", "EAR-007", "EAR-008", "EAR-010",
                "GEN-004", "GEN-005", "GEN-006", "AUD-005", "AUD-013",
            ] {
                let f = judge(id, &managed(provider));
                assert_eq!(
                    f.status,
                    Status::NotApplicable,
                    "{provider:?} {id}: {}",
                    f.evidence
                );
                assert!(f.evidence.contains(provider.name()), "{provider:?} {id}");
            }
        }
    }

    #[test]
    fn rds_force_ssl_is_judged_for_tls_004() {
        let mut s = managed(Provider::Rds);
        let f = judge("TLS-004", &s);
        assert_eq!(f.status, Status::Pass, "{}", f.evidence);
        assert!(f.evidence.contains("rds.force_ssl = 1"));
        set(&mut s, "rds.force_ssl", "0");
        let f = judge("TLS-004", &s);
        assert_eq!(f.status, Status::Fail);
        let plan = f.fix.clone().unwrap_or_default();
        assert!(plan.statements.is_empty() && plan.config_edit.is_none());
        assert!(
            plan.note
                .contains("set rds.force_ssl = 1 in the DB parameter group"),
            "{}",
            plan.note
        );
        assert!(plan.note.contains("set it back to 0"));
        assert_eq!(plan.apply, vec![ApplyClass::Manual]);
        // Not visible (e.g. an old RDS version): the provider's note, not applicable.
        if let Some(settings) = s.settings.as_mut() {
            settings.remove("rds.force_ssl");
            settings.insert("rds.extensions".into(), Default::default());
        }
        assert_eq!(judge("TLS-004", &s).status, Status::NotApplicable);
        let mut azure = managed(Provider::Azure);
        set(&mut azure, "require_secure_transport", "off");
        assert_eq!(judge("TLS-004", &azure).status, Status::Fail);
        let mut rds = managed(Provider::Rds);
        set(&mut rds, "rds.accepted_password_auth_method", "md5+scram");
        assert_eq!(judge("AUTH-004", &rds).status, Status::Fail);
        set(&mut rds, "rds.accepted_password_auth_method", "scram");
        assert_eq!(judge("AUTH-004", &rds).status, Status::Pass);
    }

    #[test]
    fn setting_fixes_go_to_the_providers_parameters_not_alter_system() {
        for (provider, store) in [
            (Provider::Rds, "in the DB parameter group"),
            (Provider::Aurora, "in the DB cluster parameter group"),
            (Provider::Azure, "in the server parameters"),
            (Provider::CloudSql, "in the database flags"),
        ] {
            let mut s = managed(provider);
            set(&mut s, "log_statement", "none");
            let f = judge("AUD-009", &s);
            assert_eq!(f.status, Status::Fail);
            let plan = f.fix.clone().unwrap_or_default();
            assert!(alter_system_in(&f).is_empty(), "{:?}", plan);
            assert!(plan.statements.is_empty());
            assert!(
                plan.note
                    .contains(&format!("set log_statement = ddl {store}")),
                "{provider:?}: {}",
                plan.note
            );
            assert!(plan
                .note
                .contains("to undo, set log_statement = none there again"));
            assert!(plan.note.contains("does not allow ALTER SYSTEM"));
            assert_eq!(plan.apply, vec![ApplyClass::Manual]);
        }
        // A built plan keeps its other statements; a static parameter needs a reboot.
        let mut s = managed(Provider::Rds);
        set(&mut s, "shared_preload_libraries", "pg_stat_statements");
        let f = judge("AUD-001", &s);
        let plan = f.fix.clone().unwrap_or_default();
        assert!(alter_system_in(&f).is_empty(), "{plan:?}");
        assert_eq!(
            plan.statements,
            vec!["CREATE EXTENSION IF NOT EXISTS pgaudit"]
        );
        assert!(plan
            .note
            .contains("set shared_preload_libraries = pg_stat_statements,pgaudit"));
        assert!(plan.note.contains("reboot the instance"));
        assert!(
            plan.apply.contains(&ApplyClass::Manual) && plan.apply.contains(&ApplyClass::Restart)
        );
        assert!(!plan.apply.contains(&ApplyClass::Reload));
        assert!(plan.needs.contains("rds_superuser"));
    }

    #[test]
    fn no_fix_on_any_provider_uses_alter_system() {
        for provider in PROVIDERS {
            let markers = managed(provider);
            for case in all_cases() {
                let mut s = case.bad.clone();
                for (name, setting) in markers.settings.iter().flatten() {
                    if s.setting(name).is_none() {
                        s.settings
                            .get_or_insert_with(Default::default)
                            .insert(name.clone(), setting.clone());
                    }
                }
                if detect(&s) != Some(provider) {
                    continue;
                }
                let check = find(case.id).unwrap_or_else(|| panic!("{}", case.id));
                let f = evaluate_one(check, &s, &case.policy, &case.attestations);
                assert!(
                    alter_system_in(&f).is_empty(),
                    "{provider:?} {}: {:?}",
                    case.id,
                    f.fix
                );
            }
        }
    }

    #[test]
    fn provider_fixes_replace_os_instructions() {
        let mut s = managed(Provider::Rds);
        s.target.server_version = Some("15.2".into());
        s.target.server_version_num = Some(150_002);
        let f = judge("GEN-001", &s);
        assert_eq!(f.status, Status::Fail);
        let plan = f.fix.unwrap_or_default();
        assert!(plan.note.contains("the RDS console"), "{}", plan.note);
        assert_eq!(plan.apply, vec![ApplyClass::Manual]);
        let f = judge("EAR-009", &managed(Provider::Azure));
        assert_eq!(f.status, Status::NotApplicable);
        let f = judge("EAR-009", &managed(Provider::Rds));
        assert_eq!(f.status, Status::Manual);
        assert!(f.fix.unwrap_or_default().note.contains("StorageEncrypted"));
    }

    #[test]
    fn provider_roles_are_not_the_customers_to_change() {
        for provider in PROVIDERS {
            let s = managed(provider);
            for id in ["PRIV-001", "PRIV-002", "PRIV-003", "PRIV-004", "PRIV-007"] {
                let f = judge(id, &s);
                assert_eq!(f.status, Status::Pass, "{provider:?} {id}: {}", f.evidence);
            }
            let f = judge("PRIV-001", &s);
            assert!(
                f.evidence.contains("not the customer's to change"),
                "{}",
                f.evidence
            );
            assert!(f.evidence.contains("master user"), "{}", f.evidence);
            for id in ["AUTH-012", "AUTH-015"] {
                assert_eq!(judge(id, &s).status, Status::Pass, "{provider:?} {id}");
            }
            let review = judge("PRIV-008", &s);
            assert_eq!(
                review.objects.len(),
                1,
                "{provider:?}: {:?}",
                review.objects
            );
            let verifiers = judge("AUTH-002", &s);
            assert_eq!(verifiers.status, Status::Unknown);
            assert!(verifiers.grant.is_none() && verifiers.evidence.contains("pg_authid"));
        }
        // Cloud SQL's agents hold CREATEROLE and log in; Azure's `replication` replicates.
        let mut cloud = managed(Provider::CloudSql);
        let mut azure = managed(Provider::Azure);
        for (s, name) in [(&mut cloud, "cloudsqlagent"), (&mut azure, "replication")] {
            if let Some(roles) = s.roles.as_mut() {
                roles.push(role(name, |r| {
                    r.can_login = true;
                    r.create_role = true;
                    r.replication = true;
                }));
            }
            for id in ["PRIV-002", "PRIV-004", "PRIV-007"] {
                let f = judge(id, s);
                assert_eq!(f.status, Status::Pass, "{name} {id}: {}", f.evidence);
            }
        }
    }

    #[test]
    fn members_of_the_admin_group_need_approval() {
        let mut s = managed(Provider::Rds);
        if let Some(roles) = s.roles.as_mut() {
            roles.push(role("app", |r| {
                r.oid = 16500;
                r.can_login = true;
            }));
        }
        if let Some(m) = s.memberships.as_mut() {
            m.push(crate::model::snapshot::Membership {
                role: "rds_superuser".into(),
                member: "app".into(),
                admin_option: false,
                inherit_option: None,
                set_option: None,
            });
        }
        let f = judge("PRIV-001", &s);
        assert_eq!(f.status, Status::Fail, "{}", f.evidence);
        assert_eq!(f.objects, vec!["app".to_string()]);
        assert!(f
            .evidence
            .contains("rds_superuser (the provider's administrator group"));
        let plan = f.fix.unwrap_or_default();
        assert_eq!(
            plan.statements,
            vec!["REVOKE \"rds_superuser\" FROM \"app\""]
        );
        assert_eq!(plan.rollback, vec!["GRANT \"rds_superuser\" TO \"app\""]);
        let policy = Policy {
            approved_admins: vec!["app".into()],
            ..Policy::default()
        };
        assert_eq!(judge_with("PRIV-001", &s, &policy).status, Status::Pass);
        // Without memberships the group's members cannot be known.
        s.memberships = None;
        assert_eq!(judge("PRIV-001", &s).status, Status::Unknown);
    }

    #[test]
    fn every_row_names_a_registered_check_once_per_provider() {
        for row in CONTROLS {
            assert!(registry().iter().any(|c| c.id == row.id), "{}", row.id);
        }
        for provider in PROVIDERS {
            for check in registry() {
                let rows = CONTROLS
                    .iter()
                    .filter(|r| r.id == check.id && r.on.contains(&provider))
                    .count();
                assert!(rows <= 1, "{provider:?} {}: {rows} rows", check.id);
            }
        }
        for provider in PROVIDERS {
            for row in CONTROLS {
                let text = match &row.how {
                    ProviderControls(t) | ProviderFix(t) => t,
                    ProviderSetting { note, .. } => note,
                };
                assert!(!provider.fill(text).contains('{'), "{}: {text}", row.id);
            }
        }
    }
}
