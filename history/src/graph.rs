//! The revision graph: revisions joined by `down_revision` and `depends_on` edges,
//! validated, with Alembic's notions of heads, bases, branch and merge points, and
//! inherited branch labels.
//!
//! Revisions are addressed by their index in load order, which is also Alembic's
//! tie-break order. Every query walks the graph once (O(V+E)) with a [`BitSet`]
//! for the visited set; nothing here does I/O.

use std::collections::{BTreeSet, HashMap};

use crate::bitset::BitSet;
use crate::error::GraphError;
use crate::revision::{ILLEGAL_ID_CHARS, Revision};

/// Edges and derived facts of one revision.
#[derive(Debug, Clone, Default)]
pub(crate) struct Node {
    /// Versioned parents (`down_revision`), declared order.
    pub down: Vec<usize>,
    /// Resolved `depends_on` targets, declared order.
    pub deps: Vec<usize>,
    /// `down` plus the dependencies no versioned ancestor already depends on.
    pub normalized_down: Vec<usize>,
    /// Versioned children, load order.
    pub next: Vec<usize>,
    /// Children through `down_revision` or `depends_on`, load order.
    pub all_next: Vec<usize>,
}

/// A validated migration history.
#[derive(Debug, Clone)]
pub struct Graph {
    revisions: Vec<Revision>,
    pub(crate) nodes: Vec<Node>,
    ids: HashMap<String, usize>,
    labels: HashMap<String, usize>,
    heads: Vec<usize>,
    real_heads: Vec<usize>,
    bases: Vec<usize>,
    /// Per declared label, the revisions that carry it (declared or inherited).
    label_reach: Vec<(String, BitSet)>,
    /// Position of each revision in one topological order (parents and dependencies first).
    rank: Vec<usize>,
}

impl Graph {
    /// Builds and validates a graph from revisions in load order.
    pub fn new(revisions: Vec<Revision>) -> Result<Graph, GraphError> {
        let ids = index_ids(&revisions)?;
        let labels = index_labels(&revisions, &ids)?;
        let mut nodes = vec![Node::default(); revisions.len()];
        for (i, rev) in revisions.iter().enumerate() {
            for parent in &rev.down_revisions {
                let &p = ids
                    .get(parent)
                    .ok_or_else(|| GraphError::MissingParent { revision: rev.id.clone(), parent: parent.clone() })?;
                if p == i {
                    return Err(GraphError::SelfLoop(rev.id.clone()));
                }
                push_unique(&mut nodes[i].down, p);
            }
            for dep in rev.depends_on.iter().filter(|d| !d.contains(':')) {
                let &d = ids.get(dep).or_else(|| labels.get(dep)).ok_or_else(|| GraphError::MissingDependency {
                    revision: rev.id.clone(),
                    dependency: dep.clone(),
                })?;
                if d == i {
                    return Err(GraphError::DependencySelfLoop(rev.id.clone()));
                }
                push_unique(&mut nodes[i].deps, d);
            }
        }
        for i in 0..nodes.len() {
            for p in nodes[i].down.clone() {
                nodes[p].next.push(i);
            }
            let mut all_parents = nodes[i].down.clone();
            nodes[i].deps.iter().for_each(|&d| push_unique(&mut all_parents, d));
            for p in all_parents {
                nodes[p].all_next.push(i);
            }
        }
        let order = check_cycles(&nodes, &revisions)?;
        let mut rank = vec![0; order.len()];
        order.iter().enumerate().for_each(|(position, &i)| rank[i] = position);
        let mut graph = Graph {
            revisions,
            nodes,
            ids,
            labels,
            heads: vec![],
            real_heads: vec![],
            bases: vec![],
            label_reach: vec![],
            rank,
        };
        graph.normalize_dependencies();
        graph.inherit_labels();
        let all = 0..graph.len();
        graph.heads = all.clone().filter(|&i| graph.nodes[i].next.is_empty()).collect();
        graph.real_heads = all.clone().filter(|&i| graph.nodes[i].all_next.is_empty()).collect();
        graph.bases = all.filter(|&i| graph.nodes[i].down.is_empty()).collect();
        Ok(graph)
    }

    /// Number of revisions.
    pub fn len(&self) -> usize {
        self.revisions.len()
    }

    /// Whether the history has no revisions.
    pub fn is_empty(&self) -> bool {
        self.revisions.is_empty()
    }

    /// The revision at `index`.
    pub fn revision(&self, index: usize) -> &Revision {
        &self.revisions[index]
    }

    /// All revisions in load order.
    pub fn revisions(&self) -> &[Revision] {
        &self.revisions
    }

    /// The index of the revision with exactly this id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.ids.get(id).copied()
    }

    /// The revision that declares `label`.
    pub fn label_owner(&self, label: &str) -> Option<usize> {
        self.labels.get(label).copied()
    }

    /// Revisions no other revision names as `down_revision`, in load order.
    pub fn heads(&self) -> &[usize] {
        &self.heads
    }

    /// Heads that no revision depends on either (`heads` as an upgrade target).
    pub fn real_heads(&self) -> &[usize] {
        &self.real_heads
    }

    /// A head that another revision depends on: Alembic's "effective head".
    pub fn is_effective_head(&self, index: usize) -> bool {
        self.is_head(index) && !self.real_heads.contains(&index)
    }

    /// Revisions without a `down_revision`, in load order.
    pub fn bases(&self) -> &[usize] {
        &self.bases
    }

    /// Versioned parents of `index`.
    pub fn parents(&self, index: usize) -> &[usize] {
        &self.nodes[index].down
    }

    /// Versioned children of `index`, in load order.
    pub fn children(&self, index: usize) -> &[usize] {
        &self.nodes[index].next
    }

    /// Resolved dependencies of `index`.
    pub fn dependencies(&self, index: usize) -> &[usize] {
        &self.nodes[index].deps
    }

    /// `depends_on` entries naming a revision of another database, `target:revision`
    /// (the fleet runner orders databases by them).
    pub fn external_dependencies(&self, index: usize) -> impl Iterator<Item = (&str, &str)> {
        self.revisions[index].depends_on.iter().filter_map(|d| d.split_once(':'))
    }

    /// Branch labels of `index`, declared or inherited, sorted.
    pub fn effective_labels(&self, index: usize) -> BTreeSet<&str> {
        self.label_reach.iter().filter(|(_, reach)| reach.contains(index)).map(|(l, _)| l.as_str()).collect()
    }

    /// Whether `index` carries `label`, declared or inherited.
    pub fn has_label(&self, index: usize, label: &str) -> bool {
        self.label_reach.iter().any(|(l, reach)| l == label && reach.contains(index))
    }

    /// Whether two or more revisions name `index` as `down_revision`.
    pub fn is_branch_point(&self, index: usize) -> bool {
        self.nodes[index].next.len() > 1
    }

    /// Whether `index` has two or more `down_revision`s.
    pub fn is_merge_point(&self, index: usize) -> bool {
        self.nodes[index].down.len() > 1
    }

    /// Whether nothing names `index` as `down_revision`.
    pub fn is_head(&self, index: usize) -> bool {
        self.nodes[index].next.is_empty()
    }

    /// `starts` and everything below them; through dependencies when `with_deps`.
    pub fn ancestors(&self, starts: &[usize], with_deps: bool) -> BitSet {
        self.reach(starts, |n| if with_deps { &n.normalized_down } else { &n.down })
    }

    /// `starts` and everything above them; through dependents when `with_deps`.
    pub fn descendants(&self, starts: &[usize], with_deps: bool) -> BitSet {
        self.reach(starts, |n| if with_deps { &n.all_next } else { &n.next })
    }

    fn reach<'a>(&'a self, starts: &[usize], edges: impl Fn(&'a Node) -> &'a Vec<usize>) -> BitSet {
        let mut seen = BitSet::new(self.len());
        let mut todo: Vec<usize> = starts.to_vec();
        while let Some(i) = todo.pop() {
            if seen.insert(i) {
                todo.extend(edges(&self.nodes[i]).iter().copied());
            }
        }
        seen
    }

    /// Whether `a` and `b` are on one line of descent (either is an ancestor of the other).
    pub fn shares_lineage(&self, a: usize, against: &[usize], with_deps: bool) -> bool {
        let up = self.descendants(&[a], with_deps);
        let down = self.ancestors(&[a], with_deps);
        against.iter().any(|&b| up.contains(b) || down.contains(b))
    }

    /// Drops dependencies that a versioned ancestor already depends on. One pass in
    /// topological order, carrying per revision the dependencies of its ancestors.
    fn normalize_dependencies(&mut self) {
        let mut targets: Vec<usize> = self.nodes.iter().flat_map(|n| n.deps.iter().copied()).collect();
        targets.sort_unstable();
        targets.dedup();
        let slot = |d: usize| targets.binary_search(&d).expect("a dependency target");
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_unstable_by_key(|&i| self.rank[i]);
        // inherited[i]: the dependencies of i's strict versioned ancestors.
        let mut inherited: Vec<BitSet> =
            vec![BitSet::new(targets.len()); if targets.is_empty() { 0 } else { self.len() }];
        for &i in &order {
            if !targets.is_empty() {
                let mut carried = BitSet::new(targets.len());
                for &p in &self.nodes[i].down {
                    carried.union_with(&inherited[p]);
                    self.nodes[p].deps.iter().for_each(|&d| {
                        carried.insert(slot(d));
                    });
                }
                inherited[i] = carried;
            }
            let mut normalized = self.nodes[i].down.clone();
            for &d in &self.nodes[i].deps {
                if !inherited[i].contains(slot(d)) {
                    push_unique(&mut normalized, d);
                }
            }
            self.nodes[i].normalized_down = normalized;
        }
    }

    /// Alembic's label inheritance: a label reaches every versioned descendant, and
    /// where the labelled revision's line of descent has no branch or merge points it
    /// also reaches down through its ancestors until the first one. Labels that reached
    /// a labelled revision before it is processed travel on with its own.
    fn inherit_labels(&mut self) {
        let mut reach: Vec<(String, BitSet)> = Vec::new();
        for i in 0..self.len() {
            let declared = &self.revisions[i].branch_labels;
            if declared.is_empty() {
                continue;
            }
            let carried: Vec<usize> = (0..reach.len()).filter(|&l| reach[l].1.contains(i)).collect();
            let region = self.label_region(i);
            for label in declared {
                if !reach.iter().any(|(l, _)| l == label) {
                    reach.push((label.clone(), BitSet::new(self.len())));
                }
            }
            let own = declared.iter().map(|d| reach.iter().position(|(l, _)| l == d).expect("just added"));
            let targets: Vec<usize> = carried.into_iter().chain(own).collect();
            for l in targets {
                reach[l].1.union_with(&region);
            }
        }
        self.label_reach = reach;
    }

    /// The revisions a label declared on `i` reaches (see [`Graph::inherit_labels`]).
    fn label_region(&self, i: usize) -> BitSet {
        let mut region = BitSet::new(self.len());
        let mut last = i;
        let mut todo = vec![i];
        while let Some(n) = todo.pop() {
            if region.insert(n) {
                last = n;
                todo.extend(self.nodes[n].next.iter().copied());
            }
        }
        let mut node = last;
        while self.nodes[node].all_next.len() <= 1 && self.nodes[node].down.len() <= 1 {
            region.insert(node);
            match self.nodes[node].down.first() {
                Some(&parent) => node = parent,
                None => break,
            }
        }
        region
    }

    /// `todo` in Alembic's emission order, newest first: a walk down from `heads`
    /// (ordered by load order) that finishes one branch before moving to a head that
    /// still needs it. Upgrades run the reverse of this order; downgrades run it as is.
    pub fn topological_sort(&self, todo: &BitSet, heads: &[usize]) -> Vec<usize> {
        let mut todo = todo.clone();
        let mut current: Vec<usize> = heads.iter().copied().filter(|&h| todo.contains(h)).collect();
        current.sort_unstable();
        current.dedup();
        let exact = self.ancestor_sets(&todo, &current);
        let mut ancestors: Vec<BitSet> = current.iter().map(|h| exact[h].clone()).collect();
        let mut output = Vec::new();
        let mut index = 0;
        while !current.is_empty() {
            let candidate = current[index];
            if let Some(other) = (0..current.len()).find(|&o| o != index && ancestors[o].contains(candidate)) {
                index = other; // another head still needs `candidate`: finish that one first
                continue;
            }
            if todo.contains(candidate) {
                output.push(candidate);
                todo.remove(candidate);
            }
            let node = &self.nodes[candidate];
            let below: Vec<usize> =
                node.normalized_down.iter().copied().filter(|&p| todo.contains(p) && !current.contains(&p)).collect();
            if below.is_empty() {
                current.remove(index);
                ancestors.remove(index);
                index = index.saturating_sub(1);
            } else if node.deps.is_empty() && node.down.len() == 1 {
                current[index] = below[0];
                ancestors[index].remove(candidate);
            } else {
                current[index] = below[0];
                ancestors[index] = exact[&below[0]].clone();
                for &extra in &below[1..] {
                    current.push(extra);
                    ancestors.push(exact[&extra].clone());
                }
            }
        }
        output
    }

    /// Exact ancestor sets (dependencies included) of every revision the sort may
    /// ask about: the heads and the parents of merges and dependents in `todo`.
    /// Computed bottom-up so each walk stops at the nearest set already known:
    /// O(V + k·V/64) for k such revisions instead of O(k·V).
    fn ancestor_sets(&self, todo: &BitSet, heads: &[usize]) -> HashMap<usize, BitSet> {
        let mut wanted: Vec<usize> = heads.to_vec();
        for n in todo.iter() {
            let node = &self.nodes[n];
            if !node.deps.is_empty() || node.down.len() > 1 {
                wanted.extend(node.normalized_down.iter().copied());
            }
        }
        wanted.sort_unstable_by_key(|&w| self.rank[w]);
        wanted.dedup();
        let mut sets: HashMap<usize, BitSet> = HashMap::with_capacity(wanted.len());
        for &w in &wanted {
            let mut set = BitSet::new(self.len());
            let mut stack = vec![w];
            while let Some(n) = stack.pop() {
                if n != w
                    && let Some(known) = sets.get(&n)
                {
                    set.union_with(known);
                } else if set.insert(n) {
                    stack.extend(self.nodes[n].normalized_down.iter().copied());
                }
            }
            sets.insert(w, set);
        }
        sets
    }
}

fn push_unique(list: &mut Vec<usize>, item: usize) {
    if !list.contains(&item) {
        list.push(item);
    }
}

fn index_ids(revisions: &[Revision]) -> Result<HashMap<String, usize>, GraphError> {
    let mut ids = HashMap::with_capacity(revisions.len());
    for (i, rev) in revisions.iter().enumerate() {
        // The version table holds ids in VARCHAR(32) and as SQL literals.
        let unusable = |c: char| c.is_whitespace() || matches!(c, '\\' | '\'' | '"' | ':');
        if rev.id.is_empty() || rev.id.len() > 32 || rev.id.chars().any(unusable) {
            return Err(GraphError::BadId(rev.id.clone()));
        }
        if let Some(ch) = rev.id.chars().find(|c| ILLEGAL_ID_CHARS.contains(c)) {
            return Err(GraphError::IllegalCharacter { id: rev.id.clone(), ch });
        }
        if let Some(first) = ids.insert(rev.id.clone(), i) {
            return Err(GraphError::DuplicateRevision {
                id: rev.id.clone(),
                first: revisions[first].path.display().to_string(),
                second: rev.path.display().to_string(),
            });
        }
    }
    Ok(ids)
}

fn index_labels(revisions: &[Revision], ids: &HashMap<String, usize>) -> Result<HashMap<String, usize>, GraphError> {
    let mut labels: HashMap<String, usize> = HashMap::new();
    for (i, rev) in revisions.iter().enumerate() {
        for label in &rev.branch_labels {
            if ids.contains_key(label) {
                return Err(GraphError::LabelIsRevisionId { label: label.clone(), revision: rev.id.clone() });
            }
            if let Some(&other) = labels.get(label).filter(|&&o| o != i) {
                return Err(GraphError::DuplicateLabel {
                    label: label.clone(),
                    revision: rev.id.clone(),
                    other: revisions[other].id.clone(),
                });
            }
            labels.insert(label.clone(), i);
        }
    }
    Ok(labels)
}

/// Kahn's algorithm over `down_revision` edges, then over all edges: what cannot be
/// ordered lies on a cycle. Returns a topological order over all edges.
fn check_cycles(nodes: &[Node], revisions: &[Revision]) -> Result<Vec<usize>, GraphError> {
    let sort = |with_deps: bool| -> (Vec<usize>, Vec<String>) {
        let parents = |n: &Node| -> Vec<usize> {
            let mut all = n.down.clone();
            if with_deps {
                n.deps.iter().for_each(|&d| push_unique(&mut all, d));
            }
            all
        };
        let mut pending: Vec<usize> = nodes.iter().map(|n| parents(n).len()).collect();
        let mut children = vec![Vec::new(); nodes.len()];
        for (i, n) in nodes.iter().enumerate() {
            parents(n).into_iter().for_each(|p| children[p].push(i));
        }
        let mut ready: Vec<usize> = (0..nodes.len()).filter(|&i| pending[i] == 0).collect();
        let mut order = Vec::with_capacity(nodes.len());
        while let Some(i) = ready.pop() {
            order.push(i);
            for &c in &children[i] {
                pending[c] -= 1;
                if pending[c] == 0 {
                    ready.push(c);
                }
            }
        }
        let cycle = (0..nodes.len()).filter(|&i| pending[i] > 0).map(|i| revisions[i].id.clone()).collect();
        (order, cycle)
    };
    let (_, cycle) = sort(false);
    if !cycle.is_empty() {
        return Err(GraphError::Cycle(cycle));
    }
    let (order, cycle) = sort(true);
    if !cycle.is_empty() {
        return Err(GraphError::DependencyCycle(cycle));
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{graph, revs};

    fn ids(g: &Graph, list: &[usize]) -> Vec<String> {
        list.iter().map(|&i| g.revision(i).id.clone()).collect()
    }

    #[test]
    fn heads_bases_branch_and_merge_points() {
        let g = graph(&["a:", "b:a", "c:a", "d:b,c", "e:d", "x:"]);
        assert_eq!(ids(&g, g.heads()), ["e", "x"]);
        assert_eq!(ids(&g, g.bases()), ["a", "x"]);
        assert!(g.is_branch_point(0) && !g.is_branch_point(1));
        assert!(g.is_merge_point(3));
    }

    #[test]
    fn dependencies_hide_real_heads_only() {
        let g = graph(&["a:", "b:a", "x:", "y:x ~b"]);
        assert_eq!(ids(&g, g.heads()), ["b", "y"]);
        assert_eq!(ids(&g, g.real_heads()), ["y"]);
        assert!(g.ancestors(&[3], true).contains(1));
        assert!(!g.ancestors(&[3], false).contains(1));
    }

    #[test]
    fn labels_inherit_up_and_down_a_straight_line() {
        let g = graph(&["a:", "b:a @lbl", "c:b"]);
        for i in 0..3 {
            assert!(g.effective_labels(i).contains("lbl"), "{i}");
        }
        let g = graph(&["a:", "b:a @one", "c:a @two", "d:b"]);
        assert!(!g.effective_labels(0).contains("one"));
        assert!(g.effective_labels(3).contains("one"));
        assert!(!g.effective_labels(3).contains("two"));
    }

    #[test]
    fn validation_names_the_revisions() {
        let err = |specs: &[&str]| Graph::new(revs(specs)).unwrap_err().to_string();
        assert!(err(&["a:", "a:"]).contains("revision a is defined twice"));
        assert!(err(&["a: @l", "b: @l"]).contains("branch label 'l' in revision b is already used by revision a"));
        assert!(err(&["a: @b", "b:"]).contains("is the id of a revision"));
        assert_eq!(err(&["a:zz"]), "revision zz referenced as down_revision of a is not present");
        assert!(err(&["a: ~nope"]).contains("depends on 'nope'"));
        assert_eq!(err(&["a:a"]), "revision a is its own down_revision");
        assert_eq!(err(&["a:b", "b:a", "c:"]), "cycle among revisions: a, b");
        assert!(err(&["a: ~b", "b:a"]).starts_with("cycle among dependencies"));
        assert!(err(&["a-b:"]).contains("the character '-'"));
    }

    #[test]
    fn topological_sort_finishes_a_branch_first() {
        let g = graph(&["a:", "b:a", "c:a", "d:b,c"]);
        let all = g.ancestors(&[3], true);
        assert_eq!(ids(&g, &g.topological_sort(&all, &[3])), ["d", "b", "c", "a"]);
    }
}
