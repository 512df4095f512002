//! Typed reports of the commands that touch databases: the run summary and the
//! `status` rows. JSON is serialized from them and text is rendered from them, so
//! the two formats cannot disagree (`docs/json-output.md` lists the fields).

use retort_engine::executor::PartWay;
use retort_engine::fleet::{Outcome, Status};
use serde::Serialize;

/// What a run did across its targets.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub targets: usize,
    pub ok: usize,
    pub failed: usize,
    pub skipped: usize,
    pub interrupted: usize,
    pub revisions_applied: usize,
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
    pub fn of(outcomes: &[Outcome]) -> Summary {
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
            slowest: slowest
                .iter()
                .take(5)
                .map(|o| Timing { target: o.target.clone(), ms: o.elapsed.as_millis() as u64 })
                .collect(),
        }
    }

    /// The text lines: counts, the slowest targets.
    pub fn lines(&self) -> [String; 2] {
        let interrupted =
            if self.interrupted > 0 { format!(", {} interrupted", self.interrupted) } else { String::new() };
        let plural = if self.targets == 1 { "" } else { "s" };
        let slowest: Vec<String> = self.slowest.iter().map(|t| format!("{} {} ms", t.target, t.ms)).collect();
        [
            format!(
                "{} target{plural}: {} ok, {} failed, {} skipped{interrupted}; {} revisions applied",
                self.targets, self.ok, self.failed, self.skipped, self.revisions_applied
            ),
            format!("slowest: {}", slowest.join(", ")),
        ]
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
