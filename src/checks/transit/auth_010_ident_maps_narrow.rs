//! AUTH-010: whether a pg_ident map in use lets another identity act as a
//! superuser or catches every identity.

use super::roles;
use crate::checks::facts::{listing, major_version, part_missing, scanner_role, settle};
use crate::checks::hba;
use crate::checks::{Check, Fix, Verdict};
use crate::model::finding::{ApplyClass, ConfigEdit, FixPlan, Section, Severity};
use crate::model::snapshot::{IdentMapping, Snapshot};
use crate::policy::Policy;
use postgres_protocol::escape::escape_identifier;
use std::collections::BTreeSet;

pub static IDENT_MAPS_NARROW: Check = Check {
    id: "AUTH-010",
    section: Section::Transit,
    title: "pg_ident maps no one onto a superuser and have no catch-all",
    severity: Severity::High,
    hipaa: &["164.308(a)(4)(i)"],
    cis: None,
    rationale: "A user-name map decides which OS, Kerberos or certificate identity may act \
        as which database role. A map that lets another identity become a superuser, or a \
        regular expression that matches every identity (/^(.*)$ onto a fixed role), hands \
        PHI-wide access to people nobody authorised, so high. An identity mapped onto the \
        role of the same name, and `/^(.*)$ \\1`, only restate peer authentication and are \
        not counted. Only maps that a pg_hba line uses (map=) are judged when pg_hba could \
        be read. pg_ident_file_mappings exists from PostgreSQL 15.",
    reproduce_sql: "SELECT line_number, map_name, sys_name, pg_username, error \
        FROM pg_ident_file_mappings ORDER BY line_number; \
        SELECT rolname FROM pg_roles WHERE rolsuper;",
    evaluate: |s, p| settle(ident_maps_narrow(s, p)),
    fix: Fix::Build(ident_maps_plan),
};

fn ident_display(m: &IdentMapping) -> String {
    match (&m.error, hba::ident_text(m)) {
        (Some(e), _) => format!("line {}: not loaded: {e}", m.line_number),
        (None, Some(text)) => format!("line {}: {text}", m.line_number),
        (None, None) => format!("line {}: (unreadable)", m.line_number),
    }
}

/// Whether a system-name regex matches every identity.
fn is_catch_all(sys_name: &str) -> bool {
    let Some(regex) = sys_name.strip_prefix('/') else {
        return false;
    };
    let body = regex.strip_prefix('^').unwrap_or(regex);
    let body = body.strip_suffix('$').unwrap_or(body);
    matches!(body, "" | ".*" | "(.*)" | ".+" | "(.+)" | "(.*)?")
}

/// Why a mapping is too broad, if it is.
fn ident_problem(m: &IdentMapping, superusers: &BTreeSet<&str>) -> Option<String> {
    if let Some(error) = &m.error {
        return Some(format!("not loaded: {error}"));
    }
    let sys = m.sys_name.as_deref().unwrap_or("");
    let pg = m.pg_username.as_deref().unwrap_or("");
    if is_catch_all(sys) && pg != "\\1" {
        return Some(format!("every identity may act as {pg}"));
    }
    if pg == "all" {
        return Some("may act as any role, superusers included".into());
    }
    if superusers.contains(pg) && sys != pg {
        return Some(format!("{sys} may act as superuser {pg}"));
    }
    None
}

fn ident_maps_narrow(s: &Snapshot, _: &Policy) -> Result<Verdict, Verdict> {
    let Some(maps) = &s.ident_mappings else {
        if major_version(s).is_some_and(|m| m < 15) {
            return Ok(Verdict::not_applicable(
                "pg_ident_file_mappings exists from PostgreSQL 15; review pg_ident.conf by hand",
            ));
        }
        let role = escape_identifier(&scanner_role(s));
        return Err(part_missing(
            s,
            "ident_mappings",
            format!(
                "GRANT EXECUTE ON FUNCTION pg_catalog.pg_ident_file_mappings() TO {role}; \
                 GRANT SELECT ON pg_catalog.pg_ident_file_mappings TO {role}"
            ),
        ));
    };
    let roles = roles(s)?;
    let superusers: BTreeSet<&str> = roles
        .iter()
        .filter(|r| r.superuser)
        .map(|r| r.name.as_str())
        .collect();
    let used: Option<BTreeSet<&str>> = s.hba_rules.as_ref().map(|rules| {
        rules
            .iter()
            .filter(|r| hba::admits(r))
            .flat_map(|r| r.options.iter().filter_map(|o| o.strip_prefix("map=")))
            .collect()
    });
    let flagged: Vec<String> = maps
        .iter()
        .filter(|m| {
            m.error.is_some()
                || used
                    .as_ref()
                    .is_none_or(|u| m.map_name.as_deref().is_some_and(|name| u.contains(name)))
        })
        .filter_map(|m| {
            ident_problem(m, &superusers).map(|why| format!("{} ({why})", ident_display(m)))
        })
        .collect();
    Ok(if flagged.is_empty() {
        Verdict::pass(format!(
            "{} pg_ident mapping(s) read; none maps onto a superuser or catches all",
            maps.len()
        ))
    } else {
        Verdict::fail(format!(
            "{} pg_ident mapping(s) too broad: {}",
            flagged.len(),
            listing(&flagged)
        ))
        .with_objects(flagged)
    })
}

fn ident_maps_plan(s: &Snapshot, verdict: &Verdict) -> FixPlan {
    let maps = s.ident_mappings.as_deref().unwrap_or(&[]);
    let mut lines = vec![format!(
        "# pg_ident.conf proposed by pgSafeguard AUTH-010 from pg_ident_file_mappings as seen at {}",
        s.collected_at
    )];
    for m in maps {
        let flagged = verdict
            .objects
            .iter()
            .any(|o| o.starts_with(&format!("{} (", ident_display(m))));
        match (flagged, hba::ident_text(m)) {
            (false, Some(text)) if m.error.is_none() => lines.push(text),
            _ => lines.push(format!("# AUTH-010 removed {}", ident_display(m))),
        }
    }
    let path = s
        .setting("ident_file")
        .and_then(|x| x.setting.clone())
        .unwrap_or_else(|| "pg_ident.conf".into());
    FixPlan {
        apply: vec![ApplyClass::ConfigFile],
        needs: "write access to pg_ident.conf and superuser or EXECUTE on pg_reload_conf()".into(),
        note: format!(
            "removes the listed mappings; map each person's identity onto their own role \
             instead; edit {path}, keeping a copy of the current file to roll back"
        ),
        config_edit: Some(ConfigEdit {
            file: "ident_file".into(),
            lines,
            validate: "after saving, SELECT * FROM pg_ident_file_mappings WHERE error IS NOT \
                NULL must return no rows before SELECT pg_reload_conf()"
                .into(),
            rule_edits: Vec::new(),
        }),
        ..FixPlan::default()
    }
}

#[cfg(test)]
pub(super) fn cases() -> Vec<crate::checks::testkit::Case> {
    use super::fixtures::{rules, with_option, NET};
    use crate::checks::testkit::{hba, Case};
    let mapping = |sys: &str, pg: &str| IdentMapping {
        line_number: 1,
        map_name: Some("ops".into()),
        sys_name: Some(sys.into()),
        pg_username: Some(pg.into()),
        error: None,
    };
    let ident_with = |m: IdentMapping| {
        let mut s = rules(vec![with_option(
            hba(1, "hostssl", "all", "all", NET, "cert"),
            "map=ops",
        )]);
        s.ident_mappings = Some(vec![m]);
        s
    };
    vec![Case::new(
        "AUTH-010",
        ident_with(mapping("alice", "alice")),
        ident_with(mapping("bob", "postgres")),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::hba;
    use crate::checks::transit::fixtures::*;
    use crate::model::finding::Status;

    #[test]
    fn ident_maps_only_used_ones_and_identity_is_fine() {
        let mapping = |line: i32, map: &str, sys: &str, pg: &str| IdentMapping {
            line_number: line,
            map_name: Some(map.into()),
            sys_name: Some(sys.into()),
            pg_username: Some(pg.into()),
            error: None,
        };
        let mut s = rules(vec![with_option(
            hba(1, "hostssl", "all", "all", NET, "cert"),
            "map=ops",
        )]);
        s.ident_mappings = Some(vec![
            mapping(1, "ops", "postgres", "postgres"),
            mapping(2, "ops", "/^(.*)$", "\\1"),
            mapping(3, "unused", "bob", "postgres"),
        ]);
        assert_eq!(run(&IDENT_MAPS_NARROW, &s).status, Status::Pass);
        if let Some(m) = s.ident_mappings.as_mut() {
            m.push(mapping(4, "ops", "/^.*$", "app"));
        }
        let v = run(&IDENT_MAPS_NARROW, &s);
        assert_eq!(v.status, Status::Fail);
        let plan = IDENT_MAPS_NARROW.plan(&s, &v);
        let edit = plan.config_edit.unwrap_or_default();
        assert_eq!(edit.file, "ident_file");
        assert!(edit
            .lines
            .iter()
            .any(|l| l.starts_with("# AUTH-010 removed line 4")));
        assert!(edit.lines.contains(&"ops postgres postgres".to_string()));
    }
}
