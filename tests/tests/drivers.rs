//! One suite, every driver: each test body below runs against SQLite, the real
//! PostgreSQL and the real MariaDB on this machine (and SQL Server when
//! `RETORT_TEST_MSSQL_URL` is set), each on a fresh database of its own.

use std::time::Duration;

use retort_engine::driver::{self, Connection, DriverError, VersionTable};
use retort_engine::executor::{self, Action, Report, RunError, RunOptions, RunPolicy};
use retort_history::graph::Graph;
use retort_history::script;
use retort_tests::every_driver;
use retort_tests::servers::{Kind, TestDb, write_revision};

every_driver!(
    upgrade_and_downgrade_round_trip,
    failing_statement_is_reported_with_what_ran,
    non_transactional_revision_resumes_after_last_success,
    read_only_reads_create_nothing,
    run_lock_times_out_naming_the_target_holder,
    transaction_per_run_rolls_back_the_whole_run,
    non_transactional_revision_starting_with_a_data_change,
    string_literals_arrive_byte_exact,
    stamp_moves_the_version_rows_without_running_revisions,
);

fn table() -> VersionTable {
    VersionTable::for_target("default")
}

fn graph(db: &TestDb) -> Graph {
    Graph::new(script::load(&db.scripts()).expect("load")).expect("graph")
}

async fn apply(conn: &mut dyn Connection, db: &TestDb, action: Action) -> Report {
    let options = RunOptions {
        policy: RunPolicy { lock_timeout: Duration::from_secs(5), ..RunPolicy::default() },
        ..RunOptions::default()
    };
    executor::run(conn, db.driver.dialect(), &graph(db), &table(), &action, &options).await
}

/// A body of several statements that SQL Server, too, runs one at a time: there
/// the unit is a `GO` batch, so the statements become batches.
fn statements(db: &TestDb, parts: &[&str]) -> String {
    if db.kind == Kind::Mssql { parts.join("\nGO\n") } else { parts.join(";\n") + ";" }
}

async fn exists(conn: &mut dyn Connection, name: &str) -> bool {
    conn.table_exists(&VersionTable { name: name.into(), schema: None }).await.expect("table_exists")
}

async fn upgrade_and_downgrade_round_trip(db: TestDb) -> TestDb {
    let s = db.scripts();
    write_revision(&s, "aaaa00000001", &[], "", "CREATE TABLE t_one (id INTEGER)", "DROP TABLE t_one");
    write_revision(
        &s,
        "bbbb00000001",
        &["aaaa00000001"],
        "",
        "CREATE TABLE t_two (id INTEGER);\nINSERT INTO t_two (id) VALUES (1)",
        "DROP TABLE t_two",
    );
    write_revision(
        &s,
        "cccc00000001",
        &["aaaa00000001"],
        "",
        "CREATE TABLE t_three (id INTEGER)",
        "DROP TABLE t_three",
    );
    let mut conn = db.connect().await;
    let report = apply(conn.as_mut(), &db, Action::Upgrade("heads".into())).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    let mut after = report.after.clone();
    after.sort();
    assert_eq!(after, ["bbbb00000001", "cccc00000001"]);
    for t in ["t_one", "t_two", "t_three"] {
        assert!(exists(conn.as_mut(), t).await, "{t} exists");
    }
    let report = apply(conn.as_mut(), &db, Action::Downgrade("base".into())).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    assert!(report.after.is_empty());
    for t in ["t_one", "t_two", "t_three"] {
        assert!(!exists(conn.as_mut(), t).await, "{t} dropped");
    }
    assert_eq!(driver::read_versions(conn.as_mut(), db.driver.dialect(), &table()).await.unwrap(), Some(vec![]));
    conn.close().await.unwrap();
    db
}

/// Transactional DDL (PostgreSQL, SQLite, SQL Server): the third statement fails
/// and neither the first statement's table nor a version row remains. MySQL
/// commits DDL as it goes: the error names statement 3 and says 1-2 ran.
async fn failing_statement_is_reported_with_what_ran(db: TestDb) -> TestDb {
    let s = db.scripts();
    write_revision(&s, "aaaa00000001", &[], "", "CREATE TABLE t_ok (id INTEGER)", "DROP TABLE t_ok");
    let parts = [
        "CREATE TABLE t_half (id INTEGER)",
        "INSERT INTO t_half (id) VALUES (1)",
        "INSERT INTO t_missing (id) VALUES (1)",
    ];
    write_revision(&s, "bbbb00000001", &["aaaa00000001"], "", &statements(&db, &parts), "DROP TABLE t_half");
    let mut conn = db.connect().await;
    let report = apply(conn.as_mut(), &db, Action::Upgrade("heads".into())).await;
    assert_eq!(report.after, ["aaaa00000001"], "the version row stays at the last good revision");
    let transactional_ddl = db.driver.dialect().capabilities().transactional_ddl;
    match (transactional_ddl, report.error) {
        (false, Some(RunError::StepPartial { at: executor::FailedAt { statement: 3, total: 3, .. }, .. })) => {
            assert!(exists(conn.as_mut(), "t_half").await, "DDL without transactions committed the CREATE TABLE");
        }
        (false, other) => panic!("expected a part-way failure at statement 3, got {other:?}"),
        (_, Some(RunError::Step { at: executor::FailedAt { statement: 3, total: 3, line, .. }, .. })) => {
            // The body starts on line 6; SQL Server's GO lines push statement 3 to line 10.
            assert_eq!(line, if db.kind == Kind::Mssql { 10 } else { 8 }, "the file line");
            assert!(!exists(conn.as_mut(), "t_half").await, "rolled back with its version row");
        }
        (_, other) => panic!("expected a rolled-back failure at statement 3, got {other:?}"),
    }
    conn.close().await.unwrap();
    db
}

/// Statements run one by one in autocommit; after a failure at statement 3 is
/// fixed out of band, the re-run starts at statement 3 (re-running 1 or 2 would
/// fail: their tables exist) and says so.
async fn non_transactional_revision_resumes_after_last_success(db: TestDb) -> TestDb {
    let s = db.scripts();
    let parts = [
        "CREATE TABLE t_n1 (id INTEGER)",
        "CREATE TABLE t_n2 (id INTEGER)",
        "INSERT INTO t_dep (id) VALUES (1)",
        "CREATE TABLE t_n3 (id INTEGER)",
    ];
    let down = statements(&db, &["DROP TABLE t_n3", "DROP TABLE t_n2", "DROP TABLE t_n1"]);
    write_revision(&s, "aaaa00000001", &[], "-- Transactional: false", &statements(&db, &parts), &down);
    let mut conn = db.connect().await;
    let report = apply(conn.as_mut(), &db, Action::Upgrade("heads".into())).await;
    assert!(
        matches!(report.error, Some(RunError::StepPartial { at: executor::FailedAt { statement: 3, .. }, .. })),
        "{:?}",
        report.error
    );
    assert!(report.after.is_empty(), "no version row before the last statement");
    assert!(exists(conn.as_mut(), "t_n2").await);
    conn.execute("CREATE TABLE t_dep (id INTEGER)").await.unwrap();
    let report = apply(conn.as_mut(), &db, Action::Upgrade("heads".into())).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.after, ["aaaa00000001"]);
    // What the body splits into: statements, or SQL Server's GO batches.
    let resuming = format!("resuming at {} 3 of 4", db.driver.dialect().flavor().unit());
    assert!(report.notes.iter().any(|n| n.contains(&resuming)), "{:?}", report.notes);
    assert!(exists(conn.as_mut(), "t_n3").await);
    assert!(
        !exists(conn.as_mut(), "alembic_version_default_progress").await,
        "the progress table goes once nothing is part-way"
    );
    conn.close().await.unwrap();
    db
}

async fn read_only_reads_create_nothing(db: TestDb) -> TestDb {
    write_revision(&db.scripts(), "aaaa00000001", &[], "", "CREATE TABLE t_x (id INTEGER)", "DROP TABLE t_x");
    let mut conn = db.connect().await;
    let report = apply(conn.as_mut(), &db, Action::Current).await;
    assert!(report.error.is_none() && report.before.is_empty());
    assert!(!conn.table_exists(&table()).await.unwrap(), "current created no version table");
    conn.close().await.unwrap();
    db
}

async fn run_lock_times_out_naming_the_target_holder(db: TestDb) -> TestDb {
    let mut holder = db.connect().await;
    holder.lock(&table(), Duration::from_secs(5)).await.expect("first runner locks");
    let mut waiter = db.connect().await;
    let started = std::time::Instant::now();
    let error = waiter.lock(&table(), Duration::from_millis(600)).await.expect_err("second runner times out");
    assert!(started.elapsed() >= Duration::from_millis(500), "waited for the timeout");
    match &error {
        DriverError::LockTimeout { holder: Some(who), .. } if db.kind == Kind::Postgres => {
            assert!(who.contains("pid") && who.contains("retort-tests"), "{who}");
        }
        DriverError::LockTimeout { .. } => {}
        other => panic!("expected a lock timeout, got {other:?}"),
    }
    holder.unlock(&table()).await.unwrap();
    waiter.lock(&table(), Duration::from_secs(5)).await.expect("free after unlock");
    waiter.unlock(&table()).await.unwrap();
    holder.close().await.unwrap();
    waiter.close().await.unwrap();
    db
}

/// `transaction_per = "run"`: where DDL is transactional, a failure in the third
/// revision undoes the first two as well; MySQL cannot, so it keeps per-revision
/// behaviour there.
async fn transaction_per_run_rolls_back_the_whole_run(db: TestDb) -> TestDb {
    let s = db.scripts();
    write_revision(&s, "aaaa00000001", &[], "", "CREATE TABLE t_r1 (id INTEGER)", "DROP TABLE t_r1");
    write_revision(&s, "bbbb00000001", &["aaaa00000001"], "", "CREATE TABLE t_r2 (id INTEGER)", "DROP TABLE t_r2");
    write_revision(&s, "cccc00000001", &["bbbb00000001"], "", "INSERT INTO t_missing (id) VALUES (1)", "");
    let mut conn = db.connect().await;
    let options =
        RunOptions { policy: RunPolicy { transaction_per_run: true, ..RunPolicy::default() }, ..RunOptions::default() };
    let graph = graph(&db);
    let action = Action::Upgrade("heads".into());
    let hooks = Finished::default();
    let report =
        executor::run_with_hooks(conn.as_mut(), db.driver.dialect(), &graph, &table(), &action, &options, &hooks).await;
    assert!(report.error.is_some());
    let announced = hooks.0.lock().unwrap().clone();
    let reported: Vec<String> = report.steps.iter().map(|s| s.revision.clone()).collect();
    assert_eq!(announced, reported, "only committed steps are announced as finished");
    if !db.driver.dialect().capabilities().transactional_ddl {
        assert_eq!(report.after, ["bbbb00000001"]);
        assert!(exists(conn.as_mut(), "t_r2").await);
    } else {
        assert!(report.after.is_empty(), "{:?}", report.after);
        assert!(report.steps.is_empty(), "nothing counts as applied: {:?}", report.steps);
        assert!(!exists(conn.as_mut(), "t_r1").await, "the first revision was rolled back too");
    }
    conn.close().await.unwrap();
    db
}

/// A data change commits together with its progress record; the progress table
/// must exist before that transaction opens (a fresh database has none).
async fn non_transactional_revision_starting_with_a_data_change(db: TestDb) -> TestDb {
    let s = db.scripts();
    write_revision(&s, "aaaa00000001", &[], "", "CREATE TABLE t_pre (id INTEGER)", "DROP TABLE t_pre");
    let parts =
        ["INSERT INTO t_pre (id) VALUES (1)", "UPDATE t_pre SET id = id + 1", "CREATE TABLE t_after (id INTEGER)"];
    let down = statements(&db, &["DELETE FROM t_pre", "DROP TABLE t_after"]);
    write_revision(&s, "bbbb00000001", &["aaaa00000001"], "-- Transactional: false", &statements(&db, &parts), &down);
    let mut conn = db.connect().await;
    let report = apply(conn.as_mut(), &db, Action::Upgrade("heads".into())).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.after, ["bbbb00000001"]);
    assert_eq!(conn.query("SELECT id FROM t_pre").await.unwrap(), vec![vec![Some("2".to_string())]]);
    let report = apply(conn.as_mut(), &db, Action::Downgrade("aaaa00000001".into())).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    conn.close().await.unwrap();
    db
}

/// Records the revisions the executor announces as finished.
#[derive(Default)]
struct Finished(std::sync::Mutex<Vec<String>>);

impl executor::Hooks for Finished {
    fn step_finished(&self, step: &executor::AppliedStep) {
        self.0.lock().unwrap().push(step.revision.clone());
    }
}

/// Values whose bytes a splitter or a line-ending conversion could change: CRLF,
/// a lone CR, tabs, delimiters, comment markers and doubled quotes inside the
/// literal, and (outside SQL Server's `VARCHAR`) text beyond ASCII.
fn tricky_values(kind: Kind) -> Vec<&'static str> {
    let mut values = vec![
        "line1\r\nline2",
        "cr\ronly",
        "tab\there;",
        "-- not a comment; /* nor this */",
        "it''s",
        "  trailing blanks  \r\n",
        "GO\nDELIMITER //",
    ];
    if kind != Kind::Mssql {
        values.push("é ☃ 😀");
    }
    values
}

async fn string_literals_arrive_byte_exact(db: TestDb) -> TestDb {
    let s = db.scripts();
    // Plugins' engines may lack VARCHAR (GlueSQL has TEXT only).
    let text_type = if db.kind == Kind::Plugin { "TEXT" } else { "VARCHAR(200)" };
    let values = tricky_values(db.kind);
    let inserts = |table: &str| -> String {
        let rows: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("INSERT INTO {table} (id, v) VALUES ({i}, '{v}');"))
            .collect();
        rows.join("\n")
    };
    let create = |table: &str| format!("CREATE TABLE {table} (id INTEGER, v {text_type});\n");
    write_revision(&s, "aaaa00000001", &[], "", &(create("lit_tx") + &inserts("lit_tx")), "DROP TABLE lit_tx");
    let header = "-- Transactional: false";
    let up = create("lit_auto") + &inserts("lit_auto");
    write_revision(&s, "bbbb00000001", &["aaaa00000001"], header, &up, "DROP TABLE lit_auto");
    let mut conn = db.connect().await;
    let report = apply(conn.as_mut(), &db, Action::Upgrade("heads".into())).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    let expected: Vec<Option<String>> = values.iter().map(|v| Some(v.replace("''", "'"))).collect();
    for table in ["lit_tx", "lit_auto"] {
        let rows = conn.query(&format!("SELECT v FROM {table} ORDER BY id")).await.expect("query");
        let got: Vec<Option<String>> = rows.into_iter().map(|mut row| row.remove(0)).collect();
        assert_eq!(got, expected, "{:?} {table}", db.kind);
    }
    conn.close().await.expect("close");
    db
}

/// `stamp` writes the version rows and runs nothing; `current` reads them back.
async fn stamp_moves_the_version_rows_without_running_revisions(db: TestDb) -> TestDb {
    let s = db.scripts();
    write_revision(&s, "cccc00000001", &[], "", "CREATE TABLE t_s1 (id INTEGER)", "DROP TABLE t_s1");
    write_revision(&s, "cccc00000002", &["cccc00000001"], "", "CREATE TABLE t_s2 (id INTEGER)", "DROP TABLE t_s2");
    let mut conn = db.connect().await;
    let stamp = |to: &str| Action::Stamp { targets: vec![to.to_string()], purge: false };
    let report = apply(conn.as_mut(), &db, stamp("cccc00000002")).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.after, ["cccc00000002"]);
    assert!(!exists(conn.as_mut(), "t_s1").await && !exists(conn.as_mut(), "t_s2").await, "stamp runs nothing");
    let current = apply(conn.as_mut(), &db, Action::Current).await;
    assert_eq!(current.before, ["cccc00000002"]);
    let report = apply(conn.as_mut(), &db, stamp("base")).await;
    assert!(report.error.is_none() && report.after.is_empty(), "{report:?}");
    conn.close().await.unwrap();
    db
}
