//! Runs one command against one database. The sequence is fixed here, once:
//! lock, read the version rows, plan, create the version table if the command
//! writes, apply each step, unlock.
//!
//! A transactional step's SQL and its version-row change commit together or roll
//! back together; a non-transactional step runs in autocommit and its version row
//! is written right after its last statement succeeded.

use std::time::{Duration, Instant};

use crate::driver::{Connection, Dialect, DriverError, VersionTable};
use crate::error::SpecError;
use crate::graph::Graph;
use crate::plan::{self, Direction, Plan, Step, VersionOp};

/// What to do to a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Read the version rows only.
    Current,
    Upgrade(String),
    Downgrade(String),
    Stamp {
        targets: Vec<String>,
        purge: bool,
    },
}

impl Action {
    /// Whether the action writes to the database.
    pub fn writes(&self) -> bool {
        !matches!(self, Action::Current)
    }

    /// Plans the action from the given version rows.
    pub fn plan(&self, graph: &Graph, current: &[String]) -> Result<Plan, SpecError> {
        match self {
            Action::Current => Ok(Plan { steps: vec![], heads_after: current.to_vec() }),
            Action::Upgrade(target) => plan::upgrade(graph, current, target),
            Action::Downgrade(target) => plan::downgrade(graph, current, target),
            Action::Stamp { targets, purge } => plan::stamp(graph, current, targets, *purge),
        }
    }
}

/// A step that ran, with its duration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AppliedStep {
    pub revision: String,
    pub direction: Direction,
    pub ms: u64,
}

/// Why a run stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(
        "revision {revision} is an Alembic .py revision ({path}); retort does not run Python: apply it with alembic, or `retort stamp` past it"
    )]
    PythonRevision { revision: String, path: String },
    #[error("{verb} {revision} failed, rolled back: {source}")]
    Step { verb: &'static str, revision: String, source: DriverError },
    #[error("{verb} {revision} failed part-way (non-transactional, not rolled back): {source}")]
    StepPartial { verb: &'static str, revision: String, source: DriverError },
    #[error("version table {table}: expected one row '{id}', found {found}; another runner may have changed it")]
    VersionRow { table: String, id: String, found: u64 },
    #[error(transparent)]
    Driver(#[from] DriverError),
}

impl RunError {
    /// Whether the error is a lock that was not acquired in time.
    pub fn is_lock_timeout(&self) -> bool {
        matches!(self, RunError::Driver(DriverError::LockTimeout(_)))
    }
}

/// What a run did to one database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Version rows before the run.
    pub before: Vec<String>,
    /// Version rows after the run (read back from the database).
    pub after: Vec<String>,
    /// Steps that completed, in order.
    pub steps: Vec<AppliedStep>,
    /// Why the run stopped early, if it did.
    pub error: Option<RunError>,
}

/// Runs `action` on one database through `conn`.
pub async fn run(
    conn: &mut dyn Connection,
    dialect: &dyn Dialect,
    graph: &Graph,
    table: &VersionTable,
    action: &Action,
    lock_timeout: Duration,
) -> Report {
    let mut report = Report { before: vec![], after: vec![], steps: vec![], error: None };
    if action.writes()
        && let Err(e) = conn.lock(table, lock_timeout).await
    {
        report.error = Some(e.into());
        return report;
    }
    let outcome = run_locked(conn, dialect, graph, table, action, &mut report).await;
    if action.writes() {
        let unlocked = conn.unlock(table).await;
        if outcome.is_ok()
            && let Err(e) = unlocked
        {
            report.error = Some(e.into());
        }
    }
    if let Err(e) = outcome {
        report.error = Some(e);
    }
    report
}

async fn run_locked(
    conn: &mut dyn Connection,
    dialect: &dyn Dialect,
    graph: &Graph,
    table: &VersionTable,
    action: &Action,
    report: &mut Report,
) -> Result<(), RunError> {
    let existing = conn.read_versions(table).await?;
    report.before = existing.clone().unwrap_or_default();
    report.after = report.before.clone();
    let plan = action.plan(graph, &report.before)?;
    refuse_python(graph, &plan)?;
    if !action.writes() {
        return Ok(());
    }
    if existing.is_none() {
        conn.execute(&dialect.create_version_table(table)).await?;
    }
    if matches!(action, Action::Stamp { purge: true, .. }) {
        conn.execute(&format!("DELETE FROM {}", qualified(table))).await?;
    }
    let result = apply_all(conn, dialect, table, &plan, report).await;
    report.after = conn.read_versions(table).await?.unwrap_or_default();
    result
}

fn refuse_python(graph: &Graph, plan: &Plan) -> Result<(), RunError> {
    match plan.steps.iter().find(|s| s.is_python && !s.is_stamp) {
        Some(step) => {
            let index = graph.index_of(&step.revision).expect("planned revisions exist");
            let path = graph.revision(index).path.display().to_string();
            Err(RunError::PythonRevision { revision: step.revision.clone(), path })
        }
        None => Ok(()),
    }
}

async fn apply_all(
    conn: &mut dyn Connection,
    dialect: &dyn Dialect,
    table: &VersionTable,
    plan: &Plan,
    report: &mut Report,
) -> Result<(), RunError> {
    for step in &plan.steps {
        let started = Instant::now();
        apply(conn, dialect, table, step).await?;
        if !step.is_stamp {
            let ms = started.elapsed().as_millis() as u64;
            report.steps.push(AppliedStep { revision: step.revision.clone(), direction: step.direction, ms });
        }
    }
    Ok(())
}

/// Applies one step: transactional steps in one transaction with their version change.
async fn apply(
    conn: &mut dyn Connection,
    dialect: &dyn Dialect,
    table: &VersionTable,
    step: &Step,
) -> Result<(), RunError> {
    let sql = step.sql.as_deref().unwrap_or("").trim();
    let verb = step.direction.verb();
    if !step.transactional && !sql.is_empty() {
        conn.execute(sql).await.map_err(|source| RunError::StepPartial {
            verb,
            revision: step.revision.clone(),
            source,
        })?;
    }
    conn.begin().await?;
    let body = if step.transactional && !sql.is_empty() { Some(sql) } else { None };
    match in_transaction(conn, dialect, table, step, body).await {
        Ok(()) => Ok(conn.commit().await?),
        Err(error) => {
            let _ = conn.rollback().await;
            Err(error)
        }
    }
}

async fn in_transaction(
    conn: &mut dyn Connection,
    dialect: &dyn Dialect,
    table: &VersionTable,
    step: &Step,
    body: Option<&str>,
) -> Result<(), RunError> {
    if let Some(sql) = body {
        let verb = step.direction.verb();
        conn.execute(sql).await.map_err(|source| RunError::Step { verb, revision: step.revision.clone(), source })?;
    }
    for op in step.change.ops() {
        let affected = conn.execute(&dialect.version_op(table, &op)).await?;
        let id = match &op {
            VersionOp::Insert(_) => continue,
            VersionOp::Delete(id) | VersionOp::Update { from: id, .. } => id,
        };
        if affected != 1 {
            return Err(RunError::VersionRow { table: qualified(table), id: id.clone(), found: affected });
        }
    }
    Ok(())
}

/// `schema.table` or `table`.
pub fn qualified(table: &VersionTable) -> String {
    match &table.schema {
        Some(schema) => format!("{schema}.{}", table.name),
        None => table.name.clone(),
    }
}

/// Renders a plan as an offline SQL script, the way Alembic's `--sql` does:
/// each step introduced by `-- Running upgrade A -> B`.
pub fn render_offline(plan: &Plan, dialect: &dyn Dialect, table: &VersionTable, starting: &[String]) -> String {
    let mut out = String::new();
    if starting.is_empty() && !plan.steps.is_empty() {
        out.push_str(&dialect.create_version_table(table));
        out.push_str(";\n\n");
    }
    let (begin, commit) = dialect.offline_transaction();
    for step in &plan.steps {
        out.push_str(&format!("-- Running {}\n\n", step.short_log()));
        let body = match (&step.sql, step.is_python) {
            (_, true) if !step.is_stamp => {
                format!("-- revision {} is an Alembic .py revision; its body is not rendered\n", step.revision)
            }
            (Some(sql), _) if !sql.trim().is_empty() => format!("{}\n", sql.trim()),
            _ => String::new(),
        };
        let version: String =
            step.change.ops().iter().map(|op| format!("{};\n", dialect.version_op(table, op))).collect();
        if step.transactional {
            out.push_str(&format!("{begin}\n{body}{version}{commit}\n\n"));
        } else {
            out.push_str(&format!("{body}{begin}\n{version}{commit}\n\n"));
        }
    }
    if !plan.steps.is_empty() && plan.heads_after.is_empty() {
        out.push_str(&dialect.drop_version_table(table));
        out.push_str(";\n");
    }
    out
}
