//! SECURITY DEFINER functions: what they may read and who may call them
//! (shared by PRIV-012 and AUD-003).
//!
//! A SECURITY DEFINER function runs as its owner. What its body reads comes
//! from [`FunctionReads`]: exact for SQL-standard bodies (`pg_depend`),
//! names found in the text for string bodies, and "unseen" when the body
//! may read more than it names (another language, dynamic SQL, calls of
//! other user functions). Never pass what cannot be seen: an unseen body
//! counts as reading every PHI table in its database. Pure: works on
//! snapshot facts only.

use super::phi;
use super::privileges::{FastMap, Reach, RoleGraph, RoleSet};
use crate::model::snapshot::{Function, Relation};
use crate::policy::Policy;
use postgres_protocol::escape::escape_identifier;

/// `"schema".name(argument types)`: how checks name a function.
pub fn routine_key(f: &Function) -> String {
    format!("{}.{}", escape_identifier(&f.schema), f.signature)
}

/// SECURITY DEFINER functions that are not part of an extension (an
/// extension's functions are the extension's responsibility).
pub fn definers(functions: &[Function]) -> impl Iterator<Item = &Function> {
    functions
        .iter()
        .filter(|f| f.security_definer && !f.from_extension)
}

/// The PHI relations a definer function may read, as far as its facts tell.
pub struct PhiReads<'a> {
    /// PHI relations its body reads (or names), sorted by name; every PHI
    /// relation of the database when the body is unseen.
    pub tables: Vec<&'a Relation>,
    /// Why the body may read more than it names, if it may.
    pub unseen: Option<&'a str>,
}

impl PhiReads<'_> {
    /// `public.patients, public.visits (names in its body)`, for evidence.
    pub fn describe(&self, f: &Function) -> String {
        let names: Vec<String> = self.tables.iter().map(|r| r.qualified_name()).collect();
        let how = match (self.unseen, f.reads.as_ref().map(|r| r.from_dependencies)) {
            (Some(why), _) => format!("may read any: it {why}"),
            (None, Some(true)) => "its dependencies".into(),
            _ => "names in its body".into(),
        };
        format!("{} ({how})", super::facts::sample(&names))
    }
}

/// The PHI relations of one database by `schema.name`, for [`phi_reads`]:
/// PHI by column names or the policy, and views that read one (a body that
/// reads such a view reads PHI, whatever the view calls its columns).
pub fn phi_by_name<'a>(
    relations: &'a [Relation],
    policy: &'a Policy,
) -> FastMap<String, &'a Relation> {
    let mut phi: FastMap<String, &Relation> = phi::phi_relations(relations, policy)
        .map(|r| (r.qualified_name(), r))
        .collect();
    // Views over views: repeat until nothing is added (each pass adds one level).
    loop {
        let over_phi: Vec<&Relation> = relations
            .iter()
            .filter(|r| !phi.contains_key(&r.qualified_name()))
            .filter(|r| r.reads.iter().flatten().any(|t| phi.contains_key(t)))
            .collect();
        if over_phi.is_empty() {
            return phi;
        }
        phi.extend(over_phi.into_iter().map(|r| (r.qualified_name(), r)));
    }
}

/// What PHI `f` may read; `None` when its reads were not collected (a
/// snapshot before schema 4).
pub fn phi_reads<'a>(
    f: &'a Function,
    phi_tables: &FastMap<String, &'a Relation>,
) -> Option<PhiReads<'a>> {
    let reads = f.reads.as_ref()?;
    let unseen = reads.unseen.as_deref();
    let mut tables: Vec<&Relation> = if unseen.is_some() {
        phi_tables.values().copied().collect()
    } else {
        reads
            .relations
            .iter()
            .filter_map(|name| phi_tables.get(name).copied())
            .collect()
    };
    tables.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    Some(PhiReads { tables, unseen })
}

/// Roles that may EXECUTE `f` (its ACL, PUBLIC's default included, through
/// any membership that allows SET ROLE) and are not covered by its owner:
/// those that hold the owner's privileges under `owner_reach` are left out.
pub fn callers_outside_owner(graph: &RoleGraph, f: &Function, owner_reach: Reach) -> RoleSet {
    let mut callers = graph.holders(&f.acl, 'X', Reach::SetRole);
    if let Some(owner) = graph.members(&f.owner, owner_reach) {
        callers.subtract(owner);
    }
    callers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::table;

    #[test]
    fn views_over_phi_tables_count_as_phi() {
        let patients = table("patients", "o", &[("id", "int"), ("ssn", "text")]);
        let mut view = table("stats", "o", &[("a", "int")]);
        view.kind = "v".into();
        view.reads = Some(vec!["public.patients".into()]);
        let mut over_view = table("stats_2", "o", &[("b", "int")]);
        over_view.kind = "v".into();
        over_view.reads = Some(vec!["public.stats".into()]);
        let other = table("codes", "o", &[("code", "text")]);
        let relations = [patients, view, over_view, other];
        let policy = Policy::default();
        let mut names: Vec<String> = phi_by_name(&relations, &policy).into_keys().collect();
        names.sort();
        assert_eq!(names, ["public.patients", "public.stats", "public.stats_2"]);
    }
}
