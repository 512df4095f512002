//! Runs one command against one database. The sequence is fixed here, once:
//! lock, read the version rows and the progress table, check that they fit
//! together, plan, create the version table if the command writes, apply each step,
//! clear progress the command moved past, unlock.
//!
//! How a step runs depends on the revision and the dialect:
//! - transactional revision on a dialect with transactional DDL: its statements and
//!   its version-row change commit together or roll back together; a statement
//!   that gave up waiting for a table lock makes the whole step retry, with backoff;
//! - non-transactional revision, or any revision where DDL commits implicitly
//!   (MySQL): statement by statement ([`by_statement`]), each recorded in the
//!   progress table, so that a stopped run can always be finished.
//!
//! Every run watches its [`Interrupt`]: it starts no new step or statement once
//! the interrupt is triggered, and cancels a statement running on the server.

mod audit_trail;
mod by_statement;
mod offline;

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

pub use offline::{render_offline, render_statement};

use crate::audit;
use crate::driver::{self, Connection, Dialect, DriverError, VersionTable};
use crate::interrupt::Interrupt;
use crate::progress::{self, Fit, Progress};
use crate::split::{self, Statement, Unit};
use retort_history::error::SpecError;
use retort_history::graph::Graph;
use retort_history::plan::{self, Direction, Plan, Step, VersionOp};

/// What to do to a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Read the version rows (and any part-way revision) only.
    Current,
    Upgrade(String),
    Downgrade(String),
    Stamp {
        targets: Vec<String>,
        purge: bool,
    },
    /// Settle a part-way revision by hand (`retort resolve`).
    Resolve {
        revision: String,
        how: Resolution,
    },
    /// Create the version table if it is missing (Alembic's `ensure_version`).
    EnsureVersion,
}

/// What the person settling a part-way revision says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The statement in flight when a run stopped took effect: count it done.
    Applied,
    /// It did not: the next run runs it again.
    NotApplied,
    /// Forget the revision's progress; the next run starts it from its first statement.
    Abandon,
}

impl Action {
    /// Whether the action writes to the database.
    pub fn writes(&self) -> bool {
        !matches!(self, Action::Current)
    }

    /// Plans the action from the given version rows.
    pub fn plan(&self, graph: &Graph, current: &[String]) -> Result<Plan, SpecError> {
        match self {
            Action::Current | Action::Resolve { .. } | Action::EnsureVersion => {
                match current.iter().find(|id| graph.index_of(id).is_none()) {
                    Some(unknown) => Err(SpecError::UnknownCurrent(unknown.clone())),
                    None => Ok(Plan { steps: vec![], heads_after: current.to_vec() }),
                }
            }
            Action::Upgrade(target) => plan::upgrade(graph, current, target),
            Action::Downgrade(target) => plan::downgrade(graph, current, target),
            Action::Stamp { targets, purge } => plan::stamp(graph, current, targets, *purge),
        }
    }
}

/// How a run behaves beyond what it does.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The target's run policy, from its configuration.
    pub policy: RunPolicy,
    /// The first wait between retries after a lock time-out; it doubles each time.
    pub retry_backoff: Duration,
    /// The target's name, for the commands that messages suggest (`-d <target>`).
    pub target: String,
    /// Stops the run between statements and cancels a running one.
    pub interrupt: Interrupt,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            policy: RunPolicy::default(),
            retry_backoff: Duration::from_millis(500),
            target: "default".into(),
            interrupt: Interrupt::default(),
        }
    }
}

/// How a target's run waits, retries and commits: the per-target settings of
/// `retort.toml` (`docs/configuration.md`), with their defaults defined here once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPolicy {
    /// How long to wait for another runner's lock (default 10 s).
    pub lock_timeout: Duration,
    /// How often a transactional step is retried after a statement gave up waiting
    /// for a table lock (default 3).
    pub ddl_retries: u32,
    /// One transaction for the whole command (`transaction_per = "run"`, Alembic's
    /// default) where the dialect has transactional DDL, instead of one per revision.
    pub transaction_per_run: bool,
    /// Whether an upgrade stops when an applied revision's file changed since it
    /// was applied (`on_drift = "error"`, the default) or only notes it (`"warn"`).
    pub stop_on_drift: bool,
}

impl Default for RunPolicy {
    fn default() -> Self {
        RunPolicy {
            lock_timeout: Duration::from_secs(10),
            ddl_retries: 3,
            transaction_per_run: false,
            stop_on_drift: true,
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
    #[error("{at}, rolled back: {source}")]
    Step { at: FailedAt, source: DriverError },
    #[error("{at}; {ran}, a re-run resumes at {unit} {statement}: {source}", ran = .at.ran(), unit = .at.unit, statement = .at.statement)]
    StepPartial { at: FailedAt, source: DriverError },
    #[error(
        "revision {revision} changed since a run stopped part-way through it ({done} of its {} done); restore the file, or forget that run with `retort -d {target} resolve {revision} --abandon`",
        .unit.many()
    )]
    ChangedSincePartial { revision: String, done: usize, unit: Unit, target: String },
    #[error(
        "{at}: an earlier run stopped while this {unit} was running and the catalog cannot tell whether it took effect; check the database, then run `retort -d {target} resolve {revision} --applied` if it did or `retort -d {target} resolve {revision} --not-applied` if it did not, and run the command again",
        revision = .at.revision, unit = .at.unit
    )]
    OutcomeUnknown { at: FailedAt, target: String },
    #[error(
        "{table} records {verb} {revision} as part-way ({done} of its {many} done), but the version table is at {at}, from which {revision} is not next, so that record cannot be trusted; if what it ran was undone by hand, run `retort -d {target} resolve {revision} --abandon`, else `retort stamp` the version table back to where {revision} starts",
        verb = .direction.verb(), at = rows_text(.rows), many = .unit.many()
    )]
    ProgressMisfit {
        table: String,
        revision: String,
        direction: Direction,
        done: usize,
        unit: Unit,
        rows: Vec<String>,
        target: String,
    },
    #[error(
        "version table {table} holds {descendant} and its ancestor {ancestor}: bad data in that database; delete the row '{ancestor}' (`retort -d {target} stamp --purge {}`)",
        .heads.join(" ")
    )]
    BadVersionRows { table: String, descendant: String, ancestor: String, heads: Vec<String>, target: String },
    #[error("{part} and this command would leave what it ran applied beneath the version rows; {advice}")]
    LeavesPartWay { part: String, advice: String },
    #[error("version table {table}: expected one row '{id}', found {found}; another runner may have changed it")]
    VersionRow { table: String, id: String, found: u64 },
    #[error(
        "{}; restore the file as it was applied, or set `on_drift = \"warn\"` for {target} to run anyway",
        .drift.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    Drifted { drift: Vec<audit::Drift>, target: String },
    #[error("interrupted {0}")]
    Interrupted(String),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Driver(#[from] DriverError),
}

impl RunError {
    /// Whether the error is a lock that was not acquired in time.
    pub fn is_lock_timeout(&self) -> bool {
        matches!(self, RunError::Driver(DriverError::LockTimeout { .. }))
    }

    /// Whether the error is bad input (a spec, a refused `.py` revision), found
    /// before anything ran.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, RunError::Spec(_) | RunError::PythonRevision { .. })
    }
}

fn rows_text(rows: &[String]) -> String {
    if rows.is_empty() { "<base>".to_string() } else { rows.join(", ") }
}

/// Where in a revision a statement (on SQL Server: a batch) failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedAt {
    pub direction: Direction,
    pub revision: String,
    /// 1-based position of the failed statement or batch.
    pub statement: usize,
    /// What the revision's body was split into.
    pub unit: Unit,
    pub total: usize,
    /// The revision file.
    pub path: std::sync::Arc<str>,
    /// Line of the revision file the statement starts on.
    pub line: usize,
}

impl FailedAt {
    fn new(step: &Step, index: usize, statements: &[Statement], unit: Unit) -> FailedAt {
        FailedAt {
            direction: step.direction,
            revision: step.revision.clone(),
            statement: index + 1,
            unit,
            total: statements.len(),
            path: step.path.display().to_string().into(),
            line: statements[index].file_line(step.line),
        }
    }

    /// What ran before the failure, for revisions that run without a transaction.
    fn ran(&self) -> String {
        match self.statement {
            1 => format!("no {} ran", self.unit),
            n => format!("{} ran and stay applied (no transaction)", self.unit.first(n - 1)),
        }
    }
}

impl std::fmt::Display for FailedAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} failed at {} {} of {} ({}:{})",
            self.direction.verb(),
            self.revision,
            self.unit,
            self.statement,
            self.total,
            self.path,
            self.line
        )
    }
}

/// A revision that a stopped run left part-way, as `current` and `status` show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PartWay {
    pub revision: String,
    pub direction: Direction,
    /// Statements (on SQL Server: batches) done, of `total`.
    pub done: usize,
    pub total: usize,
    /// File line of the next statement to run.
    pub next_line: Option<usize>,
    /// The statement that was running when the run stopped, its outcome not yet
    /// checked (the next run checks it in the catalog).
    pub running: Option<usize>,
    pub path: String,
    /// What `done` and `total` count.
    #[serde(skip)]
    pub unit: Unit,
}

impl std::fmt::Display for PartWay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} part-way, {} of {} {} done",
            self.revision,
            self.direction.verb(),
            self.done,
            self.total,
            self.unit.many()
        )?;
        if let Some(line) = self.next_line {
            write!(f, ", next: line {line} of {}", self.path)?;
        }
        if let Some(n) = self.running {
            write!(
                f,
                "; {} {n} was running when a run stopped (the next run checks whether it took effect)",
                self.unit
            )?;
        }
        Ok(())
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
    /// Things worth knowing that are not errors (a resumed revision, a repair).
    pub notes: Vec<String>,
    /// Revisions left part-way: as a writing run left them (as found, if it could
    /// not read them back), or as `current` found them.
    pub part_way: Vec<PartWay>,
    /// Why the run stopped early, if it did.
    pub error: Option<RunError>,
}

/// What a caller may watch and gate while a run applies its steps.
#[async_trait::async_trait]
pub trait Hooks: Send + Sync {
    /// A step is about to run (after [`Hooks::before_step`] let it).
    fn step_started(&self, _step: &Step) {}

    /// A step completed.
    fn step_finished(&self, _step: &AppliedStep) {}

    /// Something worth saying happened (the same text lands in [`Report::notes`]).
    fn note(&self, _text: &str) {}

    /// May refuse a step (e.g. a revision that waits for another database's
    /// revision); the text becomes the run's error.
    async fn before_step(&self, _step: &Step) -> Result<(), String> {
        Ok(())
    }
}

/// No hooks.
pub struct NoHooks;

impl Hooks for NoHooks {}

/// The connection, its dialect and the target's version table, for one run.
struct Run<'a> {
    conn: &'a mut dyn Connection,
    dialect: &'a dyn Dialect,
    table: &'a VersionTable,
    options: &'a RunOptions,
    hooks: &'a dyn Hooks,
    report: Report,
    /// Progress rows as read under the lock, minus those this run settled.
    progress: Vec<Progress>,
    /// Whether the progress table exists, as far as this run knows (it read or
    /// created it); and the revisions that have a row in it.
    progress_table_exists: bool,
    progress_rows: std::collections::HashSet<String>,
    /// The audit checksum of each revision the plan runs, by id.
    checksums: HashMap<String, String>,
    /// When the running step started, for its audit row.
    step_started: SystemTime,
}

/// Runs `action` on one database through `conn`.
pub async fn run(
    conn: &mut dyn Connection,
    dialect: &dyn Dialect,
    graph: &Graph,
    table: &VersionTable,
    action: &Action,
    options: &RunOptions,
) -> Report {
    run_with_hooks(conn, dialect, graph, table, action, options, &NoHooks).await
}

/// [`run`], reporting each step to `hooks` and letting them refuse steps.
pub async fn run_with_hooks(
    conn: &mut dyn Connection,
    dialect: &dyn Dialect,
    graph: &Graph,
    table: &VersionTable,
    action: &Action,
    options: &RunOptions,
    hooks: &dyn Hooks,
) -> Report {
    let report = Report { before: vec![], after: vec![], steps: vec![], notes: vec![], part_way: vec![], error: None };
    let mut run = Run {
        conn,
        dialect,
        table,
        options,
        hooks,
        report,
        progress: vec![],
        progress_table_exists: false,
        progress_rows: Default::default(),
        checksums: HashMap::new(),
        step_started: SystemTime::now(),
    };
    if action.writes() && !dialect.capabilities().run_lock {
        run.note("this driver has no run lock: a second runner started now could interleave with this one".into());
    }
    if action.writes()
        && let Err(e) = run.lock().await
    {
        run.report.error = Some(e);
        return run.report;
    }
    let outcome = run.locked(graph, action).await;
    if action.writes() {
        let unlocked = run.conn.unlock(table).await;
        if outcome.is_ok()
            && let Err(e) = unlocked
        {
            run.report.error = Some(e.into());
        }
    }
    if let Err(e) = outcome {
        run.report.error = Some(e);
    }
    run.report
}

impl<'a> Run<'a> {
    fn note(&mut self, text: String) {
        tracing::info!(db = %self.options.target, "{text}");
        self.hooks.note(&text);
        self.report.notes.push(text);
    }

    /// Takes the run lock, giving up when the run is interrupted meanwhile.
    async fn lock(&mut self) -> Result<(), RunError> {
        let interrupt = self.options.interrupt.clone();
        let table = self.dialect.table_name(self.table);
        tracing::debug!(db = %self.options.target, table, timeout = ?self.options.policy.lock_timeout, "taking the run lock");
        tokio::select! {
            locked = self.conn.lock(self.table, self.options.policy.lock_timeout) => {
                locked?;
                tracing::debug!(db = %self.options.target, table, "run lock taken");
                Ok(())
            }
            () = interrupt.triggered() => Err(RunError::Interrupted("while waiting for the run lock".into())),
        }
    }

    fn progress_table(&self) -> progress::Table<'a> {
        progress::Table { dialect: self.dialect, version_table: self.table }
    }

    async fn locked(&mut self, graph: &Graph, action: &Action) -> Result<(), RunError> {
        let existing = driver::read_versions(self.conn, self.dialect, self.table).await?;
        self.report.before = existing.clone().unwrap_or_default();
        self.report.after = self.report.before.clone();
        let recorded = self.progress_table().read(self.conn).await?;
        // A run killed between its last commit and dropping the table leaves it empty.
        let progress_table_found = recorded.is_some();
        self.progress = recorded.unwrap_or_default();
        self.progress_table_exists = progress_table_found;
        self.progress_rows = self.progress.iter().map(|p| p.revision.clone()).collect();
        self.report.part_way = self.progress.iter().filter_map(|p| self.part_way(graph, p)).collect();
        if !matches!(action, Action::Stamp { purge: true, .. }) {
            self.check_version_rows(graph)?;
        }
        let plan = action.plan(graph, &self.report.before)?;
        refuse_python(graph, &plan)?;
        if !action.writes() {
            return Ok(());
        }
        if let Action::Resolve { revision, how } = action {
            return self.resolve(graph, revision, *how).await;
        }
        let audited = self.judge_drift(graph, action, &plan).await?;
        self.settle_recorded_progress(graph, action, &plan).await?;
        if existing.is_none() {
            self.conn.execute(&self.dialect.create_version_table(self.table)).await?;
        }
        self.prepare_audit(audited).await?;
        let result = match action {
            Action::Stamp { purge, .. } => self.apply_stamp(&plan, *purge).await,
            _ => self.apply_all(&plan).await,
        };
        if result.is_ok() && matches!(action, Action::Downgrade(_) | Action::Stamp { .. }) {
            self.clear_moved_past(graph, &plan.heads_after).await?;
        }
        let progress_touched = progress_table_found || plan.steps.iter().any(|s| self.by_statement(s));
        if progress_touched {
            // One read serves both: dropping an empty table, and reporting what is left.
            match self.progress_table().read(self.conn).await {
                Ok(left) => {
                    if result.is_ok() && left.as_ref().is_some_and(Vec::is_empty) {
                        self.progress_table().drop_table(self.conn).await?;
                        self.progress_table_exists = false;
                    }
                    let left = left.unwrap_or_default();
                    self.report.part_way = left.iter().filter_map(|p| self.part_way(graph, p)).collect();
                }
                Err(e) if result.is_ok() => return Err(e.into()),
                Err(_) => {} // after a failure the connection may be gone
            }
        }
        if plan.steps.is_empty() {
            return result; // nothing ran: the rows are those read at the start
        }
        // After a failure the connection may be gone; the step's error matters more.
        match driver::read_versions(self.conn, self.dialect, self.table).await {
            Ok(rows) => self.report.after = rows.unwrap_or_default(),
            Err(e) if result.is_ok() => return Err(e.into()),
            Err(_) => {}
        }
        result
    }

    /// Refuses version rows where one is an ancestor of another: no Alembic step
    /// writes that, and planning from it would guess.
    fn check_version_rows(&self, graph: &Graph) -> Result<(), RunError> {
        let rows: Vec<usize> = self.report.before.iter().filter_map(|r| graph.index_of(r)).collect();
        for &row in &rows {
            let below = graph.ancestors(&[row], false);
            if let Some(&ancestor) = rows.iter().find(|&&other| other != row && below.contains(other)) {
                return Err(RunError::BadVersionRows {
                    table: self.dialect.table_name(self.table),
                    descendant: graph.revision(row).id.clone(),
                    ancestor: graph.revision(ancestor).id.clone(),
                    heads: graph.ids(&graph.applied_heads(&rows)),
                    target: self.options.target.clone(),
                });
            }
        }
        Ok(())
    }

    /// How `current` and `status` show a progress row.
    fn part_way(&self, graph: &Graph, progress: &Progress) -> Option<PartWay> {
        let index = graph.index_of(&progress.revision)?;
        let statements = revision_statements(graph, index, progress.direction, self.dialect);
        let rev = graph.revision(index);
        let body_line = rev.sql_body(progress.direction).map_or(0, |(_, line)| line);
        Some(PartWay {
            revision: progress.revision.clone(),
            direction: progress.direction,
            done: progress.done,
            total: statements.len(),
            next_line: statements.get(progress.done).map(|s| s.file_line(body_line)),
            running: progress.running.as_ref().map(|(n, _)| *n),
            path: rev.path.display().to_string(),
            unit: self.dialect.flavor().unit(),
        })
    }

    /// Deletes progress rows the version table shows finished; an upgrade refuses
    /// rows that do not fit the version rows (a downgrade or stamp clears them after
    /// it moved, see [`Run::clear_moved_past`]). A part-way revision whose
    /// statements ran is never left behind silently: an upgrade refuses a part-way
    /// downgrade, and a downgrade refuses to move beneath a part-way upgrade.
    async fn settle_recorded_progress(&mut self, graph: &Graph, action: &Action, plan: &Plan) -> Result<(), RunError> {
        let upgrading = matches!(action, Action::Upgrade(_));
        for recorded in self.progress.clone() {
            match progress::fits(graph, &self.report.before, &recorded) {
                Fit::Fits => self.refuse_leaving_part_way(graph, action, plan, &recorded)?,
                Fit::Stale => {
                    self.progress_table().delete(self.conn, &recorded.revision).await?;
                    self.progress_rows.remove(&recorded.revision);
                    self.progress.retain(|p| p.revision != recorded.revision);
                    self.note(format!(
                        "ignored the recorded progress of {} {}: the version table shows it finished",
                        recorded.direction.verb(),
                        recorded.revision
                    ));
                }
                Fit::Misfit if upgrading => {
                    return Err(RunError::ProgressMisfit {
                        table: self.dialect.table_name(&self.table.progress()),
                        revision: recorded.revision,
                        direction: recorded.direction,
                        done: recorded.done,
                        unit: self.dialect.flavor().unit(),
                        rows: self.report.before.clone(),
                        target: self.options.target.clone(),
                    });
                }
                Fit::Misfit => {}
            }
        }
        Ok(())
    }

    /// Refuses a run that would leave `recorded` part-way with its statements applied
    /// while the version rows move on (a stamp may: it says where the database is).
    fn refuse_leaving_part_way(
        &self,
        graph: &Graph,
        action: &Action,
        plan: &Plan,
        recorded: &Progress,
    ) -> Result<(), RunError> {
        let ran = recorded.done > 0 || recorded.running.is_some();
        let resumed = plan.steps.iter().any(|s| s.revision == recorded.revision && s.direction == recorded.direction);
        if !ran || resumed {
            return Ok(());
        }
        let (verb, revision, target) = (recorded.direction.verb(), &recorded.revision, &self.options.target);
        let advice = match (action, recorded.direction) {
            (Action::Upgrade(_), Direction::Down) => {
                format!(
                    "finish it with `retort -d {target} downgrade {revision}-1`, or undo what it ran by hand and run `retort -d {target} resolve {revision} --abandon`"
                )
            }
            (Action::Downgrade(_), Direction::Up)
                if progress::fits(graph, &plan.heads_after, recorded) != Fit::Fits =>
            {
                format!(
                    "finish it with `retort -d {target} upgrade {revision}` first, or undo what it ran by hand and run `retort -d {target} resolve {revision} --abandon`"
                )
            }
            _ => return Ok(()),
        };
        let (done, many) = (recorded.done, self.dialect.flavor().unit().many());
        Err(RunError::LeavesPartWay {
            part: format!("{verb} {revision} stopped part-way ({done} of its {many} done)"),
            advice,
        })
    }

    /// After a downgrade or stamp: progress of revisions the version rows no
    /// longer lead to is cleared, saying what stays applied.
    async fn clear_moved_past(&mut self, graph: &Graph, rows: &[String]) -> Result<(), RunError> {
        for recorded in self.progress.clone() {
            if progress::fits(graph, rows, &recorded) == Fit::Fits {
                continue;
            }
            self.progress_table().delete(self.conn, &recorded.revision).await?;
            self.progress_rows.remove(&recorded.revision);
            self.progress.retain(|p| p.revision != recorded.revision);
            let unit = self.dialect.flavor().unit();
            let stays = match recorded.done {
                0 => format!("none of its {} had run", unit.many()),
                n => format!("{} of it ran and stay applied", unit.first(n)),
            };
            self.note(format!(
                "cleared the recorded progress of {} {} ({stays}): the version table no longer leads to it",
                recorded.direction.verb(),
                recorded.revision
            ));
        }
        Ok(())
    }

    /// A stamp, `--purge` included, is one transaction: a killed or failed stamp
    /// leaves the version table as it was.
    async fn apply_stamp(&mut self, plan: &Plan, purge: bool) -> Result<(), RunError> {
        self.conn.begin().await?;
        let body = async {
            if purge {
                self.conn.execute(&format!("DELETE FROM {}", self.dialect.table_name(self.table))).await?;
            }
            for step in &plan.steps {
                self.version_change(step).await?;
            }
            Ok::<(), RunError>(())
        };
        let result = body.await;
        self.end_transaction(result).await
    }

    /// Whether a step runs statement by statement (a non-transactional revision,
    /// or any revision where DDL commits implicitly).
    fn by_statement(&self, step: &Step) -> bool {
        let atomic = step.transactional && self.dialect.capabilities().transactional_ddl;
        !step.is_stamp && !atomic
    }

    async fn apply_all(&mut self, plan: &Plan) -> Result<(), RunError> {
        let per_run = self.options.policy.transaction_per_run && self.dialect.capabilities().transactional_ddl;
        if !per_run {
            for step in &plan.steps {
                self.apply_step(step, false).await?;
            }
            return Ok(());
        }
        // One transaction for the run; steps applied inside it count (and are
        // announced to the hooks) only once it commits.
        let mut committed = self.report.steps.len();
        self.conn.begin().await?;
        let mut result = Ok(());
        for step in &plan.steps {
            let atomic = step.is_stamp || step.transactional;
            if !atomic {
                self.conn.commit().await?;
                committed = self.announce_from(committed);
                self.note(format!(
                    "{} {}: non-transactional; the run's transaction was committed before it and a new one begins after it",
                    step.direction.verb(),
                    step.revision
                ));
            }
            result = self.apply_step(step, true).await;
            if result.is_err() {
                break;
            }
            if !atomic {
                committed = self.announce_from(committed);
                self.conn.begin().await?;
            }
        }
        match result {
            Ok(()) => {
                self.conn.commit().await?;
                self.announce_from(committed);
                Ok(())
            }
            Err(error) => {
                let _ = self.conn.rollback().await;
                let undone: Vec<String> = self.report.steps.drain(committed..).map(|s| s.revision).collect();
                if !undone.is_empty() {
                    self.note(format!("rolled back with the run's transaction: {}", undone.join(", ")));
                }
                Err(error)
            }
        }
    }

    /// Tells the hooks about the steps from `from` on, now committed; returns the new mark.
    fn announce_from(&self, from: usize) -> usize {
        for step in &self.report.steps[from..] {
            self.hooks.step_finished(step);
        }
        self.report.steps.len()
    }

    /// Applies one step; `in_run` when the run's transaction is already open.
    async fn apply_step(&mut self, step: &Step, in_run: bool) -> Result<(), RunError> {
        if !step.is_stamp {
            if self.options.interrupt.is_triggered() {
                return Err(RunError::Interrupted(format!("before {} {}", step.direction.verb(), step.revision)));
            }
            self.hooks.before_step(step).await.map_err(RunError::Refused)?;
            self.hooks.step_started(step);
        }
        let started = Instant::now();
        self.step_started = SystemTime::now();
        let (db, revision, direction) = (&self.options.target, &step.revision, step.direction.verb());
        tracing::debug!(db = %db, revision, direction, transactional = step.transactional, "step started");
        let result = if self.by_statement(step) {
            self.apply_by_statement(step).await
        } else if in_run {
            self.atomic_body(step, &statements(step, self.dialect)).await
        } else {
            self.apply_atomic(step).await
        };
        if let Err(error) = result {
            if let Some(insert) = self.audit_insert(step, audit::Outcome::Failed).filter(|_| !in_run) {
                // Best effort, in autocommit: after a failure the connection may be gone.
                let _ = self.conn.execute(&insert).await;
            }
            return Err(match error {
                RunError::Step { at, .. } if self.options.interrupt.is_triggered() => RunError::Interrupted(format!(
                    "during {} {}: its statements were rolled back",
                    at.direction.verb(),
                    at.revision
                )),
                other => other,
            });
        }
        if !step.is_stamp {
            let ms = started.elapsed().as_millis() as u64;
            tracing::info!(db = %self.options.target, revision = step.revision, direction = step.direction.verb(), ms, "step applied");
            let applied = AppliedStep { revision: step.revision.clone(), direction: step.direction, ms };
            if !in_run {
                self.hooks.step_finished(&applied); // in a run transaction: announced at commit
            }
            self.report.steps.push(applied);
        }
        Ok(())
    }

    /// One transaction for the statements and the version change; retried with
    /// backoff when a statement gave up waiting for a table lock.
    async fn apply_atomic(&mut self, step: &Step) -> Result<(), RunError> {
        let statements = statements(step, self.dialect);
        let mut wait = self.options.retry_backoff;
        for attempt in 0.. {
            match self.try_atomic(step, &statements).await {
                Err(RunError::Step { source: DriverError::LockNotAvailable(e), .. })
                    if attempt < self.options.policy.ddl_retries && !self.options.interrupt.is_triggered() =>
                {
                    self.note(format!(
                        "{} {}: a statement timed out waiting for a table lock ({e}); retry {} of {} in {wait:?}",
                        step.direction.verb(),
                        step.revision,
                        attempt + 1,
                        self.options.policy.ddl_retries
                    ));
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                other => return other,
            }
        }
        unreachable!("the loop returns")
    }

    async fn try_atomic(&mut self, step: &Step, statements: &[Statement]) -> Result<(), RunError> {
        self.conn.begin().await?;
        let result = self.atomic_body(step, statements).await;
        self.end_transaction(result).await
    }

    /// Ends the open transaction: commits when `result` is Ok, rolls back otherwise.
    async fn end_transaction(&mut self, result: Result<(), RunError>) -> Result<(), RunError> {
        match result {
            Ok(()) => Ok(self.conn.commit().await?),
            Err(error) => {
                let _ = self.conn.rollback().await;
                Err(error)
            }
        }
    }

    async fn atomic_body(&mut self, step: &Step, statements: &[Statement]) -> Result<(), RunError> {
        for (i, statement) in statements.iter().enumerate() {
            if let Err(source) = self.execute_body(&statement.sql).await {
                let at = FailedAt::new(step, i, statements, self.dialect.flavor().unit());
                return Err(RunError::Step { at, source });
            }
        }
        self.version_change(step).await
    }

    /// Runs one statement of a revision body. When the run is interrupted while it
    /// runs, the server is asked to cancel it, and its result (an error, or success
    /// if it finished first) is awaited as usual.
    async fn execute_body(&mut self, sql: &str) -> Result<u64, DriverError> {
        // The text only at trace: a statement may hold a secret (`CREATE USER … PASSWORD`).
        tracing::trace!(db = %self.options.target, sql, "statement");
        let interrupt = self.options.interrupt.clone();
        let canceller = self.conn.canceller();
        let running = self.conn.execute(sql);
        tokio::pin!(running);
        tokio::select! {
            biased;
            result = &mut running => result,
            () = interrupt.triggered() => {
                if let Some(canceller) = canceller {
                    let _ = canceller.cancel().await;
                }
                running.await
            }
        }
    }

    async fn version_change(&mut self, step: &Step) -> Result<(), RunError> {
        for op in step.change.ops() {
            let affected = self.conn.execute(&self.dialect.version_op(self.table, &op)).await?;
            let id = match &op {
                VersionOp::Insert(_) => continue,
                VersionOp::Delete(id) | VersionOp::Update { from: id, .. } => id,
            };
            if affected != 1 {
                return Err(RunError::VersionRow {
                    table: self.dialect.table_name(self.table),
                    id: id.clone(),
                    found: affected,
                });
            }
        }
        if let Some(insert) = self.audit_insert(step, audit::Outcome::Ok) {
            self.conn.execute(&insert).await?;
        }
        Ok(())
    }
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

/// The step's body split into the statements the dialect sends one at a time.
fn statements(step: &Step, dialect: &dyn Dialect) -> Vec<Statement> {
    step.sql.as_deref().map(|sql| split::split(sql, dialect.flavor())).unwrap_or_default()
}

/// A revision's body in one direction, split as a step's would be.
fn revision_statements(graph: &Graph, index: usize, direction: Direction, dialect: &dyn Dialect) -> Vec<Statement> {
    let body = graph.revision(index).sql_body(direction);
    body.map(|(sql, _)| split::split(sql, dialect.flavor())).unwrap_or_default()
}
