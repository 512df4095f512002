//! The audit trail: one row per revision step a run applied, in a table of its
//! own beside the version table (`retort_audit_<target>`; Alembic's table stays
//! untouched). Each row holds the revision, its direction, the checksum of the
//! revision file's body, when the step started and finished, where and by whom it
//! ran, retort's version, and its outcome. A step's row commits in the same
//! transaction as its version change, so the trail never claims what did not
//! happen. Before an upgrade, an applied revision whose file no longer matches its
//! recorded checksum is drift (`docs/audit.md`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use retort_history::graph::Graph;
use retort_history::plan::Direction;
use retort_history::revision::{Body, Revision};

use crate::driver::{Connection, Dialect, DriverError, VersionTable, fnv1a, quote_literal};

/// The audit table of a version table: `alembic_version_<target>` becomes
/// `retort_audit_<target>`; any other name gets `_audit` appended.
pub fn table(version_table: &VersionTable) -> VersionTable {
    let name = match version_table.name.strip_prefix("alembic_version_") {
        Some(target) => format!("retort_audit_{target}"),
        None => format!("{}_audit", version_table.name),
    };
    VersionTable { name, schema: version_table.schema.clone() }
}

/// The audit table's `CREATE TABLE`, `name` quoted and qualified. Times are
/// ISO 8601 UTC text, so that every dialect stores and sorts them alike.
pub fn create_table(name: &str) -> String {
    format!(
        "CREATE TABLE {name} (\n    revision VARCHAR(32) NOT NULL,\n    direction VARCHAR(10) NOT NULL,\n    \
         checksum VARCHAR(16) NOT NULL,\n    started_at VARCHAR(32) NOT NULL,\n    finished_at VARCHAR(32) NOT NULL,\n    \
         duration_ms BIGINT NOT NULL,\n    host VARCHAR(255) NOT NULL,\n    os_user VARCHAR(255) NOT NULL,\n    \
         retort_version VARCHAR(32) NOT NULL,\n    outcome VARCHAR(10) NOT NULL\n)"
    )
}

/// The checksum of what a revision's upgrade runs, as its file holds it now: the
/// `migrate:up` section without blank lines, whole-line `--` comments and the
/// spaces around lines. Editing the downgrade or a comment is no drift; `None`
/// for a `.py` revision (never run by retort).
pub fn checksum(rev: &Revision) -> Option<String> {
    let Body::Sql { up, .. } = &rev.body else { return None };
    let lines = up.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("--"));
    Some(format!("{:016x}", fnv1a(lines.flat_map(|l| l.bytes().chain([b'\n'])))))
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The step committed.
    Ok,
    /// The step failed and was rolled back (where the dialect can).
    Failed,
}

/// One row of the audit table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// The revision id.
    pub revision: String,
    /// `up` or `down`.
    pub direction: String,
    /// [`checksum`] of the revision when the step ran.
    pub checksum: String,
    /// ISO 8601 UTC, e.g. `2026-12-01T18:07:59.123Z`.
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
    /// The machine and the OS user that ran the step.
    pub host: String,
    pub os_user: String,
    /// The retort that ran it.
    pub retort_version: String,
    /// `ok` or `failed`.
    pub outcome: String,
}

impl Entry {
    /// The row of a step of `revision` that started at `started` and ends now.
    pub fn now(revision: &str, direction: Direction, checksum: &str, started: SystemTime, outcome: Outcome) -> Entry {
        let finished = SystemTime::now();
        let duration = finished.duration_since(started).unwrap_or_default();
        Entry {
            revision: plain(revision),
            direction: if direction == Direction::Up { "up" } else { "down" }.to_string(),
            checksum: checksum.to_string(),
            started_at: utc(started),
            finished_at: utc(finished),
            duration_ms: duration.as_millis() as u64,
            host: plain(&host()),
            os_user: plain(&os_user()),
            retort_version: env!("CARGO_PKG_VERSION").to_string(),
            outcome: if outcome == Outcome::Ok { "ok" } else { "failed" }.to_string(),
        }
    }

    /// The `INSERT` of this row into `name` (quoted, qualified).
    pub fn insert(&self, name: &str) -> String {
        let q = |v: &str| quote_literal(v);
        format!(
            "INSERT INTO {name} (revision, direction, checksum, started_at, finished_at, duration_ms, host, os_user, \
             retort_version, outcome) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
            q(&self.revision),
            q(&self.direction),
            q(&self.checksum),
            q(&self.started_at),
            q(&self.finished_at),
            self.duration_ms,
            q(&self.host),
            q(&self.os_user),
            q(&self.retort_version),
            q(&self.outcome),
        )
    }
}

/// Every row of a target's audit table, oldest first; `None` when the table does
/// not exist. Creates nothing.
pub async fn read(
    conn: &mut dyn Connection,
    dialect: &dyn Dialect,
    version_table: &VersionTable,
) -> Result<Option<Vec<Entry>>, DriverError> {
    let table = table(version_table);
    if !conn.table_exists(&table).await? {
        return Ok(None);
    }
    let sql = format!(
        "SELECT revision, direction, checksum, started_at, finished_at, duration_ms, host, os_user, retort_version, \
         outcome FROM {} ORDER BY finished_at, started_at",
        dialect.table_name(&table)
    );
    let rows = conn.query(&sql).await?;
    Ok(Some(
        rows.into_iter()
            .map(|row| {
                let mut cells = row.into_iter().map(Option::unwrap_or_default);
                let mut next = || cells.next().unwrap_or_default();
                Entry {
                    revision: next(),
                    direction: next(),
                    checksum: next(),
                    started_at: next(),
                    finished_at: next(),
                    duration_ms: next().parse().unwrap_or(0),
                    host: next(),
                    os_user: next(),
                    retort_version: next(),
                    outcome: next(),
                }
            })
            .collect(),
    ))
}

/// An applied revision whose file changed since it was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// The revision and its file.
    pub revision: String,
    pub path: std::path::PathBuf,
    /// The checksum recorded when it was last applied, and when that was.
    pub applied_checksum: String,
    pub applied_at: String,
    /// The checksum its file has now.
    pub file_checksum: String,
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "revision {} ({}) changed since it was applied at {} (checksum {}, now {})",
            self.revision,
            self.path.display(),
            self.applied_at,
            self.applied_checksum,
            self.file_checksum
        )
    }
}

/// The applied revisions (`version_rows` and everything below them) whose last
/// successful upgrade recorded another checksum than their file has now. Revisions
/// applied before the audit table existed have no row and are not judged.
pub fn drift(graph: &Graph, version_rows: &[String], entries: &[Entry]) -> Vec<Drift> {
    let heads: Vec<usize> = version_rows.iter().filter_map(|r| graph.index_of(r)).collect();
    let applied = graph.ancestors(&heads, true);
    let mut found = Vec::new();
    for index in applied.iter() {
        let rev = graph.revision(index);
        let last = entries.iter().rev().find(|e| e.revision == rev.id && e.direction == "up" && e.outcome == "ok");
        if let (Some(last), Some(now)) = (last, checksum(rev))
            && last.checksum != now
        {
            found.push(Drift {
                revision: rev.id.clone(),
                path: rev.path.clone(),
                applied_checksum: last.checksum.clone(),
                applied_at: last.finished_at.clone(),
                file_checksum: now,
            });
        }
    }
    found
}

/// `text` fit for a literal in every dialect: without backslashes (an escape in
/// MySQL's strings) and control characters, at most 255 characters.
fn plain(text: &str) -> String {
    text.chars().filter(|c| *c != '\\' && !c.is_control()).take(255).collect()
}

/// This machine's name, where it can be read.
fn host() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// Who runs this process: `$USER` (`$LOGNAME`, `%USERNAME%`), else the name of
/// this process's uid in `/etc/passwd`, else `uid N`.
fn os_user() -> String {
    if let Some(name) = ["USER", "LOGNAME", "USERNAME"].iter().find_map(|v| std::env::var(v).ok()) {
        return name;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let Some(uid) = status.lines().find_map(|l| l.strip_prefix("Uid:")?.split_whitespace().next().map(String::from))
    else {
        return String::new();
    };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let name = passwd.lines().map(|l| l.split(':').collect::<Vec<_>>()).find(|f| f.len() > 2 && f[2] == uid);
    name.map_or_else(|| format!("uid {uid}"), |f| f[0].to_string())
}

/// `time` as `2026-12-01T18:07:59.123Z`.
fn utc(time: SystemTime) -> String {
    let (year, month, day, secs) = retort_history::author::utc_date(time);
    let millis = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).subsec_millis();
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_times() {
        assert_eq!(utc(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc(UNIX_EPOCH + Duration::from_millis(1_764_612_479_123)), "2025-12-01T18:07:59.123Z");
        assert_eq!(utc(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn values_fit_any_dialect() {
        assert_eq!(plain("dom\\ain\\user\n'x'"), "domainuser'x'");
        let entry = Entry::now("a1", Direction::Up, "00", SystemTime::now(), Outcome::Ok);
        assert!(entry.insert("t").starts_with("INSERT INTO t (revision, direction"));
    }

    #[test]
    fn names_the_audit_table() {
        let t = VersionTable::for_target("main");
        assert_eq!(table(&t).name, "retort_audit_main");
        let custom = VersionTable { name: "versions".into(), schema: Some("app".into()) };
        assert_eq!(table(&custom), VersionTable { name: "versions_audit".into(), schema: Some("app".into()) });
    }
}
