//! What only SQL Server does, against a real server: a statement longer than
//! tiberius' old 30 s cut, `SET` options and a transaction spanning `GO` batches,
//! `SET NOCOUNT ON` in a revision, `XACT_ABORT` ending a batch at its first error.
//! Ignored unless asked for: `RETORT_TEST_MSSQL_URL` and `--run-ignored` (README).
//! Written against T-SQL's documented behaviour; no SQL Server runs where this
//! project's CI does, so these have not run there.

use std::time::Duration;

use retort_engine::driver::{Connection, VersionTable};
use retort_engine::executor::{self, Action, Report, RunOptions, RunPolicy};
use retort_history::graph::Graph;
use retort_history::script;
use retort_tests::servers::{Kind, TestDb, write_revision};

/// Each body on a fresh SQL Server database.
macro_rules! on_sql_server {
    ($($name:ident),* $(,)?) => {
        $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[ignore = "needs a SQL Server: set RETORT_TEST_MSSQL_URL and pass --run-ignored"]
        async fn $name() { retort_tests::on_fresh_database(Kind::Mssql, bodies::$name).await })*
    };
}

on_sql_server!(
    a_statement_longer_than_30_seconds_completes,
    set_options_last_across_go_batches,
    a_transaction_may_span_go_batches,
    nocount_in_a_revision_leaves_version_rows_counted,
    xact_abort_ends_a_batch_at_its_first_error,
);

async fn apply(conn: &mut dyn Connection, db: &TestDb) -> Report {
    let graph = Graph::new(script::load(&db.scripts()).expect("load")).expect("graph");
    let options = RunOptions {
        policy: RunPolicy { lock_timeout: Duration::from_secs(5), ..RunPolicy::default() },
        ..RunOptions::default()
    };
    let action = Action::Upgrade("heads".into());
    executor::run(conn, db.driver.dialect(), &graph, &VersionTable::for_target("default"), &action, &options).await
}

async fn scalar(conn: &mut dyn Connection, sql: &str) -> Option<String> {
    conn.query(sql).await.expect(sql).into_iter().next().and_then(|r| r.into_iter().next().flatten())
}

mod bodies {
    use super::*;

    pub async fn a_statement_longer_than_30_seconds_completes(db: TestDb) -> TestDb {
        write_revision(&db.scripts(), "ms0000000001", &[], "", "WAITFOR DELAY '00:00:35'", "SELECT 1");
        let mut conn = db.connect().await;
        let report = apply(conn.as_mut(), &db).await;
        assert!(report.error.is_none(), "{:?}", report.error);
        conn.close().await.unwrap();
        db
    }

    pub async fn set_options_last_across_go_batches(db: TestDb) -> TestDb {
        let body = "CREATE TABLE t_id (id int IDENTITY PRIMARY KEY, v int)\nGO\nSET IDENTITY_INSERT t_id ON\nGO\n\
                    INSERT INTO t_id (id, v) VALUES (42, 1)\nGO\nSET IDENTITY_INSERT t_id OFF";
        write_revision(&db.scripts(), "ms0000000001", &[], "", body, "DROP TABLE t_id");
        let mut conn = db.connect().await;
        let report = apply(conn.as_mut(), &db).await;
        assert!(report.error.is_none(), "{:?}", report.error);
        assert_eq!(scalar(conn.as_mut(), "SELECT id FROM t_id").await.as_deref(), Some("42"));
        conn.close().await.unwrap();
        db
    }

    pub async fn a_transaction_may_span_go_batches(db: TestDb) -> TestDb {
        let body = "BEGIN TRANSACTION\nGO\nCREATE TABLE t_span (id int)\nGO\nCOMMIT";
        write_revision(&db.scripts(), "ms0000000001", &[], "-- Transactional: false", body, "DROP TABLE t_span");
        let mut conn = db.connect().await;
        let report = apply(conn.as_mut(), &db).await;
        assert!(report.error.is_none(), "{:?}", report.error);
        assert_eq!(scalar(conn.as_mut(), "SELECT OBJECT_ID('t_span') IS NOT NULL").await.as_deref(), Some("1"));
        conn.close().await.unwrap();
        db
    }

    pub async fn nocount_in_a_revision_leaves_version_rows_counted(db: TestDb) -> TestDb {
        let s = db.scripts();
        write_revision(
            &s,
            "ms0000000001",
            &[],
            "",
            "SET NOCOUNT ON\nGO\nCREATE TABLE t_nc (id int)",
            "DROP TABLE t_nc",
        );
        write_revision(&s, "ms0000000002", &["ms0000000001"], "", "CREATE TABLE t_nc2 (id int)", "DROP TABLE t_nc2");
        let mut conn = db.connect().await;
        let report = apply(conn.as_mut(), &db).await;
        assert!(report.error.is_none(), "the version UPDATE still counts one row: {:?}", report.error);
        assert_eq!(report.after, ["ms0000000002"]);
        conn.close().await.unwrap();
        db
    }

    pub async fn xact_abort_ends_a_batch_at_its_first_error(db: TestDb) -> TestDb {
        let body =
            "CREATE TABLE t_xa (id int)\nGO\nINSERT INTO t_xa VALUES (1); SELECT 1/0; INSERT INTO t_xa VALUES (2)";
        write_revision(&db.scripts(), "ms0000000001", &[], "-- Transactional: false", body, "DROP TABLE t_xa");
        let mut conn = db.connect().await;
        let report = apply(conn.as_mut(), &db).await;
        assert!(report.error.is_some(), "the division by zero fails the revision");
        assert_eq!(scalar(conn.as_mut(), "SELECT COUNT(*) FROM t_xa WHERE id = 2").await.as_deref(), Some("0"));
        conn.close().await.unwrap();
        db
    }
}
