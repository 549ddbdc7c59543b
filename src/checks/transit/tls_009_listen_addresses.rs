//! TLS-009: whether listen_addresses opens the port on every interface.

use crate::checks::facts::{describe, list_items, need_setting, settle, value};
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, FixPlan, Section, Severity};
use crate::model::snapshot::Snapshot;
use crate::model::statement::{alter_system_set, restore_parameter};
use crate::policy::Policy;

pub static LISTEN_ADDRESSES: Check = Check {
    id: "TLS-009",
    section: Section::Transit,
    title: "The server listens only on the interfaces clients use",
    severity: Severity::Medium,
    hipaa: &["164.312(a)(1)", "164.312(e)(1)"],
    cis: Some("5.2"),
    rationale: "listen_addresses = '*' (or 0.0.0.0, ::) opens the port on every interface, \
        including ones facing networks that should never reach PHI; pg_hba still decides who \
        gets in, so this is defence in depth: medium. Explicit addresses, localhost, or no \
        TCP at all ('') pass.",
    reproduce_sql: "SELECT name, setting, source, sourcefile, pending_restart FROM pg_settings \
        WHERE name = 'listen_addresses';",
    evaluate: |s, p| settle(listen_addresses(s, p)),
    fix: Fix::Build(listen_addresses_plan),
};

const WILDCARD_LISTEN: &[&str] = &["*", "0.0.0.0", "::"];

fn listen_addresses(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let setting = need_setting(s, "listen_addresses")?;
    let seen = describe("listen_addresses", setting);
    let wild: Vec<String> = list_items(value(setting))
        .into_iter()
        .filter(|a| WILDCARD_LISTEN.contains(&a.as_str()))
        .collect();
    Ok(if wild.is_empty() {
        Verdict::pass(seen)
    } else {
        Verdict::fail(format!(
            "{seen}; {} listens on every interface",
            wild.join(", ")
        ))
        .with_objects(wild)
    })
}

fn listen_addresses_plan(s: &Snapshot, _: &Verdict) -> FixPlan {
    let host = s.target.host.as_str();
    let tcp_host = !host.is_empty()
        && !host.starts_with('/')
        && !host.contains(',')
        && !host.eq_ignore_ascii_case("localhost");
    let proposed = if tcp_host {
        format!("localhost,{host}")
    } else {
        "localhost".to_string()
    };
    let mut note = format!(
        "proposes '{proposed}'{}: list the address of every interface your clients and \
         standbys reach, or they are locked out after the restart",
        if tcp_host {
            " (the scan reached the server as this host)"
        } else {
            ""
        }
    );
    if let Some(current) = s.setting("listen_addresses") {
        note.push_str(&format!(
            "; currently {}",
            describe("listen_addresses", current)
        ));
    }
    FixPlan {
        apply: vec![ApplyClass::Restart],
        statements: vec![alter_system_set("listen_addresses", &proposed)],
        rollback: vec![restore_parameter(s, "listen_addresses")],
        needs: "superuser (ALTER SYSTEM)".into(),
        note,
        ..FixPlan::default()
    }
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use crate::checks::testkit::{with_settings, Case};
    vec![Case::new(
        "TLS-009",
        with_settings(&[("listen_addresses", "localhost,10.0.0.5")]),
        with_settings(&[("listen_addresses", "*")]),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::with_settings;
    use crate::checks::transit::fixtures::*;

    #[test]
    fn listen_plan_names_the_scanned_host() {
        let s = with_settings(&[("listen_addresses", "*")]);
        let v = run(&LISTEN_ADDRESSES, &s);
        let plan = LISTEN_ADDRESSES.plan(&s, &v);
        assert_eq!(
            plan.statements,
            vec!["ALTER SYSTEM SET \"listen_addresses\" = 'localhost,db.example.org'"]
        );
        assert_eq!(
            plan.rollback,
            vec!["ALTER SYSTEM RESET \"listen_addresses\""]
        );
    }
}
