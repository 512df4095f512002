//! The planner: from the database's current heads and a target spec to the steps
//! Alembic would run, each with the version-table change it implies.
//!
//! Which revisions run, and in what order, follows Alembic's `upgrade`,
//! `downgrade` and `stamp`; where Alembic picks among several heads by warning,
//! retort refuses and lists the choices. The version-table change of each step is
//! one of Alembic's five (create branch, delete branch, merge, unmerge, update),
//! decided against the heads as they stand when the step runs.

use crate::bitset::BitSet;
use crate::error::SpecError;
use crate::graph::Graph;
use crate::revision::Body;
use crate::spec::{Overwalk, Pos, relative};

/// Which way a step moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Up,
    Down,
}

impl Direction {
    /// `upgrade` or `downgrade`, as Alembic names steps.
    pub fn verb(self) -> &'static str {
        match self {
            Direction::Up => "upgrade",
            Direction::Down => "downgrade",
        }
    }
}

/// One of Alembic's five version-table changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionChange {
    /// A new branch: insert a row.
    CreateBranch(String),
    /// A branch ends: delete its row.
    DeleteBranch(String),
    /// Several rows become one: delete all but one, update that one.
    Merge { delete: Vec<String>, from: String, to: String },
    /// One row becomes several: update it, insert the others.
    Unmerge { from: String, to: String, insert: Vec<String> },
    /// A row moves along a line.
    Update { from: String, to: String },
}

/// A single statement against the version table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionOp {
    Insert(String),
    Delete(String),
    Update { from: String, to: String },
}

impl VersionChange {
    /// The statements that carry out this change, in order.
    pub fn ops(&self) -> Vec<VersionOp> {
        match self {
            VersionChange::CreateBranch(id) => vec![VersionOp::Insert(id.clone())],
            VersionChange::DeleteBranch(id) => vec![VersionOp::Delete(id.clone())],
            VersionChange::Merge { delete, from, to } => {
                let mut ops: Vec<VersionOp> = delete.iter().cloned().map(VersionOp::Delete).collect();
                ops.push(VersionOp::Update { from: from.clone(), to: to.clone() });
                ops
            }
            VersionChange::Unmerge { from, to, insert } => {
                let mut ops: Vec<VersionOp> = insert.iter().cloned().map(VersionOp::Insert).collect();
                ops.push(VersionOp::Update { from: from.clone(), to: to.clone() });
                ops
            }
            VersionChange::Update { from, to } => vec![VersionOp::Update { from: from.clone(), to: to.clone() }],
        }
    }

    /// Applies the change to a list of heads.
    pub fn apply(&self, heads: &mut Vec<String>) {
        for op in self.ops() {
            match op {
                VersionOp::Insert(id) => heads.push(id),
                VersionOp::Delete(id) => heads.retain(|h| *h != id),
                VersionOp::Update { from, to } => {
                    heads.iter_mut().filter(|h| **h == from).for_each(|h| *h = to.clone())
                }
            }
        }
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The revision that runs (the stamp destination for stamp steps).
    pub revision: String,
    pub direction: Direction,
    /// Revisions on the from-side of `-- Running upgrade A -> B` (no dependencies).
    pub from: Vec<String>,
    /// Revisions on the to-side.
    pub to: Vec<String>,
    /// The SQL to run; `None` for stamps and for Alembic `.py` revisions.
    pub sql: Option<String>,
    /// The revision file (empty for stamps).
    pub path: std::path::PathBuf,
    /// The file line `sql` starts on (0 when there is none).
    pub line: usize,
    /// Whether `sql` and the version change commit together.
    pub transactional: bool,
    /// Whether its statements may run again after a crash (`Idempotent: true`).
    pub idempotent: bool,
    /// Whether this revision is an Alembic `.py` file (retort cannot run its body).
    pub is_python: bool,
    /// Whether this is a stamp (version change only).
    pub is_stamp: bool,
    pub change: VersionChange,
}

impl Step {
    /// `upgrade A -> B`, as Alembic's `-- Running ...` lines write it.
    pub fn short_log(&self) -> String {
        format!("{} {} -> {}", self.direction.verb(), self.from.join(", "), self.to.join(", "))
    }
}

/// The steps that take a database from its heads to a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// The version table's rows after the last step.
    pub heads_after: Vec<String>,
}

/// Plans `upgrade <target>` from the current version rows.
pub fn upgrade(graph: &Graph, current: &[String], target: &str) -> Result<Plan, SpecError> {
    check_branch(graph, target)?;
    let current_revs = resolve_current(graph, current)?;
    let targets = upgrade_targets(graph, &current_revs, target, Overwalk::Fails)?;
    check_overlap(graph, &targets)?;
    check_overlap(graph, &current_revs)?;
    let mut needs = graph.ancestors(&targets, true);
    needs.subtract(&graph.ancestors(&current_revs, true));
    let mut order = graph.topological_sort(&needs, &targets);
    order.reverse();
    build(graph, current, &order, Direction::Up)
}

/// Plans `downgrade <target>` from the current version rows.
pub fn downgrade(graph: &Graph, current: &[String], target: &str) -> Result<Plan, SpecError> {
    crate::spec::refuse_blanks(target)?;
    check_branch(graph, target)?;
    let current_revs = resolve_current(graph, current)?;
    let (branch, destination) = downgrade_target(graph, &current_revs, target)?;
    let mut roots: Vec<usize> = match destination {
        None => (0..graph.len()).filter(|&i| graph.parents(i).is_empty()).collect(),
        Some(d) => graph.children(d).to_vec(),
    };
    if let Some(branch) = &branch
        && roots.len() > 1
    {
        let on_branch = graph.ancestors(&[graph.resolve_branch(branch)?], false);
        roots.retain(|&r| on_branch.contains(r));
        if roots.is_empty() {
            return Err(not_reachable(graph, target, Direction::Down, &current_revs));
        }
    }
    let mut drop = graph.descendants(&roots, true);
    drop.intersect_with(&graph.ancestors(&current_revs, true));
    if let Some(d) = destination
        && drop.is_empty()
        && !current_revs.contains(&d)
    {
        return Err(not_reachable(graph, target, Direction::Down, &current_revs));
    }
    let order = graph.topological_sort(&drop, &current_revs);
    build(graph, current, &order, Direction::Down)
}

/// Alembic's `walk_revisions(base, head)`: the revisions `history -r lower:upper`
/// lists, newest first. `lower` is one spec, or the current heads for `current:`.
pub fn history(graph: &Graph, lower: &[String], upper: &str) -> Result<Vec<usize>, SpecError> {
    let lower_revs: Vec<usize> =
        lower.iter().map(|spec| graph.resolve(spec)).collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect();
    // `A:+N` past the last revision lists up to the end, as in Alembic.
    let mut targets = upgrade_targets(graph, &lower_revs, upper, Overwalk::Stops)?;
    if let [spec] = lower
        && let Some((branch, _)) = spec.split_once('@')
    {
        graph.resolve_branch(branch)?; // `nosuch@-1:` names nothing
        let label = match graph.resolve_one(branch) {
            Ok(Some(i)) if graph.revision(i).id == branch => graph.effective_labels(i).first().map(|l| l.to_string()),
            _ => Some(branch.to_string()),
        };
        if let Some(label) = label {
            targets.retain(|&t| graph.has_label(t, &label));
        }
    }
    check_overlap(graph, &targets)?;
    let required = graph.ancestors(&targets, true);
    if let Some(&outside) = lower_revs.iter().find(|&&r| !required.contains(r)) {
        return Err(SpecError::NotReachable {
            target: upper.to_string(),
            direction: "history",
            current: vec![graph.revision(outside).id.clone()],
        });
    }
    let mut needs = required;
    needs.subtract(&graph.ancestors(&lower_revs, true));
    lower_revs.iter().for_each(|&r| {
        needs.insert(r);
    });
    if !lower_revs.is_empty() {
        needs.intersect_with(&graph.descendants(&lower_revs, false));
    }
    Ok(graph.topological_sort(&needs, &targets))
}

/// Checks what of an `upgrade`/`downgrade`/`stamp` spec does not depend on a
/// database's version rows: blanks, the branch, the revision a relative step counts
/// from, the revision named. A fleet run checks each history once, before any
/// target is touched, so that a typo is one error and no connection.
pub fn check_spec(graph: &Graph, spec: &str) -> Result<(), SpecError> {
    crate::spec::refuse_blanks(spec)?;
    let Some(rel) = relative(spec) else {
        check_branch(graph, spec)?;
        // The revision part only: a downgrade ignores the branch of `x@rev`, and
        // `head`, `heads`, `base` are checked against the rows when planning.
        let symbol = spec.rsplit_once('@').map_or(spec, |(_, symbol)| symbol);
        if matches!(symbol, "head" | "heads" | "base" | "") {
            return Ok(());
        }
        return graph.resolve(symbol).map(drop);
    };
    if let Some(branch) = rel.branch {
        graph.resolve_branch(branch)?;
    }
    match rel.symbol {
        Some(symbol) => graph.resolve(symbol).map(drop),
        None => Ok(()),
    }
}

/// Plans `stamp <targets...>`: version changes only, nothing runs. With `purge`
/// the table is emptied first and `current` is ignored.
pub fn stamp(graph: &Graph, current: &[String], targets: &[String], purge: bool) -> Result<Plan, SpecError> {
    let current: Vec<String> = if purge { vec![] } else { current.to_vec() };
    let current_revs = resolve_current(graph, &current)?;
    let targets: Vec<String> = if targets.is_empty() { vec!["base".into()] } else { targets.to_vec() };
    let mut filtered: Vec<usize> = Vec::new();
    let mut destinations: Vec<Option<usize>> = Vec::new();
    for spec in &targets {
        for h in graph.filter_for_lineage(&current_revs, spec, true)? {
            if !filtered.contains(&h) {
                filtered.push(h);
            }
        }
        destinations.extend(graph.resolve(spec)?.into_iter().map(Some));
    }
    if destinations.is_empty() {
        destinations.push(None);
    }
    let mut heads = current.clone();
    let mut steps = Vec::new();
    for destination in destinations {
        for (mut from, to, direction, branch_move) in stamp_moves(graph, &filtered, destination) {
            // An earlier destination may already have moved these rows (stamping a
            // merge back to both parents); Alembic crashes there, retort adds a row.
            from.retain(|f| heads.contains(f));
            let moved_away = from.is_empty() && !branch_move;
            if from.is_empty() && to.iter().all(|t| heads.contains(t)) {
                continue; // nothing to move: already stamped (`stamp X X`) or moved away
            }
            let (direction, branch_move) = if moved_away { (Direction::Up, true) } else { (direction, branch_move) };
            let change = stamp_change(&from, &to, direction, branch_move, &heads);
            change.apply(&mut heads);
            let revision = to.first().or(from.first()).cloned().unwrap_or_default();
            steps.push(Step {
                revision,
                direction,
                from,
                to,
                sql: None,
                path: Default::default(),
                line: 0,
                transactional: true,
                idempotent: false,
                is_python: false,
                is_stamp: true,
                change,
            });
        }
    }
    Ok(Plan { steps, heads_after: heads })
}

/// Alembic's `_stamp_revs` for one destination: (from, to, direction, branch move) moves.
fn stamp_moves(
    graph: &Graph,
    filtered: &[usize],
    destination: Option<usize>,
) -> Vec<(Vec<String>, Vec<String>, Direction, bool)> {
    let Some(dest) = destination else {
        return filtered.iter().map(|&h| (graph.ids(&[h]), vec![], Direction::Down, true)).collect();
    };
    if filtered.contains(&dest) {
        return vec![];
    }
    let to = graph.ids(&[dest]);
    let above = graph.descendants(&[dest], true);
    let below = graph.ancestors(&[dest], true);
    // As Alembic does, the move takes every head the targets' lines selected, not
    // only those above (or below) this destination.
    if filtered.iter().any(|&h| above.contains(h)) {
        vec![(graph.ids(filtered), to, Direction::Down, false)]
    } else if filtered.iter().any(|&h| below.contains(h)) {
        vec![(graph.ids(filtered), to, Direction::Up, false)]
    } else {
        vec![(vec![], to, Direction::Up, true)]
    }
}

/// Alembic's `StampStep` decision among the five changes.
fn stamp_change(
    from: &[String],
    to: &[String],
    direction: Direction,
    branch_move: bool,
    heads: &[String],
) -> VersionChange {
    let absent = |ids: &[String]| ids.iter().any(|i| !heads.contains(i));
    if direction == Direction::Down && branch_move {
        VersionChange::DeleteBranch(from[0].clone())
    } else if direction == Direction::Up && (branch_move || absent(from)) && absent(to) {
        VersionChange::CreateBranch(to[0].clone())
    } else if from.len() > 1 {
        let (last, rest) = from.split_last().expect("several");
        VersionChange::Merge { delete: rest.to_vec(), from: last.clone(), to: to[0].clone() }
    } else {
        VersionChange::Update { from: from[0].clone(), to: to[0].clone() }
    }
}

/// Turns an ordered list of revisions into steps, deciding each version change
/// against the heads as they stand before it.
fn build(graph: &Graph, current: &[String], order: &[usize], direction: Direction) -> Result<Plan, SpecError> {
    let mut heads: Vec<String> = current.to_vec();
    let mut steps = Vec::with_capacity(order.len());
    for &index in order {
        let change = revision_change(graph, index, direction, &heads)?;
        change.apply(&mut heads);
        let rev = graph.revision(index);
        let down = rev.down_revisions.clone();
        let (from, to) = match direction {
            Direction::Up => (down, vec![rev.id.clone()]),
            Direction::Down => (vec![rev.id.clone()], down),
        };
        let (sql, line) = rev.sql_body(direction).map_or((None, 0), |(sql, line)| (Some(sql.to_string()), line));
        steps.push(Step {
            revision: rev.id.clone(),
            direction,
            from,
            to,
            sql,
            path: rev.path.clone(),
            line,
            transactional: rev.transactional,
            idempotent: rev.idempotent,
            is_python: rev.body == Body::Python,
            is_stamp: false,
            change,
        });
    }
    Ok(Plan { steps, heads_after: heads })
}

/// Alembic's `RevisionStep` decision among the five changes.
fn revision_change(
    graph: &Graph,
    index: usize,
    direction: Direction,
    heads: &[String],
) -> Result<VersionChange, SpecError> {
    let id = graph.revision(index).id.clone();
    let down: Vec<String> = graph.ids(&graph.nodes[index].normalized_down);
    let in_heads = |r: &String| heads.contains(r);
    match direction {
        Direction::Up => {
            let present: Vec<String> = down.iter().filter(|r| in_heads(r)).cloned().collect();
            if present.is_empty() {
                return Ok(VersionChange::CreateBranch(id));
            }
            if down.len() > 1 && present.len() > 1 {
                let others = heads.iter().filter(|h| !down.contains(h)).cloned().collect::<Vec<_>>();
                let below = ancestors_of_ids(graph, &others);
                let from: Vec<String> = down
                    .iter()
                    .filter(|r| in_heads(r) && !below.contains(graph.index_of(r).expect("known")))
                    .cloned()
                    .collect();
                let (last, rest) = from.split_last().ok_or_else(|| inconsistent(&id))?;
                return Ok(VersionChange::Merge { delete: rest.to_vec(), from: last.clone(), to: id });
            }
            let from = if down.len() == 1 { down[0].clone() } else { single(present, &id)? };
            Ok(VersionChange::Update { from, to: id })
        }
        Direction::Down => {
            if !in_heads(&id) {
                return Err(inconsistent(&id));
            }
            let targets = unmerge_targets(graph, &id, &down, heads);
            if down.is_empty() || targets.is_empty() {
                return Ok(VersionChange::DeleteBranch(id));
            }
            if down.len() > 1 {
                let (last, rest) = targets.split_last().expect("not empty");
                return Ok(VersionChange::Unmerge { from: id, to: last.clone(), insert: rest.to_vec() });
            }
            Ok(VersionChange::Update { from: id, to: down[0].clone() })
        }
    }
}

/// The rows a downgraded revision leaves behind: its parents, minus those already
/// below another current head, or (alone in the table) minus those below each other.
fn unmerge_targets(graph: &Graph, id: &str, down: &[String], heads: &[String]) -> Vec<String> {
    let others: Vec<String> = heads.iter().filter(|h| *h != id).cloned().collect();
    let below = if others.is_empty() {
        let mut strictly_below = BitSet::new(graph.len());
        for r in down {
            let r = graph.index_of(r).expect("known");
            strictly_below.union_with(&graph.ancestors(&graph.nodes[r].normalized_down, true));
        }
        strictly_below
    } else {
        ancestors_of_ids(graph, &others)
    };
    down.iter().filter(|r| !below.contains(graph.index_of(r).expect("known"))).cloned().collect()
}

fn single(mut present: Vec<String>, id: &str) -> Result<String, SpecError> {
    if present.len() == 1 { Ok(present.remove(0)) } else { Err(inconsistent(id)) }
}

fn inconsistent(id: &str) -> SpecError {
    SpecError::Inconsistent(format!("cannot decide which version row revision {id} replaces"))
}

fn ancestors_of_ids(graph: &Graph, ids: &[String]) -> BitSet {
    let indexes: Vec<usize> = ids.iter().filter_map(|i| graph.index_of(i)).collect();
    graph.ancestors(&indexes, true)
}

/// The version rows as revisions; an unknown row is an error naming it.
fn resolve_current(graph: &Graph, current: &[String]) -> Result<Vec<usize>, SpecError> {
    let mut revs = Vec::with_capacity(current.len());
    for id in current {
        let index = graph.index_of(id).ok_or_else(|| SpecError::UnknownCurrent(id.clone()))?;
        if !revs.contains(&index) {
            revs.push(index);
        }
    }
    Ok(revs)
}

/// Alembic's overlap check: no requested revision may lie below another.
fn check_overlap(graph: &Graph, revs: &[usize]) -> Result<(), SpecError> {
    for &r in revs {
        let mut parents: Vec<usize> = graph.nodes[r].normalized_down.clone();
        parents.retain(|&p| p != r);
        let below = graph.ancestors(&parents, true);
        let others: Vec<usize> = revs.iter().copied().filter(|&o| o != r && below.contains(o)).collect();
        if !others.is_empty() {
            return Err(SpecError::Overlap { revision: graph.revision(r).id.clone(), others: graph.ids(&others) });
        }
    }
    Ok(())
}

fn not_reachable(graph: &Graph, target: &str, direction: Direction, current: &[usize]) -> SpecError {
    SpecError::NotReachable { target: target.to_string(), direction: direction.verb(), current: graph.ids(current) }
}

/// Alembic's `_parse_upgrade_target`.
/// The revisions an upgrade to `target` ends at; `overwalk` says what a positive
/// relative step past the last revision does.
fn upgrade_targets(
    graph: &Graph,
    current: &[usize],
    target: &str,
    overwalk: Overwalk,
) -> Result<Vec<usize>, SpecError> {
    let Some(rel) = relative(target) else { return graph.resolve(target) };
    let too_far = || SpecError::RelativeTooFar { spec: target.to_string(), steps: rel.steps.unsigned_abs() };
    let walked = if rel.steps > 0 {
        let start = match rel.symbol {
            Some(symbol) => graph.resolve_one(symbol)?.map(Pos::Rev),
            None => upgrade_start(graph, current, rel.branch, target, rel.text)?,
        };
        graph.walk_with(start, rel.steps, rel.branch, overwalk)?
    } else {
        let symbol = rel.symbol.ok_or_else(too_far)?;
        let spec = rel.branch.map_or(symbol.to_string(), |b| format!("{b}@{symbol}"));
        let start = graph.resolve_one(&spec)?.map(Pos::Rev).unwrap_or(Pos::Base);
        graph.walk(Some(start), rel.steps, None)?
    };
    match walked.ok_or_else(too_far)? {
        Pos::Rev(i) => Ok(vec![i]),
        Pos::Base => Ok(vec![]),
    }
}

/// Where `+N` without a symbol starts: the one current head (on `branch`), the tip
/// of the branch's applied part, or nothing.
fn upgrade_start(
    graph: &Graph,
    current: &[usize],
    branch: Option<&str>,
    target: &str,
    steps: &str,
) -> Result<Option<Pos>, SpecError> {
    let mut starts: Vec<usize> = current.to_vec();
    if let Some(b) = branch {
        starts = graph.filter_for_lineage(current, b, false)?;
        if starts.is_empty() {
            let active = graph.ancestors(current, true);
            let active: Vec<usize> = active.iter().collect();
            let on_branch = graph.filter_for_lineage(&active, b, false)?;
            let below: BitSet = {
                let mut set = BitSet::new(graph.len());
                on_branch.iter().flat_map(|&r| graph.nodes[r].normalized_down.iter()).for_each(|&p| {
                    set.insert(p);
                });
                set
            };
            starts = on_branch.into_iter().filter(|&r| !below.contains(r)).collect();
        }
    }
    match starts.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(Pos::Rev(*one))),
        many => Err(SpecError::AmbiguousRelative {
            spec: target.to_string(),
            choices: many.iter().map(|&h| format!("{}@{steps}", graph.revision(h).id)).collect(),
        }),
    }
}

/// Alembic's `_parse_downgrade_target`: the branch to stay on and the destination
/// (`None` for base).
fn downgrade_target(
    graph: &Graph,
    current: &[usize],
    target: &str,
) -> Result<(Option<String>, Option<usize>), SpecError> {
    let Some(rel) = relative(target) else {
        let branch = target.rsplit_once('@').map(|(b, _)| b.to_string()).filter(|b| !b.is_empty());
        let symbol = target.rsplit_once('@').map_or(target, |(_, s)| s);
        return Ok((branch, graph.resolve_one(symbol)?));
    };
    let too_far = || SpecError::RelativeTooFar { spec: target.to_string(), steps: rel.steps.unsigned_abs() };
    if rel.steps >= 0 {
        let symbol = rel.symbol.ok_or_else(too_far)?;
        let start = graph.resolve_one(symbol)?.map(Pos::Rev);
        let walked = graph.walk(start, rel.steps, rel.branch)?.ok_or_else(too_far)?;
        return Ok((rel.branch.map(String::from), position(walked)));
    }
    let (branch, start_spec) = match (rel.symbol, rel.branch) {
        (Some(symbol), Some(b)) => (Some(b.to_string()), format!("{b}@{symbol}")),
        (Some(symbol), None) => (None, symbol.to_string()),
        (None, Some(b)) => {
            let mut on_branch = graph.filter_for_lineage(current, b, false)?;
            if on_branch.is_empty() {
                // The branch's position may be reached only through another
                // branch's `depends_on`: look among every applied branch head.
                on_branch = graph.filter_for_lineage(&graph.applied_heads(current), b, false)?;
            }
            let head = match on_branch.as_slice() {
                [one] => *one,
                [] => return Err(too_far()),
                many => {
                    let choices = many.iter().map(|&h| format!("{}@{}", graph.revision(h).id, rel.text)).collect();
                    return Err(SpecError::AmbiguousRelative { spec: target.to_string(), choices });
                }
            };
            (Some(b.to_string()), format!("{b}@{}", graph.revision(head).id))
        }
        (None, None) => match current {
            [] => return Err(too_far()),
            [one] => {
                let id = graph.revision(*one).id.clone();
                (Some(id.clone()), format!("{id}@{id}"))
            }
            many => {
                let choices = many.iter().map(|&h| format!("{}@{}", graph.revision(h).id, rel.text)).collect();
                return Err(SpecError::AmbiguousRelative { spec: target.to_string(), choices });
            }
        },
    };
    let start = graph.resolve_one(&start_spec)?.map(Pos::Rev);
    let walked = graph.walk(start, rel.steps, None)?.ok_or_else(too_far)?;
    Ok((branch, position(walked)))
}

/// `label@` and `label@base` as a run's target name nothing to move to, so the
/// label itself must exist: `upgrade nosuch@` is an error, as in Alembic.
fn check_branch(graph: &Graph, target: &str) -> Result<(), SpecError> {
    match target.split_once('@') {
        Some((branch, "" | "base")) if !branch.is_empty() => graph.resolve_branch(branch).map(drop),
        _ => Ok(()),
    }
}

fn position(pos: Pos) -> Option<usize> {
    match pos {
        Pos::Base => None,
        Pos::Rev(i) => Some(i),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::graph;

    fn run(plan: &Plan) -> Vec<String> {
        plan.steps
            .iter()
            .map(|s| format!("{} {}", if s.direction == Direction::Up { "up" } else { "down" }, s.revision))
            .collect()
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    #[test]
    fn specs_with_blanks_or_text_after_the_steps_are_refused() {
        // Found by fuzzing: a downgrade read ` a@b` by its last part, `+1x` ran `+1`.
        let g = graph(&["a:", "b:a", "c:b"]);
        for spec in [" a@b", "b ", "\tb"] {
            assert!(downgrade(&g, &strings(&["c"]), spec).is_err(), "{spec:?}");
            assert!(upgrade(&g, &[], spec).is_err(), "{spec:?}");
        }
        assert!(upgrade(&g, &[], "+1x").is_err() && downgrade(&g, &strings(&["c"]), "-1x").is_err());
        assert_eq!(run(&upgrade(&g, &[], "+1").unwrap()), ["up a"]);
    }

    #[test]
    fn linear_upgrade_and_downgrade() {
        let g = graph(&["a:", "b:a", "c:b"]);
        let p = upgrade(&g, &[], "heads").unwrap();
        assert_eq!(run(&p), ["up a", "up b", "up c"]);
        assert_eq!(p.steps[0].change, VersionChange::CreateBranch("a".into()));
        assert_eq!(p.steps[1].change, VersionChange::Update { from: "a".into(), to: "b".into() });
        assert_eq!(p.heads_after, ["c"]);
        let p = downgrade(&g, &strings(&["c"]), "-2").unwrap();
        assert_eq!(run(&p), ["down c", "down b"]);
        assert_eq!(p.heads_after, ["a"]);
        let p = downgrade(&g, &strings(&["c"]), "base").unwrap();
        assert_eq!(p.steps.last().unwrap().change, VersionChange::DeleteBranch("a".into()));
        assert!(p.heads_after.is_empty());
    }

    #[test]
    fn branches_and_merges_move_rows() {
        let g = graph(&["a:", "b:a", "c:a", "d:b,c"]);
        let p = upgrade(&g, &[], "b").unwrap();
        assert_eq!(p.heads_after, ["b"]);
        let p = upgrade(&g, &strings(&["b"]), "c").unwrap();
        assert_eq!(p.steps[0].change, VersionChange::CreateBranch("c".into()));
        assert_eq!(sorted(p.heads_after), ["b", "c"]);
        let p = upgrade(&g, &strings(&["b", "c"]), "heads").unwrap();
        assert_eq!(
            p.steps[0].change,
            VersionChange::Merge { delete: strings(&["b"]), from: "c".into(), to: "d".into() }
        );
        assert_eq!(p.heads_after, ["d"]);
        let p = downgrade(&g, &strings(&["d"]), "a").unwrap();
        assert_eq!(run(&p), ["down d", "down b", "down c"]);
        assert_eq!(p.heads_after, ["a"]);
    }

    #[test]
    fn relative_from_several_heads_lists_choices() {
        let g = graph(&["a:", "b:a", "c:a"]);
        let err = downgrade(&g, &strings(&["b", "c"]), "-1").unwrap_err();
        assert_eq!(err.to_string(), "'-1' is relative to several current heads; name one of: b@-1, c@-1");
        let p = downgrade(&g, &strings(&["b", "c"]), "c@-1").unwrap();
        assert_eq!(run(&p), ["down c"]);
        assert!(upgrade(&g, &strings(&["b"]), "heads-1").is_err());
    }

    /// Recorded by running Alembic 1.20.1 on these three revisions: from the row
    /// `v1`, `downgrade u@-1` runs `downgrade v1 ->` then `downgrade u2 -> u1` and
    /// leaves `u1`; branch `u` is at `u2` only through `v1`'s `depends_on`.
    #[test]
    fn relative_step_on_a_branch_reached_through_depends_on() {
        let g = graph(&["u1: @u", "u2:u1", "v1: @v ~u2"]);
        let p = downgrade(&g, &strings(&["v1"]), "u@-1").unwrap();
        assert_eq!(run(&p), ["down v1", "down u2"]);
        assert_eq!(p.heads_after, ["u1"]);
    }

    #[test]
    fn history_ranges() {
        let g = graph(&["a:", "b:a", "c:b", "x:a"]);
        let h = |lower: &str, upper: &str| history(&g, &strings(&[lower]), upper).map(|v| g.ids(&v));
        assert_eq!(h("base", "heads").unwrap(), ["c", "b", "x", "a"]);
        assert_eq!(h("b", "heads").unwrap(), ["c", "b"]);
        assert_eq!(h("base", "b").unwrap(), ["b", "a"]);
        assert!(h("x", "c").is_err());
    }

    #[test]
    fn stamp_moves_rows_only() {
        let g = graph(&["a:", "b:a", "c:a"]);
        let p = stamp(&g, &[], &strings(&["b", "c"]), false).unwrap();
        assert_eq!(sorted(p.heads_after), ["b", "c"]);
        let p = stamp(&g, &strings(&["b", "c"]), &strings(&["a"]), false).unwrap();
        assert_eq!(p.heads_after, ["a"]);
        let p = stamp(&g, &strings(&["b"]), &strings(&["base"]), false).unwrap();
        assert!(p.heads_after.is_empty());
        let p = stamp(&g, &strings(&["zzz"]), &strings(&["c"]), true).unwrap();
        assert_eq!(p.heads_after, ["c"]);
        let g = graph(&["a:", "b:a", "c:a", "d:b,c"]);
        let p = stamp(&g, &strings(&["d"]), &strings(&["b", "c"]), false).unwrap();
        assert_eq!(sorted(p.heads_after), ["b", "c"]);
        let p = stamp(&g, &[], &strings(&["b", "b"]), false).unwrap();
        assert_eq!(p.heads_after, ["b"]);
        let p = stamp(&g, &[], &strings(&["d", "head"]), false).unwrap();
        assert_eq!(p.heads_after, ["d"]);
    }
}
