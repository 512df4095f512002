//! The operations that run on targets: `upgrade`, `downgrade`, `stamp`,
//! `resolve`, `ensure-version` ([`run`]), and the read-only `current` and
//! `status`. Every target is checked before any is touched; then they run
//! concurrently on the fleet runner, and one failure never stops or changes
//! another, unless the run is staged ([`Staging`], `[rollout]`): canary first,
//! then waves, stopping at a failure threshold.

use std::sync::Arc;

use retort_config::Database;
use retort_engine::executor::{Action, RunOptions};
use retort_engine::fleet::{self, FleetOptions, FleetReport, Observer, Outcome, Target};
use retort_engine::interrupt::Interrupt;
use retort_engine::rollout::{Rollout, Share, Waves};
use retort_engine::session;
use retort_history::graph::Graph;
use retort_history::plan;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::report::{StatusRow, Summary, TargetReport, Verdict};
use crate::select::{Candidate, Selection};
use crate::workspace::{Workspace, label};

/// How a run is watched, staged and stopped.
#[derive(Clone)]
pub struct Control {
    /// How the command line stages the run; each flag wins over `[rollout]`.
    pub staging: Staging,
    /// Triggered, it stops the run at the next statement boundary.
    pub interrupt: Interrupt,
    /// Sees every target start, step and end.
    pub observer: Arc<dyn Observer>,
}

/// Flags that stage a run; `None` leaves the config's `[rollout]` key in force.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Staging {
    /// `--canary N`: the first N targets are the canary (instead of `[rollout] canary`).
    pub canary: Option<usize>,
    /// `--waves`.
    pub waves: Option<Waves>,
    /// `--max-failures`; `--fail-fast` is 0.
    pub max_failures: Option<Share>,
}

/// What a run did: one outcome per target, in the order they ran (the
/// selection's, canaries first).
pub struct RunReport {
    pub fleet: FleetReport,
}

impl RunReport {
    /// One outcome per target.
    pub fn outcomes(&self) -> &[Outcome] {
        &self.fleet.outcomes
    }

    /// How the run ended.
    pub fn verdict(&self) -> Verdict {
        Verdict::of(&self.fleet.outcomes)
    }

    /// The counts, why the run stopped, and the slowest targets.
    pub fn summary(&self) -> Summary {
        Summary::of(&self.fleet)
    }

    /// Each target's report.
    pub fn targets(&self) -> Vec<TargetReport> {
        self.fleet.outcomes.iter().map(TargetReport::of).collect()
    }
}

/// Runs `action` on `selected` (from [`Workspace::targets`]); outcomes in their order.
pub async fn run(workspace: &Workspace, selected: &[Database], action: Action, control: &Control) -> Result<RunReport> {
    let (ordered, rollout) = stage(&workspace.config.rollout, selected, &action, &control.staging)?;
    let targets = checked_targets(workspace, &ordered, &action, &control.interrupt)?;
    let elsewhere = dependency_sources(workspace, &targets);
    let options = FleetOptions { jobs: workspace.config.jobs, rollout };
    // Outcomes come back in the targets' order, which is `ordered`'s.
    let fleet = fleet::run(targets, elsewhere, action, options, control.observer.clone()).await;
    Ok(RunReport { fleet })
}

/// The order the targets run in and how they are staged: flags over `[rollout]`.
/// Only `upgrade` and `downgrade` run in waves; every command keeps the failure
/// threshold. A config canary puts the targets it names first, in their order.
fn stage<'a>(
    config: &retort_config::Rollout,
    selected: &'a [Database],
    action: &Action,
    flags: &Staging,
) -> Result<(Vec<&'a Database>, Rollout)> {
    let max_failures = flags.max_failures.or(config.max_failures);
    let in_order = || selected.iter().collect();
    if !matches!(action, Action::Upgrade(_) | Action::Downgrade(_)) {
        return Ok((in_order(), Rollout { max_failures, ..Rollout::default() }));
    }
    let waves = flags.waves.clone().unwrap_or_else(|| config.waves.clone());
    if flags.canary.is_some() || config.canary.is_empty() {
        return Ok((in_order(), Rollout { canary: flags.canary.unwrap_or(0), waves, max_failures }));
    }
    let named = Selection::new(&config.canary);
    let (mut ordered, rest): (Vec<&Database>, Vec<&Database>) =
        selected.iter().partition(|d| named.selects(Candidate { name: &d.name, fleet: d.fleet.as_deref() }));
    if ordered.is_empty() {
        return Err(Error::Usage(format!(
            "[rollout] canary ({}) selects none of this run's {} target(s); pass --canary 0 to run without a canary",
            config.canary.join(", "),
            selected.len()
        )));
    }
    let canary = ordered.len();
    ordered.extend(rest);
    Ok((ordered, Rollout { canary, waves, max_failures }))
}

/// The fleet targets of `selected`, or every reason one of them cannot run: an
/// unknown URL scheme, an unreadable history, a spec that names nothing in it.
fn checked_targets(
    workspace: &Workspace,
    selected: &[&Database],
    action: &Action,
    interrupt: &Interrupt,
) -> Result<Vec<Target>> {
    let mut targets = Vec::new();
    let mut problems = Vec::new();
    let mut checked: Vec<Arc<Graph>> = Vec::new();
    for db in selected {
        let target = match target(workspace, db, action.writes(), interrupt) {
            Ok(target) => target,
            Err(e) => {
                problems.extend(e.problems());
                continue;
            }
        };
        if !checked.iter().any(|graph| Arc::ptr_eq(graph, &target.graph)) {
            checked.push(target.graph.clone());
            let history = db.fleet.as_deref().map_or(label(db), |f| format!("fleet `{f}`"));
            for spec in action_specs(action) {
                if let Err(e) = plan::check_spec(&target.graph, spec) {
                    problems.push(format!("{history}: {e}"));
                }
            }
        }
        targets.push(target);
    }
    if problems.is_empty() { Ok(targets) } else { Err(Error::BadTargets(problems)) }
}

/// The specs an action names.
fn action_specs(action: &Action) -> Vec<&str> {
    match action {
        Action::Upgrade(spec) | Action::Downgrade(spec) => vec![spec.as_str()],
        Action::Stamp { targets, .. } => targets.iter().map(String::as_str).collect(),
        _ => vec![],
    }
}

/// A fleet target for one selected database.
fn target(workspace: &Workspace, db: &Database, writes: bool, interrupt: &Interrupt) -> Result<Target> {
    let driver = workspace.drivers.for_url(&db.name, &db.connection.url)?;
    session::check_settings(driver.as_ref(), &db.connection).map_err(|e| Error::Usage(format!("{}: {e}", db.name)))?;
    // One writer per SQLite file; server targets are kept apart by their lock.
    let url = &db.connection.url;
    let exclusive = match url.sqlite_path(&db.connection.base_dir) {
        Some(file) if driver.single_writer() => file.display().to_string(),
        _ if driver.single_writer() => url.expose().to_string(),
        _ => db.name.clone(),
    };
    Ok(Target {
        name: db.name.clone(),
        driver,
        connect: workspace.connect_options(db, writes),
        table: db.version_table.clone(),
        graph: workspace.graph(db)?,
        run: RunOptions {
            policy: db.policy.clone(),
            target: db.name.clone(),
            interrupt: interrupt.clone(),
            ..RunOptions::default()
        },
        exclusive,
    })
}

/// Databases that are not run now but that the targets' histories depend on
/// (`Depends On: default:abc123`): the runner reads them to check the dependency.
fn dependency_sources(workspace: &Workspace, targets: &[Target]) -> Vec<Target> {
    let mut names: Vec<String> = targets.iter().flat_map(|t| fleet::dependency_targets(&t.graph)).collect();
    names.sort();
    names.dedup();
    names.retain(|n| !targets.iter().any(|t| &t.name == n));
    let sources = workspace.config.databases.iter().filter(|d| names.contains(&d.name));
    sources.filter_map(|d| target(workspace, d, false, &Interrupt::default()).ok()).collect()
}

/// One target of `current`: its report and what it is at.
#[derive(Serialize)]
pub struct CurrentTarget {
    #[serde(flatten)]
    pub report: TargetReport,
    /// The version rows that are heads of what is applied, as Alembic shows them.
    pub current: Vec<String>,
    /// The history, when the target was read.
    #[serde(skip)]
    pub graph: Option<Arc<Graph>>,
    /// Indexes in `graph`: the applied heads, then every version row.
    #[serde(skip)]
    pub heads: Vec<usize>,
    #[serde(skip)]
    pub rows: Vec<usize>,
    /// Whether `upgrade heads` would run something.
    #[serde(skip)]
    pub behind: bool,
}

/// `current`: what each of `selected` is at, creating nothing.
pub async fn current(
    workspace: &Workspace,
    selected: &[Database],
    control: &Control,
) -> Result<(Vec<CurrentTarget>, Verdict)> {
    let report = run(workspace, selected, Action::Current, control).await?;
    let mut targets = Vec::new();
    for (db, o) in selected.iter().zip(report.outcomes()) {
        let mut target = CurrentTarget {
            report: TargetReport::of(o),
            current: vec![],
            graph: None,
            heads: vec![],
            rows: vec![],
            behind: false,
        };
        if let Some(read) = &o.report {
            let graph = workspace.graph(db)?;
            target.rows = read.before.iter().filter_map(|id| graph.index_of(id)).collect();
            target.heads = graph.applied_heads(&target.rows);
            target.current = graph.ids(&target.heads);
            target.behind = plan::upgrade(&graph, &read.before, "heads").is_ok_and(|p| !p.steps.is_empty());
            target.graph = Some(graph);
        }
        targets.push(target);
    }
    Ok((targets, report.verdict()))
}

/// `status`: current heads, script heads and pending count for each of `selected`.
pub async fn status(
    workspace: &Workspace,
    selected: &[Database],
    control: &Control,
) -> Result<(Vec<StatusRow>, Verdict)> {
    let report = run(workspace, selected, Action::Current, control).await?;
    let mut rows = Vec::new();
    for (db, o) in selected.iter().zip(report.outcomes()) {
        let graph = workspace.graph(db).ok();
        let current = o.report.as_ref().map(|r| r.before.clone()).unwrap_or_default();
        let heads = graph.as_ref().map(|g| g.ids(g.heads())).unwrap_or_default();
        let pending = match (&graph, &o.report) {
            (Some(g), Some(_)) => plan::upgrade(g, &current, "heads").map(|p| p.steps.len()).ok(),
            _ => None,
        };
        rows.push(StatusRow {
            target: o.target.clone(),
            driver: o.driver.to_string(),
            status: o.status,
            current,
            heads,
            pending,
            part_way: o.report.as_ref().map(|r| r.part_way.clone()).unwrap_or_default(),
            error: o.error.clone(),
        });
    }
    Ok((rows, report.verdict()))
}
