//! `retort check`: the findings of every selected history (`retort-check`), in
//! the dialect of the targets it serves. Reads files only, unless `-d` names
//! targets: then each is read (read-only) for drift against its audit trail.
//! (Targets sharing a version table are refused when the config loads, for every
//! command.)

use retort_check::{Facts, Finding, Rule, Severity};
use retort_config::Database;
use retort_engine::audit;
use retort_engine::driver::{Connection, DriverError, read_versions};
use retort_engine::split::Flavor;

use crate::error::{Error, Result};
use crate::workspace::{Workspace, label};

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
        let flavor = flavor_of(workspace, &db)?;
        let key = (db.history.version_locations.clone(), flavor);
        if checked.contains(&key) {
            continue;
        }
        checked.push(key);
        let graph = workspace.graph(&db)?;
        findings.extend(retort_check::check_history(&graph, flavor, &Facts::default()));
    }
    if workspace.names_targets() {
        for db in workspace.targets().await? {
            match check_database(workspace, &db).await {
                Ok(found) => findings.extend(found),
                // One database that cannot be read fails the check; the others are read.
                Err(Error::Unreachable(why)) => findings.push(unreachable(workspace, &db, why)),
                Err(other) => return Err(other),
            }
        }
    }
    findings.sort_by(|a, b| (&a.file, a.line, a.rule).cmp(&(&b.file, b.line, b.rule)));
    findings.dedup();
    Ok(CheckReport { findings })
}

/// What a selected database adds: drift against its audit trail, and the
/// statement rules with its server's facts. One read-only session.
async fn check_database(workspace: &Workspace, db: &Database) -> Result<Vec<Finding>> {
    let graph = workspace.graph(db)?;
    let (mut conn, driver) = workspace.open_read_only(db).await?;
    let flavor = driver.dialect().flavor();
    let read = async {
        let rows = read_versions(conn.as_mut(), driver.dialect(), &db.version_table).await?.unwrap_or_default();
        let entries = audit::read(conn.as_mut(), driver.dialect(), &db.version_table).await?.unwrap_or_default();
        let facts = facts_of(conn.as_mut(), flavor).await?;
        Ok::<_, retort_engine::driver::DriverError>((rows, entries, facts))
    };
    let read = read.await;
    let _ = conn.close().await;
    let (rows, entries, facts) = read.map_err(|e| Error::Unreachable(format!("{}: {e}", label(db))))?;
    let mut found =
        retort_check::drift_findings(&db.name, &audit::drift(&graph, &rows, &entries), db.policy.stop_on_drift);
    found.extend(retort_check::check_history(&graph, flavor, &facts));
    Ok(found)
}

/// The finding for a selected database that could not be read, at its section
/// of the config (a tenant's: its fleet's).
fn unreachable(workspace: &Workspace, db: &Database, why: String) -> Finding {
    let config = &workspace.config.path;
    let section = db.fleet.as_deref().unwrap_or(&db.name);
    let headers = [format!("[databases.{section}]"), format!("[fleets.{section}]")];
    let text = std::fs::read_to_string(config).unwrap_or_default();
    let line = text.lines().position(|l| headers.iter().any(|h| l.trim() == h)).map_or(1, |i| i + 1);
    let fix = format!("check its URL and that its server is up, or leave `{}` out of -d", db.name);
    Rule::Unreachable.finding(config, line, None, why, fix)
}

/// The dialect of a database, or of a fleet's tenants.
fn flavor_of(workspace: &Workspace, db: &Database) -> Result<Flavor> {
    Ok(workspace.history_driver(db)?.dialect().flavor())
}

/// What a selected target's server says: its PostgreSQL version, its large
/// MySQL/MariaDB tables.
async fn facts_of(conn: &mut dyn Connection, flavor: Flavor) -> std::result::Result<Facts, DriverError> {
    let sql = match flavor {
        Flavor::Postgres => "SELECT current_setting('server_version_num')".to_string(),
        Flavor::MySql => format!(
            "SELECT LOWER(TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_ROWS >= {}",
            retort_check::LARGE_TABLE_ROWS
        ),
        _ => return Ok(Facts::default()),
    };
    let rows = conn.query(&sql).await?;
    let first = |rows: &[Vec<Option<String>>]| rows.first().and_then(|r| r.first().cloned().flatten());
    Ok(match flavor {
        Flavor::Postgres => Facts {
            postgres_version: first(&rows).and_then(|v| v.parse().ok()).unwrap_or(Facts::default().postgres_version),
            ..Facts::default()
        },
        _ => Facts {
            large_tables: rows.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect(),
            ..Facts::default()
        },
    })
}
