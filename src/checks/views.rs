//! Views that defeat a PHI table's row-level security (part of PRIV-014).
//!
//! A view without `security_invoker` (PG15+) reads its tables with its
//! owner's rights, so RLS binds the view owner, not the caller. When that
//! owner bypasses RLS on a PHI table the view reads (superuser, BYPASSRLS, or
//! the table's owner while the table is not FORCEd), every role that may
//! SELECT from the view reads every row. Pure: works on snapshot facts only.

use super::phi;
use crate::model::snapshot::{Relation, Role};
use crate::policy::Policy;
use std::collections::HashMap;

/// A view that reads PHI tables as an owner who bypasses their RLS.
pub struct BypassingView<'a> {
    pub view: &'a Relation,
    /// The PHI tables (RLS enabled) whose policies the owner bypasses.
    pub tables: Vec<&'a Relation>,
}

/// What could be judged about the views of one database.
#[derive(Default)]
pub struct ViewFindings<'a> {
    pub bypassing: Vec<BypassingView<'a>>,
    /// Views that could not be judged: PHI-looking views in a snapshot that
    /// predates `security_invoker`/`reads`, or owners whose role attributes
    /// were not read.
    pub undecided: usize,
}

/// Judges every view in `relations`. `phi_tables` says which relations are
/// PHI tables (RLS-capable kinds only); `roles` is `None` when not collected.
pub fn bypassing_views<'a>(
    relations: &'a [Relation],
    roles: Option<&[Role]>,
    policy: &Policy,
    is_phi_table: impl Fn(&Relation) -> bool,
) -> ViewFindings<'a> {
    // Only tables with RLS enabled have row policies to bypass; a PHI table
    // without RLS is reported on its own.
    let protected: HashMap<String, &Relation> = relations
        .iter()
        .filter(|r| r.rls_enabled && is_phi_table(r))
        .map(|r| (r.qualified_name(), r))
        .collect();
    let mut findings = ViewFindings::default();
    for view in relations.iter().filter(|r| r.kind == "v") {
        let reads = match (view.security_invoker, view.reads.as_deref()) {
            (Some(true), _) => continue,
            (Some(false), Some(reads)) => reads,
            _ => {
                if phi::is_phi_table(view, policy) {
                    findings.undecided += 1;
                }
                continue;
            }
        };
        if !readable_by_others(view) {
            continue;
        }
        let mut tables = Vec::new();
        for table in reads.iter().filter_map(|name| protected.get(name)) {
            match owner_bypasses(view, table, roles) {
                Some(true) => tables.push(*table),
                Some(false) => {}
                None => findings.undecided += 1,
            }
        }
        if !tables.is_empty() {
            findings.bypassing.push(BypassingView { view, tables });
        }
    }
    findings
}

/// Whether a role other than the owner (or PUBLIC) holds SELECT on the view.
fn readable_by_others(view: &Relation) -> bool {
    view.acl
        .iter()
        .any(|a| a.grantee != view.owner && a.privileges.contains('r'))
}

/// Whether the view's owner bypasses the table's RLS; `None` when that
/// depends on role attributes that were not read.
fn owner_bypasses(view: &Relation, table: &Relation, roles: Option<&[Role]>) -> Option<bool> {
    if view.owner == table.owner && !table.rls_forced {
        return Some(true);
    }
    // SUPERUSER and BYPASSRLS are never inherited through membership.
    let roles = roles?;
    Some(
        roles
            .iter()
            .find(|r| r.name == view.owner)
            .is_some_and(|r| r.superuser || r.bypass_rls),
    )
}
