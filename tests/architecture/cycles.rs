//! Import cycles for tests/architecture.rs: the groups of files that import each other in a
//! circle, and the shortest circle to show for each.

use super::krate::Crate;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Groups of two or more nodes that import each other in a circle (Tarjan), each sorted.
pub fn strongly_connected(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        groups: Vec<Vec<String>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, node: &'g str) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in self.graph.get(node).into_iter().flatten() {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut group = Vec::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack.remove(member);
                    group.push(member.to_string());
                    if member == node {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.groups.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        groups: Vec::new(),
    };
    for node in graph.keys() {
        if !walk.index.contains_key(node.as_str()) {
            walk.visit(node);
        }
    }
    walk.groups.sort();
    walk.groups
}

/// The shortest circle inside `group` that uses an edge `wanted` accepts, as the list of its
/// nodes with the first repeated at the end.
pub fn shortest_cycle(
    graph: &BTreeMap<String, BTreeSet<String>>,
    group: &[String],
    wanted: impl Fn(&str, &str) -> bool,
) -> Vec<String> {
    let inside: BTreeSet<&str> = group.iter().map(String::as_str).collect();
    let mut best: Option<Vec<String>> = None;
    for from in group {
        for to in graph.get(from).into_iter().flatten() {
            if !inside.contains(to.as_str()) || !wanted(from, to) {
                continue;
            }
            // Breadth-first from `to` back to `from`, inside the group.
            let mut previous: BTreeMap<&str, &str> = BTreeMap::new();
            let mut queue = VecDeque::from([to.as_str()]);
            while let Some(node) = queue.pop_front() {
                if node == from.as_str() {
                    break;
                }
                for next in graph.get(node).into_iter().flatten() {
                    let next = next.as_str();
                    if inside.contains(next) && next != to && !previous.contains_key(next) {
                        previous.insert(next, node);
                        queue.push_back(next);
                    }
                }
            }
            let mut back = vec![from.clone()];
            let mut node = from.as_str();
            while node != to.as_str() {
                match previous.get(node) {
                    Some(&before) => {
                        back.push(before.to_string());
                        node = before;
                    }
                    None => break,
                }
            }
            if node != to.as_str() {
                continue;
            }
            back.reverse();
            let mut cycle = vec![from.clone()];
            cycle.extend(back);
            if best.as_ref().is_none_or(|b| cycle.len() < b.len()) {
                best = Some(cycle);
            }
        }
    }
    best.unwrap_or_default()
}

pub fn describe_cycle(krate: &Crate, group: &[String], cycle: &[String]) -> String {
    let hops: Vec<String> = cycle
        .windows(2)
        .map(|hop| match krate.first_import(&hop[0], &hop[1]) {
            Some(i) => format!("    {}:{} imports {} ({})", i.from, i.line, i.written, i.to),
            None => format!("    {} imports {}", hop[0], hop[1]),
        })
        .collect();
    format!(
        "  cycle {}\n{}\n    (files in this circle: {})",
        cycle.join(" → "),
        hops.join("\n"),
        group.join(", ")
    )
}
