//! The read-only graph operations: `heads`, `branches`, `history`, `show`. Each
//! gives, per selected history, the revisions to list in order; `history` with
//! `current` reads the targets' version rows.

use std::sync::Arc;

use retort_config::Database;
use retort_history::draw::{self, Notation};
use retort_history::graph::Graph;
use retort_history::plan;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::workspace::{Workspace, label};

/// The revisions of one history to list, as indexes in its graph.
pub struct Listing {
    /// The database, fleet or target the revisions belong to.
    pub target: String,
    pub graph: Arc<Graph>,
    pub revisions: Vec<usize>,
    /// Revisions the target is at (`history -i`).
    pub current: Vec<usize>,
}

impl Listing {
    fn of(db: &Database, graph: &Arc<Graph>, revisions: Vec<usize>) -> Listing {
        Listing { target: db.name.clone(), graph: graph.clone(), revisions, current: vec![] }
    }

    /// The revisions as the JSON output shows them.
    pub fn revisions_info(&self) -> Vec<RevisionInfo> {
        self.revisions.iter().map(|&i| RevisionInfo::of(&self.graph, i)).collect()
    }
}

/// One revision with its place in the graph.
#[derive(Debug, Clone, Serialize)]
pub struct RevisionInfo {
    pub revision: String,
    pub down_revisions: Vec<String>,
    pub branch_labels: Vec<String>,
    pub depends_on: Vec<String>,
    pub transactional: bool,
    pub message: String,
    pub next_revisions: Vec<String>,
    pub is_head: bool,
    pub is_effective_head: bool,
    pub is_base: bool,
    pub is_branch_point: bool,
    pub is_merge_point: bool,
    pub path: String,
}

impl RevisionInfo {
    /// The revision at `index` of `graph`.
    pub fn of(graph: &Graph, index: usize) -> RevisionInfo {
        let rev = graph.revision(index);
        RevisionInfo {
            revision: rev.id.clone(),
            down_revisions: rev.down_revisions.clone(),
            branch_labels: rev.branch_labels.clone(),
            depends_on: rev.depends_on.clone(),
            transactional: rev.transactional,
            message: rev.message.clone(),
            next_revisions: graph.ids(graph.children(index)),
            is_head: graph.is_head(index),
            is_effective_head: graph.is_effective_head(index),
            is_base: graph.parents(index).is_empty(),
            is_branch_point: graph.is_branch_point(index),
            is_merge_point: graph.is_merge_point(index),
            path: rev.path.display().to_string(),
        }
    }
}

/// The selected histories (databases and fleets) with their graphs.
fn graphs(workspace: &Workspace) -> Result<Vec<(Database, Arc<Graph>)>> {
    workspace.histories().into_iter().map(|db| workspace.graph(&db).map(|g| (db, g))).collect()
}

/// `history --graph`: the selected histories drawn in `notation`, one box each
/// when there are several.
pub fn drawing(workspace: &Workspace, notation: Notation) -> Result<String> {
    let graphs = graphs(workspace)?;
    let named: Vec<(&str, &Graph)> = graphs.iter().map(|(db, g)| (db.name.as_str(), g.as_ref())).collect();
    Ok(draw::draw(&named, notation))
}

/// `heads`: each history's heads; with `resolve_dependencies`, only heads no
/// other revision depends on.
pub fn heads(workspace: &Workspace, resolve_dependencies: bool) -> Result<Vec<Listing>> {
    let listing = |(db, g): &(Database, Arc<Graph>)| {
        let heads = if resolve_dependencies { g.real_heads() } else { g.heads() };
        Listing::of(db, g, heads.to_vec())
    };
    Ok(graphs(workspace)?.iter().map(listing).collect())
}

/// `branches`: each history's branch points, newest first.
pub fn branches(workspace: &Workspace) -> Result<Vec<Listing>> {
    let mut listings = Vec::new();
    for (db, g) in &graphs(workspace)? {
        let order = plan::history(g, &["base".to_string()], "heads").map_err(Error::spec(label(db)))?;
        listings.push(Listing::of(db, g, order.into_iter().filter(|&i| g.is_branch_point(i)).collect()));
    }
    Ok(listings)
}

/// What `history` lists: a range `lower:upper` (`current` allowed on either
/// side, either side empty for base / heads), and whether to mark current rows.
#[derive(Debug, Clone, Default)]
pub struct Range {
    pub lower: String,
    pub upper: String,
    pub indicate_current: bool,
}

impl Range {
    /// `[start]:[end]`, `[start]:`, `:[end]`, or no range at all.
    pub fn parse(range: Option<&str>, indicate_current: bool) -> Result<Range> {
        let (lower, upper) = match range {
            None => ("", ""),
            Some(range) => range.split_once(':').ok_or_else(|| {
                Error::Usage(format!("history range `{range}` must be [start]:[end], [start]: or :[end]"))
            })?,
        };
        Ok(Range { lower: lower.to_string(), upper: upper.to_string(), indicate_current })
    }

    /// Whether the target's version rows are needed.
    fn needs_database(&self) -> bool {
        self.indicate_current || self.lower == "current" || self.upper == "current"
    }
}

/// `history`: each history's revisions in the range, newest first. With
/// `current` in the range or `indicate_current`, per target (fleet tenants, not
/// the fleet), reading each one's version rows.
pub async fn history(workspace: &Workspace, range: &Range) -> Result<Vec<Listing>> {
    let graphs = if range.needs_database() {
        let targets = workspace.targets().await?;
        targets.into_iter().map(|db| workspace.graph(&db).map(|g| (db, g))).collect::<Result<Vec<_>>>()?
    } else {
        graphs(workspace)?
    };
    let mut listings = Vec::new();
    for (db, g) in &graphs {
        let rows = if range.needs_database() { workspace.read_rows(db).await? } else { vec![] };
        let lower = specs_for(&range.lower, "base", &rows);
        let upper = match specs_for(&range.upper, "heads", &rows).as_slice() {
            [one] => one.clone(),
            many => {
                return Err(Error::Usage(format!(
                    "{}: history up to `current` needs one current head, found {}",
                    label(db),
                    many.join(", ")
                )));
            }
        };
        let revisions = plan::history(g, &lower, &upper).map_err(Error::spec(label(db)))?;
        let mut listing = Listing::of(db, g, revisions);
        if range.indicate_current {
            let indexes: Vec<usize> = rows.iter().filter_map(|r| g.index_of(r)).collect();
            listing.current = g.applied_heads(&indexes);
        }
        listings.push(listing);
    }
    Ok(listings)
}

/// A side of a history range as specs: `current` is the version rows.
fn specs_for(spec: &str, default: &str, rows: &[String]) -> Vec<String> {
    match spec {
        "" => vec![default.to_string()],
        "current" if rows.is_empty() => vec!["base".to_string()],
        "current" => rows.to_vec(),
        other => vec![other.to_string()],
    }
}

/// `show`: the revisions each spec names, in every selected history. `base` and
/// `label@base` name none, as in Alembic; any other spec must name one.
pub fn show(workspace: &Workspace, specs: &[String]) -> Result<Vec<Listing>> {
    let mut listings = Vec::new();
    for (db, g) in &graphs(workspace)? {
        let mut revisions = Vec::new();
        for spec in specs {
            let found = g.resolve(spec).map_err(Error::spec(label(db)))?;
            if let Some(branch) = spec.strip_suffix("@base") {
                g.resolve_branch(branch).map_err(Error::spec(label(db)))?;
            }
            if found.is_empty() && spec != "base" && !spec.ends_with("@base") {
                return Err(Error::Usage(format!("{}: `{spec}` names no revision", label(db))));
            }
            revisions.extend(found);
        }
        listings.push(Listing::of(db, g, revisions));
    }
    Ok(listings)
}

/// One target's audit trail, oldest first, for `history --applied`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Applied {
    pub target: String,
    /// Empty when the target has no audit table yet.
    pub applied: Vec<retort_engine::audit::Entry>,
    /// Why the target could not be read; the others are read all the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The audit trail of every selected target, read without creating anything.
pub async fn applied(workspace: &Workspace) -> Result<Vec<Applied>> {
    let mut found = Vec::new();
    for db in workspace.targets().await? {
        let (applied, error) = match workspace.read_audit(&db).await {
            Ok((_, entries)) => (entries.unwrap_or_default(), None),
            Err(Error::Unreachable(why)) => (Vec::new(), Some(why)),
            Err(other) => return Err(other),
        };
        found.push(Applied { target: db.name.clone(), applied, error });
    }
    Ok(found)
}
