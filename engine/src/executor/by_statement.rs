//! Revisions that run statement by statement, and how a stopped one is finished.
//!
//! Each statement either shares a transaction with its progress record (data
//! changes everywhere; on PostgreSQL and SQLite every statement that may run in a
//! transaction) or runs in autocommit between two records: "statement N started"
//! before it, "N done" after it. A run that dies between those two leaves an
//! unknown outcome; the next run, holding the lock the dead run held (so its
//! session is gone), asks the catalog what the statement did and marks it done or
//! runs it again — and only where the catalog cannot tell does it stop and name
//! `retort resolve`. See `docs/crash-safety.md`.

use super::{FailedAt, Resolution, Run, RunError, revision_statements, statements};
use crate::driver::Presence;
use crate::progress::{self, Progress};
use crate::split::{Statement, Unit};
use crate::statement::{self, Change, Effect};
use retort_history::graph::Graph;
use retort_history::plan::Step;

/// What the catalog says about a statement whose run was cut off.
enum Verdict {
    /// Harmless to run again.
    Repeat,
    /// Its revision says every statement is harmless to run again.
    Idempotent,
    Applied,
    NotApplied,
    Unknown,
}

impl Run<'_> {
    /// Statements one by one, each recorded, then the version change together
    /// with the removal of the revision's progress row.
    pub(super) async fn apply_by_statement(&mut self, step: &Step) -> Result<(), RunError> {
        let statements = statements(step, self.dialect);
        let checksum = progress::checksum(&statements);
        let done = self.resume_point(step, &statements, &checksum).await?;
        // Created up front, in autocommit: creating it inside a statement's
        // transaction would abort it (PostgreSQL) or commit it early (MySQL).
        if !statements.is_empty() && !self.progress_table_exists {
            self.progress_table().create_if_missing(self.conn).await?;
            self.progress_table_exists = true;
        }
        for i in done..statements.len() {
            if self.options.interrupt.is_triggered() {
                return Err(RunError::Interrupted(interrupted_at(step, i, statements.len(), self.unit())));
            }
            if let Some(note) = self.conn.repair_before(&statements[i].sql).await? {
                self.note(format!("{} {}: {note}", step.direction.verb(), step.revision));
            }
            let ran = self.run_recorded(step, &statements, i, &checksum).await;
            if let Err(error) = ran {
                let cut_short = self.options.interrupt.is_triggered() && !matches!(error, RunError::Interrupted(_));
                return Err(if cut_short {
                    RunError::Interrupted(cancelled_at(step, i, statements.len(), self.unit()))
                } else {
                    error
                });
            }
        }
        self.conn.begin().await?;
        let finish = async {
            self.version_change(step).await?;
            if !statements.is_empty() {
                self.progress_table().delete(self.conn, &step.revision).await?;
                self.progress_rows.remove(&step.revision);
            }
            Ok::<(), RunError>(())
        };
        let result = finish.await;
        self.end_transaction(result).await?;
        self.progress.retain(|p| p.revision != step.revision);
        Ok(())
    }

    /// Runs statement `i` with its progress record: in one transaction where the
    /// statement allows, else in autocommit between a "started" and a "done" record.
    async fn run_recorded(
        &mut self,
        step: &Step,
        statements: &[Statement],
        i: usize,
        checksum: &str,
    ) -> Result<(), RunError> {
        let record = |done: usize, running: Option<(usize, String)>| Progress {
            revision: step.revision.clone(),
            direction: step.direction,
            done,
            checksum: checksum.to_string(),
            running,
        };
        let sql = &statements[i].sql;
        let at = FailedAt::new(step, i, statements, self.unit());
        let failed = |source| RunError::StepPartial { at, source };
        let has_row = self.progress_rows.contains(&step.revision);
        if self.conn.shares_transaction(sql) {
            self.conn.begin().await?;
            let ran = match self.execute_body(sql).await {
                Err(source) => Err(failed(source)),
                Ok(_) => {
                    let written = self.progress_table().write(self.conn, &record(i + 1, None), has_row).await;
                    written.map_err(RunError::from)
                }
            };
            self.end_transaction(ran).await?;
            self.progress_rows.insert(step.revision.clone());
            return Ok(());
        }
        let running = Some((i + 1, progress::checksum(&statements[i..=i])));
        self.progress_table().write(self.conn, &record(i, running), has_row).await?;
        self.progress_rows.insert(step.revision.clone());
        match self.execute_body(sql).await {
            Ok(_) => Ok(self.progress_table().write(self.conn, &record(i + 1, None), true).await?),
            Err(source) => {
                // The server answered: the statement failed, its outcome is known.
                // (Where the connection is gone, this write fails too and the next
                // run checks the catalog instead.)
                let _ = self.progress_table().write(self.conn, &record(i, None), true).await;
                Err(failed(source))
            }
        }
    }

    /// Where a revision resumes: after the statements a stopped run completed,
    /// with the one it left in flight settled through the catalog.
    async fn resume_point(&mut self, step: &Step, statements: &[Statement], checksum: &str) -> Result<usize, RunError> {
        let recorded = self.progress.iter().find(|p| p.revision == step.revision && p.direction == step.direction);
        let Some(recorded) = recorded.cloned() else { return Ok(0) };
        let done = recorded.done.min(statements.len());
        let changed = || RunError::ChangedSincePartial {
            revision: step.revision.clone(),
            done,
            unit: self.unit(),
            target: self.options.target.clone(),
        };
        if recorded.checksum != checksum {
            return Err(changed());
        }
        let resume_at = match &recorded.running {
            None => done,
            Some((n, sum)) if *n == done + 1 && *n <= statements.len() => {
                if progress::checksum(&statements[n - 1..*n]) != *sum {
                    return Err(changed());
                }
                self.settle_in_flight(step, statements, n - 1, checksum).await?
            }
            Some(_) => return Err(changed()),
        };
        let (what, unit) = (format!("{} {}", step.direction.verb(), step.revision), self.unit());
        if resume_at > 0 && resume_at == statements.len() {
            self.note(format!(
                "{what}: all its {} were completed by an earlier run; recording it as done",
                unit.many()
            ));
        } else if resume_at > 0 {
            self.note(format!(
                "{what}: resuming at {unit} {} of {}; {} completed by an earlier run",
                resume_at + 1,
                statements.len(),
                unit.first(resume_at)
            ));
        }
        Ok(resume_at)
    }

    /// Statement `i` was running when an earlier run stopped. Returns how many
    /// statements count as done after asking the catalog.
    async fn settle_in_flight(
        &mut self,
        step: &Step,
        statements: &[Statement],
        i: usize,
        checksum: &str,
    ) -> Result<usize, RunError> {
        let at = format!(
            "{} {}: {} {} ({}:{}) was running when an earlier run stopped",
            step.direction.verb(),
            step.revision,
            self.unit(),
            i + 1,
            step.path.display(),
            statements[i].file_line(step.line)
        );
        let verdict = if step.idempotent { Verdict::Idempotent } else { self.verdict(&statements[i].sql).await? };
        let (done, how) = match verdict {
            Verdict::Repeat => (i, "it is safe to repeat, so it runs again"),
            Verdict::Idempotent => (i, "its revision is marked `Idempotent: true`, so it runs again"),
            Verdict::NotApplied => (i, "the catalog shows it did not take effect, so it runs again"),
            Verdict::Applied => (i + 1, "the catalog shows it took effect: marked done"),
            Verdict::Unknown => {
                let target = self.options.target.clone();
                let at = FailedAt::new(step, i, statements, self.unit());
                return Err(RunError::OutcomeUnknown { at, target });
            }
        };
        let settled = Progress {
            revision: step.revision.clone(),
            direction: step.direction,
            done,
            checksum: checksum.to_string(),
            running: None,
        };
        self.progress_table().write(self.conn, &settled, true).await?;
        self.note(format!("{at}; {how}"));
        Ok(done)
    }

    /// Asks the catalog whether `sql` took effect.
    async fn verdict(&mut self, sql: &str) -> Result<Verdict, RunError> {
        let changes = match statement::effect(sql, self.dialect.flavor()) {
            Effect::Repeatable => return Ok(Verdict::Repeat),
            Effect::Unknown => return Ok(Verdict::Unknown),
            Effect::Changes(changes) if changes.is_empty() => return Ok(Verdict::Repeat),
            Effect::Changes(changes) => changes,
        };
        let mut applied = 0;
        for change in &changes {
            match self.took_effect(change).await? {
                Some(true) => applied += 1,
                Some(false) => {}
                None => return Ok(Verdict::Unknown),
            }
        }
        Ok(match applied {
            0 => Verdict::NotApplied,
            n if n == changes.len() => Verdict::Applied,
            _ => Verdict::Unknown,
        })
    }

    /// Whether one change is visible in the catalog; `None` when it cannot tell.
    async fn took_effect(&mut self, change: &Change) -> Result<Option<bool>, RunError> {
        use Presence::{Absent, Invalid, Present};
        Ok(match change {
            Change::Creates(object) => self.conn.presence(object).await?.map(|p| p == Present),
            Change::Drops(object) => self.conn.presence(object).await?.map(|p| p == Absent),
            Change::Renames { from, to } => match (self.conn.presence(from).await?, self.conn.presence(to).await?) {
                (Some(Absent), Some(Present)) => Some(true),
                (Some(Present | Invalid), Some(Absent)) => Some(false),
                _ => None,
            },
        })
    }

    /// `retort resolve`: settles a part-way revision as the person says, refusing
    /// where the record does not allow it.
    pub(super) async fn resolve(&mut self, graph: &Graph, spec: &str, how: Resolution) -> Result<(), RunError> {
        let index = graph.resolve_one(spec)?.ok_or_else(|| RunError::Refused(format!("`{spec}` names no revision")))?;
        let revision = graph.revision(index).id.clone();
        if !revision.starts_with(spec) {
            // Recording an outcome by `heads` or a label would be a guess about which.
            return Err(RunError::Refused(format!(
                "name the part-way revision by its id or a prefix of it, not `{spec}` ({revision})"
            )));
        }
        let table = self.dialect.table_name(&self.table.progress());
        let Some(recorded) = self.progress.iter().find(|p| p.revision == revision).cloned() else {
            return Err(RunError::Refused(format!(
                "{table} records no part-way run of {revision}: nothing to resolve"
            )));
        };
        let total = revision_statements(graph, index, recorded.direction, self.dialect).len();
        let (what, unit) = (format!("{} {revision}", recorded.direction.verb()), self.unit());
        let settled = |done: usize| Progress { done, running: None, ..recorded.clone() };
        match (how, &recorded.running) {
            (Resolution::Abandon, _) => {
                self.progress_table().delete(self.conn, &revision).await?;
                self.progress_rows.remove(&revision);
                let stays = match recorded.done {
                    0 => String::new(),
                    n => format!("; {} ran and stay applied (undo them by hand if needed)", unit.first(n)),
                };
                self.note(format!("abandoned the part-way {what}{stays}; the next run starts it at {unit} 1"));
            }
            (Resolution::Applied, Some((n, _))) => {
                self.progress_table().write(self.conn, &settled(*n), true).await?;
                self.note(format!("{what}: {unit} {n} marked done; the next run resumes at {unit} {}", n + 1));
            }
            (Resolution::NotApplied, Some((n, _))) => {
                self.progress_table().write(self.conn, &settled(n - 1), true).await?;
                self.note(format!("{what}: {unit} {n} marked not done; the next run runs it again"));
            }
            (_, None) => {
                return Err(RunError::Refused(format!(
                    "{what} has no {unit} whose outcome is unknown ({} of {total} {} done; the next run resumes at {unit} {}); `--abandon` forgets its progress",
                    recorded.done,
                    unit.many(),
                    recorded.done + 1
                )));
            }
        }
        self.progress_table().drop_if_empty(self.conn).await?;
        Ok(())
    }

    /// What this dialect's revision bodies are split into.
    fn unit(&self) -> Unit {
        self.dialect.flavor().unit()
    }
}

/// Why a revision stopped before statement `i` (0-based) after an interrupt.
fn interrupted_at(step: &Step, i: usize, total: usize, unit: Unit) -> String {
    let verb = step.direction.verb();
    match i {
        0 => format!("before the first {unit} of {verb} {}", step.revision),
        _ => format!(
            "after {unit} {i} of {total} of {verb} {}: {} recorded, the next run resumes at {unit} {}",
            step.revision,
            unit.first(i),
            i + 1
        ),
    }
}

/// Why a revision stopped when its statement `i` (0-based) was cancelled.
fn cancelled_at(step: &Step, i: usize, total: usize, unit: Unit) -> String {
    let recorded = match i {
        0 => String::new(),
        _ => format!("{} recorded, ", unit.first(i)),
    };
    format!(
        "during {unit} {} of {total} of {} {} (cancelled on the server): {recorded}the next run resumes at {unit} {}",
        i + 1,
        step.direction.verb(),
        step.revision,
        i + 1
    )
}
