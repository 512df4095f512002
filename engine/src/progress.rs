//! The progress table: where a non-transactional revision's statements are
//! recorded while it runs, so that a stopped run can be finished.
//!
//! One row per part-way revision, beside the version table (never in it, so
//! Alembic's view stays untouched): how many statements are done, the checksum of
//! the revision's statements, and — while a statement runs in autocommit — which one
//! is in flight and its checksum. A row is trusted only when it [`fits`] the version
//! rows; the table is dropped once no revision is part-way.

use crate::driver::{Connection, Dialect, DriverError, VersionTable, fnv1a, quote_literal};
use crate::split::Statement;
use retort_history::graph::Graph;
use retort_history::plan::Direction;

/// One part-way revision as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub revision: String,
    pub direction: Direction,
    /// How many statements completed.
    pub done: usize,
    /// [`checksum`] of the revision's statements when they ran.
    pub checksum: String,
    /// The statement (1-based) that was started in autocommit and whose end was
    /// never recorded, with its own checksum: its outcome is unknown.
    pub running: Option<(usize, String)>,
}

/// How a progress row relates to the version rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// The revision is next to move in the row's direction: the row can be resumed.
    Fits,
    /// The version rows say the revision already moved (someone finished it, e.g.
    /// Alembic): the row is obsolete and safe to delete.
    Stale,
    /// Neither: the version rows changed underneath it (edited by hand, or the
    /// revision is no longer in the history); the row cannot be trusted.
    Misfit,
}

/// Whether `progress` can be resumed from the version rows `rows`.
pub fn fits(graph: &Graph, rows: &[String], progress: &Progress) -> Fit {
    let Some(index) = graph.index_of(&progress.revision) else { return Fit::Misfit };
    let at: Vec<usize> = rows.iter().filter_map(|r| graph.index_of(r)).collect();
    let applied = graph.ancestors(&at, true);
    match progress.direction {
        Direction::Up if applied.contains(index) => Fit::Stale,
        Direction::Up => {
            let needs = graph.parents(index).iter().chain(graph.dependencies(index));
            if needs.copied().all(|i| applied.contains(i)) { Fit::Fits } else { Fit::Misfit }
        }
        Direction::Down if !applied.contains(index) => Fit::Stale,
        Direction::Down => {
            if at.contains(&index) {
                Fit::Fits
            } else {
                Fit::Misfit
            }
        }
    }
}

/// FNV-1a over statements: detects a revision (or one statement) edited between
/// a part-way run and its resumption.
pub fn checksum(statements: &[Statement]) -> String {
    format!("{:016x}", fnv1a(statements.iter().flat_map(|s| s.sql.bytes().chain([0u8]))))
}

/// The progress table of one version table, on one connection.
pub(crate) struct Table<'a> {
    pub dialect: &'a dyn Dialect,
    pub version_table: &'a VersionTable,
}

impl Table<'_> {
    fn name(&self) -> String {
        self.dialect.table_name(&self.version_table.progress())
    }

    /// Every recorded row; `None` when the table does not exist. Creates nothing.
    pub async fn read(&self, conn: &mut dyn Connection) -> Result<Option<Vec<Progress>>, DriverError> {
        if !conn.table_exists(&self.version_table.progress()).await? {
            return Ok(None);
        }
        let sql = format!(
            "SELECT revision, direction, statements_done, checksum, running, running_checksum FROM {} ORDER BY revision",
            self.name()
        );
        Ok(Some(conn.query(&sql).await?.into_iter().filter_map(parse_row).collect()))
    }

    pub async fn create_if_missing(&self, conn: &mut dyn Connection) -> Result<(), DriverError> {
        if !conn.table_exists(&self.version_table.progress()).await? {
            conn.execute(&self.dialect.create_progress_table(self.version_table)).await?;
        }
        Ok(())
    }

    /// Records `progress`: an UPDATE of its row when `row_exists` (an INSERT
    /// should the UPDATE find none), else straight an INSERT. The caller holds
    /// the run lock, so it knows which rows exist.
    pub async fn write(
        &self,
        conn: &mut dyn Connection,
        progress: &Progress,
        row_exists: bool,
    ) -> Result<(), DriverError> {
        let (revision, direction) = (quote_literal(&progress.revision), quote_literal(progress.direction.verb()));
        let (checksum, done) = (quote_literal(&progress.checksum), progress.done);
        let (running, running_checksum) = match &progress.running {
            Some((n, sum)) => (n.to_string(), quote_literal(sum)),
            None => ("NULL".to_string(), "NULL".to_string()),
        };
        let update = format!(
            "UPDATE {} SET direction = {direction}, statements_done = {done}, checksum = {checksum}, \
             running = {running}, running_checksum = {running_checksum} WHERE revision = {revision}",
            self.name()
        );
        if !row_exists || conn.execute(&update).await? == 0 {
            let insert = format!(
                "INSERT INTO {} (revision, direction, statements_done, checksum, running, running_checksum) \
                 VALUES ({revision}, {direction}, {done}, {checksum}, {running}, {running_checksum})",
                self.name()
            );
            conn.execute(&insert).await?;
        }
        Ok(())
    }

    pub async fn delete(&self, conn: &mut dyn Connection, revision: &str) -> Result<(), DriverError> {
        conn.execute(&format!("DELETE FROM {} WHERE revision = {}", self.name(), quote_literal(revision))).await?;
        Ok(())
    }

    /// Drops the table once no revision is part-way (the caller holds the run lock,
    /// so nobody else writes it).
    pub async fn drop_if_empty(&self, conn: &mut dyn Connection) -> Result<(), DriverError> {
        if self.read(conn).await?.is_some_and(|rows| rows.is_empty()) {
            self.drop_table(conn).await?;
        }
        Ok(())
    }

    /// Drops the table (the caller knows it exists and is empty, under the run lock).
    pub async fn drop_table(&self, conn: &mut dyn Connection) -> Result<(), DriverError> {
        conn.execute(&format!("DROP TABLE {}", self.name())).await.map(drop)
    }
}

fn parse_row(row: Vec<Option<String>>) -> Option<Progress> {
    let field = |i: usize| row.get(i).cloned().flatten();
    let direction = match field(1)?.as_str() {
        "upgrade" => Direction::Up,
        "downgrade" => Direction::Down,
        _ => return None,
    };
    let running = field(4).and_then(|n| n.parse().ok()).map(|n| (n, field(5).unwrap_or_default()));
    Some(Progress {
        revision: field(0)?,
        direction,
        done: field(2)?.parse().ok()?,
        checksum: field(3).unwrap_or_default(),
        running,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use retort_history::testing::graph;

    fn progress(revision: &str, direction: Direction) -> Progress {
        Progress { revision: revision.into(), direction, done: 1, checksum: String::new(), running: None }
    }

    #[test]
    fn a_row_fits_only_where_its_revision_moves_next() {
        let g = graph(&["a:", "b:a", "c:b", "d:a"]);
        let rows = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(fits(&g, &rows(&["b"]), &progress("c", Direction::Up)), Fit::Fits);
        assert_eq!(fits(&g, &rows(&["b"]), &progress("d", Direction::Up)), Fit::Fits, "another branch off a");
        assert_eq!(fits(&g, &rows(&["c"]), &progress("c", Direction::Up)), Fit::Stale);
        assert_eq!(fits(&g, &rows(&[]), &progress("c", Direction::Up)), Fit::Misfit, "version table emptied");
        assert_eq!(fits(&g, &rows(&["c"]), &progress("c", Direction::Down)), Fit::Fits);
        assert_eq!(fits(&g, &rows(&["c"]), &progress("b", Direction::Down)), Fit::Misfit, "c still above b");
        assert_eq!(fits(&g, &rows(&["a"]), &progress("c", Direction::Down)), Fit::Stale);
        assert_eq!(fits(&g, &rows(&["a"]), &progress("zz", Direction::Up)), Fit::Misfit, "not in the history");
    }
}
