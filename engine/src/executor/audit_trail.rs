//! A run's part in the audit trail (`crate::audit`): drift judged before the run
//! writes anything, the table created when a step is about to run, and one row
//! per step, committed with its version change.

use retort_history::graph::Graph;
use retort_history::plan::{Plan, Step};

use super::{Action, Run, RunError};
use crate::audit;

/// What [`Run::judge_drift`] found out for [`Run::prepare_audit`].
pub(super) struct Audited {
    /// Whether the run applies a revision step (an upgrade or downgrade with work).
    runs_a_step: bool,
    /// Whether the audit table exists.
    table_exists: bool,
}

impl Run<'_> {
    /// For upgrades and downgrades that run a step: notes the checksums of the
    /// plan's revisions and, before an upgrade, judges the applied revisions for
    /// drift, stopping the run (or noting it, with `on_drift = "warn"`). Writes
    /// nothing. A run with nothing to do reads nothing more (`retort check -d`
    /// judges drift on demand).
    pub(super) async fn judge_drift(
        &mut self,
        graph: &Graph,
        action: &Action,
        plan: &Plan,
    ) -> Result<Audited, RunError> {
        let runs_a_step =
            matches!(action, Action::Upgrade(_) | Action::Downgrade(_)) && plan.steps.iter().any(|s| !s.is_stamp);
        if !runs_a_step {
            return Ok(Audited { runs_a_step, table_exists: false });
        }
        for step in plan.steps.iter().filter(|s| !s.is_stamp) {
            if let Some(sum) = graph.index_of(&step.revision).and_then(|i| audit::checksum(graph.revision(i))) {
                self.checksums.insert(step.revision.clone(), sum);
            }
        }
        let entries = audit::read(self.conn, self.dialect, self.table).await?;
        if let (Action::Upgrade(_), Some(entries)) = (action, &entries) {
            let drift = audit::drift(graph, &self.report.before, entries);
            if !drift.is_empty() && self.options.policy.stop_on_drift {
                return Err(RunError::Drifted { drift, target: self.options.target.clone() });
            }
            for d in drift {
                self.note(format!("{d} (on_drift = \"warn\": running anyway)"));
            }
        }
        Ok(Audited { runs_a_step, table_exists: entries.is_some() })
    }

    /// Creates the audit table when the run is about to apply a step and the
    /// table is missing.
    pub(super) async fn prepare_audit(&mut self, audited: Audited) -> Result<(), RunError> {
        if audited.runs_a_step && !audited.table_exists {
            self.conn.execute(&self.dialect.create_audit_table(self.table)).await?;
        }
        Ok(())
    }

    /// The audit row of `step`, ending now; `None` for a step the trail does not
    /// record (stamps, `.py` revisions).
    pub(super) fn audit_insert(&self, step: &Step, outcome: audit::Outcome) -> Option<String> {
        let checksum = self.checksums.get(&step.revision)?;
        let entry = audit::Entry::now(&step.revision, step.direction, checksum, self.step_started, outcome);
        Some(entry.insert(&self.dialect.table_name(&audit::table(self.table))))
    }
}
