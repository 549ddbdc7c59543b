//! Privilege facts computed from role attributes, memberships and ACLs:
//! who holds a role's privileges, who can become a superuser, who can read a
//! relation or a column.
//!
//! Owns the role graph only; it reads snapshot data and returns role sets,
//! never verdicts, and must not import check sections. The catalogue forbids a
//! role × table query on the server, so the same question is answered here:
//! the membership closure is computed once per graph (a bitset per role, a
//! depth-first pass over the membership edges), and a relation's readers are
//! the union of the closures of its ACL grantees, so the cost per relation is
//! its ACL length times a few machine words, whatever the number of roles.
//!
//! Two reaches are distinguished:
//! - [`Reach::Inherited`]: privileges a role uses without `SET ROLE`. An edge
//!   member → group is followed when the grant's `inherit_option` is true
//!   (PostgreSQL 16+) or, before 16, when the member has `rolinherit`.
//! - [`Reach::SetRole`]: privileges a role can use at all, with `SET ROLE` or
//!   without: a chain of grants that allow `SET ROLE` (any membership before
//!   16; from 16 a grant with `set_option` false does not, and an unknown
//!   option counts as allowing it, erring towards reporting access),
//!   followed by inherited grants. It always includes [`Reach::Inherited`].
//!   Becoming a superuser needs a `SET ROLE` chain only.
//!
//! Superuser is an attribute, never inherited: only `SET ROLE` to a superuser
//! role gives it. PostgreSQL forbids membership cycles; a hand-edited snapshot
//! with one still terminates (the cycle's closure is then partial).

use crate::model::snapshot::{AclItem, Column, Membership, Relation, Role};
use std::collections::BTreeSet;

/// A hash map with a cheap, unseeded hasher (rustc's), for catalog names
/// looked up once per table or ACL item. The keys come from the scanned
/// server, whose administrators are not adversaries of its own audit.
pub type FastMap<K, V> = rustc_hash::FxHashMap<K, V>;
/// A hash set with the same cheap hasher.
pub type FastSet<K> = rustc_hash::FxHashSet<K>;

/// The grantee name ACL items use for every role.
pub const PUBLIC: &str = "PUBLIC";

/// Predefined role whose members may read every table (PostgreSQL 14+).
pub const READ_ALL_DATA: &str = "pg_read_all_data";

/// Which memberships count when following roles to their groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Privileges held without `SET ROLE` (inheritance rules of the server version).
    Inherited,
    /// Privileges obtainable with `SET ROLE` (any membership).
    SetRole,
}

/// A set of roles of one [`RoleGraph`], as a bitset over its role indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSet {
    bits: Vec<u64>,
}

impl RoleSet {
    fn empty(size: usize) -> Self {
        RoleSet {
            bits: vec![0; size.div_ceil(64)],
        }
    }

    fn full(size: usize) -> Self {
        let mut set = Self::empty(size);
        for i in 0..size {
            set.insert(i);
        }
        set
    }

    pub fn contains(&self, i: usize) -> bool {
        self.bits
            .get(i / 64)
            .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
    }

    pub fn insert(&mut self, i: usize) {
        if let Some(w) = self.bits.get_mut(i / 64) {
            *w |= 1u64 << (i % 64);
        }
    }

    pub fn remove(&mut self, i: usize) {
        if let Some(w) = self.bits.get_mut(i / 64) {
            *w &= !(1u64 << (i % 64));
        }
    }

    pub fn union_with(&mut self, other: &RoleSet) {
        for (a, b) in self.bits.iter_mut().zip(&other.bits) {
            *a |= b;
        }
    }

    pub fn intersect_with(&mut self, other: &RoleSet) {
        for (a, b) in self.bits.iter_mut().zip(&other.bits) {
            *a &= b;
        }
    }

    pub fn subtract(&mut self, other: &RoleSet) {
        for (a, b) in self.bits.iter_mut().zip(&other.bits) {
            *a &= !b;
        }
    }

    /// Whether the two sets share a role, without building the intersection.
    pub fn intersects(&self, other: &RoleSet) -> bool {
        self.bits.iter().zip(&other.bits).any(|(a, b)| a & b != 0)
    }

    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|w| *w == 0)
    }

    pub fn len(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Role indexes in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.bits.iter().enumerate().flat_map(|(wi, &w)| {
            (0..64)
                .filter(move |b| w & (1u64 << b) != 0)
                .map(move |b| wi * 64 + b)
        })
    }
}

/// Roles, their memberships and the closures derived from them.
pub struct RoleGraph<'a> {
    names: Vec<&'a str>,
    /// `None` for names seen only in memberships (e.g. predefined roles a
    /// collector left out of `roles`): no attributes known.
    roles: Vec<Option<&'a Role>>,
    index: FastMap<&'a str, usize>,
    /// Direct memberships by member index: the groups a role was granted.
    groups: Vec<Vec<&'a Membership>>,
    /// By role: every role holding its privileges without SET ROLE (itself included).
    inherited: Vec<RoleSet>,
    /// By role: every role that can SET ROLE to it (itself included).
    settable: Vec<RoleSet>,
    superusers: RoleSet,
    logins: RoleSet,
    /// Roles that can become a superuser with SET ROLE (superusers included).
    superuser_reach: RoleSet,
    /// Next group on a shortest membership path towards a superuser role.
    toward_superuser: Vec<Option<usize>>,
}

impl<'a> RoleGraph<'a> {
    /// Build the graph and its closures once; everything else is lookups.
    pub fn new(roles: &'a [Role], memberships: &'a [Membership]) -> Self {
        let mut names: Vec<&'a str> = Vec::with_capacity(roles.len());
        let mut index: FastMap<&'a str, usize> =
            FastMap::with_capacity_and_hasher(roles.len(), Default::default());
        let mut attrs: Vec<Option<&'a Role>> = Vec::with_capacity(roles.len());
        let mut intern = |name: &'a str, role: Option<&'a Role>| -> usize {
            if let Some(&i) = index.get(name) {
                if role.is_some() && attrs[i].is_none() {
                    attrs[i] = role;
                }
                return i;
            }
            names.push(name);
            attrs.push(role);
            index.insert(name, names.len() - 1);
            names.len() - 1
        };
        for r in roles {
            intern(&r.name, Some(r));
        }
        let mut edges: Vec<(usize, usize, &'a Membership)> = Vec::with_capacity(memberships.len());
        for m in memberships {
            let group = intern(&m.role, None);
            let member = intern(&m.member, None);
            edges.push((member, group, m));
        }
        let size = names.len();
        let mut groups: Vec<Vec<&'a Membership>> = vec![Vec::new(); size];
        let mut members_of: Vec<Vec<(usize, Edge)>> = vec![Vec::new(); size];
        for &(member, group, m) in &edges {
            let member_inherits = attrs[member].is_none_or(|r| r.inherit);
            let edge = Edge {
                inherits: m.inherit_option.unwrap_or(member_inherits),
                settable: m.set_option != Some(false),
            };
            groups[member].push(m);
            members_of[group].push((member, edge));
        }
        let inherited = closure(&members_of, |e| e.inherits);
        let set_chain = closure(&members_of, |e| e.settable);
        let settable = if members_of.iter().flatten().all(|(_, e)| e.settable) {
            // Every grant allows SET ROLE: the SET ROLE chains already
            // include every inherited one.
            set_chain
        } else {
            set_then_inherit(&inherited, &set_chain)
        };
        let mut superusers = RoleSet::empty(size);
        let mut logins = RoleSet::empty(size);
        for (i, role) in attrs.iter().enumerate() {
            if role.is_some_and(|r| r.superuser) {
                superusers.insert(i);
            }
            if role.is_some_and(|r| r.can_login) {
                logins.insert(i);
            }
        }
        let toward_superuser = paths_toward(&members_of, &superusers);
        let mut superuser_reach = superusers.clone();
        for (i, next) in toward_superuser.iter().enumerate() {
            if next.is_some() {
                superuser_reach.insert(i);
            }
        }
        RoleGraph {
            names,
            roles: attrs,
            index,
            groups,
            inherited,
            settable,
            superusers,
            logins,
            superuser_reach,
            toward_superuser,
        }
    }

    /// Number of roles known (listed roles plus names seen only in memberships).
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub fn name(&self, i: usize) -> &'a str {
        self.names.get(i).copied().unwrap_or("")
    }

    /// The role's attributes, when it was listed in `roles`.
    pub fn role(&self, i: usize) -> Option<&'a Role> {
        self.roles.get(i).copied().flatten()
    }

    /// An empty set sized for this graph.
    pub fn no_roles(&self) -> RoleSet {
        RoleSet::empty(self.len())
    }

    /// Every role of the graph (what a grant to PUBLIC reaches).
    pub fn all_roles(&self) -> RoleSet {
        RoleSet::full(self.len())
    }

    pub fn superusers(&self) -> &RoleSet {
        &self.superusers
    }

    pub fn logins(&self) -> &RoleSet {
        &self.logins
    }

    /// Roles holding `role`'s privileges under `reach`, `role` included.
    pub fn members(&self, role: &str, reach: Reach) -> Option<&RoleSet> {
        let i = self.index_of(role)?;
        self.members_at(i, reach)
    }

    fn members_at(&self, i: usize, reach: Reach) -> Option<&RoleSet> {
        match reach {
            Reach::Inherited => self.inherited.get(i),
            Reach::SetRole => self.settable.get(i),
        }
    }

    /// Names of the roles that inherit `role`'s privileges (itself excluded).
    pub fn effective_members(&self, role: &str) -> BTreeSet<String> {
        let Some(i) = self.index_of(role) else {
            return BTreeSet::new();
        };
        self.inherited
            .get(i)
            .map(|set| {
                set.iter()
                    .filter(|&m| m != i)
                    .map(|m| self.name(m).to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Direct memberships granted to `role` (the groups it belongs to).
    pub fn direct_groups(&self, role: &str) -> &[&'a Membership] {
        self.index_of(role)
            .and_then(|i| self.groups.get(i))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Whether `role` is a superuser or can become one with SET ROLE.
    pub fn reaches_superuser(&self, role: &str) -> bool {
        self.index_of(role)
            .is_some_and(|i| self.superuser_reach.contains(i))
    }

    /// Roles that are superusers or can SET ROLE to one.
    pub fn superuser_reach(&self) -> &RoleSet {
        &self.superuser_reach
    }

    /// A shortest membership chain from `role` to a superuser role, both
    /// ends included (`[role]` when it is a superuser itself); `None` when
    /// no chain exists.
    pub fn superuser_path(&self, role: &str) -> Option<Vec<&'a str>> {
        let mut at = self.index_of(role)?;
        let mut path = vec![self.name(at)];
        while !self.superusers.contains(at) {
            at = self.toward_superuser.get(at).copied().flatten()?;
            path.push(self.name(at));
            if path.len() > self.len() {
                return None;
            }
        }
        Some(path)
    }

    /// Roles that hold privilege letter `privilege` through `acl` under `reach`.
    pub fn holders(&self, acl: &[AclItem], privilege: char, reach: Reach) -> RoleSet {
        let mut set = self.no_roles();
        for item in acl.iter().filter(|a| a.privileges.contains(privilege)) {
            if item.grantee == PUBLIC {
                return self.all_roles();
            }
            if let Some(members) = self.members(&item.grantee, reach) {
                set.union_with(members);
            }
        }
        set
    }

    /// Roles that can SELECT from `rel` (or, with `column`, read that column):
    /// table ACL, the column's ACL, PUBLIC, the owner and its members,
    /// `pg_read_all_data`, and superusers (with SET ROLE: whoever can become one).
    pub fn who_can_select(&self, rel: &Relation, column: Option<&Column>, reach: Reach) -> RoleSet {
        let mut set = self.holders(&rel.acl, 'r', reach);
        if let Some(col) = column {
            set.union_with(&self.holders(&col.acl, 'r', reach));
        }
        for implicit in [rel.owner.as_str(), READ_ALL_DATA] {
            if let Some(members) = self.members(implicit, reach) {
                set.union_with(members);
            }
        }
        match reach {
            Reach::Inherited => set.union_with(&self.superusers),
            Reach::SetRole => set.union_with(&self.superuser_reach),
        }
        set
    }

    /// [`Self::who_can_select`] as role names.
    pub fn who_can_select_names(
        &self,
        rel: &Relation,
        column: Option<&Column>,
        reach: Reach,
    ) -> BTreeSet<String> {
        self.names_of(&self.who_can_select(rel, column, reach))
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// The names in a set, sorted.
    pub fn names_of(&self, set: &RoleSet) -> Vec<&'a str> {
        let mut names: Vec<&'a str> = set.iter().map(|i| self.name(i)).collect();
        names.sort_unstable();
        names
    }

    /// The set of the named roles that exist in the graph.
    pub fn set_of<'n>(&self, names: impl IntoIterator<Item = &'n str>) -> RoleSet {
        let mut set = self.no_roles();
        for name in names {
            if let Some(i) = self.index_of(name) {
                set.insert(i);
            }
        }
        set
    }

    /// Everyone who can SET ROLE to any of the named roles (those roles included).
    pub fn settable_union<'n>(&self, names: impl IntoIterator<Item = &'n str>) -> RoleSet {
        let mut set = self.no_roles();
        for name in names {
            if let Some(members) = self.members(name, Reach::SetRole) {
                set.union_with(members);
            }
        }
        set
    }
}

/// What one membership grant lets its member do with the group.
#[derive(Clone, Copy)]
struct Edge {
    /// The member holds the group's privileges without SET ROLE.
    inherits: bool,
    /// The member may SET ROLE to the group (PG16+ `set_option`).
    settable: bool,
}

/// For each group G, the roles that can use its privileges: those that can
/// SET ROLE to some Y which inherits G (Y = G included). Runs only when a
/// grant has SET FALSE; cost is one bitset union per (group, inheritor).
fn set_then_inherit(inherited: &[RoleSet], set_chain: &[RoleSet]) -> Vec<RoleSet> {
    inherited
        .iter()
        .map(|heirs| {
            let mut reach = RoleSet::empty(set_chain.len());
            for y in heirs.iter() {
                if let Some(setters) = set_chain.get(y) {
                    reach.union_with(setters);
                }
            }
            reach
        })
        .collect()
}

/// For every group, the set of roles reachable down `members_of` edges that
/// `follow` accepts, the group included. Memoised depth-first: each edge is
/// visited once and each visit costs one bitset union.
fn closure(members_of: &[Vec<(usize, Edge)>], follow: impl Fn(Edge) -> bool) -> Vec<RoleSet> {
    let size = members_of.len();
    let mut sets: Vec<RoleSet> = (0..size)
        .map(|i| {
            let mut s = RoleSet::empty(size);
            s.insert(i);
            s
        })
        .collect();
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        Open,
        Done,
    }
    let mut state = vec![State::New; size];
    for root in 0..size {
        if state[root] != State::New {
            continue;
        }
        state[root] = State::Open;
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(top) = stack.last_mut() {
            let (node, edge) = *top;
            if let Some(&(member, grant)) = members_of[node].get(edge) {
                top.1 += 1;
                if !follow(grant) {
                    continue;
                }
                match state[member] {
                    State::New => {
                        state[member] = State::Open;
                        stack.push((member, 0));
                    }
                    State::Done => union_into(&mut sets, node, member),
                    State::Open => {} // a cycle: PostgreSQL forbids these
                }
            } else {
                state[node] = State::Done;
                stack.pop();
                if let Some(&(parent, _)) = stack.last() {
                    union_into(&mut sets, parent, node);
                }
            }
        }
    }
    sets
}

fn union_into(sets: &mut [RoleSet], dst: usize, src: usize) {
    if dst == src {
        return;
    }
    let (low, high) = sets.split_at_mut(dst.max(src));
    let (target, source) = if dst < src {
        (&mut low[dst], &high[0])
    } else {
        (&mut high[0], &low[src])
    };
    target.union_with(source);
}

/// Multi-source breadth-first search from the superusers down to their
/// members (memberships that allow SET ROLE; superuser is never inherited):
/// for each role, the next group towards a superuser on a shortest path.
/// Superusers themselves get `None`.
fn paths_toward(members_of: &[Vec<(usize, Edge)>], superusers: &RoleSet) -> Vec<Option<usize>> {
    let mut next: Vec<Option<usize>> = vec![None; members_of.len()];
    let mut seen = superusers.clone();
    let mut queue: std::collections::VecDeque<usize> = superusers.iter().collect();
    while let Some(group) = queue.pop_front() {
        for &(member, _) in members_of[group].iter().filter(|(_, e)| e.settable) {
            if !seen.contains(member) {
                seen.insert(member);
                next[member] = Some(group);
                queue.push_back(member);
            }
        }
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::snapshot::AclItem;

    fn role(name: &str, edit: impl FnOnce(&mut Role)) -> Role {
        let mut r = Role {
            name: name.into(),
            inherit: true,
            conn_limit: -1,
            ..Role::default()
        };
        edit(&mut r);
        r
    }

    fn grant(group: &str, member: &str, inherit: Option<bool>) -> Membership {
        Membership {
            role: group.into(),
            member: member.into(),
            admin_option: false,
            inherit_option: inherit,
            set_option: None,
        }
    }

    fn acl(grantee: &str, privileges: &str) -> AclItem {
        AclItem {
            grantee: grantee.into(),
            grantor: "owner".into(),
            privileges: privileges.into(),
            grantable: String::new(),
        }
    }

    fn names(set: BTreeSet<String>) -> Vec<String> {
        set.into_iter().collect()
    }

    #[test]
    fn rolinherit_decides_before_16() {
        let roles = vec![
            role("readers", |_| {}),
            role("staff", |_| {}),
            role("alice", |r| r.can_login = true),
            role("bob", |r| {
                r.can_login = true;
                r.inherit = false;
            }),
        ];
        let m = vec![
            grant("readers", "staff", None),
            grant("staff", "alice", None),
            grant("staff", "bob", None),
        ];
        let g = RoleGraph::new(&roles, &m);
        assert_eq!(
            names(g.effective_members("readers")),
            vec!["alice", "staff"]
        );
        let settable = g
            .members("readers", Reach::SetRole)
            .cloned()
            .unwrap_or(g.no_roles());
        assert_eq!(
            g.names_of(&settable),
            vec!["alice", "bob", "readers", "staff"]
        );
    }

    #[test]
    fn set_option_false_blocks_set_role_but_not_inheritance() {
        let roles = vec![
            role("postgres", |r| r.superuser = true),
            role("phi_owner", |_| {}),
            role("staff", |_| {}),
            role("alice", |r| r.can_login = true),
            role("bob", |r| r.can_login = true),
            role("carol", |r| r.can_login = true),
        ];
        let with = |group: &str, member: &str, inherit: bool, set: bool| Membership {
            set_option: Some(set),
            ..grant(group, member, Some(inherit))
        };
        let m = vec![
            // alice: neither inherits nor may SET ROLE: no reach at all.
            with("phi_owner", "alice", false, false),
            // bob: inherits without SET: still uses the privileges.
            with("phi_owner", "bob", true, false),
            // carol may SET ROLE to staff, which inherits phi_owner.
            with("staff", "carol", false, true),
            with("phi_owner", "staff", true, false),
            // SET FALSE to a superuser role gives no superuser.
            with("postgres", "alice", true, false),
        ];
        let g = RoleGraph::new(&roles, &m);
        let reach = g.members("phi_owner", Reach::SetRole).unwrap();
        assert_eq!(
            g.names_of(reach),
            vec!["bob", "carol", "phi_owner", "staff"]
        );
        assert!(!g.reaches_superuser("alice"));
        // Unknown (pre-16) set_option still allows SET ROLE.
        let m = vec![grant("phi_owner", "alice", Some(false))];
        let g = RoleGraph::new(&roles, &m);
        let reach = g.members("phi_owner", Reach::SetRole).unwrap();
        assert_eq!(g.names_of(reach), vec!["alice", "phi_owner"]);
    }

    #[test]
    fn inherit_option_decides_from_16() {
        let roles = vec![
            role("readers", |_| {}),
            role("alice", |r| r.inherit = false),
            role("bob", |_| {}),
        ];
        let m = vec![
            grant("readers", "alice", Some(true)),
            grant("readers", "bob", Some(false)),
        ];
        let g = RoleGraph::new(&roles, &m);
        assert_eq!(names(g.effective_members("readers")), vec!["alice"]);
    }

    #[test]
    fn superuser_paths_are_shortest_and_follow_any_membership() {
        let roles = vec![
            role("postgres", |r| r.superuser = true),
            role("admins", |_| {}),
            role("ops", |r| r.inherit = false),
            role("app", |r| r.can_login = true),
            role("other", |r| r.can_login = true),
        ];
        let m = vec![
            grant("postgres", "admins", None),
            grant("admins", "ops", None),
            grant("ops", "app", None),
            grant("postgres", "ops", None),
        ];
        let g = RoleGraph::new(&roles, &m);
        assert_eq!(
            g.superuser_path("app"),
            Some(vec!["app", "ops", "postgres"])
        );
        assert_eq!(g.superuser_path("postgres"), Some(vec!["postgres"]));
        assert_eq!(g.superuser_path("other"), None);
        assert_eq!(g.superuser_path("missing"), None);
        assert!(g.reaches_superuser("app") && !g.reaches_superuser("other"));
    }

    #[test]
    fn readers_come_from_acls_columns_public_owner_and_predefined_roles() {
        let roles = vec![
            role("owner", |_| {}),
            role("owner_member", |r| r.can_login = true),
            role("clerk", |r| r.can_login = true),
            role("col_reader", |r| r.can_login = true),
            role("auditor", |r| r.can_login = true),
            role("outsider", |r| r.can_login = true),
            role("root", |r| r.superuser = true),
        ];
        let m = vec![
            grant("owner", "owner_member", None),
            grant("pg_read_all_data", "auditor", None),
        ];
        let g = RoleGraph::new(&roles, &m);
        let mut rel = Relation {
            schema: "public".into(),
            name: "patients".into(),
            owner: "owner".into(),
            acl: vec![
                acl("owner", "arwdDxt"),
                acl("clerk", "r"),
                acl("writer", "a"),
            ],
            ..Relation::default()
        };
        let col = Column {
            name: "ssn".into(),
            type_name: "text".into(),
            acl: vec![acl("col_reader", "r")],
        };
        let table = g.who_can_select_names(&rel, None, Reach::Inherited);
        assert_eq!(
            table.into_iter().collect::<Vec<_>>(),
            vec![
                "auditor",
                "clerk",
                "owner",
                "owner_member",
                "pg_read_all_data",
                "root"
            ]
        );
        assert!(g
            .who_can_select_names(&rel, Some(&col), Reach::Inherited)
            .contains("col_reader"));
        rel.acl.push(acl(PUBLIC, "r"));
        assert_eq!(
            g.who_can_select(&rel, None, Reach::Inherited).len(),
            g.len()
        );
    }

    #[test]
    fn cycles_terminate_and_unknown_names_become_nodes() {
        let roles = vec![role("a", |_| {}), role("b", |_| {})];
        let m = vec![
            grant("a", "b", None),
            grant("b", "a", None),
            grant("c", "a", None),
        ];
        let g = RoleGraph::new(&roles, &m);
        assert_eq!(g.len(), 3);
        assert!(g.effective_members("a").contains("b"));
        assert!(g.effective_members("c").contains("a"));
        assert!(g.role(g.index_of("c").unwrap_or(0)).is_none());
    }

    #[test]
    fn role_set_operations() {
        let mut a = RoleSet::empty(130);
        a.insert(0);
        a.insert(129);
        let mut b = RoleSet::empty(130);
        b.insert(129);
        assert!(a.intersects(&b));
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![0, 129]);
        a.subtract(&b);
        assert_eq!(a.len(), 1);
        a.intersect_with(&b);
        assert!(a.is_empty());
        assert_eq!(RoleSet::full(130).len(), 130);
    }

    #[test]
    fn a_thousand_roles_and_ten_thousand_tables_stay_fast() {
        let mut roles: Vec<Role> = (0..1000)
            .map(|i| role(&format!("r{i}"), |r| r.can_login = i % 2 == 0))
            .collect();
        roles.push(role("root", |r| r.superuser = true));
        let m: Vec<Membership> = (1..1000)
            .map(|i| grant(&format!("r{}", i / 10), &format!("r{i}"), None))
            .collect();
        let rels: Vec<Relation> = (0..10_000)
            .map(|i| Relation {
                name: format!("t{i}"),
                owner: format!("r{}", i % 1000),
                acl: vec![acl(&format!("r{}", i % 97), "r"), acl("r0", "a")],
                ..Relation::default()
            })
            .collect();
        let started = std::time::Instant::now();
        let g = RoleGraph::new(&roles, &m);
        let mut total = 0;
        for rel in &rels {
            total += g.who_can_select(rel, None, Reach::SetRole).len();
        }
        assert!(total > 0);
        let spent = started.elapsed();
        // Generous for unoptimised test builds on a shared machine.
        assert!(spent.as_millis() < 2_000, "took {spent:?}");
    }
}
