//! `upgrade --dry-run` and `downgrade --dry-run`: what each target would run,
//! read on a read-only session that takes no lock and creates nothing (not even
//! the version table): its version rows, then the plan from them, each
//! revision with whether it runs in a transaction and what its statements do to
//! a live application (the hazards `retort check` knows).

use retort_config::Database;
use retort_engine::executor::{Action, PartWay};
use retort_engine::fleet::Status;
use retort_engine::split::split;
use retort_engine::statement;
use retort_history::graph::Graph;
use retort_history::plan::{Direction, Step};
use serde::Serialize;

use crate::error::Result;
use crate::report::Verdict;
use crate::run::{self, Control};
use crate::workspace::Workspace;

/// One target of a dry run.
#[derive(Debug, Serialize)]
pub struct Planned {
    pub target: String,
    pub driver: String,
    /// `ok` when the target was read and planned; `failed` otherwise, with `error`.
    pub status: Status,
    /// The version rows.
    pub current: Vec<String>,
    /// The revisions the command would run there, in order.
    pub would_run: Vec<PlannedStep>,
    pub part_way: Vec<PartWay>,
    pub error: Option<String>,
}

/// One revision a dry run would run.
#[derive(Debug, Serialize)]
pub struct PlannedStep {
    pub revision: String,
    pub direction: Direction,
    pub message: String,
    /// The revision file and the line its SQL starts on.
    pub path: String,
    pub line: usize,
    /// Whether its statements and the version change commit together.
    pub transactional: bool,
    /// Statements that block or break a live application while they run.
    pub hazards: Vec<PlannedHazard>,
}

/// A statement that takes a strong lock, rewrites a table or drops what running
/// code reads.
#[derive(Debug, Serialize)]
pub struct PlannedHazard {
    /// The `retort check` rule that names it.
    pub rule: &'static str,
    /// The file line of the statement.
    pub line: usize,
    pub message: String,
}

/// What `action` (an upgrade or a downgrade) would run on each of `selected`.
pub async fn dry_run(
    workspace: &Workspace,
    selected: &[Database],
    action: &Action,
    control: &Control,
) -> Result<(Vec<Planned>, Verdict)> {
    let read = run::run(workspace, selected, Action::Current, control).await?;
    let mut verdict = read.verdict();
    let mut planned = Vec::new();
    for (db, o) in selected.iter().zip(read.outcomes()) {
        let mut target = Planned {
            target: o.target.clone(),
            driver: o.driver.clone(),
            status: o.status,
            current: vec![],
            would_run: vec![],
            part_way: vec![],
            error: o.error.clone(),
        };
        if let Some(report) = &o.report {
            target.current = report.before.clone();
            target.part_way = report.part_way.clone();
            let graph = workspace.graph(db)?;
            let flavor = workspace.drivers.for_url(&db.name, &db.connection.url)?.dialect().flavor();
            match action.plan(&graph, &report.before) {
                Ok(plan) => target.would_run = plan.steps.iter().map(|s| planned_step(&graph, s, flavor)).collect(),
                Err(e) => {
                    target.status = Status::Failed;
                    target.error = Some(e.to_string());
                    verdict = verdict.max(Verdict::BadInput);
                }
            }
        }
        planned.push(target);
    }
    Ok((planned, verdict))
}

fn planned_step(graph: &Graph, step: &Step, flavor: retort_engine::split::Flavor) -> PlannedStep {
    let message = graph.index_of(&step.revision).map(|i| graph.revision(i).message.clone()).unwrap_or_default();
    let statements = step.sql.as_deref().map(|sql| split(sql, flavor)).unwrap_or_default();
    let hazards = statements.iter().flat_map(|s| {
        statement::hazards(&s.sql, flavor).into_iter().map(move |hazard| {
            let (rule, message) = retort_check::hazard_note(&hazard);
            PlannedHazard { rule: rule.name(), line: s.file_line(step.line), message }
        })
    });
    PlannedStep {
        revision: step.revision.clone(),
        direction: step.direction,
        message,
        path: step.path.display().to_string(),
        line: step.line,
        transactional: step.transactional,
        hazards: hazards.collect(),
    }
}
