//! The audit trail on every driver (built-in and plugins): one row per step with
//! the revision file's checksum, a failed step recorded as failed, and drift (an
//! applied revision's file edited afterwards) stopping the next upgrade unless the
//! target says `on_drift = "warn"`.

use std::time::Duration;

use retort_engine::audit::{self, Entry};
use retort_engine::driver::{Connection, VersionTable};
use retort_engine::executor::{self, Action, Report, RunError, RunOptions, RunPolicy};
use retort_history::graph::Graph;
use retort_history::script;
use retort_tests::every_driver;
use retort_tests::servers::{TestDb, write_revision};

every_driver!(each_step_leaves_a_row_and_drift_stops_the_upgrade);

fn table() -> VersionTable {
    VersionTable::for_target("default")
}

fn graph(db: &TestDb) -> Graph {
    Graph::new(script::load(&db.scripts()).expect("load")).expect("graph")
}

async fn apply(conn: &mut dyn Connection, db: &TestDb, action: Action, stop_on_drift: bool) -> Report {
    let policy = RunPolicy { lock_timeout: Duration::from_secs(5), stop_on_drift, ..RunPolicy::default() };
    let options = RunOptions { policy, ..RunOptions::default() };
    executor::run(conn, db.driver.dialect(), &graph(db), &table(), &action, &options).await
}

async fn rows(conn: &mut dyn Connection, db: &TestDb) -> Vec<Entry> {
    audit::read(conn, db.driver.dialect(), &table()).await.expect("read").expect("the audit table exists")
}

/// (revision, direction, outcome) of each row.
fn steps(entries: &[Entry]) -> Vec<(String, String, String)> {
    entries.iter().map(|e| (e.revision.clone(), e.direction.clone(), e.outcome.clone())).collect()
}

fn step(revision: &str, direction: &str, outcome: &str) -> (String, String, String) {
    (revision.into(), direction.into(), outcome.into())
}

async fn each_step_leaves_a_row_and_drift_stops_the_upgrade(db: TestDb) -> TestDb {
    let s = db.scripts();
    write_revision(&s, "aud000000001", &[], "", "CREATE TABLE t_a (id INTEGER)", "DROP TABLE t_a");
    write_revision(&s, "aud000000002", &["aud000000001"], "", "CREATE TABLE t_b (id INTEGER)", "DROP TABLE t_b");
    let mut conn = db.connect().await;
    let report = apply(conn.as_mut(), &db, Action::Current, true).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    assert!(audit::read(conn.as_mut(), db.driver.dialect(), &table()).await.unwrap().is_none(), "reads create nothing");

    let report = apply(conn.as_mut(), &db, Action::Upgrade("heads".into()), true).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    let entries = rows(conn.as_mut(), &db).await;
    assert_eq!(steps(&entries), [step("aud000000001", "up", "ok"), step("aud000000002", "up", "ok")]);
    let g = graph(&db);
    let first = g.revision(g.index_of("aud000000001").unwrap());
    assert_eq!(entries[0].checksum, audit::checksum(first).unwrap());
    assert!(entries[0].started_at <= entries[0].finished_at && entries[0].finished_at.ends_with('Z'));
    assert!(!entries[0].retort_version.is_empty());

    // Editing an applied revision, then adding one: the upgrade refuses to run.
    write_revision(&s, "aud000000001", &[], "", "CREATE TABLE t_a (id INTEGER, edited INTEGER)", "DROP TABLE t_a");
    write_revision(&s, "aud000000003", &["aud000000002"], "", "CREATE TABLE t_c (id INTEGER)", "DROP TABLE t_c");
    let report = apply(conn.as_mut(), &db, Action::Upgrade("heads".into()), true).await;
    match &report.error {
        Some(RunError::Drifted { drift, .. }) => {
            assert_eq!(drift.iter().map(|d| d.revision.as_str()).collect::<Vec<_>>(), ["aud000000001"]);
            let message = report.error.as_ref().unwrap().to_string();
            assert!(message.contains("changed since it was applied") && message.contains("on_drift"), "{message}");
        }
        other => panic!("expected drift, got {other:?}"),
    }
    assert_eq!(report.after, ["aud000000002"], "nothing ran");

    // on_drift = "warn": the upgrade runs and says what drifted.
    let report = apply(conn.as_mut(), &db, Action::Upgrade("heads".into()), false).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.after, ["aud000000003"]);
    assert!(
        report.notes.iter().any(|n| n.contains("aud000000001") && n.contains("running anyway")),
        "{:?}",
        report.notes
    );

    // A downgrade is recorded too, and a failed step as failed.
    let report = apply(conn.as_mut(), &db, Action::Downgrade("-1".into()), false).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    write_revision(
        &s,
        "aud000000004",
        &["aud000000002"],
        "",
        "CREATE TABLE t_d (id INTEGER);\nSELECT * FROM t_nosuch",
        "",
    );
    std::fs::remove_file(s.join("versions/aud000000003.sql")).unwrap();
    let report = apply(conn.as_mut(), &db, Action::Upgrade("heads".into()), false).await;
    assert!(report.error.is_some(), "the missing table fails the step");
    let entries = rows(conn.as_mut(), &db).await;
    assert_eq!(
        steps(&entries[2..]),
        [step("aud000000003", "up", "ok"), step("aud000000003", "down", "ok"), step("aud000000004", "up", "failed")]
    );
    conn.close().await.unwrap();
    db
}
