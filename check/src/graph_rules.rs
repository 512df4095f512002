//! Rules about the shape of the history: heads that were never merged, branches
//! without a label, revisions that cannot go back down.

use retort_history::graph::Graph;
use retort_history::revision::Body;

use crate::{Finding, Rule};

pub(crate) fn check(graph: &Graph) -> Vec<Finding> {
    let mut found = unmerged_heads(graph);
    found.extend(unlabelled_branches(graph));
    found.extend(no_downgrade(graph));
    found
}

/// Heads that share an ancestor belong to one tree that was never merged: `upgrade
/// head` cannot pick one. Heads of separate trees (several bases) are fine, and so
/// is a head another revision depends on (Alembic's effective head: `upgrade
/// head` reaches it through the dependency).
fn unmerged_heads(graph: &Graph) -> Vec<Finding> {
    let heads = graph.real_heads();
    let lineage: Vec<_> = heads.iter().map(|&h| graph.ancestors(&[h], false)).collect();
    let mut tree: Vec<usize> = (0..heads.len()).collect();
    for a in 0..heads.len() {
        for b in a + 1..heads.len() {
            let mut shared = lineage[a].clone();
            shared.intersect_with(&lineage[b]);
            if !shared.is_empty() {
                let (ta, tb) = (tree[a], tree[b]);
                tree.iter_mut().filter(|t| **t == tb).for_each(|t| *t = ta);
            }
        }
    }
    let mut found = Vec::new();
    for root in 0..heads.len() {
        let members: Vec<&str> =
            (0..heads.len()).filter(|&i| tree[i] == root).map(|i| graph.revision(heads[i]).id.as_str()).collect();
        if members.len() < 2 {
            continue;
        }
        let first = graph.revision(heads[root]);
        found.push(Rule::UnmergedHeads.finding(
            &first.path,
            1,
            Some(&first.id),
            format!(
                "heads {} grow from one base and were never merged: `upgrade head` cannot choose between them",
                members.join(", ")
            ),
            format!("merge them: retort merge -m \"merge\" {}", members.join(" ")),
        ));
    }
    found
}

/// Every revision that starts a branch (a child of a branch point) should carry a
/// branch label, so that the branch can be upgraded and named on its own.
fn unlabelled_branches(graph: &Graph) -> Vec<Finding> {
    (0..graph.len())
        .filter(|&i| graph.is_branch_point(i))
        .flat_map(|point| graph.children(point).iter().map(move |&child| (point, child)))
        .filter(|&(_, child)| graph.revision(child).branch_labels.is_empty())
        .map(|(point, child)| {
            let (from, rev) = (&graph.revision(point).id, graph.revision(child));
            Rule::UnlabelledBranch.finding(
                &rev.path,
                1,
                Some(&rev.id),
                format!("revision {} starts a branch from {from} without a branch label", rev.id),
                "add a `-- Branch Labels: <name>` line to its header (`branch_labels = (...)` in .py)".into(),
            )
        })
        .collect()
}

/// A `.sql` revision whose upgrade does something and whose downgrade section
/// holds no statement (a merge, or an empty revision, has nothing to undo).
fn no_downgrade(graph: &Graph) -> Vec<Finding> {
    graph
        .revisions()
        .iter()
        .filter_map(|rev| match &rev.body {
            Body::Sql { up, down, down_line, .. } if has_statement(up) && !has_statement(down) => {
                Some(Rule::NoDowngrade.finding(
                    &rev.path,
                    down_marker_line(&rev.path).unwrap_or((*down_line).max(1)),
                    Some(&rev.id),
                    format!("revision {} has no downgrade: `retort downgrade` past it cannot undo it", rev.id),
                    "write the statements that undo it under `-- migrate:down`".into(),
                ))
            }
            _ => None,
        })
        .collect()
}

/// The line of a file's `-- migrate:down` marker.
fn down_marker_line(path: &std::path::Path) -> Option<usize> {
    let text = std::fs::read_to_string(path).ok()?;
    let marker = |line: &str| {
        let comment = line.trim().strip_prefix("--").map(|c| c.replace(' ', "").to_ascii_lowercase());
        comment.as_deref() == Some("migrate:down")
    };
    text.lines().position(marker).map(|i| i + 1)
}

/// Whether `sql` holds more than comments and blank lines.
fn has_statement(sql: &str) -> bool {
    sql.lines().map(str::trim).any(|line| !line.is_empty() && !line.starts_with("--"))
}
