//! A synthetic [`Snapshot`] of a generated catalog, built in Rust without a server: the
//! relations, columns, ACLs, policies, roles, memberships and functions of a
//! [`catalog::Layout`], as the collector would read them from PostgreSQL 15, plus a
//! plausible cluster around them (settings, pg_hba rules, sessions, archiver).
//!
//! Used by the evaluation and load benchmarks; `tests/scale_live.rs` checks that the live
//! collector reads the same relations from a cluster built from the same layout, so the
//! benchmarks measure the shape a real scan produces.

// Each consumer uses a different part.
#![allow(dead_code)]

use crate::catalog::{self, Grant, Kind, Layout, Password, RelationSpec, OWNER, OWNER_LETTERS};
use pgsafeguard::model::snapshot::{
    AclItem, Archiver, Column, DatabaseFacts, DatabaseStat, Extension, Function, FunctionReads,
    HbaRule, Language, Membership, PasswordKind, Policy, PolicyReadsRow, Relation, Role, Schema,
    Session, Setting, Snapshot, Target, TlsInfo, SCHEMA_VERSION,
};
use std::collections::BTreeMap;

/// The bootstrap superuser of the synthetic cluster.
const BOOTSTRAP: &str = "postgres";
/// Predefined roles of PostgreSQL 15, listed by `pg_roles` like any other role.
const PREDEFINED: &[&str] = &[
    "pg_checkpoint",
    "pg_database_owner",
    "pg_execute_server_program",
    "pg_monitor",
    "pg_read_all_data",
    "pg_read_all_settings",
    "pg_read_all_stats",
    "pg_read_server_files",
    "pg_signal_backend",
    "pg_stat_scan_tables",
    "pg_write_all_data",
    "pg_write_server_files",
];
/// Table privilege letters in the order PostgreSQL prints them.
const LETTER_ORDER: &str = "arwdDxtm";

/// The snapshot a scan of a cluster holding `layout` would produce.
pub fn snapshot(layout: &Layout) -> Snapshot {
    Snapshot {
        schema_version: SCHEMA_VERSION,
        collected_at: "2026-11-27T10:00:00Z".into(),
        target: target(),
        gaps: Vec::new(),
        server_time: Some("2026-11-27T10:00:00.000000Z".into()),
        settings: Some(settings()),
        file_setting_problems: Some(Vec::new()),
        hba_rules: Some(hba_rules()),
        ident_mappings: Some(Vec::new()),
        roles: Some(roles(layout)),
        password_kinds: Some(password_kinds(layout)),
        memberships: Some(memberships(layout)),
        role_settings: Some(Vec::new()),
        // No role or database settings: who may connect decides nothing here.
        database_access: None,
        sessions: Some(sessions()),
        archiver: Some(archiver()),
        database_stats: Some(database_stats()),
        databases: vec![database(layout)],
        host: None,
        subscriptions: Some(Vec::new()),
        replication_slots: Some(Vec::new()),
        probes: None,
    }
}

fn target() -> Target {
    Target {
        host: "db.example.internal".into(),
        port: 5432,
        dbname: catalog::DATABASE.into(),
        user: BOOTSTRAP.into(),
        server_version: Some("15.18".into()),
        server_version_num: Some(150_018),
        system_identifier: Some("7400000000000000001".into()),
        sslmode: "verify-full".into(),
        tls: Some(TlsInfo {
            version: Some("TLSv1.3".into()),
            cipher: Some("TLS_AES_256_GCM_SHA384".into()),
            bits: Some(256),
            server_certificate: None,
        }),
    }
}

fn setting(value: &str, context: &str, vartype: &str, source: &str) -> Setting {
    Setting {
        setting: Some(value.into()),
        unit: None,
        source: source.into(),
        sourcefile: (source == "configuration file")
            .then(|| "/etc/postgresql/15/main/postgresql.conf".into()),
        sourceline: (source == "configuration file").then_some(10),
        pending_restart: false,
        context: context.into(),
        vartype: vartype.into(),
        boot_val: None,
        reset_val: Some(value.into()),
    }
}

/// A partly hardened server: TLS and SCRAM on, pgaudit loaded, archiving on.
fn settings() -> BTreeMap<String, Setting> {
    let conf = "configuration file";
    let rows: &[(&str, &str, &str, &str, &str)] = &[
        (
            "archive_command",
            "cp %p /archive/%f",
            "sighup",
            "string",
            conf,
        ),
        ("archive_mode", "on", "postmaster", "enum", conf),
        ("archive_timeout", "300", "sighup", "integer", conf),
        (
            "authentication_timeout",
            "60",
            "sighup",
            "integer",
            "default",
        ),
        (
            "config_file",
            "/etc/postgresql/15/main/postgresql.conf",
            "postmaster",
            "string",
            "override",
        ),
        ("data_checksums", "on", "internal", "bool", "default"),
        (
            "data_directory",
            "/var/lib/postgresql/15/main",
            "postmaster",
            "string",
            "override",
        ),
        (
            "hba_file",
            "/etc/postgresql/15/main/pg_hba.conf",
            "postmaster",
            "string",
            "override",
        ),
        (
            "ident_file",
            "/etc/postgresql/15/main/pg_ident.conf",
            "postmaster",
            "string",
            "override",
        ),
        (
            "idle_in_transaction_session_timeout",
            "0",
            "user",
            "integer",
            "default",
        ),
        ("idle_session_timeout", "0", "user", "integer", "default"),
        (
            "listen_addresses",
            "localhost",
            "postmaster",
            "string",
            conf,
        ),
        ("log_connections", "on", "superuser-backend", "bool", conf),
        ("log_destination", "stderr", "sighup", "string", "default"),
        ("log_directory", "log", "sighup", "string", "default"),
        (
            "log_disconnections",
            "on",
            "superuser-backend",
            "bool",
            conf,
        ),
        ("log_file_mode", "0600", "sighup", "integer", "default"),
        (
            "log_filename",
            "postgresql-%Y-%m-%d_%H%M%S.log",
            "sighup",
            "string",
            "default",
        ),
        (
            "log_line_prefix",
            "%m [%p] %q%u@%d ",
            "sighup",
            "string",
            conf,
        ),
        (
            "log_min_duration_statement",
            "-1",
            "superuser",
            "integer",
            "default",
        ),
        ("log_statement", "ddl", "superuser", "enum", conf),
        ("log_timezone", "UTC", "sighup", "string", conf),
        ("logging_collector", "on", "postmaster", "bool", conf),
        (
            "password_encryption",
            "scram-sha-256",
            "user",
            "enum",
            "default",
        ),
        ("pgaudit.log", "ddl,role", "superuser", "string", conf),
        ("port", "5432", "postmaster", "integer", conf),
        ("row_security", "on", "user", "bool", "default"),
        ("server_version", "15.18", "internal", "string", "default"),
        (
            "server_version_num",
            "150018",
            "internal",
            "integer",
            "default",
        ),
        (
            "shared_preload_libraries",
            "pgaudit",
            "postmaster",
            "string",
            conf,
        ),
        ("ssl", "on", "sighup", "bool", conf),
        ("ssl_ca_file", "", "sighup", "string", "default"),
        ("ssl_cert_file", "server.crt", "sighup", "string", "default"),
        ("ssl_ciphers", "HIGH:!aNULL:!MD5", "sighup", "string", conf),
        ("ssl_key_file", "server.key", "sighup", "string", "default"),
        (
            "ssl_min_protocol_version",
            "TLSv1.2",
            "sighup",
            "enum",
            "default",
        ),
        ("statement_timeout", "0", "user", "integer", "default"),
        ("wal_level", "replica", "postmaster", "enum", "default"),
    ];
    rows.iter()
        .map(|(name, value, context, vartype, source)| {
            (
                (*name).to_string(),
                setting(value, context, vartype, source),
            )
        })
        .collect()
}

fn hba_rule(
    line: i32,
    conn_type: &str,
    db: &str,
    user: &str,
    address: Option<&str>,
    method: &str,
) -> HbaRule {
    HbaRule {
        line_number: line,
        file_name: None,
        conn_type: Some(conn_type.into()),
        database: vec![db.into()],
        user_name: vec![user.into()],
        address: address.map(Into::into),
        netmask: address.map(|_| "255.255.255.0".into()),
        auth_method: Some(method.into()),
        options: Vec::new(),
        error: None,
    }
}

fn hba_rules() -> Vec<HbaRule> {
    vec![
        hba_rule(1, "local", "all", BOOTSTRAP, None, "peer"),
        hba_rule(
            2,
            "hostssl",
            catalog::DATABASE,
            "all",
            Some("10.0.0.0"),
            "scram-sha-256",
        ),
        hba_rule(
            3,
            "hostssl",
            "replication",
            "svc_repl",
            Some("10.0.1.0"),
            "scram-sha-256",
        ),
        hba_rule(4, "host", "all", "all", Some("10.0.2.0"), "md5"),
        hba_rule(5, "hostnossl", "all", "all", Some("0.0.0.0"), "reject"),
    ]
}

fn sessions() -> Vec<Session> {
    (0..10)
        .map(|k| Session {
            pid: 4000 + k,
            usename: Some(format!("usr_{k:05}")),
            datname: Some(catalog::DATABASE.into()),
            client_addr: Some(format!("10.0.0.{}", 10 + k)),
            application_name: Some("clinic-portal".into()),
            ssl: k % 5 != 0,
            version: (k % 5 != 0).then(|| "TLSv1.3".into()),
            cipher: (k % 5 != 0).then(|| "TLS_AES_256_GCM_SHA384".into()),
            is_self: k == 0,
        })
        .collect()
}

fn archiver() -> Archiver {
    Archiver {
        archived_count: 1200,
        last_archived_wal: Some("0000000100000000000004B0".into()),
        last_archived_time: Some("2026-11-27T09:58:00.000000Z".into()),
        failed_count: 0,
        last_failed_wal: None,
        last_failed_time: None,
        stats_reset: Some("2026-01-01T00:00:00.000000Z".into()),
    }
}

fn database_stats() -> Vec<DatabaseStat> {
    ["postgres", catalog::DATABASE, "template1"]
        .iter()
        .map(|name| DatabaseStat {
            datname: (*name).into(),
            checksum_failures: Some(0),
            checksum_last_failure: None,
        })
        .collect()
}

fn roles(layout: &Layout) -> Vec<Role> {
    let bootstrap = Role {
        oid: 10,
        name: BOOTSTRAP.into(),
        superuser: true,
        inherit: true,
        create_role: true,
        create_db: true,
        can_login: true,
        replication: true,
        bypass_rls: true,
        conn_limit: -1,
        ..Role::default()
    };
    let predefined = PREDEFINED.iter().enumerate().map(|(i, name)| Role {
        oid: 4200 + i as u32,
        name: (*name).into(),
        inherit: true,
        conn_limit: -1,
        ..Role::default()
    });
    let generated = layout.roles.iter().enumerate().map(|(i, r)| Role {
        oid: 20_000 + i as u32,
        name: r.name.clone(),
        superuser: r.superuser,
        inherit: true,
        create_role: r.create_role,
        create_db: false,
        can_login: r.login,
        replication: r.replication,
        bypass_rls: r.bypass_rls,
        conn_limit: -1,
        valid_until: None,
        config: Vec::new(),
        comment: None,
    });
    let mut all: Vec<Role> = std::iter::once(bootstrap)
        .chain(predefined)
        .chain(generated)
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}

fn password_kinds(layout: &Layout) -> BTreeMap<String, PasswordKind> {
    let mut kinds: BTreeMap<String, PasswordKind> = PREDEFINED
        .iter()
        .map(|name| ((*name).to_string(), PasswordKind::None))
        .collect();
    kinds.insert(BOOTSTRAP.into(), PasswordKind::Scram);
    for role in &layout.roles {
        let kind = match role.password {
            Password::None => PasswordKind::None,
            Password::Scram => PasswordKind::Scram,
            Password::Md5 => PasswordKind::Md5,
        };
        kinds.insert(role.name.clone(), kind);
    }
    kinds
}

fn memberships(layout: &Layout) -> Vec<Membership> {
    let mut all: Vec<Membership> = layout
        .memberships
        .iter()
        .map(|m| Membership {
            role: m.group.clone(),
            member: m.member.clone(),
            admin_option: false,
            inherit_option: None,
            set_option: None,
        })
        .collect();
    // pg_monitor holds the statistics roles, as on every server.
    for held in [
        "pg_read_all_settings",
        "pg_read_all_stats",
        "pg_stat_scan_tables",
    ] {
        all.push(Membership {
            role: held.into(),
            member: "pg_monitor".into(),
            admin_option: false,
            inherit_option: None,
            set_option: None,
        });
    }
    all.sort();
    all
}

fn acl_item(grantee: &str, grantor: &str, privileges: &str) -> AclItem {
    AclItem {
        grantee: grantee.into(),
        grantor: grantor.into(),
        privileges: privileges.into(),
        grantable: String::new(),
    }
}

/// Letters of `a` and `b` together, in PostgreSQL's order.
fn merge_letters(a: &str, b: &str) -> String {
    LETTER_ORDER
        .chars()
        .filter(|c| a.contains(*c) || b.contains(*c))
        .collect()
}

/// The owner's item, then one item per grantee with its letters merged, as PostgreSQL
/// stores an ACL after several GRANTs.
fn acl_of<'g>(grants: impl Iterator<Item = &'g Grant>) -> Vec<AclItem> {
    let mut items = vec![acl_item(OWNER, OWNER, OWNER_LETTERS)];
    for grant in grants {
        match items.iter_mut().find(|i| i.grantee == grant.grantee) {
            Some(item) => item.privileges = merge_letters(&item.privileges, grant.letters),
            None => items.push(acl_item(&grant.grantee, OWNER, grant.letters)),
        }
    }
    items
}

fn columns_of(rel: &RelationSpec) -> Vec<Column> {
    rel.columns
        .iter()
        .map(|(name, type_name)| {
            let grants = rel
                .grants
                .iter()
                .filter(|g| g.columns.contains(name))
                .map(|g| acl_item(&g.grantee, OWNER, g.letters));
            Column {
                name: (*name).into(),
                type_name: (*type_name).into(),
                acl: grants.collect(),
            }
        })
        .collect()
}

fn relation(oid: u32, rel: &RelationSpec) -> Relation {
    Relation {
        oid,
        schema: rel.schema.clone(),
        name: rel.name.clone(),
        kind: rel.kind.relkind().into(),
        owner: OWNER.into(),
        rls_enabled: rel.rls.enabled,
        rls_forced: rel.rls.forced,
        parent: rel.parent.clone(),
        is_partition: rel.kind == Kind::Partition,
        acl: acl_of(rel.grants.iter().filter(|g| g.columns.is_empty())),
        columns: columns_of(rel),
        estimated_rows: -1.0,
        security_invoker: (rel.kind == Kind::View).then_some(rel.security_invoker),
        reads: (rel.kind == Kind::View).then(|| rel.source.iter().cloned().collect()),
    }
}

fn policies(layout: &Layout) -> Vec<Policy> {
    let mut all: Vec<Policy> = layout
        .relations
        .iter()
        .flat_map(|rel| {
            rel.policies.iter().map(move |p| Policy {
                schema: rel.schema.clone(),
                table: rel.name.clone(),
                name: p.name.clone(),
                permissive: true,
                command: "ALL".into(),
                roles: vec!["PUBLIC".into()],
                using: Some(p.using().into()),
                with_check: None,
                // A vacuous policy's `true` reads nothing; the real one reads clinic_id.
                reads_row: Some(PolicyReadsRow {
                    using: !p.vacuous,
                    with_check: false,
                }),
            })
        })
        .collect();
    all.sort_by(|a, b| (&a.schema, &a.table, &a.name).cmp(&(&b.schema, &b.table, &b.name)));
    all
}

fn schemas(layout: &Layout) -> Vec<Schema> {
    let usage: Vec<AclItem> = layout
        .groups()
        .map(|g| acl_item(&g.name, OWNER, "U"))
        .collect();
    let mut all = vec![
        Schema {
            name: "information_schema".into(),
            owner: BOOTSTRAP.into(),
            acl: vec![
                acl_item(BOOTSTRAP, BOOTSTRAP, "UC"),
                acl_item("PUBLIC", BOOTSTRAP, "U"),
            ],
        },
        Schema {
            name: "pg_catalog".into(),
            owner: BOOTSTRAP.into(),
            acl: vec![
                acl_item(BOOTSTRAP, BOOTSTRAP, "UC"),
                acl_item("PUBLIC", BOOTSTRAP, "U"),
            ],
        },
        Schema {
            name: "public".into(),
            owner: "pg_database_owner".into(),
            acl: vec![
                acl_item("pg_database_owner", "pg_database_owner", "UC"),
                acl_item("PUBLIC", "pg_database_owner", "U"),
            ],
        },
    ];
    all.extend(layout.schemas.iter().map(|name| {
        let mut acl = vec![acl_item(OWNER, OWNER, "UC")];
        acl.extend(usage.iter().cloned());
        Schema {
            name: name.clone(),
            owner: OWNER.into(),
            acl,
        }
    }));
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}

fn functions(layout: &Layout) -> Vec<Function> {
    let execute = vec![acl_item("PUBLIC", OWNER, "X"), acl_item(OWNER, OWNER, "X")];
    let mut all: Vec<Function> = layout
        .functions
        .iter()
        .map(|f| Function {
            schema: f.schema.clone(),
            signature: f.signature(),
            owner: OWNER.into(),
            language: "sql".into(),
            security_definer: f.security_definer,
            config: if f.pinned_search_path {
                vec!["search_path=pg_catalog, pg_temp".into()]
            } else {
                Vec::new()
            },
            acl: execute.clone(),
            from_extension: false,
            literal_key_in_body: false,
            // The body is `SELECT $1 + 1`: it reads no relation.
            reads: f.security_definer.then(FunctionReads::default),
        })
        .collect();
    for signature in ["file_fdw_handler()", "file_fdw_validator(text[], oid)"] {
        all.push(Function {
            schema: "public".into(),
            signature: signature.into(),
            owner: BOOTSTRAP.into(),
            language: "c".into(),
            security_definer: false,
            config: Vec::new(),
            acl: vec![
                acl_item("PUBLIC", BOOTSTRAP, "X"),
                acl_item(BOOTSTRAP, BOOTSTRAP, "X"),
            ],
            from_extension: true,
            literal_key_in_body: false,
            reads: None,
        });
    }
    all.sort_by(|a, b| (&a.schema, &a.signature).cmp(&(&b.schema, &b.signature)));
    all
}

fn languages() -> Vec<Language> {
    [
        ("c", false),
        ("internal", false),
        ("plpgsql", true),
        ("sql", true),
    ]
    .iter()
    .map(|(name, trusted)| Language {
        name: (*name).into(),
        trusted: *trusted,
        owner: BOOTSTRAP.into(),
        acl: if *trusted {
            vec![
                acl_item(BOOTSTRAP, BOOTSTRAP, "U"),
                acl_item("PUBLIC", BOOTSTRAP, "U"),
            ]
        } else {
            vec![acl_item(BOOTSTRAP, BOOTSTRAP, "U")]
        },
    })
    .collect()
}

fn database(layout: &Layout) -> DatabaseFacts {
    let mut relations: Vec<Relation> = layout
        .relations
        .iter()
        .enumerate()
        .map(|(i, rel)| relation(30_000 + i as u32, rel))
        .collect();
    relations.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    DatabaseFacts {
        name: catalog::DATABASE.into(),
        relations: Some(relations),
        policies: Some(policies(layout)),
        schemas: Some(schemas(layout)),
        default_acls: Some(Vec::new()),
        extensions: Some(vec![
            Extension {
                name: "file_fdw".into(),
                version: "1.0".into(),
                schema: "public".into(),
            },
            Extension {
                name: "plpgsql".into(),
                version: "1.0".into(),
                schema: "pg_catalog".into(),
            },
        ]),
        languages: Some(languages()),
        functions: Some(functions(layout)),
        views_with_literal_keys: Some(Vec::new()),
        phi_sample: None,
        user_mappings: Some(Vec::new()),
        foreign_servers: Some(Vec::new()),
        publications: Some(Vec::new()),
        large_objects: Some(Vec::new()),
    }
}
