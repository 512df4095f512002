//! `retort test`: rehearses every selected history on scratch databases — a
//! temporary SQLite file, or a temporary database created and dropped on the
//! target's server — and compares schema snapshots (`retort_engine::schema`):
//!
//! - the stairway: each revision on a fresh database holding just its
//!   ancestors, up, down (the schema must be the one before it) and up again
//!   (the schema must be the one after it);
//! - every merge revision after each order of applying its parent branches: all
//!   orders must give one schema.
//!
//! The first divergence is reported with the revision, the orders and the lines
//! that differ. The targets themselves are never touched.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use retort_config::Database;
use retort_engine::driver::{ConnectOptions, Connection, DatabaseUrl, Driver, VersionTable};
use retort_engine::executor::{self, Action, RunOptions};
use retort_engine::interrupt::Interrupt;
use retort_engine::split::Flavor;
use retort_engine::{audit, schema, session};
use retort_history::graph::Graph;

use crate::error::{Error, Result};
use crate::workspace::{Workspace, label};

/// What `retort test` found, per history.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TestReport {
    pub targets: Vec<HistoryTest>,
    /// Whether a signal stopped the rehearsal before its end (scratch databases
    /// are dropped all the same).
    pub interrupted: bool,
}

impl TestReport {
    /// Whether every rehearsal passed, to its end.
    pub fn ok(&self) -> bool {
        !self.interrupted && self.targets.iter().all(|t| t.failures.is_empty())
    }
}

/// The rehearsal of one database's or fleet's history.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HistoryTest {
    /// The database or fleet whose history this is, and its driver.
    pub target: String,
    pub driver: String,
    /// Revisions taken up, down and up.
    pub revisions: usize,
    /// Merge revisions, and the branch orders tried in all.
    pub merges: usize,
    pub orders: usize,
    /// What diverged or failed; empty when the rehearsal passed.
    pub failures: Vec<Failure>,
}

impl HistoryTest {
    /// A history whose scratch database could not be made or reached.
    fn unreachable(db: &Database, why: String) -> HistoryTest {
        let failure = Failure {
            kind: "unreachable",
            revision: String::new(),
            message: why,
            orders: vec![],
            only_in_first: vec![],
            only_in_second: vec![],
        };
        HistoryTest {
            target: db.name.clone(),
            driver: String::new(),
            revisions: 0,
            merges: 0,
            orders: 0,
            failures: vec![failure],
        }
    }
}

/// One divergence, or a step that failed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Failure {
    /// `stairway`, `merge-order`, `step`, or `unreachable` (no scratch database).
    pub kind: &'static str,
    /// The revision it concerns, and what happened, in one line.
    pub revision: String,
    pub message: String,
    /// For `merge-order`: the two orders of the parent branches compared.
    pub orders: Vec<Vec<String>>,
    /// Snapshot lines only in the first state, and only in the second.
    pub only_in_first: Vec<String>,
    pub only_in_second: Vec<String>,
}

/// Rehearses every selected history; `progress` hears one line per step; an
/// `interrupt` stops it between steps (and cancels a running statement).
pub async fn test(
    workspace: &Workspace,
    progress: &(dyn Fn(&str) + Sync),
    interrupt: &Interrupt,
) -> Result<TestReport> {
    let mut targets = Vec::new();
    for db in workspace.histories() {
        if interrupt.is_triggered() {
            break;
        }
        let graph = workspace.graph(&db)?;
        // A server that cannot be reached fails its history only; the others still run.
        let result = async {
            let mut scratch = Scratch::new(workspace, &db, interrupt).await?;
            let result = rehearse(&mut scratch, &db, &graph, progress).await;
            scratch.remove().await;
            result
        }
        .await;
        targets.push(match result {
            Err(Error::Unreachable(why)) => HistoryTest::unreachable(&db, why),
            other => other?,
        });
    }
    Ok(TestReport { targets, interrupted: interrupt.is_triggered() })
}

async fn rehearse(
    scratch: &mut Scratch,
    db: &Database,
    graph: &Graph,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<HistoryTest> {
    let mut test = HistoryTest {
        target: db.name.clone(),
        driver: scratch.driver.name().to_string(),
        revisions: 0,
        merges: 0,
        orders: 0,
        failures: Vec::new(),
    };
    let all = graph.ancestors(graph.heads(), true);
    // Oldest first, as an upgrade runs them.
    let mut order = graph.topological_sort(&all, graph.heads());
    order.reverse();
    for (n, &index) in order.iter().enumerate() {
        if scratch.interrupt.is_triggered() {
            return Ok(test);
        }
        let id = &graph.revision(index).id;
        progress(&format!("{}: stairway {}/{} {id}", db.name, n + 1, order.len()));
        test.revisions += 1;
        if let Some(failure) = stairway(scratch, graph, index).await? {
            test.failures.push(failure);
            break; // later revisions build on this one; merges only go up, so they still count
        }
    }
    for &merge in order.iter().filter(|&&i| graph.is_merge_point(i)) {
        if scratch.interrupt.is_triggered() {
            return Ok(test);
        }
        let id = &graph.revision(merge).id;
        progress(&format!("{}: merge {id}, each order of its branches", db.name));
        test.merges += 1;
        let (tried, failure) = merge_orders(scratch, graph, merge).await?;
        test.orders += tried;
        test.failures.extend(failure);
    }
    Ok(test)
}

/// Revision `index` up, down and up on a fresh database holding what it needs
/// (its ancestors and dependencies); each step's schema is judged before the next
/// step runs on it. The downgrade (to the first parent) may take dependents of
/// that parent with it: its schema is then compared with a fresh database brought
/// to the revisions the downgrade left.
async fn stairway(scratch: &mut Scratch, graph: &Graph, index: usize) -> Result<Option<Failure>> {
    let rev = graph.revision(index);
    let id = |i: &usize| graph.revision(*i).id.clone();
    let parents: Vec<String> = graph.parents(index).iter().map(id).collect();
    let needs: Vec<String> = parents.iter().cloned().chain(graph.dependencies(index).iter().map(id)).collect();
    let mut conn = scratch.fresh().await?;
    let mut before_rows = Vec::new();
    for need in &needs {
        match scratch.run(conn.as_mut(), graph, Action::Upgrade(need.clone()), &rev.id).await {
            Ok(rows) => before_rows = rows,
            Err(failure) => return Ok(Some(failure)),
        }
    }
    let diverged = |message: String, first: &[String], second: &[String]| {
        let (only_in_first, only_in_second) = schema::difference(first, second);
        Some(Failure {
            kind: "stairway",
            revision: rev.id.clone(),
            message,
            orders: vec![],
            only_in_first,
            only_in_second,
        })
    };
    let before = scratch.snapshot(conn.as_mut()).await?;
    let up = Action::Upgrade(rev.id.clone());
    if let Err(failure) = scratch.run(conn.as_mut(), graph, up.clone(), &rev.id).await {
        return Ok(Some(failure));
    }
    let after = scratch.snapshot(conn.as_mut()).await?;
    let down_to = parents.first().cloned().unwrap_or_else(|| "base".into());
    let down_rows = match scratch.run(conn.as_mut(), graph, Action::Downgrade(down_to), &rev.id).await {
        Ok(rows) => rows,
        Err(failure) => return Ok(Some(failure)),
    };
    let down = scratch.snapshot(conn.as_mut()).await?;
    let same_rows = |a: &[String], b: &[String]| {
        let (mut a, mut b) = (a.to_vec(), b.to_vec());
        a.sort();
        b.sort();
        a == b
    };
    let undone = format!("downgrading {} does not give back the schema before it", rev.id);
    if same_rows(&down_rows, &before_rows) && down != before {
        return Ok(diverged(undone, &before, &down));
    }
    if let Err(failure) = scratch.run(conn.as_mut(), graph, up, &rev.id).await {
        return Ok(Some(failure));
    }
    let again = scratch.snapshot(conn.as_mut()).await?;
    let _ = conn.close().await;
    if again != after {
        return Ok(diverged(
            format!("upgrading {} again after its downgrade gives another schema", rev.id),
            &after,
            &again,
        ));
    }
    if same_rows(&down_rows, &before_rows) {
        return Ok(None);
    }
    // The downgrade left other revisions than the ones before: build those afresh.
    let mut conn = scratch.fresh().await?;
    for row in &down_rows {
        if let Err(failure) = scratch.run(conn.as_mut(), graph, Action::Upgrade(row.clone()), &rev.id).await {
            return Ok(Some(failure));
        }
    }
    let expected = scratch.snapshot(conn.as_mut()).await?;
    let _ = conn.close().await;
    Ok(if down != expected { diverged(undone, &expected, &down) } else { None })
}

/// Merge `merge` after each order of its parents (all orders up to four
/// parents, else the declared one and its reverse); the orders tried, and the
/// first that gives another schema than the declared order.
async fn merge_orders(scratch: &mut Scratch, graph: &Graph, merge: usize) -> Result<(usize, Option<Failure>)> {
    let id = &graph.revision(merge).id;
    let parents: Vec<String> = graph.parents(merge).iter().map(|&p| graph.revision(p).id.clone()).collect();
    let orders = if parents.len() <= 4 {
        permutations(&parents)
    } else {
        vec![parents.clone(), parents.iter().rev().cloned().collect()]
    };
    let mut first: Option<(Vec<String>, Vec<String>)> = None;
    for (tried, order) in orders.iter().enumerate() {
        let mut conn = scratch.fresh().await?;
        let upgrades = order.iter().chain([id]).map(|r| Action::Upgrade(r.clone()));
        for action in upgrades {
            if let Err(failure) = scratch.run(conn.as_mut(), graph, action, id).await {
                return Ok((tried + 1, Some(Failure { orders: vec![order.clone()], ..failure })));
            }
        }
        let snapshot = scratch.snapshot(conn.as_mut()).await?;
        let _ = conn.close().await;
        match &first {
            None => first = Some((order.clone(), snapshot)),
            Some((first_order, first_snapshot)) if *first_snapshot != snapshot => {
                let (only_in_first, only_in_second) = schema::difference(first_snapshot, &snapshot);
                let failure = Failure {
                    kind: "merge-order",
                    revision: id.clone(),
                    message: format!(
                        "merge {id} gives another schema when its branches run {} than when they run {}",
                        order.join(", "),
                        first_order.join(", ")
                    ),
                    orders: vec![first_order.clone(), order.clone()],
                    only_in_first,
                    only_in_second,
                };
                return Ok((tried + 1, Some(failure)));
            }
            Some(_) => {}
        }
    }
    Ok((orders.len(), None))
}

/// Every order of `items`.
fn permutations(items: &[String]) -> Vec<Vec<String>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    (0..items.len())
        .flat_map(|i| {
            let mut rest = items.to_vec();
            let head = rest.remove(i);
            permutations(&rest).into_iter().map(move |mut tail| {
                tail.insert(0, head.clone());
                tail
            })
        })
        .collect()
}

/// Scratch databases are numbered within the process.
static SCRATCH_NUMBER: AtomicU32 = AtomicU32::new(0);

/// Where a history is rehearsed: one scratch database, emptied for each case.
struct Scratch {
    driver: Arc<dyn Driver>,
    flavor: Flavor,
    options: ConnectOptions,
    table: VersionTable,
    where_: Place,
    /// What makes `DROP DATABASE` end sessions still open on it (PostgreSQL).
    force: &'static str,
    interrupt: Interrupt,
}

/// A scratch SQLite file, or a scratch database on the target's server.
enum Place {
    File(std::path::PathBuf),
    Server { admin: Box<dyn Connection>, name: String },
}

impl Scratch {
    async fn new(workspace: &Workspace, db: &Database, interrupt: &Interrupt) -> Result<Scratch> {
        let url = workspace.history_url(db);
        let driver = workspace.history_driver(db)?;
        let flavor = driver.dialect().flavor();
        if !schema::supported(flavor) {
            return Err(Error::Usage(format!(
                "{}: retort test runs on SQLite, PostgreSQL and MySQL/MariaDB targets, not {}",
                label(db),
                driver.name()
            )));
        }
        let number = SCRATCH_NUMBER.fetch_add(1, Ordering::Relaxed);
        let name = format!("retort_test_{}_{number}", std::process::id());
        let table = VersionTable { name: db.version_table.name.clone(), schema: None };
        let base = ConnectOptions { writes: true, search_path: None, ..db.connection.clone() };
        let unusable = |e: &dyn std::fmt::Display| Error::Unreachable(format!("{}: scratch database: {e}", label(db)));
        let (url, where_) = if flavor == Flavor::Sqlite {
            let file = std::env::temp_dir().join(format!("{name}.db"));
            (DatabaseUrl::new(format!("sqlite://{}", file.display())), Place::File(file))
        } else {
            let server_db = if flavor == Flavor::Postgres { "postgres" } else { "mysql" };
            let at = |database: &str| url.with_database(database).ok_or_else(|| unusable(&"not a server URL"));
            let admin_options = ConnectOptions { url: at(server_db)?, ..base.clone() };
            let mut admin = session::open(driver.as_ref(), &admin_options).await.map_err(|e| unusable(&e))?;
            if flavor == Flavor::Postgres {
                // `DROP DATABASE IF EXISTS` of a database not made yet is no news.
                admin.execute("SET client_min_messages = warning").await.map_err(|e| unusable(&e))?;
            }
            (at(&name)?, Place::Server { admin, name })
        };
        let force = if flavor == Flavor::Postgres { " WITH (FORCE)" } else { "" };
        let interrupt = interrupt.clone();
        Ok(Scratch { driver, flavor, options: ConnectOptions { url, ..base }, table, where_, force, interrupt })
    }

    /// A session on the scratch database, emptied first.
    async fn fresh(&mut self) -> Result<Box<dyn Connection>> {
        let failed = |e: &dyn std::fmt::Display| Error::Unreachable(format!("scratch database: {e}"));
        match &mut self.where_ {
            Place::File(file) => {
                let _ = std::fs::remove_file(file);
            }
            Place::Server { admin, name } => {
                admin
                    .execute(&format!("DROP DATABASE IF EXISTS {name}{}", self.force))
                    .await
                    .map_err(|e| failed(&e))?;
                admin.execute(&format!("CREATE DATABASE {name}")).await.map_err(|e| failed(&e))?;
            }
        }
        session::open(self.driver.as_ref(), &self.options).await.map_err(|e| failed(&e))
    }

    /// Runs `action`, returning the version rows after it; a failure of the run
    /// becomes a `step` failure for `revision`.
    async fn run(
        &self,
        conn: &mut dyn Connection,
        graph: &Graph,
        action: Action,
        revision: &str,
    ) -> std::result::Result<Vec<String>, Failure> {
        let options = RunOptions { target: "test".into(), interrupt: self.interrupt.clone(), ..RunOptions::default() };
        let verb = match &action {
            Action::Downgrade(spec) => format!("downgrade {spec}"),
            Action::Upgrade(spec) => format!("upgrade {spec}"),
            _ => String::new(),
        };
        let report = executor::run(conn, self.driver.dialect(), graph, &self.table, &action, &options).await;
        match report.error {
            None => Ok(report.after),
            Some(e) => Err(Failure {
                kind: "step",
                revision: revision.to_string(),
                message: format!("{verb}: {e}"),
                orders: vec![],
                only_in_first: vec![],
                only_in_second: vec![],
            }),
        }
    }

    async fn snapshot(&self, conn: &mut dyn Connection) -> Result<Vec<String>> {
        let own = [&self.table, &self.table.progress(), &audit::table(&self.table)].map(|t| t.name.clone());
        schema::snapshot(conn, self.flavor, &own)
            .await
            .map_err(|e| Error::Unreachable(format!("scratch database: reading its schema: {e}")))
    }

    /// Drops the scratch database (best effort).
    async fn remove(self) {
        match self.where_ {
            Place::File(file) => {
                let _ = std::fs::remove_file(file.with_extension("retort-lock"));
                let _ = std::fs::remove_file(file);
            }
            Place::Server { mut admin, name } => {
                let _ = admin.execute(&format!("DROP DATABASE IF EXISTS {name}{}", self.force)).await;
                let _ = admin.close().await;
            }
        }
    }
}
