//! Runs one command against one database. The sequence is fixed here, once:
//! lock, read the version rows, plan, create the version table if the command
//! writes, apply each step, unlock.
//!
//! How a step runs depends on the revision and the dialect:
//! - transactional revision on a dialect with transactional DDL: its statements and
//!   its version-row change commit together or roll back together; a statement
//!   that gave up waiting for a table lock makes the whole step retry, with backoff;
//! - non-transactional revision, or any revision where DDL commits implicitly
//!   (MySQL): statements run one at a time in autocommit, each success recorded in
//!   the progress table, so a re-run resumes after the last statement that
//!   succeeded; the version row is written once the last statement is done.

use std::time::{Duration, Instant};

use crate::driver::{self, Connection, Dialect, DriverError, VersionTable, quote_literal};
use crate::error::SpecError;
use crate::graph::Graph;
use crate::plan::{self, Direction, Plan, Step, VersionOp};
use crate::split::{self, Flavor, Statement};

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
            Action::Current => match current.iter().find(|id| graph.index_of(id).is_none()) {
                Some(unknown) => Err(SpecError::UnknownCurrent(unknown.clone())),
                None => Ok(Plan { steps: vec![], heads_after: current.to_vec() }),
            },
            Action::Upgrade(target) => plan::upgrade(graph, current, target),
            Action::Downgrade(target) => plan::downgrade(graph, current, target),
            Action::Stamp { targets, purge } => plan::stamp(graph, current, targets, *purge),
        }
    }
}

/// How a run behaves beyond what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    /// How long to wait for another runner's lock.
    pub lock_timeout: Duration,
    /// How often a transactional step is retried after a statement gave up waiting
    /// for a table lock.
    pub ddl_retries: u32,
    /// The first wait between such retries; it doubles each time.
    pub retry_backoff: Duration,
    /// One transaction for the whole command (`transaction_per = "run"`, Alembic's
    /// default) where the dialect has transactional DDL, instead of one per revision.
    pub transaction_per_run: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            lock_timeout: Duration::from_secs(10),
            ddl_retries: 3,
            retry_backoff: Duration::from_millis(500),
            transaction_per_run: false,
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
    #[error("{at}; {ran}, a re-run resumes at statement {statement}: {source}", ran = .at.ran(), statement = .at.statement)]
    StepPartial { at: FailedAt, source: DriverError },
    #[error(
        "revision {revision} changed since a run stopped part-way through it ({done} statements done); restore the file, or clear its row in {table}"
    )]
    ChangedSincePartial { revision: String, done: usize, table: String },
    #[error("version table {table}: expected one row '{id}', found {found}; another runner may have changed it")]
    VersionRow { table: String, id: String, found: u64 },
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
}

/// Where in a revision a statement failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedAt {
    pub verb: &'static str,
    pub revision: String,
    /// 1-based position of the failed statement.
    pub statement: usize,
    pub total: usize,
    /// Line of the revision body the statement starts on.
    pub line: usize,
}

impl FailedAt {
    fn new(step: &Step, index: usize, statements: &[Statement]) -> FailedAt {
        FailedAt {
            verb: step.direction.verb(),
            revision: step.revision.clone(),
            statement: index + 1,
            total: statements.len(),
            line: statements[index].line,
        }
    }

    /// What ran before the failure, for revisions that run without a transaction.
    fn ran(&self) -> String {
        match self.statement {
            1 => "no statement ran".to_string(),
            n => format!("statements 1-{} ran and stay applied (no transaction)", n - 1),
        }
    }
}

impl std::fmt::Display for FailedAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} failed at statement {} of {} (line {})",
            self.verb, self.revision, self.statement, self.total, self.line
        )
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
    let report = Report { before: vec![], after: vec![], steps: vec![], notes: vec![], error: None };
    let mut run = Run { conn, dialect, table, options, hooks, report };
    if action.writes() && !dialect.capabilities().run_lock {
        run.report
            .notes
            .push("this driver has no run lock: a second runner started now could interleave with this one".into());
    }
    if action.writes()
        && let Err(e) = run.conn.lock(table, options.lock_timeout).await
    {
        run.report.error = Some(e.into());
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

impl Run<'_> {
    async fn locked(&mut self, graph: &Graph, action: &Action) -> Result<(), RunError> {
        let existing = driver::read_versions(self.conn, self.dialect, self.table).await?;
        self.report.before = existing.clone().unwrap_or_default();
        self.report.after = self.report.before.clone();
        let plan = action.plan(graph, &self.report.before)?;
        refuse_python(graph, &plan)?;
        if !action.writes() {
            return Ok(());
        }
        if existing.is_none() {
            self.conn.execute(&self.dialect.create_version_table(self.table)).await?;
        }
        let result = match action {
            Action::Stamp { purge, .. } => self.apply_stamp(&plan, *purge).await,
            _ => self.apply_all(&plan).await,
        };
        if result.is_ok() && plan.steps.iter().any(|s| self.by_statement(s)) {
            self.drop_empty_progress_table().await?;
        }
        // After a failure the connection may be gone; the step's error matters more.
        match driver::read_versions(self.conn, self.dialect, self.table).await {
            Ok(rows) => self.report.after = rows.unwrap_or_default(),
            Err(e) if result.is_ok() => return Err(e.into()),
            Err(_) => {}
        }
        result
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

    /// Whether a step runs statement by statement in autocommit (a non-transactional
    /// revision, or any revision where DDL commits implicitly).
    fn by_statement(&self, step: &Step) -> bool {
        let atomic = step.transactional && self.dialect.capabilities().transactional_ddl;
        !step.is_stamp && !atomic
    }

    /// The progress table only matters while a revision is part-way; once every
    /// revision finished, it goes (we hold the run lock, so nobody else writes it).
    async fn drop_empty_progress_table(&mut self) -> Result<(), RunError> {
        let progress = self.table.progress();
        if !self.conn.table_exists(&progress).await? {
            return Ok(());
        }
        let name = self.dialect.table_name(&progress);
        let rows = self.conn.query(&format!("SELECT revision FROM {name}")).await?;
        if rows.is_empty() {
            self.conn.execute(&format!("DROP TABLE {name}")).await?;
        }
        Ok(())
    }

    async fn apply_all(&mut self, plan: &Plan) -> Result<(), RunError> {
        let per_run = self.options.transaction_per_run && self.dialect.capabilities().transactional_ddl;
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
                self.report.notes.push(format!(
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
                    self.report.notes.push(format!("rolled back with the run's transaction: {}", undone.join(", ")));
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
            self.hooks.before_step(step).await.map_err(RunError::Refused)?;
            self.hooks.step_started(step);
        }
        let started = Instant::now();
        if self.by_statement(step) {
            self.apply_by_statement(step).await?;
        } else if in_run {
            self.atomic_body(step, &statements(step, self.dialect)).await?;
        } else {
            self.apply_atomic(step).await?;
        }
        if !step.is_stamp {
            let ms = started.elapsed().as_millis() as u64;
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
                    if attempt < self.options.ddl_retries =>
                {
                    self.report.notes.push(format!(
                        "{} {}: a statement timed out waiting for a table lock ({e}); retry {} of {} in {wait:?}",
                        step.direction.verb(),
                        step.revision,
                        attempt + 1,
                        self.options.ddl_retries
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
            if let Err(source) = self.conn.execute(&statement.sql).await {
                return Err(RunError::Step { at: FailedAt::new(step, i, statements), source });
            }
        }
        self.version_change(step).await
    }

    /// Statements in autocommit, each success recorded, then the version change.
    async fn apply_by_statement(&mut self, step: &Step) -> Result<(), RunError> {
        let statements = statements(step, self.dialect);
        let checksum = checksum(&statements);
        let done = self.resume_point(step, &checksum).await?;
        // Created up front, in autocommit: creating it inside a statement's
        // transaction would abort it (PostgreSQL) or commit it early (MySQL).
        let progress = self.table.progress();
        if !statements.is_empty() && !self.conn.table_exists(&progress).await? {
            self.conn.execute(&self.dialect.create_progress_table(self.table)).await?;
        }
        if done > 0 {
            self.report.notes.push(format!(
                "{} {}: resuming after statement {done} of {}, which a previous run completed",
                step.direction.verb(),
                step.revision,
                statements.len()
            ));
        }
        for (i, statement) in statements.iter().enumerate().skip(done) {
            if let Some(note) = self.conn.repair_before(&statement.sql).await? {
                self.report.notes.push(format!("{} {}: {note}", step.direction.verb(), step.revision));
            }
            // A data change commits together with its progress record, so a kill
            // between the two cannot make a resumed run repeat it. DDL and
            // CONCURRENTLY statements cannot take part; they run in autocommit.
            // (SQL Server sends whole batches, which may mix in statements that cannot
            // run in a transaction: never wrapped.)
            let wrap = self.dialect.flavor() != Flavor::SqlServer && self.conn.shares_transaction(&statement.sql);
            if wrap {
                self.conn.begin().await?;
            }
            let ran = match self.conn.execute(&statement.sql).await {
                Err(source) => Err(RunError::StepPartial { at: FailedAt::new(step, i, &statements), source }),
                Ok(_) => self.record_progress(step, i + 1, &checksum).await,
            };
            match (ran, wrap) {
                (Ok(()), true) => self.conn.commit().await?,
                (Ok(()), false) => {}
                (Err(error), wrap) => {
                    if wrap {
                        let _ = self.conn.rollback().await;
                    }
                    return Err(error);
                }
            }
        }
        self.conn.begin().await?;
        let finish = async {
            self.version_change(step).await?;
            if !statements.is_empty() {
                let progress = self.dialect.table_name(&self.table.progress());
                self.conn
                    .execute(&format!("DELETE FROM {progress} WHERE revision = {}", quote_literal(&step.revision)))
                    .await?;
            }
            Ok::<(), RunError>(())
        };
        let result = finish.await;
        self.end_transaction(result).await
    }

    /// How many statements of `step` a stopped run completed (0 if none).
    async fn resume_point(&mut self, step: &Step, checksum: &str) -> Result<usize, RunError> {
        let progress = self.table.progress();
        if !self.conn.table_exists(&progress).await? {
            return Ok(0);
        }
        let sql = format!(
            "SELECT direction, statements_done, checksum FROM {} WHERE revision = {}",
            self.dialect.table_name(&progress),
            quote_literal(&step.revision)
        );
        let rows = self.conn.query(&sql).await?;
        let Some(row) = rows.first() else { return Ok(0) };
        let field = |i: usize| row.get(i).cloned().flatten().unwrap_or_default();
        if field(0) != step.direction.verb() {
            return Ok(0);
        }
        let done: usize = field(1).parse().unwrap_or(0);
        if field(2) != checksum {
            let table = self.dialect.table_name(&progress);
            return Err(RunError::ChangedSincePartial { revision: step.revision.clone(), done, table });
        }
        Ok(done)
    }

    async fn record_progress(&mut self, step: &Step, done: usize, checksum: &str) -> Result<(), RunError> {
        let table = self.dialect.table_name(&self.table.progress());
        let (revision, direction) = (quote_literal(&step.revision), quote_literal(step.direction.verb()));
        let checksum = quote_literal(checksum);
        let update = format!(
            "UPDATE {table} SET direction = {direction}, statements_done = {done}, checksum = {checksum} WHERE revision = {revision}"
        );
        if self.conn.execute(&update).await? == 0 {
            let insert = format!(
                "INSERT INTO {table} (revision, direction, statements_done, checksum) VALUES ({revision}, {direction}, {done}, {checksum})"
            );
            self.conn.execute(&insert).await?;
        }
        Ok(())
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

/// FNV-1a over the statements: detects a revision edited between a part-way run
/// and its resumption.
fn checksum(statements: &[Statement]) -> String {
    format!("{:016x}", driver::fnv1a(statements.iter().flat_map(|s| s.sql.bytes().chain([0u8]))))
}

/// Renders a plan as an offline SQL script, the way Alembic's `--sql` does:
/// each step introduced by `-- Running upgrade A -> B`.
pub fn render_offline(plan: &Plan, dialect: &dyn Dialect, table: &VersionTable, starting: &[String]) -> String {
    let end = dialect.offline_terminator();
    let mut out = String::new();
    if starting.is_empty() && !plan.steps.is_empty() {
        out.push_str(&format!("{}{end}\n\n", dialect.create_version_table(table)));
    }
    let (begin, commit) = dialect.offline_transaction();
    for step in &plan.steps {
        out.push_str(&format!("-- Running {}\n\n", step.short_log()));
        let body = if step.is_python && !step.is_stamp {
            format!("-- revision {} is an Alembic .py revision; its body is not rendered\n", step.revision)
        } else {
            statements(step, dialect).iter().map(|s| format!("{}{end}\n", s.sql.trim_end_matches(';'))).collect()
        };
        let version: String =
            step.change.ops().iter().map(|op| format!("{}{end}\n", dialect.version_op(table, op))).collect();
        let atomic = step.transactional && dialect.capabilities().transactional_ddl;
        if atomic {
            out.push_str(&format!("{begin}\n{body}{version}{commit}\n\n"));
        } else {
            out.push_str(&format!("{body}{begin}\n{version}{commit}\n\n"));
        }
    }
    if !plan.steps.is_empty() && plan.heads_after.is_empty() {
        out.push_str(&format!("{}{end}\n", dialect.drop_version_table(table)));
    }
    out
}
