//! `retort check`: the findings of every selected history (`retort-check`), in
//! the dialect of the targets it serves. Reads files only, unless `-d` names
//! targets: then each is read (read-only) for drift against its audit trail.
//! (Targets sharing a version table are refused when the config loads, for every
//! command.)

use retort_check::{Finding, Severity};
use retort_engine::split::Flavor;

use crate::error::Result;
use crate::workspace::Workspace;

/// What `retort check` found, in file order.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckReport {
    pub findings: Vec<Finding>,
}

impl CheckReport {
    /// How many findings are errors.
    pub fn errors(&self) -> usize {
        self.findings.iter().filter(|f| f.severity == Severity::Error).count()
    }

    /// How many findings are warnings.
    pub fn warnings(&self) -> usize {
        self.findings.len() - self.errors()
    }
}

/// Checks every selected history once per dialect it is run in, and with `-d`
/// the selected targets' applied revisions for drift.
pub async fn check(workspace: &Workspace) -> Result<CheckReport> {
    let mut checked: Vec<(Vec<std::path::PathBuf>, Flavor)> = Vec::new();
    let mut findings = Vec::new();
    for db in workspace.histories() {
        // A fleet's history stands for its tenants, reached through its URL template.
        let fleet = workspace.config.fleets.iter().find(|f| f.name == db.name);
        let url = fleet.map_or(&db.connection.url, |f| &f.url_template);
        let flavor = workspace.drivers.for_url(&db.name, url)?.dialect().flavor();
        let key = (db.history.version_locations.clone(), flavor);
        if checked.contains(&key) {
            continue;
        }
        checked.push(key);
        let graph = workspace.graph(&db)?;
        findings.extend(retort_check::check_history(&graph, flavor));
    }
    if workspace.names_targets() {
        for db in workspace.targets().await? {
            let (rows, entries) = workspace.read_audit(&db).await?;
            let drift = retort_engine::audit::drift(&*workspace.graph(&db)?, &rows, &entries.unwrap_or_default());
            findings.extend(retort_check::drift_findings(&db.name, &drift));
        }
    }
    findings.sort_by(|a, b| (&a.file, a.line, a.rule).cmp(&(&b.file, b.line, b.rule)));
    findings.dedup();
    Ok(CheckReport { findings })
}
