//! retort-check: the rules `retort check` applies to a history, read from its
//! files alone (nothing is connected, nothing written).
//!
//! Each rule has a name, a severity and a fix. Errors are mistakes that break a
//! deploy (heads that were never merged, a statement the database refuses inside
//! the transaction its revision runs in); warnings are risks worth a second look
//! (an unlabelled branch, a revision that cannot be downgraded, a statement that
//! breaks or locks a live application). A `.sql` revision silences rules by
//! naming them in its header: `-- Allow: drop-column, rename-column`.
//! `docs/check.md` lists every rule.

mod graph_rules;
mod rules;
mod statement_rules;

use std::path::PathBuf;

use retort_engine::split::Flavor;
use retort_history::graph::Graph;

pub use rules::{Rule, Severity};

/// What a selected database tells about the statements it would run; the
/// default (no database) assumes a PostgreSQL that is supported today and no
/// large tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// `server_version_num` of a PostgreSQL target (e.g. 110022).
    pub postgres_version: u32,
    /// Tables (lower case) with at least [`LARGE_TABLE_ROWS`] rows.
    pub large_tables: Vec<String>,
}

impl Default for Facts {
    fn default() -> Self {
        Facts { postgres_version: 130000, large_tables: Vec::new() }
    }
}

/// From how many rows on a MySQL/MariaDB table a copying `ALTER TABLE` is a finding.
pub const LARGE_TABLE_ROWS: u64 = 100_000;

/// One thing `retort check` found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    /// The file it is in: a revision file, or the config file.
    pub file: PathBuf,
    /// The 1-based line it is on.
    pub line: usize,
    /// The revision it concerns, where it concerns one.
    pub revision: Option<String>,
    pub message: String,
    /// What to do about it.
    pub fix: String,
}

/// A `drift` finding for each applied revision of `target` whose file changed
/// since it was applied (`retort_engine::audit::drift`): an error when the
/// target's upgrades stop on drift, a warning when it says `on_drift = "warn"`.
pub fn drift_findings(target: &str, drift: &[retort_engine::audit::Drift], stops: bool) -> Vec<Finding> {
    drift
        .iter()
        .map(|d| {
            let changed = format!(
                "revision {} changed since it was applied to `{target}` at {} (checksum {}, now {})",
                d.revision, d.applied_at, d.applied_checksum, d.file_checksum
            );
            let (consequence, fix) = match stops {
                true => (
                    format!("the next upgrade of `{target}` stops"),
                    format!("restore the file as it was applied, or set `on_drift = \"warn\"` for `{target}`"),
                ),
                false => (
                    format!("`{target}` says on_drift = \"warn\": its upgrades run anyway"),
                    "restore the file as it was applied, if the edit was not meant".to_string(),
                ),
            };
            let mut finding =
                Rule::Drift.finding(&d.path, 1, Some(&d.revision), format!("{changed}: {consequence}"), fix);
            if !stops {
                finding.severity = Severity::Warning;
            }
            finding
        })
        .collect()
}

/// What a hazardous statement does to a live application (`blocks writes to t
/// while the index builds`), and the rule that names it.
pub fn hazard_note(hazard: &retort_engine::statement::Hazard) -> (Rule, String) {
    let (rule, message, _) = statement_rules::describe(hazard);
    (rule, message)
}

/// Every finding in `graph`'s revisions, for targets of `flavor` and what
/// `facts` says of them, except those their revisions silence; in file order.
pub fn check_history(graph: &Graph, flavor: Flavor, facts: &Facts) -> Vec<Finding> {
    let mut found = graph_rules::check(graph);
    found.extend(statement_rules::check(graph, flavor, facts));
    let mut found = rules::apply_allow(graph, found);
    found.sort_by(|a, b| (&a.file, a.line, a.rule).cmp(&(&b.file, b.line, b.rule)));
    found.dedup();
    found
}
