//! Typed reports of the operations that touch databases: what each target did,
//! the run summary, the `status` rows, and the verdict a caller maps to an exit
//! code. JSON is serialized from them and text is rendered from them, so the two
//! formats cannot disagree (`docs/json-output.md` lists the fields).

use retort_engine::executor::{AppliedStep, PartWay};
use retort_engine::fleet::{FleetReport, Outcome, Status};
use serde::Serialize;

/// What one target did, as a report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    pub target: String,
    pub driver: String,
    pub status: Status,
    /// Version rows before the run.
    pub before: Vec<String>,
    /// Version rows after the run.
    pub after: Vec<String>,
    pub steps: Vec<AppliedStep>,
    pub notes: Vec<String>,
    pub part_way: Vec<PartWay>,
    /// When it started (or was skipped), in ms from the start of the run.
    pub started_ms: u64,
    pub ms: u64,
    pub error: Option<String>,
}

impl TargetReport {
    /// The report of one outcome.
    pub fn of(o: &Outcome) -> TargetReport {
        let report = o.report.as_ref();
        TargetReport {
            target: o.target.clone(),
            driver: o.driver.to_string(),
            status: o.status,
            before: report.map(|r| r.before.clone()).unwrap_or_default(),
            after: report.map(|r| r.after.clone()).unwrap_or_default(),
            steps: report.map(|r| r.steps.clone()).unwrap_or_default(),
            notes: report.map(|r| r.notes.clone()).unwrap_or_default(),
            part_way: report.map(|r| r.part_way.clone()).unwrap_or_default(),
            started_ms: o.started.as_millis() as u64,
            ms: o.elapsed.as_millis() as u64,
            error: o.error.clone(),
        }
    }
}

/// The skipped ones of `targets` (name, status, error), grouped by why they were
/// not started, reasons in the order first seen: a stopped rollout may skip
/// thousands for one reason.
pub fn skipped_by_reason<'a>(
    targets: impl IntoIterator<Item = (&'a str, Status, Option<&'a str>)>,
) -> Vec<(&'a str, Vec<&'a str>)> {
    let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
    for (name, _, error) in targets.into_iter().filter(|(_, status, _)| *status == Status::Skipped) {
        let why = error.unwrap_or("not started");
        match reasons.iter_mut().find(|(r, _)| *r == why) {
            Some((_, names)) => names.push(name),
            None => reasons.push((why, vec![name])),
        }
    }
    reasons
}

/// How a set of targets ended, worst first: what a caller maps to an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every target is fine.
    Ok,
    /// A target was given bad input (a spec its history cannot plan, a refused revision).
    BadInput,
    /// A target's lock was not acquired in time.
    LockTimeout,
    /// A target failed at run time.
    TargetFailed,
}

impl Verdict {
    /// The worst of the outcomes: a run-time failure over a lock time-out over bad input.
    pub fn of(outcomes: &[Outcome]) -> Verdict {
        let failed = outcomes.iter().filter(|o| o.status == Status::Failed);
        let each = failed.map(|o| {
            if o.lock_timeout {
                Verdict::LockTimeout
            } else if o.bad_input {
                Verdict::BadInput
            } else {
                Verdict::TargetFailed
            }
        });
        each.max().unwrap_or(Verdict::Ok)
    }
}

/// What a run did across its targets.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub targets: usize,
    pub ok: usize,
    pub failed: usize,
    pub skipped: usize,
    pub interrupted: usize,
    pub revisions_applied: usize,
    /// How many waves the run had (1 unless staged).
    pub waves: usize,
    /// Why the run stopped starting targets, if it did.
    pub stopped: Option<String>,
    /// The five slowest targets, slowest first.
    pub slowest: Vec<Timing>,
}

/// How long one target took.
#[derive(Debug, Serialize)]
pub struct Timing {
    pub target: String,
    pub ms: u64,
}

impl Summary {
    /// The summary of a fleet run.
    pub fn of(run: &FleetReport) -> Summary {
        let outcomes = &run.outcomes;
        let count = |s: Status| outcomes.iter().filter(|o| o.status == s).count();
        let mut slowest: Vec<&Outcome> = outcomes.iter().collect();
        slowest.sort_by_key(|o| std::cmp::Reverse(o.elapsed));
        Summary {
            targets: outcomes.len(),
            ok: count(Status::Ok),
            failed: count(Status::Failed),
            skipped: count(Status::Skipped),
            interrupted: count(Status::Interrupted),
            revisions_applied: outcomes.iter().filter_map(|o| o.report.as_ref()).map(|r| r.steps.len()).sum(),
            waves: run.waves,
            stopped: run.stopped.clone(),
            slowest: slowest
                .iter()
                .take(5)
                .map(|o| Timing { target: o.target.clone(), ms: o.elapsed.as_millis() as u64 })
                .collect(),
        }
    }

    /// The text lines: counts, why the run stopped, the slowest targets.
    pub fn lines(&self) -> Vec<String> {
        let interrupted =
            if self.interrupted > 0 { format!(", {} interrupted", self.interrupted) } else { String::new() };
        let plural = if self.targets == 1 { "" } else { "s" };
        let slowest: Vec<String> = self.slowest.iter().map(|t| format!("{} {} ms", t.target, t.ms)).collect();
        let waves = if self.waves > 1 { format!(" in {} waves", self.waves) } else { String::new() };
        let mut lines = vec![format!(
            "{} target{plural}{waves}: {} ok, {} failed, {} skipped{interrupted}; {} revisions applied",
            self.targets, self.ok, self.failed, self.skipped, self.revisions_applied
        )];
        if let Some(why) = &self.stopped {
            lines.push(format!("stopped: {why}; the targets not started are skipped"));
        }
        lines.push(format!("slowest: {}", slowest.join(", ")));
        lines
    }
}

/// One target of `retort status`.
#[derive(Debug, Serialize)]
pub struct StatusRow {
    pub target: String,
    pub driver: String,
    pub status: Status,
    /// The version rows.
    pub current: Vec<String>,
    /// The history's heads.
    pub heads: Vec<String>,
    /// How many revisions `upgrade heads` would run; `None` when unknown.
    pub pending: Option<usize>,
    pub part_way: Vec<PartWay>,
    pub error: Option<String>,
}

impl StatusRow {
    /// The header of the text table.
    pub fn header() -> String {
        format!("{:<32} {:>7}  {:<28} heads", "target", "pending", "current")
    }

    /// The row as a line of the text table.
    pub fn line(&self) -> String {
        let pending = self.pending.map_or("?".to_string(), |p| p.to_string());
        let current = match &self.error {
            None => self.current.join(","),
            Some(error) => format!("FAILED: {error}"),
        };
        format!("{:<32} {:>7}  {:<28} {}", self.target, pending, current, self.heads.join(","))
    }
}
